// Large-holder reporting (大户报告), MARKET-RULES section 7: holding strictly more than the threshold
// raises one alert and opens a report obligation due on the 3rd trading day after; nothing is
// refused for it. An overdue report restricts buying (the national profile's overdueAction no_buy)
// but never selling. The engine's trading day only moves by an end-of-day run, so the later days
// here are reached by restoring an edited snapshot.
import t from 'tap';
import type { EngineEvent, LargeHolderEvent, Result } from '../../engine/index.ts';
import { Harness, loadProfile, ok } from '../support/harness.ts';
import { expectReject, harnessOn, nationalWithSessions } from './fixtures.ts';

const closes = (r: Result) => (r.ok ? r.events.filter((e) => e.type === 'largeHolderClosed') : []);
const alerts = (r: Result) => (r.ok ? r.events.filter((e: EngineEvent): e is LargeHolderEvent => e.type === 'largeHolder') : []);
const cea = (side: 'buy' | 'sell', price: string, quantity: number) => ({ symbol: 'CEA24', side, price, quantity });

/**
 * The national market as published (weekdays and holidays) on Friday 2026-11-20, 10:00. L1-A, an
 * institution, holds exactly its threshold of 500,000 t; S1-A sells, B1-A buys.
 */
function market(tradingDate = '2026-11-20', profile = nationalWithSessions()): Harness {
  const h = new Harness({ tradingDate });
  h.list(profile, 'CEA24', '57.46');
  h.open('S1-A', { holdings: { CEA24: 100_000 } });
  h.open('B1-A', { cash: '1000000.00' });
  h.open('L1-A', { cash: '1000000.00', holdings: { CEA24: 500_000 } });
  ok(h.order('S1-A', cea('sell', '57.50', 1000)));
  return h;
}

t.test('holding exactly the threshold is not a large holding', async (t) => {
  const h = market();
  t.same(h.engine.largeHolders(), []);
});

t.test('crossing the threshold raises one alert, due the 3rd trading day after, and refuses nothing', async (t) => {
  const h = market();
  const r = h.order('L1-A', cea('buy', '57.50', 1));
  t.equal(ok(r).events.filter((e) => e.type === 'trade').length, 1, 'the buy that crosses trades');
  t.same(alerts(r).map((e) => ({ ...e })), [{
    type: 'largeHolder', seq: h.seq, time: h.time, accountId: 'L1-A', symbol: 'CEA24', holding: 500_001, threshold: 500_000,
    action: 'alert', dueDate: '2026-11-25',
  }], 'Friday + 3 trading days, skipping the weekend, is Wednesday 2026-11-25');
  const more = h.order('L1-A', cea('buy', '57.50', 10));
  t.same(alerts(more), [], 'one alert, not one per trade');
  t.same(h.engine.largeHolders(), [{
    accountId: 'L1-A', symbol: 'CEA24', holding: 500_011, threshold: 500_000, since: '2026-11-20', dueDate: '2026-11-25', filed: null, overdue: false,
  }]);
  t.same(h.engine.largeHolders('CEA25'), [], 'the list can be asked per instrument');
});

t.test('a compliance account\'s threshold is its allocation + 500,000 t', async (t) => {
  const h = market();
  h.open('C1-A', { accountClass: 'compliance', allocation: 100_000, cash: '1000000.00', holdings: { CEA24: 600_000 } });
  t.same(h.engine.largeHolders(), []);
  const r = h.order('C1-A', cea('buy', '57.50', 1));
  t.match(alerts(r), [{ accountId: 'C1-A', holding: 600_001, threshold: 600_000, action: 'alert', dueDate: '2026-11-25' }]);
  t.equal(alerts(r).length, 1);
});

t.test('a deposit that crosses the threshold raises the alert too', async (t) => {
  const h = market();
  const r = ok(h.operator({ type: 'deposit', accountId: 'L1-A', symbol: 'CEA24', quantity: 1 }));
  t.match(alerts(r), [{ accountId: 'L1-A', holding: 500_001, threshold: 500_000, action: 'alert' }]);
});

t.test('open buys do not count: only what the account holds', async (t) => {
  const h = market();
  const r = ok(h.order('L1-A', cea('buy', '57.00', 5000)));
  t.same(alerts(r), []);
  t.same(h.engine.largeHolders(), []);
});

t.test('the due date skips holidays as well as weekends', async (t) => {
  // Wednesday 2026-09-30; 1–2 October and 5–7 October are holidays, 3–4 October a weekend.
  const h = market('2026-09-30');
  const r = h.order('L1-A', cea('buy', '57.50', 1));
  t.match(alerts(r), [{ dueDate: '2026-10-12' }], 'Thursday 8, Friday 9, Monday 12 October');
});

t.test('filing the report', async (t) => {
  t.test('works once, for the account that owes it', async (t) => {
    const h = market();
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
    const file = () => h.member('L1', { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'CEA24', text: 'Holding for compliance in 2027.' });
    expectReject(t, h, () => h.member('B1', { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'CEA24', text: 'not mine' }), 'ACCOUNT_NOT_OWNED');
    expectReject(t, h, () => h.member('L1', { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'CEA24', text: '  ' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.member('L1', { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'CEA99', text: 'x' }), 'UNKNOWN_INSTRUMENT');
    const r = file();
    t.same(alerts(r).map((e) => ({ ...e })), [{
      type: 'largeHolder', seq: h.seq, time: h.time, accountId: 'L1-A', symbol: 'CEA24', holding: 500_001, threshold: 500_000,
      action: 'filed', dueDate: '2026-11-25',
    }]);
    t.match(h.engine.largeHolders(), [{ accountId: 'L1-A', filed: '2026-11-20', overdue: false }]);
    expectReject(t, h, file, 'REPORT_NOT_DUE', 'L1-A');
  });

  t.test('an account that owes nothing has no report due', async (t) => {
    const h = market();
    expectReject(t, h, () => h.member('S1', { type: 'fileLargeHolderReport', accountId: 'S1-A', symbol: 'CEA24', text: 'nothing to say' }), 'REPORT_NOT_DUE');
    expectReject(t, h, () => h.member('B1', { type: 'fileLargeHolderReport', accountId: 'B1-A', symbol: 'CEA24', text: 'no position at all' }), 'REPORT_NOT_DUE');
  });

  t.test('once filed, falling back to the threshold closes it; crossing again raises a new alert', async (t) => {
    const h = market();
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
    ok(h.member('L1', { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'CEA24', text: 'filed' }));
    ok(h.order('B1-A', cea('buy', '57.40', 1)));
    const sold = ok(h.order('L1-A', cea('sell', '57.40', 1)));
    t.same(h.engine.largeHolders(), [], 'back at 500,000 t: nothing owed');
    t.match(closes(sold), [{ type: 'largeHolderClosed', accountId: 'L1-A', symbol: 'CEA24', holding: 500_000, threshold: 500_000, dueDate: '2026-11-25' }], 'the trade that brought it back says the obligation ended');
    t.equal(closes(sold).length, 1);
    t.same(sold.events.filter((e) => e.type === 'largeHolder'), [], 'no alert or filing with it');
    const again = h.order('L1-A', cea('buy', '57.50', 1));
    t.match(alerts(again), [{ action: 'alert', holding: 500_001, dueDate: '2026-11-25' }]);
    t.equal(alerts(again).length, 1);
  });

  t.test('an unfiled report stays owed even when the holding falls back', async (t) => {
    const h = market();
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
    ok(h.order('B1-A', cea('buy', '57.40', 1)));
    t.same(closes(ok(h.order('L1-A', cea('sell', '57.40', 1)))), [], 'nothing closed');
    t.match(h.engine.largeHolders(), [{ accountId: 'L1-A', holding: 500_000, filed: null }]);
  });
});

t.test('an overdue report', async (t) => {
  /** L1-A crosses on Friday and does not file; the state is carried to `date`. */
  function crossedThenOn(date: string, profile = nationalWithSessions()): Harness {
    const h = market('2026-11-20', profile);
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
    return harnessOn(h.engine.snapshot(), date);
  }

  t.test('is not overdue on its due date', async (t) => {
    const h = crossedThenOn('2026-11-25');
    t.match(h.engine.largeHolders(), [{ accountId: 'L1-A', dueDate: '2026-11-25', overdue: false }]);
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
  });

  t.test('the day after, buying is refused with REPORT_OVERDUE while selling still works', async (t) => {
    const h = crossedThenOn('2026-11-26');
    t.match(h.engine.largeHolders(), [{ accountId: 'L1-A', overdue: true, filed: null }]);
    expectReject(t, h, () => h.order('L1-A', cea('buy', '57.50', 1)), 'REPORT_OVERDUE', '2026-11-25');
    const sale = ok(h.order('L1-A', cea('sell', '60.00', 100)));
    t.equal(sale.events.length, 1, 'the sell rests');
    ok(h.member('L1', { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'CEA24', text: 'late, sorry' }));
    t.match(h.engine.largeHolders(), [{ accountId: 'L1-A', filed: '2026-11-26', overdue: false }]);
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
  });

  t.test('a venue whose overdue action is none lets the account keep buying', async (t) => {
    const base = nationalWithSessions();
    const h = crossedThenOn('2026-11-26', { ...base, largeHolder: { ...base.largeHolder, overdueAction: 'none' } });
    t.match(h.engine.largeHolders(), [{ overdue: true }]);
    ok(h.order('L1-A', cea('buy', '57.50', 1)));
  });
});

t.test('thresholds set by a risk officer', async (t) => {
  t.test('a per-account threshold replaces the class one', async (t) => {
    const h = market();
    h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
    const set = ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 1000, reason: 'watch' }));
    t.match(set.events, [{ type: 'limit', kind: 'largeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', accountClass: null, quantity: 1000 }]);
    const r = h.order('N1-A', cea('buy', '57.50', 1));
    t.match(alerts(r), [{ accountId: 'N1-A', holding: 1001, threshold: 1000 }]);
  });

  t.test('a threshold set below an account\'s holding raises the alert at once', async (t) => {
    const h = market();
    h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
    const set = ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 999, reason: 'watch' }));
    t.same(set.events.map((e) => e.type), ['limit', 'largeHolder'], 'the change, then the alert it causes');
    t.same(alerts(set).map((e) => ({ ...e })), [{
      type: 'largeHolder', seq: h.seq, time: h.time, accountId: 'N1-A', symbol: 'CEA24', holding: 1000, threshold: 999,
      action: 'alert', dueDate: '2026-11-25',
    }]);
    t.match(h.engine.largeHolders(), [{ accountId: 'N1-A', holding: 1000, threshold: 999, since: '2026-11-20', dueDate: '2026-11-25', filed: null }]);
    t.same(alerts(ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 10, reason: 'lower still' }))), [],
      'an account already alerted is not alerted again');
    t.same(alerts(ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 1000, reason: 'at' }))), []);
  });

  t.test('a class threshold set below holdings alerts each account of the class over it, and only those', async (t) => {
    const h = market();
    h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 2000 } });
    h.open('N2-A', { cash: '1000000.00', holdings: { CEA24: 1500 } });
    h.open('N3-A', { cash: '1000000.00' });
    h.open('C1-A', { accountClass: 'compliance', allocation: 0, cash: '1000000.00', holdings: { CEA24: 9000 } });
    const set = ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountClass: 'institution', quantity: 1500, reason: 'tighter' }));
    // S1-A (100,000 t, 1,000 of them offered), L1-A (500,000 t) and N1-A (2,000 t) are over 1,500 t;
    // N2-A holds exactly it, N3-A nothing, and C1-A is of another class. In account id order.
    t.same(alerts(set).map((e) => [e.accountId, e.holding, e.threshold]), [['L1-A', 500_000, 1500], ['N1-A', 2000, 1500], ['S1-A', 100_000, 1500]]);
    t.same(h.engine.largeHolders().map((l) => l.accountId).sort(), ['L1-A', 'N1-A', 'S1-A']);
  });

  t.test('a threshold raised above a filed report\'s holding closes it; crossing the new one alerts again', async (t) => {
    for (const order of ['file, then raise', 'raise, then file'] as const) {
      const h = market();
      h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
      ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 500, reason: 'watch' }));
      const file = () => ok(h.member('N1', { type: 'fileLargeHolderReport', accountId: 'N1-A', symbol: 'CEA24', text: 'our holding' }));
      const raise = () => ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 5000, reason: 'looser' }));
      const [first, second] = order === 'file, then raise' ? [file, raise] : [raise, file];
      t.same(closes(first()), [], `${order}: the first closes nothing`);
      t.match(closes(second()), [{ accountId: 'N1-A', holding: 1000, threshold: 5000 }], `${order}: the second closes it`);
      t.same(h.engine.largeHolders(), [], `${order}: 1,000 t is under 5,000 t and the report is filed: nothing stands`);
      const r = ok(h.operator({ type: 'deposit', accountId: 'N1-A', symbol: 'CEA24', quantity: 4001 }));
      t.match(alerts(r), [{ accountId: 'N1-A', holding: 5001, threshold: 5000, action: 'alert', dueDate: '2026-11-25' }], `${order}: crossing 5,000 t alerts`);
      t.match(h.engine.largeHolders(), [{ accountId: 'N1-A', threshold: 5000, filed: null }], `${order}: and a new report is owed`);
    }
  });

  t.test('a threshold raised above the holding leaves an unfiled report owed; lowered, it leaves a filed one filed', async (t) => {
    const h = market();
    h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
    h.open('N2-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
    for (const id of ['N1-A', 'N2-A']) ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: id, quantity: 500, reason: 'watch' }));
    ok(h.member('N2', { type: 'fileLargeHolderReport', accountId: 'N2-A', symbol: 'CEA24', text: 'filed' }));
    ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 5000, reason: 'looser' }));
    ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N2-A', quantity: 100, reason: 'tighter' }));
    t.match(h.engine.largeHolders(), [{ accountId: 'N1-A', threshold: 500, filed: null }, { accountId: 'N2-A', threshold: 500, filed: '2026-11-20' }]);
  });

  t.test('a position cap below a holding raises no large-holder alert', async (t) => {
    const h = market();
    h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
    t.same(alerts(ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'N1-A', quantity: 10, reason: 'cap' }))), []);
    t.same(h.engine.largeHolders(), []);
  });

  t.test('a class without a threshold never raises an alert', async (t) => {
    const h = market(undefined, loadProfile('cea'));
    ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountClass: 'institution', quantity: null, reason: 'no reporting' }));
    const r = h.order('L1-A', cea('buy', '57.50', 100));
    t.same(alerts(r), []);
    t.same(h.engine.largeHolders(), []);
  });
});

t.test("a risk officer waives a report obligation whose holding no longer passes the threshold in force", async (t) => {
  // A threshold set by mistake (500 t for N1-A, holding 1,000 t), then put back: the report stays owed, and overdue restricts buying.
  const h = market();
  h.open('N1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
  ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: 500, reason: 'typo' }));
  const waive = (accountId: string, reason = 'threshold was set by mistake') => h.risk({ type: 'waiveLargeHolderReport', accountId, symbol: 'CEA24', reason });
  // While the holding passes the threshold in force, the report is owed.
  expectReject(t, h, () => waive('N1-A'), 'STILL_LARGE_HOLDER', 'N1-A holds 1000 t of CEA24, over the threshold in force (500 t)');
  ok(h.risk({ type: 'setLargeHolderThreshold', symbol: 'CEA24', accountId: 'N1-A', quantity: null, reason: 'put back' }));
  t.match(h.engine.largeHolders(), [{ accountId: 'N1-A', threshold: 500, filed: null }], 'put back, the report is still owed');
  const r = ok(waive('N1-A'));
  t.same(closes(r).map((e) => ({ ...e })), [{
    type: 'largeHolderClosed', seq: h.seq, time: h.time, accountId: 'N1-A', symbol: 'CEA24', holding: 1000, threshold: 500_000, dueDate: '2026-11-25',
  }], 'closed, with the threshold in force');
  t.same(h.engine.largeHolders(), [], 'nothing owed');
  // Carried past the due date: no REPORT_OVERDUE, as nothing is owed.
  const later = harnessOn(h.engine.snapshot(), '2026-11-26');
  ok(later.order('N1-A', cea('buy', '57.50', 1)));
  // Nothing left to waive; unknown names refused; a reason is needed.
  expectReject(t, h, () => waive('N1-A'), 'REPORT_NOT_DUE');
  expectReject(t, h, () => waive('B1-A'), 'REPORT_NOT_DUE');
  expectReject(t, h, () => waive('NOBODY'), 'UNKNOWN_ACCOUNT');
  expectReject(t, h, () => h.risk({ type: 'waiveLargeHolderReport', accountId: 'N1-A', symbol: 'CEA99', reason: 'x' }), 'UNKNOWN_INSTRUMENT');
  expectReject(t, h, () => waive('N1-A', '  '), 'INVALID_COMMAND');
  // Only a risk officer may.
  expectReject(t, h, () => h.member('N1', { type: 'waiveLargeHolderReport', accountId: 'N1-A', symbol: 'CEA24', reason: 'mine' }), 'NOT_PERMITTED');
});
