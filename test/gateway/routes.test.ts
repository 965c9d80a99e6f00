// Every route of API.md with every role over real HTTP: 401 without a key or with a bad one, 403 with
// the wrong role, 403/404 for another member's account, order or block, and for each route an
// allowed call whose reply has API.md's shape (prices as decimal strings, times with +08:00) and
// refusals carrying the engine's stable codes.
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import {
  DECIMAL, ISO_TIME, expectError, expectOk, startServer, WHO, type TestServer,
} from '../support/server.ts';

const s: TestServer = await startServer();
t.teardown(() => s.close());

const api = s.api;
type Role = 'member' | 'risk' | 'operator';
interface Route { method: string; path: string; role: Role | Role[]; body?: unknown }

// Bodies are valid, so that what refuses them is the key alone.
const ROUTES: Route[] = [
  { method: 'POST', path: '/v1/orders', role: 'member', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '55.00', quantity: 10 } },
  { method: 'GET', path: '/v1/orders?status=open&accountId=M1-C1', role: ['member', 'risk', 'operator'] },
  { method: 'GET', path: '/v1/orders/1', role: ['member', 'risk', 'operator'] },
  { method: 'PATCH', path: '/v1/orders/1', role: 'member', body: { quantity: 5 } },
  { method: 'DELETE', path: '/v1/orders/1', role: 'member' },
  { method: 'GET', path: '/v1/fills?accountId=M1-C1', role: ['member', 'risk', 'operator'] },
  { method: 'GET', path: '/v1/account?accountId=M1-C1', role: ['member', 'risk', 'operator'] },
  { method: 'POST', path: '/v1/block-trades', role: 'member', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000 } },
  { method: 'POST', path: '/v1/block-trades/1/counter', role: 'member', body: { price: '57.10', quantity: 100000 } },
  { method: 'POST', path: '/v1/block-trades/1/accept', role: 'member', body: {} },
  { method: 'POST', path: '/v1/block-trades/1/reject', role: 'member' },
  { method: 'DELETE', path: '/v1/block-trades/1', role: 'member' },
  { method: 'GET', path: '/v1/block-trades', role: 'member' },
  { method: 'POST', path: '/v1/large-holder-reports', role: 'member', body: { symbol: 'CEA24', accountId: 'M1-C1', text: 'our holding' } },
  { method: 'PATCH', path: '/v1/risk/instruments/CEA24', role: 'risk', body: { listedBandPct: '10', reason: 'test' } },
  { method: 'POST', path: '/v1/risk/market/halt', role: 'risk', body: { reason: 'test' } },
  { method: 'POST', path: '/v1/risk/market/resume', role: 'risk', body: { reason: 'test' } },
  { method: 'PUT', path: '/v1/risk/position-caps', role: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: null } },
  { method: 'PUT', path: '/v1/risk/large-holder-thresholds', role: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', quantity: null } },
  { method: 'GET', path: '/v1/risk/large-holders?symbol=CEA24', role: 'risk' },
  { method: 'PATCH', path: '/v1/risk/accounts/M1-P1', role: 'risk', body: { restriction: 'none', reason: 'test' } },
  { method: 'POST', path: '/v1/risk/accounts/M1-P1/cancel-all', role: 'risk', body: { reason: 'test' } },
  { method: 'GET', path: '/v1/risk/audit', role: 'risk' },
  { method: 'POST', path: '/v1/risk/warnings', role: 'risk', body: { symbol: 'CEA24', text: 'a test warning' } },
  { method: 'POST', path: '/v1/admin/accounts', role: 'operator', body: { accountId: 'M3-Z9', member: 'M3', class: 'institution' } },
  { method: 'POST', path: '/v1/admin/deposits', role: 'operator', body: { accountId: 'M1-P1', cash: '1.00' } },
  { method: 'POST', path: '/v1/admin/withdrawals', role: 'operator', body: { accountId: 'M1-P1', cash: '1.00' } },
  { method: 'POST', path: '/v1/admin/instruments', role: 'operator', body: { symbol: 'ZZ1', profile: {}, listingPrice: '10.00' } },
  { method: 'POST', path: '/v1/admin/end-of-day', role: 'operator', body: {} },
  { method: 'GET', path: '/v1/settlement/2026-01-05', role: 'operator' },
  { method: 'GET', path: '/v1/settlement/2026-01-05/trades', role: 'operator' },
];
const KEY_OF: Record<Role, string[]> = { member: ['M1', 'M2', 'M3'], risk: ['risk'], operator: ['operator'] };

const orderBody = (over: Record<string, unknown>) => ({ accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 10, ...over });

function checkOrder(t: Test, o: Record<string, any>, what: string) {
  for (const k of ['orderId', 'clientOrderId', 'accountId', 'symbol', 'side', 'type', 'price', 'quantity', 'filledQuantity', 'remainingQuantity', 'avgPrice', 'status', 'time']) {
    t.ok(k in o, `${what}: the order has ${k}`);
  }
  t.type(o.orderId, 'string', `${what}: orderId is a string`);
  t.ok(Number.isInteger(o.quantity) && Number.isInteger(o.filledQuantity) && Number.isInteger(o.remainingQuantity), `${what}: quantities are integers`);
  t.ok(['new', 'partially_filled', 'filled', 'cancelled', 'expired', 'rejected'].includes(o.status), `${what}: status ${o.status} is one of API.md's`);
  t.match(o.time, ISO_TIME, `${what}: time is ISO 8601 with +08:00`);
}

t.test('every protected route refuses a missing, malformed or unknown key with 401', async (t) => {
  for (const r of ROUTES) {
    const what = `${r.method} ${r.path}`;
    const none = await api(r.method, r.path, { body: r.body });
    expectError(t, none, 401, 'UNAUTHENTICATED', undefined, `${what} without a key`);
    t.equal(none.headers.get('www-authenticate'), 'Bearer realm="exchange"', `${what}: the 401 names its scheme`);
    const unknown = await api(r.method, r.path, { body: r.body, key: 'not-a-key-of-this-exchange-0000' });
    expectError(t, unknown, 401, 'UNAUTHENTICATED', undefined, `${what} with an unknown key`);
    t.equal(unknown.headers.get('www-authenticate'), 'Bearer realm="exchange", error="invalid_token"', `${what}: and says the key is not taken`);
    expectError(t, await api(r.method, r.path, { body: r.body, key: null, headers: { authorization: 'Basic dGVzdDp0ZXN0' } }), 401, 'UNAUTHENTICATED', undefined, `${what} with Basic auth`);
  }
});

t.test('every protected route refuses a key of another role with 403 NOT_PERMITTED', async (t) => {
  for (const r of ROUTES) {
    for (const role of ['member', 'risk', 'operator'] as Role[]) {
      if ([r.role].flat().includes(role)) continue;
      for (const key of KEY_OF[role]) {
        expectError(t, await api(r.method, r.path, { body: r.body, key }), 403, 'NOT_PERMITTED', new RegExp(String(r.role)), `${r.method} ${r.path} as ${key}`);
      }
    }
  }
  // Nothing those refused calls carried happened.
  const book = await api('GET', '/v1/instruments/CEA24/book');
  t.same([book.body.bids, book.body.asks], [[], []], 'no order reached the book');
  const ins = await api('GET', '/v1/instruments');
  t.equal(ins.body.filter((i: { status: string }) => i.status !== 'trading').length, 0, 'no halt took effect');
});

t.test('the key is checked before the body: no key or the wrong role never learns about schema errors', async (t) => {
  expectError(t, await api('POST', '/v1/orders', { body: { nonsense: true } }), 401, 'UNAUTHENTICATED', undefined, 'invalid body without a key');
  expectError(t, await api('POST', '/v1/orders', { body: '{not json', key: 'bad-key-0000000000000000' }), 401, 'UNAUTHENTICATED', undefined, 'malformed JSON with a bad key');
  expectError(t, await api('POST', '/v1/admin/deposits', { body: { nonsense: true }, key: 'M1' }), 403, 'NOT_PERMITTED', undefined, 'invalid body with a member key on an operator route');
});

t.test('public market data needs no key', async (t) => {
  const list = await api('GET', '/v1/instruments');
  expectOk(t, list, 200, 'instruments');
  t.equal(list.body.length, 12, 'the demo lists twelve instruments');
  for (const i of list.body) {
    for (const k of ['symbol', 'name', 'venue', 'kind', 'vintage', 'tick', 'status', 'prevClose', 'referencePrice', 'listedBand', 'blockBand']) t.ok(k in i, `${i.symbol} has ${k}`);
    t.ok(['allowance', 'ccer'].includes(i.kind), `${i.symbol}: kind ${i.kind}`);
  }
  const cea = list.body.find((i: { symbol: string }) => i.symbol === 'CEA24');
  t.match(cea, { venue: 'CEA', kind: 'allowance', vintage: 2024, tick: '0.01', status: 'trading', prevClose: '57.46', referencePrice: '57.46', listedBand: { low: '51.71', high: '63.21' }, blockBand: { low: '40.22', high: '74.70' } });
  t.equal(list.body.find((i: { symbol: string }) => i.symbol === 'CCER').kind, 'ccer', 'CCER is kind ccer');

  const one = await api('GET', '/v1/instruments/CEA24');
  expectOk(t, one, 200, 'one instrument');
  t.same(one.body, cea, 'the single instrument equals its entry in the list');
  expectError(t, await api('GET', '/v1/instruments/NOPE1'), 404, 'UNKNOWN_INSTRUMENT', /NOPE1/);

  const book = await api('GET', '/v1/instruments/CEA24/book?depth=5');
  expectOk(t, book, 200, 'book');
  t.match(book.body, { symbol: 'CEA24', seq: Number, bids: Array, asks: Array });
  expectError(t, await api('GET', '/v1/instruments/CEA24/book?depth=0'), 400, 'INVALID_REQUEST');
  // The bounds the README gives: the last value inside is taken, the first outside refused, naming the parameter.
  for (const [path, inside, outside] of [['book?depth=', 50, 51], ['trades?limit=', 1000, 1001], ['klines?limit=', 1500, 1501], ['listings?limit=', 5000, 5001]] as const) {
    expectOk(t, await api('GET', `/v1/instruments/CEA24/${path}${inside}`), 200, `${path}${inside}`);
    expectError(t, await api('GET', `/v1/instruments/CEA24/${path}${outside}`), 400, 'INVALID_REQUEST', new RegExp(`${path.slice(path.indexOf('?') + 1, -1)}.*${inside.toLocaleString('en-US')}|${path.slice(path.indexOf('?') + 1, -1)}.*${inside}`));
  }
  expectError(t, await api('GET', '/v1/instruments/NOPE1/book'), 404, 'UNKNOWN_INSTRUMENT');

  const trades = await api('GET', '/v1/instruments/CEA24/trades?limit=100');
  expectOk(t, trades, 200, 'trades');
  t.same(trades.body, [], 'no trades yet');
  expectError(t, await api('GET', '/v1/instruments/NOPE1/trades'), 404, 'UNKNOWN_INSTRUMENT');

  const ticker = await api('GET', '/v1/instruments/CEA24/ticker');
  expectOk(t, ticker, 200, 'ticker');
  for (const k of ['open', 'high', 'low', 'last', 'close', 'prevClose', 'changePct', 'vwap', 'listedVolume', 'listedTurnover', 'blockVolume', 'blockTurnover', 'auctionVolume', 'auctionTurnover', 'bandLow', 'bandHigh', 'status']) {
    t.ok(k in ticker.body, `the ticker has ${k}`);
  }
  t.match(ticker.body, { prevClose: '57.46', bandLow: '51.71', bandHigh: '63.21', status: 'trading', listedVolume: 0 });

  const klines = await api('GET', '/v1/instruments/CEA24/klines?interval=1m&limit=500');
  expectOk(t, klines, 200, 'klines');
  t.same(klines.body, [], 'no bars before the first trade');
  for (const interval of ['1m', '5m', '15m', '1h', '1d']) t.equal((await api('GET', `/v1/instruments/CEA24/klines?interval=${interval}`)).status, 200, `interval ${interval}`);
  expectError(t, await api('GET', '/v1/instruments/CEA24/klines?interval=2m'), 400, 'INVALID_REQUEST');

  t.same((await api('GET', '/healthz')).body, { status: 'ok' });
  t.same((await api('GET', '/readyz')).body, { status: 'ready' });
  expectError(t, await api('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
});

// Order ids used below, filled in as the orders are placed.
const ids: Record<string, string> = {};

t.test('POST /v1/orders: accepted with the order and its fills; refused with the engine codes', async (t) => {
  const m2 = await api('POST', '/v1/orders', { key: 'M2', body: orderBody({ accountId: 'M2-C1', side: 'sell', price: '60.00', quantity: 100 }) });
  expectOk(t, m2, 201, 'M2 sells');
  checkOrder(t, m2.body.order, 'M2 sell');
  t.match(m2.body, { order: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '60.00', quantity: 100, filledQuantity: 0, remainingQuantity: 100, avgPrice: null, status: 'new' }, fills: [] });
  t.ok(m2.headers.get('x-exchange-seq'), 'the reply names its sequence number');
  ids.m2sell = m2.body.order.orderId;

  const m1 = await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ price: '55.00', quantity: 100 }) });
  expectOk(t, m1, 201, 'M1 buys');
  checkOrder(t, m1.body.order, 'M1 buy');
  ids.m1buy = m1.body.order.orderId;

  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: undefined }) }), 400, 'ACCOUNT_REQUIRED', /M1-C1/, 'several accounts, none named');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M2-C1' }) }), 403, 'ACCOUNT_NOT_OWNED', undefined, "another member's account");
  // An account that does not exist is 404 and another member's 403, on every route that names one.
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'NOBODY-1' }) }), 404, 'UNKNOWN_ACCOUNT', /^there is no account NOBODY-1 \(yours: M1-/, 'an unknown account: not in the words of another member\'s');
  for (const path of ['/v1/orders', '/v1/fills', '/v1/account']) {
    expectError(t, await api('GET', `${path}?accountId=NOBODY-1`, { key: 'M1' }), 404, 'UNKNOWN_ACCOUNT', /NOBODY-1/, `${path}, an unknown account`);
    expectError(t, await api('GET', `${path}?accountId=M2-C1`, { key: 'M1' }), 403, 'ACCOUNT_NOT_OWNED', /M2-C1/, `${path}, another member's account`);
  }
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ type: 'pick', price: undefined }) }), 400, 'INVALID_REQUEST', /targetOrderId/, 'a pick order without its target');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ price: '64.00' }) }), 422, 'PRICE_OUT_OF_BAND', /51\.71.*63\.21/, 'above the band');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ price: '51.70' }) }), 422, 'PRICE_OUT_OF_BAND', /51\.71.*63\.21/, 'below the band');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-P1', quantity: 99999 }) }), 422, 'INSUFFICIENT_FUNDS', /M1-P1/, 'more than the cash');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-P1', side: 'sell', quantity: 5001 }) }), 422, 'INSUFFICIENT_HOLDINGS', undefined, 'more than the holding');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ symbol: 'NOPE1' }) }), 404, 'UNKNOWN_INSTRUMENT');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-C2' }) }), 403, 'VENUE_NOT_ADMITTED', /CEA/, 'an account not admitted to the venue');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ price: undefined }) }), 422, 'PRICE_REQUIRED');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ quantity: 100000 }) }), 422, 'ORDER_TOO_LARGE', /99999/);
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ side: 'hold' }) }), 400, 'INVALID_REQUEST');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ type: 'pick', price: undefined, targetOrderId: ids.m1buy }) }), 422, 'PICK_TARGET_INVALID', undefined, 'picking an order of the same side');
});

t.test("GET /v1/orders and /v1/orders/:id show the caller's orders only", async (t) => {
  const mine = await api('GET', '/v1/orders?status=open', { key: 'M1' });
  expectOk(t, mine, 200, 'M1 open orders');
  t.same(mine.body.map((o: { orderId: string }) => o.orderId), [ids.m1buy], 'M1 sees its own order only');
  mine.body.forEach((o: Record<string, unknown>) => checkOrder(t, o, 'listed order'));
  const bySymbol = await api('GET', '/v1/orders?status=open&symbol=CEA23', { key: 'M1' });
  t.same(bySymbol.body, [], 'filtered by symbol');
  const asked = await api('GET', '/v1/orders?status=all&accountId=M2-C1', { key: 'M1' });
  t.ok(asked.status === 403 || (asked.status === 200 && asked.body.length === 0), "naming another member's account shows none of its orders");

  const own = await api('GET', `/v1/orders/${ids.m1buy}`, { key: 'M1' });
  expectOk(t, own, 200, 'own order');
  t.match(own.body, { orderId: ids.m1buy, accountId: 'M1-C1', status: 'new', price: '55.00' });
  expectError(t, await api('GET', `/v1/orders/${ids.m2sell}`, { key: 'M1' }), [403, 404], ['UNKNOWN_ORDER', 'ACCOUNT_NOT_OWNED'], undefined, "another member's order");
  expectError(t, await api('GET', '/v1/orders/987654', { key: 'M1' }), 404, 'UNKNOWN_ORDER');
  expectError(t, await api('GET', '/v1/orders/abc', { key: 'M1' }), 400, 'INVALID_REQUEST');
});

t.test("PATCH and DELETE /v1/orders/:id act on the caller's orders only", async (t) => {
  expectError(t, await api('PATCH', `/v1/orders/${ids.m2sell}`, { key: 'M1', body: { quantity: 1 } }), [403, 404], ['UNKNOWN_ORDER', 'ACCOUNT_NOT_OWNED'], undefined, "modify another member's order");
  expectError(t, await api('DELETE', `/v1/orders/${ids.m2sell}`, { key: 'M1' }), [403, 404], ['UNKNOWN_ORDER', 'ACCOUNT_NOT_OWNED'], undefined, "cancel another member's order");
  const still = await api('GET', `/v1/orders/${ids.m2sell}`, { key: 'M2' });
  t.match(still.body, { status: 'new', quantity: 100, remainingQuantity: 100 }, "M2's order is untouched");

  const patched = await api('PATCH', `/v1/orders/${ids.m1buy}`, { key: 'M1', body: { quantity: 80 } });
  expectOk(t, patched, 200, 'modify');
  t.match(patched.body.order, { orderId: ids.m1buy, quantity: 80, remainingQuantity: 80, price: '55.00', status: 'new' });
  expectError(t, await api('PATCH', `/v1/orders/${ids.m1buy}`, { key: 'M1', body: { quantity: 80 } }), 409, 'NO_CHANGE');
  expectError(t, await api('PATCH', `/v1/orders/${ids.m1buy}`, { key: 'M1', body: { price: '70.00' } }), 422, 'PRICE_OUT_OF_BAND', /63\.21/);

  const cancelled = await api('DELETE', `/v1/orders/${ids.m1buy}`, { key: 'M1' });
  expectOk(t, cancelled, 200, 'cancel');
  t.match(cancelled.body, { order: { orderId: ids.m1buy, status: 'cancelled', remainingQuantity: 0 } });
  expectError(t, await api('DELETE', `/v1/orders/${ids.m1buy}`, { key: 'M1' }), 409, 'ORDER_NOT_OPEN');
  expectError(t, await api('PATCH', `/v1/orders/${ids.m1buy}`, { key: 'M1', body: { quantity: 10 } }), 409, 'ORDER_NOT_OPEN');
  // Another member learns nothing of it: a finished order of someone else is as unknown as an open one.
  // In the same words as reading it (GET), whatever the route.
  const noOrder = new RegExp(`^you have no order ${ids.m1buy} today$`);
  expectError(t, await api('GET', `/v1/orders/${ids.m1buy}`, { key: 'M2' }), 404, 'UNKNOWN_ORDER', noOrder, "read another member's order");
  expectError(t, await api('DELETE', `/v1/orders/${ids.m1buy}`, { key: 'M2' }), 404, 'UNKNOWN_ORDER', noOrder, "cancel another member's finished order");
  expectError(t, await api('PATCH', `/v1/orders/${ids.m1buy}`, { key: 'M2', body: { quantity: 10 } }), 404, 'UNKNOWN_ORDER', noOrder, "modify another member's finished order");
  expectError(t, await api('GET', `/v1/orders/${ids.m1buy}`, { key: 'M2' }), 404, 'UNKNOWN_ORDER', undefined, "read another member's finished order");
});

t.test('GET /v1/fills and /v1/account: the caller sees its own fills and accounts', async (t) => {
  const buy = await api('POST', '/v1/orders', { key: 'M3', body: orderBody({ accountId: 'M3-C1', price: '60.00', quantity: 10 }) });
  expectOk(t, buy, 201, 'M3 buys from M2');
  t.match(buy.body, { order: { status: 'filled', filledQuantity: 10, avgPrice: '60.00' }, fills: [{ price: '60.00', quantity: 10, fee: '0.00' }] });

  const m3 = await api('GET', '/v1/fills', { key: 'M3' });
  expectOk(t, m3, 200, 'M3 fills');
  t.match(m3.body, [{ accountId: 'M3-C1', symbol: 'CEA24', side: 'buy', price: '60.00', quantity: 10, fee: '0.00', mode: 'listed' }]);
  const m2 = await api('GET', '/v1/fills', { key: 'M2' });
  t.match(m2.body, [{ accountId: 'M2-C1', side: 'sell', orderId: ids.m2sell, price: '60.00', quantity: 10 }], 'the seller sees its side');
  t.same((await api('GET', '/v1/fills', { key: 'M1' })).body, [], 'a member without trades sees none');
  const asked = await api('GET', '/v1/fills?accountId=M2-C1', { key: 'M1' });
  t.ok(asked.status === 403 || (asked.status === 200 && asked.body.length === 0), "naming another member's account shows none of its fills");
  expectError(t, await api('GET', '/v1/fills?date=not-a-date', { key: 'M1' }), 400, 'INVALID_REQUEST');
  expectError(t, await api('GET', '/v1/fills?date=2001-01-01', { key: 'M1' }), 404, 'UNKNOWN_DAY');

  const acct = await api('GET', '/v1/account?accountId=M3-C1', { key: 'M3' });
  expectOk(t, acct, 200, 'account');
  t.match(acct.body, { accountId: 'M3-C1', class: 'compliance', cash: { available: '39999400.00', frozen: '0.00' } });
  t.ok(DECIMAL.test(acct.body.cash.available) && DECIMAL.test(acct.body.cash.frozen), 'cash as decimal strings');
  const pos = acct.body.holdings.find((h: { symbol: string }) => h.symbol === 'CEA24');
  t.match(pos, { symbol: 'CEA24', available: 180000, frozen: 0, pending: 10 }, 'bought today is pending');
  t.ok('cap' in pos && 'largeHolder' in pos, 'the holding shows its cap and large-holder status');
  expectError(t, await api('GET', '/v1/account?accountId=M2-C1', { key: 'M3' }), 403, 'ACCOUNT_NOT_OWNED');
  expectError(t, await api('GET', '/v1/account', { key: 'M3' }), 400, 'ACCOUNT_REQUIRED', /M3-C1/);
  expectError(t, await api('GET', '/v1/account?accountId=NOBODY-1', { key: 'M3' }), [403, 404], ['UNKNOWN_ACCOUNT', 'ACCOUNT_NOT_OWNED']);
  // A risk officer and an operator read any account they name: what is in force for it.
  for (const key of ['risk', 'operator']) {
    const seen = await api('GET', '/v1/account?accountId=M3-C1', { key });
    expectOk(t, seen, 200, `the account as ${key}`);
    t.same(seen.body, (await api('GET', '/v1/account?accountId=M3-C1', { key: 'M3' })).body, `${key} sees what the member sees`);
    expectError(t, await api('GET', '/v1/account', { key }), 400, 'ACCOUNT_REQUIRED', /name accountId/, `${key} names the account`);
    expectError(t, await api('GET', '/v1/account?accountId=NOBODY-1', { key }), 404, 'UNKNOWN_ACCOUNT', /NOBODY-1/, `${key}: an unknown account`);
  }
});

t.test('a risk officer and an operator read any account\'s orders and fills, naming the account', async (t) => {
  const sell = await api('POST', '/v1/orders', { key: 'M2', body: orderBody({ accountId: 'M2-C1', side: 'sell', price: '61.00', quantity: 7 }) });
  expectOk(t, sell, 201, 'M2 rests a sell');
  const orderId = sell.body.order.orderId;
  const buy = await api('POST', '/v1/orders', { key: 'M3', body: orderBody({ accountId: 'M3-C1', type: 'pick', price: undefined, targetOrderId: orderId, quantity: 3 }) });
  expectOk(t, buy, 201, 'M3 takes part of it');
  for (const key of ['risk', 'operator']) {
    for (const path of ['/v1/orders?accountId=M2-C1', '/v1/orders?status=open&accountId=M2-C1', '/v1/fills?accountId=M2-C1', `/v1/orders/${orderId}`, '/v1/orders?accountId=M3-C1', '/v1/fills?accountId=M3-C1']) {
      const member = path.includes('M3-C1') ? 'M3' : 'M2';
      const seen = await api('GET', path, { key });
      expectOk(t, seen, 200, `${path} as ${key}`);
      t.same(seen.body, (await api('GET', path, { key: member })).body, `${path}: ${key} sees what ${member} sees`);
    }
    const fills = (await api('GET', '/v1/fills?accountId=M2-C1', { key })).body as { orderId: string; quantity: number }[];
    t.ok(fills.some((f) => f.orderId === orderId && f.quantity === 3), `${key}: the fill of M2's order is listed`);
    t.match((await api('GET', `/v1/orders/${orderId}`, { key })).body, { orderId, accountId: 'M2-C1', status: 'partially_filled', filledQuantity: 3 });
    for (const path of ['/v1/orders', '/v1/fills', '/v1/orders?status=open']) {
      expectError(t, await api('GET', path, { key }), 400, 'ACCOUNT_REQUIRED', /name accountId/, `${path} as ${key}: the account is named`);
    }
    expectError(t, await api('GET', '/v1/fills?accountId=NOBODY-1', { key }), 404, 'UNKNOWN_ACCOUNT', /no account NOBODY-1/, `${key}: an unknown account`);
    expectError(t, await api('GET', '/v1/orders/999999', { key }), 404, 'UNKNOWN_ORDER', /^there is no order 999999 today$/, `${key}: an order that does not exist`);
  }
  // Members still read only their own.
  expectError(t, await api('GET', `/v1/orders/${orderId}`, { key: 'M3' }), 404, 'UNKNOWN_ORDER', /^you have no order \d+ today$/, "a member reading another's order");
  expectOk(t, await api('DELETE', `/v1/orders/${orderId}`, { key: 'M2' }), 200, 'the rest of the sell is cancelled (the book as the later tests expect it)');
});

t.test('block trades: only the parties see and act on a proposal', async (t) => {
  expectError(t, await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000 } }), 403, 'ACCOUNT_NOT_OWNED');
  expectError(t, await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 1000 } }), 422, 'BLOCK_TOO_SMALL', /100000|100,000/);
  expectError(t, await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '80.00', quantity: 100000 } }), 422, 'PRICE_OUT_OF_BAND', /40\.22.*74\.70/);
  const p = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  expectOk(t, p, 201, 'propose');
  t.match(p.body, { block: { blockId: String, status: 'proposed', price: '57.00', quantity: 100000 } });
  const id = p.body.block.blockId;

  // A third member is told exactly what it is told of a block that does not exist: nothing.
  const steps = (block: string) => [
    ['POST', `/v1/block-trades/${block}/counter`, { price: '56.00', quantity: 100000 }], ['POST', `/v1/block-trades/${block}/counter`, { price: '56.00', quantity: 100000, accountId: 'M3-C1' }],
    ['POST', `/v1/block-trades/${block}/accept`, {}], ['POST', `/v1/block-trades/${block}/accept`, { accountId: 'M3-C1' }],
    ['POST', `/v1/block-trades/${block}/reject`, undefined], ['DELETE', `/v1/block-trades/${block}`, undefined],
  ] as const;
  const unknownToM3 = async (block: string, when: string) => {
    const nowhere = steps('99999');
    for (const [i, [method, path, body]] of steps(block).entries()) {
      const r = await api(method, path, { key: 'M3', body });
      expectError(t, r, 404, 'UNKNOWN_BLOCK', undefined, `a third member, ${when}: ${method} ${path}${body !== undefined && 'accountId' in body ? ' naming its account' : ''}`);
      const none = await api(method, nowhere[i][1], { key: 'M3', body });
      t.equal(r.body.error.message, none.body.error.message.replace('99999', block), 'in the same words as for a block that does not exist');
    }
  };
  await unknownToM3(id, 'while it is open');
  expectError(t, await api('DELETE', `/v1/block-trades/${id}`, { key: 'M2' }), [403, 404, 409], ['UNKNOWN_BLOCK', 'NOT_PERMITTED', 'NOT_YOUR_TURN'], undefined, 'the counterparty cannot withdraw the proposer\'s proposal');
  expectError(t, await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M1', body: {} }), 409, 'NOT_YOUR_TURN');
  // The counterparty's member naming another of its accounts is told which one is the party.
  expectError(t, await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M2', body: { accountId: 'M2-C2' } }), 403, 'NOT_A_PARTY', /between accounts M1-C1 and M2-C1: name M2-C1/);
  expectError(t, await api('POST', '/v1/block-trades/99999/accept', { key: 'M2', body: {} }), 404, 'UNKNOWN_BLOCK');

  const seenBy = async (key: string) => ((await api('GET', '/v1/block-trades', { key })).body as { blockId: string }[]).map((b) => b.blockId);
  t.same(await seenBy('M1'), [id], 'the proposer sees it');
  t.same(await seenBy('M2'), [id], 'the counterparty sees it');
  t.same(await seenBy('M3'), [], 'a third member does not');
  const listed = await api('GET', '/v1/block-trades?status=proposed', { key: 'M2' });
  expectOk(t, listed, 200, 'list');
  expectError(t, await api('GET', '/v1/block-trades?status=maybe', { key: 'M2' }), 400, 'INVALID_REQUEST');

  const rejected = await api('POST', `/v1/block-trades/${id}/reject`, { key: 'M2' });
  expectOk(t, rejected, 200, 'reject');
  t.match(rejected.body, { block: { blockId: id, status: 'rejected' }, trade: null });
  expectError(t, await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M2', body: {} }), 409, 'BLOCK_NOT_OPEN', undefined, 'a party learns that its block has ended');
  await unknownToM3(id, 'once it has ended');
});

t.test('block trades: confirming a reply to an open proposal answers with the reply, executed', async (t) => {
  const open = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C2', symbol: 'HBEA', side: 'buy', price: '40.00', quantity: 10000 } });
  expectOk(t, open, 201, 'an open proposal');
  const openId = open.body.blockId;
  const counter = await api('POST', `/v1/block-trades/${openId}/counter`, { key: 'M2', body: { accountId: 'M2-P1', price: '40.51', quantity: 10000 } });
  expectOk(t, counter, 200, 'a reply');
  const replyId = counter.body.blockId;
  t.not(replyId, openId, 'the reply is a block of its own');
  t.match(counter.body, { blockId: replyId, status: 'proposed', block: { blockId: replyId, price: '40.51' }, trade: null });

  const accepted = await api('POST', `/v1/block-trades/${replyId}/accept`, { key: 'M1', body: { accountId: 'M1-C2' } });
  expectOk(t, accepted, 200, 'the proposer confirms the reply');
  t.match(accepted.body, { blockId: replyId, status: 'executed', block: { blockId: replyId, status: 'executed' }, trade: { price: '40.51', quantity: 10000 } },
    'the answer is the reply, executed (not the open proposal it ended)');
  const mine = (await api('GET', '/v1/block-trades', { key: 'M1' })).body as { blockId: string; status: string; reason: string | null }[];
  t.match(mine.find((b) => b.blockId === openId), { status: 'withdrawn', reason: 'reply_executed' }, 'the open proposal ended');
  // Page by page (`?after=&limit=`): the same list, in id order.
  t.ok(mine.length >= 3, `${mine.length} blocks to page through`);
  const ids = mine.map((b) => b.blockId);
  t.same(((await api('GET', '/v1/block-trades?limit=2', { key: 'M1' })).body as { blockId: string }[]).map((b) => b.blockId), ids.slice(0, 2), 'the first page');
  t.same(((await api('GET', `/v1/block-trades?limit=2&after=${ids[1]}`, { key: 'M1' })).body as { blockId: string }[]).map((b) => b.blockId), ids.slice(2, 4), 'the next one');
  t.same(((await api('GET', `/v1/block-trades?after=${ids.at(-1)}`, { key: 'M1' })).body), [], 'none after the last');
  for (const bad of ['limit=0', 'limit=10001', 'limit=2.5', 'after=0', 'after=-1', 'after=abc', 'after=1e3']) {
    for (const path of ['/v1/block-trades', '/v1/orders', '/v1/fills']) expectError(t, await api('GET', `${path}?${bad}`, { key: 'M1' }), 400, 'INVALID_REQUEST', undefined, `${path}?${bad}`);
  }
});

t.test("POST /v1/large-holder-reports: only for the caller's account with a report due", async (t) => {
  expectError(t, await api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'CEA24', accountId: 'M2-C1', text: 'not mine' } }), 403, 'ACCOUNT_NOT_OWNED', /^account M2-C1 is not one of yours \(M1-/, 'in the words of every member route');
  // Like every member route, a member with several accounts names one, and is told so if it does not.
  expectError(t, await api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'CEA24', text: 'which account?' } }), 400, 'ACCOUNT_REQUIRED', /^name accountId: your accounts are M1-/);
  expectError(t, await api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'CEA24', accountId: 'M1-C1', text: 'nothing due' } }), 409, 'REPORT_NOT_DUE');
  expectError(t, await api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'CEA24', accountId: 'M1-C1' } }), 400, 'INVALID_REQUEST');
});

t.test('risk officer routes', async (t) => {
  const ref = await api('PATCH', '/v1/risk/instruments/CEA25', { key: 'risk', body: { referencePrice: '60.00', reason: 'reference reset' } });
  expectOk(t, ref, 200, 'reference price');
  // The bands follow the new reference; the previous close (59.80, the listing price) stays what it was.
  t.match(ref.body, { instrument: { symbol: 'CEA25', prevClose: '59.80', referencePrice: '60.00', listedBand: { low: '54.00', high: '66.00' } }, cancelledOrders: 0 });
  t.match((await api('GET', '/v1/instruments/CEA25')).body, { prevClose: '59.80', referencePrice: '60.00', listedBand: { low: '54.00', high: '66.00' } });
  t.match((await api('GET', '/v1/instruments/CEA25/ticker')).body, { prevClose: '59.80', open: null, bandLow: '54.00', bandHigh: '66.00' });
  expectError(t, await api('PATCH', '/v1/risk/instruments/NOPE1', { key: 'risk', body: { listedBandPct: '5', reason: 'x' } }), 404, 'UNKNOWN_INSTRUMENT');
  expectError(t, await api('PATCH', '/v1/risk/instruments/CEA25', { key: 'risk', body: { listedBandPct: '5' } }), 400, 'INVALID_REQUEST', /reason/, 'a reason is required');

  const halt = await api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: 'drill' } });
  expectOk(t, halt, 200, 'halt');
  t.match(halt.body, { status: 'halted' });
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({}) }), 503, 'MARKET_HALTED', /drill/);
  // An instrument halted and resumed during the market's halt: `status` stays halted (nothing
  // trades), `instrumentStatus` shows what the officer set.
  const own = await api('PATCH', '/v1/risk/instruments/CEA25', { key: 'risk', body: { status: 'halted', reason: 'inquiry' } });
  t.match(own.body, { instrument: { status: 'halted', instrumentStatus: 'halted' } });
  const back = await api('PATCH', '/v1/risk/instruments/CEA25', { key: 'risk', body: { status: 'trading', reason: 'inquiry over' } });
  t.match(back.body, { instrument: { status: 'halted', instrumentStatus: 'trading' } }, 'resumed, while the market is still halted');
  t.match((await api('GET', '/v1/instruments/CEA25')).body, { status: 'halted', instrumentStatus: 'trading' });
  const resume = await api('POST', '/v1/risk/market/resume', { key: 'risk', body: { reason: 'drill over' } });
  expectOk(t, resume, 200, 'resume');
  t.match(resume.body, { status: 'trading' });
  t.match((await api('GET', '/v1/instruments/CEA25')).body, { status: 'trading', instrumentStatus: 'trading' });

  const cap = await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual', maxQuantity: 1000, reason: 'test cap' } });
  expectOk(t, cap, 200, 'cap');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-P1', quantity: 1 }) }), 422, 'POSITION_CAP_EXCEEDED', /1000|1,000/);
  expectOk(t, await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual', maxQuantity: null, reason: 'lifted' } }), 200, 'cap removed');
  expectError(t, await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual' } }), 400, 'INVALID_REQUEST', /^body\/maxQuantity is required$/);
  // A cap lowered below what an account holds and has open ends its resting buys, and says which.
  const restingBuy = await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-P1', side: 'buy', price: '52.00', quantity: 7 }) });
  expectOk(t, restingBuy, 201, 'a resting buy');
  const tight = await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: 0, reason: 'no more' } });
  expectOk(t, tight, 200, 'a cap of 0');
  t.same(tight.body.cancelled, [restingBuy.body.order.orderId]);
  t.match((await api('GET', `/v1/orders/${restingBuy.body.order.orderId}`, { key: 'M1' })).body, { status: 'cancelled' });
  expectOk(t, await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: null, reason: 'lifted' } }), 200);

  expectOk(t, await api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'institution', quantity: 600000, reason: 'review' } }), 200, 'threshold');
  expectError(t, await api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'institution' } }), 400, 'INVALID_REQUEST', /^body\/quantity is required$/);
  const holders = await api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' });
  expectOk(t, holders, 200, 'large holders');
  t.ok(Array.isArray(holders.body), 'a list');

  const resting = await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-P1', side: 'buy', price: '52.00', quantity: 3 }) });
  expectOk(t, resting, 201, 'a resting bid of M1-P1');
  const restrict = await api('PATCH', '/v1/risk/accounts/M1-P1', { key: 'risk', body: { restriction: 'frozen', reason: 'inquiry' } });
  expectOk(t, restrict, 200, 'restrict');
  t.same(restrict.body, { accountId: 'M1-P1', restriction: 'frozen', cancelled: [resting.body.order.orderId], withdrawnBlocks: [], withdrawnBids: [], cancelledAuctions: [] }, 'the freeze cancels the resting bid');
  t.match((await api('GET', `/v1/orders/${resting.body.order.orderId}`, { key: 'M1' })).body, { status: 'cancelled', reason: 'account_restricted' });
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: orderBody({ accountId: 'M1-P1', side: 'sell', price: '58.00' }) }), 422, 'ACCOUNT_RESTRICTED', /^account M\S+ is restricted \((no_buy|frozen)\) by the exchange's risk officers$/);
  expectOk(t, await api('PATCH', '/v1/risk/accounts/M1-P1', { key: 'risk', body: { restriction: 'none', reason: 'cleared' } }), 200, 'lift');
  expectError(t, await api('PATCH', '/v1/risk/accounts/NOBODY-1', { key: 'risk', body: { restriction: 'none', reason: 'x' } }), 404, 'UNKNOWN_ACCOUNT');
  expectError(t, await api('PATCH', '/v1/risk/accounts/M1-P1', { key: 'risk', body: { restriction: 'sometimes', reason: 'x' } }), 400, 'INVALID_REQUEST');

  const cancelAll = await api('POST', '/v1/risk/accounts/M2-C1/cancel-all', { key: 'risk', body: { reason: 'test' } });
  expectOk(t, cancelAll, 200, 'cancel-all');
  t.same(cancelAll.body, { cancelled: [ids.m2sell], withdrawnBlocks: [], withdrawnBids: [], cancelledAuctions: [] }, "M2's resting order is cancelled");
  t.match((await api('GET', `/v1/orders/${ids.m2sell}`, { key: 'M2' })).body, { status: 'cancelled' });

  const audit = await api('GET', '/v1/risk/audit', { key: 'risk' });
  expectOk(t, audit, 200, 'audit');
  type Entry = { who: string; action: string; why: string | null; what: Record<string, unknown> };
  const entries = (audit.body as Entry[]).filter((a) => a.who.startsWith('risk'));
  // The journal keeps refused commands too; the trail must not show them as if they had happened.
  const refused = entries.filter((a) => a.what.symbol === 'NOPE1' || a.what.accountId === 'NOBODY-1');
  for (const a of refused) t.ok(Object.keys(a).some((k) => !['seq', 'time', 'who', 'action', 'what', 'why'].includes(k)), `the refused ${a.action} is marked as refused in the audit trail: ${JSON.stringify(a)}`);
  const actions = entries.filter((a) => !refused.includes(a));
  t.same(actions.map((a) => a.who), actions.map(() => WHO.risk), 'who: the risk officer, by the name its key was given');
  t.same(actions.map((a) => a.action), ['setInstrument', 'haltMarket', 'setInstrumentStatus', 'setInstrumentStatus', 'resumeMarket', 'setPositionCap', 'setPositionCap', 'setPositionCap', 'setPositionCap', 'setLargeHolderThreshold', 'restrictAccount', 'restrictAccount', 'cancelAll'], 'every accepted risk action, in order');
  t.same(actions.map((a) => a.why), ['reference reset', 'drill', 'inquiry', 'inquiry over', 'drill over', 'test cap', 'lifted', 'no more', 'lifted', 'review', 'inquiry', 'cleared', 'test'], 'each with its reason');
  for (const a of audit.body) t.match(a, { seq: Number, time: ISO_TIME, who: String, action: String }, 'audit entry shape');
});

t.test('operator routes', async (t) => {
  const created = await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-Z9', member: 'M3', class: 'institution', venues: ['CEA'] } });
  expectOk(t, created, 201, 'create account');
  t.match(created.body, { accountId: 'M3-Z9', member: 'M3', class: 'institution' });
  expectError(t, await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-Z9', member: 'M3', class: 'institution' } }), 409, 'ACCOUNT_EXISTS');
  expectError(t, await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-Z8', member: 'M3', class: 'pension' } }), 400, 'INVALID_REQUEST');
  for (const accountId of ['ACME-1', 'm3-x', 'M3Z8', 'M33-1']) {
    expectError(t, await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId, member: 'M3', class: 'institution' } }), 400, 'INVALID_COMMAND', /accountId must start with its member's id and a dash: "M3-"/, `${accountId} for M3: the id names its member, as in the set-up file`);
  }

  const dep = await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-Z9', cash: '1000.50' } });
  expectOk(t, dep, 201, 'deposit');
  t.match(dep.body, { accountId: 'M3-Z9', cash: { available: '1000.50', frozen: '0.00' } });
  t.equal(dep.body.holding, null, 'a cash transfer moves no holding');
  const tonnesIn = await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-Z9', symbol: 'CEA24', quantity: 400 } });
  expectOk(t, tonnesIn, 201, 'deposit tonnes');
  t.same(tonnesIn.body.holding, { symbol: 'CEA24', available: 400, frozen: 0, pending: 0 }, 'the deposit answers the holding it made');
  t.match(tonnesIn.body.cash, { available: '1000.50' }, 'with the cash');
  // Two withdrawals sent together (usually one batch): each answers the holding as it left it, in the
  // order the exchange took them (x-exchange-seq), not as the batch left it.
  const outs = await Promise.all([50, 50 + 1].map((quantity) => api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-Z9', symbol: 'CEA24', quantity } })));
  for (const out of outs) expectOk(t, out, 201, 'withdraw tonnes');
  outs.sort((a, b) => Number(a.headers.get('x-exchange-seq')) - Number(b.headers.get('x-exchange-seq')));
  const [first, second] = outs.map((o) => o.body.holding);
  t.match(first, { symbol: 'CEA24', frozen: 0, pending: 0 }, 'the first withdrawal answers its holding');
  t.ok(first.available === 350 || first.available === 349, `the first leaves 350 or 349, not what both left (${first.available})`);
  t.same(second, { symbol: 'CEA24', available: 299, frozen: 0, pending: 0 }, 'the second answers what both left');
  const wd = await api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-Z9', cash: '0.50' } });
  expectOk(t, wd, 201, 'withdraw');
  t.match(wd.body, { cash: { available: '1000.00' } });
  expectError(t, await api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-Z9', cash: '1000.01' } }), 422, 'INSUFFICIENT_FUNDS');
  expectError(t, await api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-Z9', symbol: 'CEA24', quantity: 300 } }), 422, 'INSUFFICIENT_HOLDINGS');
  expectOk(t, await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-Z9', symbol: 'CEA24', quantity: 1 } }), 201, 'top up to 300 t');
  expectError(t, await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'NOBODY-1', cash: '1.00' } }), 404, 'UNKNOWN_ACCOUNT');
  const seen = await api('GET', '/v1/account?accountId=M3-Z9', { key: 'M3' });
  t.match(seen.body, { accountId: 'M3-Z9', cash: { available: '1000.00' }, holdings: [{ symbol: 'CEA24', available: 300 }] }, 'the member sees its new account');

  // A profile read from the Hubei venue file, kept open all day so that the end of day below runs at any hour.
  const profile = JSON.parse(readFileSync(new URL('../../markets/venues/hbea.json', import.meta.url), 'utf8'));
  const allDay = { ...profile, sessions: { listed: [['00:00', '24:00']], block: [['00:00', '24:00']], auction: [['00:00', '24:00']] }, tradingWeekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [], calendarThrough: null };
  const listed = await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'HBEA-T', name: 'Hubei test', vintage: null, profile: allDay, listingPrice: '40.00' } });
  expectOk(t, listed, 201, 'list');
  t.match(listed.body, { symbol: 'HBEA-T', venue: 'HBEA', prevClose: '40.00', listedBand: { low: '36.00', high: '44.00' } });
  expectError(t, await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'HBEA-T', vintage: null, profile: allDay, listingPrice: '40.00' } }), 409, 'INSTRUMENT_EXISTS');
  expectError(t, await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'BAD-P', profile: { venue: 'X' }, listingPrice: '40.00' } }), 400, 'INVALID_COMMAND', /profile/);
  const { auction: _auction, ...twoModes } = allDay.sessions;
  expectError(t, await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'BAD-Q', profile: { ...allDay, sessions: twoModes }, listingPrice: '40.00' } }), 400, 'INVALID_COMMAND', /^profile: sessions\.auction: is missing/);
  expectError(t, await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'BAD-R', profile: { ...allDay, instruments: [...allDay.instruments, allDay.instruments[0]] }, listingPrice: '40.00' } }), 400, 'INVALID_COMMAND', /^profile: instruments\[1\]\.symbol: lists HBEA a second time/);
  expectError(t, await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'BAD-S', name: 'odd venue', profile: { ...allDay, venue: '2026-11-23' }, listingPrice: '40.00' } }), 400, 'INVALID_COMMAND',
    /^profile: venue: must be a venue code of 2–16 capital letters/, 'a venue code no account could be given');
  t.equal((await api('GET', '/v1/instruments/BAD-Q')).status, 404, 'neither was listed');
  // Each refusal is in the audit trail, with the profile it was refused for.
  const refusedListings = ((await api('GET', '/v1/risk/audit', { key: 'risk' })).body as { action: string; what: { symbol: string; profile: unknown }; outcome: string; error: { code: string; message: string } | null }[])
    .filter((e) => e.action === 'listInstrument' && e.outcome === 'refused');
  t.same(refusedListings.map((e) => [e.what.symbol, e.error?.code]), [['HBEA-T', 'INSTRUMENT_EXISTS'], ['BAD-P', 'INVALID_COMMAND'], ['BAD-Q', 'INVALID_COMMAND'], ['BAD-R', 'INVALID_COMMAND'], ['BAD-S', 'INVALID_COMMAND']], 'audited, in order');
  t.match(refusedListings[2].error?.message, /^profile: sessions\.auction: is missing/);
  t.same(refusedListings[1].what.profile, { venue: 'X' });
  t.ok((await api('GET', '/v1/instruments/HBEA-T')).status === 200, 'the new instrument is public');

  expectError(t, await api('GET', '/v1/settlement/2001-01-01', { key: 'operator' }), 404, 'UNKNOWN_DAY');
  const eod = await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200, 'end of day');
  t.match(eod.body, { date: String, nextDate: String, instruments: Array, settlement: String });
  const date = eod.body.date as string;
  const day = await api('GET', `/v1/settlement/${date}`, { key: 'operator' });
  expectOk(t, day, 200, 'settlement');
  t.same(day.body.reports.map((r: { name: string }) => r.name), ['statements', 'trades', 'market', 'large-holders']);
  for (const r of day.body.reports as { href: string }[]) t.equal((await api('GET', r.href, { key: 'operator' })).status, 200, r.href);
  expectError(t, await api('GET', `/v1/settlement/${date}/everything`, { key: 'operator' }), 404, 'UNKNOWN_REPORT', /a day's reports are statements, trades, market, large-holders/);
  expectError(t, await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: { date } }), 409, 'DAY_ALREADY_CLOSED');
});
