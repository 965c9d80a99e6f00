// /metrics in the Prometheus text format (orders, trades, rejections by code, the journal commit
// histogram, WebSocket clients) moving with what happens, and /openapi.json: an OpenAPI 3 document
// that lists the routes of API.md.
import t from 'tap';
import { openSocket, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());
const api = s.api;

interface Sample { name: string; labels: Record<string, string>; value: number }
/** Parses the text format; throws on a line that is neither a comment nor a sample. */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; help: Set<string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) { types.set(m[1], m[2]); continue; }
    m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m) { help.add(m[1]); continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[3] ?? '').split(',').filter((x) => x !== '')) {
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(pair);
      if (!lm) throw new Error(`bad label ${pair} in ${line}`);
      labels[lm[1]] = lm[2];
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return { samples, types, help };
}
const scrape = async () => {
  const r = await api('GET', '/metrics');
  return { ...parse(r.text), contentType: r.headers.get('content-type') ?? '', status: r.status };
};
const value = (m: { samples: Sample[] }, name: string, labels: Record<string, string> = {}) =>
  m.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value ?? 0;

t.test('/metrics is Prometheus text and moves with orders, trades, rejections and sockets', async (t) => {
  const before = await scrape();
  t.equal(before.status, 200);
  t.match(before.contentType, /^text\/plain/, 'served as text/plain');
  for (const name of ['exchange_orders_total', 'exchange_trades_total', 'exchange_rejects_total', 'exchange_journal_commit_seconds', 'exchange_ws_clients', 'exchange_ws_dropped_total']) {
    t.ok(before.types.has(name), `# TYPE ${name}`);
    t.ok(before.help.has(name), `# HELP ${name}`);
  }
  t.equal(before.types.get('exchange_orders_total'), 'counter');
  t.equal(before.types.get('exchange_journal_commit_seconds'), 'histogram');
  t.equal(before.types.get('exchange_ws_clients'), 'gauge');

  const order = (key: string, body: Record<string, unknown>) => api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 100, clientOrderId: 'm-1' })).status, 201);
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 100, clientOrderId: 'm-1' })).body.duplicate, true, 'a repeat');
  t.equal((await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.00', quantity: 60 })).status, 201);
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'buy', price: '64.00', quantity: 1 })).status, 422);
  t.equal((await order('M1', { accountId: 'M1-P1', side: 'buy', price: '57.00', quantity: 99999 })).status, 422);
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'buy', price: '63.00', quantity: 1 })).status, 201, 'a buy at 63.00 trades nothing (no seller left)');
  const ws = await openSocket(s.wsUrl);
  ws.send({ op: 'subscribe', channels: ['trades:CEA24'] });
  await ws.next((m) => m.type === 'snapshot');

  const after = await scrape();
  t.equal(value(after, 'exchange_orders_total') - value(before, 'exchange_orders_total'), 3, 'three orders accepted (the repeat is not a new order)');
  t.equal(value(after, 'exchange_trades_total') - value(before, 'exchange_trades_total'), 1, 'one trade');
  t.equal(value(after, 'exchange_rejects_total', { code: 'PRICE_OUT_OF_BAND' }) - value(before, 'exchange_rejects_total', { code: 'PRICE_OUT_OF_BAND' }), 1, 'rejects{code="PRICE_OUT_OF_BAND"}');
  t.equal(value(after, 'exchange_rejects_total', { code: 'INSUFFICIENT_FUNDS' }) - value(before, 'exchange_rejects_total', { code: 'INSUFFICIENT_FUNDS' }), 1, 'rejects{code="INSUFFICIENT_FUNDS"}');
  t.equal(value(after, 'exchange_ws_clients'), 1, 'one socket connected');

  const buckets = after.samples.filter((x) => x.name === 'exchange_journal_commit_seconds_bucket');
  t.ok(buckets.length >= 2, 'histogram buckets');
  t.ok(buckets.every((b) => 'le' in b.labels), 'each bucket has le');
  t.equal(buckets[buckets.length - 1].labels.le, '+Inf', 'the last bucket is +Inf');
  for (let i = 1; i < buckets.length; i++) {
    const le = (x: string) => (x === '+Inf' ? Infinity : Number(x));
    t.ok(le(buckets[i].labels.le) > le(buckets[i - 1].labels.le), 'le rises');
    t.ok(buckets[i].value >= buckets[i - 1].value, 'counts are cumulative');
  }
  const count = value(after, 'exchange_journal_commit_seconds_count');
  t.equal(buckets[buckets.length - 1].value, count, '+Inf bucket = _count');
  t.ok(count > value(before, 'exchange_journal_commit_seconds_count'), 'commits were counted');
  t.ok(after.samples.some((x) => x.name === 'exchange_journal_commit_seconds_sum' && x.value > 0), '_sum present');

  await ws.close();
  let clients = 1;
  for (let i = 0; i < 200 && clients !== 0; i++) clients = value(await scrape(), 'exchange_ws_clients');
  t.equal(clients, 0, 'the gauge falls back to 0 once the socket is gone');
});

t.test('/metrics counts HTTP error answers by status and code: the gateway\'s refusals and the engine\'s', async (t) => {
  const before = await scrape();
  t.equal(before.types.get('exchange_http_errors_total'), 'counter');
  t.ok(before.help.has('exchange_http_errors_total'), '# HELP exchange_http_errors_total');
  const errors = (m: { samples: Sample[] }, status: string, code: string) => value(m, 'exchange_http_errors_total', { status, code });
  const order = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 1 };
  const sent: [number, string, () => Promise<{ status: number }>][] = [
    [401, 'UNAUTHENTICATED', () => api('POST', '/v1/orders', { body: order })],
    [401, 'UNAUTHENTICATED', () => api('POST', '/v1/orders', { key: 'not-a-key-of-this-exchange', body: order })],
    [403, 'NOT_PERMITTED', () => api('POST', '/v1/orders', { key: 'risk', body: order })],
    [400, 'INVALID_REQUEST', () => api('POST', '/v1/orders', { key: 'M1', body: { ...order, quantity: -1 } })],
    [415, 'INVALID_REQUEST', () => api('POST', '/v1/orders', { key: 'M1', body: 'quantity=1', headers: { 'content-type': 'text/plain' } })],
    [404, 'NOT_FOUND', () => api('GET', '/v1/no-such-route')],
    [404, 'UNKNOWN_INSTRUMENT', () => api('GET', '/v1/instruments/NOPE/book')],
    [422, 'PRICE_OUT_OF_BAND', () => api('POST', '/v1/orders', { key: 'M1', body: { ...order, price: '64.00' } })],
  ];
  for (const [status, code, send] of sent) t.equal((await send()).status, status, `${code} answered ${status}`);
  // What Node's HTTP parser refuses is counted too.
  const { connect } = await import('node:net');
  await new Promise<void>((resolve) => {
    const socket = connect(s.port, '127.0.0.1', () => socket.write('this is not HTTP\r\n\r\n'));
    socket.on('data', () => undefined).on('close', () => resolve()).on('error', () => resolve());
  });
  const after = await scrape();
  const expected = new Map<string, number>();
  for (const [status, code] of sent) expected.set(`${status} ${code}`, (expected.get(`${status} ${code}`) ?? 0) + 1);
  expected.set('400 INVALID_REQUEST', (expected.get('400 INVALID_REQUEST') ?? 0) + 1);
  for (const [key, n] of expected) {
    const [status, code] = key.split(' ');
    t.equal(errors(after, status, code) - errors(before, status, code), n, `exchange_http_errors_total{status="${status}",code="${code}"} rose by ${n}`);
  }
  t.equal(value(after, 'exchange_rejects_total', { code: 'PRICE_OUT_OF_BAND' }) - value(before, 'exchange_rejects_total', { code: 'PRICE_OUT_OF_BAND' }), 1, 'the engine\'s refusal is also a refused command');
  t.equal(value(after, 'exchange_rejects_total', { code: 'UNAUTHENTICATED' }), 0, 'while a refusal before the engine is not');
});

t.test('/metrics counts a refused command by the code answered: it does not undo what the answer keeps from the caller', async (t) => {
  const placed = await api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '55.00', quantity: 1 } });
  const orderId = placed.body.order.orderId as string;
  t.equal((await api('DELETE', `/v1/orders/${orderId}`, { key: 'M1' })).status, 200, "M1 cancels its order");
  const before = await scrape();
  const rejects = (m: { samples: Sample[] }, code: string) => value(m, 'exchange_rejects_total', { code });
  const stranger = await api('DELETE', `/v1/orders/${orderId}`, { key: 'M3' });
  t.equal(stranger.body.error?.code, 'UNKNOWN_ORDER', "M3 is told M1's finished order is unknown");
  const middle = await scrape();
  t.equal(rejects(middle, 'ORDER_NOT_OPEN') - rejects(before, 'ORDER_NOT_OPEN'), 0, 'and /metrics does not count it as ORDER_NOT_OPEN');
  t.equal(rejects(middle, 'UNKNOWN_ORDER') - rejects(before, 'UNKNOWN_ORDER'), 1, 'but as UNKNOWN_ORDER, as answered');
  const owner = await api('DELETE', `/v1/orders/${orderId}`, { key: 'M1' });
  t.equal(owner.body.error?.code, 'ORDER_NOT_OPEN', 'its owner is told it is not open');
  const after = await scrape();
  t.equal(rejects(after, 'ORDER_NOT_OPEN') - rejects(middle, 'ORDER_NOT_OPEN'), 1, 'counted as ORDER_NOT_OPEN');
});

t.test('/metrics says the last committed seq and the trading day in force', async (t) => {
  const placed = await api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '56.00', quantity: 1 } });
  t.equal(placed.status, 201);
  const m = await scrape();
  t.equal(m.types.get('exchange_journal_last_seq'), 'gauge');
  t.equal(value(m, 'exchange_journal_last_seq'), Number(placed.headers.get('x-exchange-seq')), 'the seq of the latest answer');
  const today = s.exchange.gateway.engine.tradingDate;
  t.equal(value(m, 'exchange_trading_day', { date: today }), 1, `exchange_trading_day{date="${today}"} 1`);
  t.equal(m.samples.filter((x) => x.name === 'exchange_trading_day').length, 1, 'one trading day');
});

t.test('/openapi.json is an OpenAPI 3 document of the routes', async (t) => {
  const r = await api('GET', '/openapi.json');
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /json/);
  t.match(r.body.openapi, /^3\./, 'OpenAPI 3');
  t.ok(r.body.info?.title, 'with a title');
  const paths = r.body.paths as Record<string, Record<string, unknown>>;
  t.ok(paths['/v1/orders']?.post && paths['/v1/orders']?.get, 'lists POST and GET /v1/orders');
  const expected: [string, string][] = [
    ['/v1/instruments', 'get'], ['/v1/instruments/{symbol}/book', 'get'], ['/v1/instruments/{symbol}/trades', 'get'],
    ['/v1/instruments/{symbol}/ticker', 'get'], ['/v1/instruments/{symbol}/klines', 'get'],
    ['/v1/orders/{orderId}', 'get'], ['/v1/orders/{orderId}', 'patch'], ['/v1/orders/{orderId}', 'delete'],
    ['/v1/fills', 'get'], ['/v1/account', 'get'], ['/v1/block-trades', 'post'], ['/v1/block-trades', 'get'],
    ['/v1/block-trades/{blockId}/counter', 'post'], ['/v1/block-trades/{blockId}/accept', 'post'], ['/v1/block-trades/{blockId}/reject', 'post'],
    ['/v1/block-trades/{blockId}', 'delete'], ['/v1/large-holder-reports', 'post'],
    ['/v1/risk/instruments/{symbol}', 'patch'], ['/v1/risk/market/halt', 'post'], ['/v1/risk/market/resume', 'post'],
    ['/v1/risk/position-caps', 'put'], ['/v1/risk/large-holder-thresholds', 'put'], ['/v1/risk/large-holders', 'get'],
    ['/v1/risk/accounts/{accountId}', 'patch'], ['/v1/risk/accounts/{accountId}/cancel-all', 'post'], ['/v1/risk/audit', 'get'],
    ['/v1/admin/accounts', 'post'], ['/v1/admin/deposits', 'post'], ['/v1/admin/withdrawals', 'post'], ['/v1/admin/instruments', 'post'],
    ['/v1/admin/end-of-day', 'post'], ['/v1/settlement/{date}', 'get'], ['/v1/settlement/{date}/{report}', 'get'],
    ['/v1/auctions', 'post'], ['/v1/auctions/{auctionId}/bids', 'post'], ['/v1/auctions/{auctionId}/bids', 'get'],
    ['/v1/auctions/{auctionId}/bids/{bidId}', 'delete'], ['/v1/auctions/{auctionId}/close', 'post'], ['/v1/auctions/{auctionId}/cancel', 'post'],
  ];
  // Today's auctions are public, as market data is.
  for (const path of ['/v1/auctions', '/v1/auctions/{auctionId}']) t.ok(paths[path]?.get, `GET ${path} is documented`);
  for (const [path, method] of expected) t.ok(paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
  // A route that takes a key says so (the bearer scheme); public market data does not.
  t.ok(r.body.components?.securitySchemes?.apiKey, 'the bearer scheme is declared');
  const security = (path: string, method: string) => (paths[path]?.[method] as { security?: unknown } | undefined)?.security;
  for (const [path, method] of expected.filter(([p]) => !p.startsWith('/v1/instruments'))) t.same(security(path, method), [{ apiKey: [] }], `${method.toUpperCase()} ${path} takes a key`);
  for (const [path, method] of expected.filter(([p]) => p.startsWith('/v1/instruments'))) t.equal(security(path, method), undefined, `${method.toUpperCase()} ${path} is public`);
  for (const path of ['/v1/auctions', '/v1/auctions/{auctionId}']) t.equal(security(path, 'get'), undefined, `GET ${path} is public`);
  // The headers a client reads are declared.
  type Responses = Record<string, { headers?: Record<string, { required: boolean }> }>;
  const responses = (path: string, method: string) => (paths[path][method] as { responses: Responses }).responses;
  t.same(Object.keys(responses('/v1/orders', 'post')['201'].headers ?? {}).sort(), ['x-exchange-seq', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'], "an order's answer: its seq and the rate limit's");
  t.ok(responses('/v1/orders', 'post')['422'].headers?.['x-exchange-seq'], 'a refusal of the engine too');
  t.equal(responses('/v1/orders', 'post')['429'].headers?.['retry-after']?.required, true, 'Retry-After on 429');
  t.equal(responses('/v1/orders', 'post')['503'].headers?.['retry-after']?.required, false, 'on some 503s');
  t.equal(responses('/v1/orders', 'get')['401'].headers?.['www-authenticate']?.required, true, 'WWW-Authenticate on 401');
  t.same(Object.keys(responses('/v1/orders', 'get')['200'].headers ?? {}).sort(), ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'], 'a read has no seq, only the rate limit\'s headers');
  t.equal(responses('/v1/orders', 'get')['200'].headers?.['x-ratelimit-limit']?.required, false, 'which are not sent with the limit off');
  t.equal(responses('/healthz', 'get')['200'].headers, undefined, 'a probe, which the limit does not count, has none');
  // A body that may be null may be left out; one that may not, may not.
  const bodyRequired = (path: string, method: string) => (paths[path][method] as { requestBody?: { required?: boolean } }).requestBody?.required;
  t.equal(bodyRequired('/v1/block-trades/{blockId}/accept', 'post'), false, 'an accept may come without a body');
  t.equal(bodyRequired('/v1/admin/end-of-day', 'post'), false, 'so may an end of day');
  t.equal(bodyRequired('/v1/orders', 'post'), true, 'an order may not');
  // The WebSocket door, which no JSON route describes, is described by hand.
  const ws = paths['/v1/ws']?.get as { responses?: Record<string, { description?: string; content?: unknown }> } | undefined;
  t.same(Object.keys(ws?.responses ?? {}), ['101', '400', '429', '503'], 'GET /v1/ws: the upgrade and its refusals');
  t.match(ws?.responses?.['429']?.description, /TOO_MANY_CONNECTIONS/);
  const post = paths['/v1/orders'].post as { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown>; required?: string[] } }> } };
  const schema = post.requestBody?.content?.['application/json']?.schema;
  t.ok(schema?.properties && ['symbol', 'side', 'type', 'price', 'quantity', 'timeInForce', 'clientOrderId', 'accountId'].every((k) => k in (schema.properties as object)), 'the order body is described');
  t.same([...(schema?.required ?? [])].sort(), ['quantity', 'side', 'symbol', 'type']);
});
