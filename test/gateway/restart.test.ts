// A restart on the same data directory keeps the day: after close() and a new startExchange on the
// same folder, every member's orders (status=all) and fills, accounts, the book, recent trades, the
// ticker, K-lines and block proposals read back the same; clientOrderId idempotency and order ids
// carry on; and after an end of day and another restart the settlement and the closed day's fills
// are still there.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openSocket, startServer, type TestServer } from '../support/server.ts';

let s: TestServer = await startServer();
const dataDir = s.dataDir;
t.teardown(async () => {
  await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
const order = (key: string, body: Record<string, unknown>) => s.api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });

/** Everything the day's readers see. */
async function readBack(server: TestServer) {
  const get = async (path: string, key?: string) => {
    const r = await server.api('GET', path, { key });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const out: Record<string, unknown> = {};
  for (const m of ['M1', 'M2', 'M3']) {
    out[`${m} orders`] = await get('/v1/orders?status=all', m);
    out[`${m} open orders`] = await get('/v1/orders?status=open', m);
    out[`${m} fills`] = await get('/v1/fills', m);
    out[`${m} blocks`] = await get('/v1/block-trades', m);
  }
  for (const a of [['M1', 'M1-C1'], ['M1', 'M1-C2'], ['M2', 'M2-C1'], ['M2', 'M2-P1'], ['M3', 'M3-C1']]) out[`account ${a[1]}`] = await get(`/v1/account?accountId=${a[1]}`, a[0]);
  const book = await get('/v1/instruments/CEA24/book?depth=20');
  out.book = { bids: book.bids, asks: book.asks };
  out.trades = await get('/v1/instruments/CEA24/trades');
  out.hbeaTrades = await get('/v1/instruments/HBEA/trades');
  out.ticker = await get('/v1/instruments/CEA24/ticker');
  out.klines = await get('/v1/instruments/CEA24/klines?interval=1m');
  out.instruments = await get('/v1/instruments');
  out.largeHolders = await get('/v1/risk/large-holders', 'risk');
  return out;
}

let before: Record<string, unknown>;
const ids: Record<string, string> = {};

t.test('a day of activity', async (t) => {
  const buy = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 100, clientOrderId: 'keep-1' });
  t.equal(buy.status, 201);
  ids.buy = buy.body.order.orderId;
  t.match((await order('M2', { accountId: 'M2-C1', side: 'sell', price: '56.90', quantity: 40 })).body, { order: { status: 'filled' } });
  const gone = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '55.00', quantity: 10 });
  t.equal((await s.api('DELETE', `/v1/orders/${gone.body.order.orderId}`, { key: 'M1' })).status, 200);
  t.equal((await order('M3', { accountId: 'M3-C1', side: 'sell', price: '58.00', quantity: 25 })).status, 201);
  t.equal((await order('M1', { accountId: 'M1-C2', symbol: 'HBEA', side: 'sell', price: '40.67', quantity: 100 })).status, 201);
  t.match((await order('M2', { accountId: 'M2-P1', symbol: 'HBEA', side: 'buy', price: '40.67', quantity: 100 })).body, { fills: [{ fee: '20.34' }] });
  const block = await s.api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  t.equal(block.status, 201);
  ids.block = block.body.block.blockId;
  t.equal((await s.api('PATCH', '/v1/risk/accounts/M2-P1', { key: 'risk', body: { restriction: 'no_sell', reason: 'kept across restarts' } })).status, 200);

  before = await readBack(s);
  t.equal((before['M1 orders'] as unknown[]).length, 3, 'M1 has three orders today (resting, cancelled, filled)');
  t.equal((before['M1 fills'] as unknown[]).length, 2, 'and two fills');
});

t.test('after close() and a new start on the same folder, the day reads back the same', async (t) => {
  await s.stop();
  s = await startServer({ dataDir });
  const after = await readBack(s);
  for (const key of Object.keys(before)) t.same(after[key], before[key], key);

  const again = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 100, clientOrderId: 'keep-1' });
  t.match(again.body, { order: { orderId: ids.buy }, duplicate: true }, 'clientOrderId idempotency survives the restart');
  const next = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '56.00', quantity: 1 });
  t.equal(next.status, 201);
  const maxBefore = Math.max(...(['M1 orders', 'M2 orders', 'M3 orders'] as const).flatMap((k) => (before[k] as { orderId: string }[]).map((o) => Number(o.orderId))));
  t.ok(Number(next.body.order.orderId) > maxBefore, `order ids carry on (${next.body.order.orderId} > ${maxBefore})`);
  const cancel = await s.api('DELETE', `/v1/orders/${ids.buy}`, { key: 'M1' });
  t.match(cancel.body, { order: { orderId: ids.buy, status: 'cancelled', filledQuantity: 40 } }, 'an order from before the restart can be cancelled');
  const accepted = await s.api('POST', `/v1/block-trades/${ids.block}/accept`, { key: 'M2', body: { accountId: 'M2-C1' } });
  t.match(accepted.body, { block: { status: 'executed' }, trade: { quantity: 100000 } }, 'a proposal from before the restart can be accepted');

  const ws = await openSocket(s.wsUrl);
  ws.send({ op: 'subscribe', channels: ['book:CEA24', 'trades:CEA24'] });
  const snap = await ws.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot');
  const rest = (await s.api('GET', '/v1/instruments/CEA24/book?depth=20')).body;
  t.same({ bids: snap.bids, asks: snap.asks }, { bids: rest.bids, asks: rest.asks }, 'the WebSocket snapshot after a restart equals the book');
  const trades = await ws.next((m) => m.channel === 'trades:CEA24' && m.type === 'snapshot');
  t.match(trades.trades, [{ price: '57.00', quantity: 40, mode: 'listed' }], "and the trades snapshot holds the day's listed trade from before the restart");
  await ws.close();
});

t.test('after an end of day and another restart, the closed day is still there', async (t) => {
  // A second listed trade at another price: the day's official close (the volume-weighted average,
  // 40 t at 57.00 and 5 t at 58.00 → 57.11) is not its last trade.
  t.match((await order('M2', { accountId: 'M2-C1', side: 'buy', price: '58.00', quantity: 5 })).body, { fills: [{ price: '58.00', quantity: 5 }] });
  const dayBars = async () => (await s.api('GET', '/v1/instruments/CEA24/klines?interval=1d')).body as Record<string, unknown>[];
  t.match((await dayBars()).at(-1), { open: '57.00', close: '58.00', volume: 45 }, "before the day's end the day's bar closes at its last trade");
  type OrderRead = { orderId: string; status: string; filledQuantity: number; remainingQuantity: number };
  const ordersBefore = (await s.api('GET', '/v1/orders?status=all', { key: 'M1' })).body as OrderRead[];
  t.ok(ordersBefore.some((o) => o.status === 'new' || o.status === 'partially_filled'), 'M1 has orders resting at the close');
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  t.equal(eod.status, 200, eod.text.slice(0, 200));
  const date = eod.body.date as string;
  // The closed day's orders, as each ended: those resting at the close expired with what they had not filled.
  const closedOrders = await s.api('GET', `/v1/orders?date=${date}`, { key: 'M1' });
  t.equal(closedOrders.status, 200);
  t.same((closedOrders.body as OrderRead[]).map((o) => o.orderId), ordersBefore.map((o) => o.orderId), "M1's orders of the closed day, by ?date=");
  for (const [i, o] of (closedOrders.body as OrderRead[]).entries()) {
    const was = ordersBefore[i];
    const resting = was.status === 'new' || was.status === 'partially_filled';
    t.match(o, resting ? { status: 'expired', filledQuantity: was.filledQuantity, remainingQuantity: 0 } : { status: was.status, filledQuantity: was.filledQuantity }, `order ${o.orderId}: ${was.status} → ${o.status}`);
  }
  t.same((await s.api('GET', '/v1/orders?status=all', { key: 'M1' })).body, [], 'the new day has no order yet');
  t.equal((await s.api('GET', '/v1/orders?date=2001-01-01', { key: 'M1' })).body.error?.code, 'UNKNOWN_DAY', 'a day with no trading: 404 UNKNOWN_DAY');
  t.match(eod.body.instruments.find((i: { symbol: string }) => i.symbol === 'CEA24'), { close: '57.11', listedVolume: 45 });
  const bars = await dayBars();
  t.match(bars.at(-1), { open: '57.00', close: '57.11', volume: 45 }, 'after it, the official close');
  const settlement = (await s.api('GET', `/v1/settlement/${date}`, { key: 'operator' })).body;
  const register = (await s.api('GET', `/v1/settlement/${date}/trades`, { key: 'operator' })).text;
  const fills = (await s.api('GET', `/v1/fills?date=${date}`, { key: 'M1' })).body;
  t.equal(fills.length, 3, "M1's three fills of the closed day");
  const marketReads = async () => {
    const out: Record<string, unknown> = {};
    for (const symbol of ['CEA24', 'HBEA']) {
      out[`${symbol} trades`] = (await s.api('GET', `/v1/instruments/${symbol}/trades?limit=1000`)).body;
      for (const interval of ['1m', '5m', '15m', '1h', '1d']) out[`${symbol} ${interval}`] = (await s.api('GET', `/v1/instruments/${symbol}/klines?interval=${interval}&limit=1500`)).body;
    }
    return out;
  };
  const market = await marketReads();
  // The end of day kept the market history as of its batch, for the next start to begin from.
  const journal = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
  const kept = journal.prepare('SELECT seq FROM market_checkpoints').all() as { seq: number }[];
  journal.close();
  t.equal(kept.length, 1, 'one market history checkpoint');
  t.ok(kept[0].seq >= Number(eod.headers.get('x-exchange-seq')), 'at or after the end of day');

  await s.stop();
  s = await startServer({ dataDir });
  t.same(await marketReads(), market, 'recent trades and every interval of K-lines read back the same');
  t.same((await s.api('GET', `/v1/settlement/${date}`, { key: 'operator' })).body, settlement, 'the settlement summary');
  t.equal((await s.api('GET', `/v1/settlement/${date}/trades`, { key: 'operator' })).text, register, 'the trade register, byte for byte');
  t.same((await s.api('GET', `/v1/fills?date=${date}`, { key: 'M1' })).body, fills, "the closed day's fills");
  t.same((await s.api('GET', `/v1/orders?date=${date}`, { key: 'M1' })).body, closedOrders.body, "the closed day's orders");
  t.same(await dayBars(), bars, "the 1d bars, the closed day's official close included");
  t.same((await s.api('GET', '/v1/orders?status=open', { key: 'M1' })).body, [], 'the DAY orders expired at the close and stay expired');
  t.match((await s.api('GET', '/v1/account?accountId=M2-P1', { key: 'M2' })).body, { restriction: 'no_sell' }, 'the restriction is kept');
  const second = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: { date } });
  t.equal(second.status, 409);
  t.equal(second.body.error?.code, 'DAY_ALREADY_CLOSED', 'the closed day cannot be closed again after a restart');
});
