// Helpers for the trading-day tests (test/day/): block trade verbs on top of the engine Harness,
// read-outs of both sides of a trade, and the plain arithmetic the tests use to compute expected
// figures by hand (fees half-up to the fen, averages and changes half-up).
// Nothing here calls engine code to produce an expected value.
import type { EngineEvent, Result } from '../../engine/index.ts';
import { fen, memberOf, type Harness } from './harness.ts';

// ---------------------------------------------------------------- block verbs

const memberOfAccount = (h: Harness, accountId: string): string => h.engine.account(accountId)?.member ?? memberOf(accountId);

/** A block proposal from `accountId` (to `to`, or open to every admitted account when `to` is left out). */
export function propose(
  h: Harness, accountId: string,
  f: { symbol?: string; side: 'buy' | 'sell'; price: string; quantity: number; to?: string | null },
): Result {
  return h.member(memberOfAccount(h, accountId), {
    type: 'proposeBlock', accountId, symbol: f.symbol ?? 'CEA24', side: f.side, price: fen(f.price), quantity: f.quantity,
    counterpartyAccountId: f.to ?? null,
  });
}

/** New terms from `accountId` (its member acts; the account is named so that open proposals work too). */
export function counter(h: Harness, accountId: string, blockId: number, price: string, quantity: number): Result {
  return h.member(memberOfAccount(h, accountId), { type: 'counterBlock', blockId, accountId, price: fen(price), quantity });
}

export function accept(h: Harness, accountId: string, blockId: number): Result {
  return h.member(memberOfAccount(h, accountId), { type: 'acceptBlock', blockId, accountId });
}

/** Accept as a member without naming an account. */
export function acceptAsMember(h: Harness, member: string, blockId: number): Result {
  return h.member(member, { type: 'acceptBlock', blockId });
}

export function refuse(h: Harness, member: string, blockId: number): Result {
  return h.member(member, { type: 'rejectBlock', blockId });
}

export function withdraw(h: Harness, member: string, blockId: number): Result {
  return h.member(member, { type: 'withdrawBlock', blockId });
}

export function blockIdOf(r: Result): number {
  if (!r.ok) throw new Error(`expected an accepted block command, got ${r.code}: ${r.message}`);
  if (typeof r.blockId !== 'number') throw new Error('the result names no blockId');
  return r.blockId;
}

// ---------------------------------------------------------------- read-outs

export interface Side {
  cash: number; cashFrozen: number; available: number; frozen: number; pending: number; openBuy: number;
}

/** An account's cash and its position in `symbol`, read without creating anything. */
export function side(h: Harness, accountId: string, symbol = 'CEA24'): Side {
  const a = h.engine.account(accountId);
  const inst = h.engine.instrument(symbol);
  if (a === undefined || inst === undefined) throw new Error(`no account ${accountId} or instrument ${symbol}`);
  const p = a.positions[inst.index];
  return {
    cash: a.cash, cashFrozen: a.cashFrozen,
    available: p?.available ?? 0, frozen: p?.frozen ?? 0, pending: p?.pending ?? 0, openBuy: p?.openBuy ?? 0,
  };
}

/** Both (or all) sides at once, by account id. */
export function sides(h: Harness, accountIds: string[], symbol = 'CEA24'): Record<string, Side> {
  return Object.fromEntries(accountIds.map((id) => [id, side(h, id, symbol)]));
}

/** A Side from readable figures: cash in CNY strings, tonnes as numbers; unnamed fields are 0. */
export function expectSide(f: { cash?: string; cashFrozen?: string; available?: number; frozen?: number; pending?: number; openBuy?: number }): Side {
  return {
    cash: f.cash === undefined ? 0 : fen(f.cash), cashFrozen: f.cashFrozen === undefined ? 0 : fen(f.cashFrozen),
    available: f.available ?? 0, frozen: f.frozen ?? 0, pending: f.pending ?? 0, openBuy: f.openBuy ?? 0,
  };
}

// ---------------------------------------------------------------- arithmetic by hand (BigInt, no engine code)

/** rate given as a decimal string ("0.005"): turnover × rate, rounded half-up to the fen. */
export function feeOf(turnoverFen: number, rate: string): number {
  const [whole, frac = ''] = rate.split('.');
  const scale = 10n ** BigInt(frac.length);
  const r = BigInt(whole) * scale + BigInt(frac || '0');
  const num = BigInt(turnoverFen) * r;
  return Number((num * 2n + scale) / (2n * scale));
}

/** a / b, half-up, for non-negative integers. */
export function halfUp(a: number, b: number): number {
  const A = BigInt(a), B = BigInt(b);
  return Number((A * 2n + B) / (2n * B));
}

// ---------------------------------------------------------------- event capture

/** From now on, every accepted command's events run through `h` are appended to the returned list. */
export function recordEvents(h: Harness): EngineEvent[] {
  const events: EngineEvent[] = [];
  const run = h.run.bind(h);
  h.run = (actor, body) => {
    const r = run(actor, body);
    if (r.ok) events.push(...r.events);
    return r;
  };
  return events;
}
