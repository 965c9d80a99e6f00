// Start-up from a data directory: a new directory is created from the genesis; otherwise the newest
// sound snapshot is restored and the journal replayed after it, reaching exactly the state hash the
// running exchange had. A torn tail is dropped and reported; a damaged entry before it, a directory
// without a genesis, and an older schema stop start-up with a JournalError; a snapshot that does not
// check out is skipped for an older one or a full replay, which reaches the same state.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Engine, type Command, type EngineSnapshot } from '../../engine/index.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { JournalError, SCHEMA_VERSION, type Genesis } from '../../persistence/journal.ts';
import { recover, type Recovered } from '../../persistence/recovery.ts';
import { Sequencer, type CommandBody } from '../../persistence/sequencer.ts';
import { tempFolder } from '../support/exchangeProcess.ts';

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

/** A small deterministic random source, so that every run trades the same way. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
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

/** The state reached by applying the journal's entries up to `toSeq` to a new engine. */
function replayFromScratch(dir: string, toSeq = Infinity): Engine {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const genesis = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'genesis'").get() as { value: string }).value) as Genesis;
  const engine = new Engine({ tradingDate: genesis.tradingDate });
  for (const row of db.prepare('SELECT command FROM journal WHERE seq <= ? ORDER BY seq').all(Number.isFinite(toSeq) ? toSeq : Number.MAX_SAFE_INTEGER) as { command: string }[]) {
    engine.apply(JSON.parse(row.command) as Command);
  }
  db.close();
  return engine;
}

function sql(dir: string, text: string, ...params: unknown[]): void {
  const db = new Database(join(dir, 'journal.sqlite'));
  db.prepare(text).run(...params);
  db.close();
}

function batchOf(dir: string, seq: number): number {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  const b = (db.prepare('SELECT batch FROM journal WHERE seq = ?').get(seq) as { batch: number }).batch;
  db.close();
  return b;
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
    t.equal(r.tornTailFrom, null);
    t.same(r.skippedSnapshots, []);
    t.same(r.journal.genesis(), GENESIS, 'the genesis is recorded');
    t.ok(existsSync(join(dir, 'journal.sqlite')));
    t.equal(r.engine.stateHash(), new Engine({ tradingDate: '2026-11-20' }).stateHash(), 'an empty exchange');
    r.journal.close();
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

t.test('a snapshot that does not check out is skipped for an older one or a full replay', async (t) => {
  const cases: [string, (dir: string, seq: number) => void, RegExp][] = [
    ['its recorded hash was changed', (dir, seq) => sql(dir, "UPDATE snapshots SET hash = 'ab' || substr(hash, 3) WHERE seq = ?", seq), /state hash .* is not the recorded/],
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

t.test('a torn tail is dropped, reported, and its seqs are taken by the next commands', async (t) => {
  for (const [what, snapshotAfter] of [['full replay', []], ['from a snapshot', [20]]] as const) {
    t.test(what, async (t) => {
      const dir = dataDir(t);
      const live = await run(dir, { batches: 30, snapshotAfter: [...snapshotAfter], seed: 7 });
      const last = live.batches[live.batches.length - 1];
      const before = live.batches[live.batches.length - 2];
      const torn = before.lastSeq + 1;
      t.equal(batchOf(dir, torn), batchOf(dir, last.lastSeq), 'the damaged entry opens the last batch');
      sql(dir, 'UPDATE journal SET crc = crc + 1 WHERE seq = ?', torn);
      const r = open(t, dir);
      t.equal(r.tornTailFrom, torn, 'recover() reports where the torn tail began');
      t.equal(r.engine.lastSequence, before.lastSeq);
      t.equal(r.engine.stateHash(), before.hash, 'the state is the one before the last batch');
      t.equal(r.fromSnapshot, snapshotAfter.length === 0 ? null : live.snapshotSeqs[0]);
      t.equal(r.journal.lastSeq(), before.lastSeq, 'the torn entries are deleted');
      t.same(r.journal.facts(before.lastSeq, last.lastSeq), [], 'with their facts');
      // Start-up continues: the next command takes the torn seq.
      const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => T0 + 1_000_000 });
      const result = await sequencer.submit({ role: 'member', id: 'M1' }, { type: 'placeOrder', accountId: 'M1-I1', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5600, quantity: 5 });
      t.equal(result.ok, true);
      t.equal(r.engine.lastSequence, torn);
      const hash = r.engine.stateHash();
      r.journal.close();
      const again = open(t, dir);
      t.equal(again.tornTailFrom, null, 'the next start finds nothing torn');
      t.equal(again.engine.stateHash(), hash);
      t.equal(again.engine.stateHash(), replayFromScratch(dir).stateHash());
    });
  }
  t.test('damage in the middle of the last batch keeps the entries before it', async (t) => {
    const dir = dataDir(t);
    const live = await run(dir, { batches: 12, seed: 3, lastBatchSize: 4 });
    const last = live.batches[live.batches.length - 1];
    const before = live.batches[live.batches.length - 2];
    t.equal(last.lastSeq - before.lastSeq, 4);
    sql(dir, 'UPDATE journal SET crc = crc + 1 WHERE seq = ?', before.lastSeq + 2);
    const r = open(t, dir);
    t.equal(r.tornTailFrom, before.lastSeq + 2);
    t.equal(r.engine.lastSequence, before.lastSeq + 1);
    t.equal(r.engine.stateHash(), replayFromScratch(dir, before.lastSeq + 1).stateHash());
    t.equal(r.journal.lastSeq(), before.lastSeq + 1, 'the damaged entry and the one after it are deleted');
  });
});

t.test('a damaged entry before the last batch stops recovery with a JournalError naming its seq', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 20, seed: 5 });
  const seq = live.batches[10].lastSeq;
  t.ok(batchOf(dir, seq) < batchOf(dir, live.lastSeq));
  sql(dir, "UPDATE journal SET command = replace(command, '\"quantity\":', '\"quantity\":1') WHERE seq = ?", seq);
  const err = t.throws(() => recover(dir), JournalError) as Error;
  t.match(err.message, new RegExp(`damaged at seq ${seq} \\(checksum mismatch\\)`));
  // Nothing was thrown away: a repaired entry lets the same directory start again.
  sql(dir, "UPDATE journal SET command = replace(command, '\"quantity\":1', '\"quantity\":') WHERE seq = ?", seq);
  const r = open(t, dir);
  t.equal(r.engine.stateHash(), live.hash);
  t.end();
});

t.test('a data directory from an older schema version is a JournalError naming both versions', async (t) => {
  const dir = dataDir(t);
  await run(dir, { batches: 3 });
  sql(dir, "UPDATE meta SET value = ? WHERE key = 'schema_version'", String(SCHEMA_VERSION - 1));
  const err = t.throws(() => recover(dir, { genesis: GENESIS }), JournalError) as Error;
  t.match(err.message, `schema version ${SCHEMA_VERSION - 1}`);
  t.match(err.message, `reads version ${SCHEMA_VERSION}`);
  t.end();
});

t.test('the facts recorded are events a replay produces, and every trade and transfer is among them', async (t) => {
  const dir = dataDir(t);
  const live = await run(dir, { batches: 40, seed: 11 });
  const r = open(t, dir);
  const replay = new Engine({ tradingDate: GENESIS.tradingDate });
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  const produced = new Map<string, string>();
  const required = new Set<string>();
  for (const row of db.prepare('SELECT command FROM journal ORDER BY seq').all() as { command: string }[]) {
    const result = replay.apply(JSON.parse(row.command) as Command);
    if (!result.ok) continue;
    result.events.forEach((e, i) => {
      produced.set(`${e.seq}/${i}`, JSON.stringify(e));
      if (e.type === 'trade' || e.type === 'account') required.add(`${e.seq}/${i}`);
    });
  }
  const facts = db.prepare('SELECT seq, idx, body FROM facts ORDER BY seq, idx').all() as { seq: number; idx: number; body: string }[];
  const wrong = facts.filter((f) => produced.get(`${f.seq}/${f.idx}`) !== f.body).map((f) => `${f.seq}/${f.idx}`);
  t.same(wrong, [], 'each fact is the event the command produced at that position');
  const recorded = new Set(facts.map((f) => `${f.seq}/${f.idx}`));
  t.same([...required].filter((k) => !recorded.has(k)), [], 'no trade or transfer is missing');
  t.ok([...required].some((k) => JSON.parse(produced.get(k) as string).type === 'trade'), 'the workload traded');
  t.equal(r.engine.stateHash(), live.hash);
  t.end();
});
