// A new market's first trading day is the first day, from the day it is first started, on which one
// of its instruments trades: started on a Sunday with the published calendars (no allDay), it trades
// from Monday, refuses Sunday's orders for that reason, and has no Sunday to close. An instrument
// says whether its sessions are open now, as an order would find them. Over real HTTP, with the
// exchange's clock set.
import t from 'tap';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startExchange } from '../../gateway/exchange.ts';
import { ROOT, tempFolder } from '../support/exchangeProcess.ts';
import { call, expectError, KEY_SPECS, KEYS } from '../support/server.ts';

const folder = tempFolder('first-day-test-');
t.teardown(folder.remove);
cpSync(join(ROOT, 'markets'), join(folder.path, 'markets'), { recursive: true });
const marketsFile = join(folder.path, 'markets', 'demo.json');
const demo = JSON.parse(readFileSync(marketsFile, 'utf8')) as { allDay?: boolean };
delete demo.allDay;
writeFileSync(marketsFile, JSON.stringify(demo));

const cst = (date: string, time: string) => Date.parse(`${date}T${time}:00+08:00`);

t.test('first started on a Sunday: the trading day is Monday', async (t) => {
  let clock = cst('2026-11-22', '10:00'); // a Sunday
  const dataDir = join(folder.path, 'sunday');
  const ex = await startExchange({ dataDir, marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  t.teardown(() => ex.close());
  const base = await ex.listen(0, '127.0.0.1');
  t.equal(ex.gateway.engine.tradingDate, '2026-11-23', 'the first trading day is the Monday');
  const order = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 };
  expectError(t, await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order }), 503, 'MARKET_CLOSED', /^orders are taken for the trading day 2026-11-23, not 2026-11-22$/);
  expectError(t, await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} }), 409, 'DAY_NOT_STARTED', /2026-11-23 has not begun/);
  expectError(t, await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: { date: '2026-11-22' } }), 409, 'DAY_ALREADY_CLOSED', /the exchange did not trade then/);
  // What the instrument says of it, as orders would find it: CEA24's listed sessions are 09:30–11:30
  // and 13:00–15:00, its block session 13:00–15:00.
  const sessions = async () => {
    const i = (await call(base, 'GET', '/v1/instruments/CEA24')).body as { tradingDate: string; listedSession: string; blockSession: string; status: string };
    return [i.tradingDate, i.listedSession, i.blockSession, i.status];
  };
  t.same(await sessions(), ['2026-11-23', 'closed', 'closed', 'trading'], 'Sunday: closed, the trading day Monday');
  clock = cst('2026-11-23', '10:00');
  t.same(await sessions(), ['2026-11-23', 'open', 'closed', 'trading'], 'Monday 10:00: listed open, block not yet');
  const placed = await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order });
  t.equal(placed.status, 201, `Monday in session: the order is taken (${placed.text.slice(0, 120)})`);
  clock = cst('2026-11-23', '12:00');
  t.same(await sessions(), ['2026-11-23', 'closed', 'closed', 'trading'], 'the midday break');
  expectError(t, await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order }), 503, 'MARKET_CLOSED', /is closed now/, 'as an order finds it');
  clock = cst('2026-11-23', '13:30');
  t.same(await sessions(), ['2026-11-23', 'open', 'open', 'trading'], 'the afternoon: both');
  clock = cst('2026-11-23', '15:35'); // after the last session (Guangdong's, to 15:30)
  const closed = await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} });
  t.equal(closed.status, 200, `Monday closes after its sessions: ${closed.text.slice(0, 200)}`);
  t.match(closed.body, { date: '2026-11-23', nextDate: '2026-11-24' });
  t.same(await sessions(), ['2026-11-24', 'closed', 'closed', 'trading'], 'after the end of day: Tuesday\'s, closed until its session');
});

t.test('first started on a Monday: that day', async (t) => {
  const ex = await startExchange({ dataDir: join(folder.path, 'monday'), marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => cst('2026-11-23', '08:00') });
  t.teardown(() => ex.close());
  t.equal(ex.gateway.engine.tradingDate, '2026-11-23');
});

t.test('the demo (allDay) trades every day: a Sunday is its first trading day; after the end of day, closed until midnight', async (t) => {
  let clock = cst('2026-11-22', '10:00');
  const ex = await startExchange({ dataDir: join(folder.path, 'demo'), marketsFile: join(ROOT, 'markets', 'demo.json'), keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  t.teardown(() => ex.close());
  t.equal(ex.gateway.engine.tradingDate, '2026-11-22');
  const base = await ex.listen(0, '127.0.0.1');
  const sessions = async () => ((await call(base, 'GET', '/v1/instruments')).body as { listedSession: string; blockSession: string; tradingDate: string }[])
    .map((i) => `${i.tradingDate} ${i.listedSession} ${i.blockSession}`);
  t.same(new Set(await sessions()), new Set(['2026-11-22 open open']), 'every instrument open');
  t.equal((await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} })).status, 200);
  t.same(new Set(await sessions()), new Set(['2026-11-23 closed closed']), 'after the end of day: closed, the trading day the next');
  clock = cst('2026-11-23', '00:00');
  t.same(new Set(await sessions()), new Set(['2026-11-23 open open']), 'from midnight: open');
});

t.test('first started on a Monday evening, after its sessions: Tuesday, with no Monday to close', async (t) => {
  let clock = cst('2026-11-23', '20:00');
  const ex = await startExchange({ dataDir: join(folder.path, 'monday-evening'), marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  t.teardown(() => ex.close());
  const base = await ex.listen(0, '127.0.0.1');
  t.equal(ex.gateway.engine.tradingDate, '2026-11-24', 'the first trading day is the Tuesday');
  expectError(t, await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} }), 409, 'DAY_NOT_STARTED', /2026-11-24 has not begun/);
  clock = cst('2026-11-24', '10:00');
  const order = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 };
  t.equal((await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order })).status, 201, 'Tuesday in session: taken');
});

t.test('an end of day run late moves the exchange to the clock\'s trading day, not to a day it missed; a restart replays it', async (t) => {
  let clock = cst('2026-11-19', '10:00'); // a Thursday
  const dataDir = join(folder.path, 'late');
  let ex = await startExchange({ dataDir, marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  let base = await ex.listen(0, '127.0.0.1');
  const order = (price: string) => ({ accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price, quantity: 100 });
  const thursday = await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order('57.00') });
  t.equal(thursday.status, 201, 'Thursday\'s order rests');
  // Nobody closes Thursday; on Monday morning the exchange still stands on it.
  clock = cst('2026-11-23', '10:00');
  expectError(t, await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order('57.10') }), 503, 'MARKET_CLOSED', /^orders are taken for the trading day 2026-11-19, not 2026-11-23$/);
  const closed = await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} });
  t.equal(closed.status, 200, closed.text.slice(0, 200));
  t.match(closed.body, { date: '2026-11-19', nextDate: '2026-11-23' }, 'Thursday closed, Monday next: Friday, which took no order, is skipped');
  const expired = await call(base, 'GET', `/v1/orders/${(thursday.body as { order: { orderId: string } }).order.orderId}`, { key: KEYS.M1 });
  t.equal(expired.status, 404, 'Thursday\'s order is of a closed day');
  const monday = await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order('57.10') });
  t.equal(monday.status, 201, `Monday's order is taken at once (${monday.text.slice(0, 120)})`);
  expectError(t, await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: { date: '2026-11-20' } }), 409, 'DAY_ALREADY_CLOSED', /the exchange did not trade then/);
  t.equal((await call(base, 'GET', '/v1/settlement/2026-11-20', { key: KEYS.operator })).status, 404, 'no settlement for Friday');
  const settled = await call(base, 'GET', '/v1/settlement/2026-11-19', { key: KEYS.operator });
  t.equal(settled.status, 200, `Thursday's settlement (${settled.text.slice(0, 120)})`);

  // Run late once Monday's sessions are over (Guangdong's last ends 15:30): Tuesday next.
  clock = cst('2026-11-23', '16:00');
  t.match((await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} })).body, { date: '2026-11-23', nextDate: '2026-11-24' }, 'in time: the next day');
  clock = cst('2026-11-25', '16:00'); // Wednesday, after its sessions: Tuesday closed late
  t.match((await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} })).body, { date: '2026-11-24', nextDate: '2026-11-26' }, 'after Wednesday\'s sessions: Thursday next, Wednesday never opened');

  await ex.close();
  ex = await startExchange({ dataDir, marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  t.teardown(() => ex.close());
  base = await ex.listen(0, '127.0.0.1');
  t.equal(ex.gateway.engine.tradingDate, '2026-11-26', 'the journal replays to the same trading day');
  const listed = (await call(base, 'GET', '/v1/orders', { key: KEYS.M1 })).body as unknown[];
  t.same(listed, [], 'and today no order');
});

t.test('a venue\'s calendar over HTTP: the next year does not trade until an operator enters it; the change is audited and replayed', async (t) => {
  let clock = cst('2026-12-31', '10:00');
  const dataDir = join(folder.path, 'calendar');
  let ex = await startExchange({ dataDir, marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  let base = await ex.listen(0, '127.0.0.1');
  const instrument = async () => (await call(base, 'GET', '/v1/instruments/CEA24')).body as { calendarThrough: string | null; listedSession: string };
  t.equal((await instrument()).calendarThrough, '2026-12-31', 'the shipped calendar is known through 2026-12-31');
  clock = cst('2026-12-31', '16:00');
  t.match((await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} })).body, { date: '2026-12-31', nextDate: '2027-01-01' });
  clock = cst('2027-01-01', '10:00');
  const order = { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 100 };
  expectError(t, await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order }), 503, 'MARKET_CLOSED', /after the calendar of CEA24 \(venue CEA\), known through 2026-12-31/);
  t.equal((await instrument()).listedSession, 'closed', 'the instrument says its session is closed');

  const path = '/v1/admin/venues/CEA/calendar';
  const change = { addHolidays: ['2027-01-01', '2027-02-15'], calendarThrough: '2027-12-31', reason: '2027 calendar published' };
  for (const key of [KEYS.M1, KEYS.risk]) expectError(t, await call(base, 'PATCH', path, { key, body: change }), 403, 'NOT_PERMITTED');
  expectError(t, await call(base, 'PATCH', path, { key: KEYS.operator, body: { ...change, addHolidays: ['1 Jan'] } }), 400, 'INVALID_REQUEST');
  expectError(t, await call(base, 'PATCH', path, { key: KEYS.operator, body: { addHolidays: ['2027-01-01'] } }), 400, 'INVALID_REQUEST', /reason/);
  expectError(t, await call(base, 'PATCH', '/v1/admin/venues/NOPE/calendar', { key: KEYS.operator, body: change }), 404, 'UNKNOWN_VENUE');
  expectError(t, await call(base, 'PATCH', path, { key: KEYS.operator, body: { addHolidays: ['2027-01-01'], reason: 'r' } }), 400, 'INVALID_COMMAND', /extend calendarThrough/);
  const done = await call(base, 'PATCH', path, { key: KEYS.operator, body: change });
  t.equal(done.status, 200, done.text.slice(0, 200));
  t.same(done.body, {
    venue: 'CEA',
    instruments: ['CEA23', 'CEA24', 'CEA25'].map((symbol) => ({ symbol, holidays: ['2027-01-01', '2027-02-15'], calendarThrough: '2027-12-31' })),
  }, 'every instrument of the venue, its holidays from the trading day on');
  expectError(t, await call(base, 'PATCH', path, { key: KEYS.operator, body: change }), 409, 'NO_CHANGE');
  expectError(t, await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order }), 503, 'MARKET_CLOSED', /a holiday in its calendar/);
  const audit = (await call(base, 'GET', '/v1/risk/audit', { key: KEYS.risk })).body as { action: string; what: Record<string, unknown>; why: string; outcome: string }[];
  t.match(audit.filter((a) => a.action === 'setCalendar').map((a) => [a.outcome, a.what, a.why]), [
    ['refused', { venue: 'NOPE' }, '2027 calendar published'],
    ['refused', { venue: 'CEA', addHolidays: ['2027-01-01'], removeHolidays: [] }, 'r'],
    ['done', { venue: 'CEA', addHolidays: ['2027-01-01', '2027-02-15'], removeHolidays: [], calendarThrough: '2027-12-31' }, '2027 calendar published'],
    ['refused', {}, '2027 calendar published'],
  ], 'in the audit trail, with what was refused');
  t.notOk(audit.some((a) => 'toClock' in a.what || 'strict' in a.what), 'how the engine takes a command is not in the trail');

  await ex.close();
  ex = await startExchange({ dataDir, marketsFile, keys: KEY_SPECS, rateLimit: 0, now: () => clock });
  t.teardown(() => ex.close());
  base = await ex.listen(0, '127.0.0.1');
  t.equal((await instrument()).calendarThrough, '2027-12-31', 'after a restart, the calendar as changed');
  clock = cst('2027-01-01', '16:00');
  t.match((await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} })).body, { date: '2027-01-01', nextDate: '2027-01-04' });
  clock = cst('2027-01-04', '10:00');
  t.equal((await call(base, 'POST', '/v1/orders', { key: KEYS.M1, body: order })).status, 201, 'Monday trades');
});
