// Snapshots of the engine state with its state hash, recorded in the journal database once the file
// is safely on disk. While the exchange runs they are taken on the snapshot thread, from the
// journal (takeByReplay); should the thread fail, from the exchange's own engine (take: serialised
// in line, written in the background); at shutdown in line (takeSync). At start-up the newest
// snapshot that reads back whole and whose state hash matches is used; a damaged one is skipped for
// the one before it.
import { mkdirSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Engine, snapshotWithHash, type EngineSnapshot } from '../engine/index.ts';
import type { Journal } from './journal.ts';
import { ModuleThread } from './moduleThread.ts';
import { syncFolder, writeDurably, writeDurablyInBackground } from './files.ts';

export interface SnapshotRecord { seq: number; hash: string; file: string; crc: number }

export const snapshotFile = (seq: number): string => `snapshot-${String(seq).padStart(12, '0')}.json`;

export class SnapshotStore {
  readonly folder: string;
  private thread: ModuleThread<null, SnapshotRecord> | null = null;
  constructor(private readonly journal: Journal) {
    this.folder = join(journal.dir, 'snapshots');
    if (!existsSync(this.folder)) mkdirSync(this.folder, { recursive: true });
    // A snapshot cut short by a crash never became one (it is renamed into place only once synced).
    for (const name of readdirSync(this.folder)) if (name.endsWith('.tmp')) rmSync(join(this.folder, name), { force: true });
  }

  /** Takes a snapshot now and writes it synchronously (clean shutdown, end of day). */
  takeSync(engine: Engine): SnapshotRecord {
    // One serialisation gives both the file's text and the state hash (the same stateHash() computes).
    const { lastSeq: seq, hash, text } = snapshotWithHash(engine);
    const file = snapshotFile(seq);
    writeDurably(this.folder, file, text);
    syncFolder(this.folder);
    return this.record({ seq, hash, file, crc: crc32(text) });
  }

  /**
   * Serialises now, writes in the background; resolves when the snapshot is recorded. `durable`,
   * when given, is awaited before recording: a snapshot may only stand for commands on disk.
   */
  async take(engine: Engine, durable?: (seq: number) => Promise<void>): Promise<SnapshotRecord> {
    const { lastSeq: seq, hash, text } = snapshotWithHash(engine);
    const file = snapshotFile(seq);
    await writeDurablyInBackground(this.folder, file, text);
    if (durable !== undefined) await durable(seq);
    return this.record({ seq, hash, file, crc: crc32(text) });
  }

  /**
   * Takes a snapshot on the snapshot thread (snapshotWorker.ts), off the exchange's thread: an
   * engine of its own, replayed from the journal up to its last committed command, is serialised
   * and written there. Serialising the exchange's own engine takes about 4–5 µs an open order,
   * which held every request for a second and more at a few hundred thousand open orders. Taken
   * from what is committed, the snapshot only ever stands for commands on disk. Resolves once it
   * is recorded; snapshots asked for together are taken one after another.
   */
  async takeByReplay(): Promise<SnapshotRecord> {
    this.thread ??= new ModuleThread(new URL('./snapshotWorker.ts', import.meta.url), { dataDir: this.journal.dir, folder: this.folder, synchronous: this.journal.synchronous }, 'snapshot');
    return this.record(await this.thread.request(null));
  }

  /** Ends the snapshot thread (if one was started) once the snapshots asked of it are taken. */
  async closeThread(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.close();
  }

  private record(r: SnapshotRecord): SnapshotRecord {
    this.journal.db.prepare('INSERT OR REPLACE INTO snapshots (seq, hash, file, crc, taken) VALUES (?, ?, ?, ?, ?)')
      .run(r.seq, r.hash, r.file, r.crc, Date.now());
    return r;
  }

  list(): SnapshotRecord[] {
    return recorded(this.journal);
  }

  /**
   * The newest snapshot that reads back whole and whose restored state has the recorded hash, with
   * the problems of any newer one it had to pass over.
   */
  latestValid(): SoundSnapshot {
    return latestValid(this.journal, this.folder);
  }
}

/** The snapshots recorded, newest first. */
const recorded = (journal: Journal): SnapshotRecord[] =>
  journal.db.prepare('SELECT seq, hash, file, crc FROM snapshots ORDER BY seq DESC').all() as SnapshotRecord[];

export type SoundSnapshot = { engine: Engine; record: SnapshotRecord; skipped: string[] } | { engine: null; skipped: string[] };

/** SnapshotStore.latestValid() over the snapshots recorded in `journal`, whose files are in `folder`. */
export function latestValid(journal: Journal, folder: string): SoundSnapshot {
  const skipped: string[] = [];
  for (const r of recorded(journal)) {
    const path = join(folder, r.file);
    if (!existsSync(path)) { skipped.push(`snapshot at seq ${r.seq}: file ${r.file} is missing`); continue; }
    const text = readFileSync(path, 'utf8');
    if (crc32(text) !== r.crc) { skipped.push(`snapshot at seq ${r.seq}: checksum mismatch`); continue; }
    let engine: Engine;
    try {
      engine = Engine.restore(JSON.parse(text) as EngineSnapshot);
    } catch (e) {
      skipped.push(`snapshot at seq ${r.seq}: unreadable (${(e as Error).message})`);
      continue;
    }
    const hash = engine.stateHash();
    if (hash !== r.hash) { skipped.push(`snapshot at seq ${r.seq}: state hash ${hash.slice(0, 12)}… is not the recorded ${r.hash.slice(0, 12)}…`); continue; }
    return { engine, record: r, skipped };
  }
  return { engine: null, skipped };
}
