// Market profiles: the per-venue rules of MARKET-RULES as data. A profile is read from JSON
// (markets/venues/*.json), validated field by field, and compiled into integers the hot path uses.
// A profile that fails validation throws a ProfileError naming the file and the field.
import { formatPercent, parsePercent, parseRate, parseMoney } from './money.ts';

export const ACCOUNT_CLASSES = ['compliance', 'institution', 'individual'] as const;
export type AccountClass = (typeof ACCOUNT_CLASSES)[number];
export const TRADE_MODES = ['listed', 'block', 'auction'] as const;
export type TradeMode = (typeof TRADE_MODES)[number];

/** A cap or threshold for one account class: a number of tonnes, optionally on top of the allocation. */
export interface ClassLimit { quantity: number; plusAllocation: boolean }

/** The JSON form of a venue profile, as written in markets/venues/*.json. */
export interface VenueProfile {
  venue: string;
  name: string;
  exchange: string;
  kind: 'allowance' | 'ccer';
  listedMode: string;
  instruments: { symbol: string; name: string; vintage: number | null }[];
  tick: string;
  lot: number;
  listedBandPct: string;
  blockBandPct: string;
  blockMinQuantity: number;
  blockBandExemptFromQuantity: number | null;
  maxListedOrderQuantity: number;
  marketDepthLevels: number;
  pickDepthLevels: number;
  pickQuantity: 'up_to' | 'whole';
  sessions: Record<TradeMode, [string, string][]>;
  tradingWeekdays: number[];
  holidays: string[];
  /**
   * The last day the calendar (its holidays) is known for: a day after it is not traded, as a
   * holiday not yet published might fall on it, until an operator extends the calendar. Absent or
   * null: no end (a profile listed before it existed, or the demo's all-day profiles).
   */
  calendarThrough?: string | null;
  closeRule: { method: 'vwap'; thinListedVolume: number | null; whenThin: 'open' | 'previous_close' };
  /**
   * The price the venue publishes as its day's headline (MARKET-RULES section 4): its close, when
   * absent, or the day's average price of all its trades (Beijing, Chongqing). The close, which
   * becomes the next day's reference, follows closeRule either way.
   */
  headline?: 'close' | 'average';
  fees: Record<TradeMode, { buy: string; sell: string }>;
  admittedClasses: AccountClass[];
  positionCaps: Record<AccountClass, ClassLimit | null>;
  /**
   * The one-way auction (MARKET-RULES section 2.3): the least quantity an auction offers; how far
   * from the previous close bids may go against the initiator (`limitPct`: a sell auction's bids at
   * most that far above it, a buy auction's offers at least that far below); and the reserves the
   * initiator chooses from (`reservePcts`: how far below the close a sell auction takes bids, above
   * it for a buy auction). Absent: the venue runs no auctions.
   */
  auction?: { minQuantity: number; limitPct: string; reservePcts: string[] };
  largeHolder: {
    thresholds: Record<AccountClass, ClassLimit | null>;
    reportDays: number;
    overdueAction: 'none' | 'no_buy';
    /** Whether the venue publishes its large holders (a market notice on each alert); false when absent. */
    publish: boolean;
  };
  notes?: string[];
}

/** Minutes after local midnight, as half-open ranges [start, end). */
export type SessionRanges = number[];

/** The compiled profile: everything the engine checks per command, as integers. */
export interface CompiledProfile {
  source: VenueProfile;
  tick: number; // fen
  lot: number;
  listedBandRate: number; // parts per 10^8
  blockBandRate: number;
  fees: Record<TradeMode, { buy: number; sell: number }>; // parts per 10^8 of turnover
  sessions: Record<TradeMode, SessionRanges>;
  /** The auction's limits as rates (parts per 10^8), or null when the venue runs none. */
  auction: { minQuantity: number; limitRate: number; reserveRates: number[] } | null;
  weekdays: boolean[]; // index 0 = Sunday … 6 = Saturday
  holidays: Set<number>; // day numbers
  /** The day number of calendarThrough, or null for none. */
  through: number | null;
}

export class ProfileError extends Error {
  constructor(where: string, field: string, problem: string) {
    super(`${where}: ${field}: ${problem}`);
    this.name = 'ProfileError';
  }
}

const PROFILE_FIELDS = new Set([
  'venue', 'name', 'exchange', 'kind', 'listedMode', 'instruments', 'tick', 'lot', 'listedBandPct', 'blockBandPct',
  'blockMinQuantity', 'blockBandExemptFromQuantity', 'maxListedOrderQuantity', 'marketDepthLevels', 'pickDepthLevels',
  'pickQuantity', 'sessions', 'tradingWeekdays', 'holidays', 'calendarThrough', 'closeRule', 'headline', 'fees', 'admittedClasses', 'positionCaps',
  'largeHolder', 'auction', 'notes',
]);
/** The largest quantity an order, a block proposal or an auction carries over HTTP (the gateway's QUANTITY). */
export const MAX_ORDER_QUANTITY = 1_000_000_000;
/** The highest fee rate a profile taken now may charge: 10 % of turnover (parts per 10^8); a guard against a percentage typed as a rate. */
const MAX_FEE_RATE = 10_000_000;
/** An instrument symbol or a venue code: 2–16 capitals, digits or dashes, starting with a capital. */
export const CODE_RE = /^[A-Z][A-Z0-9-]{1,15}$/;
const TIME_RE = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Day number (days since 1970-01-01) of an ISO date, or null when it is not a real date. */
export function dayOfDate(text: string): number | null {
  if (typeof text !== 'string' || !DATE_RE.test(text)) return null;
  const ms = Date.parse(text + 'T00:00:00Z');
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) return null;
  return ms / 86_400_000;
}

export function dateOfDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

export function minuteOfTime(text: string): number {
  return Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
}

/** Validates a parsed JSON value as a venue profile; `where` names its file in every error. */
/**
 * A profile checked and compiled. `strictChecks` adds the checks a profile must pass to be taken now (a
 * markets file, a new listing over HTTP) but that an instrument listed before they existed did not:
 * the engine's own listing and a snapshot's restore are lenient, so that a journal or snapshot
 * written then replays to what was acknowledged.
 */
export function validateProfile(value: unknown, where: string, strictChecks = false): CompiledProfile {
  const fail = (field: string, problem: string): never => { throw new ProfileError(where, field, problem); };
  const obj = (v: unknown, field: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(field, 'must be an object');
  const str = (v: unknown, field: string): string => (typeof v === 'string' && v.length > 0 ? v : fail(field, 'must be a non-empty string'));
  const int = (v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(field, `must be a whole number from ${min} to ${max}`);
  const oneOf = <T extends string>(v: unknown, field: string, allowed: readonly T[]): T =>
    allowed.includes(v as T) ? (v as T) : fail(field, `must be one of ${allowed.join(', ')}`);
  const pct = (v: unknown, field: string): number => {
    const r = typeof v === 'string' ? parsePercent(v) : null;
    return r !== null && r > 0 ? r : fail(field, 'must be a percentage string above 0 and at most 100, such as "10"');
  };
  const rate = (v: unknown, field: string): number => {
    const r = typeof v === 'string' ? parseRate(v) : null;
    if (r === null) return fail(field, 'must be a rate of turnover as a decimal string below 1, such as "0.005"');
    // A guard against a percentage typed as a rate ("0.5" for 0.5 %): the dearest published fee is 4 %.
    if (strictChecks && r > MAX_FEE_RATE) return fail(field, `is ${formatPercent(r)} % of turnover: a fee rate is at most 0.1 (10 %); it is a fraction, "0.005" for 0.5 %`);
    return r;
  };
  /** An object whose keys must all be among `known`, so that a misspelt key is not silently ignored. */
  const strict = (v: unknown, field: string, known: readonly string[]): Record<string, unknown> => {
    const o = obj(v, field);
    for (const key of Object.keys(o)) if (!known.includes(key)) fail(`${field}.${key}`, `is not a known field (known: ${known.join(', ')})`);
    return o;
  };
  const limit = (v: unknown, field: string): ClassLimit | null => {
    if (v === null) return null;
    const o = strict(v, field, ['quantity', 'plusAllocation']);
    if (o.plusAllocation !== undefined && typeof o.plusAllocation !== 'boolean') fail(field + '.plusAllocation', 'must be true or false');
    return { quantity: int(o.quantity, field + '.quantity', 0), plusAllocation: o.plusAllocation === true };
  };
  const classLimits = (v: unknown, field: string): Record<AccountClass, ClassLimit | null> => {
    const o = strict(v, field, ACCOUNT_CLASSES);
    const out = {} as Record<AccountClass, ClassLimit | null>;
    for (const c of ACCOUNT_CLASSES) {
      if (!(c in o)) fail(`${field}.${c}`, 'is missing (use null for no limit)');
      out[c] = limit(o[c], `${field}.${c}`);
    }
    return out;
  };

  const p = obj(value, '(profile)');
  for (const key of Object.keys(p)) if (!PROFILE_FIELDS.has(key)) fail(key, `is not a profile field (known: ${[...PROFILE_FIELDS].join(', ')})`);
  // A venue code accounts can be given by name (a new listing's; profiles listed before the check replay as they were).
  if (strictChecks && !(typeof p.venue === 'string' && CODE_RE.test(p.venue))) {
    fail('venue', 'must be a venue code of 2–16 capital letters, digits and dashes starting with a letter, such as "CEA"');
  }
  const profile: VenueProfile = {
    venue: str(p.venue, 'venue'),
    name: str(p.name, 'name'),
    exchange: str(p.exchange, 'exchange'),
    kind: oneOf(p.kind, 'kind', ['allowance', 'ccer'] as const),
    listedMode: str(p.listedMode, 'listedMode'),
    instruments: [],
    tick: str(p.tick, 'tick'),
    lot: int(p.lot, 'lot', 1, 1_000_000),
    listedBandPct: str(p.listedBandPct, 'listedBandPct'),
    blockBandPct: str(p.blockBandPct, 'blockBandPct'),
    blockMinQuantity: int(p.blockMinQuantity, 'blockMinQuantity', 1),
    blockBandExemptFromQuantity: p.blockBandExemptFromQuantity === null || p.blockBandExemptFromQuantity === undefined
      ? null : int(p.blockBandExemptFromQuantity, 'blockBandExemptFromQuantity', 1),
    maxListedOrderQuantity: int(p.maxListedOrderQuantity, 'maxListedOrderQuantity', 1, 1_000_000_000),
    marketDepthLevels: int(p.marketDepthLevels, 'marketDepthLevels', 1, 100),
    pickDepthLevels: int(p.pickDepthLevels, 'pickDepthLevels', 1, 100),
    pickQuantity: oneOf(p.pickQuantity, 'pickQuantity', ['up_to', 'whole'] as const),
    sessions: { listed: [], block: [], auction: [] },
    tradingWeekdays: [],
    holidays: [],
    closeRule: { method: 'vwap', thinListedVolume: null, whenThin: 'open' },
    fees: { listed: { buy: '0', sell: '0' }, block: { buy: '0', sell: '0' }, auction: { buy: '0', sell: '0' } },
    admittedClasses: [],
    positionCaps: classLimits(p.positionCaps, 'positionCaps'),
    largeHolder: { thresholds: { compliance: null, institution: null, individual: null }, reportDays: 3, overdueAction: 'none', publish: false },
  };
  if (p.notes !== undefined) {
    if (!Array.isArray(p.notes) || !p.notes.every((n) => typeof n === 'string')) fail('notes', 'must be an array of strings');
    profile.notes = p.notes as string[];
  }

  const tick = parseMoney(profile.tick);
  if (tick === null || tick <= 0) fail('tick', 'must be a positive price string such as "0.01"');
  const listedBandRate = pct(p.listedBandPct, 'listedBandPct');
  const blockBandRate = pct(p.blockBandPct, 'blockBandPct');

  if (!Array.isArray(p.instruments) || p.instruments.length === 0) fail('instruments', 'must be a non-empty array');
  (p.instruments as unknown[]).forEach((v, i) => {
    const o = strict(v, `instruments[${i}]`, ['symbol', 'name', 'vintage']);
    const symbol = str(o.symbol, `instruments[${i}].symbol`);
    if (!CODE_RE.test(symbol)) fail(`instruments[${i}].symbol`, 'must be 2–16 capitals, digits or dashes, starting with a capital');
    const earlier = strictChecks ? profile.instruments.findIndex((x) => x.symbol === symbol) : -1;
    if (earlier >= 0) fail(`instruments[${i}].symbol`, `lists ${symbol} a second time (also instruments[${earlier}])`);
    const vintage = o.vintage === null || o.vintage === undefined ? null : int(o.vintage, `instruments[${i}].vintage`, 2000, 2100);
    profile.instruments.push({ symbol, name: str(o.name, `instruments[${i}].name`), vintage });
  });

  const sessions = strict(p.sessions, 'sessions', TRADE_MODES);
  const compiledSessions = { listed: [], block: [], auction: [] } as Record<TradeMode, SessionRanges>;
  for (const mode of TRADE_MODES) {
    // Every mode is listed, [] for none (as every mode has its fees): a mode left out is more likely
    // forgotten than meant to be closed for good. (Lenient: a mode left out has none, as it used to.)
    const list = strictChecks ? sessions[mode] : sessions[mode] ?? [];
    if (list === undefined) fail(`sessions.${mode}`, 'is missing: list its sessions as ["HH:MM", "HH:MM"] pairs, or [] for none');
    if (!Array.isArray(list)) fail(`sessions.${mode}`, 'must be an array of ["HH:MM", "HH:MM"] pairs');
    let last = -1;
    (list as unknown[]).forEach((range, i) => {
      const field = `sessions.${mode}[${i}]`;
      if (!Array.isArray(range) || range.length !== 2 || !range.every((t) => typeof t === 'string' && TIME_RE.test(t))) {
        fail(field, 'must be a pair of times "HH:MM" (00:00 to 24:00)');
      }
      const [from, to] = range as [string, string];
      const start = minuteOfTime(from), end = minuteOfTime(to);
      if (end <= start) fail(field, `ends (${to}) before it starts (${from})`);
      if (start < last) fail(field, 'overlaps or precedes the range before it');
      last = end;
      profile.sessions[mode].push([from, to]);
      compiledSessions[mode].push(start, end);
    });
  }

  if (!Array.isArray(p.tradingWeekdays) || p.tradingWeekdays.length === 0) fail('tradingWeekdays', 'must list the ISO weekdays traded, 1 = Monday … 7 = Sunday');
  const weekdays = [false, false, false, false, false, false, false];
  (p.tradingWeekdays as unknown[]).forEach((d, i) => {
    const n = int(d, `tradingWeekdays[${i}]`, 1, 7);
    if (weekdays[n % 7]) fail(`tradingWeekdays[${i}]`, `lists weekday ${n} twice`);
    weekdays[n % 7] = true;
    profile.tradingWeekdays.push(n);
  });

  if (!Array.isArray(p.holidays)) fail('holidays', 'must be an array of dates "YYYY-MM-DD"');
  const holidays = new Set<number>();
  (p.holidays as unknown[]).forEach((d, i) => {
    const day = typeof d === 'string' ? dayOfDate(d) : null;
    if (day === null) fail(`holidays[${i}]`, 'must be a real date "YYYY-MM-DD"');
    holidays.add(day as number);
    profile.holidays.push(d as string);
  });
  let through: number | null = null;
  if (p.calendarThrough !== undefined && p.calendarThrough !== null) {
    through = typeof p.calendarThrough === 'string' ? dayOfDate(p.calendarThrough) : null;
    if (through === null) fail('calendarThrough', 'must be a real date "YYYY-MM-DD" (the last day the holidays are known for), or null for none');
    const after = profile.holidays.findIndex((d) => (dayOfDate(d) as number) > (through as number));
    if (after >= 0) fail(`holidays[${after}]`, `${profile.holidays[after]} is after calendarThrough ${p.calendarThrough as string}: extend calendarThrough to take it`);
    profile.calendarThrough = p.calendarThrough as string;
  }

  const close = strict(p.closeRule, 'closeRule', ['method', 'thinListedVolume', 'whenThin']);
  if (close.method !== 'vwap') fail('closeRule.method', 'must be "vwap" (volume-weighted average of the day\'s listed trades)');
  profile.closeRule = {
    method: 'vwap',
    thinListedVolume: close.thinListedVolume === null || close.thinListedVolume === undefined ? null : int(close.thinListedVolume, 'closeRule.thinListedVolume', 0),
    whenThin: oneOf(close.whenThin ?? 'open', 'closeRule.whenThin', ['open', 'previous_close'] as const),
  };

  // Kept only when given, so that the profiles listed before it existed read as they were written.
  if (p.headline !== undefined) profile.headline = oneOf(p.headline, 'headline', ['close', 'average'] as const);

  const fees = strict(p.fees, 'fees', TRADE_MODES);
  const compiledFees = {} as Record<TradeMode, { buy: number; sell: number }>;
  for (const mode of TRADE_MODES) {
    const f = strict(fees[mode], `fees.${mode}`, ['buy', 'sell']);
    compiledFees[mode] = { buy: rate(f.buy, `fees.${mode}.buy`), sell: rate(f.sell, `fees.${mode}.sell`) };
    profile.fees[mode] = { buy: f.buy as string, sell: f.sell as string };
  }

  if (!Array.isArray(p.admittedClasses) || p.admittedClasses.length === 0) fail('admittedClasses', `must list account classes among ${ACCOUNT_CLASSES.join(', ')}`);
  (p.admittedClasses as unknown[]).forEach((c, i) => profile.admittedClasses.push(oneOf(c, `admittedClasses[${i}]`, ACCOUNT_CLASSES)));

  const lh = strict(p.largeHolder, 'largeHolder', ['thresholds', 'reportDays', 'overdueAction', 'publish']);
  if (lh.publish !== undefined && typeof lh.publish !== 'boolean') fail('largeHolder.publish', 'must be true or false');
  profile.largeHolder = {
    thresholds: classLimits(lh.thresholds, 'largeHolder.thresholds'),
    reportDays: int(lh.reportDays, 'largeHolder.reportDays', 1, 60),
    overdueAction: oneOf(lh.overdueAction, 'largeHolder.overdueAction', ['none', 'no_buy'] as const),
    publish: lh.publish === true,
  };

  let auction: CompiledProfile['auction'] = null;
  if (p.auction !== undefined) {
    const a = strict(p.auction, 'auction', ['minQuantity', 'limitPct', 'reservePcts']);
    const minQuantity = int(a.minQuantity, 'auction.minQuantity', 1);
    const limitRate = pct(a.limitPct, 'auction.limitPct');
    if (!Array.isArray(a.reservePcts) || a.reservePcts.length === 0) fail('auction.reservePcts', 'must list the reserves an initiator may choose, such as ["0", "10"]');
    const reservePcts = a.reservePcts as unknown[];
    const reserveRates = reservePcts.map((v, i) => {
      const r = typeof v === 'string' ? parsePercent(v) : null;
      if (r === null) fail(`auction.reservePcts[${i}]`, 'must be a percentage string from 0 to 100, such as "10"');
      if (reservePcts.indexOf(v) !== i) fail(`auction.reservePcts[${i}]`, `lists ${v as string} twice`);
      return r as number;
    });
    profile.auction = { minQuantity, limitPct: a.limitPct as string, reservePcts: reservePcts as string[] };
    auction = { minQuantity, limitRate, reserveRates };
  }

  // Numbers each valid alone that together leave a mode nobody can use, or a rule switched off.
  if (strictChecks) {
    if (profile.maxListedOrderQuantity < profile.lot) {
      fail('maxListedOrderQuantity', `${profile.maxListedOrderQuantity} t is less than the lot, ${profile.lot} t: no listed order could be placed`);
    }
    if (profile.blockMinQuantity > MAX_ORDER_QUANTITY) fail('blockMinQuantity', `is above ${MAX_ORDER_QUANTITY.toLocaleString('en-US')} t, the largest quantity a proposal can carry: no block trade could be proposed`);
    if (auction !== null && auction.minQuantity > MAX_ORDER_QUANTITY) fail('auction.minQuantity', `is above ${MAX_ORDER_QUANTITY.toLocaleString('en-US')} t, the largest quantity an auction can offer: no auction could be opened`);
    const exempt = profile.blockBandExemptFromQuantity;
    if (exempt !== null && exempt <= profile.blockMinQuantity) {
      fail('blockBandExemptFromQuantity', `${exempt} t is not above the block minimum, ${profile.blockMinQuantity} t: every block trade would be exempt from the block band (for no band, leave the exemption null and set blockBandPct "100")`);
    }
  }

  return {
    source: profile,
    tick: tick as number,
    lot: profile.lot,
    listedBandRate,
    blockBandRate,
    fees: compiledFees,
    sessions: compiledSessions,
    auction,
    weekdays,
    holidays,
    through,
  };
}
