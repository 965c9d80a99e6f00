// A closed day's settlement is built and written on a thread of its own (settlementWorker.ts): a
// busy day's takes seconds (about 36 µs a trade on this machine), which on the exchange's thread held
// every request, heartbeat and probe. The thread has its own connection to the journal; it reads the
// day's facts, writes the report files, then the settlement tables in short transactions (so that the
// journal's writer thread never waits long for the database), the day's row last.
//
// Settlements is what the gateway uses: the published reports, read here, and publication through
// the thread, one request per day at a time (a day asked for while it is being written waits for
// that write rather than starting another).
import type { Journal } from './journal.ts';
import { ModuleThread } from './moduleThread.ts';
import { SettlementWriter, type ReportName } from './settlementWriter.ts';

/** The gateway's settlement: the published days and their reports, and publication through the thread. */
export class Settlements {
  private readonly store: SettlementWriter;
  private readonly thread: ModuleThread<string, null>;
  /** Days being written now, each by one request to the thread. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(journal: Journal, dataDir: string) {
    // The tables are made here, before the thread first writes them.
    this.store = new SettlementWriter(journal, dataDir);
    this.thread = new ModuleThread(new URL('./settlementWorker.ts', import.meta.url), { dataDir: journal.dir, synchronous: journal.synchronous, writerBusy: journal.writerBusy.buffer }, 'settlement');
  }

  /** Writes the day's outputs (again) on the settlement thread; rejects with why they were not written. */
  publish(date: string): Promise<void> {
    const running = this.writing.get(date);
    if (running !== undefined) return running;
    const p = this.thread.request(date).then(() => undefined).finally(() => this.writing.delete(date));
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
