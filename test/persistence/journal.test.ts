// The write-ahead journal (schema 3) on real SQLite files: one row and one transaction per batch, a
// CRC-32 over the batch's commands and one over its facts (a schema 2 journal brought to 3), damage anywhere (the last batch included: it was committed, and
// answered) stopping start-up with a JournalError that names the batch's seqs, the genesis committed
// with the first batch, the schema version checked (an older or unversioned file refused, untouched),
// facts, audit entries and ends of day committed with their batch, and a physically torn -wal file
// losing nothing that was committed.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readlinkSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { damaged, Journal, JournalError, SCHEMA_VERSION } from '../../persistence/journal.ts';
import { BackgroundWriter } from '../../persistence/writer.ts';
import type { Command, EngineEvent } from '../../engine/index.ts';
import { batchRows as rows, tempFolder, type BatchRow } from '../support/exchangeProcess.ts';
import { writeSchema1Journal } from '../support/schema1.ts';

const T0 = Date.parse('2026-11-20T10:00:00+08:00');

/** A stamped risk command the journal can hold (the journal does not interpret commands). */
function command(seq: number, reason = `note ${seq}`): Command {
  return { type: seq % 2 === 1 ? 'haltMarket' : 'resumeMarket', reason, seq, time: T0 + seq, actor: { role: 'risk', id: 'risk-1' } };
}

/** A stamped member command (members' commands are not in the audit trail). */
function memberCommand(seq: number): Command {
  return { type: 'cancelOrder', orderId: 40 + seq, seq, time: T0 + seq, actor: { role: 'member', id: 'M1' } };
}

/** A trade fact as the engine produces it. */
function trade(seq: number, tradeId: number): EngineEvent {
  return {
    type: 'trade', seq, time: T0 + seq, tradeId, symbol: 'CEA24', mode: 'listed', price: 5746, quantity: 10, buyOrderId: 1, sellOrderId: 2,
    blockId: null, buyAccountId: 'M1-I1', sellAccountId: 'M2-I1', buyRemaining: 0, sellRemaining: 0, buyFee: 0, sellFee: 0, aggressor: 'buy',
  };
}

/** An event that is not kept as a fact. */
function market(seq: number): EngineEvent {
  return { type: 'market', seq, time: T0 + seq, status: 'halted', reason: 'not a fact' };
}

function endOfDay(seq: number, date: string): EngineEvent {
  return { type: 'endOfDay', seq, time: T0 + seq, date, nextDate: '2026-11-23', feesCollected: 0, instruments: [], largeHolders: [], accounts: [] };
}

/** A fresh data directory, removed when the test ends. */
function dataDir(t: Test): string {
  const folder = tempFolder('journal-test-');
  t.teardown(folder.remove);
  return join(folder.path, 'data');
}

/** Writes batches of the given sizes (seq 1, 2, … in order) and closes the journal. */
function writeBatches(dir: string, sizes: number[]): void {
  const j = new Journal(dir);
  let seq = 0;
  for (const n of sizes) {
    for (let i = 0; i < n; i++) j.append(command(++seq), [], null);
    j.commit();
  }
  j.close();
}

/** Runs SQL on the journal file directly, as damage would. */
function tamper(dir: string, sql: string, ...params: unknown[]): void {
  const db = new Database(join(dir, 'journal.sqlite'));
  db.prepare(sql).run(...params);
  db.close();
}


/** The seqs of the commands on disk, batch by batch. */
function seqsOnDisk(dir: string): number[] {
  return rows(dir).flatMap((r) => (JSON.parse(r.commands) as Command[]).map((c) => c.seq));
}

/** Replaces a batch's commands text; with `crc`, its checksum too (damage a checksum cannot see). */
function rewrite(dir: string, batch: number, text: string, options: { crc: boolean }): void {
  if (options.crc) tamper(dir, 'UPDATE batches SET commands = ?, crc = ? WHERE batch = ?', text, crc32(text), batch);
  else tamper(dir, 'UPDATE batches SET commands = ? WHERE batch = ?', text, batch);
}

function textOf(dir: string, batch: number): string {
  return (rows(dir).find((r) => r.batch === batch) as BatchRow).commands;
}

const seqsOf = (commands: Iterable<Command>): number[] => [...commands].map((c) => c.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Open file descriptors of this process on files in `dir` (Linux; null where /proc is missing). */
function openFilesIn(dir: string): string[] | null {
  if (!existsSync('/proc/self/fd')) return null;
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed while we looked
    }
  }
  return out;
}

/** The tables of a journal file, by name. */
function tablesOf(dir: string): string[] {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const out = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  db.close();
  return out;
}

t.test('a new journal is created in WAL mode with synchronous=FULL and stamped with the schema version', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  t.equal(SCHEMA_VERSION, 3, 'this is schema 3 (one row per batch, facts with a checksum)');
  t.equal(j.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(j.db.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL');
  t.equal(j.meta('schema_version'), String(SCHEMA_VERSION));
  t.same(tablesOf(dir), ['audit', 'batches', 'days', 'facts', 'meta', 'snapshots']);
  t.equal(j.lastSeq(), 0);
  t.equal(j.genesis(), null);
  j.setGenesis({ tradingDate: '2026-11-20', markets: { file: 'demo.json' } });
  j.close();
  const again = new Journal(dir);
  t.same(again.genesis(), { tradingDate: '2026-11-20', markets: { file: 'demo.json' } }, 'close() commits a genesis queued without commands');
  t.equal(again.lastSeq(), 0);
  again.close();
  t.end();
});

t.test('the genesis commits in the same transaction as the first batch', async (t) => {
  t.test('nothing of it is on disk before the commit, all of it after', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    const reader = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    t.teardown(() => reader.close());
    const genesisOnDisk = () => reader.prepare("SELECT value FROM meta WHERE key = 'genesis'").get() as { value: string } | undefined;
    const batchesOnDisk = () => (reader.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number }).n;
    const g = { tradingDate: '2026-11-20', markets: { file: 'demo.json' } };
    j.setGenesis(g);
    for (let seq = 1; seq <= 4; seq++) j.append(command(seq), [], null);
    t.equal(genesisOnDisk(), undefined, 'the genesis is only queued');
    t.equal(j.genesis(), null, 'and the journal does not report it yet');
    t.equal(batchesOnDisk(), 0);
    j.commit();
    t.same(JSON.parse((genesisOnDisk() as { value: string }).value), g, 'committed: the genesis');
    t.equal(batchesOnDisk(), 1, 'and the first batch');
    t.same(j.genesis(), g);
    j.append(command(5), [], null);
    j.commit();
    j.close();
    t.same(rows(dir).map((r) => [r.batch, r.first_seq, r.last_seq]), [[1, 1, 4], [2, 5, 5]], 'the genesis is no batch of its own');
    t.end();
  });
  t.test('a journal that dies before its first commit holds nothing, and starts as new', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    j.setGenesis({ tradingDate: '2026-11-20', markets: null });
    for (let seq = 1; seq <= 30; seq++) j.append(command(seq), [market(seq)], null);
    j.db.close(); // the process dies: no commit
    const again = new Journal(dir);
    t.equal(again.genesis(), null, 'no genesis');
    t.equal(again.lastSeq(), 0, 'no commands');
    t.same(seqsOf(again.entries(0)), []);
    t.same(again.audit(0, 100), [], 'no audit entries');
    t.equal(again.meta('schema_version'), String(SCHEMA_VERSION), 'but a sound, empty journal of the current schema');
    again.close();
    t.end();
  });
  t.test('a journal that dies while it is being created, before its schema version is stamped, starts as new', (t) => {
    // The crash lands on the statement that stamps the schema version: whatever the creation had
    // written before it must not make the directory unusable (it holds nothing yet).
    const dir = dataDir(t);
    const prepare = Database.prototype.prepare;
    let crashed = false;
    Database.prototype.prepare = function (this: Database.Database, source: string) {
      if (!crashed && /^\s*insert\b/i.test(source) && /\bmeta\b/i.test(source)) {
        crashed = true;
        throw new Error('simulated crash');
      }
      return prepare.call(this, source);
    } as typeof prepare;
    try {
      t.throws(() => new Journal(dir), /simulated crash/);
    } finally {
      Database.prototype.prepare = prepare;
    }
    t.ok(crashed, 'the crash came while the new journal was stamped');
    let again: Journal | null = null;
    try {
      again = new Journal(dir);
    } catch (e) {
      t.fail(`the next start is refused: ${(e as Error).message}`);
    }
    if (again !== null) {
      t.equal(again.meta('schema_version'), String(SCHEMA_VERSION), 'the next start makes a sound journal');
      t.equal(again.genesis(), null);
      t.equal(again.lastSeq(), 0);
      again.close();
    }
    t.end();
  });
});

t.test('a batch is one row in one transaction: nothing is visible to another connection before commit, all of it after', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  const reader = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.teardown(() => reader.close());
  const onDisk = () => reader.prepare('SELECT batch, first_seq, last_seq, commands, crc FROM batches ORDER BY batch').all() as BatchRow[];
  for (let seq = 1; seq <= 5; seq++) j.append(command(seq), [], null);
  t.equal(j.pendingCount, 5);
  t.same(onDisk(), [], 'appended but not committed: not on disk');
  t.same(reader.prepare('SELECT seq FROM audit').all(), [], 'nor their audit entries');
  j.commit();
  t.equal(j.pendingCount, 0);
  const first = onDisk();
  t.same(first.map((r) => [r.batch, r.first_seq, r.last_seq]), [[1, 1, 5]], 'committed: one row for all five');
  t.same(JSON.parse(first[0].commands), range(1, 5).map((s) => command(s)), 'holding the five stamped commands, in order');
  t.same((reader.prepare('SELECT seq FROM audit ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq), range(1, 5), 'with their audit entries');
  for (let seq = 6; seq <= 7; seq++) j.append(command(seq), [], null);
  j.commit();
  j.commit(); // an empty commit writes no batch
  t.same(onDisk().map((r) => [r.batch, r.first_seq, r.last_seq]), [[1, 1, 5], [2, 6, 7]], 'one row per commit');
  j.close();
  t.end();
});

t.test('entries come back in order, checked, after any seq; batch numbers continue after a reopen', (t) => {
  const dir = dataDir(t);
  writeBatches(dir, [3, 4, 1]);
  const j = new Journal(dir);
  t.same(seqsOf(j.entries(0)), range(1, 8));
  t.same(seqsOf(j.entries(5)), [6, 7, 8], 'from the middle of a batch');
  t.same(seqsOf(j.entries(7)), [8], 'from the end of a batch');
  t.same(seqsOf(j.entries(8)), []);
  t.same([...j.entries(2)][0], command(3), 'an entry reads back as the command that was appended');
  t.equal(j.lastSeq(), 8);
  j.append(command(9), [], null);
  j.commit();
  j.close();
  const r = rows(dir);
  t.same(r.map((x) => [x.batch, x.first_seq, x.last_seq]), [[1, 1, 3], [2, 4, 7], [3, 8, 8], [4, 9, 9]]);
  for (const x of r) t.equal(x.crc, crc32(x.commands), `batch ${x.batch} carries the CRC-32 of its commands text`);
  t.end();
});

t.test('close() commits what is still pending', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  j.append(command(1), [], null);
  j.append(command(2), [], null);
  j.close();
  t.same(seqsOnDisk(dir), [1, 2]);
  t.end();
});

t.test('damage to the last batch stops start-up too: it was committed in one transaction, and answered', async (t) => {
  // The last batch is seq 7–10 (batch 3); the damage may be anywhere in it.
  const damages: [string, (dir: string) => void][] = [
    ['its crc', (dir) => tamper(dir, 'UPDATE batches SET crc = crc + 1 WHERE batch = 3')],
    ['its text cut short', (dir) => tamper(dir, 'UPDATE batches SET commands = substr(commands, 1, length(commands) - 7) WHERE batch = 3')],
    ['a command in the middle of its text changed', (dir) => rewrite(dir, 3, textOf(dir, 3).replace('note 9', 'note X'), { crc: false })],
    ['a checksummed text that is not JSON', (dir) => rewrite(dir, 3, textOf(dir, 3).slice(0, 40), { crc: true })],
    ['a checksummed text missing a command', (dir) => rewrite(dir, 3, JSON.stringify([7, 8, 10].map((s) => command(s))), { crc: true })],
    ['a seq range that is not its commands\'', (dir) => tamper(dir, 'UPDATE batches SET last_seq = 11 WHERE batch = 3')],
  ];
  for (const [what, damage] of damages) {
    t.test(what, (t) => {
      const dir = dataDir(t);
      writeBatches(dir, [3, 3, 4]);
      damage(dir);
      const before = rows(dir);
      const j = new Journal(dir);
      const read: number[] = [];
      let error: Error | null = null;
      try {
        for (const c of j.entries(0)) read.push(c.seq);
      } catch (e) {
        error = e as Error;
      }
      t.ok(error instanceof JournalError, 'a JournalError');
      t.match(error?.message, /damaged at seq 7–1[01] \(batch 3: .*\); start-up stops rather than trade on a broken history: restore the journal from a copy/);
      t.same(read, range(1, 6), 'nothing of the damaged batch was handed out');
      j.close();
      t.same(rows(dir), before, 'nothing was deleted');
      t.end();
    });
  }
});

t.test('damage before the last batch stops start-up with a JournalError naming its seqs and batch', async (t) => {
  // Four batches of three: batch 2 is seq 4–6, batch 3 is seq 7–9.
  const cases: [string, (dir: string) => void, RegExp, number][] = [
    ['a bad crc', (dir) => tamper(dir, 'UPDATE batches SET crc = crc + 1 WHERE batch = 2'), /seq 4–6 \(batch 2: checksum mismatch or unreadable\)/, 4],
    ['a changed command text', (dir) => rewrite(dir, 2, textOf(dir, 2).replace('note 5', 'note X'), { crc: false }), /seq 4–6 \(batch 2: checksum mismatch or unreadable\)/, 4],
    ['a checksummed text that is not JSON', (dir) => rewrite(dir, 2, '[{"type":"haltMarket",', { crc: true }), /seq 4–6 \(batch 2: checksum mismatch or unreadable\)/, 4],
    ['a checksummed text whose commands name other seqs', (dir) => rewrite(dir, 2, JSON.stringify([40, 41, 42].map((s) => command(s))), { crc: true }), /seq 4–6 \(batch 2: out of sequence\)/, 4],
    ['a checksummed text missing a command (a gap inside the batch)', (dir) => rewrite(dir, 2, JSON.stringify([4, 6].map((s) => command(s))), { crc: true }), /seq 4–6 \(batch 2: out of sequence\)/, 4],
    // A gap may be reported as the seqs missing or as the batch after them that is out of sequence.
    ['a missing batch (a gap between batches)', (dir) => tamper(dir, 'DELETE FROM batches WHERE batch = 2'), /seq (4–6|7–9)\b/, 4],
  ];
  for (const [what, damage, message, firstBad] of cases) {
    t.test(what, (t) => {
      const dir = dataDir(t);
      writeBatches(dir, [3, 3, 3, 3]);
      damage(dir);
      const before = rows(dir);
      const j = new Journal(dir);
      t.teardown(() => j.db.close());
      const read: number[] = [];
      t.throws(() => { for (const c of j.entries(0)) read.push(c.seq); }, JournalError);
      t.throws(() => { for (const _ of j.entries(0)) { /* read through */ } }, message);
      t.ok(read.every((s) => s < firstBad), `nothing from seq ${firstBad} on was handed out (${read.join(', ')})`);
      t.same(rows(dir), before, 'nothing was deleted');
      t.end();
    });
  }
  t.test('a missing batch just before the last one stops start-up', (t) => {
    // The last batch itself is sound: what is damaged is the history before it.
    const dir = dataDir(t);
    writeBatches(dir, [3, 3, 3]);
    tamper(dir, 'DELETE FROM batches WHERE batch = 2');
    const j = new Journal(dir);
    t.teardown(() => j.db.close());
    let error: unknown = null;
    const read: number[] = [];
    try {
      for (const c of j.entries(0)) read.push(c.seq);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof JournalError, `start-up stops with a JournalError (got ${error === null ? `entries ${read.join(', ')}` : (error as Error).message})`);
    t.match((error as Error | null)?.message ?? '', /seq (4–6|7–9)\b/, 'naming the missing seqs or the batch after them');
    t.end();
  });
  t.test('damage the reader starts after is not read', (t) => {
    const dir = dataDir(t);
    writeBatches(dir, [3, 3, 3]);
    tamper(dir, 'UPDATE batches SET crc = crc + 1 WHERE batch = 1');
    const j = new Journal(dir);
    t.same(seqsOf(j.entries(3)), range(4, 9), 'entries(3) checks only what it reads (recovery from a snapshot at seq 3)');
    t.throws(() => [...j.entries(0)], /seq 1–3 \(batch 1/);
    j.close();
    t.end();
  });
});

t.test('a schema 1 journal is refused, naming both versions, and left as it was', (t) => {
  const dir = dataDir(t);
  writeSchema1Journal(dir, { tradingDate: '2026-11-20', markets: null }, [command(1), command(2)]);
  const fdsBefore = openFilesIn(dir);
  const err = t.throws(() => new Journal(dir), JournalError) as Error;
  t.match(err.message, /schema version 1;/, 'names the directory\'s version');
  t.match(err.message, new RegExp(`reads version ${SCHEMA_VERSION}`), 'names the version this exchange reads');
  t.match(err.message, dir, 'names the directory');
  if (fdsBefore !== null) t.same(openFilesIn(dir), fdsBefore, 'the refused file is closed again');
  t.same(tablesOf(dir), ['facts', 'journal', 'meta', 'snapshots'], 'no schema 2 table is added');
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.same(db.prepare('SELECT seq FROM journal ORDER BY seq').all(), [{ seq: 1 }, { seq: 2 }], 'its commands are all there');
  t.same(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get(), { value: '1' }, 'and its version is still 1');
  db.close();
  t.end();
});

t.test('a journal of a newer schema version is refused too', (t) => {
  const dir = dataDir(t);
  writeBatches(dir, [2]);
  tamper(dir, "UPDATE meta SET value = ? WHERE key = 'schema_version'", String(SCHEMA_VERSION + 1));
  const err = t.throws(() => new Journal(dir), JournalError) as Error;
  t.match(err.message, `schema version ${SCHEMA_VERSION + 1};`);
  t.match(err.message, `reads version ${SCHEMA_VERSION}`);
  t.same(seqsOnDisk(dir), [1, 2], 'the journal is left as it was');
  t.end();
});

t.test('a journal from before schema versions (tables, no schema_version row) is refused, not adopted', async (t) => {
  for (const [what, sql] of [
    ['a meta table without the version', `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE journal (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, command TEXT NOT NULL);
      INSERT INTO journal VALUES (1, ${T0}, '{"type":"haltMarket","reason":"old"}');`],
    ['no meta table at all', `CREATE TABLE orders (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
      INSERT INTO orders VALUES (1, 'someone else''s data');`],
  ] as const) {
    t.test(what, (t) => {
      const dir = dataDir(t);
      mkdirSync(dir, { recursive: true });
      const db = new Database(join(dir, 'journal.sqlite'));
      db.exec(sql);
      db.close();
      const tables = tablesOf(dir);
      const fdsBefore = openFilesIn(dir);
      let error: unknown = null;
      try {
        new Journal(dir).close();
      } catch (e) {
        error = e;
      }
      t.ok(error instanceof JournalError, `start-up stops with a JournalError (got ${(error as Error | null)?.name}: ${(error as Error | null)?.message})`);
      t.match((error as Error | null)?.message ?? '', /has tables but no schema version/);
      t.match((error as Error | null)?.message ?? '', join(dir, 'journal.sqlite'), 'naming the file');
      if (fdsBefore !== null) t.same(openFilesIn(dir), fdsBefore, 'the refused file is closed again');
      t.same(tablesOf(dir), tables, 'no table is added to it');
      if (tables.includes('meta')) {
        const after = new Database(join(dir, 'journal.sqlite'), { readonly: true });
        const version = after.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get();
        after.close();
        t.equal(version, undefined, 'the old file is not stamped with the current version');
      }
      t.end();
    });
  }
});

t.test('facts, audit entries and ends of day commit in the same transaction as their batch', async (t) => {
  t.test('they are read back in order, by seq range, the ends of day and the recent trades', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    const eod = endOfDay(3, '2026-11-20');
    j.append(command(1), [trade(1, 1), market(1), trade(1, 2)], null);
    j.append(memberCommand(2), null, { code: 'UNKNOWN_ORDER', message: 'no such order' });
    j.append(command(3), [eod], null);
    j.append(command(4), null, { code: 'NOT_PERMITTED', message: 'not now' });
    const reader = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    t.teardown(() => reader.close());
    const count = (table: string) => (reader.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    t.same([count('facts'), count('audit'), count('days')], [0, 0, 0], 'not before commit');
    j.commit();
    const facts = reader.prepare('SELECT batch, first_seq, last_seq, events, trades FROM facts').all() as { batch: number; first_seq: number; last_seq: number; events: string; trades: number }[];
    t.same(facts.map((f) => [f.batch, f.first_seq, f.last_seq, f.trades]), [[1, 1, 3, 2]], 'one facts row for the batch, with its trade count');
    t.same(JSON.parse(facts[0].events), [trade(1, 1), trade(1, 2), eod], 'holding the events kept as facts, in order (not the market event)');
    t.same(reader.prepare('SELECT date, seq FROM days').all(), [{ date: '2026-11-20', seq: 3 }]);
    t.same(j.facts(0, 1), [trade(1, 1), trade(1, 2)]);
    t.same(j.facts(1, 3), [eod]);
    t.same(j.facts(0, 0), []);
    t.same(j.endsOfDay(), [eod]);
    t.same(j.audit(0, 10), [
      { seq: 1, time: T0 + 1, command: command(1), code: null, message: null },
      { seq: 3, time: T0 + 3, command: command(3), code: null, message: null },
      { seq: 4, time: T0 + 4, command: command(4), code: 'NOT_PERMITTED', message: 'not now' },
    ], 'the risk commands with their outcome; the member\'s command is not audited');
    t.same(j.audit(1, 1).map((a) => a.seq), [3], 'after a seq, up to a limit');
    j.append(memberCommand(5), [], null);
    j.commit();
    t.equal(count('facts'), 1, 'a batch without facts writes no facts row');
    j.close();
    t.end();
  });
  t.test('a batch whose facts cannot be written leaves neither its commands, nor its audit entries, nor the genesis', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    t.teardown(() => j.db.close());
    j.append(command(1), [trade(1, 1)], null);
    j.commit();
    // Another writer already holds the next batch's facts row: the facts insert fails inside the transaction.
    tamper(dir, "INSERT INTO facts (batch, first_seq, last_seq, events, trades) VALUES (2, 2, 2, '[]', 0)");
    j.setGenesis({ tradingDate: '2026-11-20', markets: null });
    j.append(command(2), [], null);
    j.append(command(3), [trade(3, 2), endOfDay(3, '2026-11-20')], null);
    t.throws(() => j.commit(), /UNIQUE|constraint/i);
    t.same(seqsOnDisk(dir), [1], 'the whole batch rolled back');
    t.same(j.facts(0, 3), [trade(1, 1)], 'none of its facts');
    t.same(j.audit(0, 10).map((a) => a.seq), [1], 'none of its audit entries');
    t.same(j.endsOfDay(), [], 'no end of day');
    t.equal(j.genesis(), null, 'and no genesis');
    t.end();
  });
});

t.test('a physically torn -wal file loses nothing that was committed', async (t) => {
  /** Commits batches, copies the files as a crash would leave them after each commit. */
  const build = (t: Test) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    j.db.pragma('wal_autocheckpoint = 0'); // keep every frame in the -wal file
    const walSizes: number[] = [];
    let seq = 0;
    // Batch 1: 20 commands; batch 2: 200 long commands, one row over many pages of frames.
    for (const [n, pad] of [[20, 10], [200, 300]] as const) {
      for (let i = 0; i < n; i++) j.append(command(++seq, 'x'.repeat(pad)), [], null);
      j.commit();
      walSizes.push(statSync(join(dir, 'journal.sqlite-wal')).size);
    }
    /** A copy of the data directory as it is on disk right now (the journal still open: a crash image). */
    const image = (): string => {
      const copy = dataDir(t);
      mkdirSync(copy, { recursive: true });
      copyFileSync(join(dir, 'journal.sqlite'), join(copy, 'journal.sqlite'));
      copyFileSync(join(dir, 'journal.sqlite-wal'), join(copy, 'journal.sqlite-wal'));
      return copy;
    };
    return { dir, j, walSizes, image, pageSize: j.db.pragma('page_size', { simple: true }) as number };
  };

  t.test('garbage appended after the last frame is ignored', (t) => {
    const { j, image } = build(t);
    const copy = image();
    j.close();
    appendFileSync(join(copy, 'journal.sqlite-wal'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff)));
    const k = new Journal(copy);
    t.same(seqsOf(k.entries(0)), range(1, 220), 'every committed command');
    k.close();
    t.end();
  });

  t.test('a -wal cut inside the last transaction drops that transaction whole and keeps the ones before', (t) => {
    const { j, walSizes, image, pageSize } = build(t);
    const frame = 24 + pageSize;
    t.ok(walSizes[1] - walSizes[0] >= 3 * frame, 'the second batch spans several frames');
    const cuts = [walSizes[0] + 10, walSizes[0] + frame, walSizes[0] + frame + 100, walSizes[1] - 1];
    const copies = cuts.map(() => image());
    j.close();
    cuts.forEach((size, i) => {
      truncateSync(join(copies[i], 'journal.sqlite-wal'), size);
      const k = new Journal(copies[i]);
      t.same(seqsOf(k.entries(0)), range(1, 20), `cut at byte ${size}: batch 1 whole, nothing of batch 2`);
      t.equal(k.lastSeq(), 20);
      k.close();
    });
    t.end();
  });

  t.test('after a clean close', (t) => {
    const { dir, j } = build(t);
    j.close();
    const wal = join(dir, 'journal.sqlite-wal');
    if (!existsSync(wal) || statSync(wal).size === 0) {
      t.comment('SQLite checkpointed the -wal into the database and removed it on close: nothing to tear (the crash images above cover it)');
    } else {
      appendFileSync(wal, Buffer.alloc(777, 0xab));
      const k = new Journal(dir);
      t.same(seqsOf(k.entries(0)), range(1, 220));
      k.close();
    }
    const k = new Journal(dir);
    t.same(seqsOf(k.entries(0)), range(1, 220), 'everything is in the database file');
    k.close();
    t.end();
  });
});

t.test('the writer thread writes batches in the order sent, fills in their checksums, and writes nothing after a failure', async (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  const writer = new BackgroundWriter(j);
  const take = (from: number, to: number) => {
    for (let seq = from; seq <= to; seq++) j.append(command(seq), [trade(seq, seq)], null);
    const payload = j.takeBatch(false);
    if (payload === null || payload.batch === null) throw new Error('no batch');
    t.equal(payload.batch[4], null, 'the main thread leaves the checksum to the thread');
    if (payload.facts !== null) t.equal(payload.facts[5], null, "and the facts' checksum");
    return payload;
  };
  // Two in flight at once, as the sequencer sends them.
  const first = take(1, 3);
  const second = take(4, 4);
  const [a, b] = await Promise.all([writer.write(first), writer.write(second)]);
  t.ok(a >= 0 && b >= 0, 'both committed');
  // A batch whose number is taken already fails; the one after it is refused, not written.
  const good = take(5, 6);
  const clash = { ...good, batch: [1, 5, 6, good.batch![3], null] as typeof good.batch };
  const failed = writer.write(clash);
  const after = writer.write(take(7, 8));
  await t.rejects(failed, /UNIQUE|constraint/i);
  await t.rejects(after, /not written after an earlier batch failed/);
  await writer.close();
  const written = rows(dir);
  t.same(written.map((r) => [r.batch, r.first_seq, r.last_seq]), [[1, 1, 3], [2, 4, 4]], 'only the batches before the failure are on disk');
  for (const r of written) t.equal(r.crc, crc32(r.commands), `batch ${r.batch}'s checksum is of its command text`);
  const facts = new Database(join(dir, 'journal.sqlite'), { readonly: true }).prepare('SELECT batch, events, crc FROM facts ORDER BY batch').all() as { batch: number; events: string; crc: number }[];
  t.same(facts.map((f) => f.batch), [1, 2], 'their facts rows');
  for (const f of facts) t.equal(f.crc, crc32(f.events), `batch ${f.batch}'s facts checksum is of its facts text`);
  j.close();
  t.end();
});

t.test('the market history checkpoint: none at first, then only the newest, kept across a reopening', async (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  t.equal(j.marketCheckpoint(), null, 'a journal that never had one (its table is made on first use)');
  j.writeMarketCheckpoint(5, '{"a":1}');
  t.same(j.marketCheckpoint(), { seq: 5, body: '{"a":1}' });
  j.writeMarketCheckpoint(9, '{"b":2}');
  t.same(j.marketCheckpoint(), { seq: 9, body: '{"b":2}' }, 'the newer one');
  t.equal((j.db.prepare('SELECT COUNT(*) AS n FROM market_checkpoints').get() as { n: number }).n, 1, 'the older one is gone');
  j.close();
  const again = new Journal(dir);
  t.same(again.marketCheckpoint(), { seq: 9, body: '{"b":2}' }, 'after reopening');
  again.close();
});

t.test('a journal that cannot be opened for writing is refused naming the file and what to do', async (t) => {
  const dir = dataDir(t);
  mkdirSync(join(dir, 'journal.sqlite'), { recursive: true }); // a folder where the file belongs
  const err = t.throws(() => new Journal(dir), JournalError) as Error;
  t.match(err.message, `cannot open the journal ${join(dir, 'journal.sqlite')} for writing`);
  t.match(err.message, 'must be a folder the exchange may write');
});

t.test('a read-only connection reads what the writer committed, writes nothing, and never makes a journal where there is none', async (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  j.append(command(1), [{ type: 'warning', seq: 1, time: T0 + 1, warningId: 1, symbol: null, text: 'kept' } as unknown as EngineEvent], null);
  j.commit();
  const reader = new Journal(dir, { readonly: true });
  t.same(reader.facts(0, 1).map((e) => e.seq), [1], 'it reads the committed facts');
  t.throws(() => reader.db.exec("INSERT INTO meta (key, value) VALUES ('x', 'y')"), { code: 'SQLITE_READONLY' }, 'it cannot write');
  reader.db.close();
  j.close();

  const gone = join(dir, 'gone');
  const err = t.throws(() => new Journal(gone, { readonly: true }), JournalError) as Error;
  t.match(err.message, `cannot open the journal ${join(gone, 'journal.sqlite')} to read it`);
  t.notOk(existsSync(gone), 'and makes neither the folder nor a journal');
});

t.test('facts by seq range: every range of many batches, some without facts, reads what a scan would', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  // 60 batches of 1–4 commands; every third command has no facts, so batches' seq ranges have gaps.
  const all: EngineEvent[] = [];
  let seq = 0;
  for (let b = 0; b < 60; b++) {
    for (let k = 0; k <= b % 4; k++) {
      seq++;
      const events = seq % 3 === 0 ? null : [trade(seq, seq)];
      if (events !== null) all.push(...events);
      j.append(command(seq), events, null);
    }
    j.commit();
  }
  let ranges = 0;
  for (let from = 0; from <= seq + 1; from += 3) {
    for (let to = from; to <= seq + 2; to += 5) {
      t.same(j.facts(from, to), all.filter((e) => e.seq > from && e.seq <= to), `(${from}, ${to}]`);
      ranges++;
    }
  }
  t.ok(ranges > 100, `${ranges} ranges`);
  t.end();
});

t.test('SQLite finding damage wherever a start reads is told as the journal damaged, naming the file', async (t) => {
  const malformed = Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
  const told = damaged('/data/journal.sqlite', malformed);
  t.type(told, JournalError);
  t.equal((told as Error).message, '/data/journal.sqlite is damaged (database disk image is malformed): start-up stops rather than trade on a broken history: restore the journal from a copy');
  t.match((damaged('/d/journal.sqlite', Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT_INDEX' })) as Error).message, /is damaged \(x\)/, 'every kind of corruption');
  const other = new Error('EACCES');
  t.equal(damaged('/d/journal.sqlite', other), other, 'anything else as it is');
  const already = new JournalError('the journal is damaged at seq 5–6');
  t.equal(damaged('/d/journal.sqlite', already), already, 'a JournalError as it is');
});

t.test('facts carry a checksum: damage that still parses is found wherever they are read', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  j.append(command(1), [trade(1, 1)], null);
  j.append(command(2), [trade(2, 2)], null);
  j.commit();
  j.append(command(3), [trade(3, 3)], null);
  j.commit();
  const written = j.recordedFacts(1) as string;
  j.close();
  t.equal(crc32(written), (new Database(join(dir, 'journal.sqlite'), { readonly: true }).prepare('SELECT crc FROM facts WHERE batch = 1').get() as { crc: number }).crc, 'the checksum of the text written');
  // A price changed by one fen: still JSON, still a list of trades.
  tamper(dir, "UPDATE facts SET events = replace(events, '\"price\":5746', '\"price\":5747') WHERE batch = 1");
  const again = new Journal(dir);
  t.teardown(() => again.close());
  for (const [what, read] of [['by seq range', () => again.facts(0, 3)], ['one batch, as the replay compares them', () => again.recordedFacts(1)]] as const) {
    const err = t.throws(read, JournalError, what) as Error;
    t.match(err.message, /the facts of seq 1–2 \(batch 1\) in .*journal\.sqlite are damaged \(their checksum does not match\)/, `${what}: names the seqs, the batch and the file`);
  }
  t.same(again.facts(2, 3), [trade(3, 3)], 'the batches after it read as before');
  t.end();
});

t.test('a schema 2 journal is brought to 3 on opening: its facts read as before, new ones get a checksum', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  j.append(command(1), [trade(1, 1)], null);
  j.commit();
  j.close();
  // As schema 2 wrote it: no checksum column on the facts.
  tamper(dir, 'ALTER TABLE facts DROP COLUMN crc');
  tamper(dir, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
  const columns = () => (new Database(join(dir, 'journal.sqlite'), { readonly: true }).prepare('PRAGMA table_info(facts)').all() as { name: string }[]).map((c) => c.name);
  t.notOk(columns().includes('crc'), 'schema 2 has none');
  const again = new Journal(dir);
  t.equal(again.meta('schema_version'), '3', 'now version 3');
  t.ok(columns().includes('crc'), 'with the column');
  t.same(again.facts(0, 1), [trade(1, 1)], 'the old facts (no checksum) read as before');
  again.append(command(2), [trade(2, 2)], null);
  again.commit();
  again.close();
  const rowsNow = new Database(join(dir, 'journal.sqlite'), { readonly: true }).prepare('SELECT batch, events, crc FROM facts ORDER BY batch').all() as { batch: number; events: string; crc: number | null }[];
  t.same(rowsNow.map((r) => [r.batch, r.crc === null ? null : r.crc === crc32(r.events)]), [[1, null], [2, true]], 'the old row without a checksum, the new one with its own');
  t.same(seqsOnDisk(dir), [1, 2], 'every command kept');
  t.end();
});
