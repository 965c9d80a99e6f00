// While the exchange shuts down (SIGTERM, or close()), a request that still reaches it on an open
// connection gets an answer in the API's shape: /readyz 503 {"status":"stopping"}, the other routes
// 503 SHUTTING_DOWN with Retry-After and Connection: close; /healthz still says the process is
// alive. The requests are written on raw sockets whose headers were begun before the shutdown and
// finished during it, so that they reach the exchange in that window.
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { KEYS, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

interface RawReply { status: number; headers: Record<string, string>; body: unknown }

/** A socket that has sent the first line of a request, and a function that finishes it and reads the answer. */
async function begun(path: string, headers: Record<string, string> = {}): Promise<{ finish: () => Promise<RawReply> }> {
  const socket: Socket = connect(s.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
  const ended = new Promise<void>((resolve) => { socket.once('close', () => resolve()); socket.once('error', () => resolve()); });
  return {
    finish: async () => {
      const all = { connection: 'keep-alive', ...headers };
      socket.write(`${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
      // The answer ends the connection (Connection: close); wait for it, at most 5 s.
      await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))]);
      socket.destroy();
      const [head, ...rest] = text.split('\r\n\r\n');
      const lines = head.split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const hs: Record<string, string> = {};
      for (const l of lines.slice(1)) { const i = l.indexOf(':'); hs[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
      const raw = rest.join('\r\n\r\n');
      let body: unknown = raw;
      try { body = JSON.parse(raw); } catch { /* not JSON: kept as text */ }
      return { status, headers: hs, body };
    },
  };
}

t.test('requests that arrive while it shuts down', async (t) => {
  const ready = await begun('/readyz');
  const health = await begun('/healthz');
  const book = await begun('/v1/instruments/CEA24/book');
  const orders = await begun('/v1/orders?status=open', { authorization: `Bearer ${KEYS.M1}` });
  const upgrade = await begun('/v1/ws', { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' });
  const closing = s.stop();
  await new Promise((r) => setTimeout(r, 50));

  const r = await ready.finish();
  t.equal(r.status, 503, '/readyz: 503');
  t.same(r.body, { status: 'stopping' }, '/readyz says it is stopping, not recovering');
  const h = await health.finish();
  t.equal(h.status, 200, '/healthz: the process is alive');
  t.same(h.body, { status: 'ok' });
  for (const [what, pending] of [['a public read', book], ["a member's read", orders]] as const) {
    const a = await pending.finish();
    t.equal(a.status, 503, `${what}: 503`);
    t.match(a.body, { error: { code: 'SHUTTING_DOWN', message: /shutting down/ } }, `${what}: the error body of API.md`);
    t.equal(a.headers['retry-after'], '1', `${what}: Retry-After`);
    t.equal(a.headers.connection, 'close', `${what}: the connection is closed after it`);
  }
  const u = await upgrade.finish();
  t.equal(u.status, 503, 'a WebSocket upgrade is refused with 503');
  t.match(u.body, { error: { code: 'SHUTTING_DOWN' } });
  await closing;
});
