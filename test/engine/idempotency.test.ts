// Client order ids: a member retrying an order (after a timeout, say) must not place it twice. The
// same clientOrderId with the same terms answers with the original order and changes nothing; with
// other terms it is refused; the id is per account.
import t from 'tap';
import type { Result } from '../../engine/index.ts';
import { Harness, fen, ok, ordersOf, tradesOf } from '../support/harness.ts';
import { expectReject, funds, national, stateWithoutClock } from './fixtures.ts';

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
