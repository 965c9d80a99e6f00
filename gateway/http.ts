// What every route of the gateway shares: the request context, the JSON schema pieces, the error
// reply of API.md, and the views that turn engine integers into decimal strings and ISO times.
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  formatMoney, httpStatusOf, isoTime, type CommandBody, type Engine, type OrderEvent, type Result, type Role,
} from '../engine/index.ts';
import type { Journal } from '../persistence/journal.ts';
import type { Sequencer } from '../persistence/sequencer.ts';
import type { SettlementWriter } from '../persistence/settlementWriter.ts';
import type { Fill, History } from './history.ts';
import type { KeyRing, Principal } from './keys.ts';
import type { Metrics } from './metrics.ts';

export interface Gateway {
  engine: Engine;
  sequencer: Sequencer;
  journal: Journal;
  settlement: SettlementWriter;
  history: History;
  keys: KeyRing;
  metrics: Metrics;
  ready: () => boolean;
}

declare module 'fastify' {
  interface FastifyRequest { principal: Principal | null }
  interface FastifyContextConfig { role?: Role }
}

export const PRICE = { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$', maxLength: 13, description: 'CNY per tonne, two decimals at most' } as const;
export const QUANTITY = { type: 'integer', minimum: 1, maximum: 1_000_000_000, description: 'whole tonnes' } as const;
export const SYMBOL = { type: 'string', pattern: '^[A-Z][A-Z0-9-]{1,15}$' } as const;
export const ACCOUNT = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$' } as const;
export const ID = { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } as const;
export const REASON = { type: 'string', minLength: 1, maxLength: 500 } as const;
export const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
export const PERCENT = { type: 'string', pattern: '^(0|[1-9][0-9]{0,2})(\\.[0-9]{1,6})?$', maxLength: 10 } as const;
export const ERROR_REPLY = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
} as const;

export const params = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
export const body = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required, additionalProperties: false });

/** The error body of API.md. */
export function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
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
  // The command was stamped and applied synchronously: its sequence number is the engine's last.
  reply.header('x-exchange-seq', String(g.engine.lastSequence));
  return outcome;
}

export const money = (fen: number | null): string | null => (fen === null ? null : formatMoney(fen));

/** An order as API.md shows it. */
export function orderView(o: OrderEvent) {
  return {
    orderId: String(o.orderId), clientOrderId: o.clientOrderId, accountId: o.accountId, symbol: o.symbol, side: o.side,
    type: o.orderType, timeInForce: o.timeInForce, price: o.price === null ? null : formatMoney(o.price),
    quantity: o.quantity, filledQuantity: o.filled,
    remainingQuantity: o.status === 'new' || o.status === 'partially_filled' ? o.quantity - o.filled : 0,
    avgPrice: o.filled === 0 ? null : formatMoney(Math.round(o.filledNotional / o.filled)), status: o.status,
    reason: o.reason, time: isoTime(o.time),
  };
}

export function fillView(f: Fill) {
  return {
    tradeId: String(f.tradeId), orderId: f.orderId === null ? null : String(f.orderId), blockId: f.blockId === null ? null : String(f.blockId),
    accountId: f.accountId, symbol: f.symbol, side: f.side, mode: f.mode, price: formatMoney(f.price), quantity: f.quantity,
    amount: formatMoney(f.price * f.quantity), fee: formatMoney(f.fee), time: isoTime(f.time),
  };
}

/** The caller's accounts, or just the one it named; null (403 sent) when it named another member's. */
export function accountsFor(g: Gateway, req: FastifyRequest, reply: FastifyReply, accountId: string | undefined): readonly string[] | null {
  const mine = g.engine.accountsOfMember(principal(req).member as string);
  if (accountId === undefined) return mine;
  if (mine.includes(accountId)) return [accountId];
  fail(reply, 403, 'ACCOUNT_NOT_OWNED', `account ${accountId} is not one of yours`);
  return null;
}
