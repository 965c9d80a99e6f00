// The settlement thread itself (started by settlementThread.ts): its own connection to the journal,
// and a SettlementWriter that builds, checks and writes each day it is asked for, one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { Journal } from './journal.ts';
import { SettlementWriter } from './settlementWriter.ts';

const { dataDir, synchronous } = workerData as { dataDir: string; synchronous: 'FULL' | 'OFF' };
const journal = new Journal(dataDir, { synchronous });
const writer = new SettlementWriter(journal, dataDir);
const port = parentPort as NonNullable<typeof parentPort>;

port.on('message', (m: { id: number; date: string } | 'close') => {
  if (m === 'close') {
    // Only reads and the settlement tables went through this connection: nothing of the journal's to commit.
    journal.db.close();
    port.postMessage('closed');
    return;
  }
  try {
    writer.write(m.date);
    port.postMessage({ id: m.id });
  } catch (e) {
    port.postMessage({ id: m.id, error: (e as Error).message });
  }
});
port.postMessage('ready');
