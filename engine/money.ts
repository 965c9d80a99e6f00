// Money and prices at the edges. Inside the engine a price is an integer count of fen (0.01 CNY) per
// tonne, money is integer fen and quantities are whole tonnes. decimal.js is used only where a
// decimal string comes in or goes out, and where a percentage has to be rounded to the tick.
import { Decimal } from 'decimal.js';

/** decimal.js with room for every product and quotient of amounts and rates here, exactly. */
const Exact = Decimal.clone({ precision: 60 });

const PRICE_RE = /^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$/;
const RATE_RE = /^(0|[1-9][0-9]{0,2})(\.[0-9]{1,8})?$/;

/**
 * Parses a decimal CNY string ("57.46", "57.5", "57"; at most 14 integer digits, so that the largest
 * amount a command takes, 10,000,000,000,000.00, can be written) into fen; null when it is not one.
 * What passes MAX_AMOUNT is refused by the command that checks it, in words.
 */
export function parseMoney(text: string): number | null {
  if (typeof text !== 'string' || !PRICE_RE.test(text)) return null;
  const dot = text.indexOf('.');
  if (dot < 0) return Number(text) * 100;
  const frac = text.slice(dot + 1);
  return Number(text.slice(0, dot)) * 100 + Number(frac.length === 1 ? frac + '0' : frac);
}

/** Formats fen as a decimal string with exactly two decimals: 5746 → "57.46", -5 → "-0.05". */
export function formatMoney(fen: number): string {
  const neg = fen < 0;
  const abs = neg ? -fen : fen;
  const units = Math.floor(abs / 100);
  const cents = abs - units * 100;
  return (neg ? '-' : '') + units + '.' + (cents < 10 ? '0' : '') + cents;
}

/** Money and quantities stay far inside 2^53 (about 9·10^15): 10^15 fen is ten trillion yuan. */
export const MAX_AMOUNT = 1e15;

/** A whole number above 0 that a double holds exactly: an id, a quantity, a price in fen. */
export const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * Why a price (fen) is not one the engine takes, or null: a positive multiple of the tick, and at
 * most MAX_AMOUNT, the engine's bound on every amount (not a market rule: the bands are those).
 * `what` names it in the message: "price", "the listing price".
 */
export function priceFault(price: unknown, tick: number, what = 'price'): string | null {
  if (!Number.isSafeInteger(price) || (price as number) <= 0 || (price as number) % tick !== 0) return `${what} must be a positive multiple of the tick ${formatMoney(tick)}`;
  if ((price as number) > MAX_AMOUNT) return `${what} must be at most ${formatMoney(MAX_AMOUNT)}`;
  return null;
}

/** A fee rate or a percentage given as a decimal string, as an integer count of parts per 10^8. */
export const RATE_SCALE = 100_000_000;

/** Parses a rate of turnover ("0.005" = 0.5 %) into parts per 10^8; null when malformed or ≥ 1. */
export function parseRate(text: string): number | null {
  if (typeof text !== 'string' || !RATE_RE.test(text)) return null;
  const d = new Decimal(text);
  if (d.gte(1)) return null;
  return d.mul(RATE_SCALE).toNumber();
}

/** Parses a percentage ("10", "7.5") into parts per 10^8 of the whole (10 % → 10_000_000). */
export function parsePercent(text: string): number | null {
  if (typeof text !== 'string' || !RATE_RE.test(text)) return null;
  const d = new Decimal(text);
  if (d.gt(100)) return null;
  const parts = d.mul(RATE_SCALE).div(100);
  return parts.isInteger() ? parts.toNumber() : null;
}

export function formatPercent(rate: number): string {
  return new Decimal(rate).mul(100).div(RATE_SCALE).toString();
}

/**
 * amount × rate / 10^8 as an exact integer, rounded half-up (mode 'half-up') or up ('ceil').
 * Splits the amount so that no intermediate product leaves the exact range of a double.
 */
export function applyRate(amount: number, rate: number, mode: 'half-up' | 'ceil'): number {
  if (rate === 0 || amount === 0) return 0;
  const high = Math.floor(amount / RATE_SCALE);
  const low = amount - high * RATE_SCALE; // < 10^8, so low × rate < 10^16 … split once more
  const lowHigh = Math.floor(low / 10_000);
  const lowLow = low - lowHigh * 10_000;
  // amount × rate = high·rate·10^8 + lowHigh·rate·10^4 + lowLow·rate; divide by 10^8
  const partA = high * rate; // exact integer result part
  const mid = lowHigh * rate; // < 10^4 · 10^8 = 10^12
  const small = lowLow * rate; // < 10^12
  // (mid·10^4 + small) / 10^8 = mid / 10^4 + small / 10^8
  const midWhole = Math.floor(mid / 10_000);
  const midRest = mid - midWhole * 10_000; // < 10^4, worth midRest·10^4 in units of 10^-8
  const numerator = midRest * 10_000 + small; // < 10^8 + 10^12, exact
  const whole = Math.floor(numerator / RATE_SCALE);
  const rest = numerator - whole * RATE_SCALE;
  let result = partA + midWhole + whole;
  if (mode === 'half-up') { if (rest * 2 >= RATE_SCALE) result += 1; }
  else if (rest > 0) result += 1;
  return result;
}

/** The fee on one side of one trade: the rate of turnover, rounded half-up to the fen. */
export function tradeFee(turnover: number, rate: number): number {
  return applyRate(turnover, rate, 'half-up');
}

/**
 * What a buy order must hold back for its fees: the fee on its whole notional, rounded up, plus
 * half a fen for every tonne, because each fill rounds its own fee half-up and an order of q tonnes
 * fills at most q times. Zero when the venue charges no fee.
 */
export function buyFeeReserve(notional: number, quantity: number, rate: number): number {
  if (rate === 0) return 0;
  return applyRate(notional, rate, 'ceil') + Math.ceil(quantity / 2);
}

/**
 * reference × (1 ± pct), rounded half-up to the tick: the band limits of MARKET-RULES section 3.
 * All values in fen except pct in parts per 10^8.
 */
export function bandLimits(reference: number, pct: number, tick: number): { low: number; high: number } {
  // Exact: a reference of up to 16 digits times a rate of up to 9 gives up to 25, past decimal.js's
  // default 20 significant digits, which would round before the half-up to the tick.
  const ref = new Exact(reference);
  const p = new Exact(pct).div(RATE_SCALE);
  const toTick = (v: Decimal) => v.div(tick).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).mul(tick).toNumber();
  const low = Math.max(tick, toTick(ref.mul(new Exact(1).minus(p))));
  return { low, high: toTick(ref.mul(new Exact(1).plus(p))) };
}

/** Half-up rounding of a ratio of two integers to an integer: the average price of a set of fills. */
export function divideHalfUp(numerator: number, denominator: number): number {
  // Safe non-negative integers (every average price): integer arithmetic, exact and cheap (an order's
  // view computes its average on every answer). A float quotient may be one off; the remainder says.
  if (Number.isSafeInteger(numerator) && Number.isSafeInteger(denominator) && numerator >= 0 && denominator > 0) {
    let q = Math.floor(numerator / denominator);
    let r = numerator - q * denominator;
    while (r < 0) { q--; r += denominator; }
    while (r >= denominator) { q++; r -= denominator; }
    return r * 2 >= denominator ? q + 1 : q;
  }
  return new Exact(numerator).div(denominator).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
}
