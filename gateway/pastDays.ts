// A closed day's orders, fills, block proposals, auctions and bids (GET /v1/orders?date=,
// /v1/fills?date=, /v1/block-trades?date=, /v1/auctions?date=, …/bids?date=) are read back from the
// journal on a thread of their own (pastDaysWorker.ts): folding a day's facts takes seconds for a busy
// day (about 800,000 commands), which on the exchange's thread held every request, heartbeat and
// probe, whoever asked. The thread also makes the answer's JSON, which the route sends as it is: a
// member with a busy day's worth of orders would otherwise hold the exchange's thread while they are
// copied back, viewed and serialised. The thread keeps the last day it folded, by account, so that
// the members asking for the same day (the day before, mostly) find it folded; it lets it go when
// idle.
import type { Journal } from '../persistence/journal.ts';
import { ModuleThread } from '../persistence/moduleThread.ts';
import { History, inTradeOrder, type ClosedDay } from './history.ts';
import { fillView, orderView, page } from './http.ts';
import { auctionView, bidView } from './routes/auctions.ts';
import { blockView } from './routes/trading.ts';

export interface PastDayQuery {
  what: 'orders' | 'fills' | 'blocks' | 'auctions' | 'bids';
  date: string;
  /** The caller's accounts: orders, fills, blocks and bids of these only; null: every account's bids. */
  accountIds: readonly string[] | null;
  /** Orders or auctions of this instrument only. */
  symbol?: string;
  /** Open orders only (a closed day has none: every order ended by its close). */
  openOnly?: boolean;
  /** Blocks or auctions in this status only (an auction's `opened`: none, on a closed day). */
  status?: string;
  /** One auction: itself (`auctions`) or its bids (`bids`). */
  auctionId?: number;
  /** A page of them (routes' `?after=&limit=`). */
  after?: string;
  limit?: number;
}

/**
 * The answer's JSON, and whether the day had to be folded for it (false: it was kept from an
 * earlier read); `found` false: the day had no auction `auctionId` (and `json` is empty).
 */
export interface PastDayAnswer { json: string; folded: boolean; found: boolean }

/** The closed days, read on the thread: the last one folded kept. */
export class ClosedDays {
  private kept: { date: string; day: ClosedDay } | null = null;

  constructor(private readonly journal: Journal) {}

  /** The answer to a read of a closed day (the reply's JSON, as the route's schema lists it), or null when `date` is not a closed day. */
  answer(q: PastDayQuery): PastDayAnswer | null {
    const found = this.day(q.date);
    if (found === null) return null;
    const { day, folded } = found;
    const answer = (value: unknown): PastDayAnswer => ({ json: JSON.stringify(value), folded, found: true });
    const mine = new Set(q.accountIds ?? []);
    const accountIds = [...mine];
    switch (q.what) {
      case 'fills': {
        const fills = accountIds.flatMap((a) => day.fills.get(a) ?? []).sort(inTradeOrder);
        return answer(page(fills, (f) => f.tradeId, q).map(fillView));
      }
      case 'orders': {
        // Open ones only: none, every order of a closed day ended by its close.
        const orders = q.openOnly === true ? [] : accountIds.flatMap((a) => day.orders.get(a) ?? [])
          .filter((o) => q.symbol === undefined || o.symbol === q.symbol)
          .sort((x, y) => x.orderId - y.orderId);
        return answer(page(orders, (o) => o.orderId, q).map(orderView));
      }
      case 'blocks': {
        // Those its accounts proposed or were party to: an open proposal of others that ended is not the caller's.
        const blocks = day.blocks.filter((b) => (mine.has(b.proposerAccountId) || (b.counterpartyAccountId !== null && mine.has(b.counterpartyAccountId)))
          && (q.status === undefined || b.status === q.status));
        return answer(page(blocks, (b) => b.blockId, q).map((b) => blockView(b, (a) => mine.has(a))));
      }
      case 'auctions': {
        if (q.auctionId !== undefined) {
          const one = day.auctions.find((a) => a.auctionId === q.auctionId);
          // With its initiating account for the initiator's own member (a repeated opening's answer).
          return one === undefined ? { json: '', folded, found: false } : answer(auctionView(one, mine.has(one.accountId)));
        }
        const auctions = day.auctions.filter((a) => (q.symbol === undefined || a.symbol === q.symbol) && (q.status === undefined || a.status === q.status));
        return answer(page(auctions, (a) => a.auctionId, q).map((a) => auctionView(a)));
      }
      case 'bids': {
        if (!day.auctions.some((a) => a.auctionId === q.auctionId)) return { json: '', folded, found: false };
        const bids = day.auctionBids.filter((b) => b.auctionId === q.auctionId && (q.accountIds === null || mine.has(b.accountId)));
        return answer(page(bids, (b) => b.bidId, q).map(bidView));
      }
    }
  }

  /** Lets the day kept go. */
  forget(): void {
    this.kept = null;
  }

  private day(date: string): { day: ClosedDay; folded: boolean } | null {
    if (this.kept?.date === date) return { day: this.kept.day, folded: false };
    // A date that is not a closed day leaves the day kept as it is.
    const range = History.closedDayRange(this.journal, date);
    if (range === null) return null;
    this.kept = null; // never two days held at once
    // A closed day's facts never change: it is kept as folded.
    const day = History.closedDay(this.journal, range);
    this.kept = { date, day };
    return { day, folded: true };
  }
}

/** What the gateway asks: a closed day's orders and fills, answered by the thread. */
export class PastDays {
  private readonly thread: ModuleThread<PastDayQuery, PastDayAnswer | null>;
  /** Reads answered, by whether the day had to be folded for them (in /metrics). */
  readonly reads = { folded: 0, kept: 0 };

  constructor(journal: Journal) {
    this.thread = new ModuleThread(new URL('./pastDaysWorker.ts', import.meta.url), { dataDir: journal.dir }, 'past days');
  }

  /** The reply's JSON for a closed day's read, or null when `date` is not a closed day. */
  async read(q: PastDayQuery): Promise<PastDayAnswer | null> {
    const answer = await this.thread.request(q);
    if (answer === null) return null;
    if (answer.folded) this.reads.folded++;
    else this.reads.kept++;
    return answer;
  }

  /** Lets the reads already asked for be answered, then ends the thread. */
  close(): Promise<void> {
    return this.thread.close();
  }
}
