// Counters for /metrics in the Prometheus text format: orders, trades, rejections by code, journal
// commit latency (a histogram), WebSocket clients and dropped clients, fed from committed batches;
// HTTP error answers by status and code, fed by every error reply (http.ts `fail`); and the reads
// of closed days.
import type { Committed } from '../persistence/sequencer.ts';
import type { Startup } from './startup.ts';

const COMMIT_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000];

export class Metrics {
  commands = 0;
  ordersAccepted = 0;
  trades = 0;
  readonly rejects = new Map<string, number>();
  /** Error answers over HTTP, by `status code`: the gateway's refusals and the engine's alike. */
  readonly httpErrors = new Map<string, number>();
  private readonly commitBuckets = new Array<number>(COMMIT_BUCKETS_MS.length).fill(0);
  private commitCount = 0;
  private commitSumMs = 0;
  wsClients = 0;
  wsDropped = 0;
  wsMessages = 0;
  /** Reads of a closed day (pastDays.ts), by whether its thread folded the day for them or had it kept. */
  closedDayReads: { readonly folded: number; readonly kept: number } | null = null;

  /**
   * With the start's figures (readiness, recovery), and where the exchange stands (the last durable
   * seq, the trading day in force), when given.
   */
  constructor(private readonly startup: Startup | null = null, private readonly standing: (() => { lastSeq: number; tradingDate: string }) | null = null) {}

  onBatch(batch: readonly Committed[], commitMs: number): void {
    for (const { command, result } of batch) {
      this.commands++;
      // A refusal is counted where it is answered (onReject), by the code the caller was given.
      if (result.ok) {
        if (command.type === 'placeOrder' && !result.duplicate) this.ordersAccepted++;
        for (const e of result.events) if (e.type === 'trade') this.trades++;
      }
    }
    this.commitCount++;
    this.commitSumMs += commitMs;
    for (let i = 0; i < COMMIT_BUCKETS_MS.length; i++) if (commitMs <= COMMIT_BUCKETS_MS[i]) this.commitBuckets[i]++;
  }

  /**
   * A command refused, by the code its caller was answered: the gateway answers some of the
   * engine's codes otherwise (another member's finished order is UNKNOWN_ORDER, not ORDER_NOT_OPEN),
   * and a public scrape must not undo that.
   */
  onReject(code: string): void {
    this.rejects.set(code, (this.rejects.get(code) ?? 0) + 1);
  }

  onHttpError(status: number, code: string): void {
    const key = `${status} ${code}`;
    this.httpErrors.set(key, (this.httpErrors.get(key) ?? 0) + 1);
  }

  text(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, value: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`);
    const gauge = (name: string, help: string, value: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    counter('exchange_commands_total', 'Commands sequenced and committed.', this.commands);
    counter('exchange_orders_total', 'Orders accepted.', this.ordersAccepted);
    counter('exchange_trades_total', 'Trades executed (listed and block).', this.trades);
    lines.push('# HELP exchange_rejects_total Commands refused by the exchange, by the code answered.', '# TYPE exchange_rejects_total counter');
    for (const [code, n] of [...this.rejects.entries()].sort()) lines.push(`exchange_rejects_total{code="${code}"} ${n}`);
    lines.push('# HELP exchange_http_errors_total HTTP requests answered with an error, by status and code: those the gateway refused before the engine (no or bad key, role, schema, rate limit, unknown route…) and the engine\'s refusals.', '# TYPE exchange_http_errors_total counter');
    for (const [key, n] of [...this.httpErrors.entries()].sort()) {
      const [status, code] = key.split(' ');
      lines.push(`exchange_http_errors_total{status="${status}",code="${code}"} ${n}`);
    }
    lines.push('# HELP exchange_journal_commit_seconds Time to commit one journal batch (fsync included).', '# TYPE exchange_journal_commit_seconds histogram');
    COMMIT_BUCKETS_MS.forEach((ms, i) => lines.push(`exchange_journal_commit_seconds_bucket{le="${ms / 1000}"} ${this.commitBuckets[i]}`));
    lines.push(`exchange_journal_commit_seconds_bucket{le="+Inf"} ${this.commitCount}`);
    lines.push(`exchange_journal_commit_seconds_sum ${this.commitSumMs / 1000}`, `exchange_journal_commit_seconds_count ${this.commitCount}`);
    if (this.standing !== null) {
      const { lastSeq, tradingDate } = this.standing();
      gauge('exchange_journal_last_seq', 'The sequence number of the last command committed to the journal (x-exchange-seq of the latest answer).', lastSeq);
      lines.push('# HELP exchange_trading_day The trading day in force, as its date label (always 1).', '# TYPE exchange_trading_day gauge');
      lines.push(`exchange_trading_day{date="${tradingDate}"} 1`);
    }
    gauge('exchange_ws_clients', 'WebSocket clients connected.', this.wsClients);
    counter('exchange_ws_dropped_total', 'WebSocket clients dropped for falling behind.', this.wsDropped);
    counter('exchange_ws_messages_total', 'WebSocket messages sent.', this.wsMessages);
    if (this.closedDayReads !== null) {
      lines.push(
        '# HELP exchange_closed_day_reads_total Reads of a closed day\'s orders or fills (?date=), by whether the day was folded from the journal for it or kept from an earlier read.',
        '# TYPE exchange_closed_day_reads_total counter',
        `exchange_closed_day_reads_total{day="folded"} ${this.closedDayReads.folded}`,
        `exchange_closed_day_reads_total{day="kept"} ${this.closedDayReads.kept}`,
      );
    }
    return lines.join('\n') + '\n' + (this.startup?.text() ?? '');
  }
}
