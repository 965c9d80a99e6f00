// Listed trading (挂牌), MARKET-RULES section 2: price-time priority, fills at the resting order's
// price, DAY / IOC / FOK, market orders within the best five levels, picks (点选), the largest single
// order, modify and cancel, and self-trade prevention. Every test runs on the fast ladder book and on
// the plain reference book; both must give the same trades and the same book.
import t from 'tap';
import { ladderBook, referenceBook, type BookFactory, type Result } from '../../engine/index.ts';
import { Harness, fen, ok, ordersOf, tradesOf } from '../support/harness.ts';
import { expectReject, funds, guangdong, national, position } from './fixtures.ts';

const BOOKS: [string, BookFactory][] = [['ladder', ladderBook], ['reference', referenceBook]];
const CASH = fen('1000000.00');
const TONNES = 10_000;

/**
 * CEA24 listed at 57.46 (band 51.71–63.21), fees zero. Sellers S1–S3 hold 10,000 t each, buyers
 * B1–B3 have 1,000,000.00 each, and X1-A has both (for self-trade cases).
 */
function market(bookFactory: BookFactory): Harness {
  const h = new Harness({ tradingDate: '2026-11-20', bookFactory });
  h.list(national(), 'CEA24', '57.46');
  for (const id of ['S1-A', 'S2-A', 'S3-A']) h.open(id, { holdings: { CEA24: TONNES } });
  for (const id of ['B1-A', 'B2-A', 'B3-A']) h.open(id, { cash: '1000000.00' });
  h.open('X1-A', { cash: '1000000.00', holdings: { CEA24: TONNES } });
  return h;
}

type Fields = Parameters<Harness['order']>[1];
const buy = (price: string, quantity: number, more: Partial<Fields> = {}): Fields => ({ symbol: 'CEA24', side: 'buy', price, quantity, ...more });
const sell = (price: string, quantity: number, more: Partial<Fields> = {}): Fields => ({ symbol: 'CEA24', side: 'sell', price, quantity, ...more });
const marketBuy = (quantity: number): Fields => ({ symbol: 'CEA24', side: 'buy', type: 'market', quantity });
const marketSell = (quantity: number): Fields => ({ symbol: 'CEA24', side: 'sell', type: 'market', quantity });
const pickBuy = (targetOrderId: number, quantity: number): Fields => ({ symbol: 'CEA24', side: 'buy', type: 'pick', targetOrderId, quantity });
const pickSell = (targetOrderId: number, quantity: number): Fields => ({ symbol: 'CEA24', side: 'sell', type: 'pick', targetOrderId, quantity });

/** The trades of a result as [price, quantity, buyOrderId, sellOrderId]. */
const fills = (r: Result) => (r.ok ? tradesOf(r.events).map((e) => [e.price, e.quantity, e.buyOrderId, e.sellOrderId]) : []);
/** The event the command gave about its own order. */
const own = (r: Result) => (r.ok ? ordersOf(r.events).find((e) => e.orderId === r.orderId) : undefined);
const id = (r: Result) => ok(r).orderId as number;

for (const [bookName, bookFactory] of BOOKS) {
  t.test(`on the ${bookName} book`, async (t) => {
    t.test('price-time priority', async (t) => {
      t.test('a better price trades first, whatever arrived first', async (t) => {
        const h = market(bookFactory);
        const dear = id(h.order('S1-A', sell('57.60', 100)));
        const cheap = id(h.order('S2-A', sell('57.50', 100)));
        const r = h.order('B1-A', buy('57.60', 150));
        const taker = id(r);
        t.same(fills(r), [[5750, 100, taker, cheap], [5760, 50, taker, dear]]);
        t.match(tradesOf(ok(r).events), [
          { type: 'trade', mode: 'listed', symbol: 'CEA24', buyAccountId: 'B1-A', sellAccountId: 'S2-A', buyRemaining: 50, sellRemaining: 0, buyFee: 0, sellFee: 0, aggressor: 'buy' },
          { buyAccountId: 'B1-A', sellAccountId: 'S1-A', buyRemaining: 0, sellRemaining: 50, aggressor: 'buy' },
        ]);
        t.match(own(r), { status: 'filled', quantity: 150, filled: 150, filledNotional: 575_000 + 288_000, reason: null });
        t.same(funds(h, 'B1-A'), { cash: CASH - 863_000, cashFrozen: 0 }, 'paid 5750.00 + 2880.00; the 10.00 of price improvement is released');
        t.same(position(h, 'B1-A', 'CEA24'), { available: 0, frozen: 0, pending: 150, openBuy: 0 });
        t.same(funds(h, 'S2-A'), { cash: 575_000, cashFrozen: 0 });
        t.same(funds(h, 'S1-A'), { cash: 288_000, cashFrozen: 0 });
        t.same(position(h, 'S1-A', 'CEA24'), { available: TONNES - 100, frozen: 50, pending: 0, openBuy: 0 });
        t.match(h.engine.order(dear), { status: 'partially_filled', filled: 50, quantity: 100 });
        t.equal(h.engine.order(cheap), undefined, 'a filled order leaves the open orders');
        t.same(h.engine.depth('CEA24', 5), { bids: [], asks: [[5760, 50, 1]] });
      });

      t.test('at one price, the earlier order trades first', async (t) => {
        const h = market(bookFactory);
        const first = id(h.order('S1-A', sell('57.50', 100)));
        const second = id(h.order('S2-A', sell('57.50', 100)));
        const r = h.order('B1-A', buy('57.50', 100));
        t.same(fills(r), [[5750, 100, id(r), first]]);
        t.match(h.engine.order(second), { status: 'new', filled: 0 });
        t.same(h.engine.depth('CEA24', 5), { bids: [], asks: [[5750, 100, 1]] }, 'the level shows only what is left');
        const r2 = h.order('B2-A', buy('57.50', 150));
        t.same(fills(r2), [[5750, 100, id(r2), second]]);
        t.match(own(r2), { status: 'partially_filled', filled: 100 });
        t.same(h.engine.depth('CEA24', 5), { bids: [[5750, 50, 1]], asks: [] });
      });

      t.test('a level emptied by fills and filled again shows only its new orders', async (t) => {
        const h = market(bookFactory);
        id(h.order('S1-A', sell('57.50', 100)));
        id(h.order('S2-A', sell('57.50', 60)));
        ok(h.order('B1-A', buy('57.50', 130)));
        t.same(h.engine.depth('CEA24', 5)?.asks, [[5750, 30, 1]]);
        ok(h.order('B2-A', buy('57.50', 30)));
        t.same(h.engine.depth('CEA24', 5)?.asks, []);
        id(h.order('S3-A', sell('57.50', 20)));
        t.same(h.engine.depth('CEA24', 5)?.asks, [[5750, 20, 1]]);
      });
    });

    t.test('fills', async (t) => {
      t.test('a partial fill trades at the resting order\'s price and leaves the rest resting', async (t) => {
        const h = market(bookFactory);
        const maker = id(h.order('S1-A', sell('57.50', 100)));
        const r = h.order('B1-A', buy('57.70', 40));
        t.same(fills(r), [[5750, 40, id(r), maker]]);
        t.match(tradesOf(ok(r).events)[0], { buyRemaining: 0, sellRemaining: 60 });
        t.match(h.engine.order(maker), { status: 'partially_filled', filled: 40, filledNotional: 230_000 });
        t.same(funds(h, 'B1-A'), { cash: CASH - 230_000, cashFrozen: 0 });
        t.same(funds(h, 'S1-A'), { cash: 230_000, cashFrozen: 0 });
        t.same(h.engine.depth('CEA24', 5)?.asks, [[5750, 60, 1]]);
      });

      t.test('a sell that crosses a resting buy trades at the buy\'s price', async (t) => {
        const h = market(bookFactory);
        const maker = id(h.order('B1-A', buy('57.50', 100)));
        const r = h.order('S1-A', sell('57.00', 30));
        t.same(fills(r), [[5750, 30, maker, id(r)]]);
        t.match(tradesOf(ok(r).events)[0], { aggressor: 'sell', buyRemaining: 70, sellRemaining: 0 });
        t.same(funds(h, 'S1-A'), { cash: 172_500, cashFrozen: 0 });
        t.same(funds(h, 'B1-A'), { cash: CASH - 575_000, cashFrozen: 575_000 - 172_500 });
      });

      t.test('a limit DAY order that does not cross rests in the book', async (t) => {
        const h = market(bookFactory);
        const r = h.order('B1-A', buy('57.00', 100));
        t.match(own(r), { status: 'new', timeInForce: 'DAY', orderType: 'limit', price: 5700, quantity: 100, filled: 0 });
        t.equal(ok(r).events.length, 1);
        t.match(h.engine.order(id(r)), { status: 'new' });
        t.same(h.engine.depth('CEA24', 5), { bids: [[5700, 100, 1]], asks: [] });
        t.same(funds(h, 'B1-A'), { cash: CASH - 570_000, cashFrozen: 570_000 });
        t.equal(position(h, 'B1-A', 'CEA24').openBuy, 100);
      });

      t.test('a DAY order that crosses in part rests its remainder', async (t) => {
        const h = market(bookFactory);
        id(h.order('S1-A', sell('57.00', 30)));
        const r = h.order('B1-A', buy('57.00', 100));
        t.same(fills(r).map((f) => f[1]), [30]);
        t.match(own(r), { status: 'partially_filled', filled: 30 });
        t.same(h.engine.depth('CEA24', 5), { bids: [[5700, 70, 1]], asks: [] });
        t.same(funds(h, 'B1-A'), { cash: CASH - 570_000, cashFrozen: 399_000 });
        t.same(position(h, 'B1-A', 'CEA24'), { available: 0, frozen: 0, pending: 30, openBuy: 70 });
      });

      t.test('IOC: the remainder that cannot trade at once is cancelled', async (t) => {
        const h = market(bookFactory);
        id(h.order('S1-A', sell('57.50', 30)));
        const r = h.order('B1-A', buy('57.50', 100, { timeInForce: 'IOC' }));
        t.same(fills(r).map((f) => f[1]), [30]);
        t.match(own(r), { status: 'cancelled', reason: 'ioc_remainder', timeInForce: 'IOC', quantity: 100, filled: 30 });
        t.equal(h.engine.order(id(r)), undefined);
        t.same(h.engine.depth('CEA24', 5), { bids: [], asks: [] });
        t.same(funds(h, 'B1-A'), { cash: CASH - 172_500, cashFrozen: 0 });
        t.same(position(h, 'B1-A', 'CEA24'), { available: 0, frozen: 0, pending: 30, openBuy: 0 });
      });

      t.test('IOC with nothing to trade is cancelled whole', async (t) => {
        const h = market(bookFactory);
        const r = h.order('B1-A', buy('57.50', 100, { timeInForce: 'IOC' }));
        t.match(own(r), { status: 'cancelled', reason: 'ioc_remainder', filled: 0 });
        t.same(funds(h, 'B1-A'), { cash: CASH, cashFrozen: 0 });
      });

      t.test('FOK: all or nothing', async (t) => {
        const h = market(bookFactory);
        id(h.order('S1-A', sell('57.50', 30)));
        id(h.order('S2-A', sell('57.60', 50)));
        const tooMuch = h.order('B1-A', buy('57.60', 100, { timeInForce: 'FOK' }));
        t.same(fills(tooMuch), []);
        t.match(own(tooMuch), { status: 'cancelled', reason: 'fok_not_filled', filled: 0, timeInForce: 'FOK' });
        t.same(funds(h, 'B1-A'), { cash: CASH, cashFrozen: 0 });
        t.same(h.engine.depth('CEA24', 5)?.asks, [[5750, 30, 1], [5760, 50, 1]], 'the book is untouched');
        const tooLow = h.order('B1-A', buy('57.50', 80, { timeInForce: 'FOK' }));
        t.match(own(tooLow), { status: 'cancelled', reason: 'fok_not_filled', filled: 0 }, 'only 30 t are at or under 57.50');
        const whole = h.order('B1-A', buy('57.60', 80, { timeInForce: 'FOK' }));
        t.same(fills(whole).map((f) => [f[0], f[1]]), [[5750, 30], [5760, 50]]);
        t.match(own(whole), { status: 'filled', filled: 80 });
        t.same(funds(h, 'B1-A'), { cash: CASH - 172_500 - 288_000, cashFrozen: 0 });
      });
    });

    t.test('market orders', async (t) => {
      /** Six ask levels of 10 t each, 57.50 to 57.55, all from S1. */
      const sixLevels = (h: Harness) => ['57.50', '57.51', '57.52', '57.53', '57.54', '57.55'].map((p) => id(h.order('S1-A', sell(p, 10))));

      t.test('a market buy walks at most the best five levels and cancels the rest', async (t) => {
        const h = market(bookFactory);
        const asks = sixLevels(h);
        const r = h.order('B1-A', marketBuy(100));
        t.same(fills(r), [5750, 5751, 5752, 5753, 5754].map((p, i) => [p, 10, id(r), asks[i]]));
        t.match(own(r), { orderType: 'market', price: null, status: 'cancelled', reason: 'market_remainder', quantity: 100, filled: 50, filledNotional: 287_600 });
        t.match(h.engine.order(asks[5]), { status: 'new', filled: 0, price: 5755 }, 'the sixth level is never touched');
        t.same(h.engine.depth('CEA24', 5)?.asks, [[5755, 10, 1]]);
        t.same(funds(h, 'B1-A'), { cash: CASH - 287_600, cashFrozen: 0 });
        t.same(position(h, 'B1-A', 'CEA24'), { available: 0, frozen: 0, pending: 50, openBuy: 0 });
      });

      t.test('a market buy that the best levels can fill is filled', async (t) => {
        const h = market(bookFactory);
        sixLevels(h);
        const r = h.order('B1-A', marketBuy(25));
        t.same(fills(r).map((f) => [f[0], f[1]]), [[5750, 10], [5751, 10], [5752, 5]]);
        t.match(own(r), { status: 'filled', filled: 25, reason: null });
        t.same(funds(h, 'B1-A'), { cash: CASH - (57_500 + 57_510 + 28_760), cashFrozen: 0 });
      });

      t.test('a market sell takes the bids best first', async (t) => {
        const h = market(bookFactory);
        const high = id(h.order('B1-A', buy('57.00', 100)));
        const low = id(h.order('B2-A', buy('56.90', 50)));
        const r = h.order('S1-A', marketSell(120));
        t.same(fills(r), [[5700, 100, high, id(r)], [5690, 20, low, id(r)]]);
        t.match(own(r), { status: 'filled', side: 'sell', filled: 120 });
        t.same(funds(h, 'S1-A'), { cash: 570_000 + 113_800, cashFrozen: 0 });
        t.same(position(h, 'S1-A', 'CEA24'), { available: TONNES - 120, frozen: 0, pending: 0, openBuy: 0 });
      });

      t.test('a market order on an empty side is NO_LIQUIDITY', async (t) => {
        const h = market(bookFactory);
        expectReject(t, h, () => h.order('B1-A', marketBuy(10)), 'NO_LIQUIDITY', 'sell');
        expectReject(t, h, () => h.order('S1-A', marketSell(10)), 'NO_LIQUIDITY', 'buy');
      });

      t.test('a market buy must be covered at the deepest of the five levels', async (t) => {
        const h = market(bookFactory);
        sixLevels(h);
        h.open('B9-A', { cash: '575.39' });
        expectReject(t, h, () => h.order('B9-A', marketBuy(10)), 'INSUFFICIENT_FUNDS', '575.40');
        h.open('B8-A', { cash: '575.40' });
        const r = h.order('B8-A', marketBuy(10));
        t.same(fills(r).map((f) => [f[0], f[1]]), [[5750, 10]]);
        t.same(funds(h, 'B8-A'), { cash: 40, cashFrozen: 0 }, 'what it did not spend comes back');
      });

      t.test('a market order takes no price and no DAY time in force', async (t) => {
        const h = market(bookFactory);
        sixLevels(h);
        expectReject(t, h, () => h.order('B1-A', { ...marketBuy(10), price: '57.50' }), 'INVALID_COMMAND');
        expectReject(t, h, () => h.order('B1-A', { ...marketBuy(10), timeInForce: 'DAY' }), 'INVALID_COMMAND');
        expectReject(t, h, () => h.order('B1-A', buy('57.50', 10, { price: undefined })), 'PRICE_REQUIRED', 'limit');
      });
    });

    t.test('picks (点选)', async (t) => {
      t.test('a pick fills at the picked order\'s price, not at the best price', async (t) => {
        const h = market(bookFactory);
        const best = id(h.order('S1-A', sell('57.50', 100)));
        const picked = id(h.order('S2-A', sell('57.60', 50)));
        const r = h.order('B1-A', pickBuy(picked, 30));
        t.same(fills(r), [[5760, 30, id(r), picked]]);
        t.match(own(r), { orderType: 'pick', price: 5760, quantity: 30, filled: 30, status: 'filled' });
        t.match(h.engine.order(picked), { status: 'partially_filled', filled: 30 });
        t.match(h.engine.order(best), { status: 'new', filled: 0 });
        t.same(funds(h, 'B1-A'), { cash: CASH - 172_800, cashFrozen: 0 });
      });

      t.test('a pick takes what the picked order has; the rest of its quantity is cancelled', async (t) => {
        const h = market(bookFactory);
        const picked = id(h.order('S2-A', sell('57.60', 50)));
        const r = h.order('B1-A', pickBuy(picked, 80));
        t.same(fills(r), [[5760, 50, id(r), picked]]);
        t.match(tradesOf(ok(r).events)[0], { buyRemaining: 30, sellRemaining: 0 }, 'the fill leaves 30 t of the pick');
        t.match(own(r), { quantity: 80, filled: 50, status: 'cancelled', reason: 'pick_remainder' }, 'recorded as asked');
        t.equal(h.engine.order(picked), undefined);
        t.same(funds(h, 'B1-A'), { cash: CASH - 288_000, cashFrozen: 0 });
        t.same(position(h, 'B1-A', 'CEA24'), { available: 0, frozen: 0, pending: 50, openBuy: 0 });
      });

      t.test('a pick sell larger than the picked bid sells what the bid takes and keeps the rest', async (t) => {
        const h = market(bookFactory);
        const picked = id(h.order('B1-A', buy('57.00', 40)));
        // S9-A may sell 100 t while holding exactly the 40 t the bid takes: only those are reserved.
        h.open('S9-A', { holdings: { CEA24: 40 } });
        const r = h.order('S9-A', pickSell(picked, 100));
        t.same(fills(r), [[5700, 40, picked, id(r)]]);
        t.match(own(r), { quantity: 100, filled: 40, status: 'cancelled', reason: 'pick_remainder' });
        t.same(position(h, 'S9-A', 'CEA24'), { available: 0, frozen: 0, pending: 0, openBuy: 0 });
        t.equal(funds(h, 'S9-A').cashFrozen, 0);
      });

      t.test('a pick of exactly the picked order\'s quantity is filled', async (t) => {
        const h = market(bookFactory);
        const picked = id(h.order('S2-A', sell('57.60', 50)));
        const r = h.order('B1-A', pickBuy(picked, 50));
        t.match(own(r), { quantity: 50, filled: 50, status: 'filled', reason: null });
      });

      t.test('a pick must name an order within the best five levels of its side', async (t) => {
        const h = market(bookFactory);
        const asks = ['57.50', '57.51', '57.52', '57.53', '57.54', '57.55'].map((p) => id(h.order('S1-A', sell(p, 10))));
        // Deeper than the fifth level, the answer is the one for an id that is no order at all: it
        // tells nothing of the order (not its price).
        expectReject(t, h, () => h.order('B1-A', pickBuy(asks[5], 10)), 'PICK_TARGET_INVALID',
          new RegExp(`^a pick buy names a resting sell order of CEA24 within its best 5 sell levels \\(up to 57\\.54\\); ${asks[5]} is not one$`));
        expectReject(t, h, () => h.order('B1-A', pickBuy(99_999, 10)), 'PICK_TARGET_INVALID',
          /^a pick buy names a resting sell order of CEA24 within its best 5 sell levels \(up to 57\.54\); 99999 is not one$/);
        // Buy levels fall from the best bid.
        ['57.40', '57.30', '57.20', '57.10', '57.00', '56.90'].forEach((p) => id(h.order('B2-A', buy(p, 10))));
        expectReject(t, h, () => h.order('S1-A', pickSell(99_999, 10)), 'PICK_TARGET_INVALID',
          /^a pick sell names a resting buy order of CEA24 within its best 5 buy levels \(down to 57\.00\); 99999 is not one$/);
        const r = h.order('B1-A', pickBuy(asks[4], 10));
        t.same(fills(r), [[5754, 10, id(r), asks[4]]], 'the fifth level may be picked');
      });

      t.test('a pick sell takes the named bid at its price', async (t) => {
        const h = market(bookFactory);
        id(h.order('B2-A', buy('57.10', 100)));
        const picked = id(h.order('B1-A', buy('57.00', 100)));
        const r = h.order('S1-A', pickSell(picked, 100));
        t.same(fills(r), [[5700, 100, picked, id(r)]]);
        t.match(tradesOf(ok(r).events)[0], { aggressor: 'sell' });
        t.same(funds(h, 'S1-A'), { cash: 570_000, cashFrozen: 0 });
      });

      t.test('a pick must name a resting order of the other side', async (t) => {
        const h = market(bookFactory);
        const bid = id(h.order('B2-A', buy('57.00', 100)));
        const ask = id(h.order('S1-A', sell('57.50', 100)));
        expectReject(t, h, () => h.order('B1-A', pickBuy(bid, 10)), 'PICK_TARGET_INVALID', String(bid));
        expectReject(t, h, () => h.order('B1-A', pickBuy(9999, 10)), 'PICK_TARGET_INVALID');
        expectReject(t, h, () => h.order('B1-A', { symbol: 'CEA24', side: 'buy', type: 'pick', quantity: 10 }), 'PICK_TARGET_INVALID');
        ok(h.order('B3-A', buy('57.50', 100)));
        expectReject(t, h, () => h.order('B1-A', pickBuy(ask, 10)), 'PICK_TARGET_INVALID', undefined);
      });

      t.test('a pick of the account\'s own order is SELF_TRADE', async (t) => {
        const h = market(bookFactory);
        const mine = id(h.order('X1-A', sell('57.50', 100)));
        expectReject(t, h, () => h.order('X1-A', pickBuy(mine, 10)), 'SELF_TRADE', 'own');
      });

      t.test('a pick takes no price', async (t) => {
        const h = market(bookFactory);
        const ask = id(h.order('S1-A', sell('57.50', 100)));
        expectReject(t, h, () => h.order('B1-A', { ...pickBuy(ask, 10), price: '57.50' }), 'INVALID_COMMAND');
      });

      t.test('on a Guangdong-like venue a pick must take the whole resting quantity', async (t) => {
        const h = new Harness({ tradingDate: '2026-11-20', bookFactory });
        h.list(guangdong(), 'GDEA', '57.46');
        h.open('S1-A', { holdings: { GDEA: 1000 } });
        h.open('B1-A', { cash: '1000000.00' });
        const ask = id(h.order('S1-A', { symbol: 'GDEA', side: 'sell', price: '57.50', quantity: 50 }));
        const pick = (quantity: number) => h.order('B1-A', { symbol: 'GDEA', side: 'buy', type: 'pick', targetOrderId: ask, quantity });
        expectReject(t, h, () => pick(30), 'PICK_QUANTITY_MISMATCH', '50 t');
        expectReject(t, h, () => pick(60), 'PICK_QUANTITY_MISMATCH', '50 t');
        const r = pick(50);
        t.same(fills(r), [[5750, 50, id(r), ask]]);
      });
    });

    t.test('the largest single listed order', async (t) => {
      const h = market(bookFactory);
      h.open('BIG-A', { cash: '10000000.00', holdings: { CEA24: 200_000 } });
      const r = h.order('BIG-A', buy('57.00', 99_999));
      t.match(own(r), { status: 'new', quantity: 99_999 }, '99,999 t is accepted');
      expectReject(t, h, () => h.order('BIG-A', buy('57.00', 100_000)), 'ORDER_TOO_LARGE', '99999');
      expectReject(t, h, () => h.order('BIG-A', sell('58.00', 100_000)), 'ORDER_TOO_LARGE', '99999');
      expectReject(t, h, () => h.modify('BIG-A', id(r), { quantity: 100_000 }), 'ORDER_TOO_LARGE', '99999');
      expectReject(t, h, () => h.order('BIG-A', buy('57.00', 0)), 'INVALID_QUANTITY');
      expectReject(t, h, () => h.order('BIG-A', buy('57.00', 1.5)), 'INVALID_QUANTITY');
    });

    t.test('modify', async (t) => {
      t.test('reducing the quantity keeps time priority and releases the cash', async (t) => {
        const h = market(bookFactory);
        const first = id(h.order('B1-A', buy('57.00', 100)));
        const second = id(h.order('B2-A', buy('57.00', 100)));
        const m = h.modify('B1-A', first, { quantity: 60 });
        t.match(own(m), { orderId: first, quantity: 60, status: 'new' });
        t.same(funds(h, 'B1-A'), { cash: CASH - 342_000, cashFrozen: 342_000 });
        t.equal(position(h, 'B1-A', 'CEA24').openBuy, 60);
        t.same(h.engine.depth('CEA24', 5)?.bids, [[5700, 160, 2]]);
        const r = h.order('S1-A', sell('57.00', 60));
        t.same(fills(r), [[5700, 60, first, id(r)]]);
        t.match(h.engine.order(second), { status: 'new', filled: 0 });
        t.same(h.engine.depth('CEA24', 5)?.bids, [[5700, 100, 1]]);
      });

      t.test('a price change loses time priority', async (t) => {
        const h = market(bookFactory);
        const moved = id(h.order('B1-A', buy('57.01', 100)));
        const other = id(h.order('B2-A', buy('57.00', 100)));
        ok(h.modify('B1-A', moved, { price: '57.00' }));
        t.same(funds(h, 'B1-A'), { cash: CASH - 570_000, cashFrozen: 570_000 });
        const r = h.order('S1-A', sell('57.00', 100));
        t.same(fills(r), [[5700, 100, other, id(r)]], 'the order that kept its place trades first');
        t.match(h.engine.order(moved), { status: 'new', price: 5700 });
      });

      t.test('an increase loses time priority and freezes the difference', async (t) => {
        const h = market(bookFactory);
        const grown = id(h.order('B1-A', buy('57.00', 100)));
        const other = id(h.order('B2-A', buy('57.00', 100)));
        ok(h.modify('B1-A', grown, { quantity: 150 }));
        t.same(funds(h, 'B1-A'), { cash: CASH - 855_000, cashFrozen: 855_000 });
        t.equal(position(h, 'B1-A', 'CEA24').openBuy, 150);
        const r = h.order('S1-A', sell('57.00', 100));
        t.same(fills(r), [[5700, 100, other, id(r)]]);
        t.same(h.engine.depth('CEA24', 5)?.bids, [[5700, 150, 1]]);
      });

      t.test('a modification that crosses the book trades at once', async (t) => {
        const h = market(bookFactory);
        const ask = id(h.order('S1-A', sell('57.50', 100)));
        const bid = id(h.order('B1-A', buy('57.00', 100)));
        const m = h.modify('B1-A', bid, { price: '57.50' });
        t.same(fills(m), [[5750, 100, bid, ask]]);
        t.match(tradesOf(ok(m).events)[0], { aggressor: 'buy' });
        t.match(own(m), { orderId: bid, status: 'filled', filled: 100, price: 5750 });
        t.equal(h.engine.order(bid), undefined);
        t.same(funds(h, 'B1-A'), { cash: CASH - 575_000, cashFrozen: 0 });
        t.same(h.engine.depth('CEA24', 5), { bids: [], asks: [] });
      });

      t.test('a sell reduced releases its tonnes; an increase beyond what is available is refused', async (t) => {
        const h = market(bookFactory);
        const ask = id(h.order('S1-A', sell('57.50', 100)));
        ok(h.modify('S1-A', ask, { quantity: 40 }));
        t.same(position(h, 'S1-A', 'CEA24'), { available: TONNES - 40, frozen: 40, pending: 0, openBuy: 0 });
        expectReject(t, h, () => h.modify('S1-A', ask, { quantity: TONNES + 1 }), 'INSUFFICIENT_HOLDINGS');
        ok(h.modify('S1-A', ask, { quantity: TONNES }));
        t.same(position(h, 'S1-A', 'CEA24'), { available: 0, frozen: TONNES, pending: 0, openBuy: 0 });
      });

      t.test('a partly filled order can be cut to just above what it filled, not to it', async (t) => {
        const h = market(bookFactory);
        const bid = id(h.order('B1-A', buy('57.00', 100)));
        ok(h.order('S1-A', sell('57.00', 30)));
        expectReject(t, h, () => h.modify('B1-A', bid, { quantity: 30 }), 'QUANTITY_BELOW_FILLED', '30 t');
        ok(h.modify('B1-A', bid, { quantity: 50 }));
        t.match(h.engine.order(bid), { quantity: 50, filled: 30, status: 'partially_filled' });
        t.same(funds(h, 'B1-A'), { cash: CASH - 171_000 - 114_000, cashFrozen: 114_000 });
        t.same(h.engine.depth('CEA24', 5)?.bids, [[5700, 20, 1]]);
      });

      t.test('a modification that changes nothing is NO_CHANGE', async (t) => {
        const h = market(bookFactory);
        const bid = id(h.order('B1-A', buy('57.00', 100)));
        expectReject(t, h, () => h.modify('B1-A', bid, { quantity: 100 }), 'NO_CHANGE');
        expectReject(t, h, () => h.modify('B1-A', bid, { price: '57.00' }), 'NO_CHANGE');
        expectReject(t, h, () => h.modify('B1-A', bid, {}), 'INVALID_COMMAND');
      });
    });

    t.test('cancel', async (t) => {
      t.test('cancelling a resting order takes it out and releases what it froze', async (t) => {
        const h = market(bookFactory);
        const bid = id(h.order('B1-A', buy('57.00', 100)));
        const r = h.cancel('B1-A', bid);
        t.match(own(r), { orderId: bid, status: 'cancelled', reason: null, filled: 0 });
        t.same(funds(h, 'B1-A'), { cash: CASH, cashFrozen: 0 });
        t.equal(position(h, 'B1-A', 'CEA24').openBuy, 0);
        t.same(h.engine.depth('CEA24', 5), { bids: [], asks: [] });
      });

      t.test('cancelling a filled or cancelled order is ORDER_NOT_OPEN', async (t) => {
        const h = market(bookFactory);
        const ask = id(h.order('S1-A', sell('57.50', 100)));
        const taker = id(h.order('B1-A', buy('57.50', 100)));
        expectReject(t, h, () => h.cancel('S1-A', ask), 'ORDER_NOT_OPEN', String(ask));
        expectReject(t, h, () => h.cancel('B1-A', taker), 'ORDER_NOT_OPEN');
        const bid = id(h.order('B1-A', buy('57.00', 10)));
        ok(h.cancel('B1-A', bid));
        expectReject(t, h, () => h.cancel('B1-A', bid), 'ORDER_NOT_OPEN');
      });

      t.test('cancelling another member\'s order is UNKNOWN_ORDER and leaves it open', async (t) => {
        const h = market(bookFactory);
        const bid = id(h.order('B1-A', buy('57.00', 100)));
        expectReject(t, h, () => h.cancel('B2-A', bid), 'UNKNOWN_ORDER');
        expectReject(t, h, () => h.modify('B2-A', bid, { quantity: 10 }), 'UNKNOWN_ORDER');
        t.match(h.engine.order(bid), { status: 'new', quantity: 100 });
        expectReject(t, h, () => h.cancel('B1-A', 9999), 'UNKNOWN_ORDER', '9999');
      });
    });

    t.test('self-trade prevention', async (t) => {
      t.test('an order reaching its own account\'s resting order has its remainder cancelled; earlier fills stand', async (t) => {
        const h = market(bookFactory);
        const other = id(h.order('S1-A', sell('57.50', 100)));
        const mine = id(h.order('X1-A', sell('57.60', 100)));
        const r = h.order('X1-A', buy('57.70', 150));
        t.same(fills(r), [[5750, 100, id(r), other]]);
        t.match(own(r), { status: 'cancelled', reason: 'self_trade_prevented', quantity: 150, filled: 100 });
        t.match(h.engine.order(mine), { status: 'new', filled: 0, quantity: 100 }, 'the resting order is untouched');
        t.same(h.engine.depth('CEA24', 5), { bids: [], asks: [[5760, 100, 1]] });
        t.same(funds(h, 'X1-A'), { cash: CASH - 575_000, cashFrozen: 0 });
        t.same(position(h, 'X1-A', 'CEA24'), { available: TONNES - 100, frozen: 100, pending: 100, openBuy: 0 });
      });

      t.test('an own order at the head of the queue stops the order before anything trades', async (t) => {
        const h = market(bookFactory);
        const mine = id(h.order('X1-A', sell('57.50', 100)));
        id(h.order('S1-A', sell('57.50', 100)));
        const r = h.order('X1-A', buy('57.50', 100));
        t.same(fills(r), []);
        t.match(own(r), { status: 'cancelled', reason: 'self_trade_prevented', filled: 0 });
        t.match(h.engine.order(mine), { status: 'new', filled: 0 });
        t.same(funds(h, 'X1-A'), { cash: CASH, cashFrozen: 0 });
      });

      t.test('a sell reaching its own bid is stopped the same way', async (t) => {
        const h = market(bookFactory);
        const mine = id(h.order('X1-A', buy('57.00', 100)));
        const r = h.order('X1-A', sell('57.00', 50));
        t.match(own(r), { status: 'cancelled', reason: 'self_trade_prevented', filled: 0 });
        t.same(position(h, 'X1-A', 'CEA24'), { available: TONNES, frozen: 0, pending: 0, openBuy: 100 });
        t.match(h.engine.order(mine), { status: 'new' });
      });

      t.test('market, FOK and modified orders are stopped by their own account too', async (t) => {
        const h = market(bookFactory);
        id(h.order('S1-A', sell('57.50', 10)));
        const mine = id(h.order('X1-A', sell('57.51', 10)));
        id(h.order('S2-A', sell('57.52', 10)));
        const m = h.order('X1-A', marketBuy(30));
        t.same(fills(m).map((f) => f[0]), [5750]);
        t.match(own(m), { status: 'cancelled', reason: 'self_trade_prevented', filled: 10 });
        const fok = h.order('X1-A', buy('57.52', 20, { timeInForce: 'FOK' }));
        t.match(own(fok), { status: 'cancelled', reason: 'fok_not_filled', filled: 0 }, 'a FOK counts nothing past its own order');
        const bid = id(h.order('X1-A', buy('57.00', 10)));
        const mod = h.modify('X1-A', bid, { price: '57.51' });
        t.match(own(mod), { orderId: bid, status: 'cancelled', reason: 'self_trade_prevented', filled: 0 });
        t.match(h.engine.order(mine), { status: 'new', filled: 0 });
        t.same(funds(h, 'X1-A'), { cash: CASH - 57_500, cashFrozen: 0 });
      });
    });
  });
}
