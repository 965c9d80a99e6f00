// WebSocket market data and execution reports with a real `ws` client: a snapshot first on every
// market channel, seq rising by exactly 1 per channel, a trade posted over HTTP arriving on trades,
// as absolute level quantities on book (0 removes a level), on ticker and kline, and as execution
// reports on the member's own orders channel only; errors for unknown channels and for orders
// without auth; unsubscribe stops a channel; and nothing about a command reaches a socket before
// the journal holds it (the HTTP reply names that sequence number in x-exchange-seq).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { KEYS, localBook, openSocket, seqGaps, startServer, type ApiReply, type BookLevel as Level, type SocketClient, type WsMessage } from '../support/server.ts';

const s = await startServer();
const api = s.api;

// A second, read-only connection to the journal sees committed batches only.
const journal = new Database(join(s.dataDir, 'journal.sqlite'), { readonly: true, fileMustExist: true });
const committedSeq = (): number => (journal.prepare('SELECT max(last_seq) AS seq FROM batches').get() as { seq: number }).seq;
/** For each message, the highest committed sequence number at the moment it arrived. */
const committedAt = new WeakMap<WsMessage, number>();
const stamp = (m: WsMessage) => committedAt.set(m, committedSeq());

const sockets: SocketClient[] = [];
t.teardown(async () => {
  for (const c of sockets) await c.close();
  journal.close();
  await s.close();
});
const connect = async () => {
  const c = await openSocket(s.wsUrl, { onMessage: stamp });
  sockets.push(c);
  return c;
};

const order = (key: string, body: Record<string, unknown>) => api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });
const seqOf = (r: ApiReply) => Number(r.headers.get('x-exchange-seq'));

const restBook = async () => {
  const b = (await api('GET', '/v1/instruments/CEA24/book?depth=20')).body;
  return { bids: b.bids, asks: b.asks };
};

let a: SocketClient; // M1, authenticated
let b: SocketClient; // M2, authenticated
let c: SocketClient; // anonymous
const MARKET = ['book:CEA24', 'trades:CEA24', 'ticker:CEA24', 'kline:CEA24:1m'];

t.test('subscribe: an answer, then a snapshot first on every market channel', async (t) => {
  // Something in the book and one trade before anyone subscribes, so the snapshots have content.
  t.equal((await order('M2', { accountId: 'M2-C1', side: 'sell', price: '58.00', quantity: 100 })).status, 201);
  t.equal((await order('M2', { accountId: 'M2-C1', side: 'sell', price: '58.50', quantity: 50 })).status, 201);
  t.equal((await order('M3', { accountId: 'M3-C1', side: 'buy', price: '57.00', quantity: 20 })).status, 201);

  a = await connect();
  a.send({ op: 'subscribe', channels: MARKET });
  t.match(await a.next((m) => m.type === 'subscribed'), { type: 'subscribed', channels: MARKET });
  for (const ch of MARKET) {
    const first = await a.next((m) => m.channel === ch);
    t.equal(first.type, 'snapshot', `the first message on ${ch} is a snapshot`);
    t.type(first.seq, 'number', `${ch} carries seq`);
  }
  const snap = a.on('book:CEA24')[0];
  t.same({ bids: snap.bids, asks: snap.asks }, await restBook(), 'the book snapshot equals the REST book');
  t.same(snap.asks, [['58.00', 100, 1], ['58.50', 50, 1]]);
  t.match(a.on('ticker:CEA24')[0], { ticker: { prevClose: '57.46', bandLow: '51.71', bandHigh: '63.21' } });

  a.send({ op: 'auth', key: KEYS.M1 });
  t.match(await a.next((m) => m.type === 'authenticated'), { member: 'M1' });
  a.send({ op: 'subscribe', channels: ['orders'] });
  t.match(await a.next((m) => m.type === 'subscribed' && m.channels.includes('orders')), { channels: ['orders'] });

  b = await connect();
  b.send({ op: 'auth', key: KEYS.M2 });
  await b.next((m) => m.type === 'authenticated');
  b.send({ op: 'subscribe', channels: ['orders', 'book:CEA24'] });
  await b.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot');
});

t.test('errors: unknown channel, unknown instrument, orders without auth, bad messages', async (t) => {
  c = await connect();
  const expectErr = async (message: unknown, code: string | RegExp) => {
    const from = c.messages.length;
    c.send(message);
    const m = await c.next((x) => x.type === 'error', from);
    t.match(m, { type: 'error', code, message: String }, `${JSON.stringify(message).slice(0, 80)} → ${m.code}`);
    t.equal(m.channel, undefined, 'an error is not a channel message');
  };
  await expectErr({ op: 'subscribe', channels: ['weather:CEA24'] }, 'UNKNOWN_CHANNEL');
  await expectErr({ op: 'subscribe', channels: ['kline:CEA24:2m'] }, 'UNKNOWN_CHANNEL');
  for (const name of ['book', 'trades', 'ticker', 'blocks', 'book:', 'kline']) {
    const from = c.messages.length;
    c.send({ op: 'subscribe', channels: [name] });
    t.match(await c.next((x) => x.type === 'error', from), { code: 'UNKNOWN_CHANNEL', message: /^no channel .*: use book:SYM/ }, `${name} without a symbol names the channels there are`);
  }
  await expectErr({ op: 'subscribe', channels: ['book:NOPE1'] }, /UNKNOWN/);
  await expectErr({ op: 'subscribe', channels: ['orders'] }, 'UNAUTHENTICATED');
  await expectErr({ op: 'auth', key: 'not-a-key-of-this-exchange' }, 'UNAUTHENTICATED');
  await expectErr({ op: 'auth', key: KEYS.risk }, 'UNAUTHENTICATED');
  await expectErr({ op: 'subscribe', channels: ['orders'] }, 'UNAUTHENTICATED');
  await expectErr('{not json', /INVALID/);
  await expectErr({ op: 'dance' }, /INVALID/);
  const from = c.messages.length;
  c.send('{"op": "subscribe", "channels": ["trades:CEA24"], "channels": ["book:CEA24"]}');
  t.match(await c.next((x) => x.type === 'error', from), { code: 'INVALID_REQUEST', message: 'the message names the property channels more than once in one object: name each property once' },
    'a property named twice (JSON.parse would take the second)');
  await expectErr({ op: 'subscribe', channels: 'book:CEA24' }, /INVALID/);
  await expectErr({ op: 'subscribe', channels: [] }, /INVALID/);
  await expectErr({ op: 'subscribe', channels: ['x'.repeat(10_000)] }, /INVALID|UNKNOWN/);
  t.equal(c.messages.filter((m) => m.channel !== undefined).length, 0, 'a refused subscription delivers nothing');
  t.equal(c.ws.readyState, c.ws.OPEN, 'the connection stays open');
});

t.test('a trade over HTTP reaches trades, book, ticker, kline and the orders of both members', async (t) => {
  const fromA = a.messages.length;
  const fromB = b.messages.length;
  const buy = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '58.00', quantity: 30 });
  t.equal(buy.status, 201);
  t.ok(buy.headers.get('x-exchange-seq'), 'the reply carries x-exchange-seq');
  const seq = seqOf(buy);
  const orderId = buy.body.order.orderId;
  const tradeId = buy.body.fills[0].tradeId;

  const trade = await a.next((m) => m.channel === 'trades:CEA24' && m.type === 'trade', fromA);
  t.match(trade, { tradeId, symbol: 'CEA24', price: '58.00', quantity: 30, mode: 'listed', aggressor: 'buy' });
  const update = await a.next((m) => m.channel === 'book:CEA24' && m.type === 'update', fromA);
  t.same(update.asks, [['58.00', 70, 1]], 'the level carries its absolute quantity, not the change');
  t.same(update.bids, [], 'the bid side did not change');
  const bar = await a.next((m) => m.channel === 'kline:CEA24:1m' && m.type === 'update', fromA);
  t.match(bar, { bar: { open: '58.00', close: '58.00', volume: 30, turnover: '1740.00' } });
  const ticker = await a.next((m) => m.channel === 'ticker:CEA24' && m.type === 'update' && m.ticker.last === '58.00', fromA);
  t.match(ticker.ticker, { last: '58.00', listedVolume: 30 });

  const mineA = await a.next((m) => m.channel === 'orders' && m.fill?.tradeId === tradeId, fromA);
  t.match(mineA.fill, { orderId, accountId: 'M1-C1', side: 'buy', price: '58.00', quantity: 30, fee: '0.00' });
  const reportA = await a.next((m) => m.channel === 'orders' && m.report?.orderId === orderId, fromA);
  t.match(reportA.report, { orderId, status: 'filled', filledQuantity: 30 });
  const mineB = await b.next((m) => m.channel === 'orders' && m.fill?.tradeId === tradeId, fromB);
  t.match(mineB.fill, { accountId: 'M2-C1', side: 'sell', price: '58.00', quantity: 30 });
  await b.next((m) => m.channel === 'book:CEA24' && m.type === 'update', fromB);

  const foreignA = a.on('orders').filter((m) => JSON.stringify(m).includes('"M2-'));
  const foreignB = b.on('orders').filter((m) => JSON.stringify(m).includes('"M1-'));
  t.same(foreignA, [], "M1's connection gets none of M2's execution reports");
  t.same(foreignB, [], "M2's connection gets none of M1's execution reports");
  t.equal(c.messages.filter((m) => m.channel !== undefined).length, 0, 'an unsubscribed connection gets nothing');

  for (const m of [trade, update, bar, mineA, reportA, mineB]) {
    t.ok((committedAt.get(m) ?? 0) >= seq, `${m.channel} ${m.type}: the journal held seq ${seq} when it arrived (${committedAt.get(m)})`);
  }
  t.same(localBook(a.messages), await restBook(), 'snapshot + updates = the REST book');
});

t.test('a level taken out is sent as quantity 0; a resting order is an execution report for its member only', async (t) => {
  const from = a.messages.length;
  const rest = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.10', quantity: 5 });
  t.equal(rest.status, 201);
  const accepted = await a.next((m) => m.channel === 'orders' && m.report?.orderId === rest.body.order.orderId, from);
  t.match(accepted.report, { status: 'new', remainingQuantity: 5, price: '57.10' }, 'an accepted order is reported');
  t.ok((committedAt.get(accepted) ?? 0) >= seqOf(rest), 'not before the journal held it');
  t.same((await a.next((m) => m.channel === 'book:CEA24' && m.type === 'update', from)).bids, [['57.10', 5, 1]]);

  const fromA = a.messages.length;
  const fromB = b.messages.length;
  const sweep = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '58.00', quantity: 70 });
  t.match(sweep.body.order, { status: 'filled' });
  const removal = await a.next((m) => m.channel === 'book:CEA24' && m.type === 'update', fromA);
  t.same(removal.asks, [['58.00', 0, 0]], 'the emptied level is sent with quantity 0');
  // The resting order's end: a report with status filled, or a fill with nothing remaining.
  const sold = await b.next((m) => m.channel === 'orders' && (m.report?.status === 'filled' || (m.fill !== undefined && m.fill.remaining === 0)), fromB);
  t.match(sold.report ?? sold.fill, { accountId: 'M2-C1', side: 'sell', price: '58.00' }, "M2's resting order is reported filled to M2");
  t.same(b.on('orders').filter((m) => m.report?.accountId?.startsWith('M1-')), [], "M1's orders are never reported to M2");

  const cancel = await api('DELETE', `/v1/orders/${rest.body.order.orderId}`, { key: 'M1' });
  t.equal(cancel.status, 200);
  const cancelled = await a.next((m) => m.channel === 'orders' && m.report?.orderId === rest.body.order.orderId && m.report.status === 'cancelled', fromA);
  t.ok((committedAt.get(cancelled) ?? 0) >= seqOf(cancel), 'the cancel report comes after the journal held it');
  t.same((await a.next((m) => m.channel === 'book:CEA24' && m.type === 'update' && m.bids.length > 0 && m.bids[0][0] === '57.10', fromA)).bids, [['57.10', 0, 0]]);
  t.same(localBook(a.messages), await restBook(), 'snapshot + updates = the REST book');
});

t.test('unsubscribe stops a channel; the others go on', async (t) => {
  a.send({ op: 'unsubscribe', channels: ['trades:CEA24'] });
  await a.next((m) => m.type === 'unsubscribed');
  const from = a.messages.length;
  const tradesBefore = a.on('trades:CEA24').length;
  const sell = await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.00', quantity: 20 });
  t.match(sell.body, { order: { status: 'filled' } }, 'M2 sells to the resting bid of M3');
  // The book update of this trade is published after its trade message: once it is here, a trade message would have been too.
  await a.next((m) => m.channel === 'book:CEA24' && m.type === 'update', from);
  t.equal(a.on('trades:CEA24').length, tradesBefore, 'no trade message after unsubscribing');

  a.send({ op: 'subscribe', channels: ['trades:CEA24'] });
  const again = await a.next((m) => m.channel === 'trades:CEA24', from);
  t.equal(again.type, 'snapshot', 'subscribing again starts with a fresh snapshot');
  t.match(again.trades?.[0], { price: '57.00', quantity: 20 }, 'the snapshot holds the trade missed meanwhile');
});

t.test('authenticating again as another member moves the orders channel with it (or is refused)', async (t) => {
  const d = await connect();
  d.send({ op: 'auth', key: KEYS.M1 });
  await d.next((m) => m.type === 'authenticated');
  d.send({ op: 'subscribe', channels: ['orders', 'book:CEA24'] });
  await d.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot');
  const from = d.messages.length;
  d.send({ op: 'auth', key: KEYS.M2 });
  const answer = await d.next((m) => m.type === 'authenticated' || m.type === 'error', from);
  if (answer.type === 'error') {
    t.pass('a second auth is refused');
    return;
  }
  t.same(answer, { type: 'authenticated', member: 'M2', unsubscribed: ['orders'] }, "one answer, saying that M1's orders channel stopped");
  t.same(d.messages.slice(from).filter((m) => m.channel === undefined), [answer], 'and no other answer to the auth');
  d.send({ op: 'subscribe', channels: ['orders'] });
  await d.next((m) => m.type === 'subscribed' || m.type === 'error', from);
  const mark = d.messages.length;
  const m1 = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '55.10', quantity: 1 });
  const m2 = await order('M2', { accountId: 'M2-C1', side: 'buy', price: '55.20', quantity: 1 });
  // The book update of M2's order is published after its execution report: once it is here, the report would have been too.
  await d.next((m) => m.channel === 'book:CEA24' && m.type === 'update' && m.bids.some((l: Level) => l[0] === '55.20'), mark);
  const reports = d.messages.slice(mark).filter((m) => m.channel === 'orders').map((m) => m.report?.orderId);
  t.notOk(reports.includes(m1.body.order.orderId), "after authenticating as M2 the connection gets no more of M1's reports");
  t.ok(reports.includes(m2.body.order.orderId), "and gets M2's");
  await api('DELETE', `/v1/orders/${m1.body.order.orderId}`, { key: 'M1' });
  await api('DELETE', `/v1/orders/${m2.body.order.orderId}`, { key: 'M2' });
});

/** A socket authenticated with `key` and subscribed to its orders channel, its snapshot received. */
async function ordersOf(key: string): Promise<SocketClient> {
  const c = await openSocket(s.wsUrl);
  c.send({ op: 'auth', key });
  await c.next((m) => m.type === 'authenticated');
  c.send({ op: 'subscribe', channels: ['orders'] });
  await c.next((m) => m.channel === 'orders' && m.type === 'snapshot');
  return c;
}

t.test('a block between two accounts of one member reaches that member once per change', async (t) => {
  const d = await ordersOf(KEYS.M1);
  const p = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M1-I1' } });
  t.equal(p.status, 201, 'proposed');
  const id = p.body.block.blockId as string;
  t.equal((await api('DELETE', `/v1/block-trades/${id}`, { key: 'M1' })).status, 200, 'withdrawn');
  await d.next((m) => m.block?.blockId === id && m.block.status === 'withdrawn');
  // Anything still on its way would follow the withdrawal in the same window; give it a turn.
  await new Promise((r) => setTimeout(r, 50));
  t.same(d.messages.filter((m) => m.block?.blockId === id).map((m) => m.block.status), ['proposed', 'withdrawn'], 'each change once, not once per side');
  t.same(seqGaps(d.on('orders')), [], 'seq +1');
  await d.close();
});

t.test("a fill on orders is GET /v1/fills's record with the order's remaining and status: a block's names its block", async (t) => {
  const d = await ordersOf(KEYS.M2);
  const p = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  t.equal(p.status, 201, 'M1 proposes to M2-C1');
  const id = p.body.block.blockId as string;
  const accepted = await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M2', body: { accountId: 'M2-C1' } });
  t.equal(accepted.status, 200, 'M2 accepts');
  const fill = (await d.next((m) => m.fill?.blockId === id)).fill;
  const record = ((await api('GET', '/v1/fills', { key: 'M2' })).body as { tradeId: string; side: string }[]).find((f) => f.tradeId === fill.tradeId && f.side === 'buy');
  t.same(fill, { ...record, remaining: 0, orderStatus: null }, 'the same fields and values');
  t.match(fill, { blockId: id, orderId: null, mode: 'block', amount: '5700000.00', quantity: 100000 });
  await d.close();
});

t.test("the orders snapshot holds the open block proposals the member is party to, as the block messages leave them", async (t) => {
  const snapshotOf = async (key: string) => {
    const c = await ordersOf(key);
    await c.close();
    return c.on('orders')[0];
  };
  const before = await snapshotOf(KEYS.M2); // kept, then dropped by the proposal below
  const p = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  t.equal(p.status, 201, 'M1 proposes to M2-C1');
  const id = p.body.block.blockId as string;
  const open = (await snapshotOf(KEYS.M2)).blocks as { blockId: string; status: string }[];
  t.match(open.find((b) => b.blockId === id), { blockId: id, status: 'proposed', proposerAccountId: 'M1-C1', counterpartyAccountId: 'M2-C1', price: '57.00', quantity: 100000 }, "in the counterparty's snapshot");
  t.notOk((before.blocks as { blockId: string }[]).some((b) => b.blockId === id), 'not in the one taken before it');
  t.ok(((await snapshotOf(KEYS.M1)).blocks as { blockId: string }[]).some((b) => b.blockId === id), "in the proposer's");
  t.notOk(((await snapshotOf(KEYS.M3)).blocks as { blockId: string }[]).some((b) => b.blockId === id), "not in a third member's");
  t.equal((await api('POST', `/v1/block-trades/${id}/reject`, { key: 'M2' })).status, 200, 'rejected');
  t.notOk(((await snapshotOf(KEYS.M2)).blocks as { blockId: string }[]).some((b) => b.blockId === id), 'an ended one is not open any more');
});

t.test('a WebSocket client is told when the exchange shuts down (1001 and a reason)', async (t) => {
  const other = await startServer();
  const d = await openSocket(other.wsUrl);
  d.send({ op: 'subscribe', channels: ['trades:CEA24'] });
  await d.next((m) => m.channel === 'trades:CEA24' && m.type === 'snapshot');
  await other.close();
  t.same(await d.closed, { code: 1001, reason: 'the exchange is shutting down' });
});

t.test('seq rises by exactly 1 per channel on every connection', async (t) => {
  for (const [name, client] of [['M1', a], ['M2', b]] as const) {
    const channels = new Set(client.messages.map((m) => m.channel).filter((x) => x !== undefined));
    t.ok(channels.size >= 2, `${name} got messages on ${[...channels].join(', ')}`);
    // A resubscription starts again from its snapshot; check each run of a channel separately.
    const runs: WsMessage[][] = [];
    const open = new Map<string, WsMessage[]>();
    for (const m of client.messages) {
      if (m.channel === undefined) continue;
      if (m.type === 'snapshot' || !open.has(m.channel)) { const run: WsMessage[] = []; runs.push(run); open.set(m.channel, run); }
      open.get(m.channel)!.push(m);
    }
    for (const run of runs) t.same(seqGaps(run), [], `${name} ${run[0].channel}: no gap`);
  }
  const metrics = (await api('GET', '/metrics')).text;
  t.match(metrics, /^exchange_ws_clients 4$/m, 'four clients connected');
});

t.test('no subprotocol is agreed to: one a client offers is not echoed back', async (t) => {
  const ws = new WebSocket(s.wsUrl, ['v2.exchange', 'foo']);
  const upgrade = await new Promise<import('node:http').IncomingMessage | Error>((resolve) => {
    ws.once('upgrade', resolve);
    ws.once('error', resolve);
  });
  ws.terminate();
  t.ok(upgrade instanceof Error || upgrade.headers['sec-websocket-protocol'] === undefined, 'no Sec-WebSocket-Protocol in the answer (the ws client then refuses the connection)');
});
