// The matching engine: one deterministic state machine for the whole exchange. `apply` takes a
// stamped command, checks it completely, and only then changes the state and returns the events;
// a rejection changes nothing. No clock, no randomness, no I/O: the same commands always give the
// same events and the same state hash.
import { ADMISSION_BITS, Account, Position, RESTRICTIONS, type Restriction } from './account.ts';
import { ladderBook, type BookFactory, type DepthLevel } from './book.ts';
import { addTradingDays, describeSessions, isTradingDay, localDay, localMidnight, localMinute, sessionAt } from './calendar.ts';
import {
  COMMAND_ROLES, type Actor, type CancelAll, type CommandType, type Role, type CancelOrder, type Command, type CreateAccount, type UpdateAccount, type FileLargeHolderReport, type WaiveLargeHolderReport, type PublishWarning,
  type ListInstrument, type MarketStatus, type ModifyOrder, type PlaceOrder, type RestrictAccount, type SetInstrument, type SetInstrumentStatus,
  type SetLimit, type Transfer,
} from './commands.ts';
import { refused, reject, unknownVenue, type RejectCode, type Rejection } from './errors.ts';
import type { AccountEvent, EngineEvent, OrderEvent } from './events.ts';
import { bandTooWide, Instrument } from './instrument.ts';
import { OpenOrders } from './openOrders.ts';
import { AuctionDesk } from './auctions.ts';
import { BlockDesk } from './blockTrades.ts';
import { endOfDay } from './endOfDay.ts';
import { setCalendar } from './calendarChange.ts';
import { buyFeeReserve, divideHalfUp, formatMoney, formatPercent, MAX_AMOUNT, parsePercent, priceFault, tradeFee, isPositiveInt } from './money.ts';
import { BUY, Order, SELL, sideName, type Side, type TimeInForce } from './order.ts';
import { restore, snapshot, stateHash, type EngineSnapshot } from './snapshot.ts';
import { ACCOUNT_CLASSES, CODE_RE, ProfileError, dateOfDay, dayOfDate, validateProfile, type AccountClass, type ClassLimit, type TradeMode } from './profile.ts';

export interface Accepted {
  ok: true;
  events: EngineEvent[];
  /** The order the command placed, changed or cancelled. */
  orderId?: number;
  /**
   * A repeated clientOrderId: nothing was done; `orderId`, `blockId`, `auctionId` or `bidId` names
   * what the first request made.
   */
  duplicate?: boolean;
  /** The block trade proposal the command made or acted on. */
  blockId?: number;
  /** The auction the command opened or acted on, and the bid it placed or withdrew. */
  auctionId?: number;
  bidId?: number;
  /** A transfer's sequence number (its statement line's `S<seq>`); for a repeated reference, the first one's. */
  transferSeq?: number;
}

export type Result = Accepted | Rejection;

export interface EngineOptions {
  /** The first trading day, "YYYY-MM-DD". */
  tradingDate: string;
  /** The book implementation; the fast ladder unless a test asks for the reference book. */
  bookFactory?: BookFactory;
}

const ACCOUNT_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** Whether a holding passes a large-holder threshold (none: never). */
const passes = (holding: number, threshold: number | null): boolean => threshold !== null && holding > threshold;

/** Why an account of that class cannot have that allocation, or null: whole tonnes, and compliance accounts only. */
function allocationRefused(allocation: number, accountClass: AccountClass): Rejection | null {
  if (!Number.isSafeInteger(allocation) || allocation < 0 || allocation > MAX_AMOUNT) return reject('INVALID_COMMAND', 'allocation must be a whole number of tonnes, 0 or more');
  return allocation > 0 && accountClass !== 'compliance' ? reject('INVALID_COMMAND', 'only compliance accounts have an allocation') : null;
}
const CLIENT_ORDER_ID_RE = /^[\x21-\x7e]{1,64}$/;

/**
 * The requests a clientOrderId names, with the field of the answer that names what the first one
 * made, and the words for it. One clientOrderId names one request of an account a day, whatever its kind.
 */
const REQUEST_KINDS = {
  order: { field: 'orderId', words: 'order', named: (id: number) => `order ${id}` },
  block: { field: 'blockId', words: 'block proposal', named: (id: number) => `block proposal ${id}` },
  counter: { field: 'blockId', words: 'block counter', named: (id: number) => `a block counter (block ${id})` },
  auction: { field: 'auctionId', words: 'auction', named: (id: number) => `auction ${id}` },
  bid: { field: 'bidId', words: 'auction bid', named: (id: number) => `auction bid ${id}` },
} as const;
export type RequestKind = keyof typeof REQUEST_KINDS;
/** The kind a remembered fingerprint carries ("block#…"); an order's carries none. */
const KIND_OF_FINGERPRINT = new RegExp(`^(${Object.keys(REQUEST_KINDS).filter((k) => k !== 'order').join('|')})#`);
/** A new request's clientOrderId, to remember once the request has taken effect. */
export interface ClientRequest { key: string; fingerprint: string }
/** The longest texts the engine takes (characters); the gateway's schemas refuse longer ones first. */
export const TEXT_LIMITS = { reason: 500, report: 10_000, warning: 2_000 } as const;
const NO_ACCOUNTS: readonly string[] = Object.freeze([]);


/**
 * What is wrong with a free text of at most `limit` characters, or null. Characters are counted as
 * the gateway's schemas count them, by code point (an emoji is one), and a text of blanks is none.
 */
export function textFault(text: unknown, limit: number, what: string): string | null {
  if (typeof text !== 'string' || text.length === 0) return `${what} is required (1–${limit} characters)`;
  if (text.trim().length === 0) return `${what} is blank: it must say something (1–${limit} characters)`;
  if (text.length <= limit) return null;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n <= limit ? null : `${what} has ${n} characters; at most ${limit} are taken`;
}
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What a transfer moves, in words: what its reference is remembered with. */
function transferTerms(c: Transfer): string {
  const what = c.cash != null ? `${formatMoney(c.cash)} of cash` : `${c.quantity} t of ${c.symbol}`;
  return `${c.type === 'deposit' ? 'a deposit' : 'a withdrawal'} of ${what}`;
}

// The rejections of the order path, out of line: their messages are the bulk of the code, and
// keeping them out of the hot functions keeps those small enough for V8 to inline them.
function notAdmitted(acct: Account, inst: Instrument): Rejection {
  return reject('VENUE_NOT_ADMITTED', `account ${acct.id} (${acct.accountClass}) is not admitted to ${inst.venue}`);
}

/** Whether the restriction bars trading on this side. */
function forbids(restriction: Restriction, side: Side): boolean {
  return restriction !== 'none' && (restriction === 'frozen' || (restriction === 'no_buy') === (side === BUY));
}

/**
 * A member's order, block or bid on a side the account's restriction forbids. The risk officer's
 * reason stays in the audit trail: it is written for supervision (an inquiry, a case) and is not
 * told to the account's member.
 */
function restricted(acct: Account): Rejection {
  return reject('ACCOUNT_RESTRICTED', `account ${acct.id} is restricted (${acct.restriction}) by the exchange's risk officers`);
}

function badQuantity(quantity: number, lot: number): Rejection {
  if (!isPositiveInt(quantity) || quantity > MAX_AMOUNT) return reject('INVALID_QUANTITY', `quantity must be a positive whole number of tonnes, not ${quantity}`);
  return reject('INVALID_QUANTITY', `quantity must be a multiple of the lot, ${lot} t`);
}

function badPrice(inst: Instrument, price: number): Rejection {
  const fault = priceFault(price, inst.profile.tick);
  if (fault !== null) return reject('INVALID_PRICE', fault);
  return reject('PRICE_OUT_OF_BAND', `price ${formatMoney(price)} is outside today's band ${formatMoney(inst.bandLow)}–${formatMoney(inst.bandHigh)}`);
}

/** A buy order's new terms cost more than it holds and the account has available together. */
function noFundsToModify(acct: Account, order: Order, cash: number): Rejection {
  return reject('INSUFFICIENT_FUNDS',
    `order ${order.id} would need ${formatMoney(cash)} (price × quantity and fees); it holds ${formatMoney(order.frozenCash)} and account ${acct.id} has ${formatMoney(acct.cash)} available, ${formatMoney(order.frozenCash + acct.cash)} together`);
}

/** `forWhat`: what the amount pays for. A message of its own, off the hot path. */
function noFunds(acct: Account, cash: number, forWhat = 'price × quantity and fees'): Rejection {
  const held = acct.cashFrozen > 0 ? `; ${formatMoney(acct.cashFrozen)} more is held by its open buy orders and block proposals` : '';
  // An amount past what any account can hold is not shown as a number it could not be exactly.
  const needs = cash > MAX_AMOUNT ? `more than ${formatMoney(MAX_AMOUNT)} (the most the exchange holds)` : formatMoney(cash);
  return reject('INSUFFICIENT_FUNDS', `account ${acct.id} needs ${needs} available (${forWhat}); it has ${formatMoney(acct.cash)}${held}`);
}

function overCap(acct: Account, pos: Position, inst: Instrument, quantity: number, cap: number): Rejection {
  return reject('POSITION_CAP_EXCEEDED', `account ${acct.id} holds ${pos.holding} t of ${inst.symbol} and has ${pos.openBuy} t in open buys; ${quantity} t more exceeds its cap of ${cap} t`);
}

function reportOverdue(acct: Account, inst: Instrument, dueDay: number): Rejection {
  return reject('REPORT_OVERDUE', `account ${acct.id}'s large-holder report for ${inst.symbol} was due ${dateOfDay(dueDay)}; buying is restricted until it is filed`);
}

function notPermitted(type: CommandType, role: string | undefined): Rejection {
  const roles = COMMAND_ROLES[type] as readonly string[] | undefined;
  if (roles === undefined) return reject('INVALID_COMMAND', `unknown command type ${JSON.stringify(type)}`);
  return reject('NOT_PERMITTED', `${type} is for the role ${roles.join(' or ')}, not ${role ?? 'anonymous'}`);
}

function tooLarge(inst: Instrument, quantity: number): Rejection {
  return reject('ORDER_TOO_LARGE', `quantity ${quantity} t exceeds the largest single listed order of ${inst.symbol}, ${inst.profile.source.maxListedOrderQuantity} t`);
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** A day the instrument's own calendar (its profile's, not its venue's: instruments of one venue may differ) does not trade. */
function notTradingDay(inst: Instrument, day: number): Rejection {
  const { weekdays, holidays } = inst.profile;
  const traded = [1, 2, 3, 4, 5, 6, 0].filter((d) => weekdays[d]).map((d) => WEEKDAYS[d]).join(', ');
  const why = holidays.has(day) ? 'a holiday in its calendar' : `a ${WEEKDAYS[(day + 4) % 7]}, and it trades on ${traded}`;
  return reject('MARKET_CLOSED', `${dateOfDay(day)} is not a trading day of ${inst.symbol} (venue ${inst.venue}): ${why}`);
}
function beyondCalendar(inst: Instrument, day: number, through: number): Rejection {
  return reject('MARKET_CLOSED', `${dateOfDay(day)} is after the calendar of ${inst.symbol} (venue ${inst.venue}), known through ${dateOfDay(through)}: its holidays are not entered yet, and an operator extends it before it trades`);
}

/** Whether a price on `side` lies within the levels down to `worst`, the deepest a pick may reach. */
const withinLevels = (side: Side, price: number, worst: number): boolean => (side === BUY ? price >= worst : price <= worst);

function badPick(symbol: string, side: string, opposite: Side, levels: number, worst: number | null, targetOrderId: number | null | undefined): Rejection {
  const other = sideName(opposite);
  // Sell levels rise from the best ask, buy levels fall from the best bid.
  const within = worst === null ? `there are none` : `${opposite === SELL ? 'up' : 'down'} to ${formatMoney(worst)}`;
  return reject('PICK_TARGET_INVALID', `a pick ${side} names a resting ${other} order of ${symbol} within its best ${levels} ${other} levels (${within}); ${targetOrderId ?? '(none)'} is not one`);
}

/** An order's state as a flat event, stamped with the given seq and time. */
export function describeOrder(order: Order, seq: number, time: number): OrderEvent {
  return {
    type: 'order', seq, time, orderId: order.id, clientOrderId: order.clientOrderId,
    accountId: order.account.id, symbol: order.instrument.symbol, side: order.side === BUY ? 'buy' : 'sell',
    orderType: order.type, timeInForce: order.tif, price: order.type === 'market' ? null : order.price,
    quantity: order.quantity, filled: order.filled, filledNotional: order.filledNotional,
    status: order.status, reason: order.reason,
  };
}

/** An account over its large-holder threshold for an instrument, and its report's status. */
export interface LargeHolderView { accountId: string; symbol: string; holding: number; threshold: number; since: string; dueDate: string; filed: string | null; overdue: boolean }

export class Engine {
  private lastSeq = 0;
  private lastTime = 0;
  /** The trading day in force, as a day number (days since 1970-01-01, local date). */
  tradingDay: number;
  marketHalted = false;
  marketHaltReason: string | null = null;
  readonly instruments: Instrument[] = [];
  private readonly bySymbol = new Map<string, Instrument>();
  readonly accounts = new Map<string, Account>();
  /** Open orders by id. Finished orders leave the engine; their history lives in the events. */
  private readonly openOrders = new OpenOrders();
  /**
   * accountId + NUL + clientOrderId → what the request made today (an order, block proposal,
   * auction or bid) and what it asked for: an order's terms, the others' prefixed with their kind and "#".
   */
  private readonly clientOrderIds = new Map<string, { id: number; fingerprint: string }>();
  /**
   * accountId + NUL + a transfer's bank or registry reference → the transfer it named (its sequence
   * number) and what it moved. Kept for good, not for a day: a bank's reference does not recur.
   */
  private readonly transferReferences = new Map<string, { seq: number; fingerprint: string }>();
  private nextOrderId = 1;
  private nextTradeId = 1;
  /** Fees collected by the exchange, in fen. */
  feesCollected = 0;
  /** Block trade proposals under negotiation. */
  readonly blocks = new BlockDesk(this);
  /** One-way auctions open for bids. */
  readonly auctions = new AuctionDesk(this);
  private readonly bookFactory: BookFactory;
  /**
   * Events of the command being applied, handed over with its result: null until the first, which
   * starts an array of one (most commands emit one event; an empty [] would take room for 17).
   */
  private events: EngineEvent[] | null = null;
  /** The instrument last looked up by symbol: most orders in a row name the same few. */
  private lastInstrument: Instrument | null = null;
  /** Each member's account ids, sorted, as of `membersIndexed` accounts. */
  private readonly byMember = new Map<string, readonly string[]>();
  private membersIndexed = -1;

  constructor(options: EngineOptions) {
    const day = dayOfDate(options.tradingDate);
    if (day === null) throw new Error(`tradingDate must be a date "YYYY-MM-DD", not ${JSON.stringify(options.tradingDate)}`);
    this.tradingDay = day;
    this.bookFactory = options.bookFactory ?? ladderBook;
  }

  get tradingDate(): string {
    return dateOfDay(this.tradingDay);
  }

  get lastSequence(): number {
    return this.lastSeq;
  }

  /** The stamped time of the last command applied (0 before any). */
  get lastStampedTime(): number {
    return this.lastTime;
  }

  /** Applies one stamped command. Sequence numbers must rise and times must not go back. */
  apply(command: Command): Result {
    // Order entry is nearly all the traffic. Each order command's stamp is read in its own method:
    // read here, in the function that has seen every shape of command, V8 would give those loads
    // the slow megamorphic path even in a branch that only ever sees one shape.
    const type = command.type;
    if (type === 'placeOrder') return this.placeOrder(command);
    if (type === 'cancelOrder') return this.cancelOrder(command);
    if (type === 'modifyOrder') return this.modifyOrder(command);
    const barred = this.begin(command.seq, command.time, command.actor, type);
    if (barred !== null) return barred;
    switch (command.type) {
      case 'createAccount': return this.createAccount(command);
      case 'updateAccount': return this.updateAccount(command);
      case 'deposit':
      case 'withdraw': return this.transfer(command);
      case 'listInstrument': return this.listInstrument(command);
      case 'setInstrument': return this.setInstrument(command);
      case 'setInstrumentStatus': return this.setInstrumentStatus(command);
      case 'haltMarket':
      case 'resumeMarket': return this.setMarketStatus(command);
      case 'setPositionCap':
      case 'setLargeHolderThreshold': return this.setLimit(command);
      case 'restrictAccount': return this.restrictAccount(command);
      case 'cancelAll': return this.cancelAll(command);
      case 'fileLargeHolderReport': return this.fileLargeHolderReport(command);
      case 'waiveLargeHolderReport': return this.waiveLargeHolderReport(command);
      case 'publishWarning': return this.publishWarning(command);
      case 'setCalendar': return setCalendar(this, command);
      case 'proposeBlock': return this.blocks.propose(command);
      case 'counterBlock': return this.blocks.counter(command);
      case 'acceptBlock': return this.blocks.accept(command);
      case 'rejectBlock':
      case 'withdrawBlock': return this.blocks.end(command);
      case 'openAuction': return this.auctions.openAuction(command);
      case 'bidAuction': return this.auctions.bid(command);
      case 'cancelAuctionBid': return this.auctions.cancelBid(command);
      case 'closeAuction':
      case 'cancelAuction': return this.auctions.end(command);
      case 'endOfDay': return endOfDay(this, command);
    }
  }

  /**
   * Takes the command's stamp (the sequence number must rise and the time must not go back) and
   * starts its events; returns the rejection when the actor's role may not issue the command.
   */
  private begin(seq: number, time: number, actor: Actor | undefined, type: CommandType): Rejection | null {
    if (!(seq > this.lastSeq) || !Number.isSafeInteger(seq)) throw new Error(`command sequence ${seq} does not follow ${this.lastSeq}`);
    if (!(time >= this.lastTime) || !Number.isSafeInteger(time)) throw new Error(`command time ${time} goes back before ${this.lastTime}`);
    this.lastSeq = seq;
    this.lastTime = time;
    const role = actor?.role;
    if (type === 'placeOrder' || type === 'cancelOrder' || type === 'modifyOrder' ? role !== 'member' : !COMMAND_ROLES[type]?.includes(role as Role)) {
      return notPermitted(type, role);
    }
    this.events = null;
    return null;
  }

  /** @internal The listed instrument, or the rejection that names the symbol. */
  listed(symbol: string): Instrument | Rejection {
    const last = this.lastInstrument;
    if (last !== null && last.symbol === symbol) return last;
    const inst = this.bySymbol.get(symbol);
    if (inst !== undefined) {
      this.lastInstrument = inst;
      return inst;
    }
    return reject('UNKNOWN_INSTRUMENT', `no instrument ${JSON.stringify(symbol)} is listed`);
  }

  /**
   * @internal What a member's block proposal or auction names: the listed instrument, its own
   * account and a side, or the rejection of the first that is wrong.
   */
  memberParty(c: { symbol: string; accountId: string; side: string; actor: Actor }): { inst: Instrument; acct: Account; side: Side } | Rejection {
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    const acct = this.accountFor(c.accountId, c.actor.id);
    if (refused(acct)) return acct;
    if (c.side !== 'buy' && c.side !== 'sell') return reject('INVALID_COMMAND', 'side must be "buy" or "sell"');
    return { inst, acct, side: c.side === 'buy' ? BUY : SELL };
  }

  /**
   * @internal A request's clientOrderId, unique per account and day: a refusal when it is malformed
   * or named another request today, the first request's answer (nothing done) when it is repeated
   * with the same terms, else the request to `remember` once it takes effect.
   */
  clientRequest(acct: Account, clientOrderId: unknown, kind: RequestKind, terms: string): ClientRequest | Accepted | Rejection {
    if (typeof clientOrderId !== 'string' || !CLIENT_ORDER_ID_RE.test(clientOrderId)) {
      return reject('INVALID_COMMAND', 'clientOrderId must be 1–64 printable characters without spaces');
    }
    const key = acct.id + '\u0000' + clientOrderId;
    // An order's terms as they always were (snapshots keep them); the other kinds' with their kind.
    const fingerprint = kind === 'order' ? terms : `${kind}#${terms}`;
    const seen = this.clientOrderIds.get(key);
    if (seen === undefined) return { key, fingerprint };
    if (seen.fingerprint === fingerprint) return { ok: true, events: [], [REQUEST_KINDS[kind].field]: seen.id, duplicate: true };
    const was = KIND_OF_FINGERPRINT.exec(seen.fingerprint)?.[1] as RequestKind | undefined ?? 'order';
    return reject('CLIENT_ORDER_ID_REUSED', `clientOrderId ${clientOrderId} was used today for ${REQUEST_KINDS[was].named(seen.id)}`
      + (was === kind ? ' with other terms' : `, not for a new ${REQUEST_KINDS[kind].words}`));
  }

  /** @internal A new request's clientOrderId, now that the request made `id`. */
  remember(request: ClientRequest | null, id: number): void {
    if (request !== null) this.clientOrderIds.set(request.key, { id, fingerprint: request.fingerprint });
  }

  /** @internal The account, or the rejection; with `member`, only if that member owns it. */
  accountFor(accountId: string, member?: string): Account | Rejection {
    const acct = this.accounts.get(accountId);
    if (acct === undefined) return reject('UNKNOWN_ACCOUNT', `no account ${JSON.stringify(accountId)}`);
    if (member !== undefined && acct.member !== member) return reject('ACCOUNT_NOT_OWNED', `account ${acct.id} belongs to another member`);
    return acct;
  }

  /** The cash all accounts hold, available and frozen (deposits are its only way in). */
  cashHeld(): number {
    let sum = 0;
    for (const a of this.accounts.values()) sum += a.cash + a.cashFrozen;
    return sum;
  }

  /** Every account in id order: the canonical order of snapshots, reports and listings. */
  accountsById(): Account[] {
    return [...this.accounts.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** @internal */
  takeTradeId(): number {
    return this.nextTradeId++;
  }

  /** @internal: what lasts only for a day (clientOrderIds) is forgotten when the day closes. */
  clearDay(): void {
    this.clientOrderIds.clear();
  }

  /** @internal Records an event of the command being applied. */
  emit(event: EngineEvent): void {
    if (this.events === null) this.events = [event];
    else this.events.push(event);
  }

  /** @internal The events of the command being applied (its result takes the array over). */
  collected(): EngineEvent[] {
    return this.events ?? [];
  }

  /** @internal */
  done(orderId?: number): Accepted {
    const events = this.collected();
    return orderId === undefined ? { ok: true, events } : { ok: true, events, orderId };
  }

  // ---------------------------------------------------------------- listed trading

  private placeOrder(c: PlaceOrder): Result {
    const barred = this.begin(c.seq, c.time, c.actor, 'placeOrder');
    if (barred !== null) return barred;
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    const acct = this.accountFor(c.accountId, c.actor.id);
    if (refused(acct)) return acct;
    const side: Side = c.side === 'buy' ? BUY : c.side === 'sell' ? SELL : -1 as Side;
    if (side !== BUY && side !== SELL) return reject('INVALID_COMMAND', 'side must be "buy" or "sell"');
    const orderType = c.orderType;
    if (orderType !== 'limit' && orderType !== 'market' && orderType !== 'pick') {
      return reject('INVALID_COMMAND', 'type must be "limit", "market" or "pick"');
    }
    const tif: TimeInForce = orderType === 'limit' ? (c.timeInForce ?? 'DAY') : 'IOC';
    if (tif !== 'DAY' && tif !== 'IOC' && tif !== 'FOK') return reject('INVALID_COMMAND', 'timeInForce must be DAY, IOC or FOK');
    if (orderType !== 'limit' && c.timeInForce != null && c.timeInForce !== 'IOC') {
      return reject('INVALID_COMMAND', `a ${orderType} order is immediate (IOC): leave timeInForce out, or send IOC`);
    }

    const clientOrderId = c.clientOrderId ?? null;
    const request = clientOrderId === null ? null
      : this.clientRequest(acct, clientOrderId, 'order', `${c.symbol}|${c.side}|${orderType}|${c.price ?? ''}|${c.quantity}|${tif}|${c.targetOrderId ?? ''}`);
    if (request !== null && !('key' in request)) return request;

    const gate = this.tradingGate(inst, acct, side, 'listed', c.time);
    if (gate !== null) return gate;
    const profile = inst.profile;
    const quantity = c.quantity;
    const q = this.checkQuantity(quantity, profile.lot);
    if (q !== null) return q;
    if (quantity > profile.source.maxListedOrderQuantity) return tooLarge(inst, quantity);

    const book = inst.book;
    const opposite: Side = side === BUY ? SELL : BUY;
    let price: number;
    let target: Order | null = null;
    if (orderType === 'limit') {
      if (c.price == null) return reject('PRICE_REQUIRED', 'a limit order needs a price');
      const p = this.checkPrice(inst, c.price);
      if (p !== null) return p;
      price = c.price;
    } else {
      // A malformed order (as a market order's DAY is), not a missing price: PRICE_REQUIRED would say the opposite.
      if (c.price != null) return reject('INVALID_COMMAND', `a ${orderType} order takes no price: it trades at the resting orders' prices`);
      if (orderType === 'market') {
        const levels = profile.source.marketDepthLevels;
        const worst = inst.book.deepestPrice(opposite, levels);
        if (worst === null) return reject('NO_LIQUIDITY', `a market ${c.side} of ${inst.symbol} needs resting ${sideName(opposite)} orders; there are none`);
        price = worst;
      } else {
        const found = c.targetOrderId == null ? undefined : this.openOrders.get(c.targetOrderId);
        const levels = profile.source.pickDepthLevels;
        const worst = inst.book.deepestPrice(opposite, levels);
        // One answer for every id that cannot be picked, whatever it is (another instrument's or
        // side's order, one deeper in the book, none at all): nothing about other orders is told.
        if (found === undefined || found.instrument !== inst || found.side !== opposite || !found.resting || worst === null
          || !withinLevels(opposite, found.price, worst)) {
          return badPick(inst.symbol, c.side, opposite, levels, worst, c.targetOrderId);
        }
        if (found.account === acct) return reject('SELF_TRADE', `order ${found.id} is account ${acct.id}'s own: an account never trades with itself`);
        if (profile.source.pickQuantity === 'whole' && quantity !== found.remaining) {
          return reject('PICK_QUANTITY_MISMATCH', `${inst.symbol} requires a pick to take the whole resting quantity, ${found.remaining} t, not ${quantity} t`);
        }
        target = found;
        price = found.price;
      }
    }

    const peeked = acct.peek(inst.index);
    const fillable = target === null ? quantity : Math.min(quantity, target.remaining);
    let reserve = 0;
    if (side === BUY) {
      const notional = price * fillable;
      const rate = profile.fees.listed.buy;
      reserve = notional + (target === null ? buyFeeReserve(notional, fillable, rate) : tradeFee(notional, rate));
      const r = this.checkBuy(acct, peeked, inst, fillable, reserve);
      if (r !== null) return r;
    } else if (peeked.available < fillable) {
      return reject('INSUFFICIENT_HOLDINGS', this.holdingsMessage(acct, peeked, inst, fillable));
    }

    // Checked: from here on the command takes effect. A pick is recorded as asked, and trades what
    // the picked order has; only that is reserved.
    const pos = acct.position(inst.index);
    const order = new Order(this.nextOrderId++, acct, pos, inst, side, orderType, price, quantity, tif, clientOrderId, c.seq, c.time);
    this.remember(request, order.id);
    if (side === BUY) {
      acct.cash -= reserve;
      acct.cashFrozen += reserve;
      order.frozenCash = reserve;
      pos.openBuy += fillable;
    } else {
      pos.available -= fillable;
      pos.frozen += fillable;
    }

    if (target !== null) {
      // The part the picked order cannot fill is cancelled at once, as a market order's rest is. It
      // was never reserved: it is counted in for the moment so that the release gives back only
      // what was.
      const rest = quantity - fillable;
      if (side === BUY) pos.openBuy += rest;
      else { pos.available -= rest; pos.frozen += rest; }
      this.trade(order, target, fillable, c.seq, c.time);
      this.finish(order, rest > 0 ? 'cancelled' : 'filled', rest > 0 ? 'pick_remainder' : null);
    } else if (tif === 'FOK' && this.fillableAgainst(order, book.best(opposite)) < quantity) {
      this.finish(order, 'cancelled', 'fok_not_filled');
    } else {
      const stopped = this.match(order, c.seq, c.time);
      if (order.remaining === 0) this.finish(order, 'filled', null);
      else if (stopped) this.finish(order, 'cancelled', 'self_trade_prevented');
      else if (tif === 'DAY') this.rest(order);
      else this.finish(order, 'cancelled', orderType === 'market' ? 'market_remainder' : 'ioc_remainder');
    }
    this.orderEvent(order, c.seq, c.time);
    return this.done(order.id);
  }

  /**
   * Trades `taker` against the other side while prices cross. Returns true when it stopped at an
   * order of the same account (self-trade prevention cancels the newer order's remainder).
   */
  private match(taker: Order, seq: number, time: number): boolean {
    const book = taker.instrument.book;
    const opposite: Side = taker.side === BUY ? SELL : BUY;
    const limit = taker.price;
    for (;;) {
      const maker = book.best(opposite);
      if (maker === null) return false;
      if (taker.side === BUY ? maker.price > limit : maker.price < limit) return false;
      if (maker.account === taker.account) return true;
      const remaining = taker.quantity - taker.filled;
      const makerRemaining = maker.quantity - maker.filled;
      this.trade(taker, maker, remaining < makerRemaining ? remaining : makerRemaining, seq, time);
      if (taker.quantity === taker.filled) return false;
    }
  }

  /** How much a FOK order could fill, walking the book from `from` until the price or its own account stops it. */
  private fillableAgainst(taker: Order, from: Order | null): number {
    const book = taker.instrument.book;
    let sum = 0;
    for (let o = from; o !== null && sum < taker.quantity; o = book.after(o)) {
      if (taker.side === BUY ? o.price > taker.price : o.price < taker.price) break;
      if (o.account === taker.account) break;
      sum += o.quantity - o.filled;
    }
    return sum;
  }

  /** One fill at the maker's price: delivery versus payment of MARKET-RULES section 5. */
  private trade(taker: Order, maker: Order, quantity: number, seq: number, time: number): void {
    const inst = taker.instrument;
    const price = maker.price;
    const buy = taker.side === BUY ? taker : maker;
    const sell = taker.side === BUY ? maker : taker;
    const turnover = price * quantity;
    const fees = inst.profile.fees.listed;
    const buyFee = fees.buy === 0 ? 0 : tradeFee(turnover, fees.buy);
    const sellFee = fees.sell === 0 ? 0 : tradeFee(turnover, fees.sell);

    const cost = turnover + buyFee;
    buy.frozenCash -= cost;
    buy.account.cashFrozen -= cost;
    const buyPos = buy.position;
    buyPos.openBuy -= quantity;
    buyPos.pending += quantity;
    sell.position.frozen -= quantity;
    sell.account.cash += turnover - sellFee;
    this.feesCollected += buyFee + sellFee;

    buy.filled += quantity;
    buy.filledNotional += turnover;
    sell.filled += quantity;
    sell.filledNotional += turnover;
    inst.book.reduced(maker, quantity);
    if (maker.filled === maker.quantity) {
      inst.book.remove(maker);
      this.finish(maker, 'filled', null);
    } else {
      maker.status = 'partially_filled';
      // A resting buy filled by others gives back at once the fee reserve its remaining quantity no
      // longer needs, as one that trades on entry does (without fees it holds exactly what it needs).
      if (maker === buy && fees.buy !== 0) this.trimReservation(maker);
    }
    if (taker.filled < taker.quantity) taker.status = 'partially_filled';

    const stats = inst.stats;
    if (stats.open === null) stats.open = stats.high = stats.low = price;
    else {
      if (price > (stats.high as number)) stats.high = price;
      if (price < (stats.low as number)) stats.low = price;
    }
    stats.last = price;
    stats.listedVolume += quantity;
    stats.listedTurnover += turnover;
    stats.trades++;

    this.emit({
      type: 'trade', seq, time, tradeId: this.nextTradeId++, symbol: inst.symbol, mode: 'listed',
      price, quantity, buyOrderId: buy.id, sellOrderId: sell.id, blockId: null, buyAccountId: buy.account.id, sellAccountId: sell.account.id,
      buyRemaining: buy.quantity - buy.filled, sellRemaining: sell.quantity - sell.filled, buyFee, sellFee,
      aggressor: taker.side === BUY ? 'buy' : 'sell',
    });
    this.holdingRose(buy.account, buyPos, inst, seq, time);
    this.holdingFell(sell.position, sell.account, inst, seq, time);
  }

  /** Puts the rest of a DAY order in the book, giving back a buy's price improvement first. */
  private rest(order: Order): void {
    if (order.side === BUY && order.filled > 0) this.trimReservation(order);
    this.enqueue(order);
  }

  private enqueue(order: Order): void {
    order.instrument.book.add(order);
    this.openOrders.add(order);
    order.account.openOrders++;
  }

  /**
   * Gives back what a buy order holds beyond what its remaining quantity needs at its limit: the
   * price improvement of fills below the limit and the unused fee reserve.
   */
  private trimReservation(order: Order): void {
    const left = order.quantity - order.filled;
    const notional = order.price * left;
    const keep = notional + buyFeeReserve(notional, left, order.instrument.profile.fees.listed.buy);
    if (order.frozenCash > keep) {
      const freed = order.frozenCash - keep;
      order.frozenCash = keep;
      order.account.cash += freed;
      order.account.cashFrozen -= freed;
    }
  }

  /** @internal Takes a resting order off its book and ends it (cancelled or expired), with its event. */
  endResting(order: Order, status: 'cancelled' | 'expired', reason: string | null, c: Command): void {
    order.instrument.book.remove(order);
    this.finish(order, status, reason);
    this.orderEvent(order, c.seq, c.time);
  }

  /** @internal Ends an order that is not (or no longer) in the book and releases what it still holds back. */
  finish(order: Order, status: 'filled' | 'cancelled' | 'expired', reason: string | null): void {
    if (this.openOrders.delete(order.id)) order.account.openOrders--;
    order.status = status;
    order.reason = reason;
    this.release(order);
  }

  private release(order: Order): void {
    const left = order.quantity - order.filled;
    if (order.side === BUY) {
      const acct = order.account;
      acct.cash += order.frozenCash;
      acct.cashFrozen -= order.frozenCash;
      order.frozenCash = 0;
      order.position.openBuy -= left;
    } else {
      order.position.frozen -= left;
      order.position.available += left;
    }
  }

  private cancelOrder(c: CancelOrder): Result {
    const barred = this.begin(c.seq, c.time, c.actor, 'cancelOrder');
    if (barred !== null) return barred;
    const order = this.ownOpenOrder(c.orderId, c.actor.id);
    if (refused(order)) return order;
    this.endResting(order, 'cancelled', null, c);
    return this.done(order.id);
  }

  private ownOpenOrder(orderId: number, member: string): Order | Rejection {
    if (!isPositiveInt(orderId)) return reject('INVALID_COMMAND', 'orderId must be a positive whole number');
    const order = this.openOrders.get(orderId);
    if (order === undefined || order.account.member !== member) {
      if (order === undefined && orderId < this.nextOrderId) return reject('ORDER_NOT_OPEN', `order ${orderId} is no longer open (filled, cancelled or expired)`);
      return reject('UNKNOWN_ORDER', `you have no order ${orderId} today`);
    }
    return order;
  }

  private modifyOrder(c: ModifyOrder): Result {
    const barred = this.begin(c.seq, c.time, c.actor, 'modifyOrder');
    if (barred !== null) return barred;
    const order = this.ownOpenOrder(c.orderId, c.actor.id);
    if (refused(order)) return order;
    const inst = order.instrument;
    const acct = order.account;
    const profile = inst.profile;
    if (c.quantity == null && c.price == null) return reject('INVALID_COMMAND', 'a modification names a new quantity, a new price or both');
    const newQuantity = c.quantity ?? order.quantity;
    const newPrice = c.price ?? order.price;
    if (c.quantity != null) {
      const q = this.checkQuantity(newQuantity, profile.lot);
      if (q !== null) return q;
      if (newQuantity <= order.filled) {
        // A state conflict, not a malformed request: a fill that came first can make it so.
        return reject('QUANTITY_BELOW_FILLED', `order ${order.id} has filled ${order.filled} t: the new quantity must be above that (cancel it instead)`);
      }
      if (newQuantity > profile.source.maxListedOrderQuantity) return tooLarge(inst, newQuantity);
    }
    if (c.price != null) {
      const p = this.checkPrice(inst, newPrice);
      if (p !== null) return p;
    }
    if (newQuantity === order.quantity && newPrice === order.price) return reject('NO_CHANGE', `order ${order.id} is already ${order.quantity} t at ${formatMoney(order.price)}`);

    const oldRemaining = order.remaining;
    const newRemaining = newQuantity - order.filled;
    const book = inst.book;
    const pos = order.position;
    if (newPrice === order.price && newQuantity < order.quantity) {
      // A pure reduction keeps its place in the queue and is allowed whatever the market's state.
      const cut = oldRemaining - newRemaining;
      book.reduced(order, cut);
      order.quantity = newQuantity;
      if (order.side === BUY) {
        this.trimReservation(order);
        pos.openBuy -= cut;
      } else {
        pos.frozen -= cut;
        pos.available += cut;
      }
      this.orderEvent(order, c.seq, c.time);
      return this.done(order.id);
    }

    const gate = this.tradingGate(inst, acct, order.side, 'listed', c.time);
    if (gate !== null) return gate;
    let newReserve = 0;
    if (order.side === BUY) {
      const notional = newPrice * newRemaining;
      newReserve = notional + buyFeeReserve(notional, newRemaining, profile.fees.listed.buy);
      const extra = newReserve - order.frozenCash;
      const more = newRemaining - oldRemaining;
      // What the order holds counts towards its new terms (a message of its own says so).
      if (extra > 0 && acct.cash < extra) return noFundsToModify(acct, order, newReserve);
      if (more > 0 || extra > 0) {
        const r = this.checkBuy(acct, pos, inst, more > 0 ? more : 0, extra > 0 ? extra : 0);
        if (r !== null) return r;
      }
    } else if (newRemaining > oldRemaining && pos.available < newRemaining - oldRemaining) {
      return reject('INSUFFICIENT_HOLDINGS', this.holdingsMessage(acct, pos, inst, newRemaining - oldRemaining));
    }

    // A price change or an increase loses time priority: the order re-enters as if new, and may trade.
    // It stays among the open orders throughout (finish() takes it out if it ends).
    book.remove(order);
    if (order.side === BUY) {
      acct.cash += order.frozenCash - newReserve;
      acct.cashFrozen += newReserve - order.frozenCash;
      order.frozenCash = newReserve;
      pos.openBuy += newRemaining - oldRemaining;
    } else {
      pos.available -= newRemaining - oldRemaining;
      pos.frozen += newRemaining - oldRemaining;
    }
    order.quantity = newQuantity;
    order.price = newPrice;
    order.seq = c.seq;
    order.time = c.time;
    const stopped = this.match(order, c.seq, c.time);
    if (order.remaining === 0) this.finish(order, 'filled', null);
    else if (stopped) this.finish(order, 'cancelled', 'self_trade_prevented');
    else {
      if (order.side === BUY && order.filled > 0) this.trimReservation(order);
      book.add(order);
    }
    this.orderEvent(order, c.seq, c.time);
    return this.done(order.id);
  }

  // ---------------------------------------------------------------- checks shared by orders

  /** Halts, session, admission and restrictions: whether the account may trade this side now. */
  /** @internal */
  tradingGate(inst: Instrument, acct: Account, side: Side, mode: TradeMode, time: number): Rejection | null {
    if (this.marketHalted || inst.status === 'halted') return this.haltedRejection(inst);
    const open = inst.openWindow[mode === 'listed' ? 0 : mode === 'block' ? 1 : 2];
    if (!(time >= open.from && time < open.until && open.day === this.tradingDay)) {
      const closed = this.sessionCheck(inst, mode, time);
      if (closed !== null) return closed;
    }
    if (!this.admittedTo(acct, inst)) return notAdmitted(acct, inst);
    if (forbids(acct.restriction, side)) return restricted(acct);
    return null;
  }

  /** @internal The halt that stops anything from executing on the instrument now, or null. */
  haltOf(inst: Instrument): Rejection | null {
    return this.marketHalted || inst.status === 'halted' ? this.haltedRejection(inst) : null;
  }

  private haltedRejection(inst: Instrument): Rejection {
    if (this.marketHalted) return reject('MARKET_HALTED', `the market is halted (${this.marketHaltReason})`);
    return reject('INSTRUMENT_HALTED', `${inst.symbol} is halted (${inst.statusReason})`);
  }

  /** @internal Whether the account may trade the instrument's venue (worked out once per pair). */
  admittedTo(acct: Account, inst: Instrument): boolean {
    const i = inst.index;
    if (i < ADMISSION_BITS) {
      const bit = 1 << i;
      if ((acct.admissionKnown & bit) !== 0) return (acct.admissionBits & bit) !== 0;
    } else {
      const known = acct.admissionBeyond?.get(i);
      if (known !== undefined) return known;
    }
    return this.workOutAdmission(acct, inst);
  }

  private workOutAdmission(acct: Account, inst: Instrument): boolean {
    const admitted = (acct.venues === null || acct.venues.has(inst.venue)) && inst.profile.source.admittedClasses.includes(acct.accountClass);
    const i = inst.index;
    if (i < ADMISSION_BITS) {
      acct.admissionKnown |= 1 << i;
      if (admitted) acct.admissionBits |= 1 << i;
    } else {
      (acct.admissionBeyond ??= new Map()).set(i, admitted);
    }
    return admitted;
  }

  /**
   * The trading day, the venue's calendar and the mode's sessions. When the time passes, the
   * session it falls in is remembered on the instrument, so that the next commands inside it skip
   * this arithmetic.
   */
  private sessionCheck(inst: Instrument, mode: TradeMode, time: number): Rejection | null {
    const profile = inst.profile;
    const day = localDay(time);
    if (day !== this.tradingDay) {
      return reject('MARKET_CLOSED', `orders are taken for the trading day ${this.tradingDate}, not ${dateOfDay(day)}`);
    }
    if (!isTradingDay(profile, day)) return notTradingDay(inst, day);
    if (profile.through !== null && day > profile.through) return beyondCalendar(inst, day, profile.through);
    const range = sessionAt(profile, mode, localMinute(time));
    if (range === null) {
      return reject('MARKET_CLOSED', `${mode} trading in ${inst.symbol} is closed now; its sessions are ${describeSessions(profile, mode)} (UTC+8)`);
    }
    const midnight = localMidnight(day);
    const open = inst.openWindow[mode === 'listed' ? 0 : mode === 'block' ? 1 : 2];
    open.day = day;
    open.from = midnight + range[0] * 60_000;
    open.until = midnight + range[1] * 60_000;
    return null;
  }

  /** @internal */
  checkQuantity(quantity: number, lot: number): Rejection | null {
    // (A lot or tick of 1, the common case, needs no division.)
    if (!isPositiveInt(quantity) || quantity > MAX_AMOUNT || (lot !== 1 && quantity % lot !== 0)) return badQuantity(quantity, lot);
    return null;
  }

  /** @internal */
  checkPrice(inst: Instrument, price: number): Rejection | null {
    const tick = inst.profile.tick;
    if (!isPositiveInt(price) || price > MAX_AMOUNT || (tick !== 1 && price % tick !== 0) || price < inst.bandLow || price > inst.bandHigh) {
      return badPrice(inst, price);
    }
    return null;
  }

  /** Funds, position cap and an overdue large-holder report, for `quantity` more tonnes costing `cash`. */
  /** @internal */
  checkBuy(acct: Account, pos: Position, inst: Instrument, quantity: number, cash: number): Rejection | null {
    if (acct.cash < cash) return noFunds(acct, cash);
    const cap = this.capOf(acct, pos, inst);
    if (cap !== null && pos.holding + pos.openBuy + quantity > cap) return overCap(acct, pos, inst, quantity, cap);
    const lh = pos.largeHolder;
    if (lh !== null && lh.filedDay === null && lh.dueDay < this.tradingDay && inst.profile.source.largeHolder.overdueAction === 'no_buy') {
      return reportOverdue(acct, inst, lh.dueDay);
    }
    return null;
  }

  /** @internal */
  holdingsMessage(acct: Account, pos: Position, inst: Instrument, quantity: number): string {
    const held = pos.frozen > 0 ? `; ${pos.frozen} t more are held by its open sell orders, block proposals and auctions (cancel or withdraw one to use them)` : '';
    const pending = pos.pending > 0 ? `; ${pos.pending} t bought today are pending until the end of day` : '';
    return `account ${acct.id} has ${pos.available} t of ${inst.symbol} available, not ${quantity} t${held}${pending}`;
  }

  private limitFor(limit: ClassLimit | null, acct: Account): number | null {
    return limit === null ? null : limit.quantity + (limit.plusAllocation ? acct.allocation : 0);
  }

  /** The account's cap for the instrument: its own override, else its class rule; null = none. */
  capOf(acct: Account, pos: Position, inst: Instrument): number | null {
    return pos.capOverride !== undefined ? pos.capOverride : this.limitFor(inst.classCaps[acct.accountClass], acct);
  }

  thresholdOf(acct: Account, pos: Position, inst: Instrument): number | null {
    return pos.thresholdOverride !== undefined ? pos.thresholdOverride : this.limitFor(inst.classThresholds[acct.accountClass], acct);
  }

  // ---------------------------------------------------------------- large holders

  /** After a holding grew: crossing the threshold raises an alert and opens a report obligation. */
  /** @internal */
  holdingRose(acct: Account, pos: Position, inst: Instrument, seq: number, time: number): void {
    if (pos.largeHolder !== null) return;
    const threshold = this.thresholdOf(acct, pos, inst);
    // passes(), spelt out so that the alert gets the threshold as a number.
    if (threshold !== null && pos.holding > threshold) this.largeHolderAlert(acct, pos, inst, threshold, seq, time);
  }

  private largeHolderAlert(acct: Account, pos: Position, inst: Instrument, threshold: number, seq: number, time: number): void {
    const holding = pos.holding;
    const dueDay = addTradingDays(inst.profile, this.tradingDay, inst.profile.source.largeHolder.reportDays);
    pos.largeHolder = { since: this.tradingDay, dueDay, holding, threshold, filedDay: null, text: null };
    this.emit({
      type: 'largeHolder', seq, time, accountId: acct.id, symbol: inst.symbol, holding, threshold,
      action: 'alert', dueDate: dateOfDay(dueDay),
    });
  }

  /** After a holding shrank: a filed report is closed once the holding is back at or under the threshold. */
  /** @internal */
  holdingFell(pos: Position, acct: Account, inst: Instrument, seq: number, time: number): void {
    const lh = pos.largeHolder;
    if (lh === null || lh.filedDay === null) return;
    const threshold = this.thresholdOf(acct, pos, inst);
    if (passes(pos.holding, threshold)) return;
    this.closeReport(acct, pos, inst, lh.dueDay, threshold, seq, time);
  }

  /** Ends the account's report obligation (filed and fallen back, or waived), with the threshold in force. */
  private closeReport(acct: Account, pos: Position, inst: Instrument, dueDay: number, threshold: number | null, seq: number, time: number): void {
    pos.largeHolder = null;
    this.emit({ type: 'largeHolderClosed', seq, time, accountId: acct.id, symbol: inst.symbol, holding: pos.holding, threshold, dueDate: dateOfDay(dueDay) });
  }

  /** A warning to the market: it changes no state, it is journaled, audited and published. */
  private publishWarning(c: PublishWarning): Result {
    let symbol: string | null = null;
    if (c.symbol != null) {
      const inst = this.listed(c.symbol);
      if (refused(inst)) return inst;
      symbol = inst.symbol;
    }
    const fault = textFault(c.text, TEXT_LIMITS.warning, 'the warning text');
    if (fault !== null) return reject('INVALID_COMMAND', fault);
    this.emit({ type: 'warning', seq: c.seq, time: c.time, symbol, text: c.text });
    return this.done();
  }

  private fileLargeHolderReport(c: FileLargeHolderReport): Result {
    const acct = this.accountFor(c.accountId, c.actor.id);
    if (refused(acct)) return acct;
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    const fault = textFault(c.text, TEXT_LIMITS.report, 'the report text');
    if (fault !== null) return reject('INVALID_COMMAND', fault);
    const pos = acct.positions[inst.index];
    const lh = pos?.largeHolder ?? null;
    if (pos === undefined || lh === null || lh.filedDay !== null) {
      return reject('REPORT_NOT_DUE', `account ${acct.id} owes no large-holder report for ${inst.symbol}`);
    }
    lh.filedDay = this.tradingDay;
    lh.text = c.text;
    this.emit({
      type: 'largeHolder', seq: c.seq, time: c.time, accountId: acct.id, symbol: inst.symbol, holding: pos.holding,
      threshold: lh.threshold, action: 'filed', dueDate: dateOfDay(lh.dueDay),
    });
    this.holdingFell(pos, acct, inst, c.seq, c.time);
    return this.done();
  }

  /**
   * A risk officer ends a report obligation whose holding no longer passes the threshold in force
   * (a threshold set by mistake and put back): closed as a filed one is, so that an overdue report
   * no longer restricts the account's buying. One still over the threshold owes its report.
   */
  private waiveLargeHolderReport(c: WaiveLargeHolderReport): Result {
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    const acct = this.accountFor(c.accountId);
    if (refused(acct)) return acct;
    const pos = acct.positions[inst.index];
    if (pos === undefined || pos.largeHolder === null) return reject('REPORT_NOT_DUE', `account ${acct.id} owes no large-holder report for ${inst.symbol}`);
    const threshold = this.thresholdOf(acct, pos, inst);
    if (passes(pos.holding, threshold)) {
      return reject('STILL_LARGE_HOLDER', `account ${acct.id} holds ${pos.holding} t of ${inst.symbol}, over the threshold in force (${threshold} t): its report is owed; raise or remove the threshold first`);
    }
    this.closeReport(acct, pos, inst, pos.largeHolder.dueDay, threshold, c.seq, c.time);
    return this.done();
  }

  // ---------------------------------------------------------------- operators

  private createAccount(c: CreateAccount): Result {
    if (typeof c.accountId !== 'string' || !ACCOUNT_ID_RE.test(c.accountId)) {
      return reject('INVALID_COMMAND', 'accountId must be 1–32 letters, digits, dots, dashes or underscores');
    }
    if (this.accounts.has(c.accountId)) return reject('ACCOUNT_EXISTS', `account ${c.accountId} exists already`);
    if (typeof c.member !== 'string' || !ACCOUNT_ID_RE.test(c.member)) {
      return reject('INVALID_COMMAND', 'member must be 1–32 letters, digits, dots, dashes or underscores');
    }
    // An account's id names its member, as the market set-up file requires (STRICT: older journals
    // took any id).
    if (c.strict === true && !c.accountId.startsWith(`${c.member}-`)) {
      return reject('INVALID_COMMAND', `accountId must start with its member's id and a dash: "${c.member}-" (${c.accountId} does not)`);
    }
    if (!ACCOUNT_CLASSES.includes(c.accountClass)) return reject('INVALID_COMMAND', `class must be one of ${ACCOUNT_CLASSES.join(', ')}`);
    const allocation = c.allocation ?? 0;
    const badAllocation = allocationRefused(allocation, c.accountClass);
    if (badAllocation !== null) return badAllocation;
    const admitted = this.venuesFor(c.venues ?? null, c.accountClass, c.strict === true);
    if (refused(admitted)) return admitted;
    const acct = new Account(c.accountId, c.member, c.accountClass, allocation, admitted.venues);
    this.accounts.set(acct.id, acct);
    this.accountEvent(acct, c, 'created', null, null, null);
    return this.done();
  }

  /** The venues an account of that class is to be admitted to (null: every venue), checked. */
  private venuesFor(named: string[] | null, accountClass: AccountClass, strict: boolean): { venues: Set<string> | null } | Rejection {
    if (named === null) return { venues: null };
    if (!Array.isArray(named) || named.length === 0 || !named.every((v) => typeof v === 'string' && CODE_RE.test(v))) {
      return reject('INVALID_COMMAND', 'venues must be a non-empty list of venue codes such as "CEA"');
    }
    const venues = new Set(named);
    // A venue is one that instruments are listed on: a misspelt one would leave the account
    // silently unable to trade where it was meant to.
    const unknown = strict ? [...venues].find((v) => !this.instruments.some((inst) => inst.venue === v)) : undefined;
    if (unknown !== undefined) return unknownVenue(unknown, this.instruments);
    // A venue listed here none of whose instruments takes the account's class would leave it an
    // account that can never trade there: refused, naming what the venue takes. (One instrument
    // listed for some classes only does not shut the others out of the venue's other instruments.)
    for (const venue of venues) {
      const listed = this.instruments.filter((inst) => inst.venue === venue);
      if (listed.length > 0 && !listed.some((inst) => inst.profile.source.admittedClasses.includes(accountClass))) {
        const admits = [...new Set(listed.flatMap((inst) => inst.profile.source.admittedClasses))];
        return reject('VENUE_NOT_ADMITTED', `${venue} does not admit ${accountClass} accounts (it admits ${admits.join(', ')})`);
      }
    }
    return { venues };
  }

  private updateAccount(c: UpdateAccount): Result {
    const acct = this.accountFor(c.accountId);
    if (refused(acct)) return acct;
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    if (c.allocation == null && c.venues === undefined) return reject('INVALID_COMMAND', 'name the allocation or the venues to change');
    const allocation = c.allocation ?? acct.allocation;
    const badAllocation = allocationRefused(allocation, acct.accountClass);
    if (badAllocation !== null) return badAllocation;
    const admitted = c.venues === undefined ? null : this.venuesFor(c.venues, acct.accountClass, true);
    if (admitted !== null && refused(admitted)) return admitted;
    acct.allocation = allocation;
    if (admitted !== null) acct.admitTo(admitted.venues);
    this.accountEvent(acct, c, 'updated', null, null, c.reason);
    // Its business on a venue it leaves ends now (an order there could no longer be placed), as a
    // restriction ends what it forbids.
    if (admitted !== null) {
      const left = (inst: Instrument): boolean => !this.admittedTo(acct, inst);
      this.endOrdersOf(acct, c, 'venue_not_admitted', () => true, left);
      this.blocks.withdrawAllOf(acct, c, 'venue_not_admitted', () => true, left);
      this.auctions.withdrawAllOf(acct, c, 'venue_not_admitted', () => true, left);
    }
    // Caps and thresholds that add the allocation move with it: what rests past a lower cap is
    // trimmed, and a holding the new threshold passes (or no longer passes) is told, as when a risk
    // officer sets them.
    acct.positions.forEach((pos, i) => {
      if (pos === undefined) return;
      const inst = this.instruments[i];
      this.trimToCap(acct, pos, inst, c);
      this.holdingFell(pos, acct, inst, c.seq, c.time);
      this.holdingRose(acct, pos, inst, c.seq, c.time);
    });
    return this.done();
  }

  private transfer(c: Transfer): Result {
    const acct = this.accountFor(c.accountId);
    if (refused(acct)) return acct;
    const inbound = c.type === 'deposit';
    const hasCash = c.cash != null;
    const hasTonnes = c.symbol != null || c.quantity != null;
    if (hasCash === hasTonnes) return reject('INVALID_COMMAND', 'a transfer moves either cash or a symbol and quantity, not both and not neither');
    if (hasTonnes && (c.symbol == null || c.quantity == null)) return reject('INVALID_COMMAND', 'a transfer of allowances names both the symbol and the quantity');
    const reference = c.reference ?? null;
    let referenceKey: string | null = null;
    if (reference !== null) {
      if (typeof reference !== 'string' || !CLIENT_ORDER_ID_RE.test(reference)) {
        return reject('INVALID_COMMAND', 'reference must be 1–64 printable characters without spaces');
      }
      // Looked up before anything else is checked: a repeat is answered with what the first one did,
      // whatever the account's cash, holdings or restriction are now.
      referenceKey = acct.id + '\u0000' + reference;
      const seen = this.transferReferences.get(referenceKey);
      if (seen !== undefined) {
        if (seen.fingerprint === transferTerms(c)) return { ok: true, events: [], transferSeq: seen.seq, duplicate: true };
        return reject('TRANSFER_REFERENCE_REUSED', `reference ${reference} names transfer S${seen.seq} of account ${acct.id}, ${seen.fingerprint}, not ${transferTerms(c)}`);
      }
    }
    if (!inbound && acct.restriction === 'frozen') return reject('ACCOUNT_RESTRICTED', `account ${acct.id} is frozen: ${acct.restrictionReason}`);
    if (hasCash) {
      const cash = c.cash as number;
      if (!isPositiveInt(cash) || cash > MAX_AMOUNT) return reject('INVALID_COMMAND', 'cash must be a positive amount of at most 10,000,000,000,000.00');
      if (inbound) {
        // All accounts together, not each: cash only moves between accounts (and out, as fees), so
        // no balance, and no single trade paid for with full funds, can then pass what a Number
        // keeps exact.
        if (this.cashHeld() + cash > MAX_AMOUNT) {
          return reject('INVALID_COMMAND', `the deposit would take the cash the exchange holds, all accounts together, above ${formatMoney(MAX_AMOUNT)} (it holds ${formatMoney(this.cashHeld())})`);
        }
        acct.cash += cash;
      } else {
        if (acct.cash < cash) return noFunds(acct, cash, 'the withdrawal');
        acct.cash -= cash;
      }
      this.accountEvent(acct, c, inbound ? 'deposit' : 'withdraw', null, cash, null, reference);
      return this.transferred(c, referenceKey);
    }
    const inst = this.listed(c.symbol as string);
    if (refused(inst)) return inst;
    const quantity = c.quantity as number;
    if (!isPositiveInt(quantity) || quantity > MAX_AMOUNT) return reject('INVALID_QUANTITY', `quantity must be a positive whole number of tonnes of at most 1,000,000,000,000,000, not ${quantity}`);
    if (inbound) {
      // Allowances go only where they can be sold: an account not admitted to the venue could never
      // trade them (a withdrawal is always possible).
      if (!this.admittedTo(acct, inst)) return reject('VENUE_NOT_ADMITTED', `account ${acct.id} (${acct.accountClass}) is not admitted to ${inst.venue}: it could never trade ${inst.symbol} deposited there`);
      // Holdings stay well inside 2^53 (every amount is an exact integer), like cash.
      const held = acct.peek(inst.index);
      if (held.available + held.frozen + held.pending + held.openBuy + quantity > MAX_AMOUNT) {
        return reject('INVALID_QUANTITY', `the deposit would take account ${acct.id}'s ${inst.symbol} above 1,000,000,000,000,000 t`);
      }
      const pos = acct.position(inst.index);
      pos.available += quantity;
      this.accountEvent(acct, c, 'deposit', inst.symbol, quantity, null, reference);
      this.holdingRose(acct, pos, inst, c.seq, c.time);
    } else {
      const pos = acct.peek(inst.index);
      if (pos.available < quantity) return reject('INSUFFICIENT_HOLDINGS', this.holdingsMessage(acct, pos, inst, quantity));
      pos.available -= quantity;
      this.accountEvent(acct, c, 'withdraw', inst.symbol, quantity, null, reference);
      this.holdingFell(pos, acct, inst, c.seq, c.time);
    }
    return this.transferred(c, referenceKey);
  }

  /** A transfer done: its reference remembered, its sequence number answered. */
  private transferred(c: Transfer, referenceKey: string | null): Accepted {
    if (referenceKey !== null) this.transferReferences.set(referenceKey, { seq: c.seq, fingerprint: transferTerms(c) });
    return { ...this.done(), transferSeq: c.seq };
  }

  private listInstrument(c: ListInstrument): Result {
    let profile;
    try {
      profile = validateProfile(c.profile, 'profile', c.strict === true);
    } catch (e) {
      if (e instanceof ProfileError) return reject('INVALID_COMMAND', e.message);
      throw e;
    }
    if (typeof c.symbol !== 'string' || !CODE_RE.test(c.symbol)) {
      return reject('INVALID_COMMAND', 'symbol must be 2–16 capitals, digits or dashes, starting with a capital');
    }
    if (this.bySymbol.has(c.symbol)) return reject('INSTRUMENT_EXISTS', `${c.symbol} is listed already`);
    const known = profile.source.instruments.find((i) => i.symbol === c.symbol);
    const name = c.name ?? known?.name;
    if (typeof name !== 'string') return reject('INVALID_COMMAND', 'a name of 1–100 characters is required (or the symbol must be one of the profile\'s instruments)');
    const nameFault = textFault(name, 100, 'the name');
    if (nameFault !== null) return reject('INVALID_COMMAND', nameFault);
    const vintage = c.vintage !== undefined ? c.vintage : (known?.vintage ?? null);
    if (vintage !== null && !(Number.isSafeInteger(vintage) && vintage >= 2000 && vintage <= 2100)) return reject('INVALID_COMMAND', 'vintage must be a year');
    const fault = priceFault(c.listingPrice, profile.tick, 'the listing price');
    if (fault !== null) return reject('INVALID_PRICE', fault);
    const wide = bandTooWide(c.listingPrice, profile.listedBandRate, profile.tick, 'a listing price');
    if (wide !== null) return reject('BAND_TOO_WIDE', wide);
    const inst = new Instrument(this.instruments.length, c.symbol, name, vintage, profile, c.listingPrice, this.bookFactory);
    this.instruments.push(inst);
    this.bySymbol.set(inst.symbol, inst);
    this.instrumentEvent(inst, c, 'listed');
    return this.done();
  }

  // ---------------------------------------------------------------- risk officers

  /** @internal */
  checkReason(reason: unknown): Rejection | null {
    const fault = textFault(reason, TEXT_LIMITS.reason, 'the reason');
    return fault === null ? null : reject('INVALID_COMMAND', fault);
  }

  private setInstrument(c: SetInstrument): Result {
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    let listedRate = inst.listedBandRate;
    let blockRate = inst.blockBandRate;
    if (c.listedBandPct != null) {
      const v = parsePercent(c.listedBandPct);
      if (v === null || v <= 0) return reject('INVALID_COMMAND', 'listedBandPct must be a percentage above 0 and at most 100, such as "10"');
      listedRate = v;
    }
    if (c.blockBandPct != null) {
      const v = parsePercent(c.blockBandPct);
      if (v === null || v <= 0) return reject('INVALID_COMMAND', 'blockBandPct must be a percentage above 0 and at most 100, such as "30"');
      blockRate = v;
    }
    let reference = inst.referencePrice;
    if (c.referencePrice != null) {
      const fault = priceFault(c.referencePrice, inst.profile.tick, 'the reference price');
      if (fault !== null) return reject('INVALID_PRICE', fault);
      reference = c.referencePrice;
    }
    if (c.status != null && c.status !== 'trading' && c.status !== 'halted') return reject('INVALID_COMMAND', 'status must be "trading" or "halted"');
    if (c.listedBandPct == null && c.blockBandPct == null && c.referencePrice == null && c.status == null) {
      return reject('INVALID_COMMAND', 'name at least one of listedBandPct, blockBandPct, referencePrice, status');
    }
    const sameStatus = c.status == null || c.status === inst.status;
    if (c.strict === true && sameStatus && listedRate === inst.listedBandRate && blockRate === inst.blockBandRate && reference === inst.referencePrice) {
      return reject('NO_CHANGE', `nothing to change: ${inst.symbol} is ${inst.status}, its listed band ${formatPercent(listedRate)} % and its block band ${formatPercent(blockRate)} % about ${formatMoney(reference)} already`);
    }
    const wide = bandTooWide(reference, listedRate, inst.profile.tick, 'a reference price');
    if (wide !== null) return reject('BAND_TOO_WIDE', wide);

    // A halt named again with a band change keeps the reason it was halted for (strict).
    if (c.status != null && !(c.strict === true && sameStatus)) {
      inst.status = c.status;
      inst.statusReason = c.status === 'halted' ? c.reason : null;
    }
    if (listedRate !== inst.listedBandRate || blockRate !== inst.blockBandRate || reference !== inst.referencePrice) {
      inst.listedBandRate = listedRate;
      inst.blockBandRate = blockRate;
      inst.setReference(reference);
      this.rebandBook(inst, c);
      this.blocks.withdrawOutOfBand(inst, c);
      this.auctions.withdrawOutOfBand(inst, c);
    }
    this.instrumentEvent(inst, c, c.reason);
    return this.done();
  }

  /** A halt or a resume of one instrument alone: its bands stay as they are, whatever their width. */
  private setInstrumentStatus(c: SetInstrumentStatus): Result {
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    if (c.status !== 'trading' && c.status !== 'halted') return reject('INVALID_COMMAND', 'status must be "trading" or "halted"');
    if (c.strict === true && c.status === inst.status) return statusUnchanged(inst, this.marketHalted);
    inst.status = c.status;
    inst.statusReason = c.status === 'halted' ? c.reason : null;
    this.instrumentEvent(inst, c, c.reason);
    return this.done();
  }

  /** After a band change: resting orders outside the new band are cancelled; nothing trades outside it. */
  private rebandBook(inst: Instrument, c: Command): void {
    const book = inst.book;
    for (const side of [BUY, SELL] as const) {
      for (const order of book.ordersInPriority(side)) {
        if (inst.outsideBand(order.price)) this.endResting(order, 'cancelled', 'price_out_of_band', c);
      }
    }
    book.setRange(inst.bandLow, inst.bandHigh);
  }

  private setMarketStatus(c: MarketStatus): Result {
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    if (c.strict === true && this.marketHalted === (c.type === 'haltMarket')) {
      return reject('NO_CHANGE', this.marketHalted ? haltedAlready('the market', this.marketHaltReason, 'the market') : 'the market is not halted');
    }
    this.marketHalted = c.type === 'haltMarket';
    this.marketHaltReason = this.marketHalted ? c.reason : null;
    this.emit({ type: 'market', seq: c.seq, time: c.time, status: this.marketHalted ? 'halted' : 'trading', reason: c.reason });
    return this.done();
  }

  private setLimit(c: SetLimit): Result {
    const inst = this.listed(c.symbol);
    if (refused(inst)) return inst;
    // API.md names no reason for a cap or a threshold, so it may be left out; one given must say
    // something, as every other risk action's must.
    if (c.reason != null) {
      const r = this.checkReason(c.reason);
      if (r !== null) return r;
    }
    const forClass = c.accountClass != null;
    if (forClass === (c.accountId != null)) return reject('INVALID_COMMAND', 'name either accountClass or accountId');
    if (c.quantity !== null && (!Number.isSafeInteger(c.quantity) || c.quantity < 0 || c.quantity > MAX_AMOUNT)) {
      return reject('INVALID_QUANTITY', 'the limit must be a whole number of tonnes, 0 or more, or null to remove it');
    }
    const plusAllocation = c.plusAllocation === true;
    const cap = c.type === 'setPositionCap';
    let acct: Account | null = null;
    if (forClass) {
      if (!ACCOUNT_CLASSES.includes(c.accountClass as AccountClass)) return reject('INVALID_COMMAND', `accountClass must be one of ${ACCOUNT_CLASSES.join(', ')}`);
      const limit = c.quantity === null ? null : { quantity: c.quantity, plusAllocation };
      (cap ? inst.classCaps : inst.classThresholds)[c.accountClass as AccountClass] = limit;
    } else {
      const found = this.accountFor(c.accountId as string);
      if (refused(found)) return found;
      acct = found;
      if (plusAllocation) return reject('INVALID_COMMAND', 'plusAllocation applies to a class rule; give an account its limit in tonnes');
      const pos = acct.position(inst.index);
      const value = c.quantity === null ? undefined : c.quantity;
      if (cap) pos.capOverride = value;
      else pos.thresholdOverride = value;
    }
    this.emit({
      type: 'limit', seq: c.seq, time: c.time, kind: cap ? 'positionCap' : 'largeHolderThreshold', symbol: inst.symbol,
      accountClass: forClass ? (c.accountClass as string) : null, accountId: acct?.id ?? null, quantity: c.quantity, plusAllocation,
    });
    if (cap) {
      // A cap holds for what already rests as much as for what comes: an account whose holding and
      // open buys now pass it loses its newest buy orders on the instrument, then its newest buy
      // proposals, until they no longer do (all of them if its holding alone passes it). Accounts
      // in id order, so that a replay from a snapshot ends the same ones.
      const affected = acct !== null ? [acct] : this.accountsById().filter((a) => a.accountClass === c.accountClass);
      for (const a of affected) {
        const pos = a.positions[inst.index];
        if (pos !== undefined) this.trimToCap(a, pos, inst, c);
      }
    } else {
      // A threshold set below a holding is crossed as surely as by a holding that rose past it: the
      // alert and the report obligation start now, not at the account's next purchase. A class
      // rule's accounts go in id order, so that a replay from a snapshot emits the same events.
      const affected = acct !== null ? [acct] : this.accountsById().filter((a) => a.accountClass === c.accountClass);
      // A filed report whose holding the new threshold no longer passes is closed first, as when the
      // holding falls: left open, it would stand for a crossing that no longer holds and keep the
      // next crossing of the new threshold from raising its alert.
      for (const a of affected) {
        const pos = a.positions[inst.index];
        if (pos === undefined) continue;
        this.holdingFell(pos, a, inst, c.seq, c.time);
        this.holdingRose(a, pos, inst, c.seq, c.time);
      }
    }
    return this.done();
  }

  private trimToCap(acct: Account, pos: Position, inst: Instrument, c: Command): void {
    const cap = this.capOf(acct, pos, inst);
    if (cap === null || pos.holding + pos.openBuy <= cap) return;
    if (acct.openOrders > 0) {
      const buys = [...this.openOrders.values()].filter((o) => o.account === acct && o.instrument === inst && o.side === BUY).sort((a, b) => b.id - a.id);
      for (const order of buys) {
        if (pos.holding + pos.openBuy <= cap) return;
        this.endResting(order, 'cancelled', 'position_cap', c);
      }
    }
    this.blocks.withdrawOverCap(acct, pos, inst, cap, c);
    this.auctions.withdrawOverCap(acct, pos, inst, cap, c);
  }

  private restrictAccount(c: RestrictAccount): Result {
    const acct = this.accountFor(c.accountId);
    if (refused(acct)) return acct;
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    if (!RESTRICTIONS.includes(c.restriction)) return reject('INVALID_COMMAND', `restriction must be one of ${RESTRICTIONS.join(', ')}`);
    if (c.strict === true && acct.restriction === c.restriction) {
      return reject('NO_CHANGE', acct.restriction === 'none' ? `${acct.id} has no restriction` : `${acct.id} is ${acct.restriction} already (${acct.restrictionReason})`);
    }
    acct.restriction = c.restriction as Restriction;
    acct.restrictionReason = c.restriction === 'none' ? null : c.reason;
    this.accountEvent(acct, c, 'restriction', null, null, c.reason);
    // A restriction holds for what already rests as much as for what comes: the account's orders and
    // block proposals on a side it may no longer trade end now, releasing what they froze, so that
    // nothing fills or executes for it on that side afterwards.
    if (acct.restriction !== 'none') {
      const forbidden = (side: Side): boolean => forbids(acct.restriction, side);
      this.endOrdersOf(acct, c, 'account_restricted', forbidden);
      this.blocks.withdrawAllOf(acct, c, 'account_restricted', forbidden);
      this.auctions.withdrawAllOf(acct, c, 'account_restricted', forbidden);
    }
    return this.done();
  }

  /** Cancels the account's open orders (those on a side `which` picks, of instruments `where` picks) with `reason`. */
  private endOrdersOf(acct: Account, c: Command, reason: string, which: (side: Side) => boolean = () => true, where: (inst: Instrument) => boolean = () => true): void {
    if (acct.openOrders === 0) return;
    for (const order of this.openOrders.values()) {
      if (order.account !== acct || !which(order.side) || !where(order.instrument)) continue;
      this.endResting(order, 'cancelled', reason, c);
    }
  }

  private cancelAll(c: CancelAll): Result {
    const acct = this.accountFor(c.accountId);
    if (refused(acct)) return acct;
    const r = this.checkReason(c.reason);
    if (r !== null) return r;
    this.endOrdersOf(acct, c, 'cancelled_by_risk');
    // Block proposals are orders too: the account's negotiations end with it.
    this.blocks.withdrawAllOf(acct, c, 'cancelled_by_risk');
    // So are auctions and their bids.
    this.auctions.withdrawAllOf(acct, c, 'cancelled_by_risk');
    return this.done();
  }

  // ---------------------------------------------------------------- events

  /** The order's state as an event. */
  /** @internal */
  orderEvent(order: Order, seq: number, time: number): void {
    this.emit(describeOrder(order, seq, time));
  }

  /** For a cash transfer `symbol` is null and `quantity` is the amount in fen. */
  private accountEvent(acct: Account, c: Command, change: 'created' | 'updated' | 'deposit' | 'withdraw' | 'restriction', symbol: string | null, quantity: number | null, reason: string | null, reference?: string | null): void {
    const transfer = change === 'deposit' || change === 'withdraw';
    const cash = transfer && symbol === null;
    const event: AccountEvent = {
      type: 'account', seq: c.seq, time: c.time, accountId: acct.id, change, cash: acct.cash, cashFrozen: acct.cashFrozen,
      amount: cash ? quantity : null, symbol, quantity: cash ? null : quantity, restriction: acct.restriction, reason,
    };
    // Only a transfer given a reference carries one: every other fact keeps the text it had.
    if (transfer && reference != null) event.reference = reference;
    this.emit(event);
  }

  private instrumentEvent(inst: Instrument, c: Command, reason: string): void {
    this.emit({
      type: 'instrument', seq: c.seq, time: c.time, symbol: inst.symbol, status: inst.status, prevClose: inst.prevClose, referencePrice: inst.referencePrice,
      listedBandRate: inst.listedBandRate, blockBandRate: inst.blockBandRate, bandLow: inst.bandLow, bandHigh: inst.bandHigh, blockLow: inst.blockLow, blockHigh: inst.blockHigh, reason,
    });
  }

  // ---------------------------------------------------------------- queries

  instrument(symbol: string): Instrument | undefined {
    return this.bySymbol.get(symbol);
  }

  account(accountId: string): Account | undefined {
    return this.accounts.get(accountId);
  }

  /** The ids of a member's accounts, sorted (shared: do not change it). */
  accountsOfMember(member: string): readonly string[] {
    if (this.membersIndexed !== this.accounts.size) {
      // Accounts are only ever added: the index is rebuilt when their number has changed.
      const lists = new Map<string, string[]>();
      for (const a of this.accounts.values()) {
        const list = lists.get(a.member);
        if (list === undefined) lists.set(a.member, [a.id]);
        else list.push(a.id);
      }
      this.byMember.clear();
      for (const [m, list] of lists) this.byMember.set(m, Object.freeze(list.sort()));
      this.membersIndexed = this.accounts.size;
    }
    return this.byMember.get(member) ?? NO_ACCOUNTS;
  }

  /** An open order, or undefined when it is unknown or finished. */
  order(orderId: number): Order | undefined {
    return this.openOrders.get(orderId);
  }

  /** The open orders of an account, oldest first. */
  ordersOf(accountId: string): Order[] {
    const out: Order[] = [];
    for (const o of this.openOrders.values()) if (o.account.id === accountId) out.push(o);
    return out;
  }

  get openOrderCount(): number {
    return this.openOrders.size;
  }

  /** Every open order, in id order. */
  allOpenOrders(): Order[] {
    return this.openOrders.values();
  }

  /**
   * The resting orders a pick may name (MARKET-RULES section 2): those within the best
   * pickDepthLevels levels of each side, in priority. What a pick market shows its takers.
   */
  pickable(symbol: string, limit = Number.MAX_SAFE_INTEGER): { levels: number; bids: Order[]; asks: Order[] } | undefined {
    const inst = this.bySymbol.get(symbol);
    if (inst === undefined) return undefined;
    const levels = inst.profile.source.pickDepthLevels;
    const side = (s: Side): Order[] => {
      const out: Order[] = [];
      const worst = inst.book.deepestPrice(s, levels);
      if (worst === null) return out;
      for (let o = inst.book.best(s); o !== null && out.length < limit && withinLevels(s, o.price, worst); o = inst.book.after(o)) out.push(o);
      return out;
    };
    return { levels, bids: side(BUY), asks: side(SELL) };
  }

  depth(symbol: string, levels: number): { bids: DepthLevel[]; asks: DepthLevel[] } | undefined {
    const inst = this.bySymbol.get(symbol);
    if (inst === undefined) return undefined;
    return { bids: inst.book.depth(BUY, levels), asks: inst.book.depth(SELL, levels) };
  }

  /**
   * Whether a command of `mode` stamped at `time` would be within the trading day and a session of
   * the instrument's calendar (halts aside): false after the end of day until the next day begins,
   * on a day its calendar does not trade, and between sessions.
   */
  sessionOpen(inst: Instrument, mode: TradeMode, time: number): boolean {
    // The command's own check (an open session it finds is remembered, as for a command: a fact of
    // the calendar, not of the state).
    return this.sessionCheck(inst, mode, time) === null;
  }

  /**
   * Live statistics of the day: MARKET-RULES section 4 (prices in fen; changePct in hundredths of a
   * percent), with the trading day they are of and the last seq applied, which they stand at.
   */
  ticker(symbol: string) {
    const inst = this.bySymbol.get(symbol);
    if (inst === undefined) return undefined;
    const s = inst.stats;
    const prevClose = inst.prevClose;
    const volume = s.volume;
    const turnover = s.turnover;
    return {
      symbol, date: this.tradingDate, seq: this.lastSeq, status: this.marketHalted ? 'halted' as const : inst.status, prevClose, open: s.open, high: s.high, low: s.low, last: s.last,
      vwap: s.listedVolume === 0 ? null : divideHalfUp(s.listedTurnover, s.listedVolume),
      average: volume === 0 ? null : divideHalfUp(turnover, volume),
      changeHundredths: s.last === null ? 0 : (s.last >= prevClose ? 1 : -1) * divideHalfUp(Math.abs(s.last - prevClose) * 10_000, prevClose),
      listedVolume: s.listedVolume, listedTurnover: s.listedTurnover, blockVolume: s.blockVolume, blockTurnover: s.blockTurnover,
      auctionVolume: s.auctionVolume, auctionTurnover: s.auctionTurnover, volume, turnover,
      cumulativeVolume: inst.totals.volume + volume, cumulativeTurnover: inst.totals.turnover + turnover,
      bandLow: inst.bandLow, bandHigh: inst.bandHigh, blockLow: inst.blockLow, blockHigh: inst.blockHigh, trades: s.trades,
    };
  }

  /**
   * Accounts over their large-holder threshold for an instrument (or all), with report status; with
   * `withReport`, the text of each report filed (null while owed), which the risk officer reads.
   */
  largeHolders(symbol?: string): LargeHolderView[];
  largeHolders(symbol: string | undefined, withReport: true): (LargeHolderView & { report: string | null })[];
  largeHolders(symbol?: string, withReport = false): LargeHolderView[] {
    return this.largeHoldersAmong(this.accountsById(), symbol, withReport);
  }

  /** A member's accounts over their large-holder thresholds, each account's in instrument order (what `largeHolders` lists of them). */
  largeHoldersOfMember(member: string): LargeHolderView[] {
    return this.largeHoldersAmong(this.accountsOfMember(member).map((id) => this.accounts.get(id) as Account), undefined, false);
  }

  /**
   * The large holders of the moment (what a venue that publishes them shows the market): those of
   * largeHolders() whose holding passes the threshold in force now. A report still owed for a
   * holding that has fallen back since stays on the risk officers' list, not on this one.
   */
  largeHoldersOver(symbol?: string): LargeHolderView[] {
    return this.largeHoldersAmong(this.accountsById(), symbol, false, true);
  }

  /**
   * One account's large-holder standing in one instrument now: null without a report obligation;
   * else its holding, the threshold in force (null: none) and whether the holding passes it, which
   * is what puts it on largeHoldersOver's list.
   */
  largeHolderStanding(accountId: string, symbol: string): { holding: number; threshold: number | null; dueDate: string; over: boolean } | null {
    const acct = this.accounts.get(accountId);
    const inst = this.bySymbol.get(symbol);
    const pos = acct === undefined || inst === undefined ? undefined : acct.positions[inst.index];
    if (acct === undefined || inst === undefined || pos === undefined || pos.largeHolder === null) return null;
    const threshold = this.thresholdOf(acct, pos, inst);
    return { holding: pos.holding, threshold, dueDate: dateOfDay(pos.largeHolder.dueDay), over: passes(pos.holding, threshold) };
  }

  private largeHoldersAmong(accounts: readonly Account[], symbol: string | undefined, withReport: boolean, overOnly = false): LargeHolderView[] {
    const out = [];
    for (const acct of accounts) {
      for (const pos of acct.positions) {
        if (pos === undefined || pos.largeHolder === null) continue;
        const inst = this.instruments[pos.instrumentIndex];
        if (symbol !== undefined && inst.symbol !== symbol) continue;
        if (overOnly && !passes(pos.holding, this.thresholdOf(acct, pos, inst))) continue;
        const lh = pos.largeHolder;
        out.push({
          accountId: acct.id, symbol: inst.symbol, holding: pos.holding, threshold: lh.threshold, since: dateOfDay(lh.since),
          dueDate: dateOfDay(lh.dueDay), filed: lh.filedDay === null ? null : dateOfDay(lh.filedDay),
          overdue: lh.filedDay === null && lh.dueDay < this.tradingDay, ...(withReport ? { report: lh.text } : {}),
        });
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- snapshot and hash
  // (snapshot.ts holds the serialisable form; the internals below give it access to private state)

  /** SHA-256 over the canonical snapshot of the whole state. */
  stateHash(): string {
    return stateHash(this);
  }

  snapshot(): EngineSnapshot {
    return snapshot(this);
  }

  static restore(s: EngineSnapshot, options: { bookFactory?: BookFactory } = {}): Engine {
    return restore(s, options);
  }

  /** @internal */
  internals() {
    return {
      lastSeq: this.lastSeq, lastTime: this.lastTime, nextOrderId: this.nextOrderId, nextTradeId: this.nextTradeId,
      openOrders: this.openOrders, clientOrderIds: this.clientOrderIds, transferReferences: this.transferReferences, bySymbol: this.bySymbol, bookFactory: this.bookFactory,
    };
  }

  /** @internal */
  restoreInternals(v: { lastSeq: number; lastTime: number; nextOrderId: number; nextTradeId: number }): void {
    this.lastSeq = v.lastSeq;
    this.lastTime = v.lastTime;
    this.nextOrderId = v.nextOrderId;
    this.nextTradeId = v.nextTradeId;
  }

  /** @internal: a listed instrument rebuilt from a snapshot. */
  addInstrument(inst: Instrument): void {
    this.instruments.push(inst);
    this.bySymbol.set(inst.symbol, inst);
  }

  /** @internal: an open order rebuilt from a snapshot, appended to its level in priority order. */
  addRestingOrder(order: Order): void {
    this.enqueue(order);
  }
}

/** A halt of a halted instrument, or a resume of one trading (strict). */
function statusUnchanged(inst: Instrument, marketHalted: boolean): Rejection {
  return reject('NO_CHANGE', inst.status === 'halted'
    ? haltedAlready(inst.symbol, inst.statusReason, 'it')
    : `${inst.symbol} is not halted${marketHalted ? ' (the market is: resume the market)' : ''}`);
}

/** A halt of what is halted (strict): the first halt's reason stands. */
function haltedAlready(what: string, reason: string | null, resumed: string): string {
  return `${what} is halted already (${reason}): a halt's reason stands until ${resumed} is resumed; publish a risk warning to say more`;
}
