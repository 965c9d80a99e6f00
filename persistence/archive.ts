// Archiving: once a sound snapshot exists, the journal batches it already contains and the older
// snapshot files are no longer needed to start. They move to <data>/archive/ (the batches into a
// SQLite file of their own, the snapshots as files), out of the live journal. The facts, the days
// and the audit trail stay, so settlement re-runs, the members' history and the audit still work.
// Run it while the exchange is stopped: `npm run archive -- --data DIR`.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DataLock } from './dataLock.ts';
import { syncFolder } from './files.ts';
import { Journal, JournalError, journalFile } from './journal.ts';
import { SnapshotStore } from './snapshots.ts';

export interface ArchiveResult {
  /** The snapshot that now starts the exchange. */
  snapshotSeq: number;
  batches: number;
  commands: number;
  /** The archive file the batches went to, or null when there was nothing to move. */
  file: string | null;
  snapshotsMoved: number;
}

/** The batches an archive file holds (batch number and checksum), or none if it holds none or cannot be read. */
function archivedBatches(file: string): { batch: number; crc: number }[] {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db.prepare('SELECT batch, crc FROM batches ORDER BY batch').all() as { batch: number; crc: number }[];
  } catch {
    return [];
  } finally {
    db?.close();
  }
}

export function archive(dataDir: string): ArchiveResult {
  if (!existsSync(journalFile(dataDir))) throw new JournalError(`${dataDir} holds no journal (journal.sqlite): name the data directory of an exchange`);
  // Not beside a running exchange: it would move what the exchange is using.
  const lock = DataLock.take(dataDir, 'the archive');
  let journal: Journal;
  try {
    journal = new Journal(dataDir);
  } catch (e) {
    lock.release();
    throw e;
  }
  try {
    const store = new SnapshotStore(journal);
    const found = store.latestValid();
    if (found.engine === null) throw new JournalError(`no sound snapshot in ${dataDir}: nothing can be archived (the journal is all there is)`);
    const seq = found.record.seq;
    const rows = journal.db.prepare('SELECT batch, first_seq, last_seq, commands, crc FROM batches WHERE last_seq <= ? ORDER BY batch').all(seq) as
      { batch: number; first_seq: number; last_seq: number; commands: string; crc: number }[];
    const folder = join(dataDir, 'archive');
    mkdirSync(join(folder, 'snapshots'), { recursive: true });
    let file: string | null = null;
    if (rows.length > 0) {
      file = join(folder, `journal-${rows[0].first_seq}-${rows[rows.length - 1].last_seq}.sqlite`);
      // An archive killed after its file was in place but before the live journal let the batches
      // go left this very file: it is used as it is. One that holds anything else is not replaced.
      const there = existsSync(file) ? archivedBatches(file) : [];
      const same = there.length === rows.length && there.every((b, i) => b.batch === rows[i].batch && b.crc === rows[i].crc);
      if (there.length > 0 && !same) {
        throw new JournalError(`${file} exists already and holds other batches than the ${rows.length} to archive (batches ${rows[0].batch}–${rows[rows.length - 1].batch}): move it away, then archive again`);
      }
      if (!same) {
        // Written under a temporary name and renamed into place once whole: an archive killed while
        // writing leaves only the temporary file, which the next one replaces.
        const tmp = `${file}.tmp`;
        for (const leftover of [tmp, `${tmp}-journal`, `${file}-journal`]) rmSync(leftover, { force: true });
        const out = new Database(tmp);
        out.pragma('journal_mode = DELETE');
        out.pragma('synchronous = FULL');
        out.exec('CREATE TABLE batches (batch INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, commands TEXT NOT NULL, crc INTEGER NOT NULL)');
        const insert = out.prepare('INSERT INTO batches (batch, first_seq, last_seq, commands, crc) VALUES (?, ?, ?, ?, ?)');
        out.transaction(() => { for (const r of rows) insert.run(r.batch, r.first_seq, r.last_seq, r.commands, r.crc); })();
        out.close();
        renameSync(tmp, file);
        syncFolder(folder);
      }
      // Only once the archive is on disk do the batches leave the live journal.
      const through = rows[rows.length - 1].last_seq;
      journal.db.transaction(() => {
        journal.db.prepare('DELETE FROM batches WHERE last_seq <= ?').run(seq);
        journal.setMeta('archived_through', String(through));
        journal.setMeta('archived_batch', String(rows[rows.length - 1].batch));
      })();
    }
    let snapshotsMoved = 0;
    for (const r of store.list()) {
      if (r.seq >= seq) continue;
      const path = join(store.folder, r.file);
      if (existsSync(path)) renameSync(path, join(folder, 'snapshots', r.file));
      journal.db.prepare('DELETE FROM snapshots WHERE seq = ?').run(r.seq);
      snapshotsMoved++;
    }
    return { snapshotSeq: seq, batches: rows.length, commands: rows.reduce((n, r) => n + r.last_seq - r.first_seq + 1, 0), file, snapshotsMoved };
  } finally {
    journal.close();
    lock.release();
  }
}
