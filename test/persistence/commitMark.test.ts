// The journal's commit mark (journal.committed): after each commit, on the main thread and on the
// writer thread, it names the last batch and seq committed. A start whose journal ends before it
// (a -wal file deleted, cut short or damaged inside its committed frames: SQLite ends its log at the
// first bad frame and says nothing) stops, changing nothing, rather than lose acknowledged batches
// and hand their ids out again. Real SQLite files, copied as a crash leaves them.
import t, { type Test } from 'tap';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { COMMIT_MARK, Journal, JournalError, readCommitMark } from '../../persistence/journal.ts';
import { BackgroundWriter } from '../../persistence/writer.ts';
import type { Command } from '../../engine/index.ts';
import { tempFolder } from '../support/exchangeProcess.ts';

const T0 = Date.parse('2026-11-20T10:00:00+08:00');
const command = (seq: number): Command => ({ type: 'cancelOrder', orderId: 40 + seq, seq, time: T0 + seq, actor: { role: 'member', id: 'M1' } });

function dataDir(t: Test): string {
  const folder = tempFolder('commit-mark-');
  t.teardown(folder.remove);
  return join(folder.path, 'data');
}

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const seqsOf = (dir: string) => {
  const j = new Journal(dir);
  const seqs = [...j.entries(0)].map((c) => c.seq);
  j.close();
  return seqs;
};

/**
 * Ten batches of 30 commands (300 bytes of text each: a batch spans frames), every frame kept in
 * the -wal; `image(files)` copies the directory as it is on disk now, the journal still open.
 */
function build(t: Test) {
  const dir = dataDir(t);
  const j = new Journal(dir);
  j.db.pragma('wal_autocheckpoint = 0');
  const walSizes: number[] = [];
  let seq = 0;
  for (let b = 0; b < 10; b++) {
    for (let i = 0; i < 30; i++) j.append({ ...command(++seq), note: 'x'.repeat(300) } as unknown as Command, [], null);
    j.commit();
    walSizes.push(statSync(join(dir, 'journal.sqlite-wal')).size);
  }
  const image = (files = ['journal.sqlite', 'journal.sqlite-wal', COMMIT_MARK]): string => {
    const copy = dataDir(t);
    mkdirSync(copy, { recursive: true });
    for (const f of files) copyFileSync(join(dir, f), join(copy, f));
    return copy;
  };
  return { dir, j, walSizes, image, frame: 24 + (j.db.pragma('page_size', { simple: true }) as number) };
}

t.test('each commit moves the mark to its batch and last seq', async (t) => {
  const { dir, j } = build(t);
  t.same(readCommitMark(dir), { batch: 10, seq: 300 });
  j.append(command(301), [], null);
  j.commit();
  t.same(readCommitMark(dir), { batch: 11, seq: 301 });
  j.close();
  t.same(readCommitMark(dir), { batch: 11, seq: 301 }, 'a close with nothing to commit leaves it');
});

t.test('the writer thread moves the mark after each batch it commits', async (t) => {
  const dir = dataDir(t);
  const j = new Journal(dir);
  const writer = new BackgroundWriter(j);
  for (const [from, to] of [[1, 3], [4, 9]]) {
    for (let seq = from; seq <= to; seq++) j.append(command(seq), [], null);
    await writer.write(j.takeBatch(false)!);
    t.same(readCommitMark(dir), { batch: from === 1 ? 1 : 2, seq: to }, `after the batch of seq ${from}–${to}`);
  }
  await writer.close();
  j.close();
});

t.test('a journal whose -wal is gone, cut short or damaged stops the start and is left as it was', async (t) => {
  const { j, walSizes, image, frame } = build(t);
  const gone = image(['journal.sqlite', COMMIT_MARK]);
  const cut = image();
  const flipped = image();
  j.close();
  // Cut inside batch 6's frames: batches 6–10 were committed and are past the cut.
  truncateSync(join(cut, 'journal.sqlite-wal'), walSizes[4] + frame + 100);
  // Four bytes changed inside a page of batch 4: SQLite reads the log up to batch 3 only.
  const wal = readFileSync(join(flipped, 'journal.sqlite-wal'));
  wal.writeUInt32BE((wal.readUInt32BE(walSizes[2] + 24 + 2000) ^ 0xdeadbeef) >>> 0, walSizes[2] + 24 + 2000);
  writeFileSync(join(flipped, 'journal.sqlite-wal'), wal);

  for (const [copy, what, ends] of [[gone, 'no -wal', 0], [cut, 'a -wal cut inside batch 6', 150], [flipped, 'a -wal damaged inside batch 4', 90]] as const) {
    const before = existsSync(join(copy, 'journal.sqlite-wal')) ? digest(join(copy, 'journal.sqlite-wal')) : null;
    const main = digest(join(copy, 'journal.sqlite'));
    t.throws(() => new Journal(copy), JournalError, what);
    try {
      new Journal(copy);
    } catch (e) {
      t.match((e as Error).message, new RegExp(`ends at seq ${ends} .*but seq 300 \\(batch 10\\) was committed and acknowledged here .*-wal file is missing, cut short or damaged.*Nothing was changed.*remove .*${COMMIT_MARK}`), `${what}: says what was lost and what to do`);
    }
    t.equal(digest(join(copy, 'journal.sqlite')), main, `${what}: journal.sqlite untouched`);
    if (before !== null) t.equal(digest(join(copy, 'journal.sqlite-wal')), before, `${what}: the -wal untouched, past the damage too`);
  }

  // Without the mark, the copy starts with what it holds.
  rmSync(join(cut, COMMIT_MARK));
  t.same(seqsOf(cut).length, 150, 'the mark removed: the copy starts with what it holds, the operator having chosen it');
});

t.test('a whole crash image starts with every batch, and so does a mark that lags', async (t) => {
  const { j, image } = build(t);
  const whole = image();
  const lagging = image();
  j.close();
  t.same(seqsOf(whole).length, 300, 'journal, -wal and mark together: everything');
  writeFileSync(join(lagging, COMMIT_MARK), '7 210'.padEnd(42) + '\n');
  t.same(seqsOf(lagging).length, 300, 'a mark behind the journal (written after its commit) guards nothing more');
  writeFileSync(join(lagging, COMMIT_MARK), 'garbage');
  t.same(seqsOf(lagging).length, 300, 'a mark that is not one the exchange wrote is ignored');
});

t.test('a missing journal beside a mark is a lost journal, not a new directory', async (t) => {
  const { j, image } = build(t);
  const copy = image([COMMIT_MARK]);
  j.close();
  t.throws(() => new Journal(copy), /journal\.sqlite is missing or empty, but .* holds journal\.committed of an exchange that ran here/);
});
