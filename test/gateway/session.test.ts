// A whole trading day over real HTTP, on a fixed clock (Tuesday 2026-03-10, 10:00 in Beijing, later
// 15:30 for the close): listed orders that trade, with their status, fills, fees, cash and holdings;
// modify, cancel, clientOrderId idempotency; block trades (propose, counter, accept; reject;
// withdraw); the risk officer's band change, halts, caps, restriction, cancel-all, large holders and
// the audit trail; the operator's accounts, transfers, a new listing with the Hubei profile, the end
// of day, the settlement reports as JSON and CSV, and a second end of day refused.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { expectError, expectOk, ISO_TIME, openSocket, startServer, WHO } from '../support/server.ts';

let clock = Date.parse('2026-03-10T10:00:00+08:00');
const s = await startServer({ now: () => clock });
t.teardown(() => s.close());
const api = s.api;
const DAY = '2026-03-10';

const order = (key: string, body: Record<string, unknown>) =>
  api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });
const account = async (key: string, accountId: string) => (await api('GET', `/v1/account?accountId=${accountId}`, { key })).body;
const holding = (acct: { holdings: Record<string, any>[] }, symbol: string) => acct.holdings.find((h) => h.symbol === symbol);

const ids: Record<string, string> = {};

t.test('listed orders trade: status, fills, fees, cash and holdings', async (t) => {
  const buy = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.50', quantity: 1000, clientOrderId: 'buy-1' });
  expectOk(t, buy, 201, 'buy');
  t.match(buy.body, { order: { status: 'new', clientOrderId: 'buy-1', price: '57.50', quantity: 1000, remainingQuantity: 1000, timeInForce: 'DAY', time: '2026-03-10T10:00:00.000+08:00' }, fills: [], duplicate: false });
  ids.buy = buy.body.order.orderId;

  const again = await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.50', quantity: 1000, clientOrderId: 'buy-1' });
  t.ok(again.status === 200 || again.status === 201, `a repeat is answered (${again.status})`);
  t.match(again.body, { order: { orderId: ids.buy }, duplicate: true }, 'a repeat returns the original order id, marked duplicate');
  expectError(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.40', quantity: 1000, clientOrderId: 'buy-1' }), 409, 'CLIENT_ORDER_ID_REUSED', undefined, 'the same clientOrderId with other terms');
  t.equal((await api('GET', '/v1/orders?status=open', { key: 'M1' })).body.length, 1, 'the repeat placed nothing');

  const sell = await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.40', quantity: 600 });
  expectOk(t, sell, 201, 'sell');
  t.match(sell.body, {
    order: { accountId: 'M2-C1', status: 'filled', filledQuantity: 600, remainingQuantity: 0, avgPrice: '57.50' },
    fills: [{ tradeId: String, price: '57.50', quantity: 600, fee: '0.00', time: ISO_TIME }],
  }, 'the sell fills at the resting price');
  ids.trade1 = sell.body.fills[0].tradeId;

  const resting = await api('GET', `/v1/orders/${ids.buy}`, { key: 'M1' });
  t.match(resting.body, { status: 'partially_filled', filledQuantity: 600, remainingQuantity: 400, avgPrice: '57.50' });

  const m1 = await account('M1', 'M1-C1');
  t.same(m1.cash, { available: '49942500.00', frozen: '23000.00' }, 'the buyer paid 600 × 57.50 and froze 400 × 57.50');
  t.match(holding(m1, 'CEA24'), { available: 300000, frozen: 0, pending: 600 }, 'bought today is pending');
  const m2 = await account('M2', 'M2-C1');
  t.same(m2.cash, { available: '80034500.00', frozen: '0.00' }, 'the seller received 34,500.00 at once');
  t.match(holding(m2, 'CEA24'), { available: 449400, frozen: 0 });

  const open = await api('GET', '/v1/orders?status=open', { key: 'M1' });
  t.same(open.body.map((o: { orderId: string }) => o.orderId), [ids.buy], 'GET /v1/orders?status=open');
  const all = await api('GET', '/v1/orders?status=all', { key: 'M2' });
  t.match(all.body, [{ orderId: sell.body.order.orderId, status: 'filled' }], "GET /v1/orders?status=all keeps the day's filled orders");
  const fills = await api('GET', '/v1/fills', { key: 'M1' });
  expectOk(t, fills, 200, 'fills');
  t.match(fills.body, [{ tradeId: ids.trade1, orderId: ids.buy, accountId: 'M1-C1', side: 'buy', mode: 'listed', price: '57.50', quantity: 600, amount: '34500.00', fee: '0.00' }]);

  const trades = await api('GET', '/v1/instruments/CEA24/trades');
  t.match(trades.body, [{ tradeId: ids.trade1, price: '57.50', quantity: 600, mode: 'listed' }]);
  const ticker = await api('GET', '/v1/instruments/CEA24/ticker');
  t.match(ticker.body, { open: '57.50', high: '57.50', low: '57.50', last: '57.50', listedVolume: 600, listedTurnover: '34500.00' });
  const book = await api('GET', '/v1/instruments/CEA24/book?depth=5');
  t.same(book.body.bids, [['57.50', 400, 1]], 'the remainder rests in the book');
  const klines = await api('GET', '/v1/instruments/CEA24/klines?interval=1m');
  t.match(klines.body, [{ openTime: '2026-03-10T10:00:00.000+08:00', open: '57.50', close: '57.50', volume: 600, turnover: '34500.00' }]);
});

t.test('fees: Hubei charges 0.5 % a side, rounded half-up to the fen', async (t) => {
  expectOk(t, await order('M1', { accountId: 'M1-C2', symbol: 'HBEA', side: 'sell', price: '40.67', quantity: 100 }), 201, 'sell HBEA');
  const buy = await order('M2', { accountId: 'M2-P1', symbol: 'HBEA', side: 'buy', price: '40.67', quantity: 100 });
  expectOk(t, buy, 201, 'buy HBEA');
  t.match(buy.body.fills, [{ price: '40.67', quantity: 100, fee: '20.34' }], '4067.00 × 0.5 % = 20.335 → 20.34');
  t.same((await account('M2', 'M2-P1')).cash, { available: '795912.66', frozen: '0.00' }, 'buyer: 800,000 − 4,067.00 − 20.34, nothing left frozen');
  t.same((await account('M1', 'M1-C2')).cash, { available: '8004046.66', frozen: '0.00' }, 'seller: 8,000,000 + 4,067.00 − 20.34');
  const fills = await api('GET', '/v1/fills', { key: 'M2' });
  t.match(fills.body.find((f: { symbol: string }) => f.symbol === 'HBEA'), { side: 'buy', amount: '4067.00', fee: '20.34' });
});

t.test('modify (PATCH) and cancel (DELETE)', async (t) => {
  const repriced = await api('PATCH', `/v1/orders/${ids.buy}`, { key: 'M1', body: { price: '57.30' } });
  expectOk(t, repriced, 200, 'reprice');
  t.match(repriced.body.order, { orderId: ids.buy, price: '57.30', quantity: 1000, filledQuantity: 600, remainingQuantity: 400, status: 'partially_filled' });
  t.same((await account('M1', 'M1-C1')).cash.frozen, '22920.00', 'the freeze follows the new price');
  const reduced = await api('PATCH', `/v1/orders/${ids.buy}`, { key: 'M1', body: { quantity: 900 } });
  expectOk(t, reduced, 200, 'reduce');
  t.match(reduced.body.order, { quantity: 900, remainingQuantity: 300 });
  t.same((await account('M1', 'M1-C1')).cash.frozen, '17190.00');
  t.same((await api('GET', '/v1/instruments/CEA24/book')).body.bids, [['57.30', 300, 1]]);

  const cancelled = await api('DELETE', `/v1/orders/${ids.buy}`, { key: 'M1' });
  expectOk(t, cancelled, 200, 'cancel');
  t.match(cancelled.body.order, { orderId: ids.buy, status: 'cancelled', filledQuantity: 600, remainingQuantity: 0 });
  t.same((await account('M1', 'M1-C1')).cash, { available: '49965500.00', frozen: '0.00' }, 'the cancel released the freeze');
  expectError(t, await api('DELETE', `/v1/orders/${ids.buy}`, { key: 'M1' }), 409, 'ORDER_NOT_OPEN', undefined, 'cancelling again');
  t.same((await api('GET', '/v1/instruments/CEA24/book')).body.bids, [], 'the book is empty');
});

t.test('block trades: propose → counter → accept; reject; withdraw', async (t) => {
  const p = await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100000, counterpartyAccountId: 'M2-C1' } });
  expectOk(t, p, 201, 'propose');
  t.match(p.body, { block: { blockId: String, status: 'proposed', proposerAccountId: 'M1-C1', counterpartyAccountId: 'M2-C1', price: '57.00' } });
  const id = p.body.block.blockId;
  t.match((await account('M1', 'M1-C1')).holdings.find((h: { symbol: string }) => h.symbol === 'CEA24'), { available: 200000, frozen: 100000 }, 'the seller\'s tonnes are frozen');

  const c = await api('POST', `/v1/block-trades/${id}/counter`, { key: 'M2', body: { price: '56.80', quantity: 100000, accountId: 'M2-C1' } });
  expectOk(t, c, 200, 'counter');
  t.match(c.body, { block: { blockId: id, status: 'countered', price: '56.80' }, trade: null });
  expectError(t, await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M2', body: {} }), 409, 'NOT_YOUR_TURN', undefined, 'the one who countered cannot accept');

  const a = await api('POST', `/v1/block-trades/${id}/accept`, { key: 'M1', body: {} });
  expectOk(t, a, 200, 'accept');
  t.match(a.body, { block: { status: 'executed' }, trade: { tradeId: String, price: '56.80', quantity: 100000, buyFee: '0.00', sellFee: '0.00' } });
  ids.blockTrade = a.body.trade.tradeId;
  const m1 = await account('M1', 'M1-C1');
  t.same(m1.cash, { available: '55645500.00', frozen: '0.00' }, 'the seller received 5,680,000.00');
  t.match(holding(m1, 'CEA24'), { available: 200000, frozen: 0 });
  const m2 = await account('M2', 'M2-C1');
  t.same(m2.cash.available, '74354500.00', 'the buyer paid 5,680,000.00');
  t.match(holding(m2, 'CEA24'), { pending: 100000 });
  t.match((await api('GET', '/v1/fills', { key: 'M2' })).body.find((f: { mode: string }) => f.mode === 'block'), { tradeId: ids.blockTrade, blockId: id, side: 'buy', price: '56.80', quantity: 100000 });
  t.match((await api('GET', '/v1/instruments/CEA24/trades')).body[0], { tradeId: ids.blockTrade, mode: 'block', price: '56.80' });
  t.match((await api('GET', '/v1/instruments/CEA24/ticker')).body, { blockVolume: 100000, blockTurnover: '5680000.00', listedVolume: 600 });

  const r = await api('POST', '/v1/block-trades', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 100000, counterpartyAccountId: 'M3-C1' } });
  expectOk(t, r, 201, 'propose to M3');
  const rejected = await api('POST', `/v1/block-trades/${r.body.block.blockId}/reject`, { key: 'M3' });
  expectOk(t, rejected, 200, 'reject');
  t.match(rejected.body, { block: { status: 'rejected' }, trade: null });
  t.same((await account('M2', 'M2-C1')).cash.frozen, '0.00', 'the rejected bid released its cash');

  const w = await api('POST', '/v1/block-trades', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'sell', price: '57.20', quantity: 100000 } });
  expectOk(t, w, 201, 'an open proposal');
  const wid = w.body.block.blockId;
  t.ok((await api('GET', '/v1/block-trades?status=proposed', { key: 'M1' })).body.some((b: { blockId: string }) => b.blockId === wid), 'an open proposal is visible to other members');
  const withdrawn = await api('DELETE', `/v1/block-trades/${wid}`, { key: 'M3' });
  expectOk(t, withdrawn, 200, 'withdraw');
  t.match(withdrawn.body, { block: { status: 'withdrawn' } });
  expectError(t, await api('POST', `/v1/block-trades/${wid}/accept`, { key: 'M2', body: { accountId: 'M2-C1' } }), [404, 409], ['BLOCK_NOT_OPEN', 'UNKNOWN_BLOCK'], undefined, 'accepting a withdrawn proposal');
  const mine = await api('GET', '/v1/block-trades', { key: 'M3' });
  t.same(mine.body.map((b: { status: string }) => b.status).sort(), ['rejected', 'withdrawn']);
});

t.test('risk officer: a narrower band cancels resting orders outside it', async (t) => {
  const high = await order('M3', { accountId: 'M3-C1', side: 'sell', price: '60.00', quantity: 50 });
  const low = await order('M3', { accountId: 'M3-C1', side: 'buy', price: '55.00', quantity: 50 });
  const inside = await order('M1', { accountId: 'M1-I1', side: 'buy', price: '57.00', quantity: 10 });
  const band = await api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '2', reason: 'volatility' } });
  expectOk(t, band, 200, 'band');
  const { low: bandLow, high: bandHigh } = band.body.instrument.listedBand;
  t.ok(Number(bandLow) > 55 && Number(bandHigh) < 60 && Number(bandLow) <= 57 && Number(bandHigh) >= 57.46, `the band is now ${bandLow}–${bandHigh}`);
  t.equal(band.body.cancelledOrders, 2, 'two resting orders fell outside');
  t.same(band.body.cancelled, [high.body.order.orderId, low.body.order.orderId], 'named by id, in id order');
  for (const o of [high, low]) t.match((await api('GET', `/v1/orders/${o.body.order.orderId}`, { key: 'M3' })).body, { status: 'cancelled', reason: 'price_out_of_band' });
  t.match((await api('GET', `/v1/orders/${inside.body.order.orderId}`, { key: 'M1' })).body, { status: 'new' }, 'the order inside stays');
  expectError(t, await order('M3', { accountId: 'M3-C1', side: 'sell', price: '60.00', quantity: 50 }), 422, 'PRICE_OUT_OF_BAND', new RegExp(`${bandLow}.*${bandHigh}`));
  t.match((await api('GET', '/v1/instruments/CEA24/ticker')).body, { bandLow, bandHigh });
  expectOk(t, await api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '10', reason: 'calm again' } }), 200, 'band restored');
  expectOk(t, await api('DELETE', `/v1/orders/${inside.body.order.orderId}`, { key: 'M1' }), 200, 'cancel the inside order');
});

t.test('risk officer: halt and resume an instrument and the market', async (t) => {
  expectOk(t, await api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { status: 'halted', reason: 'technical fault' } }), 200, 'halt CEA24');
  expectError(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 1 }), 503, 'INSTRUMENT_HALTED', /technical fault/);
  t.equal((await api('GET', '/v1/instruments/CEA24')).body.status, 'halted');
  expectOk(t, await order('M1', { accountId: 'M1-C1', symbol: 'CEA25', side: 'buy', price: '59.00', quantity: 1, timeInForce: 'IOC' }), 201, 'another instrument trades on');
  expectOk(t, await api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { status: 'trading', reason: 'fixed' } }), 200, 'resume CEA24');
  t.equal((await api('GET', '/v1/instruments/CEA24')).body.status, 'trading');

  expectOk(t, await api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: 'market-wide drill' } }), 200, 'halt the market');
  expectError(t, await order('M1', { accountId: 'M1-C1', symbol: 'CEA25', side: 'buy', price: '59.00', quantity: 1 }), 503, 'MARKET_HALTED', /market-wide drill/);
  expectOk(t, await api('POST', '/v1/risk/market/resume', { key: 'risk', body: { reason: 'drill over' } }), 200, 'resume the market');
  expectOk(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '57.00', quantity: 1, timeInForce: 'IOC' }), 201, 'orders are taken again');
});

t.test('risk officer: position cap, restriction, cancel-all', async (t) => {
  expectOk(t, await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-I2', maxQuantity: 1000, reason: 'new client' } }), 200, 'cap');
  expectError(t, await order('M3', { accountId: 'M3-I2', side: 'buy', price: '56.00', quantity: 1001 }), 422, 'POSITION_CAP_EXCEEDED');
  const a = await order('M3', { accountId: 'M3-I2', side: 'buy', price: '56.00', quantity: 1000 });
  expectOk(t, a, 201, 'up to the cap');
  expectError(t, await order('M3', { accountId: 'M3-I2', side: 'buy', price: '56.00', quantity: 1 }), 422, 'POSITION_CAP_EXCEEDED', undefined, 'open buys count against the cap');
  t.match(holding(await account('M3', 'M3-I2'), 'CEA24'), { cap: 1000, openBuy: 1000 });
  const lifted = await api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-I2', maxQuantity: null, reason: 'cap lifted' } });
  expectOk(t, lifted, 200, 'cap removed');
  t.equal(holding(await account('M3', 'M3-I2'), 'CEA24')?.cap, null, 'maxQuantity null removes the cap (CEA has no class cap)');
  const b = await order('M3', { accountId: 'M3-I2', side: 'buy', price: '56.10', quantity: 1 });
  expectOk(t, b, 201, 'without the cap');

  const restricted = await api('PATCH', '/v1/risk/accounts/M3-I2', { key: 'risk', body: { restriction: 'no_buy', reason: 'inquiry' } });
  expectOk(t, restricted, 200, 'restrict');
  const resting = [a.body.order?.orderId, b.body.order?.orderId].filter((id) => id !== undefined).sort();
  t.same([...restricted.body.cancelled].sort(), resting, 'no_buy cancels the resting buys');
  for (const id of resting) t.match((await api('GET', `/v1/orders/${id}`, { key: 'M3' })).body, { status: 'cancelled', reason: 'account_restricted' });
  expectError(t, await order('M3', { accountId: 'M3-I2', side: 'buy', price: '56.00', quantity: 1 }), 422, 'ACCOUNT_RESTRICTED', /^account M\S+ is restricted \((no_buy|frozen)\) by the exchange's risk officers$/);
  t.equal((await account('M3', 'M3-I2')).restriction, 'no_buy');
  t.same((await account('M3', 'M3-I2')).cash.frozen, '0.00', 'what the buys froze is released');
  expectOk(t, await api('PATCH', '/v1/risk/accounts/M3-I2', { key: 'risk', body: { restriction: 'none', reason: 'inquiry closed' } }), 200, 'lift');

  const c = await order('M3', { accountId: 'M3-I2', side: 'buy', price: '56.20', quantity: 2 });
  expectOk(t, c, 201, 'a buy after the lift');
  const all = await api('POST', '/v1/risk/accounts/M3-I2/cancel-all', { key: 'risk', body: { reason: 'client request' } });
  expectOk(t, all, 200, 'cancel-all');
  t.same(all.body.cancelled, [c.body.order.orderId]);
  for (const id of all.body.cancelled) t.match((await api('GET', `/v1/orders/${id}`, { key: 'M3' })).body, { status: 'cancelled', reason: 'cancelled_by_risk' });
  t.same((await account('M3', 'M3-I2')).cash.frozen, '0.00');
});

t.test('risk officer: large holders and the report', async (t) => {
  expectOk(t, await api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-C1', quantity: 180000, reason: 'watch list' } }), 200, 'threshold');
  t.same((await api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' })).body, [], 'at the threshold is not over it');
  expectOk(t, await order('M2', { accountId: 'M2-C1', side: 'sell', price: '57.10', quantity: 10 }), 201, 'a seller');
  const buy = await order('M3', { accountId: 'M3-C1', side: 'buy', price: '57.10', quantity: 10 });
  t.match(buy.body.order, { status: 'filled' });
  const list = await api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' });
  expectOk(t, list, 200, 'large holders');
  t.match(list.body, [{ accountId: 'M3-C1', symbol: 'CEA24', holding: 180010, threshold: 180000, since: DAY, dueDate: String, filed: null, overdue: false }]);
  t.ok(list.body[0].dueDate > DAY, 'the report is due on a later trading day');
  t.match(holding(await account('M3', 'M3-C1'), 'CEA24'), { largeHolder: { holding: 180010, threshold: 180000, filed: null, overdue: false } });

  const filed = await api('POST', '/v1/large-holder-reports', { key: 'M3', body: { symbol: 'CEA24', accountId: 'M3-C1', text: 'Building a compliance position for 2025.' } });
  expectOk(t, filed, 201, 'file the report');
  t.match(filed.body, { accountId: 'M3-C1', symbol: 'CEA24', filed: DAY, time: '2026-03-10T10:00:00.000+08:00' }, 'filed on the trading day, at its time');
  t.match((await api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' })).body, [{ accountId: 'M3-C1', filed: DAY }]);
  expectError(t, await api('POST', '/v1/large-holder-reports', { key: 'M3', body: { symbol: 'CEA24', accountId: 'M3-C1', text: 'again' } }), 409, 'REPORT_NOT_DUE');
});

t.test('operator: account, deposits, withdrawals, a new listing with the Hubei profile', async (t) => {
  const created = await api('POST', '/v1/admin/accounts', { key: 'operator', body: { accountId: 'M2-N1', member: 'M2', class: 'institution' } });
  expectOk(t, created, 201, 'create');
  expectOk(t, await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M2-N1', cash: '1000000.00' } }), 201, 'deposit cash');
  expectOk(t, await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M2-N1', symbol: 'CEA24', quantity: 5000 } }), 201, 'deposit tonnes');
  const wd = await api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M2-N1', cash: '250000.50' } });
  expectOk(t, wd, 201, 'withdraw');
  t.same(wd.body.cash, { available: '749999.50', frozen: '0.00' });
  const acct = await account('M2', 'M2-N1');
  t.match(acct, { accountId: 'M2-N1', member: 'M2', class: 'institution', cash: { available: '749999.50' } });
  t.match(holding(acct, 'CEA24'), { available: 5000 });
  expectOk(t, await order('M2', { accountId: 'M2-N1', side: 'sell', price: '60.00', quantity: 100 }), 201, 'the new account trades (and rests until the close)');

  const profile = JSON.parse(readFileSync(new URL('../../markets/venues/hbea.json', import.meta.url), 'utf8'));
  const listed = await api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'HBEA2', name: 'Hubei allowance, second line', vintage: null, profile, listingPrice: '41.00' } });
  expectOk(t, listed, 201, 'list HBEA2');
  t.match(listed.body, { symbol: 'HBEA2', venue: 'HBEA', kind: 'allowance', prevClose: '41.00', listedBand: { low: '36.90', high: '45.10' }, blockBand: { low: '28.70', high: '53.30' } });
  t.ok((await api('GET', '/v1/instruments')).body.some((i: { symbol: string }) => i.symbol === 'HBEA2'), 'listed publicly');
  expectOk(t, await api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-C2', symbol: 'HBEA2', quantity: 20000 } }), 201, 'tonnes to sell');
  expectError(t, await api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C2', symbol: 'HBEA2', side: 'sell', price: '41.00', quantity: 10000 } }), 503, 'MARKET_CLOSED', /13:00/, 'the Hubei block session opens at 13:00');
  expectOk(t, await order('M1', { accountId: 'M1-C2', symbol: 'HBEA2', side: 'sell', price: '41.01', quantity: 100 }), 201, 'sell HBEA2');
  const buy = await order('M2', { accountId: 'M2-P1', symbol: 'HBEA2', side: 'buy', price: '41.01', quantity: 100 });
  t.match(buy.body, { order: { status: 'filled' }, fills: [{ price: '41.01', quantity: 100, fee: '20.51' }] }, '4101.00 × 0.5 % = 20.505 → 20.51');
});

t.test('audit trail: who did what and why', async (t) => {
  const audit = await api('GET', '/v1/risk/audit', { key: 'risk' });
  expectOk(t, audit, 200, 'audit');
  type Entry = { seq: number; who: string; action: string; why: string | null; what: Record<string, unknown> };
  const entries = audit.body as Entry[];
  const find = (action: string, why: string | null) => entries.find((e) => e.action === action && e.why === why);
  for (const [action, why] of [
    ['setInstrument', 'volatility'], ['setInstrumentStatus', 'technical fault'], ['haltMarket', 'market-wide drill'], ['resumeMarket', 'drill over'],
    ['setPositionCap', 'new client'], ['restrictAccount', 'inquiry'], ['cancelAll', 'client request'], ['setLargeHolderThreshold', 'watch list'],
  ] as const) {
    t.match(find(action, why), { who: WHO.risk, time: ISO_TIME }, `${action} (${why}) by the risk officer`);
  }
  t.match(find('setInstrument', 'volatility')?.what, { symbol: 'CEA24', listedBandPct: '2' }, 'what: the band change');
  t.match(find('restrictAccount', 'inquiry')?.what, { accountId: 'M3-I2', restriction: 'no_buy' });
  const ops = entries.filter((e) => e.who === WHO.operator);
  t.same(ops.map((e) => e.action), ['createAccount', 'deposit', 'deposit', 'withdraw', 'listInstrument', 'deposit'], "the operator's actions");
  t.match(ops[3].what, { accountId: 'M2-N1', cash: '250000.50' }, 'money as decimal strings');
  t.same(ops[0].what, { accountId: 'M2-N1', member: 'M2', class: 'institution', allocation: 0, venues: null }, "an account's fields in the API's words (class; the allocation left out, 0)");
  const listing = ops[4].what as { venue: string; profile: unknown };
  t.equal(listing.venue, 'HBEA', "the listing's venue");
  t.same(listing.profile, JSON.parse(readFileSync(new URL('../../markets/venues/hbea.json', import.meta.url), 'utf8')), 'and the whole profile it was listed with');
  const since = entries[entries.length - 3].seq;
  t.same((await api('GET', `/v1/risk/audit?since=${since}`, { key: 'risk' })).body.map((e: Entry) => e.seq), entries.filter((e) => e.seq > since).map((e) => e.seq), '?since= returns what came after');

  // Or from a time: the entries stamped at or after it, a date meaning its midnight at +08:00.
  const seqs = async (query: string) => {
    const r = await api('GET', `/v1/risk/audit?since=${encodeURIComponent(query)}`, { key: 'risk' });
    expectOk(t, r, 200, `since=${query}`);
    return (r.body as Entry[]).map((e) => e.seq);
  };
  // (Everything so far was stamped at 10:00; a warning at 11:00 comes later.)
  clock = Date.parse('2026-03-10T11:00:00+08:00');
  expectOk(t, await api('POST', '/v1/risk/warnings', { key: 'risk', body: { symbol: 'CEA24', text: 'an eleven o\'clock warning' } }), 201, 'a later action');
  const later = await seqs('2026-03-10T11:00:00+08:00');
  t.equal(later.length, 1, '?since=<time>: only the entry stamped from then on');
  t.ok(later[0] > entries[entries.length - 1].seq, 'the eleven o\'clock warning');
  t.same(await seqs('2026-03-10T03:00:00.000Z'), later, 'the same time said in UTC');
  t.same(await seqs('2026-03-10T10:59:59.999+08:00'), later, 'a millisecond before');
  t.same(await seqs('2026-03-10T10:00+08:00'), [...entries.map((e) => e.seq), ...later], 'from 10:00, both');
  t.same(await seqs('2026-03-10'), [...entries.map((e) => e.seq), ...later], "?since=<date>: the whole day's entries");
  t.same(await seqs('2026-03-11'), [], 'none from the next day');
  for (const bad of ['2026-02-30', '2026-02-30T10:00:00+08:00', '2026-03-10T10:00:00', '2026-03-10T25:00:00+08:00', 'yesterday']) {
    expectError(t, await api('GET', `/v1/risk/audit?since=${encodeURIComponent(bad)}`, { key: 'risk' }), 400, 'INVALID_REQUEST', undefined, `since=${bad}`);
  }
});

t.test('end of day, settlement reports, and no second close of the same day', async (t) => {
  expectOk(t, await order('M1', { accountId: 'M1-C1', side: 'buy', price: '56.00', quantity: 100 }), 201, 'an order left open');
  expectError(t, await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} }), 409, 'SESSION_OPEN', /HBEA2.*15:00/, 'before the Hubei session ends');

  const klines = async (interval: string) => (await api('GET', `/v1/instruments/CEA24/klines?interval=${interval}`)).body as Record<string, unknown>[];
  const minuteBars = await klines('1m');
  t.match(await klines('1d'), [{ openTime: '2026-03-10T00:00:00.000+08:00', open: '57.50', close: '57.10', volume: 610 }], "during the day the day's bar closes at its last trade");
  const ws = await openSocket(s.wsUrl);
  t.teardown(() => ws.close());
  ws.send({ op: 'subscribe', channels: ['kline:CEA24:1d', 'kline:HBEA2:1d'] });
  const barSnapshot = await ws.next((m) => m.channel === 'kline:CEA24:1d' && m.type === 'snapshot');
  t.match(barSnapshot.bars, [{ close: '57.10' }]);
  const sameSnapshot = await ws.next((m) => m.channel === 'kline:HBEA2:1d' && m.type === 'snapshot');
  t.match(sameSnapshot.bars, [{ close: '41.01' }], 'HBEA2: one trade, whose price will be the official close too');

  clock = Date.parse('2026-03-10T15:30:00+08:00');
  const eod = await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200, 'end of day');
  // The day's 1d bar takes the official close (MARKET-RULES section 4), not its last trade; the
  // intraday bars keep theirs.
  t.match(await klines('1d'), [{ openTime: '2026-03-10T00:00:00.000+08:00', open: '57.50', high: '57.50', low: '57.10', close: '57.49', volume: 610, turnover: '35071.00' }], "after the day's end the 1d bar closes at the official close");
  t.same(await klines('1m'), minuteBars, 'the 1m bars are unchanged');
  const barUpdate = await ws.next((m) => m.channel === 'kline:CEA24:1d' && m.type === 'update');
  t.match(barUpdate, { seq: Number(barSnapshot.seq) + 1, bar: { openTime: '2026-03-10T00:00:00.000+08:00', close: '57.49', volume: 610 }, closed: true },
    'subscribers get the 1d bar again with the official close, closed: the day has ended before midnight');
  // Also where the official close is the last trade's price: the update is the sign that it is official.
  t.match(await ws.next((m) => m.channel === 'kline:HBEA2:1d' && m.type === 'update'), { seq: Number(sameSnapshot.seq) + 1, bar: { close: '41.01', volume: 100 }, closed: true },
    'a bar whose close the official one leaves as it was is sent again all the same');
  const late = await openSocket(s.wsUrl);
  t.teardown(() => late.close());
  late.send({ op: 'subscribe', channels: ['kline:CEA24:1d'] });
  t.match(await late.next((m) => m.channel === 'kline:CEA24:1d' && m.type === 'snapshot'), { bars: [{ close: '57.49' }], closed: true },
    "a snapshot after the day's end says its bar is closed");
  clock = Date.parse('2026-03-11T00:00:01+08:00');
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(ws.on('kline:CEA24:1d').filter((m) => m.closed === true).length, 1, 'midnight announces no second close of the day');
  t.match(eod.body, { date: DAY, nextDate: '2026-03-11', settlement: `/v1/settlement/${DAY}` });
  t.ok(eod.body.expiredOrders >= 2, `the open orders expired (${eod.body.expiredOrders})`);
  // Listed CEA24: 600 at 57.50 and 10 at 57.10 → VWAP 35,071.00 / 610 = 57.4934 → 57.49.
  t.match(eod.body.instruments.find((i: { symbol: string }) => i.symbol === 'CEA24'), { prevClose: '57.46', close: '57.49', listedVolume: 610, blockVolume: 100000 });
  t.match(eod.body.instruments.find((i: { symbol: string }) => i.symbol === 'HBEA2'), { prevClose: '41.00', close: '41.01', listedVolume: 100 });
  t.match((await api('GET', '/v1/instruments/CEA24')).body, { prevClose: '57.49' }, "the close is tomorrow's reference");
  t.match(holding(await account('M2', 'M2-C1'), 'CEA24'), { pending: 0 }, 'pending tonnes became available');

  const day = await api('GET', `/v1/settlement/${DAY}`, { key: 'operator' });
  expectOk(t, day, 200, 'settlement');
  t.match(day.body, { date: DAY, totals: { tradeCount: 5, fees: '81.70', tonnesBought: 100810, tonnesSold: 100810 } });
  t.equal(day.body.totals.cashPaid, (Number(day.body.totals.cashReceived) + Number(day.body.totals.fees)).toFixed(2), 'cash in = cash out + fees');

  const reports: Record<string, { json: any[]; csv: string }> = {};
  for (const { name, href } of day.body.reports as { name: string; href: string }[]) {
    const json = await api('GET', href, { key: 'operator' });
    t.equal(json.status, 200, `${name} as JSON`);
    t.match(json.headers.get('content-type'), /application\/json/);
    t.ok(Array.isArray(json.body), `${name} is a JSON list`);
    const csv = await api('GET', href, { key: 'operator', headers: { accept: 'text/csv' } });
    t.equal(csv.status, 200, `${name} as CSV`);
    t.match(csv.headers.get('content-type'), /text\/csv/);
    t.match(csv.text.split('\n')[0], /^date,/, `${name}: a CSV header line`);
    reports[name] = { json: json.body, csv: csv.text };
  }
  t.same(Object.keys(reports), ['statements', 'trades', 'market', 'large-holders']);
  const trades = reports.trades.json;
  t.equal(trades.length, 5, 'five trades in the register');
  t.match(trades.find((r) => r.tradeId === ids.trade1), { symbol: 'CEA24', mode: 'listed', price: '57.50', quantity: 600, buyAccountId: 'M1-C1', sellAccountId: 'M2-C1' });
  t.match(trades.find((r) => r.tradeId === ids.blockTrade), { mode: 'block', price: '56.80', quantity: 100000 });
  t.equal(reports.trades.csv.trim().split('\n').length, 6, 'the CSV register: a header and five rows');
  t.match(reports.trades.csv, /,HBEA2,listed,41\.01,100,4101\.00,M2-P1,M1-C2,/);
  t.match(reports.market.json.find((m) => m.symbol === 'CEA24'), { close: '57.49', listedVolume: 610, blockVolume: 100000 });
  t.match(reports['large-holders'].json, [{ accountId: 'M3-C1', symbol: 'CEA24', holding: 180010 }]);
  t.match(reports.statements.json.find((st) => st.accountId === 'M2-N1'), { cash: { withdrawn: '250000.50' } });

  expectError(t, await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: { date: DAY } }), 409, 'DAY_ALREADY_CLOSED', /2026-03-10/);
  expectError(t, await api('POST', '/v1/admin/end-of-day', { key: 'operator', body: { date: '2026-03-12' } }), 409, 'DAY_NOT_STARTED', /2026-03-12 has not begun.*the trading day is 2026-03-11/, 'a day after the trading day: a conflict, not a malformed request');
  const past = await api('GET', `/v1/fills?date=${DAY}`, { key: 'M1' });
  expectOk(t, past, 200, "a closed day's fills");
  t.same(past.body.map((f: { tradeId: string }) => f.tradeId).sort(), trades.filter((r) => r.buyAccountId.startsWith('M1-') || r.sellAccountId.startsWith('M1-')).map((r) => r.tradeId).sort(),
    'the fills name the register\'s trades: ids are strings of digits in both');
  for (const f of past.body as { tradeId: string; orderId: string | null; blockId: string | null; side: string }[]) {
    const row = trades.find((r) => r.tradeId === f.tradeId);
    t.equal(f.side === 'buy' ? row.buyOrderId : row.sellOrderId, f.orderId, `trade ${f.tradeId}: the same order id, by strict equality`);
    t.equal(row.blockId, f.blockId, `trade ${f.tradeId}: the same block id`);
  }

  // The form of a report is negotiated as HTTP has it.
  const trades0 = day.body.reports.find((r: { name: string }) => r.name === 'trades').href;
  const form = async (accept: string) => {
    const r = await api('GET', trades0, { key: 'operator', headers: { accept } });
    return r.status === 200 ? String(r.headers.get('content-type')).split(';')[0] : `${r.status} ${r.body.error?.code}`;
  };
  t.equal(await form('application/json, text/csv;q=0'), 'application/json', 'CSV refused with q=0: JSON');
  t.equal(await form('text/csv;q=0.1, application/json'), 'application/json', 'JSON preferred by q');
  t.equal(await form('TEXT/CSV'), 'text/csv', 'media types are case-insensitive');
  t.equal(await form('text/*'), 'text/csv', 'text/* is CSV');
  t.equal(await form('text/csv, */*'), 'text/csv', 'text/csv named and */* besides: the more specific wins');
  t.equal(await form('*/*'), 'application/json', '*/*: JSON');
  t.equal(await form('application/json;q=0.5, text/csv;q=0.9'), 'text/csv', 'CSV preferred by q');
  t.equal(await form('text/csv; charset=utf-8'), 'text/csv', 'the charset it is sent in, asked for');
  t.equal(await form('application/json;charset=UTF-8'), 'application/json', 'the same for JSON, any case');
  t.equal(await form('text/csv, application/json'), 'text/csv', 'a tie: the one named first');
  t.equal(await form('application/json, text/csv'), 'application/json', 'a tie: the one named first, the other way round');
  t.equal(await form(' '), 'application/json', 'a blank Accept is none');
  t.equal(await form('text/csv; charset=latin1'), '406 NOT_ACCEPTABLE', 'a charset it is not sent in');
  t.equal(await form('application/xml'), '406 NOT_ACCEPTABLE', 'neither form acceptable: 406 with a code');
  expectError(t, await api('GET', '/v1/settlement/2020-01-02/trades', { key: 'operator', headers: { accept: 'application/xml' } }), 404, 'UNKNOWN_DAY', /2020-01-02/, 'an unknown day is said first');
  expectError(t, await api('GET', `/v1/settlement/${day.body.date}/nope`, { key: 'operator' }), 404, 'UNKNOWN_REPORT', /^no report "nope": a day's reports are statements, trades, market, large-holders$/, 'a report that does not exist: 404, naming those there are');
  expectError(t, await api('GET', `/v1/settlement/${day.body.date}/nope`, { key: 'operator', headers: { accept: 'application/xml' } }), 404, 'UNKNOWN_REPORT', undefined, 'before the form is negotiated');
  expectError(t, await api('GET', '/v1/settlement/2020-01-02/nope', { key: 'operator' }), 404, 'UNKNOWN_DAY', /2020-01-02/, 'an unknown day is said before an unknown report');
  t.equal(await form('text/csv;q=0, application/json;q=0'), '406 NOT_ACCEPTABLE', 'both refused: 406');
  // The day's index is JSON only: an Accept that refuses JSON is told so.
  const index = async (accept: string) => (await api('GET', `/v1/settlement/${day.body.date}`, { key: 'operator', headers: { accept } })).status;
  for (const accept of ['application/json', '*/*', 'application/*', 'text/csv, application/json;q=0.1', ' ']) t.equal(await index(accept), 200, `the index with Accept: ${JSON.stringify(accept)}`);
  expectError(t, await api('GET', `/v1/settlement/${day.body.date}`, { key: 'operator', headers: { accept: 'text/csv' } }), 406, 'NOT_ACCEPTABLE', /index is sent as application\/json/, 'the index as CSV');
  t.equal(await index('application/xml'), 406, 'the index as XML');
  expectError(t, await api('GET', '/v1/settlement/2020-01-02', { key: 'operator', headers: { accept: 'text/csv' } }), 404, 'UNKNOWN_DAY', /2020-01-02/, 'an unknown day is said first');
});
