// PATCH /v1/admin/accounts/:accountId: an operator changes an account's allocation or venues; caps,
// thresholds and admissions follow at once, what the change forbids ends, and it survives a restart.
import t from 'tap';
import { expectError, expectOk, openSocket, startServer } from '../support/server.ts';

const s = await startServer();
let restarted: Awaited<ReturnType<typeof startServer>> | null = null;
t.teardown(async () => {
  if (restarted !== null) await restarted.close();
  else await s.close();
});
const reason = 'the 2026 allocation issued';

t.test('refusals: role, account, nothing named, a class without allocations, venues, reason', async (t) => {
  const path = '/v1/admin/accounts/M1-C3';
  expectError(t, await s.api('PATCH', path, { key: 'M1', body: { allocation: 1, reason } }), 403, 'NOT_PERMITTED');
  expectError(t, await s.api('PATCH', path, { key: 'risk', body: { allocation: 1, reason } }), 403, 'NOT_PERMITTED');
  expectError(t, await s.api('PATCH', '/v1/admin/accounts/NOBODY-1', { key: 'operator', body: { allocation: 1, reason } }), 404, 'UNKNOWN_ACCOUNT', /NOBODY-1/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { reason } }), 400, 'INVALID_COMMAND', /name the allocation or the venues/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { allocation: 5 } }), 400, 'INVALID_REQUEST', /body\/reason is required/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { allocation: 5, reason: '   ' } }), 400, 'INVALID_COMMAND', /reason is blank/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { allocation: -1, reason } }), 400, 'INVALID_REQUEST', /allocation must be at least 0/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { class: 'institution', reason } }), 400, 'INVALID_REQUEST', /property "class"/);
  expectError(t, await s.api('PATCH', '/v1/admin/accounts/M1-I1', { key: 'operator', body: { allocation: 5, reason } }), 400, 'INVALID_COMMAND', /only compliance accounts have an allocation/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { venues: ['NOPE'], reason } }), [400, 404], 'UNKNOWN_VENUE', /NOPE/);
  expectError(t, await s.api('PATCH', path, { key: 'operator', body: { venues: [], reason } }), 400, 'INVALID_REQUEST');
  const account = await s.api('GET', '/v1/account?accountId=M1-C3', { key: 'operator' });
  t.match(account.body, { allocation: 700000, venues: ['BEA', 'CCER'] }, 'nothing changed');
});

t.test('a lower allocation lowers the caps and thresholds that add it: a buy past the cap ends, the holding is a large holder', async (t) => {
  expectOk(t, await s.api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M1-C3', symbol: 'BEA', quantity: 850000 } }), 201, 'BEA 950,000 t in all');
  const buy = await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C3', symbol: 'BEA', side: 'buy', type: 'limit', price: '70.00', quantity: 60000 } });
  expectOk(t, buy, 201, 'a buy within the cap of 500,000 + 700,000 allocation... 1,700,000');
  const ccer = await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C3', symbol: 'CCER', side: 'buy', type: 'limit', price: '85.00', quantity: 100 } });
  expectOk(t, ccer, 201, 'a CCER buy');
  const before = await s.api('GET', '/v1/account?accountId=M1-C3', { key: 'operator' });
  const bea = (a: { holdings: { symbol: string }[] }) => a.holdings.find((h) => h.symbol === 'BEA') as unknown as { cap: number; largeHolderThreshold: number; largeHolder: unknown };
  t.match(bea(before.body), { cap: 1700000, largeHolderThreshold: 1200000, largeHolder: null });

  const c = await openSocket(s.wsUrl);
  t.teardown(() => c.close());
  c.send({ op: 'subscribe', channels: ['warnings'] });
  await c.next((m) => m.type === 'subscribed');
  const from = c.messages.length;

  const r = await s.api('PATCH', '/v1/admin/accounts/M1-C3', { key: 'operator', body: { allocation: 0, reason } });
  expectOk(t, r, 200, 'allocation 0');
  t.same(r.body, {
    accountId: 'M1-C3', member: 'M1', class: 'compliance', allocation: 0, venues: ['BEA', 'CCER'],
    cancelled: [buy.body.order.orderId], withdrawnBlocks: [], withdrawnBids: [], cancelledAuctions: [],
  }, 'the buy past the new cap of 1,000,000 is cancelled; the CCER buy stays');
  const after = await s.api('GET', '/v1/account?accountId=M1-C3', { key: 'operator' });
  t.match(bea(after.body), { cap: 1000000, largeHolderThreshold: 500000, largeHolder: { holding: 950000, threshold: 500000 } }, 'the holding now passes the threshold');
  t.match((await s.api('GET', `/v1/orders/${buy.body.order.orderId}`, { key: 'M1' })).body, { status: 'cancelled' });
  const alert = await c.next((m) => m.type === 'largeHolder', from);
  t.match(alert, { channel: 'warnings', largeHolder: { accountId: 'M1-C3', symbol: 'BEA' } }, 'BEA publishes large holders: the alert is told');
  const audit = await s.api('GET', '/v1/risk/audit', { key: 'risk' });
  const updates = (audit.body as { action: string; outcome: string }[]).filter((e) => e.action === 'updateAccount');
  t.match(updates.filter((e) => e.outcome === 'done'), [{ who: /^operator:/, what: { accountId: 'M1-C3', allocation: 0 }, why: reason }], 'in the audit trail, with its reason');
  t.ok(updates.filter((e) => e.outcome === 'refused').length >= 5, 'as are the refused ones');
  // One shape per action, whoever sent it: the market set-up's deposits name only what they use.
  const deposits = (audit.body as { action: string; who: string; what: Record<string, unknown> }[]).filter((e) => e.action === 'deposit' && e.what.accountId === 'M1-C3');
  const setupCash = deposits.find((e) => e.who === 'operator:setup' && e.what.cash !== null);
  const setupTonnes = deposits.find((e) => e.who === 'operator:setup' && e.what.symbol === 'BEA');
  const http = deposits.find((e) => e.who !== 'operator:setup');
  t.same(setupCash?.what, { accountId: 'M1-C3', cash: '12000000.00', symbol: null, quantity: null, reference: null }, 'a set-up cash deposit, every field said');
  t.same(setupTonnes?.what, { accountId: 'M1-C3', cash: null, symbol: 'BEA', quantity: 100000, reference: null }, 'a set-up deposit of allowances');
  t.same(Object.keys(http?.what ?? {}).sort(), Object.keys(setupTonnes?.what ?? {}).sort(), 'the same fields as the deposit sent over HTTP');
  const opened = (audit.body as { action: string; who: string; what: Record<string, unknown> }[]).find((e) => e.action === 'createAccount' && e.what.accountId === 'M1-I1');
  t.match(opened?.what, { accountId: 'M1-I1', member: 'M1', class: 'institution', allocation: 0, venues: null }, 'an account opened without an allocation: 0');
});

t.test('venues: leaving one ends the business there and refuses what comes; null admits every venue of the class', async (t) => {
  const open = (await s.api('GET', '/v1/orders?status=open&accountId=M1-C3', { key: 'M1' })).body as { orderId: string; symbol: string }[];
  const ccer = open.find((o) => o.symbol === 'CCER');
  t.ok(ccer !== undefined, 'the CCER buy rests');
  const r = await s.api('PATCH', '/v1/admin/accounts/M1-C3', { key: 'operator', body: { venues: ['BEA'], reason: 'leaves the CCER venue' } });
  expectOk(t, r, 200);
  t.match(r.body, { allocation: 0, venues: ['BEA'], cancelled: [ccer?.orderId] }, 'the allocation stays; the CCER order is cancelled');
  expectError(t, await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C3', symbol: 'CCER', side: 'buy', type: 'limit', price: '85.00', quantity: 100 } }), 403, 'VENUE_NOT_ADMITTED');
  expectError(t, await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C3', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 } }), 403, 'VENUE_NOT_ADMITTED', undefined, 'nor CEA, which it never had');
  const c = await openSocket(s.wsUrl);
  t.teardown(() => c.close());
  c.send({ op: 'subscribe', channels: ['warnings'] });
  await c.next((m) => m.type === 'subscribed');
  const from = c.messages.length;
  const all = await s.api('PATCH', '/v1/admin/accounts/M1-C3', { key: 'operator', body: { venues: null, allocation: 800000, reason: 'admitted everywhere' } });
  t.match(all.body, { allocation: 800000, venues: null, cancelled: [] });
  const left = await c.next((m) => m.type === 'largeHolder', from);
  t.match(left, { largeHolder: { accountId: 'M1-C3', symbol: 'BEA', action: 'left', holding: 950000, threshold: 1300000 } }, 'the raised allocation lifts the threshold over the holding: the large holder is told to have left (its report is still owed)');
  const holders = await s.api('GET', '/v1/large-holders?symbol=BEA');
  t.notOk(JSON.stringify(holders.body).includes('M1-C3'), 'as GET /v1/large-holders no longer lists it');
  expectOk(t, await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C3', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 } }), 201, 'CEA24 is taken now');
});

t.test('the changes are journaled: a restart has them', async (t) => {
  const dataDir = s.dataDir;
  await s.stop();
  restarted = await startServer({ dataDir });
  const a = await restarted.api('GET', '/v1/account?accountId=M1-C3', { key: 'operator' });
  t.match(a.body, { allocation: 800000, venues: null });
  t.match(a.body.holdings.find((h: { symbol: string }) => h.symbol === 'BEA'), { cap: 1800000, largeHolderThreshold: 1300000 });
});
