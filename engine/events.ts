// Events out: what a command did. Execution reports, market data, the audit trail and the
// end-of-day outputs are built from these. Each event is a flat snapshot of plain values taken
// when it happened, so it stays true however the state moves on.
import type { OrderStatus, OrderType, TimeInForce } from './order.ts';
import type { Restriction } from './account.ts';

export interface OrderEvent {
  type: 'order';
  seq: number;
  time: number;
  orderId: number;
  clientOrderId: string | null;
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  orderType: OrderType;
  timeInForce: TimeInForce;
  price: number | null;
  quantity: number;
  filled: number;
  filledNotional: number;
  status: OrderStatus;
  /** Why the exchange ended or changed it: self_trade_prevented, fok_not_filled, ioc_remainder, … */
  reason: string | null;
}

export interface TradeEvent {
  type: 'trade';
  seq: number;
  time: number;
  tradeId: number;
  symbol: string;
  mode: 'listed' | 'block' | 'auction';
  price: number;
  quantity: number;
  /** The orders of a listed trade; null for a block trade. */
  buyOrderId: number | null;
  sellOrderId: number | null;
  /** The block trade proposal a block trade executed; null for a listed trade. */
  blockId: number | null;
  buyAccountId: string;
  sellAccountId: string;
  /** Remaining quantity of each order after this fill. */
  buyRemaining: number;
  sellRemaining: number;
  buyFee: number;
  sellFee: number;
  /** The side that took liquidity. */
  aggressor: 'buy' | 'sell';
}

export interface LargeHolderEvent {
  type: 'largeHolder';
  seq: number;
  time: number;
  accountId: string;
  symbol: string;
  holding: number;
  threshold: number;
  /** 'alert' when it crossed; 'filed' when the report came in. */
  action: 'alert' | 'filed';
  dueDate: string;
}

/**
 * A filed large-holder report's obligation ended: the holding is back at or under the threshold in
 * force (the holding fell, or a risk officer raised or removed the threshold), so that crossing
 * again raises a new alert. Published, not kept as a fact (the engine's state says it; journals
 * written before it was emitted replay as they were).
 */
export interface LargeHolderClosedEvent {
  type: 'largeHolderClosed';
  seq: number;
  time: number;
  accountId: string;
  symbol: string;
  holding: number;
  /** The threshold in force now; null when none is. */
  threshold: number | null;
  dueDate: string;
}

export interface InstrumentEvent {
  type: 'instrument';
  seq: number;
  time: number;
  symbol: string;
  status: 'trading' | 'halted';
  prevClose: number;
  referencePrice: number;
  /** The listed and block band's rates, parts per 10^8 (formatPercent gives the percentage). */
  listedBandRate: number;
  blockBandRate: number;
  bandLow: number;
  bandHigh: number;
  blockLow: number;
  blockHigh: number;
  reason: string;
}

export interface MarketEvent { type: 'market'; seq: number; time: number; status: 'trading' | 'halted'; reason: string }

/** A risk warning published to the market; its id is the command's sequence number. */
export interface WarningEvent { type: 'warning'; seq: number; time: number; symbol: string | null; text: string }

export interface AccountEvent {
  type: 'account';
  seq: number;
  time: number;
  accountId: string;
  /** What changed: created, deposit, withdraw, restriction, cap, threshold. */
  change: 'created' | 'updated' | 'deposit' | 'withdraw' | 'restriction' | 'limit';
  /** The account's cash and frozen cash after the change, in fen. */
  cash: number;
  cashFrozen: number;
  /** A cash transfer's amount in fen; null otherwise. */
  amount: number | null;
  /** An allowance transfer's instrument and tonnes; null otherwise. */
  symbol: string | null;
  quantity: number | null;
  restriction: Restriction;
  reason: string | null;
  /** A transfer's bank or registry reference, when it was given one (absent from older facts). */
  reference?: string | null;
}

export interface LimitEvent {
  type: 'limit';
  seq: number;
  time: number;
  kind: 'positionCap' | 'largeHolderThreshold';
  symbol: string;
  accountClass: string | null;
  accountId: string | null;
  quantity: number | null;
  plusAllocation: boolean;
}

export type BlockStatus = 'proposed' | 'countered' | 'executed' | 'rejected' | 'withdrawn' | 'expired';

export interface BlockEvent {
  type: 'block';
  seq: number;
  time: number;
  blockId: number;
  symbol: string;
  status: BlockStatus;
  /** The proposing account and its side; the named counterparty, or null for an open proposal. */
  proposerAccountId: string;
  side: 'buy' | 'sell';
  counterpartyAccountId: string | null;
  price: number;
  quantity: number;
  /** The account whose terms these are (it holds the freeze); the other party confirms. */
  termsBy: string;
  /** For a counter to an open proposal: the proposal it answers. */
  inReplyTo: number | null;
  reason: string | null;
  /**
   * The party whose risk control the reason names (a restriction, a cancel-all, a lowered cap), or
   * null: the other party, and other members, are not told of another account's controls.
   */
  reasonAccountId: string | null;
}

export type AuctionStatus = 'opened' | 'closed' | 'cancelled';

/** A one-way auction opened, allocated (closed) or cancelled. Prices in fen. */
export interface AuctionEvent {
  type: 'auction';
  seq: number;
  time: number;
  auctionId: number;
  symbol: string;
  status: AuctionStatus;
  /** The initiating account, its side and the tonnes it offers (or asks for). */
  accountId: string;
  side: 'buy' | 'sell';
  quantity: number;
  pricing: 'uniform' | 'pay_as_bid';
  /** The prices a bid may name, inclusive. */
  low: number;
  high: number;
  /** On close: the tonnes allocated, their turnover, and the last accepted bid's price (the price of every fill when uniform); null with no fill. */
  filled: number;
  turnover: number;
  clearingPrice: number | null;
  /** Bids standing (at close: taking part). */
  bids: number;
  reason: string | null;
  /** When it opened. */
  openedAt: number;
}

export type AuctionBidStatus = 'placed' | 'cancelled' | 'filled' | 'partially_filled' | 'unfilled';

/** A bid in an auction placed, withdrawn or (at the close) filled, partly filled or left unfilled. */
export interface AuctionBidEvent {
  type: 'auctionBid';
  seq: number;
  time: number;
  auctionId: number;
  bidId: number;
  symbol: string;
  accountId: string;
  /** The bidder's side: buy in a sell auction. */
  side: 'buy' | 'sell';
  price: number;
  quantity: number;
  filled: number;
  /** The price its fill traded at (null without one). */
  tradePrice: number | null;
  /** The trade of its fill (null without one). */
  tradeId: number | null;
  status: AuctionBidStatus;
  reason: string | null;
}

/** One instrument's day, as the end of day closed it. Prices in fen (null: no listed trade). */
export interface DayInstrumentStats {
  symbol: string;
  prevClose: number;
  open: number;
  high: number | null;
  low: number | null;
  last: number | null;
  close: number;
  listedVolume: number;
  listedTurnover: number;
  blockVolume: number;
  blockTurnover: number;
  auctionVolume: number;
  auctionTurnover: number;
  trades: number;
  cumulativeVolume: number;
  cumulativeTurnover: number;
}

export interface EndOfDayEvent {
  type: 'endOfDay';
  seq: number;
  time: number;
  /** The day closed and the trading day now in force. */
  date: string;
  nextDate: string;
  /** All fees the exchange has collected so far, in fen. */
  feesCollected: number;
  instruments: DayInstrumentStats[];
  /** Accounts over a large-holder threshold at the close, with their report status. */
  largeHolders: { accountId: string; symbol: string; holding: number; threshold: number; since: string; dueDate: string; filed: string | null; overdue: boolean }[];
  /** Every account's closing cash (fen) and holdings (tonnes, all available after the run). */
  accounts: { accountId: string; member: string; cash: number; holdings: [symbol: string, quantity: number][] }[];
}

export type EngineEvent = EndOfDayEvent | BlockEvent | AuctionEvent | AuctionBidEvent | OrderEvent | TradeEvent | LargeHolderEvent | LargeHolderClosedEvent | InstrumentEvent | MarketEvent | AccountEvent | LimitEvent | WarningEvent;

/** An id as every answer and report gives it: a string of digits (null stays null). */
export const idText = (id: number | null): string | null => (id === null ? null : String(id));
