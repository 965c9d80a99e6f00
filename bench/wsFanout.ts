// Market-data fan-out over WebSocket: many subscribers on book:CEA24 and trades:CEA24 while trades
// flow; messages delivered per second and the delay from a trade to each client.
//
//   npm run bench:ws -- [--clients 1000] [--rate 10000] [--warmup 2] [--duration 10] [--seed 1] [--readers 1] [--flush-ms N]
//
// One process holds the exchange (startExchange on a temporary data directory, the demo market, the
// journal as it ships, rateLimit 0, no bound on WebSocket connections per address, logger off; --flush-ms overrides the publisher's write window) on
// its main thread and the clients (lean WebSocket readers, below, no compression) on worker threads
// (--readers, default 1: the clients are shared out among them), so that the trade's time and the receive time
// come from the same clock while reading 1,000 sockets does not take turns of the exchange's event
// loop (on a real
// deployment the subscribers are elsewhere; here the two threads get a core each). Orders are not
// sent over HTTP: an HTTP order costs far more than the fan-out under test, and 10,000 trades/s is
// out of reach that way on this machine. They go through the in-process gateway.sequencer.submit(...) instead, the same door
// the HTTP routes use, so each one is stamped, journalled (synchronous=FULL), committed and published
// exactly as an HTTP order would be.
//
// The load: the book is prefilled with 20 levels a side; then, paced on a 1 ms timer to the target
// trade rate (a step catches up at most 10 ms of load, at least 5 crossings), each step sends an
// IOC order (1–50 t) from a taker account that crosses the touch and a resting order of the same
// quantity from a maker account on the side it took from, at one of the 20 levels, so depth stays
// the same and the book changes every batch. Trades counted are the
// committed ones; the rate reported is the one achieved over the driving period.
// The same load drives --warmup seconds first: its trades reach the clients and are checked for
// gaps (every client must get every trade, the warm-up's included), but the figures (messages,
// delays) count only trades stamped once the measured period began.
//
// Delay = client receive time (Date.now()) − the trade message's time field (the sequencer's stamp,
// Date.now() at submission): it includes matching, the journal commit and its fsync, the publisher
// and its write window (up to 10 ms), the socket and the client's turn of the event loop. Both ends have 1 ms resolution.
// Prints what happened, then one JSON line.
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DEMO_MARKETS_FILE } from '../engine/setup.ts';
import type { Actor } from '../engine/index.ts';
import { startExchange } from '../gateway/exchange.ts';
import type { KeySpec } from '../gateway/keys.ts';
import type { CommandBody } from '../persistence/sequencer.ts';
import { group, positiveInt, progress, rng } from './setup.ts';

const HOST = '127.0.0.1';
const INSTRUMENT = 'CEA24';
const MID = 5746; // fen
const LEVELS = 20;
const CROSS_BY = 50; // an IOC crosses the mid by 0.50, far enough to reach any of the 20 levels
const QTY_MAX = 50;
const OPERATOR: Actor = { role: 'operator', id: 'bench-ops' };
const KEYS: KeySpec[] = [
  { key: 'bench-ws-member-M1-key-0001', role: 'member', member: 'M1' },
  { key: 'bench-ws-member-M2-key-0001', role: 'member', member: 'M2' },
  { key: 'bench-ws-member-M3-key-0001', role: 'member', member: 'M3' },
  { key: 'bench-ws-operator-key-00001', role: 'operator' },
];
/** Makers rest, takers cross: disjoint accounts, so self-trade prevention never cuts a taker short. */
const MAKERS = [['M1', 'M1-I1'], ['M2', 'M2-I1'], ['M3', 'M3-I1'], ['M3', 'M3-I2']] as const;
const TAKERS = [['M1', 'M1-C1'], ['M2', 'M2-C1'], ['M3', 'M3-C1']] as const;
const CASH = 1e11; // fen each: 1,000,000,000.00 CNY
const TONNES = 10_000_000;
const MAX_DELAY_MS = 120_000;

// ---------------------------------------------------------------- the clients
// Each subscriber is a minimal RFC 6455 client on a plain TCP socket: the opening handshake (the
// server's Sec-WebSocket-Accept checked), a masked subscribe frame, then the server's frames read in
// a loop over each chunk that arrives, without an event or an object per message. With the ws
// library each message cost the client thread about 2.5 µs, which made the readers, not the
// exchange, the limit at about 0.9 M messages/s. The setup answers (subscribed, both snapshots) are
// parsed in full; after that a message is counted, and a trade's time read from its last bytes once
// (the other clients' copies find it by seq). All sockets read into one reused buffer. Pings are
// answered with pongs, a close frame ends the client with its code. Before the shared read buffer
// and the seq lookup, the readers (and the garbage collection of a Buffer per read) were again the
// limit, at about 5 M messages/s, and every client was dropped as too slow at 10,000 trades/s.

interface Client {
  socket: Socket; trades: number; closed: boolean; closeCode: number; rest: Buffer | null;
  /** The last trade seq this client counted (-1: none yet), and its number of digits. */
  tradeSeq: number; seqDigits: number;
}

/** Counters shared by all clients: one event loop, no locking needed. */
const seen = {
  counting: false,
  /**
   * Trades stamped before this time (ms) belong to the warm-up: they are read and their seq
   * followed like any other, but neither counted as delivered nor given a delay.
   */
  from: 0,
  messages: 0,
  tradeMessages: 0,
  lastAt: 0,
  delays: new Uint32Array(MAX_DELAY_MS + 2), // 1 ms buckets; the last one is "more"
  maxDelay: 0,
  unparsed: 0,
};
const TIME_LENGTH = 29; // 2026-11-21T09:30:00.123+08:00
const lastTimeBytes = Buffer.alloc(TIME_LENGTH);
let lastTimeMs = NaN;

/** The time field of a trade message (payload start–end). It is the last field: `"time":"…"}`. */
function tradeTime(data: Buffer, start: number, end: number): number {
  if (end - start > 40 && data[end - 1] === 0x7d && data[end - 2] === 0x22 && data[end - 32] === 0x22 && data[end - 33] === 0x3a) {
    // Every client gets the same bytes, and consecutive trades mostly share their millisecond:
    // compared from the end (the milliseconds change first), in place.
    const from = end - 31;
    let same = !Number.isNaN(lastTimeMs);
    for (let i = TIME_LENGTH - 1; same && i >= 0; i--) same = data[from + i] === lastTimeBytes[i];
    if (!same) {
      data.copy(lastTimeBytes, 0, from, end - 2);
      lastTimeMs = Date.parse(lastTimeBytes.toString('latin1'));
    }
    return lastTimeMs;
  }
  seen.unparsed++;
  return Date.parse((JSON.parse(data.toString('utf8', start, end)) as { time: string }).time);
}

/** `{"channel":"trades:CEA24","type":"trade","seq":` : where a trade message's seq digits start. */
const SEQ_AT = `{"channel":"trades:${INSTRUMENT}","type":"trade","seq":`.length;
/**
 * Every client gets the same trade messages (seq is per channel): a trade's time is read from the
 * first copy that arrives and kept by its seq, so the other 999 copies cost a few digits, not a
 * comparison of the whole time field.
 */
const SLOTS = 1 << 16;
/** 10^k: the seq at which a seq gets k + 1 digits. */
const TEN_POWERS = Array.from({ length: 16 }, (_, k) => 10 ** k);
const slotSeq = new Float64Array(SLOTS).fill(-1);
const slotTime = new Float64Array(SLOTS);

/** A trade's time by its seq: parsed from the first copy that arrives, looked up for the others. */
function timeBySeq(seq: number, data: Buffer, start: number, end: number): number {
  const slot = seq & (SLOTS - 1);
  if (slotSeq[slot] === seq) return slotTime[slot];
  const time = tradeTime(data, start, end);
  slotSeq[slot] = seq;
  slotTime[slot] = time;
  return time;
}

function onMessage(c: Client, data: Buffer, start: number, end: number, now: number): void {
  seen.messages++;
  // {"channel":"trades:... : the channel's first letter is byte 12.
  if (data[start + 12] !== 0x74) return;
  c.trades++;
  let time: number;
  let i = start + SEQ_AT;
  if (data[i - 1] === 0x3a && data[i - 2] === 0x22) {
    let seq = 0;
    const from = i;
    for (let b = data[i]; b >= 0x30 && b <= 0x39; b = data[++i]) seq = seq * 10 + (b - 0x30);
    c.tradeSeq = seq;
    c.seqDigits = i - from;
    time = timeBySeq(seq, data, start, end);
  } else {
    time = tradeTime(data, start, end);
  }
  if (time < seen.from) return;
  seen.tradeMessages++;
  const d = Math.max(0, now - time);
  seen.delays[d > MAX_DELAY_MS ? MAX_DELAY_MS + 1 : d]++;
  if (d > seen.maxDelay) seen.maxDelay = d;
}

/**
 * The hot path: counts the whole text frames (payload under 64 KiB) at the start of `buf`, and
 * returns where it stopped (a control frame, or a frame not all in `buf`), for readFrames to go on.
 * `now` is the chunk's receive time. The same work as readFrames + onMessage, without a call per
 * frame: a trade message's seq is the client's previous one + 1 (seq rises by exactly 1 per channel
 * and connection), checked by its last digit rather than parsed; counters are kept in locals and
 * added once per chunk.
 */
function countFrames(c: Client, buf: Buffer, now: number): number {
  const n = buf.length;
  const delays = seen.delays;
  let off = 0;
  let messages = 0;
  let trades = 0;
  let seq = c.tradeSeq;
  let digits = c.seqDigits;
  let maxDelay = seen.maxDelay;
  let counted = 0;
  const from = seen.from;
  while (n - off >= 4) {
    if (buf[off] !== 0x81) break;
    const b1 = buf[off + 1];
    let start = off + 2;
    let len = b1;
    if (b1 === 126) { len = (buf[off + 2] << 8) | buf[off + 3]; start = off + 4; } else if (b1 > 126) break;
    const end = start + len;
    if (end > n) break;
    off = end;
    messages++;
    // {"channel":"trades:... : the channel's first letter is byte 12.
    if (buf[start + 12] !== 0x74) continue;
    let next = seq + 1;
    let nextDigits = next === TEN_POWERS[digits] ? digits + 1 : digits;
    if (next <= 0 || buf[start + SEQ_AT + nextDigits - 1] !== 0x30 + (next % 10) || buf[start + SEQ_AT + nextDigits] !== 0x2c) {
      // The first trade message this client counts (or not the expected seq): its seq is parsed.
      // A message of another shape is left to readFrames.
      if (buf[start + SEQ_AT - 1] !== 0x3a || buf[start + SEQ_AT - 2] !== 0x22) { off = start - (b1 === 126 ? 4 : 2); messages--; break; }
      next = 0;
      nextDigits = 0;
      for (let i = start + SEQ_AT, b = buf[i]; b >= 0x30 && b <= 0x39; b = buf[++i]) { next = next * 10 + (b - 0x30); nextDigits++; }
    }
    seq = next;
    digits = nextDigits;
    trades++;
    const time = timeBySeq(seq, buf, start, end);
    if (time < from) continue;
    counted++;
    const d = now > time ? now - time : 0;
    delays[d > MAX_DELAY_MS ? MAX_DELAY_MS + 1 : d]++;
    if (d > maxDelay) maxDelay = d;
  }
  c.tradeSeq = seq;
  c.seqDigits = digits;
  c.trades += trades;
  seen.messages += messages;
  seen.tradeMessages += counted;
  seen.maxDelay = maxDelay;
  return off;
}

/** A client-to-server frame: FIN, the opcode, masked (RFC 6455 §5.3). Payloads here are short. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('client frames here carry at most 125 bytes');
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i & 3];
  return out;
}

/** The header length of the frame at `off`, or -1 while its header is not all in `buf`. */
function headerLength(buf: Buffer, off: number): number {
  if (buf.length - off < 2) return -1;
  const len = buf[off + 1] & 0x7f;
  const header = len < 126 ? 2 : len === 126 ? 4 : 10;
  return buf.length - off < header ? -1 : header;
}

/** The payload length of the frame at `off`, whose header is all there. */
function payloadLength(buf: Buffer, off: number): number {
  const len = buf[off + 1] & 0x7f;
  if (len < 126) return len;
  if (len === 126) return buf.readUInt16BE(off + 2);
  return buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
}

/**
 * The frames in `chunk` (after what was left of the previous one), each handed to `frame` with its
 * opcode and payload range; an incomplete last frame is kept for the next chunk. While the run is
 * counting, `countAt` is the chunk's receive time and countFrames takes the common frames first.
 */
function readFrames(c: Client, chunk: Buffer, frame: (opcode: number, data: Buffer, start: number, end: number) => void, countAt: number): void {
  let buf = chunk;
  if (c.rest !== null) {
    // A frame began in the previous chunk: complete that one frame alone (copying a few bytes, not
    // the whole chunk), then read on in this chunk.
    const rest = c.rest;
    const header = headerLength(rest, 0);
    const total = header < 0 ? -1 : header + payloadLength(rest, 0);
    if (total < 0 || chunk.length < total - rest.length) {
      buf = Buffer.concat([rest, chunk]);
    } else {
      c.rest = null;
      const need = total - rest.length;
      readFrames(c, Buffer.concat([rest, chunk.subarray(0, need)]), frame, 0);
      buf = chunk.subarray(need);
    }
  }
  let off = countAt > 0 ? countFrames(c, buf, countAt) : 0;
  for (;;) {
    const header = headerLength(buf, off);
    if (header < 0) break;
    const b0 = buf[off];
    if ((b0 & 0x80) === 0 || (buf[off + 1] & 0x80) !== 0) throw new Error('the server sent a fragmented or masked frame');
    const len = payloadLength(buf, off);
    if (buf.length - off < header + len) break;
    frame(b0 & 0x0f, buf, off + header, off + header + len);
    off += header + len;
  }
  // The read buffer is shared and reused (see READ_BUFFER): a frame's start is copied out.
  c.rest = off === buf.length ? null : Buffer.from(buf.subarray(off));
}

/**
 * Every client's socket reads into this one buffer (net's `onread`): a chunk is consumed before the
 * thread reads the next, so no Buffer is allocated per read. Allocating one per chunk (about 1 GB/s
 * of them) kept V8's concurrent marking busy on every core.
 */
const READ_BUFFER = Buffer.allocUnsafe(1 << 18);

/** Opens one client and resolves once it has the subscription's answer and both snapshots. */
function connect(url: string): Promise<Client> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    let onChunk = (_chunk: Buffer): void => {};
    const socket = netConnect({
      port: Number(port), host: hostname,
      onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => { onChunk((buf as Buffer).subarray(0, n)); return true; } },
    });
    socket.setNoDelay(true);
    const c: Client = { socket, trades: 0, closed: false, closeCode: 0, rest: null, tradeSeq: -1, seqDigits: 0 };
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    let head = '';
    let pending = 3; // subscribed, book snapshot, trades snapshot
    let ready = false;
    let now = 0;
    const frame = (opcode: number, data: Buffer, start: number, end: number) => {
      if (opcode === 0x1) {
        if (ready) {
          if (seen.counting) onMessage(c, data, start, end, now);
          return;
        }
        const m = JSON.parse(data.toString('utf8', start, end)) as { type: string; code?: string; message?: string };
        if (m.type === 'error') return reject(new Error(`subscribe: ${m.code}: ${m.message}`));
        if (m.type === 'subscribed' || m.type === 'snapshot') pending--;
        if (pending === 0) { ready = true; resolve(c); }
      } else if (opcode === 0x8) {
        c.closed = true;
        c.closeCode = end - start >= 2 ? data.readUInt16BE(start) : 1005;
        socket.end();
      } else if (opcode === 0x9) {
        socket.write(clientFrame(0xa, Buffer.from(data.subarray(start, end))));
      }
    };
    const onData = (chunk: Buffer) => {
      now = Date.now();
      if (seen.counting) seen.lastAt = now;
      // While counting, the common frames are read by the tight loop; readFrames does the rest.
      readFrames(c, chunk, frame, ready && seen.counting ? now : 0);
    };
    const onHandshake = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const endOfHead = head.indexOf('\r\n\r\n');
      if (endOfHead < 0) return;
      const lines = head.slice(0, endOfHead).split('\r\n');
      const acceptLine = lines.find((l) => l.toLowerCase().startsWith('sec-websocket-accept:'));
      if (!lines[0].startsWith('HTTP/1.1 101') || acceptLine?.slice(21).trim() !== accept) {
        socket.destroy();
        return reject(new Error(`the server refused the WebSocket handshake: ${lines[0]}`));
      }
      onChunk = onData;
      const rest = Buffer.from(head.slice(endOfHead + 4), 'latin1');
      socket.write(clientFrame(0x1, Buffer.from(JSON.stringify({ op: 'subscribe', channels: [`book:${INSTRUMENT}`, `trades:${INSTRUMENT}`] }))));
      if (rest.length > 0) onData(rest);
    };
    onChunk = onHandshake;
    socket.once('connect', () => socket.write(
      `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    socket.once('error', (e) => { c.closed = true; reject(e); });
    socket.once('close', () => { if (!c.closed) { c.closed = true; c.closeCode = 1006; } });
  });
}

async function connectAll(url: string, n: number): Promise<{ clients: Client[]; failed: string | null }> {
  const clients: Client[] = [];
  const batch = 50;
  for (let i = 0; i < n; i += batch) {
    const settled = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => connect(url)));
    for (const s of settled) {
      if (s.status === 'fulfilled') clients.push(s.value);
      else return { clients, failed: (s.reason as Error).message };
    }
  }
  return { clients, failed: null };
}

type ToWorker = { op: 'start' } | { op: 'measure'; from: number } | { op: 'status'; expected: number } | { op: 'finish' };
type FromWorker =
  | { op: 'connected'; clients: number; failed: string | null }
  | { op: 'status'; behind: number; live: number }
  | { op: 'finished'; messages: number; tradeMessages: number; lastAt: number; delays: Uint32Array; maxDelay: number; unparsed: number; closeCodes: [number, number][]; live: number; behind: number };

/** The worker thread: opens the clients, counts what they receive, answers the main thread. */
async function clientThread(): Promise<void> {
  const { url, n } = workerData as { url: string; n: number };
  const port = parentPort!;
  const send = (m: FromWorker) => port.postMessage(m);
  const { clients, failed } = await connectAll(url, n);
  let expected = 0;
  const behind = () => clients.filter((c) => !c.closed && c.trades < expected).length;
  port.on('message', (m: ToWorker) => {
    if (m.op === 'start') seen.counting = true;
    else if (m.op === 'measure') {
      // The warm-up ends: counts start again, for trades stamped from \`from\` on.
      seen.from = m.from;
      seen.messages = seen.tradeMessages = seen.maxDelay = seen.unparsed = 0;
      seen.delays.fill(0);
    } else if (m.op === 'status') {
      expected = m.expected;
      send({ op: 'status', behind: behind(), live: clients.filter((c) => !c.closed).length });
    } else {
      seen.counting = false;
      const codes = new Map<number, number>();
      for (const c of clients) if (c.closed) codes.set(c.closeCode, (codes.get(c.closeCode) ?? 0) + 1);
      send({
        op: 'finished', messages: seen.messages, tradeMessages: seen.tradeMessages, lastAt: seen.lastAt, delays: seen.delays,
        maxDelay: seen.maxDelay, unparsed: seen.unparsed, closeCodes: [...codes], live: clients.filter((c) => !c.closed).length, behind: behind(),
      });
      for (const c of clients) c.socket.destroy();
      port.close();
    }
  });
  send({ op: 'connected', clients: clients.length, failed });
}

/** The readers: `n` clients spread over `threads` worker threads, asked and answered together. */
class Clients {
  private constructor(private readonly workers: Worker[], readonly count: number, readonly failed: string | null) {}

  static async open(url: string, n: number, threads: number): Promise<Clients> {
    // A worker does not inherit `--import tsx` (Node 20): it registers tsx itself, then loads this file.
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const opened = await Promise.all(Array.from({ length: threads }, (_, k) => {
      const share = Math.floor(n / threads) + (k < n % threads ? 1 : 0);
      const worker = new Worker(boot, { eval: true, workerData: { url, n: share } });
      return new Promise<{ worker: Worker; clients: number; failed: string | null }>((resolve, reject) => {
        worker.once('error', reject);
        worker.once('message', (m: FromWorker) => { if (m.op === 'connected') resolve({ worker, clients: m.clients, failed: m.failed }); });
      });
    }));
    const failed = opened.find((o) => o.failed !== null)?.failed ?? null;
    return new Clients(opened.map((o) => o.worker), opened.reduce((sum, o) => sum + o.clients, 0), failed);
  }

  private ask<T extends FromWorker['op']>(m: ToWorker, answer: T): Promise<Extract<FromWorker, { op: T }>[]> {
    return Promise.all(this.workers.map((worker) => new Promise<Extract<FromWorker, { op: T }>>((resolve) => {
      const on = (r: FromWorker) => {
        if (r.op !== answer) return;
        worker.off('message', on);
        resolve(r as Extract<FromWorker, { op: T }>);
      };
      worker.on('message', on);
      worker.postMessage(m);
    })));
  }

  start(): void { for (const w of this.workers) w.postMessage({ op: 'start' } satisfies ToWorker); }

  /** From here on only trades stamped at `from` or later are counted and timed. */
  measure(from: number): void { for (const w of this.workers) w.postMessage({ op: 'measure', from } satisfies ToWorker); }

  async status(expected: number): Promise<{ behind: number; live: number }> {
    const all = await this.ask({ op: 'status', expected }, 'status');
    return { behind: all.reduce((s, a) => s + a.behind, 0), live: all.reduce((s, a) => s + a.live, 0) };
  }

  /** Every thread's counts, added up. */
  async finish(): Promise<Omit<Extract<FromWorker, { op: 'finished' }>, 'op'>> {
    const all = await this.ask({ op: 'finish' }, 'finished');
    const delays = new Uint32Array(MAX_DELAY_MS + 2);
    const codes = new Map<number, number>();
    for (const a of all) {
      for (let i = 0; i < delays.length; i++) delays[i] += a.delays[i];
      for (const [code, k] of a.closeCodes) codes.set(code, (codes.get(code) ?? 0) + k);
    }
    const sum = (f: (a: (typeof all)[number]) => number) => all.reduce((s, a) => s + f(a), 0);
    return {
      messages: sum((a) => a.messages), tradeMessages: sum((a) => a.tradeMessages), lastAt: Math.max(...all.map((a) => a.lastAt)),
      delays, maxDelay: Math.max(...all.map((a) => a.maxDelay)), unparsed: sum((a) => a.unparsed), closeCodes: [...codes],
      live: sum((a) => a.live), behind: sum((a) => a.behind),
    };
  }
}

function quantileMs(h: Uint32Array, total: number, q: number): number {
  const rank = Math.min(total - 1, Math.floor(q * total));
  let acc = 0;
  for (let i = 0; i < h.length; i++) {
    acc += h[i];
    if (acc > rank) return i;
  }
  return h.length - 1;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '1000' },
      rate: { type: 'string', default: '10000' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      readers: { type: 'string', default: '1' },
      'flush-ms': { type: 'string' },
    },
  });
  const wanted = positiveInt(values.clients, 'clients');
  const rate = positiveInt(values.rate, 'rate');
  const duration = positiveInt(values.duration, 'duration');
  const warmup = Number(values.warmup);
  if (!(Number.isInteger(warmup) && warmup >= 0 && warmup <= 60)) throw new Error('--warmup takes a whole number of seconds, 0-60');
  const readers = positiveInt(values.readers, 'readers');
  // The publisher's write window; by default the one the exchange ships with.
  const flushMs = values['flush-ms'] === undefined ? undefined : Number(values['flush-ms']);
  if (flushMs !== undefined && !(Number.isInteger(flushMs) && flushMs >= 0 && flushMs <= 1000)) throw new Error('--flush-ms takes a whole number of milliseconds, 0-1000');
  const r = rng(positiveInt(values.seed, 'seed'));

  const dataDir = mkdtempSync(join(tmpdir(), 'bench-ws-'));
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true })); // also when the run fails
  const ex = await startExchange({ dataDir, marketsFile: DEMO_MARKETS_FILE, keys: KEYS, rateLimit: 0, wsPerAddress: 0, logger: false, publisher: { flushMs } });
  const { sequencer, metrics } = ex.gateway;
  const address = await ex.listen(0, HOST);
  const url = `${address.replace(/^http/, 'ws')}/v1/ws`;

  const must = async (actor: Actor, body: CommandBody) => {
    const res = await sequencer.submit(actor, body);
    if (!res.ok) throw new Error(`${body.type} was refused: ${res.code}: ${res.message}`);
  };
  for (const [, accountId] of [...MAKERS, ...TAKERS]) {
    await must(OPERATOR, { type: 'deposit', accountId, cash: CASH, symbol: null, quantity: null });
    await must(OPERATOR, { type: 'deposit', accountId, cash: null, symbol: INSTRUMENT, quantity: TONNES });
  }
  const maker = () => MAKERS[Math.floor(r() * MAKERS.length)];
  const taker = () => TAKERS[Math.floor(r() * TAKERS.length)];
  const rest = (side: 'buy' | 'sell', level: number, quantity: number): Promise<unknown> => {
    const [member, accountId] = maker();
    const price = side === 'buy' ? MID - level : MID + level;
    return sequencer.submit({ role: 'member', id: member }, {
      type: 'placeOrder', accountId, symbol: INSTRUMENT, side, orderType: 'limit', price, quantity, timeInForce: 'DAY',
    });
  };
  const prefill: Promise<unknown>[] = [];
  for (let level = 1; level <= LEVELS; level++) for (let k = 0; k < 3; k++) prefill.push(rest('buy', level, 100), rest('sell', level, 100));
  await Promise.all(prefill);

  let trades = 0;
  let crossings = 0;
  let committedCrossings = 0;
  let inFlight = 0;
  let batches = 0;
  let commitMs = 0;
  let slowestCommitMs = 0;
  sequencer.onCommit((batch) => {
    batches++;
    commitMs += sequencer.stats.lastCommitMs;
    if (sequencer.stats.lastCommitMs > slowestCommitMs) slowestCommitMs = sequencer.stats.lastCommitMs;
    for (const c of batch) {
      if (!c.result.ok) continue;
      if (c.command.type === 'placeOrder' && c.command.timeInForce === 'IOC') committedCrossings++;
      for (const e of c.result.events) if (e.type === 'trade') trades++;
    }
  });

  progress(`connecting ${wanted} clients to ${url} from a worker thread`);
  const clients = await Clients.open(url, wanted, readers);
  const failed = clients.failed;
  if (failed !== null) progress(`only ${clients.count} of ${wanted} clients connected: ${failed}`);
  if (clients.count === 0) throw new Error('no client could connect');
  progress(`${clients.count} clients subscribed to book:${INSTRUMENT} and trades:${INSTRUMENT}; driving ${group(rate)} trades/s for ${duration} s`);

  // ------------------------------------------------------------ drive
  // At most 10 ms of the target load (and at least 5 crossings) in one step: when the exchange falls
  // behind, the next batch grows to this and no further, so the run measures the rate it sustains
  // rather than one giant burst.
  const maxPerStep = Math.max(5, Math.ceil(rate / 100));
  /** Drives the target rate for `seconds`; resolves with when it started and ended. */
  const drive = (seconds: number): Promise<{ start: number; end: number }> => new Promise((done) => {
    const start = Date.now();
    const base = trades;
    const step = () => {
      const now = Date.now();
      const elapsed = (now - start) / 1000;
      // Every earlier step's batch has committed by now (the sequencer flushes on setImmediate).
      const perCrossing = committedCrossings === 0 ? 1 : trades / committedCrossings;
      const due = rate * elapsed - (trades - base);
      const n = Math.min(maxPerStep, Math.ceil(due / Math.max(1, perCrossing)));
      for (let i = 0; i < n; i++) {
        const buy = r() < 0.5;
        const quantity = 1 + Math.floor(r() * QTY_MAX);
        const [member, accountId] = taker();
        inFlight++;
        void sequencer.submit({ role: 'member', id: member }, {
          type: 'placeOrder', accountId, symbol: INSTRUMENT, side: buy ? 'buy' : 'sell', orderType: 'limit',
          price: buy ? MID + CROSS_BY : MID - CROSS_BY, quantity, timeInForce: 'IOC',
        }).then(() => { inFlight--; });
        void rest(buy ? 'sell' : 'buy', 1 + Math.floor(r() * LEVELS), quantity);
        crossings++;
      }
      // The last step still sends what is due up to now, so the period ends on the target rate.
      if (elapsed >= seconds) done({ start, end: now });
      else setTimeout(step, 1);
    };
    step();
  });

  /** Resolves once every order sent has committed. */
  const settled = async () => { while (inFlight > 0) await sleep(1); };
  const tradesAtStart = trades;
  clients.start();
  await sleep(20); // the worker counts from here on
  // The warm-up: the same load, delivered and checked for gaps but not timed. Its first half second
  // (code not yet optimized, on both sides) held a run's longest delays, up to 200 ms.
  if (warmup > 0) {
    progress(`warm-up: ${group(rate)} trades/s for ${warmup} s, not timed`);
    await drive(warmup);
  }
  // Every order sent so far committed (a millisecond or two): the trades counted below are exactly
  // those of the orders sent while measuring.
  await settled();
  const tradesBefore = trades;
  const crossingsBefore = crossings;
  const messagesBefore = metrics.wsMessages;
  const droppedBefore = metrics.wsDropped;
  const batchesBefore = batches;
  const commitBefore = commitMs;
  slowestCommitMs = 0;
  const stalls = monitorEventLoopDelay({ resolution: 1 });
  stalls.enable();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const measureFrom = Date.now();
  clients.measure(measureFrom);
  const { start, end: driveEnd } = await drive(duration);
  await settled();
  const driven = trades - tradesBefore;
  const driveSeconds = (driveEnd - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  stalls.disable();

  // ------------------------------------------------------------ drain: every live client gets every trade
  const drainStart = Date.now();
  while (inFlight > 0 && Date.now() - drainStart < 30_000) await sleep(10);
  // Every trade since the clients started counting, the warm-up's included, reaches every live client.
  const expected = trades - tradesAtStart;
  while (Date.now() - drainStart < 30_000) {
    const st = await clients.status(expected);
    if (st.behind === 0) break;
    await sleep(20);
  }
  const drainMs = Date.now() - drainStart;
  const seen = await clients.finish();

  const dropped = clients.count - seen.live;
  const total = seen.tradeMessages;
  const windowS = Math.max(0.001, (seen.lastAt - start) / 1000);
  const result = {
    clients: clients.count,
    tradesPerSec: Math.round(driven / driveSeconds),
    messagesPerSec: Math.round(seen.messages / windowS),
    p50ms: total === 0 ? null : quantileMs(seen.delays, total, 0.5),
    p99ms: total === 0 ? null : quantileMs(seen.delays, total, 0.99),
    maxms: total === 0 ? null : seen.maxDelay,
    dropped,
  };

  console.log(
    `clients ${result.clients}${failed === null ? '' : ` (of ${wanted} asked: ${failed})`}; target ${group(rate)} trades/s, achieved ${group(result.tradesPerSec)} trades/s ` +
    `(${group(driven)} trades from ${group(crossings - crossingsBefore)} crossing orders in ${driveSeconds.toFixed(1)} s; ${group(batches - batchesBefore)} journal commits, ` +
    `${((commitMs - commitBefore) / (driveEnd - start) * 100).toFixed(0)} % of the time in commits, the slowest ${slowestCommitMs.toFixed(1)} ms, ` +
    `${(driven / Math.max(1, batches - batchesBefore)).toFixed(0)} trades per commit)`,
  );
  console.log(
    `delivered ${group(seen.messages)} messages (${group(total)} trade messages, the rest book updates and heartbeats) in ${windowS.toFixed(1)} s: ` +
    `${group(result.messagesPerSec)} messages/s; server sent ${group(metrics.wsMessages - messagesBefore)}; drain after the last order ${group(drainMs)} ms`,
  );
  console.log(
    `trade → client delay: p50 ${result.p50ms} ms  p99 ${result.p99ms} ms  max ${result.maxms} ms  ` +
    `(goal p99 < 50 ms at 10,000 trades/s: ${result.p99ms !== null && result.p99ms < 50 && result.tradesPerSec >= 10_000 ? 'met' : 'missed'})`,
  );
  console.log(
    `dropped clients ${dropped}${dropped === 0 ? '' : ` (close codes ${seen.closeCodes.map(([c, n]) => `${c}×${n}`).join(', ')})`}; ` +
    `live clients still missing trades after the drain ${seen.behind}; server dropped ${metrics.wsDropped - droppedBefore} as too slow; ` +
    `while driving: process cpu ${((cpu.user + cpu.system) / 1000 / (driveEnd - start)).toFixed(2)} cores (all threads), exchange event loop busy ${(elu.utilization * 100).toFixed(0)} %, ` +
    `its longest stall ${(stalls.max / 1e6).toFixed(0)} ms` +
    `${seen.unparsed > 0 ? `; ${seen.unparsed} trade messages needed a full parse` : ''}`,
  );

  await ex.close();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(JSON.stringify(result));
}

(isMainThread ? main() : clientThread()).catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
