// Work run in turns: in one go, or with the event loop between turns; an abort stops it where it
// paused, through its own catch and finally blocks, and rejects with the abort's reason.
import t from 'tap';
import { runInTurns, runToEnd } from '../../persistence/turns.ts';

function* counting(upTo: number, log: string[]): Generator<void, number> {
  let n = 0;
  try {
    for (; n < upTo; n++) yield;
    return n;
  } catch (e) {
    log.push(`caught ${(e as Error).message} at ${n}`);
    throw e;
  } finally {
    log.push('cleaned up');
  }
}

t.test('runs to the end, in one go or in turns', async (t) => {
  t.equal(runToEnd(counting(1000, [])), 1000);
  t.equal(await runInTurns(counting(1000, []), 0), 1000);
});

t.test('an abort between turns stops the task where it paused, and the task cleans up', async (t) => {
  const log: string[] = [];
  const aborting = new AbortController();
  let turns = 0;
  const ticking = setInterval(() => { if (++turns === 3) aborting.abort(new Error('stop')); }, 0);
  t.teardown(() => clearInterval(ticking));
  await t.rejects(runInTurns(counting(Number.MAX_SAFE_INTEGER, log), 0, aborting.signal), { message: 'stop' }, 'rejects with the reason');
  t.match(log, [/^caught stop at \d+$/, 'cleaned up'], 'the catch block saw it, then the finally block ran');
  t.ok(Number(/at (\d+)/.exec(log[0])![1]) > 0, 'part-way through');
});

t.test('a signal already aborted stops it after its first step', async (t) => {
  const log: string[] = [];
  await t.rejects(runInTurns(counting(10, log), 0, AbortSignal.abort(new Error('early'))), { message: 'early' });
  t.same(log, ['caught early at 0', 'cleaned up']);
});
