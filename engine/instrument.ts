// A listed instrument: its compiled venue profile, today's reference price and bands, its status,
// its order book and the day's statistics of its listed trades.
import { bandLimits, formatMoney, formatPercent } from './money.ts';
import type { Book, BookFactory } from './book.ts';
import type { AccountClass, ClassLimit, CompiledProfile } from './profile.ts';

export type InstrumentStatus = 'trading' | 'halted';

/** Volume (tonnes) and turnover (fen) per trading mode. */
export class Totals {
  listedVolume = 0;
  listedTurnover = 0;
  blockVolume = 0;
  blockTurnover = 0;
  auctionVolume = 0;
  auctionTurnover = 0;

  get volume(): number {
    return this.listedVolume + this.blockVolume + this.auctionVolume;
  }

  get turnover(): number {
    return this.listedTurnover + this.blockTurnover + this.auctionTurnover;
  }

  /** Rolls a day's figures into these (all-time) totals. */
  add(day: Totals): void {
    this.listedVolume += day.listedVolume;
    this.listedTurnover += day.listedTurnover;
    this.blockVolume += day.blockVolume;
    this.blockTurnover += day.blockTurnover;
    this.auctionVolume += day.auctionVolume;
    this.auctionTurnover += day.auctionTurnover;
  }
}

/** The day so far: totals per mode, and the prices of the listed trades (fen; null until the first). */
export class DayStats extends Totals {
  open: number | null = null;
  high: number | null = null;
  low: number | null = null;
  last: number | null = null;
  trades = 0;
}

export class Instrument {
  status: InstrumentStatus = 'trading';
  statusReason: string | null = null;
  listedBandRate: number;
  blockBandRate: number;
  /**
   * The last official close (the listing price until the first end of day), in fen: the day's
   * prevClose, and its open and close when it has no listed trade (MARKET-RULES section 4).
   */
  prevClose = 0;
  /**
   * Today's reference price and the limits it gives, in fen: the previous close, unless a risk
   * officer has set another for the bands (MARKET-RULES sections 3 and 8); the next end of day resets it.
   */
  referencePrice = 0;
  bandLow = 0;
  bandHigh = 0;
  blockLow = 0;
  blockHigh = 0;
  /** Caps and large-holder thresholds per account class: the profile's, as a risk officer left them. */
  readonly classCaps: Record<AccountClass, ClassLimit | null>;
  readonly classThresholds: Record<AccountClass, ClassLimit | null>;
  readonly book: Book;
  /** The session last found open, per mode (listed, block, auction), as absolute times: a cache for the gate. */
  readonly openWindow = [{ day: -1, from: 0, until: 0 }, { day: -1, from: 0, until: 0 }, { day: -1, from: 0, until: 0 }];
  stats = new DayStats();
  totals = new Totals();

  constructor(
    public readonly index: number,
    public readonly symbol: string,
    public readonly name: string,
    public readonly vintage: number | null,
    public readonly profile: CompiledProfile,
    referencePrice: number,
    bookFactory: BookFactory,
  ) {
    this.listedBandRate = profile.listedBandRate;
    this.blockBandRate = profile.blockBandRate;
    this.classCaps = { ...profile.source.positionCaps };
    this.classThresholds = { ...profile.source.largeHolder.thresholds };
    this.prevClose = referencePrice;
    this.setReference(referencePrice);
    this.book = bookFactory(this.bandLow, this.bandHigh, profile.tick);
  }

  get venue(): string {
    return this.profile.source.venue;
  }

  /** Recomputes the listed and block bands from the reference price and the band rates. */
  setReference(referencePrice: number): void {
    this.referencePrice = referencePrice;
    const listed = bandLimits(referencePrice, this.listedBandRate, this.profile.tick);
    const block = bandLimits(referencePrice, this.blockBandRate, this.profile.tick);
    this.bandLow = listed.low;
    this.bandHigh = listed.high;
    this.blockLow = block.low;
    this.blockHigh = block.high;
  }

  /** Whether a price lies outside today's listed band (the order path checks it inline). */
  outsideBand(price: number): boolean {
    return price < this.bandLow || price > this.bandHigh;
  }
}

/**
 * The most price steps a listed band may span. The book keeps a level for every step of the band
 * (the ladder: O(1) at every price), so a reference price typed a thousand times too high would
 * otherwise make it allocate millions of levels. A carbon price at ±100 % spans about 10,000.
 */
export const MAX_BAND_STEPS = 100_000;

/** Why a listed band from this price ('a listing price', 'a reference price') and rate is too wide for the book, or null when it is not. */
export function bandTooWide(referencePrice: number, listedRate: number, tick: number, priceName: string): string | null {
  const band = bandLimits(referencePrice, listedRate, tick);
  const steps = Math.round((band.high - band.low) / tick) + 1;
  if (steps <= MAX_BAND_STEPS) return null;
  const what = `${priceName} of ${formatMoney(referencePrice)} with a band of ±${formatPercent(listedRate)} %`;
  return `${what} would make the listed band ${formatMoney(band.low)}–${formatMoney(band.high)}, ${steps.toLocaleString('en-US')} price steps of ${formatMoney(tick)}; `
    + `the book keeps at most ${MAX_BAND_STEPS.toLocaleString('en-US')}: check the price (or the band)`;
}
