// The journal's writer thread: its own connection to the journal file, which writes each batch it
// is sent in one transaction (fsync included with synchronous=FULL) and says when it is done. While
// it waits on the disk, the main thread goes on stamping and applying the next batch.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { writeBatch, type BatchPayload } from './journal.ts';

const { file, synchronous } = workerData as { file: string; synchronous: 'FULL' | 'OFF' };
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${synchronous}`);
db.pragma('busy_timeout = 10000');

parentPort?.on('message', (message: { id: number; payload: BatchPayload } | 'close') => {
  if (message === 'close') {
    db.close();
    parentPort?.postMessage('closed');
    return;
  }
  const started = performance.now();
  try {
    writeBatch(db, message.payload);
    parentPort?.postMessage({ id: message.id, ms: performance.now() - started });
  } catch (e) {
    parentPort?.postMessage({ id: message.id, error: (e as Error).message });
  }
});
