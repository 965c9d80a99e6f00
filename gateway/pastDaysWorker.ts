// The past days' thread itself (started by pastDays.ts): its own connection to the journal, read
// only, and the last closed day it folded, let go after a few idle minutes.
import { workerData } from 'node:worker_threads';
import { Journal } from '../persistence/journal.ts';
import { serve } from '../persistence/moduleThread.ts';
import { ClosedDays, type PastDayQuery } from './pastDays.ts';

/** How long the day folded last is kept without being asked for. */
const KEEP_IDLE_MS = 5 * 60_000;

const { dataDir } = workerData as { dataDir: string };
const journal = new Journal(dataDir, { readonly: true });
const days = new ClosedDays(journal);
let idle: NodeJS.Timeout | null = null;

serve((q: PastDayQuery) => {
  if (idle !== null) clearTimeout(idle);
  const answer = days.answer(q);
  idle = setTimeout(() => days.forget(), KEEP_IDLE_MS);
  idle.unref();
  return answer;
}, () => {
  if (idle !== null) clearTimeout(idle);
  journal.db.close(); // read only: nothing to commit
});
