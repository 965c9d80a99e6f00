// Protocol pings (API.md "ping/pong at the protocol level") tell a live client from a dead one. A
// client that does not answer a ping by the next one is ended, unless the ping still had data of the
// server's waiting ahead of it (a member's 6 MB `orders` snapshot) and the client has been taking
// that data since: it cannot answer a ping it has not received yet. Here pings go every second.
import t from 'tap';
import { KEYS, openSocket, restingSells, startServer, type SocketClient } from '../support/server.ts';

const PING_MS = 1000;
const OPEN = 40_000;
const s = await startServer({ publisher: { pingMs: PING_MS } });
const sockets: SocketClient[] = [];
t.teardown(async () => {
  for (const c of sockets) c.ws.terminate();
  await s.close();
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type Raw = { _socket: { pause(): void; resume(): void; on(e: 'data', f: (b: Buffer) => void): void } };
const raw = (c: SocketClient) => (c.ws as unknown as Raw)._socket;
const clients = async (): Promise<number> => Number(/^exchange_ws_clients (\S+)$/m.exec((await s.api('GET', '/metrics')).text)?.[1]);

async function member(options: { autoPong?: boolean } = {}): Promise<SocketClient> {
  const c = await openSocket(s.wsUrl, options);
  sockets.push(c);
  c.send({ op: 'auth', key: KEYS.M1 });
  await c.next((m) => m.type === 'authenticated');
  return c;
}

/** Waits until the server counts `n` connections (a safety net, not a measurement). */
async function until(n: number, withinMs: number): Promise<boolean> {
  for (const end = Date.now() + withinMs; Date.now() < end; await sleep(20)) if ((await clients()) === n) return true;
  return false;
}

t.before(() => restingSells(s, OPEN)); // M1's open sells: its `orders` snapshot is about 12 MB

t.test('a client that answers pings stays; one that does not is ended within two pings', async (t) => {
  const live = await member();
  const mute = await member({ autoPong: false });
  t.equal(await clients(), 2, 'two connections');
  t.ok(await until(1, 20 * PING_MS), 'the one that does not answer is ended');
  t.equal((await mute.closed).code, 1006, 'without a close frame (1006)');
  await sleep(4 * PING_MS);
  t.equal(live.ws.readyState, 1, `the one that answers is still open after ${4} more pings`);
  await live.close();
  t.ok(await until(0, 5000), 'none left');
});

t.test('a client taking a large snapshot slowly is not ended while it takes it', async (t) => {
  const c = await member();
  // It reads a chunk (at most 64 KiB) every 20 ms: its 12 MB snapshot takes seconds. On loopback the
  // kernel's buffers hold megabytes: pings a second apart and a snapshot this large let the pings wait
  // behind the server's own backlog, as a 15 s ping waits behind a snapshot on a slow link.
  const socket = raw(c);
  socket.on('data', () => { socket.pause(); setTimeout(() => socket.resume(), 20); });
  const start = Date.now();
  c.send({ op: 'subscribe', channels: ['orders'] });
  const snap = await c.next((m) => m.channel === 'orders' && m.type === 'snapshot', 0, 120_000);
  const took = Date.now() - start;
  t.equal((snap.orders as unknown[]).length, OPEN, `the whole snapshot arrived (${OPEN} orders)`);
  t.ok(took > 2 * PING_MS, `it took ${took} ms, more than two pings' interval: pings waited behind it`);
  await sleep(4 * PING_MS);
  t.equal(c.ws.readyState, 1, 'still open four pings later: it answers them now');
  t.equal(await clients(), 1, 'and the server still counts it');
  await c.close();
  t.ok(await until(0, 5000), 'none left');
});

t.test('a client that stops reading with data waiting for it is ended', async (t) => {
  const c = await member();
  raw(c).pause(); // it takes nothing: the snapshot stays in the kernel's buffers and the server's
  c.send({ op: 'subscribe', channels: ['orders'] });
  t.ok(await until(0, 20 * PING_MS), 'ended, though the bound on unsent data leaves its snapshot out');
  raw(c).resume();
  t.equal((await c.closed).code, 1006, 'without a close frame (1006)');
});
