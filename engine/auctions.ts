// The one-way auction (单向竞价, MARKET-RULES section 2.3): one account offers a quantity to sell
// (or asks to buy one), other accounts bid in a window, and the exchange allocates: bids rank by
// price (best for the initiator first) then time, the last accepted bid may be filled in part, and
// every fill trades either at its own bid (pay as bid) or at the last accepted bid's price
// (uniform). The initiator freezes what it offers (tonnes, or cash at the highest price it may pay);
// each bid freezes what it offers. The window is the venue's auction session: bids are taken inside
// it, and the auction is allocated when an operator closes it or, at the latest, at the end of day.
import type { Account, Position } from './account.ts';
import type { BidAuction, CancelAuctionBid, Command, EndAuction, OpenAuction } from './commands.ts';
import type { Engine, Result } from './engine.ts';
import { refused, reject, type Rejection } from './errors.ts';
import type { AuctionBidStatus, AuctionStatus } from './events.ts';
import type { Instrument } from './instrument.ts';
import { bandLimits, buyFeeReserve, formatMoney, parsePercent, priceFault, tradeFee, isPositiveInt } from './money.ts';
import { BUY, SELL, type Side } from './order.ts';

export type Pricing = 'uniform' | 'pay_as_bid';
const PRICINGS: readonly Pricing[] = ['uniform', 'pay_as_bid'];

export class AuctionBid {
  frozenCash = 0;
  frozenTonnes = 0;
  constructor(
    readonly id: number,
    readonly account: Account,
    readonly price: number,
    readonly quantity: number,
    /** The sequence number of the command that placed it. */
    readonly seq: number,
  ) {}
}

export class Auction {
  /** What the initiator holds back: tonnes it sells, or cash for the most it may pay. */
  frozenCash = 0;
  frozenTonnes = 0;
  /** Live bids by id. */
  readonly bids = new Map<number, AuctionBid>();
  constructor(
    readonly id: number,
    readonly instrument: Instrument,
    readonly initiator: Account,
    readonly side: Side,
    readonly quantity: number,
    readonly pricing: Pricing,
    /** The prices a bid may name, inclusive (fen). */
    readonly low: number,
    readonly high: number,
    /** The sequence number and time of the command that opened it. */
    readonly seq: number,
    readonly openedAt: number,
  ) {}

  /** The bidders' side: the other one. */
  get bidSide(): Side {
    return this.side === BUY ? SELL : BUY;
  }
}

const sideText = (side: Side): 'buy' | 'sell' => (side === BUY ? 'buy' : 'sell');

export class AuctionDesk {
  /** Open auctions by id; closed ones leave, their history is in the events. */
  readonly open = new Map<number, Auction>();
  nextAuctionId = 1;
  nextBidId = 1;

  constructor(private readonly engine: Engine) {}

  openAuction(c: OpenAuction): Result {
    const e = this.engine;
    const party = e.memberParty(c);
    if (refused(party)) return party;
    const { inst, acct, side } = party;
    if (!PRICINGS.includes(c.pricing)) return reject('INVALID_COMMAND', `pricing must be one of ${PRICINGS.join(', ')}`);
    const rules = inst.profile.auction;
    if (rules === null) return reject('AUCTION_NOT_OFFERED', `the venue of ${inst.symbol} (${inst.venue}) runs no one-way auctions`);
    const reserves = inst.profile.source.auction?.reservePcts ?? [];
    // Compared as numbers: "10.0" is the reserve "10".
    const asked = c.reservePct == null ? rules.reserveRates[0] : typeof c.reservePct === 'string' ? parsePercent(c.reservePct) : null;
    const which = asked === null ? -1 : rules.reserveRates.indexOf(asked);
    if (which < 0) return reject('INVALID_COMMAND', `reservePct must be one of ${reserves.map((r) => `"${r}"`).join(', ')} on ${inst.venue}`);
    // The reserve by its place in the venue's list: "10.0", "10" and (for the first) none are one request.
    const request = c.clientOrderId == null ? null
      : e.clientRequest(acct, c.clientOrderId, 'auction', `${inst.symbol}|${c.side}|${c.quantity}|${c.pricing}|${which}`);
    if (request !== null && !('key' in request)) return request;
    const gate = e.tradingGate(inst, acct, side, 'auction', c.time);
    if (gate !== null) return gate;
    const q = e.checkQuantity(c.quantity, inst.profile.lot);
    if (q !== null) return q;
    if (c.quantity < rules.minQuantity) {
      return reject('AUCTION_TOO_SMALL', `an auction of ${inst.symbol} offers at least ${rules.minQuantity} t, not ${c.quantity} t`);
    }
    // Bids go from the reserve the initiator chose to the limit against it, both from the previous close.
    const close = inst.prevClose, tick = inst.profile.tick;
    const reserve = bandLimits(close, rules.reserveRates[which], tick);
    const limit = bandLimits(close, rules.limitRate, tick);
    const from = side === SELL ? reserve.low : limit.low;
    const to = side === SELL ? limit.high : reserve.high;
    // Within the listed band in force too, which a risk officer may have narrowed or moved: nothing
    // executes outside the band (MARKET-RULES section 3).
    const low = Math.max(from, inst.bandLow);
    const high = Math.min(to, inst.bandHigh);
    if (low > high) {
      return reject('PRICE_OUT_OF_BAND', `an auction of ${inst.symbol} would take bids from ${formatMoney(from)} to ${formatMoney(to)}, none of them within today's band ${formatMoney(inst.bandLow)}–${formatMoney(inst.bandHigh)}`);
    }
    const pos = acct.peek(inst.index);
    if (side === SELL) {
      if (pos.available < c.quantity) return reject('INSUFFICIENT_HOLDINGS', e.holdingsMessage(acct, pos, inst, c.quantity));
    } else {
      const cash = this.initiatorReserve(inst, high, c.quantity);
      const buy = e.checkBuy(acct, pos, inst, c.quantity, cash);
      if (buy !== null) return buy;
    }
    const auction = new Auction(this.nextAuctionId++, inst, acct, side, c.quantity, c.pricing, low, high, c.seq, c.time);
    this.freezeInitiator(auction);
    this.open.set(auction.id, auction);
    this.auctionEvent(auction, 'opened', c, 0, 0, null, null);
    e.remember(request, auction.id);
    return { ok: true, events: e.collected(), auctionId: auction.id };
  }

  bid(c: BidAuction): Result {
    const e = this.engine;
    const acct = e.accountFor(c.accountId, c.actor.id);
    if (refused(acct)) return acct;
    // Before the auction is looked at: a repeat answers its bid even once the auction has closed.
    const request = c.clientOrderId == null ? null : e.clientRequest(acct, c.clientOrderId, 'bid', `${c.auctionId}|${c.price}|${c.quantity}`);
    if (request !== null && !('key' in request)) return request;
    const auction = this.find(c.auctionId);
    if (refused(auction)) return auction;
    if (acct === auction.initiator) return reject('SELF_TRADE', `auction ${auction.id} is account ${acct.id}'s own: an account never trades with itself`);
    const inst = auction.instrument;
    const side = auction.bidSide;
    const gate = e.tradingGate(inst, acct, side, 'auction', c.time);
    if (gate !== null) return gate;
    const q = e.checkQuantity(c.quantity, inst.profile.lot);
    if (q !== null) return q;
    if (c.quantity > auction.quantity) {
      return reject('INVALID_QUANTITY', `auction ${auction.id} ${auction.side === SELL ? 'offers' : 'asks for'} ${auction.quantity} t: a bid is at most that, not ${c.quantity} t`);
    }
    const fault = priceFault(c.price, inst.profile.tick);
    if (fault !== null) return reject('INVALID_PRICE', fault);
    if (c.price < auction.low || c.price > auction.high) {
      return reject('PRICE_OUT_OF_BAND', `auction ${auction.id} takes ${side === BUY ? 'bids' : 'offers'} from ${formatMoney(auction.low)} to ${formatMoney(auction.high)}, not ${formatMoney(c.price)}`);
    }
    if (inst.outsideBand(c.price)) {
      return reject('PRICE_OUT_OF_BAND', `${inst.symbol}'s band is now ${formatMoney(inst.bandLow)}–${formatMoney(inst.bandHigh)}: auction ${auction.id} takes ${side === BUY ? 'bids' : 'offers'} within it, not ${formatMoney(c.price)}`);
    }
    const pos = acct.peek(inst.index);
    if (side === BUY) {
      const buy = e.checkBuy(acct, pos, inst, c.quantity, this.bidCost(inst, c.price, c.quantity));
      if (buy !== null) return buy;
    } else if (pos.available < c.quantity) {
      return reject('INSUFFICIENT_HOLDINGS', e.holdingsMessage(acct, pos, inst, c.quantity));
    }
    const bid = new AuctionBid(this.nextBidId++, acct, c.price, c.quantity, c.seq);
    this.freezeBid(auction, bid);
    auction.bids.set(bid.id, bid);
    this.bidEvent(auction, bid, 'placed', c, 0, null, null, null);
    e.remember(request, bid.id);
    return { ok: true, events: e.collected(), auctionId: auction.id, bidId: bid.id };
  }

  cancelBid(c: CancelAuctionBid): Result {
    const auction = this.find(c.auctionId);
    if (refused(auction)) return auction;
    const bid = isPositiveInt(c.bidId) ? auction.bids.get(c.bidId) : undefined;
    if (bid === undefined || bid.account.member !== c.actor.id) {
      return reject('UNKNOWN_BID', `auction ${auction.id} has no open bid ${c.bidId} of your accounts`);
    }
    this.endBid(auction, bid, c, 'withdrawn');
    return { ok: true, events: this.engine.collected(), auctionId: auction.id, bidId: bid.id };
  }

  end(c: EndAuction): Result {
    const auction = this.find(c.auctionId);
    if (refused(auction)) return auction;
    if (c.type === 'cancelAuction') {
      const r = this.engine.checkReason(c.reason);
      if (r !== null) return r;
      this.cancel(auction, c, c.reason as string);
    } else {
      // Nothing executes on a halted instrument, or in a halted market: the close waits for the resumption.
      const halted = this.engine.haltOf(auction.instrument);
      if (halted !== null) return halted;
      this.allocate(auction, c, null);
    }
    return { ok: true, events: this.engine.collected(), auctionId: auction.id };
  }

  /**
   * At the end of the day every open auction is allocated: its window has closed. One on a halted
   * instrument (or in a halted market) cannot execute, and is cancelled instead, releasing everything.
   */
  closeAll(c: Command): void {
    for (const auction of this.openById()) {
      if (this.engine.haltOf(auction.instrument) === null) this.allocate(auction, c, 'end_of_day');
      else this.cancel(auction, c, 'halted_at_end_of_day');
    }
  }

  /**
   * Ends what the account stands behind on a side `which` picks: its bids are withdrawn and its own
   * auctions cancelled (their bidders' freezes released), with the reason given: a risk officer's
   * cancel-all, or a restriction.
   */
  withdrawAllOf(acct: Account, c: Command, reason: string, which: (side: Side) => boolean = () => true, where: (inst: Instrument) => boolean = () => true): void {
    for (const auction of this.openById()) {
      if (!where(auction.instrument)) continue;
      if (auction.initiator === acct) {
        if (which(auction.side)) this.cancel(auction, c, reason);
        continue;
      }
      if (!which(auction.bidSide)) continue;
      for (const bid of [...auction.bids.values()]) if (bid.account === acct) this.endBid(auction, bid, c, reason);
    }
  }

  /**
   * After a band change: the instrument's open bids outside the listed band now in force are
   * withdrawn, and an auction none of whose prices is left inside it is cancelled (reason
   * price_out_of_band), as resting orders and block proposals are: nothing executes outside the band.
   */
  withdrawOutOfBand(inst: Instrument, c: Command): void {
    for (const auction of this.openById()) {
      if (auction.instrument !== inst) continue;
      if (auction.high < inst.bandLow || auction.low > inst.bandHigh) {
        this.cancel(auction, c, 'price_out_of_band');
        continue;
      }
      for (const bid of [...auction.bids.values()]) {
        if (inst.outsideBand(bid.price)) this.endBid(auction, bid, c, 'price_out_of_band');
      }
    }
  }

  /**
   * After a position cap was lowered: the account's buying in auctions of the instrument (its bids,
   * and a buy auction of its own), newest first, while its holding and open buys pass the cap.
   */
  withdrawOverCap(acct: Account, pos: Position, inst: Instrument, cap: number, c: Command): void {
    const buying: [number, () => void][] = [];
    for (const auction of this.open.values()) {
      if (auction.instrument !== inst) continue;
      if (auction.initiator === acct && auction.side === BUY) buying.push([auction.seq, () => this.cancel(auction, c, 'position_cap')]);
      if (auction.side !== SELL) continue;
      for (const bid of auction.bids.values()) if (bid.account === acct) buying.push([bid.seq, () => this.endBid(auction, bid, c, 'position_cap')]);
    }
    for (const [, withdraw] of buying.sort((a, b) => b[0] - a[0])) {
      if (pos.holding + pos.openBuy <= cap) return;
      withdraw();
    }
  }

  /** The open auctions in id order: the order of snapshots, the end of day and risk controls. */
  openById(): Auction[] {
    return [...this.open.values()].sort((a, b) => a.id - b.id);
  }

  private find(auctionId: number): Auction | Rejection {
    if (!isPositiveInt(auctionId)) return reject('INVALID_COMMAND', 'auctionId must be a positive whole number');
    const auction = this.open.get(auctionId);
    if (auction !== undefined) return auction;
    return auctionId < this.nextAuctionId
      ? reject('AUCTION_NOT_OPEN', `auction ${auctionId} is no longer open (allocated or cancelled)`)
      : reject('UNKNOWN_AUCTION', `there is no auction ${auctionId}`);
  }

  /**
   * The cash a buy auction's initiator holds back: the most it may pay for every tonne, and the fee
   * on that with the reserve a listed buy keeps for its fills' rounding (it fills once per offer).
   */
  private initiatorReserve(inst: Instrument, high: number, quantity: number): number {
    const notional = high * quantity;
    return notional + buyFeeReserve(notional, quantity, inst.profile.fees.auction.buy);
  }

  /** What a bid to buy pays at most: its price times its quantity and the fee on that (it fills once, at no more). */
  private bidCost(inst: Instrument, price: number, quantity: number): number {
    const turnover = price * quantity;
    return turnover + tradeFee(turnover, inst.profile.fees.auction.buy);
  }

  private freezeInitiator(a: Auction): void {
    const acct = a.initiator;
    const pos = acct.position(a.instrument.index);
    if (a.side === SELL) {
      pos.available -= a.quantity;
      pos.frozen += a.quantity;
      a.frozenTonnes = a.quantity;
    } else {
      const cash = this.initiatorReserve(a.instrument, a.high, a.quantity);
      acct.cash -= cash;
      acct.cashFrozen += cash;
      a.frozenCash = cash;
      pos.openBuy += a.quantity;
    }
  }

  private freezeBid(a: Auction, bid: AuctionBid): void {
    const acct = bid.account;
    const pos = acct.position(a.instrument.index);
    if (a.bidSide === BUY) {
      const cash = this.bidCost(a.instrument, bid.price, bid.quantity);
      acct.cash -= cash;
      acct.cashFrozen += cash;
      bid.frozenCash = cash;
      pos.openBuy += bid.quantity;
    } else {
      pos.available -= bid.quantity;
      pos.frozen += bid.quantity;
      bid.frozenTonnes = bid.quantity;
    }
  }

  /** Puts back what a party still holds for the auction; `openBuy` are the tonnes its buying no longer counts. */
  private release(acct: Account, inst: Instrument, holder: { frozenCash: number; frozenTonnes: number }, openBuy: number): void {
    const pos = acct.position(inst.index);
    if (holder.frozenCash > 0) {
      acct.cash += holder.frozenCash;
      acct.cashFrozen -= holder.frozenCash;
      holder.frozenCash = 0;
    }
    pos.openBuy -= openBuy;
    if (holder.frozenTonnes > 0) {
      pos.frozen -= holder.frozenTonnes;
      pos.available += holder.frozenTonnes;
      holder.frozenTonnes = 0;
    }
  }

  private endBid(a: Auction, bid: AuctionBid, c: Command, reason: string): void {
    this.release(bid.account, a.instrument, bid, a.bidSide === BUY ? bid.quantity : 0);
    a.bids.delete(bid.id);
    this.bidEvent(a, bid, 'cancelled', c, 0, null, null, reason);
  }

  private cancel(a: Auction, c: Command, reason: string): void {
    const bids = [...a.bids.values()].sort((x, y) => x.id - y.id);
    for (const bid of bids) this.endBid(a, bid, c, 'auction_cancelled');
    this.release(a.initiator, a.instrument, a, a.side === BUY ? a.quantity : 0);
    this.open.delete(a.id);
    this.auctionEvent(a, 'cancelled', c, 0, 0, null, reason, bids.length);
  }

  /**
   * The allocation: bids best first for the initiator (highest price when it sells, lowest when it
   * buys), earlier first at one price; each takes what it asked for while the quantity lasts, the
   * last in part. Every fill is one trade, delivery versus payment, at the bid's own price or, when
   * uniform, at the last accepted bid's.
   */
  private allocate(a: Auction, c: Command, reason: string | null): void {
    const e = this.engine;
    const inst = a.instrument;
    const sells = a.side === SELL;
    const ranked = [...a.bids.values()].sort((x, y) => (sells ? y.price - x.price : x.price - y.price) || x.id - y.id);
    const fills: number[] = [];
    let left = a.quantity;
    for (const bid of ranked) {
      const q = Math.min(bid.quantity, left);
      fills.push(q);
      left -= q;
    }
    const accepted = fills.filter((q) => q > 0).length;
    const clearing = accepted === 0 ? null : ranked[accepted - 1].price;
    const fees = inst.profile.fees.auction;
    const initiator = a.initiator;
    const initiatorPos = initiator.position(inst.index);
    let filled = 0, turnover = 0;
    ranked.forEach((bid, i) => {
      const q = fills[i];
      const bidder = bid.account;
      const bidderPos = bidder.position(inst.index);
      if (q === 0) {
        this.release(bidder, inst, bid, sells ? bid.quantity : 0);
        this.bidEvent(a, bid, 'unfilled', c, 0, null, null, null);
        return;
      }
      const price = a.pricing === 'uniform' ? (clearing as number) : bid.price;
      const t = price * q;
      const buyFee = tradeFee(t, fees.buy);
      const sellFee = tradeFee(t, fees.sell);
      const [buyer, buyPos, buyHolder, seller, sellPos, sellHolder] = sells
        ? [bidder, bidderPos, bid, initiator, initiatorPos, a] as const
        : [initiator, initiatorPos, a, bidder, bidderPos, bid] as const;
      // The buyer pays from what it froze (never less than this fill costs), the seller delivers frozen tonnes.
      buyer.cashFrozen -= t + buyFee;
      buyHolder.frozenCash -= t + buyFee;
      buyPos.openBuy -= q;
      buyPos.pending += q;
      sellPos.frozen -= q;
      sellHolder.frozenTonnes -= q;
      seller.cash += t - sellFee;
      e.feesCollected += buyFee + sellFee;
      inst.stats.auctionVolume += q;
      inst.stats.auctionTurnover += t;
      inst.stats.trades++;
      filled += q;
      turnover += t;
      const tradeId = e.takeTradeId();
      e.emit({
        type: 'trade', seq: c.seq, time: c.time, tradeId, symbol: inst.symbol, mode: 'auction', price, quantity: q,
        buyOrderId: null, sellOrderId: null, blockId: null, buyAccountId: buyer.id, sellAccountId: seller.id,
        buyRemaining: 0, sellRemaining: 0, buyFee, sellFee, aggressor: sideText(a.bidSide),
      });
      e.holdingRose(buyer, buyPos, inst, c.seq, c.time);
      e.holdingFell(sellPos, seller, inst, c.seq, c.time);
      // A bidder's remainder goes back now; the initiator's once every bid has been served.
      this.release(bidder, inst, bid, sells ? bid.quantity - q : 0);
      this.bidEvent(a, bid, q === bid.quantity ? 'filled' : 'partially_filled', c, q, price, tradeId, null);
    });
    this.release(initiator, inst, a, sells ? 0 : a.quantity - filled);
    a.bids.clear();
    this.open.delete(a.id);
    this.auctionEvent(a, 'closed', c, filled, turnover, clearing, reason, ranked.length);
  }

  private auctionEvent(a: Auction, status: AuctionStatus, c: Command, filled: number, turnover: number, clearingPrice: number | null, reason: string | null, bids = a.bids.size): void {
    this.engine.emit({
      type: 'auction', seq: c.seq, time: c.time, auctionId: a.id, symbol: a.instrument.symbol, status,
      accountId: a.initiator.id, side: sideText(a.side), quantity: a.quantity, pricing: a.pricing, low: a.low, high: a.high,
      filled, turnover, clearingPrice, bids, reason, openedAt: a.openedAt,
    });
  }

  private bidEvent(a: Auction, bid: AuctionBid, status: AuctionBidStatus, c: Command, filled: number, tradePrice: number | null, tradeId: number | null, reason: string | null): void {
    this.engine.emit({
      type: 'auctionBid', seq: c.seq, time: c.time, auctionId: a.id, bidId: bid.id, symbol: a.instrument.symbol,
      accountId: bid.account.id, side: sideText(a.bidSide), price: bid.price, quantity: bid.quantity, filled, tradePrice, tradeId, status, reason,
    });
  }

  /** @internal for snapshots */
  restoreAuction(a: Auction): void {
    this.open.set(a.id, a);
  }
}
