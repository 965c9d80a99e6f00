// Block trades (大宗协议, MARKET-RULES section 2.2): negotiated between two accounts, never matched
// by the book. Whoever set the current terms holds the freeze for them (cash with the exact fee, or
// tonnes); the other party confirms, counters or refuses. A counter moves the terms, and with them
// the freeze, to the countering party. A counter to an open proposal is a reply: a negotiation of
// its own back to the proposer, whose execution ends the open proposal it answered. Every check
// runs again when the trade executes.
import type { Account, Position } from './account.ts';
import type { AcceptBlock, Command, CounterBlock, EndBlock, ProposeBlock } from './commands.ts';
import type { ClientRequest, Engine, Result } from './engine.ts';
import { refused, reject, type Rejection } from './errors.ts';
import type { BlockStatus } from './events.ts';
import type { Instrument } from './instrument.ts';
import { formatMoney, priceFault, tradeFee, isPositiveInt } from './money.ts';
import { BUY, SELL, type Side } from './order.ts';

export class Block {
  /** The account whose terms stand, and what it holds back for them. */
  termsBy: Account;
  frozenCash = 0;
  frozenTonnes = 0;
  constructor(
    readonly id: number,
    readonly instrument: Instrument,
    readonly proposer: Account,
    readonly side: Side,
    public counterparty: Account | null,
    public price: number,
    public quantity: number,
    readonly inReplyTo: number | null,
    public status: 'proposed' | 'countered',
  ) {
    this.termsBy = proposer;
  }

  sideOf(acct: Account): Side {
    return acct === this.proposer ? this.side : this.side === BUY ? SELL : BUY;
  }

  /** The party that must confirm the current terms; null while an open proposal waits for anyone. */
  get awaited(): Account | null {
    return this.termsBy === this.proposer ? this.counterparty : this.proposer;
  }
}


/**
 * A block the caller cannot see, in the same words whether it does not exist or is other members':
 * the answer tells nobody that a proposal between others exists.
 */
export const noSuchBlock = (blockId: number): Rejection => reject('UNKNOWN_BLOCK', `there is no block ${blockId} for your accounts`);

export class BlockDesk {
  /** Live proposals by id; finished ones leave, their history is in the events. */
  readonly open = new Map<number, Block>();
  nextBlockId = 1;

  constructor(private readonly engine: Engine) {}

  propose(c: ProposeBlock): Result {
    const e = this.engine;
    const party = e.memberParty(c);
    if (refused(party)) return party;
    const { inst, acct, side } = party;
    const request = c.clientOrderId == null ? null
      : e.clientRequest(acct, c.clientOrderId, 'block', `${inst.symbol}|${c.side}|${c.price}|${c.quantity}|${c.counterpartyAccountId ?? ''}`);
    if (request !== null && !('key' in request)) return request;
    let counterparty: Account | null = null;
    if (c.counterpartyAccountId != null) {
      const other = e.accountFor(c.counterpartyAccountId);
      if (refused(other)) return other;
      if (other === acct) return reject('SELF_TRADE', 'an account never trades with itself: name another counterparty');
      if (!e.admittedTo(other, inst)) return reject('VENUE_NOT_ADMITTED', `account ${other.id} is not admitted to ${inst.venue}: it could never accept`);
      counterparty = other;
    }
    const r = this.openProposal(inst, acct, side, counterparty, c.price, c.quantity, null, c);
    if (r.ok) e.remember(request, r.blockId as number);
    return r;
  }

  /** A new proposal from `acct`, checked, with its freeze. */
  private openProposal(inst: Instrument, acct: Account, side: Side, counterparty: Account | null, price: number, quantity: number, inReplyTo: number | null, c: Command): Result {
    const terms = this.checkTerms(inst, acct, side, price, quantity, c.time);
    if (terms !== null) return terms;
    const block = new Block(this.nextBlockId++, inst, acct, side, counterparty, price, quantity, inReplyTo, 'proposed');
    this.freeze(block, acct);
    this.open.set(block.id, block);
    this.event(block, 'proposed', c, null);
    return { ok: true, events: this.engine.collected(), blockId: block.id };
  }

  counter(c: CounterBlock): Result {
    const e = this.engine;
    // A clientOrderId is the account's: looked up before the block, so that a repeat answers even
    // once the block has ended. Which account is never left to whose turn it is (after the first
    // counter, that is the other party, which may be the same member's): the member's only account,
    // or the one it names.
    let request: ClientRequest | null = null;
    if (c.clientOrderId != null) {
      const mine = e.accountsOfMember(c.actor.id);
      const own = c.accountId != null ? e.accountFor(c.accountId, c.actor.id) : mine.length === 1 ? e.accountFor(mine[0]) : null;
      if (own === null) {
        return reject('ACCOUNT_REQUIRED', `a counter with a clientOrderId names the accountId it is for (${mine.length === 0 ? 'your member has no account' : `your accounts are ${mine.join(', ')}`})`);
      }
      // An account that is not the member's is left to the block's own checks (which do not tell whether a block of others exists).
      if (!refused(own)) {
        const r = e.clientRequest(own, c.clientOrderId, 'counter', `${c.blockId}|${c.price}|${c.quantity}`);
        if (!('key' in r)) return r;
        request = r;
      }
    }
    const found = this.find(c.blockId, c.actor.id, c.accountId ?? null);
    if (!Array.isArray(found)) return found;
    const [block, acct] = found;
    const done = this.counterOn(block, acct, c);
    if (done.ok) e.remember(request, done.blockId as number);
    return done;
  }

  private counterOn(block: Block, acct: Account, c: CounterBlock): Result {
    const e = this.engine;
    if (block.counterparty === null) {
      // Countering an open proposal opens a negotiation of its own, back to the proposer.
      if (acct === block.proposer) return reject('NOT_YOUR_TURN', `block ${block.id} is your own open proposal: withdraw it to change it`);
      return this.openProposal(block.instrument, acct, block.side === BUY ? SELL : BUY, block.proposer, c.price, c.quantity, block.id, c);
    }
    if (block.awaited !== acct) return reject('NOT_YOUR_TURN', `block ${block.id} waits for account ${block.awaited?.id}`);
    if (c.price === block.price && c.quantity === block.quantity) return reject('NO_CHANGE', 'a counter must change the price or the quantity; accept to confirm these terms');
    const terms = this.checkTerms(block.instrument, acct, block.sideOf(acct), c.price, c.quantity, c.time);
    if (terms !== null) return terms;
    this.unfreeze(block);
    block.price = c.price;
    block.quantity = c.quantity;
    block.status = 'countered';
    this.freeze(block, acct);
    this.event(block, 'countered', c, null);
    return { ok: true, events: e.collected(), blockId: block.id };
  }

  accept(c: AcceptBlock): Result {
    const e = this.engine;
    const found = this.find(c.blockId, c.actor.id, c.accountId ?? null);
    if (!Array.isArray(found)) return found;
    const [block, acct] = found;
    if (block.counterparty === null ? acct === block.proposer : block.awaited !== acct) {
      return reject('NOT_YOUR_TURN', `block ${block.id} waits for ${block.counterparty === null ? 'another account' : `account ${block.awaited?.id}`}`);
    }
    const inst = block.instrument;
    const maker = block.termsBy;
    const makerSide = block.sideOf(maker);
    const takerSide = block.sideOf(acct);
    // A reply to an open proposal answers it: the open proposal (if it still stands) ends when the
    // reply executes, and when its proposer is the one confirming, what it holds counts towards the
    // reply (put back if the confirmation is refused).
    const answered = block.inReplyTo === null ? undefined : this.open.get(block.inReplyTo);
    const pooled = answered !== undefined && answered.proposer === acct;
    if (pooled) this.unfreeze(answered);
    // Every check again, for both parties, at execution.
    const again = this.checkTerms(inst, maker, makerSide, block.price, block.quantity, c.time, block)
      ?? this.checkTerms(inst, acct, takerSide, block.price, block.quantity, c.time);
    if (again !== null) {
      if (pooled) this.freeze(answered, acct);
      return again;
    }
    if (block.counterparty === null) block.counterparty = acct;
    this.execute(block, acct, c);
    if (answered !== undefined) this.close(answered, 'withdrawn', c, 'reply_executed');
    return { ok: true, events: e.collected(), blockId: block.id };
  }

  end(c: EndBlock): Result {
    if (!isPositiveInt(c.blockId)) return reject('INVALID_COMMAND', 'blockId must be a positive whole number');
    const block = this.open.get(c.blockId);
    if (block === undefined) return this.notOpen(c.blockId);
    const member = c.actor.id;
    const mine = (a: Account | null): boolean => a !== null && a.member === member;
    if (!mine(block.proposer) && !mine(block.counterparty)) {
      return block.counterparty === null
        ? reject('NOT_YOUR_TURN', `block ${block.id} is an open proposal of another member: leave it unaccepted, or counter it`)
        : noSuchBlock(block.id);
    }
    if (c.type === 'rejectBlock') {
      // Refusing is for the party the block waits for.
      if (!mine(block.awaited)) {
        return reject('NOT_YOUR_TURN', block.counterparty === null
          ? `block ${block.id} is your open proposal: withdraw it instead`
          : `block ${block.id}'s terms are yours: withdraw it instead`);
      }
    } else if (!mine(block.termsBy) && !mine(block.proposer)) {
      // Withdrawing is for the party whose terms stand, or the proposer ending its own negotiation.
      return reject('NOT_YOUR_TURN', `block ${block.id}'s terms are account ${block.termsBy.id}'s: reject it instead`);
    }
    this.close(block, c.type === 'rejectBlock' ? 'rejected' : 'withdrawn', c, null);
    return { ok: true, events: this.engine.collected(), blockId: block.id };
  }

  private notOpen(blockId: number): Rejection {
    return blockId < this.nextBlockId
      ? reject('BLOCK_NOT_OPEN', `block ${blockId} is no longer open (executed, rejected, withdrawn or expired)`)
      : noSuchBlock(blockId);
  }

  /** At the end of the day every unconfirmed proposal expires and releases what it froze. */
  expireAll(c: Command): void {
    for (const block of this.openById()) this.close(block, 'expired', c, 'end_of_day');
  }

  /**
   * Withdraws every live negotiation the account is party to (on a side `which` picks) with the
   * reason given, releasing what it froze, whichever party's terms stood: a risk officer's
   * cancel-all, or a restriction.
   */
  withdrawAllOf(acct: Account, c: Command, reason: string, which: (side: Side) => boolean = () => true, where: (inst: Instrument) => boolean = () => true): void {
    for (const block of this.openById()) {
      if ((block.proposer === acct || block.counterparty === acct) && which(block.sideOf(acct)) && where(block.instrument)) this.close(block, 'withdrawn', c, reason, acct);
    }
  }

  /**
   * After a band change: proposals on the instrument whose price the new block band no longer
   * admits (and whose quantity no exemption covers) end, releasing what they froze; they could
   * never be confirmed.
   */
  withdrawOutOfBand(inst: Instrument, c: Command): void {
    const exempt = inst.profile.source.blockBandExemptFromQuantity;
    for (const block of this.openById()) {
      if (block.instrument !== inst || (exempt !== null && block.quantity >= exempt)) continue;
      if (block.price < inst.blockLow || block.price > inst.blockHigh) this.close(block, 'withdrawn', c, 'price_out_of_band');
    }
  }

  /**
   * After a position cap was lowered: the account's buy proposals on the instrument whose tonnes it
   * froze as buyer, newest first, while its holding and open buys pass the cap.
   */
  withdrawOverCap(acct: Account, pos: Position, inst: Instrument, cap: number, c: Command): void {
    const mine = this.openById().filter((b) => b.instrument === inst && b.termsBy === acct && b.frozenCash > 0).reverse();
    for (const block of mine) {
      if (pos.holding + pos.openBuy <= cap) return;
      this.close(block, 'withdrawn', c, 'position_cap', acct);
    }
  }

  /** The live proposals in id order: the map's order is not kept by a snapshot. */
  private openById(): Block[] {
    return [...this.open.values()].sort((a, b) => a.id - b.id);
  }

  /** Open proposals that involve one of the member's accounts, or that are open to anyone. */
  visibleTo(member: string | null): Block[] {
    return this.openById()
      .filter((b) => member === null || b.counterparty === null || b.proposer.member === member || b.counterparty.member === member);
  }

  /** The block and which of the member's accounts acts on it. */
  private find(blockId: number, member: string, accountId: string | null): [Block, Account] | Rejection {
    if (!isPositiveInt(blockId)) return reject('INVALID_COMMAND', 'blockId must be a positive whole number');
    const block = this.open.get(blockId);
    if (block === undefined) return this.notOpen(blockId);
    if (accountId !== null) {
      // A proposal between other members is unknown before anything is said about the account
      // named: "not yours" would tell that the proposal exists.
      if (block.counterparty !== null && block.proposer.member !== member && block.counterparty.member !== member) return noSuchBlock(blockId);
      const acct = this.engine.accountFor(accountId, member);
      if (refused(acct)) return acct;
      if (acct !== block.proposer && block.counterparty !== null && acct !== block.counterparty) {
        // The member is party to it with another account: say which, not that the block is unknown.
        const own = [block.proposer, block.counterparty].filter((a) => a.member === member).map((a) => a.id);
        return reject('NOT_A_PARTY', `account ${acct.id} is not a party to block ${blockId}, which is between accounts ${block.proposer.id} and ${block.counterparty.id}: name ${own.join(' or ')}`);
      }
      return [block, acct];
    }
    // Without an account: the member's party to the block, the one whose turn it is first.
    const parties = [block.awaited, block.termsBy, block.proposer, block.counterparty];
    const acct = parties.find((a) => a !== null && a.member === member);
    if (acct !== undefined && acct !== null) return [block, acct];
    if (block.counterparty !== null) return noSuchBlock(blockId);
    // An open proposal: any of the member's accounts may take it up; one with a single account need not name it.
    const mine = this.engine.accountsOfMember(member);
    if (mine.length === 1) return this.find(blockId, member, mine[0]);
    return reject('ACCOUNT_REQUIRED', `block ${blockId} is an open proposal: name the accountId that acts on it (${mine.length === 0 ? 'your member has no account' : `your accounts are ${mine.join(', ')}`})`);
  }

  /**
   * Whether `acct` may stand behind these terms on `side` now: halts, the block session,
   * admission, restrictions, the minimum, the band and full funds or holdings. `held` is a block
   * whose freeze the account already holds for exactly these terms.
   */
  private checkTerms(inst: Instrument, acct: Account, side: Side, price: number, quantity: number, time: number, held?: Block): Rejection | null {
    const e = this.engine;
    const gate = e.tradingGate(inst, acct, side, 'block', time);
    if (gate !== null) return gate;
    const profile = inst.profile;
    const q = e.checkQuantity(quantity, profile.lot);
    if (q !== null) return q;
    if (quantity < profile.source.blockMinQuantity) {
      return reject('BLOCK_TOO_SMALL', `a block trade in ${inst.symbol} is at least ${profile.source.blockMinQuantity} t, not ${quantity} t`);
    }
    const fault = priceFault(price, profile.tick);
    if (fault !== null) return reject('INVALID_PRICE', fault);
    const exempt = profile.source.blockBandExemptFromQuantity;
    if ((exempt === null || quantity < exempt) && (price < inst.blockLow || price > inst.blockHigh)) {
      return reject('PRICE_OUT_OF_BAND', `price ${formatMoney(price)} is outside today's block band ${formatMoney(inst.blockLow)}–${formatMoney(inst.blockHigh)}`);
    }
    const pos = acct.peek(inst.index);
    if (side === BUY) {
      const need = held !== undefined ? 0 : this.cost(inst, price, quantity);
      return e.checkBuy(acct, pos, inst, held !== undefined ? 0 : quantity, need);
    }
    if (held === undefined && pos.available < quantity) return reject('INSUFFICIENT_HOLDINGS', e.holdingsMessage(acct, pos, inst, quantity));
    return null;
  }

  /** What the buyer pays: the price times the quantity plus its block fee (one fill, so exact). */
  private cost(inst: Instrument, price: number, quantity: number): number {
    const turnover = price * quantity;
    return turnover + tradeFee(turnover, inst.profile.fees.block.buy);
  }

  private freeze(block: Block, acct: Account): void {
    block.termsBy = acct;
    const pos = acct.position(block.instrument.index);
    if (block.sideOf(acct) === BUY) {
      const cash = this.cost(block.instrument, block.price, block.quantity);
      acct.cash -= cash;
      acct.cashFrozen += cash;
      block.frozenCash = cash;
      pos.openBuy += block.quantity;
    } else {
      pos.available -= block.quantity;
      pos.frozen += block.quantity;
      block.frozenTonnes = block.quantity;
    }
  }

  private unfreeze(block: Block): void {
    const acct = block.termsBy;
    const pos = acct.position(block.instrument.index);
    if (block.frozenCash > 0) {
      acct.cash += block.frozenCash;
      acct.cashFrozen -= block.frozenCash;
      pos.openBuy -= block.quantity;
      block.frozenCash = 0;
    }
    if (block.frozenTonnes > 0) {
      pos.frozen -= block.frozenTonnes;
      pos.available += block.frozenTonnes;
      block.frozenTonnes = 0;
    }
  }

  /** Delivery versus payment between the party that set the terms (frozen) and the one accepting. */
  private execute(block: Block, acceptor: Account, c: Command): void {
    const e = this.engine;
    const inst = block.instrument;
    const maker = block.termsBy;
    const buyer = block.sideOf(maker) === BUY ? maker : acceptor;
    const seller = buyer === maker ? acceptor : maker;
    const buyPos = buyer.position(inst.index);
    const sellPos = seller.position(inst.index);
    const quantity = block.quantity;
    const turnover = block.price * quantity;
    const buyFee = tradeFee(turnover, inst.profile.fees.block.buy);
    const sellFee = tradeFee(turnover, inst.profile.fees.block.sell);
    if (buyer === maker) {
      buyer.cashFrozen -= block.frozenCash; // exactly turnover + buyFee
      buyPos.openBuy -= quantity;
      block.frozenCash = 0;
      sellPos.available -= quantity;
    } else {
      buyer.cash -= turnover + buyFee;
      sellPos.frozen -= quantity;
      block.frozenTonnes = 0;
    }
    buyPos.pending += quantity;
    seller.cash += turnover - sellFee;
    e.feesCollected += buyFee + sellFee;
    inst.stats.blockVolume += quantity;
    inst.stats.blockTurnover += turnover;
    inst.stats.trades++;
    this.open.delete(block.id);
    this.event(block, 'executed', c, null);
    e.emit({
      type: 'trade', seq: c.seq, time: c.time, tradeId: e.takeTradeId(), symbol: inst.symbol, mode: 'block',
      price: block.price, quantity, buyOrderId: null, sellOrderId: null, blockId: block.id, buyAccountId: buyer.id,
      sellAccountId: seller.id, buyRemaining: 0, sellRemaining: 0, buyFee, sellFee,
      aggressor: buyer === acceptor ? 'buy' : 'sell',
    });
    e.holdingRose(buyer, buyPos, inst, c.seq, c.time);
    e.holdingFell(sellPos, seller, inst, c.seq, c.time);
  }

  /** `controlled`: the party whose risk control ended it, if one did. */
  private close(block: Block, status: 'rejected' | 'withdrawn' | 'expired', c: Command, reason: string | null, controlled: Account | null = null): void {
    this.unfreeze(block);
    this.open.delete(block.id);
    this.event(block, status, c, reason, controlled);
  }

  private event(block: Block, status: BlockStatus, c: Command, reason: string | null, controlled: Account | null = null): void {
    this.engine.emit({
      type: 'block', seq: c.seq, time: c.time, blockId: block.id, symbol: block.instrument.symbol, status,
      proposerAccountId: block.proposer.id, side: block.side === BUY ? 'buy' : 'sell',
      counterpartyAccountId: block.counterparty?.id ?? null, price: block.price, quantity: block.quantity,
      termsBy: block.termsBy.id, inReplyTo: block.inReplyTo, reason, reasonAccountId: controlled?.id ?? null,
    });
  }

  /** @internal for snapshots */
  restoreBlock(b: Block): void {
    this.open.set(b.id, b);
  }
}

export type { Position };
