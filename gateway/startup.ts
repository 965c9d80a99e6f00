// How far the exchange's start has come: the recovery's progress (updated by the replay itself), the
// steps after it, and how long it all took; and whether the exchange serves requests (from the end
// of its start until it begins to shut down). The standby server answers /readyz and /metrics from it
// while the exchange recovers; once ready, /metrics keeps its figures (how long the last start took,
// how much it replayed).
import type { RecoveryProgress } from '../persistence/recovery.ts';

/** The steps of a start, in order: recovery's own, then reading the day back and building the gateway. */
export const START_PHASES = ['opening', 'replaying', 'history', 'gateway'] as const;
export type StartPhase = typeof START_PHASES[number] | 'ready';

/** The /readyz body while not ready. */
export interface RecoveringStatus { status: 'recovering'; phase: StartPhase; replayed: number; toReplay: number }

export class Startup {
  /** Handed to recovery, which updates it. */
  readonly recovery: RecoveryProgress = { phase: 'opening', replayed: 0, toReplay: 0 };
  /** The step after recovery, once it has finished. */
  private step: 'history' | 'gateway' | null = null;
  private readonly started = performance.now();
  private tookMs: number | null = null;
  private serving = false;
  private draining = false;

  /** Recovery has finished; the exchange is on `step`. */
  after(step: 'history' | 'gateway'): void {
    this.step = step;
  }

  /** The exchange serves requests from now on. */
  ready(): void {
    this.tookMs ??= performance.now() - this.started;
    this.serving = true;
  }

  /**
   * The exchange is about to shut down: it still serves every request, but /readyz answers 503 so
   * that a load balancer sends no more (the drain before a shutdown, `--drain-ms`).
   */
  drain(): void {
    this.draining = true;
  }

  /** The exchange is shutting down: it serves no more. */
  stopping(): void {
    this.serving = false;
  }

  /** Whether it serves requests (from the end of its start until it begins to shut down). */
  get isReady(): boolean {
    return this.serving;
  }

  /** Whether it serves requests but asks for no more (see drain()). */
  get isDraining(): boolean {
    return this.serving && this.draining;
  }

  get phase(): StartPhase {
    return this.tookMs !== null ? 'ready' : this.step ?? this.recovery.phase;
  }

  status(): RecoveringStatus {
    const { replayed, toReplay } = this.recovery;
    return { status: 'recovering', phase: this.phase, replayed, toReplay };
  }

  /** Readiness and recovery figures in the Prometheus text format. */
  text(): string {
    const { replayed, toReplay } = this.recovery;
    const phase = this.phase;
    const seconds = (this.tookMs ?? performance.now() - this.started) / 1000;
    const gauge = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
    return [
      ...gauge('exchange_ready', '1 while the exchange serves requests and takes new ones (/readyz 200); 0 while it recovers its journal, drains or shuts down.', this.isReady && !this.isDraining ? 1 : 0),
      '# HELP exchange_start_phase The step the start is at (1 for the current one): opening, replaying, history, gateway, ready.',
      '# TYPE exchange_start_phase gauge',
      ...[...START_PHASES, 'ready'].map((p) => `exchange_start_phase{phase="${p}"} ${p === phase ? 1 : 0}`),
      ...gauge('exchange_recovery_commands_replayed', 'Commands replayed from the journal by this start (so far, while it recovers).', replayed),
      ...gauge('exchange_recovery_commands_to_replay', 'Commands journalled after the snapshot this start recovered from.', toReplay),
      ...gauge('exchange_start_seconds', 'Time from the start of the process\'s exchange until it was ready (so far, while it recovers).', Math.round(seconds * 1000) / 1000),
    ].join('\n') + '\n';
  }
}
