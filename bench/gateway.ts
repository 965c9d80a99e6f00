// Order entry over HTTP: a bare Fastify POST route against our durable POST /v1/orders, in one run,
// on the same machine with the same load generator settings.
//
//   npm run bench:gateway -- [--rounds 3] [--duration 5] [--connections 50] [--warmup 2] [--cross 0.2]
//                            [--seed 1] [--server-prof DIR]
//
// The servers run in child processes (this file again, with --serve KIND) and autocannon runs here,
// so load generator and servers do not share an event loop. Three targets:
// - bare: Fastify, no logger, the gateway's body limit and Ajv options, one POST route with the same
//   body schema as /v1/orders, answering 201 with a small JSON object. The goal is measured on it.
// - bare-reply: the same app answering what ours answers to a resting order (the order reply of
//   API.md through the same response schema, and the x-exchange-seq header). A control: it shows
//   how much of the gap is the size of the answer rather than the exchange's work.
// - bare-durable: the bare app made durable in the least way an order entry can be: each request's
//   body goes into the open batch; a batch is sealed once a turn and written as one row of a SQLite
//   WAL journal (synchronous=FULL) on a writer thread, two batches in flight at most, as ours does;
//   the answer goes once its batch is committed. No engine, no keys, no facts. A control: what this
//   machine allows any durable order entry, against which ours can also be read.
// - ours: startExchange on a temporary data directory, the demo market, the journal as it ships
//   (synchronous=FULL), rateLimit 0, logger off, fixed keys for M1–M3 and an operator.
// All get the same request bodies: limit orders on CEA24 from the ten accounts of M1–M3 that are
// admitted to CEA, buys and sells, quantities 1–200, prices around 57.46 inside the ±10 % band; a
// --cross fraction is priced through the touch and trades, the rest rests.
// The servers are started, each gets an untimed warm-up of --warmup seconds, and then each of
// --rounds rounds measures every target in turn for --duration seconds. The machine's speed drifts
// (it is shared), so a ratio is the median of the rounds' own ratios. Besides req/s, each target's
// server CPU (all its threads) per answered request is printed: it drifts less than req/s; on Linux
// also split by thread (the main thread, the others together) and into user and kernel time. Before
// ours is measured, every account's cash and CEA24 are checked against what the rounds could need
// (bounded by the bare app's warm-up rate) and topped up through POST /v1/admin/deposits when short.
//
// --server-prof DIR runs the server children with --cpu-prof into DIR/<kind> (the largest file of
// each is the main thread's).
// Prints per target req/s (over all rounds), latency (the rounds' median p50 and p99), non-2xx
// responses and CPU, then the ratios; the last line is JSON.
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { DEMO_MARKETS_FILE } from '../engine/setup.ts';
import type { KeySpec } from '../gateway/keys.ts';
import { ACCOUNT, body, PRICE, QUANTITY, SYMBOL } from '../gateway/http.ts';
import { ORDER_REPLY } from '../gateway/replies.ts';
import { isoTime } from '../engine/index.ts';
import { group, median, positiveInt, progress, rng, round2 } from './setup.ts';

const HOST = '127.0.0.1';
const INSTRUMENT = 'CEA24';
const MID = 5746; // fen: the demo's listing price of CEA24
const BAND_LOW = 5171;
const BAND_HIGH = 6321;
const QTY_MAX = 200;

/** The demo accounts admitted to CEA (compliance accounts of venue CEA, institutions and individuals without a venue list). */
const ACCOUNTS: Record<string, string[]> = {
  M1: ['M1-C1', 'M1-I1', 'M1-P1'],
  M2: ['M2-C1', 'M2-I1', 'M2-P1'],
  M3: ['M3-C1', 'M3-I1', 'M3-I2', 'M3-P1'],
};
const KEYS: KeySpec[] = [
  { key: 'bench-gateway-member-M1-key', role: 'member', member: 'M1' },
  { key: 'bench-gateway-member-M2-key', role: 'member', member: 'M2' },
  { key: 'bench-gateway-member-M3-key', role: 'member', member: 'M3' },
  { key: 'bench-gateway-operator-key', role: 'operator' },
];
const keyOf = (member: string): string => KEYS.find((k) => k.member === member)!.key;
const OPERATOR_KEY = KEYS[3].key;

// ---------------------------------------------------------------- the server child

interface ServerStats {
  cpuMs: number;
  /** The same CPU by thread and mode (Linux, /proc): the main thread's and the others', user and kernel; absent elsewhere. */
  threads?: ThreadCpu;
  /** cpuMs over the run's wall time. */
  cores?: number;
  elu: number;
  commands?: number;
  batches?: number;
  trades?: number;
  rejections?: Record<string, number>;
  maxCommitMs?: number;
  /** Time inside journal commits (the transaction and its fsync). */
  commitMs?: number;
  dataDir?: string;
}

/** Milliseconds of CPU: the main thread's user and kernel time, and the other threads' together. */
interface ThreadCpu { mainUser: number; mainSys: number; otherUser: number; otherSys: number }

/** Clock ticks of /proc/<pid>/task/<tid>/stat per second (USER_HZ, 100 on Linux). */
const TICKS_PER_MS = 100 / 1000;

/** This process's CPU by thread since it started, from /proc (null where there is none). */
function threadCpu(): ThreadCpu | null {
  const tasks = `/proc/${process.pid}/task`;
  if (!existsSync(tasks)) return null;
  const out: ThreadCpu = { mainUser: 0, mainSys: 0, otherUser: 0, otherSys: 0 };
  for (const tid of readdirSync(tasks)) {
    let stat: string;
    try {
      stat = readFileSync(`${tasks}/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended meanwhile
    }
    // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [user, sys] = [Number(f[11]) / TICKS_PER_MS, Number(f[12]) / TICKS_PER_MS];
    if (Number(tid) === process.pid) { out.mainUser += user; out.mainSys += sys; } else { out.otherUser += user; out.otherSys += sys; }
  }
  return out;
}

type ToChild = { op: 'mark' } | { op: 'stop' };
type FromChild = { op: 'ready'; url: string } | { op: 'stats'; stats: ServerStats };

interface OrderBody {
  symbol: string; side: string; type: string; price?: string; quantity: number; timeInForce?: string; clientOrderId?: string; accountId?: string;
}

type Kind = 'bare' | 'bare-reply' | 'bare-durable' | 'ours';
const KINDS: Kind[] = ['bare', 'bare-reply', 'bare-durable', 'ours'];

// The bare-durable app's writer thread: one connection to its journal, one transaction a batch.
const DURABLE_WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS batches (batch INTEGER PRIMARY KEY, commands TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO batches (batch, commands) VALUES (?, ?)');
const write = db.transaction((batch, text) => insert.run(batch, text));
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.postMessage('closed'); return; }
  const started = performance.now();
  write(m.batch, m.text);
  parentPort.postMessage({ batch: m.batch, ms: performance.now() - started });
});
`;

/** Group commit as the sequencer does it: bodies gathered in a turn, one row a batch, at most two batches in flight. */
class DurableBatches {
  private readonly writer: Worker;
  private open: { body: unknown; done: () => void }[] = [];
  private readonly inFlight = new Map<number, (() => void)[]>();
  private scheduled = false;
  private next = 1;
  /** Bodies and batches written, and the writer's time in them (the transaction and its fsync). */
  readonly stats = { commands: 0, batches: 0, commitMs: 0, maxCommitMs: 0 };

  constructor(file: string) {
    this.writer = new Worker(DURABLE_WRITER, { eval: true, workerData: { file, sqlite: createRequire(import.meta.url).resolve('better-sqlite3') } });
    this.writer.on('message', (m: { batch: number; ms: number } | 'closed') => {
      if (m === 'closed') return;
      const { batch, ms } = m;
      const done = this.inFlight.get(batch)!;
      this.stats.batches++;
      this.stats.commands += done.length;
      this.stats.commitMs += ms;
      if (ms > this.stats.maxCommitMs) this.stats.maxCommitMs = ms;
      this.inFlight.delete(batch);
      for (const d of done) d();
      if (this.open.length > 0) this.flush();
    });
  }

  /** Resolves once the body is committed. */
  add(body: unknown): Promise<void> {
    return new Promise((done) => {
      this.open.push({ body, done });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.open.length === 0 || this.inFlight.size >= 2) return;
    const batch = this.next++;
    const sealed = this.open;
    this.open = [];
    this.inFlight.set(batch, sealed.map((w) => w.done));
    this.writer.postMessage({ batch, text: JSON.stringify(sealed.map((w) => w.body)) });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.writer.on('message', (m) => { if (m === 'closed') void this.writer.terminate().then(() => resolve()); });
      this.writer.postMessage('close');
    });
  }
}

async function serve(kind: Kind): Promise<void> {
  const send = (m: FromChild) => process.send!(m);
  let close: () => Promise<void>;
  let url: string;
  let counters: () => Partial<ServerStats> = () => ({});
  if (kind !== 'ours') {
    // 'bare' answers a small object; 'bare-reply' answers what ours answers to a resting order (the
    // order reply of API.md through the same response schema, with the x-exchange-seq header), so
    // that the two baselines tell apart what the size of the answer costs and what the exchange does;
    // 'bare-durable' answers bare's small object once the body is committed.
    const sameReply = kind === 'bare-reply';
    let durable: DurableBatches | null = null;
    let durableDir: string | null = null;
    if (kind === 'bare-durable') {
      const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-durable-'));
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      const batches = new DurableBatches(join(dir, 'journal.sqlite'));
      durable = batches;
      durableDir = dir;
      counters = () => {
        const out = { ...batches.stats };
        Object.assign(batches.stats, { commands: 0, batches: 0, commitMs: 0, maxCommitMs: 0 });
        return out;
      };
    }
    let n = 0;
    const app = Fastify({
      logger: false,
      bodyLimit: 64 * 1024,
      ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    });
    app.post<{ Body: OrderBody }>('/v1/orders', {
      schema: {
        body: body({
          symbol: SYMBOL, side: { enum: ['buy', 'sell'] }, type: { enum: ['limit', 'market', 'pick'] }, price: PRICE, quantity: QUANTITY,
          timeInForce: { enum: ['DAY', 'IOC', 'FOK'] }, clientOrderId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' },
          accountId: ACCOUNT,
        }, ['symbol', 'side', 'type', 'quantity']),
        ...(sameReply ? { response: { 201: ORDER_REPLY } } : {}),
      },
    }, async (req, reply) => {
      reply.code(201);
      const b = req.body;
      const orderId = String(++n);
      if (durable !== null) await durable.add(b);
      if (!sameReply) return { orderId, symbol: b.symbol, side: b.side, quantity: b.quantity, status: 'new' };
      reply.header('x-exchange-seq', orderId);
      return {
        order: {
          orderId, clientOrderId: b.clientOrderId ?? null, accountId: b.accountId ?? null, symbol: b.symbol, side: b.side, type: b.type,
          timeInForce: b.timeInForce ?? 'DAY', price: b.price ?? null, quantity: b.quantity, filledQuantity: 0, remainingQuantity: b.quantity,
          avgPrice: null, status: 'new', reason: null, time: isoTime(Date.now()),
        },
        fills: [], duplicate: false,
      };
    });
    url = await app.listen({ port: 0, host: HOST });
    close = async () => {
      await app.close();
      await durable?.close();
      if (durableDir !== null) rmSync(durableDir, { recursive: true, force: true });
    };
  } else {
    const { startExchange } = await import('../gateway/exchange.ts');
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
    process.once('exit', () => rmSync(dataDir, { recursive: true, force: true })); // also when the run fails
    const ex = await startExchange({ dataDir, marketsFile: DEMO_MARKETS_FILE, keys: KEYS, rateLimit: 0, logger: false });
    const seq = ex.gateway.sequencer;
    // Counted per window between two marks (the warm-up and the funding are not the measured run's).
    let rejections: Record<string, number> = {};
    let trades = 0;
    let commands = 0;
    let batches = 0;
    let maxCommitMs = 0;
    let commitMs = 0;
    seq.onCommit((batch) => {
      batches++;
      commitMs += seq.stats.lastCommitMs;
      if (seq.stats.lastCommitMs > maxCommitMs) maxCommitMs = seq.stats.lastCommitMs;
      for (const c of batch) {
        commands++;
        if (!c.result.ok) rejections[c.result.code] = (rejections[c.result.code] ?? 0) + 1;
        else for (const e of c.result.events) if (e.type === 'trade') trades++;
      }
    });
    counters = () => {
      const out = { commands, batches, trades, rejections, maxCommitMs, commitMs, dataDir };
      rejections = {};
      trades = commands = batches = maxCommitMs = commitMs = 0;
      return out;
    };
    url = await ex.listen(0, HOST);
    close = async () => {
      await ex.close();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  let cpu = process.cpuUsage();
  let elu = performance.eventLoopUtilization();
  let threads = threadCpu();
  process.on('message', (m: ToChild) => {
    if (m.op === 'mark') {
      const c = process.cpuUsage(cpu);
      const e = performance.eventLoopUtilization(elu);
      const t = threadCpu();
      const since = threads;
      cpu = process.cpuUsage();
      elu = performance.eventLoopUtilization();
      threads = t;
      const split = t === null || since === null ? {} : {
        threads: { mainUser: t.mainUser - since.mainUser, mainSys: t.mainSys - since.mainSys, otherUser: t.otherUser - since.otherUser, otherSys: t.otherSys - since.otherSys },
      };
      send({ op: 'stats', stats: { cpuMs: (c.user + c.system) / 1000, elu: e.utilization, ...split, ...counters() } });
    } else if (m.op === 'stop') {
      void close().then(() => process.exit(0));
    }
  });
  send({ op: 'ready', url });
}

class Server {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  static start(kind: Kind, profDir: string | undefined): Promise<Server> {
    const execArgv = ['--import', 'tsx', ...(profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(profDir, kind)}`])];
    const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the ${kind} server exited with code ${code} before it was ready`)));
      child.once('message', (m: FromChild) => {
        if (m.op === 'ready') resolve(new Server(child, m.url));
      });
    });
  }

  /** CPU, event-loop use and counters since the previous mark. */
  mark(): Promise<ServerStats> {
    return new Promise((resolve) => {
      this.child.once('message', (m: FromChild) => { if (m.op === 'stats') resolve(m.stats); });
      this.child.send({ op: 'mark' } satisfies ToChild);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.removeAllListeners('exit');
      this.child.once('exit', () => resolve());
      this.child.send({ op: 'stop' } satisfies ToChild);
    });
  }
}

// ---------------------------------------------------------------- the load


const MEMBERS = Object.keys(ACCOUNTS);
const fen = (p: number): string => `${Math.floor(p / 100)}.${String(p % 100).padStart(2, '0')}`;

/**
 * One order: a resting buy 0.00–1.00 below the mid (sell 0.01–1.01 above), or with probability
 * `cross` one priced 0.01–0.50 through the mid on the other side, which meets the resting orders.
 */
function order(r: () => number, cross: number): { member: string; body: string; side: 'buy' | 'sell'; quantity: number } {
  const member = MEMBERS[Math.floor(r() * MEMBERS.length)];
  const accounts = ACCOUNTS[member];
  const accountId = accounts[Math.floor(r() * accounts.length)];
  const side = r() < 0.5 ? 'buy' : 'sell';
  const crossing = r() < cross;
  let price = side === 'buy'
    ? (crossing ? MID + 1 + Math.floor(r() * 50) : MID - Math.floor(r() * 101))
    : (crossing ? MID - Math.floor(r() * 50) : MID + 1 + Math.floor(r() * 101));
  price = Math.min(BAND_HIGH, Math.max(BAND_LOW, price));
  const quantity = 1 + Math.floor(r() * QTY_MAX);
  return {
    member, side, quantity,
    body: JSON.stringify({ accountId, symbol: INSTRUMENT, side, type: 'limit', price: fen(price), quantity, timeInForce: 'DAY' }),
  };
}

const REQUESTS_PER_CONNECTION = 2000;

/** Each connection cycles through its own pre-built list of orders (no per-request building in the load generator). */
function requestLists(connections: number, seed: number, cross: number): autocannon.Request[][] {
  const r = rng(seed);
  const lists: autocannon.Request[][] = [];
  for (let c = 0; c < connections; c++) {
    const list: autocannon.Request[] = [];
    for (let i = 0; i < REQUESTS_PER_CONNECTION; i++) {
      const o = order(r, cross);
      list.push({
        method: 'POST', path: '/v1/orders', body: o.body,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(o.member)}` },
      });
    }
    lists.push(list);
  }
  return lists;
}

interface Run {
  seconds: number;
  reqPerSec: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  codes: Record<string, number>;
  errors: number;
  clientCpu: number;
  server: ServerStats;
}

/**
 * One autocannon run. autocannon first builds every connection's requests (synchronously: with
 * many connections, seconds of the load generator's CPU while nothing is sent), then starts the
 * clock; `onStart` runs then, and the client's CPU and the wall time are counted from there, so
 * that neither includes the building.
 */
async function load(
  server: Server, lists: autocannon.Request[][], connections: number, duration: number, onStart: () => Promise<void> = async () => {},
): Promise<Omit<Run, 'server'> & { seconds: number }> {
  let next = 0;
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let started: Promise<void> = Promise.resolve();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const run = autocannon({
      url: server.url, connections, duration, method: 'POST',
      setupClient: (client) => client.setRequests(lists[next++ % lists.length]),
    }, (err, r) => (err ? reject(err) : resolve(r)));
    run.once('start', () => {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      started = onStart();
    });
  });
  await started;
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  const codes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) codes[code] = Number(s.count ?? 0);
  return {
    reqPerSec: result.requests.average, total: result.requests.total, p50: result.latency.p50, p99: result.latency.p99,
    non2xx: result.non2xx, codes, errors: result.errors, clientCpu: (c.user + c.system) / 1000 / 1000 / seconds, seconds,
  };
}

async function warmUp(server: Server, lists: autocannon.Request[][], o: Options, label: string): Promise<number> {
  if (o.warmup === 0) return 0;
  progress(`${label}: warm-up ${o.warmup} s`);
  return (await load(server, lists, o.connections, o.warmup)).reqPerSec;
}

async function measure(server: Server, lists: autocannon.Request[][], o: Options, label: string): Promise<Run> {
  progress(`${label}: ${o.duration} s, ${o.connections} connections`);
  // The server's window opens when the load starts (not while autocannon builds its requests).
  const run = await load(server, lists, o.connections, o.duration, async () => { await server.mark(); });
  const stats = await server.mark();
  return { ...run, server: { ...stats, cores: stats.cpuMs / 1000 / run.seconds } };
}

/** The rounds of one target as one run: counts added up, rates and loads averaged, latency percentiles the rounds' medians. */
function combine(runs: Run[]): Run {
  const sum = (f: (r: Run) => number): number => runs.reduce((a, r) => a + f(r), 0);
  const seconds = sum((r) => r.seconds);
  const codes: Record<string, number> = {};
  const rejections: Record<string, number> = {};
  for (const r of runs) {
    for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n;
    for (const [c, n] of Object.entries(r.server.rejections ?? {})) rejections[c] = (rejections[c] ?? 0) + n;
  }
  const cpuMs = sum((r) => r.server.cpuMs);
  const split = (k: keyof ThreadCpu) => sum((r) => r.server.threads?.[k] ?? 0);
  const threads = runs.every((r) => r.server.threads !== undefined)
    ? { threads: { mainUser: split('mainUser'), mainSys: split('mainSys'), otherUser: split('otherUser'), otherSys: split('otherSys') } }
    : {};
  return {
    // Every round lasts --duration: the rate is the mean of the rounds' rates (autocannon's own).
    seconds, reqPerSec: sum((r) => r.reqPerSec) / runs.length, total: sum((r) => r.total),
    p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)),
    non2xx: sum((r) => r.non2xx), codes, errors: sum((r) => r.errors), clientCpu: sum((r) => r.clientCpu) / runs.length,
    server: {
      cpuMs, ...threads, cores: sum((r) => r.server.cores ?? 0) / runs.length, elu: sum((r) => r.server.elu) / runs.length,
      commands: sum((r) => r.server.commands ?? 0), batches: sum((r) => r.server.batches ?? 0), trades: sum((r) => r.server.trades ?? 0),
      rejections, maxCommitMs: Math.max(...runs.map((r) => r.server.maxCommitMs ?? 0)), commitMs: sum((r) => r.server.commitMs ?? 0),
    },
  };
}

// ---------------------------------------------------------------- funding

/** Orders each account could send at most, if ours ran as fast as the bare app; twice the even share. */
async function fund(url: string, maxOrders: number): Promise<string[]> {
  const all = MEMBERS.flatMap((m) => ACCOUNTS[m].map((a) => ({ member: m, accountId: a })));
  const perAccount = Math.ceil((2 * maxOrders) / all.length);
  // Half of them buys at the band's top at most, half sells; QTY_MAX at most each: bounded above.
  const avgQty = (1 + QTY_MAX) / 2;
  const needCash = Math.ceil((perAccount / 2) * avgQty * BAND_HIGH / 100); // CNY
  const needTonnes = Math.ceil((perAccount / 2) * avgQty);
  const lines: string[] = [];
  for (const { member, accountId } of all) {
    const res = await fetch(`${url}/v1/account?accountId=${accountId}`, { headers: { authorization: `Bearer ${keyOf(member)}` } });
    if (!res.ok) throw new Error(`GET /v1/account?accountId=${accountId}: ${res.status} ${await res.text()}`);
    const a = (await res.json()) as { cash: { available: string }; holdings: { symbol: string; available: number }[] };
    const cash = Number(a.cash.available);
    const tonnes = a.holdings.find((h) => h.symbol === INSTRUMENT)?.available ?? 0;
    const deposit: { cash?: string; symbol?: string; quantity?: number } = {};
    if (cash < needCash) deposit.cash = `${needCash - Math.floor(cash)}.00`;
    if (tonnes < needTonnes) { deposit.symbol = INSTRUMENT; deposit.quantity = needTonnes - tonnes; }
    if (deposit.cash !== undefined) await post(url, { accountId, cash: deposit.cash });
    if (deposit.quantity !== undefined) await post(url, { accountId, symbol: INSTRUMENT, quantity: deposit.quantity });
    if (deposit.cash !== undefined || deposit.quantity !== undefined) {
      lines.push(`${accountId} +${deposit.cash ?? '0'} CNY +${deposit.quantity ?? 0} t (had ${group(cash)} CNY, ${group(tonnes)} t)`);
    }
  }
  progress(`funding: up to ${group(perAccount)} orders per account need ${group(needCash)} CNY and ${group(needTonnes)} t of ${INSTRUMENT}; ` +
    (lines.length === 0 ? 'all funded already' : `deposited: ${lines.join('; ')}`));
  return lines;
}

async function post(url: string, b: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/v1/admin/deposits`, {
    method: 'POST', headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(b),
  });
  if (res.status !== 201) throw new Error(`POST /v1/admin/deposits ${JSON.stringify(b)}: ${res.status} ${await res.text()}`);
}

// ---------------------------------------------------------------- main

interface Options { duration: number; rounds: number; connections: number; warmup: number; cross: number; seed: number; serverProf?: string }

function describe(label: string, r: Run): string {
  const codes = Object.entries(r.codes).filter(([c]) => !c.startsWith('2')).map(([c, n]) => `${c}×${group(n)}`).join(', ');
  return `${label.padEnd(14)} ${group(r.reqPerSec).padStart(7)} req/s  (${group(r.total)} requests)  p50 ${r.p50} ms  p99 ${r.p99} ms  ` +
    `non-2xx ${group(r.non2xx)}${codes === '' ? '' : ` (${codes})`}${r.errors > 0 ? `  errors ${r.errors}` : ''}` +
    `  server cpu ${(r.server.cores ?? 0).toFixed(2)} cores (${cpuPerRequest(r)} µs a request${threadsPerRequest(r)}), loop busy ${(r.server.elu * 100).toFixed(0)} %  client cpu ${r.clientCpu.toFixed(2)} cores`;
}

/** The CPU a request by thread and mode, in µs (user + kernel): where the server's time goes. */
function threadsPerRequest(r: Run): string {
  const t = r.server.threads;
  if (t === undefined) return '';
  const us = (ms: number) => Math.round((ms * 1000) / Math.max(1, r.total));
  return `: main thread ${us(t.mainUser)} + ${us(t.mainSys)} kernel, other threads ${us(t.otherUser)} + ${us(t.otherSys)} kernel`;
}

/** Server CPU (all its threads) per answered request, in microseconds: steadier than req/s on a shared machine. */
const cpuPerRequest = (r: Run): number => Math.round((r.server.cpuMs * 1000) / Math.max(1, r.total));

const LABELS: Record<Kind, string> = { bare: 'bare fastify', 'bare-reply': 'bare, our reply', 'bare-durable': 'bare, durable', ours: 'ours' };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '2' },
      cross: { type: 'string', default: '0.2' },
      seed: { type: 'string', default: '1' },
      'server-prof': { type: 'string' },
    },
  });
  if (values.serve !== undefined) {
    const kind = KINDS.find((k) => k === values.serve);
    if (kind === undefined) throw new Error(`--serve takes ${KINDS.join(', ')}`);
    return serve(kind);
  }
  const cross = Number(values.cross);
  if (!(cross >= 0 && cross <= 1)) throw new Error(`--cross must be a fraction 0–1, not ${values.cross}`);
  const o: Options = {
    duration: positiveInt(values.duration, 'duration'), rounds: positiveInt(values.rounds, 'rounds'), connections: positiveInt(values.connections, 'connections'),
    warmup: values.warmup === '0' ? 0 : positiveInt(values.warmup, 'warmup'), cross, seed: positiveInt(values.seed, 'seed'),
    serverProf: values['server-prof'],
  };
  const lists = requestLists(o.connections, o.seed, o.cross);

  // The servers run side by side and the rounds take them in turn, so that a slow spell of the
  // machine falls on all of them rather than on one: a ratio is the median of the rounds' ratios.
  const servers = {} as Record<Kind, Server>;
  for (const k of KINDS) servers[k] = await Server.start(k, o.serverProf);
  const bareWarm = await warmUp(servers.bare, lists, o, LABELS.bare);
  await warmUp(servers['bare-reply'], lists, o, LABELS['bare-reply']);
  await warmUp(servers['bare-durable'], lists, o, LABELS['bare-durable']);
  await fund(servers.ours.url, Math.ceil(Math.max(bareWarm, 10_000) * 1.5 * (o.rounds * o.duration + o.warmup)));
  await warmUp(servers.ours, lists, o, LABELS.ours);
  const runs: Record<Kind, Run[]> = { bare: [], 'bare-reply': [], 'bare-durable': [], ours: [] };
  const ratioOf = (base: Kind, r: number, of: Kind = 'ours'): number => runs[of][r].reqPerSec / runs[base][r].reqPerSec;
  for (let r = 0; r < o.rounds; r++) {
    for (const k of KINDS) runs[k].push(await measure(servers[k], lists, o, `round ${r + 1}/${o.rounds} ${LABELS[k]}`));
    progress(`  round ${r + 1}/${o.rounds}: ${KINDS.map((k) => `${LABELS[k]} ${group(runs[k][r].reqPerSec)} req/s`).join(', ')}; ratio ${ratioOf('bare', r).toFixed(2)} (${ratioOf('bare-reply', r).toFixed(2)} against our reply; bare, durable ${ratioOf('bare', r, 'bare-durable').toFixed(2)} of bare)`);
  }
  for (const k of KINDS) await servers[k].stop();
  const all = { bare: combine(runs.bare), 'bare-reply': combine(runs['bare-reply']), 'bare-durable': combine(runs['bare-durable']), ours: combine(runs.ours) };
  for (const k of KINDS) console.log(describe(LABELS[k], all[k]));
  const s = all.ours.server;
  const rej = Object.entries(s.rejections ?? {}).map(([c, n]) => `${c} ${group(n)}`).join(', ');
  console.log(
    `  ours: ${group(s.commands ?? 0)} commands in ${group(s.batches ?? 0)} journal batches (${((s.commands ?? 0) / Math.max(1, s.batches ?? 0)).toFixed(1)} per commit, ` +
    `commits took ${(((s.commitMs ?? 0) / 1000 / all.ours.seconds) * 100).toFixed(0)} % of the wall time, ${round2((s.commitMs ?? 0) / Math.max(1, s.batches ?? 0))} ms each, slowest ${round2(s.maxCommitMs ?? 0)} ms), ${group(s.trades ?? 0)} trades, rejections: ${rej === '' ? 'none' : rej}; journal in ${tmpdir()}`,
  );
  const d = all['bare-durable'].server;
  console.log(
    `  bare, durable: ${group(d.commands ?? 0)} bodies in ${group(d.batches ?? 0)} batches (${((d.commands ?? 0) / Math.max(1, d.batches ?? 0)).toFixed(1)} per commit, ` +
    `commits took ${(((d.commitMs ?? 0) / 1000 / all['bare-durable'].seconds) * 100).toFixed(0)} % of the wall time, ${round2((d.commitMs ?? 0) / Math.max(1, d.batches ?? 0))} ms each, slowest ${round2(d.maxCommitMs ?? 0)} ms)`,
  );
  const ratio = round2(median(runs.ours.map((_, r) => ratioOf('bare', r))));
  const ratioSameReply = round2(median(runs.ours.map((_, r) => ratioOf('bare-reply', r))));
  const durableRatio = round2(median(runs.ours.map((_, r) => ratioOf('bare', r, 'bare-durable'))));
  const ratioDurable = round2(median(runs.ours.map((_, r) => ratioOf('bare-durable', r))));
  console.log(`ratio ours/bare ${ratio.toFixed(2)} (goal ≥ 0.80: ${ratio >= 0.8 ? 'met' : 'missed'}); against the bare app answering our reply ${ratioSameReply.toFixed(2)}`);
  console.log(`the bare app made durable: ${durableRatio.toFixed(2)} of bare; ours against it ${ratioDurable.toFixed(2)}`);
  console.log(JSON.stringify({
    bareReqPerSec: Math.round(all.bare.reqPerSec), bareSameReplyReqPerSec: Math.round(all['bare-reply'].reqPerSec), oursReqPerSec: Math.round(all.ours.reqPerSec),
    ratio, ratioSameReply, bareDurableReqPerSec: Math.round(all['bare-durable'].reqPerSec), durableRatio, ratioDurable, bareP99ms: all.bare.p99, oursP99ms: all.ours.p99,
    bareCpuUsPerReq: cpuPerRequest(all.bare), oursCpuUsPerReq: cpuPerRequest(all.ours), non2xx: all.bare.non2xx + all['bare-reply'].non2xx + all.ours.non2xx,
  }));
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
