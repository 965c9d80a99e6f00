// Start-up: open the data directory, restore the newest sound snapshot, replay the journal after
// it, and hand back an engine in exactly the state the last acknowledged command left. A new
// directory starts from the genesis it is given. Nothing is served until this has finished.
import { Engine } from '../engine/index.ts';
import { Journal, JournalError, type Genesis } from './journal.ts';
import { SnapshotStore } from './snapshots.ts';

export interface Recovered {
  engine: Engine;
  journal: Journal;
  snapshots: SnapshotStore;
  /** True when the directory was new. */
  created: boolean;
  fromSnapshot: number | null;
  replayed: number;
  tornTailFrom: number | null;
  skippedSnapshots: string[];
  millis: number;
}

export function recover(dir: string, options: { genesis?: Genesis; synchronous?: 'FULL' | 'OFF' } = {}): Recovered {
  const started = performance.now();
  const journal = new Journal(dir, { synchronous: options.synchronous });
  const snapshots = new SnapshotStore(journal);
  let genesis = journal.genesis();
  const created = genesis === null;
  if (genesis === null) {
    if (journal.lastSeq() > 0) throw new JournalError(`the journal in ${dir} has commands but no genesis record: it is not a complete data directory`);
    if (options.genesis === undefined) throw new JournalError(`${dir} holds no exchange yet and no genesis was given`);
    genesis = options.genesis;
    journal.setGenesis(genesis);
  }
  const found = snapshots.latestValid();
  const engine = found.engine ?? new Engine({ tradingDate: genesis.tradingDate });
  const fromSnapshot = found.engine === null ? null : found.record.seq;
  const archivedThrough = Number(journal.meta('archived_through') ?? 0);
  if (engine.lastSequence < archivedThrough) {
    journal.db.close();
    throw new JournalError(`the journal up to seq ${archivedThrough} is archived and no sound snapshot covers it${found.skipped.length ? ` (${found.skipped.join('; ')})` : ''}: restore a snapshot or the archived batches`);
  }
  let replayed = 0;
  try {
    for (const command of journal.entries(engine.lastSequence)) {
      engine.apply(command);
      replayed++;
    }
  } catch (e) {
    journal.db.close();
    throw e;
  }
  const tornTailFrom = journal.tornTail?.fromSeq ?? null;
  journal.discardTornTail();
  return { engine, journal, snapshots, created, fromSnapshot, replayed, tornTailFrom, skippedSnapshots: found.skipped, millis: performance.now() - started };
}
