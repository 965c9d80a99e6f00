// GET /v1/instruments/:symbol/listings: the resting orders a pick may name (MARKET-RULES section 2,
// 点选), public and anonymous, in priority, within the best levels the venue lets a pick reach.
// Before it, nothing published an order id, so a member had nothing to pick from.
import t from 'tap';
import { expectError, expectOk, ISO_TIME, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());
const api = s.api;

const order = (key: string, accountId: string, side: 'buy' | 'sell', price: string, quantity: number) =>
  api('POST', '/v1/orders', { key, body: { accountId, symbol: 'CEA24', side, type: 'limit', price, quantity } });

t.test('listings show the orders within the pickable levels, anonymous and in priority; a pick names one', async (t) => {
  const ids: Record<string, string> = {};
  for (const [i, price] of ['57.50', '57.51', '57.52', '57.53', '57.54', '57.55'].entries()) {
    const r = await order('M2', 'M2-C1', 'sell', price, 10 + i);
    expectOk(t, r, 201);
    ids[price] = r.body.order.orderId;
  }
  const second = await order('M3', 'M3-C1', 'sell', '57.50', 20);
  const bid = await order('M1', 'M1-C1', 'buy', '57.00', 30);

  const listings = await api('GET', '/v1/instruments/CEA24/listings');
  expectOk(t, listings, 200);
  t.match(listings.body, { symbol: 'CEA24', levels: 5, seq: Number });
  t.same(listings.body.asks.map((l: { orderId: string; price: string; quantity: number }) => [l.orderId, l.price, l.quantity]), [
    [ids['57.50'], '57.50', 10], [second.body.order.orderId, '57.50', 20], [ids['57.51'], '57.51', 11], [ids['57.52'], '57.52', 12],
    [ids['57.53'], '57.53', 13], [ids['57.54'], '57.54', 14],
  ], 'the asks of the best five levels, time priority within a level; not the sixth level');
  t.same(listings.body.bids.map((l: { orderId: string }) => l.orderId), [bid.body.order.orderId], 'the bid');
  for (const l of [...listings.body.asks, ...listings.body.bids]) {
    t.same(Object.keys(l).sort(), ['orderId', 'price', 'quantity', 'time'], `order ${l.orderId}: no account, no member`);
    t.match(l.time, ISO_TIME);
  }

  // At most `limit` a side, the first in priority (1,000 unless asked, at most 5,000).
  const two = await api('GET', '/v1/instruments/CEA24/listings?limit=2');
  t.same(two.body.asks.map((l: { orderId: string }) => l.orderId), [ids['57.50'], second.body.order.orderId], 'limit=2: the first two in priority');
  t.equal(two.body.bids.length, 1);
  expectError(t, await api('GET', '/v1/instruments/CEA24/listings?limit=5001'), 400, 'INVALID_REQUEST', /at most 5000/);

  // A pick names a listed order: M1 takes 5 t of M3's order, second in line at 57.50.
  const pick = await api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'pick', quantity: 5, targetOrderId: second.body.order.orderId } });
  expectOk(t, pick, 201);
  t.match(pick.body.fills, [{ price: '57.50', quantity: 5 }], 'at its price');
  const after = await api('GET', '/v1/instruments/CEA24/listings');
  t.match(after.body.asks[1], { orderId: second.body.order.orderId, quantity: 15 }, 'the listing shows what is left of it, in its place');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'pick', quantity: 5, targetOrderId: ids['57.55'] } }),
    422, 'PICK_TARGET_INVALID', /within its best 5 sell levels \(up to 57\.54\)/, 'an order not listed cannot be picked');
});

t.test('an instrument with an empty book lists nothing; an unknown one is 404', async (t) => {
  const empty = await api('GET', '/v1/instruments/HBEA/listings');
  expectOk(t, empty, 200);
  t.match(empty.body, { symbol: 'HBEA', bids: [], asks: [] });
  expectError(t, await api('GET', '/v1/instruments/NOPE/listings'), 404, 'UNKNOWN_INSTRUMENT');
});
