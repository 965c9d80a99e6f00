// What a risk officer's instrument and limit commands answer, over real HTTP: a halt or resume
// alone works whatever the band's width (an end of day can widen a band past what a reference
// price may set), each answer shows the instrument as its own command left it even when another
// officer's command is committed in the same batch, a blank reason given to a cap or threshold is
// refused, the audit trail takes a time typed into the URL with its "+" as it is, and a reference
// price an officer corrected stands through a quiet day's end.
import t from 'tap';
import { expectError, expectOk, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());
const patch = (symbol: string, body: Record<string, unknown>) => s.api('PATCH', `/v1/risk/instruments/${symbol}`, { key: 'risk', body });

t.test('an end of day that widens a band past a reference price\'s bound: a halt and a resume alone still work', async (t) => {
  // 100 % of 500.00 is 0.01–1000.00, the widest band a reference price may set (100,000 steps).
  expectOk(t, await patch('CEA25', { listedBandPct: '100', referencePrice: '500.00', reason: 'wide' }), 200);
  expectOk(t, await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA25', side: 'sell', type: 'limit', price: '1000.00', quantity: 1 } }), 201);
  const buy = await s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA25', side: 'buy', type: 'limit', price: '1000.00', quantity: 1 } });
  t.equal(buy.body.fills.length, 1, 'a trade at the top of the band');
  expectOk(t, await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} }), 200);
  const wide = (await s.api('GET', '/v1/instruments/CEA25')).body;
  t.match(wide, { prevClose: '1000.00', listedBand: { low: '0.01', high: '2000.00' } }, 'the next day\'s band: 200,000 steps');
  const halted = await patch('CEA25', { status: 'halted', reason: 'emergency' });
  expectOk(t, halted, 200, 'halted');
  t.match(halted.body.instrument, { status: 'halted', listedBand: { high: '2000.00', pct: '100' } }, 'the band as it was');
  expectError(t, await s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA25', side: 'buy', type: 'limit', price: '900.00', quantity: 1 } }), 503, 'INSTRUMENT_HALTED');
  expectOk(t, await patch('CEA25', { status: 'trading', reason: 'over' }), 200, 'resumed');
  // A band change with it is still bounded: naming the same band is refused, a narrower one taken.
  expectError(t, await patch('CEA25', { status: 'halted', listedBandPct: '100', reason: 'again' }), 422, 'BAND_TOO_WIDE');
  expectOk(t, await patch('CEA25', { status: 'halted', listedBandPct: '10', reason: 'narrower' }), 200);
  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { action: string; why: string; outcome: string }[];
  t.match(audit.filter((a) => a.why === 'emergency' || a.why === 'over'), [{ action: 'setInstrumentStatus', outcome: 'done' }, { action: 'setInstrumentStatus', outcome: 'done' }], 'audited as halt and resume');
});

t.test('each answer shows the instrument as its own command left it', async (t) => {
  let mixed = 0;
  for (let i = 0; i < 20; i++) {
    // Sent together, so that both are often committed in one batch.
    const [a, b] = await Promise.all([
      patch('CEA23', { listedBandPct: '2', reason: `a${i}` }),
      patch('CEA23', { listedBandPct: '10', status: i % 2 === 0 ? 'halted' : 'trading', reason: `b${i}` }),
    ]);
    expectOk(t, a, 200);
    expectOk(t, b, 200);
    if (a.body.instrument.listedBand.pct !== '2' || b.body.instrument.listedBand.pct !== '10') mixed++;
    if (b.body.instrument.status !== (i % 2 === 0 ? 'halted' : 'trading')) mixed++;
  }
  t.equal(mixed, 0, 'no answer showed the other command\'s band or status');
});

t.test('a cap or threshold: a reason may be left out, a blank one is refused as on every risk route', async (t) => {
  expectOk(t, await s.api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', maxQuantity: 5000 } }), 200, 'no reason');
  const audited = async () => ((await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as unknown[]).length;
  const before = await audited();
  for (const [path, field] of [['/v1/risk/position-caps', 'maxQuantity'], ['/v1/risk/large-holder-thresholds', 'quantity']]) {
    expectError(t, await s.api('PUT', path, { key: 'risk', body: { symbol: 'CEA24', accountId: 'M1-P1', [field]: 6000, reason: '   ' } }), 400, 'INVALID_COMMAND', /reason is blank/, path);
  }
  expectError(t, await s.api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: '   ' } }), 400, 'INVALID_COMMAND', /reason is blank/, 'as a halt\'s');
  t.equal(await audited(), before + 3, 'each refusal is in the audit trail, as every refused risk command is');
  t.match((await s.api('GET', '/v1/account?accountId=M1-P1', { key: 'M1' })).body.holdings, [{ symbol: 'CEA24', cap: 5000, largeHolderThreshold: 500000 }], 'neither refused limit was set');
});

t.test('a cap or threshold: the field not used may be null, as the answer has it; plusAllocation does not go with a removal', async (t) => {
  for (const [path, field] of [['/v1/risk/position-caps', 'maxQuantity'], ['/v1/risk/large-holder-thresholds', 'quantity']]) {
    const forClass = await s.api('PUT', path, { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual', accountId: null, [field]: 900_000, reason: 'rule' } });
    expectOk(t, forClass, 200, `${path}: a class rule with accountId null`);
    t.match(forClass.body, { accountClass: 'individual', accountId: null, [field]: 900_000 });
    const back = await s.api('PUT', path, { key: 'risk', body: { ...forClass.body, alerts: undefined, cancelled: undefined, withdrawnBlocks: undefined, withdrawnBids: undefined, cancelledAuctions: undefined, symbol: 'CEA24', reason: 'again' } });
    expectOk(t, back, 200, `${path}: its own answer sent back`);
    expectOk(t, await s.api('PUT', path, { key: 'risk', body: { symbol: 'CEA24', accountClass: null, accountId: 'M1-P1', [field]: 7000 } }), 200, `${path}: an account's with accountClass null`);
    expectError(t, await s.api('PUT', path, { key: 'risk', body: { symbol: 'CEA24', accountClass: null, accountId: null, [field]: 7000 } }), 400, 'INVALID_COMMAND', /either accountClass or accountId/, `${path}: both null`);
    expectError(t, await s.api('PUT', path, { key: 'risk', body: { symbol: 'CEA24', accountClass: 'individual', [field]: null, plusAllocation: true } }), 400, 'INVALID_REQUEST', /plusAllocation.*removes the limit/, `${path}: a removal with plusAllocation`);
  }
  t.match((await s.api('GET', '/v1/account?accountId=M1-P1', { key: 'M1' })).body.holdings, [{ symbol: 'CEA24', cap: 7000, largeHolderThreshold: 7000 }], 'the account\'s limits were set');
});

t.test('the audit trail: a time with its "+" typed into the URL as it is', async (t) => {
  const all = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { time: string }[];
  const from = all[all.length - 1].time; // "…+08:00"
  const typed = await s.api('GET', `/v1/risk/audit?since=${from}`, { key: 'risk' }); // the + arrives as a space
  t.equal(typed.status, 200, `taken: ${typed.text.slice(0, 160)}`);
  t.same(typed.body, (await s.api('GET', `/v1/risk/audit?since=${encodeURIComponent(from)}`, { key: 'risk' })).body, 'as if encoded');
  expectError(t, await s.api('GET', '/v1/risk/audit?since=2026-11-20T09:30:00 8', { key: 'risk' }), 400, 'INVALID_REQUEST', /%2B/);
});

t.test('a large holder\'s account view shows the holding now, as the risk officers\' list does', async (t) => {
  expectOk(t, await s.api('PUT', '/v1/risk/large-holder-thresholds', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-C1', quantity: 100_000, reason: 'watch' } }), 200);
  const now = async () => ({
    listed: (await s.api('GET', '/v1/risk/large-holders?symbol=CEA24', { key: 'risk' })).body.find((l: { accountId: string }) => l.accountId === 'M3-C1')?.holding,
    account: (await s.api('GET', '/v1/account?accountId=M3-C1', { key: 'M3' })).body.holdings.find((h: { symbol: string }) => h.symbol === 'CEA24')?.largeHolder?.holding,
  });
  t.same(await now(), { listed: 180_000, account: 180_000 }, 'at the alert');
  expectOk(t, await s.api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-C1', symbol: 'CEA24', quantity: 1000 } }), 201);
  expectOk(t, await s.api('POST', '/v1/admin/withdrawals', { key: 'operator', body: { accountId: 'M3-C1', symbol: 'CEA24', quantity: 10 } }), 201);
  t.same(await now(), { listed: 180_990, account: 180_990 }, 'after a deposit and a withdrawal');
});

t.test("a reference price a risk officer corrected stands through an end of day without a listed trade, and after a restart", async (t) => {
  const own = await startServer();
  expectOk(t, await own.api('PATCH', '/v1/risk/instruments/CEA23', { key: 'risk', body: { referencePrice: '50.00', reason: 'listing price was wrong' } }), 200);
  const eod = await own.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200);
  const before = (await own.api('GET', '/v1/instruments/CEA23')).body;
  t.match(before, { prevClose: '50.00', referencePrice: '50.00', listedBand: { low: '45.00', high: '55.00' } }, "the next day's reference and band are the officer's");
  const report = (await own.api('GET', `/v1/settlement/${eod.body.date}/market`, { key: 'operator' })).body as { symbol: string; open: string; close: string }[];
  t.match(report.find((r) => r.symbol === 'CEA23'), { open: '50.00', close: '50.00' }, "the day's report closes it there");
  await own.stop();
  const again = await startServer({ dataDir: own.dataDir });
  t.teardown(() => again.close());
  t.same((await again.api('GET', '/v1/instruments/CEA23')).body, before, 'the same after a restart');
});

t.test('a control that changes nothing is refused (409 NO_CHANGE), audited as refused, and keeps the reason it was taken for', async (t) => {
  const order = () => s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 1 } });
  // An instrument halted twice: the second says who is first, and the halt keeps its reason.
  expectOk(t, await patch('CEA24', { status: 'halted', reason: 'first halt' }), 200);
  expectError(t, await patch('CEA24', { status: 'halted', reason: 'second halt' }), 409, 'NO_CHANGE',
    /^CEA24 is halted already \(first halt\): a halt's reason stands until it is resumed; publish a risk warning to say more$/, 'a halt of a halted instrument');
  expectError(t, await order(), 503, 'INSTRUMENT_HALTED', /^CEA24 is halted \(first halt\)$/, 'members are told the first reason');
  // A band change naming the status it has: the band changes, the halt's reason stays.
  const banded = await patch('CEA24', { status: 'halted', listedBandPct: '5', reason: 'narrow while halted' });
  expectOk(t, banded, 200, 'a band change with the same status');
  t.match(banded.body.instrument, { status: 'halted', listedBand: { pct: '5' } });
  expectError(t, await order(), 503, 'INSTRUMENT_HALTED', /^CEA24 is halted \(first halt\)$/, 'still the first reason');
  expectOk(t, await patch('CEA24', { status: 'trading', reason: 'resumed' }), 200);
  expectError(t, await patch('CEA24', { status: 'trading', reason: 'resumed again' }), 409, 'NO_CHANGE', /^CEA24 is not halted$/, 'a resume of a trading instrument');
  expectError(t, await patch('CEA24', { listedBandPct: '5.0', reason: 'the same band' }), 409, 'NO_CHANGE',
    /^nothing to change: CEA24 is trading, its listed band 5 % and its block band 30 % about 57\.46 already$/, 'a band it has');
  expectError(t, await patch('CEA24', { referencePrice: '57.46', status: 'trading', reason: 'the same reference' }), 409, 'NO_CHANGE', /^nothing to change/);
  expectOk(t, await patch('CEA24', { listedBandPct: '10', reason: 'back' }), 200);

  // The market.
  const market = (what: 'halt' | 'resume', reason: string) => s.api('POST', `/v1/risk/market/${what}`, { key: 'risk', body: { reason } });
  expectOk(t, await market('halt', 'market first'), 200);
  expectError(t, await market('halt', 'market second'), 409, 'NO_CHANGE', /^the market is halted already \(market first\): a halt's reason stands until the market is resumed/);
  expectError(t, await patch('CEA24', { status: 'trading', reason: 'x' }), 409, 'NO_CHANGE', /^CEA24 is not halted \(the market is: resume the market\)$/, 'an instrument resumed under a market halt');
  expectError(t, await order(), 503, 'MARKET_HALTED', /^the market is halted \(market first\)$/);
  expectOk(t, await market('resume', 'market over'), 200);
  expectError(t, await market('resume', 'market over again'), 409, 'NO_CHANGE', /^the market is not halted$/);

  // An account's restriction.
  const restrict = (restriction: string, reason: string) => s.api('PATCH', '/v1/risk/accounts/M2-I1', { key: 'risk', body: { restriction, reason } });
  expectOk(t, await restrict('no_buy', 'inquiry 1'), 200);
  expectError(t, await restrict('no_buy', 'inquiry 2'), 409, 'NO_CHANGE', /^M2-I1 is no_buy already \(inquiry 1\)$/);
  expectOk(t, await restrict('frozen', 'inquiry 2'), 200, 'another restriction is a change');
  expectOk(t, await restrict('none', 'closed'), 200);
  expectError(t, await restrict('none', 'closed again'), 409, 'NO_CHANGE', /^M2-I1 has no restriction$/);

  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { why: string; outcome: string; error: { code: string } | null }[];
  const refused = ['second halt', 'resumed again', 'market second', 'market over again', 'inquiry 2', 'closed again'];
  for (const why of refused.filter((w) => w !== 'inquiry 2')) {
    t.match(audit.find((a) => a.why === why), { outcome: 'refused', error: { code: 'NO_CHANGE' } }, `"${why}" is in the trail as refused`);
  }
  t.same(audit.filter((a) => a.why === 'inquiry 2').map((a) => a.outcome), ['refused', 'done'], 'the same reason refused once, then taken for another restriction');
});
