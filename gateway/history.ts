// What the gateway remembers of the committed events for reading: the members' orders and fills
// and the risk warnings of the trading day, recent public trades per instrument, and K-lines. It is fed only with
// committed batches, and rebuilt at start-up from the facts the journal recorded, so a restart
// loses none of it. Earlier days' orders and fills are read back from the journal on request, on a
// thread of their own (pastDays.ts), folded as here (History.closedDay).
import { describeOrder, Klines, type AuctionBidEvent, type AuctionEvent, type BlockEvent, type Kline, type EngineEvent, type Order, type OrderEvent, type TradeEvent, type WarningEvent } from '../engine/index.ts';
import type { Journal } from '../persistence/journal.ts';

export interface Fill {
  tradeId: number;
  orderId: number | null;
  blockId: number | null;
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  mode: TradeEvent['mode'];
  price: number;
  quantity: number;
  fee: number;
  time: number;
  /** An auction trade's auction, both sides; and the bid it filled, on the bidder's side only (null otherwise). */
  auctionId: number | null;
  bidId: number | null;
}

const RECENT_TRADES = 1000;
/** Block trades are kept apart as well: a busy listed book would push them out of the recent trades. */
const RECENT_BLOCKS = 100;
/**
 * An auction's trades are kept apart too: one close can allocate thousands of bids at once, and
 * would push the listed and block trades out of their list.
 */
const RECENT_AUCTION_TRADES = 1000;

/** The market part of the history, as a checkpoint keeps it (JSON). */
interface MarketState {
  recent: [string, TradeEvent[]][];
  recentBlocks: [string, TradeEvent[]][];
  /** Absent from checkpoints written before auction trades were kept: those are folded again from every fact. */
  recentAuctions?: [string, TradeEvent[]][];
  klines: [string, Kline[]][];
}

/** Which trades a list of recent trades holds: every mode, or one. */
export type TradeMode = 'all' | TradeEvent['mode'];

/** An order's status after a fill that left `remaining` of it. */
export const statusAfterFill = (remaining: number): 'filled' | 'partially_filled' => (remaining === 0 ? 'filled' : 'partially_filled');

export function fillsOf(t: TradeEvent): [Fill, Fill] {
  return [fillOf(t, 'buy'), fillOf(t, 'sell')];
}

/** One side's fill of a trade (written out field by field: a spread of a shared base costs more on every trade). */
function fillOf(t: TradeEvent, side: 'buy' | 'sell'): Fill {
  const buy = side === 'buy';
  return {
    tradeId: t.tradeId, orderId: buy ? t.buyOrderId : t.sellOrderId, blockId: t.blockId, accountId: buy ? t.buyAccountId : t.sellAccountId,
    symbol: t.symbol, side, mode: t.mode, price: t.price, quantity: t.quantity, fee: buy ? t.buyFee : t.sellFee, time: t.time,
    auctionId: null, bidId: null,
  };
}

/**
 * An auction trade's two fills named after the bid whose fill it was (the bid's event, which
 * follows its trade in the auction's close, carries the trade's id): the auction on both, the bid
 * on the bidder's only (a sealed bid is its bidder's).
 */
export function ofBid(fills: readonly Fill[], bid: AuctionBidEvent): void {
  for (const f of fills) {
    f.auctionId = bid.auctionId;
    if (f.side === bid.side) f.bidId = bid.bidId;
  }
}

/** Fills in trade order, a trade's buy before its sell (as the facts hold them). */
export const inTradeOrder = (x: Fill, y: Fill): number => x.tradeId - y.tradeId || (x.side < y.side ? -1 : 1);

/** A closed day's orders (each as it ended, in id order) and fills (in trade order) by account. */
export interface ClosedDay {
  orders: Map<string, OrderEvent[]>;
  fills: Map<string, Fill[]>;
  /** The day's block proposals, auctions and bids, each as it ended, in id order. */
  blocks: BlockEvent[];
  auctions: AuctionEvent[];
  auctionBids: AuctionBidEvent[];
}

export class History {
  /** Today's orders, latest state, by id. */
  readonly orders = new Map<number, OrderEvent>();
  /** Today's order ids by account, each list in id order: a member's orders are found without reading everyone's. */
  private readonly orderIds = new Map<string, number[]>();
  /** Today's block trade proposals, latest state, by id. */
  readonly blocks = new Map<number, BlockEvent>();
  /** Today's auctions and their bids, latest state, by id. */
  readonly auctions = new Map<number, AuctionEvent>();
  readonly auctionBids = new Map<number, AuctionBidEvent>();
  /** Today's risk warnings, oldest first. */
  readonly warnings: WarningEvent[] = [];
  /** An auction's trades' fills, by trade id, until the bid event that follows each names them (ofBid). */
  private readonly auctionFills = new Map<number, [Fill, Fill]>();
  /** Today's fills by account. */
  private readonly fills = new Map<string, Fill[]>();
  private readonly recent = new Map<string, TradeEvent[]>();
  private readonly recentBlocks = new Map<string, TradeEvent[]>();
  private readonly recentAuctions = new Map<string, TradeEvent[]>();
  readonly klines = new Klines();
  /**
   * The resting orders the last committed batch's trades filled, each as it stood right after its
   * trade (its maker's execution report): a later trade of the batch may fill it again.
   */
  private readonly makers = new Map<TradeEvent, OrderEvent>();

  /** Empty until rebuilt from the journal (rebuilding()), which the exchange's start does. */
  constructor(private readonly journal: Journal) {}

  /**
   * A closed trading day's orders, each as it ended (filled, cancelled, expired by the end of day…),
   * and its fills, by account, and its block proposals, auctions and bids, read back from the
   * journal's facts of that day (closedDayRange).
   * Folded as the day was live: a resting order filled by others changes with the trade, not with
   * an order event of its own. The end of day itself is left out: it would clear the day.
   */
  static closedDay(journal: Journal, range: { after: number; through: number }): ClosedDay {
    const fold = new History(journal);
    for (const events of journal.factsByBatch(range.after, range.through)) {
      for (const e of events) if (e.type !== 'endOfDay') fold.day(e);
    }
    const orders = new Map<string, OrderEvent[]>();
    for (const [accountId, ids] of fold.orderIds) orders.set(accountId, ids.map((id) => fold.orders.get(id) as OrderEvent));
    const byId = <T>(m: Map<number, T>): T[] => [...m.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    return { orders, fills: fold.fills, blocks: byId(fold.blocks), auctions: byId(fold.auctions), auctionBids: byId(fold.auctionBids) };
  }

  /** The seqs of a closed day's facts: after the end of day before it, through its own; null when `date` is not a closed day. */
  static closedDayRange(journal: Journal, date: string): { after: number; through: number } | null {
    const ends = journal.endsOfDay();
    const at = ends.findIndex((e) => e.date === date);
    return at < 0 ? null : { after: at === 0 ? 0 : ends[at - 1].seq, through: ends[at].seq };
  }

  /**
   * Reads back what the running exchange held, pausing (yield) after each batch of the journal: run
   * in turns, the probes are answered meanwhile (a day's facts take a while). The day (orders,
   * fills, blocks, warnings) is folded from the facts after the last end of day. The market (recent
   * trades, K-lines) starts from the checkpoint written at the last end of day and folds the facts
   * after it, each trade and end of day in its order as live; without a checkpoint (none written
   * yet, or a crash before it was), from every fact the journal holds. Either way it is what the
   * exchange showed before the restart, however many trades came since an instrument last traded.
   */
  *rebuilding(): Generator<void> {
    const ends = this.journal.endsOfDay();
    const lastEnd = ends.length === 0 ? 0 : ends[ends.length - 1].seq;
    const from = this.restoreMarket();
    for (const events of this.journal.factsByBatch(Math.min(from, lastEnd), Number.MAX_SAFE_INTEGER)) {
      for (const e of events) {
        if (e.seq > lastEnd) this.day(e);
        if (e.seq <= from) continue;
        if (e.type === 'trade') this.market(e);
        else if (e.type === 'endOfDay') this.klines.onEndOfDay(e);
      }
      yield;
    }
  }

  /**
   * Keeps the market part as it stands, every fact up to `seq` folded in (the exchange calls it once
   * a batch holding an end of day has committed): the next start folds only the facts after it.
   */
  checkpoint(seq: number): void {
    const trimmed = (lists: Map<string, TradeEvent[]>, n: number): [string, TradeEvent[]][] =>
      [...lists].map(([symbol, list]) => [symbol, list.slice(Math.max(0, list.length - n))]);
    const state: MarketState = {
      recent: trimmed(this.recent, RECENT_TRADES), recentBlocks: trimmed(this.recentBlocks, RECENT_BLOCKS),
      recentAuctions: trimmed(this.recentAuctions, RECENT_AUCTION_TRADES), klines: this.klines.entries(),
    };
    this.journal.writeMarketCheckpoint(seq, JSON.stringify(state));
  }

  /** Restores the market part from the checkpoint kept; returns its seq (0 when there is none, or it cannot be read). */
  private restoreMarket(): number {
    const kept = this.journal.marketCheckpoint();
    if (kept === null) return 0;
    let state: MarketState;
    try {
      state = JSON.parse(kept.body) as MarketState;
      if (!Array.isArray(state.recent) || !Array.isArray(state.recentBlocks) || !Array.isArray(state.klines)) throw new Error('it lacks a part');
      if (state.recentAuctions !== undefined && !Array.isArray(state.recentAuctions)) throw new Error('its auction trades are not a list');
    } catch (e) {
      process.stderr.write(`the market history checkpoint at seq ${kept.seq} cannot be read (${(e as Error).message}): recent trades and K-lines are rebuilt from every fact instead\n`);
      return 0;
    }
    // Written before auction trades were kept: every fact is folded again, as if there were none.
    if (state.recentAuctions === undefined) return 0;
    for (const [symbol, list] of state.recent) this.recent.set(symbol, list);
    for (const [symbol, list] of state.recentBlocks) this.recentBlocks.set(symbol, list);
    for (const [symbol, list] of state.recentAuctions) this.recentAuctions.set(symbol, list);
    this.klines.restore(state.klines);
    return kept.seq;
  }

  /**
   * Folds a committed batch's events in. Returns the symbols whose 1d bar took the official close
   * at a day's end in it (empty otherwise).
   */
  onEvents(events: readonly EngineEvent[]): string[] {
    const closed: string[] = [];
    this.makers.clear();
    for (const e of events) {
      const maker = this.day(e);
      if (maker !== undefined) this.makers.set(e as TradeEvent, maker);
      if (e.type === 'trade') this.market(e);
      else if (e.type === 'endOfDay') closed.push(...this.klines.onEndOfDay(e));
    }
    return closed;
  }

  /** The resting order a trade of the last committed batch filled, as it stood right after that trade. */
  makerAfter(t: TradeEvent): OrderEvent | undefined {
    return this.makers.get(t);
  }

  /** Folds one event into the day; for a listed trade, returns the resting order it filled, as it now stands. */
  private day(e: EngineEvent): OrderEvent | undefined {
    if (e.type === 'order') {
      if (!this.orders.has(e.orderId)) {
        const ids = this.orderIds.get(e.accountId);
        if (ids === undefined) this.orderIds.set(e.accountId, [e.orderId]);
        else ids.push(e.orderId);
      }
      this.orders.set(e.orderId, e);
    } else if (e.type === 'block') this.blocks.set(e.blockId, e);
    else if (e.type === 'auction') this.auctions.set(e.auctionId, e);
    else if (e.type === 'auctionBid') {
      this.auctionBids.set(e.bidId, e);
      const fills = e.tradeId === null ? undefined : this.auctionFills.get(e.tradeId);
      if (fills !== undefined) {
        ofBid(fills, e);
        this.auctionFills.delete(e.tradeId as number);
      }
    } else if (e.type === 'warning') this.warnings.push(e);
    else if (e.type === 'trade') {
      const fills = fillsOf(e);
      this.addFill(fills[0]);
      this.addFill(fills[1]);
      if (e.mode === 'auction') this.auctionFills.set(e.tradeId, fills);
      // A listed trade changes the resting order it hit without an order event of its own (the
      // trade carries what is left of it); the taker's own order event follows the trade.
      if (e.buyOrderId !== null && e.sellOrderId !== null) {
        return e.aggressor === 'buy' ? this.makerFilled(e.sellOrderId, e.sellRemaining, e) : this.makerFilled(e.buyOrderId, e.buyRemaining, e);
      }
    } else if (e.type === 'endOfDay') {
      this.orders.clear();
      this.orderIds.clear();
      this.blocks.clear();
      this.auctions.clear();
      this.auctionBids.clear();
      this.auctionFills.clear();
      this.warnings.length = 0;
      this.fills.clear();
    }
    return undefined;
  }

  private makerFilled(orderId: number, remaining: number, t: TradeEvent): OrderEvent | undefined {
    const o = this.orders.get(orderId);
    if (o === undefined) return undefined;
    const after: OrderEvent = {
      ...o, seq: t.seq, time: t.time, filled: o.quantity - remaining, filledNotional: o.filledNotional + t.price * t.quantity,
      status: statusAfterFill(remaining),
    };
    this.orders.set(orderId, after);
    return after;
  }

  /**
   * An open order as the engine holds it, stamped like every other view of an order (answers,
   * execution reports, finished orders) with its last change: a resting order's own time is when it
   * took its place in the queue, which a fill or a reduction does not move.
   */
  current(o: Order): OrderEvent {
    const last = this.orders.get(o.id);
    return last === undefined ? describeOrder(o, o.seq, o.time) : describeOrder(o, last.seq, last.time);
  }

  /**
   * Today's orders of these accounts, each as it stands now (an open one as the engine holds it), in
   * id order; only the open ones when `openOnly`. Every order of the day is here (an order's first
   * event comes with its command, and none outlives its day), so this reads the accounts' own.
   */
  ordersOf(open: (orderId: number) => Order | undefined, accountIds: Iterable<string>, openOnly: boolean): OrderEvent[] {
    const out: OrderEvent[] = [];
    for (const accountId of accountIds) {
      for (const id of this.orderIds.get(accountId) ?? []) {
        const live = open(id);
        if (live !== undefined) out.push(this.current(live));
        else if (!openOnly) out.push(this.orders.get(id) as OrderEvent);
      }
    }
    return out.sort((a, b) => a.orderId - b.orderId);
  }

  /** Today's fills of one order, in time order. */
  fillsOfOrder(accountId: string, orderId: number): Fill[] {
    return (this.fills.get(accountId) ?? []).filter((f) => f.orderId === orderId);
  }

  private addFill(f: Fill): void {
    const list = this.fills.get(f.accountId);
    if (list === undefined) this.fills.set(f.accountId, [f]);
    else list.push(f);
  }

  private market(t: TradeEvent): void {
    // An auction's trades (thousands of fills at one close) are kept in a list of their own, and
    // make no K-line bar (API.md: bars are of listed trades).
    if (t.mode === 'auction') return keep(this.recentAuctions, t, RECENT_AUCTION_TRADES);
    keep(this.recent, t, RECENT_TRADES);
    if (t.mode === 'block') keep(this.recentBlocks, t, RECENT_BLOCKS);
    this.klines.onTrade(t);
  }

  /**
   * The latest `limit` trades of an instrument, newest first: all of them (listed, block and
   * auction, merged by trade id), or those of one mode (the WebSocket channels `trades` and `blocks`
   * read the listed and the block trades).
   */
  recentTrades(symbol: string, limit: number, mode: TradeMode = 'all'): TradeEvent[] {
    if (mode === 'block') return newest(this.recentBlocks.get(symbol), limit);
    if (mode === 'auction') return newest(this.recentAuctions.get(symbol), limit);
    const list = this.recent.get(symbol) ?? [];
    if (mode === 'listed') {
      const out: TradeEvent[] = [];
      for (let i = list.length - 1; i >= 0 && out.length < limit; i--) if (list[i].mode === 'listed') out.push(list[i]);
      return out;
    }
    const auctions = this.recentAuctions.get(symbol) ?? [];
    const out: TradeEvent[] = [];
    for (let i = list.length - 1, j = auctions.length - 1; out.length < limit && (i >= 0 || j >= 0);) {
      if (j < 0 || (i >= 0 && list[i].tradeId > auctions[j].tradeId)) out.push(list[i--]);
      else out.push(auctions[j--]);
    }
    return out;
  }

  /** Today's fills of the given accounts, in time order. */
  todaysFills(accountIds: readonly string[]): Fill[] {
    return accountIds.flatMap((a) => this.fills.get(a) ?? []).sort(inTradeOrder);
  }
}

/** The last `limit` trades of a list, newest first. */
function newest(list: TradeEvent[] | undefined, limit: number): TradeEvent[] {
  return list === undefined ? [] : list.slice(Math.max(0, list.length - limit)).reverse();
}

/** Appends a trade to its instrument's list, which keeps at least the latest `n` (trimmed in steps of `n`). */
function keep(lists: Map<string, TradeEvent[]>, t: TradeEvent, n: number): void {
  let list = lists.get(t.symbol);
  if (list === undefined) { list = []; lists.set(t.symbol, list); }
  list.push(t);
  if (list.length > 2 * n) list.splice(0, list.length - n);
}
