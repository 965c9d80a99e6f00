// Hostile input over real HTTP and WebSocket: malformed JSON, wrong types, huge and negative numbers,
// unknown fields, very long strings, a body over 64 KiB, bad keys, path tricks, a flood of requests
// against the rate limit (and of guessed keys), impossible dates, unknown symbols and venues. Every answer is below 500 and (from the gateway) an API.md error;
// nothing a refused request carried takes effect; afterwards /healthz is ok and a normal order works.
import { gzipSync } from 'node:zlib';
import { connect } from 'node:net';
import t from 'tap';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { PATTERN_WORDS } from '../../gateway/http.ts';
import { expectError, KEYS, isApiError, openSocket, rawRequest, startServer, type ApiReply, type CallOptions } from '../support/server.ts';

const s = await startServer();
const limited = await startServer({ rateLimit: 10 });
t.teardown(async () => {
  await s.close();
  await limited.close();
});

const seen: { what: string; status: number }[] = [];
async function hit(method: string, path: string, o: CallOptions = {}, server = s): Promise<ApiReply> {
  const r = await server.api(method, path, o);
  seen.push({ what: `${method} ${path.slice(0, 80)} ${typeof o.body === 'string' ? o.body.slice(0, 60) : JSON.stringify(o.body)?.slice(0, 60)}`, status: r.status });
  return r;
}
const ORDER = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 10 };
const post = (body: unknown, key = 'M1') => hit('POST', '/v1/orders', { key, body });

t.test('malformed JSON is a 400 INVALID_REQUEST', async (t) => {
  for (const text of ['{bad', '{"symbol":', '[', '', 'nul', '{"a":1}}', '\u0000', '{"quantity": 1e}', '[' .repeat(30_000) + ']'.repeat(30_000)]) {
    const r = await post(text);
    t.ok(r.status === 400, `${JSON.stringify(text.slice(0, 20))} → ${r.status}`);
    t.ok(isApiError(r.body), 'an API.md error');
  }
  for (const text of ['null', '"a string"', '123', '[1,2,3]', 'true']) expectError(t, await post(text), 400, 'INVALID_REQUEST', undefined, `JSON ${text}`);
  // Where the JSON breaks, counting from 1, without quoting it (a body may hold a key), whatever the mistake.
  for (const [text, says] of [
    ['{"symbol": "CEA24", "quantity": 1e}', 'at character 35'],
    ['{"accountId":"M1-C1", "symbol": }', 'at character 33'],
    ['{"symbol": "CEA24",}', 'at character 20'],
    ['{"symbol" "CEA24"}', 'at character 11'],
    ['{"quantity": 01}', 'at character 15'],
    ['{"symbol": "CE\\u00GA"}', 'at character 19'],
    ['{"symbol": "CEA24"', 'it ends before its last value does'],
  ] as const) {
    expectError(t, await post(text), 400, 'INVALID_REQUEST', new RegExp(`^the body is not valid JSON \\(${says}\\)$`), text);
  }
  // A property named twice: JSON.parse would keep the last in silence (a proxy may have read the first).
  const before = (await hit('GET', '/v1/orders?status=all', { key: 'M1' })).body.length;
  const twice = JSON.stringify({ accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 1 }).replace('}', ',"quantity":90000}');
  expectError(t, await post(twice), 400, 'INVALID_REQUEST', /^the body names the property quantity more than once in one object: name each property once$/, 'quantity twice');
  expectError(t, await post('{"accountId": "M1-C1", "test-member-M1-key-0001": 1, "test-member-M1-key-0001": 2}'), 400, 'INVALID_REQUEST',
    /^the body names a property more than once/, 'a name that does not read as one is not written back');
  t.equal((await hit('GET', '/v1/orders?status=all', { key: 'M1' })).body.length, before, 'no order was placed');
  expectError(t, await post('{"__proto__": {"polluted": true}, "symbol": "CEA24"}'), 400, 'INVALID_REQUEST', /property named __proto__/, '__proto__');
  expectError(t, await post('{"constructor": {"prototype": {"polluted": true}}}'), 400, 'INVALID_REQUEST', /constructor\.prototype/, 'constructor.prototype');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  // Only JSON is taken, whatever the body looks like: a caller is told to send application/json.
  for (const [type, body] of [['application/x-www-form-urlencoded', 'symbol=CEA24'], ['text/plain', JSON.stringify(ORDER)], ['text/plain; charset=utf-8', JSON.stringify(ORDER)], ['application/xml', '<order/>']]) {
    expectError(t, await hit('POST', '/v1/orders', { key: 'M1', body, headers: { 'content-type': type } }), 415, 'INVALID_REQUEST', /Content-Type: application\/json/, `a ${type} body`);
  }
  expectError(t, await hit('POST', '/v1/block-trades/1/accept', { key: 'M1', body: '{}', headers: { 'content-type': 'text/plain' } }), 415, 'INVALID_REQUEST', /application\/json/, 'text/plain where the body may be null');
});

t.test('a body is UTF-8 JSON as sent: another charset, a compressed body or bytes that are not UTF-8 are refused, nothing stored', async (t) => {
  const send = async (body: Uint8Array, headers: Record<string, string>) => {
    const res = await fetch(`${s.base}/v1/risk/warnings`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.risk}`, ...headers }, body });
    const text = await res.text();
    seen.push({ what: `POST /v1/risk/warnings ${JSON.stringify(headers)}`, status: res.status });
    return { status: res.status, body: JSON.parse(text), text, headers: res.headers } as unknown as ApiReply;
  };
  const before = (await s.api('GET', '/v1/warnings')).body.length;
  const latin1 = Buffer.from('{"text":"caf\u00e9"}', 'latin1'); // é as one byte, not UTF-8
  expectError(t, await send(latin1, { 'content-type': 'application/json' }), 400, 'INVALID_REQUEST', /^the body is not UTF-8 text$/, 'Latin-1 bytes');
  expectError(t, await send(latin1, { 'content-type': 'application/json; charset=iso-8859-1' }), 415, 'INVALID_REQUEST', /charset "iso-8859-1" is not taken/, 'a Latin-1 charset');
  const utf16 = Buffer.from('{"text":"hi"}', 'utf16le');
  expectError(t, await send(utf16, { 'content-type': 'application/json; charset=utf-16' }), 415, 'INVALID_REQUEST', /charset "utf-16"/, 'UTF-16');
  const text = Buffer.from('{"text":"compressed"}');
  expectError(t, await send(gzipSync(text), { 'content-type': 'application/json', 'content-encoding': 'gzip' }), 415, 'INVALID_REQUEST', /uncompressed: Content-Encoding "gzip"/, 'a gzip body');
  t.equal((await s.api('GET', '/v1/warnings')).body.length, before, 'no warning was published');
  for (const type of ['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json;charset=utf8']) {
    const ok = await send(Buffer.from('{"text":"café 中文"}'), { 'content-type': type });
    t.equal(ok.status, 201, `${type}: taken`);
    t.equal((ok.body as unknown as { warning: { text: string } }).warning.text, 'café 中文', 'as written');
  }
  t.equal((await send(text, { 'content-type': 'application/json', 'content-encoding': 'identity' })).status, 201, 'Content-Encoding: identity is no coding');
});

t.test('Content-Type: application/json with no body is no body: a cancel goes ahead, a route that needs one says so, and one that takes none refuses one that carries anything', async (t) => {
  const json = { 'content-type': 'application/json' };
  const placed = await post({ ...ORDER, accountId: 'M2-C1', price: '56.10' }, 'M2');
  t.equal(placed.status, 201, 'an order of M2 (the other tests count M1\'s)');
  const id = (placed.body as { order: { orderId: string } }).order.orderId;
  // As many client libraries send it: the header on every request, a DELETE without a body.
  const cancelled = await hit('DELETE', `/v1/orders/${id}`, { key: 'M2', headers: json });
  t.equal(cancelled.status, 200, `the cancel is taken: ${cancelled.text}`);
  t.equal((cancelled.body as { order: { status: string } }).order.status, 'cancelled');
  for (const body of ['', '  \n']) {
    expectError(t, await hit('POST', '/v1/orders', { key: 'M2', headers: json, body }), 400, 'INVALID_REQUEST', /^body must be an object$/, `an order with the body ${JSON.stringify(body)}`);
    expectError(t, await hit('POST', '/v1/risk/accounts/M1-C1/cancel-all', { key: 'risk', headers: json, body }), 400, 'INVALID_REQUEST', /^body must be an object$/, `a cancel-all with the body ${JSON.stringify(body)}`);
  }
  // A route that takes no body refuses one that carries anything, and does nothing: a cancel sent
  // with a quantity is not a reduction.
  const other = await post({ ...ORDER, accountId: 'M2-C1', price: '56.11', quantity: 10 }, 'M2');
  const otherId = (other.body as { order: { orderId: string } }).order.orderId;
  for (const [body, says] of [[{ quantity: 5 }, /^DELETE \/v1\/orders\/:orderId takes no body; this one carries the properties "quantity"$/], [[1], /carries a list$/], ['"x"', /carries a string$/], [7, /carries a number$/]] as const) {
    expectError(t, await hit('DELETE', `/v1/orders/${otherId}`, { key: 'M2', body }), 400, 'INVALID_REQUEST', says, `a cancel with the body ${JSON.stringify(body)}`);
  }
  t.match((await hit('GET', `/v1/orders/${otherId}`, { key: 'M2' })).body, { status: 'new', remainingQuantity: 10 }, 'the order is untouched');
  for (const body of [{}, null]) t.equal((await hit('DELETE', `/v1/orders/${otherId}`, { key: 'M2', body })).status, body === null ? 409 : 200, `${JSON.stringify(body)} carries nothing: the cancel is taken`);
  expectError(t, await hit('DELETE', '/v1/block-trades/1', { key: 'M2', body: { reason: 'x' } }), 400, 'INVALID_REQUEST', /^DELETE \/v1\/block-trades\/:blockId takes no body/);
  expectError(t, await hit('POST', '/v1/block-trades/1/reject', { key: 'M2', body: { reason: 'x' } }), 400, 'INVALID_REQUEST', /^POST \/v1\/block-trades\/:blockId\/reject takes no body/);
  // Blanks JSON does not count as blanks (a no-break space, a byte-order mark) are not JSON.
  for (const body of ['\u00a0', '\ufeff']) {
    expectError(t, await hit('POST', '/v1/orders', { key: 'M2', headers: json, body }), 400, 'INVALID_REQUEST', /not valid JSON/, `the body ${JSON.stringify(body)}`);
  }
});

t.test('wrong types are refused, never coerced into an order', async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ['price as a JSON number (API.md: decimal strings, never floats)', { price: 57.1 }],
    ['price as an array', { price: ['57.00'] }],
    ['price as an object', { price: { value: '57.00' } }],
    ['price as a boolean', { price: true }],
    ['quantity as a string', { quantity: '10' }],
    ['quantity as a boolean', { quantity: true }],
    ['quantity as an array', { quantity: [10] }],
    ['quantity as a fraction', { quantity: 10.5 }],
    ['quantity null', { quantity: null }],
    ['side as a number', { side: 1 }],
    ['side in capitals', { side: 'BUY' }],
    ['type unknown', { type: 'stop' }],
    ['symbol as a number', { symbol: 24 }],
    ['clientOrderId as a number', { clientOrderId: 123 }],
    ['clientOrderId as an object', { clientOrderId: { id: 1 } }],
    ['accountId as a list', { accountId: ['M1-C1'] }],
    ['timeInForce unknown', { timeInForce: 'GTC' }],
  ];
  for (const [what, patch] of cases) expectError(t, await post({ ...ORDER, ...patch }), 400, 'INVALID_REQUEST', undefined, what);
  const orders = await hit('GET', '/v1/orders?status=all', { key: 'M1' });
  t.same(orders.body.map((o: { price: string; quantity: number }) => `${o.quantity} @ ${o.price}`), [], 'none of them became an order');

  // Text that does not have the form a field asks for is refused in words, not with the expression.
  const worded: [string, string, Record<string, unknown>, RegExp][] = [
    ['POST', '/v1/orders', { ...ORDER, price: '57.001' }, /^body\/price must be a price in CNY as a string, two decimals at most, such as "57\.46"$/],
    ['POST', '/v1/orders', { ...ORDER, price: '-1' }, /^body\/price must be a price in CNY/],
    ['POST', '/v1/orders', { ...ORDER, symbol: 'cea24' }, /^body\/symbol must be a symbol of 2–16 capital letters/],
    ['POST', '/v1/orders', { ...ORDER, accountId: 'M1 C1' }, /^body\/accountId must be an account id of 1–32/],
    ['POST', '/v1/orders', { ...ORDER, clientOrderId: 'has space' }, /^body\/clientOrderId must be 1–64 printable ASCII characters, no spaces$/],
    // A choice names its choices.
    ['POST', '/v1/orders', { ...ORDER, side: 'BUY' }, /^body\/side must be one of "buy", "sell"$/],
    ['POST', '/v1/orders', { ...ORDER, timeInForce: 'GTC' }, /^body\/timeInForce must be one of "DAY", "IOC", "FOK"$/],
  ];
  for (const [method, path, body, message] of worded) {
    const r = await hit(method, path, { key: 'M1', body });
    expectError(t, r, 400, 'INVALID_REQUEST', message, JSON.stringify(body));
  }
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-C1', cash: '1e6' } }), 400, 'INVALID_REQUEST', /^body\/cash must be an amount in CNY as a string, two decimals at most/);
  expectError(t, await hit('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M5-C1', member: 'M 5', class: 'institution' } }), 400, 'INVALID_REQUEST', /^body\/member must be a member id of 1–32 letters, digits, "_", "\." and "-", such as "M1"$/, 'a member is worded as a member');
  expectError(t, await hit('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '5%', reason: 'x' } }), 400, 'INVALID_REQUEST', /^body\/listedBandPct must be a percentage as a string/);
  expectError(t, await hit('GET', '/v1/orders/0x1f', { key: 'M1' }), 400, 'INVALID_REQUEST', /^params\/orderId must be a positive whole number as a string/);
  expectError(t, await hit('GET', '/v1/orders?status=done', { key: 'M1' }), 400, 'INVALID_REQUEST', /^querystring\/status must be one of "open", /);
  expectError(t, await hit('GET', '/v1/instruments/CEA24/klines?interval=2m'), 400, 'INVALID_REQUEST', /^querystring\/interval must be one of "1m", "5m", "15m", "1h", "1d"$/);
  // A whole number in a query string is written in decimal digits: nothing else Number() would read.
  for (const text of ['0x5', '1e1', '5.0', '%205', '5%20', '0b11', '+5', 'Infinity']) {
    expectError(t, await hit('GET', `/v1/instruments/CEA24/trades?limit=${text}`), 400, 'INVALID_REQUEST', /^querystring\/limit must be a whole number$/, `limit=${text}`);
  }
  expectError(t, await hit('GET', '/v1/orders?limit=0x10', { key: 'M1' }), 400, 'INVALID_REQUEST', /^querystring\/limit must be a whole number$/, 'a page\'s limit');
  expectError(t, await hit('GET', '/v1/instruments/CEA24/trades?limit=-1'), 400, 'INVALID_REQUEST', /^querystring\/limit must be at least 1$/, 'a negative one is named by its bound');
  t.equal((await hit('GET', '/v1/instruments/CEA24/trades?limit=05')).status, 200, 'digits are taken, a leading zero too');
  expectError(t, await hit('GET', '/v1/instruments/CEA24/klines?limit=99999999999999999999'), 400, 'INVALID_REQUEST', /^querystring\/limit must be at most 1500$/, 'twenty digits are a whole number, past the bound');

  expectError(t, await hit('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-C4', maxQuantity: '100' } }), 400, 'INVALID_REQUEST', undefined, 'a cap as a string');
  expectError(t, await hit('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: 5, reason: 'x' } }), 400, 'INVALID_REQUEST', undefined, 'a band as a number');
  t.equal((await hit('GET', '/v1/instruments/CEA24')).body.listedBand.pct, '10', 'no band change took effect');
  expectError(t, await hit('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: 42 } }), 400, 'INVALID_REQUEST', undefined, 'a reason as a number');
  t.equal((await hit('GET', '/v1/instruments/CEA24')).body.status, 'trading', 'no halt took effect');
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-P1', cash: 100 } }), 400, 'INVALID_REQUEST', undefined, 'cash as a number');
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-P1', symbol: 'CQEA', quantity: '5' } }), 400, 'INVALID_REQUEST', undefined, 'tonnes as a string');
  t.match((await hit('GET', '/v1/account?accountId=M3-P1', { key: 'M3' })).body, { cash: { available: '500000.00' }, holdings: [{ symbol: 'CQEA', available: 5000 }] }, 'no deposit took effect');

  // Undo whatever a coerced request did, so that the tests after this one start from a sound market.
  await s.api('POST', '/v1/risk/accounts/M1-C1/cancel-all', { key: 'risk', body: { reason: 'test clean-up' } });
  await s.api('POST', '/v1/risk/market/resume', { key: 'risk', body: { reason: 'test clean-up' } });
  await s.api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '10', reason: 'test clean-up' } });
});

t.test('huge, negative and zero numbers', async (t) => {
  for (const quantity of [0, -5, -1e21, 1e21, 2 ** 53, 1e308, 1_000_000_001]) {
    expectError(t, await post({ ...ORDER, quantity }), 400, ['INVALID_REQUEST', 'INVALID_QUANTITY'], undefined, `quantity ${quantity}`);
  }
  for (const price of ['-57.00', '0', '0.00', '57.001', '1e3', '99999999999.99', ' 57.00', '57,00', '０57.00', 'NaN', 'Infinity']) {
    expectError(t, await post({ ...ORDER, price }), 400, ['INVALID_REQUEST', 'INVALID_PRICE'], undefined, `price ${price}`);
  }
  expectError(t, await post({ ...ORDER, price: '9999999999.99', quantity: 99999 }), [400, 422], ['INVALID_PRICE', 'PRICE_OUT_OF_BAND', 'INSUFFICIENT_FUNDS'], undefined, 'the largest price the schema takes');
  expectError(t, await post({ ...ORDER, quantity: 1_000_000_000 }), 422, 'ORDER_TOO_LARGE');
  for (const path of ['/v1/instruments/CEA24/book?depth=1e10', '/v1/instruments/CEA24/book?depth=-1', '/v1/instruments/CEA24/trades?limit=0', '/v1/instruments/CEA24/klines?limit=99999999999999999999']) {
    expectError(t, await hit('GET', path), 400, 'INVALID_REQUEST', undefined, path);
  }
  expectError(t, await hit('GET', '/v1/orders/0', { key: 'M1' }), 400, 'INVALID_REQUEST', undefined, 'order id 0');
  expectError(t, await hit('GET', '/v1/orders/-1', { key: 'M1' }), 400, 'INVALID_REQUEST', undefined, 'order id -1');
  expectError(t, await hit('GET', '/v1/orders/999999999999999', { key: 'M1' }), 404, 'UNKNOWN_ORDER', undefined, 'the largest order id');
  expectError(t, await hit('GET', '/v1/orders/9999999999999999999999', { key: 'M1' }), 400, 'INVALID_REQUEST', undefined, 'an order id past 2^53');
  expectError(t, await hit('GET', '/v1/risk/audit?since=-1', { key: 'risk' }), 400, 'INVALID_REQUEST');
  expectError(t, await hit('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M1-P1', cash: '-100.00' } }), 400, 'INVALID_REQUEST', undefined, 'a negative withdrawal');
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-P1', cash: '0.00' } }), 400, ['INVALID_REQUEST', 'INVALID_COMMAND'], undefined, 'a zero deposit');
  // Past the limit, and the limit itself: refused in the engine's words, which name the limit, never
  // for the characters it takes to write (the exchange already holds cash, so even the limit is too much).
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-P1', cash: '10000000000000.01' } }), 400, 'INVALID_COMMAND', /at most 10,000,000,000,000\.00$/, 'a deposit past the limit');
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-P1', cash: '10000000000000.00' } }), 400, 'INVALID_COMMAND', /above 10000000000000\.00/, 'the limit, with cash already held');
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-P1', cash: '100000000000000.00' } }), 400, 'INVALID_REQUEST', /^body\/cash must be an amount in CNY/, 'fifteen digits: not an amount the exchange writes');
  expectError(t, await hit('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: -1 } }), 400, 'INVALID_REQUEST', undefined, 'a negative cap');
  expectError(t, await hit('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '1000', reason: 'x' } }), 400, ['INVALID_REQUEST', 'INVALID_COMMAND'], undefined, 'a band of 1000 %');
  // A price the schema takes but far above the market's: the book would keep a level for each of
  // millions of price steps in its band (the exchange used to stall, then run out of memory).
  for (const price of ['1000000.00', '9999999999.99']) {
    expectError(t, await hit('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { referencePrice: price, reason: 'a typo' } }), 422, 'BAND_TOO_WIDE', /price steps of 0\.01; the book keeps at most 100,000/, `a reference price of ${price}`);
    const profile = JSON.parse(readFileSync(new URL('../../markets/venues/fjea.json', import.meta.url), 'utf8'));
    expectError(t, await hit('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'FJEA-X', name: 'Too dear', vintage: null, profile, listingPrice: price } }), 422, 'BAND_TOO_WIDE', undefined, `a listing price of ${price}`);
  }
  // A fee typed as a percentage ("0.5" for 0.5 %): 50 % of turnover is refused, naming the field.
  const fjea = JSON.parse(readFileSync(new URL('../../markets/venues/fjea.json', import.meta.url), 'utf8'));
  const dear = { ...fjea, fees: { ...fjea.fees, listed: { buy: '0.5', sell: '0.99' } } };
  expectError(t, await hit('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'FJEA-F', name: 'Dear', vintage: null, profile: dear, listingPrice: '25.00' } }), 400, 'INVALID_COMMAND',
    /^profile: fees\.listed\.buy: is 50 % of turnover: a fee rate is at most 0\.1 \(10 %\)/, 'a fee of 50 %');
  t.match((await hit('GET', '/v1/instruments/CEA24')).body, { referencePrice: '57.46' }, 'the reference price is unchanged');
  t.equal((await hit('GET', '/v1/instruments/FJEA-X')).status, 404, 'nothing was listed');

  // The engine takes deposits up to 10,000,000,000,000.00 (its message says so); one of 1,000,000,000,000.00 is within it.
  t.equal((await hit('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-BIG', member: 'M3', class: 'institution' } })).status, 201);
  const big = await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-BIG', cash: '1000000000000.00' } });
  t.equal(big.status, 201, `a deposit of 1,000,000,000,000.00 within the documented limit is taken (${big.text})`);
  const huge = await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-BIG', symbol: 'CEA24', quantity: 1_000_000_000 } });
  t.equal(huge.status, 201, 'a deposit of 1,000,000,000 t is taken');
  const acct = await hit('GET', '/v1/account?accountId=M3-BIG', { key: 'M3' });
  t.match(acct.body.holdings, [{ symbol: 'CEA24', available: 1_000_000_000 }], 'and shown exactly');
});

t.test('a type or a bound is refused in words, naming the form asked for', async (t) => {
  const cases: [string, string, CallOptions, RegExp][] = [
    ['PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: -5 } }, /^body\/maxQuantity must be at least 0$/],
    ['PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: 'lots' } }, /^body\/maxQuantity must be a whole number or null$/],
    ['PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { referencePrice: 57.46, reason: 'x' } }, /^body\/referencePrice must be a price in CNY as a string, two decimals at most/],
    ['PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: 5, reason: 'x' } }, /^body\/listedBandPct must be a percentage as a string/],
    ['POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-W1', member: 'M3', class: 'institution', venues: [] } }, /^body\/venues must be a list of at least 1 item$/],
    ['POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-P1', symbol: 'CEA24', quantity: 0 } }, /^body\/quantity must be at least 1$/],
    ['POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-W1', member: 'M3', class: 'institution', allocation: -1 } }, /^body\/allocation must be at least 0$/],
    ['POST', '/v1/orders', { key: 'M1', body: { ...ORDER, quantity: '10' } }, /^body\/quantity must be a whole number$/],
    ['POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: '' } }, /^body\/reason must be at least 1 character long$/],
  ];
  for (const [method, path, o, message] of cases) expectError(t, await hit(method, path, o), 400, 'INVALID_REQUEST', message, `${method} ${path} ${JSON.stringify(o.body)}`);
  // A cap's route does not take a threshold's quantity (nor the other way round): refused, not ignored.
  expectError(t, await hit('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: null, quantity: 1000 } }), 400, 'INVALID_REQUEST', /has a property "quantity" this route does not take/);
  expectError(t, await hit('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', quantity: 900000, maxQuantity: 5 } }), 400, 'INVALID_REQUEST', /has a property "maxQuantity" this route does not take/);
});

t.test('unknown fields are refused', async (t) => {
  expectError(t, await post({ ...ORDER, leverage: 10 }), 400, 'INVALID_REQUEST', /^body has a property "leverage" this route does not take$/, 'an order with an unknown field, named');
  expectError(t, await post({ ...ORDER, '': 10 }), 400, 'INVALID_REQUEST', /^body has a property with an empty name, which this route does not take$/, 'a field without a name');
  expectError(t, await hit('GET', '/v1/instruments/CEA24/book?=5'), 400, 'INVALID_REQUEST', /^querystring has a property with an empty name/, 'a query parameter without a name');
  expectError(t, await post({ ...ORDER, Price: '56.00' }), 400, 'INVALID_REQUEST', /"Price"/, 'a field in the wrong case');
  expectError(t, await hit('PATCH', '/v1/orders/1', { key: 'M1', body: { quantity: 5, side: 'sell' } }), 400, 'INVALID_REQUEST');
  expectError(t, await hit('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, fee: '0' } }), 400, 'INVALID_REQUEST');
  expectError(t, await hit('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '5', reason: 'x', force: true } }), 400, 'INVALID_REQUEST');
  expectError(t, await hit('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-Q1', member: 'M3', class: 'institution', cash: '100.00' } }), 400, 'INVALID_REQUEST');
  expectError(t, await hit('GET', '/v1/instruments/CEA24/book?depth=5&admin=1'), 400, 'INVALID_REQUEST');
  expectError(t, await hit('GET', '/v1/instruments/CEA24/book?depth=5&depth=6'), 400, 'INVALID_REQUEST', /^querystring\/depth is given more than once: give it once$/, 'a parameter given twice is said so');
  expectError(t, await hit('GET', '/v1/orders?status=open&status=all', { key: 'M1' }), 400, 'INVALID_REQUEST', /^querystring\/status is given more than once/, 'a text parameter too');
  expectError(t, await hit('GET', '/v1/orders?status=open&all=1', { key: 'M1' }), 400, 'INVALID_REQUEST', /^querystring has a property "all"/);
  // A route that takes no query string refuses one just the same.
  for (const [method, path, key] of [['GET', '/v1/instruments/CEA24/ticker?x=1', null], ['GET', '/v1/instruments?all=1', null], ['DELETE', '/v1/orders/1?force=1', 'M1'], ['POST', '/v1/risk/market/halt?now=1', 'risk']] as const) {
    expectError(t, await hit(method, path, { key, body: method === 'POST' ? { reason: 'x' } : undefined }), 400, 'INVALID_REQUEST', /^querystring has a property "(x|all|force|now)"/, `${method} ${path}`);
  }
  t.equal((await hit('GET', '/v1/instruments/CEA24')).body.status, 'trading', 'the market was not halted');
  t.equal((await hit('GET', '/healthz?probe=1')).status, 200, 'a probe takes any query string');
  t.equal((await hit('GET', '/v1/instruments/CEA24')).body.listedBand.pct, '10', 'the band did not change');
  expectError(t, await post({ ...ORDER, targetOrderId: '1' }), 400, 'INVALID_REQUEST', /targetOrderId/, 'a limit order naming a pick target');
  expectError(t, await post({ ...ORDER, type: 'market', price: undefined, targetOrderId: '1' }), 400, 'INVALID_REQUEST', /targetOrderId/, 'a market order naming a pick target');
});

t.test('very long strings and a body over 64 KiB', async (t) => {
  const long = 'x'.repeat(10_000);
  expectError(t, await post({ ...ORDER, clientOrderId: 'c'.repeat(65) }), 400, 'INVALID_REQUEST', undefined, 'a clientOrderId of 65 characters');
  expectError(t, await post({ ...ORDER, symbol: long }), 400, 'INVALID_REQUEST', undefined, 'a long symbol');
  expectError(t, await post({ ...ORDER, accountId: long }), 400, 'INVALID_REQUEST', undefined, 'a long account id');
  expectError(t, await hit('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: long } }), 400, 'INVALID_REQUEST', /500/, 'a long reason');
  expectError(t, await hit('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'CEA24', accountId: 'M1-C1', text: 'y'.repeat(10_001) } }), 400, 'INVALID_REQUEST', undefined, 'a long report');
  expectError(t, await hit('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M3-L1', member: long, class: 'institution' } }), 400, 'INVALID_REQUEST', undefined, 'a long member name');

  const over = await post({ ...ORDER, clientOrderId: 'z'.repeat(70 * 1024) });
  expectError(t, over, 413, 'PAYLOAD_TOO_LARGE', /^the request body is larger than the 64 KiB this route accepts$/, 'a body over 64 KiB');
  const overInstrument = await hit('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'BIG1', profile: { notes: ['n'.repeat(300 * 1024)] }, listingPrice: '1.00' } });
  expectError(t, overInstrument, 413, 'PAYLOAD_TOO_LARGE', /the 256 KiB this route accepts/, 'a listing over its 256 KiB');
  const path = await hit('GET', `/v1/instruments/${'A'.repeat(5000)}/book`);
  t.ok(path.status >= 400 && path.status < 500, `a 5,000-character path parameter → ${path.status}`);
  t.ok(isApiError(path.body), `with an API.md error body: ${path.text.slice(0, 120)}`);
  expectError(t, path, 400, 'INVALID_REQUEST', /^a path parameter is longer than 100 characters: no id, symbol, date or report name is$/, 'said in words, the path not quoted back');
  expectError(t, await hit('GET', `/v1/orders/${'1'.repeat(120)}`, { key: 'M1' }), 400, 'INVALID_REQUEST', /longer than 100 characters/, 'a 120-digit order id');
  expectError(t, await hit('GET', '/v1/orders/%E0%A4%A', { key: 'M1' }), 400, 'INVALID_REQUEST', /^the path is not a valid URL \(a bad percent-encoding\)$/, 'a broken percent-encoding');
  const url = await hit('GET', `/v1/instruments/CEA24/book?depth=${'9'.repeat(20_000)}`);
  t.ok(url.status >= 400 && url.status < 500, `a 20 KB URL → ${url.status}`);
});

t.test('bad keys', async (t) => {
  const variants: [string, Record<string, string>][] = [
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['a bare word', { authorization: 'Bearer' }],
    ['lower-case scheme with a wrong key', { authorization: 'bearer nope-nope-nope-nope-nope' }],
    ['a key with a suffix', { authorization: 'Bearer test-member-M1-key-0001x' }],
    ['a prefix of a key', { authorization: 'Bearer test-member-M1-key-000' }],
    ['two keys', { authorization: 'Bearer test-member-M1-key-0001 test-member-M2-key-0002' }],
    ['a 10 KB key', { authorization: `Bearer ${'k'.repeat(10_000)}` }],
    ['an API key header', { 'x-api-key': 'test-member-M1-key-0001' }],
    ['a cookie', { cookie: 'key=test-member-M1-key-0001' }],
  ];
  for (const [what, headers] of variants) expectError(t, await hit('GET', '/v1/orders', { key: null, headers }), 401, 'UNAUTHENTICATED', undefined, what);
  // A key the exchange does not know is told so; no key at all is told to send one.
  expectError(t, await hit('GET', '/v1/orders', { key: 'nope-nope-nope-nope-nope' }), 401, 'UNAUTHENTICATED', /^the API key sent \(Authorization: Bearer\) is not one the exchange knows$/, 'an unknown key');
  expectError(t, await hit('GET', '/v1/orders', { key: null }), 401, 'UNAUTHENTICATED', /^send Authorization: Bearer <api key>$/, 'no key');
  const long = await hit('GET', '/v1/orders', { key: 'k'.repeat(300) });
  expectError(t, long, 401, 'UNAUTHENTICATED', /is not one the exchange knows/, 'a key longer than any there is: an unknown key, not none');
  t.equal(long.headers.get('www-authenticate'), 'Bearer realm="exchange", error="invalid_token"', 'and its 401 says the token is refused');
  // Two Authorization headers: Node would keep the first; which key acts is not left to a guess.
  for (const [what, second] of [['two keys', KEYS.M2], ['one key twice', KEYS.M1]]) {
    const twice = await rawRequest(s.port, `GET /v1/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${KEYS.M1}\r\nauthorization: Bearer ${second}`);
    t.equal(twice.status, 400, `${what} in two headers`);
    t.match(JSON.parse(twice.body), { error: { code: 'INVALID_REQUEST', message: 'the Authorization header is given more than once: send one, with one key' } });
  }
  const huge = await hit('GET', '/v1/orders', { key: null, headers: { authorization: `Bearer ${'k'.repeat(100_000)}` } });
  t.ok(huge.status >= 400 && huge.status < 500, `a 100 KB key → ${huge.status}`);
});

t.test('a refusal before a declared body has come closes the connection: one answer, not a second 408 later', async (t) => {
  for (const [what, auth] of [['no key', ''], ['a member key on an operator route', `Authorization: Bearer ${KEYS.M1}\r\n`]] as const) {
    const path = auth === '' ? '/v1/orders' : '/v1/admin/deposits';
    const got = await new Promise<{ text: string; closed: boolean }>((resolve) => {
      let text = '';
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{"acc`);
      });
      const timer = setTimeout(() => { socket.destroy(); resolve({ text, closed: false }); }, 2000);
      socket.on('data', (d) => { text += d.toString('latin1'); });
      socket.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }); });
    });
    t.ok(got.closed, `${what}: the server closed the connection after its answer`);
    t.equal(got.text.match(/^HTTP\/1\.1 /gm)?.length, 1, `${what}: one answer`);
    t.match(got.text, auth === '' ? /^HTTP\/1\.1 401 [^]*connection: close/i : /^HTTP\/1\.1 403 [^]*connection: close/i, `${what}: the refusal, saying the connection closes`);
  }
});

t.test('path and method tricks', async (t) => {
  for (const path of ['/v1/settlement/..%2F..%2Fjournal.sqlite', '/v1/settlement/2026-01-01/..%2F..%2F..%2Fetc%2Fpasswd', '/v1/settlement/2026-01-01/trades%00.json']) {
    const r = await hit('GET', path, { key: 'operator' });
    t.ok(r.status === 400 || r.status === 404, `${path} → ${r.status}`);
    t.ok(isApiError(r.body), 'an API.md error, no file');
  }
  // A path that exists under other methods: 405 naming them (Allow), never the route's handler.
  for (const [method, path, allow] of [
    ['PUT', '/v1/orders', 'GET, HEAD, POST'], ['DELETE', '/v1/instruments/CEA24', 'GET, HEAD'], ['PATCH', '/v1/admin/end-of-day', 'POST'],
    ['POST', '/healthz', 'GET, HEAD'], ['PUT', '/v1/orders/123?x=1', 'GET, HEAD, PATCH, DELETE'], ['GET', '/v1/risk/warnings', 'POST'],
  ]) {
    const r = await hit(method, path, { key: 'M1', body: ['GET', 'DELETE'].includes(method) ? undefined : {} });
    expectError(t, r, 405, 'METHOD_NOT_ALLOWED', undefined, `${method} ${path}`);
    t.equal(r.headers.get('allow'), allow, `${method} ${path}: Allow`);
  }
  // A path no method has stays 404, whatever the method.
  for (const [method, path] of [['GET', '/v1/nowhere'], ['DELETE', '/v1/orders/1/2'], ['PUT', '/']]) {
    const r = await hit(method, path, { key: 'M1', body: ['GET', 'DELETE'].includes(method) ? undefined : {} });
    expectError(t, r, 404, 'NOT_FOUND', undefined, `${method} ${path}`);
    t.equal(r.headers.get('allow'), null, `${method} ${path}: no Allow`);
  }
});

/** Sends a raw HTTP/1.1 request and reads the answer until the server closes or `ms` pass. */
t.test('the WebSocket door asked for something else answers in the API\'s error shape', async (t) => {
  const plain = await hit('GET', '/v1/ws');
  expectError(t, plain, 400, 'INVALID_REQUEST', /opens a WebSocket: send it as an upgrade/, 'a plain GET, without an upgrade');
  t.equal((await hit('HEAD', '/v1/ws')).status, 400, 'HEAD: the same status, no body');
  const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13';
  const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==';
  for (const [what, head, says] of [
    ['no Sec-WebSocket-Key', `GET /v1/ws HTTP/1.1\r\nHost: x\r\n${upgrade}`, /handshake was refused: Missing or invalid Sec-WebSocket-Key/],
    ['a bad Sec-WebSocket-Key', `GET /v1/ws HTTP/1.1\r\nHost: x\r\n${upgrade}\r\nSec-WebSocket-Key: short`, /Sec-WebSocket-Key/],
    ['a version ws does not speak', `GET /v1/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 99\r\n${key}`, /Sec-WebSocket-Version/],
    ['an Upgrade that is not websocket', `GET /v1/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nSec-WebSocket-Version: 13\r\n${key}`, /Upgrade header/],
    ['an upgrade of another route', `GET /healthz HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n${key}`, /only GET \/v1\/ws opens a WebSocket; \/healthz does not/],
  ] as const) {
    const r = await rawRequest(s.port, head);
    t.equal(r.status, 400, `${what}: 400`);
    t.match(r.headers, /content-type: application\/json/i, `${what}: JSON`);
    let body: unknown = null;
    try { body = JSON.parse(r.body); } catch { /* the assertion below says so */ }
    t.ok(isApiError(body), `${what}: an API.md error: ${r.body.slice(0, 120)}`);
    t.match((body as { error?: { message?: string } } | null)?.error?.message ?? '', says, `${what}: says what was wrong`);
  }
  // What Node's HTTP parser refuses is answered in the same shape.
  for (const [what, head, status, says] of [
    ['not HTTP at all', 'GARBAGE', 400, /not HTTP\/1\.1 the exchange can read/],
    ['an unknown method', 'FOO /healthz HTTP/1.1\r\nHost: x', 400, /not HTTP\/1\.1/],
    ['a bad Content-Length', 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: abc', 400, /not HTTP\/1\.1/],
    ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}`, 431, /larger than the exchange accepts/],
    ['a URL over 16 KiB', `GET /v1/instruments?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x`, 431, /larger than the exchange accepts/],
    ['HTTP/1.1 without Host', 'GET /v1/instruments HTTP/1.1', 400, /an HTTP\/1\.1 request needs a Host header/],
    ['an order without Host', `POST /v1/orders HTTP/1.1\r\nAuthorization: Bearer ${KEYS.M1}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`, 400, /needs a Host header/],
    ['an upgrade without Host', `GET /v1/ws HTTP/1.1\r\n${upgrade}\r\n${key}`, 400, /needs a Host header/],
  ] as const) {
    const r = await rawRequest(s.port, head);
    t.equal(r.status, status, `${what}: ${status}`);
    let body: unknown = null;
    try { body = JSON.parse(r.body); } catch { /* the assertion below says so */ }
    t.ok(isApiError(body), `${what}: an API.md error: ${r.body.slice(0, 120)}`);
    t.match((body as { error?: { message?: string } } | null)?.error?.message ?? '', says, `${what}: says what was wrong`);
  }
  const old = await rawRequest(s.port, 'GET /healthz HTTP/1.0');
  t.equal(old.status, 200, 'HTTP/1.0 needs no Host');
  // The door still opens for a proper handshake.
  const ok = await rawRequest(s.port, `GET /v1/ws HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n${key}`, 300);
  t.equal(ok.status, 101, 'a proper handshake: 101 Switching Protocols');
});

t.test('hostile WebSocket messages', async (t) => {
  const c = await openSocket(s.wsUrl);
  c.ws.send(Buffer.from([0xff, 0x00, 0x13]), { binary: true });
  c.send('{"op":');
  c.send({ op: 'subscribe', channels: Array.from({ length: 1000 }, (_, i) => `book:X${i}`) });
  c.send({ op: 'subscribe', channels: [null, 5, {}] });
  c.send({ op: 'auth', key: { $ne: null } });
  c.send({ op: 'subscribe', channels: [`book:${'X'.repeat(60)}`] });
  t.match(await c.next((m) => m.type === 'error' && /64 characters/.test(String(m.message))), { code: 'INVALID_REQUEST' }, 'a channel name over 64 characters: the limit is named');
  c.send({ op: 'subscribe', channels: ['book:CEA24'] });
  await c.next((m) => m.channel === 'book:CEA24' && m.type === 'snapshot');
  t.ok(c.messages.filter((m) => m.type === 'error').length >= 4, 'each bad message has an error answer, and the connection still works');
  t.ok(!c.messages.some((m) => m.type === 'authenticated'), 'no key, no auth');
  c.ws.send('x'.repeat(70 * 1024));
  const closed = await c.closed;
  t.equal(closed.code, 1009, 'a message over 64 KiB closes the connection (1009 message too big)');

  const raw = new WebSocket(s.wsUrl);
  await new Promise((resolve) => raw.once('open', resolve));
  raw.terminate();
  t.same((await hit('GET', '/healthz')).body, { status: 'ok' });
});

t.test('one address holds at most its bound of WebSocket connections: the next upgrade is 429 TOO_MANY_CONNECTIONS, and a closed one frees its place', async (t) => {
  const few = await startServer({ wsPerAddress: 3 });
  t.teardown(() => few.close());
  /** An upgrade's answer: 101 with its open socket, or the refusal's status, headers and body. */
  const upgrade = (path = '/v1/ws') => new Promise<{ status: number; headers: Record<string, unknown>; body: any; ws: WebSocket | null }>((resolve, reject) => {
    const ws = new WebSocket(`${few.wsUrl.replace('/v1/ws', '')}${path}`);
    ws.once('open', () => resolve({ status: 101, headers: {}, body: null, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text), ws: null }); ws.terminate(); });
    });
    ws.once('error', (e) => { if (ws.readyState !== WebSocket.CLOSED) reject(e); });
  });
  // Refused upgrades (a query string) take no place once their connection has closed.
  for (let i = 0; i < 5; i++) t.equal((await upgrade('/v1/ws?token=x')).status, 400, 'an upgrade refused for its query string');
  const open: WebSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await upgrade();
    t.equal(r.status, 101, `connection ${i + 1} of 3 opens`);
    open.push(r.ws!);
  }
  const over = await upgrade();
  t.equal(over.status, 429, 'a fourth from the same address: 429');
  t.equal(over.body.error.code, 'TOO_MANY_CONNECTIONS');
  t.match(over.body.error.message, /at most 3 WebSocket connections at once per address; 127\.0\.0\.1 has 3 open/, 'it names the bound and what the address holds');
  t.equal(over.headers['retry-after'], '1');
  // The others still work.
  const c = open[0];
  c.send(JSON.stringify({ op: 'subscribe', channels: ['ticker:CEA24'] }));
  const first = await new Promise<any>((resolve) => c.once('message', (d) => resolve(JSON.parse(d.toString()))));
  t.equal(first.type, 'subscribed', 'an open connection is unaffected');
  // Closing one frees its place (counted when the server sees the connection end).
  await new Promise((resolve) => { open[1].once('close', resolve); open[1].close(); });
  let again = await upgrade();
  for (let tries = 0; again.status === 429 && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    again = await upgrade();
  }
  t.equal(again.status, 101, 'once one has closed, a new one opens');
  open[1] = again.ws!;
  t.equal((await upgrade()).status, 429, 'and the bound holds again');
  const metrics = await few.api('GET', '/metrics');
  t.match(metrics.text, /exchange_http_errors_total\{status="429",code="TOO_MANY_CONNECTIONS"\} 2/, 'counted as an error answer by its code');
  for (const ws of open) ws.terminate();
});

t.test('a flood against the rate limit: some 429 RATE_LIMITED, never a 5xx', async (t) => {
  const order = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '55.00', quantity: 1 };
  const replies = await Promise.all([
    ...Array.from({ length: 120 }, () => hit('POST', '/v1/orders', { key: 'M1', body: order }, limited)),
    ...Array.from({ length: 60 }, () => hit('GET', '/v1/orders', { key: 'M1' }, limited)),
    ...Array.from({ length: 60 }, () => hit('GET', '/v1/instruments/CEA24/book', {}, limited)),
    ...Array.from({ length: 60 }, () => hit('GET', '/v1/orders', { key: 'not-a-key-0000000000' }, limited)),
  ]);
  const limitedReplies = replies.filter((r) => r.status === 429);
  t.ok(limitedReplies.length > 0, `${limitedReplies.length} of ${replies.length} were rate-limited`);
  for (const r of limitedReplies.slice(0, 5)) expectError(t, r, 429, 'RATE_LIMITED', /at most/);
  t.ok(replies.every((r) => r.status < 500), 'no 5xx');
  const accepted = replies.filter((r) => r.status === 201).length;
  t.equal((await limited.api('GET', '/v1/orders?status=all', { key: 'M2' })).status, 200, 'another key is not refused because of the flood of M1');
  const book = await limited.api('GET', '/v1/instruments/CEA24/book?depth=1', { key: 'M3' });
  t.equal(book.status, 200, 'the limit is per key: M3 reads the book');
  t.same(book.body.bids, accepted > 0 ? [['55.00', accepted, accepted]] : [], `every accepted order (${accepted}), and only those, is in the book`);

  // Health and metrics answer during a flood: a probe must not be rate-limited away.
  t.same((await limited.api('GET', '/healthz')).body, { status: 'ok' }, '/healthz answers ok right after the flood');
  t.equal((await limited.api('GET', '/metrics')).status, 200, '/metrics answers right after the flood');
  const m2 = await limited.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '58.00', quantity: 1 } });

t.test('made-up keys on public routes share their address\'s allowance; a known key has its own; the scheme is case-insensitive', async (t) => {
  await new Promise((r) => setTimeout(r, 1100)); // a fresh one-second window
  const made = await Promise.all(Array.from({ length: 30 }, (_, i) => hit('GET', '/v1/instruments/CEA24/book', { headers: { authorization: `Bearer invented-key-${String(i).padStart(12, '0')}` } }, limited)));
  t.ok(made.some((r) => r.status === 429), `invented keys are rate-limited together (${made.filter((r) => r.status === 429).length} of 30 got 429)`);
  t.ok(made.every((r) => r.status === 200 || r.status === 429), 'the others are answered');
  const lower = await hit('GET', '/v1/orders', { headers: { authorization: `bearer ${KEYS.M2}` } }, limited);
  t.equal(lower.status, 200, 'a known key under "bearer" is accepted, and not limited by the invented ones');
});
  t.equal(m2.status, 201, 'a normal order of another member still works');
});

t.test('guessing keys on a member route is rate-limited by address, before the 401', async (t) => {
  await new Promise((r) => setTimeout(r, 1100)); // a fresh one-second window
  const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) => hit('GET', '/v1/orders', { key: null, headers: { authorization: `Bearer guessed-key-${String(i).padStart(12, '0')}` } }, limited)));
  const counts = (status: number) => guesses.filter((r) => r.status === status).length;
  t.ok(counts(429) >= 15, `most of 30 guesses in one second are refused as too many (${counts(429)} got 429, ${counts(401)} got 401)`);
  t.ok(counts(401) > 0 && counts(401) <= 10, 'the rest are 401, at most the allowance of 10');
  for (const r of guesses) if (r.status === 401) expectError(t, r, 401, 'UNAUTHENTICATED');
  const known = await hit('GET', '/v1/orders', { key: 'M3' }, limited);
  t.equal(known.status, 200, 'a real key has its own allowance and is answered');
});

t.test('paths without a route spend the allowance too: a flood of them is rate-limited', async (t) => {
  await new Promise((r) => setTimeout(r, 1100)); // a fresh one-second window
  const nowhere = await Promise.all(Array.from({ length: 30 }, (_, i) => hit(i % 2 === 0 ? 'GET' : 'PUT', i % 2 === 0 ? `/nope/${i}` : '/v1/orders', { key: null }, limited)));
  const counts = (status: number) => nowhere.filter((r) => r.status === status).length;
  t.ok(counts(429) >= 15, `most of 30 requests in one second are refused as too many (${counts(429)} got 429, ${counts(404)} got 404, ${counts(405)} got 405)`);
  t.ok(counts(404) + counts(405) <= 10, 'the rest are 404 or 405, at most the allowance of 10');
  for (const r of nowhere) if (r.status === 429) expectError(t, r, 429, 'RATE_LIMITED', /at most/);
  expectError(t, await hit('GET', '/nope', { key: 'M3' }), 404, 'NOT_FOUND', /no route GET \/nope/, 'a known key on the unlimited server still gets its 404');
});

t.test('impossible dates, unknown symbols and unknown venues are refused with a code', async (t) => {
  for (const date of ['2026-02-30', '2026-13-01', '2026-00-10', '2025-02-29']) {
    expectError(t, await hit('GET', `/v1/fills?date=${date}`, { key: 'M1' }), 400, 'INVALID_REQUEST', /querystring\/date must be a calendar date/, `fills on ${date}`);
    expectError(t, await hit('GET', `/v1/orders?date=${date}`, { key: 'M1' }), 400, 'INVALID_REQUEST', /querystring\/date must be a calendar date/, `orders on ${date}`);
    expectError(t, await hit('GET', `/v1/settlement/${date}`, { key: 'operator' }), 400, 'INVALID_REQUEST', /params\/date must be a calendar date/, `settlement of ${date}`);
    expectError(t, await hit('GET', `/v1/settlement/${date}/trades`, { key: 'operator' }), 400, 'INVALID_REQUEST', /params\/date must be a calendar date/, `a report of ${date}`);
  }
  const before = (await hit('GET', '/v1/instruments/CEA24/ticker')).body;
  expectError(t, await hit('POST', '/v1/admin/end-of-day', { key: 'operator', body: { date: '2026-02-30' } }), 400, 'INVALID_REQUEST', /body\/date must be a calendar date/);
  t.same((await hit('GET', '/v1/instruments/CEA24/ticker')).body, before, 'no end of day ran');
  t.equal((await hit('GET', '/v1/fills?date=2024-02-29', { key: 'M1' })).status, 404, 'a real date with no trading day is still looked up: 404 UNKNOWN_DAY');

  expectError(t, await hit('GET', '/v1/orders?symbol=NOPE', { key: 'M1' }), 404, 'UNKNOWN_INSTRUMENT', /no instrument "NOPE" is listed/, 'orders of an unknown symbol');
  t.equal((await hit('GET', '/v1/orders?symbol=CEA24', { key: 'M1' })).status, 200, 'a listed symbol filters as before');
  expectError(t, await hit('GET', '/v1/risk/large-holders?symbol=NOPE', { key: 'risk' }), 404, 'UNKNOWN_INSTRUMENT', /no instrument "NOPE" is listed/, 'large holders of an unknown symbol');
  t.equal((await hit('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' })).status, 200);
  const posted = await hit('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'NOPE', side: 'buy', type: 'limit', price: '1.00', quantity: 1 } });
  const read = await hit('GET', '/v1/instruments/NOPE/ticker');
  expectError(t, posted, 404, 'UNKNOWN_INSTRUMENT');
  t.equal(read.body.error?.message, posted.body.error?.message, 'an unknown symbol is named in the same words by a read and by a command');

  const account = (id: string, venues: string[]) => hit('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: id, member: 'M1', class: 'institution', venues } });
  expectError(t, await account('M1-V1', ['HBEA', 'HBAE']), 404, 'UNKNOWN_VENUE', /venue HBAE; the venues are .*HBEA/, 'a misspelt venue');
  expectError(t, await hit('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-V1', cash: '10.00' } }), 404, 'UNKNOWN_ACCOUNT', undefined, 'the refused account was not created');
  const audited = ((await hit('GET', '/v1/risk/audit?limit=10000', { key: 'risk' })).body as { action: string; what: { accountId?: string; venues?: string[] }; error: { code: string } | null }[])
    .filter((e) => e.action === 'createAccount' && e.what.accountId === 'M1-V1');
  t.same(audited.map((e) => [e.what.venues, e.error?.code]), [[['HBEA', 'HBAE'], 'UNKNOWN_VENUE']], 'the refusal is in the audit trail');
  t.equal((await account('M1-V1', ['HBEA'])).status, 201, 'a listed venue is accepted');
});

t.test('after all of it: healthy, a normal order works, and nothing answered 5xx', async (t) => {
  t.same((await hit('GET', '/healthz')).body, { status: 'ok' });
  t.same((await hit('GET', '/readyz')).body, { status: 'ready' });
  const r = await post({ accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 10, clientOrderId: 'after-the-storm' });
  t.equal(r.status, 201, 'a normal order is accepted');
  t.match(r.body.order, { status: 'new', price: '57.00', quantity: 10 });
  const fiveHundreds = seen.filter((x) => x.status >= 500);
  t.same(fiveHundreds, [], `none of ${seen.length} responses was a 5xx`);
  const metrics = (await hit('GET', '/metrics')).text;
  t.notMatch(metrics, /INTERNAL/, 'no internal error was counted');
});

t.test('every pattern a route declares has words for its refusal', async (t) => {
  const doc = (await s.api('GET', '/openapi.json')).body;
  const patterns = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { if (k === 'pattern' && typeof x === 'string') patterns.add(x); else walk(x); }
  };
  walk(doc);
  t.ok(patterns.size >= 8, `the document declares ${patterns.size} patterns`);
  t.same([...patterns].filter((p) => !PATTERN_WORDS.has(p)), [], 'none without words');
});
