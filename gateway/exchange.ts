// The whole exchange in one process: recovery (or creation) of the data directory, the market
// set-up on first start, the sequencer and journal, settlement publishing, the committed history,
// metrics, and the gateway, which opens only once recovery is complete. Used by the start command
// and by the end-to-end tests alike.
import { existsSync } from 'node:fs';
import { journalFile } from '../persistence/journal.ts';
import type { FastifyInstance } from 'fastify';
import { dateOfDay, Engine, firstTradingDay, localDay } from '../engine/index.ts';
import { applySetup, loadMarkets, SETUP_ACTOR } from '../engine/setup.ts';
import { DataLock } from '../persistence/dataLock.ts';
import { recoverInTurns, type Recovered } from '../persistence/recovery.ts';
import { runInTurns } from '../persistence/turns.ts';
import { Sequencer } from '../persistence/sequencer.ts';
import { Settlements } from '../persistence/settlementThread.ts';
import { PastDays } from './pastDays.ts';
import { History } from './history.ts';
import { KeyRing, type KeySpec } from './keys.ts';
import { Metrics } from './metrics.ts';
import type { Gateway } from './http.ts';
import { buildServer, type ServerOptions } from './server.ts';
import { StandbyServer } from './standby.ts';
import { Startup } from './startup.ts';

export interface ExchangeOptions extends ServerOptions {
  dataDir: string;
  marketsFile: string;
  /** API keys to use instead of the demo's generated ones. */
  keys?: KeySpec[];
  /** The file `keys` were read from, named in a refusal of them. */
  keysFile?: string;
  snapshotEvery?: number;
  /** The clock for stamping; tests may fix it. */
  now?: () => number;
  /**
   * Listen here from the start (the start command): while the journal is recovered the server
   * answers /healthz 200, /readyz 503 and everything else 503 RECOVERING. Without it, nothing
   * listens until listen() is called, after recovery.
   */
  listen?: { port: number; host: string };
  /** With `listen`: called once the server listens, before recovery starts (the start command says so). */
  onListening?: (address: string) => void;
  /**
   * Called with the demo keys a first start makes, in clear, before they are stored hashed: shown
   * here, they are never stored unseen (npm start prints them). Also in `freshKeys` once started.
   */
  onFreshKeys?: (keys: KeySpec[]) => void;
  /**
   * Aborted before the exchange is ready (SIGTERM during a long recovery): the start stops at its
   * next turn, closes what it opened, and rejects with the signal's reason. A new directory's
   * set-up, once submitted, is let finish first, so the directory is either new or whole.
   */
  signal?: AbortSignal;
  /**
   * close() first drains for this long: requests are still served (keep-alive connections closed
   * after their answer) while /readyz answers 503, so that a load balancer stops sending any. 0: none.
   */
  drainMs?: number;
}

export interface Exchange {
  app: FastifyInstance;
  gateway: Gateway;
  recovered: Recovered;
  /** How the start went: how much it replayed and how long it took (also in /metrics). */
  startup: Startup;
  /** Demo keys generated on this (first) start, in clear; empty otherwise. */
  freshKeys: KeySpec[];
  /** Where it listens (http://host:port), or null until it does. */
  address: string | null;
  /** Listens (when it was not started with `listen`); resolves with the address. */
  listen(port: number, host: string): Promise<string>;
  /**
   * Clean shutdown: drain (drainMs), stop intake, commit, snapshot, close. A second call while it
   * drains ends the drain at once; every call resolves when the exchange is closed.
   */
  close(): Promise<void>;
}

export async function startExchange(o: ExchangeOptions): Promise<Exchange> {
  // Everything that can be checked without the journal is checked before it is opened (and before a
  // long replay): the market set-up file and the keys given.
  const setup = loadMarkets(o.marketsFile);
  // A directory without a journal is (or will be refused as) a new one: its set-up is tried now,
  // once; one with a journal keeps its own market and needs no trial.
  const trial = existsSync(journalFile(o.dataDir)) ? null : trySetup(setup, o.now ?? Date.now);
  const given = o.keys === undefined ? null : keyRing(o.keys, o.keysFile);
  // A set-up the engine refuses stops the start before the directory is made or locked: nothing of
  // it is left behind, and the corrected file makes the market on the next start.
  if (trial !== null && trial.refused !== null) throw trial.refused;
  const startup = new Startup();
  const standby = o.listen === undefined ? null : await StandbyServer.listen(o.listen.port, o.listen.host, startup, o.requestTimeoutMs);
  if (standby !== null) o.onListening?.(standby.address);
  let lock: DataLock | null = null;
  try {
    // One exchange per data directory, held until it has closed its journal.
    lock = DataLock.take(o.dataDir, 'the exchange');
    return await start(o, setup, trial, given, startup, standby, lock);
  } catch (e) {
    lock?.release();
    await standby?.close();
    throw e;
  }
}

/** The keys given, checked; a refusal names the file they came from. */
function keyRing(keys: KeySpec[], file: string | undefined): KeyRing {
  try {
    return KeyRing.of(keys);
  } catch (e) {
    throw file === undefined ? e : new Error(`the keys file ${file}: ${(e as Error).message}`);
  }
}

/** A new directory's set-up tried on a scratch engine: what the engine refuses, or the market's first trading day. */
interface SetupTrial { firstDay: string; refused: unknown }

/**
 * Applies the set-up to a scratch engine. A new market's first trading day is today if one of its
 * instruments trades today and today's sessions have not all ended, else the next day one trades
 * (firstTradingDay): first started on a Sunday, or on a Monday evening, with the published
 * calendars, it trades from the next weekday and has no day to close that it never opened.
 */
function trySetup(setup: ReturnType<typeof loadMarkets>, now: () => number): SetupTrial {
  const time = now();
  const today = localDay(time);
  try {
    const scratch = new Engine({ tradingDate: dateOfDay(today) });
    applySetup(scratch, setup, 1, time);
    return { firstDay: dateOfDay(firstTradingDay(scratch, time)), refused: null };
  } catch (e) {
    return { firstDay: dateOfDay(today), refused: e };
  }
}

async function start(o: ExchangeOptions, setup: ReturnType<typeof loadMarkets>, trial: SetupTrial | null, given: KeyRing | null, startup: Startup, standby: StandbyServer | null, lock: DataLock): Promise<Exchange> {
  const now = o.now ?? Date.now;
  const genesis = { tradingDate: (trial ?? { firstDay: dateOfDay(localDay(now())) }).firstDay, markets: { file: setup.file, profiles: setup.profiles } };
  // In turns: when it listens already, the probes are answered between them.
  const recovered = await recoverInTurns(o.dataDir, { genesis, progress: startup.recovery, signal: o.signal });
  const { engine, journal, snapshots } = recovered;
  if (recovered.created) {
    // The set-up of a journal file found empty (a start killed while creating it) is tried now; a
    // refusal (SetupError) comes before anything is journalled, the genesis included, so that the
    // directory stays new and the corrected file makes the market on the next start.
    const { refused } = trial ?? trySetup(setup, now);
    if (refused !== null) {
      journal.db.close(); // not journal.close(): that would commit the genesis it holds for the first batch
      throw refused;
    }
  }
  const sequencer = new Sequencer(engine, journal, snapshots, { snapshotEvery: o.snapshotEvery ?? 500_000, now, background: true });
  const built: Opening['built'] = { app: null, settlement: null };
  try {
    return await open(o, { setup, given, startup, standby, recovered, sequencer, built, lock });
  } catch (e) {
    // Nothing half-open is left behind: the gateway, the writer thread and the journal are closed.
    await built.app?.close();
    await sequencer.shutdown();
    await built.settlement?.close();
    journal.close();
    throw e;
  }
}

interface Opening {
  setup: ReturnType<typeof loadMarkets>;
  given: KeyRing | null;
  startup: Startup;
  standby: StandbyServer | null;
  recovered: Recovered;
  sequencer: Sequencer;
  /** The gateway and the settlement thread once made, for the start to close if it fails after. */
  built: { app: FastifyInstance | null; settlement: Settlements | null };
  /** The data directory's lock, let go once the journal is closed. */
  lock: DataLock;
}

/** The exchange on a recovered journal: the set-up of a new directory, the keys, the history and the gateway. */
async function open(o: ExchangeOptions, { setup, given, startup, standby, recovered, sequencer, built, lock }: Opening): Promise<Exchange> {
  const { engine, journal } = recovered;
  const settlement = new Settlements(journal, o.dataDir);
  built.settlement = settlement;
  // On the settlement thread: a busy day's outputs take seconds to build and write.
  const publishDay = (date: string): Promise<void> => settlement.publish(date).catch((e: Error) => {
    process.stderr.write(`settlement of ${date} not published: ${e.message}\n`);
  });
  // A day closed just before a crash (or whose outputs could not be written) may have missed them,
  // or some of them: write them now, before the exchange is ready.
  // A stop asked for meanwhile (SIGTERM) is heeded between days: the next start writes the rest.
  for (const eod of journal.endsOfDay()) {
    if (settlement.published(eod.date)) continue;
    o.signal?.throwIfAborted();
    await publishDay(eod.date);
  }

  if (recovered.created) {
    // The whole set-up in one turn, so one batch, committed with the genesis: a first start killed
    // half-way leaves an empty directory, never a half-built market.
    const outcomes = setup.commands.map((body) => sequencer.submit({ ...SETUP_ACTOR }, body));
    const results = await Promise.all(outcomes);
    results.forEach((r, i) => {
      if (!r.ok) throw new Error(`the market set-up was refused at ${setup.commands[i].type}: ${r.code}: ${r.message}`);
    });
  }
  const members = [...new Set([...engine.accounts.values()].map((a) => a.member))].sort();
  let keys: KeyRing;
  let freshKeys: KeySpec[] = [];
  if (given !== null) {
    keys = given;
  } else {
    const demo = KeyRing.demo(o.dataDir, members, o.onFreshKeys);
    keys = demo.ring;
    freshKeys = demo.fresh;
  }

  startup.after('history');
  const history = new History(journal);
  await runInTurns(history.rebuilding(), 10, o.signal);
  startup.after('gateway');
  const metrics = new Metrics(startup, () => ({ lastSeq: sequencer.durableSeq, tradingDate: engine.tradingDate }));
  // Its thread starts with the first read of a closed day: a start that fails before has none to end.
  const pastDays = new PastDays(journal);
  metrics.closedDayReads = pastDays.reads;
  const gateway: Gateway = { engine, sequencer, journal, settlement, history, pastDays, keys, metrics, ready: () => startup.isReady, draining: () => startup.isDraining };
  const { app, publisher } = await buildServer(gateway, { ...o, standby: standby ?? undefined });
  built.app = app;
  sequencer.onCommit((batch) => {
    const events = Sequencer.events(batch);
    metrics.onBatch(batch, sequencer.stats.lastCommitMs);
    const closedDays = history.onEvents(events);
    publisher.onCommitted(batch, closedDays);
    for (const e of events) {
      if (e.type === 'endOfDay') {
        void publishDay(e.date);
        // The market history as of this batch, so that a start need not read every day's trades.
        try {
          history.checkpoint(batch[batch.length - 1].command.seq);
        } catch (err) {
          process.stderr.write(`market history checkpoint not written: ${(err as Error).message}\n`);
        }
        sequencer.snapshot().catch((err: Error) => process.stderr.write(`end-of-day snapshot failed: ${err.message}\n`));
      }
    }
  });

  let closing: Promise<void> | null = null;
  let endDrain: (() => void) | null = null;
  const exchange: Exchange = {
    app, gateway, recovered, startup, freshKeys, address: null,
    async listen(port, host) {
      if (exchange.address !== null) return exchange.address;
      exchange.address = await app.listen({ port, host });
      startup.ready();
      return exchange.address;
    },
    close() {
      if (closing !== null) {
        endDrain?.();
        return closing;
      }
      closing = shutDown();
      return closing;
    },
  };
  const shutDown = async () => {
    const drainMs = o.drainMs ?? 0;
    if (drainMs > 0 && startup.isReady) {
      startup.drain();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        endDrain = () => { clearTimeout(timer); resolve(); };
      });
    }
    startup.stopping();
    await app.close();
    // Fastify closes a server of its own; the standby server it was built on is closed here.
    await standby?.close();
    await pastDays.close();
    await sequencer.shutdown();
    await settlement.close();
    journal.close();
    lock.release();
  };
  if (standby !== null) {
    await app.ready();
    standby.open();
    exchange.address = standby.address;
    startup.ready();
  }
  return exchange;
}
