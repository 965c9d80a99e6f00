// Sessions and the calendar, MARKET-RULES section 9: national listed sessions 09:30–11:30 and
// 13:00–15:00 China Standard Time (UTC+8), Monday to Friday less exchange holidays; outside them new
// orders are refused with MARKET_CLOSED naming the sessions, while resting DAY orders wait.
import t from 'tap';
import { dateOfDay, dayOfDate, Engine, firstTradingDay, type Result } from '../../engine/index.ts';
import { cst, Harness, ok } from '../support/harness.ts';
import { expectReject, guangdong, national, nationalWithSessions } from './fixtures.ts';

const SESSIONS = '09:30–11:30, 13:00–15:00';
const localDayOf = (date: string) => dayOfDate(date) as number;
const id = (r: Result) => ok(r).orderId as number;
const cea = (side: 'buy' | 'sell', price: string, quantity: number) => ({ symbol: 'CEA24', side, price, quantity });

/** The national market as published; accounts opened at 09:00 (operators are not bound by sessions). */
function market(tradingDate = '2026-11-20', profile = nationalWithSessions()): Harness {
  const h = new Harness({ tradingDate, time: '09:00' });
  h.list(profile, 'CEA24', '57.46');
  h.open('B1-A', { cash: '1000000.00' });
  h.open('S1-A', { holdings: { CEA24: 1000 } });
  return h;
}

t.test('the national listed sessions are 09:30–11:30 and 13:00–15:00', async (t) => {
  const h = market();
  const attempt = () => h.order('B1-A', cea('buy', '57.00', 10));
  for (const [time, open] of [
    ['09:29', false], ['09:30', true], ['11:29', true], ['11:30', false], ['12:00', false], ['12:59', false],
    ['13:00', true], ['14:59', true], ['15:00', false], ['23:59', false],
  ] as const) {
    h.at('2026-11-20', time);
    if (open) t.ok(attempt().ok, `${time} is in session`);
    else expectReject(t, h, attempt, 'MARKET_CLOSED', SESSIONS);
  }
});

t.test('the message says the sessions are in UTC+8', async (t) => {
  const h = market();
  h.at('2026-11-20', '12:00');
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', 'UTC+8');
});

t.test('session times are China Standard Time, whatever the stamp\'s time zone', async (t) => {
  const h = market();
  h.time = Date.parse('2026-11-20T01:29:00Z'); // 09:29 in Shanghai
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', SESSIONS);
  h.time = Date.parse('2026-11-20T01:30:00Z'); // 09:30
  ok(h.order('B1-A', cea('buy', '57.00', 10)));
  h.time = Date.parse('2026-11-20T07:00:00Z'); // 15:00
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', SESSIONS);
});

t.test('a resting DAY order waits through the lunch break and trades after it', async (t) => {
  const h = market();
  h.at('2026-11-20', '11:00');
  const bid = id(h.order('B1-A', cea('buy', '57.50', 100)));
  h.at('2026-11-20', '12:00');
  expectReject(t, h, () => h.order('S1-A', cea('sell', '57.50', 100)), 'MARKET_CLOSED', SESSIONS);
  t.match(h.engine.order(bid), { status: 'new', quantity: 100 }, 'still resting at lunch');
  h.at('2026-11-20', '13:00');
  const r = ok(h.order('S1-A', cea('sell', '57.50', 100)));
  t.match(r.events.filter((e) => e.type === 'trade'), [{ buyOrderId: bid, price: 5750, quantity: 100 }]);
});

t.test('during the break a member may cancel or reduce, but not re-price', async (t) => {
  const h = market();
  h.at('2026-11-20', '11:00');
  const bid = id(h.order('B1-A', cea('buy', '57.50', 100)));
  const other = id(h.order('B1-A', cea('buy', '57.40', 100)));
  h.at('2026-11-20', '12:00');
  expectReject(t, h, () => h.modify('B1-A', bid, { price: '57.60' }), 'MARKET_CLOSED', SESSIONS);
  expectReject(t, h, () => h.modify('B1-A', bid, { quantity: 150 }), 'MARKET_CLOSED', SESSIONS);
  ok(h.modify('B1-A', bid, { quantity: 60 }));
  ok(h.cancel('B1-A', other));
  t.match(h.engine.order(bid), { quantity: 60 });
});

t.test('Saturday is not a trading day', async (t) => {
  const h = market('2026-11-21');
  h.at('2026-11-21', '10:00');
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', /^2026-11-21 is not a trading day of CEA24 \(venue CEA\): a Saturday, and it trades on Monday, Tuesday, Wednesday, Thursday, Friday$/);
});

t.test('a listed holiday is not a trading day', async (t) => {
  const h = market('2026-10-01'); // National Day, a Thursday
  h.at('2026-10-01', '10:00');
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', /^2026-10-01 is not a trading day of CEA24 \(venue CEA\): a holiday in its calendar$/);
});

t.test('an order stamped on another day than the engine\'s trading day is refused', async (t) => {
  const h = market();
  h.at('2026-11-23', '10:00'); // Monday, but the engine has not closed Friday
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', '2026-11-20');
});

t.test('a Guangdong-like venue has its own afternoon session, 13:30–15:30', async (t) => {
  const h = new Harness({ tradingDate: '2026-11-20', time: '09:00' });
  h.list(guangdong(), 'GDEA', '57.46');
  h.open('B1-A', { cash: '1000000.00' });
  const attempt = () => h.order('B1-A', { symbol: 'GDEA', side: 'buy', price: '57.00', quantity: 10 });
  for (const [time, open] of [['13:15', false], ['13:30', true], ['15:15', true], ['15:30', false]] as const) {
    h.at('2026-11-20', time);
    if (open) t.ok(attempt().ok, `${time} is in session`);
    else expectReject(t, h, attempt, 'MARKET_CLOSED', '09:30–11:30, 13:30–15:30');
  }
});

t.test('a demo profile open all day takes orders at any hour, any day', async (t) => {
  const h = market('2026-11-21', national());
  h.at('2026-11-21', '23:30');
  ok(h.order('B1-A', cea('buy', '57.00', 10)));
});

t.test('listed all day but block trades 13:00–15:00: the end of day waits for the block session', async (t) => {
  const profile = national();
  profile.sessions = { ...profile.sessions, block: [['13:00', '15:00']] };
  const h = market('2026-11-20', profile);
  h.at('2026-11-20', '10:00');
  ok(h.order('B1-A', cea('buy', '57.00', 10))); // the listed book is open
  expectReject(t, h, () => h.operator({ type: 'endOfDay', date: '2026-11-20' }), 'SESSION_OPEN', 'CEA24 trades until 15:00');
  h.at('2026-11-20', '15:00');
  ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
});

t.test('an end of day run late: with toClock, the next trading day is the clock\'s; without (journals from before it), the calendar\'s next', async (t) => {
  const close = (toClock: boolean, date: string, time: string, closing = '2026-11-19') => {
    const h = market(closing); // a Thursday
    h.at(date, time);
    const r = ok(h.operator({ type: 'endOfDay', date: closing, toClock }));
    return (r.events.find((e) => e.type === 'endOfDay') as { nextDate: string }).nextDate;
  };
  t.equal(close(false, '2026-11-23', '10:00'), '2026-11-20', 'without: Friday, as journalled ends of day were applied');
  t.equal(close(true, '2026-11-19', '15:00'), '2026-11-20', 'in time: Friday');
  t.equal(close(true, '2026-11-20', '09:00'), '2026-11-20', 'the next morning, before its sessions: Friday');
  t.equal(close(true, '2026-11-20', '14:59'), '2026-11-20', 'Friday while a session is on: Friday');
  t.equal(close(true, '2026-11-20', '15:00'), '2026-11-23', 'Friday after its last session: Monday');
  t.equal(close(true, '2026-11-22', '10:00'), '2026-11-23', 'on Sunday: Monday');
  t.equal(close(true, '2026-11-23', '10:00'), '2026-11-23', 'on Monday: Monday');
  t.equal(close(true, '2026-09-30', '16:00', '2026-09-29'), '2026-10-08', 'after the last session before National Day: the first day after the holidays');
  // All day long (the demo's profile) sessions never end: the clock's day itself.
  const h = new Harness({ tradingDate: '2026-11-19', time: '09:00' });
  h.list(national(), 'CEA24', '57.46');
  h.at('2026-11-21', '23:59');
  const r = ok(h.operator({ type: 'endOfDay', date: '2026-11-19', toClock: true }));
  t.equal((r.events.find((e) => e.type === 'endOfDay') as { nextDate: string }).nextDate, '2026-11-21', 'all day: Saturday at 23:59 is a trading day still');
});

t.test('a new market\'s first trading day: today until its sessions are over', async (t) => {
  const first = (date: string, time: string) => {
    const h = market(date);
    return dateOfDay(firstTradingDay(h.engine, cst(date, time)));
  };
  t.equal(first('2026-11-23', '08:00'), '2026-11-23', 'Monday morning: Monday');
  t.equal(first('2026-11-23', '14:59'), '2026-11-23', 'Monday in its last session: Monday');
  t.equal(first('2026-11-23', '15:00'), '2026-11-24', 'Monday once it is over: Tuesday');
  t.equal(first('2026-11-21', '10:00'), '2026-11-23', 'Saturday: Monday');
  t.equal(first('2026-11-20', '20:00'), '2026-11-23', 'Friday evening: Monday');
});

t.test('a calendar known through the year\'s end: the next year does not trade until an operator enters its holidays', async (t) => {
  const h = market('2026-12-31'); // the shipped profiles' calendarThrough
  h.at('2026-12-31', '15:00');
  const eod = ok(h.operator({ type: 'endOfDay', date: '2026-12-31', toClock: true }));
  t.equal((eod.events.find((e) => e.type === 'endOfDay') as { nextDate: string }).nextDate, '2027-01-01', 'New Year\'s Day is a weekday of the calendar');
  h.at('2027-01-01', '10:00');
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', /^2027-01-01 is after the calendar of CEA24 \(venue CEA\), known through 2026-12-31: its holidays are not entered yet, and an operator extends it before it trades$/);
  const calendar = (change: Record<string, unknown>) => h.operator({ type: 'setCalendar', venue: 'CEA', reason: '2027 calendar published', ...change } as never);
  const profile = () => h.engine.instrument('CEA24')!.profile;

  expectReject(t, h, () => calendar({ addHolidays: ['2027-01-01'] }), 'INVALID_COMMAND', /^2027-01-01, a holiday of CEA24, is after calendarThrough 2026-12-31: extend calendarThrough to take it$/);
  expectReject(t, h, () => calendar({ addHolidays: ['2026-12-31'], calendarThrough: '2027-12-31' }), 'DAY_ALREADY_CLOSED', /^2026-12-31 is before the trading day 2027-01-01/);
  expectReject(t, h, () => calendar({ calendarThrough: '2026-12-31' }), 'INVALID_COMMAND', /^calendarThrough 2026-12-31 is before the trading day 2027-01-01/);
  expectReject(t, h, () => calendar({ addHolidays: ['2027-02-10'], removeHolidays: ['2027-02-10'], calendarThrough: '2027-12-31' }), 'INVALID_COMMAND', '2027-02-10 is both added and removed');
  expectReject(t, h, () => calendar({ addHolidays: ['2027-02-30'] }), 'INVALID_COMMAND', 'addHolidays: "2027-02-30" is not a real date');
  expectReject(t, h, () => h.operator({ type: 'setCalendar', venue: 'XX', reason: 'r', calendarThrough: '2027-12-31' } as never), 'UNKNOWN_VENUE', 'the venues are CEA');
  expectReject(t, h, () => calendar({ calendarThrough: '2027-12-31', reason: '' }), 'INVALID_COMMAND');
  expectReject(t, h, () => h.run({ role: 'risk', id: 'r1' }, { type: 'setCalendar', venue: 'CEA', calendarThrough: '2027-12-31', reason: 'r' } as never), 'NOT_PERMITTED');
  t.equal(profile().through, localDayOf('2026-12-31'), 'nothing refused changed the calendar');

  ok(calendar({ addHolidays: ['2027-01-01', '2027-02-15', '2027-02-16'], calendarThrough: '2027-12-31' }));
  t.same(profile().source.holidays.filter((d) => d >= '2027'), ['2027-01-01', '2027-02-15', '2027-02-16'], 'the holidays entered');
  t.equal(profile().source.calendarThrough, '2027-12-31');
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', /^2027-01-01 is not a trading day of CEA24 \(venue CEA\): a holiday in its calendar$/);
  expectReject(t, h, () => calendar({ addHolidays: ['2027-01-01'] }), 'NO_CHANGE', 'the calendar of CEA has those holidays already');

  // The day that turned out a holiday closes as a day without trades; the next weekday trades.
  h.at('2027-01-01', '16:00');
  const next = ok(h.operator({ type: 'endOfDay', date: '2027-01-01', toClock: true }));
  t.equal((next.events.find((e) => e.type === 'endOfDay') as { nextDate: string }).nextDate, '2027-01-04');
  h.at('2027-01-04', '10:00');
  ok(h.order('B1-A', cea('buy', '57.00', 10)));
  // A holiday taken back: that day trades after all.
  ok(calendar({ removeHolidays: ['2027-02-16'] }));
  t.notOk(profile().holidays.has(localDayOf('2027-02-16')), '2027-02-16 trades');

  // What the calendar is now is what a snapshot keeps.
  const restored = Engine.restore(JSON.parse(JSON.stringify(h.engine.snapshot())));
  const again = restored.instrument('CEA24')!.profile;
  t.same([...again.holidays].sort(), [...profile().holidays].sort(), 'the holidays, through a snapshot');
  t.equal(again.through, localDayOf('2027-12-31'));
});

t.test('today made a holiday: orders are refused from then on, whatever session was found open before', async (t) => {
  const h = market('2026-11-20');
  h.at('2026-11-20', '10:00');
  ok(h.order('B1-A', cea('buy', '57.00', 10))); // the session found open is remembered
  ok(h.operator({ type: 'setCalendar', venue: 'CEA', addHolidays: ['2026-11-20'], reason: 'closed at short notice' } as never));
  h.at('2026-11-20', '10:01');
  expectReject(t, h, () => h.order('B1-A', cea('buy', '57.00', 10)), 'MARKET_CLOSED', 'a holiday in its calendar');
});
