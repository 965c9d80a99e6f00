// The end of the trading day (MARKET-RULES section 11, steps 1–3): expire DAY orders and open block
// proposals, compute each instrument's close by its venue's rule, roll the reference price and bands
// to the next trading day, and make today's pending allowances available. The `endOfDay` event it
// emits carries the day's statistics and every account's closing balances; the settlement outputs
// (persistence/) are built from the day's events and that event.
import { isTradingDay, localDay, localMinute } from './calendar.ts';
import type { EndOfDay } from './commands.ts';
import type { Engine, Result } from './engine.ts';
import { reject } from './errors.ts';
import type { DayInstrumentStats, EndOfDayEvent } from './events.ts';
import { DayStats, type Instrument } from './instrument.ts';
import { divideHalfUp } from './money.ts';
import { dateOfDay, dayOfDate, type CompiledProfile } from './profile.ts';

/**
 * The minute the last session of the modes that have sessions ends, leaving out modes open all day
 * long (the demo's allDay): those do not hold the end of day back, a block session of 13:00–15:00
 * beside them does. Null when every mode is open all day: the day may be closed at any time.
 */
function lastSessionEnd(profile: CompiledProfile): number | null {
  let end: number | null = null;
  for (const ranges of Object.values(profile.sessions)) {
    if (ranges.length === 0 || (ranges.length === 2 && ranges[0] === 0 && ranges[1] === 1440)) continue;
    end = Math.max(end ?? 0, ranges[ranges.length - 1]);
  }
  return end;
}

/**
 * The close of MARKET-RULES section 4: VWAP of the listed trades, half-up to the fen; the venue's rule
 * when thin; without a listed trade the previous close, or (`atReference`, the rule of today) the
 * reference price in force: the previous close unless a risk officer set another, which stands then
 * (a corrected listing price is not lost overnight on a day nobody traded).
 */
export function closeOf(inst: Instrument, atReference = false): number {
  const s = inst.stats;
  const previous = atReference ? inst.referencePrice : inst.prevClose;
  if (s.listedVolume === 0) return previous;
  const thin = inst.profile.source.closeRule.thinListedVolume;
  if (thin !== null && s.listedVolume <= thin) return inst.profile.source.closeRule.whenThin === 'open' ? (s.open as number) : previous;
  return divideHalfUp(s.listedTurnover, s.listedVolume);
}

export function endOfDay(e: Engine, c: EndOfDay): Result {
  const day = typeof c.date === 'string' ? dayOfDate(c.date) : null;
  if (day === null) return reject('INVALID_COMMAND', 'date must be the trading day to close, "YYYY-MM-DD"');
  if (day < e.tradingDay) return reject('DAY_ALREADY_CLOSED', `${c.date} is before the trading day ${e.tradingDate}: it has been closed already, or the exchange did not trade then`);
  // A later day is a well-formed request at the wrong moment: a conflict with the state, as above.
  if (day > e.tradingDay) return reject('DAY_NOT_STARTED', `${c.date} has not begun as a trading day: the trading day is ${e.tradingDate}, which is closed first`);
  const stampDay = localDay(c.time);
  const minute = localMinute(c.time);
  // A day is closed once it has been traded, never ahead of the clock (even where sessions run all
  // day): closing tomorrow today would publish its settlement and refuse every order until then.
  if (stampDay < e.tradingDay) {
    return reject('DAY_NOT_STARTED', `the trading day ${e.tradingDate} has not begun: it is ${dateOfDay(stampDay)} on the exchange's clock (UTC+8)`);
  }
  for (const inst of e.instruments) {
    const profile = inst.profile;
    const end = lastSessionEnd(profile);
    if (end === null || !isTradingDay(profile, e.tradingDay)) continue;
    if (stampDay < e.tradingDay || (stampDay === e.tradingDay && minute < end)) {
      const hh = String(Math.floor(end / 60)).padStart(2, '0'), mm = String(end % 60).padStart(2, '0');
      return reject('SESSION_OPEN', `${inst.symbol} trades until ${hh}:${mm} (UTC+8) on ${e.tradingDate}; the end of day runs after that`);
    }
  }

  // 1. Expire what is still open and release what it froze.
  for (const order of e.allOpenOrders()) {
    e.endResting(order, 'expired', 'end_of_day', c);
  }
  e.blocks.expireAll(c);
  // An auction's window closes with the day: what is still open is allocated, and its trades count today.
  e.auctions.closeAll(c);

  const largeHolders = e.largeHolders();

  // 2. Statistics and the close; 3. tomorrow's reference price and bands.
  const instruments: DayInstrumentStats[] = [];
  for (const inst of e.instruments) {
    const s = inst.stats;
    const atReference = c.strict === true;
    const close = closeOf(inst, atReference);
    const t = inst.totals;
    t.add(s);
    instruments.push({
      symbol: inst.symbol, prevClose: inst.prevClose, open: s.open ?? (atReference ? inst.referencePrice : inst.prevClose), high: s.high, low: s.low,
      last: s.last, close, listedVolume: s.listedVolume, listedTurnover: s.listedTurnover, blockVolume: s.blockVolume,
      blockTurnover: s.blockTurnover, auctionVolume: s.auctionVolume, auctionTurnover: s.auctionTurnover, trades: s.trades,
      cumulativeVolume: t.volume, cumulativeTurnover: t.turnover,
    });
    inst.stats = new DayStats();
    inst.prevClose = close;
    inst.setReference(close);
    inst.book.setRange(inst.bandLow, inst.bandHigh);
  }

  // Pending allowances become available; balances close.
  const accounts: EndOfDayEvent['accounts'] = [];
  for (const acct of e.accountsById()) {
    const holdings: [string, number][] = [];
    for (const pos of acct.positions) {
      if (pos === undefined) continue;
      pos.available += pos.pending;
      pos.pending = 0;
      if (pos.available > 0) holdings.push([e.instruments[pos.instrumentIndex].symbol, pos.available]);
    }
    accounts.push({ accountId: acct.id, member: acct.member, cash: acct.cash, holdings });
  }

  const closed = e.tradingDay;
  e.tradingDay = c.toClock === true ? openDayAfter(e, closed, stampDay, minute) : nextTradingDay(e, closed);
  e.clearDay();
  e.emit({
    type: 'endOfDay', seq: c.seq, time: c.time, date: dateOfDay(closed), nextDate: e.tradingDate,
    feesCollected: e.feesCollected, instruments, largeHolders, accounts,
  });
  return { ok: true, events: e.collected() };
}

/**
 * A new market's first trading day, started at `time`: today if a listed instrument trades today
 * and its sessions have not all ended, else the next day one trades (first started on a Sunday with
 * the published calendars, or on a Monday evening, it trades from the next weekday).
 */
export function firstTradingDay(e: Engine, time: number): number {
  const today = localDay(time);
  return openDayAfter(e, today - 1, today, localMinute(time));
}

/**
 * The first trading day after `day` that is not over at `minute` of the clock's `today`: not before
 * today, and not today once the sessions of every instrument trading today have ended (one open all
 * day never ends).
 */
function openDayAfter(e: Engine, day: number, today: number, minute: number): number {
  let next = nextTradingDay(e, day);
  while (next < today || (next === today && sessionsOver(e, next, minute))) next = nextTradingDay(e, next);
  return next;
}

/** Whether some instrument trades on `day` and the last sessions of all that do have ended by `minute`. */
function sessionsOver(e: Engine, day: number, minute: number): boolean {
  let trading = false;
  for (const inst of e.instruments) {
    if (!isTradingDay(inst.profile, day)) continue;
    trading = true;
    const end = lastSessionEnd(inst.profile);
    if (end === null || minute < end) return false;
  }
  return trading;
}

/** The first later day on which any listed venue trades. */
function nextTradingDay(e: Engine, day: number): number {
  if (e.instruments.length === 0) return day + 1;
  for (let d = day + 1; d < day + 3660; d++) {
    if (e.instruments.some((inst) => isTradingDay(inst.profile, d))) return d;
  }
  throw new Error('no venue trades within ten years of ' + dateOfDay(day));
}
