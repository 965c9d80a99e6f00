// The write-ahead journal on real SQLite files: one transaction per batch, a CRC-32 per entry, a torn
// tail (damage in the last batch) dropped and reported, damage before it stopping start-up with a
// JournalError that names the seq, the schema version checked, facts committed with their commands,
// and a physically torn -wal file losing nothing that was committed.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Journal, JournalError, SCHEMA_VERSION, entryChecksum } from '../../persistence/journal.ts';
import type { Command, EngineEvent } from '../../engine/index.ts';
import { tempFolder } from '../support/exchangeProcess.ts';

const T0 = Date.parse('2026-11-20T10:00:00+08:00');

/** A stamped command the journal can hold (the journal does not interpret commands). */
function command(seq: number, reason = `note ${seq}`): Command {
  return { type: seq % 2 === 1 ? 'haltMarket' : 'resumeMarket', reason, seq, time: T0 + seq, actor: { role: 'risk', id: 'risk-1' } };
}

/** A trade fact as the sequencer records it. */
function trade(seq: number, tradeId: number): EngineEvent {
  return {
    type: 'trade', seq, time: T0 + seq, tradeId, symbol: 'CEA24', mode: 'listed', price: 5746, quantity: 10, buyOrderId: 1, sellOrderId: 2,
    blockId: null, buyAccountId: 'M1-I1', sellAccountId: 'M2-I1', buyRemaining: 0, sellRemaining: 0, buyFee: 0, sellFee: 0, aggressor: 'buy',
  };
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
    for (let i = 0; i < n; i++) j.append(command(++seq));
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

function rows(dir: string): { seq: number; batch: number; command: string; crc: number }[] {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const out = db.prepare('SELECT seq, batch, command, crc FROM journal ORDER BY seq').all() as { seq: number; batch: number; command: string; crc: number }[];
  db.close();
  return out;
}

const seqsOf = (commands: Iterable<Command>): number[] => [...commands].map((c) => c.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

t.test('a new journal is created in WAL mode with synchronous=FULL and stamped with the schema version', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  t.equal(j.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(j.db.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL');
  t.equal(j.meta('schema_version'), String(SCHEMA_VERSION));
  t.equal(j.lastSeq(), 0);
  t.equal(j.genesis(), null);
  j.setGenesis({ tradingDate: '2026-11-20', markets: { file: 'demo.json' } });
  j.close();
  const again = new Journal(dir);
  t.same(again.genesis(), { tradingDate: '2026-11-20', markets: { file: 'demo.json' } }, 'the genesis survives a reopen');
  again.close();
  t.end();
});

t.test('a batch is one transaction: nothing is visible to another connection before commit, all of it after', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  const reader = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.teardown(() => reader.close());
  const count = () => (reader.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n;
  for (let seq = 1; seq <= 5; seq++) j.append(command(seq));
  t.equal(j.pendingCount, 5);
  t.equal(count(), 0, 'appended but not committed: not on disk');
  j.commit();
  t.equal(j.pendingCount, 0);
  t.equal(count(), 5, 'committed: all five');
  for (let seq = 6; seq <= 7; seq++) j.append(command(seq));
  j.commit();
  j.commit(); // an empty commit writes no batch
  const batches = (reader.prepare('SELECT seq, batch FROM journal ORDER BY seq').all() as { seq: number; batch: number }[]).map((r) => r.batch);
  t.same(batches, [1, 1, 1, 1, 1, 2, 2], 'one batch number per commit');
  j.close();
  t.end();
});

t.test('entries come back in order, checked, after any seq; batch numbers continue after a reopen', (t) => {
  const dir = dataDir(t);
  writeBatches(dir, [3, 4, 1]);
  const j = new Journal(dir);
  t.same(seqsOf(j.entries(0)), range(1, 8));
  t.same(seqsOf(j.entries(5)), [6, 7, 8]);
  t.same([...j.entries(2)][0], command(3), 'an entry reads back as the command that was appended');
  t.equal(j.tornTail, null);
  t.equal(j.lastSeq(), 8);
  j.append(command(9));
  j.commit();
  j.close();
  const r = rows(dir);
  t.same(r.map((x) => x.batch), [1, 1, 1, 2, 2, 2, 2, 3, 4]);
  for (const x of r) {
    const c = JSON.parse(x.command) as Command;
    t.equal(x.crc, entryChecksum(x.seq, c.time, x.command), `seq ${x.seq} carries the CRC-32 of seq, time and text`);
  }
  t.end();
});

t.test('close() commits what is still pending', (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  j.append(command(1));
  j.append(command(2));
  j.close();
  t.same(rows(dir).map((r) => r.seq), [1, 2]);
  t.end();
});

t.test('a torn tail: damage in the last batch is dropped and reported, and discardTornTail frees its seqs', async (t) => {
  for (const [what, damage] of [
    ['crc', (dir: string, seq: number) => tamper(dir, 'UPDATE journal SET crc = crc + 1 WHERE seq = ?', seq)],
    ['command text', (dir: string, seq: number) => tamper(dir, "UPDATE journal SET command = substr(command, 1, length(command) - 7) WHERE seq = ?", seq)],
  ] as const) {
    t.test(`by its ${what}, at the start of the last batch`, (t) => {
      const dir = dataDir(t);
      writeBatches(dir, [3, 3, 4]); // the last batch is seq 7–10
      damage(dir, 7);
      const j = new Journal(dir);
      t.same(seqsOf(j.entries(0)), range(1, 6), 'the whole last batch goes');
      t.same(j.tornTail, { fromSeq: 7 });
      j.discardTornTail();
      t.equal(j.lastSeq(), 6);
      j.append(command(7, 'taken again'));
      j.commit();
      j.close();
      const again = new Journal(dir);
      const all = [...again.entries(0)];
      t.same(seqsOf(all), range(1, 7));
      t.equal(again.tornTail, null, 'nothing torn any more');
      t.equal((all[6] as { reason: string }).reason, 'taken again');
      again.close();
      t.end();
    });
    t.test(`by its ${what}, in the middle of the last batch`, (t) => {
      const dir = dataDir(t);
      writeBatches(dir, [3, 3, 4]);
      damage(dir, 9);
      const j = new Journal(dir);
      t.same(seqsOf(j.entries(0)), range(1, 8), 'the sound entries before it in the batch are kept');
      t.same(j.tornTail, { fromSeq: 9 });
      j.discardTornTail();
      t.same(rows(dir).map((r) => r.seq), range(1, 8), 'it and everything after it are deleted');
      j.close();
      t.end();
    });
  }
  t.test('a torn tail takes its facts with it', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    j.append(command(1));
    j.record(trade(1, 1), 0);
    j.commit();
    j.append(command(2));
    j.record(trade(2, 2), 0);
    j.record(trade(2, 3), 1);
    j.commit();
    j.close();
    tamper(dir, 'UPDATE journal SET crc = 0 WHERE seq = 2');
    const k = new Journal(dir);
    t.same(seqsOf(k.entries(0)), [1]);
    k.discardTornTail();
    t.same(k.facts(0, 10).map((e) => (e as { tradeId: number }).tradeId), [1], 'the facts of seq 2 are gone with it');
    k.close();
    t.end();
  });
  t.test('entries after the torn seq are not read from a later position either', (t) => {
    const dir = dataDir(t);
    writeBatches(dir, [2, 3]);
    tamper(dir, 'UPDATE journal SET crc = 0 WHERE seq = 4');
    const j = new Journal(dir);
    t.same(seqsOf(j.entries(3)), [], 'seq 4 is torn, seq 5 after it is dropped too');
    t.same(j.tornTail, { fromSeq: 4 });
    j.close();
    t.end();
  });
});

t.test('damage before the last batch stops start-up with a JournalError naming the seq', async (t) => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['a bad crc', (dir) => tamper(dir, 'UPDATE journal SET crc = crc + 1 WHERE seq = 4'), /seq 4 \(checksum mismatch\)/],
    ['changed command text', (dir) => tamper(dir, `UPDATE journal SET command = replace(command, 'note 4', 'note X') WHERE seq = 4`), /seq 4 \(checksum mismatch\)/],
    ['a checksummed entry that is not JSON', (dir) => {
      const text = '{"type":"haltMarket",';
      tamper(dir, 'UPDATE journal SET command = ?, crc = ? WHERE seq = 4', text, entryChecksum(4, T0 + 4, text));
    }, /seq 4 \(out of sequence or unreadable\)/],
    ['a checksummed entry whose text names another seq', (dir) => {
      const text = JSON.stringify(command(40));
      tamper(dir, 'UPDATE journal SET command = ?, crc = ? WHERE seq = 4', text, entryChecksum(4, T0 + 4, text));
    }, /seq 4 \(out of sequence or unreadable\)/],
    ['a missing entry (a gap)', (dir) => tamper(dir, 'DELETE FROM journal WHERE seq = 4'), /seq 5 \(out of sequence or unreadable\)/],
  ];
  for (const [what, damage, message] of cases) {
    t.test(what, (t) => {
      const dir = dataDir(t);
      writeBatches(dir, [3, 3, 3]); // seq 4 is in batch 2 of 3
      damage(dir);
      const j = new Journal(dir);
      t.teardown(() => j.db.close());
      const read: number[] = [];
      t.throws(() => { for (const c of j.entries(0)) read.push(c.seq); }, JournalError);
      t.throws(() => { for (const _ of j.entries(0)) { /* read through */ } }, message);
      t.ok(read.every((s) => s < 4), 'nothing after the damage was handed out');
      t.equal(j.tornTail, null, 'it is not taken for a torn tail');
      t.equal(rows(dir).length >= 8, true, 'nothing was deleted');
      t.end();
    });
  }
  t.test('damage the reader starts after is not read', (t) => {
    const dir = dataDir(t);
    writeBatches(dir, [3, 3, 3]);
    tamper(dir, 'UPDATE journal SET crc = crc + 1 WHERE seq = 2');
    const j = new Journal(dir);
    t.same(seqsOf(j.entries(3)), range(4, 9), 'entries(3) checks only what it reads (recovery from a snapshot at seq 3)');
    t.throws(() => [...j.entries(0)], /seq 2/);
    j.close();
    t.end();
  });
});

t.test('an older schema version is refused, naming both versions', (t) => {
  const dir = dataDir(t);
  writeBatches(dir, [2]);
  tamper(dir, "UPDATE meta SET value = '0' WHERE key = 'schema_version'");
  const err = t.throws(() => new Journal(dir), JournalError) as Error;
  t.match(err.message, /version 0/, 'names the directory\'s version');
  t.match(err.message, new RegExp(`version ${SCHEMA_VERSION}`), 'names the version this exchange reads');
  t.match(err.message, dir, 'names the directory');
  t.same(rows(dir).map((r) => r.seq), [1, 2], 'the old journal is left as it was');
  t.end();
});

/** A known weakness: its assertions are reported as TODO rather than failures until it is fixed. */
const UNVERSIONED_BUG = {
  todo: 'bug: a journal.sqlite without a schema_version row is taken for a new one: it is stamped with the current version before its tables are checked, and start-up fails on a raw SqliteError',
};

t.test('a journal from before schema versions (tables, no schema_version row) is refused, not adopted', (t) => {
  const dir = dataDir(t);
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'journal.sqlite'));
  db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE journal (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, command TEXT NOT NULL);
    INSERT INTO journal VALUES (1, ${T0}, '{"type":"haltMarket","reason":"old"}');`);
  db.close();
  let error: unknown = null;
  try {
    new Journal(dir).close();
  } catch (e) {
    error = e;
  }
  t.ok(error !== null, 'start-up stops');
  t.ok(error instanceof JournalError, `with a JournalError (got ${(error as Error | null)?.name}: ${(error as Error | null)?.message})`, UNVERSIONED_BUG);
  const after = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const version = after.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get();
  after.close();
  t.equal(version, undefined, 'the old file is not stamped with the current version', UNVERSIONED_BUG);
  t.end();
});

t.test('facts commit in the same transaction as their commands', async (t) => {
  t.test('they are read back in order, by seq range, and the ends of day by type', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    j.append(command(1));
    j.record(trade(1, 1), 0);
    j.record(trade(1, 2), 3);
    j.append(command(2));
    const eod = { type: 'endOfDay', seq: 2, time: T0 + 2, date: '2026-11-20', nextDate: '2026-11-23', feesCollected: 0, instruments: [], largeHolders: [], accounts: [] } as EngineEvent;
    j.record(eod, 0);
    const reader = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    t.teardown(() => reader.close());
    t.equal((reader.prepare('SELECT COUNT(*) AS n FROM facts').get() as { n: number }).n, 0, 'not before commit');
    j.commit();
    t.same(reader.prepare('SELECT seq, idx, type, date FROM facts ORDER BY seq, idx').all(), [
      { seq: 1, idx: 0, type: 'trade', date: null }, { seq: 1, idx: 3, type: 'trade', date: null }, { seq: 2, idx: 0, type: 'endOfDay', date: '2026-11-20' },
    ]);
    t.same(j.facts(0, 1), [trade(1, 1), trade(1, 2)]);
    t.same(j.facts(1, 2), [eod]);
    t.same(j.endsOfDay(), [eod]);
    j.close();
    t.end();
  });
  t.test('a batch whose fact cannot be written leaves neither its commands nor its facts', (t) => {
    const dir = dataDir(t);
    const j = new Journal(dir);
    t.teardown(() => j.db.close());
    j.append(command(1));
    j.commit();
    // Another writer already holds the key (seq 2, idx 0): the fact insert fails inside the transaction.
    tamper(dir, "INSERT INTO facts (seq, idx, type, date, body) VALUES (2, 0, 'trade', NULL, '{}')");
    j.append(command(2));
    j.append(command(3));
    j.record(trade(3, 1), 0);
    j.record(trade(2, 2), 0);
    t.throws(() => j.commit(), /UNIQUE|constraint/i);
    t.same(rows(dir).map((r) => r.seq), [1], 'the whole batch rolled back');
    t.same(j.facts(1, 3), [{}], 'only the row the other writer put there, none of the batch');
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
    // Batch 1: 20 entries; batch 2: 200 long entries, several pages of frames.
    for (const [n, pad] of [[20, 10], [200, 300]] as const) {
      for (let i = 0; i < n; i++) j.append(command(++seq, 'x'.repeat(pad)));
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
    t.same(seqsOf(k.entries(0)), range(1, 220), 'every committed entry');
    t.equal(k.tornTail, null);
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
      t.equal(k.tornTail, null);
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
