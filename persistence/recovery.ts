// Start-up: open the data directory, restore the newest sound snapshot, replay the journal after
// it, and hand back an engine in exactly the state the last acknowledged command left. A new
// directory starts from the genesis it is given. Nothing but the probes is served until this has
// finished: the exchange's start recovers in turns (recoverInTurns), so that a server already
// listening can say it is alive and not ready yet.
import { Engine, type Command, type EngineEvent } from '../engine/index.ts';
import { Journal, JournalError, isFact, type Genesis } from './journal.ts';
import { SnapshotStore, type SoundSnapshot } from './snapshots.ts';
import { runInTurns, runToEnd } from './turns.ts';

export interface Recovered {
  engine: Engine;
  journal: Journal;
  snapshots: SnapshotStore;
  /** True when the directory was new. */
  created: boolean;
  fromSnapshot: number | null;
  replayed: number;
  skippedSnapshots: string[];
  millis: number;
}

/**
 * How far a recovery has come, updated as it goes when passed in RecoveryOptions (the exchange's
 * probes and metrics read it while it recovers).
 */
export interface RecoveryProgress {
  /** Opening the journal and the newest sound snapshot, or replaying the journal after it. */
  phase: 'opening' | 'replaying';
  /** Commands replayed so far. */
  replayed: number;
  /** Commands journalled after the snapshot recovery starts from. */
  toReplay: number;
}

export interface RecoveryOptions {
  genesis?: Genesis;
  synchronous?: 'FULL' | 'OFF';
  progress?: RecoveryProgress;
  /** recoverInTurns: stops between turns once aborted (the journal closed, nothing written), rejecting with the reason. */
  signal?: AbortSignal;
}

/** Recovers in one go: the event loop waits until it is done (tests, benchmarks, tools). */
export function recover(dir: string, options: RecoveryOptions = {}): Recovered {
  return runToEnd(recovering(dir, options));
}

/**
 * Recovers in turns of about `sliceMs` of work, letting the event loop run between them, so that a
 * server already listening answers its probes while a long journal replays (the exchange's start).
 */
export function recoverInTurns(dir: string, options: RecoveryOptions = {}, sliceMs = 10): Promise<Recovered> {
  return runInTurns(recovering(dir, options), sliceMs, options.signal);
}

/** Recovery, pausing (yield) after every batch it replays; returns what recover() returns. */
function* recovering(dir: string, options: RecoveryOptions): Generator<void, Recovered> {
  const started = performance.now();
  const journal = new Journal(dir, { synchronous: options.synchronous });
  let replayed = 0;
  let opened: Omit<Recovered, 'replayed' | 'millis'>;
  try {
    opened = open(dir, journal, options);
    const progress = options.progress;
    if (progress !== undefined) {
      progress.phase = 'replaying';
      progress.toReplay = Math.max(0, journal.lastSeq() - opened.engine.lastSequence);
    }
    replayed = yield* replaying(opened.engine, journal, progress);
  } catch (e) {
    journal.db.close();
    throw e;
  }
  return { ...opened, replayed, millis: performance.now() - started };
}

/** The genesis (recorded for a new directory) and the engine of the newest sound snapshot, or a fresh one. */
function open(dir: string, journal: Journal, options: RecoveryOptions): Omit<Recovered, 'replayed' | 'millis'> {
  const snapshots = new SnapshotStore(journal);
  let genesis = journal.genesis();
  const created = genesis === null;
  if (genesis === null) {
    if (journal.lastSeq() > 0) throw new JournalError(`the journal in ${dir} has commands but no genesis record: it is not a complete data directory`);
    if (options.genesis === undefined) throw new JournalError(`${dir} holds no exchange yet and no genesis was given`);
    genesis = options.genesis;
    journal.setGenesis(genesis);
  }
  const found = snapshots.latestValid();
  const engine = replayStart(journal, genesis, found);
  const fromSnapshot = found.engine === null ? null : found.record.seq;
  return { engine, journal, snapshots, created, fromSnapshot, skippedSnapshots: found.skipped };
}

/**
 * The engine the journal is replayed onto: the newest sound snapshot's, or a new one of the
 * genesis. Refused when neither covers the commands archived out of the journal.
 */
export function replayStart(journal: Journal, genesis: Genesis, found: SoundSnapshot): Engine {
  const engine = found.engine ?? new Engine({ tradingDate: genesis.tradingDate });
  const archivedThrough = Number(journal.meta('archived_through') ?? 0);
  if (engine.lastSequence < archivedThrough) {
    throw new JournalError(`the journal up to seq ${archivedThrough} is archived and no sound snapshot covers it${found.skipped.length ? ` (${found.skipped.join('; ')})` : ''}: restore a snapshot or the archived batches`);
  }
  return engine;
}

/** Whether a batch's recorded facts are a JSON list (damage is told apart from a build that replays differently). */
function readable(facts: string): boolean {
  try {
    return Array.isArray(JSON.parse(facts));
  } catch {
    return false;
  }
}

function damagedFacts(journal: Journal, commands: Command[], batch: number): JournalError {
  return new JournalError(`the facts of seq ${commands[0].seq}–${commands[commands.length - 1].seq} (batch ${batch}) in ${journal.file} are damaged: start-up stops rather than trade on a broken history: restore the journal from a copy`);
}

/** Every how many batches replay() compares all the facts, not only the trade count (see replay). */
export const FULL_CHECK_EVERY = 8;

/**
 * Applies the journal after the engine's last seq, batch by batch, and checks that it produces again
 * what the exchange answered and published: every batch's number of trades against the count
 * recorded with it, and, for one batch in FULL_CHECK_EVERY, the last, every end of day and one the
 * snapshot holds part of, all of its recorded facts (orders, trades, transfers, blocks, alerts, the
 * day's figures) as written. A build whose rules differ from the one that wrote the journal would
 * otherwise rebuild a different state in silence; it stops here instead (JournalError), naming the
 * batch. (Comparing every batch in full costs about as much as the replay itself; a divergence,
 * once started, shows in the state from then on, so it reaches a fully checked batch or a trade
 * count within a few batches.) Returns the number of commands applied.
 */
export function replay(engine: Engine, journal: Journal): number {
  return runToEnd(replaying(engine, journal));
}

/** replay(), pausing (yield) after each batch; counts the commands replayed in `progress` when given. */
function* replaying(engine: Engine, journal: Journal, progress?: RecoveryProgress): Generator<void, number> {
  let replayed = 0;
  const from = engine.lastSequence;
  // One batch read ahead, to know the last one: a connection that does not write (the snapshot
  // thread's) cannot ask the journal which batch it wrote last.
  const batches = journal.batchesAfter(from);
  try {
    for (let next = batches.next(); !next.done;) {
      const { batch, commands, whole } = next.value;
      next = batches.next();
      const full = !whole || batch % FULL_CHECK_EVERY === 0 || next.done === true || commands.some((c) => c.type === 'endOfDay');
      const produced: EngineEvent[] = [];
      let trades = 0;
      for (const command of commands) {
        const result = engine.apply(command);
        replayed++;
        if (!result.ok) continue;
        for (const e of result.events) {
          if (e.type === 'trade') trades++;
          if (full && isFact(e)) produced.push(e);
        }
      }
      let same: boolean;
      if (full) {
        let recorded = journal.recordedFacts(batch);
        if (recorded !== null && !whole && !readable(recorded)) throw damagedFacts(journal, commands, batch);
        if (!whole && recorded !== null) {
          // The snapshot holds the batch's first commands: their facts are not replayed.
          const after = (JSON.parse(recorded) as EngineEvent[]).filter((e) => e.seq > from);
          recorded = after.length === 0 ? null : JSON.stringify(after);
        }
        same = (produced.length === 0 ? null : JSON.stringify(produced)) === recorded;
      } else {
        same = trades === journal.recordedTrades(batch);
      }
      if (!same) {
        // Facts that are not even JSON were damaged on disk, not produced by another build.
        const facts = journal.recordedFacts(batch);
        if (facts !== null && !readable(facts)) throw damagedFacts(journal, commands, batch);
        throw new JournalError(
          `replaying seq ${commands[0].seq}–${commands[commands.length - 1].seq} (batch ${batch}) does not reproduce the ${full ? 'events' : 'trades'} recorded with it: ` +
          'this build does not apply the journal as the build that wrote it did. Start that build to take a snapshot (it takes one at shutdown), then this one',
        );
      }
      if (progress !== undefined) progress.replayed = replayed;
      yield;
    }
  } finally {
    // Read ahead, the batches' statement is still open when a check throws: end it, so that the
    // connection can be closed.
    batches.return(undefined);
  }
  return replayed;
}
