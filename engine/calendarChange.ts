// An operator's change to a venue's calendar on the running exchange (MARKET-RULES section 9:
// exchange holidays excluded): a year's holidays are published in advance, and a market that runs
// across the year's end takes the next year's without a new data directory. A calendar says how
// far it is known (`calendarThrough`): a day after it is not traded until it is extended, rather
// than traded as a weekday when it may be a holiday nobody entered.
import type { SetCalendar } from './commands.ts';
import type { Engine, Result } from './engine.ts';
import { reject, unknownVenue, type Rejection } from './errors.ts';
import { CODE_RE, dateOfDay, dayOfDate } from './profile.ts';

/** The most dates one change may name: a few years' holidays. */
const MAX_DATES = 1000;

/** The day numbers of a list of dates, or why it is refused. */
function daysOf(value: unknown, field: string): number[] | Rejection {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_DATES) return reject('INVALID_COMMAND', `${field} must be a list of at most ${MAX_DATES} dates "YYYY-MM-DD"`);
  const days: number[] = [];
  for (const d of value) {
    const day = typeof d === 'string' ? dayOfDate(d) : null;
    if (day === null) return reject('INVALID_COMMAND', `${field}: ${JSON.stringify(d)} is not a real date "YYYY-MM-DD"`);
    days.push(day);
  }
  return days;
}

export function setCalendar(e: Engine, c: SetCalendar): Result {
  const r = e.checkReason(c.reason);
  if (r !== null) return r;
  if (typeof c.venue !== 'string' || !CODE_RE.test(c.venue)) return reject('INVALID_COMMAND', 'venue must be a venue code such as "CEA"');
  const listed = e.instruments.filter((inst) => inst.venue === c.venue);
  if (listed.length === 0) return unknownVenue(c.venue, e.instruments);
  const add = daysOf(c.addHolidays, 'addHolidays');
  if (!Array.isArray(add)) return add;
  const remove = daysOf(c.removeHolidays, 'removeHolidays');
  if (!Array.isArray(remove)) return remove;
  const both = add.find((d) => remove.includes(d));
  if (both !== undefined) return reject('INVALID_COMMAND', `${dateOfDay(both)} is both added and removed`);
  let through: number | null | undefined;
  if (c.calendarThrough === undefined) through = undefined;
  else if (c.calendarThrough === null) through = null;
  else {
    through = typeof c.calendarThrough === 'string' ? dayOfDate(c.calendarThrough) : null;
    if (through === null) return reject('INVALID_COMMAND', 'calendarThrough must be a real date "YYYY-MM-DD", or null for no end');
  }
  // What is past stays as it was traded: a day before the trading day has been closed.
  const past = [...add, ...remove].find((d) => d < e.tradingDay);
  if (past !== undefined) {
    return reject('DAY_ALREADY_CLOSED', `${dateOfDay(past)} is before the trading day ${e.tradingDate}: the calendar of a day that has been closed is not changed`);
  }
  if (through != null && through < e.tradingDay) {
    return reject('INVALID_COMMAND', `calendarThrough ${dateOfDay(through)} is before the trading day ${e.tradingDate}: the calendar is known through today at least`);
  }

  // Each instrument keeps its own calendar (instruments listed over HTTP may differ from the
  // venue's file): the change is checked for all of them before any is changed.
  const changes = [];
  for (const inst of listed) {
    const profile = inst.profile;
    const holidays = new Set(profile.holidays);
    for (const d of add) holidays.add(d);
    for (const d of remove) holidays.delete(d);
    const until = through === undefined ? profile.through : through;
    if (until !== null) {
      const after = [...holidays].filter((d) => d > until).sort((a, b) => a - b)[0];
      if (after !== undefined) {
        return reject('INVALID_COMMAND', `${dateOfDay(after)}, a holiday of ${inst.symbol}, is after calendarThrough ${dateOfDay(until)}: extend calendarThrough to take it`);
      }
    }
    const same = until === profile.through && holidays.size === profile.holidays.size && [...holidays].every((d) => profile.holidays.has(d));
    if (!same) changes.push({ inst, holidays, until });
  }
  if (changes.length === 0) return reject('NO_CHANGE', `the calendar of ${c.venue} has those holidays${through === undefined ? '' : ` and that end (${through === null ? 'none' : dateOfDay(through)})`} already`);

  for (const { inst, holidays, until } of changes) {
    const profile = inst.profile;
    const days = [...holidays].sort((a, b) => a - b);
    profile.holidays = new Set(days);
    profile.through = until;
    profile.source = { ...profile.source, holidays: days.map(dateOfDay), calendarThrough: until === null ? null : dateOfDay(until) };
    // A session found open today is remembered per instrument: forgotten, as today may be a holiday now.
    for (const w of inst.openWindow) w.day = -1;
  }
  return { ok: true, events: e.collected() };
}
