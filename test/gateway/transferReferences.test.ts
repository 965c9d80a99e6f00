// Deposits and withdrawals with the bank's or registry's reference, over HTTP against the real
// server: a retry after a lost answer is answered 200 with the first transfer and moves nothing, the
// same reference for other terms is 409 TRANSFER_REFERENCE_REUSED, the reference is in the audit
// trail and on the day's statements (JSON and CSV), and it still holds after a restart and an end
// of day.
import { rmSync } from 'node:fs';
import t from 'tap';
import { expectError, expectOk, startServer, type TestServer } from '../support/server.ts';

let s: TestServer = await startServer();
const dataDir = s.dataDir;
t.teardown(async () => {
  await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
const transfer = (path: 'deposits' | 'withdrawals', body: Record<string, unknown>) => s.api('POST', `/v1/admin/${path}`, { key: 'operator', body });
const cashOf = async (accountId: string) => (await s.api('GET', `/v1/account?accountId=${accountId}`, { key: 'M3' })).body.cash;

let depositRef = '';
let withdrawalRef = '';

t.test('a repeated reference is answered with the first transfer and moves nothing', async (t) => {
  const first = await transfer('deposits', { accountId: 'M3-C1', cash: '2500.00', reference: 'BOC-20261120-000123' });
  expectOk(t, first, 201, 'the deposit');
  t.match(first.body, { accountId: 'M3-C1', holding: null, ref: /^S\d+$/, reference: 'BOC-20261120-000123', duplicate: false });
  depositRef = first.body.ref;
  const after = await cashOf('M3-C1');
  t.same(first.body.cash, after, 'the answer shows the cash the deposit left');

  const again = await transfer('deposits', { accountId: 'M3-C1', cash: '2500.00', reference: 'BOC-20261120-000123' });
  expectOk(t, again, 200, 'the repeat');
  t.same(again.body, { ...first.body, duplicate: true }, 'the same transfer, named the same way, marked duplicate');
  t.same(await cashOf('M3-C1'), after, 'deposited once');

  const out = await transfer('withdrawals', { accountId: 'M3-C1', symbol: 'CEA24', quantity: 1000, reference: 'REG/CEA/7781' });
  expectOk(t, out, 201, 'a withdrawal of allowances');
  withdrawalRef = out.body.ref;
  t.match(out.body, { holding: { symbol: 'CEA24', available: 179_000 }, reference: 'REG/CEA/7781', duplicate: false });
  const outAgain = await transfer('withdrawals', { accountId: 'M3-C1', symbol: 'CEA24', quantity: 1000, reference: 'REG/CEA/7781' });
  expectOk(t, outAgain, 200);
  t.match(outAgain.body, { holding: { symbol: 'CEA24', available: 179_000 }, ref: withdrawalRef, duplicate: true }, 'withdrawn once');
});

t.test('the same reference for other terms is refused and moves nothing', async (t) => {
  const before = await cashOf('M3-C1');
  expectError(t, await transfer('deposits', { accountId: 'M3-C1', cash: '2500.01', reference: 'BOC-20261120-000123' }), 409, 'TRANSFER_REFERENCE_REUSED',
    new RegExp(`names transfer ${depositRef} of account M3-C1, a deposit of 2500\\.00 of cash, not a deposit of 2500\\.01 of cash`));
  expectError(t, await transfer('withdrawals', { accountId: 'M3-C1', cash: '2500.00', reference: 'BOC-20261120-000123' }), 409, 'TRANSFER_REFERENCE_REUSED', /not a withdrawal of 2500\.00 of cash/);
  t.same(await cashOf('M3-C1'), before);
  // Another account may carry the same reference: references are the account's.
  expectOk(t, await transfer('deposits', { accountId: 'M2-C1', cash: '2500.00', reference: 'BOC-20261120-000123' }), 201, 'another account');
});

t.test('a malformed reference is a 400 with the form it must have', async (t) => {
  for (const reference of ['', 'with space', 'x'.repeat(65), 42, null]) {
    expectError(t, await transfer('deposits', { accountId: 'M3-C1', cash: '1.00', reference }), 400, 'INVALID_REQUEST', undefined, JSON.stringify(reference));
  }
  expectError(t, await transfer('deposits', { accountId: 'M3-C1', cash: '1.00', reference: 'has space' }), 400, 'INVALID_REQUEST', /1–64 printable ASCII characters, no spaces/);
});

t.test('the audit trail shows the reference', async (t) => {
  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { seq: number; action: string; what: Record<string, unknown>; outcome: string; duplicateOf: string | null; error: { code: string } | null }[];
  const deposits = audit.filter((e) => e.action === 'deposit' && e.what.reference === 'BOC-20261120-000123');
  t.same(deposits.map((e) => [e.what.accountId, e.outcome, e.duplicateOf, e.error?.code ?? null]),
    [['M3-C1', 'done', null, null], ['M3-C1', 'duplicate', depositRef, null], ['M3-C1', 'refused', null, 'TRANSFER_REFERENCE_REUSED'], ['M2-C1', 'done', null, null]],
    'the first, the repeat (a duplicate of the first: nothing moved), the refusal and the other account\'s');
  t.equal(`S${deposits[0].seq}`, depositRef, 'the duplicate names the first by its statement reference, the seq of its audit entry');
  t.match(audit.find((e) => e.action === 'withdraw' && e.outcome === 'duplicate'), { duplicateOf: withdrawalRef }, 'a repeated withdrawal too');
});

t.test('after a restart and an end of day the reference still names its transfer, and the statements show it', async (t) => {
  await s.stop();
  s = await startServer({ dataDir });
  const again = await transfer('deposits', { accountId: 'M3-C1', cash: '2500.00', reference: 'BOC-20261120-000123' });
  expectOk(t, again, 200, 'after a restart');
  t.match(again.body, { ref: depositRef, duplicate: true });

  // References a spreadsheet would take for formulas, on another account.
  const formulas = ['=1+2', '+1+2', '@SUM(A1)', '-2+3', '-1'];
  for (const reference of formulas) expectOk(t, await transfer('deposits', { accountId: 'M2-C1', cash: '1.00', reference }), 201, `deposit ${reference}`);

  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200, 'end of day');
  const later = await transfer('deposits', { accountId: 'M3-C1', cash: '2500.00', reference: 'BOC-20261120-000123' });
  expectOk(t, later, 200, 'on the next day: a bank reference does not recur');
  t.match(later.body, { ref: depositRef, duplicate: true });

  const statements = (await s.api('GET', `/v1/settlement/${eod.body.date}/statements`, { key: 'operator' })).body as { accountId: string; movements: { kind: string; ref: string | null; reference: string | null }[] }[];
  const m3 = statements.find((x) => x.accountId === 'M3-C1');
  // The demo set-up's own deposits come first, without references.
  const transfers = m3?.movements.filter((m) => m.kind === 'deposit' || m.kind === 'withdraw') ?? [];
  t.same(transfers.filter((m) => m.reference !== null).map((m) => [m.kind, m.ref, m.reference]),
    [['deposit', depositRef, 'BOC-20261120-000123'], ['withdraw', withdrawalRef, 'REG/CEA/7781']], 'one line each, the repeats none');
  t.ok(transfers.length > 2, 'the set-up\'s deposits are there too');
  t.ok(m3?.movements.filter((m) => m.ref !== depositRef && m.ref !== withdrawalRef).every((m) => m.reference === null), 'every other line: null');

  const csv = (await s.api('GET', `/v1/settlement/${eod.body.date}/statements`, { key: 'operator', headers: { accept: 'text/csv' } })).text as string;
  const [header, ...lines] = csv.trimEnd().split('\n');
  t.equal(header.split(',').at(-1), 'reference', 'the last column');
  t.ok(lines.some((l) => l.includes(`,deposit,${depositRef.slice(1)},`) && l.endsWith(',BOC-20261120-000123')), 'the deposit line ends with its reference');

  // In the CSV a text that would run as a formula is led by an apostrophe; a number is not; the JSON keeps them as given.
  const m2 = statements.find((x) => x.accountId === 'M2-C1');
  t.same(m2?.movements.filter((m) => m.reference !== null).map((m) => m.reference).slice(-formulas.length), formulas, 'the JSON: as given');
  const cashLines = m2?.movements.filter((m) => m.reference !== null).slice(-formulas.length) as unknown as Record<string, unknown>[];
  t.ok(cashLines.every((m) => m.symbol === null && m.price === null && m.quantity === 0 && m.tonnes === 0 && m.fee === '0.00' && m.cash === '1.00'),
    'a cash deposit: no symbol or price, 0 t, no fee');
  const m2Cells = lines.filter((l) => l.startsWith(`${eod.body.date},M2-C1,`) && l.includes(',deposit,')).map((l) => l.split(',').at(-1));
  t.same(m2Cells.slice(-formulas.length), ["'=1+2", "'+1+2", "'@SUM(A1)", "'-2+3", '-1'], 'the CSV: formulas neutralised');
});
