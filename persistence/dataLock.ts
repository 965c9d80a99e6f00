// One exchange per data directory. Two exchanges on one journal would each acknowledge orders the
// other never applied; `npm run archive` beside a running exchange would move what it is using.
// The lock is SQLite's own exclusive lock on a small file, `exchange.lock`, held for as long as the
// exchange runs (locking_mode=EXCLUSIVE keeps it after the first write). It is an operating-system
// lock on the file: it ends with the process however the process ends, a crash or SIGKILL
// included, so it is never left stale; and SQLite keeps it between connections of one process too.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ensureDirectory, JournalError } from './journal.ts';

export const LOCK_FILE = 'exchange.lock';

export class DataLock {
  private constructor(private readonly db: Database.Database) {}

  /**
   * Takes the data directory `dir` (created when missing) for `what` ('the exchange', 'the archive'),
   * or throws a JournalError saying that something else holds it.
   */
  static take(dir: string, what: string): DataLock {
    ensureDirectory(dir);
    const file = join(dir, LOCK_FILE);
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 0 });
    } catch (e) {
      throw new JournalError(`cannot open ${file} (${(e as Error).message}): the data directory must be a folder the exchange may write`);
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('synchronous = OFF');
      // The first write takes the exclusive lock, and locking_mode keeps it until close.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, what TEXT NOT NULL, since TEXT NOT NULL)');
      db.transaction(() => {
        db.exec('DELETE FROM holder');
        db.prepare('INSERT INTO holder (pid, what, since) VALUES (?, ?, ?)').run(process.pid, what, new Date().toISOString());
      })();
    } catch (e) {
      db.close();
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) {
        throw new JournalError(`${dir} is in use: an exchange (or an archive) is running on it. Stop it first; one exchange runs on a data directory at a time (the lock on ${file} ends with its process)`);
      }
      throw new JournalError(`cannot lock ${dir} (${file}: ${(e as Error).message})`);
    }
    return new DataLock(db);
  }

  /** Lets the directory go (the file stays, unlocked). */
  release(): void {
    if (this.db.open) this.db.close();
  }
}
