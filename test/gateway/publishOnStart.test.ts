// A start publishes the settlement of every closed day that has none (a crash right after an end of
// day, or outputs that could not be written), one day after another, before it is ready. A SIGTERM
// meanwhile is heeded between two days: the day being written is finished whole, the rest are left
// for the next start, which publishes them. The journal here is written without the gateway, so
// that none of its many closed days is published; the exchange runs as `npm start` runs it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { recover } from '../../persistence/recovery.ts';
import { Sequencer } from '../../persistence/sequencer.ts';
import { ExchangeProcess, tempFolder, writeKeys } from '../support/exchangeProcess.ts';
import { call, KEY_SPECS, KEYS } from '../support/server.ts';

/** Closed days, each with one trade: enough that publishing them all takes far longer than a signal to arrive. */
const DAYS = 40;

const folder = tempFolder('publish-on-start-test-');
t.teardown(folder.remove);
const dataDir = join(folder.path, 'data');
const keysFile = writeKeys(folder.path, KEY_SPECS);

/** Writes the demo set-up and DAYS trading days of one trade each, every one closed; returns their dates. */
async function writeDays(): Promise<string[]> {
  const setup = loadMarkets(DEMO_MARKETS_FILE);
  const r = recover(dataDir, { genesis: { tradingDate: '2026-03-02', markets: { file: setup.file, profiles: setup.profiles } } });
  let clock = Date.parse('2026-03-02T10:00:00+08:00');
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => clock });
  const done = await Promise.all(setup.commands.map((body) => sequencer.submit({ role: 'operator', id: 'setup' }, body)));
  if (!done.every((x) => x.ok)) throw new Error('the demo set-up was refused');
  const dates: string[] = [];
  const order = (member: string, accountId: string, side: 'buy' | 'sell') => sequencer.submit({ role: 'member', id: member }, {
    type: 'placeOrder', accountId, symbol: 'CEA24', side, orderType: 'limit', price: 5746, quantity: 10, timeInForce: 'DAY', targetOrderId: null, clientOrderId: null,
  });
  for (let d = 0; d < DAYS; d++) {
    const date = r.engine.tradingDate;
    clock = Date.parse(`${date}T10:00:00+08:00`);
    const results = [await order('M1', 'M1-C1', 'sell'), await order('M2', 'M2-C1', 'buy')];
    if (!results.every((x) => x.ok)) throw new Error(`an order of ${date} was refused: ${JSON.stringify(results)}`);
    clock = Date.parse(`${date}T15:30:00+08:00`);
    const eod = await sequencer.submit({ role: 'operator', id: 'test' }, { type: 'endOfDay', date });
    if (!eod.ok) throw new Error(`the end of ${date} was refused: ${JSON.stringify(eod)}`);
    dates.push(date);
  }
  await sequencer.shutdown();
  r.journal.close();
  return dates;
}

/** The days whose settlement is published (its row in settlement_days: written last). */
function publishedDays(): string[] {
  const db = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settlement_days'").get();
    return table === undefined ? [] : (db.prepare('SELECT date FROM settlement_days ORDER BY date').all() as { date: string }[]).map((r) => r.date);
  } finally {
    db.close();
  }
}

t.test('SIGTERM while a start publishes closed days: the day being written finished, the rest left to the next start', async (t) => {
  const dates = await writeDays();
  t.equal(dates.length, DAYS, `${DAYS} closed days`);
  t.same(publishedDays(), [], 'none published');

  const ex = await ExchangeProcess.spawn({ dataDir, keysFile });
  t.teardown(() => ex.kill());
  // Wait until the first day's folder is there: publishing has begun.
  const first = join(dataDir, 'settlement', dates[0]);
  const deadline = Date.now() + 60_000;
  while (!existsSync(first)) {
    if (Date.now() > deadline || !ex.running) throw new Error(`never seen publishing:\n${ex.output}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  t.equal(await ex.stop(), 0, 'it exits 0');
  t.match(ex.output, /stopped before it was ready; .* is intact/, 'and says it stopped before it was ready');
  t.notMatch(ex.output, /cannot start|not published|Error/, 'no failure reported');
  const published = publishedDays();
  t.ok(published.length >= 1 && published.length < DAYS, `${published.length} of ${DAYS} days published before it stopped`);
  t.same(published, dates.slice(0, published.length), 'the first ones, in order');
  for (const date of published) t.ok(existsSync(join(dataDir, 'settlement', date, 'totals.json')), `${date}: whole (its totals written last of its files)`);
  // A day whose folder was begun but not published is written again by the next start; none is begun beyond the one after the last published.
  const begun = readdirSync(join(dataDir, 'settlement')).sort();
  t.ok(begun.length <= published.length + 1, `no day begun after the stop (${begun.length} folders, ${published.length} published)`);

  const again = await ExchangeProcess.spawn({ dataDir, keysFile });
  t.teardown(() => again.kill());
  await again.waitReady(120_000);
  t.same(publishedDays(), dates, 'the next start published every remaining day before it was ready');
  const last = await call(again.base, 'GET', `/v1/settlement/${dates[DAYS - 1]}`, { key: KEYS.operator });
  t.equal(last.status, 200, 'the last closed day is served');
  t.equal(await again.stop(), 0);
});
