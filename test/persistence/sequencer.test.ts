// The sequencer: every command is stamped, journaled and applied; everything submitted in one turn of
// the event loop is one batch (one journal row), committed (synchronous=FULL) before any caller hears
// its outcome, any listener sees it or a read waiting on committed() goes on. Rejections are journaled
// too, risk and operator commands go to the audit trail with their outcome, and the facts settlement
// needs (trades, transfers) commit in the same transaction as the batch that caused them. Stamped
// times never go back, not even across a restart. A second SQLite connection to the same file plays
// the part of "what survives if the process dies now".
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Command, EngineEvent, Result, TradeEvent } from '../../engine/index.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import type { Genesis } from '../../persistence/journal.ts';
import { recover, type Recovered } from '../../persistence/recovery.ts';
import { Sequencer, type CommandBody, type Committed } from '../../persistence/sequencer.ts';
import { tempFolder } from '../support/exchangeProcess.ts';

const GENESIS: Genesis = { tradingDate: '2026-11-20', markets: { file: 'markets/demo.json' } };
const T0 = Date.parse('2026-11-20T10:00:00+08:00');
const SETUP = loadMarkets(DEMO_MARKETS_FILE);

interface Rig {
  dir: string;
  r: Recovered;
  sequencer: Sequencer;
  /** A second, read-only connection to journal.sqlite: what is on disk. */
  reader: Database.Database;
  /** The commands on disk with seq > after, each with the batch row that holds it. */
  onDisk(after?: number): { seq: number; batch: number; time: number; command: Command }[];
  /** The facts on disk of the command `seq`, in order. */
  factsOnDisk(seq: number): EngineEvent[];
  /** The audit entries on disk with seq > after. */
  auditOnDisk(after: number): { seq: number; code: string | null; message: string | null; command: Command }[];
  /** Sets the clock the sequencer stamps with. */
  clock: { now: number };
}

/** A new exchange on a temporary directory with the demo set-up loaded (committed as one batch). */
async function rig(t: Test, options: { snapshotEvery?: number; setup?: boolean; background?: boolean } = {}): Promise<Rig> {
  const folder = tempFolder('sequencer-test-');
  t.teardown(folder.remove);
  const dir = join(folder.path, 'data');
  const r = recover(dir, { genesis: GENESIS });
  const clock = { now: T0 };
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => clock.now, snapshotEvery: options.snapshotEvery, background: options.background });
  const reader = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  t.teardown(async () => {
    if (options.background === true) await sequencer.shutdown();
    reader.close();
    if (r.journal.db.open) r.journal.close();
  });
  if (options.setup !== false) {
    const results = await Promise.all(SETUP.commands.map((body) => sequencer.submit({ role: 'operator', id: 'setup' }, body)));
    if (!results.every((x) => x.ok)) throw new Error('the demo set-up was refused');
  }
  return {
    dir, r, sequencer, reader, clock,
    onDisk: (after = 0) => (reader.prepare('SELECT batch, commands FROM batches WHERE last_seq > ? ORDER BY batch').all(after) as { batch: number; commands: string }[])
      .flatMap((row) => (JSON.parse(row.commands) as Command[]).filter((c) => c.seq > after).map((c) => ({ seq: c.seq, batch: row.batch, time: c.time, command: c }))),
    factsOnDisk: (seq) => (reader.prepare('SELECT events FROM facts WHERE first_seq <= ? AND last_seq >= ? ORDER BY batch').all(seq, seq) as { events: string }[])
      .flatMap((row) => (JSON.parse(row.events) as EngineEvent[]).filter((e) => e.seq === seq)),
    auditOnDisk: (after) => (reader.prepare('SELECT seq, code, message, command FROM audit WHERE seq > ? ORDER BY seq').all(after) as { seq: number; code: string | null; message: string | null; command: string }[])
      .map((a) => ({ ...a, command: JSON.parse(a.command) as Command })),
  };
}

/** The events of an outcome the journal keeps as facts (what settlement and the members' history need). */
const FACT_TYPES = new Set(['order', 'trade', 'account', 'block', 'largeHolder', 'endOfDay']);
function factsOf(result: Result): EngineEvent[] {
  return result.ok ? result.events.filter((e) => FACT_TYPES.has(e.type)) : [];
}

const M1 = { role: 'member', id: 'M1' } as const;
const M2 = { role: 'member', id: 'M2' } as const;
const OPS = { role: 'operator', id: 'ops-1' } as const;

function limit(accountId: string, side: 'buy' | 'sell', price: number, quantity: number): CommandBody {
  return { type: 'placeOrder', accountId, symbol: 'CEA24', side, orderType: 'limit', price, quantity };
}

/** Lets every microtask run without letting the event loop turn (no setImmediate fires). */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await null;
}

t.test('everything submitted in one turn of the event loop is one batch; a later turn is a later batch', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const batchesBefore = x.sequencer.stats.batches;
  const first = Array.from({ length: 25 }, (_, i) => x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600 + i, 10)));
  t.equal(x.r.journal.pendingCount, 25, 'all 25 wait in the open batch');
  await Promise.all(first);
  await new Promise((resolve) => setImmediate(resolve));
  const second = Array.from({ length: 3 }, () => x.sequencer.submit(M2, limit('M2-I1', 'sell', 5900, 5)));
  await Promise.all(second);
  const rows = x.onDisk(base);
  t.same(rows.map((r) => r.seq), Array.from({ length: 28 }, (_, i) => base + 1 + i), 'every seq, in order');
  const batchOfFirst = new Set(rows.slice(0, 25).map((r) => r.batch));
  const batchOfSecond = new Set(rows.slice(25).map((r) => r.batch));
  t.equal(batchOfFirst.size, 1, 'the first 25 are in one batch row');
  t.equal(batchOfSecond.size, 1, 'the next 3 in another');
  t.same(x.reader.prepare('SELECT first_seq, last_seq FROM batches WHERE last_seq > ? ORDER BY batch').all(base),
    [{ first_seq: base + 1, last_seq: base + 25 }, { first_seq: base + 26, last_seq: base + 28 }], 'whose seq ranges are the two turns\'');
  t.ok([...batchOfSecond][0] > [...batchOfFirst][0], 'a later batch has a higher number');
  t.equal(x.sequencer.stats.batches - batchesBefore, 2, 'two commits');
  t.end();
});

t.test('a caller hears its outcome only after its batch is on disk', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const seen: { seq: number; onDisk: boolean; factsOnDisk: boolean }[] = [];
  let resolved = 0;
  const promises = Array.from({ length: 10 }, (_, i) => {
    // Alternate buys and sells at one price so that some commands trade and record facts.
    const body = i % 2 === 0 ? limit('M1-I1', 'buy', 5746, 7) : limit('M2-I1', 'sell', 5746, 7);
    const p = x.sequencer.submit(i % 2 === 0 ? M1 : M2, body);
    const seq = x.r.engine.lastSequence; // stamped and applied synchronously
    return p.then((result) => {
      resolved++;
      const row = x.reader.prepare('SELECT batch FROM batches WHERE first_seq <= ? AND last_seq >= ?').get(seq, seq);
      seen.push({ seq, onDisk: row !== undefined, factsOnDisk: JSON.stringify(x.factsOnDisk(seq)) === JSON.stringify(factsOf(result)) });
      return result;
    });
  });
  t.equal(x.r.engine.lastSequence, base + 10, 'the engine has applied all ten already');
  t.same(x.onDisk(base), [], 'but nothing is on disk yet');
  await drainMicrotasks();
  t.equal(resolved, 0, 'and no caller has been answered before the commit');
  t.same(x.onDisk(base), []);
  const results = await Promise.all(promises);
  t.equal(seen.length, 10);
  t.ok(seen.every((s) => s.onDisk), 'each command was readable from another connection when its promise resolved');
  t.ok(seen.every((s) => s.factsOnDisk), 'and so were its facts, its trades among them');
  t.ok(results.some((r) => r.ok && r.events.some((e) => e.type === 'trade')), 'some of them traded');
  t.end();
});

for (const background of [false, true]) {
  t.test(`onSeal listeners get each batch as it is sealed, the engine exactly after it, before its commit (${background ? 'writer thread' : 'inline commit'})`, async (t) => {
    const x = await rig(t, { background });
    const base = x.r.engine.lastSequence;
    const sealed: { seqs: number[]; engineSeq: number; hash: string }[] = [];
    const committed: { seqs: number[]; engineSeq: number }[] = [];
    x.sequencer.onSeal((batch) => {
      sealed.push({ seqs: batch.map((c) => c.command.seq), engineSeq: x.r.engine.lastSequence, hash: x.r.engine.stateHash() });
    });
    x.sequencer.onCommit((batch) => {
      const seqs = batch.map((c) => c.command.seq);
      t.ok(sealed.some((s) => s.seqs[s.seqs.length - 1] === seqs[seqs.length - 1]), `the batch ending at ${seqs[seqs.length - 1]} was sealed before it committed`);
      committed.push({ seqs, engineSeq: x.r.engine.lastSequence });
    });
    // Batches in consecutive turns, none awaited before the next is sent: with the writer thread the
    // engine runs ahead of the disk.
    const all: Promise<Result>[] = [];
    const hashes = new Map<number, string>();
    for (let turn = 0; turn < 12; turn++) {
      for (let i = 0; i < 1 + (turn % 3); i++) {
        all.push(x.sequencer.submit(i % 2 ? M2 : M1, i % 2 ? limit('M2-C1', 'sell', 5750, 2) : limit('M1-C1', 'buy', 5750, 3)));
      }
      hashes.set(x.r.engine.lastSequence, x.r.engine.stateHash());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(all);
    await x.sequencer.committed();
    t.same(sealed.map((s) => s.seqs), committed.map((c) => c.seqs), 'the same batches, in the same order');
    t.same(sealed.flatMap((s) => s.seqs), Array.from({ length: all.length }, (_, i) => base + 1 + i), 'every command once, in order');
    t.ok(sealed.every((s) => s.engineSeq === s.seqs[s.seqs.length - 1]), "at each seal the engine's last command is the batch's last");
    t.ok(sealed.every((s) => !hashes.has(s.engineSeq) || hashes.get(s.engineSeq) === s.hash), 'and its state is the state after the batch');
    if (!background) t.ok(committed.every((c) => c.engineSeq === c.seqs[c.seqs.length - 1]), 'committed inline: nothing applied between seal and commit');
  });
}

t.test('onCommit listeners get every batch, in order, after it is on disk', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const heard: { listener: number; seqs: number[]; onDisk: boolean }[] = [];
  const events: EngineEvent[][] = [];
  for (const listener of [1, 2]) {
    x.sequencer.onCommit((batch: Committed[]) => {
      const seqs = batch.map((c) => c.command.seq);
      const max = Math.max(...seqs);
      const onDisk = x.onDisk(seqs[0] - 1).filter((r) => r.seq <= max).length === seqs.length;
      heard.push({ listener, seqs, onDisk });
      if (listener === 1) events.push(Sequencer.events(batch));
    });
  }
  let extra = 0;
  // A listener may itself submit: that command goes into the next batch.
  x.sequencer.onCommit(() => {
    if (extra++ < 2) void x.sequencer.submit(M1, { type: 'cancelOrder', orderId: 424242 });
  });
  const sizes = [4, 1, 6, 2];
  const results: Result[] = [];
  for (const n of sizes) {
    const batch = Array.from({ length: n }, (_, i) => x.sequencer.submit(i % 2 ? M2 : M1, i % 2 ? limit('M2-C1', 'sell', 5750, 3) : limit('M1-C1', 'buy', 5750, 3)));
    results.push(...(await Promise.all(batch)));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  for (const listener of [1, 2]) {
    const mine = heard.filter((h) => h.listener === listener);
    const all = mine.flatMap((h) => h.seqs);
    t.same(all, Array.from({ length: all.length }, (_, i) => base + 1 + i), `listener ${listener}: every seq once, in order`);
    t.ok(mine.every((h) => h.onDisk), `listener ${listener}: each batch was on disk when it was heard`);
    const rows = x.onDisk(base);
    const byBatch = new Map<number, number[]>();
    for (const r of rows) byBatch.set(r.batch, [...(byBatch.get(r.batch) ?? []), r.seq]);
    t.same(mine.map((h) => h.seqs), [...byBatch.values()], `listener ${listener}: the batches are the journal's batches`);
  }
  t.equal(x.onDisk(base).length, sizes.reduce((a, b) => a + b, 0) + 2, 'with the two cancels the listener submitted');
  const expectedEvents = results.filter((r) => r.ok).flatMap((r) => (r.ok ? r.events : []));
  t.same(events.flat(), expectedEvents, 'Sequencer.events lists the accepted commands\' events, in order');
  t.end();
});

t.test('a rejected command is journaled, changes nothing else, and records no facts', async (t) => {
  const x = await rig(t);
  const hash = x.r.engine.stateHash();
  const seqBefore = x.r.engine.lastSequence;
  const [unknown, notPermitted, badPrice] = await Promise.all([
    x.sequencer.submit(M1, { type: 'cancelOrder', orderId: 777 }),
    x.sequencer.submit(M1, { type: 'haltMarket', reason: 'members may not' }),
    x.sequencer.submit(M1, limit('M1-I1', 'buy', 9000, 10)),
  ]);
  t.equal(unknown.ok, false);
  t.equal(notPermitted.ok, false);
  t.equal(badPrice.ok, false);
  if (!notPermitted.ok) t.equal(notPermitted.code, 'NOT_PERMITTED');
  const rows = x.onDisk(seqBefore);
  t.same(rows.map((r) => r.command.type), ['cancelOrder', 'haltMarket', 'placeOrder'], 'all three are in the journal');
  t.same(rows.map((r) => r.command.actor), [M1, M1, M1], 'stamped with their actor');
  t.same(rows.flatMap((r) => x.factsOnDisk(r.seq)), [], 'no facts');
  t.same(x.auditOnDisk(seqBefore), [], 'a member\'s refused command is not in the audit trail');
  t.equal(x.r.engine.lastSequence, seqBefore + 3, 'the sequence moved on');
  t.equal(x.r.engine.stateHash(), hash, 'the state did not');
  t.end();
});

t.test('risk and operator commands go to the audit trail with their outcome, in their batch\'s transaction', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const RISK = { role: 'risk', id: 'risk-1' } as const;
  const submitted = [
    x.sequencer.submit(RISK, { type: 'haltMarket', reason: 'drill' }),
    x.sequencer.submit(OPS, { type: 'haltMarket', reason: 'operators may not' }),
    x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600, 1)),
    x.sequencer.submit(RISK, { type: 'resumeMarket', reason: 'drill over' }),
  ];
  t.same(x.auditOnDisk(base), [], 'nothing before the commit');
  const results = await Promise.all(submitted);
  const refused = results[1];
  t.equal(refused.ok, false, 'the operator may not halt the market');
  const audit = x.auditOnDisk(base);
  t.same(audit.map((a) => [a.seq, a.command.type, a.code]), [
    [base + 1, 'haltMarket', null], [base + 2, 'haltMarket', refused.ok ? null : refused.code], [base + 4, 'resumeMarket', null],
  ], 'the risk officer\'s and the operator\'s commands, the refusal with its code; not the member\'s');
  t.equal(audit[1].message, refused.ok ? null : refused.message, 'and its message');
  t.same(audit.map((a) => a.command.actor), [{ role: 'risk', id: 'risk-1' }, OPS, { role: 'risk', id: 'risk-1' }]);
  t.same(x.r.journal.audit(base, 10).map((a) => a.seq), audit.map((a) => a.seq), 'Journal.audit reads them back');
  t.end();
});

t.test('trades and transfers are recorded in the same transaction as their command', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const submitted = [
    x.sequencer.submit(OPS, { type: 'deposit', accountId: 'M3-I2', cash: 1_000_000 }),
    x.sequencer.submit(OPS, { type: 'deposit', accountId: 'M3-I2', symbol: 'CEA24', quantity: 500 }),
    x.sequencer.submit(M1, limit('M1-I1', 'sell', 5740, 30)),
    x.sequencer.submit(M1, limit('M1-C1', 'sell', 5741, 30)),
    x.sequencer.submit(M2, limit('M2-I1', 'buy', 5745, 50)), // trades with both
    x.sequencer.submit(OPS, { type: 'withdraw', accountId: 'M3-I2', cash: 1_000 }),
  ];
  t.same(x.reader.prepare('SELECT * FROM facts WHERE last_seq > ?').all(base), [], 'no facts on disk before the commit');
  const results = await Promise.all(submitted);
  t.ok(results.every((r) => r.ok), 'all accepted');
  const rows = x.onDisk(base);
  t.equal(new Set(rows.map((r) => r.batch)).size, 1, 'one batch');
  const factRows = x.reader.prepare('SELECT batch, first_seq, last_seq, trades FROM facts WHERE last_seq > ?').all(base);
  t.same(factRows, [{ batch: rows[0].batch, first_seq: base + 1, last_seq: base + 6, trades: 2 }], 'one facts row, of that batch, with its two trades');
  results.forEach((r, i) => {
    if (!r.ok) return;
    const seq = base + 1 + i;
    const wanted = r.events.filter((e) => e.type === 'trade' || e.type === 'account');
    const facts = x.factsOnDisk(seq);
    for (const e of wanted) t.ok(facts.some((f) => JSON.stringify(f) === JSON.stringify(e)), `seq ${seq}: its ${e.type} event is recorded`);
    t.same(facts, factsOf(r), `seq ${seq}: its facts are the events it produced, in order`);
  });
  const trades = x.factsOnDisk(base + 5).filter((f): f is TradeEvent => f.type === 'trade');
  t.same(trades.map((tr) => [tr.sellAccountId, tr.quantity]), [['M1-I1', 30], ['M1-C1', 20]], 'the buy traded with both sells');
  t.same(x.factsOnDisk(base + 1).map((f) => f.type), ['account'], 'a cash deposit records its transfer');
  t.same(x.factsOnDisk(base + 6).map((f) => f.type), ['account'], 'so does a withdrawal');
  t.same(x.r.journal.facts(base, base + 6).filter((e) => e.type === 'trade').length, 2, 'Journal.facts reads them back');
  t.end();
});

t.test('stamped times never go back, even when the clock does', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const times = [T0 + 5000, T0 + 3000, T0 + 3000, T0 + 1000, T0 + 9000];
  for (const now of times) {
    x.clock.now = now;
    await x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600, 1));
  }
  t.same(x.onDisk(base).map((r) => r.time), [T0 + 5000, T0 + 5000, T0 + 5000, T0 + 5000, T0 + 9000]);
  t.end();
});

t.test('a background snapshot every N commands, which recovery starts from', async (t) => {
  const x = await rig(t, { snapshotEvery: 50 });
  const burst = () => Promise.all(Array.from({ length: 15 }, (_, i) => x.sequencer.submit(i % 2 ? M2 : M1, i % 2 ? limit('M2-I1', 'sell', 5700 + i, 3) : limit('M1-I1', 'buy', 5700 + i, 3))));
  for (let b = 0; b < 4; b++) await burst();
  // The background snapshot is taken on the snapshot thread, of what is committed by then: wait
  // for it before trading on, so that the final snapshot is a later one.
  for (let waited = 0; x.r.snapshots.list().length === 0; waited += 10) {
    if (waited > 60_000) throw new Error('no background snapshot was recorded');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const background = x.r.snapshots.list()[0];
  t.equal(background.seq, x.sequencer.durableSeq, 'the background snapshot stands for every command committed');
  t.equal(background.hash, x.r.engine.stateHash(), 'its state is the exchange\'s own');
  for (let b = 0; b < 2; b++) await burst();
  // Shutdown waits for any background snapshot, then takes the final one.
  await x.sequencer.shutdown();
  const snaps = x.r.snapshots.list();
  t.ok(snaps.length >= 2 && snaps.some((s) => s.seq === background.seq), `the background snapshots and the final one (${snaps.map((s) => s.seq).join(', ')})`);
  t.equal(snaps[0].seq, x.r.engine.lastSequence, 'the final snapshot is at the last seq');
  const hash = x.r.engine.stateHash();
  x.r.journal.close();
  // Without the final snapshot, recovery uses the background one and replays the rest.
  const db = new Database(join(x.dir, 'journal.sqlite'));
  db.prepare('DELETE FROM snapshots WHERE seq = ?').run(snaps[0].seq);
  db.close();
  const again = recover(x.dir);
  t.teardown(() => again.journal.close());
  t.equal(again.fromSnapshot, snaps[1].seq);
  t.equal(again.replayed, x.r.engine.lastSequence - snaps[1].seq);
  t.equal(again.engine.stateHash(), hash);
  t.end();
});

t.test('shutdown commits what is open and refuses what comes after', async (t) => {
  const x = await rig(t);
  const base = x.r.engine.lastSequence;
  const pending = x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600, 9));
  await x.sequencer.shutdown();
  t.equal(x.onDisk(base).length, 1, 'the open batch was committed');
  t.equal((await pending).ok, true, 'and its caller answered');
  await t.rejects(x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600, 9)), /shutting down/);
  t.equal(x.onDisk(base).length, 1, 'nothing journaled after shutdown');
  t.end();
});

t.test('after a restart, a clock behind the last stamped time does not stop the exchange', async (t) => {
  const x = await rig(t, { setup: false });
  x.clock.now = T0 + 60_000;
  await x.sequencer.submit({ role: 'risk', id: 'risk-1' }, { type: 'haltMarket', reason: 'before the restart' });
  x.r.journal.close();
  // The restart: the wall clock is now one minute behind the last stamped time.
  const r = recover(x.dir);
  t.teardown(() => { if (r.journal.db.open) r.journal.db.close(); }); // close without committing what the failed submit left
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => T0 });
  const exit = process.exit;
  const write = process.stderr.write;
  let exitCode: number | string | null | undefined;
  let result: Result | undefined;
  process.exit = ((code?: number | string | null) => { exitCode = code; throw new Error(`process.exit(${code})`); }) as typeof process.exit;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    result = await sequencer.submit({ role: 'risk', id: 'risk-1' }, { type: 'resumeMarket', reason: 'after the restart' });
  } catch {
    // the stubbed process.exit
  } finally {
    process.exit = exit;
    process.stderr.write = write;
  }
  t.equal(exitCode, undefined, 'the sequencer does not stop the process');
  t.equal(result?.ok, true, 'the command is accepted');
  const rows = r.journal.db.prepare('SELECT commands FROM batches ORDER BY batch').all() as { commands: string }[];
  const stamped = rows.flatMap((row) => JSON.parse(row.commands) as Command[]).map((c) => [c.seq, c.time]);
  t.same(stamped, [[1, T0 + 60_000], [2, T0 + 60_000]], 'it is journaled, stamped no earlier than the last stamp before the restart');
  r.journal.close();
  // A second restart replays both.
  const again = recover(x.dir);
  t.teardown(() => { if (again.journal.db.open) again.journal.close(); });
  t.equal(again.engine.lastSequence, 2);
  t.equal(again.engine.lastStampedTime, T0 + 60_000);
  t.end();
});

t.test('after a restart from a snapshot, too, stamps continue from the last stamped time', async (t) => {
  const x = await rig(t);
  x.clock.now = T0 + 120_000;
  await x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600, 1));
  await x.sequencer.shutdown(); // the final snapshot
  x.r.journal.close();
  const r = recover(x.dir);
  t.teardown(() => { if (r.journal.db.open) r.journal.close(); });
  t.equal(r.fromSnapshot, r.engine.lastSequence, 'restored from the snapshot, nothing replayed');
  t.equal(r.replayed, 0);
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => T0 });
  const result = await sequencer.submit(M2, limit('M2-I1', 'sell', 5900, 1));
  t.equal(result.ok, true);
  t.equal(r.engine.lastStampedTime, T0 + 120_000, 'stamped with the last stamped time, not the clock behind it');
  t.end();
});

t.test('committed() resolves at once with nothing open, and otherwise only once the open batch is on disk', async (t) => {
  const x = await rig(t);
  let early = false;
  await x.sequencer.committed().then(() => { early = true; });
  t.ok(early, 'nothing open: resolved');
  const base = x.r.engine.lastSequence;
  const answers: string[] = [];
  const submitted = x.sequencer.submit(M1, limit('M1-I1', 'buy', 5600, 2)).then(() => answers.push('caller'));
  const barrier = x.sequencer.committed().then(() => {
    answers.push('committed');
    return x.onDisk(base).map((r) => r.seq);
  });
  await drainMicrotasks();
  t.same(answers, [], 'not before the commit');
  t.same(await barrier, [base + 1], 'the command was on disk when committed() resolved');
  await submitted;
  t.same(answers.sort(), ['caller', 'committed']);
  t.end();
});
