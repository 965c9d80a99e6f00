// What every route of the gateway shares: the request context, the JSON schema pieces, the error
// reply of API.md, and the views that turn engine integers into decimal strings and ISO times.
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  MAX_ORDER_QUANTITY,
  dateOfDay, divideHalfUp, formatMoney, httpStatusOf, idText, isoTime, TEXT_LIMITS, type CommandBody, type Engine, type OrderEvent, type Result, type Role,
} from '../engine/index.ts';
import type { Journal } from '../persistence/journal.ts';
import type { Sequencer } from '../persistence/sequencer.ts';
import type { Settlements } from '../persistence/settlementThread.ts';
import type { Fill, History } from './history.ts';
import type { PastDayQuery, PastDays } from './pastDays.ts';
import type { KeyRing, Principal } from './keys.ts';
import type { Metrics } from './metrics.ts';
import { pass } from './arrivalOrder.ts';

export interface Gateway {
  engine: Engine;
  sequencer: Sequencer;
  journal: Journal;
  settlement: Settlements;
  history: History;
  /** A closed day's orders and fills, read on a thread of their own. */
  pastDays: PastDays;
  keys: KeyRing;
  metrics: Metrics;
  /** Serves requests: from the end of the start until the shutdown begins. */
  ready: () => boolean;
  /** Serves requests but asks for no more: /readyz 503 before a shutdown (`--drain-ms`). */
  draining: () => boolean;
}

declare module 'fastify' {
  interface FastifyRequest { principal: Principal | null }
  interface FastifyContextConfig {
    /** The role whose keys may call the route, or the roles. */
    role?: Role | readonly Role[];
    /** A probe (/healthz, /readyz, /metrics) or the API document: answered while shutting down too. */
    probe?: boolean;
  }
}

export const PRICE = { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$', maxLength: 13, description: 'CNY per tonne, two decimals at most' } as const;
export const QUANTITY = { type: 'integer', minimum: 1, maximum: MAX_ORDER_QUANTITY, description: 'whole tonnes' } as const;
export const SYMBOL = { type: 'string', pattern: '^[A-Z][A-Z0-9-]{1,15}$' } as const;
export const ACCOUNT = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$' } as const;
/** A member's id: the same characters as an account's, its pattern spelt apart so that a refusal words it as a member's (PATTERN_WORDS). */
export const MEMBER = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$' } as const;
export const ID = { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } as const;
/** Pages a member's list by id (`?after=&limit=`, beyond API.md, which lists everything). */
export const PAGE_QUERY = {
  after: { ...ID, description: 'only those whose id (orderId, tradeId, blockId) comes after this one: the last id of the page before' },
  limit: { type: 'integer', minimum: 1, maximum: 10_000, description: 'at most this many (a trade\'s two fills are never split: one more may come); a shorter page is the last' },
} as const;
export interface PageQuery { after?: string; limit?: number }

/**
 * A page of a list in ascending id order: the items whose id is above `after`, at most `limit` of
 * them, and the rest of those sharing the last one's id (a member's two fills of one trade).
 */
export function page<T>(items: readonly T[], idOf: (x: T) => number, q: PageQuery): T[] {
  const after = q.after === undefined ? 0 : Number(q.after);
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (idOf(items[mid]) <= after) lo = mid + 1;
    else hi = mid;
  }
  if (q.limit === undefined) return items.slice(lo);
  let end = Math.min(items.length, lo + q.limit);
  while (end < items.length && end > lo && idOf(items[end]) === idOf(items[end - 1])) end++;
  return items.slice(lo, end);
}

/**
 * A free text (a reason, a warning, a report, a name): any characters but the control ones (C0, DEL
 * and C1; tabs and line breaks excepted) and the bidirectional embeddings, overrides and isolates,
 * which make a text read otherwise than it is; and only whole characters (a lone surrogate is not
 * one, and strict JSON decoders refuse a whole reply for it).
 */
export const TEXT_PATTERN = '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]*$';
/** A free text of 1–`max` characters (counted by code point, as the engine counts them). */
export const freeText = (max: number, description?: string) =>
  ({ type: 'string', minLength: 1, maxLength: max, pattern: TEXT_PATTERN, ...(description === undefined ? {} : { description }) }) as const;
export const REASON = freeText(TEXT_LIMITS.reason);
export const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', format: 'date' } as const;
export const PERCENT = { type: 'string', pattern: '^(0|[1-9][0-9]{0,2})(\\.[0-9]{1,6})?$', maxLength: 10 } as const;
export const MONEY = { type: 'string', pattern: '^(0|[1-9][0-9]{0,13})(\\.[0-9]{1,2})?$', maxLength: 17 } as const;
/** Where an audit read starts: after a sequence number, or from a time (an ISO 8601 time with its offset, or a date). */
export const SINCE = {
  type: 'string', maxLength: 40,
  pattern: '^(0|[1-9][0-9]{0,14}|\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?(Z|[+-]\\d{2}:\\d{2}))?)$',
  description: 'a sequence number (the entries after it), or a time (the entries stamped at or after it): ISO 8601 with an offset, or a date (its midnight at +08:00)',
} as const;
export const CLIENT_ORDER_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' } as const;

/** What each pattern above asks for, in words: a refusal says this rather than the expression. */
export const PATTERN_WORDS = new Map<string, string>([
  [PRICE.pattern, 'a price in CNY as a string, two decimals at most, such as "57.46"'],
  [MONEY.pattern, 'an amount in CNY as a string, two decimals at most, such as "1000.00"'],
  [SYMBOL.pattern, 'a symbol of 2–16 capital letters, digits and dashes starting with a letter, such as "CEA24"'],
  [ACCOUNT.pattern, 'an account id of 1–32 letters, digits, "_", "." and "-", such as "M1-C1"'],
  [MEMBER.pattern, 'a member id of 1–32 letters, digits, "_", "." and "-", such as "M1"'],
  [ID.pattern, 'a positive whole number as a string, such as "42"'],
  [DATE.pattern, 'a calendar date, YYYY-MM-DD'],
  [PERCENT.pattern, 'a percentage as a string of up to three whole digits and six decimals, such as "10"'],
  [CLIENT_ORDER_ID.pattern, '1–64 printable ASCII characters, no spaces'],
  [TEXT_PATTERN, 'a string of whole characters without control characters or direction overrides (tabs and line breaks are taken)'],
  [SINCE.pattern, 'a sequence number, or a time such as "2026-11-20T09:30:00+08:00" (in a URL, "+" is written "%2B") or a date such as "2026-11-20"'],
]);

export const ERROR_REPLY = {
  type: 'object',
  properties: {
    error: {
      type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'], additionalProperties: false,
    },
  },
  required: ['error'],
  additionalProperties: false,
} as const;

// ---------------------------------------------------------------- reply schemas
// Every route declares a schema for each reply it sends, errors included: they make up the replies
// in /openapi.json, and Fastify serialises with them (fast-json-stringify). That serialiser drops
// a property its schema does not list and converts a value to the declared type (null to "" or 0,
// a nullable object to {}), so each schema lists every property its view returns, in the order the
// view returns them (the serialiser writes them in schema order), and every nullable value as
// ['…', 'null']. Properties are not `required`: the serialiser would turn a missing one into a 500.

/** Prices and money in replies: decimal strings with two decimals. */
export const MONEY_TEXT = { type: 'string', description: 'CNY, a decimal string with two decimals' } as const;
export const MONEY_TEXT_OR_NULL = { type: ['string', 'null'], description: 'CNY, a decimal string with two decimals; null when there is none' } as const;
export const TONNES = { type: 'integer', description: 'whole tonnes' } as const;
export const TONNES_OR_NULL = { type: ['integer', 'null'], description: 'whole tonnes; null when there is none' } as const;
export const ID_TEXT = { type: 'string', description: 'an id, as a decimal string' } as const;
export const ID_TEXT_OR_NULL = { type: ['string', 'null'], description: 'an id, as a decimal string; null when there is none' } as const;
export const TIME = { type: 'string', format: 'date-time', description: 'ISO 8601 with +08:00' } as const;
export const DAY = { type: 'string', format: 'date', description: 'a trading day, YYYY-MM-DD' } as const;
export const DAY_OR_NULL = { type: ['string', 'null'], format: 'date', description: 'a trading day, YYYY-MM-DD; null when there is none' } as const;
export const TEXT = { type: 'string' } as const;
export const TEXT_OR_NULL = { type: ['string', 'null'] } as const;
export const SIDE = { type: 'string', enum: ['buy', 'sell'] } as const;

/** What each error status means (API.md "Errors"), for the replies in the OpenAPI document. */
const ERROR_MEANINGS: Record<number, string> = {
  400: 'malformed: the path, query or body does not match the schema, or the engine found a field invalid',
  401: 'no API key, or not a key of this exchange',
  403: 'the key\'s role may not use this route, or the account is not the caller\'s (or not admitted to the venue)',
  404: 'no such instrument, account, order, block trade or settlement day',
  406: 'the Accept header accepts neither of the forms the route answers in',
  409: 'a state conflict: the order or block trade is no longer open, the id is taken, the day is closed…',
  413: 'the request body is larger than the exchange accepts',
  415: 'the request body is not JSON',
  422: 'a business rule refused it (price band, funds, holdings, position cap, restriction…)',
  429: 'too many requests for the key (or the address) this second',
  500: 'the exchange could not process the request',
  503: 'the instrument or the market is halted, or the session is closed',
};

/** What every API route may also answer with 503 (added to each by the server's onRoute hook). */
export const UNAVAILABLE = 'the exchange is recovering its journal (RECOVERING) or shutting down (SHUTTING_DOWN): retry after Retry-After seconds';

/** The error replies of a route: the shared error body under each status the route can send. */
export function errorReplies(...statuses: number[]): Record<number, typeof ERROR_REPLY & { description: string }> {
  const out: Record<number, typeof ERROR_REPLY & { description: string }> = {};
  for (const status of statuses) out[status] = { ...ERROR_REPLY, description: ERROR_MEANINGS[status] ?? 'refused' };
  return out;
}

export const params = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
export const body = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required, additionalProperties: false });

/** The reasons that name a control on an account (a restriction, a cancel-all, a lowered cap, a venue taken away). */
const RISK_REASONS = new Set(['account_restricted', 'cancelled_by_risk', 'position_cap', 'venue_not_admitted']);

/**
 * A reason as a reader may see it: one naming a risk control reads `cancelled_by_exchange` unless
 * the reader is the controlled account's member (or a risk officer or an operator), so that nobody
 * learns of another member's controls.
 */
export function shownReason(reason: string | null, toController: boolean): string | null {
  return toController || reason === null || !RISK_REASONS.has(reason) ? reason : 'cancelled_by_exchange';
}

/** Whether an account is one of the member's. */
export const ownedBy = (g: Gateway, member: string) => (accountId: string): boolean => g.engine.account(accountId)?.member === member;

/** The message of UNKNOWN_INSTRUMENT for a symbol that is not listed. */
export const noSuchInstrument = (symbol: string) => `no instrument ${JSON.stringify(symbol)} is listed`;

/**
 * A closed day's read, answered with the JSON the past days' thread made: 404 UNKNOWN_DAY when
 * `date` is not a closed trading day, 404 UNKNOWN_AUCTION when the day had no auction `auctionId`.
 */
export async function sendPastDay(g: Gateway, reply: FastifyReply, q: PastDayQuery) {
  const past = await g.pastDays.read(q);
  if (past === null) return fail(reply, 404, 'UNKNOWN_DAY', `${q.date} is neither today (${g.engine.tradingDate}) nor a closed trading day`);
  if (!past.found) return fail(reply, 404, 'UNKNOWN_AUCTION', `there was no auction ${q.auctionId} on ${q.date}`);
  return reply.type('application/json; charset=utf-8').send(past.json);
}

/**
 * The error body of API.md, counted in /metrics: every one in exchange_http_errors_total, and the
 * refusal of a command submitted (its answer carries x-exchange-seq) in exchange_rejects_total.
 */
export function fail(reply: FastifyReply, status: number, code: string, message: string) {
  // Refusals of who the caller is or what it may do are what a security review reads the log for:
  // said at warn, with the principal the key belongs to (never the key).
  if (status === 401 || status === 403) {
    const p = reply.request.principal;
    reply.request.log.warn({ principal: p == null ? null : `${p.role}:${p.id}`, code, refusal: message }, `refused ${status} ${code}`);
  }
  const metrics = (reply.server as { metrics?: Metrics }).metrics;
  if (metrics !== undefined) {
    metrics.onHttpError(status, code);
    if (reply.hasHeader('x-exchange-seq')) metrics.onReject(code);
  }
  return reply.code(status).send({ error: { code, message } });
}

/** 404 UNKNOWN_INSTRUMENT for a symbol that is not listed. */
export function unknownInstrument(reply: FastifyReply, symbol: string) {
  return fail(reply, 404, 'UNKNOWN_INSTRUMENT', noSuchInstrument(symbol));
}

/** Whether a symbol (a path parameter, or a filter that may be left out) names no listed instrument. */
export function unlisted(g: Gateway, symbol: string | undefined): symbol is string {
  return symbol !== undefined && g.engine.instrument(symbol) === undefined;
}

/** The engine's refusal as an HTTP error, with the status its code carries. */
export function refuse(reply: FastifyReply, r: Result & { ok: false }) {
  return fail(reply, httpStatusOf(r.code), r.code, r.message);
}

/** The authenticated principal of a route that declared a role (the auth hook has checked it). */
export function principal(req: FastifyRequest): Principal {
  return req.principal as Principal;
}

/** Submits a command as the caller; the reply carries the sequence number the journal holds it under. */
export function submit(g: Gateway, req: FastifyRequest, reply: FastifyReply, command: CommandBody): Promise<Result> {
  const p = principal(req);
  const outcome = g.sequencer.submit({ role: p.role, id: p.role === 'member' ? (p.member as string) : p.id }, command);
  pass(req); // the next request on its connection may act now: its command comes after this one
  // The command was stamped and applied synchronously: its sequence number is the engine's last.
  reply.header('x-exchange-seq', String(g.engine.lastSequence));
  return outcome;
}

/**
 * Submits a command that may repeat a clientOrderId. A repeat is answered with the first request's
 * object as it stands once everything applied is committed; `closedDay` names the day it was
 * answered on when an end of day applied after it has closed that day by then (the object is then
 * the closed day's: see pastObject), else null.
 */
export async function submitRequest(g: Gateway, req: FastifyRequest, reply: FastifyReply, command: CommandBody): Promise<{ r: Result; closedDay: string | null }> {
  const outcome = submit(g, req, reply, command);
  const day = g.engine.tradingDay; // applied just now, on this day (a number: no date text on the order path)
  const r = await outcome;
  if (!r.ok || r.duplicate !== true) return { r, closedDay: null };
  await g.sequencer.committed();
  return { r, closedDay: g.engine.tradingDay === day ? null : dateOfDay(day) };
}

/**
 * One object of a closed day as its `?date=` read shows it: the one with id `id` among those the
 * query gives (read as a page of one after id − 1), or undefined.
 */
export async function pastObject(g: Gateway, q: PastDayQuery, idField: string, id: number): Promise<Record<string, unknown> | undefined> {
  const past = await g.pastDays.read(q.auctionId !== undefined && q.what === 'auctions' ? q : { ...q, after: String(id - 1), limit: 1 });
  if (past === null || !past.found) return undefined;
  const value = JSON.parse(past.json) as Record<string, unknown> | Record<string, unknown>[];
  const first = Array.isArray(value) ? value[0] : value;
  return first !== undefined && first[idField] === String(id) ? first : undefined;
}

export const money = (fen: number | null): string | null => (fen === null ? null : formatMoney(fen));

/** An order as API.md shows it. */
export function orderView(o: OrderEvent) {
  return {
    orderId: String(o.orderId), clientOrderId: o.clientOrderId, accountId: o.accountId, symbol: o.symbol, side: o.side,
    type: o.orderType, timeInForce: o.timeInForce, price: o.price === null ? null : formatMoney(o.price),
    quantity: o.quantity, filledQuantity: o.filled,
    remainingQuantity: o.status === 'new' || o.status === 'partially_filled' ? o.quantity - o.filled : 0,
    avgPrice: o.filled === 0 ? null : formatMoney(divideHalfUp(o.filledNotional, o.filled)), status: o.status,
    reason: o.reason, time: isoTime(o.time),
  };
}

/** The reply schema of orderView. */
export const ORDER_VIEW = {
  type: 'object',
  description: 'an order',
  properties: {
    orderId: ID_TEXT, clientOrderId: TEXT_OR_NULL, accountId: TEXT, symbol: TEXT, side: SIDE,
    type: { type: 'string', enum: ['limit', 'market', 'pick'] }, timeInForce: { type: 'string', enum: ['DAY', 'IOC', 'FOK'] }, price: MONEY_TEXT_OR_NULL,
    quantity: TONNES, filledQuantity: TONNES, remainingQuantity: TONNES, avgPrice: MONEY_TEXT_OR_NULL,
    status: { type: 'string', enum: ['new', 'partially_filled', 'filled', 'cancelled', 'expired', 'rejected'] },
    reason: { type: ['string', 'null'], description: 'why the exchange ended or changed it: self_trade_prevented, fok_not_filled, ioc_remainder, …' },
    time: TIME,
  },
  additionalProperties: false,
} as const;

export function fillView(f: Fill) {
  return {
    tradeId: String(f.tradeId), orderId: idText(f.orderId), blockId: idText(f.blockId),
    accountId: f.accountId, symbol: f.symbol, side: f.side, mode: f.mode, price: formatMoney(f.price), quantity: f.quantity,
    amount: formatMoney(f.price * f.quantity), fee: formatMoney(f.fee), time: isoTime(f.time), auctionId: idText(f.auctionId), bidId: idText(f.bidId),
  };
}

/** The reply schema of fillView. */
export const FILL_VIEW = {
  type: 'object',
  description: 'one side of a trade, with its fee',
  properties: {
    tradeId: ID_TEXT, orderId: ID_TEXT_OR_NULL, blockId: ID_TEXT_OR_NULL, accountId: TEXT, symbol: TEXT, side: SIDE,
    mode: { type: 'string', enum: ['listed', 'block', 'auction'] }, price: MONEY_TEXT, quantity: TONNES, amount: MONEY_TEXT, fee: MONEY_TEXT, time: TIME,
    auctionId: { ...ID_TEXT_OR_NULL, description: 'an auction trade\'s auction; null for a listed or block trade' },
    bidId: { ...ID_TEXT_OR_NULL, description: 'the caller\'s bid an auction trade filled; null on the initiator\'s side and for a listed or block trade' },
  },
  additionalProperties: false,
} as const;

/**
 * The caller's accounts, or just the one it named; null when it named another member's (403 sent)
 * or one that does not exist (404), as for every route that names an account. A risk officer or an
 * operator reads any account, and names it.
 */
export function accountsFor(g: Gateway, req: FastifyRequest, reply: FastifyReply, accountId: string | undefined): readonly string[] | null {
  const p = principal(req);
  if (p.role !== 'member') {
    const id = anyAccount(g, reply, accountId);
    return id === null ? null : [id];
  }
  const mine = g.engine.accountsOfMember(p.member as string);
  if (accountId === undefined) return mine;
  if (mine.includes(accountId)) return [accountId];
  notYours(g, reply, accountId, mine);
  return null;
}

/** The account a risk officer or an operator names: it must name one, and one that exists. */
export function anyAccount(g: Gateway, reply: FastifyReply, accountId: string | undefined): string | null {
  if (accountId === undefined) fail(reply, 400, 'ACCOUNT_REQUIRED', 'name accountId: the account to read');
  else if (g.engine.account(accountId) === undefined) fail(reply, 404, 'UNKNOWN_ACCOUNT', `no account ${accountId}`);
  else return accountId;
  return null;
}

/** 404 UNKNOWN_ACCOUNT for an account that does not exist, 403 ACCOUNT_NOT_OWNED for another member's. */
export function notYours(g: Gateway, reply: FastifyReply, accountId: string, mine: readonly string[]) {
  const known = g.engine.account(accountId) !== undefined;
  const yours = mine.join(', ') || 'none';
  return known ? fail(reply, 403, 'ACCOUNT_NOT_OWNED', `account ${accountId} is not one of yours (${yours})`)
    : fail(reply, 404, 'UNKNOWN_ACCOUNT', `there is no account ${accountId} (yours: ${yours})`);
}

/**
 * The first property named twice in one object of valid JSON text (as JSON.parse reads the name),
 * or null when none is: JSON.parse keeps the last of them without a word, and a client (or a proxy
 * in front of the exchange) may have meant the first. `parsed` is JSON.parse's reading of the text:
 * when it holds as many properties as the text names, no name repeats, and nothing more is looked
 * at (one pass over the characters, which is all a well-formed body costs).
 */
export function repeatedKey(text: string, parsed: unknown): string | null {
  if (countKeys(parsed) === keysNamed(text)) return null;
  // Which one: each open object's names so far (null for an array).
  const names: (Set<string> | null)[] = [];
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b) names.push(new Set());
    else if (c === 0x5b) names.push(null);
    else if (c === 0x7d || c === 0x5d) names.pop();
    else if (c === 0x22) {
      const end = stringEnd(text, i);
      if (isKey(text, end)) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const seen = names[names.length - 1] as Set<string>;
        if (seen.has(name)) return name;
        seen.add(name);
      }
      i = end;
    }
  }
  return null;
}

/**
 * What is wrong with JSON text (`what`: the body, the message) that names a property twice in one
 * object, or null. The name is quoted when it reads as one (a key pasted as a name is not written back).
 */
export function repeatedKeyFault(text: string, parsed: unknown, what: string): string | null {
  const twice = repeatedKey(text, parsed);
  if (twice === null) return null;
  const property = /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(twice) ? `the property ${twice}` : 'a property';
  return `${what} names ${property} more than once in one object: name each property once`;
}

/** The index of the closing quote of the JSON string opening at `from`. */
function stringEnd(text: string, from: number): number {
  let i = from + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i;
    i += c === 0x5c ? 2 : 1;
  }
}

/** Whether the string closing at `end` is a property's name: a colon follows it, after blanks. */
function isKey(text: string, end: number): boolean {
  let j = end + 1;
  for (;;) {
    const d = text.charCodeAt(j);
    if (d !== 0x20 && d !== 0x09 && d !== 0x0a && d !== 0x0d) return d === 0x3a;
    j++;
  }
}

/** How many property names valid JSON text writes. */
function keysNamed(text: string): number {
  let keys = 0;
  for (let i = 0, n = text.length; i < n; i++) {
    if (text.charCodeAt(i) !== 0x22) continue;
    i = stringEnd(text, i);
    if (isKey(text, i)) keys++;
  }
  return keys;
}

/** How many properties a parsed JSON value holds, nested ones included (without recursion: a body may nest deep). */
function countKeys(value: unknown): number {
  let keys = 0;
  const todo: unknown[] = [value];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') todo.push(x);
      continue;
    }
    for (const k in v) {
      keys++;
      const x = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') todo.push(x);
    }
  }
  return keys;
}

/**
 * Where JSON text first goes wrong: the index of the first character that cannot continue it (the
 * text's length when it ends too soon), or -1 when it is valid JSON (RFC 8259, as JSON.parse reads
 * it). Node 20's parser names the position of some mistakes only, and quotes the text around it,
 * which may be a key: a refusal says where by this instead. Iterative, so that deep nesting is
 * scanned as far as the parser would go without a stack of calls.
 */
export function jsonErrorAt(text: string): number {
  const n = text.length;
  let i = 0;
  const blanks = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  const digits = (): number => {
    const from = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i - from;
  };
  /** Scans a string from its opening quote; false at the character that cannot be in it. */
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return true; }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          for (let k = 2; k < 6; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) { i += k; return false; }
          }
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else { i++; return false; }
      } else i++;
    }
    return false;
  };
  /** Scans a scalar value (string, number, literal); false where it breaks. */
  const scalar = (): boolean => {
    const c = text[i];
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (text[i] === '0') i++;
      else if (digits() === 0) return false;
      if (text[i] === '.') { i++; if (digits() === 0) return false; }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (digits() === 0) return false;
      }
      return true;
    }
    for (const word of ['true', 'false', 'null']) {
      if (c === word[0]) {
        for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) return false;
        return true;
      }
    }
    return false;
  };
  /** Scans an object's key and its colon, from the key's opening quote; false where they break. */
  const key = (): boolean => {
    if (text[i] !== '"' || !string()) return false;
    blanks();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  const open: ('[' | '{')[] = [];
  let wantValue = true;
  for (;;) {
    blanks();
    // A whole value and nothing after it but blanks: valid.
    if (!wantValue && open.length === 0) return i >= n ? -1 : i;
    if (i >= n) return n;
    if (wantValue) {
      const c = text[i];
      if (c === '[' || c === '{') {
        open.push(c);
        i++;
        blanks();
        if (text[i] === (c === '[' ? ']' : '}')) { open.pop(); i++; wantValue = false; continue; }
        if (c === '{' && !key()) return Math.min(i, n);
        continue;
      }
      if (!scalar()) return Math.min(i, n);
      wantValue = false;
      continue;
    }
    // After a value: the end, a comma, or the container's close.
    const top = open[open.length - 1];
    const c = text[i];
    if (c === (top === '[' ? ']' : '}')) { open.pop(); i++; continue; }
    if (c !== ',') return i;
    i++;
    if (top === '{') {
      blanks();
      if (!key()) return Math.min(i, n);
    }
    wantValue = true;
  }
}
