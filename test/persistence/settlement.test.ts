// A closed day's settlement outputs are never left half-published, on a real server and a real
// SQLite file: the files are written first and the day's row last, so a crash between them (or a
// write that fails) leaves the day unpublished, and the next start, or the next request for it,
// writes it again, byte for byte the same. A day whose row is there but a file is not (what a crash
// at the wrong moment left before) is repaired the same way.
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { expectError, startServer, type TestServer } from '../support/server.ts';

const DATE = '2026-03-10'; // a Tuesday
let clock = Date.parse(`${DATE}T10:00:00+08:00`);
let s: TestServer = await startServer({ now: () => clock });
const dataDir = s.dataDir;
t.teardown(async () => {
  await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
const folder = join(dataDir, 'settlement', DATE);
const order = (key: string, body: Record<string, unknown>) => s.api('POST', '/v1/orders', { key, body: { symbol: 'CEA24', type: 'limit', ...body } });

/** The day's settlement as an operator downloads it: the summary and every report, JSON and CSV. */
async function download(server: TestServer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const summary = await server.api('GET', `/v1/settlement/${DATE}`, { key: 'operator' });
  if (summary.status !== 200) throw new Error(`summary: ${summary.status} ${summary.text}`);
  out.summary = summary.text;
  for (const report of ['statements', 'trades', 'market', 'large-holders']) {
    out[`${report}.json`] = (await server.api('GET', `/v1/settlement/${DATE}/${report}`, { key: 'operator' })).text;
    out[`${report}.csv`] = (await server.api('GET', `/v1/settlement/${DATE}/${report}`, { key: 'operator', headers: { accept: 'text/csv' } })).text;
  }
  return out;
}

t.test('a write that fails leaves the day unpublished; asking again once the cause is gone publishes it', async (t) => {
  t.equal((await order('M1', { accountId: 'M1-C1', side: 'sell', price: '57.00', quantity: 30 })).status, 201);
  t.equal((await order('M2', { accountId: 'M2-C1', side: 'buy', price: '57.00', quantity: 30 })).status, 201);
  // A file where the day's folder belongs: the folder cannot be made.
  mkdirSync(join(dataDir, 'settlement'), { recursive: true });
  writeFileSync(folder, 'in the way');
  clock = Date.parse(`${DATE}T16:00:00+08:00`);
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  t.equal(eod.status, 200, 'the day is closed: the journal holds it');
  t.equal(eod.body.settlement, null, 'and the answer says its settlement is not published');
  const refused = await s.api('GET', `/v1/settlement/${DATE}`, { key: 'operator' });
  expectError(t, refused, 503, 'SETTLEMENT_UNAVAILABLE', /could not be written/);
  expectError(t, await s.api('GET', `/v1/settlement/${DATE}/trades`, { key: 'operator' }), 503, 'SETTLEMENT_UNAVAILABLE');
  unlinkSync(folder);
  const got = await download(s);
  t.match(JSON.parse(got.summary), { date: DATE, totals: { tradeCount: 1, tonnesBought: 30, tonnesSold: 30 } });
  t.match(JSON.parse(got['trades.json']), [{ quantity: 30, price: '57.00' }]);
  t.notOk(readdirSync(folder).some((f) => f.endsWith('.tmp')), 'no temporary file is left');
});

t.test('a report file that cannot be read is refused in the API\'s words, and served again once it can be', async (t) => {
  const before = await download(s);
  // A folder where the trades' CSV belongs (a restore gone wrong): it opens, but it is no file.
  unlinkSync(join(folder, 'trades.csv'));
  mkdirSync(join(folder, 'trades.csv'));
  expectError(t, await s.api('GET', `/v1/settlement/${DATE}/trades`, { key: 'operator', headers: { accept: 'text/csv' } }), 503, 'SETTLEMENT_UNAVAILABLE', /trades report of .* cannot be read .*not a file/);
  t.equal((await s.api('GET', `/v1/settlement/${DATE}/trades`, { key: 'operator' })).text, before['trades.json'], 'the JSON form still served');
  rmdirSync(join(folder, 'trades.csv'));
  t.same(await download(s), before, 'written again by the next request, the same bytes');
});

t.test('a day whose files went missing is written again at the next start, the same bytes', async (t) => {
  const before = await download(s);
  await s.stop();
  unlinkSync(join(folder, 'market.json'));
  unlinkSync(join(folder, 'statements.csv'));
  s = await startServer({ dataDir, now: () => clock });
  t.ok(existsSync(join(folder, 'market.json')) && existsSync(join(folder, 'statements.csv')), 'written again at the start');
  t.same(await download(s), before);
});

t.test('a crash between the files and the day\'s row: the next start publishes the day', async (t) => {
  const before = await download(s);
  await s.stop();
  // What a crash after the files and before the tables leaves: files, no row.
  const db = new Database(join(dataDir, 'journal.sqlite'));
  for (const table of ['settlement_days', 'settlement_statements', 'trade_register', 'market_report', 'large_holder_report']) {
    db.prepare(`DELETE FROM ${table} WHERE date = ?`).run(DATE);
  }
  db.close();
  unlinkSync(join(folder, 'totals.json'));
  s = await startServer({ dataDir, now: () => clock });
  const db2 = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
  t.equal((db2.prepare('SELECT COUNT(*) AS n FROM settlement_days WHERE date = ?').get(DATE) as { n: number }).n, 1, 'the day\'s row is back');
  t.ok((db2.prepare('SELECT COUNT(*) AS n FROM trade_register WHERE date = ?').get(DATE) as { n: number }).n > 0, 'its trade register too');
  db2.close();
  t.same(await download(s), before);
  const second = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: { date: DATE } });
  t.equal(second.body.error?.code, 'DAY_ALREADY_CLOSED');
});
