// The market profiles in markets/venues, the demo set-up in markets/demo.json and the loader that
// turns them into operator commands (engine/setup.ts).
import t, { type Test } from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addTradingDays, dayOfDate, Engine, isTradingDay, ProfileError, parseMoney, validateProfile, type VenueProfile } from '../engine/index.ts';
import { applySetup, loadMarkets, SetupError, stampSetup, type MarketSetup } from '../engine/setup.ts';
import { cst } from './support/harness.ts';

const MARKETS = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'markets');
const VENUES = join(MARKETS, 'venues');
const DEMO = join(MARKETS, 'demo.json');
const VENUE_FILES = ['cea', 'ccer', 'bea', 'shea', 'hbea', 'gdea', 'sza', 'tjea', 'cqea', 'fjea'];
const NATIONAL_SESSIONS = { listed: [['09:30', '11:30'], ['13:00', '15:00']], block: [['13:00', '15:00']], auction: [['13:00', '15:00']] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const readJson = (file: string): Json => JSON.parse(readFileSync(file, 'utf8'));
const venueJson = (name: string): Json => readJson(join(VENUES, `${name}.json`));
const fen = (price: string): number => {
  const v = parseMoney(price);
  if (v === null) throw new Error(`not a price: ${price}`);
  return v;
};
/** reference × (100 ± pct) / 100 rounded half-up, for a whole percentage: section 3 done by hand. */
const band = (reference: number, pct: number) => ({
  low: Math.floor((reference * (100 - pct) + 50) / 100),
  high: Math.floor((reference * (100 + pct) + 50) / 100),
});

/** A copy of markets/ in a temporary directory, with changes; returns the path of its demo.json. */
function fixture(t: Test, change: { demo?: (demo: Json) => void; venues?: Record<string, (profile: Json) => void>; files?: Record<string, string> } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'markets-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'venues'));
  for (const name of readdirSync(VENUES)) copyFileSync(join(VENUES, name), join(dir, 'venues', name));
  const demo = readJson(DEMO);
  change.demo?.(demo);
  writeFileSync(join(dir, 'demo.json'), JSON.stringify(demo, null, 2));
  for (const [name, edit] of Object.entries(change.venues ?? {})) {
    const profile = venueJson(name);
    edit(profile);
    writeFileSync(join(dir, 'venues', `${name}.json`), JSON.stringify(profile, null, 2));
  }
  for (const [name, text] of Object.entries(change.files ?? {})) writeFileSync(join(dir, name), text);
  return join(dir, 'demo.json');
}

function thrown<E extends Error>(kind: new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof kind) return e;
    throw new Error(`expected a ${kind.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  throw new Error(`expected a ${kind.name}, nothing was thrown`);
}

/** Loads the file, expects a SetupError about `field` of `file`, and checks its problem text. */
function setupFails(t: Test, demoFile: string, field: string, problem: RegExp, file = demoFile): SetupError {
  const e = thrown(SetupError, () => loadMarkets(demoFile));
  t.equal(e.file, file, `names the file (${field})`);
  t.equal(e.field, field, `names the field ${field}`);
  t.ok(e.message.startsWith(`${file}: ${field}: `), `message "${e.message}" starts with file: field:`);
  t.match(e.problem, problem, 'says what is wrong');
  return e;
}

/** Loads the file, expects a ProfileError about `field` of the venue file `venue`. */
function profileFails(t: Test, demoFile: string, venue: string, field: string, problem: RegExp): void {
  const e = thrown(ProfileError, () => loadMarkets(demoFile));
  const venueFile = join(demoFile, '..', 'venues', `${venue}.json`);
  t.ok(e.message.startsWith(`${venueFile}: ${field}: `), `message "${e.message}" starts with ${venueFile}: ${field}:`);
  t.match(e.message, problem);
}

function fresh(setup: MarketSetup, time = cst('2026-11-20', '00:30')): Engine {
  const engine = new Engine({ tradingDate: '2026-11-20' });
  applySetup(engine, setup, 1, time);
  return engine;
}

t.test('venue profiles', async (t) => {
  t.same(readdirSync(VENUES).filter((f) => f.endsWith('.json')).sort(), VENUE_FILES.map((v) => `${v}.json`).sort(), 'one file per venue of section 1');
  const cea = venueJson('cea');
  const seenVenues = new Set<string>();
  const seenSymbols = new Set<string>();
  for (const name of VENUE_FILES) {
    const json = venueJson(name);
    const compiled = validateProfile(json, `${name}.json`);
    const p = compiled.source;
    t.equal(p.venue.toLowerCase(), name, `${name}.json defines venue ${p.venue}`);
    t.notOk(seenVenues.has(p.venue), `${p.venue} is defined once`);
    seenVenues.add(p.venue);
    for (const i of p.instruments) {
      t.notOk(seenSymbols.has(i.symbol), `${i.symbol} belongs to one venue`);
      seenSymbols.add(i.symbol);
    }
    t.same(p.tradingWeekdays, [1, 2, 3, 4, 5], `${name}: Monday to Friday`);
    t.same(p.holidays, cea.holidays, `${name}: the 2026 holidays of cea.json`);
    t.equal(p.tick, '0.01', `${name}: tick 0.01`);
    t.equal(p.blockBandPct, '30', `${name}: block band 30 %`);
    t.ok(Array.isArray(json.notes) && json.notes.length > 0, `${name}: has notes`);
    const tags = (json.notes as string[]).join(' ').match(/\[[^\]]*\]/g) ?? [];
    t.ok(tags.length > 0, `${name}: notes cite tags`);
    for (const tag of tags) t.match(tag, /^\[(rule|news|assumed|handbook)\b/, `${name}: ${tag} starts with a MARKET-RULES tag`);
    if (name !== 'gdea') t.same(p.sessions, NATIONAL_SESSIONS, `${name}: the national sessions`);
  }
  t.same([...seenSymbols].sort(), ['BEA', 'CCER', 'CEA23', 'CEA24', 'CEA25', 'CQEA', 'FJEA', 'GDEA', 'HBEA', 'SHEA', 'SZA-2025', 'TJEA']);

  const ccer = venueJson('ccer');
  t.equal(ccer.venue, 'CCER');
  t.equal(ccer.kind, 'ccer');
  t.same(ccer.instruments.map((i: Json) => i.symbol), ['CCER']);
  t.same(ccer.admittedClasses, ['compliance', 'institution'], 'CCER: legal persons only');

  const bea = venueJson('bea');
  t.equal(bea.listedBandPct, '20', 'Beijing listed band 20 %');
  t.same(bea.positionCaps, {
    compliance: { quantity: 1000000, plusAllocation: true },
    institution: { quantity: 1000000, plusAllocation: false },
    individual: { quantity: 50000, plusAllocation: false },
  }, 'Beijing 2014 caps');
  t.same(bea.largeHolder.thresholds, {
    compliance: { quantity: 500000, plusAllocation: true },
    institution: { quantity: 500000, plusAllocation: false },
    individual: { quantity: 500000, plusAllocation: false },
  }, 'Beijing 2014 large-holder thresholds');
  t.equal(validateProfile(bea, 'bea.json').source.largeHolder.publish, true, 'Beijing publishes its large holders');
  for (const name of VENUE_FILES.filter((v) => v !== 'bea')) {
    t.equal(validateProfile(venueJson(name), `${name}.json`).source.largeHolder.publish, false, `${name}: large holders not published`);
  }

  t.equal(venueJson('shea').blockBandExemptFromQuantity, 500000, 'Shanghai: no block band from 500,000 t');
  t.equal(venueJson('shea').listedBandPct, '10');

  const hbea = venueJson('hbea');
  t.same(hbea.fees.listed, { buy: '0.005', sell: '0.005' }, 'Hubei listed 0.5 % each side');
  t.same(hbea.fees.block, { buy: '0.005', sell: '0.005' }, 'Hubei block 0.5 % each side');
  t.equal(validateProfile(hbea, 'hbea.json').fees.listed.buy, 500_000, '0.5 % is 500,000 parts per 10^8');
  // A fee rate above 10 % of turnover is a percentage typed as a rate: refused where a profile is
  // taken now (a markets file, a listing over HTTP), taken as journaled before the check existed.
  const dear = (buy: string) => ({ ...hbea, fees: { ...hbea.fees, block: { buy, sell: '0.005' } } });
  t.throws(() => validateProfile(dear('0.5'), 'hbea.json', true), { message: 'hbea.json: fees.block.buy: is 50 % of turnover: a fee rate is at most 0.1 (10 %); it is a fraction, "0.005" for 0.5 %' });
  t.equal(validateProfile(dear('0.1'), 'hbea.json', true).fees.block.buy, 10_000_000, '10 % itself is taken');
  t.equal(validateProfile(dear('0.5'), 'hbea.json').fees.block.buy, 50_000_000, 'a journaled listing replays as taken');

  // Numbers each valid alone that together leave a mode nobody can use, or the block band switched
  // off: refused where a profile is taken now, taken as journaled before the checks existed.
  const shea = venueJson('shea');
  const together: [string, Record<string, unknown>, string][] = [
    ['no listed order possible', { lot: 10, maxListedOrderQuantity: 5 }, 'shea.json: maxListedOrderQuantity: 5 t is less than the lot, 10 t: no listed order could be placed'],
    ['no block proposal possible', { blockMinQuantity: 2_000_000_000, blockBandExemptFromQuantity: null }, 'shea.json: blockMinQuantity: is above 1,000,000,000 t, the largest quantity a proposal can carry: no block trade could be proposed'],
    ['no auction possible', { auction: { minQuantity: 1_000_000_001, limitPct: '10', reservePcts: ['0'] } }, 'shea.json: auction.minQuantity: is above 1,000,000,000 t, the largest quantity an auction can offer: no auction could be opened'],
    ['every block exempt from the band', { blockMinQuantity: 100_000, blockBandExemptFromQuantity: 100_000 }, 'shea.json: blockBandExemptFromQuantity: 100000 t is not above the block minimum, 100000 t: every block trade would be exempt from the block band (for no band, leave the exemption null and set blockBandPct "100")'],
  ];
  for (const [what, change, message] of together) {
    t.throws(() => validateProfile({ ...shea, ...change }, 'shea.json', true), { message }, what);
    t.doesNotThrow(() => validateProfile({ ...shea, ...change }, 'shea.json'), `${what}: a journaled listing replays as taken`);
  }
  t.doesNotThrow(() => validateProfile({ ...shea, lot: 10, maxListedOrderQuantity: 10, blockBandExemptFromQuantity: 100_001 }, 'shea.json', true), 'the edges are taken');

  const gdea = venueJson('gdea');
  t.same(gdea.sessions.listed, [['09:30', '11:30'], ['13:30', '15:30']], 'Guangdong sessions');
  t.same(gdea.closeRule, { method: 'vwap', thinListedVolume: 100, whenThin: 'open' }, 'Guangdong thin-volume close');
  t.equal(gdea.pickQuantity, 'whole');
  for (const c of ['compliance', 'institution', 'individual']) {
    t.same(gdea.positionCaps[c], { quantity: 8000000, plusAllocation: false }, `Guangdong cap for ${c}`);
  }

  const sza = venueJson('sza');
  t.same(sza.instruments.map((i: Json) => [i.symbol, i.vintage]), [['SZA-2025', 2025]], 'Shenzhen: one instrument per vintage');
  t.equal(sza.listedBandPct, '10');
  t.equal(venueJson('cqea').listedBandPct, '20', 'Chongqing listed band 20 %');
});

t.test('the 2026 calendar: the Spring Festival break runs to Monday 23 February', async (t) => {
  // The State Council's notice for 2026: 15 February (a Sunday) to 23 February (a Monday) off; the
  // make-up Saturdays are not trading days on the exchanges. So Friday 13 February's next trading
  // day is Tuesday 24 February, and three trading days after Thursday 12 February is the 25th.
  const cea = validateProfile(venueJson('cea'), 'cea.json');
  const day = (date: string) => dayOfDate(date)!;
  for (const date of ['2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-23']) {
    t.notOk(isTradingDay(cea, day(date)), `${date} is a holiday`);
  }
  t.ok(isTradingDay(cea, day('2026-02-24')), '2026-02-24 trades');
  t.equal(addTradingDays(cea, day('2026-02-13'), 1), day('2026-02-24'));
  t.equal(addTradingDays(cea, day('2026-02-12'), 3), day('2026-02-25'));
});

t.test('the demo set-up', async (t) => {
  const demo = readJson(DEMO);
  const setup = loadMarkets(DEMO);
  t.equal(setup.file, DEMO);
  t.same(setup.profiles.map((p) => p.venue), ['CEA', 'CCER', 'BEA', 'SHEA', 'HBEA', 'GDEA', 'SZA', 'TJEA', 'CQEA', 'FJEA'], 'all ten venues, in file order');
  for (const p of setup.profiles) {
    t.same(p.sessions, { listed: [['00:00', '24:00']], block: [['00:00', '24:00']], auction: [['00:00', '24:00']] }, `${p.venue}: allDay sessions`);
    t.same(p.tradingWeekdays, [1, 2, 3, 4, 5, 6, 7], `${p.venue}: every day`);
    t.same(p.holidays, [], `${p.venue}: no holidays`);
  }

  // Commands: listings first, then per account createAccount, cash, holdings.
  const symbols = setup.profiles.flatMap((p) => p.instruments.map((i) => i.symbol));
  t.equal(symbols.length, 12);
  t.same(setup.commands.slice(0, 12).map((c) => c.type === 'listInstrument' && c.symbol), symbols, 'one listInstrument per instrument, in venue order');
  const cea24 = setup.commands.find((c) => c.type === 'listInstrument' && c.symbol === 'CEA24');
  t.match(cea24, { type: 'listInstrument', symbol: 'CEA24', name: 'National CEA, vintage 2024', vintage: 2024, listingPrice: 5746 });
  const first = demo.accounts[0];
  const firstCommands = setup.commands.slice(12, 12 + 2 + Object.keys(first.holdings).length);
  t.same(firstCommands, [
    { type: 'createAccount', accountId: first.accountId, member: first.member, accountClass: first.class, allocation: first.allocation, venues: first.venues },
    { type: 'deposit', accountId: first.accountId, cash: fen(first.cash) },
    ...Object.entries(first.holdings).map(([symbol, quantity]) => ({ type: 'deposit', accountId: first.accountId, symbol, quantity })),
  ], 'createAccount, cash deposit, one deposit per holding');
  const expectedCount = 12 + (demo.accounts as Json[]).reduce((n, a) => n + 2 + Object.keys(a.holdings ?? {}).length, 0);
  t.equal(setup.commands.length, expectedCount);

  // Applied to a fresh engine, every command is accepted.
  const engine = new Engine({ tradingDate: '2026-11-20' });
  const time = cst('2026-11-20', '08:00');
  const events: string[] = [];
  stampSetup(setup, 1, time).forEach((command, i) => {
    t.match(command, { seq: i + 1, time, actor: { role: 'operator', id: 'setup' } });
    const result = engine.apply(command);
    if (!result.ok) t.fail(`command ${i} rejected: ${result.code}: ${result.message}`);
    else events.push(...result.events.map((e) => e.type));
  });
  t.notOk(events.includes('largeHolder'), 'nobody starts above a large-holder threshold');
  t.equal(engine.instruments.length, 12);

  // Bands per section 3.
  for (const inst of engine.instruments) {
    const profile = setup.profiles.find((p) => p.venue === inst.venue) as VenueProfile;
    const reference = fen(demo.instruments[inst.symbol]);
    t.equal(inst.referencePrice, reference, `${inst.symbol}: reference = listing price`);
    const listedPct = Number(profile.listedBandPct);
    t.ok(Number.isInteger(listedPct));
    t.same({ low: inst.bandLow, high: inst.bandHigh }, band(reference, listedPct), `${inst.symbol}: listed band ±${listedPct} %`);
    t.same({ low: inst.blockLow, high: inst.blockHigh }, band(reference, 30), `${inst.symbol}: block band ±30 %`);
    const p = profile.instruments.find((i) => i.symbol === inst.symbol);
    t.equal(inst.name, p?.name);
    t.equal(inst.vintage, p?.vintage);
  }
  const bySymbol = (s: string) => engine.instruments.find((i) => i.symbol === s)!;
  t.match(bySymbol('CEA24'), { referencePrice: 5746, bandLow: 5171, bandHigh: 6321, blockLow: 4022, blockHigh: 7470 }, 'CEA24 57.46: listed 51.71–63.21, block 40.22–74.70');
  t.match(bySymbol('HBEA'), { referencePrice: 4067, bandLow: 3660, bandHigh: 4474 }, 'HBEA 40.67: listed 36.60–44.74');
  t.match(bySymbol('BEA'), { referencePrice: 7250, bandLow: 5800, bandHigh: 8700 }, 'BEA 72.50 ±20 %: 58.00–87.00');

  // Reference prices in the ranges of section 12.
  for (const [symbol, price] of Object.entries(demo.instruments as Record<string, string>)) {
    const v = fen(price) / 100;
    const [lo, hi] = symbol.startsWith('CEA') ? [55, 100] : symbol === 'CCER' ? [60, 110] : [20, 80];
    t.ok(v >= lo && v <= hi, `${symbol} ${price} within ${lo}–${hi}`);
  }
  t.equal(demo.instruments.CEA24, '57.46');
  t.equal(demo.instruments.HBEA, '40.67');

  // Accounts: as the file says, three members with every class, below caps and thresholds.
  const members = new Set<string>();
  const classesOf = new Map<string, Set<string>>();
  for (const a of demo.accounts as Json[]) {
    const acct = engine.account(a.accountId);
    if (acct === undefined) { t.fail(`account ${a.accountId} missing`); continue; }
    t.ok(a.accountId.startsWith(`${a.member}-`), `${a.accountId} starts with its member id`);
    members.add(a.member);
    if (!classesOf.has(a.member)) classesOf.set(a.member, new Set());
    classesOf.get(a.member)!.add(a.class);
    t.match(acct, { member: a.member, accountClass: a.class, allocation: a.allocation ?? 0, cash: fen(a.cash) });
    if (a.class === 'compliance') t.ok(a.allocation > 0, `${a.accountId} has an allocation`);
    for (const [symbol, quantity] of Object.entries(a.holdings as Record<string, number>)) {
      const inst = bySymbol(symbol);
      const pos = acct.position(inst.index);
      t.equal(pos.available, quantity, `${a.accountId} holds ${quantity} t ${symbol}`);
      t.equal(pos.largeHolder, null);
      const cap = inst.classCaps[acct.accountClass];
      if (cap !== null) t.ok(quantity <= cap.quantity + (cap.plusAllocation ? acct.allocation : 0), `${a.accountId} ${symbol} under the cap`);
      const threshold = inst.classThresholds[acct.accountClass];
      if (threshold !== null) t.ok(quantity <= threshold.quantity + (threshold.plusAllocation ? acct.allocation : 0), `${a.accountId} ${symbol} under the threshold`);
    }
  }
  t.same([...members].sort(), ['M1', 'M2', 'M3']);
  for (const [m, classes] of classesOf) t.same([...classes].sort(), ['compliance', 'individual', 'institution'], `${m} has every class`);
  const cea24Inst = bySymbol('CEA24');
  const sellers = [...engine.accounts.values()].filter((a) => (a.positions[cea24Inst.index]?.available ?? 0) >= 200_000);
  const buyers = [...engine.accounts.values()].filter((a) => a.cash >= 200_000 * cea24Inst.blockHigh);
  t.ok(sellers.length >= 2, 'several accounts can sell a 200,000 t CEA24 block');
  t.ok(buyers.length >= 2, 'several accounts can pay for a 200,000 t CEA24 block at the top of the band');
});

t.test('allDay opens every mode all day; without it the files\' sessions hold', async (t) => {
  const engine = fresh(loadMarkets(DEMO));
  const night = cst('2026-11-20', '03:00');
  let seq = engine.lastSequence;
  const order = (accountId: string, member: string, side: 'buy' | 'sell', time: number, e = engine) => e.apply({
    type: 'placeOrder', seq: ++seq, time, actor: { role: 'member', id: member }, accountId, symbol: 'CEA24', side, orderType: 'limit',
    price: 5746, quantity: 1000, timeInForce: 'DAY',
  });
  const sell = order('M1-C1', 'M1', 'sell', night);
  t.ok(sell.ok, 'a sell at 03:00 is accepted with allDay');
  const buy = order('M2-C1', 'M2', 'buy', night);
  t.ok(buy.ok && buy.events.some((e) => e.type === 'trade'), 'and trades');

  const file = fixture(t, { demo: (d) => { d.allDay = false; } });
  const setup = loadMarkets(file);
  t.same(setup.profiles[0].sessions, NATIONAL_SESSIONS, 'sessions as in cea.json');
  t.same(setup.profiles[0].tradingWeekdays, [1, 2, 3, 4, 5]);
  t.equal(setup.profiles[0].holidays.length, venueJson('cea').holidays.length);
  const closed = fresh(setup);
  seq = closed.lastSequence;
  const r = order('M1-C1', 'M1', 'sell', night, closed);
  t.match(r, { ok: false, code: 'MARKET_CLOSED' }, 'at 03:00 the national market is closed');
  t.match(order('M1-C1', 'M1', 'sell', cst('2026-11-20', '10:00'), closed), { ok: true }, 'at 10:00 it is open');

  const without = fixture(t, { demo: (d) => { delete d.allDay; } });
  t.same(loadMarkets(without).profiles[5].sessions.listed, [['09:30', '11:30'], ['13:30', '15:30']], 'allDay left out = false');
});

t.test('the demo has the means for a 200,000 t block trade', async (t) => {
  const engine = fresh(loadMarkets(DEMO));
  const time = cst('2026-11-20', '03:00'); // allDay: the block session is open at night too
  let seq = engine.lastSequence;
  const proposed = engine.apply({
    type: 'proposeBlock', seq: ++seq, time, actor: { role: 'member', id: 'M1' }, accountId: 'M1-C1', symbol: 'CEA24', side: 'sell',
    price: 5800, quantity: 200_000, counterpartyAccountId: 'M2-C1',
  });
  if (!proposed.ok) throw new Error(`proposal rejected: ${proposed.code}: ${proposed.message}`);
  t.type(proposed.blockId, 'number');
  const accepted = engine.apply({ type: 'acceptBlock', seq: ++seq, time, actor: { role: 'member', id: 'M2' }, blockId: proposed.blockId as number, accountId: 'M2-C1' });
  if (!accepted.ok) throw new Error(`accept rejected: ${accepted.code}: ${accepted.message}`);
  const trades = accepted.events.filter((e) => e.type === 'trade');
  t.equal(trades.length, 1, 'one trade');
  t.match(trades[0], { price: 5800, quantity: 200_000 });
  const cea24 = engine.instruments.find((i) => i.symbol === 'CEA24')!;
  t.equal(engine.account('M1-C1')!.position(cea24.index).available, 100_000, 'the seller had 300,000 t');
  t.equal(engine.account('M2-C1')!.position(cea24.index).holding, 650_000, 'the buyer now holds 650,000 t');
  t.notOk(accepted.events.some((e) => e.type === 'largeHolder'), 'still under the compliance threshold of allocation + 500,000 t');
});

t.test('a byte-order mark at the start of a markets file or a venue profile is read past', async (t) => {
  const plain = loadMarkets(DEMO);
  const dir = fixture(t, {
    files: {
      'demo.json': '\uFEFF' + readFileSync(DEMO, 'utf8'),
      'venues/cea.json': '\uFEFF' + readFileSync(join(VENUES, 'cea.json'), 'utf8'),
    },
  });
  t.equal(readFileSync(dir, 'utf8').charCodeAt(0), 0xfeff, 'the fixture starts with the mark');
  const marked = loadMarkets(dir);
  t.same(marked.commands, plain.commands, 'the same set-up as without it');
  // Only at the start: one anywhere else is no JSON.
  const inside = fixture(t, { files: { 'venues/cea.json': readFileSync(join(VENUES, 'cea.json'), 'utf8').replace('{', '{\uFEFF') } });
  setupFails(t, inside, '(file)', /not valid JSON/, join(inside, '..', 'venues', 'cea.json'));
});

t.test('applySetup', async (t) => {
  const setup = loadMarkets(DEMO);
  const engine = new Engine({ tradingDate: '2026-11-20' });
  const last = applySetup(engine, setup, 5, cst('2026-11-20', '08:00'));
  t.equal(last, 5 + setup.commands.length - 1, 'returns the last sequence number used');
  t.equal(engine.lastSequence, last);
  t.equal(engine.instruments.length, 12);
  t.equal(engine.accounts.size, readJson(DEMO).accounts.length);

  const e = thrown(SetupError, () => applySetup(engine, setup, last + 1, cst('2026-11-20', '08:01')));
  t.equal(e.field, 'commands[0]');
  t.match(e.message, /listInstrument CEA23.*rejected: INSTRUMENT_EXISTS/, 'a rejected command throws, naming it and the engine\'s reason');

  const e2 = thrown(Error, () => applySetup(new Engine({ tradingDate: '2026-11-20' }), setup, 0, cst('2026-11-20', '08:00')));
  t.match(e2.message, /sequence 0/, 'the first sequence number is startSeq itself and must follow the engine\'s last one');
});

t.test('a broken venue profile names its file and field', async (t) => {
  profileFails(t, fixture(t, { venues: { hbea: (p) => { p.fees.listed.buy = '0.5%'; } } }), 'hbea', 'fees.listed.buy', /rate of turnover/);
  profileFails(t, fixture(t, { venues: { hbea: (p) => { p.fees.listed.buy = 0.005; } } }), 'hbea', 'fees.listed.buy', /decimal string/);
  profileFails(t, fixture(t, { venues: { bea: (p) => { p.listedBandPct = '0'; } } }), 'bea', 'listedBandPct', /percentage/);
  profileFails(t, fixture(t, { venues: { cqea: (p) => { p.listedBandPct = 'twenty'; } } }), 'cqea', 'listedBandPct', /percentage/);
  profileFails(t, fixture(t, { venues: { shea: (p) => { p.bandPct = '10'; } } }), 'shea', 'bandPct', /not a profile field/);
  profileFails(t, fixture(t, { venues: { gdea: (p) => { p.sessions.listed[1] = ['13:30', '25:00']; } } }), 'gdea', 'sessions.listed[1]', /HH:MM/);
  profileFails(t, fixture(t, { venues: { gdea: (p) => { delete p.sessions.block; } } }), 'gdea', 'sessions.block', /is missing: list its sessions .*, or \[\] for none/);
  profileFails(t, fixture(t, { venues: { gdea: (p) => { p.instruments.push({ ...p.instruments[0], name: 'again' }); } } }), 'gdea', `instruments[1].symbol`, /^.*: lists GDEA a second time \(also instruments\[0\]\)$/);
  profileFails(t, fixture(t, { venues: { ccer: (p) => { p.admittedClasses = ['company']; } } }), 'ccer', 'admittedClasses[0]', /compliance, institution, individual/);
  profileFails(t, fixture(t, { venues: { sza: (p) => { delete p.positionCaps.individual; } } }), 'sza', 'positionCaps.individual', /missing/);
  profileFails(t, fixture(t, { venues: { bea: (p) => { p.largeHolder.publish = 'yes'; } } }), 'bea', 'largeHolder.publish', /true or false/);
});

t.test('set-up errors name the file and the field', async (t) => {
  t.test('file problems', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'markets-test-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    setupFails(t, join(dir, 'missing.json'), '(file)', /cannot be read.*ENOENT/);
    writeFileSync(join(dir, 'bad.json'), '{ "venues": [ ');
    setupFails(t, join(dir, 'bad.json'), '(file)', /not valid JSON/);
    writeFileSync(join(dir, 'array.json'), '[]');
    setupFails(t, join(dir, 'array.json'), '(setup)', /must be a JSON object/);

    const missingVenue = fixture(t, { demo: (d) => { d.venues[3] = 'venues/nope.json'; } });
    const e = setupFails(t, missingVenue, 'venues[3]', /cannot read the venue profile .*nope\.json/);
    t.match(e.message, join(missingVenue, '..', 'venues', 'nope.json'), 'names the venue file it could not read');
    const badVenue = fixture(t, { files: { 'venues/tjea.json': '{ "venue": "TJEA", ' } });
    setupFails(t, badVenue, '(file)', /not valid JSON \(venue profile venues\[7\]/, join(badVenue, '..', 'venues', 'tjea.json'));
  });

  t.test('top level', async (t) => {
    setupFails(t, fixture(t, { demo: (d) => { d.currency = 'CNY'; } }), 'currency', /not a set-up field/);
    setupFails(t, fixture(t, { demo: (d) => { d.venues = []; } }), 'venues', /non-empty array/);
    setupFails(t, fixture(t, { demo: (d) => { delete d.venues; } }), 'venues', /non-empty array/);
    setupFails(t, fixture(t, { demo: (d) => { d.venues[2] = 7; } }), 'venues[2]', /path to a venue profile/);
    setupFails(t, fixture(t, { demo: (d) => { d.allDay = 'yes'; } }), 'allDay', /true or false/);
    setupFails(t, fixture(t, { demo: (d) => { d.venues.push('venues/cea.json'); } }), 'venues[10]', /second time/);
    setupFails(t, fixture(t, {
      demo: (d) => { d.venues.push('venues/cea-copy.json'); },
      files: { 'venues/cea-copy.json': readFileSync(join(VENUES, 'cea.json'), 'utf8') },
    }), 'venues[10]', /defines venue CEA/);
    setupFails(t, fixture(t, {
      demo: (d) => { d.venues.push('venues/other.json'); },
      files: { 'venues/other.json': JSON.stringify({ ...venueJson('hbea'), venue: 'HBEA2' }) },
    }), 'venues[10]', /instrument HBEA, which venue HBEA lists already/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts = {}; } }), 'accounts', /array/);
  });

  t.test('instruments', async (t) => {
    setupFails(t, fixture(t, { demo: (d) => { d.instruments.CEA26 = '60.00'; } }), 'instruments.CEA26', /not an instrument of any venue/);
    setupFails(t, fixture(t, { demo: (d) => { delete d.instruments.CEA25; } }), 'instruments.CEA25', /missing.*venue CEA/);
    setupFails(t, fixture(t, { demo: (d) => { delete d.instruments.FJEA; } }), 'instruments.FJEA', /missing/);
    for (const bad of ['57.456', 'abc', '-1.00', '0', '0.00', '57,46', '']) {
      setupFails(t, fixture(t, { demo: (d) => { d.instruments.CEA24 = bad; } }), 'instruments.CEA24', /listing price above 0/);
    }
    setupFails(t, fixture(t, { demo: (d) => { d.instruments.HBEA = 40.67; } }), 'instruments.HBEA', /decimal string/);
    setupFails(t, fixture(t, {
      demo: (d) => { d.instruments.SHEA = '64.85'; },
      venues: { shea: (p) => { p.tick = '0.10'; } },
    }), 'instruments.SHEA', /multiple of the tick 0\.10/);
    setupFails(t, fixture(t, { demo: (d) => { d.instruments = ['CEA24']; } }), 'instruments', /object of listing prices/);
  });

  t.test('accounts', async (t) => {
    // demo.accounts: 0 M1-C1 compliance, 1 M1-C2 compliance (HBEA, CCER), 3 M1-I1 institution, 4 M1-P1 individual
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[1].accountId = 'M1-C1'; } }), 'accounts[1].accountId', /used already by accounts\[0\]/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].class = 'utility'; } }), 'accounts[0].class', /one of compliance, institution, individual/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].holdings.XYZ = 100; } }), 'accounts[0].holdings.XYZ', /not an instrument/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].balance = '1.00'; } }), 'accounts[0].balance', /not an account field/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].member = 'M2'; } }), 'accounts[0].accountId', /start with its member's id/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].accountId = 'M1 C1'; } }), 'accounts[0].accountId', /letters, digits/);
    setupFails(t, fixture(t, { demo: (d) => { delete d.accounts[0].member; } }), 'accounts[0].member', /member id/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[3].allocation = 1000; } }), 'accounts[3].allocation', /only compliance accounts/);
    setupFails(t, fixture(t, { demo: (d) => { delete d.accounts[0].allocation; } }), 'accounts[0].allocation', /annual allocation/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].allocation = 1.5; } }), 'accounts[0].allocation', /whole number/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].venues = ['CEA', 'XYZ']; } }), 'accounts[0].venues[1]', /not a venue of the set-up/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].venues = []; } }), 'accounts[0].venues', /non-empty/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].venues = ['CEA', 'CCER', 'CEA']; } }), 'accounts[0].venues[2]', /twice/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].cash = '50,000,000.00'; } }), 'accounts[0].cash', /decimal string/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].cash = 50000000; } }), 'accounts[0].cash', /decimal string/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].holdings.CEA24 = 0; } }), 'accounts[0].holdings.CEA24', /above 0/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].holdings.CEA24 = 10.5; } }), 'accounts[0].holdings.CEA24', /whole number/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].holdings.CEA24 = '300000'; } }), 'accounts[0].holdings.CEA24', /whole number/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[0].holdings = [1]; } }), 'accounts[0].holdings', /object of tonnes/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[4].holdings.CCER = 1000; } }), 'accounts[4].holdings.CCER', /individual, a class venue CCER does not admit/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[1].holdings.CEA24 = 1000; } }), 'accounts[1].holdings.CEA24', /not admitted to venue CEA/);
    setupFails(t, fixture(t, { demo: (d) => { d.accounts[2] = 'M1-C3'; } }), 'accounts[2]', /must be an object/);
  });

  t.test('a valid variant still loads', async (t) => {
    // Zero cash and no holdings: createAccount only; an account without venues is admitted everywhere.
    const file = fixture(t, { demo: (d) => { d.accounts = [{ accountId: 'M9-X', member: 'M9', class: 'institution', cash: '0' }]; } });
    const setup = loadMarkets(file);
    t.same(setup.commands.slice(12), [{ type: 'createAccount', accountId: 'M9-X', member: 'M9', accountClass: 'institution', allocation: 0, venues: null }]);
    const engine = fresh(setup);
    t.equal(engine.account('M9-X')?.cash, 0);
  });
});
