// Commands in: everything that changes the exchange's state. The sequencer stamps each one with
// its sequence number and time before the engine sees it; the engine reads no clock of its own.
// Prices and money are integer fen, quantities whole tonnes.
import type { Restriction } from './account.ts';
import type { AccountClass, VenueProfile } from './profile.ts';

export type Role = 'member' | 'risk' | 'operator';

/*
 * STRICT. Some checks came after the first journals were written: an account's venues must be
 * venues instruments are listed on, a new listing's profile must name each symbol once and give
 * every trade mode its sessions, a risk control must change something (a halt of what is halted,
 * a restriction the account has already, would say `done` in the audit trail and replace the
 * reason the control was taken for). The gateway asks for them (`strict: true`) on what it submits; a
 * command journaled before they existed has no such field and replays as it was taken.
 */

/** Who issued the command: a member (trading for its accounts), a risk officer or an operator. */
export interface Actor { role: Role; id: string }

export interface Stamp {
  seq: number;
  /** Milliseconds since the epoch, stamped by the sequencer. */
  time: number;
  actor: Actor;
}

export interface PlaceOrder extends Stamp {
  type: 'placeOrder';
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  orderType: 'limit' | 'market' | 'pick';
  price?: number | null;
  quantity: number;
  timeInForce?: 'DAY' | 'IOC' | 'FOK';
  targetOrderId?: number | null;
  clientOrderId?: string | null;
}

export interface CancelOrder extends Stamp { type: 'cancelOrder'; orderId: number }

/** `quantity` is the new total quantity of the order (filled included). */
export interface ModifyOrder extends Stamp { type: 'modifyOrder'; orderId: number; quantity?: number | null; price?: number | null }

export interface CreateAccount extends Stamp {
  type: 'createAccount';
  accountId: string;
  member: string;
  accountClass: AccountClass;
  allocation?: number;
  venues?: string[] | null;
  /** The checks of today (STRICT): every venue named must have an instrument listed on it, and the id starts with the member's and a dash. */
  strict?: boolean;
}

/** Cash (fen) or allowances (symbol and tonnes) in or out, by bank or registry transfer. */
export interface Transfer extends Stamp {
  type: 'deposit' | 'withdraw';
  accountId: string;
  cash?: number | null;
  symbol?: string | null;
  quantity?: number | null;
  /**
   * The bank's or registry's reference for the transfer, unique per account for good: a transfer
   * repeated with it is answered, not applied twice.
   */
  reference?: string | null;
}

export interface ListInstrument extends Stamp {
  type: 'listInstrument';
  symbol: string;
  name?: string;
  vintage?: number | null;
  profile: VenueProfile;
  listingPrice: number;
  /** The checks of today (STRICT): the profile's own, beyond what listings journaled before them passed. */
  strict?: boolean;
}

export interface SetInstrument extends Stamp {
  type: 'setInstrument';
  symbol: string;
  listedBandPct?: string | null;
  blockBandPct?: string | null;
  referencePrice?: number | null;
  status?: 'trading' | 'halted' | null;
  reason: string;
  /** Refuses a change that changes nothing (NO_CHANGE), and keeps a halt's reason when the status named is the one it has: see STRICT. */
  strict?: boolean;
}

/**
 * One instrument halted or resumed, its bands left as they are: unlike SetInstrument, it never
 * checks the band's width, so a band the end of day widened past what a listing may have can
 * still be halted.
 */
export interface SetInstrumentStatus extends Stamp {
  type: 'setInstrumentStatus'; symbol: string; status: 'trading' | 'halted'; reason: string;
  /** Refuses a change to the status it has (NO_CHANGE): see STRICT. */
  strict?: boolean;
}

export interface MarketStatus extends Stamp {
  type: 'haltMarket' | 'resumeMarket'; reason: string;
  /** Refuses a halt of a halted market and a resume of one trading (NO_CHANGE): see STRICT. */
  strict?: boolean;
}

/** A cap or threshold for a class (optionally on top of the allocation) or for one account. */
export interface SetLimit extends Stamp {
  type: 'setPositionCap' | 'setLargeHolderThreshold';
  symbol: string;
  accountClass?: AccountClass | null;
  accountId?: string | null;
  /** Tonnes; null removes it (for an account: back to its class rule; for a class: no limit). */
  quantity: number | null;
  plusAllocation?: boolean;
  reason?: string;
}

/**
 * An operator changes an account's allocation (a new year's) or the venues it is admitted to; what
 * is not named stays. Its caps and thresholds follow the allocation; its business on a venue it
 * leaves ends.
 */
export interface UpdateAccount extends Stamp { type: 'updateAccount'; accountId: string; allocation?: number | null; venues?: string[] | null; reason: string }

export interface RestrictAccount extends Stamp {
  type: 'restrictAccount'; accountId: string; restriction: Restriction; reason: string;
  /** Refuses the restriction the account has (NO_CHANGE): see STRICT. */
  strict?: boolean;
}

export interface CancelAll extends Stamp { type: 'cancelAll'; accountId: string; reason: string }

export interface FileLargeHolderReport extends Stamp { type: 'fileLargeHolderReport'; accountId: string; symbol: string; text: string }
/**
 * A risk officer ends a report obligation the account no longer has a reason to meet: its holding
 * does not pass the threshold in force (one set by mistake and put back, or raised since).
 */
export interface WaiveLargeHolderReport extends Stamp { type: 'waiveLargeHolderReport'; accountId: string; symbol: string; reason: string }

/** A risk officer's warning to the market (MARKET-RULES section 8): about one instrument, or every one when symbol is null. */
export interface PublishWarning extends Stamp { type: 'publishWarning'; symbol?: string | null; text: string }

/**
 * An operator changes the calendar of every instrument of a venue on the running exchange: holidays
 * added or removed (the trading day or later), and the last day the calendar is known for
 * (`calendarThrough`; null for no end; absent: unchanged).
 */
export interface SetCalendar extends Stamp {
  type: 'setCalendar'; venue: string; addHolidays?: string[]; removeHolidays?: string[]; calendarThrough?: string | null; reason: string;
}

/** A block trade (大宗协议) proposal: to one named account, or open to every admitted account. */
export interface ProposeBlock extends Stamp {
  type: 'proposeBlock';
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  price: number;
  quantity: number;
  counterpartyAccountId?: string | null;
  /** Unique per account and day across orders, block proposals, auctions and bids: a repeat answers the first proposal. */
  clientOrderId?: string | null;
}

/** New terms from the party the block waits for; on an open proposal, a new proposal back to its proposer. */
export interface CounterBlock extends Stamp {
  type: 'counterBlock';
  blockId: number;
  accountId?: string | null;
  price: number;
  quantity: number;
  /** As a proposal's: a repeat answers the block the first counter made (a reply) or changed. */
  clientOrderId?: string | null;
}

/** Confirms the current terms: the trade executes. `accountId` names the accepting account of an open proposal. */
export interface AcceptBlock extends Stamp { type: 'acceptBlock'; blockId: number; accountId?: string | null }

/** The party the block waits for refuses it; the party that set its terms withdraws it. */
export interface EndBlock extends Stamp { type: 'rejectBlock' | 'withdrawBlock'; blockId: number }

/**
 * A one-way auction (单向竞价, MARKET-RULES section 2.3): one account offers `quantity` tonnes to
 * sell (or asks to buy them); other accounts bid (or offer) until an operator closes it, or the end
 * of day does. `reservePct` is the initiator's choice among the venue's reserves (the first when
 * left out): how far below the previous close bids may go (above it, for a buy auction).
 */
export interface OpenAuction extends Stamp {
  type: 'openAuction';
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  quantity: number;
  pricing: 'uniform' | 'pay_as_bid';
  reservePct?: string | null;
  /** As a block proposal's: a repeat answers the auction the first request opened. */
  clientOrderId?: string | null;
}

/** A bid (an offer, in a buy auction) of `quantity` tonnes at `price`, held until the auction closes. */
export interface BidAuction extends Stamp {
  type: 'bidAuction';
  auctionId: number;
  accountId: string;
  price: number;
  quantity: number;
  /** As a block proposal's: a repeat answers the bid the first request placed. */
  clientOrderId?: string | null;
}

/** The bidder withdraws its bid while the auction is open. */
export interface CancelAuctionBid extends Stamp { type: 'cancelAuctionBid'; auctionId: number; bidId: number }

/** An operator allocates the auction now (`closeAuction`), or ends it with no trade (`cancelAuction`, with a reason). */
export interface EndAuction extends Stamp { type: 'closeAuction' | 'cancelAuction'; auctionId: number; reason?: string | null }

/** Closes the trading day `date` (MARKET-RULES section 11). */
export interface EndOfDay extends Stamp {
  type: 'endOfDay';
  date: string;
  /**
   * The rule of today (STRICT): a day without a listed trade opens and closes at the reference price
   * in force, a risk officer's when one set it, rather than the previous close it replaced.
   */
  strict?: boolean;
  /**
   * The next trading day is the first on or after the clock's day (the command's stamp, UTC+8)
   * whose sessions have not all ended, rather than the one after the closed day: a day the exchange
   * missed (the end of day run late) took no order, and is skipped rather than left to be closed
   * before the clock's own day can trade. The gateway asks for it; ends of day journaled before it
   * existed replay as taken.
   */
  toClock?: boolean;
}

export type Command =
  | PlaceOrder | CancelOrder | ModifyOrder
  | ProposeBlock | CounterBlock | AcceptBlock | EndBlock | EndOfDay
  | OpenAuction | BidAuction | CancelAuctionBid | EndAuction
  | CreateAccount | Transfer | ListInstrument
  | SetInstrument | SetInstrumentStatus | MarketStatus | SetLimit | UpdateAccount | RestrictAccount | CancelAll | FileLargeHolderReport | WaiveLargeHolderReport | PublishWarning | SetCalendar;

export type CommandType = Command['type'];

/** Omit applied to each member of a union, so that the `type` tag still narrows. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A command as a caller writes it: the sequencer adds seq, time and actor. */
export type CommandBody = DistributiveOmit<Command, 'seq' | 'time' | 'actor'>;

/** Which role may issue each command. */
export const COMMAND_ROLES: Record<CommandType, readonly Role[]> = {
  placeOrder: ['member'],
  cancelOrder: ['member'],
  modifyOrder: ['member'],
  fileLargeHolderReport: ['member'],
  proposeBlock: ['member'],
  counterBlock: ['member'],
  acceptBlock: ['member'],
  rejectBlock: ['member'],
  withdrawBlock: ['member'],
  openAuction: ['member'],
  bidAuction: ['member'],
  cancelAuctionBid: ['member'],
  closeAuction: ['operator'],
  cancelAuction: ['risk', 'operator'],
  endOfDay: ['operator'],
  createAccount: ['operator'],
  updateAccount: ['operator'],
  setCalendar: ['operator'],
  deposit: ['operator'],
  withdraw: ['operator'],
  listInstrument: ['operator'],
  setInstrument: ['risk'],
  setInstrumentStatus: ['risk'],
  haltMarket: ['risk'],
  resumeMarket: ['risk'],
  setPositionCap: ['risk'],
  setLargeHolderThreshold: ['risk'],
  restrictAccount: ['risk'],
  cancelAll: ['risk'],
  publishWarning: ['risk'],
  waiveLargeHolderReport: ['risk'],
};
