// The snapshot thread itself (started by SnapshotStore.takeByReplay): its own connection to the
// journal and an engine of its own, brought up to the journal's last committed command by replay
// (the replay a start runs, its facts check included), then serialised and written. The engine is
// kept between snapshots, so that each one replays only the commands since the one before; after a
// failure the next starts again from the newest sound snapshot.
import { workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { snapshotWithHash, type Engine } from '../engine/index.ts';
import { syncFolder, writeDurably } from './files.ts';
import { Journal, JournalError } from './journal.ts';
import { serve } from './moduleThread.ts';
import { replay, replayStart } from './recovery.ts';
import { latestValid, snapshotFile, type SnapshotRecord } from './snapshots.ts';

const { dataDir, folder, synchronous } = workerData as { dataDir: string; folder: string; synchronous: 'FULL' | 'OFF' };
const journal = new Journal(dataDir, { synchronous });
let engine: Engine | null = null;

/** The engine brought up to the last committed command. */
function caughtUp(): Engine {
  try {
    if (engine === null) {
      const genesis = journal.genesis();
      if (genesis === null) throw new JournalError(`${journal.file} has no genesis record`);
      engine = replayStart(journal, genesis, latestValid(journal, folder));
    }
    replay(engine, journal);
    return engine;
  } catch (e) {
    engine = null;
    throw e;
  }
}

/** The last snapshot this thread wrote: asked again with nothing committed since, it is the answer. */
let written: SnapshotRecord | null = null;

serve((): SnapshotRecord => {
  const current = caughtUp();
  if (written !== null && written.seq === current.lastSequence) return written;
  const { lastSeq: seq, hash, text } = snapshotWithHash(current);
  const file = snapshotFile(seq);
  writeDurably(folder, file, text);
  syncFolder(folder);
  written = { seq, hash, file, crc: crc32(text) };
  return written;
}, () => {
  // Only reads went through this connection.
  journal.db.close();
});
