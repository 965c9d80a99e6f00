// The whole engine state as plain JSON, and back. A snapshot lists everything in a canonical order
// (accounts by id, instruments in listing order, open orders in book priority), so that the same
// state always gives the same text, and the state hash is the SHA-256 of that text (without the
// sequence number and time of the last command).
// restore(snapshot) followed by the later commands gives the same hash as the original run.
import { createHash } from 'node:crypto';
import { Account, type LargeHolderStatus, type Restriction } from './account.ts';
import type { BookFactory } from './book.ts';
import { Engine } from './engine.ts';
import { DayStats, Instrument, Totals, type InstrumentStatus } from './instrument.ts';
import { Auction, AuctionBid, type Pricing } from './auctions.ts';
import { Block } from './blockTrades.ts';
import { BUY, Order, SELL, type OrderStatus, type OrderType, type TimeInForce } from './order.ts';
import { dateOfDay, validateProfile, type AccountClass, type ClassLimit, type VenueProfile } from './profile.ts';

export const SNAPSHOT_VERSION = 1;

export interface PositionSnapshot {
  symbol: string;
  available: number;
  frozen: number;
  pending: number;
  openBuy: number;
  /** Absent: the class rule applies; null: no limit. */
  capOverride?: number | null;
  thresholdOverride?: number | null;
  largeHolder: LargeHolderStatus | null;
}

export interface AccountSnapshot {
  id: string;
  member: string;
  accountClass: AccountClass;
  allocation: number;
  venues: string[] | null;
  cash: number;
  cashFrozen: number;
  restriction: Restriction;
  restrictionReason: string | null;
  positions: PositionSnapshot[];
}

/** The stored figures of Totals, without its derived getters. */
type TotalsData = Omit<Totals, 'volume' | 'turnover' | 'add'>;

export interface InstrumentSnapshot {
  symbol: string;
  name: string;
  vintage: number | null;
  profile: VenueProfile;
  status: InstrumentStatus;
  statusReason: string | null;
  listedBandRate: number;
  blockBandRate: number;
  referencePrice: number;
  /** Absent from snapshots written before it was kept apart from referencePrice: then the same. */
  prevClose?: number;
  classCaps: Record<AccountClass, ClassLimit | null>;
  classThresholds: Record<AccountClass, ClassLimit | null>;
  stats: Omit<DayStats, keyof Totals | 'add'> & TotalsData;
  totals: TotalsData;
}

export interface BlockSnapshot {
  id: number;
  symbol: string;
  proposerAccountId: string;
  side: 'buy' | 'sell';
  counterpartyAccountId: string | null;
  price: number;
  quantity: number;
  inReplyTo: number | null;
  status: 'proposed' | 'countered';
  termsBy: string;
  frozenCash: number;
  frozenTonnes: number;
}

export interface OrderSnapshot {
  id: number;
  accountId: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: OrderType;
  price: number;
  quantity: number;
  filled: number;
  filledNotional: number;
  frozenCash: number;
  tif: TimeInForce;
  clientOrderId: string | null;
  status: OrderStatus;
  seq: number;
  time: number;
}

export interface EngineSnapshot {
  version: number;
  lastSeq: number;
  lastTime: number;
  tradingDate: string;
  marketHalted: boolean;
  marketHaltReason: string | null;
  nextOrderId: number;
  nextTradeId: number;
  feesCollected: number;
  instruments: InstrumentSnapshot[];
  accounts: AccountSnapshot[];
  /** Open orders: per instrument, bids then asks, each in priority order. */
  orders: OrderSnapshot[];
  clientOrderIds: [key: string, id: number, fingerprint: string][];
  /**
   * The transfer references used, kept for good; absent while none has been (so that a state
   * without them has the text, and the hash, it had before).
   */
  transferReferences?: [key: string, seq: number, terms: string][];
  nextBlockId: number;
  blocks: BlockSnapshot[];
  /**
   * The auction counters and open auctions, with their bids in id order; absent while no auction
   * has been opened (so that a state without auctions has the text, and the hash, it had before).
   */
  auctions?: { nextAuctionId: number; nextBidId: number; open: AuctionSnapshot[] };
}

export interface AuctionSnapshot {
  id: number;
  symbol: string;
  accountId: string;
  side: 'buy' | 'sell';
  quantity: number;
  pricing: Pricing;
  low: number;
  high: number;
  seq: number;
  openedAt: number;
  frozenCash: number;
  frozenTonnes: number;
  bids: { id: number; accountId: string; price: number; quantity: number; seq: number; frozenCash: number; frozenTonnes: number }[];
}

export function snapshot(engine: Engine): EngineSnapshot {
  const inner = engine.internals();
  const instruments = engine.instruments.map((inst): InstrumentSnapshot => ({
    symbol: inst.symbol, name: inst.name, vintage: inst.vintage, profile: inst.profile.source, status: inst.status,
    statusReason: inst.statusReason, listedBandRate: inst.listedBandRate, blockBandRate: inst.blockBandRate,
    referencePrice: inst.referencePrice, prevClose: inst.prevClose, classCaps: { ...inst.classCaps }, classThresholds: { ...inst.classThresholds },
    stats: { ...inst.stats }, totals: { ...inst.totals },
  }));
  const accounts = engine.accountsById()
    .map((a): AccountSnapshot => ({
      id: a.id, member: a.member, accountClass: a.accountClass, allocation: a.allocation,
      venues: a.venues === null ? null : [...a.venues].sort(), cash: a.cash, cashFrozen: a.cashFrozen,
      restriction: a.restriction, restrictionReason: a.restrictionReason,
      positions: a.positions.flatMap((p) => {
        if (p === undefined) return [];
        const out: PositionSnapshot = {
          symbol: engine.instruments[p.instrumentIndex].symbol, available: p.available, frozen: p.frozen, pending: p.pending,
          openBuy: p.openBuy, largeHolder: p.largeHolder === null ? null : { ...p.largeHolder },
        };
        if (p.capOverride !== undefined) out.capOverride = p.capOverride;
        if (p.thresholdOverride !== undefined) out.thresholdOverride = p.thresholdOverride;
        return [out];
      }),
    }));
  const orders: OrderSnapshot[] = [];
  for (const inst of engine.instruments) {
    for (const side of [BUY, SELL] as const) {
      for (const o of inst.book.ordersInPriority(side)) {
        orders.push({
          id: o.id, accountId: o.account.id, symbol: inst.symbol, side: side === BUY ? 'buy' : 'sell', type: o.type,
          price: o.price, quantity: o.quantity, filled: o.filled, filledNotional: o.filledNotional, frozenCash: o.frozenCash,
          tif: o.tif, clientOrderId: o.clientOrderId, status: o.status, seq: o.seq, time: o.time,
        });
      }
    }
  }
  const clientOrderIds = [...inner.clientOrderIds.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]): [string, number, string] => [k, v.id, v.fingerprint]);
  const references = inner.transferReferences;
  const transferReferences = references.size === 0 ? undefined : [...references.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]): [string, number, string] => [k, v.seq, v.fingerprint]);
  const desk = engine.auctions;
  const auctions = desk.nextAuctionId === 1 ? undefined : {
    nextAuctionId: desk.nextAuctionId,
    nextBidId: desk.nextBidId,
    open: desk.openById().map((a): AuctionSnapshot => ({
      id: a.id, symbol: a.instrument.symbol, accountId: a.initiator.id, side: a.side === BUY ? 'buy' : 'sell', quantity: a.quantity,
      pricing: a.pricing, low: a.low, high: a.high, seq: a.seq, openedAt: a.openedAt, frozenCash: a.frozenCash, frozenTonnes: a.frozenTonnes,
      bids: [...a.bids.values()].sort((x, y) => x.id - y.id).map((b) => ({
        id: b.id, accountId: b.account.id, price: b.price, quantity: b.quantity, seq: b.seq, frozenCash: b.frozenCash, frozenTonnes: b.frozenTonnes,
      })),
    })),
  };
  return {
    version: SNAPSHOT_VERSION, lastSeq: inner.lastSeq, lastTime: inner.lastTime, tradingDate: engine.tradingDate,
    marketHalted: engine.marketHalted, marketHaltReason: engine.marketHaltReason, nextOrderId: inner.nextOrderId,
    nextTradeId: inner.nextTradeId, feesCollected: engine.feesCollected, instruments, accounts, orders, clientOrderIds,
    nextBlockId: engine.blocks.nextBlockId,
    blocks: engine.blocks.visibleTo(null).map((b): BlockSnapshot => ({
      id: b.id, symbol: b.instrument.symbol, proposerAccountId: b.proposer.id, side: b.side === BUY ? 'buy' : 'sell',
      counterpartyAccountId: b.counterparty?.id ?? null, price: b.price, quantity: b.quantity, inReplyTo: b.inReplyTo,
      status: b.status, termsBy: b.termsBy.id, frozenCash: b.frozenCash, frozenTonnes: b.frozenTonnes,
    })),
    ...(auctions === undefined ? {} : { auctions }),
    ...(transferReferences === undefined ? {} : { transferReferences }),
  };
}

/** Rebuilds an engine from a snapshot (after JSON.parse, or as snapshot() returned it). */
export function restore(s: EngineSnapshot, options: { bookFactory?: BookFactory } = {}): Engine {
  if (s.version !== SNAPSHOT_VERSION) throw new Error(`snapshot version ${s.version} is not ${SNAPSHOT_VERSION}`);
  const engine = new Engine({ tradingDate: s.tradingDate, bookFactory: options.bookFactory });
  const factory = engine.internals().bookFactory;
  engine.restoreInternals(s);
  engine.marketHalted = s.marketHalted;
  engine.marketHaltReason = s.marketHaltReason;
  engine.feesCollected = s.feesCollected;
  for (const [index, i] of s.instruments.entries()) {
    const inst = new Instrument(index, i.symbol, i.name, i.vintage, validateProfile(i.profile, `snapshot ${i.symbol}`), i.referencePrice, factory);
    inst.status = i.status;
    inst.statusReason = i.statusReason;
    inst.listedBandRate = i.listedBandRate;
    inst.blockBandRate = i.blockBandRate;
    inst.prevClose = i.prevClose ?? i.referencePrice;
    inst.setReference(i.referencePrice);
    inst.book.setRange(inst.bandLow, inst.bandHigh);
    Object.assign(inst.classCaps, i.classCaps);
    Object.assign(inst.classThresholds, i.classThresholds);
    inst.stats = Object.assign(new DayStats(), i.stats);
    inst.totals = Object.assign(new Totals(), i.totals);
    engine.addInstrument(inst);
  }
  for (const a of s.accounts) {
    const acct = new Account(a.id, a.member, a.accountClass, a.allocation, a.venues === null ? null : new Set(a.venues));
    acct.cash = a.cash;
    acct.cashFrozen = a.cashFrozen;
    acct.restriction = a.restriction;
    acct.restrictionReason = a.restrictionReason;
    for (const p of a.positions) {
      const inst = engine.instrument(p.symbol);
      if (inst === undefined) throw new Error(`snapshot: account ${a.id} holds unknown ${p.symbol}`);
      const pos = acct.position(inst.index);
      pos.available = p.available;
      pos.frozen = p.frozen;
      pos.pending = p.pending;
      pos.openBuy = p.openBuy;
      if ('capOverride' in p) pos.capOverride = p.capOverride;
      if ('thresholdOverride' in p) pos.thresholdOverride = p.thresholdOverride;
      pos.largeHolder = p.largeHolder === null ? null : { ...p.largeHolder };
    }
    engine.accounts.set(acct.id, acct);
  }
  for (const o of s.orders) {
    const acct = engine.account(o.accountId);
    const inst = engine.instrument(o.symbol);
    if (acct === undefined || inst === undefined) throw new Error(`snapshot: order ${o.id} names an unknown account or instrument`);
    const order = new Order(o.id, acct, acct.position(inst.index), inst, o.side === 'buy' ? BUY : SELL, o.type, o.price,
      o.quantity, o.tif, o.clientOrderId, o.seq, o.time);
    order.filled = o.filled;
    order.filledNotional = o.filledNotional;
    order.frozenCash = o.frozenCash;
    order.status = o.status;
    engine.addRestingOrder(order);
  }
  const ids = engine.internals().clientOrderIds;
  for (const [key, id, fingerprint] of s.clientOrderIds) ids.set(key, { id, fingerprint });
  const references = engine.internals().transferReferences;
  for (const [key, seq, fingerprint] of s.transferReferences ?? []) references.set(key, { seq, fingerprint });
  engine.blocks.nextBlockId = s.nextBlockId;
  for (const b of s.blocks) {
    const inst = engine.instrument(b.symbol);
    const proposer = engine.account(b.proposerAccountId);
    const counterparty = b.counterpartyAccountId === null ? null : engine.account(b.counterpartyAccountId);
    const termsBy = engine.account(b.termsBy);
    if (inst === undefined || proposer === undefined || counterparty === undefined || termsBy === undefined) {
      throw new Error(`snapshot: block ${b.id} names an unknown account or instrument`);
    }
    const block = new Block(b.id, inst, proposer, b.side === 'buy' ? BUY : SELL, counterparty, b.price, b.quantity, b.inReplyTo, b.status);
    block.termsBy = termsBy;
    block.frozenCash = b.frozenCash;
    block.frozenTonnes = b.frozenTonnes;
    engine.blocks.restoreBlock(block);
  }
  if (s.auctions !== undefined) {
    const desk = engine.auctions;
    desk.nextAuctionId = s.auctions.nextAuctionId;
    desk.nextBidId = s.auctions.nextBidId;
    for (const a of s.auctions.open) {
      const inst = engine.instrument(a.symbol);
      const initiator = engine.account(a.accountId);
      if (inst === undefined || initiator === undefined) throw new Error(`snapshot: auction ${a.id} names an unknown account or instrument`);
      const auction = new Auction(a.id, inst, initiator, a.side === 'buy' ? BUY : SELL, a.quantity, a.pricing, a.low, a.high, a.seq, a.openedAt);
      auction.frozenCash = a.frozenCash;
      auction.frozenTonnes = a.frozenTonnes;
      for (const b of a.bids) {
        const bidder = engine.account(b.accountId);
        if (bidder === undefined) throw new Error(`snapshot: bid ${b.id} of auction ${a.id} names an unknown account`);
        const bid = new AuctionBid(b.id, bidder, b.price, b.quantity, b.seq);
        bid.frozenCash = b.frozenCash;
        bid.frozenTonnes = b.frozenTonnes;
        auction.bids.set(bid.id, bid);
      }
      desk.restoreAuction(auction);
    }
  }
  return engine;
}

/**
 * The SHA-256 of the canonical snapshot text, less the position in the command stream (lastSeq,
 * lastTime): equal hashes, equal states. A rejected command moves the stream on but leaves the
 * state, and so the hash, as it was.
 */
export function stateHash(engine: Engine): string {
  return snapshotWithHash(engine).hash;
}

/**
 * The snapshot as JSON text with its state hash, serialising the state once: the hash is of the
 * text without lastSeq and lastTime, and the snapshot text is that text with them put in front.
 */
export function snapshotWithHash(engine: Engine): { lastSeq: number; text: string; hash: string } {
  const { lastSeq, lastTime, ...state } = snapshot(engine);
  const stateText = JSON.stringify(state);
  const hash = createHash('sha256').update(stateText).digest('hex');
  return { lastSeq, text: `{"lastSeq":${JSON.stringify(lastSeq)},"lastTime":${JSON.stringify(lastTime)},${stateText.slice(1)}`, hash };
}


