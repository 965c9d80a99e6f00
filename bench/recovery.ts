// How long start-up takes: journal a million commands, then time a cold recovery (newest snapshot
// plus the journal after it) and a replay of the whole journal from the genesis, in one process.
//
//   npm run bench:recovery -- [--commands N] [--mix carbon|exchange-core] [--seed S] [--workload FILE]
//                             [--snapshot-every K] [--burst B] [--dir DIR] [--keep]
//
// Writing: the set-up and the workload go through the Sequencer into a new data directory under
// --dir (default the system temporary directory), in bursts of --burst commands per event-loop turn.
// The journal is opened with synchronous=OFF for the writing only, to save time: the files are the
// same as with FULL, which only adds an fsync per batch. After every --snapshot-every workload
// commands (but not at the very end) a snapshot is taken with SnapshotStore.take, the background
// path the Sequencer's own snapshotEvery uses, at the commit boundary. There is no final snapshot,
// as after a crash: with the defaults the newest snapshot is 250,000 commands behind the end, the
// longest replay that interval allows. The journal is closed, then in the same process:
//   (a) recover(dir): the newest sound snapshot restored and the journal after it replayed;
//   (b) replay from scratch: a fresh Engine from the genesis, the whole journal through replay() (the
//       loop recover() runs, each batch's facts checked against the replay's).
// Both must end in the state hash of the engine that wrote the journal. The files were just written,
// so they are read from the page cache: "cold" is the process state, not the disk. The last line of
// stdout is one JSON object with the figures; progress goes to stderr.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../engine/index.ts';
import { Journal } from '../persistence/journal.ts';
import { recover, replay } from '../persistence/recovery.ts';
import { Sequencer } from '../persistence/sequencer.ts';
import { SnapshotStore, type SnapshotRecord } from '../persistence/snapshots.ts';
import {
  MB, TIME, TRADING_DATE, benchGenesis, benchProfile, collectGarbage, dryRun, group, loadWorkload, nanos, positiveInt, progress,
  seconds, setupCommands, submissions, workloadOptions, type Submissions,
} from './setup.ts';

const GOAL_MS = 3000;

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? bytesUnder(path) : statSync(path).size;
  }
  return total;
}

/** Submits subs[from, to) in bursts of `burst` commands per turn, awaiting each burst. */
async function submitInBursts(sequencer: Sequencer, subs: Submissions, from: number, to: number, burst: number): Promise<void> {
  const { actors, bodies } = subs;
  for (let i = from; i < to; i += burst) {
    const end = Math.min(to, i + burst);
    const outcomes = new Array<Promise<unknown>>(end - i);
    for (let j = i; j < end; j++) outcomes[j - i] = sequencer.submit(actors[j], bodies[j]);
    await Promise.all(outcomes);
  }
}

interface Written { seconds: number; entries: number; stateHash: string; snapshots: SnapshotRecord[]; bytes: number }

/** Journals the set-up and the workload into `dir`, with snapshots every `every` workload commands. */
async function write(dir: string, setup: Submissions, subs: Submissions, every: number, burst: number): Promise<Written> {
  const journal = new Journal(dir, { synchronous: 'OFF' });
  journal.setGenesis(benchGenesis(benchProfile()));
  const store = new SnapshotStore(journal);
  const engine = new Engine({ tradingDate: TRADING_DATE });
  const sequencer = new Sequencer(engine, journal, null, { now: () => TIME });
  const n = subs.actors.length;
  const pending: Promise<SnapshotRecord>[] = [];
  const start = nanos();
  await submitInBursts(sequencer, setup, 0, setup.actors.length, burst);
  for (let from = 0; from < n; from += every) {
    const to = Math.min(n, from + every);
    await submitInBursts(sequencer, subs, from, to, burst);
    if (to < n) {
      pending.push(store.take(engine));
      progress(`  ${group(to)} commands journaled; snapshot at seq ${engine.lastSequence} being written`);
    }
  }
  const snapshots = await Promise.all(pending);
  const end = nanos();
  const stateHash = engine.stateHash();
  const entries = engine.lastSequence;
  journal.close();
  return { seconds: seconds(start, end), entries, stateHash, snapshots, bytes: bytesUnder(dir) };
}

/** CPU time (user + system) of the process since `from`, in ms. */
function cpuMsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

/** (b): a fresh engine from the journal's genesis, replaying (and checking) every batch. */
function replayFromScratch(dir: string): { ms: number; cpuMs: number; replayed: number; stateHash: string } {
  const cpu = process.cpuUsage();
  const start = nanos();
  const journal = new Journal(dir);
  const genesis = journal.genesis();
  if (genesis === null) throw new Error(`${dir} has no genesis record`);
  const engine = new Engine({ tradingDate: genesis.tradingDate });
  const replayed = replay(engine, journal);
  const ms = seconds(start, nanos()) * 1000;
  const cpuMs = cpuMsSince(cpu);
  journal.close();
  return { ms, cpuMs, replayed, stateHash: engine.stateHash() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...workloadOptions('1000000'),
      'snapshot-every': { type: 'string', default: '250000' },
      burst: { type: 'string', default: '1024' },
      dir: { type: 'string', default: tmpdir() },
      keep: { type: 'boolean', default: false },
    },
  });
  const every = positiveInt(values['snapshot-every'], 'snapshot-every');
  const burst = positiveInt(values.burst, 'burst');
  const { mix, workload: w } = loadWorkload(values, 'carbon', 'bench-recovery-');
  if (w.count === 0) throw new Error(`the ${mix} workload has no commands`);
  const n = w.count;

  const profile = benchProfile();
  progress(`${mix}: ${w.count} commands, ${w.maxAccount} accounts; dry run to build the commands`);
  let setup: Submissions | null = submissions(setupCommands(profile, w.maxAccount));
  let subs: Submissions | null = submissions(dryRun(w, profile).commands);

  const dir = mkdtempSync(join(values.dir, 'bench-recovery-'));
  try {
    progress(`journaling ${group(n)} commands into ${dir} (synchronous=OFF), snapshot every ${group(every)}`);
    const written = await write(dir, setup, subs, every, burst);
    setup = null;
    subs = null;
    const last = written.snapshots.at(-1) ?? null;

    // (a) cold recovery: newest snapshot + the journal after it.
    collectGarbage?.();
    progress('(a) recover(dir): snapshot + replay');
    const cpuA = process.cpuUsage();
    const startA = nanos();
    const recovered = recover(dir);
    const coldMs = seconds(startA, nanos()) * 1000;
    const coldCpuMs = cpuMsSince(cpuA);
    const hashA = recovered.engine.stateHash();
    recovered.journal.close();
    const replayedA = recovered.replayed;
    const fromSnapshot = recovered.fromSnapshot;

    // How much of (a) the snapshot alone is: read, checked, restored and hashed, timed on its own.
    collectGarbage?.();
    const probe = new Journal(dir);
    const startS = nanos();
    const found = new SnapshotStore(probe).latestValid();
    const snapshotMs = seconds(startS, nanos()) * 1000;
    probe.close();
    if (found.engine === null) throw new Error('no sound snapshot was found');

    // (b) replay from scratch.
    collectGarbage?.();
    progress('(b) replay from scratch: genesis + replay()');
    const full = replayFromScratch(dir);

    const hashesMatch = hashA === written.stateHash && full.stateHash === written.stateHash;
    const fullReplayPerSec = Math.round(full.replayed / (full.ms / 1000));
    const snapshotFile = last === null ? 0 : statSync(join(dir, 'snapshots', last.file)).size;
    const result = {
      commands: n,
      snapshotSeq: fromSnapshot,
      coldRecoveryMs: Math.round(coldMs),
      replayedAfterSnapshot: replayedA,
      fullReplayMs: Math.round(full.ms),
      fullReplayPerSec,
      hashesMatch,
    };

    const perSec = (count: number, ms: number): string => `${group(count / (ms / 1000))} cmd/s`;
    console.log(`${mix}  ${group(n)} commands + ${group(written.entries - n)} set-up commands = ${group(written.entries)} journal entries`);
    console.log(
      `  written through the Sequencer with synchronous=OFF (writing phase only; recovery reads the same files), bursts of ${burst}:` +
      ` ${(written.seconds).toFixed(1)} s, ${perSec(written.entries, written.seconds * 1000)};` +
      ` ${(written.bytes / MB).toFixed(0)} MB on disk`,
    );
    console.log(
      `  snapshots at seq ${written.snapshots.map((s) => group(s.seq)).join(', ') || 'none'} (every ${group(every)} commands, none at the end, as after a crash);` +
      ` newest ${(snapshotFile / MB).toFixed(1)} MB`,
    );
    console.log(
      `  (a) cold recovery, recover(dir): ${Math.round(coldMs)} ms — snapshot at seq ${fromSnapshot === null ? 'none' : group(fromSnapshot)}` +
      ` (restore alone ${Math.round(snapshotMs)} ms) + ${group(replayedA)} commands replayed (${perSec(replayedA, coldMs - snapshotMs)}); CPU ${Math.round(coldCpuMs)} ms`,
    );
    console.log(
      `  (b) replay from scratch, genesis + replay(): ${group(full.replayed)} commands in ${Math.round(full.ms)} ms,` +
      ` ${group(fullReplayPerSec)} cmd/s (goal: 1M in ≤ ${GOAL_MS / 1000} s, ${(full.ms * 1e6) / full.replayed <= GOAL_MS ? 'met' : 'missed'}:` +
      ` ${((full.ms / full.replayed) * 1e6 / 1000).toFixed(2)} s per million); CPU ${Math.round(full.cpuMs)} ms`,
    );
    console.log(
      `  state hash ${written.stateHash.slice(0, 12)}… of the writer; (a) ${hashA === written.stateHash ? 'matches' : `DIFFERS: ${hashA.slice(0, 12)}…`},` +
      ` (b) ${full.stateHash === written.stateHash ? 'matches' : `DIFFERS: ${full.stateHash.slice(0, 12)}…`}` +
      `; files read from the page cache`,
    );
    console.log(JSON.stringify(result));
    if (!hashesMatch) process.exitCode = 1;
  } finally {
    if (values.keep) progress(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
