// A real exchange for the gateway tests: startExchange on 127.0.0.1 with an OS-chosen port, in a
// fresh temporary data directory (or a given one, for restarts), with fixed API keys: one per demo
// member M1, M2, M3, one risk officer and one operator. `api()` calls it over real HTTP with fetch;
// `openSocket()` connects a real `ws` client that records every message. close() shuts the exchange
// down and removes the data directory; stop() shuts it down and keeps the directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Test } from 'tap';
import WebSocket from 'ws';
import { DEMO_MARKETS_FILE } from '../../engine/setup.ts';
import { startExchange, type Exchange, type ExchangeOptions } from '../../gateway/exchange.ts';
import { hashKey, type KeySpec } from '../../gateway/keys.ts';
import type { CommandBody } from '../../persistence/sequencer.ts';

export const KEYS = {
  M1: 'test-member-M1-key-0001',
  M2: 'test-member-M2-key-0002',
  M3: 'test-member-M3-key-0003',
  risk: 'test-risk-officer-key-0004',
  operator: 'test-operator-key-00005',
} as const;

export const KEY_SPECS: KeySpec[] = [
  { key: KEYS.M1, role: 'member', member: 'M1' },
  { key: KEYS.M2, role: 'member', member: 'M2' },
  { key: KEYS.M3, role: 'member', member: 'M3' },
  // The risk officer is named; the operator is not, and goes by its role and its key's hash.
  { key: KEYS.risk, role: 'risk', name: 'risk-wang' },
  { key: KEYS.operator, role: 'operator' },
];

/** Who the audit trail says acted, for each key above that is not a member's. */
export const WHO = { risk: 'risk:risk-wang', operator: `operator:operator-${hashKey(KEYS.operator).slice(0, 8)}` } as const;

export interface ServerOptions {
  /** Requests per key per second; 0 (the default here) turns the limit off. */
  rateLimit?: number;
  publisher?: ExchangeOptions['publisher'];
  /** WebSocket connections per address (the exchange's default, 100, unless given). */
  wsPerAddress?: number;
  now?: () => number;
  /** An existing data directory (a restart); otherwise a fresh temporary one. */
  dataDir?: string;
}

export interface ApiReply {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: any;
  text: string;
}

export interface CallOptions {
  /** A key of KEYS (by name) or any literal key; null sends no Authorization header. */
  key?: keyof typeof KEYS | string | null;
  /** A value to send as JSON, or a string to send as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestServer {
  exchange: Exchange;
  base: string;
  port: number;
  wsUrl: string;
  dataDir: string;
  api(method: string, path: string, options?: CallOptions): Promise<ApiReply>;
  /** Shuts the exchange down and keeps the data directory. */
  stop(): Promise<void>;
  /** Shuts the exchange down and removes the data directory. */
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cx-gateway-'));
  const exchange = await startExchange({
    dataDir, marketsFile: DEMO_MARKETS_FILE, keys: KEY_SPECS, rateLimit: options.rateLimit ?? 0,
    publisher: options.publisher, wsPerAddress: options.wsPerAddress, now: options.now, snapshotEvery: 0,
  });
  // Every reply a route sends must have its status declared in that route's schema, so that
  // /openapi.json documents it: a reply with an undeclared status fails the test file when the
  // server stops (exit code 1 and the list; throwing there would leave a teardown half done).
  // A refused WebSocket upgrade of another route is the WebSocket door's answer, not the route's.
  const undeclared = new Set<string>();
  exchange.app.addHook('onSend', (req, reply, payload, done) => {
    const declared = req.routeOptions.schema?.response as Record<string, unknown> | undefined;
    if (declared !== undefined && declared[reply.statusCode] === undefined && req.headers.upgrade === undefined) {
      undeclared.add(`${req.method} ${req.routeOptions.url} answered ${reply.statusCode}`);
    }
    done(null, payload);
  });
  let address: string;
  try {
    address = await exchange.listen(0, '127.0.0.1');
  } catch (e) {
    await exchange.close();
    throw e;
  }
  const port = Number(new URL(address).port);
  const base = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await exchange.close();
    if (undeclared.size > 0) {
      process.exitCode = 1;
      console.error(`not ok: replies with a status the route does not declare: ${[...undeclared].join('; ')}`);
    }
  };
  return {
    exchange, base, port, wsUrl: `ws://127.0.0.1:${port}/v1/ws`, dataDir,
    api: (method, path, o = {}) => call(base, method, path, o),
    stop,
    async close() {
      try {
        await stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<ApiReply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.key !== undefined && o.key !== null) {
    const key = (KEYS as Record<string, string>)[o.key] ?? o.key;
    headers.authorization = `Bearer ${key}`;
  }
  let payload: string | undefined;
  if (o.body !== undefined) {
    payload = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body, text };
}

// ---------------------------------------------------------------- WebSocket client

export interface WsMessage { channel?: string; type: string; seq?: number; [k: string]: any }

export interface SocketClient {
  ws: WebSocket;
  messages: WsMessage[];
  send(message: unknown): void;
  /** Resolves with the first message (at index `from` or later) that matches; rejects on close or after `withinMs`. */
  next(match: (m: WsMessage) => boolean, from?: number, withinMs?: number): Promise<WsMessage>;
  /** Messages of one channel, in arrival order. */
  on(channel: string): WsMessage[];
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** A connected `ws` client that records every message it receives. */
export async function openSocket(url: string, options: { onMessage?: (m: WsMessage) => void; autoPong?: boolean } = {}): Promise<SocketClient> {
  const ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
  const messages: WsMessage[] = [];
  const waiters = new Set<() => void>();
  let closeInfo: { code: number; reason: string } | null = null;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() };
      resolve(closeInfo);
      for (const w of waiters) w();
    });
  });
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as WsMessage;
    options.onMessage?.(m);
    messages.push(m);
    for (const w of waiters) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => { /* a close follows */ });
  return {
    ws, messages, closed,
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    on: (channel) => messages.filter((m) => m.channel === channel),
    next(match, from = 0, withinMs = 10_000) {
      return new Promise<WsMessage>((resolve, reject) => {
        const check = () => {
          for (let i = from; i < messages.length; i++) {
            if (match(messages[i])) { done(); resolve(messages[i]); return; }
          }
          if (closeInfo !== null) { done(); reject(new Error(`the socket closed (${closeInfo.code} ${closeInfo.reason}) before the message came`)); }
        };
        // A safety net so that a missing message fails the test instead of hanging it; not a measurement.
        const timer = setTimeout(() => { done(); reject(new Error(`no matching message within ${withinMs} ms; got ${JSON.stringify(messages.slice(from)).slice(0, 2000)}`)); }, withinMs);
        const done = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}

/**
 * A connected client (authenticated first when a member key is given) subscribed to `channels`,
 * once each channel's snapshot is in; closed when the test ends.
 */
export async function subscribedSocket(t: Test, url: string, channels: string[], key?: string): Promise<SocketClient> {
  const c = await openSocket(url);
  t.teardown(() => c.close());
  if (key !== undefined) {
    c.send({ op: 'auth', key });
    await c.next((m) => m.type === 'authenticated');
  }
  c.send({ op: 'subscribe', channels });
  for (const ch of channels) await c.next((m) => m.channel === ch && m.type === 'snapshot');
  return c;
}

/** Checks that every channel's seq rises by exactly 1 from its first message; returns the problems. */
export function seqGaps(messages: readonly WsMessage[]): string[] {
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const m of messages) {
    if (m.channel === undefined || typeof m.seq !== 'number') continue;
    const prev = last.get(m.channel);
    if (prev !== undefined && m.seq !== prev + 1) problems.push(`${m.channel}: seq ${prev} then ${m.seq} (${m.type})`);
    last.set(m.channel, m.seq);
  }
  return problems;
}

/** A decimal string with two decimals, as API.md writes prices and money. */
export const DECIMAL = /^-?\d+\.\d{2}$/;

/** An ISO 8601 time in China Standard Time, as API.md writes times. */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?\+08:00$/;

/** Keys whose values API.md makes prices or money: decimal strings with two decimals (or null). */
const MONEY_KEYS = new Set([
  'price', 'avgPrice', 'prevClose', 'open', 'high', 'low', 'last', 'close', 'vwap', 'bandLow', 'bandHigh', 'amount', 'fee',
  'buyFee', 'sellFee', 'tick', 'listedTurnover', 'blockTurnover', 'auctionTurnover', 'turnover', 'cumulativeTurnover',
  'referencePrice', 'listingPrice',
]);

/**
 * Problems with API.md's conventions anywhere in a JSON reply: a money key that is not a decimal
 * string (or null), a `time` that is not ISO 8601 with +08:00. Returns the paths that break them.
 */
export function conventionProblems(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => conventionProblems(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const at = `${path}.${k}`;
    if (MONEY_KEYS.has(k) && v !== null && !(typeof v === 'string' && DECIMAL.test(v))) out.push(`${at} = ${JSON.stringify(v)} is not a decimal string`);
    else if (k === 'time' && !(typeof v === 'string' && ISO_TIME.test(v))) out.push(`${at} = ${JSON.stringify(v)} is not an ISO time with +08:00`);
    else out.push(...conventionProblems(v, at));
  }
  return out;
}

/** The error body of API.md: exactly {"error": {"code", "message"}} with a non-empty message. */
export function isApiError(body: unknown): body is { error: { code: string; message: string } } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error') return false;
  const e = (body as { error: unknown }).error;
  return e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string'
    && typeof (e as { message?: unknown }).message === 'string' && (e as { message: string }).message.length > 0;
}

/** Asserts an API.md error reply: the status, the body shape, the code and (optionally) the message. */
export function expectError(t: Test, r: ApiReply, status: number | number[], code: string | string[], message?: RegExp, what = ''): void {
  const statuses = Array.isArray(status) ? status : [status];
  const codes = Array.isArray(code) ? code : [code];
  const label = what === '' ? '' : `${what}: `;
  const statusOk = statuses.includes(r.status);
  t.ok(statusOk, `${label}status ${statuses.join(' or ')}${statusOk ? '' : `, got ${r.status} ${r.text.slice(0, 300)}`}`);
  t.ok(isApiError(r.body), `${label}the body is {"error": {"code", "message"}}${isApiError(r.body) ? '' : `, got ${r.text.slice(0, 200)}`}`);
  if (!isApiError(r.body)) return;
  const codeOk = codes.includes(r.body.error.code);
  t.ok(codeOk, `${label}code ${codes.join(' or ')}${codeOk ? '' : `, got ${r.body.error.code}: ${r.body.error.message}`}`);
  if (message !== undefined) t.match(r.body.error.message, message, `${label}the message says what is allowed`);
}

/** Asserts a successful reply: the status and API.md's conventions for money and times. */
export function expectOk(t: Test, r: ApiReply, status = 200, what = ''): void {
  const label = what === '' ? '' : `${what}: `;
  t.equal(r.status, status, `${label}status ${status}${r.status === status ? '' : ` (${r.text.slice(0, 300)})`}`);
  t.same(conventionProblems(r.body), [], `${label}prices are decimal strings and times ISO 8601 with +08:00`);
}

export type BookLevel = [string, number, number];

/** The book a client holds: the last snapshot on `channel` with every update after it applied (0 removes a level). */
export function localBook(messages: readonly WsMessage[], channel = 'book:CEA24'): { bids: BookLevel[]; asks: BookLevel[] } {
  const sides = { bids: new Map<string, BookLevel>(), asks: new Map<string, BookLevel>() };
  for (const m of messages) {
    if (m.channel !== channel) continue;
    if (m.type === 'snapshot') { sides.bids.clear(); sides.asks.clear(); }
    for (const side of ['bids', 'asks'] as const) {
      for (const level of (m[side] ?? []) as BookLevel[]) {
        if (Number(level[1]) === 0) sides[side].delete(level[0]);
        else sides[side].set(level[0], level);
      }
    }
  }
  const sorted = (side: Map<string, BookLevel>, desc: boolean) => [...side.values()].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0])));
  return { bids: sorted(sides.bids, true), asks: sorted(sides.asks, false) };
}

/** A request written as raw text on a TCP socket (`head`: the request line and headers), and what came back within `ms`. */
export function rawRequest(port: number, head: string, ms = 2000): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${head}\r\n\r\n`));
    let text = '';
    const done = () => {
      socket.destroy();
      const [headers, body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(headers.split(' ')[1]), headers, body });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { text += chunk; });
    socket.on('end', done);
    socket.on('error', reject);
    setTimeout(done, ms);
  });
}

/**
 * M1's resting sells of one tonne on CEA24 (M1-C1), 58.00–62.99, which never cross each other:
 * `n` open orders entered through the sequencer in bursts of 2,000, as the routes would.
 */
export async function restingSells(s: TestServer, n: number): Promise<void> {
  const { sequencer } = s.exchange.gateway;
  for (let from = 0; from < n; from += 2000) {
    const burst = [];
    for (let i = from; i < Math.min(n, from + 2000); i++) {
      burst.push(sequencer.submit({ role: 'member', id: 'M1' }, {
        type: 'placeOrder', accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', orderType: 'limit', price: 5800 + (i % 500), quantity: 1, timeInForce: 'DAY', targetOrderId: null, clientOrderId: null,
      } as CommandBody));
    }
    for (const r of await Promise.all(burst)) if (!r.ok) throw new Error(`a sell was refused: ${JSON.stringify(r)}`);
  }
}

/** Takes the journal's write lock (a second connection to the real journal file): every commit waits until the returned function lets go. */
export function holdCommits(dataDir: string): () => void {
  const db = new Database(join(dataDir, 'journal.sqlite'));
  db.exec('BEGIN IMMEDIATE');
  return () => {
    db.exec('ROLLBACK');
    db.close();
  };
}

/**
 * Sends a request and resolves once the server's engine has applied it, with the request's answer
 * still to come (wrapped: an async function would otherwise wait for it).
 */
export async function sendApplied(s: TestServer, send: () => Promise<ApiReply>): Promise<{ reply: Promise<ApiReply> }> {
  const engine = s.exchange.gateway.engine;
  const before = engine.lastSequence;
  const reply = send();
  while (engine.lastSequence === before) await new Promise((r) => setTimeout(r, 1));
  return { reply };
}
