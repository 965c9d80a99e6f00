// The write-ahead journal, in SQLite (WAL mode, synchronous=FULL). Everything that arrived in one
// turn of the event loop is one batch, written as one row in one transaction: the batch's commands
// as a JSON array with a CRC-32 over them, the facts they produced (the events settlement and the
// members' history are rebuilt from), the risk and operator commands with their outcome for the
// audit trail, and any end of day; the facts with a CRC-32 of their own (schema 3; rows written by
// schema 2 have none). Nothing about a command may leave the process before its batch
// has committed. At start-up a damaged batch, the last one included, stops start-up, naming its
// sequence numbers (a crash never leaves a batch half-written: it is one transaction).
// One row per batch rather than per command: reading a million commands back is one JSON parse per
// batch instead of a row object, a checksum and a parse per command.
import Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command, EndOfDayEvent, EngineEvent } from '../engine/index.ts';

/**
 * 3: facts carry a CRC-32 (`crc`, null on rows written by version 2). A version 2 journal is brought
 * to 3 when it is opened for writing (one added column, nothing rewritten).
 */
export const SCHEMA_VERSION = 3;

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

export interface Genesis {
  /** The first trading day. */
  tradingDate: string;
  /** The market set-up file the exchange started with, and its venue profiles, as JSON. */
  markets: unknown;
}

/** A risk officer's or operator's command as the audit trail keeps it. */
/** The audit trail's code for a command that repeated an earlier one (a transfer's reference): done before, nothing done now. */
export const AUDIT_DUPLICATE = 'DUPLICATE';

/** A row of the facts table as read back. */
interface FactsRow { batch: number; first_seq: number; last_seq: number; events: string; crc: number | null }

export interface AuditEntry { seq: number; time: number; command: Command; code: string | null; message: string | null }

const TABLES = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE batches (batch INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, commands TEXT NOT NULL, crc INTEGER NOT NULL);
  CREATE TABLE facts (batch INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL, events TEXT NOT NULL, trades INTEGER NOT NULL, crc INTEGER);
  CREATE INDEX facts_last_seq ON facts (last_seq);
  CREATE TABLE days (date TEXT PRIMARY KEY, seq INTEGER NOT NULL, event TEXT NOT NULL);
  CREATE TABLE audit (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, command TEXT NOT NULL, code TEXT, message TEXT);
  CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, file TEXT NOT NULL, crc INTEGER NOT NULL, taken INTEGER NOT NULL);`;

/** One batch's rows, ready to write: what the writer thread receives. */
export interface BatchPayload {
  genesis: string | null;
  /** The crc is null when the writer thread is to compute it (off the main thread). */
  batch: [batch: number, firstSeq: number, lastSeq: number, commands: string, crc: number | null] | null;
  /** The crc as the batch's: null when the writer thread is to compute it. */
  facts: [batch: number, firstSeq: number, lastSeq: number, events: string, trades: number, crc: number | null] | null;
  audits: [seq: number, time: number, command: string, code: string | null, message: string | null][];
  days: [date: string, seq: number, event: string][];
}

/**
 * Writes one batch's rows in one transaction, on whichever connection is given. Self-contained (it
 * names nothing outside its own body), because the writer thread runs this very function's source.
 */
export function writeBatch(db: Database.Database, p: BatchPayload): void {
  // The statements and the transaction are made once per connection and kept on it.
  const holder = db as unknown as { journalWrite?: (p: BatchPayload) => void };
  if (holder.journalWrite === undefined) {
    const st = {
      batch: db.prepare('INSERT INTO batches (batch, first_seq, last_seq, commands, crc) VALUES (?, ?, ?, ?, ?)'),
      facts: db.prepare('INSERT INTO facts (batch, first_seq, last_seq, events, trades, crc) VALUES (?, ?, ?, ?, ?, ?)'),
      audit: db.prepare('INSERT INTO audit (seq, time, command, code, message) VALUES (?, ?, ?, ?, ?)'),
      day: db.prepare('INSERT OR REPLACE INTO days (date, seq, event) VALUES (?, ?, ?)'),
      genesis: db.prepare("INSERT INTO meta (key, value) VALUES ('genesis', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    };
    holder.journalWrite = db.transaction((b: BatchPayload) => {
      if (b.genesis !== null) st.genesis.run(b.genesis);
      if (b.batch !== null) {
        if (b.batch[4] === null) throw new Error(`batch ${b.batch[0]} has no checksum`);
        st.batch.run(...b.batch);
      }
      if (b.facts !== null) {
        if (b.facts[5] === null) throw new Error(`the facts of batch ${b.facts[0]} have no checksum`);
        st.facts.run(...b.facts);
      }
      for (const a of b.audits) st.audit.run(...a);
      for (const d of b.days) st.day.run(...d);
    });
  }
  holder.journalWrite(p);
}

/**
 * The high-water mark of the journal, beside it in `journal.committed`: the last batch committed
 * and its last seq, written (not synced) after each commit. A start whose journal ends before it
 * lost committed, acknowledged batches (a -wal file deleted, cut short or damaged: SQLite ends its
 * log at the first bad frame and says nothing) and stops instead of handing their ids out again.
 * Self-contained (the writer thread runs this very function's source): `write` is fs.writeSync.
 */
export function markCommitted(write: (fd: number, text: string, position: number) => unknown, fd: number, batch: number, seq: number): void {
  // One fixed-length record at the start of the file: never a mix of two.
  write(fd, `${batch} ${seq}`.padEnd(42) + '\n', 0);
}

export const COMMIT_MARK = 'journal.committed';

/** The journal's file in a data directory. */
export const journalFile = (dir: string): string => join(dir, 'journal.sqlite');

/**
 * The last batch number used and its last seq: archived batches leave `batches` but keep their
 * facts (and the archive says how far it went), so the live table alone could hand a number out
 * again. Each table's newest row by its key: no scan of the journal.
 */
function lastBatch(db: Database.Database): { batch: number; seq: number } {
  const newest = (table: string) => db.prepare(`SELECT batch, last_seq AS seq FROM ${table} ORDER BY batch DESC LIMIT 1`).get() as { batch: number; seq: number } | undefined;
  const live = [newest('batches'), newest('facts')].filter((r) => r !== undefined).sort((a, b) => b.batch - a.batch)[0];
  const archived = db.prepare("SELECT value FROM meta WHERE key = 'archived_batch'").get() as { value: string } | undefined;
  return { batch: Math.max(live?.batch ?? 0, Number(archived?.value ?? 0)), seq: live?.seq ?? 0 };
}

/** The mark in `dir` (null: none, or not one the exchange wrote, which guards nothing). */
export function readCommitMark(dir: string): { batch: number; seq: number } | null {
  let text: string;
  try {
    text = readFileSync(join(dir, COMMIT_MARK), 'latin1');
  } catch {
    return null;
  }
  const m = /^(\d{1,15}) (\d{1,15}) *\n$/.exec(text);
  return m === null ? null : { batch: Number(m[1]), seq: Number(m[2]) };
}

/** Opens the mark file for writing in place (created if missing, never truncated). */
export function openCommitMark(dir: string): number {
  const path = join(dir, COMMIT_MARK);
  return openSync(path, existsSync(path) ? 'r+' : 'w');
}

/** The events kept as facts: what settlement, order and fill history, K-lines and the day's risk warnings need. */
const FACT_TYPES = new Set(['order', 'trade', 'account', 'block', 'auction', 'auctionBid', 'largeHolder', 'endOfDay', 'warning']);
export const isFact = (e: EngineEvent): boolean => FACT_TYPES.has(e.type);

/**
 * SQLite's words for a journal it cannot open or write ("unable to open database file", "attempt to
 * write a readonly database") name neither the file nor what to do; other errors pass as they are,
 * but for a connection that only reads, which says that it cannot read the journal.
 */
function cannotOpen(file: string, e: unknown, readonly = false): unknown {
  const code = (e as { code?: unknown }).code;
  if (readonly) {
    return new JournalError(`cannot open the journal ${file} to read it (${(e as Error).message}): it is gone from the data directory, or may not be read`);
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM' || (typeof code === 'string' && code.startsWith('SQLITE_READONLY'))) {
    return new JournalError(`cannot open the journal ${file} for writing (${(e as Error).message}): the data directory must be a folder the exchange may write, and journal.sqlite a file in it`);
  }
  return e;
}

export class Journal {
  readonly db: Database.Database;
  private commands: Command[] = [];
  private pendingFacts: EngineEvent[] = [];
  private trades = 0;
  private audits: AuditEntry[] = [];
  private genesisToWrite: Genesis | null = null;
  private batchNo: number;
  /** Milliseconds the last commit took (fsync included). */
  lastCommitMs = 0;
  private factsOfBatch: Database.Statement | null = null;
  private factsInRange: Database.Statement | null = null;
  /** The ends of day as last read, with the row count and last seq they were read at. */
  private ends: { n: number; last: number | null; events: readonly EndOfDayEvent[] } | null = null;
  private tradesOfBatch: Database.Statement | null = null;
  /** The commit mark's file, once this connection commits (see markCommitted). */
  private markFd: number | null = null;

  /**
   * Non-zero while the journal's writer thread is writing a batch (persistence/writer.ts sets it):
   * another thread that writes to the database (the settlement thread) waits for it to clear before
   * each of its transactions, so that acknowledgements never queue behind it.
   */
  readonly writerBusy = new Int32Array(new SharedArrayBuffer(4));

  /** Opens (or creates) the journal in `dir`/journal.sqlite. */
  readonly file: string;
  readonly synchronous: 'FULL' | 'OFF';

  /**
   * `readonly`: a connection that only reads (another thread's, beside the exchange's): the file
   * must exist, and nothing is ever written through it, not even a new journal.
   */
  constructor(readonly dir: string, options: { synchronous?: 'FULL' | 'OFF'; readonly?: boolean } = {}) {
    const readonly = options.readonly === true;
    if (!readonly) ensureDirectory(dir);
    const file = journalFile(dir);
    this.file = file;
    this.synchronous = options.synchronous ?? 'FULL';
    if (!readonly) checkAgainstMark(dir, file);
    try {
      this.db = new Database(file, readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (e) {
      throw cannotOpen(file, e, readonly);
    }
    try {
      if (!readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${this.synchronous}`);
      }
      this.checkSchema(file);
      // Another connection (the writer thread) may be writing: wait for it rather than fail.
      this.db.pragma('busy_timeout = 10000');
      // The next batch number follows every one used.
      this.batchNo = lastBatch(this.db).batch + 1;
    } catch (e) {
      this.db.close();
      // SQLite's own words ("file is not a database") name neither the file nor what to do.
      const told = damaged(file, e);
      throw told instanceof JournalError ? told : cannotOpen(file, e);
    }
  }

  /** A new file gets the current schema; an existing one must carry exactly this version. */
  private checkSchema(file: string): void {
    const tables = (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    if (tables.length === 0) {
      // An empty or missing journal beside what an exchange leaves (its snapshots, settlement,
      // demo keys) is a lost journal, not a new directory: starting afresh would forget every
      // order and balance in silence and write new snapshots among the old ones.
      const left = ['snapshots', 'settlement', 'keys.json', COMMIT_MARK].filter((name) => existsSync(join(this.dir, name)));
      if (left.length > 0) {
        throw new JournalError(`${file} is missing or empty, but ${this.dir} holds ${left.join(', ')} of an exchange that ran here: restore the journal, or move those away to start a new exchange in this directory`);
      }
      // One transaction: a file killed while being created is empty, never tables without a version.
      this.db.transaction(() => {
        this.db.exec(TABLES);
        this.setMeta('schema_version', String(SCHEMA_VERSION));
      })();
      return;
    }
    const version = tables.includes('meta') ? this.meta('schema_version') : null;
    if (version === null) {
      throw new JournalError(`${file} is not a journal of this exchange (it has tables but no schema version); move it away or start on a new directory`);
    }
    if (Number(version) === 2 && !this.db.readonly) {
      // Version 2 to 3: the facts' checksum column, empty on the rows already there.
      this.db.transaction(() => {
        this.db.exec('ALTER TABLE facts ADD COLUMN crc INTEGER');
        this.setMeta('schema_version', String(SCHEMA_VERSION));
      })();
      return;
    }
    if (Number(version) !== SCHEMA_VERSION) {
      throw new JournalError(`the data directory ${this.dir} has journal schema version ${version}; this exchange reads version ${SCHEMA_VERSION} (migrate it or start on a new directory)`);
    }
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

  /**
   * Records the genesis with the first batch, in its transaction: a directory killed before its
   * first commit holds nothing, and starts again as new.
   */
  setGenesis(g: Genesis): void {
    this.genesisToWrite = g;
  }

  /**
   * Adds a stamped command and its outcome to the batch being built; durable only after commit().
   * `repeatOf`: the transfer seq a repeated reference named (nothing was done), which the audit
   * trail keeps as the code DUPLICATE with the message `S<seq>`.
   */
  append(command: Command, events: readonly EngineEvent[] | null, refusal: { code: string; message: string } | null, repeatOf: number | null = null): void {
    this.commands.push(command);
    if (events !== null) {
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (!FACT_TYPES.has(e.type)) continue;
        this.pendingFacts.push(e);
        if (e.type === 'trade') this.trades++;
      }
    }
    if (command.actor.role !== 'member') {
      const code = refusal !== null ? refusal.code : repeatOf !== null ? AUDIT_DUPLICATE : null;
      const message = refusal !== null ? refusal.message : repeatOf !== null ? `S${repeatOf}` : null;
      this.audits.push({ seq: command.seq, time: command.time, command, code, message });
    }
  }

  get pendingCount(): number {
    return this.commands.length;
  }

  /**
   * Takes the batch being built as the rows to write (texts, checksum, batch number), or null when
   * there is nothing to write. The same payload is written here (commit) or by the writer thread,
   * which computes the checksum itself when `checksum` is false.
   */
  takeBatch(checksum = true): BatchPayload | null {
    if (this.commands.length === 0 && this.genesisToWrite === null) return null;
    const commands = this.commands;
    const facts = this.pendingFacts;
    const payload: BatchPayload = {
      genesis: this.genesisToWrite === null ? null : JSON.stringify(this.genesisToWrite),
      batch: null, facts: null,
      audits: this.audits.map((a) => [a.seq, a.time, JSON.stringify(a.command), a.code, a.message]),
      days: [],
    };
    if (commands.length > 0) {
      const text = JSON.stringify(commands);
      payload.batch = [this.batchNo++, commands[0].seq, commands[commands.length - 1].seq, text, checksum ? crc32(text) : null];
      if (facts.length > 0) {
        const events = JSON.stringify(facts);
        payload.facts = [payload.batch[0], facts[0].seq, facts[facts.length - 1].seq, events, this.trades, checksum ? crc32(events) : null];
      }
      for (const e of facts) if (e.type === 'endOfDay') payload.days.push([e.date, e.seq, JSON.stringify(e)]);
    }
    this.commands = [];
    this.pendingFacts = [];
    this.trades = 0;
    this.audits = [];
    this.genesisToWrite = null;
    return payload;
  }

  /** Writes the batch in one transaction and waits for it to be on disk (synchronous=FULL). */
  commit(): void {
    const payload = this.takeBatch();
    if (payload === null) return;
    const started = performance.now();
    // If this transaction throws, the error reaches the event loop and ends the process: the engine
    // has applied commands that are not durable, so it must not go on (recovery restarts it).
    writeBatch(this.db, payload);
    if (payload.batch !== null) {
      this.markFd ??= openCommitMark(this.dir);
      markCommitted(writeSync, this.markFd, payload.batch[0], payload.batch[2]);
    }
    this.lastCommitMs = performance.now() - started;
  }

  /**
   * The committed commands after `afterSeq`, checked batch by batch. Damage anywhere, the last
   * batch included, stops with a JournalError: a batch is written in one transaction, so a crash
   * never leaves one half-written, and a damaged one was committed, and answered.
   */
  *entries(afterSeq: number): Generator<Command> {
    for (const { commands } of this.batchesAfter(afterSeq)) yield* commands;
  }

  /**
   * The committed batches after `afterSeq`, checked, with their batch numbers: each with its
   * commands after `afterSeq` (a snapshot may hold the first part of a batch) and whether that is
   * all of them. Damage as for entries().
   */
  *batchesAfter(afterSeq: number): Generator<{ batch: number; commands: Command[]; whole: boolean }> {
    const rows = this.db.prepare('SELECT batch, first_seq, last_seq, commands, crc FROM batches WHERE last_seq > ? ORDER BY batch')
      .iterate(afterSeq) as IterableIterator<{ batch: number; first_seq: number; last_seq: number; commands: string; crc: number }>;
    let expected = afterSeq + 1;
    for (const row of rows) {
      if (row.first_seq > expected) {
        // A gap is not damage: earlier batches are missing (archived, or deleted by hand).
        throw new JournalError(`the journal has no seq ${expected}–${row.first_seq - 1}: restore the archived batches or a snapshot that covers them`);
      }
      let commands: Command[] | null = null;
      if (crc32(row.commands) === row.crc) {
        try { commands = JSON.parse(row.commands) as Command[]; } catch { commands = null; }
      }
      const sound = commands !== null && commands.length === row.last_seq - row.first_seq + 1
        && commands.every((c, i) => c.seq === row.first_seq + i);
      if (!sound) {
        throw new JournalError(`the journal is damaged at seq ${row.first_seq}–${row.last_seq} (batch ${row.batch}: ${commands === null ? 'checksum mismatch or unreadable' : 'out of sequence'}); start-up stops rather than trade on a broken history: restore the journal from a copy`);
      }
      // The snapshot already holds the commands before `expected`.
      const whole = row.first_seq === expected;
      const mine = whole ? commands as Command[] : (commands as Command[]).filter((c) => c.seq >= expected);
      expected = row.last_seq + 1;
      yield { batch: row.batch, commands: mine, whole };
    }
  }

  /** The number of trades recorded with a batch. */
  recordedTrades(batch: number): number {
    this.tradesOfBatch ??= this.db.prepare('SELECT trades FROM facts WHERE batch = ?');
    const row = this.tradesOfBatch.get(batch) as { trades: number } | undefined;
    return row?.trades ?? 0;
  }

  /** The facts recorded with a batch, as written (JSON), or null if its commands produced none. */
  recordedFacts(batch: number): string | null {
    this.factsOfBatch ??= this.db.prepare('SELECT batch, first_seq, last_seq, events, crc FROM facts WHERE batch = ?');
    const row = this.factsOfBatch.get(batch) as FactsRow | undefined;
    return row === undefined ? null : this.checkedFacts(row);
  }

  /** A facts row's text, once its checksum (when it has one) agrees; a JournalError if not. */
  private checkedFacts(row: FactsRow): string {
    if (row.crc !== null && crc32(row.events) !== row.crc) throw this.damagedFacts(row, 'their checksum does not match');
    return row.events;
  }

  private damagedFacts(row: FactsRow, why: string): JournalError {
    return new JournalError(`the facts of seq ${row.first_seq}–${row.last_seq} (batch ${row.batch}) in ${this.file} are damaged (${why}): what was answered and published then cannot be read back; restore the journal from a copy`);
  }

  lastSeq(): number {
    const row = this.db.prepare('SELECT last_seq FROM batches ORDER BY batch DESC LIMIT 1').get() as { last_seq: number } | undefined;
    return row?.last_seq ?? 0;
  }

  /** The recorded events with seq in (fromSeq, toSeq], in order. */
  facts(fromSeq: number, toSeq: number): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (const events of this.factsByBatch(fromSeq, toSeq)) for (const e of events) out.push(e);
    return out;
  }

  /** facts(), one batch's at a time. */
  *factsByBatch(fromSeq: number, toSeq: number): Generator<EngineEvent[]> {
    // Batches are numbered in seq order: the range of batch numbers is found through the last_seq
    // index (the first batch ending after fromSeq, the first ending at or after toSeq) and read
    // by its key, so that a day's read costs that day's batches, not the whole journal's.
    this.factsInRange ??= this.db.prepare(`SELECT batch, first_seq, last_seq, events, crc FROM facts
      WHERE batch >= (SELECT batch FROM facts WHERE last_seq > @from ORDER BY last_seq LIMIT 1)
        AND batch <= COALESCE((SELECT batch FROM facts WHERE last_seq >= @to ORDER BY last_seq LIMIT 1), (SELECT MAX(batch) FROM facts))
        AND last_seq > @from AND first_seq <= @to
      ORDER BY batch`);
    const rows = this.factsInRange.iterate({ from: fromSeq, to: toSeq }) as IterableIterator<FactsRow>;
    for (const row of rows) {
      const text = this.checkedFacts(row);
      let events: EngineEvent[];
      try {
        events = JSON.parse(text) as EngineEvent[];
        if (!Array.isArray(events)) throw new Error('not a list of events');
      } catch (e) {
        throw this.damagedFacts(row, (e as Error).message);
      }
      yield events.filter((e) => e.seq > fromSeq && e.seq <= toSeq);
    }
  }

  /**
   * Keeps the gateway's market history (recent trades, K-lines: gateway/history.ts) as it stood once
   * every fact up to `seq` was folded in, in place of the one kept before: a start then reads only
   * the facts after it. The table is made on first use, so a journal of this schema version written
   * before it needs no migration.
   */
  writeMarketCheckpoint(seq: number, body: string): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS market_checkpoints (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO market_checkpoints (seq, body) VALUES (?, ?)').run(seq, body);
      this.db.prepare('DELETE FROM market_checkpoints WHERE seq <> ?').run(seq);
    })();
  }

  /** The market history checkpoint kept, or null (none written yet). */
  marketCheckpoint(): { seq: number; body: string } | null {
    const table = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'market_checkpoints'").get();
    if (table === undefined) return null;
    return (this.db.prepare('SELECT seq, body FROM market_checkpoints ORDER BY seq DESC LIMIT 1').get() as { seq: number; body: string } | undefined) ?? null;
  }

  /** The end-of-day events recorded, oldest first. */
  endsOfDay(): readonly EndOfDayEvent[] {
    // Each event lists every account: read and parsed again only when a day was added, not on every
    // query of a past day (days are only ever added).
    const now = this.db.prepare('SELECT COUNT(*) AS n, MAX(seq) AS last FROM days').get() as { n: number; last: number | null };
    if (this.ends === null || this.ends.n !== now.n || this.ends.last !== now.last) {
      const events = (this.db.prepare('SELECT event FROM days ORDER BY seq').all() as { event: string }[]).map((r) => JSON.parse(r.event) as EndOfDayEvent);
      this.ends = { n: now.n, last: now.last, events };
    }
    return this.ends.events;
  }

  /** Risk and operator commands after the seq `since`, with their outcome. */
  audit(since: number, limit: number): AuditEntry[] {
    return this.auditRows('seq > ?', since, limit);
  }

  /** Risk and operator commands stamped at or after `time` (epoch ms), with their outcome. */
  auditFrom(time: number, limit: number): AuditEntry[] {
    return this.auditRows('time >= ?', time, limit);
  }

  private auditRows(where: string, from: number, limit: number): AuditEntry[] {
    return (this.db.prepare(`SELECT seq, time, command, code, message FROM audit WHERE ${where} ORDER BY seq LIMIT ?`).all(from, limit) as
      { seq: number; time: number; command: string; code: string | null; message: string | null }[])
      .map((r) => ({ seq: r.seq, time: r.time, command: JSON.parse(r.command) as Command, code: r.code, message: r.message }));
  }

  close(): void {
    this.commit();
    this.db.close();
    if (this.markFd !== null) closeSync(this.markFd);
    this.markFd = null;
  }
}

/**
 * SQLite's words for a damaged file ("database disk image is malformed", found wherever a read
 * meets the damage) as a JournalError naming the file and what to do; any other error as it is.
 */
export function damaged(file: string, e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (e instanceof JournalError || !(code === 'SQLITE_NOTADB' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT')))) return e;
  return new JournalError(`${file} is damaged (${(e as Error).message}): start-up stops rather than trade on a broken history: restore the journal from a copy`);
}

/**
 * Refuses a journal that ends before the batch its commit mark names (see markCommitted). Read
 * through a read-only connection, before the exchange's own opens the file: closing that one would
 * checkpoint what SQLite can still read of the -wal and remove the file, with what lies past the
 * damage. Anything else that is wrong with the file is left to the opening that follows to report.
 */
function checkAgainstMark(dir: string, file: string): void {
  const mark = readCommitMark(dir);
  if (mark === null || !existsSync(file)) return;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return;
  }
  let last: { batch: number; seq: number };
  try {
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    // No tables at all: the whole journal was in the -wal (never checkpointed).
    if (tables.size === 0) last = { batch: 0, seq: 0 };
    else if (!tables.has('batches') || !tables.has('facts') || !tables.has('meta')) return;
    else last = lastBatch(db);
  } catch {
    return;
  } finally {
    db.close();
  }
  if (last.batch >= mark.batch) return;
  throw new JournalError(`${file} ends at seq ${last.seq} (batch ${last.batch}), but seq ${mark.seq} (batch ${mark.batch}) was committed and acknowledged here (${COMMIT_MARK}): its -wal file is missing, cut short or damaged, and starting would lose what came after seq ${last.seq} and hand its order ids out again. Nothing was changed: restore journal.sqlite with its -wal from a copy (to start on an older copy, knowing that what came after it is lost, remove ${join(dir, COMMIT_MARK)})`);
}

/**
 * Makes `dir` a directory, creating the missing levels one at a time, or throws saying why not. (Node's
 * recursive mkdir spins forever on some paths, such as one under /proc; a file in the way would only
 * surface later as SQLite's "unable to open database file".)
 */
export function ensureDirectory(dir: string): void {
  // The nearest level that exists, and the missing ones below it (statSync says so if not even the root does).
  const missing: string[] = [];
  let at = resolve(dir);
  while (!existsSync(at) && dirname(at) !== at) {
    missing.push(at);
    at = dirname(at);
  }
  if (!statSync(at).isDirectory()) {
    throw new Error(at === resolve(dir) ? `${at} is not a directory` : `${dir} cannot be created: ${at} is not a directory`);
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (e) {
      throw new Error(`${dir} cannot be created: ${(e as Error).message}`);
    }
  }
}
