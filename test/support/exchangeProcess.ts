// The exchange as a child process, for end-to-end and crash tests: `node --import tsx gateway/main.ts`
// on a free port with a temporary data directory and a keys file of the test's own. start() waits
// for /readyz; kill() sends SIGKILL (a crash), stop() SIGTERM (a clean shutdown); both wait for the
// process to be gone. Always register kill() with t.teardown so that no child outlives its test.
// journalOnDisk() reads what a (possibly killed) exchange left in its data directory.
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface KeySpec { key: string; role: 'member' | 'risk' | 'operator'; member?: string }

/** A temporary folder under the OS temp dir; remove() deletes it with everything in it. */
export function tempFolder(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A port nobody listens on right now (the OS picks it; another process could still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ExchangeOptions {
  /** The data directory (created by the exchange when missing). */
  dataDir: string;
  /** The keys file to pass with --keys; without it, the demo keys (made and printed on a first start). */
  keysFile?: string;
  /** More command-line arguments, e.g. ['--snapshot-every', '200']. */
  args?: string[];
  /** More environment variables, e.g. { SNAPSHOT_EVERY: '200' } (ignored by a server that does not read them). */
  env?: Record<string, string>;
  /** How long to wait for /readyz before giving up (a failure, not a measurement). */
  readyWithinMs?: number;
  /** The port to listen on (a free one when not given). */
  port?: number;
  /** Keep pino's request log (the start runs with --quiet otherwise). */
  logs?: boolean;
}

/** Children still running: killed when this process exits, however it exits. */
const living = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

export class ExchangeProcess {
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitedFlag = false;
  /** Everything the child wrote to stderr (and stdout), for failure messages. */
  output = '';

  private constructor(readonly child: ChildProcess, readonly port: number, readonly dataDir: string) {
    living.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        living.delete(child);
        this.exitedFlag = true;
        resolve({ code, signal });
      });
    });
    child.stdout?.on('data', (d: Buffer) => { this.output += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { this.output += d.toString(); });
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  /** Starts the exchange and resolves once /readyz answers 200. */
  static async start(options: ExchangeOptions): Promise<ExchangeProcess> {
    for (let attempt = 1; ; attempt++) {
      const ex = await ExchangeProcess.spawn(options);
      try {
        await ex.waitReady(options.readyWithinMs ?? 30_000);
        return ex;
      } catch (e) {
        await ex.kill();
        // Another process took the free port between our look and the child's listen: try another.
        if (attempt < 3 && ex.output.includes('EADDRINUSE')) continue;
        throw e;
      }
    }
  }

  /** Starts the exchange without waiting for it to be ready (to kill it during start-up). */
  static async spawn(options: ExchangeOptions): Promise<ExchangeProcess> {
    const port = options.port ?? await freePort();
    const args = options.args ?? [];
    // A flag the test gives itself replaces the one given here: the exchange refuses a flag given twice.
    const given = (flag: string) => args.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
    const own = (flag: string, ...value: string[]) => (given(flag) ? [] : [`--${flag}`, ...value]);
    const child = spawn(process.execPath, [
      '--import', 'tsx', join(ROOT, 'gateway', 'main.ts'),
      ...own('data', options.dataDir), ...own('port', String(port)), ...own('host', '127.0.0.1'),
      ...(options.keysFile === undefined ? [] : own('keys', options.keysFile)), ...(options.logs === true ? [] : own('quiet')),
      ...args,
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...options.env } });
    return new ExchangeProcess(child, port, options.dataDir);
  }

  /** Resolves once /readyz answers 200; throws if the process exits first or the time runs out. */
  async waitReady(withinMs = 30_000): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the exchange exited before it was ready:\n${this.output}`);
      try {
        const r = await fetch(`${this.base}/readyz`);
        if (r.status === 200) return;
        await r.arrayBuffer();
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the exchange was not ready within ${withinMs} ms:\n${this.output}`);
  }

  /** Resolves with the exit code (or the signal) once the process has ended on its own. */
  async ended(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /** SIGKILL: the process dies at once, as in a crash. Resolves when it is gone. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Sends a signal and returns at once (stop() waits for the exit). */
  signal(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM: a clean shutdown (commit, snapshot, close). Resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return (await this.exited).code;
  }
}

/** Writes a keys file with the given keys into `folder` and returns its path. */
export function writeKeys(folder: string, keys: KeySpec[]): string {
  const file = join(folder, 'keys.json');
  writeFileSync(file, JSON.stringify(keys));
  return file;
}

/** What a data directory's journal holds on disk (schema 3: one row per batch), read without writing to it. */
export interface JournalOnDisk {
  /** Whether journal.sqlite exists. */
  file: boolean;
  /** The tables in it (empty while it is being created or cannot be read). */
  tables: string[];
  schemaVersion: string | null;
  genesis: boolean;
  batches: number;
  /** The commands in all batches. */
  commands: number;
}

/**
 * Reads a data directory's journal with a read-only connection, as a crash left it or while the
 * exchange is writing it; a file that cannot be read yet counts as empty.
 */
export function journalOnDisk(dataDir: string): JournalOnDisk {
  const file = join(dataDir, 'journal.sqlite');
  const empty: JournalOnDisk = { file: existsSync(file), tables: [], schemaVersion: null, genesis: false, batches: 0, commands: 0 };
  if (!empty.file) return empty;
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const out: JournalOnDisk = { ...empty, tables };
    if (tables.includes('meta')) {
      const meta = (key: string) => (db as Database.Database).prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      out.schemaVersion = meta('schema_version')?.value ?? null;
      out.genesis = meta('genesis') !== undefined;
    }
    if (tables.includes('batches')) {
      const row = db.prepare('SELECT COUNT(*) AS batches, COALESCE(SUM(last_seq - first_seq + 1), 0) AS commands FROM batches').get() as { batches: number; commands: number };
      out.batches = row.batches;
      out.commands = row.commands;
    }
    return out;
  } catch {
    return empty; // being created right now (or locked): nothing readable yet
  } finally {
    db?.close();
  }
}

export interface BatchRow { batch: number; first_seq: number; last_seq: number; commands: string; crc: number }

/** The journal's batch rows in a data directory, read with SQL. */
export function batchRows(dataDir: string): BatchRow[] {
  const db = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT batch, first_seq, last_seq, commands, crc FROM batches ORDER BY batch').all() as BatchRow[];
  db.close();
  return rows;
}
