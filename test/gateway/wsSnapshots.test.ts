// A member's `orders` snapshot larger than the bound on a client's unsent data (here 256 KiB; 20,000
// open orders make about 6 MB) does not get its client dropped while it takes it, however slowly:
// the snapshot is left out of the bound. What comes after it counts, and so does a second snapshot
// asked for before the first was taken. The snapshot's JSON is kept per member until an order or
// trade of theirs changes it: a later subscription gets the same, and one after a change shows it.
// The WebSocket protocol's own refusals: unsubscribing from a channel not followed, a message with a
// property its op does not take, an upgrade with another method or with a query string.
import t from 'tap';
import { expectError, KEYS, openSocket, rawRequest, restingSells, startServer, type SocketClient, type WsMessage } from '../support/server.ts';

const BOUND = 256 * 1024;
const OPEN = 20_000;
const s = await startServer({ publisher: { maxBufferedBytes: BOUND } });
const sockets: SocketClient[] = [];
t.teardown(async () => {
  for (const c of sockets) c.ws.terminate();
  await s.close();
});
const metric = async (name: string): Promise<number> => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec((await s.api('GET', '/metrics')).text);
  return m === null ? NaN : Number(m[1]);
};
type Paused = { _socket: { pause(): void; resume(): void } };
const pause = (c: SocketClient) => (c.ws as unknown as Paused)._socket.pause();
const resume = (c: SocketClient) => (c.ws as unknown as Paused)._socket.resume();

/** A member's connection, authenticated. */
async function member(key: string): Promise<SocketClient> {
  const c = await openSocket(s.wsUrl);
  sockets.push(c);
  c.send({ op: 'auth', key });
  await c.next((m) => m.type === 'authenticated');
  return c;
}

/** Waits until the server has sent `n` more WebSocket messages than `from` (exchange_ws_messages_total). */
async function sent(from: number, n: number): Promise<void> {
  for (let i = 0; i < 500 && (await metric('exchange_ws_messages_total')) < from + n; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** M2 buys `n` tonnes, one at a time up to 63.00: each fills M1's best resting sell (a fill and a report to M1). */
async function take(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '63.00', quantity: 1, timeInForce: 'IOC' } });
    if (r.status !== 201 || r.body.fills.length !== 1) throw new Error(`the buy did not fill: ${r.text.slice(0, 300)}`);
  }
}

t.before(() => restingSells(s, OPEN)); // M1's open sells: its `orders` snapshot is about 6 MB

t.test('a snapshot larger than the bound, taken slowly: not dropped; then its updates follow on', async (t) => {
  const c = await member(KEYS.M1);
  pause(c); // reads nothing for now: the snapshot waits in the kernel's buffers, then the server's
  const from = await metric('exchange_ws_messages_total');
  c.send({ op: 'subscribe', channels: ['orders'] });
  await sent(from, 2); // subscribed, snapshot
  await take(3); // three fills and reports for M1 while its snapshot is still on its way
  t.equal(await metric('exchange_ws_dropped_total'), 0, 'nobody dropped');
  resume(c);
  const snap = await c.next((m) => m.channel === 'orders' && m.type === 'snapshot');
  t.equal((snap.orders as unknown[]).length, OPEN, `the snapshot holds the ${OPEN} open orders (${JSON.stringify(snap).length} bytes, the bound ${BOUND})`);
  const reports = await c.next((m) => m.channel === 'orders' && m.type === 'execution' && m.seq === (snap.seq as number) + 6);
  t.ok(reports, 'then three fills and three reports, seq +1 each');
  t.same(c.on('orders').map((m) => m.seq), Array.from({ length: 7 }, (_, i) => (snap.seq as number) + i), 'no gap');
  t.equal(c.ws.readyState, 1, 'still open');
  await c.close();
});

t.test('what comes after the snapshot counts: a client that still reads nothing is dropped', async (t) => {
  const c = await member(KEYS.M1);
  pause(c);
  const from = await metric('exchange_ws_messages_total');
  c.send({ op: 'subscribe', channels: ['orders'] });
  await sent(from, 2);
  const dropped = await metric('exchange_ws_dropped_total');
  let taken = 0;
  while ((await metric('exchange_ws_dropped_total')) === dropped && taken < 2000) {
    await take(50);
    taken += 50;
  }
  t.equal(await metric('exchange_ws_dropped_total'), dropped + 1, `dropped after ${taken} more fills (about ${taken * 2} messages past its snapshot)`);
  resume(c);
  t.equal((await c.closed).code, 4008, 'with 4008');
});

t.test('a second snapshot asked for before the first was taken counts', async (t) => {
  const c = await member(KEYS.M1);
  pause(c);
  const from = await metric('exchange_ws_messages_total');
  c.send({ op: 'subscribe', channels: ['orders'] });
  c.send({ op: 'unsubscribe', channels: ['orders'] });
  c.send({ op: 'subscribe', channels: ['orders'] });
  await sent(from, 4); // subscribed, snapshot, unsubscribed, subscribed (the second snapshot then, or the drop)
  const dropped = await metric('exchange_ws_dropped_total');
  await take(1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(await metric('exchange_ws_dropped_total'), dropped + 1, 'dropped at the next message');
  resume(c);
  t.equal((await c.closed).code, 4008, 'with 4008');
});

t.test('the orders snapshot is kept until an order or trade of the member changes it', async (t) => {
  const c = await member(KEYS.M1);
  const snapshot = async (): Promise<WsMessage> => {
    const at = c.messages.length;
    c.send({ op: 'subscribe', channels: ['orders'] });
    const snap = await c.next((m) => m.channel === 'orders' && m.type === 'snapshot', at);
    c.send({ op: 'unsubscribe', channels: ['orders'] });
    await c.next((m) => m.type === 'unsubscribed', at);
    return snap;
  };
  const rest = async () => (await s.api('GET', '/v1/orders?status=open', { key: 'M1' })).body;
  const first = await snapshot();
  t.same(first.orders, await rest(), 'the snapshot equals GET /v1/orders?status=open');
  const second = await snapshot();
  t.same(second.orders, first.orders, 'the same again');
  await take(1);
  const newest = (first.orders as { orderId: string }[]).at(-1)!.orderId;
  t.equal((await s.api('DELETE', `/v1/orders/${newest}`, { key: 'M1' })).status, 200, 'one of them cancelled');
  const third = await snapshot();
  t.equal((third.orders as unknown[]).length, (first.orders as unknown[]).length - 2, 'after a fill and a cancel: two fewer');
  t.same(third.orders, await rest(), 'and equal to GET /v1/orders?status=open');
  await c.close();
});

t.test('refusals: unsubscribing from what is not followed, a property the op does not take', async (t) => {
  const c = await openSocket(s.wsUrl);
  sockets.push(c);
  const answer = async (m: unknown): Promise<WsMessage> => {
    const at = c.messages.length;
    c.send(m as Record<string, unknown>);
    return c.next(() => true, at);
  };
  t.match(await answer({ op: 'unsubscribe', channels: ['book:CEA24'] }), { type: 'error', code: 'NOT_SUBSCRIBED', message: /does not follow book:CEA24/ }, 'a channel never subscribed to');
  t.match(await answer({ op: 'unsubscribe', channels: ['orders'] }), { type: 'error', code: 'NOT_SUBSCRIBED' }, 'orders, before any auth');
  t.match(await answer({ op: 'subscribe', channels: ['book:CEA24'] }), { type: 'subscribed' });
  await c.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot');
  t.match(await answer({ op: 'unsubscribe', channels: ['book:CEA24', 'trades:CEA24'] }), { type: 'error', code: 'NOT_SUBSCRIBED', message: /does not follow trades:CEA24: nothing was unsubscribed/ }, 'one of two not followed: neither is left');
  t.match(await answer({ op: 'unsubscribe', channels: ['book:CEA42'] }), { type: 'error', code: 'UNKNOWN_INSTRUMENT' }, 'an unknown instrument is still said as such');
  t.match(await answer({ op: 'subscribe', channels: ['ticker:cea24'] }), { type: 'error', code: 'UNKNOWN_INSTRUMENT', message: 'no instrument "cea24" is listed (symbols are in capitals: CEA24)' }, 'a listed symbol in lower case is named in capitals');
  t.match(await answer({ op: 'unsubscribe', channels: ['book:CEA24'] }), { type: 'unsubscribed', channels: ['book:CEA24'] }, 'the one followed, alone: unsubscribed');
  t.match(await answer({ op: 'auth', key: KEYS.M1, channels: ['orders'] }), { type: 'error', code: 'INVALID_REQUEST', message: 'auth takes "op" and "key", not "channels"' }, 'auth with channels');
  t.match(await answer({ op: 'subscribe', channels: ['orders'] }), { type: 'error', code: 'UNAUTHENTICATED' }, 'which did not authenticate');
  t.match(await answer({ op: 'subscribe', channels: ['book:CEA24'], depth: 5 }), { type: 'error', code: 'INVALID_REQUEST', message: 'subscribe takes "op" and "channels", not "depth"' }, 'subscribe with a property of its own');
  t.match(await answer({ op: 'subscribe', channels: ['book:CEA24'] }), { type: 'subscribed' }, 'and the connection goes on');
});

t.test('an upgrade with another method, or with a query string, is refused in the API\'s error shape', async (t) => {
  const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
  const post = await rawRequest(s.port, `POST /v1/ws HTTP/1.1\r\nHost: x\r\n${upgrade}`);
  t.equal(post.status, 400);
  t.match(JSON.parse(post.body), { error: { code: 'INVALID_REQUEST', message: 'a WebSocket is opened with GET /v1/ws, not POST' } });
  const query = await rawRequest(s.port, `GET /v1/ws?token=abc HTTP/1.1\r\nHost: x\r\n${upgrade}`);
  t.equal(query.status, 400, 'a query string: 400, not 101');
  t.match(JSON.parse(query.body), { error: { code: 'INVALID_REQUEST', message: /property "token" this route does not take/ } });
  expectError(t, await s.api('GET', '/v1/ws?token=abc'), 400, 'INVALID_REQUEST', /property "token"/, 'without the upgrade too');
});
