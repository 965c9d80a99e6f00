// Shared set-up for the engine's rule tests: the venues of MARKET-RULES built by overriding the
// national profile, a harness that continues from an edited snapshot, read-outs of an account's
// cash and position that never create anything, and `expectReject`, which every rejection in these
// tests goes through: it checks the code belongs to the closed set, the message says something,
// and that the refused command left the state exactly as it was.
import { createHash } from 'node:crypto';
import type tap from 'tap';
import {
  Engine, REJECT_CODES, type EngineSnapshot, type RejectCode, type Rejection, type Result, type VenueProfile,
} from '../../engine/index.ts';
import { Harness, allDay, loadProfile } from '../support/harness.ts';

/** The few assertions the helpers need from a tap test. */
type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0];
export type Asserts = Pick<TapTest, 'equal' | 'ok' | 'match' | 'fail'>;

// ---------------------------------------------------------------- venues

const noFees = { buy: '0', sell: '0' };

/** The national market, sessions open all day (times then never get in the way). */
export function national(): VenueProfile {
  return allDay(loadProfile('cea'));
}

/** The national market as published: 09:30–11:30, 13:00–15:00, Monday to Friday, holidays. */
export function nationalWithSessions(): VenueProfile {
  return loadProfile('cea');
}

/** Hubei-like: 协商议价 fees 0.5 % of turnover from each side, listed band ±10 %. */
export function hubei(): VenueProfile {
  return allDay(loadProfile('cea', {
    venue: 'HBEA', name: 'Hubei pilot', exchange: 'China Hubei Emission Exchange', listedMode: '协商议价',
    instruments: [{ symbol: 'HBEA', name: 'Hubei allowance', vintage: null }],
    listedBandPct: '10',
    fees: { listed: { buy: '0.005', sell: '0.005' }, block: noFees, auction: noFees },
  }));
}

/** Guangdong-like: a pick takes the whole resting quantity; sessions 09:30–11:30 and 13:30–15:30. */
export function guangdong(): VenueProfile {
  return loadProfile('cea', {
    venue: 'GDEA', name: 'Guangdong pilot', exchange: 'China Emissions Exchange (Guangzhou)', listedMode: '挂牌点选',
    instruments: [{ symbol: 'GDEA', name: 'Guangdong allowance', vintage: null }],
    pickQuantity: 'whole',
    sessions: { listed: [['09:30', '11:30'], ['13:30', '15:30']], block: [['13:30', '15:30']], auction: [['13:30', '15:30']] },
  });
}

/** Beijing-like position caps (2014): compliance allocation + 1,000,000 t, institution 1,000,000 t, individual 50,000 t. */
export function beijing(): VenueProfile {
  return allDay(loadProfile('cea', {
    venue: 'BEA', name: 'Beijing pilot', exchange: 'Beijing Green Exchange', listedMode: '公开交易',
    instruments: [{ symbol: 'BEA', name: 'Beijing allowance', vintage: null }],
    listedBandPct: '20',
    positionCaps: {
      compliance: { quantity: 1_000_000, plusAllocation: true },
      institution: { quantity: 1_000_000, plusAllocation: false },
      individual: { quantity: 50_000, plusAllocation: false },
    },
  }));
}

/** A CCER-like venue that admits legal persons only. */
export function voluntary(): VenueProfile {
  return allDay(loadProfile('cea', {
    venue: 'CCER', name: 'National voluntary market', exchange: 'Beijing Green Exchange', kind: 'ccer',
    instruments: [{ symbol: 'CCER', name: 'China certified emission reduction', vintage: null }],
    admittedClasses: ['compliance', 'institution'],
  }));
}

// ---------------------------------------------------------------- state read-outs

/** An account's cash, read without touching anything. */
export function funds(h: Harness, accountId: string): { cash: number; cashFrozen: number } {
  const a = h.engine.account(accountId);
  if (a === undefined) throw new Error(`no account ${accountId}`);
  return { cash: a.cash, cashFrozen: a.cashFrozen };
}

/** An account's position in an instrument, read without creating it (zeros when it has none). */
export function position(h: Harness, accountId: string, symbol: string): { available: number; frozen: number; pending: number; openBuy: number } {
  const a = h.engine.account(accountId);
  const inst = h.engine.instrument(symbol);
  if (a === undefined || inst === undefined) throw new Error(`no account ${accountId} or instrument ${symbol}`);
  const p = a.positions[inst.index];
  return p === undefined
    ? { available: 0, frozen: 0, pending: 0, openBuy: 0 }
    : { available: p.available, frozen: p.frozen, pending: p.pending, openBuy: p.openBuy };
}

/** The whole engine state without the sequence number and time of the last command. */
export function stateWithoutClock(engine: Engine): string {
  const { lastSeq: _seq, lastTime: _time, ...rest } = engine.snapshot();
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

// ---------------------------------------------------------------- rejections

/** Every code a rejection in this process came back with. */
export const produced = new Set<RejectCode>();

/**
 * Runs a command that must be refused with `code`: the code is one of REJECT_CODES, the message is
 * not empty (and matches `message` when given), and the state is what it was before.
 * (The comparison leaves out the engine's last sequence number and time, which every command moves;
 * errors.test.ts checks the full stateHash() separately.)
 */
export function expectReject(t: Asserts, h: Harness, run: () => Result, code: RejectCode, message?: RegExp | string): Rejection | null {
  const before = stateWithoutClock(h.engine);
  const result = run();
  if (result.ok) {
    t.fail(`expected ${code}, but the command was accepted`);
    return null;
  }
  produced.add(result.code);
  t.ok(Object.hasOwn(REJECT_CODES, result.code), `${result.code} is one of REJECT_CODES`);
  t.equal(result.code, code, `rejected with ${code}: ${result.message}`);
  t.ok(typeof result.message === 'string' && result.message.length > 0, 'the rejection says why');
  if (message !== undefined) t.match(result.message, message, 'the message names the rule');
  t.equal(stateWithoutClock(h.engine), before, `the ${result.code} rejection leaves the state unchanged`);
  return result;
}

// ---------------------------------------------------------------- later trading days

/**
 * A harness on an engine restored from `snapshot` as if it were `tradingDate`, clock at `time`:
 * the only way to reach a later trading day until the engine has an end-of-day command.
 */
export function harnessOn(snapshot: EngineSnapshot, tradingDate: string, time = '10:00'): Harness {
  const edited: EngineSnapshot = JSON.parse(JSON.stringify({ ...snapshot, tradingDate }));
  const h = new Harness({ tradingDate, time });
  (h as unknown as { engine: Engine }).engine = Engine.restore(edited);
  h.seq = snapshot.lastSeq;
  return h;
}
