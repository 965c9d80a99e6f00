// Writes a closed trading day's settlement outputs: SQLite tables beside the journal and files
// under <data>/settlement/<date>/ (JSON and CSV of each report). Everything is built from the facts
// the journal recorded with the commands (trades, transfers, the end of day), so a re-run for the
// same day writes byte-identical files, and a day that does not reconcile is never published.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { syncFolder, writeDurably } from './files.ts';
import {
  settle, statementsCsvPieces, csvPieces, inPieces, CSV_COLUMNS, SettlementError, type EndOfDayEvent, type SettlementReports,
} from '../engine/index.ts';
import type { Journal } from './journal.ts';

export const REPORTS = ['statements', 'trades', 'market', 'large-holders'] as const;
export type ReportName = (typeof REPORTS)[number];
/** The files of a published day: each report as JSON and CSV, and the totals. */
const FILES = [...REPORTS.flatMap((r) => [`${r}.json`, `${r}.csv`]), 'totals.json'];
/** Rows written to (or deleted from) a settlement table in one transaction, at most. */
const TABLE_RUN = 1_000;
/** About how much text one transaction writes to a settlement table, at most (one row may be more). */
const TABLE_RUN_BYTES = 256 * 1024;

/**
 * A list as `JSON.stringify(rows, null, 2) + '\n'` writes it, byte for byte, in pieces (inPieces):
 * each row on its own, its lines indented once more (a JSON string holds no raw line break).
 */
export function* jsonPieces(rows: readonly unknown[]): Generator<string> {
  if (rows.length === 0) {
    yield '[]\n';
    return;
  }
  yield* inPieces((function* () {
    yield '[\n';
    for (let i = 0; i < rows.length; i++) yield `  ${JSON.stringify(rows[i], null, 2).replace(/\n/g, '\n  ')}${i + 1 < rows.length ? ',\n' : '\n]\n'}`;
  })());
}

export class SettlementWriter {
  /**
   * `yieldToJournal`, called before each of the write's transactions, returns once the journal's
   * writer thread is not writing (the settlement thread waits on the writer's flag); the default
   * does not wait.
   */
  constructor(private readonly journal: Journal, private readonly dataDir: string, private readonly yieldToJournal: () => void = () => {}) {
    journal.db.exec(`
      CREATE TABLE IF NOT EXISTS settlement_days (date TEXT PRIMARY KEY, eod_seq INTEGER NOT NULL, totals TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS settlement_statements (date TEXT NOT NULL, account_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (date, account_id));
      CREATE TABLE IF NOT EXISTS trade_register (date TEXT NOT NULL, trade_id INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (date, trade_id));
      CREATE TABLE IF NOT EXISTS market_report (date TEXT NOT NULL, symbol TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (date, symbol));
      CREATE TABLE IF NOT EXISTS large_holder_report (date TEXT NOT NULL, account_id TEXT NOT NULL, symbol TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (date, account_id, symbol));`);
  }

  folder(date: string): string {
    return join(this.dataDir, 'settlement', date);
  }

  /** The reports of a closed day, rebuilt from the recorded facts; throws SettlementError if they do not reconcile. */
  reports(date: string): SettlementReports {
    return this.settled(this.closedDay(date));
  }

  /** A closed day's end of day, and the one before it (null for the first). */
  private closedDay(date: string): { eod: EndOfDayEvent; previous: EndOfDayEvent | null } {
    const ends = this.journal.endsOfDay();
    const at = ends.findIndex((e) => e.date === date);
    if (at < 0) throw new Error(`${date} has not been closed`);
    return { eod: ends[at], previous: at > 0 ? ends[at - 1] : null };
  }

  private settled({ eod, previous }: { eod: EndOfDayEvent; previous: EndOfDayEvent | null }): SettlementReports {
    return settle(this.journal.facts(previous?.seq ?? 0, eod.seq), eod, previous?.accounts ?? null);
  }

  /**
   * Builds, checks and writes the day's outputs; safe to run again. The files come first, each
   * synced, then the tables, the day's row last: the row is what says the day is published, so it
   * is never there before every file and every other row is. A crash or a failed write part-way
   * leaves the day unpublished, and the next start (or the next request for it) writes it again.
   */
  write(date: string): SettlementReports {
    const day = this.closedDay(date);
    const r = this.settled(day);
    const dir = this.folder(date);
    mkdirSync(dir, { recursive: true });
    // Each file in pieces, made as it is written: a busy day's reports pass the longest string V8 makes.
    const text: Record<string, () => Iterable<string>> = {
      'statements.json': () => jsonPieces(r.statements),
      'statements.csv': () => statementsCsvPieces(r.statements),
      'trades.json': () => jsonPieces(r.trades),
      'trades.csv': () => csvPieces(r.trades, CSV_COLUMNS.trades),
      'market.json': () => jsonPieces(r.market),
      'market.csv': () => csvPieces(r.market, CSV_COLUMNS.market),
      'large-holders.json': () => jsonPieces(r.largeHolders),
      'large-holders.csv': () => csvPieces(r.largeHolders, CSV_COLUMNS.largeHolders),
      'totals.json': () => [JSON.stringify(r.totals, null, 2) + '\n'],
    };
    for (const name of FILES) writeDurably(dir, name, text[name]());
    syncFolder(dir);
    // The tables in short transactions, so that the journal's writer (another connection) never
    // waits long for the database: first the day's row goes (the day is unpublished from then on),
    // then whatever an earlier attempt left, then the rows in runs, and the day's row last. A run
    // is at most TABLE_RUN rows or about TABLE_RUN_BYTES of text, made before its transaction
    // begins (an account's statement lists every trade of its day: tens of megabytes on a busy
    // one), and none begins while the journal's writer is writing (yieldToJournal).
    const db = this.journal.db;
    const inTransaction = (work: () => void) => {
      this.yieldToJournal();
      db.transaction(work)();
    };
    inTransaction(() => { db.prepare('DELETE FROM settlement_days WHERE date = ?').run(date); });
    for (const table of ['settlement_statements', 'trade_register', 'market_report', 'large_holder_report']) {
      const some = db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE date = ? LIMIT ${TABLE_RUN})`);
      let deleted = TABLE_RUN;
      while (deleted === TABLE_RUN) inTransaction(() => { deleted = some.run(date).changes; });
    }
    /** `values` gives a row's columns after the date, its body (JSON) last. */
    const inRuns = <T>(rows: readonly T[], sql: string, values: (row: T) => [...unknown[], string]) => {
      const insert = db.prepare(sql);
      for (let from = 0; from < rows.length;) {
        const run: unknown[][] = [];
        for (let bytes = 0; from < rows.length && run.length < TABLE_RUN && bytes < TABLE_RUN_BYTES; from++) {
          const row = values(rows[from]);
          bytes += (row[row.length - 1] as string).length;
          run.push(row);
        }
        inTransaction(() => { for (const row of run) insert.run(date, ...row); });
      }
    };
    inRuns(r.statements, 'INSERT INTO settlement_statements (date, account_id, body) VALUES (?, ?, ?)', (s) => [s.accountId, JSON.stringify(s)]);
    inRuns(r.trades, 'INSERT INTO trade_register (date, trade_id, body) VALUES (?, ?, ?)', (t) => [Number(t.tradeId), JSON.stringify(t)]);
    inRuns(r.market, 'INSERT INTO market_report (date, symbol, body) VALUES (?, ?, ?)', (m) => [m.symbol, JSON.stringify(m)]);
    inRuns(r.largeHolders, 'INSERT INTO large_holder_report (date, account_id, symbol, body) VALUES (?, ?, ?, ?)', (l) => [l.accountId, l.symbol, JSON.stringify(l)]);
    this.yieldToJournal();
    db.prepare('INSERT INTO settlement_days (date, eod_seq, totals) VALUES (?, ?, ?)').run(date, day.eod.seq, JSON.stringify(r.totals));
    return r;
  }

  /** Whether the day's outputs are all there: its row (written last) and every file. */
  published(date: string): boolean {
    const row = this.journal.db.prepare('SELECT 1 FROM settlement_days WHERE date = ?').get(date);
    return row !== undefined && FILES.every((name) => existsSync(join(this.folder(date), name)));
  }

  /** Whether the journal holds the day's end of day. */
  closed(date: string): boolean {
    return this.journal.endsOfDay().some((e) => e.date === date);
  }

  /**
   * A closed day's outputs, written if they are missing (a crash or a failed write cut them short):
   * true when they are there now, false when the day has not been closed. Throws when they cannot
   * be written.
   */
  ensure(date: string): boolean {
    if (this.published(date)) return true;
    if (!this.closed(date)) return false;
    this.write(date);
    return true;
  }

  /** A written report file's path, or null when the day or the report does not exist. */
  file(date: string, report: ReportName | 'totals', format: 'json' | 'csv'): string | null {
    const file = join(this.folder(date), `${report}.${format}`);
    return existsSync(file) ? file : null;
  }

  /** A written report file's text (a small one: the totals), or null when the day or the report does not exist. */
  read(date: string, report: ReportName | 'totals', format: 'json' | 'csv'): string | null {
    const file = this.file(date, report, format);
    return file === null ? null : readFileSync(file, 'utf8');
  }

  /** Days whose outputs are written. */
  days(): string[] {
    return (this.journal.db.prepare('SELECT date FROM settlement_days ORDER BY date').all() as { date: string }[]).map((r) => r.date);
  }
}

export { SettlementError };
