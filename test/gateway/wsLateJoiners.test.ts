// WebSocket subscribers who come late, and clients who misbehave, over a real server and real `ws`
// clients on a clock the test moves:
// - a ticker update held back by the throttle when its last subscriber left is not sent to the next
//   subscriber, whose snapshot is newer than it;
// - a K-line subscriber who came after the bar's first trade still hears the bar close, and the
//   snapshot says whether its bar is closed;
// - heartbeats are counted per connection, from 1;
// - failed `auth` messages and floods of messages close the connection (1008); a binary frame and
//   an over-long key are refused in words.
import t from 'tap';
import { KEYS, openSocket, seqGaps, startServer, type SocketClient, subscribedSocket } from '../support/server.ts';

let clock = Date.parse('2026-03-10T10:05:10+08:00'); // a Tuesday
const s = await startServer({ now: () => clock, publisher: { tickerMs: 1500, heartbeatMs: 300 } });
t.teardown(() => s.close());
const order = (key: string, body: Record<string, unknown>) => s.api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** One trade of `quantity` t at 57.20: a resting buy of M1, a sell of M2 meeting it. */
async function trade(quantity: number): Promise<void> {
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.20', quantity })).status, 201);
  const sell = await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.20', quantity });
  t.equal(sell.body.fills?.length, 1, 'one trade');
}

const subscribed = (channels: string[]): Promise<SocketClient> => subscribedSocket(t, s.wsUrl, channels);

t.test('ticker: an update held back when the last subscriber left never reaches the next one', async (t) => {
  const a = await subscribed(['ticker:CEA24']);
  await trade(1);
  await a.next((m) => m.channel === 'ticker:CEA24' && m.type === 'update'); // sent at once
  await trade(2); // within the throttle: held back, to go out 1.5 s after the first
  a.send({ op: 'unsubscribe', channels: ['ticker:CEA24'] });
  await a.next((m) => m.type === 'unsubscribed');
  await trade(3); // nobody follows the ticker now
  const b = await subscribed(['ticker:CEA24']);
  const snapshot = b.on('ticker:CEA24')[0].ticker;
  const rest = await s.api('GET', '/v1/instruments/CEA24/ticker');
  t.equal(snapshot.listedVolume, rest.body.listedVolume, 'the snapshot is the ticker now');
  await sleep(2000); // past the held-back update's time
  t.same(b.on('ticker:CEA24').filter((m) => m.type === 'update'), [], 'nothing older than the snapshot follows it');
  await trade(4);
  const u = await b.next((m) => m.channel === 'ticker:CEA24' && m.type === 'update', 0, 3000);
  t.equal(u.ticker.listedVolume, snapshot.listedVolume + 4, 'the next change follows on from the snapshot');
  t.same(seqGaps(b.messages), []);
});

t.test('kline: a subscriber who came after the bar\'s first trade hears it close', async (t) => {
  clock = Date.parse('2026-03-10T10:07:20+08:00');
  await trade(5); // opens the 10:07 bar while nobody follows the 1m K-lines
  const c = await subscribed(['kline:CEA24:1m']);
  const snap = c.on('kline:CEA24:1m')[0];
  t.match(snap, { type: 'snapshot', closed: false, bars: [{ openTime: '2026-03-10T10:07:00.000+08:00', volume: 5 }] });
  clock = Date.parse('2026-03-10T10:08:00.200+08:00'); // the minute is over; no trade comes
  const closed = await c.next((m) => m.channel === 'kline:CEA24:1m' && m.closed === true, 0, 3000);
  t.match(closed, { seq: Number(snap.seq) + 1, bar: { openTime: '2026-03-10T10:07:00.000+08:00', volume: 5 } });
  // A subscriber who comes now is told the bar it gets is closed.
  const late = await subscribed(['kline:CEA24:1m']);
  t.match(late.on('kline:CEA24:1m')[0], { closed: true, bars: [{ openTime: '2026-03-10T10:07:00.000+08:00' }] });
  await sleep(1200);
  t.equal(c.on('kline:CEA24:1m').filter((m) => m.closed === true).length, 1, 'the close is announced once');
});

t.test('heartbeats are counted per connection, from 1', async (t) => {
  const a = await openSocket(s.wsUrl);
  t.teardown(() => a.close());
  await a.next((m) => m.channel === 'heartbeat' && m.seq === 3, 0, 3000);
  const b = await openSocket(s.wsUrl);
  t.teardown(() => b.close());
  const first = await b.next((m) => m.channel === 'heartbeat', 0, 3000);
  t.match(first, { type: 'heartbeat', seq: 1, time: String });
  await b.next((m) => m.channel === 'heartbeat' && m.seq === 2, 0, 3000);
  t.same(seqGaps(a.messages), []);
  t.same(seqGaps(b.messages), []);
});

t.test('failed auth messages close the connection after five', async (t) => {
  const c = await openSocket(s.wsUrl);
  c.send({ op: 'auth', key: 'x'.repeat(60_000) });
  const long = await c.next((m) => m.type === 'error');
  t.match(long, { code: 'UNAUTHENTICATED', message: 'auth takes a member API key' }, 'an over-long key is refused like any other');
  for (let i = 0; i < 3; i++) c.send({ op: 'auth', key: `guess-${i}-0000000000000000` });
  await c.next((m) => m.type === 'error' && c.messages.filter((x) => x.type === 'error').length === 4);
  c.send({ op: 'auth', key: KEYS.risk }); // a key, but not a member's: a failure too
  t.same(await c.closed, { code: 1008, reason: '5 failed auth messages' });
  // A member's key after a few failures is taken.
  const d = await openSocket(s.wsUrl);
  t.teardown(() => d.close());
  d.send({ op: 'auth', key: 'wrong-key-00000000000' });
  await d.next((m) => m.type === 'error');
  d.send({ op: 'auth', key: KEYS.M1 });
  t.match(await d.next((m) => m.type === 'authenticated'), { member: 'M1' });
});

t.test('the 50 messages count in any span of a second, not per second of the clock', async (t) => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  // 50 just before the clock's second turns and 10 just after it: 60 within about 100 ms.
  const c = await openSocket(s.wsUrl);
  await sleep(960 - (Date.now() % 1000) + (Date.now() % 1000 > 940 ? 1000 : 0));
  for (let i = 0; i < 50; i++) c.send({ op: 'nonsense' });
  await sleep(1000 - (Date.now() % 1000) + 20);
  for (let i = 0; i < 10; i++) c.send({ op: 'nonsense' });
  t.same(await c.closed, { code: 1008, reason: 'more than 50 messages a second' }, 'a burst across the turn of a second is one burst');
  // 50, a second's pause, 50 more: never more than 50 in a second, so the connection stays.
  const d = await openSocket(s.wsUrl);
  for (let i = 0; i < 50; i++) d.send({ op: 'nonsense' });
  await d.next((m) => m.type === 'error' && d.messages.filter((x) => x.type === 'error').length === 50);
  await sleep(1050);
  for (let i = 0; i < 49; i++) d.send({ op: 'nonsense' });
  d.send({ op: 'subscribe', channels: ['trades:CEA24'] });
  t.match(await d.next((m) => m.type === 'subscribed'), { channels: ['trades:CEA24'] }, '50 more after a second are answered');
  d.ws.close();
});

t.test('more than 50 messages in a second close the connection', async (t) => {
  const c = await openSocket(s.wsUrl);
  for (let i = 0; i < 5; i++) c.send({ op: 'subscribe', channels: [`ticker:${['CEA23', 'CEA24', 'CEA25', 'CCER', 'BEA'][i]}`] });
  for (let i = 0; i < 55; i++) c.send({ op: 'nonsense' });
  t.same(await c.closed, { code: 1008, reason: 'more than 50 messages a second' });
  t.equal(c.messages.filter((m) => m.type === 'subscribed').length, 5, 'the subscriptions before the flood were answered');
  t.equal(c.messages.filter((m) => m.type === 'snapshot').length, 5, 'with their snapshots');
  t.equal(c.messages.filter((m) => m.type === 'error').length, 45, 'and so were the other messages taken, before the close: no more');
  const health = await s.api('GET', '/healthz');
  t.equal(health.status, 200);
});

t.test('a binary frame is refused in words', async (t) => {
  const c = await openSocket(s.wsUrl);
  t.teardown(() => c.close());
  c.ws.send(Buffer.from('{"op":"subscribe","channels":["book:CEA24"]}'), { binary: true });
  t.match(await c.next((m) => m.type === 'error'), { code: 'INVALID_REQUEST', message: 'messages are JSON text, not binary frames' });
});
