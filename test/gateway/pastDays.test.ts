// A closed day's orders and fills (?date=), read on the past days' thread, are what the members read
// live that day: property runs of random trading days over real HTTP, each closed by an end of day,
// then every member's orders (those resting at the close expired, nothing else changed) and fills
// of that day compared with the reads taken just before its close; earlier days read again in
// between and all at once (the thread keeps one day folded and changes day on request). The day kept
// is read without folding it again, and a date that is not a closed day leaves it kept (/metrics
// counts both). A closed day whose facts are damaged answers 500 INTERNAL, and the exchange goes on
// serving. A shutdown while a closed day's read is in flight answers it and is not held by its
// kept-alive connection (the exchange on its standby server, as `npm start` runs it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import t from 'tap';
import { DEMO_MARKETS_FILE } from '../../engine/setup.ts';
import { startExchange } from '../../gateway/exchange.ts';
import { call, expectError, KEY_SPECS, KEYS, startServer } from '../support/server.ts';

type Member = 'M1' | 'M2' | 'M3';
const MEMBERS: Member[] = ['M1', 'M2', 'M3'];
/** Accounts that may trade CEA24 (M3-I2 holds none: its sells are refused) and HBEA, with their member. */
const ACCOUNTS: [Member, string, string][] = [
  ['M1', 'M1-C1', 'CEA24'], ['M1', 'M1-I1', 'CEA24'], ['M1', 'M1-P1', 'CEA24'], ['M2', 'M2-C1', 'CEA24'], ['M2', 'M2-I1', 'CEA24'],
  ['M3', 'M3-C1', 'CEA24'], ['M3', 'M3-I2', 'CEA24'], ['M1', 'M1-C2', 'HBEA'], ['M2', 'M2-P1', 'HBEA'],
];

let clock = Date.parse('2026-03-10T10:00:00+08:00');
const s = await startServer({ now: () => clock });
t.teardown(() => s.close());

type OrderRead = { orderId: string; status: string; remainingQuantity: number; [k: string]: unknown };
/** What a member read of a day just before its close. */
interface DayRecord { orders: Record<Member, OrderRead[]>; fills: Record<Member, unknown[]>; c1Fills: unknown[] }
const days = new Map<string, DayRecord>();

async function get(path: string, key: Member): Promise<any> {
  const r = await s.api('GET', path, { key });
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body;
}

type Action =
  | { kind: 'place'; account: number; side: 'buy' | 'sell'; tick: number; quantity: number; tif: 'DAY' | 'IOC' }
  | { kind: 'cancel' | 'modify'; pick: number; quantity: number };
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('place' as const), account: fc.nat(ACCOUNTS.length - 1), side: fc.constantFrom('buy' as const, 'sell' as const), tick: fc.integer({ min: -8, max: 8 }), quantity: fc.integer({ min: 1, max: 60 }), tif: fc.constantFrom('DAY' as const, 'DAY' as const, 'IOC' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('cancel' as const, 'modify' as const), pick: fc.nat(), quantity: fc.integer({ min: 1, max: 60 }) }) },
);

const tally = { trades: 0, expired: 0, refused: 0, changed: 0, bothSides: 0 };

/** Runs one day's actions; returns nothing, counts what happened. */
async function trade(actions: Action[]): Promise<void> {
  const placed: [Member, string][] = [];
  for (const a of actions) {
    if (a.kind === 'place') {
      const [member, accountId, symbol] = ACCOUNTS[a.account];
      const base = symbol === 'CEA24' ? 5746 : 4067;
      const price = ((base + a.tick * 10) / 100).toFixed(2);
      const r = await s.api('POST', '/v1/orders', { key: member, body: { accountId, symbol, side: a.side, type: 'limit', price, quantity: a.quantity, timeInForce: a.tif } });
      if (r.status === 201) {
        placed.push([member, r.body.order.orderId]);
        tally.trades += r.body.fills.length;
      } else tally.refused++;
    } else if (placed.length > 0) {
      const [member, orderId] = placed[a.pick % placed.length];
      const r = a.kind === 'cancel'
        ? await s.api('DELETE', `/v1/orders/${orderId}`, { key: member })
        : await s.api('PATCH', `/v1/orders/${orderId}`, { key: member, body: { quantity: a.quantity } });
      if (r.status === 200) tally.changed++;
      else tally.refused++;
    }
  }
}

/** Closes the trading day (at 15:30) and moves the clock to the next one's 10:00; returns the date closed. */
async function endOfDay(): Promise<string> {
  const date = s.exchange.gateway.engine.tradingDate;
  clock = Date.parse(`${date}T15:30:00+08:00`);
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  if (eod.status !== 200 || eod.body.date !== date) throw new Error(`end of day: ${eod.status} ${eod.text.slice(0, 300)}`);
  clock = Date.parse(`${s.exchange.gateway.engine.tradingDate}T10:00:00+08:00`);
  return date;
}

/**
 * A list read page by page (`?after=&limit=`), each page after the last id of the one before, until
 * a page shorter than the limit; throws when a page holds more than its limit allows (one more, to
 * keep a trade's two fills together) or an id is split over two pages.
 */
async function paged(path: string, member: Member, id: 'orderId' | 'tradeId', limit: number): Promise<unknown[]> {
  const all: Record<string, string>[] = [];
  for (let after: string | undefined, pages = 0; ; pages++) {
    if (pages > 1000) throw new Error(`${path}: no end of pages`);
    const got = (await get(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${after === undefined ? '' : `&after=${after}`}`, member)) as Record<string, string>[];
    const extra = got.length - limit;
    if (extra > 1 || (extra === 1 && got.at(-1)![id] !== got.at(-2)![id])) throw new Error(`${path}: a page of ${got.length} at limit ${limit}`);
    if (got.length > 0 && all.length > 0 && got[0][id] === all.at(-1)![id]) throw new Error(`${path}: ${id} ${got[0][id]} split over two pages`);
    all.push(...got);
    if (got.length < limit) return all;
    after = got.at(-1)![id];
  }
}

/** The closed day's reads, compared with what was read live before its close; throws on the first difference. */
async function checkDay(date: string, member: Member, limit?: number): Promise<void> {
  const live = days.get(date) as DayRecord;
  const orders = (await get(`/v1/orders?date=${date}`, member)) as OrderRead[];
  // Those resting at the close expired then (the end of day ran at 15:30), with what they had filled.
  const expected = live.orders[member].map((o) => (o.status === 'new' || o.status === 'partially_filled'
    ? { ...o, remainingQuantity: 0, status: 'expired', reason: 'end_of_day', time: `${date}T15:30:00.000+08:00` } : o));
  if (JSON.stringify(orders) !== JSON.stringify(expected)) {
    throw new Error(`${member}'s orders of ${date} differ\nclosed ${JSON.stringify(orders)}\nlive   ${JSON.stringify(live.orders[member])}`);
  }
  const fills = await get(`/v1/fills?date=${date}`, member);
  if (JSON.stringify(fills) !== JSON.stringify(live.fills[member])) throw new Error(`${member}'s fills of ${date} differ\nclosed ${JSON.stringify(fills)}\nlive   ${JSON.stringify(live.fills[member])}`);
  if (limit === undefined) return;
  if (JSON.stringify(await paged(`/v1/orders?date=${date}`, member, 'orderId', limit)) !== JSON.stringify(orders)) throw new Error(`${member}'s orders of ${date} by pages of ${limit} differ`);
  if (JSON.stringify(await paged(`/v1/fills?date=${date}`, member, 'tradeId', limit)) !== JSON.stringify(fills)) throw new Error(`${member}'s fills of ${date} by pages of ${limit} differ`);
}

t.test("a closed day's orders and fills are what was read live before its close", async (t) => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 6 }), async (actions, earlier, limit) => {
      runs++;
      await trade(actions);
      const record: DayRecord = { orders: {} as DayRecord['orders'], fills: {} as DayRecord['fills'], c1Fills: await get('/v1/fills?accountId=M1-C1', 'M1') };
      for (const m of MEMBERS) {
        record.orders[m] = await get('/v1/orders?status=all', m);
        record.fills[m] = await get('/v1/fills', m);
        // The same lists page by page (`?after=&limit=`).
        if (JSON.stringify(await paged('/v1/orders?status=all', m, 'orderId', limit)) !== JSON.stringify(record.orders[m])) throw new Error(`${m}'s orders by pages of ${limit} differ`);
        if (JSON.stringify(await paged('/v1/fills', m, 'tradeId', limit)) !== JSON.stringify(record.fills[m])) throw new Error(`${m}'s fills by pages of ${limit} differ`);
        const twice = (record.fills[m] as { tradeId: string }[]).filter((f, i, all) => i > 0 && all[i - 1].tradeId === f.tradeId).length;
        tally.bothSides += twice;
      }
      const date = await endOfDay();
      days.set(date, record);
      tally.expired += MEMBERS.reduce((n, m) => n + record.orders[m].filter((o) => o.status === 'new' || o.status === 'partially_filled').length, 0);
      if ((await get('/v1/orders?status=all', 'M1')).length !== 0) throw new Error('the new day already has orders');

      for (const m of MEMBERS) await checkDay(date, m, limit);
      // One account only, and one instrument only.
      const c1 = await get(`/v1/fills?date=${date}&accountId=M1-C1`, 'M1');
      if (JSON.stringify(c1) !== JSON.stringify(record.c1Fills)) throw new Error(`M1-C1's fills of ${date} differ`);
      const hbea = (await get(`/v1/orders?date=${date}&symbol=HBEA`, 'M2')) as OrderRead[];
      const hbeaLive = record.orders.M2.filter((o) => o.symbol === 'HBEA').map((o) => o.orderId);
      if (JSON.stringify(hbea.map((o) => o.orderId)) !== JSON.stringify(hbeaLive)) throw new Error(`M2's HBEA orders of ${date} differ`);

      // An earlier day, then this one again, then both at once for every member: the thread changes day each time.
      const dates = [...days.keys()];
      const before = dates[earlier % dates.length];
      await checkDay(before, 'M2');
      await checkDay(date, 'M3');
      await Promise.all(MEMBERS.flatMap((m) => [checkDay(before, m), checkDay(date, m)]));
    }),
    { numRuns: 15, endOnFailure: true },
  );
  t.equal(days.size, runs, `${runs} days closed and read back`);
  // The runs must have exercised what the property is about.
  t.ok(tally.trades > 0 && tally.expired > 0 && tally.changed > 0 && tally.refused > 0 && tally.bothSides > 0,
    `${tally.trades} trades, ${tally.expired} orders resting at a close, ${tally.changed} cancels or modifications, ${tally.refused} refusals, ${tally.bothSides} trades between a member's own accounts (two fills of one trade)`);
});

t.test('the day kept is read without folding it again; a date that is not a closed day leaves it kept', async (t) => {
  const reads = async () => {
    const text = (await s.api('GET', '/metrics')).text;
    const value = (day: string) => Number(new RegExp(`^exchange_closed_day_reads_total\\{day="${day}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { folded: value('folded'), kept: value('kept') };
  };
  const [first, second] = [...days.keys()];
  await checkDay(first, 'M1'); // two reads: orders and fills
  let before = await reads();
  await checkDay(first, 'M2');
  t.same(await reads(), { folded: before.folded, kept: before.kept + 2 }, 'the same day again: kept, not folded');
  expectError(t, await s.api('GET', '/v1/fills?date=2000-01-03', { key: 'M1' }), 404, 'UNKNOWN_DAY');
  await checkDay(first, 'M3');
  t.same(await reads(), { folded: before.folded, kept: before.kept + 4 }, 'after a date that is not a closed day, still kept');
  before = await reads();
  await checkDay(second, 'M1');
  t.same(await reads(), { folded: before.folded + 1, kept: before.kept + 1 }, 'another day: folded once, then kept');
});

t.test("a closed day whose facts are damaged answers 500 INTERNAL; the exchange goes on serving", async (t) => {
  const sold = await s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '57.46', quantity: 7, timeInForce: 'DAY' } });
  t.equal(sold.status, 201);
  const bought = await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.46', quantity: 7, timeInForce: 'DAY' } });
  t.equal(bought.body.fills?.length, 1, 'a trade');
  const seq = Number(bought.headers.get('x-exchange-seq'));
  const date = await endOfDay();
  // Another connection damages the facts holding that trade, before anyone read the day.
  const db = new Database(join(s.dataDir, 'journal.sqlite'));
  const damaged = db.prepare("UPDATE facts SET events = '[{' WHERE first_seq <= ? AND last_seq >= ?").run(seq, seq);
  db.close();
  t.equal(damaged.changes, 1, 'the batch of the trade damaged');

  expectError(t, await s.api('GET', `/v1/fills?date=${date}`, { key: 'M1' }), 500, 'INTERNAL', undefined, "the damaged day's fills");
  expectError(t, await s.api('GET', `/v1/orders?date=${date}`, { key: 'M2' }), 500, 'INTERNAL', undefined, "the damaged day's orders");
  t.equal((await s.api('GET', '/healthz')).status, 200, 'the exchange is healthy');
  t.equal((await s.api('GET', '/v1/orders?status=all', { key: 'M1' })).status, 200, "today's orders are served");
  const earlier = [...days.keys()][0];
  await t.resolves(checkDay(earlier, 'M1'), 'an undamaged closed day reads back as before');
  expectError(t, await s.api('GET', `/v1/fills?date=${date}`, { key: 'M1' }), 500, 'INTERNAL', undefined, 'the damaged day again: never kept as read');
  const placed = await s.api('POST', '/v1/orders', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '58.00', quantity: 1, timeInForce: 'DAY' } });
  t.equal(placed.status, 201, 'and orders are taken');
});

t.test("a shutdown while a closed day's read is in flight answers it, and is not held by its kept-alive connection", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cx-past-days-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  let now = Date.parse('2026-03-10T15:30:00+08:00');
  // On its standby server, as `npm start` runs it: the gateway is built on a server that listens already.
  const ex = await startExchange({ dataDir, marketsFile: DEMO_MARKETS_FILE, keys: KEY_SPECS, rateLimit: 0, now: () => now, snapshotEvery: 0, listen: { port: 0, host: '127.0.0.1' } });
  const base = ex.address as string;
  const eod = await call(base, 'POST', '/v1/admin/end-of-day', { key: KEYS.operator, body: {} });
  t.equal(eod.status, 200, 'a day closed');
  now = Date.parse('2026-03-11T10:00:00+08:00');
  // The past days' thread is not started yet: the first read waits for it (hundreds of ms), long after the close begins.
  const read = fetch(`${base}/v1/orders?date=${eod.body.date}`, { headers: { authorization: `Bearer ${KEYS.M1}` } });
  await new Promise((resolve) => setTimeout(resolve, 20));
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    ex.close().then(() => 'closed'),
    new Promise((resolve) => { timer = setTimeout(() => resolve('still open after 30 s'), 30_000); }),
  ]);
  clearTimeout(timer);
  t.equal(closed, 'closed', 'the exchange closed (a kept-alive connection held it until its 72 s keep-alive timeout before)');
  const answered = await read;
  t.equal(answered.status, 200, 'the read in flight was answered');
  t.equal(answered.headers.get('connection'), 'close', 'telling its client not to send another request on that connection, which the shutdown closes');
  t.same(await answered.json(), [], 'with the closed day\'s orders (none)');
});
