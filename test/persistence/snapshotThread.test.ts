// Snapshots taken on the snapshot thread, from the journal, on a real SQLite file: the state it
// records is the exchange's own; asked again with nothing committed since, it writes nothing new;
// its replay checks the facts of the last batch it reads in full, though its connection never
// writes; and should it fail (the disk no longer holds what rebuilds the state), the snapshot is
// taken from the exchange's engine instead, so that a crash would still leave a directory that starts.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { Engine } from '../../engine/index.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { writeDurably } from '../../persistence/files.ts';
import { Journal, JournalError, type Genesis } from '../../persistence/journal.ts';
import { recover, replay, type Recovered } from '../../persistence/recovery.ts';
import { Sequencer, type CommandBody } from '../../persistence/sequencer.ts';

const GENESIS: Genesis = { tradingDate: '2026-11-20', markets: { file: 'markets/demo.json' } };
const T0 = Date.parse('2026-11-20T10:00:00+08:00');
const SETUP = loadMarkets(DEMO_MARKETS_FILE);
const M1 = { role: 'member' as const, id: 'M1' };
const M2 = { role: 'member' as const, id: 'M2' };
const limit = (accountId: string, side: 'buy' | 'sell', price: number, quantity: number): CommandBody => ({
  type: 'placeOrder', accountId, symbol: 'CEA24', side, orderType: 'limit', price, quantity, timeInForce: 'DAY', targetOrderId: null, clientOrderId: null,
} as CommandBody);

/** The demo market on a new directory, the writer thread as the exchange runs it, and a crossing pair per batch. */
async function rig(t: Test): Promise<{ dir: string; r: Recovered; sequencer: Sequencer; trade: (n: number) => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'snapshot-thread-test-'));
  const r = recover(dir, { genesis: GENESIS });
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => T0, background: true });
  t.teardown(async () => {
    if (r.journal.db.open) {
      await sequencer.shutdown();
      r.journal.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const setup = await Promise.all(SETUP.commands.map((body) => sequencer.submit({ role: 'operator', id: 'setup' }, body)));
  if (!setup.every((x) => x.ok)) throw new Error('the demo set-up was refused');
  const trade = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const done = await Promise.all([sequencer.submit(M1, limit('M1-C1', 'sell', 5746, 2)), sequencer.submit(M2, limit('M2-C1', 'buy', 5746, 2))]);
      if (!done.every((x) => x.ok)) throw new Error('an order was refused');
    }
  };
  return { dir, r, sequencer, trade };
}

t.test('the thread\'s snapshot is the exchange\'s state; asked again with nothing new, it writes nothing', async (t) => {
  const x = await rig(t);
  await x.trade(5);
  await x.sequencer.snapshot();
  const [first] = x.r.snapshots.list();
  t.equal(first.seq, x.r.engine.lastSequence, 'it holds every command committed');
  t.equal(first.hash, x.r.engine.stateHash(), 'and the exchange\'s state');
  const file = join(x.r.snapshots.folder, first.file);
  const inode = statSync(file).ino;
  await x.sequencer.snapshot();
  t.same(x.r.snapshots.list().map((s) => s.seq), [first.seq], 'the same snapshot again');
  t.equal(statSync(file).ino, inode, 'its file was not written again');
  await x.trade(3);
  await x.sequencer.snapshot();
  const [second] = x.r.snapshots.list();
  t.equal(second.seq, x.r.engine.lastSequence, 'the next one, from the engine the thread kept, holds the new commands');
  t.equal(second.hash, x.r.engine.stateHash());
});

t.test('a snapshot the thread cannot rebuild from the disk is taken from the exchange\'s engine', async (t) => {
  const x = await rig(t);
  await x.trade(4);
  // A batch damaged on disk after the start: no replay gets past it.
  const db = new Database(join(x.dir, 'journal.sqlite'));
  db.prepare('UPDATE batches SET crc = crc + 1 WHERE batch = (SELECT MAX(batch) - 1 FROM batches)').run();
  db.close();
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { stderr.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    await x.sequencer.snapshot();
  } finally {
    process.stderr.write = write;
  }
  t.match(stderr.join(''), /snapshot on the snapshot thread failed \(the journal is damaged at seq .*\): taken from the exchange's engine instead/);
  const [taken] = x.r.snapshots.list();
  t.equal(taken?.seq, x.r.engine.lastSequence, 'a snapshot of every command committed is recorded');
  t.equal(taken?.hash, x.r.engine.stateHash(), 'of the exchange\'s state');
  // What a crash now would leave starts, from that snapshot, past the damaged batch.
  const hash = x.r.engine.stateHash();
  await x.sequencer.shutdown();
  x.r.journal.db.prepare('DELETE FROM snapshots WHERE seq <> ?').run(taken.seq); // as if the shutdown's own had not been taken
  x.r.journal.close();
  const again = recover(x.dir);
  t.teardown(() => again.journal.close());
  t.equal(again.fromSnapshot, taken.seq);
  t.equal(again.engine.stateHash(), hash, 'the restart reaches the same state');
});

t.test('the replay fully checks the last batch it reads, on a connection that has not written it', async (t) => {
  const x = await rig(t);
  await x.trade(2);
  // A connection opened now, as the snapshot thread's is, and kept while more batches are written.
  const reader = new Journal(x.dir);
  t.teardown(() => reader.db.close());
  const engine = Engine.restore(JSON.parse(JSON.stringify(x.r.engine.snapshot())));
  await x.trade(2);
  // The last batch's facts altered on disk, its trade count kept: only a full check sees it.
  const db = new Database(join(x.dir, 'journal.sqlite'));
  const row = db.prepare('SELECT batch, events FROM facts ORDER BY batch DESC LIMIT 1').get() as { batch: number; events: string };
  db.prepare('UPDATE facts SET events = ? WHERE batch = ?').run(row.events.replace('"quantity":2', '"quantity":3'), row.batch);
  db.close();
  t.throws(() => replay(engine, reader), JournalError, 'the altered facts of the last batch are refused');
});

t.test('a durable write that fails leaves no temporary file behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'write-durably-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'report.json'), 'the old file\n');
  const pieces = function* () {
    yield 'a first piece\n';
    throw new Error('no space left');
  };
  t.throws(() => writeDurably(dir, 'report.json', pieces()), /no space left/);
  t.same(readdirSync(dir), ['report.json'], 'the temporary file is gone');
});
