// A closed day's orders and fills (GET /v1/orders?date=, GET /v1/fills?date=) are read back from the
// journal on a thread of their own (pastDaysWorker.ts): folding a day's facts takes seconds for a busy
// day (about 800,000 commands), which on the exchange's thread held every request, heartbeat and
// probe, whoever asked. The thread keeps the last day it folded, by account, so that the members
// asking for the same day (the day before, mostly) find it folded; it lets it go when idle.
import type { OrderEvent } from '../engine/index.ts';
import type { Journal } from '../persistence/journal.ts';
import { ModuleThread } from '../persistence/moduleThread.ts';
import { History, type ClosedDay, type Fill } from './history.ts';

export interface PastDayQuery {
  what: 'orders' | 'fills';
  date: string;
  accountIds: readonly string[];
}

/** The closed days, read on the thread: the last one folded kept. */
export class ClosedDays {
  private kept: { date: string; day: ClosedDay } | null = null;

  constructor(private readonly journal: Journal) {}

  /** The accounts' orders on a closed day, each as it ended, in id order; null when `date` is not a closed day. */
  orders(date: string, accountIds: readonly string[]): OrderEvent[] | null {
    const day = this.day(date);
    if (day === null) return null;
    return accountIds.flatMap((a) => day.orders.get(a) ?? []).sort((x, y) => x.orderId - y.orderId);
  }

  /** The accounts' fills on a closed day, in trade order (a trade's buy before its sell); null when `date` is not a closed day. */
  fills(date: string, accountIds: readonly string[]): Fill[] | null {
    const day = this.day(date);
    if (day === null) return null;
    return accountIds.flatMap((a) => day.fills.get(a) ?? []).sort((x, y) => x.tradeId - y.tradeId || (x.side < y.side ? -1 : 1));
  }

  answer(q: PastDayQuery): OrderEvent[] | Fill[] | null {
    return q.what === 'orders' ? this.orders(q.date, q.accountIds) : this.fills(q.date, q.accountIds);
  }

  /** Lets the day kept go. */
  forget(): void {
    this.kept = null;
  }

  private day(date: string): ClosedDay | null {
    if (this.kept?.date === date) return this.kept.day;
    this.kept = null; // never two days held at once
    const day = History.closedDay(this.journal, date);
    // A closed day's facts never change: it is kept as folded. A day not closed is not kept (it may be later).
    if (day !== null) this.kept = { date, day };
    return day;
  }
}

/** What the gateway asks: a closed day's orders and fills, answered by the thread. */
export class PastDays {
  private readonly thread: ModuleThread<PastDayQuery, OrderEvent[] | Fill[] | null>;

  constructor(journal: Journal) {
    this.thread = new ModuleThread(new URL('./pastDaysWorker.ts', import.meta.url), { dataDir: journal.dir, synchronous: journal.synchronous }, 'past days');
  }

  orders(date: string, accountIds: readonly string[]): Promise<OrderEvent[] | null> {
    return this.thread.request({ what: 'orders', date, accountIds }) as Promise<OrderEvent[] | null>;
  }

  fills(date: string, accountIds: readonly string[]): Promise<Fill[] | null> {
    return this.thread.request({ what: 'fills', date, accountIds }) as Promise<Fill[] | null>;
  }

  /** Lets the reads already asked for be answered, then ends the thread. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
