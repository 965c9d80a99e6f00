// A closed day's settlement is built and written on a thread of its own, on a real server and a real
// SQLite file: while a busy day's reports are written the exchange goes on answering, the tables get
// every row (written in runs of a few thousand, the day's row last), and a shutdown waits for the
// write, so that a day closed just before it is published when the exchange has stopped (and for
// the end of day's snapshot, taken on the snapshot thread).
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { CommandBody } from '../../persistence/sequencer.ts';
import { startServer, type TestServer } from '../support/server.ts';

const DAY1 = '2026-03-10'; // a Tuesday
const DAY2 = '2026-03-12';
let clock = Date.parse(`${DAY1}T10:00:00+08:00`);
let s: TestServer = await startServer({ now: () => clock });
const dataDir = s.dataDir;
t.teardown(async () => {
  await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `n` trades of one tonne of CEA24 between M1-C1 (selling) and M2-C1 (buying), put straight to the sequencer. */
async function trade(server: TestServer, n: number): Promise<void> {
  const sequencer = server.exchange.gateway.sequencer;
  const order = (accountId: string, side: 'buy' | 'sell'): CommandBody => ({
    type: 'placeOrder', accountId, symbol: 'CEA24', side, orderType: 'limit', price: 5746, quantity: 1, timeInForce: 'DAY', targetOrderId: null, clientOrderId: null,
  } as CommandBody);
  for (let done = 0; done < n; done += 1_000) {
    const burst: Promise<unknown>[] = [];
    for (let i = done; i < Math.min(n, done + 1_000); i++) {
      burst.push(sequencer.submit({ role: 'member', id: 'M1' }, order('M1-C1', 'sell')));
      burst.push(sequencer.submit({ role: 'member', id: 'M2' }, order('M2-C1', 'buy')));
    }
    const results = (await Promise.all(burst)) as { ok: boolean }[];
    if (results.some((r) => !r.ok)) throw new Error('an order of the day was refused');
  }
}

const tableCount = (table: string, date: string): number => {
  const db = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE date = ?`).get(date) as { n: number }).n;
  } finally {
    db.close();
  }
};

t.test('the exchange answers while a busy day is settled, and every row is written', async (t) => {
  const TRADES = 12_000; // more than two runs of the trade register's rows
  await trade(s, TRADES);
  clock = Date.parse(`${DAY1}T16:00:00+08:00`);
  const settlement = s.exchange.gateway.settlement;

  // /healthz asked over and over, one request after another, until the day is published.
  let committed = false;
  let answeredUnpublished = 0;
  let stop = false;
  const probing = (async () => {
    while (!stop) {
      const r = await s.api('GET', '/healthz');
      if (r.status !== 200) throw new Error(`/healthz answered ${r.status}`);
      if (committed && !settlement.published(DAY1)) answeredUnpublished++;
    }
  })();
  const eod = (await s.exchange.gateway.sequencer.submit({ role: 'operator', id: 'operator' }, { type: 'endOfDay', date: DAY1 } as CommandBody)) as { ok: boolean };
  t.ok(eod.ok, 'the day is closed');
  committed = true;
  t.equal(await settlement.ensure(DAY1), true, 'its settlement is published');
  stop = true;
  await probing;
  t.ok(answeredUnpublished > 0, `the exchange answered while the settlement was written (${answeredUnpublished} probes)`);

  const summary = await s.api('GET', `/v1/settlement/${DAY1}`, { key: 'operator' });
  t.equal(summary.status, 200);
  t.equal(summary.body.totals.tradeCount, TRADES, 'the summary counts every trade');
  t.equal(tableCount('trade_register', DAY1), TRADES, 'the trade register has every trade');
  t.equal(tableCount('settlement_days', DAY1), 1, 'and the day\'s row');
  t.ok(tableCount('settlement_statements', DAY1) >= 2, 'the statements are there');
  const trades = await s.api('GET', `/v1/settlement/${DAY1}/trades`, { key: 'operator' });
  t.equal((trades.body as unknown[]).length, TRADES, 'the trades report lists every trade');
});

t.test('no transaction of the settlement thread begins while the journal\'s writer is writing', async (t) => {
  const DAY = '2026-03-11';
  clock = Date.parse(`${DAY}T10:00:00+08:00`);
  await trade(s, 200);
  clock = Date.parse(`${DAY}T16:00:00+08:00`);
  const busy = s.exchange.gateway.journal.writerBusy;
  const eod = (await s.exchange.gateway.sequencer.submit({ role: 'operator', id: 'operator' }, { type: 'endOfDay', date: DAY } as CommandBody)) as { ok: boolean };
  t.ok(eod.ok, 'the day is closed');
  // The flag the writer thread raises while it writes a batch, held up here as if it never ended
  // (nothing else is submitted meanwhile, so the writer thread does not lower it).
  Atomics.store(busy, 0, 1);
  const totals = join(dataDir, 'settlement', DAY, 'totals.json');
  for (let waited = 0; !existsSync(totals); waited += 10) {
    if (waited > 60_000) throw new Error('the day\'s files were never written');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(tableCount('trade_register', DAY), 0, 'the files are written, but no row while the writer writes');
  t.equal(s.exchange.gateway.settlement.published(DAY), false, 'the day is not published yet');
  Atomics.store(busy, 0, 0);
  Atomics.notify(busy, 0);
  await s.exchange.gateway.settlement.publishing(DAY);
  t.equal(tableCount('trade_register', DAY), 200, 'once it is done, every row is written');
  t.ok(s.exchange.gateway.settlement.published(DAY), 'and the day is published');
});

t.test('a shutdown waits for the settlement being written', async (t) => {
  clock = Date.parse(`${DAY2}T10:00:00+08:00`);
  await trade(s, 3_000);
  clock = Date.parse(`${DAY2}T16:00:00+08:00`);
  const eod = (await s.exchange.gateway.sequencer.submit({ role: 'operator', id: 'operator' }, { type: 'endOfDay', date: DAY2 } as CommandBody)) as { ok: boolean };
  t.ok(eod.ok, 'the day is closed');
  t.ok(s.exchange.gateway.settlement.publishing(DAY2) !== null, 'its settlement is being written');
  await s.stop();
  t.equal(tableCount('settlement_days', DAY2), 1, 'once stopped, the day is published');
  t.equal(tableCount('trade_register', DAY2), 3_000);
  for (const file of ['statements.json', 'trades.csv', 'totals.json']) t.ok(existsSync(join(dataDir, 'settlement', DAY2, file)), file);
  // The next start finds nothing to write again and serves the day.
  s = await startServer({ now: () => clock, dataDir });
  t.equal(s.exchange.gateway.settlement.publishing(DAY2), null, 'nothing is written again at the start');
  // The end of day's snapshot (on the snapshot thread) and the shutdown's were taken one after the
  // other, never into the same file at once.
  t.same(s.exchange.recovered.skippedSnapshots, [], 'every snapshot reads back sound');
  t.equal(s.exchange.recovered.replayed, 0, 'the start replays nothing: the shutdown\'s snapshot holds it all');
  const summary = await s.api('GET', `/v1/settlement/${DAY2}`, { key: 'operator' });
  t.equal(summary.body.totals.tradeCount, 3_000);
});
