// A closed day's settlement is built and written on a thread of its own (settlementWorker.ts): a
// busy day's takes seconds (about 36 µs a trade on this machine), which on the exchange's thread held
// every request, heartbeat and probe. The thread has its own connection to the journal; it reads the
// day's facts, writes the report files, then the settlement tables in short transactions (so that the
// journal's writer thread never waits long for the database), the day's row last.
//
// Settlements is what the gateway uses: the published reports, read here, and publication through
// the thread, one request per day at a time (a day asked for while it is being written waits for
// that write rather than starting another).
import { Worker } from 'node:worker_threads';
import type { Journal } from './journal.ts';
import { SettlementWriter, type ReportName } from './settlementWriter.ts';

/** The settlement thread: writes the days it is sent, one at a time, in the order sent. */
export class SettlementThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(private readonly dataDir: string, private readonly synchronous: 'FULL' | 'OFF') {}

  /** Builds, checks and writes the day's outputs on the thread; rejects with why they were not. */
  write(date: string): Promise<void> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, date });
    });
  }

  private start(): Worker {
    // The thread runs TypeScript modules: it loads them through tsx's API, as the exchange itself
    // is loaded (a worker does not inherit the --import hooks on Node 20).
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./settlementWorker.ts', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`, {
      eval: true, workerData: { dataDir: this.dataDir, synchronous: this.synchronous },
    });
    worker.on('message', (m: { id: number; error?: string } | 'ready' | 'closed') => {
      if (typeof m === 'string') return;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      // Idle, the thread must not keep the process alive.
      if (this.pending.size === 0) worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve();
    });
    // A thread that fails (or could not load) fails what it was asked; the next request starts another.
    const lost = (e: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the settlement thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Lets the days already sent be written, then closes the thread's connection and ends it. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    this.worker = null;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.on('message', (m) => { if (m === 'closed') resolve(); });
      worker.on('exit', () => resolve());
      worker.postMessage('close');
    });
    await worker.terminate();
  }
}

/** The gateway's settlement: the published days and their reports, and publication through the thread. */
export class Settlements {
  private readonly store: SettlementWriter;
  private readonly thread: SettlementThread;
  /** Days being written now, each by one request to the thread. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(journal: Journal, dataDir: string) {
    // The tables are made here, before the thread first writes them.
    this.store = new SettlementWriter(journal, dataDir);
    this.thread = new SettlementThread(journal.dir, journal.synchronous);
  }

  /** Writes the day's outputs (again) on the settlement thread; rejects with why they were not written. */
  publish(date: string): Promise<void> {
    const running = this.writing.get(date);
    if (running !== undefined) return running;
    const p = this.thread.write(date).finally(() => this.writing.delete(date));
    this.writing.set(date, p);
    return p;
  }

  /** The write of the day under way, or null. */
  publishing(date: string): Promise<void> | null {
    return this.writing.get(date) ?? null;
  }

  /**
   * A closed day's outputs, written if they are missing (a crash or a failed write cut them short,
   * or they are being written now): true once they are there, false when the day has not been
   * closed. Rejects when they cannot be written.
   */
  async ensure(date: string): Promise<boolean> {
    const running = this.writing.get(date);
    if (running !== undefined) await running;
    if (this.store.published(date)) return true;
    if (!this.store.closed(date)) return false;
    await this.publish(date);
    return true;
  }

  published(date: string): boolean {
    return this.store.published(date);
  }

  file(date: string, report: ReportName | 'totals', format: 'json' | 'csv'): string | null {
    return this.store.file(date, report, format);
  }

  read(date: string, report: ReportName | 'totals', format: 'json' | 'csv'): string | null {
    return this.store.read(date, report, format);
  }

  /** Waits for the days being written, then ends the thread. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.writing.values()]);
    await this.thread.close();
  }
}
