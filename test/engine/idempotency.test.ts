// Client order ids: a member retrying an order (after a timeout, say) must not place it twice. The
// same clientOrderId with the same terms answers with the original order and changes nothing; with
// other terms it is refused; the id is per account. Block proposals, auction openings and auction
// bids take one too, from the same set: one id names one request of an account a day.
import t from 'tap';
import { Engine, type Result } from '../../engine/index.ts';
import { Harness, fen, ok, ordersOf, tradesOf } from '../support/harness.ts';
import { expectReject, funds, national, position, stateWithoutClock } from './fixtures.ts';

const CASH = fen('1000000.00');
const id = (r: Result) => ok(r).orderId as number;

function market(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '57.46');
  h.open('B1-A', { cash: '1000000.00' });
  h.open('B2-A', { cash: '1000000.00' });
  h.open('S1-A', { holdings: { CEA24: 1000 } });
  return h;
}

type Fields = Parameters<Harness['order']>[1];
const bid = (more: Partial<Fields> = {}): Fields => ({ symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 100, clientOrderId: 'c-1', ...more });

t.test('the same clientOrderId with the same terms answers with the original order and does nothing', async (t) => {
  const h = market();
  const first = h.order('B1-A', bid());
  const original = id(first);
  t.match(ordersOf(ok(first).events), [{ orderId: original, clientOrderId: 'c-1', status: 'new' }]);
  const before = stateWithoutClock(h.engine);
  const again = h.order('B1-A', bid());
  t.same(again, { ok: true, events: [], orderId: original, duplicate: true });
  t.equal(stateWithoutClock(h.engine), before, 'no state change');
  t.same(funds(h, 'B1-A'), { cash: CASH - 570_000, cashFrozen: 570_000 }, 'frozen once');
  t.equal(h.engine.ordersOf('B1-A').length, 1);
  t.equal(first.ok && first.duplicate, undefined, 'the first answer is not marked duplicate');
});

t.test('a duplicate leaves engine.stateHash() unchanged', async (t) => {
  const h = market();
  ok(h.order('B1-A', bid()));
  const before = h.engine.stateHash();
  ok(h.order('B1-A', bid()));
  t.equal(h.engine.stateHash(), before, 'stateHash() after the duplicate equals stateHash() before it');
});

t.test('a retry after the original filled or was cancelled still answers with the original order', async (t) => {
  const h = market();
  ok(h.order('S1-A', { symbol: 'CEA24', side: 'sell', price: '57.00', quantity: 100 }));
  const filled = h.order('B1-A', bid());
  t.equal(tradesOf(ok(filled).events).length, 1);
  const again = ok(h.order('B1-A', bid()));
  t.same(again, { ok: true, events: [], orderId: id(filled), duplicate: true }, 'no second trade, no second order');
  t.same(funds(h, 'B1-A'), { cash: CASH - 570_000, cashFrozen: 0 });

  const resting = id(h.order('B1-A', bid({ clientOrderId: 'c-2' })));
  ok(h.cancel('B1-A', resting));
  t.same(ok(h.order('B1-A', bid({ clientOrderId: 'c-2' }))), { ok: true, events: [], orderId: resting, duplicate: true });
  t.same(h.engine.ordersOf('B1-A'), [], 'the cancelled order is not placed again');
});

t.test('a retry during a halt still gets its original answer', async (t) => {
  const h = market();
  const original = id(h.order('B1-A', bid()));
  ok(h.risk({ type: 'haltMarket', reason: 'outage' }));
  t.same(ok(h.order('B1-A', bid())), { ok: true, events: [], orderId: original, duplicate: true });
  expectReject(t, h, () => h.order('B1-A', bid({ clientOrderId: 'c-9' })), 'MARKET_HALTED');
});

t.test('the same clientOrderId with other terms is CLIENT_ORDER_ID_REUSED', async (t) => {
  const h = market();
  const original = id(h.order('B1-A', bid()));
  for (const [what, change] of [
    ['price', { price: '57.01' }], ['quantity', { quantity: 101 }], ['side', { side: 'sell' as const }],
    ['time in force', { timeInForce: 'IOC' as const }], ['type', { type: 'market' as const, price: undefined }],
  ] as const) {
    const r = expectReject(t, h, () => h.order('B1-A', bid(change)), 'CLIENT_ORDER_ID_REUSED', `order ${original}`);
    t.ok(r !== null, `a different ${what}`);
  }
});

t.test('different accounts may use the same clientOrderId', async (t) => {
  const h = market();
  const one = id(h.order('B1-A', bid()));
  const two = h.order('B2-A', bid());
  t.not(id(two), one);
  t.equal(ok(two).duplicate, undefined);
  h.open('B1-B', { cash: '1000000.00' });
  const three = h.order('B1-B', bid());
  t.equal(ok(three).duplicate, undefined, 'even two accounts of the same member');
  t.equal(h.engine.allOpenOrders().length, 3);
});

t.test('a refused order does not use up its clientOrderId', async (t) => {
  const h = market();
  h.open('B3-A', { cash: '100.00' });
  expectReject(t, h, () => h.order('B3-A', bid()), 'INSUFFICIENT_FUNDS');
  ok(h.operator({ type: 'deposit', accountId: 'B3-A', cash: fen('10000.00') }));
  const r = ok(h.order('B3-A', bid()));
  t.equal(r.duplicate, undefined);
  t.match(ordersOf(r.events), [{ clientOrderId: 'c-1', status: 'new' }]);
});

t.test('a malformed clientOrderId is INVALID_COMMAND', async (t) => {
  const h = market();
  for (const clientOrderId of ['has space', '', 'x'.repeat(65), 'tab\there', '订单1']) {
    expectReject(t, h, () => h.order('B1-A', bid({ clientOrderId })), 'INVALID_COMMAND', 'clientOrderId');
  }
  ok(h.order('B1-A', bid({ clientOrderId: 'x'.repeat(64) })));
});

// ---------------------------------------------------------------- block proposals, auctions and bids

/** CEA24 at 60.00 with an auction offer: S1-A holds 300,000 t, B1-A and B2-A have cash. */
function desk(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '60.00');
  h.open('S1-A', { cash: '1000000.00', holdings: { CEA24: 300_000 } });
  for (const a of ['B1-A', 'B2-A']) h.open(a, { cash: '20000000.00' });
  return h;
}
const proposal = (more: Record<string, unknown> = {}) => ({
  type: 'proposeBlock' as const, accountId: 'S1-A', symbol: 'CEA24', side: 'sell' as const, price: fen('60.00'), quantity: 100_000, clientOrderId: 'k-1', ...more,
});
const auction = (more: Record<string, unknown> = {}) => ({
  type: 'openAuction' as const, accountId: 'S1-A', symbol: 'CEA24', side: 'sell' as const, quantity: 100_000, pricing: 'uniform' as const, clientOrderId: 'k-1', ...more,
});
const auctionBid = (auctionId: number, more: Record<string, unknown> = {}) => ({
  type: 'bidAuction' as const, auctionId, accountId: 'B1-A', price: fen('61.00'), quantity: 50_000, clientOrderId: 'k-1', ...more,
});

t.test('a repeated block proposal answers the first one and freezes nothing more', async (t) => {
  const h = desk();
  const first = ok(h.member('S1', proposal()));
  const blockId = first.blockId as number;
  t.equal(first.duplicate, undefined);
  const before = stateWithoutClock(h.engine);
  t.same(h.member('S1', proposal()), { ok: true, events: [], blockId, duplicate: true });
  t.equal(stateWithoutClock(h.engine), before, 'no state change');
  t.same(position(h, 'S1-A', 'CEA24'), { available: 200_000, frozen: 100_000, pending: 0, openBuy: 0 }, 'frozen once');
  expectReject(t, h, () => h.member('S1', proposal({ price: fen('60.01') })), 'CLIENT_ORDER_ID_REUSED', `block proposal ${blockId} with other terms`);
  expectReject(t, h, () => h.member('S1', proposal({ counterpartyAccountId: 'B1-A' })), 'CLIENT_ORDER_ID_REUSED', 'with other terms');
  // Once it executed, a retry still answers it: no second proposal, no second trade.
  ok(h.member('B1', { type: 'acceptBlock', blockId, accountId: 'B1-A' }));
  t.same(h.member('S1', proposal()), { ok: true, events: [], blockId, duplicate: true });
  t.same(position(h, 'S1-A', 'CEA24'), { available: 200_000, frozen: 0, pending: 0, openBuy: 0 });
  t.equal(h.engine.blocks.open.size, 0);
});

t.test('a repeated auction opening answers the first auction; the reserve compares as a number', async (t) => {
  const h = desk();
  const auctionId = ok(h.member('S1', auction())).auctionId as number;
  const before = stateWithoutClock(h.engine);
  for (const reservePct of [undefined, null, '0', '0.00']) {
    t.same(h.member('S1', auction({ reservePct })), { ok: true, events: [], auctionId, duplicate: true }, `reservePct ${reservePct}`);
  }
  t.equal(stateWithoutClock(h.engine), before, 'no state change');
  t.equal(h.engine.auctions.open.size, 1, 'one auction');
  for (const change of [{ reservePct: '10' }, { quantity: 100_001 }, { pricing: 'pay_as_bid' }]) {
    expectReject(t, h, () => h.member('S1', auction(change)), 'CLIENT_ORDER_ID_REUSED', `auction ${auctionId} with other terms`);
  }
  // A refused opening does not take the id: a new one with it is a new auction.
  expectReject(t, h, () => h.member('S1', auction({ clientOrderId: 'k-2', quantity: 300_000 })), 'INSUFFICIENT_HOLDINGS');
  const second = ok(h.member('S1', auction({ clientOrderId: 'k-2', quantity: 200_000 })));
  t.equal(second.duplicate, undefined);
  t.not(second.auctionId, auctionId);
});

t.test('a repeated bid answers the first bid, even after the auction closed', async (t) => {
  const h = desk();
  const auctionId = ok(h.member('S1', auction())).auctionId as number;
  const bidId = ok(h.member('B1', auctionBid(auctionId))).bidId as number;
  const frozen = funds(h, 'B1-A');
  t.same(h.member('B1', auctionBid(auctionId)), { ok: true, events: [], bidId, duplicate: true });
  t.same(funds(h, 'B1-A'), frozen, 'frozen once');
  expectReject(t, h, () => h.member('B1', auctionBid(auctionId, { price: fen('61.01') })), 'CLIENT_ORDER_ID_REUSED', `auction bid ${bidId} with other terms`);
  // Another account may use the same id: it is per account.
  t.equal(ok(h.member('B2', auctionBid(auctionId, { accountId: 'B2-A' }))).duplicate, undefined);
  const closed = ok(h.operator({ type: 'closeAuction', auctionId }));
  t.equal(tradesOf(closed.events).length, 2);
  t.same(h.member('B1', auctionBid(auctionId)), { ok: true, events: [], bidId, duplicate: true }, 'the closed auction does not turn a retry into AUCTION_NOT_OPEN');
  expectReject(t, h, () => h.member('B1', auctionBid(auctionId, { clientOrderId: 'k-2' })), 'AUCTION_NOT_OPEN');
});

t.test('one clientOrderId names one request of an account a day, whatever its kind', async (t) => {
  const h = desk();
  const blockId = ok(h.member('S1', proposal())).blockId as number;
  expectReject(t, h, () => h.member('S1', auction()), 'CLIENT_ORDER_ID_REUSED', `block proposal ${blockId}, not for a new auction`);
  expectReject(t, h, () => h.order('S1-A', { symbol: 'CEA24', side: 'sell', price: '60.00', quantity: 100, clientOrderId: 'k-1' }), 'CLIENT_ORDER_ID_REUSED', 'not for a new order');
  const orderId = id(h.order('B1-A', { symbol: 'CEA24', side: 'buy', price: '59.00', quantity: 100, clientOrderId: 'k-1' }));
  const auctionId = ok(h.member('S1', auction({ clientOrderId: 'k-2' }))).auctionId as number;
  expectReject(t, h, () => h.member('B1', auctionBid(auctionId)), 'CLIENT_ORDER_ID_REUSED', `order ${orderId}, not for a new auction bid`);
  expectReject(t, h, () => h.member('S1', auctionBid(auctionId, { accountId: 'S1-A', clientOrderId: 'k-2' })), 'CLIENT_ORDER_ID_REUSED', `auction ${auctionId}, not for a new auction bid`);
  expectReject(t, h, () => h.member('S1', proposal({ clientOrderId: 'bad id' })), 'INVALID_COMMAND', 'clientOrderId');
});

t.test('the ids survive a snapshot and are forgotten at the end of the day', async (t) => {
  const h = desk();
  const blockId = ok(h.member('S1', proposal())).blockId as number;
  const auctionId = ok(h.member('S1', auction({ clientOrderId: 'k-2' }))).auctionId as number;
  const bidId = ok(h.member('B1', auctionBid(auctionId))).bidId as number;
  const restored = Engine.restore(JSON.parse(JSON.stringify(h.engine.snapshot())));
  t.equal(restored.stateHash(), h.engine.stateHash());
  const again = (body: Record<string, unknown> & { type: string }, member: string) =>
    restored.apply({ ...body, seq: ++h.seq, time: h.time, actor: { role: 'member', id: member } } as never);
  t.same(again(proposal(), 'S1'), { ok: true, events: [], blockId, duplicate: true });
  t.same(again(auction({ clientOrderId: 'k-2' }), 'S1'), { ok: true, events: [], auctionId, duplicate: true });
  t.same(again(auctionBid(auctionId), 'B1'), { ok: true, events: [], bidId, duplicate: true });

  ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
  h.at('2026-11-21', '10:00');
  const fresh = ok(h.member('S1', proposal()));
  t.equal(fresh.duplicate, undefined, 'a new day: the same id is a new proposal');
  t.not(fresh.blockId, blockId);
});

t.test('a repeated counter to an open proposal answers the first reply instead of opening another', async (t) => {
  const h = desk();
  const open = ok(h.member('S1', proposal({ clientOrderId: null }))).blockId as number;
  const counter = (more: Record<string, unknown> = {}) =>
    h.member('B1', { type: 'counterBlock', blockId: open, accountId: 'B1-A', price: fen('59.00'), quantity: 100_000, clientOrderId: 'c-1', ...more });
  const reply = ok(counter()).blockId as number;
  t.not(reply, open, 'a reply of its own');
  const frozen = funds(h, 'B1-A');
  t.same(counter(), { ok: true, events: [], blockId: reply, duplicate: true });
  t.same(funds(h, 'B1-A'), frozen, 'frozen once');
  t.equal(h.engine.blocks.open.size, 2, 'the open proposal and one reply');
  expectReject(t, h, () => counter({ price: fen('59.50') }), 'CLIENT_ORDER_ID_REUSED', `a block counter (block ${reply}) with other terms`);
  expectReject(t, h, () => h.member('B1', proposal({ accountId: 'B1-A', side: 'buy', clientOrderId: 'c-1' })), 'CLIENT_ORDER_ID_REUSED',
    `a block counter (block ${reply}), not for a new block proposal`);
  // Without the account named, the member's only account is the one whose id it is.
  t.same(counter({ accountId: null }), { ok: true, events: [], blockId: reply, duplicate: true });
  // The proposer confirms the reply: both end. A retry still finds the reply.
  ok(h.member('S1', { type: 'acceptBlock', blockId: reply, accountId: 'S1-A' }));
  t.same(counter(), { ok: true, events: [], blockId: reply, duplicate: true });
  t.same(counter({ accountId: null }), { ok: true, events: [], blockId: reply, duplicate: true });
  // A counter within a negotiation: a repeat answers the block it changed.
  const named = ok(h.member('S1', proposal({ clientOrderId: 'k-3', counterpartyAccountId: 'B2-A', quantity: 100_000 }))).blockId as number;
  const moved = ok(h.member('B2', { type: 'counterBlock', blockId: named, accountId: 'B2-A', price: fen('59.90'), quantity: 100_000, clientOrderId: 'c-1' }));
  t.equal(moved.blockId, named);
  t.same(h.member('B2', { type: 'counterBlock', blockId: named, accountId: 'B2-A', price: fen('59.90'), quantity: 100_000, clientOrderId: 'c-1' }),
    { ok: true, events: [], blockId: named, duplicate: true });
});

t.test('a counter retried between two accounts of one member is the same counter, never the other side\'s', async (t) => {
  const h = desk();
  h.open('S1-B', { member: 'S1', cash: '20000000.00' });
  const blockId = ok(h.member('S1', proposal({ clientOrderId: null, counterpartyAccountId: 'S1-B' }))).blockId as number;
  const counter = (accountId: string | null, price: string, clientOrderId: string) =>
    h.member('S1', { type: 'counterBlock', blockId, accountId, price: fen(price), quantity: 100_000, clientOrderId });
  expectReject(t, h, () => counter(null, '59.50', 'k'), 'ACCOUNT_REQUIRED', 'S1-A, S1-B');
  ok(counter('S1-B', '59.50', 'k'));
  ok(counter('S1-A', '59.90', 'j'));
  ok(counter('S1-B', '59.70', 'm'));
  const before = stateWithoutClock(h.engine);
  t.same(counter('S1-B', '59.50', 'k'), { ok: true, events: [], blockId, duplicate: true }, 'the retry of the first counter');
  t.equal(stateWithoutClock(h.engine), before, 'the terms stand: 59.70 by S1-B');
  t.match(h.engine.blocks.open.get(blockId), { price: fen('59.70') });
  // A counter naming another member's account on a block between others says nothing of the block.
  h.open('X1-A', { member: 'X1', cash: '100.00' });
  expectReject(t, h, () => h.member('X1', { type: 'counterBlock', blockId, accountId: 'S1-A', price: fen('59.00'), quantity: 100_000, clientOrderId: 'z' }), 'UNKNOWN_BLOCK');
});
