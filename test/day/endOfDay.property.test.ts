// Property (fast-check): after any random trading day (listed limit and market orders, cancels,
// block negotiations of every kind, cash and allowance transfers, restrictions and halts, on two
// instruments, one of them with 0.5 % fees, and a handful of accounts), run through an Engine
// directly with the events collected, the end of day reconciles (MARKET-RULES section 11): settle()
// does not throw; cash paid = cash received + fees; tonnes bought = tonnes sold; each total equals
// the sum over the trade events; every statement closes on the engine's own balances; the market
// report's prices come from listed trades only (section 2.2, 4); nothing stays frozen or pending
// after the run (section 5); and settling again from the same events, or from a JSON copy of them
// as the journal stores them, gives identical JSON. Two days are run, the second opening on the
// first one's closing balances.
import t from 'tap';
import fc from 'fast-check';
import {
  Engine, settle, type AccountClass, type Actor, type Command, type EndOfDayEvent, type EngineEvent, type Restriction, type TradeEvent,
  type VenueProfile,
} from '../../engine/index.ts';
import { allDay, cst, loadProfile, type CommandBody } from '../support/harness.ts';
import { halfUp } from '../support/day.ts';

const SYMBOLS = ['CEA24', 'HBEA'] as const;
const DATES = ['2026-11-20', '2026-11-21'] as const; // every day trades on the all-day profiles
const OPERATOR: Actor = { role: 'operator', id: 'ops1' };
const RISK: Actor = { role: 'risk', id: 'risk1' };

/** Both venues open all day; a block minimum of 100 t so that small accounts negotiate often. */
const PROFILES: VenueProfile[] = [
  { ...allDay(loadProfile('cea')), instruments: [{ symbol: 'CEA24', name: 'National CEA 2024', vintage: 2024 }], blockMinQuantity: 100 },
  { ...allDay(loadProfile('hbea')), blockMinQuantity: 100 },
];
const LISTING = [5746, 4067];

// ---------------------------------------------------------------- arbitraries

interface AccountSpec { id: string; member: string; accountClass: AccountClass; allocation: number; cash: number; tonnes: [number, number] }

const tonnesArb = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.integer({ min: 1, max: 40_000 }) });
const accountsArb = fc.array(
  fc.record({
    accountClass: fc.constantFrom<AccountClass>('compliance', 'institution', 'individual'),
    allocation: fc.integer({ min: 0, max: 5000 }),
    cash: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 600_000_000 }) }),
    tonnes: fc.tuple(tonnesArb, tonnesArb),
  }),
  { minLength: 3, maxLength: 5 },
).map((list) => list.map((a, i): AccountSpec => {
  const member = `M${(i % 3) + 1}`;
  return { id: `${member}-${'ABCDE'[i]}`, member, accountClass: a.accountClass, allocation: a.accountClass === 'compliance' ? a.allocation : 0, cash: a.cash, tonnes: a.tonnes };
}));

type Op =
  | { k: 'limit'; a: number; inst: number; side: 'buy' | 'sell'; off: number; q: number; tif: 'DAY' | 'IOC' | 'FOK' }
  | { k: 'market'; a: number; inst: number; side: 'buy' | 'sell'; q: number }
  | { k: 'cancel'; i: number }
  | { k: 'propose'; a: number; inst: number; side: 'buy' | 'sell'; pct: number; q: number; to: number | null }
  | { k: 'counter'; i: number; a: number; pct: number; q: number }
  | { k: 'accept'; i: number; a: number }
  | { k: 'reject'; i: number }
  | { k: 'withdraw'; i: number; proposer: boolean }
  | { k: 'cash'; a: number; amount: number; out: boolean }
  | { k: 'tonnes'; a: number; inst: number; q: number; out: boolean }
  | { k: 'restrict'; a: number; r: Restriction }
  | { k: 'halt'; inst: number; halted: boolean }
  | { k: 'reference'; inst: number; pct: number };

const idx = fc.nat({ max: 9 });
const inst = fc.nat({ max: 1 });
const sideArb = fc.constantFrom('buy' as const, 'sell' as const);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ k: fc.constant('limit' as const), a: idx, inst, side: sideArb, off: fc.integer({ min: -12, max: 12 }), q: fc.integer({ min: 1, max: 3000 }), tif: fc.constantFrom('DAY' as const, 'DAY' as const, 'IOC' as const, 'FOK' as const) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('market' as const), a: idx, inst, side: sideArb, q: fc.integer({ min: 1, max: 3000 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('cancel' as const), i: idx }) },
  { weight: 12, arbitrary: fc.record({ k: fc.constant('propose' as const), a: idx, inst, side: sideArb, pct: fc.integer({ min: -33, max: 33 }), q: fc.integer({ min: 90, max: 8000 }), to: fc.option(idx, { nil: null }) }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('counter' as const), i: idx, a: idx, pct: fc.integer({ min: -33, max: 33 }), q: fc.integer({ min: 90, max: 8000 }) }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('accept' as const), i: idx, a: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('reject' as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('withdraw' as const), i: idx, proposer: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('cash' as const), a: idx, amount: fc.integer({ min: 1, max: 50_000_000 }), out: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('tonnes' as const), a: idx, inst, q: fc.integer({ min: 1, max: 5000 }), out: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('restrict' as const), a: idx, r: fc.constantFrom<Restriction>('none', 'none', 'no_buy', 'no_sell', 'frozen') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('halt' as const), inst, halted: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('reference' as const), inst, pct: fc.integer({ min: -20, max: 20 }) }) },
);

const dayArb = fc.record({
  accounts: accountsArb,
  days: fc.tuple(fc.array(opArb, { maxLength: 120, size: 'max' }), fc.array(opArb, { maxLength: 120, size: 'max' })),
});

// ---------------------------------------------------------------- driver

class Run {
  readonly engine = new Engine({ tradingDate: DATES[0] });
  seq = 0;
  time = cst(DATES[0], '09:00');
  events: EngineEvent[] = [];
  cashIn = 0;
  cashOut = 0;
  constructor(readonly accounts: AccountSpec[]) {}

  apply(actor: Actor, body: CommandBody): void {
    this.time += 1000;
    const command = { ...body, seq: ++this.seq, time: this.time, actor } as Command;
    const r = this.engine.apply(command);
    if (!r.ok) return;
    for (const e of r.events) {
      this.events.push(e);
      if (e.type === 'account' && e.amount !== null) {
        if (e.change === 'deposit') this.cashIn += e.amount;
        else if (e.change === 'withdraw') this.cashOut += e.amount;
      }
    }
  }

  setup(): void {
    PROFILES.forEach((profile, i) => this.apply(OPERATOR, { type: 'listInstrument', symbol: SYMBOLS[i], profile, listingPrice: LISTING[i] }));
    // A low large-holder threshold so that crossings (and the report) happen.
    for (const symbol of SYMBOLS) {
      for (const accountClass of ['institution', 'individual'] as const) {
        this.apply(RISK, { type: 'setLargeHolderThreshold', symbol, accountClass, quantity: 25_000, reason: 'test' });
      }
    }
    for (const a of this.accounts) {
      this.apply(OPERATOR, { type: 'createAccount', accountId: a.id, member: a.member, accountClass: a.accountClass, allocation: a.allocation });
      if (a.cash > 0) this.apply(OPERATOR, { type: 'deposit', accountId: a.id, cash: a.cash });
      a.tonnes.forEach((q, i) => { if (q > 0) this.apply(OPERATOR, { type: 'deposit', accountId: a.id, symbol: SYMBOLS[i], quantity: q }); });
    }
  }

  private acct(i: number): AccountSpec { return this.accounts[i % this.accounts.length]; }
  private as(a: AccountSpec): Actor { return { role: 'member', id: a.member }; }
  private price(inst: number, pct: number): number {
    const ref = this.engine.instruments[inst].referencePrice;
    return Math.max(1, Math.round((ref * (100 + pct)) / 100));
  }
  private block(i: number) {
    const open = this.engine.blocks.visibleTo(null);
    return open.length === 0 ? undefined : open[i % open.length];
  }

  op(o: Op): void {
    const e = this.engine;
    switch (o.k) {
      case 'limit': {
        const a = this.acct(o.a);
        const inst = e.instruments[o.inst];
        const price = inst.referencePrice + (o.side === 'buy' ? -o.off : o.off) * inst.profile.tick;
        return this.apply(this.as(a), { type: 'placeOrder', accountId: a.id, symbol: inst.symbol, side: o.side, orderType: 'limit', price, quantity: o.q, timeInForce: o.tif });
      }
      case 'market': {
        const a = this.acct(o.a);
        return this.apply(this.as(a), { type: 'placeOrder', accountId: a.id, symbol: SYMBOLS[o.inst], side: o.side, orderType: 'market', quantity: o.q });
      }
      case 'cancel': {
        const open = e.allOpenOrders();
        if (open.length === 0) return;
        const order = open[o.i % open.length];
        return this.apply({ role: 'member', id: order.account.member }, { type: 'cancelOrder', orderId: order.id });
      }
      case 'propose': {
        const a = this.acct(o.a);
        const to = o.to === null ? null : this.acct(o.to).id;
        return this.apply(this.as(a), {
          type: 'proposeBlock', accountId: a.id, symbol: SYMBOLS[o.inst], side: o.side, price: this.price(o.inst, o.pct), quantity: o.q, counterpartyAccountId: to,
        });
      }
      case 'counter': {
        const b = this.block(o.i);
        if (b === undefined) return;
        const who = b.counterparty === null ? e.account(this.acct(o.a).id)! : (b.awaited ?? b.proposer);
        return this.apply({ role: 'member', id: who.member }, { type: 'counterBlock', blockId: b.id, accountId: who.id, price: this.price(b.instrument.index, o.pct), quantity: o.q });
      }
      case 'accept': {
        const b = this.block(o.i);
        if (b === undefined) return;
        const who = b.counterparty === null ? e.account(this.acct(o.a).id)! : (b.awaited ?? b.proposer);
        return this.apply({ role: 'member', id: who.member }, { type: 'acceptBlock', blockId: b.id, accountId: who.id });
      }
      case 'reject': {
        const b = this.block(o.i);
        if (b === undefined || b.awaited === null) return;
        return this.apply({ role: 'member', id: b.awaited.member }, { type: 'rejectBlock', blockId: b.id });
      }
      case 'withdraw': {
        const b = this.block(o.i);
        if (b === undefined) return;
        const who = o.proposer ? b.proposer : b.termsBy;
        return this.apply({ role: 'member', id: who.member }, { type: 'withdrawBlock', blockId: b.id });
      }
      case 'cash': {
        const a = this.acct(o.a);
        const amount = o.out ? Math.min(o.amount, e.account(a.id)!.cash) : o.amount;
        if (amount <= 0) return;
        return this.apply(OPERATOR, { type: o.out ? 'withdraw' : 'deposit', accountId: a.id, cash: amount });
      }
      case 'tonnes': {
        const a = this.acct(o.a);
        const q = o.out ? Math.min(o.q, e.account(a.id)!.positions[o.inst]?.available ?? 0) : o.q;
        if (q <= 0) return;
        return this.apply(OPERATOR, { type: o.out ? 'withdraw' : 'deposit', accountId: a.id, symbol: SYMBOLS[o.inst], quantity: q });
      }
      case 'restrict':
        return this.apply(RISK, { type: 'restrictAccount', accountId: this.acct(o.a).id, restriction: o.r, reason: 'supervision' });
      case 'halt':
        return this.apply(RISK, { type: 'setInstrument', symbol: SYMBOLS[o.inst], status: o.halted ? 'halted' : 'trading', reason: 'check' });
      case 'reference': {
        // A risk officer moves the bands' reference: it must not change the day's prevClose or close.
        const tick = e.instruments[o.inst].profile.tick;
        const price = Math.max(tick, Math.round(this.price(o.inst, o.pct) / tick) * tick);
        return this.apply(RISK, { type: 'setInstrument', symbol: SYMBOLS[o.inst], referencePrice: price, reason: 'check' });
      }
    }
  }

  /** Lifts every restriction and halt, then closes the day; returns the day's events and its end-of-day event. */
  close(date: string): { events: EngineEvent[]; eod: EndOfDayEvent } {
    for (const a of this.accounts) this.apply(RISK, { type: 'restrictAccount', accountId: a.id, restriction: 'none', reason: 'end of day' });
    for (const symbol of SYMBOLS) this.apply(RISK, { type: 'setInstrument', symbol, status: 'trading', reason: 'end of day' });
    this.time = Math.max(this.time, cst(date, '23:00'));
    this.apply(OPERATOR, { type: 'endOfDay', date });
    const events = this.events;
    this.events = [];
    const eod = events[events.length - 1];
    if (eod?.type !== 'endOfDay') throw new Error(`the end of day of ${date} was refused`);
    return { events, eod };
  }
}

// ---------------------------------------------------------------- the property

const toFen = (s: string): number => {
  const neg = s.startsWith('-');
  const [u, c] = (neg ? s.slice(1) : s).split('.');
  return (neg ? -1 : 1) * (Number(u) * 100 + Number(c));
};

/** Everything the end of day must satisfy for one closed day. */
function checkDay(run: Run, events: EngineEvent[], eod: EndOfDayEvent, previous: EndOfDayEvent | null, feesBefore: number): void {
  const fail = (m: string): never => { throw new Error(`${eod.date}: ${m}`); };
  const r = settle(events, eod, previous?.accounts ?? null); // throws SettlementError unless it reconciles

  // Totals reconcile, and equal the sums over the trade events.
  const trades = events.filter((e): e is TradeEvent => e.type === 'trade');
  const amount = trades.reduce((s, e) => s + e.price * e.quantity, 0);
  const buyFees = trades.reduce((s, e) => s + e.buyFee, 0);
  const sellFees = trades.reduce((s, e) => s + e.sellFee, 0);
  const tonnes = trades.reduce((s, e) => s + e.quantity, 0);
  const tot = r.totals;
  if (toFen(tot.cashPaid) !== toFen(tot.cashReceived) + toFen(tot.fees)) fail(`cash paid ${tot.cashPaid} ≠ received ${tot.cashReceived} + fees ${tot.fees}`);
  if (tot.tonnesBought !== tot.tonnesSold) fail(`tonnes bought ${tot.tonnesBought} ≠ sold ${tot.tonnesSold}`);
  if (toFen(tot.cashPaid) !== amount + buyFees) fail(`cash paid ${tot.cashPaid} ≠ Σ amounts + buyer fees ${amount + buyFees}`);
  if (toFen(tot.fees) !== buyFees + sellFees) fail(`fees ${tot.fees} ≠ Σ trade fees`);
  if (toFen(tot.fees) !== eod.feesCollected - feesBefore) fail(`fees ${tot.fees} ≠ the exchange's fees of the day ${eod.feesCollected - feesBefore}`);
  if (tot.tonnesBought !== tonnes || tot.tradeCount !== trades.length) fail('tonnes or trade count ≠ the trade events');

  // Statements close on the engine's own balances; nothing stays frozen or pending after the run.
  for (const s of r.statements) {
    const acct = run.engine.account(s.accountId) ?? fail(`statement for an unknown account ${s.accountId}`);
    if (toFen(s.cash.closing) !== acct.cash) fail(`${s.accountId} closes ${s.cash.closing}, the engine has ${acct.cash}`);
    if (acct.cashFrozen !== 0) fail(`${s.accountId} still has ${acct.cashFrozen} fen frozen after the end of day`);
    for (const i of s.instruments) {
      const pos = acct.positions[run.engine.instrument(i.symbol)!.index];
      if ((pos?.available ?? 0) !== i.closing) fail(`${s.accountId} ${i.symbol} closes ${i.closing} t, the engine has ${pos?.available}`);
    }
    for (const pos of acct.positions) {
      if (pos !== undefined && (pos.frozen !== 0 || pos.pending !== 0 || pos.openBuy !== 0)) {
        fail(`${s.accountId} position ${pos.instrumentIndex} keeps frozen ${pos.frozen}, pending ${pos.pending}, openBuy ${pos.openBuy}`);
      }
    }
    if (previous !== null) {
      const before = previous.accounts.find((a) => a.accountId === s.accountId);
      if (before !== undefined && toFen(s.cash.opening) !== before.cash) fail(`${s.accountId} opens with ${s.cash.opening}, closed yesterday with ${before.cash}`);
    }
  }
  if (run.engine.openOrderCount !== 0 || run.engine.blocks.open.size !== 0) fail('orders or block proposals survive the end of day');

  // Prices from listed trades only; volume and turnover from all of them.
  for (const m of r.market) {
    const listed = trades.filter((e) => e.symbol === m.symbol && e.mode === 'listed');
    const blocks = trades.filter((e) => e.symbol === m.symbol && e.mode === 'block');
    const prev = toFen(m.prevClose);
    const before = previous === null ? LISTING[(SYMBOLS as readonly string[]).indexOf(m.symbol)] : previous.instruments.find((i) => i.symbol === m.symbol)!.close;
    if (prev !== before) fail(`${m.symbol} prevClose ${m.prevClose}, the previous close was ${before}`);
    const lv = listed.reduce((s, e) => s + e.quantity, 0);
    const lt = listed.reduce((s, e) => s + e.price * e.quantity, 0);
    const bv = blocks.reduce((s, e) => s + e.quantity, 0);
    const bt = blocks.reduce((s, e) => s + e.price * e.quantity, 0);
    const want = {
      open: listed.length === 0 ? prev : listed[0].price,
      high: listed.length === 0 ? null : Math.max(...listed.map((e) => e.price)),
      low: listed.length === 0 ? null : Math.min(...listed.map((e) => e.price)),
      close: lv === 0 ? prev : halfUp(lt, lv),
    };
    const got = { open: toFen(m.open), high: m.high === null ? null : toFen(m.high), low: m.low === null ? null : toFen(m.low), close: toFen(m.close) };
    if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${m.symbol} prices ${JSON.stringify(got)}, the listed trades give ${JSON.stringify(want)}`);
    if (m.listedVolume !== lv || toFen(m.listedTurnover) !== lt || m.blockVolume !== bv || toFen(m.blockTurnover) !== bt) fail(`${m.symbol} volumes`);
    if (m.totalVolume !== lv + bv || toFen(m.totalTurnover) !== lt + bt) fail(`${m.symbol} totals`);
    if (m.trades !== listed.length + blocks.length) fail(`${m.symbol} trade count`);
    if (run.engine.instrument(m.symbol)!.referencePrice !== want.close) fail(`${m.symbol} tomorrow's reference is not today's close`);
  }

  // Settling again, or from the events as the journal stores them (JSON), gives the same reports.
  const once = JSON.stringify(r);
  if (JSON.stringify(settle(events, eod, previous?.accounts ?? null)) !== once) fail('a second settlement differs');
  const copy = JSON.parse(JSON.stringify({ events, eod, previous })) as { events: EngineEvent[]; eod: EndOfDayEvent; previous: EndOfDayEvent | null };
  if (JSON.stringify(settle(copy.events, copy.eod, copy.previous?.accounts ?? null)) !== once) fail('a settlement from a JSON copy differs');
}

t.test('any random day reconciles at the end of day, and settles identically twice', async (t) => {
  let trades = 0, blockTrades = 0, days = 0;
  fc.assert(
    fc.property(dayArb, ({ accounts, days: ops }) => {
      const run = new Run(accounts);
      run.setup();
      let previous: EndOfDayEvent | null = null;
      let feesBefore = 0;
      for (let d = 0; d < 2; d++) {
        run.time = Math.max(run.time, cst(DATES[d], '09:30'));
        for (const o of ops[d]) run.op(o);
        const { events, eod } = run.close(DATES[d]);
        checkDay(run, events, eod, previous, feesBefore);
        for (const e of events) if (e.type === 'trade') { trades++; if ((e as TradeEvent).mode === 'block') blockTrades++; }
        previous = eod;
        feesBefore = eod.feesCollected;
        days++;
      }
      // Over both days, cash is conserved: what the accounts hold + the fees = deposits − withdrawals.
      const held = [...run.engine.accounts.values()].reduce((s, a) => s + a.cash + a.cashFrozen, 0);
      if (held + run.engine.feesCollected !== run.cashIn - run.cashOut) throw new Error('cash is not conserved');
    }),
    { numRuns: 250 },
  );
  t.ok(trades > 1000, `${trades} trades over ${days} random days`);
  t.ok(blockTrades > 100, `${blockTrades} of them block trades`);
});
