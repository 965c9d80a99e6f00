// How long the exchange's thread stalls on a busy day: during trading, while a snapshot is taken,
// at the end of day while the day's settlement is built and written, and while a member reads its
// orders and fills of that closed day.
//
//   npm run bench:stalls -- [--open 300000] [--trades 100000] [--burst 2000]
//
// One process holds the exchange (startExchange on a temporary data directory, the demo market, the
// journal as it ships, no periodic snapshot). Orders go through gateway.sequencer.submit, the door
// the HTTP routes use, --burst at a time: first --open resting orders of one tonne on CEA24 that
// never cross (sells from 58.00 up, buys from 57.00 down), then --trades crossing pairs at 57.46
// between accounts of different members. Then a snapshot (sequencer.snapshot(), as the periodic one
// is taken), then the end of day (its settlement). Then a member with ten orders of its own that
// day (M3-I1) reads them and its fills of the closed day through the HTTP routes (inject). A 5 ms timer measures the longest gap between
// its ticks in each phase: the longest time the thread was held. Trading's own stall (a burst
// submitted in one turn) is the baseline the other two are read against: the ratios printed are
// stall / trading's stall. Prints what happened, then one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_MARKETS_FILE } from '../engine/setup.ts';
import { startExchange } from '../gateway/exchange.ts';
import type { CommandBody } from '../persistence/sequencer.ts';
import { positiveInt, progress } from './setup.ts';

const { values } = parseArgs({ options: { open: { type: 'string', default: '300000' }, trades: { type: 'string', default: '100000' }, burst: { type: 'string', default: '2000' } } });
const OPEN = positiveInt(values.open, 'open');
const TRADES = positiveInt(values.trades, 'trades');
const BURST = positiveInt(values.burst, 'burst');
const DATE = '2026-11-20'; // a Friday
const now = Date.parse(`${DATE}T10:00:00+08:00`);

/** The longest gap between ticks of a 5 ms timer while `work` runs, and how long it ran. */
async function stallDuring(work: () => Promise<unknown>): Promise<{ stallMs: number; ms: number }> {
  let longest = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    longest = Math.max(longest, t - last);
    last = t;
  }, 5);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  longest = Math.max(longest, performance.now() - last);
  return { stallMs: Math.round(longest), ms: Math.round(performance.now() - started) };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-stalls-'));
const MEMBER_KEY = 'bench-member-m3-key-0123456789abcdef';
const exchange = await startExchange({
  dataDir: dir, marketsFile: DEMO_MARKETS_FILE, now: () => now, snapshotEvery: 0, rateLimit: 0,
  keys: [{ key: 'bench-operator-key-0123456789abcdef', role: 'operator' }, { key: MEMBER_KEY, role: 'member', member: 'M3' }],
});
try {
  // Ready to serve (on 127.0.0.1, a free port): the reads below go through the routes, by inject.
  await exchange.listen(0, '127.0.0.1');
  const { sequencer, settlement } = exchange.gateway;
  const ACCOUNTS: readonly (readonly [member: string, accountId: string])[] = [['M1', 'M1-C1'], ['M2', 'M2-C1'], ['M3', 'M3-C1'], ['M1', 'M1-I1'], ['M2', 'M2-I1']];
  const order = (i: number, side: 'buy' | 'sell', price: number, [member, accountId] = ACCOUNTS[i % ACCOUNTS.length]): Promise<{ ok: boolean }> => {
    return sequencer.submit({ role: 'member', id: member }, {
      type: 'placeOrder', accountId, symbol: 'CEA24', side, orderType: 'limit', price, quantity: 1, timeInForce: 'DAY', targetOrderId: null, clientOrderId: null,
    } as CommandBody) as Promise<{ ok: boolean }>;
  };
  const inBursts = async (n: number, one: (i: number) => Promise<{ ok: boolean }>) => {
    for (let from = 0; from < n; from += BURST) {
      const burst: Promise<{ ok: boolean }>[] = [];
      for (let i = from; i < Math.min(n, from + BURST); i++) burst.push(one(i));
      const results = await Promise.all(burst);
      const refused = results.find((r) => !r.ok);
      if (refused !== undefined) throw new Error(`an order was refused: ${JSON.stringify(refused)}`);
    }
  };
  progress(`${OPEN} resting orders, then ${TRADES} trades, in bursts of ${BURST}`);
  const trading = await stallDuring(async () => {
    // Sells from 58.00 up, buys from 57.00 down, 300 prices a side: they never cross.
    await inBursts(OPEN, (i) => (i % 2 === 0 ? order(i, 'sell', 5800 + (i % 300)) : order(i, 'buy', 5700 - (i % 300))));
    // Pairs at 57.46, a sell then a buy, from accounts of different members (i and i + 1).
    await inBursts(2 * TRADES, (i) => order(i, i % 2 === 0 ? 'sell' : 'buy', 5746));
    // The reader's own: ten buys at 52.00, below every sell.
    await inBursts(10, (i) => order(i, 'buy', 5200, ['M3', 'M3-I1']));
  });
  const commands = sequencer.durableSeq;
  progress(`trading: ${commands} commands in ${trading.ms} ms, the longest stall ${trading.stallMs} ms`);
  const snapshot = await stallDuring(() => sequencer.snapshot());
  progress(`snapshot of ${OPEN} open orders: recorded after ${snapshot.ms} ms, the longest stall ${snapshot.stallMs} ms`);
  const endOfDay = await stallDuring(async () => {
    const r = await sequencer.submit({ role: 'operator', id: 'bench' }, { type: 'endOfDay', date: DATE } as CommandBody);
    if (!r.ok) throw new Error(`the end of day was refused: ${r.code}`);
    await settlement.ensure(DATE);
  });
  if (!settlement.published(DATE)) throw new Error('the day was not published');
  progress(`end of day, ${TRADES} trades settled: published after ${endOfDay.ms} ms, the longest stall ${endOfDay.stallMs} ms`);
  let read = { orders: 0, fills: 0 };
  const pastDay = await stallDuring(async () => {
    const get = async (url: string) => {
      const r = await exchange.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${MEMBER_KEY}` } });
      if (r.statusCode !== 200) throw new Error(`GET ${url}: ${r.statusCode} ${r.body}`);
      return (r.json() as unknown[]).length;
    };
    read = { orders: await get(`/v1/orders?date=${DATE}&accountId=M3-I1`), fills: await get(`/v1/fills?date=${DATE}&accountId=M3-I1`) };
  });
  if (read.orders !== 10) throw new Error(`the closed day's orders of M3-I1: ${read.orders}, not 10`);
  progress(`M3-I1's ${read.orders} orders and ${read.fills} fills of the closed day: read in ${pastDay.ms} ms, the longest stall ${pastDay.stallMs} ms`);
  const ratio = (x: number) => Math.round((x / Math.max(1, trading.stallMs)) * 100) / 100;
  console.log(JSON.stringify({
    commands, openOrders: OPEN, trades: TRADES,
    tradingStallMs: trading.stallMs, snapshotStallMs: snapshot.stallMs, snapshotMs: snapshot.ms, endOfDayStallMs: endOfDay.stallMs, endOfDayMs: endOfDay.ms,
    pastDayStallMs: pastDay.stallMs, pastDayMs: pastDay.ms,
    snapshotStallRatio: ratio(snapshot.stallMs), endOfDayStallRatio: ratio(endOfDay.stallMs), pastDayStallRatio: ratio(pastDay.stallMs),
  }));
} finally {
  await exchange.close();
  rmSync(dir, { recursive: true, force: true });
}
