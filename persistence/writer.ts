// The journal's writer thread and the main thread's side of it. The thread has its own connection
// to the journal file and writes each batch it is sent in one transaction (fsync included with
// synchronous=FULL), then says when it is done; meanwhile the main thread stamps and applies the
// next batch. Batches are written in the order sent, and none after one that failed. The thread
// also computes each batch's checksums (its commands', its facts'), which the main thread leaves to it.
// The thread runs the source of writeBatch itself, so it needs no module loader of its own: the same
// code runs whether the exchange was started from TypeScript or from the built bundle.
// After each commit the thread checks that the journal's path still names the file it writes (and
// its -wal file): a data directory deleted, or a journal moved or replaced, while the exchange runs
// would otherwise take every later commit into a file nobody will find again, and acknowledge it.
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { markCommitted, openCommitMark, writeBatch, type BatchPayload, type Journal } from './journal.ts';

const THREAD = (writeBatchSource: string, markCommittedSource: string) => `
const { parentPort, workerData } = require('node:worker_threads');
const { crc32 } = require('node:zlib');
const { statSync, writeSync } = require('node:fs');
const Database = require(workerData.sqlite);
const writeBatch = ${writeBatchSource};
const markCommitted = ${markCommittedSource};
// The commit mark's file (opened by the main thread): written after each commit.
const markFd = workerData.markFd;
const file = workerData.file;
// Set while a batch is written: the settlement thread begins no transaction meanwhile.
const busy = new Int32Array(workerData.busy);
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('busy_timeout = 10000');
const identity = (path) => {
  const s = statSync(path, { throwIfNoEntry: false });
  return s === undefined ? null : s.dev + ':' + s.ino;
};
const opened = identity(file);
// The -wal file as the first commit found it: SQLite keeps it (rewound, never recreated) while
// connections are open.
let wal = null;
const stillThere = (batch) => {
  const now = identity(file);
  const walNow = identity(file + '-wal');
  wal ??= walNow;
  if (now === opened && walNow !== null && walNow === wal) return;
  const what = now === null ? 'was removed' : now !== opened ? 'was replaced by another file' : 'lost its -wal file';
  const seqs = batch === null ? '' : ' (seq ' + batch[1] + '–' + batch[2] + ')';
  throw new Error('the journal ' + file + ' ' + what + ' while the exchange ran: the last batch' + seqs + ' went to a file that is no longer there and was not acknowledged; the exchange stops rather than acknowledge what a restart would not find');
};
// After a failed batch nothing more is written: a later batch committed without it would leave a
// gap in the journal. Every later batch is refused with the first failure.
let failure = null;
parentPort.on('message', (message) => {
  if (message === 'close') { db.close(); parentPort.postMessage('closed'); return; }
  if (failure !== null) { parentPort.postMessage({ id: message.id, error: 'not written after an earlier batch failed: ' + failure }); return; }
  const started = performance.now();
  Atomics.store(busy, 0, 1);
  try {
    const batch = message.payload.batch;
    if (batch !== null && batch[4] === null) batch[4] = crc32(batch[3]);
    const facts = message.payload.facts;
    if (facts !== null && facts[5] === null) facts[5] = crc32(facts[3]);
    writeBatch(db, message.payload);
    stillThere(batch);
    if (batch !== null) markCommitted(writeSync, markFd, batch[0], batch[2]);
    parentPort.postMessage({ id: message.id, ms: performance.now() - started });
  } catch (e) {
    failure = e.message;
    parentPort.postMessage({ id: message.id, error: e.message });
  } finally {
    Atomics.store(busy, 0, 0);
    Atomics.notify(busy, 0);
  }
});
`;

export class BackgroundWriter {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (ms: number) => void; reject: (e: Error) => void }>();
  private closed: (() => void) | null = null;
  /** The commit mark's file, written by the thread; opened and closed here (a thread closing a file its parent opened draws a warning from Node). */
  private readonly markFd: number;

  constructor(journal: Journal) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.markFd = openCommitMark(journal.dir);
    this.worker = new Worker(THREAD(writeBatch.toString(), markCommitted.toString()), {
      eval: true, workerData: { file: journal.file, synchronous: journal.synchronous, sqlite, busy: journal.writerBusy.buffer, markFd: this.markFd },
    });
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

  /** Closes the thread's connection (after the batches already sent) and ends the thread. */
  async close(): Promise<void> {
    this.worker.ref();
    await new Promise<void>((resolve) => {
      this.closed = resolve;
      this.worker.postMessage('close');
    });
    await this.worker.terminate();
    closeSync(this.markFd);
  }
}
