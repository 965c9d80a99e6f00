// Archiving moves what the newest sound snapshot covers out of the live journal, and the exchange
// still starts to the same state; without that snapshot it refuses rather than guess.
import t from 'tap';
import Database from 'better-sqlite3';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { archive } from '../../persistence/archive.ts';
import { recover } from '../../persistence/recovery.ts';
import { Sequencer } from '../../persistence/sequencer.ts';
import { allDay, loadProfile } from '../support/harness.ts';

const TIME = Date.parse('2026-11-20T10:00:00+08:00');
const op = { role: 'operator' as const, id: 'ops' };

async function buildDay(dir: string): Promise<string> {
  const r = recover(dir, { genesis: { tradingDate: '2026-11-20', markets: null } });
  const seq = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => TIME });
  await seq.submit(op, { type: 'listInstrument', symbol: 'CEA24', profile: allDay(loadProfile('cea')), listingPrice: 5746 });
  for (const m of ['M1', 'M2']) {
    await seq.submit(op, { type: 'createAccount', accountId: `${m}-A`, member: m, accountClass: 'institution' });
    await seq.submit(op, { type: 'deposit', accountId: `${m}-A`, cash: 100_000_000 });
    await seq.submit(op, { type: 'deposit', accountId: `${m}-A`, symbol: 'CEA24', quantity: 10_000 });
  }
  const trade = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await seq.submit({ role: 'member', id: 'M1' }, { type: 'placeOrder', accountId: 'M1-A', symbol: 'CEA24', side: 'sell', orderType: 'limit', price: 5700 + (i % 5), quantity: 3 });
      await seq.submit({ role: 'member', id: 'M2' }, { type: 'placeOrder', accountId: 'M2-A', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5702, quantity: 2 });
    }
  };
  await trade(20);
  r.snapshots.takeSync(r.engine);
  await trade(10);
  r.snapshots.takeSync(r.engine);
  await trade(10);
  const hash = r.engine.stateHash();
  await seq.shutdown();
  r.journal.close();
  return hash;
}

t.test('archived batches and older snapshots leave the live journal; the exchange starts to the same state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hash = await buildDay(dir);
  const before = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const batchesBefore = (before.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
  const factsBefore = (before.prepare('SELECT count(*) AS n FROM facts').get() as { n: number }).n;
  before.close();

  const result = archive(dir);
  t.ok(result.batches > 0, 'some batches were archived');
  t.ok(result.file !== null && existsSync(result.file), 'into an archive file');
  t.equal(result.snapshotsMoved, 2, 'the two older snapshots moved (the final shutdown snapshot stays)');
  t.equal(readdirSync(join(dir, 'archive', 'snapshots')).length, 2);

  const after = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const live = (after.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
  t.equal(live, batchesBefore - result.batches, 'the archived batches are gone from the live journal');
  t.equal((after.prepare('SELECT count(*) AS n FROM facts').get() as { n: number }).n, factsBefore, 'the facts stay');
  after.close();
  const archived = new Database(result.file as string, { readonly: true });
  t.equal((archived.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n, result.batches, 'and are in the archive');
  archived.close();

  const r = recover(dir);
  t.equal(r.engine.stateHash(), hash, 'recovery from the remaining snapshot reaches the same state');
  t.equal(r.fromSnapshot, result.snapshotSeq);
  t.ok(r.journal.facts(0, Number.MAX_SAFE_INTEGER).some((e) => e.type === 'trade'), 'the trade facts are still readable');
  r.journal.close();
});

t.test('after an archive of every batch, the exchange goes on committing, recovers, and archives again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await buildDay(dir); // ends with a shutdown snapshot at the last seq: every batch is archived
  const first = archive(dir);
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.equal((db.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n, 0, 'the live journal holds no batch');
  const lastFact = (db.prepare('SELECT MAX(batch) AS n FROM facts').get() as { n: number }).n;
  db.close();

  const r = recover(dir);
  const seq = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => TIME, background: true });
  for (let i = 0; i < 5; i++) {
    const placed = await seq.submit({ role: 'member', id: 'M1' }, { type: 'placeOrder', accountId: 'M1-A', symbol: 'CEA24', side: 'sell', orderType: 'limit', price: 5700, quantity: 3 });
    t.ok(placed.ok, `order ${i + 1} after the archive commits`);
    await seq.submit({ role: 'member', id: 'M2' }, { type: 'placeOrder', accountId: 'M2-A', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5702, quantity: 3 });
  }
  const hash = r.engine.stateHash();
  await seq.shutdown();
  r.journal.close();

  const check = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const batches = check.prepare('SELECT batch FROM batches ORDER BY batch').all() as { batch: number }[];
  check.close();
  t.ok(batches.length > 0 && batches[0].batch > lastFact, `new batches are numbered after every batch used (first ${batches[0]?.batch}, last fact's batch ${lastFact})`);

  const again = recover(dir);
  t.equal(again.engine.stateHash(), hash, 'recovery reaches the state after the new orders');
  t.ok(again.journal.facts(0, Number.MAX_SAFE_INTEGER).filter((e) => e.type === 'trade').length > 0, 'the facts of both periods are readable');
  again.journal.close();

  const second = archive(dir);
  t.ok(second.batches > 0 && second.file !== first.file, 'a second archive moves the new batches to a file of their own');
  const last = recover(dir);
  t.equal(last.engine.stateHash(), hash, 'and the exchange still starts to the same state');
  last.journal.close();
});

t.test('without a snapshot covering the archived batches, start-up refuses and names the gap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await buildDay(dir);
  const result = archive(dir);
  for (const f of readdirSync(join(dir, 'snapshots'))) unlinkSync(join(dir, 'snapshots', f));
  t.throws(() => recover(dir), { name: 'JournalError', message: /up to seq \d+ is archived and no sound snapshot covers it/ });
  t.ok(result.batches > 0);
});

t.test('archiving needs a sound snapshot', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = recover(dir, { genesis: { tradingDate: '2026-11-20', markets: null } });
  const seq = new Sequencer(r.engine, r.journal, null, { now: () => TIME });
  await seq.submit(op, { type: 'createAccount', accountId: 'M1-A', member: 'M1', accountClass: 'institution' });
  r.journal.close();
  t.throws(() => archive(dir), /no sound snapshot/);
});

t.test('a directory without a journal is refused, and nothing is created in it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => archive(join(dir, 'mistyped')), { name: 'JournalError', message: /mistyped holds no journal \(journal\.sqlite\): name the data directory of an exchange/ });
  t.notOk(existsSync(join(dir, 'mistyped')), 'the mistyped directory is not made');
});

t.test('an archive killed part-way: the next one finishes it, and never replaces a file that holds other batches', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'cx-archive-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'a');
  mkdirSync(dir);
  const hash = await buildDay(dir);
  // Two more copies of the stopped exchange's directory, to archive as if an earlier run had been killed.
  cpSync(dir, join(base, 'b'), { recursive: true });
  cpSync(dir, join(base, 'c'), { recursive: true });
  cpSync(dir, join(base, 'd'), { recursive: true });
  const done = archive(dir);
  const name = basename(done.file as string);
  const batchesIn = (file: string) => {
    const db = new Database(file, { readonly: true });
    try { return db.prepare('SELECT batch, crc FROM batches ORDER BY batch').all(); } finally { db.close(); }
  };

  // b: killed while writing. Before, that left an empty file under the final name (and its journal);
  // now the file is written under a temporary name. Either leftover is replaced.
  const b = join(base, 'b');
  mkdirSync(join(b, 'archive'), { recursive: true });
  writeFileSync(join(b, 'archive', name), '');
  writeFileSync(join(b, 'archive', `${name}-journal`), 'partial');
  writeFileSync(join(b, 'archive', `${name}.tmp`), 'partial');
  const rb = archive(b);
  t.equal(rb.file, join(b, 'archive', name), 'b: the same archive file name');
  t.same(batchesIn(rb.file as string), batchesIn(done.file as string), 'b: holding every archived batch');
  t.same(readdirSync(join(b, 'archive')).filter((f) => f.startsWith('journal-')), [name], 'b: and no leftover beside it');
  t.equal(recover(b).engine.stateHash(), hash, 'b: the exchange starts to the same state');

  // c: killed after the file was in place, before the live journal let the batches go.
  const c = join(base, 'c');
  mkdirSync(join(c, 'archive'), { recursive: true });
  cpSync(done.file as string, join(c, 'archive', name));
  const rc = archive(c);
  t.equal(rc.batches, done.batches, 'c: the batches leave the live journal');
  t.same(batchesIn(rc.file as string), batchesIn(done.file as string), 'c: the file found is used as it is');
  const live = new Database(join(c, 'journal.sqlite'), { readonly: true });
  t.equal((live.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n, 0, 'c: none is left in the live journal');
  live.close();

  // d: a file of that name holding other batches is not replaced.
  const d = join(base, 'd');
  mkdirSync(join(d, 'archive'), { recursive: true });
  cpSync(done.file as string, join(d, 'archive', name));
  const other = new Database(join(d, 'archive', name));
  other.prepare('DELETE FROM batches WHERE batch = (SELECT MAX(batch) FROM batches)').run();
  other.close();
  t.throws(() => archive(d), { name: 'JournalError', message: new RegExp(`${name} exists already and holds other batches than the ${done.batches} to archive .*: move it away, then archive again`) });
  const untouched = new Database(join(d, 'journal.sqlite'), { readonly: true });
  t.equal((untouched.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n, done.batches, 'd: the live journal keeps its batches');
  untouched.close();
});
