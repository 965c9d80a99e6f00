// Long start-up work (recovery, reading the day back) is written as generators that pause (yield)
// between steps, so that it can run in one go, or in turns with the event loop (the exchange's start,
// whose server answers its probes meanwhile).

/** Runs a task that pauses (yields) between its steps, in one go. */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (let step = steps.next(); ; step = steps.next()) if (step.done === true) return step.value;
}

/**
 * Runs a task that pauses (yields) between its steps, giving the event loop a turn after about every
 * `sliceMs` of it. Once `signal` is aborted (during such a turn), the task is stopped where it
 * paused: the abort's reason is thrown into it, so its own catch and finally blocks clean up, and
 * the promise rejects with that reason.
 */
export async function runInTurns<T>(steps: Generator<void, T>, sliceMs = 10, signal?: AbortSignal): Promise<T> {
  let turnStarted = performance.now();
  for (let step = steps.next(); ; step = signal?.aborted === true ? steps.throw(signal.reason) : steps.next()) {
    if (step.done === true) return step.value;
    if (performance.now() - turnStarted >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      turnStarted = performance.now();
    }
  }
}
