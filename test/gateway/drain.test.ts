// The drain before a shutdown (`--drain-ms`): on SIGTERM the exchange keeps serving for that long
// while /readyz answers 503 {"status":"stopping"}, so that a load balancer takes it out before it
// stops. Orders are still taken (and journalled: a restart has them), market data still flows to
// the subscribers already connected, and each HTTP answer closes its keep-alive connection so that
// the client's next request goes elsewhere. A second signal ends the drain at once; without one the
// exchange stops by itself when the drain is over. Driven through the real start command.
import { request } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { ExchangeProcess, tempFolder, writeKeys } from '../support/exchangeProcess.ts';
import { call, KEY_SPECS, KEYS, openSocket } from '../support/server.ts';

const folder = tempFolder('drain-test-');
t.teardown(folder.remove);
const keysFile = writeKeys(folder.path, KEY_SPECS);

/** POST /v1/orders over node:http, to read the Connection header as sent. */
function postOrder(base: string, body: unknown): Promise<{ status: number; connection: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.M1}`, 'content-type': 'application/json', connection: 'keep-alive' },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Polls /readyz until it answers 503 (the drain has begun); a safety net fails the test rather than hang it. */
async function untilNotReady(ex: ExchangeProcess): Promise<{ status: number; body: any }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await call(ex.base, 'GET', '/readyz');
    if (r.status !== 200) return r;
    if (Date.now() > deadline) throw new Error(`/readyz still 200 after the signal:\n${ex.output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const order = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 };

t.test('during the drain: /readyz 503, orders still taken and published, connections closed after each answer; a second SIGTERM stops it', async (t) => {
  const dataDir = join(folder.path, 'long-drain');
  const ex = await ExchangeProcess.start({ dataDir, keysFile, args: ['--drain-ms', '600000'] });
  t.teardown(() => ex.kill());
  const before = await postOrder(ex.base, order);
  t.equal(before.status, 201, 'an order before the signal');
  t.equal(before.connection, 'keep-alive', 'its connection is kept alive');
  const sub = await openSocket(`ws://127.0.0.1:${ex.port}/v1/ws`);
  t.teardown(() => sub.close());
  sub.send({ op: 'subscribe', channels: ['book:CEA24'] });
  await sub.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot');

  ex.signal('SIGTERM');
  const ready = await untilNotReady(ex);
  t.equal(ready.status, 503, '/readyz 503');
  t.same(ready.body, { status: 'stopping' });
  t.equal((await call(ex.base, 'GET', '/healthz')).status, 200, '/healthz: alive');
  t.match((await call(ex.base, 'GET', '/metrics')).text, /^exchange_ready 0$/m, 'exchange_ready 0');
  t.match(ex.output, /draining for 600000 ms \(\/readyz answers 503\), then stopping/, 'it says it drains');

  const during = await postOrder(ex.base, { ...order, quantity: 200, clientOrderId: 'during-drain' });
  t.equal(during.status, 201, 'an order during the drain is taken');
  t.equal(during.connection, 'close', 'and its connection closed after the answer');
  const update = await sub.next((m) => m.channel === 'book:CEA24' && m.type === 'update' && m.bids.some(([p, q]: [string, number]) => p === '57.00' && q >= 300));
  t.ok(update, 'subscribers still get the book');
  t.equal((await call(ex.base, 'GET', `/v1/orders/${during.body.order.orderId}`, { key: 'M1' })).status, 200, 'reads are served');

  ex.signal('SIGTERM');
  t.equal((await ex.ended()).code, 0, 'a second SIGTERM: exit 0 without waiting out the drain');
  t.match(await sub.closed, { code: 1001 }, 'the subscriber is told the server is going away');

  // The order taken during the drain was journalled before it was acknowledged.
  const again = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => again.kill());
  const back = await call(again.base, 'GET', `/v1/orders/${during.body.order.orderId}`, { key: 'M1' });
  t.match(back.body, { orderId: during.body.order.orderId, clientOrderId: 'during-drain', status: 'new', quantity: 200 });
  t.equal(await again.stop(), 0);
});

t.test('without a second signal the drain ends by itself and the exchange stops', async (t) => {
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'short-drain'), keysFile, env: { DRAIN_MS: '400' } });
  t.teardown(() => ex.kill());
  ex.signal('SIGTERM');
  t.equal((await ex.ended()).code, 0, 'exit 0');
  t.match(ex.output, /draining for 400 ms/);
});

t.test('without --drain-ms, SIGTERM stops at once, without a drain', async (t) => {
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'no-drain'), keysFile });
  t.teardown(() => ex.kill());
  t.equal(await ex.stop(), 0, 'exit 0');
  t.notMatch(ex.output, /draining/);
});
