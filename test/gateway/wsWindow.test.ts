// The publisher's write window, with real `ws` clients and a window long enough (300 ms) that a burst
// of trades falls inside one: the messages of a window reach each client joined in few socket reads,
// each client gets exactly the channels it subscribed to, in order and with no gap, and subscribing
// or unsubscribing while a window is still open neither repeats nor loses a message around the
// snapshot or the answer.
import t from 'tap';
import { KEYS, openSocket, seqGaps, startServer, type SocketClient, type WsMessage } from '../support/server.ts';

const WINDOW_MS = 300;
const s = await startServer({ publisher: { flushMs: WINDOW_MS } });
const api = s.api;
const sockets: SocketClient[] = [];
t.teardown(async () => {
  for (const c of sockets) await c.close();
  await s.close();
});

/** A client subscribed to `channels` (auth first when it wants orders), with its socket reads counted. */
async function subscriber(channels: string[], key?: string): Promise<SocketClient & { reads: () => number }> {
  const c = await openSocket(s.wsUrl);
  sockets.push(c);
  let reads = 0;
  (c.ws as unknown as { _socket: { on(e: 'data', f: () => void): void } })._socket.on('data', () => { reads++; });
  if (key !== undefined) {
    c.send({ op: 'auth', key });
    await c.next((m) => m.type === 'authenticated');
  }
  c.send({ op: 'subscribe', channels });
  await c.next((m) => m.type === 'subscribed');
  for (const ch of channels) if (ch !== 'orders') await c.next((m) => m.channel === ch && m.type === 'snapshot');
  return Object.assign(c, { reads: () => reads });
}

const sell = (price: string, quantity: number) =>
  api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price, quantity } });
const buy = (price: string, quantity: number) =>
  api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price, quantity } });
/** Sells first (one batch), then `n` one-tonne buys at once, each taking one of them: `n` trades. */
async function burst(n: number, price = '57.00'): Promise<string[]> {
  for (const r of await Promise.all(Array.from({ length: n }, () => sell(price, 1)))) if (r.status !== 201) throw new Error(r.text);
  const buys = await Promise.all(Array.from({ length: n }, () => buy(price, 1)));
  return buys.map((r) => {
    if (r.status !== 201 || r.body.fills.length !== 1) throw new Error(`a buy did not trade: ${r.text}`);
    return r.body.fills[0].tradeId as string;
  });
}
const tradeIds = (c: SocketClient, from = 0) => c.messages.slice(from).filter((m) => m.channel === 'trades:CEA24' && m.type === 'trade').map((m) => m.tradeId as string);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('a burst inside one window: each client gets its own channels, in order, in few reads', async (t) => {
  const tradesOnly = await subscriber(['trades:CEA24']);
  const withBook = await subscriber(['trades:CEA24', 'book:CEA24']);
  const member = await subscriber(['trades:CEA24', 'orders'], KEYS.M1);
  await sleep(WINDOW_MS * 2); // the set-up's messages are out; the burst starts a fresh window
  const from = [tradesOnly, withBook, member].map((c) => c.messages.length);
  const readsBefore = tradesOnly.reads();

  const ids = await burst(12);
  for (const c of [tradesOnly, withBook, member]) await c.next((m) => m.channel === 'trades:CEA24' && m.tradeId === ids[ids.length - 1]);
  await sleep(WINDOW_MS * 2);

  for (const [c, name, i] of [[tradesOnly, 'trades only', 0], [withBook, 'trades and book', 1], [member, 'trades and orders', 2]] as const) {
    t.same(tradeIds(c, from[i]), [...ids].sort((a, b) => Number(a) - Number(b)), `${name}: every trade once, in trade order`);
    t.same(seqGaps(c.messages), [], `${name}: no seq gap on any channel`);
  }
  const channelsOf = (c: SocketClient, i: number) => [...new Set(c.messages.slice(from[i]).map((m) => m.channel))].sort();
  t.same(channelsOf(tradesOnly, 0), ['trades:CEA24'], 'the trades-only client gets nothing else');
  t.same(channelsOf(withBook, 1), ['book:CEA24', 'trades:CEA24'], 'the book client gets book updates too');
  t.same(channelsOf(member, 2), ['orders', 'trades:CEA24'], 'the member gets its execution reports too');
  t.notOk(withBook.messages.slice(from[1]).some((m) => m.channel === 'orders'), 'nobody else sees the member\'s orders');

  // Twelve trades in separate batches: without the window each would be its own write and read.
  const reads = tradesOnly.reads() - readsBefore;
  t.ok(reads <= 4, `12 trade messages came in ${reads} socket reads`);
});

t.test('subscribing while a window is open: the snapshot, then exactly the messages after it', async (t) => {
  const early = await subscriber(['trades:CEA24']);
  await sleep(WINDOW_MS * 2);
  const late = await openSocket(s.wsUrl);
  sockets.push(late);
  // The first trade goes out at once and opens a window; the next ones wait in it, already
  // committed and published, when the late client subscribes.
  await burst(1, '57.10');
  const ids = await burst(6, '57.10');
  t.ok(early.messages.filter((m) => ids.includes(m.tradeId as string)).length < ids.length, 'the window is still open');
  late.send({ op: 'subscribe', channels: ['trades:CEA24'] });
  const snap = await late.next((m) => m.channel === 'trades:CEA24' && m.type === 'snapshot');
  await early.next((m) => m.tradeId === ids[ids.length - 1]);
  await sleep(WINDOW_MS * 2);

  const after = late.on('trades:CEA24').filter((m) => m.type === 'trade');
  t.same(after.map((m) => m.seq), after.map((_, i) => (snap.seq as number) + 1 + i), 'updates follow the snapshot seq by seq');
  const inSnapshot = new Set((snap.trades as WsMessage[]).map((x) => x.tradeId as string));
  for (const m of after) t.notOk(inSnapshot.has(m.tradeId as string), `trade ${m.tradeId} is not both in the snapshot and after it`);
  const seen = new Set([...inSnapshot, ...after.map((m) => m.tradeId as string)]);
  t.ok(ids.every((id) => seen.has(id)), 'every trade of the burst is in the snapshot or after it');
  t.same(seqGaps(early.messages), [], 'the early client has no gap');
});

t.test('unsubscribing while a window is open: what came before the answer, nothing after it', async (t) => {
  const c = await subscriber(['trades:CEA24', 'book:CEA24']);
  await sleep(WINDOW_MS * 2);
  const ids = burst(4, '57.20');
  const first = await c.next((m) => m.channel === 'trades:CEA24' && m.type === 'trade', c.messages.length);
  c.send({ op: 'unsubscribe', channels: ['trades:CEA24'] });
  const answer = await c.next((m) => m.type === 'unsubscribed');
  await ids;
  const later = await burst(3, '57.20');
  await sleep(WINDOW_MS * 2);
  const at = c.messages.indexOf(answer);
  t.ok(c.messages.indexOf(first) < at, 'a trade came before the answer');
  t.same(c.messages.slice(at + 1).filter((m) => m.channel === 'trades:CEA24'), [], 'no trade message after the answer');
  t.notOk(tradeIds(c).some((id) => later.includes(id)), 'none of the later trades reached it');
  t.ok(c.messages.slice(at + 1).some((m) => m.channel === 'book:CEA24'), 'the book channel goes on');
  t.same(seqGaps(c.messages), [], 'no gap on book');
});
