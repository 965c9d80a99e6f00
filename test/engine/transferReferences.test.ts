// Transfer references: an operator retrying a deposit or withdrawal (after a lost answer, or a bank
// file imported twice) must not move the money twice. A reference is the bank's or registry's, so it
// is unique per account for good, not for a day: the same reference with the same terms answers
// with the first transfer and moves nothing; with other terms it is refused.
import t from 'tap';
import { Engine, type AccountEvent } from '../../engine/index.ts';
import { Harness, fen, ok } from '../support/harness.ts';
import { expectReject, funds, national, position, stateWithoutClock } from './fixtures.ts';

function market(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '57.46');
  h.open('B1-A', { cash: '1000.00' });
  h.open('B2-A');
  return h;
}

const deposit = (more: Record<string, unknown> = {}) => ({ type: 'deposit' as const, accountId: 'B1-A', cash: fen('500.00'), reference: 'BOC-20261120-0001', ...more });
const accountEvents = (r: ReturnType<Harness['operator']>) => ok(r).events.filter((e): e is AccountEvent => e.type === 'account');

t.test('a repeated reference with the same terms answers with the first transfer and moves nothing', async (t) => {
  const h = market();
  const first = ok(h.operator(deposit()));
  const seq = h.seq;
  t.equal(first.transferSeq, seq, 'the answer names the transfer by its sequence number');
  t.equal(first.duplicate, undefined);
  t.match(accountEvents(first), [{ change: 'deposit', amount: fen('500.00'), reference: 'BOC-20261120-0001' }], 'the fact carries the reference');
  const before = stateWithoutClock(h.engine);
  const hash = h.engine.stateHash();
  t.same(h.operator(deposit()), { ok: true, events: [], transferSeq: seq, duplicate: true });
  t.equal(stateWithoutClock(h.engine), before, 'no state change');
  t.equal(h.engine.stateHash(), hash);
  t.same(funds(h, 'B1-A'), { cash: fen('1500.00'), cashFrozen: 0 }, 'deposited once');
});

t.test('a transfer without a reference carries none, and may be repeated as often as it is sent', async (t) => {
  const h = market();
  const r = ok(h.operator(deposit({ reference: undefined })));
  t.notOk('reference' in accountEvents(r)[0], 'no reference field on the fact');
  ok(h.operator(deposit({ reference: null })));
  t.same(funds(h, 'B1-A'), { cash: fen('2000.00'), cashFrozen: 0 });
});

t.test('the same reference with other terms is refused, naming the first transfer', async (t) => {
  const h = market();
  ok(h.operator(deposit()));
  const seq = h.seq;
  expectReject(t, h, () => h.operator(deposit({ cash: fen('600.00') })), 'TRANSFER_REFERENCE_REUSED',
    `reference BOC-20261120-0001 names transfer S${seq} of account B1-A, a deposit of 500.00 of cash, not a deposit of 600.00 of cash`);
  expectReject(t, h, () => h.operator(deposit({ type: 'withdraw' })), 'TRANSFER_REFERENCE_REUSED', 'not a withdrawal of 500.00 of cash');
  expectReject(t, h, () => h.operator(deposit({ cash: null, symbol: 'CEA24', quantity: 10 })), 'TRANSFER_REFERENCE_REUSED', 'not a deposit of 10 t of CEA24');
  t.same(funds(h, 'B1-A'), { cash: fen('1500.00'), cashFrozen: 0 }, 'nothing more moved');
});

t.test('a reference is per account: another account may use the same one', async (t) => {
  const h = market();
  ok(h.operator(deposit()));
  const other = ok(h.operator(deposit({ accountId: 'B2-A' })));
  t.equal(other.duplicate, undefined);
  t.same(funds(h, 'B2-A'), { cash: fen('500.00'), cashFrozen: 0 });
});

t.test('a refused transfer does not take its reference', async (t) => {
  const h = market();
  expectReject(t, h, () => h.operator(deposit({ type: 'withdraw', cash: fen('5000.00') })), 'INSUFFICIENT_FUNDS');
  const r = ok(h.operator(deposit({ type: 'withdraw', cash: fen('400.00') })));
  t.equal(r.duplicate, undefined, 'the same reference, now with terms that can be met, is a new transfer');
  t.same(funds(h, 'B1-A'), { cash: fen('600.00'), cashFrozen: 0 });
});

t.test('a repeat is answered whatever the account allows now', async (t) => {
  const h = market();
  ok(h.operator(deposit({ type: 'withdraw', cash: fen('1000.00'), reference: 'W-1' })));
  const seq = h.seq;
  ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'frozen', reason: 'under review' }));
  t.same(h.operator(deposit({ type: 'withdraw', cash: fen('1000.00'), reference: 'W-1' })), { ok: true, events: [], transferSeq: seq, duplicate: true },
    'not ACCOUNT_RESTRICTED nor INSUFFICIENT_FUNDS: the withdrawal was made');
});

t.test('allowances: the repeat moves no tonnes', async (t) => {
  const h = market();
  const body = { type: 'deposit' as const, accountId: 'B1-A', symbol: 'CEA24', quantity: 300, reference: 'REG/2026/77' };
  ok(h.operator(body));
  t.equal(ok(h.operator(body)).duplicate, true);
  t.equal(position(h, 'B1-A', 'CEA24').available, 300);
});

t.test('a malformed reference is refused', async (t) => {
  const h = market();
  for (const reference of ['', 'has space', 'x'.repeat(65), 7, 'tab\there']) {
    expectReject(t, h, () => h.operator(deposit({ reference })), 'INVALID_COMMAND', 'reference must be 1–64 printable characters without spaces');
  }
  t.same(funds(h, 'B1-A'), { cash: fen('1000.00'), cashFrozen: 0 });
});

t.test('references survive a snapshot and the end of the day', async (t) => {
  const h = market();
  const empty = h.engine.snapshot();
  t.notOk('transferReferences' in empty, 'a snapshot without references has no such field (its text and hash unchanged)');
  ok(h.operator(deposit()));
  const seq = h.seq;
  const restored = Engine.restore(JSON.parse(JSON.stringify(h.engine.snapshot())));
  t.equal(restored.stateHash(), h.engine.stateHash());
  t.same(restored.apply({ ...deposit(), seq: ++h.seq, time: h.time, actor: { role: 'operator', id: 'ops1' } }),
    { ok: true, events: [], transferSeq: seq, duplicate: true }, 'the restored engine knows the reference');

  ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
  h.at('2026-11-23', '10:00');
  t.same(h.operator(deposit()), { ok: true, events: [], transferSeq: seq, duplicate: true }, 'a later day: still the same transfer');
  t.same(funds(h, 'B1-A'), { cash: fen('1500.00'), cashFrozen: 0 });
});
