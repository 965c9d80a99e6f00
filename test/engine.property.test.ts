// Property tests of the matching engine over long random market days (test/support/arbitraries.ts):
// after every command the books are uncrossed, cash and tonnes are conserved, what is frozen is what
// open orders reserve, nothing is negative, every trade is at the maker's price within the band with
// the venue's fee; a rejection changes nothing; the fast ladder book and the plain reference book give
// the same results; the same commands give the same hash; a snapshot restored mid-day replays exactly.
// Example-based checks at the end cover corners the random search rarely reaches.
import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import {
  BUY, Engine, SELL, referenceBook, type BookFactory, type Command, type EngineEvent, type OrderEvent, type Result,
  type Side,
} from '../engine/index.ts';
import { Driver, Ledger, TRADING_DATE, cutDayArb, dayArb, describeCommand, type Day, type Op } from './support/arbitraries.ts';
import { Harness, allDay, fen, loadProfile, ok, ordersOf, rejected, tradesOf } from './support/harness.ts';

// ------------------------------------------------------------------------------------ invariants

export class InvariantError extends Error {
  constructor(readonly check: string, message: string) {
    super(`[${check}] ${message}`);
  }
}

const NO_SKIP: ReadonlySet<string> = new Set();
const RATE_SCALE = 100_000_000;

/**
 * Every invariant of the engine's state, read through its public surface. Throws an InvariantError
 * naming the broken check. `skip` leaves out named checks (to look past a known failure).
 * Checks: crossed, band, priority, book, depth, open, frozen, reserve, negative, cash, tonnes, fees, stats.
 */
export function checkInvariants(engine: Engine, ledger: Ledger, skip: ReadonlySet<string> = NO_SKIP): void {
  const fail = (check: string, message: string): void => {
    if (!skip.has(check)) throw new InvariantError(check, message);
  };
  const open = engine.allOpenOrders();
  const openById = new Map(open.map((o) => [o.id, o]));
  let inBooks = 0;

  for (const inst of engine.instruments) {
    const book = inst.book;
    const tick = inst.profile.tick;
    const sides = [book.ordersInPriority(BUY), book.ordersInPriority(SELL)];
    const [bids, asks] = sides;
    if (bids.length > 0 && asks.length > 0 && bids[0].price >= asks[0].price) {
      fail('crossed', `${inst.symbol}: best bid ${bids[0].price} (#${bids[0].id}) >= best ask ${asks[0].price} (#${asks[0].id})`);
    }
    for (const side of [BUY, SELL] as Side[]) {
      const orders = sides[side];
      inBooks += orders.length;
      if (book.count(side) !== orders.length) fail('book', `${inst.symbol} side ${side}: count() ${book.count(side)} but ${orders.length} orders in priority`);
      if ((book.best(side) ?? null) !== (orders[0] ?? null)) fail('book', `${inst.symbol} side ${side}: best() is not the first order in priority`);
      const expected: [number, number, number][] = [];
      for (let k = 0; k < orders.length; k++) {
        const o = orders[k];
        if (o.price < inst.bandLow || o.price > inst.bandHigh) fail('band', `${inst.symbol}: #${o.id} rests at ${o.price}, outside today's band ${inst.bandLow}–${inst.bandHigh}`);
        if (o.price % tick !== 0) fail('band', `${inst.symbol}: #${o.id} rests at ${o.price}, off the tick ${tick}`);
        if (o.side !== side || o.instrument !== inst) fail('book', `#${o.id} sits in the wrong book or side`);
        if (openById.get(o.id) !== o) fail('book', `#${o.id} rests in ${inst.symbol} but is not an open order of the engine`);
        if (!o.resting) fail('book', `#${o.id} is in the book but not marked resting`);
        if (k > 0) {
          const p = orders[k - 1];
          const better = side === BUY ? p.price > o.price : p.price < o.price;
          if (!(better || (p.price === o.price && p.seq < o.seq))) {
            fail('priority', `${inst.symbol}: #${p.id} (${p.price}, seq ${p.seq}) comes before #${o.id} (${o.price}, seq ${o.seq})`);
          }
        }
        const last = expected[expected.length - 1];
        if (last !== undefined && last[0] === o.price) { last[1] += o.remaining; last[2]++; }
        else expected.push([o.price, o.remaining, 1]);
      }
      const depth = book.depth(side, 10_000);
      if (!isDeepStrictEqual(depth, expected)) {
        fail('depth', `${inst.symbol} ${side === BUY ? 'bids' : 'asks'}: depth() says ${JSON.stringify(depth)}, the orders add up to ${JSON.stringify(expected)}`);
      }
      for (let r = 1; r <= expected.length + 1; r++) {
        const lp = book.deepestPrice(side, r);
        const want = expected[Math.min(r, expected.length) - 1]?.[0] ?? null;
        if (lp !== want) fail('depth', `${inst.symbol} side ${side}: deepestPrice(${r}) = ${lp}, expected ${want}`);
      }
    }
  }
  if (inBooks !== open.length) fail('book', `${open.length} open orders but ${inBooks} resting in books`);

  // Per account and position: what open orders reserve.
  const frozenCash = new Map<string, number>();
  const openCount = new Map<string, number>();
  const posFrozen = new Map<string, number>();
  const posOpenBuy = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const o of open) {
    const rem = o.remaining;
    if (!Number.isSafeInteger(rem) || rem <= 0) fail('open', `open order #${o.id} has remaining ${rem}`);
    if (!o.isOpen) fail('open', `#${o.id} is in the open orders with status ${o.status}`);
    if (o.type !== 'limit' || o.tif !== 'DAY') fail('open', `#${o.id} rests but is a ${o.type} ${o.tif} order`);
    if ((o.filled === 0) !== (o.status === 'new')) fail('open', `#${o.id} has filled ${o.filled} t but status ${o.status}`);
    if (!Number.isSafeInteger(o.frozenCash) || o.frozenCash < 0) fail('negative', `#${o.id} has frozenCash ${o.frozenCash}`);
    if (o.position !== o.account.positions[o.instrument.index]) fail('open', `#${o.id} points at a position its account does not hold`);
    add(openCount, o.account.id, 1);
    const key = `${o.account.id}/${o.instrument.symbol}`;
    if (o.side === BUY) {
      add(frozenCash, o.account.id, o.frozenCash);
      add(posOpenBuy, key, rem);
      // Full funds: an open buy can always pay for its remainder at its limit, fees included
      // (L·R + L·R·rate + R/2: each later fill rounds its fee up by at most half a fen).
      const rate = o.instrument.profile.fees.listed.buy;
      const notional = o.price * rem;
      const short = rate === 0
        ? o.frozenCash < notional
        : o.frozenCash * 2 * RATE_SCALE < notional * 2 * RATE_SCALE + 2 * notional * rate + RATE_SCALE * rem;
      if (short) fail('reserve', `open buy #${o.id} (${rem} t at ${o.price}) holds only ${o.frozenCash} fen`);
    } else {
      if (o.frozenCash !== 0) fail('frozen', `sell #${o.id} holds cash ${o.frozenCash}`);
      add(posFrozen, key, rem);
    }
  }

  let cash = 0;
  const tonnes = new Map<string, number>();
  for (const a of engine.accounts.values()) {
    for (const [name, v] of [['cash', a.cash], ['cashFrozen', a.cashFrozen]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) fail('negative', `account ${a.id} ${name} = ${v}`);
    }
    cash += a.cash + a.cashFrozen;
    if (a.cashFrozen !== (frozenCash.get(a.id) ?? 0)) {
      fail('frozen', `account ${a.id} cashFrozen ${a.cashFrozen}, its open buys reserve ${frozenCash.get(a.id) ?? 0}`);
    }
    if (a.openOrders !== (openCount.get(a.id) ?? 0)) fail('open', `account ${a.id} counts ${a.openOrders} open orders, it has ${openCount.get(a.id) ?? 0}`);
    a.positions.forEach((p, index) => {
      if (p === undefined) return;
      const symbol = engine.instruments[index].symbol;
      for (const [name, v] of [['available', p.available], ['frozen', p.frozen], ['pending', p.pending], ['openBuy', p.openBuy]] as const) {
        if (!Number.isSafeInteger(v) || v < 0) fail('negative', `${a.id} ${symbol} ${name} = ${v}`);
      }
      const key = `${a.id}/${symbol}`;
      if (p.frozen !== (posFrozen.get(key) ?? 0)) fail('frozen', `${key} frozen ${p.frozen}, open sells hold ${posFrozen.get(key) ?? 0}`);
      if (p.openBuy !== (posOpenBuy.get(key) ?? 0)) fail('frozen', `${key} openBuy ${p.openBuy}, open buys want ${posOpenBuy.get(key) ?? 0}`);
      add(tonnes, symbol, p.available + p.frozen + p.pending);
    });
  }
  if (!Number.isSafeInteger(engine.feesCollected) || engine.feesCollected < 0) fail('negative', `feesCollected = ${engine.feesCollected}`);
  const cashExpected = ledger.cashIn - ledger.cashOut;
  if (cash + engine.feesCollected !== cashExpected) {
    fail('cash', `Σ(cash + cashFrozen) ${cash} + fees ${engine.feesCollected} = ${cash + engine.feesCollected}, deposits − withdrawals = ${cashExpected}`);
  }
  for (const inst of engine.instruments) {
    const expected = (ledger.tonnesIn.get(inst.symbol) ?? 0) - (ledger.tonnesOut.get(inst.symbol) ?? 0);
    const held = tonnes.get(inst.symbol) ?? 0;
    if (held !== expected) fail('tonnes', `${inst.symbol}: Σ(available + frozen + pending) = ${held}, deposited − withdrawn = ${expected}`);
  }
  if (ledger.feesInEvents !== engine.feesCollected) fail('fees', `trade events carry ${ledger.feesInEvents} fen of fees, feesCollected = ${engine.feesCollected}`);

  // The day's statistics are those of the listed trades reported.
  for (const inst of engine.instruments) {
    const seen = ledger.trades.get(inst.symbol);
    const st = inst.stats;
    const actual = { open: st.open, high: st.high, low: st.low, last: st.last, volume: st.listedVolume, turnover: st.listedTurnover, count: st.trades };
    const expected = seen ?? { open: null, high: null, low: null, last: null, volume: 0, turnover: 0, count: 0 };
    if (!isDeepStrictEqual(actual, { ...expected })) fail('stats', `${inst.symbol} stats ${JSON.stringify(actual)}, trade events say ${JSON.stringify(expected)}`);
  }
}

/** What rested before a command: the makers it may trade against. */
type Resting = Map<number, { price: number; side: Side; accountId: string; remaining: number }>;
function restingOf(engine: Engine): Resting {
  return new Map(engine.allOpenOrders().map((o) => [o.id, { price: o.price, side: o.side, accountId: o.account.id, remaining: o.remaining }]));
}

/** Half-up fee of an independent formula: turnover × rate, rate a decimal string. */
function feeOf(turnover: number, rate: string): number {
  const [units, frac = ''] = rate.split('.');
  const scale = 10 ** frac.length;
  const r = Number(units) * scale + Number(frac || '0'); // rate = r / scale
  return Math.floor((turnover * r * 2 + scale) / (2 * scale));
}

/** The events of one command: trades at the maker's price, in the band, with the venue's fee; FOK all or nothing. */
function checkEvents(engine: Engine, c: Command, r: Result, before: Resting, ledger: Ledger): void {
  if (!r.ok) return;
  const fail = (check: string, message: string) => { throw new InvariantError(check, message); };
  const makerUse = new Map<number, number>();
  let takerFilled = 0;
  for (const e of r.events) {
    if (e.type !== 'trade') continue;
    const inst = engine.instrument(e.symbol);
    if (inst === undefined) { fail('trade', `trade in unknown ${e.symbol}`); continue; }
    if (!Number.isSafeInteger(e.quantity) || e.quantity <= 0) fail('trade', `trade ${e.tradeId} of ${e.quantity} t`);
    if (e.price < inst.bandLow || e.price > inst.bandHigh) fail('trade', `trade ${e.tradeId} at ${e.price} outside the band ${inst.bandLow}–${inst.bandHigh}`);
    if (e.mode !== 'listed') fail('trade', `trade ${e.tradeId} is ${e.mode}, only listed orders were sent`);
    if (e.buyAccountId === e.sellAccountId) fail('trade', `trade ${e.tradeId}: account ${e.buyAccountId} traded with itself`);
    const makerId = (e.aggressor === 'buy' ? e.sellOrderId : e.buyOrderId) as number;
    const maker = before.get(makerId);
    if (maker === undefined) fail('trade', `trade ${e.tradeId}: maker #${makerId} was not resting before the command`);
    else {
      if (maker.price !== e.price) fail('trade', `trade ${e.tradeId} at ${e.price}, the maker #${makerId} rested at ${maker.price}`);
      if (maker.side !== (e.aggressor === 'buy' ? SELL : BUY)) fail('trade', `trade ${e.tradeId}: maker #${makerId} is on the aggressor's side`);
      const used = (makerUse.get(makerId) ?? 0) + e.quantity;
      makerUse.set(makerId, used);
      if (used > maker.remaining) fail('trade', `maker #${makerId} had ${maker.remaining} t, traded ${used} t`);
    }
    takerFilled += e.quantity;
    // The taker's limit.
    if (c.type === 'placeOrder' && c.orderType === 'limit' && typeof c.price === 'number') {
      if (c.side === 'buy' ? e.price > c.price : e.price < c.price) fail('trade', `trade ${e.tradeId} at ${e.price} beyond the taker's limit ${c.price}`);
    }
    if (c.type === 'modifyOrder' && typeof c.price === 'number') {
      if (e.aggressor === 'buy' ? e.price > c.price : e.price < c.price) fail('trade', `trade ${e.tradeId} at ${e.price} beyond the modified limit ${c.price}`);
    }
    const fees = inst.profile.source.fees.listed;
    const turnover = e.price * e.quantity;
    if (e.buyFee !== feeOf(turnover, fees.buy) || e.sellFee !== feeOf(turnover, fees.sell)) {
      fail('trade', `trade ${e.tradeId} of ${turnover} fen: fees ${e.buyFee}/${e.sellFee}, expected ${feeOf(turnover, fees.buy)}/${feeOf(turnover, fees.sell)}`);
    }
    ledger.trade(e);
  }
  if (c.type === 'placeOrder' && r.orderId !== undefined && !r.duplicate) {
    const own = r.events.filter((e): e is OrderEvent => e.type === 'order' && e.orderId === r.orderId);
    const last = own[own.length - 1];
    if (last === undefined) { fail('order', `placeOrder accepted without an order event for #${r.orderId}`); return; }
    if (last.filled !== takerFilled) fail('order', `#${last.orderId} reports ${last.filled} t filled, its trades add up to ${takerFilled} t`);
    if (last.timeInForce === 'FOK' && last.filled !== 0 && last.filled !== last.quantity) fail('order', `FOK #${last.orderId} filled ${last.filled} of ${last.quantity} t`);
    // A pick trades once, with the picked order: filled, or what that order had and the rest cancelled.
    if (last.orderType === 'pick' && (last.filled === 0 || (last.filled === last.quantity ? last.status !== 'filled' : last.status !== 'cancelled' || last.reason !== 'pick_remainder'))) {
      fail('order', `pick #${last.orderId} filled ${last.filled} of ${last.quantity} t, ${last.status} (${last.reason})`);
    }
    const resting = engine.order(last.orderId) !== undefined;
    if (last.timeInForce !== 'DAY' && resting) fail('order', `${last.orderType} ${last.timeInForce} #${last.orderId} rests in the book`);
    if (resting !== (last.status === 'new' || last.status === 'partially_filled')) fail('order', `#${last.orderId} status ${last.status} but resting=${resting}`);
  }
}

// ------------------------------------------------------------------------------------ driving

function summary(r: Result): string {
  if (!r.ok) return r.code;
  if (r.duplicate) return r.transferSeq !== undefined ? `ok duplicate of transfer S${r.transferSeq}` : `ok duplicate of #${r.orderId}`;
  const parts = r.events.map((e: EngineEvent) => {
    switch (e.type) {
      case 'trade': return `trade ${e.quantity}@${e.price} b#${e.buyOrderId} s#${e.sellOrderId} fees ${e.buyFee}/${e.sellFee}`;
      case 'order': return `#${e.orderId} ${e.status}${e.reason ? `(${e.reason})` : ''} ${e.filled}/${e.quantity}`;
      case 'largeHolder': return `largeHolder ${e.action} ${e.accountId} ${e.holding}>${e.threshold}`;
      case 'instrument': return `${e.symbol} ${e.status} band ${e.bandLow}–${e.bandHigh}`;
      default: return e.type;
    }
  });
  return `ok ${parts.join('; ')}`;
}

interface Hooks {
  /** Before the commands of op `index` (the tail's ops continue the count). */
  op?: (index: number) => void;
  before?: (c: Command) => void;
  after?: (c: Command, r: Result, index: number) => void;
}

/**
 * Plays a day on an engine: set-up, the ops, then the tail on the next calendar day. Hooks see
 * each command; a hook that throws gets the recent commands appended to its message.
 */
function play(day: Day, engine: Engine, hooks: Hooks = {}): { commands: Command[]; results: Result[] } {
  const driver = new Driver(day.setup);
  const commands: Command[] = [];
  const results: Result[] = [];
  const step = (c: Command) => {
    hooks.before?.(c);
    const r = engine.apply(c);
    commands.push(c);
    results.push(r);
    try {
      hooks.after?.(c, r, commands.length - 1);
    } catch (e) {
      throw withTrace(e, commands, results);
    }
  };
  for (const c of driver.setupCommands()) step(c);
  let index = 0;
  const run = (op: Op) => {
    try {
      hooks.op?.(index++);
    } catch (e) {
      throw withTrace(e, commands, results);
    }
    for (const c of driver.commands(op, engine)) step(c);
  };
  for (const op of day.ops) run(op);
  driver.nextDay();
  for (const op of day.tail) run(op);
  return { commands, results };
}

function withTrace(e: unknown, commands: Command[], results: Result[]): Error {
  const from = Math.max(0, commands.length - 60);
  const lines = commands.slice(from).map((c, i) => `  ${describeCommand(c)}\n      → ${summary(results[from + i])}`);
  const message = e instanceof Error ? e.message : String(e);
  return new Error(`${message}\n  commands${from > 0 ? ` (last ${commands.length - from} of ${commands.length})` : ''}:\n${lines.join('\n')}`);
}

/**
 * The snapshot text without the sequencing cursor (lastSeq, lastTime): every command, accepted or
 * not, moves it, and the state hash includes it, so "a rejection changes nothing" compares the rest.
 */
function stateText(engine: Engine): string {
  const s = engine.snapshot();
  s.lastSeq = 0;
  s.lastTime = 0;
  return JSON.stringify(s);
}

function firstDifference(a: unknown, b: unknown): string {
  const x = JSON.stringify(a), y = JSON.stringify(b);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  return `\n    one:   …${x.slice(Math.max(0, i - 150), i + 150)}\n    other: …${y.slice(Math.max(0, i - 150), i + 150)}`;
}

// ------------------------------------------------------------------------------------ running properties

// FC_SEED=<seed> FC_PATH=<path> replays a reported counterexample (with tap --grep=<property name>);
// FC_RUNS_SCALE=10 runs every property ten times longer, for a hunt.
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const PATH = process.env.FC_PATH;
const SCALE = Number(process.env.FC_RUNS_SCALE ?? '1');

function runProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (v: T) => void, numRuns: number, timeLimitMs: number): void {
  t.test(name, (t) => {
    const started = Date.now();
    const details = fc.check(fc.property(arb, predicate), {
      numRuns: Math.max(1, Math.round(numRuns * SCALE)),
      seed: SEED,
      path: PATH,
      plugins: [fc.interruptAfterTimeLimit(timeLimitMs * SCALE)],
    });
    const took = `${details.numRuns} runs, ${details.numShrinks} shrinks, ${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (details.failed) {
      // The shrunk counterexample as concrete commands (the error carries them); the abstract ops
      // are too long to be worth printing.
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance ?? 'interrupted');
      const [first, ...rest] = error.split('\n');
      t.fail(`${name}: ${first}`, { seed: details.seed, path: details.counterexamplePath, runs: took });
      t.comment(`counterexample of "${name}" (${took}):\n${first}\n${rest.join('\n')}`);
    } else t.pass(`${name} (${took})`);
    t.end();
  });
}

// ------------------------------------------------------------------------------------ properties

/** Invariants 1–5 after every command, and 10 on every command's events. */
function invariantsHold(skip: ReadonlySet<string>) {
  return (day: Day) => {
    const engine = new Engine({ tradingDate: TRADING_DATE });
    const ledger = new Ledger();
    let before: Resting = new Map();
    play(day, engine, {
      before: () => { before = restingOf(engine); },
      after: (c, r) => {
        ledger.record(c, r);
        checkEvents(engine, c, r, before, ledger);
        checkInvariants(engine, ledger, skip);
      },
    });
  };
}

runProperty('every invariant holds after every command (books, conservation, reserves, trades)',
  dayArb(300), invariantsHold(NO_SKIP), 100, 8_000);

// Long days. (To look past a known failure of one check, pass its name in the skip set, e.g.
// new Set(['depth']), so that it cannot hide a broken conservation or reserve.)
runProperty('over long days, every invariant holds after every command',
  dayArb(1000), invariantsHold(NO_SKIP), 100, 8_000);

/** Invariant 6: a rejection (or a duplicate clientOrderId) leaves the state as it was. */
function rejectionsChangeNothing(day: Day): void {
  const engine = new Engine({ tradingDate: TRADING_DATE });
  let before = '';
  play(day, engine, {
    before: () => { before = stateText(engine); },
    after: (_c, r) => {
      if (r.ok && !r.duplicate) return;
      const after = stateText(engine);
      if (after !== before) throw new InvariantError('rejection', `${r.ok ? 'a duplicate' : `rejection ${r.code}`} changed the state:${firstDifference(before, after)}`);
    },
  });
}

runProperty('a rejected command (or a duplicate clientOrderId) changes nothing (state hash apart from lastSeq/lastTime)',
  dayArb(300), rejectionsChangeNothing, 60, 6_000);

// 7: the fast book and the plain reference book, command by command.
runProperty('the LadderBook engine and the ReferenceBook engine give identical results and hashes',
  dayArb(800), (day) => {
    const ref = new Engine({ tradingDate: TRADING_DATE, bookFactory: referenceBook });
    const fast = new Engine({ tradingDate: TRADING_DATE });
    const ledger = new Ledger();
    play(day, fast, {
      after: (c, r, i) => {
        const r2 = ref.apply(c);
        if (!isDeepStrictEqual(r, r2)) throw new InvariantError('books', `results differ:${firstDifference(r, r2)}`);
        ledger.record(c, r2);
        if (r2.ok) {
          for (const e of tradesOf(r2.events)) ledger.trade(e);
        }
        if (i % 10 === 0) checkInvariants(ref, ledger); // the plain book's own depth and priority, now and then
        if (i % 50 === 0 && fast.stateHash() !== ref.stateHash()) throw new InvariantError('books', `state hashes differ:${firstDifference(fast.snapshot(), ref.snapshot())}`);
      },
    });
    if (fast.stateHash() !== ref.stateHash()) throw new Error(`final state hashes differ:${firstDifference(fast.snapshot(), ref.snapshot())}`);
  }, 80, 8_000);

// 8: determinism.
runProperty('the same commands on fresh engines give the same results and the same hash',
  dayArb(500), (day) => {
    const first = new Engine({ tradingDate: TRADING_DATE });
    const { commands, results } = play(day, first);
    const second = new Engine({ tradingDate: TRADING_DATE });
    commands.forEach((c, i) => {
      const r = second.apply(c);
      if (!isDeepStrictEqual(r, results[i])) throw withTrace(new InvariantError('determinism', `result of command ${i} differs:${firstDifference(results[i], r)}`), commands.slice(0, i + 1), results);
    });
    if (first.stateHash() !== second.stateHash()) throw new Error('same commands, different hashes');
  }, 40, 5_000);

// 9: snapshot at a random cut, through JSON, restored (on either book), then both replay the rest.
runProperty('a snapshot restored mid-day (via JSON) replays the rest with the same results and hash',
  fc.tuple(cutDayArb(400, 200), fc.boolean()), ([{ day, cut }, plainBook]) => {
    const engine = new Engine({ tradingDate: TRADING_DATE });
    const factory: BookFactory | undefined = plainBook ? referenceBook : undefined;
    let restored: Engine | null = null;
    const restore = () => {
      const copy = Engine.restore(JSON.parse(JSON.stringify(engine.snapshot())), { bookFactory: factory });
      if (copy.stateHash() !== engine.stateHash()) throw new InvariantError('restore', `restored hash differs:${firstDifference(engine.snapshot(), copy.snapshot())}`);
      return copy;
    };
    const { commands, results } = play(day, engine, {
      op: (i) => { if (i === cut) restored = restore(); },
      after: (c, r) => {
        if (restored === null) return;
        const r2 = restored.apply(c);
        if (!isDeepStrictEqual(r, r2)) throw new InvariantError('restore', `after the restore before op ${cut}, results differ:${firstDifference(r, r2)}`);
      },
    });
    try {
      const copy: Engine = restored ?? restore(); // a cut after the last op: restore at the end
      if (copy.stateHash() !== engine.stateHash()) throw new InvariantError('restore', `final hashes differ after the restore before op ${cut}:${firstDifference(engine.snapshot(), copy.snapshot())}`);
    } catch (e) {
      throw withTrace(e, commands, results);
    }
  }, 250, 8_000);

// ------------------------------------------------------------------------------------ examples

/** A Harness that keeps the ledger of what it applied, for checkInvariants. */
class LedgerHarness extends Harness {
  readonly ledger = new Ledger();
  override run(actor: Command['actor'], body: Parameters<Harness['run']>[1]): Result {
    const r = super.run(actor, body);
    this.ledger.record(this.log[this.log.length - 1], r);
    if (r.ok) for (const e of tradesOf(r.events)) this.ledger.trade(e);
    return r;
  }
}

/** Two accounts of member M1 and one of M2, on the national profile open all day (or a Hubei-like one). */
function market(options: { fees?: boolean } = {}) {
  const h = new LedgerHarness();
  const base = allDay(loadProfile('cea'));
  const profile = options.fees
    ? { ...base, venue: 'HBEA', instruments: [{ symbol: 'HBEA', name: 'Hubei', vintage: null }], pickQuantity: 'whole' as const,
      fees: { listed: { buy: '0.005', sell: '0.005' }, block: { buy: '0.005', sell: '0.005' }, auction: { buy: '0.005', sell: '0.005' } } }
    : base;
  const symbol = options.fees ? 'HBEA' : 'CEA24';
  h.list(profile, symbol, '57.46');
  h.open('M1-A', { cash: '100000.00', holdings: { [symbol]: 1000 } });
  h.open('M1-B', { cash: '100000.00', holdings: { [symbol]: 1000 } });
  h.open('M2-A', { cash: '100000.00', holdings: { [symbol]: 1000 } });
  return { h, e: h.engine, symbol, ledger: h.ledger };
}

t.test('a FOK that could only fill against its own account is cancelled with nothing filled', (t) => {
  const { h, e, symbol, ledger } = market();
  const mine = ok(h.order('M1-A', { symbol, side: 'sell', price: '57.40', quantity: 10 })).orderId as number;
  const cashBefore = e.account('M1-A')!.cash;
  const r = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.50', quantity: 10, timeInForce: 'FOK' }));
  t.same(tradesOf(r.events), [], 'no trade');
  const ev = ordersOf(r.events).at(-1)!;
  t.equal(ev.status, 'cancelled');
  t.equal(ev.reason, 'fok_not_filled');
  t.equal(ev.filled, 0);
  t.equal(e.account('M1-A')!.cash, cashBefore, 'the reservation is released');
  t.equal(e.order(mine)?.remaining, 10, 'its own resting sell is untouched');
  checkInvariants(e, ledger);
  t.end();
});

t.test('a FOK blocked by its own order in front of enough foreign liquidity is cancelled whole', (t) => {
  const { h, e, symbol, ledger } = market();
  ok(h.order('M1-A', { symbol, side: 'sell', price: '57.40', quantity: 5 }));
  ok(h.order('M2-A', { symbol, side: 'sell', price: '57.45', quantity: 50 }));
  const r = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.50', quantity: 10, timeInForce: 'FOK' }));
  t.same(tradesOf(r.events), [], 'nothing trades: the FOK is all or nothing and may not trade with itself');
  t.equal(ordersOf(r.events).at(-1)!.reason, 'fok_not_filled');
  t.same(e.depth(symbol, 5)!.asks, [[fen('57.40'), 5, 1], [fen('57.45'), 50, 1]]);
  checkInvariants(e, ledger);
  t.end();
});

t.test('a FOK fills across levels when foreign liquidity suffices, and is cancelled one tonne short', (t) => {
  const { h, e, symbol, ledger } = market();
  ok(h.order('M2-A', { symbol, side: 'sell', price: '57.40', quantity: 4 }));
  ok(h.order('M1-B', { symbol, side: 'sell', price: '57.45', quantity: 6 }));
  const short = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.45', quantity: 11, timeInForce: 'FOK' }));
  t.same(tradesOf(short.events), []);
  t.equal(ordersOf(short.events).at(-1)!.reason, 'fok_not_filled');
  const full = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.45', quantity: 10, timeInForce: 'FOK' }));
  t.same(tradesOf(full.events).map((x) => [x.price, x.quantity]), [[fen('57.40'), 4], [fen('57.45'), 6]], 'at the makers\' prices');
  t.equal(ordersOf(full.events).at(-1)!.status, 'filled');
  checkInvariants(e, ledger);
  t.end();
});

t.test('orders at the band edges are taken, one tick beyond is refused (57.46 → 51.71–63.21)', (t) => {
  const { h, e, symbol, ledger } = market();
  ok(h.order('M1-A', { symbol, side: 'buy', price: '51.71', quantity: 1 }));
  ok(h.order('M2-A', { symbol, side: 'sell', price: '63.21', quantity: 1 }));
  t.equal(rejected(h.order('M1-A', { symbol, side: 'buy', price: '51.70', quantity: 1 })).code, 'PRICE_OUT_OF_BAND');
  t.equal(rejected(h.order('M2-A', { symbol, side: 'sell', price: '63.22', quantity: 1 })).code, 'PRICE_OUT_OF_BAND');
  const half = h.member('M1', { type: 'placeOrder', accountId: 'M1-A', symbol, side: 'buy', orderType: 'limit', price: 5746.5, quantity: 1 });
  t.equal(rejected(half).code, 'INVALID_PRICE', 'half a fen is off the tick');
  checkInvariants(e, ledger);
  t.end();
});

t.test('a market order takes at most five levels, at the makers\' prices, and cancels the rest', (t) => {
  const { h, e, symbol, ledger } = market();
  for (let i = 0; i < 7; i++) ok(h.order('M2-A', { symbol, side: 'sell', price: (57.4 + i / 100).toFixed(2), quantity: 2 }));
  const r = ok(h.order('M1-A', { symbol, side: 'buy', type: 'market', quantity: 100 }));
  t.same(tradesOf(r.events).map((x) => x.price), [5740, 5741, 5742, 5743, 5744]);
  const ev = ordersOf(r.events).at(-1)!;
  t.equal(ev.filled, 10);
  t.equal(ev.reason, 'market_remainder');
  t.same(e.depth(symbol, 5)!.asks, [[5745, 2, 1], [5746, 2, 1]]);
  checkInvariants(e, ledger);
  t.end();
});

t.test('picks: whole-quantity venue, own order, beyond the best five levels, and the fee', (t) => {
  const { h, e, symbol, ledger } = market({ fees: true });
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) ids.push(ok(h.order('M2-A', { symbol, side: 'sell', price: (57.4 + i / 100).toFixed(2), quantity: 3 })).orderId as number);
  const own = ok(h.order('M1-A', { symbol, side: 'sell', price: '57.40', quantity: 3 })).orderId as number;
  t.equal(rejected(h.order('M1-A', { symbol, side: 'buy', type: 'pick', quantity: 2, targetOrderId: ids[0] })).code, 'PICK_QUANTITY_MISMATCH');
  t.equal(rejected(h.order('M1-A', { symbol, side: 'buy', type: 'pick', quantity: 3, targetOrderId: own })).code, 'SELF_TRADE');
  t.equal(rejected(h.order('M1-A', { symbol, side: 'buy', type: 'pick', quantity: 3, targetOrderId: ids[5] })).code, 'PICK_TARGET_INVALID');
  t.equal(rejected(h.order('M1-A', { symbol, side: 'sell', type: 'pick', quantity: 3, targetOrderId: ids[1] })).code, 'PICK_TARGET_INVALID', 'a pick takes the other side');
  const cashBefore = e.account('M1-A')!.cash;
  const r = ok(h.order('M1-A', { symbol, side: 'buy', type: 'pick', quantity: 3, targetOrderId: ids[2] }));
  const [trade] = tradesOf(r.events);
  t.equal(trade.price, 5742, 'at the picked order\'s price, not the best');
  t.equal(trade.buyFee, 86, '0.5 % of 172.26 = 0.8613 → 0.86');
  t.equal(e.account('M1-A')!.cash, cashBefore - 17226 - 86);
  t.equal(e.order(ids[0])?.remaining, 3, 'the best order is untouched');
  checkInvariants(e, ledger);
  t.end();
});

t.test('a reduction keeps time priority; an increase or a price change loses it', (t) => {
  const { h, e, symbol } = market();
  const a = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 10 })).orderId as number;
  const b = ok(h.order('M2-A', { symbol, side: 'buy', price: '57.00', quantity: 10 })).orderId as number;
  ok(h.modify('M1-A', a, { quantity: 5 }));
  t.same(e.instrument(symbol)!.book.ordersInPriority(BUY).map((o) => o.id), [a, b], 'reduced, still first');
  ok(h.modify('M1-A', a, { quantity: 6 }));
  t.same(e.instrument(symbol)!.book.ordersInPriority(BUY).map((o) => o.id), [b, a], 'increased, now behind');
  ok(h.modify('M2-A', b, { price: '56.99' }));
  ok(h.modify('M2-A', b, { price: '57.00' }));
  t.same(e.instrument(symbol)!.book.ordersInPriority(BUY).map((o) => o.id), [a, b], 'repriced, now behind');
  t.end();
});

t.test('a buy exactly at the position cap is taken, one tonne over is refused', (t) => {
  const { h, e, symbol, ledger } = market();
  ok(h.risk({ type: 'setPositionCap', symbol, accountId: 'M1-A', quantity: 1010, reason: 'test' }));
  ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 6 }));
  t.equal(rejected(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 5 })).code, 'POSITION_CAP_EXCEEDED', '1000 + 6 + 5 > 1010');
  ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 4 }));
  checkInvariants(e, ledger);
  t.end();
});

t.test('on the next calendar day orders are refused with MARKET_CLOSED, cancels still work', (t) => {
  const { h, e, symbol, ledger } = market();
  const id = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 5 })).orderId as number;
  h.at('2026-11-21', '10:00');
  t.equal(rejected(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 5 })).code, 'MARKET_CLOSED');
  t.equal(rejected(h.modify('M1-A', id, { price: '57.01' })).code, 'MARKET_CLOSED');
  ok(h.cancel('M1-A', id));
  checkInvariants(e, ledger);
  t.end();
});

t.test('the fee reserve covers ten one-tonne fills whose fees each round up', (t) => {
  const h = new LedgerHarness();
  const base = allDay(loadProfile('cea'));
  const fee = { buy: '0.005', sell: '0.005' };
  h.list({ ...base, venue: 'HBEA', instruments: [{ symbol: 'HBEA', name: 'Hubei', vintage: null }], fees: { listed: fee, block: fee, auction: fee } }, 'HBEA', '1.00');
  h.open('M1-A', { cash: '100.00' });
  h.open('M2-A', { holdings: { HBEA: 10 } });
  const id = ok(h.order('M1-A', { symbol: 'HBEA', side: 'buy', price: '1.00', quantity: 10 })).orderId as number;
  t.equal(h.engine.order(id)!.frozenCash, 1000 + 5 + 5, 'notional, fee on the notional rounded up, half a fen per tonne');
  for (let i = 0; i < 10; i++) {
    const [trade] = tradesOf(ok(h.order('M2-A', { symbol: 'HBEA', side: 'sell', price: '1.00', quantity: 1 })).events);
    t.equal(trade.buyFee, 1, '0.5 % of 1.00 = 0.005 → 0.01');
    checkInvariants(h.engine, h.ledger);
  }
  t.equal(h.engine.order(id), undefined, 'filled');
  t.equal(h.engine.account('M1-A')!.cash, 10000 - 1010);
  t.equal(h.engine.account('M1-A')!.cashFrozen, 0);
  t.equal(h.engine.feesCollected, 20);
  t.end();
});

t.test('a large holder is alerted once, files, and is cleared when the holding falls back', (t) => {
  const { h, e, symbol, ledger } = market();
  ok(h.risk({ type: 'setLargeHolderThreshold', symbol, accountId: 'M1-A', quantity: 1005, reason: 'test' }));
  ok(h.order('M2-A', { symbol, side: 'sell', price: '57.46', quantity: 10 }));
  const first = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.46', quantity: 6 }));
  t.same(first.events.filter((x) => x.type === 'largeHolder').map((x) => (x as { action: string }).action), ['alert'], '1006 > 1005');
  const second = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.46', quantity: 4 }));
  t.same(second.events.filter((x) => x.type === 'largeHolder'), [], 'one alert per crossing');
  t.equal(e.largeHolders(symbol).length, 1);
  ok(h.member('M1', { type: 'fileLargeHolderReport', accountId: 'M1-A', symbol, text: 'holding for compliance' }));
  t.equal(rejected(h.member('M1', { type: 'fileLargeHolderReport', accountId: 'M1-A', symbol, text: 'again' })).code, 'REPORT_NOT_DUE');
  ok(h.operator({ type: 'withdraw', accountId: 'M1-A', symbol, quantity: 6 })); // 994 available + 10 pending = 1004
  t.same(e.largeHolders(symbol), [], 'back under the threshold with the report filed');
  checkInvariants(e, ledger);
  t.end();
});

t.test('a halted instrument refuses orders and repricing, but takes cancels and reductions', (t) => {
  const { h, e, symbol, ledger } = market();
  const id = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 10 })).orderId as number;
  ok(h.risk({ type: 'setInstrument', symbol, status: 'halted', reason: 'technical' }));
  t.equal(rejected(h.order('M2-A', { symbol, side: 'sell', price: '57.00', quantity: 1 })).code, 'INSTRUMENT_HALTED');
  t.equal(rejected(h.modify('M1-A', id, { price: '57.01' })).code, 'INSTRUMENT_HALTED');
  ok(h.modify('M1-A', id, { quantity: 4 }));
  checkInvariants(e, ledger);
  ok(h.cancel('M1-A', id));
  t.equal(e.account('M1-A')!.cashFrozen, 0);
  checkInvariants(e, ledger);
  t.end();
});

t.test('narrowing the band cancels the resting orders outside it and releases what they froze', (t) => {
  const { h, e, symbol, ledger } = market();
  const inside = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 10 })).orderId as number;
  const outside = ok(h.order('M1-A', { symbol, side: 'buy', price: '52.00', quantity: 10 })).orderId as number;
  const ask = ok(h.order('M2-A', { symbol, side: 'sell', price: '63.00', quantity: 5 })).orderId as number;
  const r = ok(h.risk({ type: 'setInstrument', symbol, listedBandPct: '5', reason: 'volatility' }));
  t.same(ordersOf(r.events).map((x) => [x.orderId, x.status, x.reason]), [[outside, 'cancelled', 'price_out_of_band'], [ask, 'cancelled', 'price_out_of_band']]);
  t.ok(e.order(inside), 'the order inside the new band 54.59–60.33 rests on');
  t.equal(e.account('M2-A')!.positions[0]!.frozen, 0);
  checkInvariants(e, ledger);
  t.end();
});

// Engine defects the properties found (fixed since), as plain reproductions.

t.test('regression: LadderBook takes a fully filled maker\'s quantity out of its level (depth)', (t) => {
  const { h, e, symbol } = market();
  ok(h.order('M2-A', { symbol, side: 'sell', price: '57.40', quantity: 10 }));
  ok(h.order('M1-A', { symbol, side: 'buy', price: '57.40', quantity: 10 })); // fills the maker whole
  ok(h.order('M2-A', { symbol, side: 'sell', price: '57.40', quantity: 3 }));
  t.same(e.depth(symbol, 5)!.asks, [[fen('57.40'), 3, 1]], 'one order of 3 t rests at 57.40');
  t.end();
});

t.test('regression: a rejected buy or withdrawal leaves no empty position behind', (t) => {
  const { h, e, symbol } = market();
  h.open('M3-A', {}); // no cash, no holdings, no position yet
  const before = stateText(e);
  t.equal(rejected(h.order('M3-A', { symbol, side: 'buy', price: '57.00', quantity: 1 })).code, 'INSUFFICIENT_FUNDS');
  t.same(e.snapshot().accounts.find((a) => a.id === 'M3-A')!.positions, [], 'M3-A still holds no position entry');
  t.ok(stateText(e) === before, 'nothing changed (lastSeq and lastTime aside)');
  // The same happens with a withdrawal of tonnes never held.
  h.open('M3-B', {});
  const again = stateText(e);
  t.equal(rejected(h.operator({ type: 'withdraw', accountId: 'M3-B', symbol, quantity: 1 })).code, 'INSUFFICIENT_HOLDINGS');
  t.ok(stateText(e) === again, 'a refused withdrawal changes nothing either');
  t.end();
});

t.test('regression: after a restore, cancelAll reports the cancellations in the same order', (t) => {
  const { h, e, symbol } = market();
  ok(h.order('M1-A', { symbol, side: 'sell', price: '58.00', quantity: 1 })); // #1: an ask
  ok(h.order('M1-A', { symbol, side: 'buy', price: '57.00', quantity: 1 })); // #2: a bid
  const restored = Engine.restore(JSON.parse(JSON.stringify(e.snapshot())));
  const c: Command = { type: 'cancelAll', accountId: 'M1-A', reason: 'test', seq: h.seq + 1, time: h.time, actor: { role: 'risk', id: 'risk1' } };
  const original = ok(e.apply(c));
  const replayed = ok(restored.apply(c));
  t.same(replayed.events.map((x) => (x as OrderEvent).orderId), original.events.map((x) => (x as OrderEvent).orderId));
  t.end();
});

t.test('regression: a restore keeps a partially filled resting buy\'s reservation to the fen', (t) => {
  const { h, e, symbol } = market({ fees: true });
  const id = ok(h.order('M1-A', { symbol, side: 'buy', price: '57.46', quantity: 10 })).orderId as number;
  ok(h.order('M2-A', { symbol, side: 'sell', price: '57.46', quantity: 3 })); // the resting buy is the maker
  const restored = Engine.restore(JSON.parse(JSON.stringify(e.snapshot())));
  t.equal(restored.order(id)!.frozenCash, e.order(id)!.frozenCash, 'the reserve left after the fill (1 fen above a fresh one) is kept');
  t.equal(restored.stateHash(), e.stateHash());
  t.end();
});
