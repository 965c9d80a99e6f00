// Every route declares a schema for its replies, and Fastify serialises with them: a property the
// schema does not list would be dropped without a word, and a value of another type converted. This
// test runs the real exchange over real HTTP with a hook that records each reply object just
// before it is serialised, as JSON.stringify (what Fastify sends without a schema) would write it,
// and checks that the bytes sent are exactly those, for a broad day of calls by every role,
// errors included. It also checks that each reply carries what API.md documents for its route, and
// that /openapi.json describes a success reply and an error reply of every route.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Ajv, type ValidateFunction } from 'ajv';
import { DEMO_MARKETS_FILE } from '../../engine/setup.ts';
import { startExchange } from '../../gateway/exchange.ts';
import { call, expectError, expectOk, KEY_SPECS, type ApiReply, type CallOptions } from '../support/server.ts';

type Api = (method: string, path: string, options?: CallOptions) => Promise<ApiReply>;

interface RecordingServer {
  /** Calls the exchange; the comparison of each JSON reply is an assertion of `t`. */
  on(t: Test): Api;
  /** How many JSON replies were compared with their unserialised form. */
  compared(): number;
  /** How many JSON replies were found valid against /openapi.json. */
  validated(): number;
  /** Why a settlement report's rows are not valid against the document's schema of that report, or null. */
  reportValid(name: string, rows: unknown): string | null;
  close(): Promise<void>;
}

/**
 * The exchange as test/support/server.ts starts it, plus a preSerialization hook (added before it
 * listens, so it runs on every route) that keeps JSON.stringify of each reply object by request id.
 * `on(t)` calls it and checks every JSON reply against that: same text, byte for byte.
 */
async function startRecording(options: { rateLimit?: number; now?: () => number } = {}): Promise<RecordingServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cx-replies-'));
  const exchange = await startExchange({
    dataDir, marketsFile: DEMO_MARKETS_FILE, keys: KEY_SPECS, rateLimit: options.rateLimit ?? 0, now: options.now, snapshotEvery: 0,
  });
  const unserialised = new Map<string, string>();
  exchange.app.addHook('preSerialization', async (req, reply, payload: unknown) => {
    unserialised.set(req.id, JSON.stringify(payload));
    reply.header('x-test-request', req.id);
    return payload;
  });
  const base = `http://127.0.0.1:${new URL(await exchange.listen(0, '127.0.0.1')).port}`;
  let compared = 0;
  let validated = 0;
  // The document as a client generator reads it: every JSON reply must be valid against its route's
  // schema there, `required` lists included (so a property it lists is never left out).
  const doc = (await call(base, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };
  const templates = Object.keys(doc.paths).map((path) => ({ path, pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  const validators = new Map<string, ValidateFunction | null>();
  const documented = (method: string, path: string, status: number): ValidateFunction | null => {
    const url = path.split('?')[0];
    // A fixed path before one with a parameter (/v1/orders/x is not /v1/orders/{orderId} when both match).
    const template = templates.filter((c) => c.pattern.test(url)).sort((a, b) => a.path.split('{').length - b.path.split('{').length)[0]?.path;
    const id = `${method} ${template} ${status}`;
    if (!validators.has(id)) {
      const schema = template === undefined ? undefined : doc.paths[template][method.toLowerCase()]?.responses[String(status)]?.content?.['application/json']?.schema;
      validators.set(id, schema === undefined ? null : ajv.compile(schema));
    }
    return validators.get(id)!;
  };
  /** A settlement report's rows against the document's schema for that report (its `title` in the reply's anyOf). */
  const reportValid = (name: string, rows: unknown): string | null => {
    const schema = doc.paths['/v1/settlement/{date}/{report}']?.get?.responses['200']?.content?.['application/json']?.schema as { anyOf?: { title?: string }[] } | undefined;
    const own = schema?.anyOf?.find((s) => s.title === name);
    if (own === undefined) return `no schema for the report ${name}`;
    const valid = ajv.compile(own);
    return valid(rows) ? null : ajv.errorsText(valid.errors);
  };
  return {
    reportValid,
    on: (t) => async (method, path, o = {}) => {
      const r = await call(base, method, path, o);
      const what = `${method} ${path} → ${r.status}`;
      const id = r.headers.get('x-test-request');
      const json = /json/.test(r.headers.get('content-type') ?? '');
      // A settlement report is the file's text, sent as it is, and a closed day's orders or fills the
      // JSON the past days' thread made (checked against the document below all the same); every
      // other JSON reply is an object serialised.
      const madeElsewhere = id === null && r.status === 200 && /^\/v1\/(orders|fills)\?(.*&)?date=/.test(path);
      if (json && id === null && !madeElsewhere && !/^\/v1\/settlement\/[^/]+\/[^/?]+/.test(path)) t.fail(`${what}: a JSON reply that did not pass the hook`);
      if (json && madeElsewhere) {
        const valid = documented(method, path, r.status);
        if (valid === null || !valid(r.body)) t.fail(`${what}: the reply is valid against /openapi.json: ${valid === null ? 'undocumented' : ajv.errorsText(valid.errors)}`);
        else validated++;
      }
      if (json && id !== null) {
        // (Not the document itself, which it hides, nor a path no route has.)
        const routeless = r.body?.error?.code === 'NOT_FOUND' || r.body?.error?.code === 'METHOD_NOT_ALLOWED';
        if (path !== '/openapi.json' && !routeless) {
          const valid = documented(method, path, r.status);
          t.ok(valid !== null, `${what}: /openapi.json describes the reply`);
          if (valid !== null && !valid(r.body)) t.fail(`${what}: the reply is valid against /openapi.json: ${ajv.errorsText(valid.errors)}`);
          else validated++;
        }
        const plain = unserialised.get(id);
        unserialised.delete(id);
        compared++;
        if (r.text !== plain) {
          t.equal(r.text, plain, `${what}: the reply is what the handler returned, nothing dropped or converted`);
          t.same(JSON.parse(r.text), JSON.parse(plain ?? 'null'), `${what}: deep-equal to what the handler returned`);
        } else {
          t.pass(`${what}: the reply is what the handler returned`);
        }
      }
      return r;
    },
    compared: () => compared,
    validated: () => validated,
    async close() {
      await exchange.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let clock = Date.parse('2026-03-10T10:00:00+08:00');
const s = await startRecording({ now: () => clock });
t.teardown(() => s.close());
const DAY = '2026-03-10';
const orderOf = (api: Api) => (key: string, body: Record<string, unknown>) => api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });

/** Asserts that a JSON object carries every key named (API.md's fields for the route). */
function hasKeys(t: Test, value: unknown, keys: readonly string[], what: string): void {
  const missing = value !== null && typeof value === 'object' ? keys.filter((k) => !(k in (value as object))) : [...keys];
  t.same(missing, [], `${what}: has ${keys.join(', ')}`);
}

const INSTRUMENT_KEYS = ['symbol', 'name', 'venue', 'kind', 'vintage', 'tick', 'lot', 'status', 'prevClose', 'referencePrice', 'listedBand', 'blockBand'];
const ORDER_KEYS = ['orderId', 'clientOrderId', 'accountId', 'symbol', 'side', 'type', 'timeInForce', 'price', 'quantity', 'filledQuantity', 'remainingQuantity', 'avgPrice', 'status', 'reason', 'time'];
const FILL_KEYS = ['tradeId', 'orderId', 'blockId', 'accountId', 'symbol', 'side', 'mode', 'price', 'quantity', 'amount', 'fee', 'time'];
const BLOCK_KEYS = ['blockId', 'symbol', 'status', 'proposerAccountId', 'side', 'counterpartyAccountId', 'price', 'quantity', 'termsBy', 'inReplyTo', 'reason', 'time'];
const TICKER_KEYS = [
  'symbol', 'status', 'open', 'high', 'low', 'last', 'close', 'prevClose', 'changePct', 'vwap', 'listedVolume', 'listedTurnover', 'blockVolume', 'blockTurnover',
  'auctionVolume', 'auctionTurnover', 'volume', 'turnover', 'cumulativeVolume', 'cumulativeTurnover', 'bandLow', 'bandHigh',
];
const ids: Record<string, string> = {};

t.test('market data: every field of API.md, before and after trades', async (t) => {
  const api = s.on(t);
  const list = await api('GET', '/v1/instruments');
  expectOk(t, list, 200, 'instruments');
  for (const i of list.body) hasKeys(t, i, INSTRUMENT_KEYS, `instrument ${i.symbol}`);
  t.ok(list.body.every((i: { vintage: unknown }) => i.vintage === null || Number.isInteger(i.vintage)), 'vintage: a year or null');
  const one = await api('GET', '/v1/instruments/CEA24');
  hasKeys(t, one.body, INSTRUMENT_KEYS, 'one instrument');
  hasKeys(t, one.body.listedBand, ['low', 'high', 'pct'], 'listed band');
  expectError(t, await api('GET', '/v1/instruments/NOPE1'), 404, 'UNKNOWN_INSTRUMENT');
  expectError(t, await api('GET', '/v1/instruments/bad!'), 400, 'INVALID_REQUEST');

  const book = await api('GET', '/v1/instruments/CEA24/book');
  t.same(book.body, { symbol: 'CEA24', seq: book.body.seq, bids: [], asks: [] }, 'an empty book');
  const ticker = await api('GET', '/v1/instruments/CEA24/ticker');
  hasKeys(t, ticker.body, TICKER_KEYS, 'ticker');
  t.match(ticker.body, { open: null, high: null, low: null, last: null, close: null, vwap: null, changePct: '0.00' }, 'no trade yet: the prices are null, not ""');
  t.same((await api('GET', '/v1/instruments/CEA24/trades')).body, []);
  t.same((await api('GET', '/v1/instruments/CEA24/klines')).body, []);
  expectError(t, await api('GET', '/v1/instruments/CEA24/klines?interval=2m'), 400, 'INVALID_REQUEST');
  expectError(t, await api('GET', '/v1/instruments/NOPE1/ticker'), 404, 'UNKNOWN_INSTRUMENT');
});

t.test('trading: orders, fills, the account; their errors', async (t) => {
  const api = s.on(t);
  const order = orderOf(api);
  const buy = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.50', quantity: 1000, clientOrderId: 'buy-1' });
  expectOk(t, buy, 201, 'buy');
  hasKeys(t, buy.body, ['order', 'fills', 'duplicate'], 'POST /v1/orders');
  hasKeys(t, buy.body.order, ORDER_KEYS, 'the order');
  ids.buy = buy.body.order.orderId;
  const again = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.50', quantity: 1000, clientOrderId: 'buy-1' });
  t.match(again.body, { order: { orderId: ids.buy }, duplicate: true }, 'a repeat');
  expectError(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.40', quantity: 1000, clientOrderId: 'buy-1' }), 409, 'CLIENT_ORDER_ID_REUSED');
  expectError(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '64.00', quantity: 10 }), 422, 'PRICE_OUT_OF_BAND');
  expectError(t, await order('M1', { accountId: 'M2-C1', side: 'buy', price: '57.00', quantity: 10 }), 403, 'ACCOUNT_NOT_OWNED');
  expectError(t, await order('M1', { side: 'buy', price: '57.00', quantity: 10 }), 400, 'ACCOUNT_REQUIRED');
  expectError(t, await order('M1', { accountId: 'M1-C1', symbol: 'NOPE1', side: 'buy', price: '57.00', quantity: 10 }), 404, 'UNKNOWN_INSTRUMENT');

  const sell = await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.40', quantity: 600 });
  expectOk(t, sell, 201, 'sell');
  t.equal(sell.body.fills.length, 1, 'the sell traded');
  hasKeys(t, sell.body.fills[0], ['tradeId', 'price', 'quantity', 'fee', 'time'], 'the fill of an order');
  t.match(sell.body.order, { status: 'filled', avgPrice: '57.50', remainingQuantity: 0 });

  const open = await api('GET', '/v1/orders?status=open', { key: 'M1' });
  expectOk(t, open, 200, 'open orders');
  for (const o of open.body) hasKeys(t, o, ORDER_KEYS, 'an open order');
  const all = await api('GET', '/v1/orders?status=all', { key: 'M2' });
  for (const o of all.body) hasKeys(t, o, ORDER_KEYS, 'a finished order');
  expectError(t, await api('GET', '/v1/orders?accountId=M2-C1', { key: 'M1' }), 403, 'ACCOUNT_NOT_OWNED');
  const got = await api('GET', `/v1/orders/${ids.buy}`, { key: 'M1' });
  t.match(got.body, { orderId: ids.buy, status: 'partially_filled', filledQuantity: 600, remainingQuantity: 400 });
  expectError(t, await api('GET', '/v1/orders/987654', { key: 'M1' }), 404, 'UNKNOWN_ORDER');

  const patched = await api('PATCH', `/v1/orders/${ids.buy}`, { key: 'M1', body: { quantity: 900 } });
  expectOk(t, patched, 200, 'modify');
  hasKeys(t, patched.body, ['order', 'fills', 'duplicate'], 'PATCH /v1/orders/:id');
  expectError(t, await api('PATCH', `/v1/orders/${ids.buy}`, { key: 'M1', body: { quantity: 900 } }), 409, 'NO_CHANGE');
  const cancelled = await api('DELETE', `/v1/orders/${ids.buy}`, { key: 'M1' });
  expectOk(t, cancelled, 200, 'cancel');
  hasKeys(t, cancelled.body.order, ORDER_KEYS, 'the cancelled order');
  expectError(t, await api('DELETE', `/v1/orders/${ids.buy}`, { key: 'M1' }), 409, 'ORDER_NOT_OPEN');

  const fills = await api('GET', '/v1/fills', { key: 'M1' });
  expectOk(t, fills, 200, 'fills');
  for (const f of fills.body) hasKeys(t, f, FILL_KEYS, 'a fill');
  t.match(fills.body, [{ orderId: ids.buy, blockId: null, amount: '34500.00' }]);
  expectError(t, await api('GET', '/v1/fills?date=2001-01-01', { key: 'M1' }), 404, 'UNKNOWN_DAY');

  const acct = await api('GET', '/v1/account?accountId=M1-C1', { key: 'M1' });
  expectOk(t, acct, 200, 'account');
  hasKeys(t, acct.body, ['accountId', 'member', 'class', 'allocation', 'venues', 'restriction', 'cash', 'holdings'], 'the account');
  hasKeys(t, acct.body.cash, ['available', 'frozen'], 'cash');
  for (const h of acct.body.holdings) hasKeys(t, h, ['symbol', 'available', 'frozen', 'pending', 'openBuy', 'cap', 'largeHolderThreshold', 'largeHolder'], `holding ${h.symbol}`);
  expectError(t, await api('GET', '/v1/account?accountId=M2-C1', { key: 'M1' }), 403, 'ACCOUNT_NOT_OWNED');

  // The market data now has a trade.
  const trades = await api('GET', '/v1/instruments/CEA24/trades');
  for (const tr of trades.body) hasKeys(t, tr, ['tradeId', 'price', 'quantity', 'mode', 'aggressor', 'time'], 'a public trade');
  t.match(trades.body, [{ mode: 'listed', aggressor: 'sell' }]);
  const ticker = await api('GET', '/v1/instruments/CEA24/ticker');
  t.match(ticker.body, { open: '57.50', last: '57.50', close: null, vwap: '57.50', listedVolume: 600 });
  const klines = await api('GET', '/v1/instruments/CEA24/klines?interval=1m');
  for (const k of klines.body) hasKeys(t, k, ['openTime', 'open', 'high', 'low', 'close', 'volume', 'turnover'], 'a bar');
  await order('M3', { accountId: 'M3-C1', side: 'sell', price: '58.00', quantity: 10 });
  const book = await api('GET', '/v1/instruments/CEA24/book?depth=5');
  t.same(book.body.asks, [['58.00', 10, 1]], 'a level is [price, quantity, orders]');
});

t.test('block trades: propose, counter, accept; reject; withdraw; the list', async (t) => {
  const api = s.on(t);
  const p = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  expectOk(t, p, 201, 'propose');
  hasKeys(t, p.body, ['blockId', 'status', 'block', 'trade'], 'POST /v1/block-trades');
  hasKeys(t, p.body.block, BLOCK_KEYS, 'the proposal');
  t.match(p.body, { status: 'proposed', trade: null });
  const id = p.body.blockId;
  const c = await api('POST', `/v1/block-trades/${id}/counter`, { key: 'M2', body: { price: '56.80', quantity: 100000, accountId: 'M2-C1' } });
  t.match(c.body, { blockId: id, status: 'countered', trade: null });
  expectError(t, await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M2', body: {} }), 409, 'NOT_YOUR_TURN');
  const a = await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M1', body: {} });
  expectOk(t, a, 200, 'accept');
  hasKeys(t, a.body.trade, ['tradeId', 'price', 'quantity', 'buyFee', 'sellFee'], 'the block trade');
  expectError(t, await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 1000 } }), 422, 'BLOCK_TOO_SMALL');

  const r = await api('POST', '/v1/block-trades', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 100000, counterpartyAccountId: 'M3-C1' } });
  const rejected = await api('POST', `/v1/block-trades/${r.body.blockId}/reject`, { key: 'M3' });
  t.match(rejected.body, { status: 'rejected', block: { status: 'rejected' }, trade: null });
  const w = await api('POST', '/v1/block-trades', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'sell', price: '57.20', quantity: 100000 } });
  t.match(w.body.block, { counterpartyAccountId: null, inReplyTo: null });
  const withdrawn = await api('DELETE', `/v1/block-trades/${w.body.blockId}`, { key: 'M3' });
  t.match(withdrawn.body, { status: 'withdrawn' });
  expectError(t, await api('DELETE', `/v1/block-trades/${w.body.blockId}`, { key: 'M3' }), 409, 'BLOCK_NOT_OPEN');
  expectError(t, await api('POST', '/v1/block-trades/99999/reject', { key: 'M3' }), 404, 'UNKNOWN_BLOCK');
  const mine = await api('GET', '/v1/block-trades', { key: 'M3' });
  expectOk(t, mine, 200, 'the list');
  t.ok(mine.body.length >= 2, 'M3 sees its proposals');
  for (const b of mine.body) hasKeys(t, b, BLOCK_KEYS, 'a listed proposal');
  const fills = await api('GET', '/v1/fills', { key: 'M2' });
  t.match(fills.body.find((f: { mode: string }) => f.mode === 'block'), { blockId: id, orderId: null });
});

t.test('risk officer: every route, and the audit trail with its free-form fields', async (t) => {
  const api = s.on(t);
  const order = orderOf(api);
  const band = await api('PATCH', '/v1/risk/instruments/CEA25', { key: 'risk', body: { referencePrice: '60.00', reason: 'reference reset' } });
  expectOk(t, band, 200, 'instrument');
  hasKeys(t, band.body, ['instrument', 'cancelledOrders', 'cancelled', 'withdrawnBlocks'], 'PATCH /v1/risk/instruments/:symbol');
  hasKeys(t, band.body.instrument, INSTRUMENT_KEYS, 'its instrument');
  expectError(t, await api('PATCH', '/v1/risk/instruments/NOPE1', { key: 'risk', body: { listedBandPct: '5', reason: 'x' } }), 404, 'UNKNOWN_INSTRUMENT');
  t.same((await api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: 'drill' } })).body, { status: 'halted', reason: 'drill' });
  expectError(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 10 }), 503, 'MARKET_HALTED');
  t.same((await api('POST', '/v1/risk/market/resume', { key: 'risk', body: { reason: 'drill over' } })).body, { status: 'trading', reason: 'drill over' });

  t.same((await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual', maxQuantity: 1000, reason: 'cap' } })).body,
    { symbol: 'CEA24', accountClass: 'individual', accountId: null, maxQuantity: 1000, plusAllocation: false, cancelled: [], withdrawnBlocks: [], withdrawnBids: [], cancelledAuctions: [] }, 'a cap: maxQuantity kept');
  t.same((await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual', maxQuantity: null, reason: 'lifted' } })).body,
    { symbol: 'CEA24', accountClass: 'individual', accountId: null, maxQuantity: null, plusAllocation: false, cancelled: [], withdrawnBlocks: [], withdrawnBids: [], cancelledAuctions: [] }, 'a removed cap: null, not 0');
  t.same((await api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-C1', quantity: 180000, reason: 'watch list' } })).body,
    { symbol: 'CEA24', accountClass: null, accountId: 'M3-C1', quantity: 180000, plusAllocation: false, alerts: [] }, 'a threshold: quantity kept; at it is not over it');
  const lowered = await api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CCER', accountClass: 'institution', quantity: 100000, reason: 'review' } });
  expectOk(t, lowered, 200, 'a threshold below what institutions hold');
  t.equal(lowered.body.alerts.length, 2, 'two institutions hold more');
  t.match(lowered.body.alerts, [
    { accountId: 'M1-I1', symbol: 'CCER', holding: 120000, threshold: 100000, dueDate: /^\d{4}-\d{2}-\d{2}$/ },
    { accountId: 'M3-I2', symbol: 'CCER', holding: 200000, threshold: 100000, dueDate: /^\d{4}-\d{2}-\d{2}$/ },
  ], 'answered with the alerts it raised, in account id order');
  t.same(lowered.body.alerts.map((a: { accountId: string }) => a.accountId), (await api('GET', '/v1/risk/large-holders?symbol=CCER', { key: 'risk' })).body.map((h: { accountId: string }) => h.accountId), 'the same accounts the large-holder list shows');
  expectError(t, await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual' } }), 400, 'INVALID_REQUEST');

  // M3-C1 sold 10 above; buying 20 takes it over its threshold of 180,000.
  await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.10', quantity: 20 });
  t.match((await order('M3', { accountId: 'M3-C1', side: 'buy', price: '57.10', quantity: 20 })).body.order, { status: 'filled' });
  const holders = await api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' });
  expectOk(t, holders, 200, 'large holders');
  t.equal(holders.body.length, 1, 'M3-C1 is a large holder');
  hasKeys(t, holders.body[0], ['accountId', 'symbol', 'holding', 'threshold', 'since', 'dueDate', 'filed', 'overdue'], 'a large holder');
  t.match(holders.body[0], { filed: null, overdue: false });
  const acct = await api('GET', '/v1/account?accountId=M3-C1', { key: 'M3' });
  const lh = acct.body.holdings.find((h: { symbol: string }) => h.symbol === 'CEA24').largeHolder;
  hasKeys(t, lh, ['since', 'holding', 'threshold', 'dueDate', 'filed', 'overdue'], "the holding's large-holder status");
  const filed = await api('POST', '/v1/large-holder-reports', { key: 'M3', body: { symbol: 'CEA24', accountId: 'M3-C1', text: 'Building a position.' } });
  expectOk(t, filed, 201, 'file the report');
  hasKeys(t, filed.body, ['accountId', 'symbol', 'holding', 'threshold', 'dueDate', 'filed', 'time'], 'the filed report');
  expectError(t, await api('POST', '/v1/large-holder-reports', { key: 'M3', body: { symbol: 'CEA24', accountId: 'M3-C1', text: 'again' } }), 409, 'REPORT_NOT_DUE');

  t.same((await api('PATCH', '/v1/risk/accounts/M1-P1', { key: 'risk', body: { restriction: 'no_buy', reason: 'inquiry' } })).body, { accountId: 'M1-P1', restriction: 'no_buy', cancelled: [], withdrawnBlocks: [], withdrawnBids: [], cancelledAuctions: [] });
  expectError(t, await api('PATCH', '/v1/risk/accounts/NOBODY-1', { key: 'risk', body: { restriction: 'none', reason: 'x' } }), 404, 'UNKNOWN_ACCOUNT');
  const proposal = await api('POST', '/v1/block-trades', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  expectOk(t, proposal, 201, 'a block proposal of M3-C1');
  const cancelAll = await api('POST', '/v1/risk/accounts/M3-C1/cancel-all', { key: 'risk', body: { reason: 'client request' } });
  expectOk(t, cancelAll, 200, 'cancel-all');
  t.ok(cancelAll.body.cancelled.length >= 1 && cancelAll.body.cancelled.every((x: unknown) => typeof x === 'string'), 'the ids of the cancelled orders, as strings');
  t.same(cancelAll.body.withdrawnBlocks, [proposal.body.blockId], 'and of the block proposals withdrawn with them');
  const withdrawn = (await api('GET', '/v1/block-trades?status=withdrawn', { key: 'M2' })).body as { blockId: string; reason: string }[];
  t.match(withdrawn.find((b) => b.blockId === proposal.body.blockId), { status: 'withdrawn', reason: 'cancelled_by_exchange' }, 'the counterparty sees it withdrawn, not the control on the other party\'s account');

  const audit = await api('GET', '/v1/risk/audit', { key: 'risk' });
  expectOk(t, audit, 200, 'audit');
  for (const e of audit.body) hasKeys(t, e, ['seq', 'time', 'who', 'action', 'what', 'why', 'outcome', 'duplicateOf', 'error'], `audit entry ${e.seq}`);
  const cap = audit.body.find((e: { action: string; why: string }) => e.action === 'setPositionCap' && e.why === 'cap');
  t.same(cap?.what, { symbol: 'CEA24', accountClass: 'individual', accountId: null, maxQuantity: 1000, plusAllocation: false }, "what: every field of the command, in the API's words");
  const lifted = audit.body.find((e: { action: string; why: string }) => e.action === 'setPositionCap' && e.why === 'lifted');
  t.same(lifted?.what, { symbol: 'CEA24', accountClass: 'individual', accountId: null, maxQuantity: null, plusAllocation: false }, 'a removal shows its null');
  const refused = audit.body.find((e: { outcome: string }) => e.outcome === 'refused');
  t.match(refused, { error: { code: String, message: String } }, 'a refused command carries its error');
  t.ok(audit.body.some((e: { outcome: string; error: unknown }) => e.outcome === 'done' && e.error === null), 'a done command: error null');
});

t.test('operator: accounts, transfers, a listing, the end of day and the settlement', async (t) => {
  const api = s.on(t);
  const created = await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M2-N1', member: 'M2', class: 'institution' } });
  t.same(created.body, { accountId: 'M2-N1', member: 'M2', class: 'institution', allocation: 0, venues: null }, 'the account as opened');
  // Venues as given (in order), and null taken as the answer shows it: every venue the class is admitted to.
  const withVenues = await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M2-N2', member: 'M2', class: 'compliance', allocation: 5000, venues: ['HBEA', 'CEA'] } });
  t.same(withVenues.body, { accountId: 'M2-N2', member: 'M2', class: 'compliance', allocation: 5000, venues: ['CEA', 'HBEA'] });
  t.match((await api('GET', '/v1/account?accountId=M2-N2', { key: 'M2' })).body, { allocation: 5000, venues: ['CEA', 'HBEA'] }, 'the account view shows them too');
  expectOk(t, await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M2-N3', member: 'M2', class: 'individual', venues: null } }), 201, 'venues: null');
  expectError(t, await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M2-N1', member: 'M2', class: 'institution' } }), 409, 'ACCOUNT_EXISTS');
  const cashIn = await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M2-N1', cash: '1000.50' } });
  t.same(cashIn.body, { accountId: 'M2-N1', cash: { available: '1000.50', frozen: '0.00' }, holding: null, ref: `S${cashIn.body.ref.slice(1)}`, reference: null, duplicate: false });
  t.match(cashIn.body.ref, /^S[1-9][0-9]*$/, 'the transfer as the statements name it');
  const tonnes = await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M2-N1', symbol: 'CEA24', quantity: 300 } });
  expectOk(t, tonnes, 201, 'deposit tonnes');
  t.same(tonnes.body, { accountId: 'M2-N1', cash: { available: '1000.50', frozen: '0.00' }, holding: { symbol: 'CEA24', available: 300, frozen: 0, pending: 0 }, ref: tonnes.body.ref, reference: null, duplicate: false });
  t.ok(Number(tonnes.body.ref.slice(1)) > Number(cashIn.body.ref.slice(1)), 'a later transfer, a later S<seq>');
  const cashOut = await api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M2-N1', cash: '0.50', reference: 'BK-0042' } });
  t.same(cashOut.body, { accountId: 'M2-N1', cash: { available: '1000.00', frozen: '0.00' }, holding: null, ref: cashOut.body.ref, reference: 'BK-0042', duplicate: false });
  expectError(t, await api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M2-N1', cash: '5000.00' } }), 422, 'INSUFFICIENT_FUNDS');
  expectError(t, await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'NOBODY-1', cash: '1.00' } }), 404, 'UNKNOWN_ACCOUNT');

  const profile = JSON.parse(readFileSync(new URL('../../markets/venues/hbea.json', import.meta.url), 'utf8'));
  const listed = await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'HBEA2', name: 'Hubei, second line', vintage: null, profile, listingPrice: '41.00' } });
  expectOk(t, listed, 201, 'list');
  hasKeys(t, listed.body, INSTRUMENT_KEYS, 'the listed instrument');
  t.equal(listed.body.vintage, null, 'vintage null, not 0');
  expectError(t, await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'HBEA2', profile, listingPrice: '41.00' } }), 409, 'INSTRUMENT_EXISTS');

  expectError(t, await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} }), 409, 'SESSION_OPEN');
  clock = Date.parse('2026-03-10T15:30:00+08:00');
  const eod = await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200, 'end of day');
  hasKeys(t, eod.body, ['date', 'nextDate', 'expiredOrders', 'expiredBlocks', 'instruments', 'settlement'], 'the end-of-day summary');
  for (const i of eod.body.instruments) hasKeys(t, i, ['symbol', 'prevClose', 'close', 'listedVolume', 'blockVolume'], `the close of ${i.symbol}`);
  t.equal(eod.body.settlement, `/v1/settlement/${DAY}`);

  const day = await api('GET', `/v1/settlement/${DAY}`, { key: 'operator' });
  expectOk(t, day, 200, 'settlement');
  hasKeys(t, day.body, ['date', 'totals', 'reports'], 'the settlement day');
  hasKeys(t, day.body.totals, ['tradeCount', 'cashPaid', 'cashReceived', 'fees', 'tonnesBought', 'tonnesSold'], 'its totals');
  expectError(t, await api('GET', '/v1/settlement/2001-01-01', { key: 'operator' }), 404, 'UNKNOWN_DAY');
  for (const { name, href } of day.body.reports as { name: string; href: string }[]) {
    // The report is the file's text, sent as it is: JSON rows, or CSV on request.
    const json = await api('GET', href, { key: 'operator' });
    t.equal(json.status, 200, `${name} as JSON`);
    t.match(json.headers.get('content-type'), /^application\/json/);
    t.ok(Array.isArray(json.body), `${name}: a JSON list`);
    t.ok((json.body as unknown[]).length > 0, `${name}: rows to check`);
    t.equal(s.reportValid(name, json.body), null, `${name}: every row is valid against its schema in /openapi.json`);
    t.equal(json.headers.get('x-test-request'), null, `${name}: text passed through, not serialised`);
    const csv = await api('GET', href, { key: 'operator', headers: { accept: 'text/csv' } });
    t.match(csv.headers.get('content-type'), /^text\/csv/);
    t.match(csv.text, /^date,/, `${name}: CSV with its header`);
  }
  expectError(t, await api('GET', `/v1/settlement/${DAY}/everything`, { key: 'operator' }), 404, 'UNKNOWN_REPORT');
  const past = await api('GET', `/v1/fills?date=${DAY}`, { key: 'M1' });
  t.ok(past.body.length > 0, "the closed day's fills are there");
  for (const f of past.body) hasKeys(t, f, FILL_KEYS, "a closed day's fill");
  const orders = await api('GET', `/v1/orders?date=${DAY}`, { key: 'M1' });
  t.ok(orders.body.length > 0, "and its orders");
  for (const o of orders.body) hasKeys(t, o, ORDER_KEYS, "a closed day's order");
});

t.test('errors from the hooks and the framework keep the error body', async (t) => {
  const api = s.on(t);
  expectError(t, await api('GET', '/v1/orders'), 401, 'UNAUTHENTICATED');
  expectError(t, await api('GET', '/v1/risk/audit', { key: 'M1' }), 403, 'NOT_PERMITTED');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: '{bad' }), 400, 'INVALID_REQUEST');
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: '<order/>', headers: { 'content-type': 'application/xml' } }), 415, 'INVALID_REQUEST', /the body must be JSON, sent with Content-Type: application\/json \(not "application\/xml"\)/);
  expectError(t, await api('POST', '/v1/orders', { key: 'M1', body: JSON.stringify({ symbol: 'x'.repeat(70_000) }) }), 413, 'PAYLOAD_TOO_LARGE');
  expectError(t, await api('GET', '/v1/nowhere'), 404, 'NOT_FOUND');

  const limited = await startRecording({ rateLimit: 2 });
  try {
    const replies: ApiReply[] = [];
    for (let i = 0; i < 4; i++) replies.push(await limited.on(t)('GET', '/v1/instruments/CEA24/book'));
    const over = replies.find((r) => r.status === 429);
    t.ok(over, 'over the limit');
    if (over !== undefined) expectError(t, over, 429, 'RATE_LIMITED', /at most 2/);
    t.ok(limited.compared() >= 4, 'every reply was compared');
  } finally {
    await limited.close();
  }
});

t.test('operations: probes, metrics, the OpenAPI document', async (t) => {
  const api = s.on(t);
  t.same((await api('GET', '/healthz')).body, { status: 'ok' });
  t.same((await api('GET', '/readyz')).body, { status: 'ready' });
  const metrics = await api('GET', '/metrics');
  t.equal(metrics.status, 200);
  t.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4', 'metrics keep their content type');
  t.match(metrics.text, /^# HELP exchange_commands_total/, 'the Prometheus text, as it is');
  t.equal(metrics.headers.get('x-test-request'), null, 'metrics: text passed through, not serialised');

  const warned = await api('POST', '/v1/risk/warnings', { key: 'risk', body: { symbol: 'CEA24', text: 'CEA24 moved 5 % today.' } });
  expectOk(t, warned, 201, 'a risk warning');
  hasKeys(t, warned.body.warning, ['warningId', 'symbol', 'text', 'time'], 'POST /v1/risk/warnings');
  expectOk(t, await api('POST', '/v1/risk/warnings', { key: 'risk', body: { text: 'The whole market.' } }), 201, 'a warning about every instrument');
  const warnings = await api('GET', '/v1/warnings?symbol=CEA24');
  t.same(warnings.body.map((w: { symbol: string | null }) => w.symbol), ['CEA24', null], 'GET /v1/warnings: symbol null kept as null');

  const doc = await api('GET', '/openapi.json');
  t.equal(doc.status, 200, 'the document (compared byte for byte like every JSON reply)');
  const paths = doc.body.paths as Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: any }> }> }>>;
  // The probes take no input, need no key and are never rate-limited: they can only fail with a 5xx.
  const probes = new Set(['/healthz', '/readyz', '/metrics']);
  let routes = 0;
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      routes++;
      const what = `${method.toUpperCase()} ${path}`;
      const statuses = Object.keys(op.responses ?? {});
      // (GET /v1/ws succeeds with 101 Switching Protocols, which has no body.)
      t.ok(statuses.some((s) => /^2/.test(s) || (path === '/v1/ws' && s === '101')), `${what}: a 2xx reply is described (${statuses.join(' ')})`);
      if (probes.has(path)) t.ok(statuses.some((s) => /^5/.test(s)), `${what}: a 5xx reply is described`);
      else t.ok(statuses.some((s) => /^4/.test(s)), `${what}: a 4xx reply is described`);
      for (const status of statuses.filter((s) => s !== '101')) {
        const content = op.responses![status].content;
        t.ok(content !== undefined && Object.values(content).every((c) => c.schema !== undefined), `${what} ${status}: its body has a schema`);
        if (/^[45]/.test(status) && !(path === '/readyz' && status === '503')) {
          t.ok(content?.['application/json']?.schema?.properties?.error, `${what} ${status}: the error body of API.md`);
        }
      }
    }
  }
  t.ok(routes >= 39, `every route is in the document (${routes})`);
  // OpenAPI 3.0's schemas are a subset of JSON Schema: no tuples, no list of types (nullable says
  // null), none of the newer keywords. Strict client generators refuse a document that has them.
  const outside: string[] = [];
  const NOT_OAS30 = ['const', 'prefixItems', '$schema', '$id', 'examples', 'patternProperties', 'dependencies', 'contains', 'propertyNames', 'if', 'then', 'else'];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
    if (typeof node !== 'object' || node === null) return;
    const o = node as Record<string, unknown>;
    if (Array.isArray(o.items)) outside.push(`${where}: a tuple`);
    if (Array.isArray(o.type)) outside.push(`${where}: a list of types`);
    for (const k of NOT_OAS30) if (k in o) outside.push(`${where}: ${k}`);
    for (const [k, v] of Object.entries(o)) {
      if (k === 'properties' && typeof v === 'object' && v !== null) for (const [name, p] of Object.entries(v)) walk(p, `${where}/properties/${name}`);
      else if (k !== 'enum' && k !== 'required' && k !== 'example') walk(v, `${where}/${k}`);
    }
  };
  walk(doc.body.paths, '');
  t.same(outside, [], 'every schema of the document is OpenAPI 3.0');
  t.equal(doc.body.openapi, '3.0.3');
  t.ok(s.compared() > 80, `${s.compared()} JSON replies were compared with what their handlers returned`);
  t.ok(s.validated() > 80, `${s.validated()} JSON replies were valid against /openapi.json`);
});
