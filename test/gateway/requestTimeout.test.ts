// A client that never finishes its request neither holds its connection nor keeps a shutdown
// waiting: after --request-timeout-ms it is answered 408 REQUEST_TIMEOUT and its connection closed,
// and nothing of the request is applied. And a shutdown whose snapshot cannot be written (here its
// folder is gone, as a full disk would refuse the file) still closes the journal and exits 0 with a
// one-line warning: nothing is lost, the next start replays the journal.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ExchangeProcess, tempFolder, writeKeys } from '../support/exchangeProcess.ts';

const folder = tempFolder('cx-timeout-');
t.teardown(folder.remove);
const MEMBER = 'mem_timeout_test_key_000000000001';
const keysFile = writeKeys(folder.path, [{ key: MEMBER, role: 'member', member: 'M1' }]);
const auth = { authorization: `Bearer ${MEMBER}`, 'content-type': 'application/json' };
const ORDER = JSON.stringify({ accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 });

/** A raw connection that has sent `text` and records what comes back until the server closes it. */
async function partial(port: number, text: string): Promise<{ closed: Promise<string>; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let got = '';
  socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  const closed = new Promise<string>((resolve) => { socket.once('close', () => resolve(got)); socket.on('error', () => undefined); });
  socket.write(text);
  return { closed, socket };
}

function parse(raw: string): { status: number; body: unknown } {
  const [head, ...rest] = raw.split('\r\n\r\n');
  let body: unknown = rest.join('\r\n\r\n');
  try { body = JSON.parse(body as string); } catch { /* kept as text */ }
  return { status: Number(head.split(' ')[1]), body };
}

const orderCount = async (base: string): Promise<number> => {
  const r = await fetch(`${base}/v1/orders?status=open`, { headers: auth });
  return ((await r.json()) as unknown[]).length;
};

t.test('a request that does not arrive whole in time is answered 408 and applies nothing', async (t) => {
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'slow'), keysFile, args: ['--request-timeout-ms', '1000'] });
  t.teardown(() => ex.kill());
  const before = await orderCount(ex.base);
  const began = Date.now();
  // A body announced at its full length, of which half is sent; and headers never finished.
  const body = await partial(ex.port, `POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${MEMBER}\r\nContent-Type: application/json\r\nContent-Length: ${ORDER.length}\r\n\r\n${ORDER.slice(0, 40)}`);
  const headers = await partial(ex.port, `GET /v1/instruments/CEA24/book HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
  for (const [what, c] of [['half a body', body], ['unfinished headers', headers]] as const) {
    const answer = parse(await c.closed);
    t.equal(answer.status, 408, `${what}: 408`);
    t.match(answer.body, { error: { code: 'REQUEST_TIMEOUT', message: /did not arrive whole within 1 s/ } }, `${what}: the API's error shape`);
  }
  const waited = Date.now() - began;
  t.ok(waited >= 900, `not before the timeout (${waited} ms)`);
  t.equal(await orderCount(ex.base), before, 'the half-sent order was not placed');
  const metrics = await (await fetch(`${ex.base}/metrics`)).text();
  t.match(metrics, /exchange_http_errors_total\{status="408",code="REQUEST_TIMEOUT"\} 2/, 'counted as HTTP errors');
  // A request sent whole, however slowly within the limit, is served.
  const slow = await partial(ex.port, `POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${MEMBER}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${ORDER.length}\r\n\r\n${ORDER.slice(0, 40)}`);
  await new Promise((r) => setTimeout(r, 300));
  slow.socket.write(ORDER.slice(40));
  t.equal(parse(await slow.closed).status, 201, 'a body finished within the limit is served');
  t.equal(await orderCount(ex.base), before + 1, 'and its order placed');
});

t.test('an unfinished request holds a shutdown no longer than the timeout', async (t) => {
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'shutdown'), keysFile, args: ['--request-timeout-ms', '1500'] });
  t.teardown(() => ex.kill());
  const c = await partial(ex.port, `POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${MEMBER}\r\nContent-Type: application/json\r\nContent-Length: ${ORDER.length}\r\n\r\n{"accountId"`);
  await new Promise((r) => setTimeout(r, 100));
  // Held without bound, it would still be running long after the timeout (1.5 s).
  const code = await Promise.race([ex.stop(), new Promise((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
  t.equal(code, 0, 'the shutdown ended, exit 0');
  t.equal(parse(await c.closed).status, 408, 'the unfinished request was answered 408');
  t.notMatch(ex.output, /\(node:\d+\) Warning/, 'no warning from Node');
});

t.test('a shutdown snapshot that cannot be written: exit 0, one warning, nothing lost', async (t) => {
  const dataDir = join(folder.path, 'nosnapshot');
  const ex = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => ex.kill());
  const placed = await fetch(`${ex.base}/v1/orders`, { method: 'POST', headers: auth, body: ORDER });
  t.equal(placed.status, 201, 'an order placed');
  const { order } = (await placed.json()) as { order: { orderId: string } };
  // The snapshot's folder becomes a file: writing the snapshot fails as on a full disk.
  const snapshots = join(dataDir, 'snapshots');
  rmSync(snapshots, { recursive: true, force: true });
  writeFileSync(snapshots, 'not a folder');
  t.equal(await ex.stop(), 0, 'exit 0: the journal holds every command');
  const lines = ex.output.split('\n').filter((l) => /^(warning|error|fatal|cannot)\b/.test(l));
  t.equal(lines.length, 1, `one line of warning: ${JSON.stringify(lines)}`);
  t.match(lines.join('\n'), /^warning: the shutdown snapshot could not be written \(.+\): nothing is lost, as the journal holds every command; the next start replays it from the last snapshot taken before$/m);
  t.notMatch(ex.output, /\n\s+at /, 'no stack trace');
  t.notMatch(ex.output, /\(node:\d+\) Warning/, 'no warning from Node');
  // Space is made again (the folder is back): the next start replays the journal and has the order.
  rmSync(snapshots);
  mkdirSync(snapshots);
  const again = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => again.kill());
  t.match(again.output, /snapshot none, \d+ commands? replayed/, 'replayed from the journal');
  const r = await fetch(`${again.base}/v1/orders/${order.orderId}`, { headers: auth });
  t.equal(r.status, 200, 'the order acknowledged before the shutdown is there');
  t.equal(await again.stop(), 0, 'and it stops cleanly again');
});
