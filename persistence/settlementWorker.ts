// The settlement thread itself (started by settlementThread.ts): its own connection to the journal,
// and a SettlementWriter that builds, checks and writes each day it is asked for, one at a time.
import { workerData } from 'node:worker_threads';
import { Journal } from './journal.ts';
import { serve } from './moduleThread.ts';
import { SettlementWriter } from './settlementWriter.ts';

const { dataDir, synchronous, writerBusy } = workerData as { dataDir: string; synchronous: 'FULL' | 'OFF'; writerBusy: SharedArrayBuffer };
const journal = new Journal(dataDir, { synchronous });
// The settlement tables need no sync of their own: the day's row is written last and the journal's
// next commit syncs the log with it; a day whose row a power cut took is written again at the
// next start. Each of the thread's many short transactions then costs no fsync.
if (synchronous === 'FULL') journal.db.pragma('synchronous = NORMAL');
const busy = new Int32Array(writerBusy);
/** Returns once the journal's writer thread is not writing a batch. */
const yieldToJournal = () => {
  for (let flag = Atomics.load(busy, 0); flag !== 0; flag = Atomics.load(busy, 0)) Atomics.wait(busy, 0, flag, 50);
};
const writer = new SettlementWriter(journal, dataDir, yieldToJournal);

serve((date: string) => {
  writer.write(date);
  return null;
}, () => {
  // Only reads and the settlement tables went through this connection: nothing of the journal's to commit.
  journal.db.close();
});
