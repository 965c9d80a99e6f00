// Block trades (大宗协议), MARKET-RULES section 2.2, with the bands of section 3, the funds and
// holdings of section 5, the caps of 6, large holders of 7, controls of 8, sessions of 9, fees of 10
// and the end of day of 11. Every path of the negotiation (direct accept, counters, reject,
// withdraw, expiry, open proposals and counters to them) and every check, once when the terms are
// proposed and again when the trade executes. Whoever set the current terms holds the freeze;
// a refused command leaves the state (both sides' money and tonnes included) exactly as it was.
// Block trades count in volume, turnover, caps and large holders, never in open/high/low/last,
// the close or the K-lines.
//
// Unless a test says otherwise: the national market with its sessions open all day (fixtures
// `national()`), CEA24 listed at 57.46, so the block band is 57.46 × (1 ± 30 %) half-up to the fen
// = [40.222 → 40.22, 74.698 → 74.70] (the MARKET-RULES example), the block minimum 100,000 t, no
// fees. The trading day is Friday 2026-11-20, the clock 10:00 (UTC+8).
import t from 'tap';
import {
  Klines, settle, type BlockEvent, type EndOfDayEvent, type EngineEvent, type LargeHolderEvent, type TradeEvent,
} from '../../engine/index.ts';
import { Harness, allDay, fen, loadProfile, ok, rejected, tradesOf, type CommandBody } from '../support/harness.ts';
import { expectReject, national, nationalWithSessions } from '../engine/fixtures.ts';
import {
  accept, acceptAsMember, blockIdOf, counter, expectSide, feeOf, propose, recordEvents, refuse, side, sides, withdraw,
} from '../support/day.ts';

const DATE = '2026-11-20';
const blocksOf = (r: { ok: boolean; events?: EngineEvent[] }): BlockEvent[] =>
  (r.ok ? (r.events as EngineEvent[]) : []).filter((e): e is BlockEvent => e.type === 'block');

/** S1-A holds 300,000 t CEA24; B1-A and B2-A have 20,000,000.00 each. */
const recorded = new WeakMap<Harness, EngineEvent[]>();
/** Every accepted event of a desk since it was built (set-up deposits included). */
const eventsOf = (h: Harness): EngineEvent[] => recorded.get(h) as EngineEvent[];

function desk(profile = national(), listing = '57.46', symbol = 'CEA24', options: { tradingDate?: string; time?: string } = {}): Harness {
  const h = new Harness({ tradingDate: options.tradingDate ?? DATE, time: options.time });
  recorded.set(h, recordEvents(h));
  h.list(profile, symbol, listing);
  h.open('S1-A', { holdings: { [symbol]: 300_000 } });
  h.open('B1-A', { cash: '20000000.00' });
  h.open('B2-A', { cash: '20000000.00' });
  return h;
}

const eod = (h: Harness, date = DATE) => h.operator({ type: 'endOfDay', date } as CommandBody);
const eodEvent = (r: { ok: boolean; events?: EngineEvent[] }) => (ok(r as never).events.find((e) => e.type === 'endOfDay') as EndOfDayEvent);

// =====================================================================================================
// Negotiation paths
// =====================================================================================================

t.test('direct proposal, accepted: delivery versus payment at the agreed terms', async (t) => {
  const h = desk();
  const p = propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' });
  const id = blockIdOf(p);
  t.equal(id, 1, 'the first block of the exchange is block 1');
  t.same(blocksOf(p), [{
    type: 'block', seq: h.seq, time: h.time, blockId: 1, symbol: 'CEA24', status: 'proposed', proposerAccountId: 'S1-A', side: 'sell',
    counterpartyAccountId: 'B1-A', price: 5700, quantity: 100_000, termsBy: 'S1-A', inReplyTo: null, reason: null, reasonAccountId: null,
  }]);
  // The proposer set the terms: it holds the 100,000 t back; the buyer's cash is untouched.
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ available: 200_000, frozen: 100_000 }),
    'B1-A': expectSide({ cash: '20000000.00' }),
  });
  t.same(h.engine.blocks.visibleTo('B1').map((b) => b.id), [1], 'the counterparty sees it');
  t.same(h.engine.blocks.visibleTo('B2').map((b) => b.id), [], 'nobody else does');

  const a = ok(accept(h, 'B1-A', id));
  const trade = tradesOf(a.events);
  // 57.00 × 100,000 = 5,700,000.00; no fees on the national market.
  t.same(trade, [{
    type: 'trade', seq: h.seq, time: h.time, tradeId: 1, symbol: 'CEA24', mode: 'block', price: 5700, quantity: 100_000,
    buyOrderId: null, sellOrderId: null, blockId: 1, buyAccountId: 'B1-A', sellAccountId: 'S1-A', buyRemaining: 0, sellRemaining: 0,
    buyFee: 0, sellFee: 0, aggressor: 'buy',
  }]);
  t.match(blocksOf(a), [{ blockId: 1, status: 'executed', termsBy: 'S1-A', counterpartyAccountId: 'B1-A' }]);
  // Buyer: 20,000,000.00 − 5,700,000.00 = 14,300,000.00; the tonnes are pending until the end of day.
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ cash: '5700000.00', available: 200_000 }),
    'B1-A': expectSide({ cash: '14300000.00', pending: 100_000 }),
  });
  t.same(h.engine.blocks.visibleTo(null), [], 'an executed block leaves the desk');
  expectReject(t, h, () => accept(h, 'B1-A', id), 'BLOCK_NOT_OPEN');
  expectReject(t, h, () => accept(h, 'B1-A', 99), 'UNKNOWN_BLOCK');
  // T+1: what the block bought is pending, so it cannot be sold on in a block (or listed) today.
  expectReject(t, h, () => propose(h, 'B1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B2-A' }), 'INSUFFICIENT_HOLDINGS');
  expectReject(t, h, () => h.order('B1-A', { symbol: 'CEA24', side: 'sell', price: '57.46', quantity: 1 }), 'INSUFFICIENT_HOLDINGS');
});

t.test('only the awaited party confirms; a stranger sees no block', async (t) => {
  const h = desk();
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  expectReject(t, h, () => accept(h, 'S1-A', id), 'NOT_YOUR_TURN', /B1-A/);
  expectReject(t, h, () => accept(h, 'B2-A', id), 'UNKNOWN_BLOCK');
  expectReject(t, h, () => acceptAsMember(h, 'B2', id), 'UNKNOWN_BLOCK');
  // Naming another member's account tells a stranger nothing either: not "not yours" (which would
  // say the block exists), the words of a block that does not exist.
  for (const accountId of ['B1-A', 'S1-A', 'B2-A', 'NOBODY']) {
    expectReject(t, h, () => h.member('B2', { type: 'acceptBlock', blockId: id, accountId }), 'UNKNOWN_BLOCK', `there is no block ${id} for your accounts`);
    expectReject(t, h, () => h.member('B2', { type: 'counterBlock', blockId: id, accountId, price: 5700, quantity: 100_000 }), 'UNKNOWN_BLOCK', `there is no block ${id} for your accounts`);
  }
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'S1-A' }), 'SELF_TRADE');
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'NOBODY' }), 'UNKNOWN_ACCOUNT');
  // Accepting as a member without naming the account works for a directed block.
  const a = ok(acceptAsMember(h, 'B1', id));
  t.match(tradesOf(a.events), [{ buyAccountId: 'B1-A', sellAccountId: 'S1-A', quantity: 100_000 }]);
});

t.test('with fees (Hubei: block 0.5 % each side): the buyer freezes price × quantity plus its exact fee', async (t) => {
  // Hubei listed at 40.67: block band 40.67 × 0.7 = 28.469 → 28.47, × 1.3 = 52.871 → 52.87; minimum 10,000 t.
  const h = desk(allDay(loadProfile('hbea')), '40.67', 'HBEA');
  const p = propose(h, 'B1-A', { symbol: 'HBEA', side: 'buy', price: '40.00', quantity: 10_000, to: 'S1-A' });
  // 40.00 × 10,000 = 400,000.00; fee 0.5 % = 2,000.00; frozen 402,000.00.
  t.same(side(h, 'B1-A', 'HBEA'), expectSide({ cash: '19598000.00', cashFrozen: '402000.00', openBuy: 10_000 }));
  const a = ok(accept(h, 'S1-A', blockIdOf(p)));
  t.match(tradesOf(a.events), [{ mode: 'block', price: 4000, quantity: 10_000, buyFee: 200_000, sellFee: 200_000, aggressor: 'sell' }]);
  // Buyer paid exactly what it froze; seller receives 400,000.00 − 2,000.00 = 398,000.00.
  t.same(sides(h, ['B1-A', 'S1-A'], 'HBEA'), {
    'B1-A': expectSide({ cash: '19598000.00', pending: 10_000 }),
    'S1-A': expectSide({ cash: '398000.00', available: 290_000 }),
  });
  t.equal(h.engine.feesCollected, fen('4000.00'), 'the exchange collected 2,000.00 from each side');

  // The fee rounds half-up to the fen: 40.67 × 10,001 = 406,740.67 → 0.5 % = 2,033.70335 → 2,033.70;
  // the buyer needs 406,740.67 + 2,033.70 = 408,774.37, to the fen.
  t.equal(feeOf(fen('406740.67'), '0.005'), fen('2033.70'));
  h.open('B3-A', { cash: '408774.37' });
  h.open('B4-A', { cash: '408774.36' });
  expectReject(t, h, () => propose(h, 'B4-A', { symbol: 'HBEA', side: 'buy', price: '40.67', quantity: 10_001, to: 'S1-A' }), 'INSUFFICIENT_FUNDS');
  ok(propose(h, 'B3-A', { symbol: 'HBEA', side: 'buy', price: '40.67', quantity: 10_001, to: 'S1-A' }));
  t.same(side(h, 'B3-A', 'HBEA'), expectSide({ cashFrozen: '408774.37', openBuy: 10_001 }));
});

t.test('counters move the terms and the freeze to the countering party; the last terms trade', async (t) => {
  const h = desk();
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));

  // B1 counters 56.50 × 120,000: S1's tonnes come back, B1 freezes 56.50 × 120,000 = 6,780,000.00.
  const c1 = counter(h, 'B1-A', id, '56.50', 120_000);
  t.same(blocksOf(c1), [{
    type: 'block', seq: h.seq, time: h.time, blockId: id, symbol: 'CEA24', status: 'countered', proposerAccountId: 'S1-A', side: 'sell',
    counterpartyAccountId: 'B1-A', price: 5650, quantity: 120_000, termsBy: 'B1-A', inReplyTo: null, reason: null, reasonAccountId: null,
  }]);
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ available: 300_000 }),
    'B1-A': expectSide({ cash: '13220000.00', cashFrozen: '6780000.00', openBuy: 120_000 }),
  });
  // A party cannot confirm its own terms.
  expectReject(t, h, () => accept(h, 'B1-A', id), 'NOT_YOUR_TURN');
  expectReject(t, h, () => counter(h, 'B1-A', id, '56.00', 120_000), 'NOT_YOUR_TURN');
  expectReject(t, h, () => counter(h, 'S1-A', id, '56.50', 120_000), 'NO_CHANGE');

  // S1 counters back 56.80 × 110,000: B1's cash comes back in full, S1 freezes 110,000 t.
  ok(counter(h, 'S1-A', id, '56.80', 110_000));
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ available: 190_000, frozen: 110_000 }),
    'B1-A': expectSide({ cash: '20000000.00' }),
  });
  // B1 counters 56.70 × 110,000: 56.70 × 110,000 = 6,237,000.00 frozen by B1, S1's tonnes back.
  ok(counter(h, 'B1-A', id, '56.70', 110_000));
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ available: 300_000 }),
    'B1-A': expectSide({ cash: '13763000.00', cashFrozen: '6237000.00', openBuy: 110_000 }),
  });
  // S1 confirms: the trade is at the last terms, with B1's frozen cash.
  const a = ok(accept(h, 'S1-A', id));
  t.same(tradesOf(a.events).map((e) => [e.price, e.quantity, e.buyAccountId, e.sellAccountId, e.aggressor]), [[5670, 110_000, 'B1-A', 'S1-A', 'sell']]);
  t.match(blocksOf(a), [{ status: 'executed', price: 5670, quantity: 110_000, termsBy: 'B1-A' }]);
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ cash: '6237000.00', available: 190_000 }),
    'B1-A': expectSide({ cash: '13763000.00', pending: 110_000 }),
  });
});

t.test('a counter with fees freezes the counterer\'s exact cost; the seller nets its fee at execution', async (t) => {
  const h = desk(allDay(loadProfile('hbea')), '40.67', 'HBEA');
  const id = blockIdOf(propose(h, 'S1-A', { symbol: 'HBEA', side: 'sell', price: '41.00', quantity: 20_000, to: 'B1-A' }));
  t.same(side(h, 'S1-A', 'HBEA'), expectSide({ available: 280_000, frozen: 20_000 }));
  // 40.50 × 20,000 = 810,000.00, fee 0.5 % = 4,050.00 → 814,050.00 frozen.
  ok(counter(h, 'B1-A', id, '40.50', 20_000));
  t.same(sides(h, ['S1-A', 'B1-A'], 'HBEA'), {
    'S1-A': expectSide({ available: 300_000 }),
    'B1-A': expectSide({ cash: '19185950.00', cashFrozen: '814050.00', openBuy: 20_000 }),
  });
  const a = ok(accept(h, 'S1-A', id));
  t.match(tradesOf(a.events), [{ price: 4050, quantity: 20_000, buyFee: 405_000, sellFee: 405_000 }]);
  // Seller: 810,000.00 − 4,050.00 = 805,950.00.
  t.same(sides(h, ['S1-A', 'B1-A'], 'HBEA'), {
    'S1-A': expectSide({ cash: '805950.00', available: 280_000 }),
    'B1-A': expectSide({ cash: '19185950.00', pending: 20_000 }),
  });
});

t.test('reject: the awaited party refuses, the terms-setter\'s freeze is released', async (t) => {
  const h = desk();
  const before = sides(h, ['S1-A', 'B1-A']);
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  // The proposer withdraws, it does not reject.
  expectReject(t, h, () => refuse(h, 'S1', id), 'NOT_YOUR_TURN');
  expectReject(t, h, () => refuse(h, 'B2', id), 'UNKNOWN_BLOCK');
  const r = ok(refuse(h, 'B1', id));
  t.match(blocksOf(r), [{ blockId: id, status: 'rejected', termsBy: 'S1-A', price: 5700, quantity: 100_000 }]);
  t.same(tradesOf(r.events), []);
  t.same(sides(h, ['S1-A', 'B1-A']), before, 'S1\'s 100,000 t are available again');
  expectReject(t, h, () => accept(h, 'B1-A', id), 'BLOCK_NOT_OPEN');

  // After a counter, the proposer is the one that may refuse; the counterer's cash comes back.
  const id2 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  ok(counter(h, 'B1-A', id2, '56.00', 100_000));
  expectReject(t, h, () => refuse(h, 'B1', id2), 'NOT_YOUR_TURN');
  const r2 = ok(refuse(h, 'S1', id2));
  t.match(blocksOf(r2), [{ blockId: id2, status: 'rejected', termsBy: 'B1-A' }]);
  t.same(sides(h, ['S1-A', 'B1-A']), before);
});

t.test('withdraw: the terms-setter takes its terms back, its freeze is released', async (t) => {
  const h = desk();
  const before = sides(h, ['S1-A', 'B1-A']);
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  // The awaited party rejects, it does not withdraw.
  expectReject(t, h, () => withdraw(h, 'B1', id), 'NOT_YOUR_TURN');
  const w = ok(withdraw(h, 'S1', id));
  t.match(blocksOf(w), [{ blockId: id, status: 'withdrawn', termsBy: 'S1-A' }]);
  t.same(sides(h, ['S1-A', 'B1-A']), before);
  expectReject(t, h, () => withdraw(h, 'S1', id), 'BLOCK_NOT_OPEN');

  // A counterer withdraws its counter: its 5,600,000.00 come back.
  const id2 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  ok(counter(h, 'B1-A', id2, '56.00', 100_000));
  t.same(side(h, 'B1-A'), expectSide({ cash: '14400000.00', cashFrozen: '5600000.00', openBuy: 100_000 }));
  const w2 = ok(withdraw(h, 'B1', id2));
  t.match(blocksOf(w2), [{ blockId: id2, status: 'withdrawn', termsBy: 'B1-A' }]);
  t.same(sides(h, ['S1-A', 'B1-A']), before);
});

t.test('expiry at the end of day: every unconfirmed proposal expires and releases its freeze', async (t) => {
  const h = desk();
  const before = sides(h, ['S1-A', 'B1-A', 'B2-A']);
  const b1 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  const b2 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '58.00', quantity: 100_000 })); // open to all
  const b3 = blockIdOf(propose(h, 'B2-A', { side: 'buy', price: '56.00', quantity: 100_000, to: 'S1-A' }));
  ok(counter(h, 'S1-A', b3, '57.50', 100_000)); // now S1 holds tonnes for b3 too
  t.same(sides(h, ['S1-A', 'B2-A']), {
    'S1-A': expectSide({ frozen: 300_000 }),
    'B2-A': expectSide({ cash: '20000000.00' }),
  });
  const b4 = blockIdOf(propose(h, 'B1-A', { side: 'buy', price: '55.00', quantity: 100_000, to: 'S1-A' }));
  t.same(side(h, 'B1-A'), expectSide({ cash: '14500000.00', cashFrozen: '5500000.00', openBuy: 100_000 }));

  const r = eod(h);
  const expired = blocksOf(r);
  t.same(expired.map((e) => [e.blockId, e.status, e.reason, e.termsBy]), [
    [b1, 'expired', 'end_of_day', 'S1-A'], [b2, 'expired', 'end_of_day', 'S1-A'], [b3, 'expired', 'end_of_day', 'S1-A'], [b4, 'expired', 'end_of_day', 'B1-A'],
  ], 'in block id order, each with the terms that stood');
  t.same(tradesOf(ok(r).events), [], 'nothing executes at expiry');
  t.same(sides(h, ['S1-A', 'B1-A', 'B2-A']), before, 'every freeze released');
  const e = eodEvent(r);
  t.same(e.accounts.map((a) => [a.accountId, a.cash, a.holdings]), [
    ['B1-A', fen('20000000.00'), []], ['B2-A', fen('20000000.00'), []], ['S1-A', 0, [['CEA24', 300_000]]],
  ]);
  t.equal(h.engine.blocks.open.size, 0);
  expectReject(t, h, () => accept(h, 'B1-A', b1), 'BLOCK_NOT_OPEN');
});

t.test('an open proposal is accepted by any admitted account (naming it), never by its proposer', async (t) => {
  const h = desk();
  h.open('X1-A', { cash: '20000000.00', venues: ['HBEA'] }); // not admitted to CEA
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000 }));
  t.match(h.engine.blocks.visibleTo('B2'), [{ id }], 'every member sees an open proposal');
  t.match(h.engine.blocks.visibleTo('X1'), [{ id }]);
  h.open('B1-B', { cash: '1000.00' }); // B1 now has two accounts: it must say which one takes the proposal up
  expectReject(t, h, () => acceptAsMember(h, 'B1', id), 'ACCOUNT_REQUIRED', /name the accountId.*B1-A, B1-B/);
  expectReject(t, h, () => accept(h, 'S1-A', id), 'NOT_YOUR_TURN');
  expectReject(t, h, () => accept(h, 'X1-A', id), 'VENUE_NOT_ADMITTED');
  expectReject(t, h, () => h.member('B1', { type: 'acceptBlock', blockId: id, accountId: 'B2-A' }), 'ACCOUNT_NOT_OWNED');

  const a = ok(accept(h, 'B2-A', id));
  t.match(blocksOf(a), [{ blockId: id, status: 'executed', counterpartyAccountId: 'B2-A', termsBy: 'S1-A' }]);
  t.match(tradesOf(a.events), [{ buyAccountId: 'B2-A', sellAccountId: 'S1-A', price: 5700, quantity: 100_000, blockId: id }]);
  t.same(sides(h, ['S1-A', 'B1-A', 'B2-A']), {
    'S1-A': expectSide({ cash: '5700000.00', available: 200_000 }),
    'B1-A': expectSide({ cash: '20000000.00' }),
    'B2-A': expectSide({ cash: '14300000.00', pending: 100_000 }),
  });
  // One acceptance only.
  expectReject(t, h, () => accept(h, 'B1-A', id), 'BLOCK_NOT_OPEN');

  // An open buy proposal: any admitted holder may sell into it.
  const id2 = blockIdOf(propose(h, 'B1-A', { side: 'buy', price: '57.00', quantity: 100_000 }));
  ok(accept(h, 'S1-A', id2));
  t.same(side(h, 'B1-A'), expectSide({ cash: '14300000.00', pending: 100_000 }));
});

t.test('a member with one account takes an open proposal up without naming it', async (t) => {
  const h = desk();
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000 }));
  const a = ok(acceptAsMember(h, 'B2', id));
  t.match(blocksOf(a), [{ blockId: id, status: 'executed', counterpartyAccountId: 'B2-A' }], 'its only account, B2-A, took it');
  t.match(tradesOf(a.events), [{ buyAccountId: 'B2-A', sellAccountId: 'S1-A', quantity: 100_000 }]);
});

t.test('a counter to an open proposal opens a directed proposal back to its proposer', async (t) => {
  const h = desk();
  const open = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000 }));
  const c = counter(h, 'B1-A', open, '56.00', 100_000);
  const reply = blockIdOf(c);
  t.equal(reply, open + 1, 'a new block');
  t.same(blocksOf(c), [{
    type: 'block', seq: h.seq, time: h.time, blockId: reply, symbol: 'CEA24', status: 'proposed', proposerAccountId: 'B1-A', side: 'buy',
    counterpartyAccountId: 'S1-A', price: 5600, quantity: 100_000, termsBy: 'B1-A', inReplyTo: open, reason: null, reasonAccountId: null,
  }]);
  // Both stand: S1 still holds 100,000 t for its open proposal; B1 holds 5,600,000.00 for its reply.
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ available: 200_000, frozen: 100_000 }),
    'B1-A': expectSide({ cash: '14400000.00', cashFrozen: '5600000.00', openBuy: 100_000 }),
  });
  t.same(h.engine.blocks.visibleTo(null).map((b) => b.id), [open, reply]);
  // The proposer withdraws its own open proposal to change it.
  expectReject(t, h, () => counter(h, 'S1-A', open, '57.50', 100_000), 'NOT_YOUR_TURN');
  expectReject(t, h, () => accept(h, 'B1-A', reply), 'NOT_YOUR_TURN');
  // The reply is directed to S1 only.
  expectReject(t, h, () => accept(h, 'B2-A', reply), 'UNKNOWN_BLOCK');

  // S1 confirms the reply: it answers S1's open proposal, whose 100,000 t count towards it, and
  // the open proposal ends with the trade (S1 offered 100,000 t once, not once per reply).
  const a = ok(accept(h, 'S1-A', reply));
  t.match(tradesOf(a.events), [{ blockId: reply, buyAccountId: 'B1-A', sellAccountId: 'S1-A', price: 5600, quantity: 100_000, aggressor: 'sell' }]);
  t.match(blocksOf(a), [
    { blockId: reply, status: 'executed', termsBy: 'B1-A', inReplyTo: open },
    { blockId: open, status: 'withdrawn', reason: 'reply_executed', proposerAccountId: 'S1-A', counterpartyAccountId: null },
  ]);
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ cash: '5600000.00', available: 200_000 }),
    'B1-A': expectSide({ cash: '14400000.00', pending: 100_000 }),
  });
  t.same(h.engine.blocks.visibleTo(null).map((b) => b.id), [], 'nothing left open');
  expectReject(t, h, () => accept(h, 'B2-A', open), 'BLOCK_NOT_OPEN');

  // A reply can be refused by the open proposal's proposer, or withdrawn by its sender; either way
  // the open proposal stands, and another account may still take it.
  const open2 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000 }));
  const r1 = blockIdOf(counter(h, 'B2-A', open2, '55.00', 100_000));
  ok(refuse(h, 'S1', r1));
  const r2 = blockIdOf(counter(h, 'B2-A', open2, '55.50', 100_000));
  ok(withdraw(h, 'B2', r2));
  t.same(side(h, 'B2-A'), expectSide({ cash: '20000000.00' }), 'both replies released');
  t.same(side(h, 'S1-A'), expectSide({ cash: '5600000.00', available: 100_000, frozen: 100_000 }), 'the open proposal still holds its tonnes');
  ok(accept(h, 'B2-A', open2));
  t.same(sides(h, ['S1-A', 'B2-A']), {
    'S1-A': expectSide({ cash: '11300000.00', available: 100_000 }),
    'B2-A': expectSide({ cash: '14300000.00', pending: 100_000 }),
  });
});

t.test('a reply executed ends the open proposal it answered, whoever confirmed last; other replies stand', async (t) => {
  const h = desk();
  const open = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000 }));
  const r1 = blockIdOf(counter(h, 'B1-A', open, '56.00', 100_000));
  const r2 = blockIdOf(counter(h, 'B2-A', open, '55.00', 100_000));
  // S1 counters B1's reply back: terms of its own on the reply, held beside its open proposal's.
  ok(counter(h, 'S1-A', r1, '56.50', 100_000));
  t.same(side(h, 'S1-A'), expectSide({ available: 100_000, frozen: 200_000 }));
  // B1 confirms: the reply executes from S1's tonnes held for it, and the open proposal ends,
  // releasing its own 100,000 t.
  const a = ok(accept(h, 'B1-A', r1));
  t.match(tradesOf(a.events), [{ blockId: r1, buyAccountId: 'B1-A', sellAccountId: 'S1-A', price: 5650, quantity: 100_000, aggressor: 'buy' }]);
  t.match(blocksOf(a), [{ blockId: r1, status: 'executed' }, { blockId: open, status: 'withdrawn', reason: 'reply_executed' }]);
  t.same(side(h, 'S1-A'), expectSide({ cash: '5650000.00', available: 200_000 }));
  // B2's reply is an offer of its own to S1: it stands, and S1 may still confirm it (from its free
  // tonnes now that the open proposal is gone) or refuse it.
  t.same(h.engine.blocks.visibleTo(null).map((b) => b.id), [r2]);
  ok(accept(h, 'S1-A', r2));
  t.same(side(h, 'S1-A'), expectSide({ cash: '11150000.00', available: 100_000 }));
});

t.test('a proposer whose tonnes its own open proposals hold is told so when it confirms a reply', async (t) => {
  const h = desk();
  const open = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000 }));
  ok(propose(h, 'S1-A', { side: 'sell', price: '58.00', quantity: 200_000 }));
  const reply = blockIdOf(counter(h, 'B1-A', open, '56.00', 150_000));
  // The answered proposal's 100,000 t count towards the reply; the other proposal's 200,000 t do not.
  const before = side(h, 'S1-A');
  expectReject(t, h, () => accept(h, 'S1-A', reply), 'INSUFFICIENT_HOLDINGS',
    /^account S1-A has 100000 t of CEA24 available, not 150000 t; 200000 t more are held by its open sell orders, block proposals and auctions \(cancel or withdraw one to use them\)$/);
  t.same(side(h, 'S1-A'), before, 'the refusal puts the open proposal\'s freeze back');
  t.same(h.engine.blocks.visibleTo(null).map((b) => b.id), [open, open + 1, reply], 'nothing ended');
  // Withdrawing the other proposal frees its tonnes; the reply executes and ends the one it answered.
  ok(withdraw(h, 'S1', open + 1));
  const a = ok(accept(h, 'S1-A', reply));
  t.match(tradesOf(a.events), [{ blockId: reply, sellAccountId: 'S1-A', price: 5600, quantity: 150_000 }]);
  t.same(side(h, 'S1-A'), expectSide({ cash: '8400000.00', available: 150_000 }));
  t.same(h.engine.blocks.visibleTo(null).map((b) => b.id), []);
});

t.test('block band ±30 % of the previous close, at proposal, counter and execution', async (t) => {
  const h = desk();
  h.open('B3-A', { cash: '40000000.00' });
  t.match(h.engine.instrument('CEA24'), { blockLow: 4022, blockHigh: 7470 });
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '74.71', quantity: 100_000, to: 'B1-A' }), 'PRICE_OUT_OF_BAND', /40\.22.*74\.70/);
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '40.21', quantity: 100_000, to: 'B1-A' }), 'PRICE_OUT_OF_BAND');
  // No exemption on the national market, however large: 500,000 t at 74.71 is still out of band.
  expectReject(t, h, () => propose(h, 'B3-A', { side: 'buy', price: '74.71', quantity: 500_000, to: 'S1-A' }), 'PRICE_OUT_OF_BAND');
  ok(propose(h, 'S1-A', { side: 'sell', price: '40.22', quantity: 100_000, to: 'B1-A' }));
  const high = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '74.70', quantity: 100_000, to: 'B2-A' }));
  expectReject(t, h, () => counter(h, 'B2-A', high, '74.71', 100_000), 'PRICE_OUT_OF_BAND');
  expectReject(t, h, () => counter(h, 'B2-A', high, '40.21', 100_000), 'PRICE_OUT_OF_BAND');
  expectReject(t, h, () => h.member('S1', { type: 'proposeBlock', accountId: 'S1-A', symbol: 'CEA24', side: 'sell', price: 5700.5, quantity: 100_000, counterpartyAccountId: 'B1-A' }), 'INVALID_PRICE');

  // A risk officer moves the reference to 50.00: block band [35.00, 65.00]; the proposal at 74.70
  // could never execute now, so it is withdrawn at once and its tonnes released.
  const frozen = side(h, 'S1-A');
  const moved = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('50.00'), reason: 'correction' }));
  t.match(h.engine.instrument('CEA24'), { blockLow: 3500, blockHigh: 6500 });
  t.match(moved.events.filter((e) => e.type === 'block'), [{ blockId: high, status: 'withdrawn', reason: 'price_out_of_band' }]);
  t.equal(side(h, 'S1-A').frozen, frozen.frozen - 100_000, 'its 100,000 t are free again');
  expectReject(t, h, () => accept(h, 'B2-A', high), 'BLOCK_NOT_OPEN');
  // Counters and acceptance check the band again in any case.
  expectReject(t, h, () => counter(h, 'B1-A', 1, '66.00', 100_000), 'PRICE_OUT_OF_BAND', /35\.00.*65\.00/);
  // The proposal at 40.22 is inside [35.00, 65.00]: it still executes.
  ok(accept(h, 'B1-A', 1));
});

t.test('Shanghai: no block band at or above 500,000 t', async (t) => {
  // SHEA listed at 40.00: block band [28.00, 52.00]; exempt from 500,000 t.
  const h = new Harness({ tradingDate: DATE });
  h.list(allDay(loadProfile('shea')), 'SHEA', '40.00');
  h.open('S1-A', { holdings: { SHEA: 1_200_000 } });
  h.open('B1-A', { cash: '40000000.00' });
  t.match(h.engine.instrument('SHEA'), { blockLow: 2800, blockHigh: 5200 });
  expectReject(t, h, () => propose(h, 'S1-A', { symbol: 'SHEA', side: 'sell', price: '60.00', quantity: 499_999, to: 'B1-A' }), 'PRICE_OUT_OF_BAND');
  const id = blockIdOf(propose(h, 'S1-A', { symbol: 'SHEA', side: 'sell', price: '60.00', quantity: 500_000, to: 'B1-A' }));
  // The exemption follows the quantity of the terms.
  expectReject(t, h, () => counter(h, 'B1-A', id, '60.00', 499_999), 'PRICE_OUT_OF_BAND');
  ok(propose(h, 'S1-A', { symbol: 'SHEA', side: 'sell', price: '20.00', quantity: 500_000, to: 'B1-A' }));
  // A band change leaves exempt proposals alone: no band applies to them.
  const moved = ok(h.risk({ type: 'setInstrument', symbol: 'SHEA', blockBandPct: '10', reason: 'narrower' }));
  t.same(moved.events.filter((e) => e.type === 'block'), [], 'no proposal withdrawn');
  // 60.00 × 500,000 = 30,000,000.00.
  const a = ok(accept(h, 'B1-A', id));
  t.match(tradesOf(a.events), [{ price: 6000, quantity: 500_000 }]);
  t.same(side(h, 'B1-A', 'SHEA'), expectSide({ cash: '10000000.00', pending: 500_000 }));
  // The listed band is untouched by the exemption.
  expectReject(t, h, () => h.order('S1-A', { symbol: 'SHEA', side: 'sell', price: '60.00', quantity: 1 }), 'PRICE_OUT_OF_BAND');
});

t.test('an exempt block may be priced above 1,000,000.00; prices stop only at the engine\'s bound', async (t) => {
  const h = new Harness({ tradingDate: DATE });
  h.list(allDay(loadProfile('shea')), 'SHEA', '40.00');
  h.open('S1-A', { holdings: { SHEA: 1_500_000 } });
  h.open('B1-A', { cash: '1000.00' });
  ok(propose(h, 'S1-A', { symbol: 'SHEA', side: 'sell', price: '1000000.01', quantity: 500_000, to: 'B1-A' }));
  // A listing or reference price that high is refused for its listed band (the book keeps a level
  // per price step of it), not for its size.
  expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'SHEB', name: 'a dear allowance', profile: allDay(loadProfile('shea')), listingPrice: 100_000_001 }), 'BAND_TOO_WIDE', '900000.01–1100000.01');
  // Above 10^15 fen the refusal says so, not that the price is off the tick.
  expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'SHEC', name: 'too dear', profile: allDay(loadProfile('shea')), listingPrice: 1e15 + 10 }),
    'INVALID_PRICE', 'the listing price must be at most 10000000000000.00');
  expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'SHEA', referencePrice: 1e15 + 10, reason: 'test' }), 'INVALID_PRICE', 'the reference price must be at most');
});

t.test('block minimum: 100,000 t on the national market, at proposal and counter', async (t) => {
  const h = desk();
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 99_999, to: 'B1-A' }), 'BLOCK_TOO_SMALL', /100000/);
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 0, to: 'B1-A' }), 'INVALID_QUANTITY');
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  expectReject(t, h, () => counter(h, 'B1-A', id, '57.00', 99_999), 'BLOCK_TOO_SMALL');
  ok(counter(h, 'B1-A', id, '57.00', 100_001));
});

t.test('block session 13:00–15:00 on the national profile, at proposal, counter and execution', async (t) => {
  // Friday 2026-11-20 with the published sessions: listed 09:30–11:30 and 13:00–15:00, block 13:00–15:00.
  const h = desk(nationalWithSessions(), '57.46', 'CEA24', { time: '09:45' });
  ok(h.order('B1-A', { symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 10 }));
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }), 'MARKET_CLOSED', /13:00–15:00/);
  h.at(DATE, '12:59');
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }), 'MARKET_CLOSED');
  h.at(DATE, '13:00');
  const first = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  h.at(DATE, '14:00');
  const second = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.10', quantity: 100_000, to: 'B2-A' }));
  h.at(DATE, '14:59');
  ok(accept(h, 'B2-A', second));
  h.at(DATE, '15:00');
  const both = sides(h, ['S1-A', 'B1-A']);
  expectReject(t, h, () => accept(h, 'B1-A', first), 'MARKET_CLOSED');
  expectReject(t, h, () => counter(h, 'B1-A', first, '56.00', 100_000), 'MARKET_CLOSED');
  t.same(sides(h, ['S1-A', 'B1-A']), both, 'both sides as they were');
  // The proposal expires with the day (the end of day may run from 15:00).
  const r = eod(h);
  t.match(blocksOf(r), [{ blockId: first, status: 'expired' }]);
});

t.test('position caps at proposal and execution; block buys count against them', async (t) => {
  const h = desk();
  ok(h.operator({ type: 'deposit', accountId: 'B1-A', symbol: 'CEA24', quantity: 50_000 }));
  ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B1-A', quantity: 150_000, reason: 'test cap' }));
  // 50,000 held + 100,001 > 150,000.
  expectReject(t, h, () => propose(h, 'B1-A', { side: 'buy', price: '57.00', quantity: 100_001, to: 'S1-A' }), 'POSITION_CAP_EXCEEDED');
  const id = blockIdOf(propose(h, 'B1-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' })); // exactly 150,000
  // The open block buy counts: one listed tonne more is over the cap.
  expectReject(t, h, () => h.order('B1-A', { symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 1 }), 'POSITION_CAP_EXCEEDED');
  // The cap lowered to 149,999: the buyer's own proposal, which froze its cash, would take it past
  // the cap, so it is withdrawn at once and what it froze released.
  const lowered = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B1-A', quantity: 149_999, reason: 'tighter' }));
  t.match(lowered.events, [{ type: 'limit' }, { type: 'block', blockId: id, status: 'withdrawn', reason: 'position_cap', reasonAccountId: 'B1-A' }]);
  t.same(side(h, 'B1-A'), expectSide({ cash: '20000000.00', available: 50_000 }), 'the proposal\'s cash is free again');
  expectReject(t, h, () => accept(h, 'S1-A', id), 'BLOCK_NOT_OPEN');
  ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B1-A', quantity: 150_000, reason: 'back' }));
  // At execution: a proposal the buyer did not freeze for (the seller's) is checked when it is confirmed.
  const again = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B1-A', quantity: 149_999, reason: 'tighter' }));
  const both = sides(h, ['S1-A', 'B1-A']);
  expectReject(t, h, () => accept(h, 'B1-A', again), 'POSITION_CAP_EXCEEDED');
  t.same(sides(h, ['S1-A', 'B1-A']), both, 'both sides as they were');
  ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B1-A', quantity: 150_000, reason: 'back' }));
  ok(accept(h, 'B1-A', again));
  t.same(side(h, 'B1-A'), expectSide({ cash: '14300000.00', available: 50_000, pending: 100_000 }));
  // After the trade, the pending block purchase counts: holding 150,000 = cap.
  expectReject(t, h, () => h.order('B1-A', { symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 1 }), 'POSITION_CAP_EXCEEDED');

  // The accepting buyer's cap is checked too.
  const id2 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B2-A' }));
  ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'B2-A', quantity: 99_999, reason: 'test cap' }));
  expectReject(t, h, () => accept(h, 'B2-A', id2), 'POSITION_CAP_EXCEEDED');
  // And a counter by a capped buyer.
  expectReject(t, h, () => counter(h, 'B2-A', id2, '56.00', 100_000), 'POSITION_CAP_EXCEEDED');
});

t.test('restrictions at proposal, counter and execution, on either side', async (t) => {
  const h = desk();
  ok(h.risk({ type: 'restrictAccount', accountId: 'S1-A', restriction: 'no_sell', reason: 'inquiry' }));
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }), 'ACCOUNT_RESTRICTED', /no_sell/);
  ok(h.risk({ type: 'restrictAccount', accountId: 'S1-A', restriction: 'none', reason: 'cleared' }));
  ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'frozen', reason: 'court order' }));
  expectReject(t, h, () => propose(h, 'B1-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }), 'ACCOUNT_RESTRICTED');
  ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'no_sell', reason: 'no selling' }));
  // no_sell does not stop buying.
  ok(withdraw(h, 'B1', blockIdOf(propose(h, 'B1-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }))));
  ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'none', reason: 'cleared' }));

  // Restricted after the proposal, on the side it would trade: the negotiation ends at once
  // (withdrawn, account_restricted), whoever set the terms, and what it froze is released.
  const cases: [string, 'no_buy' | 'no_sell' | 'frozen', boolean][] = [['B1-A', 'no_buy', false], ['S1-A', 'no_sell', false], ['B1-A', 'frozen', true], ['S1-A', 'frozen', true]];
  for (const [who, restriction, buyerCountered] of cases) {
    const before = sides(h, ['S1-A', 'B1-A']);
    const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
    if (buyerCountered) ok(counter(h, 'B1-A', id, '56.90', 100_000));
    const r = ok(h.risk({ type: 'restrictAccount', accountId: who, restriction, reason: 'inquiry' }));
    t.match(blocksOf(r), [{ blockId: id, status: 'withdrawn', reason: 'account_restricted', reasonAccountId: who }], `${who} ${restriction}: the block is withdrawn, naming whose control`);
    t.same(sides(h, ['S1-A', 'B1-A']), before, `${who} ${restriction}: nothing stays frozen for it`);
    expectReject(t, h, () => accept(h, buyerCountered ? 'S1-A' : 'B1-A', id), 'BLOCK_NOT_OPEN');
    ok(h.risk({ type: 'restrictAccount', accountId: who, restriction: 'none', reason: 'cleared' }));
  }
  // An open proposal is nobody's but the proposer's until accepted: a restricted taker is refused then.
  const open = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.10', quantity: 100_000, to: null }));
  ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'no_buy', reason: 'inquiry' }));
  const both = sides(h, ['S1-A', 'B1-A']);
  expectReject(t, h, () => accept(h, 'B1-A', open), 'ACCOUNT_RESTRICTED', /no_buy/);
  t.same(sides(h, ['S1-A', 'B1-A']), both, 'both sides as they were');
  ok(withdraw(h, 'S1', open));
  ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'none', reason: 'cleared' }));
  // The other side's restriction leaves it open: a seller restricted from buying still sells.
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  t.same(blocksOf(ok(h.risk({ type: 'restrictAccount', accountId: 'S1-A', restriction: 'no_buy', reason: 'inquiry' }))), [], 'no_buy leaves a proposal to sell open');
  ok(counter(h, 'B1-A', id, '56.90', 100_000));
  ok(accept(h, 'S1-A', id));
  t.same(side(h, 'B1-A'), expectSide({ cash: '14310000.00', pending: 100_000 }), '20,000,000.00 − 56.90 × 100,000 = 14,310,000.00');
});

t.test('a risk officer\'s cancel-all withdraws every negotiation the account is party to, and only those', async (t) => {
  const h = desk();
  h.open('S2-A', { holdings: { CEA24: 300_000 } });
  const before = sides(h, ['S1-A', 'S2-A', 'B1-A', 'B2-A']);
  const mine = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' })); // S1-A's terms, its tonnes frozen
  const theirs = blockIdOf(propose(h, 'B2-A', { side: 'buy', price: '56.00', quantity: 100_000, to: 'S1-A' })); // B2-A's terms, to S1-A
  const countered = blockIdOf(propose(h, 'B1-A', { side: 'buy', price: '55.00', quantity: 100_000, to: 'S1-A' }));
  ok(counter(h, 'S1-A', countered, '56.50', 100_000)); // now S1-A's terms: more of its tonnes frozen
  const open = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '58.00', quantity: 100_000, to: null })); // open to anyone
  const other = blockIdOf(propose(h, 'S2-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B2-A' }));
  t.equal(side(h, 'S1-A').frozen, 300_000);

  const r = ok(h.risk({ type: 'cancelAll', accountId: 'S1-A', reason: 'member in default' }));
  t.same(blocksOf(r).map((e) => [e.blockId, e.status, e.reason, e.reasonAccountId]), [
    [mine, 'withdrawn', 'cancelled_by_risk', 'S1-A'], [theirs, 'withdrawn', 'cancelled_by_risk', 'S1-A'],
    [countered, 'withdrawn', 'cancelled_by_risk', 'S1-A'], [open, 'withdrawn', 'cancelled_by_risk', 'S1-A'],
  ], 'in block id order, each naming whose control');
  t.same(side(h, 'S1-A'), before['S1-A'], 'S1-A has all its tonnes back');
  t.same(side(h, 'B2-A'), before['B2-A'], 'B2-A\'s freeze for its proposal to S1-A is released');
  t.same(sides(h, ['B1-A']), { 'B1-A': before['B1-A'] });
  expectReject(t, h, () => accept(h, 'B1-A', mine), 'BLOCK_NOT_OPEN');
  t.same([...h.engine.blocks.open.keys()], [other], 'S2-A\'s proposal to B2-A goes on');
  ok(accept(h, 'B2-A', other));
});

t.test('halts: an instrument or market halt stops proposals and acceptance; after resuming it trades', async (t) => {
  const h = desk();
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', status: 'halted', reason: 'technical' }));
  const both = sides(h, ['S1-A', 'B1-A']);
  expectReject(t, h, () => accept(h, 'B1-A', id), 'INSTRUMENT_HALTED');
  expectReject(t, h, () => counter(h, 'B1-A', id, '56.00', 100_000), 'INSTRUMENT_HALTED');
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B2-A' }), 'INSTRUMENT_HALTED');
  t.same(sides(h, ['S1-A', 'B1-A']), both, 'both sides as they were');
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', status: 'trading', reason: 'resumed' }));
  ok(h.risk({ type: 'haltMarket', reason: 'systems check' }));
  expectReject(t, h, () => accept(h, 'B1-A', id), 'MARKET_HALTED');
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B2-A' }), 'MARKET_HALTED');
  t.same(sides(h, ['S1-A', 'B1-A']), both);
  ok(h.risk({ type: 'resumeMarket', reason: 'done' }));
  ok(accept(h, 'B1-A', id));
  t.same(sides(h, ['S1-A', 'B1-A']), {
    'S1-A': expectSide({ cash: '5700000.00', available: 200_000 }),
    'B1-A': expectSide({ cash: '14300000.00', pending: 100_000 }),
  });
});

t.test('full funds and full holdings, at proposal and at execution', async (t) => {
  const h = desk();
  h.open('B3-A', { cash: '5700000.00' });
  h.open('B4-A', { cash: '5699999.99' });
  // 57.00 × 100,000 = 5,700,000.00 exactly.
  expectReject(t, h, () => propose(h, 'B4-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }), 'INSUFFICIENT_FUNDS');
  ok(propose(h, 'B3-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }));
  t.same(side(h, 'B3-A'), expectSide({ cashFrozen: '5700000.00', openBuy: 100_000 }));
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 300_001, to: 'B1-A' }), 'INSUFFICIENT_HOLDINGS');

  // Frozen tonnes cannot be sold twice: 200,000 of 300,000 in one proposal leave 100,000.
  const big = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 200_000, to: 'B1-A' }));
  expectReject(t, h, () => propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_001, to: 'B2-A' }), 'INSUFFICIENT_HOLDINGS');
  expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24', quantity: 100_001 }), 'INSUFFICIENT_HOLDINGS');
  ok(withdraw(h, 'S1', big));

  // At execution, the accepting buyer's cash went out: 20,000,000.00 − 14,300,000.01 leaves 5,699,999.99, a fen short.
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  ok(h.operator({ type: 'withdraw', accountId: 'B1-A', cash: fen('14300000.01') }));
  let both = sides(h, ['S1-A', 'B1-A']);
  expectReject(t, h, () => accept(h, 'B1-A', id), 'INSUFFICIENT_FUNDS');
  t.same(sides(h, ['S1-A', 'B1-A']), both, 'both sides as they were');
  ok(h.operator({ type: 'deposit', accountId: 'B1-A', cash: 1 }));
  ok(accept(h, 'B1-A', id));
  t.same(side(h, 'B1-A'), expectSide({ pending: 100_000 }), 'exactly 5,700,000.00 paid');

  // At execution, the accepting seller's tonnes went out (registry transfer): 200,000 − 100,001 = 99,999 left.
  const id2 = blockIdOf(propose(h, 'B2-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }));
  ok(h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24', quantity: 100_001 }));
  both = sides(h, ['S1-A', 'B2-A']);
  expectReject(t, h, () => accept(h, 'S1-A', id2), 'INSUFFICIENT_HOLDINGS');
  t.same(sides(h, ['S1-A', 'B2-A']), both);

  // The frozen cash of a block buy cannot be withdrawn: B2 has 20,000,000.00 − 5,700,000.00 free.
  expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'B2-A', cash: fen('14300000.01') }), 'INSUFFICIENT_FUNDS');
  ok(h.operator({ type: 'withdraw', accountId: 'B2-A', cash: fen('14300000.00') }));
  t.same(side(h, 'B2-A'), expectSide({ cashFrozen: '5700000.00', openBuy: 100_000 }));
});

// =====================================================================================================
// Statistics: blocks count in volume, turnover, caps, large holders, never in prices or K-lines
// =====================================================================================================

t.test('a block counts in volume and turnover, never in open/high/low/last, the close or the K-lines', async (t) => {
  const h = desk();
  const events = eventsOf(h);
  h.open('B3-A', { cash: '20000000.00' });
  // Listed: S1 sells 1,000 @ 57.50 to B1.
  ok(h.order('S1-A', { symbol: 'CEA24', side: 'sell', price: '57.50', quantity: 1000 }));
  ok(h.order('B1-A', { symbol: 'CEA24', side: 'buy', price: '57.50', quantity: 1000 }));
  // Block: 100,000 @ 60.00 (above every listed price), then 100,000 @ 45.00 (below).
  h.at(DATE, '10:05');
  ok(accept(h, 'B2-A', blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '60.00', quantity: 100_000, to: 'B2-A' }))));
  ok(accept(h, 'B3-A', blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '45.00', quantity: 100_000, to: 'B3-A' }))));
  // Listed: 500 @ 57.40.
  h.at(DATE, '10:10');
  ok(h.order('S1-A', { symbol: 'CEA24', side: 'sell', price: '57.40', quantity: 500 }));
  ok(h.order('B1-A', { symbol: 'CEA24', side: 'buy', price: '57.40', quantity: 500 }));

  // Listed 1,500 t: 57.50 × 1,000 + 57.40 × 500 = 57,500.00 + 28,700.00 = 86,200.00; VWAP 86,200.00 / 1,500 = 57.4666… → 57.47.
  // Blocks 200,000 t: 6,000,000.00 + 4,500,000.00 = 10,500,000.00.
  const tk = h.engine.ticker('CEA24')!;
  t.match(tk, {
    prevClose: 5746, open: 5750, high: 5750, low: 5740, last: 5740, vwap: 5747,
    listedVolume: 1500, listedTurnover: fen('86200.00'), blockVolume: 200_000, blockTurnover: fen('10500000.00'),
    volume: 201_500, turnover: fen('10586200.00'), trades: 4,
  });
  // change from the last listed price: (57.40 − 57.46) / 57.46 = −0.1044 % → −10 hundredths.
  t.equal(tk.changeHundredths, -10);

  // K-lines: only the listed trades make bars.
  const k = new Klines();
  for (const e of events) if (e.type === 'trade') k.onTrade(e as TradeEvent);
  const bars = k.get('CEA24', '1m');
  t.same(bars.map((b) => [b.open, b.high, b.low, b.close, b.volume, b.turnover]), [
    [5750, 5750, 5750, 5750, 1000, fen('57500.00')],
    [5740, 5740, 5740, 5740, 500, fen('28700.00')],
  ], 'the 10:00 and 10:10 bars; the 10:05 minute of the blocks has no bar');
  t.same(k.get('CEA24', '1d').map((b) => [b.open, b.high, b.low, b.close, b.volume]), [[5750, 5750, 5740, 5740, 1500]]);
  const blockTrade = (events.find((e) => e.type === 'trade' && (e as TradeEvent).mode === 'block') as TradeEvent);
  t.same(k.onTrade(blockTrade), [], 'a block trade changes no bar');

  // End of day: close = VWAP of listed trades only, 57.47.
  const r = eod(h);
  const e = eodEvent(r);
  t.match(e.instruments, [{
    symbol: 'CEA24', prevClose: 5746, open: 5750, high: 5750, low: 5740, last: 5740, close: 5747,
    listedVolume: 1500, listedTurnover: fen('86200.00'), blockVolume: 200_000, blockTurnover: fen('10500000.00'), trades: 4,
    cumulativeVolume: 201_500, cumulativeTurnover: fen('10586200.00'),
  }]);
  t.equal(h.engine.instrument('CEA24')!.referencePrice, 5747, 'tomorrow\'s reference is the listed VWAP');
  const report = settle(events, e, null);
  // Average over every trade: 10,586,200.00 / 201,500 = 52.5369… → 52.54; change (57.47 − 57.46) / 57.46 = 0.0174 % → 0.02.
  t.match(report.market, [{
    open: '57.50', high: '57.50', low: '57.40', close: '57.47', changePct: '0.02', average: '52.54', totalVolume: 201_500,
    totalTurnover: '10586200.00', listedVolume: 1500, listedTurnover: '86200.00', blockVolume: 200_000, blockTurnover: '10500000.00',
  }]);
});

t.test('a day of blocks only: open and close are the previous close, no high, low or last', async (t) => {
  const h = desk();
  const events = eventsOf(h);
  ok(accept(h, 'B1-A', blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '70.00', quantity: 100_000, to: 'B1-A' }))));
  t.match(h.engine.ticker('CEA24'), { open: null, high: null, low: null, last: null, vwap: null, changeHundredths: 0, blockVolume: 100_000, listedVolume: 0, volume: 100_000 });
  const e = eodEvent(eod(h));
  t.match(e.instruments, [{ prevClose: 5746, open: 5746, high: null, low: null, last: null, close: 5746, blockVolume: 100_000 }]);
  t.match(h.engine.instrument('CEA24'), { referencePrice: 5746, bandLow: 5171, bandHigh: 6321 }, 'the bands do not move');
  // 70.00 × 100,000 = 7,000,000.00; average 70.00; change 0.00.
  t.match(settle(events, e, null).market, [{ open: '57.46', high: null, low: null, close: '57.46', changePct: '0.00', average: '70.00', totalTurnover: '7000000.00' }]);
});

t.test('Guangdong thin-volume close counts listed tonnes only: blocks neither thicken nor move it', async (t) => {
  // GDEA listed at 30.00, 24-hour sessions for the test; close = open when the day's listed volume is ≤ 100 t.
  for (const [listed, close] of [[[60, 40], 3010], [[60, 41], 3026]] as const) {
    const h = new Harness({ tradingDate: DATE });
    h.list(allDay(loadProfile('gdea')), 'GDEA', '30.00');
    h.open('S1-A', { holdings: { GDEA: 200_000 } });
    h.open('B1-A', { cash: '5000000.00' });
    ok(h.order('S1-A', { symbol: 'GDEA', side: 'sell', price: '30.10', quantity: listed[0] }));
    ok(h.order('B1-A', { symbol: 'GDEA', side: 'buy', price: '30.10', quantity: listed[0] }));
    ok(h.order('S1-A', { symbol: 'GDEA', side: 'sell', price: '30.50', quantity: listed[1] }));
    ok(h.order('B1-A', { symbol: 'GDEA', side: 'buy', price: '30.50', quantity: listed[1] }));
    ok(accept(h, 'B1-A', blockIdOf(propose(h, 'S1-A', { symbol: 'GDEA', side: 'sell', price: '31.00', quantity: 10_000, to: 'B1-A' }))));
    const e = eodEvent(eod(h));
    // 100 t: close = open 30.10. 101 t: (30.10 × 60 + 30.50 × 41) / 101 = (1,806.00 + 1,250.50) / 101 = 30.2624 → 30.26.
    t.equal(e.instruments[0].close, close, `${listed[0] + listed[1]} t listed and a 10,000 t block: close ${close}`);
  }
});

t.test('a block purchase that crosses the large-holder threshold raises the alert', async (t) => {
  const h = desk();
  ok(h.operator({ type: 'deposit', accountId: 'B2-A', symbol: 'CEA24', quantity: 450_000 }));
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B2-A' }));
  const a = ok(accept(h, 'B2-A', id));
  const alerts = a.events.filter((e): e is LargeHolderEvent => e.type === 'largeHolder');
  // 450,000 + 100,000 = 550,000 > 500,000; due 3 trading days after Friday 2026-11-20 on an every-day calendar: 2026-11-23.
  t.same(alerts, [{
    type: 'largeHolder', seq: h.seq, time: h.time, accountId: 'B2-A', symbol: 'CEA24', holding: 550_000, threshold: 500_000, action: 'alert', dueDate: '2026-11-23',
  }]);
  t.match(h.engine.largeHolders(), [{ accountId: 'B2-A', holding: 550_000 }]);
  // An open block buy does not count as holding (only held tonnes do).
  const h2 = desk();
  ok(h2.operator({ type: 'deposit', accountId: 'B2-A', symbol: 'CEA24', quantity: 450_000 }));
  const p = ok(propose(h2, 'B2-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }));
  t.same(p.events.filter((e) => e.type === 'largeHolder'), []);
  const a2 = ok(accept(h2, 'S1-A', blockIdOf(p)));
  t.match(a2.events.filter((e) => e.type === 'largeHolder'), [{ accountId: 'B2-A', holding: 550_000 }], 'the trade with the buyer as terms-setter raises it too');
});

t.test('a refused block command changes nothing at all', async (t) => {
  const h = desk();
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }));
  expectReject(t, h, () => h.operator({ type: 'acceptBlock', blockId: id } as CommandBody), 'NOT_PERMITTED');
  expectReject(t, h, () => h.member('B1', { type: 'acceptBlock', blockId: 0 }), 'INVALID_COMMAND');
  expectReject(t, h, () => h.member('S1', { type: 'proposeBlock', accountId: 'S1-A', symbol: 'CEA24', side: 'hold' as 'buy', price: 5700, quantity: 100_000 }), 'INVALID_COMMAND');
  expectReject(t, h, () => propose(h, 'S1-A', { symbol: 'NOPE', side: 'sell', price: '57.00', quantity: 100_000, to: 'B1-A' }), 'UNKNOWN_INSTRUMENT');
  t.same(rejected(propose(h, 'B1-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'B1-A' })).code, 'SELF_TRADE');
});

t.test('between two accounts of one member, the member withdraws its own terms and refuses the other\'s', async (t) => {
  // withdrawBlock and rejectBlock name no account: the member's party must follow from the verb,
  // "the party that set its terms withdraws it; the party the block waits for refuses it".
  const h = desk();
  h.open('S1-B', { member: 'S1', cash: '20000000.00' });
  const id = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'S1-B' }));
  const w = withdraw(h, 'S1', id);
  t.ok(w.ok, `S1 withdraws the proposal S1-A made (got ${w.ok ? 'ok' : `${w.code}: ${w.message}`})`);
  if (w.ok) t.match(blocksOf(w), [{ blockId: id, status: 'withdrawn', termsBy: 'S1-A' }]);
  t.same(side(h, 'S1-A'), expectSide({ available: 300_000 }), 'S1-A\'s tonnes are released');

  const id2 = blockIdOf(propose(h, 'S1-A', { side: 'sell', price: '57.00', quantity: 100_000, to: 'S1-B' }));
  const r = ok(refuse(h, 'S1', id2));
  t.match(blocksOf(r), [{ blockId: id2, status: 'rejected' }], 'refusing is for the awaited S1-B');
});
