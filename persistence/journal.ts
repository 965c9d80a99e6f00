// The write-ahead journal: every stamped command, in sequence, in SQLite (WAL mode,
// synchronous=FULL). A batch is one transaction; nothing about a command may leave the process
// before its batch has committed. Each entry carries a CRC-32 of its sequence number, time and
// text, so that damage is found at start-up: a bad entry in the last batch is a torn tail and is
// discarded (it was never acknowledged); a bad entry before that stops start-up, naming its seq.
import Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, EndOfDayEvent, EngineEvent } from '../engine/index.ts';

export const SCHEMA_VERSION = 1;

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

export interface JournalEntry { seq: number; time: number; batch: number; text: string }

export interface Genesis {
  /** The first trading day. */
  tradingDate: string;
  /** The market set-up file the exchange started with, and its venue profiles, as JSON. */
  markets: unknown;
}

export function entryChecksum(seq: number, time: number, text: string): number {
  return crc32(`${seq}|${time}|${text}`);
}

export class Journal {
  readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private pending: { seq: number; time: number; text: string }[] = [];
  private pendingFacts: { seq: number; idx: number; type: string; date: string | null; body: string }[] = [];
  private insertFact!: Database.Statement;
  private batchNo: number;
  /** Milliseconds the last commit took (fsync included). */
  lastCommitMs = 0;

  /** Opens (or creates) the journal in `dir`/journal.sqlite. */
  constructor(readonly dir: string, options: { synchronous?: 'FULL' | 'OFF' } = {}) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'journal.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS journal (
        seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, batch INTEGER NOT NULL, command TEXT NOT NULL, crc INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS facts (
        seq INTEGER NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL, date TEXT, body TEXT NOT NULL, PRIMARY KEY (seq, idx)
      );
      CREATE TABLE IF NOT EXISTS snapshots (
        seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, file TEXT NOT NULL, crc INTEGER NOT NULL, taken INTEGER NOT NULL
      );`);
    const version = this.meta('schema_version');
    if (version === null) this.setMeta('schema_version', String(SCHEMA_VERSION));
    else if (Number(version) !== SCHEMA_VERSION) {
      throw new JournalError(`the data directory ${dir} has journal schema version ${version}; this exchange reads version ${SCHEMA_VERSION} (migrate it or start on a new directory)`);
    }
    this.insert = this.db.prepare('INSERT INTO journal (seq, time, batch, command, crc) VALUES (?, ?, ?, ?, ?)');
    this.insertFact = this.db.prepare('INSERT INTO facts (seq, idx, type, date, body) VALUES (?, ?, ?, ?, ?)');
    const last = this.db.prepare('SELECT MAX(batch) AS b FROM journal').get() as { b: number | null };
    this.batchNo = (last.b ?? 0) + 1;
  }

  meta(key: string): string | null {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  genesis(): Genesis | null {
    const text = this.meta('genesis');
    return text === null ? null : (JSON.parse(text) as Genesis);
  }

  setGenesis(g: Genesis): void {
    this.setMeta('genesis', JSON.stringify(g));
  }

  /** Adds a stamped command to the batch being built; it is durable only after commit(). */
  append(command: Command): void {
    this.pending.push({ seq: command.seq, time: command.time, text: JSON.stringify(command) });
  }

  /**
   * Adds an event the settlement needs (trades, transfers, the end of day) to the batch, so that it
   * commits in the same transaction as the command that caused it.
   */
  record(event: EngineEvent, idx: number): void {
    this.pendingFacts.push({
      seq: event.seq, idx, type: event.type, date: event.type === 'endOfDay' ? event.date : null, body: JSON.stringify(event),
    });
  }

  /** Records that the command `seq` was refused (a fact of type "rejected": code and message). */
  recordRejection(seq: number, code: string, message: string): void {
    this.pendingFacts.push({ seq, idx: 0, type: 'rejected', date: null, body: JSON.stringify({ code, message }) });
  }

  /** The recorded events after seq `fromSeq` up to `toSeq` (inclusive), in order. */
  facts(fromSeq: number, toSeq: number): EngineEvent[] {
    return (this.db.prepare("SELECT body FROM facts WHERE seq > ? AND seq <= ? AND type <> 'rejected' ORDER BY seq, idx").all(fromSeq, toSeq) as { body: string }[])
      .map((r) => JSON.parse(r.body) as EngineEvent);
  }

  /** The end-of-day events recorded, oldest first. */
  endsOfDay(): EndOfDayEvent[] {
    return (this.db.prepare("SELECT body FROM facts WHERE type = 'endOfDay' ORDER BY seq").all() as { body: string }[])
      .map((r) => JSON.parse(r.body) as EndOfDayEvent);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Writes the batch in one transaction and waits for it to be on disk (synchronous=FULL). */
  commit(): void {
    if (this.pending.length === 0) return;
    const started = performance.now();
    const batch = this.pending;
    const facts = this.pendingFacts;
    this.pending = [];
    this.pendingFacts = [];
    const no = this.batchNo++;
    this.db.transaction(() => {
      for (const e of batch) this.insert.run(e.seq, e.time, no, e.text, entryChecksum(e.seq, e.time, e.text));
      for (const f of facts) this.insertFact.run(f.seq, f.idx, f.type, f.date, f.body);
    })();
    this.lastCommitMs = performance.now() - started;
  }

  /**
   * The committed entries after `afterSeq`, checked. A damaged entry in the final batch is a torn
   * tail: it and everything after it are dropped and reported. Damage before stops with a JournalError.
   */
  *entries(afterSeq: number): Generator<Command> {
    const lastBatch = (this.db.prepare('SELECT MAX(batch) AS b FROM journal').get() as { b: number | null }).b;
    const rows = this.db.prepare('SELECT seq, time, batch, command, crc FROM journal WHERE seq > ? ORDER BY seq').iterate(afterSeq) as IterableIterator<{ seq: number; time: number; batch: number; command: string; crc: number }>;
    let expected = afterSeq + 1;
    for (const row of rows) {
      const sound = row.crc === entryChecksum(row.seq, row.time, row.command);
      let command: Command | null = null;
      if (sound) {
        try { command = JSON.parse(row.command) as Command; } catch { command = null; }
      }
      if (command === null || command.seq !== row.seq || row.seq !== expected) {
        if (row.batch === lastBatch) {
          this.tornTail = { fromSeq: row.seq };
          return;
        }
        throw new JournalError(`the journal is damaged at seq ${row.seq} (${sound ? 'out of sequence or unreadable' : 'checksum mismatch'}); start-up stops rather than trade on a broken history`);
      }
      expected = row.seq + 1;
      yield command;
    }
  }

  /** Set by entries() when it dropped a torn tail. */
  tornTail: { fromSeq: number } | null = null;

  /** Deletes the torn tail found by entries(), so that new commands can take its sequence numbers. */
  discardTornTail(): void {
    if (this.tornTail === null) return;
    const from = this.tornTail.fromSeq;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM journal WHERE seq >= ?').run(from);
      this.db.prepare('DELETE FROM facts WHERE seq >= ?').run(from);
    })();
  }

  lastSeq(): number {
    return (this.db.prepare('SELECT MAX(seq) AS s FROM journal').get() as { s: number | null }).s ?? 0;
  }

  close(): void {
    this.commit();
    this.db.close();
  }
}
