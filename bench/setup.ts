// What the benchmarks share: the engine set-up (the instrument BENCH and pre-funded accounts), the
// mapping of the shared workload's operations to stamped engine commands, workload generation, and
// small helpers for timing and printing. bench/engine.ts times the engine alone; bench/journal.ts and
// bench/recovery.ts put the same commands through the Sequencer and the journal.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hrtime } from 'node:process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  Engine, MAX_AMOUNT, type Actor, type AccountClass, type ClassLimit, type Command, type PlaceOrder, type Result, type VenueProfile,
} from '../engine/index.ts';
import type { Genesis } from '../persistence/journal.ts';
import type { CommandBody } from '../persistence/sequencer.ts';
import { BUY_SIDE, OP, OP_LETTERS, readWorkload, type Workload } from './workload.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SHARED_DIR = resolve(process.env.SHARED_DIR ?? join(REPO_ROOT, '..', 'shared'));
export const MIXES = ['exchange-core', 'carbon'] as const;

// ---------------------------------------------------------------- our engine's set-up

export const SYMBOL = 'BENCH';
export const TRADING_DATE = '2026-11-20';
/** Every command is stamped at one time inside the (all-day) session of the trading day. */
export const TIME = Date.parse(`${TRADING_DATE}T10:00:00+08:00`);
/** 50.00: with a ±20 % band the book spans 40.00–60.00, around the workload's 42.50–57.50. */
const LISTING_PRICE = 5000;
/**
 * Enough that no account runs out of cash or tonnes: every funds and holdings check runs and passes.
 * Cash is the exchange's most (all accounts together, MAX_AMOUNT) shared out, which the engine
 * refuses to exceed: 1,000 accounts get 10,000,000,000.00 each.
 */
const cashPerAccount = (accounts: number): number => Math.floor(MAX_AMOUNT / accounts);
const TONNES_PER_ACCOUNT = 1e9;
/** Above anything an account can hold, so the large-holder check runs on every fill and never fires. */
const UNREACHABLE_THRESHOLD: ClassLimit = { quantity: 1e12, plusAllocation: false };
export const OPERATOR: Actor = { role: 'operator', id: 'bench-ops' };

/** The CEA profile, open all day every day, with a band wide enough for the workload. */
export function benchProfile(): VenueProfile {
  const cea = JSON.parse(readFileSync(join(REPO_ROOT, 'markets', 'venues', 'cea.json'), 'utf8')) as VenueProfile;
  const day: [string, string][] = [['00:00', '24:00']];
  const thresholds = {} as Record<AccountClass, ClassLimit | null>;
  for (const cls of Object.keys(cea.largeHolder.thresholds) as AccountClass[]) thresholds[cls] = UNREACHABLE_THRESHOLD;
  return {
    ...cea,
    listedBandPct: '20',
    sessions: { listed: day, block: day, auction: day },
    tradingWeekdays: [1, 2, 3, 4, 5, 6, 7],
    holidays: [],
    largeHolder: { ...cea.largeHolder, thresholds },
  };
}

/** The genesis record a journal of the benchmark carries: its trading day and its one profile. */
export function benchGenesis(profile: VenueProfile): Genesis {
  return { tradingDate: TRADING_DATE, markets: { file: '(benchmark)', profiles: [profile] } };
}

/** Account k of the workload is account "k" of member "Mk": each member owns exactly one account. */
export const memberOf = (account: number): string => `M${account}`;

/**
 * The operator commands that list the instrument and open and fund accounts 1..accounts, stamped
 * with seq 1, 2, ... and TIME. The workload's first command follows them.
 */
export function setupCommands(profile: VenueProfile, accounts: number): Command[] {
  const out: Command[] = [];
  const operator = (body: Record<string, unknown>): void => {
    out.push({ ...body, seq: out.length + 1, time: TIME, actor: OPERATOR } as Command);
  };
  operator({ type: 'listInstrument', symbol: SYMBOL, name: 'Benchmark allowance', profile, listingPrice: LISTING_PRICE });
  for (let k = 1; k <= accounts; k++) {
    const accountId = String(k);
    operator({ type: 'createAccount', accountId, member: memberOf(k), accountClass: 'institution' });
    operator({ type: 'deposit', accountId, cash: cashPerAccount(accounts) });
    operator({ type: 'deposit', accountId, symbol: SYMBOL, quantity: TONNES_PER_ACCOUNT });
  }
  return out;
}

export interface Setup {
  engine: Engine;
  /** The sequence number the first workload command must carry. */
  firstSeq: number;
}

/** A fresh engine with the instrument listed and accounts 1..accounts opened and funded. */
export function newEngine(profile: VenueProfile, accounts: number): Setup {
  const engine = new Engine({ tradingDate: TRADING_DATE });
  const commands = setupCommands(profile, accounts);
  for (const command of commands) {
    const result = engine.apply(command);
    if (!result.ok) throw new Error(`set-up command ${JSON.stringify(command.type)} was rejected: ${result.code}: ${result.message}`);
  }
  return { engine, firstSeq: commands.length + 1 };
}

// ---------------------------------------------------------------- our engine's commands

/** What the dry run saw: the basis of the rejection and trade counts printed per mix. */
export interface DryRun {
  commands: Command[];
  /** "op CODE" → count, e.g. "C ORDER_NOT_OPEN". */
  rejections: Map<string, number>;
  trades: number;
  /** Orders ended by the engine, by reason (self_trade_prevented, fok_not_filled, ...). */
  endings: Map<string, number>;
  places: number;
  /** Accepted places whose id was not their rank among the place commands (expected: 0). */
  idSurprises: number;
  openOrders: number;
  /** The state hash of the dry run's engine after the last command, when asked for. */
  stateHash: string | null;
  /**
   * The dry run's engine. Held here so that it lives as long as the commands: freeing it would make
   * V8 drop the engine code optimized during the dry run (see `alive` in bench/engine.ts).
   */
  engine: Engine;
}

/**
 * Builds the stamped commands by applying them once to a fresh engine. C and R name the workload's
 * order ids; the engine numbers accepted orders itself, so the map from one to the other is read off
 * `result.orderId` as the places are applied, rather than assumed.
 */
export function dryRun(w: Workload, profile: VenueProfile, options: { stateHash?: boolean } = {}): DryRun {
  const { engine, firstSeq } = newEngine(profile, w.maxAccount);
  const actors: Actor[] = [];
  const accountIds: string[] = [];
  for (let k = 0; k <= w.maxAccount; k++) {
    actors.push({ role: 'member', id: memberOf(k) });
    accountIds.push(String(k));
  }
  const ourId = new Int32Array(w.maxOrder + 1); // workload order id → our order id; 0 = never accepted
  const accountOfOrder = new Int32Array(w.maxOrder + 1); // workload order id → account that placed it
  const run: DryRun = {
    commands: new Array<Command>(w.count), rejections: new Map(), trades: 0, endings: new Map(), places: 0, idSurprises: 0, openOrders: 0, stateHash: null,
    engine,
  };

  for (let i = 0; i < w.count; i++) {
    const op = w.op[i];
    const seq = firstSeq + i;
    let command: Command;
    if (op === OP.C || op === OP.R) {
      const account = accountOfOrder[w.order[i]];
      const orderId = ourId[w.order[i]];
      command = op === OP.C
        ? { type: 'cancelOrder', seq, time: TIME, actor: actors[account], orderId }
        : { type: 'modifyOrder', seq, time: TIME, actor: actors[account], orderId, price: w.price[i] };
    } else {
      const account = w.account[i];
      accountOfOrder[w.order[i]] = account;
      command = placeCommand(w, i, seq, accountIds[account], actors[account]);
    }
    run.commands[i] = command;

    const result = engine.apply(command);
    if (command.type === 'placeOrder') {
      run.places++;
      if (result.ok && result.orderId !== undefined) {
        ourId[w.order[i]] = result.orderId;
        if (result.orderId !== run.places) run.idSurprises++;
      }
    }
    tally(run, OP_LETTERS[op], result);
  }
  run.openOrders = engine.openOrderCount;
  if (options.stateHash === true) run.stateHash = engine.stateHash();
  return run;
}

/** An N, I, F or M line as a placeOrder. All places share one shape (market: price null). */
function placeCommand(w: Workload, i: number, seq: number, accountId: string, actor: Actor): PlaceOrder {
  const op = w.op[i];
  const market = op === OP.M;
  return {
    type: 'placeOrder', seq, time: TIME, actor, accountId, symbol: SYMBOL,
    side: w.side[i] === BUY_SIDE ? 'buy' : 'sell',
    orderType: market ? 'market' : 'limit',
    price: market ? null : w.price[i],
    quantity: w.qty[i],
    timeInForce: market ? undefined : op === OP.I ? 'IOC' : op === OP.F ? 'FOK' : 'DAY',
  };
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function tally(run: DryRun, op: string, result: Result): void {
  if (!result.ok) {
    bump(run.rejections, `${op} ${result.code}`);
    return;
  }
  for (const e of result.events) {
    if (e.type === 'trade') run.trades++;
    else if (e.type === 'order' && e.reason !== null) bump(run.endings, e.reason);
  }
}

// ---------------------------------------------------------------- commands as a gateway submits them

/** Commands split the way Sequencer.submit takes them: the actor, and the body without its stamp. */
export interface Submissions {
  actors: Actor[];
  bodies: CommandBody[];
}

/** The actors and unstamped bodies of stamped commands (the sequencer stamps them again). */
export function submissions(commands: Command[]): Submissions {
  const actors = new Array<Actor>(commands.length);
  const bodies = new Array<CommandBody>(commands.length);
  for (let i = 0; i < commands.length; i++) {
    const { seq: _seq, time: _time, actor, ...body } = commands[i];
    actors[i] = actor;
    bodies[i] = body as CommandBody;
  }
  return { actors, bodies };
}

// ---------------------------------------------------------------- timing and printing

export const nanos = (): bigint => hrtime.bigint();
export const seconds = (from: bigint, to: bigint): number => Number(to - from) / 1e9;

/**
 * A full collection: global.gc when node runs with --expose-gc, else the same function obtained by
 * setting the flag at run time (without a collection, heapUsed counts the previous run's garbage).
 */
export const collectGarbage: (() => void) | null = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
})();

/** heapUsed in bytes, after a full collection when one is available. */
export function heapUsed(): number {
  collectGarbage?.();
  return process.memoryUsage().heapUsed;
}

/** The q-quantile of sorted samples (nearest rank). */
export function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const MB = 1024 * 1024;
export const round2 = (v: number): number => Math.round(v * 100) / 100;
export const group = (v: number): string => Math.round(v).toLocaleString('en-US');
export const progress = (text: string): void => { process.stderr.write(`${text}\n`); };

// ---------------------------------------------------------------- workloads and flags

/** Runs gen-workload.mjs into a temporary file and reads it back. */
export function generate(mix: string, commands: number, seed: number, tmpPrefix = 'bench-'): Workload {
  const generator = join(SHARED_DIR, 'bench', 'gen-workload.mjs');
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const file = join(dir, `${mix}-${commands}-${seed}.csv`);
  try {
    const fd = openSync(file, 'w');
    try {
      progress(`${mix}: generating ${commands} commands (seed ${seed})`);
      const child = spawnSync(process.execPath, [generator, '--commands', String(commands), '--mix', mix, '--seed', String(seed)], {
        stdio: ['ignore', fd, 'inherit'],
      });
      if (child.error) throw child.error;
      if (child.status !== 0) throw new Error(`${generator} exited with status ${child.status}`);
    } finally {
      closeSync(fd);
    }
    return readWorkload(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The command-line options loadWorkload reads (parseArgs options), with the benchmark's default command count. */
export function workloadOptions(commands: string) {
  return {
    workload: { type: 'string' },
    commands: { type: 'string', default: commands },
    mix: { type: 'string' },
    seed: { type: 'string', default: '1' },
  } as const;
}

/** The workload a benchmark runs: a --workload file whole, else a generated --mix. */
export function loadWorkload(values: { workload?: string; mix?: string; commands: string; seed: string }, defaultMix: string, tmpPrefix: string): { mix: string; workload: Workload } {
  if (values.workload !== undefined) return { mix: values.mix ?? values.workload, workload: readWorkload(values.workload) };
  const mix = values.mix ?? defaultMix;
  if (!(MIXES as readonly string[]).includes(mix)) throw new Error(`--mix must be one of ${MIXES.join(', ')}, not ${JSON.stringify(mix)}`);
  return { mix, workload: generate(mix, positiveInt(values.commands, 'commands'), positiveInt(values.seed, 'seed'), tmpPrefix) };
}

/** mulberry32: a small seeded random source, so that runs send the same orders (the tests' own). */
export { seededRandom as rng } from '../test/support/random.ts';

export function positiveInt(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${flag} must be a positive whole number, not ${JSON.stringify(text)}`);
  return v;
}
