// Start-up from a data directory: a new directory is created from the genesis (which commits with the
// first batch, so a first start that dies before it leaves a directory that starts as new); otherwise
// the newest sound snapshot is restored and the journal replayed after it, reaching exactly the state
// hash the running exchange had. A torn tail (a damaged last batch) is dropped whole and reported; a
// damaged batch before it, a directory without a genesis, and an older schema stop start-up with a
// JournalError; a snapshot that does not check out is skipped for an older one or a full replay,
// which reaches the same state.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Engine, type Command, type EngineEvent, type EngineSnapshot } from '../../engine/index.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { Journal, JournalError, SCHEMA_VERSION, type Genesis } from '../../persistence/journal.ts';
import { FULL_CHECK_EVERY, recover, recoverInTurns, type Recovered } from '../../persistence/recovery.ts';
import { Sequencer, type CommandBody } from '../../persistence/sequencer.ts';
import { batchRows, tempFolder, type BatchRow } from '../support/exchangeProcess.ts';
import { seededRandom as random } from '../support/random.ts';
import { writeSchema1Journal } from '../support/schema1.ts';

const GENESIS: Genesis = { tradingDate: '2026-11-20', markets: { file: 'markets/demo.json' } };
const T0 = Date.parse('2026-11-20T10:00:00+08:00');
const SETUP = loadMarkets(DEMO_MARKETS_FILE);
const CEA24_ACCOUNTS = ['M1-C1', 'M1-I1', 'M2-C1', 'M2-I1', 'M3-C1'];

/** A fresh data directory (not yet created), removed when the test ends. */
function dataDir(t: Test): string {
  const folder = tempFolder('recovery-test-');
  t.teardown(folder.remove);
  return join(folder.path, 'data');
}

/** A member's command for the workload: crossing and resting limit orders on CEA24, some cancels. */
function nextCommand(engine: Engine, rnd: () => number): { member: string; body: CommandBody } {
  const open = engine.allOpenOrders();
  if (open.length > 0 && rnd() < 0.2) {
    const o = open[Math.floor(rnd() * open.length)];
    return { member: o.account.member, body: { type: 'cancelOrder', orderId: o.id } };
  }
  if (rnd() < 0.03) return { member: 'M1', body: { type: 'cancelOrder', orderId: 999_999 } }; // rejected, journaled all the same
  const accountId = CEA24_ACCOUNTS[Math.floor(rnd() * CEA24_ACCOUNTS.length)];
  const side = rnd() < 0.5 ? 'buy' : 'sell';
  const price = 5700 + Math.floor(rnd() * 60);
  return {
    member: accountId.slice(0, 2),
    body: { type: 'placeOrder', accountId, symbol: 'CEA24', side, orderType: 'limit', price, quantity: 1 + Math.floor(rnd() * 400) },
  };
}

interface Run {
  /** The state hash and last seq after each batch, in order (the set-up is batch 0). */
  batches: { lastSeq: number; hash: string }[];
  hash: string;
  lastSeq: number;
  snapshotSeqs: number[];
}

/**
 * Runs an exchange in-process on `dir`: the demo set-up, then `batches` batches of a few commands
 * each (all submitted in one turn of the event loop), taking a snapshot after the batches listed in
 * `snapshotAfter`. Closes the journal at the end as a clean stop would (without a final snapshot).
 */
async function run(dir: string, options: { batches: number; snapshotAfter?: number[]; seed?: number; lastBatchSize?: number }): Promise<Run> {
  const r = recover(dir, { genesis: GENESIS });
  let clock = T0;
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => clock++ });
  const rnd = random(options.seed ?? 1);
  const out: Run = { batches: [], hash: '', lastSeq: 0, snapshotSeqs: [] };
  const setup = await Promise.all(SETUP.commands.map((body) => sequencer.submit({ role: 'operator', id: 'setup' }, body)));
  if (!setup.every((x) => x.ok)) throw new Error('the demo set-up was refused');
  out.batches.push({ lastSeq: r.engine.lastSequence, hash: r.engine.stateHash() });
  for (let b = 1; b <= options.batches; b++) {
    const pending: Promise<unknown>[] = [];
    const n = b === options.batches && options.lastBatchSize !== undefined ? options.lastBatchSize : 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < n; i++) {
      const { member, body } = nextCommand(r.engine, rnd);
      pending.push(sequencer.submit({ role: 'member', id: member }, body));
    }
    await Promise.all(pending);
    out.batches.push({ lastSeq: r.engine.lastSequence, hash: r.engine.stateHash() });
    if (options.snapshotAfter?.includes(b)) {
      const rec = b % 2 === 0 ? r.snapshots.takeSync(r.engine) : await r.snapshots.take(r.engine);
      out.snapshotSeqs.push(rec.seq);
    }
  }
  out.hash = r.engine.stateHash();
  out.lastSeq = r.engine.lastSequence;
  r.journal.close();
  return out;
}


/** The state reached by applying the journal's commands up to `toSeq` to a new engine. */
function replayFromScratch(dir: string, toSeq = Infinity): Engine {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const genesis = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'genesis'").get() as { value: string }).value) as Genesis;
  db.close();
  const engine = new Engine({ tradingDate: genesis.tradingDate });
  for (const row of batchRows(dir)) {
    for (const c of JSON.parse(row.commands) as Command[]) if (c.seq <= toSeq) engine.apply(c);
  }
  return engine;
}

function sql(dir: string, text: string, ...params: unknown[]): void {
  const db = new Database(join(dir, 'journal.sqlite'));
  db.prepare(text).run(...params);
  db.close();
}

/** The batch row holding `seq`. */
function batchOf(dir: string, seq: number): BatchRow {
  const row = batchRows(dir).find((r) => r.first_seq <= seq && seq <= r.last_seq);
  if (row === undefined) throw new Error(`no batch holds seq ${seq}`);
  return row;
}

/** Opens the directory and closes it again when the test ends. */
function open(t: Test, dir: string, options: { genesis?: Genesis } = {}): Recovered {
  const r = recover(dir, options);
  t.teardown(() => { if (r.journal.db.open) r.journal.close(); });
  return r;
}

t.test('an empty data directory is created from the genesis', (t) => {
  for (const [what, make] of [['a missing folder', (_dir: string) => {}], ['an existing empty folder', (dir: string) => mkdirSync(dir)]] as const) {
    const dir = dataDir(t);
    make(dir);
    const r = open(t, dir, { genesis: GENESIS });
    t.equal(r.created, true, `${what}: created`);
    t.equal(r.engine.tradingDate, '2026-11-20', 'the engine starts on the genesis trading day');
    t.equal(r.engine.lastSequence, 0);
    t.equal(r.replayed, 0);
    t.equal(r.fromSnapshot, null);
    t.same(r.skippedSnapshots, []);
    t.equal(r.journal.genesis(), null, 'the genesis waits for the first commit');
    t.ok(existsSync(join(dir, 'journal.sqlite')));
    t.equal(r.engine.stateHash(), new Engine({ tradingDate: '2026-11-20' }).stateHash(), 'an empty exchange');
    r.journal.close();
    const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    t.same(JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'genesis'").get() as { value: string }).value), GENESIS, 'a clean close records it');
    db.close();
    const again = open(t, dir, { genesis: { tradingDate: '2030-01-02', markets: null } });
    t.equal(again.created, false, 'the second start is not a creation');
    t.equal(again.engine.tradingDate, '2026-11-20', 'and keeps the recorded genesis, not the one given');
    again.journal.close();
  }
  t.end();
});

t.test('an empty data directory without a genesis is a JournalError', (t) => {
  for (const make of [(_dir: string) => {}, (dir: string) => mkdirSync(dir)]) {
    const dir = dataDir(t);
    make(dir);
    t.throws(() => recover(dir), JournalError);
    t.throws(() => recover(dir), /holds no exchange yet and no genesis was given/);
    // The refusal left nothing that would stop a proper start.
    const r = open(t, dir, { genesis: GENESIS });
    t.equal(r.created, true);
    r.journal.close();
  }
  t.end();
});

t.test('a first start that dies before its first commit leaves a directory that starts as new', async (t) => {
  const dir = dataDir(t);
  const r = recover(dir, { genesis: GENESIS });
  t.equal(r.created, true);
  // The set-up applied and appended, as the sequencer does within one turn, but never committed.
  let seq = 0;
  for (const body of SETUP.commands) {
    const command = { ...body, seq: ++seq, time: T0, actor: { role: 'operator', id: 'setup' } } as Command;
    const result = r.engine.apply(command);
    if (!result.ok) throw new Error(`the demo set-up was refused at ${body.type}`);
    r.journal.append(command, result.events, null);
  }
  t.equal(r.journal.pendingCount, SETUP.commands.length);
  r.journal.db.close(); // SIGKILL: nothing committed
  const other: Genesis = { tradingDate: '2026-11-23', markets: { file: 'markets/other.json' } };
  const again = open(t, dir, { genesis: other });
  t.equal(again.created, true, 'the next start is a creation again');
  t.equal(again.engine.tradingDate, '2026-11-23', 'from the genesis it is given now');
  t.equal(again.engine.lastSequence, 0, 'on an empty exchange');
  t.equal(again.journal.lastSeq(), 0, 'nothing of the set-up is in the journal');
  t.same(again.journal.facts(0, Number.MAX_SAFE_INTEGER), [], 'nor among the facts');
  t.same(again.journal.audit(0, 1000), [], 'nor in the audit trail');
  again.journal.close();
  // And the directory then makes a complete exchange.
  const live = await run(dir, { batches: 3 });
  const third = open(t, dir);
  t.equal(third.created, false);
  t.equal(third.engine.tradingDate, '2026-11-23', 'the genesis recorded is the one of the start that committed');
  t.equal(third.engine.stateHash(), live.hash);
});

t.test('a journal with commands but no genesis record is a JournalError', async (t) => {
  const dir = dataDir(t);
  await run(dir, { batches: 2 });
  sql(dir, "DELETE FROM meta WHERE key = 'genesis'");
  t.throws(() => recover(dir, { genesis: GENESIS }), /has commands but no genesis record/);
  t.end();
});

t.test('a full replay reaches the state the exchange had', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 60 });
  const r = open(t, dir);
  t.equal(r.created, false);
  t.equal(r.fromSnapshot, null);
  t.equal(r.replayed, live.lastSeq);
  t.equal(r.engine.lastSequence, live.lastSeq);
  t.equal(r.engine.stateHash(), live.hash);
  t.ok(r.engine.allOpenOrders().length > 0 && r.journal.facts(0, live.lastSeq).some((e) => e.type === 'trade'), 'the workload left resting orders and trades');
  t.end();
});

t.test('recovering in turns reaches the same state as in one go, and the event loop runs between its turns', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 400, snapshotAfter: [100] });
  let ticks = 0;
  const ticker = setInterval(() => { ticks++; }, 0);
  // A slice of 0 ms gives the loop a turn after every batch replayed.
  const inTurns = await recoverInTurns(dir, {}, 0);
  clearInterval(ticker);
  t.teardown(() => { if (inTurns.journal.db.open) inTurns.journal.close(); });
  t.ok(ticks >= 2, `timers ran while it recovered (${ticks} times)`);
  t.equal(inTurns.fromSnapshot, live.snapshotSeqs[0]);
  t.equal(inTurns.replayed, live.lastSeq - live.snapshotSeqs[0]);
  t.equal(inTurns.engine.stateHash(), live.hash);
  inTurns.journal.close();
  const inOneGo = open(t, dir);
  t.same({ ...inTurns, engine: null, journal: null, snapshots: null, millis: 0 }, { ...inOneGo, engine: null, journal: null, snapshots: null, millis: 0 }, 'and reports the same');
  t.end();
});

t.test('recovering in turns stops on a damaged batch with the same JournalError', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 20, seed: 6 });
  const row = batchOf(dir, live.batches[5].lastSeq);
  sql(dir, 'UPDATE batches SET crc = crc + 1 WHERE batch = ?', row.batch);
  await t.rejects(recoverInTurns(dir, {}, 0), { name: 'JournalError', message: `damaged at seq ${row.first_seq}–${row.last_seq} (batch ${row.batch}: checksum mismatch` });
  sql(dir, 'UPDATE batches SET crc = crc - 1 WHERE batch = ?', row.batch);
  const r = open(t, dir);
  t.equal(r.engine.stateHash(), live.hash, 'repaired, it starts');
  t.end();
});

t.test('the newest snapshot plus the journal after it reach the same state', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 50, snapshotAfter: [15, 30] });
  const r = open(t, dir);
  t.equal(r.fromSnapshot, live.snapshotSeqs[1]);
  t.equal(r.replayed, live.lastSeq - live.snapshotSeqs[1]);
  t.same(r.skippedSnapshots, []);
  t.equal(r.engine.stateHash(), live.hash);
  t.equal(r.engine.stateHash(), replayFromScratch(dir).stateHash(), 'and a replay from scratch agrees');
  t.end();
});

t.test('a snapshot file holds the state at its seq, and its recorded hash is that state\'s hash', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 20, snapshotAfter: [9, 14] });
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const records = db.prepare('SELECT seq, hash, file, crc FROM snapshots ORDER BY seq').all() as { seq: number; hash: string; file: string; crc: number }[];
  db.close();
  t.same(records.map((r) => r.seq), live.snapshotSeqs, 'one record per snapshot taken (one written in the background, one synchronously)');
  for (const rec of records) {
    const text = readFileSync(join(dir, 'snapshots', rec.file), 'utf8');
    const then = replayFromScratch(dir, rec.seq);
    t.same(JSON.parse(text), then.snapshot(), `the file of seq ${rec.seq} is the snapshot of the state then`);
    t.equal(rec.hash, then.stateHash(), `the recorded hash of seq ${rec.seq} is the state hash then`);
    t.equal(rec.crc, crc32(text), 'and the crc is of the file text');
  }
  t.end();
});

t.test('a snapshot file a crash left half-written (its .tmp) is removed at the start and never used', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 20, snapshotAfter: [9] });
  const file = `snapshot-${String(live.lastSeq + 5).padStart(12, '0')}.json`;
  writeFileSync(join(dir, 'snapshots', file + '.tmp'), '{"half": ');
  const r = open(t, dir);
  t.equal(r.fromSnapshot, live.snapshotSeqs[0], 'the snapshot on record is used');
  t.equal(r.engine.stateHash(), live.hash);
  t.notOk(existsSync(join(dir, 'snapshots', file + '.tmp')), 'the .tmp is gone');
  t.same(readdirSync(join(dir, 'snapshots')).filter((n) => n.endsWith('.tmp')), []);
  t.end();
});

t.test('a snapshot that does not check out is skipped for an older one or a full replay', async (t) => {
  const cases: [string, (dir: string, seq: number) => void, RegExp][] = [
    ['its recorded hash was changed', (dir, seq) => sql(dir, "UPDATE snapshots SET hash = (CASE WHEN substr(hash, 1, 2) = 'ab' THEN 'cd' ELSE 'ab' END) || substr(hash, 3) WHERE seq = ?", seq), /state hash .* is not the recorded/],
    ['its file was rewritten with its crc', (dir, seq) => {
      const file = join(dir, 'snapshots', `snapshot-${String(seq).padStart(12, '0')}.json`);
      const snap = JSON.parse(readFileSync(file, 'utf8')) as EngineSnapshot;
      snap.accounts[0].cash += 100;
      const text = JSON.stringify(snap);
      writeFileSync(file, text);
      sql(dir, 'UPDATE snapshots SET crc = ? WHERE seq = ?', crc32(text), seq);
    }, /state hash .* is not the recorded/],
    ['its file is cut short', (dir, seq) => {
      const file = join(dir, 'snapshots', `snapshot-${String(seq).padStart(12, '0')}.json`);
      writeFileSync(file, readFileSync(file, 'utf8').slice(0, 1000));
    }, /checksum mismatch/],
    ['its file is not JSON (crc rewritten to match)', (dir, seq) => {
      const file = join(dir, 'snapshots', `snapshot-${String(seq).padStart(12, '0')}.json`);
      const text = readFileSync(file, 'utf8').slice(0, 1000);
      writeFileSync(file, text);
      sql(dir, 'UPDATE snapshots SET crc = ? WHERE seq = ?', crc32(text), seq);
    }, /unreadable/],
    ['its file is missing', (dir, seq) => rmSync(join(dir, 'snapshots', `snapshot-${String(seq).padStart(12, '0')}.json`)), /is missing/],
  ];
  for (const [what, damage, message] of cases) {
    t.test(what, async (t) => {
      const dir = dataDir(t);
      const live = await run(dir, { batches: 40, snapshotAfter: [10, 25] });
      const [older, newer] = live.snapshotSeqs;
      damage(dir, newer);
      const r = open(t, dir);
      t.equal(r.fromSnapshot, older, 'falls back to the older snapshot');
      t.equal(r.skippedSnapshots.length, 1);
      t.match(r.skippedSnapshots[0], new RegExp(`snapshot at seq ${newer}: `));
      t.match(r.skippedSnapshots[0], message);
      t.equal(r.replayed, live.lastSeq - older);
      t.equal(r.engine.stateHash(), live.hash, 'and reaches the same state hash');
      r.journal.close();
      damage(dir, older);
      const full = open(t, dir);
      t.equal(full.fromSnapshot, null, 'with both bad: a full replay');
      t.same(full.skippedSnapshots.map((s) => Number(/seq (\d+)/.exec(s)?.[1])), [newer, older], 'both reported, newest first');
      t.equal(full.replayed, live.lastSeq);
      t.equal(full.engine.stateHash(), live.hash, 'the same state hash again');
    });
  }
});

t.test('a damaged last batch stops recovery too (it was committed, and answered); repaired, it recovers whole', async (t) => {
  for (const [what, snapshotAfter] of [['full replay', []], ['from a snapshot', [20]]] as const) {
    t.test(what, async (t) => {
      const dir = dataDir(t);
      const live = await run(dir, { batches: 30, snapshotAfter: [...snapshotAfter], seed: 7 });
      const last = live.batches[live.batches.length - 1];
      const before = live.batches[live.batches.length - 2];
      const row = batchOf(dir, last.lastSeq);
      t.same([row.first_seq, row.last_seq, row.batch], [before.lastSeq + 1, last.lastSeq, batchRows(dir).length], 'the last batch row holds the last batch\'s commands');
      sql(dir, 'UPDATE batches SET crc = crc + 1 WHERE batch = ?', row.batch);
      const err = t.throws(() => recover(dir), JournalError) as Error;
      t.match(err.message, `damaged at seq ${row.first_seq}–${row.last_seq} (batch ${row.batch}: checksum mismatch`);
      t.equal(batchRows(dir).length, live.batches.length, 'nothing was deleted');
      sql(dir, 'UPDATE batches SET crc = ? WHERE batch = ?', row.crc, row.batch);
      const r = open(t, dir);
      t.equal(r.engine.lastSequence, last.lastSeq);
      t.equal(r.engine.stateHash(), live.hash, 'every answered command is back');
    });
  }
});

t.test('a damaged batch before the last stops recovery with a JournalError naming its seqs', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 20, seed: 5 });
  const row = batchOf(dir, live.batches[10].lastSeq);
  t.ok(row.batch < batchOf(dir, live.lastSeq).batch, 'it is not the last batch');
  const commands = JSON.parse(row.commands) as Command[];
  const text = JSON.stringify(commands.map((c, i) => (i === commands.length - 1 ? { ...c, time: c.time + 1 } : c)));
  sql(dir, 'UPDATE batches SET commands = ? WHERE batch = ?', text, row.batch);
  const err = t.throws(() => recover(dir), JournalError) as Error;
  t.match(err.message, `damaged at seq ${row.first_seq}–${row.last_seq} (batch ${row.batch}: checksum mismatch`);
  t.equal(batchRows(dir).length, live.batches.length, 'nothing was deleted');
  // Nothing was thrown away: a repaired batch lets the same directory start again.
  sql(dir, 'UPDATE batches SET commands = ? WHERE batch = ?', row.commands, row.batch);
  const r = open(t, dir);
  t.equal(r.engine.stateHash(), live.hash);
  t.end();
});

t.test('a replay that does not give the events recorded with a batch stops start-up, naming the batch', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 60, seed: 11 });
  const factRows = () => {
    const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT batch, events, trades FROM facts ORDER BY batch').all() as { batch: number; events: string; trades: number }[];
    db.close();
    return rows;
  };
  const last = batchRows(dir).at(-1)!.batch;
  const rows = factRows();
  // A batch checked by its trade count only: one more trade recorded than the replay makes.
  const counted = rows.find((f) => f.trades > 0 && f.batch % FULL_CHECK_EVERY !== 0 && f.batch !== last)!;
  t.ok(counted, 'the workload has a traded batch checked by count');
  sql(dir, 'UPDATE facts SET trades = trades + 1 WHERE batch = ?', counted.batch);
  let err = t.throws(() => recover(dir), JournalError) as Error;
  t.match(err.message, `(batch ${counted.batch}) does not reproduce the trades recorded with it`);
  t.match(err.message, 'Start that build to take a snapshot');
  sql(dir, 'UPDATE facts SET trades = ? WHERE batch = ?', counted.trades, counted.batch);
  // A batch checked in full: an order's recorded quantity differs by one tonne, no trade count changes.
  const full = rows.find((f) => f.batch % FULL_CHECK_EVERY === 0 && f.events.includes('"type":"order"'))!;
  t.ok(full, 'the workload has a batch checked in full');
  const events = JSON.parse(full.events) as EngineEvent[];
  const i = events.findIndex((e) => e.type === 'order');
  const changed = events.map((e, j) => (j === i ? { ...e, quantity: (e as { quantity: number }).quantity + 1 } : e));
  // Recorded whole, with their checksum (as another build would have written them): the replay finds the difference.
  const setFacts = (text: string, batch: number) => sql(dir, 'UPDATE facts SET events = ?, crc = ? WHERE batch = ?', text, crc32(text), batch);
  setFacts(JSON.stringify(changed), full.batch);
  err = t.throws(() => recover(dir), JournalError) as Error;
  t.match(err.message, `(batch ${full.batch}) does not reproduce the events recorded with it`);
  // The last batch is checked in full too: facts recorded for a batch that produces none.
  setFacts(full.events, full.batch);
  const lastFacts = rows.find((f) => f.batch === last);
  if (lastFacts === undefined) sql(dir, 'INSERT INTO facts (batch, first_seq, last_seq, events, trades) VALUES (?, ?, ?, ?, 0)', last, live.lastSeq, live.lastSeq, JSON.stringify([events[i]]));
  else setFacts(JSON.stringify([...JSON.parse(lastFacts.events) as EngineEvent[], events[i]]), last);
  err = t.throws(() => recover(dir), JournalError) as Error;
  t.match(err.message, `(batch ${last}) does not reproduce the events recorded with it`);
  t.equal(batchRows(dir).length, live.batches.length, 'nothing was deleted');
  // Put back as written, the same directory starts.
  if (lastFacts === undefined) sql(dir, 'DELETE FROM facts WHERE batch = ?', last);
  else setFacts(lastFacts.events, last);
  const r = open(t, dir);
  t.equal(r.engine.stateHash(), live.hash);
  t.end();
});

t.test('facts damaged on disk are told apart from a build that replays differently', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 40, seed: 12 });
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT batch, first_seq, last_seq, events FROM facts ORDER BY batch').all() as { batch: number; first_seq: number; last_seq: number; events: string }[];
  db.close();
  const full = rows.find((f) => f.batch % FULL_CHECK_EVERY === 0 && f.events.length > 60)!;
  t.ok(full, 'the workload has a batch checked in full');
  sql(dir, 'UPDATE facts SET events = ? WHERE batch = ?', full.events.slice(0, 40), full.batch);
  let err = t.throws(() => recover(dir), JournalError) as Error;
  t.match(err.message, `the facts of seq ${full.first_seq}–${full.last_seq} (batch ${full.batch})`);
  t.match(err.message, 'are damaged');
  t.match(err.message, 'restore the journal from a copy');
  t.notMatch(err.message, 'Start that build', 'not taken for another build');
  // Read back for a member's history (a closed day's fills, the day at start-up): the same words.
  const journal = new Journal(dir);
  err = t.throws(() => journal.facts(0, live.lastSeq), JournalError) as Error;
  t.match(err.message, `the facts of seq ${full.first_seq}–${full.last_seq} (batch ${full.batch}) in ${join(dir, 'journal.sqlite')} are damaged`);
  journal.db.close();
  sql(dir, 'UPDATE facts SET events = ? WHERE batch = ?', full.events, full.batch);
  t.equal(open(t, dir).engine.stateHash(), live.hash, 'put back as written, it starts');
  t.end();
});

t.test('a replay after a snapshot taken inside a batch checks the rest of that batch against its facts', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 30, seed: 3 });
  // A snapshot at a seq inside a traded batch, written as the running exchange writes one.
  // (Its first command produced facts, so the part the snapshot holds must be left out of the check.)
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const starts = new Map((db.prepare('SELECT batch, first_seq FROM facts').all() as { batch: number; first_seq: number }[]).map((f) => [f.batch, f.first_seq]));
  db.close();
  const row = batchRows(dir).find((b) => b.last_seq - b.first_seq >= 2 && b.batch > 2 && starts.get(b.batch) === b.first_seq)!;
  t.ok(row, 'a batch of three or more commands whose first produced facts');
  const cut = row.first_seq;
  const r0 = open(t, dir);
  const engine = replayFromScratch(dir, cut);
  r0.snapshots.takeSync(engine);
  r0.journal.close();
  const r = open(t, dir);
  t.equal(r.fromSnapshot, cut);
  t.equal(r.replayed, live.lastSeq - cut);
  t.equal(r.engine.stateHash(), live.hash);
  t.end();
});

t.test('a data directory of schema 1 is a JournalError naming versions 1 and 3, and is left as it was', async (t) => {
  const dir = dataDir(t);
  writeSchema1Journal(dir, GENESIS, SETUP.commands.map((body, i) => ({ ...body, seq: i + 1, time: T0, actor: { role: 'operator', id: 'setup' } })));
  t.equal(SCHEMA_VERSION, 3);
  const err = t.throws(() => recover(dir, { genesis: GENESIS }), JournalError) as Error;
  t.match(err.message, 'schema version 1;');
  t.match(err.message, 'reads version 3');
  const after = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.equal((after.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n, SETUP.commands.length, 'its commands are all there');
  t.same(after.prepare("SELECT name FROM sqlite_master WHERE name = 'batches'").all(), [], 'and no schema 2 table was added');
  after.close();
  // The same refusal after a version that was changed by hand on a schema 3 directory.
  const other = dataDir(t);
  await run(other, { batches: 3 });
  sql(other, "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
  t.throws(() => recover(other, { genesis: GENESIS }), /schema version 1; this exchange reads version 3/);
  t.end();
});

/** The events kept as facts (what settlement, the members' order and fill history and K-lines need). */
const FACT_TYPES = new Set(['order', 'trade', 'account', 'block', 'largeHolder', 'endOfDay']);

t.test('the facts recorded are the events a replay produces, batch by batch, and every trade and transfer is among them', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 40, seed: 11 });
  const r = open(t, dir);
  const replay = new Engine({ tradingDate: GENESIS.tradingDate });
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  const facts = new Map((db.prepare('SELECT batch, first_seq, last_seq, events, trades FROM facts').all() as { batch: number; first_seq: number; last_seq: number; events: string; trades: number }[]).map((f) => [f.batch, f]));
  const wrong: string[] = [];
  let trades = 0;
  let transfers = 0;
  for (const row of batchRows(dir)) {
    const produced: EngineEvent[] = [];
    for (const c of JSON.parse(row.commands) as Command[]) {
      const result = replay.apply(c);
      if (result.ok) produced.push(...result.events.filter((e) => FACT_TYPES.has(e.type)));
    }
    trades += produced.filter((e) => e.type === 'trade').length;
    transfers += produced.filter((e) => e.type === 'account').length;
    const f = facts.get(row.batch);
    facts.delete(row.batch);
    if (produced.length === 0) {
      if (f !== undefined) wrong.push(`batch ${row.batch} produced no facts but has a facts row`);
      continue;
    }
    if (f === undefined) { wrong.push(`batch ${row.batch}: its ${produced.length} facts are missing`); continue; }
    if (f.events !== JSON.stringify(produced)) wrong.push(`batch ${row.batch}: its facts are not the events its commands produce`);
    if (f.trades !== produced.filter((e) => e.type === 'trade').length) wrong.push(`batch ${row.batch}: trades ${f.trades}`);
    if (f.first_seq !== produced[0].seq || f.last_seq !== produced[produced.length - 1].seq) wrong.push(`batch ${row.batch}: facts seq ${f.first_seq}–${f.last_seq}`);
    if (f.first_seq < row.first_seq || f.last_seq > row.last_seq) wrong.push(`batch ${row.batch}: facts outside its seqs`);
  }
  for (const batch of facts.keys()) wrong.push(`facts row of batch ${batch} has no batch`);
  t.same(wrong, [], 'each batch\'s facts are the events its commands produced, in order, trades and transfers included');
  t.ok(trades > 0 && transfers > 0, `the workload traded (${trades} trades, ${transfers} transfers)`);
  t.same(r.journal.facts(0, live.lastSeq).filter((e) => e.type === 'trade').length, trades, 'Journal.facts reads every trade back');
  t.equal(r.engine.stateHash(), live.hash);
  t.end();
});
