// Position caps (最大持仓量), MARKET-RULES section 6: a buy is refused when holdings + pending +
// open buys + the new quantity would exceed the account's cap. Beijing-like defaults: compliance =
// allocation + 1,000,000 t, institution 1,000,000 t, individual 50,000 t; the national market has
// none unless a risk officer sets one, per class or per account.
import t from 'tap';
import type { Result } from '../../engine/index.ts';
import { Harness, ok, tradesOf } from '../support/harness.ts';
import { beijing, expectReject, national, position } from './fixtures.ts';
import { blockIdOf, propose } from '../support/day.ts';

const id = (r: Result) => ok(r).orderId as number;

/** Beijing-like BEA at 57.46 (±20 %: 45.97–68.95) and a seller with 200,000 t. */
function beijingMarket(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(beijing(), 'BEA', '57.46');
  h.open('S1-A', { holdings: { BEA: 200_000 } });
  return h;
}

const bea = (side: 'buy' | 'sell', price: string, quantity: number) => ({ symbol: 'BEA', side, price, quantity });
const cea = (side: 'buy' | 'sell', price: string, quantity: number) => ({ symbol: 'CEA24', side, price, quantity });

t.test('Beijing-like default caps', async (t) => {
  t.test('an individual\'s cap counts holdings, pending, open buys and the new order', async (t) => {
    const h = beijingMarket();
    h.open('I1-A', { accountClass: 'individual', cash: '10000000.00', holdings: { BEA: 20_000 } });
    ok(h.order('S1-A', bea('sell', '50.00', 10_000)));
    ok(h.order('I1-A', bea('buy', '50.00', 10_000)));
    ok(h.order('I1-A', bea('buy', '46.00', 15_000)));
    t.same(position(h, 'I1-A', 'BEA'), { available: 20_000, frozen: 0, pending: 10_000, openBuy: 15_000 });
    const r = expectReject(t, h, () => h.order('I1-A', bea('buy', '46.00', 5_001)), 'POSITION_CAP_EXCEEDED', '50000 t');
    t.match(r?.message, /holds 30000 t .* 15000 t in open buys; 5001 t more/);
    const atCap = id(h.order('I1-A', bea('buy', '46.00', 5_000)));
    expectReject(t, h, () => h.order('I1-A', bea('buy', '46.00', 1)), 'POSITION_CAP_EXCEEDED', '50000 t');
    ok(h.order('I1-A', bea('sell', '60.00', 1_000)));
    expectReject(t, h, () => h.order('I1-A', bea('buy', '46.00', 1)), 'POSITION_CAP_EXCEEDED', undefined);
    ok(h.cancel('I1-A', atCap));
    ok(h.order('I1-A', bea('buy', '46.00', 5_000))); // a cancelled buy no longer counts
  });

  t.test('an institution\'s cap is 1,000,000 t', async (t) => {
    const h = beijingMarket();
    h.open('N1-A', { cash: '1000000.00', holdings: { BEA: 999_000 } });
    ok(h.order('N1-A', bea('buy', '46.00', 1_000)));
    expectReject(t, h, () => h.order('N1-A', bea('buy', '46.00', 1)), 'POSITION_CAP_EXCEEDED', '1000000 t');
  });

  t.test('a compliance account\'s cap is its allocation + 1,000,000 t', async (t) => {
    const h = beijingMarket();
    h.open('C1-A', { accountClass: 'compliance', allocation: 200_000, cash: '3000000.00', holdings: { BEA: 1_150_000 } });
    ok(h.order('C1-A', bea('buy', '46.00', 50_000)));
    expectReject(t, h, () => h.order('C1-A', bea('buy', '46.00', 1)), 'POSITION_CAP_EXCEEDED', '1200000 t');
  });

  t.test('an increase by modification is capped too', async (t) => {
    const h = beijingMarket();
    h.open('I1-A', { accountClass: 'individual', cash: '10000000.00' });
    const bid = id(h.order('I1-A', bea('buy', '46.00', 40_000)));
    ok(h.modify('I1-A', bid, { quantity: 50_000 }));
    expectReject(t, h, () => h.modify('I1-A', bid, { quantity: 50_001 }), 'POSITION_CAP_EXCEEDED', '50000 t');
    t.match(h.engine.order(bid), { quantity: 50_000 });
  });

  t.test('a market order counts its quantity; a pick counts what it can take', async (t) => {
    const h = beijingMarket();
    h.open('I1-A', { accountClass: 'individual', cash: '100000.00', holdings: { BEA: 49_990 } });
    h.open('I2-A', { accountClass: 'individual', cash: '100000.00', holdings: { BEA: 49_950 } });
    const ask = id(h.order('S1-A', bea('sell', '50.00', 60)));
    expectReject(t, h, () => h.order('I1-A', { symbol: 'BEA', side: 'buy', type: 'market', quantity: 11 }), 'POSITION_CAP_EXCEEDED', '50000 t');
    ok(h.order('I1-A', { symbol: 'BEA', side: 'buy', type: 'market', quantity: 10 }));
    t.equal(position(h, 'I1-A', 'BEA').pending, 10);
    // 50 t are left of the ask: a pick of 80 t takes 50 t, which brings I2 exactly to its cap.
    const r = h.order('I2-A', { symbol: 'BEA', side: 'buy', type: 'pick', targetOrderId: ask, quantity: 80 });
    t.same(tradesOf(ok(r).events).map((e) => e.quantity), [50], 'the pick is clipped to what is left, which fits under the cap');
    t.equal(position(h, 'I2-A', 'BEA').pending, 50);
  });

  t.test('sells are never capped', async (t) => {
    const h = beijingMarket();
    h.open('I1-A', { accountClass: 'individual', holdings: { BEA: 80_000 } });
    ok(h.order('I1-A', bea('sell', '60.00', 30_000)));
  });
});

t.test('caps set by a risk officer on the national market', async (t) => {
  function nationalMarket(): Harness {
    const h = new Harness({ tradingDate: '2026-11-20' });
    h.list(national(), 'CEA24', '57.46');
    h.open('N1-A', { cash: '10000000.00', holdings: { CEA24: 400 } });
    h.open('N2-A', { cash: '10000000.00', holdings: { CEA24: 400 } });
    return h;
  }

  t.test('the national market has no cap until one is set', async (t) => {
    const h = nationalMarket();
    ok(h.order('N1-A', cea('buy', '57.00', 99_999)));
  });

  t.test('a class cap, a per-account override, removing the override and removing the class cap', async (t) => {
    const h = nationalMarket();
    const set = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', quantity: 500, reason: 'concentration' }));
    t.same(set.events.map((e) => ({ ...e })), [{
      type: 'limit', seq: h.seq, time: h.time, kind: 'positionCap', symbol: 'CEA24', accountClass: 'institution', accountId: null,
      quantity: 500, plusAllocation: false,
    }]);
    expectReject(t, h, () => h.order('N1-A', cea('buy', '57.00', 101)), 'POSITION_CAP_EXCEEDED', '500 t');
    ok(h.order('N1-A', cea('buy', '57.00', 100)));

    const override = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'N1-A', quantity: 1000, reason: 'market maker' }));
    t.match(override.events, [{ type: 'limit', kind: 'positionCap', accountClass: null, accountId: 'N1-A', quantity: 1000 }]);
    ok(h.order('N1-A', cea('buy', '57.00', 500)));
    expectReject(t, h, () => h.order('N1-A', cea('buy', '57.00', 1)), 'POSITION_CAP_EXCEEDED', '1000 t');
    expectReject(t, h, () => h.order('N2-A', cea('buy', '57.00', 101)), 'POSITION_CAP_EXCEEDED', '500 t');

    ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'N1-A', quantity: null, reason: 'back to the class rule' }));
    expectReject(t, h, () => h.order('N1-A', cea('buy', '57.00', 1)), 'POSITION_CAP_EXCEEDED', '500 t');

    ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', quantity: null, reason: 'lifted' }));
    ok(h.order('N1-A', cea('buy', '57.00', 1)));
    ok(h.order('N2-A', cea('buy', '57.00', 99_999)));
  });

  t.test('a compliance class cap on top of the allocation', async (t) => {
    const h = nationalMarket();
    h.open('C1-A', { accountClass: 'compliance', allocation: 5000, cash: '1000000.00', holdings: { CEA24: 5500 } });
    const set = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'compliance', quantity: 1000, plusAllocation: true, reason: 'rule' }));
    t.match(set.events, [{ kind: 'positionCap', accountClass: 'compliance', quantity: 1000, plusAllocation: true }]);
    ok(h.order('C1-A', cea('buy', '57.00', 500)));
    expectReject(t, h, () => h.order('C1-A', cea('buy', '57.00', 1)), 'POSITION_CAP_EXCEEDED', '6000 t');
    ok(h.order('N1-A', cea('buy', '57.00', 10_000))); // institutions are not touched by a compliance cap
  });

  t.test('a cap command names a class or an account, with a sensible quantity', async (t) => {
    const h = nationalMarket();
    expectReject(t, h, () => h.risk({ type: 'setPositionCap', symbol: 'CEA24', quantity: 5, reason: 'x' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', accountId: 'N1-A', quantity: 5, reason: 'x' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', quantity: -1, reason: 'x' }), 'INVALID_QUANTITY');
    expectReject(t, h, () => h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'N1-A', quantity: 5, plusAllocation: true, reason: 'x' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'NOBODY', quantity: 5, reason: 'x' }), 'UNKNOWN_ACCOUNT');
    expectReject(t, h, () => h.risk({ type: 'setPositionCap', symbol: 'CEA99', accountClass: 'institution', quantity: 5, reason: 'x' }), 'UNKNOWN_INSTRUMENT');
    expectReject(t, h, () => h.member('N1', { type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', quantity: 5, reason: 'x' }), 'NOT_PERMITTED');
  });
});

t.test('a lowered cap holds for what already rests: the newest buys end until the account is within it', async (t) => {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '57.46');
  h.open('N1-A', { cash: '100000000.00', holdings: { CEA24: 400 } });
  h.open('N2-A', { cash: '10000000.00', holdings: { CEA24: 400 } });
  h.open('S1-A', { holdings: { CEA24: 1_000_000 } });
  const first = id(h.order('N1-A', cea('buy', '57.00', 300)));
  const second = id(h.order('N1-A', cea('buy', '56.00', 200)));
  const third = id(h.order('N1-A', cea('buy', '56.50', 100)));
  const sell = id(h.order('N1-A', cea('sell', '60.00', 50))); // a sell is never in the way of a cap
  const other = id(h.order('N2-A', cea('buy', '57.00', 100)));
  const block = blockIdOf(propose(h, 'N1-A', { side: 'buy', price: '57.00', quantity: 100_000, to: 'S1-A' }));
  t.same(position(h, 'N1-A', 'CEA24'), { available: 350, frozen: 50, pending: 0, openBuy: 100_600 });

  // 400 held + 300 + 200 + 100 + 100,000 open = 101,000: a cap of 100,700 ends the newest buy
  // orders while they pass it (100 t, then 200 t), and keeps the oldest and the proposal.
  const r = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'N1-A', quantity: 100_700, reason: 'concentration' }));
  t.match(r.events, [
    { type: 'limit', accountId: 'N1-A', quantity: 100_700 },
    { type: 'order', orderId: third, status: 'cancelled', reason: 'position_cap' },
    { type: 'order', orderId: second, status: 'cancelled', reason: 'position_cap' },
  ]);
  t.equal(r.events.length, 3);
  t.same(position(h, 'N1-A', 'CEA24'), { available: 350, frozen: 50, pending: 0, openBuy: 100_300 });
  t.equal(h.engine.order(sell)?.status, 'new', 'the sell rests');
  t.equal(h.engine.order(other)?.status, 'new', 'another account is not touched');
  // 100,000: the last buy order goes, and then the proposal, whose 100,000 t alone pass it.
  const cash = h.engine.account('N1-A')!.cash;
  const lower = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountId: 'N1-A', quantity: 100_000, reason: 'concentration' }));
  t.match(lower.events, [
    { type: 'limit', quantity: 100_000 },
    { type: 'order', orderId: first, status: 'cancelled', reason: 'position_cap' },
    { type: 'block', blockId: block, status: 'withdrawn', reason: 'position_cap' },
  ]);
  t.same(position(h, 'N1-A', 'CEA24'), { available: 350, frozen: 50, pending: 0, openBuy: 0 });
  t.equal(h.engine.account('N1-A')!.cashFrozen, 0, 'nothing holds cash now');
  t.ok(h.engine.account('N1-A')!.cash > cash, 'what they froze is released');

  // A class cap below a holding: all of the account's buys end.
  ok(h.order('N2-A', cea('buy', '55.00', 10)));
  const c = ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', quantity: 300, reason: 'tighter' }));
  t.same(c.events.filter((e) => e.type === 'order').map((e) => e.type === 'order' && e.accountId), ['N2-A', 'N2-A'], 'N2-A holds 400 > 300: both its buys end');
    expectReject(t, h, () => h.order('N2-A', cea('buy', '55.00', 1)), 'POSITION_CAP_EXCEEDED');
});
