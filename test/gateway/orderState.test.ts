// What a member reads about its orders after they trade, over real HTTP on a fixed clock: a resting
// order filled by others' orders shows partially_filled and then filled (GET /v1/orders/:id, the
// list, a repeated clientOrderId, and the same after a restart, when the state comes back from the
// journal's facts); a repeated clientOrderId returns the order's fills so far; the fill of an order
// that trades when modified carries that order's own fee (an instrument whose buyers pay 1 % and
// sellers nothing tells the sides apart).
import { readFileSync, rmSync } from 'node:fs';
import t from 'tap';
import { expectError, expectOk, KEYS, startServer, subscribedSocket, type TestServer } from '../support/server.ts';

let clock = Date.parse('2026-03-10T10:00:00+08:00');
let s: TestServer = await startServer({ now: () => clock });
const dataDir = s.dataDir;
t.teardown(async () => {
  await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
const order = (key: string, body: Record<string, unknown>) => s.api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });

let sellId = '';
const tradeIds: string[] = [];

t.test('a resting order filled by incoming orders reads back as filled', async (t) => {
  const sell = await order('M1', { accountId: 'M1-C1', side: 'sell', price: '57.90', quantity: 30, clientOrderId: 's-1' });
  expectOk(t, sell, 201, 'the resting sell');
  sellId = sell.body.order.orderId;

  const first = await order('M2', { accountId: 'M2-C1', side: 'buy', price: '57.90', quantity: 10 });
  t.match(first.body, { order: { status: 'filled' }, fills: [{ price: '57.90', quantity: 10 }] });
  tradeIds.push(first.body.fills[0].tradeId);
  t.match((await s.api('GET', `/v1/orders/${sellId}`, { key: 'M1' })).body, { status: 'partially_filled', filledQuantity: 10, remainingQuantity: 20 });

  const second = await order('M2', { accountId: 'M2-C1', side: 'buy', price: '58.00', quantity: 25 });
  t.match(second.body, { order: { status: 'partially_filled', filledQuantity: 20 }, fills: [{ price: '57.90', quantity: 20 }] });
  tradeIds.push(second.body.fills[0].tradeId);

  const now = await s.api('GET', `/v1/orders/${sellId}`, { key: 'M1' });
  expectOk(t, now, 200);
  t.match(now.body, { orderId: sellId, status: 'filled', filledQuantity: 30, remainingQuantity: 0, avgPrice: '57.90' }, 'GET /v1/orders/:id');
  const all = await s.api('GET', '/v1/orders?status=all', { key: 'M1' });
  t.match(all.body.find((o: { orderId: string }) => o.orderId === sellId), { status: 'filled', filledQuantity: 30 }, 'GET /v1/orders?status=all');
  const open = await s.api('GET', '/v1/orders?status=open', { key: 'M1' });
  t.notOk(open.body.some((o: { orderId: string }) => o.orderId === sellId), 'no longer among the open orders');
});

t.test('a repeated clientOrderId returns the order as it stands and its fills so far', async (t) => {
  const again = await order('M1', { accountId: 'M1-C1', side: 'sell', price: '57.90', quantity: 30, clientOrderId: 's-1' });
  expectOk(t, again, 200, 'the repeat');
  t.match(again.body, { order: { orderId: sellId, status: 'filled', filledQuantity: 30 }, duplicate: true });
  t.same(again.body.fills.map((f: { tradeId: string; quantity: number; price: string; fee: string }) => [f.tradeId, f.quantity, f.price, f.fee]),
    [[tradeIds[0], 10, '57.90', '0.00'], [tradeIds[1], 20, '57.90', '0.00']]);
});

t.test('after a restart the filled order still reads back as filled', async (t) => {
  await s.stop();
  s = await startServer({ now: () => clock, dataDir });
  t.match((await s.api('GET', `/v1/orders/${sellId}`, { key: 'M1' })).body, { status: 'filled', filledQuantity: 30, remainingQuantity: 0, avgPrice: '57.90' });
  const again = await order('M1', { accountId: 'M1-C1', side: 'sell', price: '57.90', quantity: 30, clientOrderId: 's-1' });
  t.match(again.body, { order: { status: 'filled' }, duplicate: true });
  t.equal(again.body.fills.length, 2, 'both fills');
});

t.test('an order that trades when modified gets its own fee on the fill', async (t) => {
  const profile = JSON.parse(readFileSync(new URL('../../markets/venues/hbea.json', import.meta.url), 'utf8'));
  profile.fees = { listed: { buy: '0.01', sell: '0' }, block: { buy: '0.01', sell: '0' }, auction: { buy: '0.01', sell: '0' } };
  expectOk(t, await s.api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'HBFX', name: 'buyers pay', vintage: null, profile, listingPrice: '40.00' } }), 201, 'listed');
  expectOk(t, await s.api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-C2', symbol: 'HBFX', quantity: 1000 } }), 201, 'tonnes to sell');

  const buy = await order('M2', { accountId: 'M2-P1', symbol: 'HBFX', side: 'buy', price: '39.00', quantity: 100 });
  expectOk(t, buy, 201, 'a resting buy');
  expectOk(t, await order('M1', { accountId: 'M1-C2', symbol: 'HBFX', side: 'sell', price: '40.00', quantity: 100 }), 201, 'a resting sell');
  const patched = await s.api('PATCH', `/v1/orders/${buy.body.order.orderId}`, { key: 'M2', body: { price: '40.00' } });
  expectOk(t, patched, 200, 'the buy raised to the sell');
  t.match(patched.body, { order: { status: 'filled' }, fills: [{ price: '40.00', quantity: 100, fee: '40.00' }] }, "the buyer's 1 % on 4,000.00");
  const fills = await s.api('GET', '/v1/fills', { key: 'M2' });
  t.match(fills.body.find((f: { symbol: string }) => f.symbol === 'HBFX'), { side: 'buy', fee: '40.00' }, 'the same fee in GET /v1/fills');

  const sellModified = await order('M1', { accountId: 'M1-C2', symbol: 'HBFX', side: 'sell', price: '41.00', quantity: 50 });
  expectOk(t, await order('M2', { accountId: 'M2-P1', symbol: 'HBFX', side: 'buy', price: '40.50', quantity: 50 }), 201, 'a resting buy');
  const down = await s.api('PATCH', `/v1/orders/${sellModified.body.order.orderId}`, { key: 'M1', body: { price: '40.50' } });
  t.match(down.body, { order: { status: 'filled' }, fills: [{ price: '40.50', quantity: 50, fee: '0.00' }] }, 'the seller pays nothing');
});

t.test("an order's time is when it last changed, wherever it is read", async (t) => {
  const at = (hhmm: string) => `2026-03-10T${hhmm}:00.000+08:00`;
  // The order by id, in the open list, in the list of all, and in a new subscriber's orders snapshot.
  const readBack = async (id: string) => {
    const ws = await subscribedSocket(t, s.wsUrl, ['orders'], KEYS.M1);
    const snapshot = ws.on('orders').find((m) => m.type === 'snapshot');
    ws.close();
    const find = (list: { orderId: string; time: string }[]) => list.find((o) => o.orderId === id)?.time;
    return [
      (await s.api('GET', `/v1/orders/${id}`, { key: 'M1' })).body.time,
      find((await s.api('GET', '/v1/orders?status=open', { key: 'M1' })).body),
      find((await s.api('GET', '/v1/orders?status=all', { key: 'M1' })).body),
      find(snapshot?.orders ?? []),
    ];
  };
  clock = Date.parse(at('10:10'));
  const placed = await order('M1', { accountId: 'M1-C1', side: 'sell', price: '63.00', quantity: 50 });
  expectOk(t, placed, 201, 'a resting sell at 10:10');
  const id = placed.body.order.orderId;
  t.same(await readBack(id), Array(4).fill(at('10:10')), 'placed: 10:10 everywhere');

  clock = Date.parse(at('10:20'));
  const reduced = await s.api('PATCH', `/v1/orders/${id}`, { key: 'M1', body: { quantity: 40 } });
  expectOk(t, reduced, 200, 'reduced at 10:20 (keeping its place in the queue)');
  t.equal(reduced.body.order.time, at('10:20'), 'the answer');
  t.same(await readBack(id), Array(4).fill(at('10:20')), 'reduced: 10:20 everywhere');
  const empty = await s.api('PATCH', `/v1/orders/${id}`, { key: 'M1', body: {} });
  expectError(t, empty, 400, 'INVALID_REQUEST', /quantity.*price|price.*quantity/, 'a modification naming nothing is not of the route\'s form');
  t.equal(empty.headers.get('x-exchange-seq'), null, 'refused before it is a command: not journaled');

  clock = Date.parse(at('10:30'));
  const picked = await order('M2', { accountId: 'M2-C1', side: 'buy', type: 'pick', targetOrderId: id, quantity: 5 });
  expectOk(t, picked, 201, 'another member takes 5 t of it at 10:30');
  const byId = (await s.api('GET', `/v1/orders/${id}`, { key: 'M1' })).body;
  t.match(byId, { status: 'partially_filled', filledQuantity: 5, remainingQuantity: 35 });
  t.same(await readBack(id), Array(4).fill(at('10:30')), 'filled in part: 10:30 everywhere');
});
