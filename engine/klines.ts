// K-lines (candlesticks) of listed trades, per instrument and interval, built from trade events.
// Block and auction trades never enter a K-line (MARKET-RULES section 2.2). Bars are aligned to
// China Standard Time, so a 1d bar runs from local midnight to midnight. A bar's close is its last
// trade, except a closed day's 1d bar: once the day's end has run, its close is the day's official
// close (MARKET-RULES section 4: the volume-weighted average, or the venue's rule when thin), the
// price the day's statistics, the settlement and the next day's band are built on.
import { CST_OFFSET_MS, localMidnight } from './calendar.ts';
import type { EndOfDayEvent, TradeEvent } from './events.ts';
import { dayOfDate } from './profile.ts';

export const KLINE_INTERVALS = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
export type KlineInterval = keyof typeof KLINE_INTERVALS;
export const INTERVAL_NAMES = Object.keys(KLINE_INTERVALS) as KlineInterval[];

export interface Kline {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  turnover: number;
}

/** How many bars each series keeps. */
const KEEP = 1500;

export function barStart(time: number, interval: KlineInterval): number {
  const ms = KLINE_INTERVALS[interval];
  return Math.floor((time + CST_OFFSET_MS) / ms) * ms - CST_OFFSET_MS;
}

export class Klines {
  private readonly series = new Map<string, Kline[]>();

  /** Folds a trade into every interval's current bar; returns the bars it changed, by interval. */
  onTrade(t: TradeEvent): [KlineInterval, Kline][] {
    if (t.mode !== 'listed') return [];
    const changed: [KlineInterval, Kline][] = [];
    for (const interval of INTERVAL_NAMES) {
      const key = t.symbol + ' ' + interval;
      let bars = this.series.get(key);
      if (bars === undefined) { bars = []; this.series.set(key, bars); }
      const start = barStart(t.time, interval);
      let bar = bars[bars.length - 1];
      if (bar === undefined || bar.openTime !== start) {
        bar = { openTime: start, open: t.price, high: t.price, low: t.price, close: t.price, volume: 0, turnover: 0 };
        bars.push(bar);
        if (bars.length > KEEP) bars.splice(0, bars.length - KEEP);
      }
      if (t.price > bar.high) bar.high = t.price;
      if (t.price < bar.low) bar.low = t.price;
      bar.close = t.price;
      bar.volume += t.quantity;
      bar.turnover += t.price * t.quantity;
      changed.push([interval, bar]);
    }
    return changed;
  }

  /**
   * A day's end: the 1d bar of each instrument that traded listed that day takes the official close.
   * Returns the symbols that have such a bar, whether or not its close moved: each is published
   * again, the sign subscribers have that the day's close is now the official one.
   */
  onEndOfDay(e: EndOfDayEvent): string[] {
    const day = dayOfDate(e.date);
    if (day === null) return [];
    const openTime = localMidnight(day);
    const closed: string[] = [];
    for (const s of e.instruments) {
      const bars = this.series.get(s.symbol + ' 1d') ?? [];
      // The day's bar is the last one (no trade is stamped on a later day before the day's end);
      // it is looked for all the same.
      let i = bars.length - 1;
      while (i >= 0 && bars[i].openTime > openTime) i--;
      const bar = i >= 0 && bars[i].openTime === openTime ? bars[i] : undefined;
      if (bar === undefined) continue;
      bar.close = s.close;
      closed.push(s.symbol);
    }
    return closed;
  }

  /** Every series (by "SYMBOL interval"), each bar a copy: what restore() takes back. */
  entries(): [string, Kline[]][] {
    return [...this.series].map(([key, bars]) => [key, bars.map((b) => ({ ...b }))]);
  }

  /** Puts back series that entries() gave, in place of any held. */
  restore(entries: readonly [string, Kline[]][]): void {
    this.series.clear();
    for (const [key, bars] of entries) this.series.set(key, bars.map((b) => ({ ...b })));
  }

  /** The latest `limit` bars, oldest first. */
  get(symbol: string, interval: KlineInterval, limit = 500): Kline[] {
    const bars = this.series.get(symbol + ' ' + interval) ?? [];
    return bars.slice(Math.max(0, bars.length - limit)).map((b) => ({ ...b }));
  }
}
