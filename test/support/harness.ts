// A small driver for engine tests: stamps commands with rising sequence numbers and a settable
// clock, loads venue profiles from markets/, and offers the domain's verbs in a line each.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  Engine, type BookFactory, type Command, type Result, type Accepted, type Rejection, type VenueProfile,
  type AccountClass, type EngineEvent, type TradeEvent, type OrderEvent, parseMoney,
} from '../../engine/index.ts';

const MARKETS = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'markets');

/** A venue profile from markets/venues/<name>.json, optionally changed for the test. */
export function loadProfile(name: string, change: Partial<VenueProfile> = {}): VenueProfile {
  const profile = JSON.parse(readFileSync(join(MARKETS, 'venues', `${name}.json`), 'utf8')) as VenueProfile;
  return { ...profile, ...change };
}

/** The same profile with every mode open all day, every day, as the demo has it. */
export function allDay(profile: VenueProfile): VenueProfile {
  const day: [string, string][] = [['00:00', '24:00']];
  return { ...profile, sessions: { listed: day, block: day, auction: day }, tradingWeekdays: [1, 2, 3, 4, 5, 6, 7], holidays: [], calendarThrough: null };
}

/** Milliseconds since the epoch of a local (UTC+8) date and time. */
export function cst(date: string, time = '10:00'): number {
  return Date.parse(`${date}T${time}:00+08:00`);
}

export const fen = (price: string): number => {
  const v = parseMoney(price);
  if (v === null) throw new Error(`not a price: ${price}`);
  return v;
};

type Body<T> = T extends Command ? Omit<T, 'seq' | 'time' | 'actor'> : never;
export type CommandBody = Body<Command>;

export class Harness {
  readonly engine: Engine;
  seq = 0;
  time: number;
  /** Every command applied, stamped, in order: what a journal would hold. */
  readonly log: Command[] = [];

  constructor(options: { tradingDate?: string; bookFactory?: BookFactory; time?: string } = {}) {
    const tradingDate = options.tradingDate ?? '2026-11-20';
    this.engine = new Engine({ tradingDate, bookFactory: options.bookFactory });
    this.time = cst(tradingDate, options.time ?? '10:00');
  }

  /** Stamps and applies a command as the given actor. */
  run(actor: { role: 'member' | 'risk' | 'operator'; id: string }, body: CommandBody): Result {
    const command = { ...body, seq: ++this.seq, time: this.time, actor } as Command;
    this.log.push(command);
    return this.engine.apply(command);
  }

  operator(body: CommandBody): Result { return this.run({ role: 'operator', id: 'ops1' }, body); }
  risk(body: CommandBody): Result { return this.run({ role: 'risk', id: 'risk1' }, body); }
  member(member: string, body: CommandBody): Result { return this.run({ role: 'member', id: member }, body); }

  /** Lists an instrument of a profile at a listing price ("57.46"). */
  list(profile: VenueProfile, symbol: string, listingPrice: string): Accepted {
    return ok(this.operator({ type: 'listInstrument', symbol, profile, listingPrice: fen(listingPrice) }));
  }

  /** Opens an account of member `member` (the member id is the account id's prefix by default). */
  open(accountId: string, options: { member?: string; accountClass?: AccountClass; allocation?: number; venues?: string[]; cash?: string; holdings?: Record<string, number> } = {}): void {
    ok(this.operator({
      type: 'createAccount', accountId, member: options.member ?? memberOf(accountId), accountClass: options.accountClass ?? 'institution',
      allocation: options.allocation, venues: options.venues,
    }));
    if (options.cash) ok(this.operator({ type: 'deposit', accountId, cash: fen(options.cash) }));
    for (const [symbol, quantity] of Object.entries(options.holdings ?? {})) ok(this.operator({ type: 'deposit', accountId, symbol, quantity }));
  }

  /** Places an order for an account as its member. */
  order(accountId: string, fields: { symbol: string; side: 'buy' | 'sell'; type?: 'limit' | 'market' | 'pick'; price?: string; quantity: number; timeInForce?: 'DAY' | 'IOC' | 'FOK'; targetOrderId?: number; clientOrderId?: string }): Result {
    return this.member(this.engine.account(accountId)?.member ?? memberOf(accountId), {
      type: 'placeOrder', accountId, symbol: fields.symbol, side: fields.side, orderType: fields.type ?? 'limit',
      price: fields.price === undefined ? null : fen(fields.price), quantity: fields.quantity, timeInForce: fields.timeInForce,
      targetOrderId: fields.targetOrderId, clientOrderId: fields.clientOrderId,
    });
  }

  cancel(accountId: string, orderId: number): Result {
    return this.member(this.engine.account(accountId)?.member ?? memberOf(accountId), { type: 'cancelOrder', orderId });
  }

  modify(accountId: string, orderId: number, change: { quantity?: number; price?: string }): Result {
    return this.member(this.engine.account(accountId)?.member ?? memberOf(accountId), {
      type: 'modifyOrder', orderId, quantity: change.quantity, price: change.price === undefined ? undefined : fen(change.price),
    });
  }

  /** Moves the clock (local date and time, UTC+8). */
  at(date: string, time: string): this {
    this.time = cst(date, time);
    return this;
  }
}

/** "M1-A" → "M1": the demo convention that an account id starts with its member's id. */
export function memberOf(accountId: string): string {
  return accountId.split('-')[0];
}

export function ok(result: Result): Accepted {
  if (!result.ok) throw new Error(`expected the command to be accepted, got ${result.code}: ${result.message}`);
  return result;
}

export function rejected(result: Result): Rejection {
  if (result.ok) throw new Error('expected a rejection, the command was accepted');
  return result;
}

export const tradesOf = (events: EngineEvent[]): TradeEvent[] => events.filter((e): e is TradeEvent => e.type === 'trade');
export const ordersOf = (events: EngineEvent[]): OrderEvent[] => events.filter((e): e is OrderEvent => e.type === 'order');
