// What the write-ahead journal costs: the same command stream applied in memory and through the
// Sequencer into a durable journal (synchronous=FULL, group commit), in one run.
//
//   npm run bench:journal -- [--commands N] [--mix carbon|exchange-core] [--seed S] [--workload FILE]
//                            [--burst B] [--inflight K] [--runs K] [--dir DIR] [--mem-dir DIR]
//
// Three ways of applying the workload, each from a fresh engine, each --runs times (median taken):
//   engine alone  the engine applying the stamped commands directly: no sequencer, no journal;
//   in-memory     the Sequencer over a Journal with synchronous=OFF in --mem-dir (default /dev/shm, a
//                 tmpfs): everything the durable path does except making anything durable;
//   durable       the Sequencer over a Journal with synchronous=FULL in a new directory under --dir
//                 (default the system temporary directory).
// `ratio` is durable / in-memory: the price of durability on the exchange's own path. The engine
// alone is printed beside it (ratioVsEngineAlone) for what the sequencer and journal cost in all.
// The Sequencer is driven as a gateway under load drives it: --burst commands are submitted in one
// turn of the event loop, with up to --inflight bursts unanswered at once; while the writer thread
// commits one batch, the bursts that arrive meanwhile gather into the next (group commit).
// The clock is fixed (every command is stamped at the workload's time), so every mode applies the
// very same commands and must end in the same state hash. Progress goes to stderr; the last line of
// stdout is one JSON object with the figures.
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine, type Command } from '../engine/index.ts';
import { Journal } from '../persistence/journal.ts';
import { Sequencer } from '../persistence/sequencer.ts';
import {
  MB, TIME, TRADING_DATE, benchGenesis, benchProfile, collectGarbage, dryRun, group, loadWorkload, median, nanos, newEngine,
  positiveInt, progress, quantile, round2, seconds, setupCommands, submissions, workloadOptions, type Submissions,
} from './setup.ts';

type Synchronous = 'FULL' | 'OFF';

interface SequencedRun {
  seconds: number;
  /** CPU time of the process (user + system) over the timed part, in seconds: waiting for fsync is not in it. */
  cpuSeconds: number;
  batches: number;
  /** Journal.lastCommitMs of every batch (transaction and, with FULL, the fsync). */
  commitMs: number[];
  stateHash: string;
  /** journal.sqlite and its WAL after the run, before closing. */
  journalBytes: number;
}

/** A file system's name from its statfs magic number, for the few this is likely to meet. */
function fileSystemOf(dir: string): string {
  const names: Record<number, string> = {
    0x01021994: 'tmpfs', 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs', 0x6969: 'nfs', 0x65735546: 'fuse', 0x5346544e: 'ntfs',
  };
  try {
    const type = statfsSync(dir).type;
    return names[type] ?? `fs 0x${type.toString(16)}`;
  } catch {
    return 'unknown fs';
  }
}

function bytesIn(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  return total;
}

/** The engine alone: the stamped commands applied directly. Returns seconds and the end state hash. */
function timeDirect(commands: Command[], accounts: number): { seconds: number; cpuSeconds: number; stateHash: string } {
  const { engine } = newEngine(benchProfile(), accounts);
  const n = commands.length;
  collectGarbage?.();
  const cpu = process.cpuUsage();
  const start = nanos();
  for (let i = 0; i < n; i++) engine.apply(commands[i]);
  const end = nanos();
  return { seconds: seconds(start, end), cpuSeconds: cpuSecondsSince(cpu), stateHash: engine.stateHash() };
}

function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

/**
 * Submits subs[from, to) in bursts of `burst`, one burst per turn of the event loop, with up to
 * `inflight` bursts unanswered at once, as concurrent clients of a gateway would; calls
 * `afterBurst` as each burst is answered.
 */
async function submitInBursts(sequencer: Sequencer, subs: Submissions, from: number, to: number, burst: number, inflight: number, afterBurst?: () => void): Promise<void> {
  const { actors, bodies } = subs;
  const open: Promise<unknown>[] = [];
  for (let i = from; i < to; i += burst) {
    const end = Math.min(to, i + burst);
    const outcomes = new Array<Promise<unknown>>(end - i);
    for (let j = i; j < end; j++) outcomes[j - i] = sequencer.submit(actors[j], bodies[j]);
    open.push(Promise.all(outcomes).then(() => afterBurst?.()));
    if (open.length >= inflight) await open.shift();
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(open);
}

/**
 * The Sequencer over a new Journal in a new directory under `parent`: the set-up commands go in
 * first, untimed; then the first `n` workload submissions are timed.
 */
async function timeSequencer(synchronous: Synchronous, parent: string, setup: Submissions, subs: Submissions, n: number, burst: number, inflight: number): Promise<SequencedRun> {
  const dir = mkdtempSync(join(parent, 'bench-journal-'));
  try {
    const journal = new Journal(dir, { synchronous });
    journal.setGenesis(benchGenesis(benchProfile()));
    const engine = new Engine({ tradingDate: TRADING_DATE });
    // As the exchange runs it: commits on the writer thread, overlapped with the next batch.
    const sequencer = new Sequencer(engine, journal, null, { now: () => TIME, background: true });
    await submitInBursts(sequencer, setup, 0, setup.actors.length, burst, 1);
    collectGarbage?.();

    const batchesBefore = sequencer.stats.batches;
    const commitMs: number[] = [];
    let seen = batchesBefore;
    const afterBurst = (): void => {
      // Bursts gather into batches while the previous batch commits; one commit time per batch.
      if (sequencer.stats.batches !== seen) commitMs.push(sequencer.stats.lastCommitMs);
      seen = sequencer.stats.batches;
    };
    const cpu = process.cpuUsage();
    const start = nanos();
    await submitInBursts(sequencer, subs, 0, n, burst, inflight, afterBurst);
    const end = nanos();
    const run: SequencedRun = {
      seconds: seconds(start, end), cpuSeconds: cpuSecondsSince(cpu), batches: sequencer.stats.batches - batchesBefore, commitMs, stateHash: engine.stateHash(), journalBytes: bytesIn(dir),
    };
    await sequencer.shutdown();
    journal.close();
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...workloadOptions('200000'),
      burst: { type: 'string', default: '256' },
      inflight: { type: 'string', default: '4' },
      runs: { type: 'string', default: '3' },
      dir: { type: 'string', default: tmpdir() },
      'mem-dir': { type: 'string', default: existsSync('/dev/shm') ? '/dev/shm' : tmpdir() },
    },
  });
  const burst = positiveInt(values.burst, 'burst');
  const inflight = positiveInt(values.inflight, 'inflight');
  const runs = positiveInt(values.runs, 'runs');
  const diskDir = values.dir;
  const memDir = values['mem-dir'];
  const { mix, workload: w } = loadWorkload(values, 'carbon', 'bench-journal-');
  if (w.count === 0) throw new Error(`the ${mix} workload has no commands`);

  const profile = benchProfile();
  progress(`${mix}: ${w.count} commands, ${w.maxAccount} accounts; dry run to build the commands`);
  const dry = dryRun(w, profile, { stateHash: true });
  const setup = submissions(setupCommands(profile, w.maxAccount));
  const subs = submissions(dry.commands);
  const n = w.count;

  // Warm the sequencer and journal code on a prefix, untimed (the dry run warmed the engine's).
  progress('warm-up: the sequencer over a synchronous=OFF journal on a prefix');
  await timeSequencer('OFF', memDir, setup, subs, Math.min(n, 50_000), burst, inflight);

  const direct: number[] = [];
  const off: number[] = [];
  const durable: number[] = [];
  const cpuUs = { direct: [] as number[], off: [] as number[], durable: [] as number[] };
  const commitMs: number[] = [];
  let last: SequencedRun | null = null;
  let offBytes = 0;
  for (let r = 0; r < runs; r++) {
    const d = timeDirect(dry.commands, w.maxAccount);
    const o = await timeSequencer('OFF', memDir, setup, subs, n, burst, inflight);
    const f = await timeSequencer('FULL', diskDir, setup, subs, n, burst, inflight);
    for (const [name, hash] of [['in-memory', d.stateHash], ['synchronous=OFF', o.stateHash], ['durable', f.stateHash]] as const) {
      if (hash !== dry.stateHash) throw new Error(`run ${r + 1}: the ${name} engine ended in state ${hash.slice(0, 12)}…, the dry run in ${(dry.stateHash as string).slice(0, 12)}…`);
    }
    direct.push(n / d.seconds);
    off.push(n / o.seconds);
    durable.push(n / f.seconds);
    cpuUs.direct.push((d.cpuSeconds * 1e6) / n);
    cpuUs.off.push((o.cpuSeconds * 1e6) / n);
    cpuUs.durable.push((f.cpuSeconds * 1e6) / n);
    commitMs.push(...f.commitMs);
    last = f;
    offBytes = o.journalBytes;
    progress(`  run ${r + 1}/${runs}: in-memory ${group(direct[r])} cmd/s, synchronous=OFF ${group(off[r])} cmd/s, durable ${group(durable[r])} cmd/s (${f.batches} batches)`);
  }
  const f = last as SequencedRun;
  const commits = Float64Array.from(commitMs).sort();
  const engineAlonePerSec = Math.round(median(direct));
  // In-memory: the exchange's own path (sequencer, batches, journal) with nothing made durable —
  // the journal on tmpfs with synchronous=OFF. The ratio to it is the price of durability.
  const inMemoryPerSec = Math.round(median(off));
  const durablePerSec = Math.round(median(durable));
  const commitTotalMs = f.commitMs.reduce((a, b) => a + b, 0);
  const result = {
    commands: n,
    inMemoryPerSec,
    durablePerSec,
    ratio: round2(durablePerSec / inMemoryPerSec),
    batches: f.batches,
    meanBatch: round2(n / f.batches),
    commitP50ms: round2(quantile(commits, 0.5)),
    commitP99ms: round2(quantile(commits, 0.99)),
    engineAlonePerSec,
    ratioVsEngineAlone: round2(durablePerSec / engineAlonePerSec),
    burst,
    inflight,
  };

  console.log(`${mix}  ${group(n)} commands  burst ${burst}, ${inflight} in flight  median of ${runs} run${runs === 1 ? '' : 's'} each`);
  const cpu = (values: number[]): string => `  ${median(values).toFixed(2)} µs CPU/command`;
  console.log(`  engine alone (stamped commands applied directly, no sequencer)`.padEnd(72) + `${group(engineAlonePerSec).padStart(10)} cmd/s${cpu(cpuUs.direct)}`);
  console.log(`  in-memory: sequencer + journal synchronous=OFF in ${memDir} (${fileSystemOf(memDir)})`.padEnd(72) + `${group(inMemoryPerSec).padStart(10)} cmd/s${cpu(cpuUs.off)}`);
  console.log(`  durable: sequencer + journal synchronous=FULL in ${diskDir} (${fileSystemOf(diskDir)})`.padEnd(72) + `${group(durablePerSec).padStart(10)} cmd/s${cpu(cpuUs.durable)}`);
  console.log(`  ratio durable / in-memory ${result.ratio.toFixed(2)} (goal ≥ 0.50: ${result.ratio >= 0.5 ? 'met' : 'missed'}); durable / engine alone ${result.ratioVsEngineAlone.toFixed(2)}`);
  console.log(
    `  durable: ${group(f.batches)} batches, mean ${result.meanBatch} commands; commit (transaction + fsync) p50 ${result.commitP50ms.toFixed(2)} ms` +
    `  p99 ${result.commitP99ms.toFixed(2)} ms  max ${commits[commits.length - 1].toFixed(2)} ms (${commits.length} batches over ${runs} run${runs === 1 ? '' : 's'});` +
    ` in the last run commits took ${Math.round((100 * commitTotalMs) / (1000 * f.seconds))} % of the durable time`,
  );
  console.log(
    `  journal on disk: ${(f.journalBytes / MB).toFixed(1)} MB (${Math.round(f.journalBytes / n)} B/command, commands and facts, WAL included)` +
    `; synchronous=OFF ${(offBytes / MB).toFixed(1)} MB; state hash ${(dry.stateHash as string).slice(0, 12)}… identical in every mode`,
  );
  console.log(JSON.stringify(result));
}

await main();
