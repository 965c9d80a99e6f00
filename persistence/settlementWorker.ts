// The settlement thread itself (started by settlementThread.ts): its own connection to the journal,
// and a SettlementWriter that builds, checks and writes each day it is asked for, one at a time.
import { workerData } from 'node:worker_threads';
import { Journal } from './journal.ts';
import { serve } from './moduleThread.ts';
import { SettlementWriter } from './settlementWriter.ts';

const { dataDir, synchronous } = workerData as { dataDir: string; synchronous: 'FULL' | 'OFF' };
const journal = new Journal(dataDir, { synchronous });
const writer = new SettlementWriter(journal, dataDir);

serve((date: string) => {
  writer.write(date);
  return null;
}, () => {
  // Only reads and the settlement tables went through this connection: nothing of the journal's to commit.
  journal.db.close();
});
