// The WebSocket channels' finer points, over a real server and real `ws` clients, on a clock the test
// moves: `orders` starts with a snapshot (the member's open orders and the seq the reports continue
// from) and carries a rejected report for an order the engine refused; `ticker` sends an update only
// when the ticker changed; `kline` sends one update per committed batch, and announces a bar closed
// when the exchange's clock passes its end, without waiting for the next trade, and only once.
import t from 'tap';
import { holdCommits, KEYS, sendApplied, seqGaps, startServer, type ApiReply, type SocketClient, type WsMessage, subscribedSocket } from '../support/server.ts';

let clock = Date.parse('2026-03-10T10:00:50+08:00');
const s = await startServer({ now: () => clock });
t.teardown(() => s.close());
const order = (key: string, body: Record<string, unknown>) => s.api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const subscribed = (channels: string[], key?: string): Promise<SocketClient> => subscribedSocket(t, s.wsUrl, channels, key);

t.test('orders: a snapshot of the open orders, then reports from its seq on, a refused order included', async (t) => {
  const resting = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 10, clientOrderId: 'ws-rest' });
  t.equal(resting.status, 201);
  const c = await subscribed(['orders'], KEYS.M1);
  const snap = c.on('orders')[0];
  t.equal(snap.type, 'snapshot');
  t.type(snap.seq, 'number');
  t.match(snap.orders, [{ orderId: resting.body.order.orderId, clientOrderId: 'ws-rest', status: 'new', remainingQuantity: 10 }], "the member's open orders");

  const from = c.messages.length;
  const refused = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '99.00', quantity: 10, clientOrderId: 'ws-out' });
  t.equal(refused.status, 422);
  const report = await c.next((m) => m.channel === 'orders' && m.report?.status === 'rejected', from);
  t.match(report, {
    type: 'execution', seq: Number(snap.seq) + 1,
    report: {
      orderId: null, clientOrderId: 'ws-out', accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '99.00', quantity: 10,
      filledQuantity: 0, remainingQuantity: 0, avgPrice: null, reason: refused.body.error.code, message: String,
      timeInForce: 'DAY',
    },
  }, 'the rejected report continues from the snapshot (a limit order without timeInForce is DAY, as accepted ones read)');
  // A market order refused (over the largest single order): its report says IOC, as a market order is.
  const market = await order('M1', { accountId: 'M1-C1', side: 'buy', type: 'market', quantity: 10_000_000 });
  t.ok(market.status >= 400, `the market order is refused: ${market.body.error?.code}`);
  t.match(await c.next((m) => m.channel === 'orders' && m.report?.status === 'rejected' && m.report.type === 'market', from), { report: { timeInForce: 'IOC', price: null } });
  // A reused clientOrderId is refused (409) without a report: one in its name would read as the
  // resting order it names being rejected.
  const reused = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 11, clientOrderId: 'ws-rest' });
  t.equal(reused.status, 409);
  t.equal(reused.body.error.code, 'CLIENT_ORDER_ID_REUSED');
  await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.01', quantity: 5 });
  const accepted = await c.next((m) => m.channel === 'orders' && m.report?.status === 'new' && m.report.price === '57.01', from);
  t.equal(accepted.seq, Number(snap.seq) + 3);
  t.same(seqGaps(c.messages), []);
  await order('M2', { accountId: 'M2-C1', side: 'buy', price: '99.00', quantity: 10 });
  await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.02', quantity: 5 });
  await c.next((m) => m.channel === 'orders' && m.report?.price === '57.02', from);
  t.notOk(c.on('orders').some((m) => m.report?.accountId === 'M2-C1'), "another member's refusal is not reported here");
  t.notOk(c.on('orders').some((m) => m.report?.clientOrderId === 'ws-rest' && m.report.status === 'rejected'), 'no rejected report in the name of the resting ws-rest');
});

t.test('ticker: an update only when the ticker changed', async (t) => {
  const c = await subscribed(['ticker:CEA24']);
  await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.03', quantity: 5 });
  await sleep(300); // past the 100 ms ticker throttle
  t.same(c.on('ticker:CEA24').filter((m) => m.type === 'update'), [], 'a resting order changes nothing on the ticker');
  const sell = await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.03', quantity: 5 });
  const u = await c.next((m) => m.channel === 'ticker:CEA24' && m.type === 'update');
  t.match(u.ticker, { last: '57.03', date: '2026-03-10' });
  const snapshotSeq = c.on('ticker:CEA24')[0].ticker.exchangeSeq;
  t.equal(u.ticker.exchangeSeq, Number(sell.headers.get('x-exchange-seq')), 'the update stands at the trade\'s seq');
  t.ok(u.ticker.exchangeSeq > snapshotSeq, `newer than the snapshot (${snapshotSeq})`);
  const rest = await s.api('GET', '/v1/instruments/CEA24/ticker');
  t.same({ ...rest.body, exchangeSeq: 0 }, { ...u.ticker, exchangeSeq: 0 }, 'REST reads the same ticker');
  t.ok(rest.body.exchangeSeq >= u.ticker.exchangeSeq, 'and at the same seq or a later one');
  await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.04', quantity: 5 });
  await sleep(300);
  t.equal(c.on('ticker:CEA24').filter((m) => m.type === 'update').length, 1, 'still one update');
});

t.test('kline: one update per batch; the bar closes on the clock, once', async (t) => {
  const c = await subscribed(['kline:CEA24:1m', 'trades:CEA24']);
  clock = Date.parse('2026-03-10T10:00:59.600+08:00');
  // One order meeting two resting sells: two trades, one batch, one K-line update.
  await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.10', quantity: 3 });
  await order('M3', { accountId: 'M3-C1', side: 'sell', price: '57.11', quantity: 4 });
  const from = c.messages.length;
  const buy = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.11', quantity: 7 });
  t.equal(buy.body.fills.length, 2, 'two trades');
  await c.next((m) => m.channel === 'trades:CEA24' && m.tradeId === buy.body.fills[1].tradeId, from);
  await sleep(50);
  const updates = (): WsMessage[] => c.on('kline:CEA24:1m').slice(1);
  t.equal(updates().filter((m) => c.messages.indexOf(m) >= from).length, 1, 'one update for the batch');
  const open = updates().at(-1)!;
  t.match(open, { type: 'update', closed: false, bar: { openTime: '2026-03-10T10:00:00.000+08:00', close: '57.11' } });

  clock = Date.parse('2026-03-10T10:01:00.100+08:00'); // the bar's minute is over
  const closed = await c.next((m) => m.channel === 'kline:CEA24:1m' && m.closed === true, from, 3000);
  t.match(closed, { seq: Number(open.seq) + 1, bar: { openTime: '2026-03-10T10:00:00.000+08:00', close: '57.11' } }, 'announced without a trade');

  const next = c.messages.length;
  await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.00', quantity: 1 });
  const u = await c.next((m) => m.channel === 'kline:CEA24:1m', next);
  t.match(u, { closed: false, bar: { openTime: '2026-03-10T10:01:00.000+08:00' } }, 'the next trade opens the next bar');
  t.equal(c.on('kline:CEA24:1m').filter((m) => m.closed === true).length, 1, 'the close was announced once');
  t.same(seqGaps(c.messages), []);
});

t.test('blocks and trades: the snapshots hold the recent trades of their own kind, however busy the other', async (t) => {
  const p = await s.api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  t.equal(p.status, 201, p.text.slice(0, 200));
  const a = await s.api('POST', `/v1/block-trades/${p.body.block.blockId}/accept`, { key: 'M2', body: { accountId: 'M2-C1' } });
  t.equal(a.status, 200, a.text.slice(0, 200));
  const blockTrade = a.body.trade.tradeId as string;
  // 250 listed trades after it: more than the snapshots once looked back over (the latest 200 of all kinds).
  let listed = 0;
  for (let i = 0; i < 25; i++) {
    const rounds = await Promise.all(Array.from({ length: 10 }, async () => {
      await order('M2', { accountId: 'M2-C1', side: 'buy', price: '56.50', quantity: 1 });
      return order('M3', { accountId: 'M3-C1', side: 'sell', price: '56.50', quantity: 1, timeInForce: 'IOC' });
    }));
    listed += rounds.reduce((n, r) => n + r.body.fills.length, 0);
  }
  t.ok(listed >= 250, `${listed} listed trades after the block trade`);
  const c = await subscribed(['blocks:CEA24', 'trades:CEA24']);
  const blocks = c.on('blocks:CEA24')[0];
  t.equal(blocks.type, 'snapshot');
  t.match(blocks.trades[0], { tradeId: blockTrade, mode: 'block', price: '57.00', quantity: 100000 }, 'the block trade leads the blocks snapshot');
  t.ok(blocks.trades.every((x: { mode: string }) => x.mode === 'block'), 'block trades only');
  const trades = c.on('trades:CEA24')[0];
  t.equal(trades.trades.length, 50, 'the trades snapshot: the latest 50');
  t.ok(trades.trades.every((x: { mode: string }) => x.mode !== 'block'), 'no block trade among them');
  t.same(trades.trades.map((x: { tradeId: string }) => x.tradeId), (await s.api('GET', '/v1/instruments/CEA24/trades?limit=50')).body.map((x: { tradeId: string }) => x.tradeId), 'the same as the latest 50 over HTTP');
});

t.test("orders: a resting order's member gets its report after each fill, as the trade left it", async (t) => {
  const c = await subscribed(['orders'], KEYS.M3);
  const from = c.messages.length;
  const rest = await order('M3', { accountId: 'M3-C1', side: 'sell', price: '58.00', quantity: 100, clientOrderId: 'maker-1' });
  t.equal(rest.status, 201);
  const orderId = rest.body.order.orderId as string;
  const first = await order('M2', { accountId: 'M2-C1', side: 'buy', price: '58.00', quantity: 40 });
  t.match(first.body.fills, [{ price: '58.00', quantity: 40 }], 'the buy met the resting sell alone');
  // Two more together: likely one batch, where the reports must still show each trade's state.
  const more = await Promise.all([30, 30].map((quantity) => order('M2', { accountId: 'M2-C1', side: 'buy', price: '58.00', quantity })));
  t.same(more.map((r) => r.body.fills.length), [1, 1]);
  await c.next((m) => m.channel === 'orders' && m.report?.orderId === orderId && m.report.status === 'filled', from);

  const mine = c.on('orders').filter((m) => c.messages.indexOf(m) >= from && (m.report?.orderId === orderId || m.fill?.orderId === orderId));
  t.same(mine.map((m) => (m.fill !== undefined ? 'fill' : 'report')), ['report', 'fill', 'report', 'fill', 'report', 'fill', 'report'], 'accepted, then a report after each fill');
  const reports = mine.filter((m) => m.report !== undefined).slice(1).map((m) => m.report);
  t.match(reports, [
    { orderId, clientOrderId: 'maker-1', side: 'sell', price: '58.00', quantity: 100, filledQuantity: 40, remainingQuantity: 60, avgPrice: '58.00', status: 'partially_filled' },
    { filledQuantity: 70, remainingQuantity: 30, avgPrice: '58.00', status: 'partially_filled' },
    { filledQuantity: 100, remainingQuantity: 0, avgPrice: '58.00', status: 'filled' },
  ]);
  for (let i = 1; i < mine.length; i += 2) {
    t.equal(mine[i + 1].seq, Number(mine[i].seq) + 1, 'the report follows its fill at once');
    t.equal(mine[i + 1].report.time, mine[i].fill.time, "the report's time is its trade's");
    t.equal(mine[i + 1].report.remainingQuantity, mine[i].fill.remaining);
  }
  const reread = await s.api('GET', `/v1/orders/${orderId}`, { key: 'M3' });
  t.match(reread.body, reports[2], 'the last report is the order as read over HTTP');
  t.same(seqGaps(c.messages), []);
});

t.test('a channel named twice in one subscribe is one subscription', async (t) => {
  const c = await subscribed(['ticker:CEA24']);
  const from = c.messages.length;
  c.send({ op: 'subscribe', channels: ['trades:CEA24', 'book:CEA24', 'trades:CEA24'] });
  const answer = await c.next((m) => m.type === 'subscribed', from);
  t.same(answer.channels, ['trades:CEA24', 'book:CEA24']);
  await c.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot', from);
  c.send({ op: 'unsubscribe', channels: ['book:CEA24', 'book:CEA24'] });
  t.same((await c.next((m) => m.type === 'unsubscribed', from)).channels, ['book:CEA24']);
  t.equal(c.messages.slice(from).filter((m) => m.channel === 'trades:CEA24' && m.type === 'snapshot').length, 1, 'one trades snapshot');
});

t.test("kline: the day's end closes the day's bars that the clock has not closed yet, once", async (t) => {
  // Guangdong's listed session runs to 15:30: a trade at 15:20 leaves its hour's bar open at the
  // day's end (15:31), though no trade can join it any more.
  clock = Date.parse('2026-03-10T15:20:00+08:00');
  const gdea = (key: string, body: Record<string, unknown>) => s.api('POST', '/v1/orders', { key, body: { symbol: 'GDEA', type: 'limit', price: '38.90', quantity: 10, ...body } });
  t.equal((await gdea('M2', { accountId: 'M2-C2', side: 'sell' })).status, 201);
  t.equal((await gdea('M1', { accountId: 'M1-I1', side: 'buy' })).body.fills?.length, 1, 'a GDEA trade at 15:20');
  const c = await subscribed(['kline:GDEA:1h', 'kline:GDEA:1d', 'ticker:GDEA']);
  t.match(c.on('ticker:GDEA')[0].ticker, { date: '2026-03-10', last: '38.90' });
  t.match(c.on('kline:GDEA:1h')[0], { type: 'snapshot', closed: false, bars: [{ openTime: '2026-03-10T15:00:00.000+08:00' }] }, 'the hour is open before the end of day');

  clock = Date.parse('2026-03-10T15:31:00+08:00');
  const from = c.messages.length;
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  t.equal(eod.status, 200, eod.text.slice(0, 200));
  t.match(await c.next((m) => m.channel === 'kline:GDEA:1h' && m.closed === true, from, 3000), { type: 'update', bar: { openTime: '2026-03-10T15:00:00.000+08:00', close: '38.90', volume: 10 } },
    'the hour is announced closed at the end of day');
  t.match(await c.next((m) => m.channel === 'kline:GDEA:1d' && m.closed === true, from, 3000), { type: 'update', bar: { openTime: '2026-03-10T00:00:00.000+08:00', close: '38.90' } },
    'the day with its official close');
  const final = await c.next((m) => m.channel === 'ticker:GDEA' && m.type === 'update', from, 3000);
  t.match(final.ticker, { date: '2026-03-10', exchangeSeq: Number(eod.headers.get('x-exchange-seq')), close: '38.90', last: '38.90', volume: 10 },
    'first the closed day\'s last ticker, with its official close');
  const rolled = await c.next((m) => m.channel === 'ticker:GDEA' && m.type === 'update', c.messages.indexOf(final) + 1, 3000);
  t.match(rolled.ticker, { date: '2026-03-11', close: null, last: null, prevClose: '38.90' }, 'then the ticker rolls over to the next day, which it names');
  const late = await subscribed(['kline:GDEA:1h']);
  t.match(late.on('kline:GDEA:1h')[0], { type: 'snapshot', closed: true }, 'a later snapshot says it is closed');

  clock = Date.parse('2026-03-10T16:00:01+08:00'); // the hour is over on the clock too
  await sleep(1500);
  t.equal(c.on('kline:GDEA:1h').filter((m) => m.closed === true).length, 1, 'the hour is announced closed once');
  t.same(seqGaps(c.messages), []);
});

t.test("kline: a day's bar closes at its end of day, also when that runs after midnight: once, with the official close", async (t) => {
  clock = Date.parse('2026-03-11T10:00:00+08:00');
  t.equal((await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.20', quantity: 3 })).status, 201);
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.20', quantity: 3 })).body.fills?.length, 1, 'a trade on the 11th');
  const c = await subscribed(['kline:CEA24:1d']);
  t.match(c.on('kline:CEA24:1d')[0], { type: 'snapshot', closed: false, bars: [{ openTime: '2026-03-11T00:00:00.000+08:00' }] });
  clock = Date.parse('2026-03-12T00:00:01+08:00'); // midnight, before the operator's end of day
  await sleep(1500);
  t.same(c.on('kline:CEA24:1d').filter((m) => m.closed === true), [], 'midnight does not close the day: its close is not the official one yet');
  const late = await subscribed(['kline:CEA24:1d']);
  t.match(late.on('kline:CEA24:1d')[0], { type: 'snapshot', closed: false }, 'nor does a snapshot say it is');
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  t.equal(eod.status, 200, eod.text.slice(0, 200));
  const close = eod.body.instruments.find((i: { symbol: string }) => i.symbol === 'CEA24').close as string;
  t.match(await c.next((m) => m.channel === 'kline:CEA24:1d' && m.closed === true, 0, 3000), { bar: { openTime: '2026-03-11T00:00:00.000+08:00', close } }, 'closed at the end of day, with the official close');
  await sleep(1200);
  t.equal(c.on('kline:CEA24:1d').filter((m) => m.closed === true).length, 1, 'once');
  t.same(seqGaps(c.messages), []);
});

t.test('kline: a trade stamped in a bar\'s last moments and committed after its minute ended is in the bar announced closed; nothing follows the close', async (t) => {
  const c = await subscribed(['kline:CEA24:1m', 'trades:CEA24']);
  clock = Date.parse('2026-03-12T10:05:59.900+08:00');
  t.equal((await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.10', quantity: 6 })).status, 201);
  const first = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.10', quantity: 2 });
  t.equal(first.body.fills?.length, 1, 'a trade in the minute 10:05');
  const bar = '2026-03-12T10:05:00.000+08:00';
  await c.next((m) => m.channel === 'kline:CEA24:1m' && m.bar?.openTime === bar);
  // The next trade is stamped in the same minute, and its batch held back from the disk while the
  // minute ends on the clock and the bar's timer finds its time up; a trade of the next minute
  // follows it, also held back.
  const release = holdCommits(s.dataDir);
  let late: { reply: Promise<ApiReply> };
  let next: { reply: Promise<ApiReply> };
  try {
    late = await sendApplied(s, () => order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.10', quantity: 3 }));
    clock = Date.parse('2026-03-12T10:06:00.100+08:00');
    await sleep(400);
    next = await sendApplied(s, () => order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.10', quantity: 1 }));
  } finally {
    release();
  }
  t.equal((await late.reply).body.fills?.length, 1, 'the late trade');
  t.equal((await next.reply).body.fills?.length, 1, 'the next minute\'s');
  await sleep(200);
  const ofBar = c.on('kline:CEA24:1m').filter((m) => m.bar?.openTime === bar);
  const closes = ofBar.filter((m) => m.closed === true);
  t.equal(closes.length, 1, 'announced closed once');
  t.equal(ofBar.at(-1), closes[0], 'and nothing of the bar after it');
  const nextBar = c.on('kline:CEA24:1m').filter((m) => m.bar?.openTime === '2026-03-12T10:06:00.000+08:00');
  t.match(nextBar, [{ closed: false, bar: { volume: 1 } }], 'the next minute\'s bar, with its trade only');
  t.ok(c.messages.indexOf(closes[0]) < c.messages.indexOf(nextBar[0]), 'after the close of the one before');
  const rest = (await s.api('GET', '/v1/instruments/CEA24/klines?interval=1m&limit=5')).body as { openTime: string; volume: number; close: string }[];
  t.match(closes[0]?.bar, rest.find((b) => b.openTime === bar), 'the closed bar is the one REST shows, the late trade in it');
  t.equal(closes[0]?.bar.volume, 5, 'both trades: 2 t and 3 t');
  t.same(seqGaps(c.messages), []);
});
