// How far the exchange's start has come: the recovery's progress (updated by the replay itself), the
// steps after it, and how long it all took. The standby server answers /readyz and /metrics from it
// while the exchange recovers; once ready, /metrics keeps its figures (how long the last start took,
// how much it replayed).
import type { RecoveryProgress } from '../persistence/recovery.ts';

const PHASES: RecoveryProgress['phase'][] = ['opening', 'replaying', 'history', 'gateway', 'ready'];

/** The /readyz body while not ready. */
export interface RecoveringStatus { status: 'recovering'; phase: RecoveryProgress['phase']; replayed: number; toReplay: number }

export class Startup {
  readonly progress: RecoveryProgress = { phase: 'opening', replayed: 0, toReplay: 0 };
  private readonly started = performance.now();
  private tookMs: number | null = null;

  /** The exchange serves requests from now on. */
  ready(): void {
    this.progress.phase = 'ready';
    this.tookMs ??= performance.now() - this.started;
  }

  get isReady(): boolean {
    return this.tookMs !== null;
  }

  status(): RecoveringStatus {
    const { phase, replayed, toReplay } = this.progress;
    return { status: 'recovering', phase, replayed, toReplay };
  }

  /** Readiness and recovery figures in the Prometheus text format. */
  text(): string {
    const { phase, replayed, toReplay } = this.progress;
    const seconds = (this.tookMs ?? performance.now() - this.started) / 1000;
    const gauge = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`];
    return [
      ...gauge('exchange_ready', '1 once the exchange serves requests, 0 while it recovers its journal.', this.isReady ? 1 : 0),
      '# HELP exchange_start_phase The step the start is at (1 for the current one): opening, replaying, history, gateway, ready.',
      '# TYPE exchange_start_phase gauge',
      ...PHASES.map((p) => `exchange_start_phase{phase="${p}"} ${p === phase ? 1 : 0}`),
      ...gauge('exchange_recovery_commands_replayed', 'Commands replayed from the journal by this start (so far, while it recovers).', replayed),
      ...gauge('exchange_recovery_commands_to_replay', 'Commands journalled after the snapshot this start recovered from.', toReplay),
      ...gauge('exchange_start_seconds', 'Time from the start of the process\'s exchange until it was ready (so far, while it recovers).', Math.round(seconds * 1000) / 1000),
    ].join('\n') + '\n';
  }
}
