// The main thread's side of the writer thread: hands it one batch at a time and resolves when the
// batch is durable. Only one batch is in flight; the next one gathers meanwhile (group commit).
import { Worker } from 'node:worker_threads';
import type { BatchPayload, Journal } from './journal.ts';

export class BackgroundWriter {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (ms: number) => void; reject: (e: Error) => void }>();

  constructor(journal: Journal) {
    this.worker = new Worker(new URL('./writerThread.mjs', import.meta.url), { workerData: { file: journal.file, synchronous: journal.synchronous } });
    this.worker.on('message', (m: { id: number; ms?: number; error?: string } | 'closed') => {
      if (m === 'closed') { this.closed?.(); return; }
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      // Idle, the thread must not keep the process alive; busy, it must (a commit is awaited).
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.ms as number);
    });
    this.worker.on('error', (e) => { for (const p of this.pending.values()) p.reject(e); this.pending.clear(); });
    this.worker.unref();
  }

  /** Writes the batch on the writer thread; resolves with the milliseconds the commit took. */
  write(payload: BatchPayload): Promise<number> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, payload });
    });
  }

  private closed: (() => void) | null = null;

  /** Closes the thread's connection (after the batches already sent) and ends the thread. */
  async close(): Promise<void> {
    this.worker.ref();
    await new Promise<void>((resolve) => {
      this.closed = resolve;
      this.worker.postMessage('close');
    });
    await this.worker.terminate();
  }
}
