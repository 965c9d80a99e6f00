// The sequencer: the one door every change of state passes. It stamps a command with the next
// sequence number and the time, appends it to the journal's open batch and applies it to the engine.
// Everything that arrives in one turn of the event loop forms one batch; when the turn ends the batch
// is committed (synchronous=FULL), and only then are the outcomes released to callers and the events
// to subscribers. A crash before the commit loses only commands nobody was answered about.
// With `background: true` a writer thread does the commit: while it waits on the disk, the next
// batches gather and are applied here (group commit). Up to two batches are in flight: the one the
// writer is committing and the next, sealed and queued behind it, so that the writer starts on it
// the moment the first is durable rather than when this thread next gets round to sending it. The
// writer commits them in the order sent and stops at the first failure, so batches commit in order
// and never with a gap.
import type { Actor, Command, CommandBody, EngineEvent, Result } from '../engine/index.ts';
export type { CommandBody };
import type { Engine } from '../engine/index.ts';
import type { Journal } from './journal.ts';
import type { SnapshotStore } from './snapshots.ts';
import { BackgroundWriter } from './writer.ts';


export interface Committed { command: Command; result: Result }

/** Batches on their way to the writer thread at once: one committing, one queued behind it. */
const MAX_IN_FLIGHT = 2;

export interface SequencerOptions {
  /** Take a snapshot after this many commands (0 = never by count). */
  snapshotEvery?: number;
  /** The clock; tests may fix it. Stamped times never go back even if it does. */
  now?: () => number;
  /** Commit on a writer thread, overlapping the disk with the next batch. */
  background?: boolean;
}

export class Sequencer {
  private waiting: { command: Command; result: Result; resolve: (r: Result) => void }[] = [];
  private scheduled = false;
  private lastTime: number;
  private sinceSnapshot = 0;
  private snapshotting: Promise<unknown> | null = null;
  private stopped = false;
  private seqWaiters: { seq: number; resolve: () => void }[] = [];
  private readonly listeners: ((batch: Committed[]) => void)[] = [];
  private readonly sealListeners: ((batch: readonly Committed[]) => void)[] = [];
  private barriers: (() => void)[] = [];
  private readonly writer: BackgroundWriter | null;
  /** Batches sent to the writer thread and not yet durable (at most MAX_IN_FLIGHT). */
  private inFlight = 0;
  /** The last sequence number known durable, and who waits for a later one. */
  private committedSeq: number;
  readonly stats = { commands: 0, batches: 0, lastCommitMs: 0, maxCommitMs: 0 };

  constructor(
    readonly engine: Engine,
    private readonly journal: Journal,
    private readonly snapshots: SnapshotStore | null,
    private readonly options: SequencerOptions = {},
  ) {
    // Stamped times never go back, not even across a restart with a clock that has.
    this.lastTime = engine.lastStampedTime;
    this.committedSeq = engine.lastSequence;
    this.writer = options.background === true ? new BackgroundWriter(journal) : null;
  }

  /**
   * Resolves once everything applied so far is committed. Reads wait for it, so that nothing a
   * reply shows is about a command whose batch could still be lost.
   */
  committed(): Promise<void> {
    if (this.waiting.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.barriers.push(resolve));
  }

  /** The sequence number of the last command known durable. */
  get durableSeq(): number {
    return this.committedSeq;
  }

  /** Resolves once the command `seq` is durable, after the listeners of its batch's commit (onCommit) have been told. */
  durable(seq: number): Promise<void> {
    if (seq <= this.committedSeq) return Promise.resolve();
    return new Promise((resolve) => this.seqWaiters.push({ seq, resolve }));
  }

  /** Called with each committed batch, in order: execution reports and market data start here. */
  onCommit(listener: (batch: Committed[]) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Called with each batch as it is sealed for the disk, before any later command is applied: the
   * engine's state then is exactly the state after the batch. By the time the batch has committed it
   * may not be (with the writer thread, the next batches are applied meanwhile), so whoever must
   * show the state after a committed batch reads it here and keeps it until the commit.
   */
  onSeal(listener: (batch: readonly Committed[]) => void): void {
    this.sealListeners.push(listener);
  }

  /** The exchange's clock (the one commands are stamped with). */
  now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Stamps, journals and applies a command; resolves with its outcome once its batch is durable. */
  submit(actor: Actor, body: CommandBody): Promise<Result> {
    if (this.stopped) return Promise.reject(new Error('the exchange is shutting down'));
    const now = this.now();
    const time = now > this.lastTime ? now : this.lastTime;
    this.lastTime = time;
    const command = { ...body, seq: this.engine.lastSequence + 1, time, actor } as Command;
    let result: Result;
    try {
      result = this.engine.apply(command);
    } catch (e) {
      // An engine invariant broke: stop before the batch commits, so that the journal holds
      // nothing the engine could not apply; recovery restarts from the last good state.
      process.stderr.write(`fatal: the engine failed on seq ${command.seq}: ${(e as Error).stack}\n`);
      process.exit(70);
    }
    // The command goes into the batch with its facts (what settlement and the members' history are
    // rebuilt from) and, for risk officers and operators, its outcome for the audit trail.
    if (result.ok) this.journal.append(command, result.events, null, result.duplicate === true ? result.transferSeq ?? null : null);
    else this.journal.append(command, null, result);
    this.stats.commands++;
    this.sinceSnapshot++;
    return new Promise((resolve) => {
      this.waiting.push({ command, result, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits the open batch and releases its outcomes (on the writer thread: once it is durable). */
  flush(): void {
    this.scheduled = false;
    if (this.waiting.length === 0 || this.inFlight >= MAX_IN_FLIGHT) return;
    const batch = this.waiting;
    this.waiting = [];
    for (const l of this.sealListeners) l(batch);
    if (this.writer === null) {
      this.journal.commit();
      this.release(batch, this.journal.lastCommitMs);
      return;
    }
    const payload = this.journal.takeBatch(false);
    if (payload === null) return this.release(batch, 0);
    this.inFlight++;
    this.writer.write(payload).then((ms) => {
      this.inFlight--;
      this.release(batch, ms);
      if (this.waiting.length > 0) this.flush();
    }, (e: Error) => {
      // Nothing of this batch was answered; the engine holds it, the disk may not: stop.
      process.stderr.write(`fatal: the journal could not commit: ${e.message}\n`);
      process.exit(74);
    });
  }

  private release(batch: { command: Command; result: Result; resolve: (r: Result) => void }[], commitMs: number): void {
    this.stats.batches++;
    this.stats.lastCommitMs = commitMs;
    if (commitMs > this.stats.maxCommitMs) this.stats.maxCommitMs = commitMs;
    this.committedSeq = batch[batch.length - 1].command.seq;
    for (const w of batch) w.resolve(w.result);
    if (this.seqWaiters.length > 0) {
      const due = this.seqWaiters.filter((w) => w.seq <= this.committedSeq);
      this.seqWaiters = this.seqWaiters.filter((w) => w.seq > this.committedSeq);
      for (const w of due) w.resolve();
    }
    if (this.barriers.length > 0 && this.waiting.length === 0 && this.inFlight === 0) {
      const barriers = this.barriers;
      this.barriers = [];
      for (const b of barriers) b();
    }
    if (this.listeners.length > 0) {
      const committed = batch.map((w) => ({ command: w.command, result: w.result }));
      for (const l of this.listeners) l(committed);
    }
    const every = this.options.snapshotEvery ?? 0;
    if (this.snapshots !== null && every > 0 && this.sinceSnapshot >= every && this.snapshotting === null) this.snapshotInBackground();
  }

  private snapshotInBackground(): void {
    this.snapshot().catch((e) => process.stderr.write(`snapshot failed: ${(e as Error).message}\n`));
  }

  /**
   * A snapshot of what is committed now, taken on the snapshot thread (SnapshotStore.takeByReplay):
   * the exchange's thread goes on meanwhile. Resolves once it is recorded. Should the thread fail
   * (it cannot rebuild the state from the disk: a snapshot or a batch damaged since the start, or
   * it cannot run), the snapshot is taken from the exchange's own engine instead, serialised in
   * line, the old way: one pause, and a directory a crash would otherwise leave unable to start is
   * sound again.
   */
  snapshot(): Promise<unknown> {
    const snapshots = this.snapshots;
    if (snapshots === null || this.stopped) return Promise.resolve();
    this.sinceSnapshot = 0;
    // One at a time: a snapshot taken the old way after a failure must not write the file the
    // thread's next one writes.
    const previous = this.snapshotting ?? Promise.resolve();
    const taking = previous.then(() => snapshots.takeByReplay()).catch((e: Error) => {
      process.stderr.write(`snapshot on the snapshot thread failed (${e.message}): taken from the exchange's engine instead\n`);
      return snapshots.take(this.engine, (seq) => this.durable(seq));
    });
    // The newest one asked for is the last taken: shutdown waits for it.
    const settled: Promise<unknown> = taking.catch(() => undefined).finally(() => {
      if (this.snapshotting === settled) this.snapshotting = null;
    });
    this.snapshotting = settled;
    return taking;
  }

  /** Stops intake, commits what is open, lets a background snapshot finish and takes a final one. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.flush();
    await this.committed();
    if (this.snapshotting !== null) await this.snapshotting;
    await this.snapshots?.closeThread();
    // The snapshot only shortens the next start: one that cannot be written (a full disk) loses
    // nothing, as the journal holds every command, and the shutdown goes on to close it.
    let unsaved: Error | null = null;
    try {
      if (this.snapshots !== null && this.engine.lastSequence > 0) this.snapshots.takeSync(this.engine);
    } catch (e) {
      unsaved = e as Error;
    }
    if (this.writer !== null) await this.writer.close();
    if (unsaved !== null) process.stderr.write(`warning: the shutdown snapshot could not be written (${unsaved.message.replace(/\s*\n\s*/g, ' ')}): nothing is lost, as the journal holds every command; the next start replays it from the last snapshot taken before\n`);
  }

  /** Events of a committed batch, in order. */
  static events(batch: Committed[]): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (const c of batch) if (c.result.ok) for (const e of c.result.events) out.push(e);
    return out;
  }
}
