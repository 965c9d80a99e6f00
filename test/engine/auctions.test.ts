// The one-way auction (单向竞价, MARKET-RULES section 2.3): the bounds from the previous close, the
// initiator's and bidders' freezes, allocation by price then time with the last accepted bid filled
// in part, uniform and pay-as-bid prices, fees, the end of day's allocation, what risk controls do to
// auctions and bids, snapshots, and (a property) that an allocation conserves cash and tonnes and
// never passes over a better bid.
import t from 'tap';
import fc from 'fast-check';
import {
  Engine, type AuctionBidEvent, type AuctionEvent, type EngineEvent, type Result, type TradeEvent, type VenueProfile,
} from '../../engine/index.ts';
import { Harness, allDay, fen, loadProfile, ok, tradesOf } from '../support/harness.ts';
import { expectReject, funds, national, nationalWithSessions } from './fixtures.ts';

const auctionsOf = (events: EngineEvent[]): AuctionEvent[] => events.filter((e): e is AuctionEvent => e.type === 'auction');
const bidsOf = (events: EngineEvent[]): AuctionBidEvent[] => events.filter((e): e is AuctionBidEvent => e.type === 'auctionBid');
const auctionId = (r: Result): number => ok(r).auctionId as number;

/** The national market with fees on auctions: 0.5 % from each side. */
function withFees(): VenueProfile {
  return { ...national(), fees: { ...national().fees, auction: { buy: '0.005', sell: '0.005' } } };
}

/**
 * CEA24 listed at 60.00 (so bids go from 54.00 or 60.00 up to 66.00 in a sell auction). S1-A holds
 * 300,000 t to sell; B1-A, B2-A and B3-A have cash; B1 has a second account B1-B.
 */
function world(profile: VenueProfile = national()): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(profile, 'CEA24', '60.00');
  h.open('S1-A', { cash: '10000000.00', holdings: { CEA24: 300_000 } });
  for (const id of ['B1-A', 'B1-B', 'B2-A', 'B3-A']) h.open(id, { cash: '20000000.00', holdings: { CEA24: 200_000 } });
  return h;
}

const sellAuction = (more: Record<string, unknown> = {}) => ({
  type: 'openAuction' as const, accountId: 'S1-A', symbol: 'CEA24', side: 'sell' as const, quantity: 200_000, pricing: 'uniform' as const, ...more,
});
const bid = (h: Harness, accountId: string, auction: number, price: string, quantity: number): Result =>
  h.member(accountId.split('-')[0], { type: 'bidAuction', auctionId: auction, accountId, price: fen(price), quantity });
const position = (h: Harness, accountId: string) => {
  const a = h.engine.account(accountId);
  const inst = h.engine.instrument('CEA24');
  if (a === undefined || inst === undefined) throw new Error('no such account or instrument');
  const p = a.peek(inst.index);
  return { available: p.available, frozen: p.frozen, pending: p.pending, openBuy: p.openBuy };
};

t.test('a sell auction: bounds from the previous close, freezes, and the reserve the seller chose', async (t) => {
  const h = world();
  const opened = ok(h.member('S1', sellAuction()));
  const [event] = auctionsOf(opened.events);
  t.match(event, { status: 'opened', auctionId: 1, accountId: 'S1-A', side: 'sell', quantity: 200_000, pricing: 'uniform', low: fen('60.00'), high: fen('66.00'), bids: 0 });
  t.same(position(h, 'S1-A'), { available: 100_000, frozen: 200_000, pending: 0, openBuy: 0 }, 'the seller freezes the tonnes it offers');
  // The other reserve the venue offers: bids down to 10 % below the close.
  const wide = auctionsOf(ok(h.member('S1', sellAuction({ quantity: 100_000, reservePct: '10' }))).events)[0];
  t.equal(wide.low, fen('54.00'));
  expectReject(t, h, () => h.member('S1', sellAuction({ quantity: 100_000, reservePct: '5' })), 'INVALID_COMMAND', '"0", "10"');
  ok(h.risk({ type: 'cancelAuction', auctionId: 2, reason: 'a second one by mistake' }));
  t.equal(auctionsOf(ok(h.member('S1', sellAuction({ quantity: 100_000, reservePct: '10.0' }))).events)[0].low, fen('54.00'), '"10.0" is the reserve "10"');
  ok(h.risk({ type: 'cancelAuction', auctionId: 3, reason: 'a third one by mistake' }));
  expectReject(t, h, () => h.member('S1', sellAuction({ quantity: 100_001 })), 'INSUFFICIENT_HOLDINGS');
  expectReject(t, h, () => h.member('S1', sellAuction({ pricing: 'dutch' })), 'INVALID_COMMAND', 'uniform, pay_as_bid');
  expectReject(t, h, () => h.member('B1', sellAuction()), 'ACCOUNT_NOT_OWNED');

  // Bids: within the bounds, on the tick, at most the quantity offered, funded, never the seller's own.
  expectReject(t, h, () => bid(h, 'B1-A', 1, '59.99', 1000), 'PRICE_OUT_OF_BAND', 'from 60.00 to 66.00');
  expectReject(t, h, () => bid(h, 'B1-A', 1, '66.01', 1000), 'PRICE_OUT_OF_BAND');
  expectReject(t, h, () => h.member('B1', { type: 'bidAuction', auctionId: 1, accountId: 'B1-A', price: 6000.5, quantity: 1000 }), 'INVALID_PRICE');
  expectReject(t, h, () => bid(h, 'B1-A', 1, '61.00', 200_001), 'INVALID_QUANTITY', 'at most');
  expectReject(t, h, () => bid(h, 'S1-A', 1, '61.00', 1000), 'SELF_TRADE');
  h.open('P1-A', { cash: '1000.00' });
  expectReject(t, h, () => bid(h, 'P1-A', 1, '61.00', 1000), 'INSUFFICIENT_FUNDS');
  const before = funds(h, 'B1-A');
  const placed = ok(bid(h, 'B1-A', 1, '61.00', 1000));
  t.match(bidsOf(placed.events)[0], { status: 'placed', bidId: 1, auctionId: 1, side: 'buy', price: fen('61.00'), quantity: 1000 });
  t.same(funds(h, 'B1-A'), { cash: before.cash - fen('61000.00'), cashFrozen: fen('61000.00') }, 'a bid freezes its price times its quantity');
  t.equal(position(h, 'B1-A').openBuy, 1000, 'and counts as an open buy against a cap');
});

t.test('uniform pricing: price then time, the marginal bid in part, everyone at the last accepted price', async (t) => {
  const h = world();
  const id = auctionId(h.member('S1', sellAuction()));
  ok(bid(h, 'B1-A', id, '61.00', 80_000)); // bid 1
  ok(bid(h, 'B2-A', id, '63.00', 50_000)); // bid 2
  ok(bid(h, 'B3-A', id, '61.00', 100_000)); // bid 3: same price as bid 1, later
  ok(bid(h, 'B1-B', id, '60.50', 30_000)); // bid 4: below the margin
  ok(bid(h, 'B2-A', id, '62.00', 40_000)); // bid 5
  const cashBefore = h.engine.cashHeld();
  const closed = ok(h.operator({ type: 'closeAuction', auctionId: id }));
  const trades = tradesOf(closed.events);
  // 50,000 at 63 (bid 2), 40,000 at 62 (bid 5), 80,000 at 61 (bid 1), then 30,000 of bid 3's 100,000.
  t.same(trades.map((x) => [x.buyAccountId, x.quantity]), [['B2-A', 50_000], ['B2-A', 40_000], ['B1-A', 80_000], ['B3-A', 30_000]]);
  t.ok(trades.every((x) => x.price === fen('61.00') && x.mode === 'auction' && x.sellAccountId === 'S1-A' && x.buyOrderId === null && x.blockId === null));
  const bids = bidsOf(closed.events);
  t.same(bids.map((b) => [b.bidId, b.status, b.filled]), [[2, 'filled', 50_000], [5, 'filled', 40_000], [1, 'filled', 80_000], [3, 'partially_filled', 30_000], [4, 'unfilled', 0]]);
  t.same(bids.map((b) => b.tradeId), [...trades.map((x) => x.tradeId), null], 'each fill names its trade');
  t.match(auctionsOf(closed.events)[0], { status: 'closed', filled: 200_000, turnover: fen('61.00') * 200_000, clearingPrice: fen('61.00'), bids: 5 });
  // Money and tonnes: the bidders paid 61.00 a tonne for what they got and have the rest back.
  t.same(funds(h, 'B2-A'), { cash: fen('20000000.00') - fen('61.00') * 90_000, cashFrozen: 0 });
  t.same(funds(h, 'B3-A'), { cash: fen('20000000.00') - fen('61.00') * 30_000, cashFrozen: 0 });
  t.same(funds(h, 'B1-B'), { cash: fen('20000000.00'), cashFrozen: 0 });
  t.same(funds(h, 'S1-A'), { cash: fen('10000000.00') + fen('61.00') * 200_000, cashFrozen: 0 });
  t.same(position(h, 'S1-A'), { available: 100_000, frozen: 0, pending: 0, openBuy: 0 });
  t.same(position(h, 'B3-A'), { available: 200_000, frozen: 0, pending: 30_000, openBuy: 0 }, 'bought tonnes are pending until the end of day');
  t.same(position(h, 'B1-B'), { available: 200_000, frozen: 0, pending: 0, openBuy: 0 });
  t.equal(h.engine.cashHeld(), cashBefore, 'no fee: cash only moved between accounts');
  // Counted in volume and turnover as auction trades, never in the listed open, last or K-line.
  const ticker = h.engine.ticker('CEA24');
  t.match(ticker, { auctionVolume: 200_000, auctionTurnover: fen('61.00') * 200_000, listedVolume: 0, last: null });
  expectReject(t, h, () => h.operator({ type: 'closeAuction', auctionId: id }), 'AUCTION_NOT_OPEN');
});

t.test('pay as bid with fees: each fill at its own price, fees from each side, the seller keeps what no one bought', async (t) => {
  const h = world(withFees());
  const id = auctionId(h.member('S1', sellAuction({ pricing: 'pay_as_bid', quantity: 150_000 })));
  ok(bid(h, 'B1-A', id, '60.10', 100_000));
  ok(bid(h, 'B2-A', id, '65.55', 20_000));
  // A bid with a fee freezes the fee too.
  t.equal(funds(h, 'B2-A').cashFrozen, fen('65.55') * 20_000 + Math.round(fen('65.55') * 20_000 * 0.005));
  const closed = ok(h.operator({ type: 'closeAuction', auctionId: id }));
  const trades = tradesOf(closed.events);
  t.same(trades.map((x) => [x.price, x.quantity]), [[fen('65.55'), 20_000], [fen('60.10'), 100_000]]);
  const fee = (turnover: number) => Math.round(turnover * 0.005);
  t.same(trades.map((x) => [x.buyFee, x.sellFee]), trades.map((x) => [fee(x.price * x.quantity), fee(x.price * x.quantity)]));
  t.same(funds(h, 'B1-A'), { cash: fen('20000000.00') - fen('60.10') * 100_000 - fee(fen('60.10') * 100_000), cashFrozen: 0 });
  const turnover = fen('65.55') * 20_000 + fen('60.10') * 100_000;
  t.same(funds(h, 'S1-A').cash, fen('10000000.00') + turnover - trades.reduce((s, x) => s + x.sellFee, 0));
  t.same(position(h, 'S1-A'), { available: 180_000, frozen: 0, pending: 0, openBuy: 0 }, '30,000 unsold tonnes are available again');
  t.match(auctionsOf(closed.events)[0], { filled: 120_000, turnover, clearingPrice: fen('60.10') });
  t.equal(h.engine.feesCollected, trades.reduce((s, x) => s + x.buyFee + x.sellFee, 0));
});

t.test('a buy auction: offers rank cheapest first, the buyer holds back the most it may pay and gets the rest back', async (t) => {
  const h = world(withFees());
  const opened = ok(h.member('S1', { ...sellAuction({ side: 'buy', quantity: 100_000, reservePct: '10' }) }));
  const a = auctionsOf(opened.events)[0];
  t.match(a, { side: 'buy', low: fen('54.00'), high: fen('66.00') }, 'offers from 10 % below the close up to the reserve the buyer chose, 10 % above');
  const frozen = funds(h, 'S1-A').cashFrozen;
  t.ok(frozen >= fen('66.00') * 100_000 + Math.round(fen('66.00') * 100_000 * 0.005), 'the buyer holds back the most it may pay, fee included');
  t.equal(position(h, 'S1-A').openBuy, 100_000);
  ok(bid(h, 'B1-A', a.auctionId, '58.00', 60_000));
  ok(bid(h, 'B2-A', a.auctionId, '55.00', 50_000));
  ok(bid(h, 'B3-A', a.auctionId, '58.00', 10_000));
  t.same(position(h, 'B2-A'), { available: 150_000, frozen: 50_000, pending: 0, openBuy: 0 }, 'an offer freezes its tonnes');
  const closed = ok(h.operator({ type: 'closeAuction', auctionId: a.auctionId }));
  const trades = tradesOf(closed.events);
  t.same(trades.map((x) => [x.sellAccountId, x.quantity, x.price]), [['B2-A', 50_000, fen('58.00')], ['B1-A', 50_000, fen('58.00')]], 'uniform: all at the dearest accepted offer');
  t.same(bidsOf(closed.events).map((b) => b.status), ['filled', 'partially_filled', 'unfilled']);
  const paid = trades.reduce((s, x) => s + x.price * x.quantity + x.buyFee, 0);
  t.same(funds(h, 'S1-A'), { cash: fen('10000000.00') - paid, cashFrozen: 0 }, 'the buyer paid its fills and fees and has the rest of its reserve back');
  t.same(position(h, 'S1-A'), { available: 300_000, frozen: 0, pending: 100_000, openBuy: 0 });
  t.same(position(h, 'B1-A'), { available: 150_000, frozen: 0, pending: 0, openBuy: 0 }, 'the partly filled offer delivered 50,000 t and has its other 10,000 t back');
  t.same(position(h, 'B3-A'), { available: 200_000, frozen: 0, pending: 0, openBuy: 0 });
});

t.test('withdrawing a bid, and a cancelled auction, release everything', async (t) => {
  const h = world();
  const id = auctionId(h.member('S1', sellAuction()));
  ok(bid(h, 'B1-A', id, '61.00', 1000));
  ok(bid(h, 'B2-A', id, '62.00', 2000));
  expectReject(t, h, () => h.member('B2', { type: 'cancelAuctionBid', auctionId: id, bidId: 1 }), 'UNKNOWN_BID');
  const withdrawn = ok(h.member('B1', { type: 'cancelAuctionBid', auctionId: id, bidId: 1 }));
  t.match(bidsOf(withdrawn.events)[0], { status: 'cancelled', reason: 'withdrawn', bidId: 1 });
  t.same(funds(h, 'B1-A'), { cash: fen('20000000.00'), cashFrozen: 0 });
  expectReject(t, h, () => h.member('B1', { type: 'cancelAuctionBid', auctionId: id, bidId: 1 }), 'UNKNOWN_BID');
  expectReject(t, h, () => h.member('S1', { type: 'closeAuction', auctionId: id }), 'NOT_PERMITTED');
  expectReject(t, h, () => h.risk({ type: 'cancelAuction', auctionId: id, reason: '' }), 'INVALID_COMMAND');
  const cancelled = ok(h.risk({ type: 'cancelAuction', auctionId: id, reason: 'announced in error' }));
  t.same(cancelled.events.map((e) => e.type), ['auctionBid', 'auction']);
  t.match(auctionsOf(cancelled.events)[0], { status: 'cancelled', reason: 'announced in error', bids: 1, filled: 0 });
  t.match(bidsOf(cancelled.events)[0], { status: 'cancelled', reason: 'auction_cancelled', bidId: 2 });
  t.same(funds(h, 'B2-A'), { cash: fen('20000000.00'), cashFrozen: 0 });
  t.same(position(h, 'S1-A'), { available: 300_000, frozen: 0, pending: 0, openBuy: 0 });
  t.equal(tradesOf(cancelled.events).length, 0);
});

t.test('sessions and halts: bids in the auction session only, none while halted; the close is the operator\'s', async (t) => {
  const h = new Harness({ tradingDate: '2026-11-20', time: '10:00' });
  h.list(nationalWithSessions(), 'CEA24', '60.00');
  h.open('S1-A', { holdings: { CEA24: 200_000 } });
  h.open('B1-A', { cash: '10000000.00' });
  expectReject(t, h, () => h.member('S1', sellAuction()), 'MARKET_CLOSED', '13:00–15:00');
  h.at('2026-11-20', '13:30');
  const id = auctionId(h.member('S1', sellAuction()));
  ok(h.risk({ type: 'setInstrumentStatus', symbol: 'CEA24', status: 'halted', reason: 'news' }));
  expectReject(t, h, () => bid(h, 'B1-A', id, '61.00', 100), 'INSTRUMENT_HALTED');
  ok(h.risk({ type: 'setInstrumentStatus', symbol: 'CEA24', status: 'trading', reason: 'resumed' }));
  ok(bid(h, 'B1-A', id, '61.00', 100));
  // Nothing executes while halted: the operator's close waits for the resumption, the instrument's or the market's.
  ok(h.risk({ type: 'haltMarket', reason: 'outage' }));
  expectReject(t, h, () => h.operator({ type: 'closeAuction', auctionId: id }), 'MARKET_HALTED');
  ok(h.risk({ type: 'resumeMarket', reason: 'back' }));
  ok(h.risk({ type: 'setInstrumentStatus', symbol: 'CEA24', status: 'halted', reason: 'news' }));
  expectReject(t, h, () => h.operator({ type: 'closeAuction', auctionId: id }), 'INSTRUMENT_HALTED');
  ok(h.risk({ type: 'setInstrumentStatus', symbol: 'CEA24', status: 'trading', reason: 'resumed' }));
  h.at('2026-11-20', '15:00');
  expectReject(t, h, () => bid(h, 'B1-A', id, '61.00', 100), 'MARKET_CLOSED');
  // The end of day allocates what is still open; its trades are the closed day's.
  h.at('2026-11-20', '15:30');
  const eod = ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
  t.same(eod.events.map((e) => e.type).slice(0, 3), ['trade', 'auctionBid', 'auction']);
  t.match(auctionsOf(eod.events)[0], { status: 'closed', reason: 'end_of_day', filled: 100 });
  const day = eod.events.find((e) => e.type === 'endOfDay');
  t.match(day, { instruments: [{ symbol: 'CEA24', auctionVolume: 100, auctionTurnover: fen('61.00') * 100, listedVolume: 0, close: fen('60.00') }] },
    'counted in the day\'s statistics, not in its close');
  t.match(day, { accounts: [{ accountId: 'B1-A', holdings: [['CEA24', 100]] }, { accountId: 'S1-A', holdings: [['CEA24', 199_900]] }] });
});

t.test('an auction on a halted instrument at the end of day is cancelled, not allocated', async (t) => {
  const h = new Harness({ tradingDate: '2026-11-20', time: '13:30' });
  h.list(nationalWithSessions(), 'CEA24', '60.00');
  h.open('S1-A', { holdings: { CEA24: 200_000 } });
  h.open('B1-A', { cash: '10000000.00' });
  const id = auctionId(h.member('S1', sellAuction()));
  ok(bid(h, 'B1-A', id, '61.00', 100));
  ok(h.risk({ type: 'setInstrumentStatus', symbol: 'CEA24', status: 'halted', reason: 'news' }));
  h.at('2026-11-20', '15:30');
  const eod = ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
  t.same(tradesOf(eod.events), []);
  t.match(auctionsOf(eod.events)[0], { status: 'cancelled', reason: 'halted_at_end_of_day' });
  t.match(bidsOf(eod.events)[0], { status: 'cancelled', reason: 'auction_cancelled' });
  t.same(funds(h, 'B1-A'), { cash: fen('10000000.00'), cashFrozen: 0 });
  t.same(position(h, 'S1-A'), { available: 200_000, frozen: 0, pending: 0, openBuy: 0 });
});

t.test('risk controls reach auctions: cancel-all, restrictions and a lowered cap', async (t) => {
  const h = world();
  const id = auctionId(h.member('S1', sellAuction()));
  ok(bid(h, 'B1-A', id, '61.00', 1000));
  ok(bid(h, 'B1-A', id, '62.00', 2000));
  ok(bid(h, 'B2-A', id, '61.00', 3000));
  // A no_buy restriction ends the bidder's bids.
  const restricted = ok(h.risk({ type: 'restrictAccount', accountId: 'B2-A', restriction: 'no_buy', reason: 'review' }));
  t.same(bidsOf(restricted.events).map((b) => [b.bidId, b.reason]), [[3, 'account_restricted']]);
  // A lowered cap withdraws the newest bids first while the holding and open buys pass it.
  const capped = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B1-A', quantity: 201_500, reason: 'cap' }));
  t.same(bidsOf(capped.events).map((b) => [b.bidId, b.reason]), [[2, 'position_cap']], 'bid 2 goes, bid 1 fits under the cap');
  t.equal(position(h, 'B1-A').openBuy, 1000);
  expectReject(t, h, () => bid(h, 'B1-A', id, '61.00', 600), 'POSITION_CAP_EXCEEDED');
  // Cancel-all on the seller cancels its auction and releases the remaining bid.
  const all = ok(h.risk({ type: 'cancelAll', accountId: 'S1-A', reason: 'default' }));
  t.match(auctionsOf(all.events)[0], { status: 'cancelled', reason: 'cancelled_by_risk' });
  t.same(funds(h, 'B1-A'), { cash: fen('20000000.00'), cashFrozen: 0 });
  t.same(position(h, 'S1-A').frozen, 0);
});

t.test('a snapshot taken mid-auction restores it, freezes and all, and the same commands end the same', async (t) => {
  const h = world(withFees());
  const id = auctionId(h.member('S1', sellAuction({ pricing: 'pay_as_bid' })));
  ok(bid(h, 'B1-A', id, '61.00', 1000));
  ok(bid(h, 'B2-A', id, '62.00', 2000));
  const restored = Engine.restore(JSON.parse(JSON.stringify(h.engine.snapshot())));
  t.equal(restored.stateHash(), h.engine.stateHash(), 'the same state');
  t.equal(restored.auctions.open.get(id)?.bids.size, 2);
  const close = { type: 'closeAuction' as const, auctionId: id, seq: h.seq + 1, time: h.time, actor: { role: 'operator' as const, id: 'ops1' } };
  const a = ok(h.engine.apply(close));
  const b = ok(restored.apply(close));
  t.same(b.events, a.events);
  t.equal(restored.stateHash(), h.engine.stateHash());
  // A state that never had an auction keeps the snapshot text it had before auctions existed.
  const plain = world();
  t.notOk('auctions' in plain.engine.snapshot(), 'no auctions field until the first auction');
});

t.test('a venue profile\'s auction rules are checked', async (t) => {
  const bad = (auction: unknown) => () => new Harness().list({ ...national(), auction } as VenueProfile, 'CEA24', '60.00');
  t.throws(bad({ minQuantity: 0, limitPct: '10', reservePcts: ['0'] }), /auction\.minQuantity/);
  t.throws(bad({ minQuantity: 1, limitPct: '0', reservePcts: ['0'] }), /auction\.limitPct/);
  t.throws(bad({ minQuantity: 1, limitPct: '10', reservePcts: [] }), /auction\.reservePcts/);
  t.throws(bad({ minQuantity: 1, limitPct: '10', reservePcts: ['0', '0'] }), /reservePcts\[1\].*twice/);
  t.throws(bad({ minQuantity: 1, limitPct: '10', reservePcts: ['0'], window: 5 }), /auction\.window/);
  t.doesNotThrow(() => new Harness().list(allDay(loadProfile('gdea')), 'GDEA', '60.00'));
});

// ---------------------------------------------------------------- property

interface Bid { account: number; price: number; quantity: number }

t.test('property: an allocation conserves cash and tonnes, fills at most what was offered and asked, and never passes over a better bid', async (t) => {
  const accounts = ['B1-A', 'B1-B', 'B2-A', 'B3-A'];
  const arb = fc.record({
    side: fc.constantFrom('sell' as const, 'buy' as const),
    pricing: fc.constantFrom('uniform' as const, 'pay_as_bid' as const),
    quantity: fc.integer({ min: 100_000, max: 200_000 }),
    fees: fc.boolean(),
    bids: fc.array(fc.record({ account: fc.integer({ min: 0, max: 3 }), price: fc.integer({ min: 5400, max: 6600 }), quantity: fc.integer({ min: 1, max: 120_000 }) }), { maxLength: 12 }),
    withdraw: fc.array(fc.nat(), { maxLength: 3 }),
  });
  fc.assert(fc.property(arb, (p) => {
    const h = world(p.fees ? withFees() : national());
    ok(h.operator({ type: 'deposit', accountId: 'S1-A', cash: fen('10000000.00') }));
    const tonnes = () => [...h.engine.accounts.values()].reduce((s, a) => s + (a.peek(0).holding), 0);
    const cash0 = h.engine.cashHeld(), tonnes0 = tonnes();
    const id = auctionId(h.member('S1', sellAuction({ side: p.side, pricing: p.pricing, quantity: p.quantity, reservePct: '10' })));
    const placed: (Bid & { id: number })[] = [];
    for (const b of p.bids) {
      const r = bid(h, accounts[b.account], id, (b.price / 100).toFixed(2), b.quantity);
      if (r.ok) placed.push({ ...b, id: r.bidId as number });
    }
    for (const w of p.withdraw) {
      if (placed.length === 0) break;
      const gone = placed.splice(w % placed.length, 1)[0];
      ok(h.member(accounts[gone.account].split('-')[0], { type: 'cancelAuctionBid', auctionId: id, bidId: gone.id }));
    }
    const closed = ok(h.operator({ type: 'closeAuction', auctionId: id }));
    const trades: TradeEvent[] = tradesOf(closed.events);
    const fills = new Map(bidsOf(closed.events).map((b) => [b.bidId, b]));
    const filled = trades.reduce((s, x) => s + x.quantity, 0);
    const fees = trades.reduce((s, x) => s + x.buyFee + x.sellFee, 0);
    if (h.engine.cashHeld() + fees !== cash0) return false;
    if (tonnes() !== tonnes0) return false;
    if (filled > p.quantity || filled !== Math.min(p.quantity, placed.reduce((s, b) => s + b.quantity, 0))) return false;
    // Nothing stays frozen once the auction is over.
    for (const a of h.engine.accounts.values()) if (a.cashFrozen !== 0 || a.peek(0).frozen !== 0 || a.peek(0).openBuy !== 0) return false;
    const better = (x: Bid & { id: number }, y: Bid & { id: number }) => (p.side === 'sell' ? x.price > y.price : x.price < y.price) || (x.price === y.price && x.id < y.id);
    for (const x of placed) {
      const fx = fills.get(x.id);
      if (fx === undefined || fx.filled > x.quantity) return false;
      // A bid that got less than it asked leaves nothing to any bid ranked after it.
      if (fx.filled < x.quantity && placed.some((y) => better(x, y) && (fills.get(y.id)?.filled ?? 0) > 0)) return false;
    }
    if (p.pricing === 'uniform' && new Set(trades.map((x) => x.price)).size > 1) return false;
    return true;
  }), { numRuns: 150 });
  t.pass('held for every generated auction');
});

t.test('nothing executes outside the band in force: the range is clipped to it, bids outside it are refused, and a band change withdraws them', async (t) => {
  const h = world();
  // The risk officer narrows the listed band to ±3 % of 60.00: 58.20–61.80.
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '3', reason: 'volatility' }));
  const opened = auctionsOf(ok(h.member('S1', sellAuction({ reservePct: '10' }))).events)[0];
  t.match(opened, { low: fen('58.20'), high: fen('61.80') }, 'the range 54.00–66.00 within the band 58.20–61.80');
  expectReject(t, h, () => bid(h, 'B1-A', opened.auctionId, '58.00', 10_000), 'PRICE_OUT_OF_BAND', 'from 58.20 to 61.80, not 58.00');
  ok(bid(h, 'B1-A', opened.auctionId, '58.50', 10_000));
  ok(bid(h, 'B2-A', opened.auctionId, '61.00', 10_000));
  const frozen = funds(h, 'B2-A');

  // A later change: the band moves up with the reference price, to 60.14–63.86 (62.00 ± 3 %).
  const moved = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('62.00'), reason: 'reference moved' }));
  t.match(bidsOf(moved.events), [{ bidId: 1, status: 'cancelled', reason: 'price_out_of_band' }], 'the bid at 61.00 stays; the one at 58.50 is withdrawn');
  t.equal(bidsOf(moved.events)[0].accountId, 'B1-A');
  expectReject(t, h, () => bid(h, 'B3-A', opened.auctionId, '60.00', 10_000), 'PRICE_OUT_OF_BAND', "CEA24's band is now 60.14–63.86");
  t.same(funds(h, 'B2-A'), frozen, 'the bid within the band keeps its freeze');

  // No price of the auction left in the band: the auction is cancelled, its bids with it.
  const away = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('66.00'), reason: 'reference moved again' }));
  t.match(auctionsOf(away.events), [{ auctionId: opened.auctionId, status: 'cancelled', reason: 'price_out_of_band' }]);
  t.same(position(h, 'S1-A'), { available: 300_000, frozen: 0, pending: 0, openBuy: 0 }, "the seller's tonnes are released");
  t.same(funds(h, 'B2-A'), { cash: fen('20000000.00'), cashFrozen: 0 }, "the bidder's cash too");
  // And an auction whose range (60.00–66.00 from the previous close) misses the band altogether is not opened.
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('70.00'), reason: 'reference moved once more' }));
  expectReject(t, h, () => h.member('S1', sellAuction()), 'PRICE_OUT_OF_BAND', "would take bids from 60.00 to 66.00, none of them within today's band 67.90–72.10");
});
