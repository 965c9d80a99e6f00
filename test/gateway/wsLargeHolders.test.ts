// Large-holder alerts over WebSocket (MARKET-RULES section 7), on a real server with real `ws`
// clients: an alert, a filed report and its closing reach the account's member on its `orders` channel (type
// `largeHolder`), and an alert and a closing are market notices on the public `warnings` channel only where the
// venue publishes its large holders (Beijing's profile does, the national market's does not), as is an
// account leaving or rejoining the list of the moment with its report still owed (`left`, `alert`). The
// `warnings` snapshot lists the published large holders of the moment, as GET /v1/large-holders
// does; the risk officer's GET /v1/risk/large-holders has the reports' text. A member's `orders`
// snapshot lists its own accounts' standing alerts.
import t from 'tap';
import { KEYS, seqGaps, startServer, type SocketClient, subscribedSocket } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

const subscribed = (channels: string[], key?: string): Promise<SocketClient> => subscribedSocket(t, s.wsUrl, channels, key);
const threshold = (symbol: string, accountId: string, quantity: number) =>
  s.api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol, accountId, quantity, reason: 'review' } });

t.test('an alert reaches the member, and the market where the venue publishes large holders', async (t) => {
  const market = await subscribed(['warnings']);
  t.same(market.on('warnings')[0].largeHolders, [], 'nobody is published yet');
  const m1 = await subscribed(['orders'], KEYS.M1);
  const m3 = await subscribed(['orders'], KEYS.M3);

  // Beijing (BEA) publishes: M1-C3 holds 100,000 t, over a threshold of 50,000 t set for it.
  const bea = await threshold('BEA', 'M1-C3', 50_000);
  t.equal(bea.status, 200);
  t.match(bea.body.alerts, [{ accountId: 'M1-C3' }]);
  const dueDate = bea.body.alerts[0].dueDate;
  const notice = { accountId: 'M1-C3', symbol: 'BEA', action: 'alert', holding: 100_000, threshold: 50_000, dueDate };
  const onMarket = await market.next((m) => m.channel === 'warnings' && m.type === 'largeHolder');
  t.match(onMarket, { largeHolder: notice });
  const toM1 = await m1.next((m) => m.channel === 'orders' && m.type === 'largeHolder');
  t.match(toM1, { largeHolder: notice });
  t.same(Object.keys(toM1.largeHolder).sort(), ['accountId', 'action', 'dueDate', 'holding', 'symbol', 'threshold', 'time']);

  // The national market does not publish: M3-C1 is told, the market is not.
  const cea = await threshold('CEA24', 'M3-C1', 100_000);
  t.match(cea.body.alerts, [{ accountId: 'M3-C1' }]);
  t.match(await m3.next((m) => m.channel === 'orders' && m.type === 'largeHolder'), {
    largeHolder: { accountId: 'M3-C1', symbol: 'CEA24', action: 'alert', threshold: 100_000 },
  });
  // The next message on warnings is a risk warning posted after it: nothing came between.
  const seqBefore = onMarket.seq as number;
  t.equal((await s.api('POST', '/v1/risk/warnings', { key: 'risk', body: { text: 'volatile session' } })).status, 201);
  const next = await market.next((m) => m.channel === 'warnings' && (m.seq as number) > seqBefore);
  t.match(next, { type: 'warning', seq: seqBefore + 1 }, 'no notice for the national market');
  t.same(m1.on('orders').filter((m) => m.type === 'largeHolder' && m.largeHolder.symbol === 'CEA24'), [], "M3's alert is not M1's");

  // Filing the report: the member hears it; the market is not told again.
  const filed = await s.api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'BEA', accountId: 'M1-C3', text: 'Compliance purchase.' } });
  t.equal(filed.status, 201);
  t.match(await m1.next((m) => m.channel === 'orders' && m.type === 'largeHolder' && m.largeHolder.action === 'filed'), {
    largeHolder: { accountId: 'M1-C3', symbol: 'BEA', action: 'filed', holding: 100_000, threshold: 50_000 },
  });
  t.same(market.on('warnings').filter((m) => m.type === 'largeHolder').length, 1, 'one notice on the market: the alert');

  // A later subscriber's snapshot lists the published large holders (Beijing's), with the report.
  const late = await subscribed(['warnings']);
  t.match(late.on('warnings')[0].largeHolders, [{ accountId: 'M1-C3', symbol: 'BEA', holding: 100_000, threshold: 50_000, dueDate, overdue: false }]);
  t.equal(late.on('warnings')[0].largeHolders.length, 1, 'not the national market\'s');
  t.type(late.on('warnings')[0].largeHolders[0].filed, 'string');
  for (const c of [market, m1, m3, late]) t.same(seqGaps(c.messages), []);

  // Over HTTP: GET /v1/large-holders (public) lists what the snapshot lists, the report's text left
  // out; the risk officer's list has every venue's, with the text the member filed.
  const published = await s.api('GET', '/v1/large-holders');
  t.equal(published.status, 200);
  t.same(published.body, late.on('warnings')[0].largeHolders, 'the public list is the warnings snapshot\'s');
  t.same((await s.api('GET', '/v1/large-holders?symbol=BEA')).body, published.body, 'per instrument');
  t.same((await s.api('GET', '/v1/large-holders?symbol=CEA24')).body, [], 'the national market publishes none');
  t.equal((await s.api('GET', '/v1/large-holders?symbol=NOPE')).status, 404);
  const risk = await s.api('GET', '/v1/risk/large-holders', { key: 'risk' });
  t.match(risk.body, [
    { accountId: 'M1-C3', symbol: 'BEA', report: 'Compliance purchase.' },
    { accountId: 'M3-C1', symbol: 'CEA24', report: null, filed: null },
  ], 'the risk officer reads the report filed, and sees the one still owed');
});

t.test("a member's orders snapshot lists its accounts' standing large-holder alerts, as they stand when it subscribes", async (t) => {
  // (After the test above: M1-C3 over Beijing's threshold, report filed; M3-C1 over the national one, owed.)
  const snapshot = async (key: string) => {
    const c = await subscribed(['orders'], key);
    const snap = c.on('orders')[0];
    await c.close();
    return snap;
  };
  const risk = (await s.api('GET', '/v1/risk/large-holders', { key: 'risk' })).body as { accountId: string; report?: string | null }[];
  const standing = (prefix: string) => risk.filter((h) => h.accountId.startsWith(prefix)).map(({ report: _report, ...h }) => h);
  const m1 = await snapshot(KEYS.M1);
  t.equal(m1.type, 'snapshot');
  t.same(m1.largeHolders, standing('M1-'), "M1's: its account's alert, filed");
  t.match(m1.largeHolders, [{ accountId: 'M1-C3', symbol: 'BEA', threshold: 50_000 }]);
  t.type(m1.largeHolders[0].filed, 'string');
  const m3 = await snapshot(KEYS.M3);
  t.match(m3.largeHolders, [{ accountId: 'M3-C1', symbol: 'CEA24', filed: null, overdue: false }], "M3's: owed, not M1's");
  t.equal(m3.largeHolders.length, 1);
  t.same((await snapshot(KEYS.M2)).largeHolders, [], 'a member over no threshold: none');

  // A deposit moves the holding without an order of the member's: the next snapshot says so.
  const before = m3.largeHolders[0].holding as number;
  t.equal((await s.api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-C1', symbol: 'CEA24', quantity: 1_000 } })).status, 201);
  t.equal((await snapshot(KEYS.M3)).largeHolders[0].holding, before + 1_000, 'the holding as it stands now');
});

t.test('a filed report whose obligation ends is said to be closed, where its alert was told', async (t) => {
  // (After the tests above: M1-C3 over Beijing's threshold, report filed; M3-C1 over the national one, owed.)
  const market = await subscribed(['warnings']);
  const m1 = await subscribed(['orders'], KEYS.M1);
  const m3 = await subscribed(['orders'], KEYS.M3);
  t.equal(market.on('warnings')[0].largeHolders.length, 1, 'M1-C3 is published');

  // A risk officer raises M1-C3's threshold above its holding: the obligation ends.
  t.same((await threshold('BEA', 'M1-C3', 200_000)).body.alerts, []);
  const closed = { accountId: 'M1-C3', symbol: 'BEA', action: 'closed', holding: 100_000, threshold: 200_000 };
  t.match(await market.next((m) => m.channel === 'warnings' && m.type === 'largeHolder'), { largeHolder: closed }, 'the market hears it ended');
  const toM1 = await m1.next((m) => m.channel === 'orders' && m.type === 'largeHolder');
  t.match(toM1, { largeHolder: closed }, 'and so does the member');
  t.same(Object.keys(toM1.largeHolder).sort(), ['accountId', 'action', 'dueDate', 'holding', 'symbol', 'threshold', 'time'], 'the shape of an alert');
  t.same((await s.api('GET', '/v1/large-holders?symbol=BEA')).body, [], 'the public list agrees');
  // Crossing again is a new alert.
  t.match((await threshold('BEA', 'M1-C3', 50_000)).body.alerts, [{ accountId: 'M1-C3' }]);
  t.match(await m1.next((m) => m.channel === 'orders' && m.type === 'largeHolder' && m.largeHolder.action === 'alert'), { largeHolder: { accountId: 'M1-C3', threshold: 50_000 } });
  // Its holding falls back to the threshold with the report still owed: no longer a large holder
  // of the moment (the public list drops it), still owing its report (the risk officers' list).
  t.equal((await s.api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M1-C3', symbol: 'BEA', quantity: 50_000 } })).status, 201);
  t.same((await s.api('GET', '/v1/large-holders?symbol=BEA')).body, [], 'the public list names only holdings over the threshold');
  t.same((await subscribed(['warnings'])).on('warnings')[0].largeHolders, [], 'and so does the warnings snapshot');
  t.match(await market.next((m) => m.channel === 'warnings' && m.type === 'largeHolder' && m.largeHolder.action === 'left'), {
    largeHolder: { accountId: 'M1-C3', symbol: 'BEA', action: 'left', holding: 50_000, threshold: 50_000 },
  }, "the market's followers hear that it left the list");
  t.same(m1.on('orders').filter((m) => m.type === 'largeHolder' && m.largeHolder.action === 'left'), [], 'the member is not told: its report is still owed');
  t.match((await s.api('GET', '/v1/risk/large-holders?symbol=BEA', { key: 'risk' })).body, [{ accountId: 'M1-C3', holding: 50_000, filed: null }], 'the report is still owed');
  // Filed, the obligation ends at once: closed, on both channels.
  t.equal((await s.api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'BEA', accountId: 'M1-C3', text: 'Sold down.' } })).status, 201);
  t.match(await market.next((m) => m.channel === 'warnings' && m.type === 'largeHolder' && m.largeHolder.action === 'closed' && m.largeHolder.holding === 50_000), { largeHolder: { accountId: 'M1-C3', threshold: 50_000 } });
  t.same((await s.api('GET', '/v1/risk/large-holders?symbol=BEA', { key: 'risk' })).body, []);

  // M3-C1 files its report, then its holding falls to the threshold: closed, told to M3 only (the
  // national market does not publish its large holders).
  const owed = (await s.api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' })).body as { accountId: string; holding: number; threshold: number }[];
  const m3c1 = owed.find((h) => h.accountId === 'M3-C1')!;
  t.equal((await s.api('POST', '/v1/large-holder-reports', { key: 'M3', body: { symbol: 'CEA24', accountId: 'M3-C1', text: 'Hedging.' } })).status, 201);
  const seqBefore = market.messages.at(-1)!.seq as number;
  const over = m3c1.holding - m3c1.threshold;
  t.equal((await s.api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-C1', symbol: 'CEA24', quantity: over - 1 } })).status, 201);
  t.same(m3.on('orders').filter((m) => m.type === 'largeHolder' && m.largeHolder.action === 'closed'), [], 'one tonne over: it stands');
  t.equal((await s.api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-C1', symbol: 'CEA24', quantity: 1 } })).status, 201);
  t.match(await m3.next((m) => m.channel === 'orders' && m.type === 'largeHolder' && m.largeHolder.action === 'closed'), {
    largeHolder: { accountId: 'M3-C1', symbol: 'CEA24', action: 'closed', holding: m3c1.threshold, threshold: m3c1.threshold },
  }, 'at the threshold: closed');
  t.equal((await s.api('POST', '/v1/risk/warnings', { key: 'risk', body: { text: 'marker' } })).status, 201);
  t.match(await market.next((m) => m.channel === 'warnings' && (m.seq as number) > seqBefore), { type: 'warning', seq: seqBefore + 1 }, 'nothing on the market for the national one');
  t.same((await s.api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' })).body.filter((h: { accountId: string }) => h.accountId === 'M3-C1'), []);
  for (const c of [market, m1, m3]) t.same(seqGaps(c.messages), []);
});

t.test('an account whose report is still owed leaves and rejoins the published list as its holding or threshold moves', async (t) => {
  const market = await subscribed(['warnings']);
  const m3 = await subscribed(['orders'], KEYS.M3);
  const notices = () => market.on('warnings').filter((m) => m.type === 'largeHolder' && m.largeHolder.accountId === 'M3-I1');
  /** The next notice about M3-I1 after what the client has so far. */
  const next = (from = market.messages.length) => market.next((m) => m.type === 'largeHolder' && m.largeHolder.accountId === 'M3-I1', from);
  const published = async () => ((await s.api('GET', '/v1/large-holders?symbol=BEA')).body as { accountId: string }[]).filter((h) => h.accountId === 'M3-I1');
  // M3-I1 holds 40,000 t of BEA. A class threshold of 30,000 t for institutions: an alert.
  const classThreshold = (quantity: number | null) => s.api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'BEA', accountClass: 'institution', quantity, reason: 'review' } });
  let from = market.messages.length;
  t.match((await classThreshold(30_000)).body.alerts, [{ accountId: 'M3-I1' }]);
  t.match(await next(from), { largeHolder: { action: 'alert', holding: 40_000, threshold: 30_000 } });
  t.equal((await published()).length, 1);
  // Set back to the venue's 500,000 t: off the public list, and its followers are told (the report is still owed).
  from = market.messages.length;
  t.equal((await classThreshold(500_000)).status, 200);
  t.match(await next(from), {
    largeHolder: { accountId: 'M3-I1', symbol: 'BEA', action: 'left', holding: 40_000, threshold: 500_000 },
  });
  t.same(await published(), [], 'GET /v1/large-holders agrees');
  t.match((await s.api('GET', '/v1/risk/large-holders?symbol=BEA', { key: 'risk' })).body, [{ accountId: 'M3-I1', filed: null }], 'the risk officers still see the report owed');
  // Lowered again: no new alert (the obligation stands), but back on the list, and told so.
  from = market.messages.length;
  t.same((await classThreshold(30_000)).body.alerts, [], 'no new alert');
  t.match(await next(from), {
    largeHolder: { accountId: 'M3-I1', action: 'alert', holding: 40_000, threshold: 30_000 },
  });
  t.equal((await published()).length, 1, 'on the list again');
  // A withdrawal under the threshold takes it off again; a deposit over it puts it back.
  from = market.messages.length;
  t.equal((await s.api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-I1', symbol: 'BEA', quantity: 15_000 } })).status, 201);
  t.match(await next(from), { largeHolder: { accountId: 'M3-I1', action: 'left', holding: 25_000 } });
  from = market.messages.length;
  t.equal((await s.api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-I1', symbol: 'BEA', quantity: 15_000 } })).status, 201);
  t.match(await next(from), { largeHolder: { accountId: 'M3-I1', action: 'alert', holding: 40_000 } });
  t.same(notices().map((m) => m.largeHolder.action), ['alert', 'left', 'alert', 'left', 'alert'], 'each move told once');
  t.same(m3.on('orders').filter((m) => m.type === 'largeHolder').map((m) => m.largeHolder.action), ['alert'], 'the member heard its one alert');
  t.same(seqGaps(market.messages), []);

  // While it passes the threshold in force, a risk officer cannot waive the report.
  const waive = (body: Record<string, unknown>, key = 'risk') => s.api('POST', '/v1/risk/large-holder-waivers', { key, body });
  const terms = { symbol: 'BEA', accountId: 'M3-I1', reason: 'threshold set by mistake, put back' };
  t.match((await waive(terms)).body, { error: { code: 'STILL_LARGE_HOLDER', message: /M3-I1 holds 40000 t of BEA, over the threshold in force \(30000 t\)/ } });
  t.equal((await waive(terms)).status, 409);
  // Put back to the venue's figure (off the list again), the report still owed is waived: closed, told to the member and the market.
  from = market.messages.length;
  t.equal((await classThreshold(500_000)).status, 200);
  t.match(await next(from), { largeHolder: { action: 'left' } });
  from = market.messages.length;
  const m3From = m3.messages.length;
  t.equal((await waive(terms, 'M3')).status, 403, 'not a member');
  const waived = await waive(terms);
  t.equal(waived.status, 200);
  t.match(waived.body, { accountId: 'M3-I1', symbol: 'BEA', holding: 40_000, threshold: 500_000 });
  t.match(await next(from), { largeHolder: { accountId: 'M3-I1', action: 'closed', holding: 40_000, threshold: 500_000 } }, 'the market hears it closed');
  t.match(await m3.next((m) => m.type === 'largeHolder', m3From), { largeHolder: { accountId: 'M3-I1', symbol: 'BEA', action: 'closed' } }, 'so does the member');
  t.same(((await s.api('GET', '/v1/risk/large-holders?symbol=BEA', { key: 'risk' })).body as { accountId: string }[]).filter((h) => h.accountId === 'M3-I1'), [], 'nothing owed now');
  t.match((await waive(terms)).body, { error: { code: 'REPORT_NOT_DUE' } }, 'nothing left to waive');
  t.equal((await waive({ ...terms, accountId: 'NOBODY-1' })).status, 404);
  t.equal((await waive({ symbol: 'BEA', accountId: 'M3-I1' })).status, 400, 'a reason is required');
  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { action: string; what: Record<string, unknown>; why: string; outcome: string }[];
  t.same(audit.filter((a) => a.action === 'waiveLargeHolderReport').map(({ what, why, outcome }) => [what.accountId, what.symbol, why, outcome]), [
    ['M3-I1', 'BEA', terms.reason, 'refused'],
    ['M3-I1', 'BEA', terms.reason, 'refused'],
    ['M3-I1', 'BEA', terms.reason, 'done'],
    ['M3-I1', 'BEA', terms.reason, 'refused'],
    ['NOBODY-1', 'BEA', terms.reason, 'refused'],
  ], "each waiver the engine took in the audit trail, with its reason and outcome (the member's and the reasonless one never reached it)");
});
