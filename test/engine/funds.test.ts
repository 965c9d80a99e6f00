// Full funds and full holdings, MARKET-RULES sections 5 and 10: a buy freezes price × quantity
// plus its fee reserve, a sell freezes its tonnes; a fill pays the seller less its fee and charges
// the buyer its fee, each rounded half-up to the fen; cancels release; bought tonnes are pending
// until the end of day (T+1) while sale proceeds can be spent at once; cash and allowances enter and
// leave only by deposits and withdrawals.
import t from 'tap';
import fc from 'fast-check';
import { BUY, buyFeeReserve, REJECT_CODES, SELL, settle, type AccountEvent, type EndOfDayEvent, type Result } from '../../engine/index.ts';
import { Harness, fen, ok, ordersOf, tradesOf } from '../support/harness.ts';
import { expectReject, funds, hubei, national, position, stateWithoutClock } from './fixtures.ts';

const CASH = fen('1000000.00');

function nationalMarket(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '57.46');
  return h;
}

/** Hubei-like HBEA at 40.67 (band 36.60–44.74), 0.5 % of turnover from each side. */
function hubeiMarket(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(hubei(), 'HBEA', '40.67');
  return h;
}

type Fields = Parameters<Harness['order']>[1];
const cea = (side: 'buy' | 'sell', price: string, quantity: number): Fields => ({ symbol: 'CEA24', side, price, quantity });
const hb = (side: 'buy' | 'sell', price: string, quantity: number): Fields => ({ symbol: 'HBEA', side, price, quantity });
const id = (r: Result) => ok(r).orderId as number;

t.test('freezing cash for buys', async (t) => {
  t.test('with zero fees a buy freezes exactly price × quantity', async (t) => {
    const h = nationalMarket();
    h.open('B1-A', { cash: '1000000.00' });
    const bid = id(h.order('B1-A', cea('buy', '57.50', 100)));
    t.same(funds(h, 'B1-A'), { cash: CASH - 575_000, cashFrozen: 575_000 });
    t.equal(h.engine.order(bid)?.frozenCash, 575_000);
    t.equal(position(h, 'B1-A', 'CEA24').openBuy, 100);
  });

  t.test('a buy the cash cannot cover is INSUFFICIENT_FUNDS, naming what it needs and what there is', async (t) => {
    const h = nationalMarket();
    h.open('B1-A', { cash: '5749.99' });
    const r = expectReject(t, h, () => h.order('B1-A', cea('buy', '57.50', 100)), 'INSUFFICIENT_FUNDS', '5750.00');
    t.match(r?.message, '5749.99');
    h.open('B2-A', { cash: '5750.00' });
    ok(h.order('B2-A', cea('buy', '57.50', 100)));
    t.same(funds(h, 'B2-A'), { cash: 0, cashFrozen: 575_000 }, 'exactly enough is enough');
  });

  t.test('cash frozen by open buys does not fund another', async (t) => {
    const h = nationalMarket();
    h.open('B1-A', { cash: '10000.00' });
    ok(h.order('B1-A', cea('buy', '57.50', 100)));
    const r = expectReject(t, h, () => h.order('B1-A', cea('buy', '57.50', 100)), 'INSUFFICIENT_FUNDS', '5750.00');
    t.equal(r?.message, 'account B1-A needs 5750.00 available (price × quantity and fees); it has 4250.00; 5750.00 more is held by its open buy orders and block proposals');
  });

  t.test('on a Hubei-like venue a buy freezes the notional plus its fee reserve', async (t) => {
    const h = hubeiMarket();
    h.open('B1-A', { cash: '5000.00' });
    const bid = id(h.order('B1-A', hb('buy', '40.67', 100)));
    // 4067.00 + ceil(20.335) = 20.34 + half a fen for each of 100 possible fills = 0.50 → 4087.84
    t.equal(h.engine.order(bid)?.frozenCash, 408_784);
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 408_784, cashFrozen: 408_784 });
    h.open('B2-A', { cash: '4087.83' });
    const r = expectReject(t, h, () => h.order('B2-A', hb('buy', '40.67', 100)), 'INSUFFICIENT_FUNDS', '4087.84');
    t.match(r?.message, '4087.83');
    h.open('B3-A', { cash: '4087.84' });
    ok(h.order('B3-A', hb('buy', '40.67', 100)));
    t.same(funds(h, 'B3-A'), { cash: 0, cashFrozen: 408_784 });
  });

  t.test("a buy's modification the cash cannot cover names what its new terms need, what it holds and what the account has", async (t) => {
    const h = hubeiMarket();
    h.open('B1-A', { cash: '5000.00' });
    const bid = id(h.order('B1-A', hb('buy', '40.00', 100))); // holds 4000.00 + 20.00 + 0.50 = 4020.50
    const before = stateWithoutClock(h.engine);
    // 44.00 × 110 = 4840.00, + 24.20 fee + 0.55 = 4864.75 against 4020.50 + 979.50 = 5000.00: it fits.
    // 44.00 × 120 = 5280.00, + 26.40 + 0.60 = 5307.00: it does not.
    const r = expectReject(t, h, () => h.modify('B1-A', bid, { price: '44.00', quantity: 120 }), 'INSUFFICIENT_FUNDS');
    t.equal(r?.message, `order ${bid} would need 5307.00 (price × quantity and fees); it holds 4020.50 and account B1-A has 979.50 available, 5000.00 together`);
    t.same(stateWithoutClock(h.engine), before, 'nothing changed');
    ok(h.modify('B1-A', bid, { price: '44.00', quantity: 110 }));
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 486_475, cashFrozen: 486_475 });
  });
});

t.test('fills and fees', async (t) => {
  t.test('a Hubei-like fill moves cash buyer → seller and takes 0.5 % from each side', async (t) => {
    const h = hubeiMarket();
    h.open('S1-A', { holdings: { HBEA: 1000 } });
    h.open('B1-A', { cash: '5000.00' });
    id(h.order('S1-A', hb('sell', '40.67', 100)));
    const r = ok(h.order('B1-A', hb('buy', '40.67', 100)));
    // 100 t × 40.67 = 4067.00; 0.5 % = 20.335 → 20.34 on each side.
    t.match(tradesOf(r.events), [{ price: 4067, quantity: 100, buyFee: 2034, sellFee: 2034 }]);
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 406_700 - 2034, cashFrozen: 0 }, '5000.00 − 4067.00 − 20.34 = 912.66');
    t.same(funds(h, 'S1-A'), { cash: 406_700 - 2034, cashFrozen: 0 }, '4067.00 − 20.34 = 4046.66');
    t.equal(h.engine.feesCollected, 4068);
    t.same(position(h, 'B1-A', 'HBEA'), { available: 0, frozen: 0, pending: 100, openBuy: 0 });
    t.same(position(h, 'S1-A', 'HBEA'), { available: 900, frozen: 0, pending: 0, openBuy: 0 });
  });

  t.test('each fill rounds its own fee', async (t) => {
    const h = hubeiMarket();
    h.open('S1-A', { holdings: { HBEA: 1000 } });
    h.open('S2-A', { holdings: { HBEA: 1000 } });
    h.open('B1-A', { cash: '5000.00' });
    id(h.order('S1-A', hb('sell', '40.60', 50)));
    id(h.order('S2-A', hb('sell', '40.67', 50)));
    const r = ok(h.order('B1-A', hb('buy', '40.67', 100)));
    // 50 × 40.60 = 2030.00 → fee 10.15 exactly; 50 × 40.67 = 2033.50 → fee 10.1675 → 10.17.
    t.same(tradesOf(r.events).map((e) => [e.price, e.quantity, e.buyFee, e.sellFee]), [[4060, 50, 1015, 1015], [4067, 50, 1017, 1017]]);
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 203_000 - 1015 - 203_350 - 1017, cashFrozen: 0 });
    t.same(funds(h, 'S1-A'), { cash: 203_000 - 1015, cashFrozen: 0 });
    t.same(funds(h, 'S2-A'), { cash: 203_350 - 1017, cashFrozen: 0 });
    t.equal(h.engine.feesCollected, 2 * 1015 + 2 * 1017);
  });

  t.test('fills of one tonne each round 20.335 fen down to 20 fen', async (t) => {
    const h = hubeiMarket();
    h.open('S1-A', { holdings: { HBEA: 10 } });
    h.open('B1-A', { cash: '1000.00' });
    const bid = id(h.order('B1-A', hb('buy', '40.67', 3)));
    // reserve: 122.01 + ceil(0.61005) = 0.62 + ceil(3 / 2) fen = 0.02 → 122.65
    t.equal(h.engine.order(bid)?.frozenCash, 12_265);
    for (let i = 0; i < 3; i++) {
      const r = ok(h.order('S1-A', hb('sell', '40.67', 1)));
      t.match(tradesOf(r.events), [{ quantity: 1, buyFee: 20, sellFee: 20 }]);
    }
    t.same(funds(h, 'B1-A'), { cash: 100_000 - 12_201 - 60, cashFrozen: 0 }, 'the unused 0.04 of the reserve comes back');
    t.same(funds(h, 'S1-A'), { cash: 12_201 - 60, cashFrozen: 0 });
  });

  t.test('a fill at a better price than the limit releases the difference', async (t) => {
    const h = nationalMarket();
    h.open('S1-A', { holdings: { CEA24: 1000 } });
    h.open('B1-A', { cash: '1000000.00' });
    id(h.order('S1-A', cea('sell', '57.40', 100)));
    ok(h.order('B1-A', cea('buy', '57.50', 100)));
    t.same(funds(h, 'B1-A'), { cash: CASH - 574_000, cashFrozen: 0 });
  });

  t.test('with fees, a better price releases the difference and the unused fee reserve', async (t) => {
    const h = hubeiMarket();
    h.open('S1-A', { holdings: { HBEA: 1000 } });
    h.open('B1-A', { cash: '5000.00' });
    id(h.order('S1-A', hb('sell', '40.00', 100)));
    const r = ok(h.order('B1-A', hb('buy', '40.67', 100)));
    t.match(tradesOf(r.events), [{ price: 4000, buyFee: 2000, sellFee: 2000 }]);
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 400_000 - 2000, cashFrozen: 0 });
  });

  t.test('cancel releases everything the buy froze, fee reserve included', async (t) => {
    const h = hubeiMarket();
    h.open('B1-A', { cash: '5000.00' });
    const bid = id(h.order('B1-A', hb('buy', '40.00', 100)));
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 402_050, cashFrozen: 402_050 }, '4000.00 + 20.00 + 0.50');
    ok(h.cancel('B1-A', bid));
    t.same(funds(h, 'B1-A'), { cash: 500_000, cashFrozen: 0 });
    t.same(position(h, 'B1-A', 'HBEA'), { available: 0, frozen: 0, pending: 0, openBuy: 0 });
  });

  t.test('a resting buy filled by others gives back at once what its remainder no longer needs', async (t) => {
    const h = hubeiMarket();
    h.open('S1-A', { holdings: { HBEA: 99_999 } });
    h.open('B1-A', { cash: '4100000.00' });
    const bid = id(h.order('B1-A', hb('buy', '40.00', 99_999)));
    // 3,999,960.00 + fee 19,999.80 + ceil(99,999 / 2) fen = 500.00
    t.equal(h.engine.order(bid)?.frozenCash, 402_045_980);
    const r = ok(h.order('S1-A', hb('sell', '40.00', 99_998)));
    t.match(tradesOf(r.events), [{ quantity: 99_998, buyFee: 1_999_960 }]);
    // 1 t left: 40.00 + fee 0.20 + one fen, as a buy of 1 t resting at 40.00 holds.
    t.equal(h.engine.order(bid)?.frozenCash, 4021);
    t.same(funds(h, 'B1-A'), { cash: 410_000_000 - 399_992_000 - 1_999_960 - 4021, cashFrozen: 4021 });
  });

  t.test('cancelling a partly filled buy releases what its remainder froze', async (t) => {
    const h = hubeiMarket();
    h.open('S1-A', { holdings: { HBEA: 1000 } });
    h.open('B1-A', { cash: '5000.00' });
    const bid = id(h.order('B1-A', hb('buy', '40.00', 100)));
    ok(h.order('S1-A', hb('sell', '40.00', 40)));
    // 40 t × 40.00 = 1600.00 + fee 8.00; the 60 t left hold 2400.00 + 12.00 + 0.30, the rest comes back
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 160_800 - 241_230, cashFrozen: 241_230 });
    ok(h.cancel('B1-A', bid));
    t.same(funds(h, 'B1-A'), { cash: 500_000 - 160_800, cashFrozen: 0 });
    t.same(position(h, 'B1-A', 'HBEA'), { available: 0, frozen: 0, pending: 40, openBuy: 0 });
  });
});

t.test('holdings', async (t) => {
  t.test('a sell freezes its tonnes; more than is available is INSUFFICIENT_HOLDINGS', async (t) => {
    const h = nationalMarket();
    h.open('S1-A', { holdings: { CEA24: 1000 } });
    const ask = id(h.order('S1-A', cea('sell', '57.50', 100)));
    t.same(position(h, 'S1-A', 'CEA24'), { available: 900, frozen: 100, pending: 0, openBuy: 0 });
    const r = expectReject(t, h, () => h.order('S1-A', cea('sell', '57.50', 901)), 'INSUFFICIENT_HOLDINGS', '900 t');
    t.match(r?.message, '901 t');
    ok(h.order('S1-A', cea('sell', '57.50', 900)));
    ok(h.cancel('S1-A', ask));
    t.same(position(h, 'S1-A', 'CEA24'), { available: 100, frozen: 900, pending: 0, openBuy: 0 });
  });

  t.test('tonnes bought today are pending and cannot be sold today (T+1)', async (t) => {
    const h = nationalMarket();
    h.open('S1-A', { holdings: { CEA24: 1000 } });
    h.open('B1-A', { cash: '1000000.00', holdings: { CEA24: 50 } });
    ok(h.order('S1-A', cea('sell', '57.50', 100)));
    ok(h.order('B1-A', cea('buy', '57.50', 100)));
    t.same(position(h, 'B1-A', 'CEA24'), { available: 50, frozen: 0, pending: 100, openBuy: 0 });
    const r = expectReject(t, h, () => h.order('B1-A', cea('sell', '57.60', 51)), 'INSUFFICIENT_HOLDINGS', 'pending');
    t.match(r?.message, '100 t bought today');
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'B1-A', symbol: 'CEA24', quantity: 51 }), 'INSUFFICIENT_HOLDINGS', 'pending');
    ok(h.order('B1-A', cea('sell', '57.60', 50)));
    t.same(position(h, 'B1-A', 'CEA24'), { available: 0, frozen: 50, pending: 100, openBuy: 0 });
  });

  t.test('cash from a sale can fund a buy the same day', async (t) => {
    const h = nationalMarket();
    h.open('S0-A', { holdings: { CEA24: 100 } });
    h.open('B1-A', { cash: '1000000.00' });
    h.open('S2-A', { holdings: { CEA24: 100 } });
    ok(h.order('B1-A', cea('buy', '57.50', 100)));
    ok(h.order('S0-A', cea('sell', '57.50', 100)));
    t.same(funds(h, 'S0-A'), { cash: 575_000, cashFrozen: 0 });
    ok(h.order('S2-A', cea('sell', '57.50', 100)));
    const r = ok(h.order('S0-A', cea('buy', '57.50', 100)));
    t.equal(tradesOf(r.events).length, 1);
    t.same(funds(h, 'S0-A'), { cash: 0, cashFrozen: 0 });
    t.same(position(h, 'S0-A', 'CEA24'), { available: 0, frozen: 0, pending: 100, openBuy: 0 });
  });
});

t.test('deposits and withdrawals', async (t) => {
  t.test('a cash deposit and withdrawal are journaled as account events', async (t) => {
    const h = nationalMarket();
    h.open('B1-A');
    const d = ok(h.operator({ type: 'deposit', accountId: 'B1-A', cash: fen('1000.00') }));
    t.same(d.events.map((e) => ({ ...e })), [{
      type: 'account', seq: h.seq, time: h.time, accountId: 'B1-A', change: 'deposit', cash: 100_000, cashFrozen: 0,
      amount: 100_000, symbol: null, quantity: null, restriction: 'none', reason: null,
    }]);
    const w = ok(h.operator({ type: 'withdraw', accountId: 'B1-A', cash: fen('250.50') }));
    t.match(w.events, [{ type: 'account', change: 'withdraw', cash: 74_950, amount: 25_050, symbol: null, quantity: null }]);
    t.same(funds(h, 'B1-A'), { cash: 74_950, cashFrozen: 0 });
  });

  t.test('a tonnes deposit and withdrawal move available allowances', async (t) => {
    const h = nationalMarket();
    h.open('S1-A');
    const d = ok(h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'CEA24', quantity: 300 }));
    t.match(d.events, [{ type: 'account', change: 'deposit', amount: null, symbol: 'CEA24', quantity: 300 }]);
    ok(h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24', quantity: 100 }));
    t.same(position(h, 'S1-A', 'CEA24'), { available: 200, frozen: 0, pending: 0, openBuy: 0 });
  });

  t.test('withdrawing cash frozen by an open buy is refused', async (t) => {
    const h = nationalMarket();
    h.open('B1-A', { cash: '5750.00' });
    const bid = id(h.order('B1-A', cea('buy', '57.50', 100)));
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'B1-A', cash: 1 }), 'INSUFFICIENT_FUNDS',
      'account B1-A needs 0.01 available (the withdrawal); it has 0.00; 5750.00 more is held by its open buy orders and block proposals');
    ok(h.cancel('B1-A', bid));
    ok(h.operator({ type: 'withdraw', accountId: 'B1-A', cash: fen('5750.00') }));
    t.same(funds(h, 'B1-A'), { cash: 0, cashFrozen: 0 });
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'B1-A', cash: 1 }), 'INSUFFICIENT_FUNDS');
  });

  t.test('withdrawing tonnes frozen by an open sell is refused', async (t) => {
    const h = nationalMarket();
    h.open('S1-A', { holdings: { CEA24: 1000 } });
    ok(h.order('S1-A', cea('sell', '57.50', 600)));
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24', quantity: 401 }), 'INSUFFICIENT_HOLDINGS', '400 t');
    ok(h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24', quantity: 400 }));
    t.same(position(h, 'S1-A', 'CEA24'), { available: 0, frozen: 600, pending: 0, openBuy: 0 });
  });

  t.test('a transfer moves cash or tonnes, a positive amount, to a known account', async (t) => {
    const h = nationalMarket();
    h.open('S1-A', { cash: '10.00', holdings: { CEA24: 10 } });
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A', cash: 100, symbol: 'CEA24', quantity: 1 }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A', cash: 0 }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'S1-A', cash: -100 }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'CEA24', quantity: 0 }), 'INVALID_QUANTITY');
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A', quantity: 5 }), 'INVALID_COMMAND', /symbol and the quantity/);
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24' }), 'INVALID_COMMAND', /symbol and the quantity/);
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'CEA99', quantity: 1 }), 'UNKNOWN_INSTRUMENT');
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'NOBODY', cash: 100 }), 'UNKNOWN_ACCOUNT');
  });

  t.test('a deposit may not take a holding past 10^15 t (amounts stay exact integers)', async (t) => {
    const h = nationalMarket();
    h.open('S1-A', { cash: '1000000.00' });
    ok(h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'CEA24', quantity: 1e15 - 60 }));
    ok(h.order('S1-A', cea('sell', '57.50', 40))); // frozen tonnes count
    ok(h.order('S1-A', cea('buy', '52.00', 60))); // and so do tonnes an open buy may bring in
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'CEA24', quantity: 1 }), 'INVALID_QUANTITY', /above 1,000,000,000,000,000 t/);
    ok(h.order('S1-A', cea('sell', '57.50', 1)));
    ok(h.operator({ type: 'withdraw', accountId: 'S1-A', symbol: 'CEA24', quantity: 2 }));
    ok(h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'CEA24', quantity: 2 }));
    t.same(position(h, 'S1-A', 'CEA24'), { available: 1e15 - 60 - 41, frozen: 41, pending: 0, openBuy: 60 });
    h.open('S2-A', {});
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S2-A', symbol: 'CEA24', quantity: 1e15 + 1 }), 'INVALID_QUANTITY');
  });
});

t.test('the cash all accounts hold together stays within 10^15 fen, so every balance and every trade paid for is exact', async (t) => {
  const h = nationalMarket();
  h.open('S1-A', { cash: '4000000000000.00' });
  h.open('S2-A', { cash: '4000000000000.00' });
  h.open('S3-A', {});
  // Each account alone would take it: together they would pass the bound.
  expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'S3-A', cash: 200_000_000_000_001 }), 'INVALID_COMMAND',
    'the deposit would take the cash the exchange holds, all accounts together, above 10000000000000.00 (it holds 8000000000000.00)');
  ok(h.operator({ type: 'deposit', accountId: 'S3-A', cash: 200_000_000_000_000 }));
  ok(h.operator({ type: 'withdraw', accountId: 'S1-A', cash: 100 }));
  ok(h.operator({ type: 'deposit', accountId: 'S3-A', cash: 100 })); // a withdrawal makes room again
  t.equal(h.engine.cashHeld(), 1e15, 'exactly 10,000,000,000,000.00 held');
  // An order that would need more than any account can hold says so, not with a number past 2^53.
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '0.000001', blockBandPct: null, referencePrice: 999_999_999_999, status: null, reason: 'a drill' }));
  expectReject(t, h, () => h.order('S3-A', cea('buy', '9999999999.99', 99_999)), 'INSUFFICIENT_FUNDS',
    /^account S3-A needs more than 10000000000000\.00 \(the most the exchange holds\) available \(price × quantity and fees\); it has 2000000000001\.00$/);
});

t.test('a day whose sums pass 2^53 fen is not settled: refused, never published wrong', async (t) => {
  const h = nationalMarket();
  h.open('B1-A', { cash: '1000000.00' });
  h.open('S1-A', { holdings: { CEA24: 100 } });
  const endOfDay = (date: string) => ok(h.operator({ type: 'endOfDay', date })).events.find((e) => e.type === 'endOfDay') as EndOfDayEvent;
  const opening = endOfDay('2026-11-20');
  h.at('2026-11-21', '10:00');
  const events = [...ok(h.order('S1-A', cea('sell', '57.46', 100))).events, ...ok(h.order('B1-A', cea('buy', '57.46', 100))).events];
  const eod = endOfDay('2026-11-21');
  events.push(eod);
  t.doesNotThrow(() => settle(events, eod, opening.accounts), 'the day as it was settles');
  for (const field of ['listedTurnover', 'cumulativeTurnover'] as const) {
    const past = { ...eod, instruments: eod.instruments.map((i) => ({ ...i, [field]: 2 ** 53 + 2 })) };
    t.throws(() => settle(events, past, opening.accounts), { name: 'SettlementError', message: /CEA24's (listed|cumulative) turnover, 90071992547409\.94, passes 90,071,992,547,409\.91 \(2\^53 fen\), past what the exchange keeps exact: the day is not published rather than published wrong/ }, field);
  }
});

t.test('property: cash and tonnes are conserved and frozen amounts equal what open orders hold', async (t) => {
  const ACCOUNTS = ['P1-A', 'P2-A', 'P3-A'];
  const START_CASH = 2_000_000; // 20,000.00 each
  const START_TONNES = 300;
  const command = fc.record({
    account: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('buy', 'sell', 'buy', 'sell', 'cancel', 'modify'),
    price: fc.integer({ min: 4040, max: 4090 }),
    quantity: fc.integer({ min: 1, max: 150 }),
    tif: fc.constantFrom('DAY', 'DAY', 'IOC', 'FOK') as fc.Arbitrary<'DAY' | 'IOC' | 'FOK'>,
    pick: fc.integer({ min: 0, max: 1000 }),
  });
  let checked = 0;
  fc.assert(fc.property(fc.array(command, { minLength: 1, maxLength: 60 }), (commands) => {
    const h = hubeiMarket();
    for (const a of ACCOUNTS) h.open(a, { cash: formatFen(START_CASH), holdings: { HBEA: START_TONNES } });
    for (const c of commands) {
      const accountId = ACCOUNTS[c.account];
      const mine = h.engine.ordersOf(accountId);
      const before = stateWithoutClock(h.engine);
      let r: Result;
      if (c.kind === 'cancel' || c.kind === 'modify') {
        if (mine.length === 0) continue;
        const target = mine[c.pick % mine.length];
        r = c.kind === 'cancel' ? h.cancel(accountId, target.id) : h.modify(accountId, target.id, { price: formatFen(c.price), quantity: target.filled + c.quantity });
      } else {
        r = h.order(accountId, { symbol: 'HBEA', side: c.kind, price: formatFen(c.price), quantity: c.quantity, timeInForce: c.tif });
      }
      if (!r.ok && !Object.hasOwn(REJECT_CODES, r.code)) throw new Error(`${r.code} is not one of REJECT_CODES`);
      if (!r.ok && stateWithoutClock(h.engine) !== before) throw new Error(`${r.code} changed the state`);
      // Conservation: cash (free + frozen) plus fees collected, and tonnes (available + frozen + pending).
      let cash = 0;
      let tonnes = 0;
      for (const a of ACCOUNTS) {
        const f = funds(h, a);
        const p = position(h, a, 'HBEA');
        if (f.cash < 0 || f.cashFrozen < 0 || p.available < 0 || p.frozen < 0 || p.pending < 0 || p.openBuy < 0) throw new Error(`a negative balance in ${a}`);
        cash += f.cash + f.cashFrozen;
        tonnes += p.available + p.frozen + p.pending;
        const open = h.engine.ordersOf(a);
        const frozenCash = open.filter((o) => o.side === BUY).reduce((s, o) => s + o.frozenCash, 0);
        const openBuy = open.filter((o) => o.side === BUY).reduce((s, o) => s + o.remaining, 0);
        const frozenTonnes = open.filter((o) => o.side === SELL).reduce((s, o) => s + o.remaining, 0);
        if (frozenCash !== f.cashFrozen) throw new Error(`${a}: frozen cash ${f.cashFrozen} ≠ open buys' ${frozenCash}`);
        // And an open buy holds no more than its remaining quantity needs at its limit, however it was filled.
        for (const o of open) {
          if (o.side !== BUY) continue;
          const notional = o.price * o.remaining;
          const needs = notional + buyFeeReserve(notional, o.remaining, h.engine.instrument('HBEA')!.profile.fees.listed.buy);
          if (o.frozenCash > needs) throw new Error(`${a}: order ${o.id} holds ${o.frozenCash} fen, its remaining ${o.remaining} t needs ${needs}`);
        }
        if (openBuy !== p.openBuy) throw new Error(`${a}: openBuy ${p.openBuy} ≠ ${openBuy}`);
        if (frozenTonnes !== p.frozen) throw new Error(`${a}: frozen tonnes ${p.frozen} ≠ open sells' ${frozenTonnes}`);
      }
      if (cash + h.engine.feesCollected !== START_CASH * ACCOUNTS.length) throw new Error(`cash ${cash} + fees ${h.engine.feesCollected} is not conserved`);
      if (tonnes !== START_TONNES * ACCOUNTS.length) throw new Error(`tonnes ${tonnes} are not conserved`);
      const depth = h.engine.depth('HBEA', 1);
      if (depth && depth.bids.length > 0 && depth.asks.length > 0 && depth.bids[0][0] >= depth.asks[0][0]) throw new Error('the book is crossed');
      if (r.ok) for (const e of ordersOf(r.events)) if (e.filled > e.quantity) throw new Error('an order filled more than its quantity');
    }
    checked++;
    return true;
  }), { numRuns: 150 });
  t.equal(checked, 150, 'every run kept the invariants');
});

t.test('account events carry the balances after the change', async (t) => {
  const h = nationalMarket();
  const r = ok(h.operator({ type: 'createAccount', accountId: 'N1-A', member: 'N1', accountClass: 'institution' }));
  t.match(r.events[0] as AccountEvent, { type: 'account', change: 'created', accountId: 'N1-A', cash: 0, cashFrozen: 0, restriction: 'none' });
});

function formatFen(value: number): string {
  return `${Math.floor(value / 100)}.${String(value % 100).padStart(2, '0')}`;
}
