// Random market days for the engine's property tests. An arbitrary here produces a *set-up* (two
// instruments on two venues with different fees and pick rules, a handful of accounts of a few
// members, their deposits) and a list of abstract *operations*. An operation names things by index
// ("the 3rd open order", "account 2", "6 ticks above the reference") and `Driver.command` turns it
// into a concrete stamped command by reading the engine it is driving, so that shrinking keeps the
// sequences meaningful: an op that named a vanished order still names some order, or a dead id.
import fc from 'fast-check';
import {
  BUY, SELL, type AccountClass, type Command, type Engine, type Order, type Restriction, type Result, type VenueProfile,
} from '../../engine/index.ts';
import { allDay, cst, loadProfile, type CommandBody } from './harness.ts';

export const TRADING_DATE = '2026-11-20';
export const NEXT_DATE = '2026-11-21';
/** Instrument 0 on a zero-fee venue with partial picks; instrument 1 on a 0.5 % venue that picks whole. */
export const SYMBOLS = ['CEA24', 'HBEA'] as const;
export const FEE_RATE_B = '0.005';
export const MAX_ORDER_B = 200;

// ------------------------------------------------------------------------------------ set-up

export interface AccountSpec {
  id: string;
  member: string;
  accountClass: AccountClass;
  allocation: number;
  venues: string[] | null;
  cash: number;
  tonnes: [number, number];
  /** Per-account cap override per instrument: undefined = class rule, null = no cap. */
  capOverride: [number | null | undefined, number | null | undefined];
}

export interface Setup {
  refA: number;
  refB: number;
  /** Tick of venue B in fen (venue A has 0.01). */
  tickB: number;
  lotB: number;
  pickDepthB: number;
  individualsOnB: boolean;
  capIndividualA: number | null;
  capsB: { compliance: number; institution: number; individual: number };
  threshold: number;
  accounts: AccountSpec[];
}

let baseProfile: VenueProfile | null = null;
/** The base profile's large-holder rules with one threshold for every class (compliance: plus its allocation). */
function largeHolderAt(base: VenueProfile, threshold: number): VenueProfile['largeHolder'] {
  return {
    ...base.largeHolder,
    thresholds: {
      compliance: { quantity: threshold, plusAllocation: true },
      institution: { quantity: threshold, plusAllocation: false },
      individual: { quantity: threshold, plusAllocation: false },
    },
  };
}

function cea(): VenueProfile {
  baseProfile ??= allDay(loadProfile('cea'));
  return baseProfile;
}

export function profileA(s: Setup): VenueProfile {
  const base = cea();
  return {
    ...base,
    instruments: [{ symbol: 'CEA24', name: 'National CEA, vintage 2024', vintage: 2024 }],
    positionCaps: {
      compliance: null, institution: null,
      individual: s.capIndividualA === null ? null : { quantity: s.capIndividualA, plusAllocation: false },
    },
    largeHolder: largeHolderAt(base, s.threshold),
  };
}

export function profileB(s: Setup): VenueProfile {
  const base = cea();
  const fee = { buy: FEE_RATE_B, sell: FEE_RATE_B };
  return {
    ...base,
    venue: 'HBEA',
    name: 'Hubei pilot',
    exchange: 'China Hubei Emission Exchange',
    listedMode: '协商议价',
    instruments: [{ symbol: 'HBEA', name: 'Hubei allowance', vintage: null }],
    tick: s.tickB === 1 ? '0.01' : '0.05',
    lot: s.lotB,
    maxListedOrderQuantity: MAX_ORDER_B,
    pickQuantity: 'whole',
    pickDepthLevels: s.pickDepthB,
    fees: { listed: fee, block: fee, auction: fee },
    admittedClasses: s.individualsOnB ? ['compliance', 'institution', 'individual'] : ['compliance', 'institution'],
    positionCaps: {
      compliance: { quantity: s.capsB.compliance, plusAllocation: true },
      institution: { quantity: s.capsB.institution, plusAllocation: false },
      individual: { quantity: s.capsB.individual, plusAllocation: false },
    },
    largeHolder: largeHolderAt(base, s.threshold),
  };
}

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

const MEMBERS = ['M1', 'M2', 'M3'];
/** Account letters run backwards so that creation order is not id order (snapshots sort by id). */
const LETTERS = 'FEDCBA';

const cashArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 150_000 }) },
  { weight: 5, arbitrary: fc.integer({ min: 500_000, max: 5_000_000 }) },
);
const tonnesArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 20, max: 200 }) },
);
const capOverrideArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 300 }) },
);

const accountArb = fc.record({
  memberIndex: fc.nat({ max: 2 }),
  accountClass: fc.constantFrom<AccountClass>('compliance', 'institution', 'individual'),
  allocation: fc.integer({ min: 0, max: 80 }),
  venues: fc.oneof(w(14, fc.constant(null)), w(1, fc.constantFrom<string[] | null>(['CEA'], ['HBEA']))),
  cash: cashArb,
  tonnes: fc.tuple(tonnesArb, tonnesArb),
  capOverride: fc.tuple(capOverrideArb, capOverrideArb),
});

export const setupArb: fc.Arbitrary<Setup> = fc.record({
  refA: fc.integer({ min: 4000, max: 6000 }),
  refB: fc.integer({ min: 600, max: 1000 }), // × 5 fen → 30.00–50.00
  tickB: fc.constantFrom(1, 5),
  lotB: fc.constantFrom(1, 1, 5),
  pickDepthB: fc.integer({ min: 2, max: 5 }),
  individualsOnB: fc.oneof(w(5, fc.constant(true)), w(1, fc.constant(false))),
  capIndividualA: fc.option(fc.integer({ min: 30, max: 300 }), { nil: null }),
  capsB: fc.record({
    compliance: fc.integer({ min: 100, max: 600 }),
    institution: fc.integer({ min: 100, max: 800 }),
    individual: fc.integer({ min: 30, max: 300 }),
  }),
  threshold: fc.integer({ min: 20, max: 400 }),
  accounts: fc.array(accountArb, { minLength: 4, maxLength: 6 }),
}).map((r): Setup => {
  // Every member gets at least one account, so that cross-member trades are always possible.
  const members = r.accounts.length >= 6 ? 3 : 2;
  const accounts = r.accounts.map((a, i): AccountSpec => {
    const member = MEMBERS[i < members ? i : a.memberIndex % members];
    return {
      id: `${member}-${LETTERS[i]}`, member, accountClass: a.accountClass,
      allocation: a.accountClass === 'compliance' ? a.allocation : 0, venues: a.venues, cash: a.cash,
      tonnes: a.tonnes, capOverride: a.capOverride,
    };
  });
  return { ...r, refB: r.refB * 5, accounts };
});

// ------------------------------------------------------------------------------------ operations

export type PriceSpec =
  /** `off` ticks away from the reference on the passive side: a buy below, a sell above (negative: aggressive). */
  | { k: 'near'; off: number }
  | { k: 'edge'; which: 'low' | 'high' | 'belowLow' | 'aboveHigh' }
  | { k: 'offTick'; off: number; by: number }
  | { k: 'bad'; v: number | null };

export type QtySpec = { k: 'lots'; n: number } | { k: 'raw'; v: number | 'max' | 'max+1' };

export type OrderRef = { k: 'open'; i: number } | { k: 'id'; id: number };

export type PickTarget =
  | { k: 'rank'; rank: number }
  | { k: 'own' }
  | { k: 'sameSide' }
  | { k: 'otherInstrument' }
  | { k: 'id'; id: number };

export type Op =
  | { op: 'limit'; acct: number; inst: number; side: 'buy' | 'sell'; tif: 'DAY' | 'IOC' | 'FOK' | null; price: PriceSpec; qty: QtySpec; coid: number | null; wrongMember: boolean }
  | { op: 'quote'; acct: number; inst: number; side: 'buy' | 'sell'; off: number; n: number }
  | { op: 'market'; acct: number; inst: number; side: 'buy' | 'sell'; qty: QtySpec; odd: 'none' | 'price' | 'DAY' | 'IOC' }
  | { op: 'pick'; acct: number; inst: number; side: 'buy' | 'sell'; target: PickTarget; qty: { k: 'whole' } | { k: 'part'; pct: number } | QtySpec }
  | { op: 'cancel'; ref: OrderRef; wrongMember: boolean }
  | { op: 'modify'; ref: OrderRef; wrongMember: boolean; change: ModifyChange }
  | { op: 'deposit'; acct: number; inst: number | null; amount: number; reference: string | null }
  | { op: 'withdraw'; acct: number; inst: number | null; pct: number; reference: string | null }
  | { op: 'setInstrument'; inst: number; bandPct: string | null; refOff: number | null; status: 'trading' | 'halted' | null; reason: string; resumeAfter: number }
  | { op: 'market-status'; halt: boolean; resumeAfter: number }
  | { op: 'limit-rule'; kind: 'setPositionCap' | 'setLargeHolderThreshold'; inst: number; who: { k: 'class'; c: string } | { k: 'acct'; acct: number }; quantity: number | null; plusAllocation: boolean }
  | { op: 'restrict'; acct: number; restriction: string; liftAfter: number }
  | { op: 'cancelAll'; acct: number }
  | { op: 'account-update'; acct: number; allocation: number | null | 'bad'; venues: 'keep' | 'all' | 'CEA' | 'HBEA' | 'bad' }
  | { op: 'report'; acct: number; inst: number; text: string }
  | { op: 'clock'; minutes: number }
  /** The last order sent with a clientOrderId, or transfer with a reference, sent again: a duplicate (or, if it was refused, a retry). */
  | { op: 'resend' }
  | { op: 'misc'; what: 'memberRisk' | 'unknownAccount' | 'unknownSymbol' | 'operatorOrder' | 'noReason' };

export type ModifyChange =
  | { k: 'down'; by: number }
  | { k: 'up'; by: number }
  | { k: 'price'; price: PriceSpec }
  | { k: 'both'; by: number; price: PriceSpec }
  | { k: 'same' }
  | { k: 'nothing' }
  | { k: 'raw'; quantity: number };

const priceArb: fc.Arbitrary<PriceSpec> = fc.oneof(
  w(12, fc.record({ k: fc.constant('near' as const), off: fc.integer({ min: -2, max: 6 }) })),
  w(4, fc.record({ k: fc.constant('near' as const), off: fc.integer({ min: -8, max: 8 }) })),
  w(1, fc.record({ k: fc.constant('edge' as const), which: fc.constantFrom('low' as const, 'high' as const, 'belowLow' as const, 'aboveHigh' as const) })),
  w(1, fc.record({ k: fc.constant('offTick' as const), off: fc.integer({ min: -3, max: 3 }), by: fc.constantFrom(1, 2, 0.5) })),
  w(1, fc.record({ k: fc.constant('bad' as const), v: fc.constantFrom<number | null>(0, -100, null, 2e15) })),
);

const qtyArb: fc.Arbitrary<QtySpec> = fc.oneof(
  w(14, fc.record({ k: fc.constant('lots' as const), n: fc.integer({ min: 1, max: 12 }) })),
  w(2, fc.record({ k: fc.constant('lots' as const), n: fc.integer({ min: 13, max: 60 }) })),
  w(1, fc.record({ k: fc.constant('raw' as const), v: fc.constantFrom<number | 'max' | 'max+1'>(0, -1, 1.5, 3, 7, 'max', 'max+1') })),
);

const acctArb = fc.nat({ max: 5 });
/** A transfer's bank reference, from a small pool so that repeats (same terms) and reuses (other terms) happen. */
const referenceArb = fc.oneof(fc.constant(null), fc.constantFrom('BK-1', 'BK-2', 'REG/3'));
const instArb = fc.nat({ max: 1 });
const sideArb = fc.constantFrom('buy' as const, 'sell' as const);
const refArb: fc.Arbitrary<OrderRef> = fc.oneof(
  w(6, fc.record({ k: fc.constant('open' as const), i: fc.nat({ max: 40 }) })),
  w(1, fc.record({ k: fc.constant('id' as const), id: fc.integer({ min: -1, max: 400 }) })),
);
const rarely = fc.oneof(w(30, fc.constant(false)), w(1, fc.constant(true)));

const limitArb = fc.record({
  op: fc.constant('limit' as const), acct: acctArb, inst: instArb, side: sideArb,
  tif: fc.oneof(w(8, fc.constant('DAY' as const)), w(2, fc.constant('IOC' as const)), w(2, fc.constant('FOK' as const)), w(1, fc.constant(null))),
  price: priceArb, qty: qtyArb,
  coid: fc.oneof(w(8, fc.constant(null)), w(1, fc.nat({ max: 3 }))),
  wrongMember: rarely,
});

const marketArb = fc.record({
  op: fc.constant('market' as const), acct: acctArb, inst: instArb, side: sideArb, qty: qtyArb,
  odd: fc.oneof(w(12, fc.constant('none' as const)), w(1, fc.constantFrom('price' as const, 'DAY' as const, 'IOC' as const))),
});

const pickArb = fc.record({
  op: fc.constant('pick' as const), acct: acctArb, inst: instArb, side: sideArb,
  target: fc.oneof(
    w(10, fc.record({ k: fc.constant('rank' as const), rank: fc.nat({ max: 2 }) })),
    w(2, fc.record({ k: fc.constant('rank' as const), rank: fc.integer({ min: 3, max: 7 }) })),
    w(1, fc.constant({ k: 'own' as const })),
    w(1, fc.constant({ k: 'sameSide' as const })),
    w(1, fc.constant({ k: 'otherInstrument' as const })),
    w(1, fc.record({ k: fc.constant('id' as const), id: fc.integer({ min: 0, max: 400 }) })),
  ),
  qty: fc.oneof(
    w(5, fc.constant({ k: 'whole' as const })),
    w(3, fc.record({ k: fc.constant('part' as const), pct: fc.integer({ min: 1, max: 150 }) })),
    w(1, qtyArb),
  ),
});

const modifyArb = fc.record({
  op: fc.constant('modify' as const), ref: refArb, wrongMember: rarely,
  change: fc.oneof(
    w(4, fc.record({ k: fc.constant('down' as const), by: fc.integer({ min: 1, max: 10 }) })),
    w(3, fc.record({ k: fc.constant('up' as const), by: fc.integer({ min: 1, max: 10 }) })),
    w(4, fc.record({ k: fc.constant('price' as const), price: priceArb })),
    w(2, fc.record({ k: fc.constant('both' as const), by: fc.integer({ min: -5, max: 5 }), price: priceArb })),
    w(1, fc.constant({ k: 'same' as const })),
    w(1, fc.constant({ k: 'nothing' as const })),
    w(1, fc.record({ k: fc.constant('raw' as const), quantity: fc.constantFrom(0, -2, 2.5, MAX_ORDER_B + 1, 100_000) })),
  ),
});

const cancelAllArb = fc.record({ op: fc.constant('cancelAll' as const), acct: fc.nat({ max: 6 }) });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  w(50, limitArb),
  w(20, fc.record({
    op: fc.constant('quote' as const), acct: acctArb, inst: instArb, side: sideArb,
    off: fc.integer({ min: 0, max: 6 }), n: fc.integer({ min: 1, max: 10 }),
  })),
  w(6, marketArb),
  w(10, pickArb),
  w(5, fc.record({ op: fc.constant('cancel' as const), ref: refArb, wrongMember: rarely })),
  w(10, modifyArb),
  w(3, fc.record({
    op: fc.constant('deposit' as const), acct: acctArb, inst: fc.option(instArb, { nil: null }),
    amount: fc.oneof(w(8, fc.integer({ min: 1, max: 400_000 })), w(1, fc.constantFrom(0, -5, 2.5))), reference: referenceArb,
  })),
  w(3, fc.record({ op: fc.constant('withdraw' as const), acct: acctArb, inst: fc.option(instArb, { nil: null }), pct: fc.integer({ min: 0, max: 130 }), reference: referenceArb })),
  w(3, fc.record({
    op: fc.constant('setInstrument' as const), inst: instArb,
    bandPct: fc.oneof(w(4, fc.constant(null)), w(3, fc.constantFrom('10', '5', '20', '1', '0.1')), w(1, fc.constantFrom('100', '7.5', '0', '-1', 'abc', '0.000000001'))),
    refOff: fc.oneof(w(3, fc.constant(null)), w(2, fc.integer({ min: -40, max: 40 }))),
    status: fc.oneof(w(3, fc.constant(null)), w(3, fc.constant('trading' as const)), w(1, fc.constant('halted' as const))),
    reason: fc.oneof(w(12, fc.constant('risk check')), w(1, fc.constant(' '))),
    resumeAfter: fc.integer({ min: 0, max: 8 }),
  })),
  w(2, fc.record({ op: fc.constant('market-status' as const), halt: fc.boolean(), resumeAfter: fc.integer({ min: 0, max: 8 }) })),
  w(4, fc.record({
    op: fc.constant('limit-rule' as const),
    kind: fc.constantFrom('setPositionCap' as const, 'setLargeHolderThreshold' as const),
    inst: instArb,
    who: fc.oneof(
      w(1, fc.record({ k: fc.constant('class' as const), c: fc.constantFrom('compliance', 'institution', 'individual', 'retail') })),
      w(2, fc.record({ k: fc.constant('acct' as const), acct: fc.nat({ max: 6 }) })),
    ),
    quantity: fc.oneof(w(2, fc.constant(null)), w(2, fc.integer({ min: 0, max: 60 })), w(4, fc.integer({ min: 100, max: 1000 })), w(1, fc.constantFrom(-1, 2.5))),
    plusAllocation: rarely,
  })),
  w(2, fc.record({
    op: fc.constant('restrict' as const), acct: fc.nat({ max: 6 }),
    restriction: fc.oneof(w(2, fc.constant('none')), w(4, fc.constantFrom('no_buy', 'no_sell', 'frozen')), w(1, fc.constant('suspended'))),
    liftAfter: fc.integer({ min: 0, max: 12 }),
  })),
  w(3, cancelAllArb),
  w(2, fc.record({
    op: fc.constant('account-update' as const), acct: fc.nat({ max: 6 }),
    allocation: fc.oneof(w(3, fc.constant(null)), w(4, fc.integer({ min: 0, max: 120 })), w(1, fc.constant('bad' as const))),
    venues: fc.oneof(w(4, fc.constant('keep' as const)), w(2, fc.constantFrom('all' as const, 'CEA' as const, 'HBEA' as const)), w(1, fc.constant('bad' as const))),
  })),
  w(2, fc.record({ op: fc.constant('report' as const), acct: acctArb, inst: instArb, text: fc.oneof(w(8, fc.constant('holding report')), w(1, fc.constant(''))) })),
  w(4, fc.record({ op: fc.constant('clock' as const), minutes: fc.integer({ min: 1, max: 40 }) })),
  w(2, fc.constant({ op: 'resend' as const })),
  w(1, fc.record({ op: fc.constant('misc' as const), what: fc.constantFrom('memberRisk' as const, 'unknownAccount' as const, 'unknownSymbol' as const, 'operatorOrder' as const, 'noReason' as const) })),
);

/** A day: the set-up, the ops of the trading day, and a short tail stamped on the next day. */
export interface Day { setup: Setup; ops: Op[]; tail: Op[] }

/**
 * Days of up to `maxOps` ops (spread over 0…maxOps, so most runs are hundreds of commands long, and
 * shrinking may go down to a handful).
 */
export function dayArb(maxOps: number): fc.Arbitrary<Day> {
  return fc.record({
    setup: setupArb,
    ops: fc.array(opArb, { maxLength: maxOps, size: 'max' }),
    tail: fc.oneof(w(3, fc.constant([] as Op[])), w(1, fc.array(opArb, { maxLength: 5 }))),
  });
}

/**
 * A day cut in two for snapshot tests: `day.ops` is `before` then `after`, and `cut` is the number
 * of ops before the cut. The ops after the cut lean on cancelAll, whose event order depends on the
 * engine's internal order of open orders.
 */
export function cutDayArb(maxBefore: number, maxAfter: number): fc.Arbitrary<{ day: Day; cut: number }> {
  return fc.record({
    setup: setupArb,
    before: fc.array(opArb, { maxLength: maxBefore, size: 'max' }),
    after: fc.array(fc.oneof(w(8, opArb), w(1, cancelAllArb)), { maxLength: maxAfter, size: 'max' }),
    tail: fc.oneof(w(3, fc.constant([] as Op[])), w(1, fc.array(opArb, { maxLength: 5 }))),
  }).map(({ setup, before, after, tail }) => ({ day: { setup, ops: [...before, ...after], tail }, cut: before.length }));
}

// ------------------------------------------------------------------------------------ driver

type Actor = Command['actor'];
const OPERATOR: Actor = { role: 'operator', id: 'ops1' };
const RISK: Actor = { role: 'risk', id: 'risk1' };
type Body = CommandBody;

/** Cash and tonnes that went in and out through accepted operator transfers. */
export class Ledger {
  cashIn = 0;
  cashOut = 0;
  tonnesIn = new Map<string, number>();
  tonnesOut = new Map<string, number>();
  /** Σ fees of every trade event seen. */
  feesInEvents = 0;
  /** The day's listed trades per symbol, as the trade events told them. */
  readonly trades = new Map<string, { open: number; high: number; low: number; last: number; volume: number; turnover: number; count: number }>();

  trade(e: { symbol: string; price: number; quantity: number; buyFee: number; sellFee: number }): void {
    this.feesInEvents += e.buyFee + e.sellFee;
    const s = this.trades.get(e.symbol);
    if (s === undefined) {
      this.trades.set(e.symbol, { open: e.price, high: e.price, low: e.price, last: e.price, volume: e.quantity, turnover: e.price * e.quantity, count: 1 });
      return;
    }
    s.high = Math.max(s.high, e.price);
    s.low = Math.min(s.low, e.price);
    s.last = e.price;
    s.volume += e.quantity;
    s.turnover += e.price * e.quantity;
    s.count++;
  }

  /** A transfer the engine took; a refused one, or a repeated reference (answered, nothing moved), counts for nothing. */
  record(c: Command, r: Result): void {
    if (!r.ok || r.duplicate === true || (c.type !== 'deposit' && c.type !== 'withdraw')) return;
    if (c.cash != null) {
      if (c.type === 'deposit') this.cashIn += c.cash;
      else this.cashOut += c.cash;
    } else {
      const m = c.type === 'deposit' ? this.tonnesIn : this.tonnesOut;
      m.set(c.symbol as string, (m.get(c.symbol as string) ?? 0) + (c.quantity as number));
    }
  }
}

/**
 * Turns ops into stamped commands. It reads the engine it drives (open orders, books, bands) to
 * resolve indices; the commands it makes can then be replayed on any other engine.
 */
export class Driver {
  seq = 0;
  time = cst(TRADING_DATE, '09:00');
  private readonly endOfDay = cst(TRADING_DATE, '23:59');
  readonly accounts: AccountSpec[];
  /** Commands an op scheduled for later (a resume after a halt, lifting a restriction), by op count. */
  private scheduled: { at: number; actor: Actor; body: Body }[] = [];
  private lastWithClientOrderId: { actor: Actor; body: Body } | null = null;
  private opCount = 0;

  constructor(readonly setup: Setup) {
    this.accounts = setup.accounts;
  }

  stamp(actor: Actor, body: Body): Command {
    return { ...body, seq: ++this.seq, time: this.time, actor } as Command;
  }

  setupCommands(): Command[] {
    const s = this.setup;
    const out: Command[] = [
      this.stamp(OPERATOR, { type: 'listInstrument', symbol: 'CEA24', profile: profileA(s), listingPrice: s.refA }),
      this.stamp(OPERATOR, { type: 'listInstrument', symbol: 'HBEA', profile: profileB(s), listingPrice: s.refB }),
    ];
    for (const a of s.accounts) {
      out.push(this.stamp(OPERATOR, {
        type: 'createAccount', accountId: a.id, member: a.member, accountClass: a.accountClass,
        allocation: a.allocation, venues: a.venues,
      }));
    }
    for (const a of s.accounts) {
      if (a.cash > 0) out.push(this.stamp(OPERATOR, { type: 'deposit', accountId: a.id, cash: a.cash }));
      a.tonnes.forEach((q, i) => {
        if (q > 0) out.push(this.stamp(OPERATOR, { type: 'deposit', accountId: a.id, symbol: SYMBOLS[i], quantity: q }));
      });
      a.capOverride.forEach((cap, i) => {
        if (cap !== undefined) {
          out.push(this.stamp(RISK, { type: 'setPositionCap', symbol: SYMBOLS[i], accountId: a.id, quantity: cap, reason: 'set-up' }));
        }
      });
    }
    return out;
  }

  /** From now on, commands are stamped on the next calendar day (orders get MARKET_CLOSED). */
  nextDay(): void {
    this.time = cst(NEXT_DATE, '10:00');
  }

  private account(i: number): AccountSpec {
    return this.accounts[i % this.accounts.length];
  }

  private memberActor(member: string): Actor {
    return { role: 'member', id: member };
  }

  private otherMember(member: string): string {
    const others = [...new Set(this.accounts.map((a) => a.member))].filter((m) => m !== member);
    return others[0] ?? 'M9';
  }

  private price(engine: Engine, inst: number, side: 'buy' | 'sell', spec: PriceSpec): number | null {
    const i = engine.instruments[inst];
    const tick = i.profile.tick;
    switch (spec.k) {
      case 'near': return i.referencePrice + (side === 'buy' ? -spec.off : spec.off) * tick;
      case 'edge':
        return spec.which === 'low' ? i.bandLow : spec.which === 'high' ? i.bandHigh
          : spec.which === 'belowLow' ? i.bandLow - tick : i.bandHigh + tick;
      case 'offTick': return i.referencePrice + spec.off * tick + spec.by;
      case 'bad': return spec.v;
    }
  }

  private quantity(engine: Engine, inst: number, spec: QtySpec): number {
    const i = engine.instruments[inst];
    if (spec.k === 'lots') return spec.n * i.profile.lot;
    if (spec.v === 'max') return i.profile.source.maxListedOrderQuantity;
    if (spec.v === 'max+1') return i.profile.source.maxListedOrderQuantity + 1;
    return spec.v;
  }

  private order(engine: Engine, ref: OrderRef): { id: number; order: Order | undefined } {
    if (ref.k === 'id') return { id: ref.id, order: engine.order(ref.id) };
    const open = engine.allOpenOrders();
    if (open.length === 0) return { id: Math.max(1, engine.internals().nextOrderId - 1), order: undefined };
    const o = open[ref.i % open.length];
    return { id: o.id, order: o };
  }

  /**
   * The commands an op stands for: those scheduled by earlier ops that fall due, then the op's own
   * (none for a pure clock move). Halts and restrictions schedule their own end, so that most of
   * the day is tradable.
   */
  commands(op: Op, engine: Engine): Command[] {
    this.opCount++;
    const out: Command[] = [];
    const due = this.scheduled.filter((x) => x.at <= this.opCount);
    this.scheduled = this.scheduled.filter((x) => x.at > this.opCount);
    for (const x of due) out.push(this.stamp(x.actor, x.body));
    const c = this.command(op, engine);
    if (c !== null) {
      out.push(c);
      if ((c.type === 'placeOrder' && c.clientOrderId != null) || ((c.type === 'deposit' || c.type === 'withdraw') && c.reference != null)) {
        const { seq: _seq, time: _time, actor, ...body } = c;
        this.lastWithClientOrderId = { actor, body };
      }
    }
    return out;
  }

  private later(after: number, actor: Actor, body: Body): void {
    this.scheduled.push({ at: this.opCount + 1 + after, actor, body });
  }

  /** The command an op stands for, or null for a pure clock move. */
  private command(op: Op, engine: Engine): Command | null {
    switch (op.op) {
      case 'limit': {
        const a = this.account(op.acct);
        const body: Body = {
          type: 'placeOrder', accountId: a.id, symbol: SYMBOLS[op.inst], side: op.side, orderType: 'limit',
          price: this.price(engine, op.inst, op.side, op.price), quantity: this.quantity(engine, op.inst, op.qty),
          clientOrderId: op.coid === null ? null : `c${op.coid}`,
        };
        if (op.tif !== null) body.timeInForce = op.tif;
        return this.stamp(this.memberActor(op.wrongMember ? this.otherMember(a.member) : a.member), body);
      }
      case 'quote': {
        // A passive DAY order from the first account (from op.acct on) that can place it now.
        const inst = engine.instruments[op.inst];
        const price = this.price(engine, op.inst, op.side, { k: 'near', off: op.off }) as number;
        const quantity = op.n * inst.profile.lot;
        let a = this.account(op.acct);
        for (let k = 0; k < this.accounts.length; k++) {
          const cand = this.account(op.acct + k);
          const acct = engine.account(cand.id);
          if (acct === undefined || acct.restriction !== 'none') continue;
          if (acct.venues !== null && !acct.venues.has(inst.venue)) continue;
          if (!inst.profile.source.admittedClasses.includes(cand.accountClass)) continue;
          const pos = acct.positions[op.inst];
          if (op.side === 'sell' ? (pos?.available ?? 0) >= quantity : acct.cash >= price * quantity * 1.01 + quantity) {
            a = cand;
            break;
          }
        }
        return this.stamp(this.memberActor(a.member), {
          type: 'placeOrder', accountId: a.id, symbol: SYMBOLS[op.inst], side: op.side, orderType: 'limit', price, quantity, timeInForce: 'DAY',
        });
      }
      case 'market': {
        const a = this.account(op.acct);
        const body: Body = {
          type: 'placeOrder', accountId: a.id, symbol: SYMBOLS[op.inst], side: op.side, orderType: 'market',
          quantity: this.quantity(engine, op.inst, op.qty),
        };
        if (op.odd === 'price') body.price = engine.instruments[op.inst].referencePrice;
        if (op.odd === 'DAY' || op.odd === 'IOC') body.timeInForce = op.odd;
        return this.stamp(this.memberActor(a.member), body);
      }
      case 'pick': {
        const a = this.account(op.acct);
        const inst = engine.instruments[op.inst];
        const mine = op.side === 'buy' ? BUY : SELL;
        const theirs = op.side === 'buy' ? SELL : BUY;
        let target: Order | undefined;
        let targetId: number;
        switch (op.target.k) {
          case 'rank': target = inst.book.ordersInPriority(theirs)[op.target.rank]; break;
          case 'own': target = inst.book.ordersInPriority(theirs).find((o) => o.account.id === a.id); break;
          case 'sameSide': target = inst.book.ordersInPriority(mine)[0]; break;
          case 'otherInstrument': target = engine.instruments[1 - op.inst].book.ordersInPriority(theirs)[0]; break;
          case 'id': target = engine.order(op.target.id); break;
        }
        if (op.target.k === 'id') targetId = op.target.id;
        else targetId = target?.id ?? 999_999;
        let quantity: number;
        const q = op.qty;
        if (q.k === 'whole') quantity = target?.remaining ?? inst.profile.lot;
        else if (q.k === 'part') quantity = Math.max(1, Math.floor(((target?.remaining ?? 1) * q.pct) / 100));
        else quantity = this.quantity(engine, op.inst, q);
        return this.stamp(this.memberActor(a.member), {
          type: 'placeOrder', accountId: a.id, symbol: SYMBOLS[op.inst], side: op.side, orderType: 'pick', quantity, targetOrderId: targetId,
        });
      }
      case 'cancel': {
        const { id, order } = this.order(engine, op.ref);
        const owner = order?.account.member ?? this.accounts[0].member;
        return this.stamp(this.memberActor(op.wrongMember ? this.otherMember(owner) : owner), { type: 'cancelOrder', orderId: id });
      }
      case 'modify': {
        const { id, order } = this.order(engine, op.ref);
        const owner = order?.account.member ?? this.accounts[0].member;
        const quantity = order?.quantity ?? 10;
        const inst = order?.instrument.index ?? 0;
        const side = order?.side === SELL ? 'sell' : 'buy';
        const lot = engine.instruments[inst].profile.lot;
        const body: Body = { type: 'modifyOrder', orderId: id };
        const ch = op.change;
        switch (ch.k) {
          case 'down': body.quantity = quantity - ch.by * lot; break;
          case 'up': body.quantity = quantity + ch.by * lot; break;
          case 'price': body.price = this.price(engine, inst, side, ch.price); break;
          case 'both': body.quantity = quantity + ch.by * lot; body.price = this.price(engine, inst, side, ch.price); break;
          case 'same': body.quantity = quantity; body.price = order?.price ?? null; break;
          case 'nothing': break;
          case 'raw': body.quantity = ch.quantity; break;
        }
        return this.stamp(this.memberActor(op.wrongMember ? this.otherMember(owner) : owner), body);
      }
      case 'deposit': {
        const a = this.account(op.acct);
        if (op.inst === null) return this.stamp(OPERATOR, { type: 'deposit', accountId: a.id, cash: op.amount, reference: op.reference });
        const tonnes = op.amount > 1 ? 1 + (op.amount % 150) : op.amount;
        return this.stamp(OPERATOR, { type: 'deposit', accountId: a.id, symbol: SYMBOLS[op.inst], quantity: tonnes, reference: op.reference });
      }
      case 'withdraw': {
        const a = this.account(op.acct);
        const acct = engine.account(a.id);
        if (op.inst === null) {
          const cash = Math.floor(((acct?.cash ?? 0) * op.pct) / 100);
          return this.stamp(OPERATOR, { type: 'withdraw', accountId: a.id, cash, reference: op.reference });
        }
        const available = acct?.positions[op.inst]?.available ?? 0;
        return this.stamp(OPERATOR, { type: 'withdraw', accountId: a.id, symbol: SYMBOLS[op.inst], quantity: Math.floor((available * op.pct) / 100), reference: op.reference });
      }
      case 'setInstrument': {
        const inst = engine.instruments[op.inst];
        const body: Body = { type: 'setInstrument', symbol: inst.symbol, reason: op.reason };
        if (op.bandPct !== null) body.listedBandPct = op.bandPct;
        if (op.refOff !== null) body.referencePrice = inst.referencePrice + op.refOff * inst.profile.tick;
        if (op.status !== null) body.status = op.status;
        if (op.status === 'halted') this.later(op.resumeAfter, RISK, { type: 'setInstrument', symbol: inst.symbol, status: 'trading', reason: 'resumed' });
        return this.stamp(RISK, body);
      }
      case 'market-status':
        if (op.halt) this.later(op.resumeAfter, RISK, { type: 'resumeMarket', reason: 'resumed' });
        return this.stamp(RISK, { type: op.halt ? 'haltMarket' : 'resumeMarket', reason: 'market check' });
      case 'limit-rule': {
        const body: Body = { type: op.kind, symbol: SYMBOLS[op.inst], quantity: op.quantity, reason: 'limit' };
        if (op.who.k === 'class') {
          body.accountClass = op.who.c as AccountClass;
          if (op.plusAllocation) body.plusAllocation = true;
        } else {
          body.accountId = op.who.acct >= this.accounts.length ? 'NOBODY' : this.accounts[op.who.acct].id;
          if (op.plusAllocation) body.plusAllocation = true;
        }
        return this.stamp(RISK, body);
      }
      case 'restrict': {
        const accountId = op.acct >= this.accounts.length ? 'NOBODY' : this.accounts[op.acct].id;
        if (op.restriction !== 'none') this.later(op.liftAfter, RISK, { type: 'restrictAccount', accountId, restriction: 'none', reason: 'lifted' });
        return this.stamp(RISK, { type: 'restrictAccount', accountId, restriction: op.restriction as Restriction, reason: 'supervision' });
      }
      case 'cancelAll': {
        const accountId = op.acct >= this.accounts.length ? 'NOBODY' : this.accounts[op.acct].id;
        return this.stamp(RISK, { type: 'cancelAll', accountId, reason: 'supervision' });
      }
      case 'account-update': {
        const accountId = op.acct >= this.accounts.length ? 'NOBODY' : this.accounts[op.acct].id;
        const body: Body = { type: 'updateAccount', accountId, reason: 'annual allocation' };
        if (op.allocation !== null) body.allocation = op.allocation === 'bad' ? -3 : op.allocation;
        if (op.venues !== 'keep') body.venues = op.venues === 'all' ? null : op.venues === 'bad' ? ['NOPE'] : [op.venues];
        return this.stamp(OPERATOR, body);
      }
      case 'report': {
        const a = this.account(op.acct);
        return this.stamp(this.memberActor(a.member), { type: 'fileLargeHolderReport', accountId: a.id, symbol: SYMBOLS[op.inst], text: op.text });
      }
      case 'resend': {
        const last = this.lastWithClientOrderId;
        if (last !== null) return this.stamp(last.actor, last.body);
        const a = this.accounts[0];
        return this.stamp(this.memberActor(a.member), {
          type: 'placeOrder', accountId: a.id, symbol: 'CEA24', side: 'buy', orderType: 'limit', price: engine.instruments[0].referencePrice, quantity: 1, clientOrderId: 'c9',
        });
      }
      case 'clock': {
        this.time = Math.min(this.time + op.minutes * 60_000, Math.max(this.time, this.endOfDay));
        return null;
      }
      case 'misc': {
        const a = this.accounts[0];
        switch (op.what) {
          case 'memberRisk': return this.stamp(this.memberActor(a.member), { type: 'haltMarket', reason: 'not mine to halt' });
          case 'unknownAccount':
            return this.stamp(this.memberActor(a.member), { type: 'placeOrder', accountId: 'NOBODY', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: engine.instruments[0].referencePrice, quantity: 1 });
          case 'unknownSymbol':
            return this.stamp(this.memberActor(a.member), { type: 'placeOrder', accountId: a.id, symbol: 'NOPE', side: 'buy', orderType: 'limit', price: 5000, quantity: 1 });
          case 'operatorOrder':
            return this.stamp(OPERATOR, { type: 'placeOrder', accountId: a.id, symbol: 'CEA24', side: 'buy', orderType: 'limit', price: engine.instruments[0].referencePrice, quantity: 1 });
          case 'noReason': return this.stamp(RISK, { type: 'cancelAll', accountId: a.id, reason: '' });
        }
      }
    }
  }
}

/** One line per command, for counterexamples: who, what, and what came of it. */
export function describeCommand(c: Command): string {
  const { seq, time, actor, type, ...rest } = c as Command & Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([k, v]) => v !== undefined && k !== 'profile')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');
  const clock = new Date(time + 8 * 3_600_000).toISOString().slice(5, 16).replace('T', ' ');
  return `#${seq} ${clock} ${actor.id} ${type} ${fields}`;
}
