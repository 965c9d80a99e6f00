// Crash test (DESIGN.md "Testing shape", issue 4): the exchange runs in a child process under
// concurrent load from this test; it is killed with SIGKILL at a random moment; then the data
// directory must hold every acknowledged order, cancel and trade, nothing half-applied (a batch and
// its facts and audit entries are one transaction), and recover to exactly the state a replay from
// scratch reaches; and the exchange must start again on it. A kill during the first start leaves
// either nothing or the whole market set-up (it commits as one batch with the genesis).
//
// `npm test` runs 4 rounds; a longer run: CRASH_ROUNDS=50 npx tap test/persistence/crash.test.ts (the
// file's time limit grows with the rounds). CRASH_SEED fixes the random choices (the moment of the
// kill still depends on the machine). The kill comes 0.3–2 s after the first acknowledgement.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Engine, formatMoney, parseMoney, type Command, type EngineEvent, type Result, type TradeEvent } from '../../engine/index.ts';
import { isFact, type Genesis } from '../../persistence/journal.ts';
import { recover } from '../../persistence/recovery.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { ExchangeProcess, journalOnDisk, tempFolder, writeKeys, type KeySpec } from '../support/exchangeProcess.ts';
import { seededRandom as random } from '../support/random.ts';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 4);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The demo accounts of each member that may trade CEA24 (national market). */
const CEA24_ACCOUNTS: Record<string, string[]> = { M1: ['M1-C1', 'M1-I1', 'M1-P1'], M2: ['M2-C1', 'M2-I1'], M3: ['M3-C1', 'M3-I2'] };

interface PlaceRequest { accountId: string; symbol: string; side: 'buy' | 'sell'; type: 'limit'; price: string; quantity: number; timeInForce?: 'DAY' | 'IOC' }

/** A command the exchange answered: its seq and what the reply said. */
type Ack =
  | { kind: 'place'; member: string; seq: number; status: number; request: PlaceRequest; orderId: string | null; filled: number; orderStatus: string | null; tradeIds: string[]; code: string | null }
  | { kind: 'cancel'; member: string; seq: number; status: number; orderId: number; code: string | null };

interface Loop { member: string; key: string }

/** One member's client: places crossing and resting orders and cancels some of its own, one request at a time. */
async function runLoop(base: string, loop: Loop, rnd: () => number, acks: Ack[], onAck: () => void, stop: { now: boolean }): Promise<{ sent: number; errors: number }> {
  const resting: number[] = [];
  const headers = { authorization: `Bearer ${loop.key}`, 'content-type': 'application/json' };
  let sent = 0;
  let errors = 0;
  while (!stop.now) {
    sent++;
    try {
      if (resting.length > 0 && rnd() < 0.25) {
        const orderId = resting.splice(Math.floor(rnd() * resting.length), 1)[0];
        const res = await fetch(`${base}/v1/orders/${orderId}`, { method: 'DELETE', headers: { authorization: headers.authorization }, signal: AbortSignal.timeout(20_000) });
        const body = (await res.json()) as { error?: { code: string } };
        const seq = res.headers.get('x-exchange-seq');
        if (seq !== null) {
          acks.push({ kind: 'cancel', member: loop.member, seq: Number(seq), status: res.status, orderId, code: body.error?.code ?? null });
          onAck();
        }
      } else {
        const accounts = CEA24_ACCOUNTS[loop.member];
        const side = rnd() < 0.5 ? 'buy' : 'sell';
        // Prices 57.00–57.59 on both sides: about half of the orders cross the book.
        const request: PlaceRequest = {
          accountId: accounts[Math.floor(rnd() * accounts.length)], symbol: 'CEA24', side, type: 'limit',
          price: formatMoney(5700 + Math.floor(rnd() * 60)), quantity: 1 + Math.floor(rnd() * 300),
        };
        if (rnd() < 0.1) request.timeInForce = 'IOC';
        const res = await fetch(`${base}/v1/orders`, { method: 'POST', headers, body: JSON.stringify(request), signal: AbortSignal.timeout(20_000) });
        const body = (await res.json()) as { order?: { orderId: string; filledQuantity?: number; status?: string }; fills?: { tradeId: string }[]; error?: { code: string } };
        const seq = res.headers.get('x-exchange-seq');
        if (seq === null) continue; // refused before the sequencer (e.g. rate limit): not journaled
        const order = body.order;
        acks.push({
          kind: 'place', member: loop.member, seq: Number(seq), status: res.status, request,
          orderId: order?.orderId ?? null, filled: order?.filledQuantity ?? 0, orderStatus: order?.status ?? null,
          tradeIds: (body.fills ?? []).map((f) => f.tradeId), code: body.error?.code ?? null,
        });
        onAck();
        if (order !== undefined && (order.status === 'new' || order.status === 'partially_filled')) resting.push(Number(order.orderId));
      }
    } catch {
      // The exchange died under the request (or the reply was cut): nothing was acknowledged.
      errors++;
      if (stop.now) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  return { sent, errors };
}

/** A market-data reader: polls the book and remembers the highest seq it was shown. */
async function readBook(base: string, stop: { now: boolean }): Promise<number> {
  let highest = 0;
  while (!stop.now) {
    try {
      const res = await fetch(`${base}/v1/instruments/CEA24/book`, { signal: AbortSignal.timeout(20_000) });
      const body = (await res.json()) as { seq?: number };
      if (typeof body.seq === 'number' && body.seq > highest) highest = body.seq;
    } catch {
      if (stop.now) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  return highest;
}

/**
 * The journal read with SQL, batch by batch, each batch's CRC checked, replayed on a new engine from
 * the genesis; the facts, audit entries and ends of day checked against what the replay produces.
 */
function replayFromScratch(dir: string) {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  try {
    const genesis = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'genesis'").get() as { value: string }).value) as Genesis;
    const engine = new Engine({ tradingDate: genesis.tradingDate });
    const commands = new Map<number, Command>();
    const results = new Map<number, Result>();
    const badCrc: string[] = [];
    const gaps: string[] = [];
    /** Facts rows that are not exactly the kept events of their batch's commands, and the like. */
    const factProblems: string[] = [];
    const factRows = new Map((db.prepare('SELECT batch, first_seq, last_seq, events, trades FROM facts').all() as { batch: number; first_seq: number; last_seq: number; events: string; trades: number }[]).map((f) => [f.batch, f]));
    const facts: EngineEvent[] = [];
    let batches = 0;
    for (const row of db.prepare('SELECT batch, first_seq, last_seq, commands, crc FROM batches ORDER BY batch').all() as { batch: number; first_seq: number; last_seq: number; commands: string; crc: number }[]) {
      batches++;
      if (row.crc !== crc32(row.commands)) badCrc.push(`batch ${row.batch} (seq ${row.first_seq}–${row.last_seq})`);
      const inBatch = JSON.parse(row.commands) as Command[];
      if (row.first_seq !== commands.size + 1 || row.last_seq !== row.first_seq + inBatch.length - 1) gaps.push(`batch ${row.batch}: seq ${row.first_seq}–${row.last_seq} after ${commands.size}`);
      const produced: EngineEvent[] = [];
      for (const command of inBatch) {
        if (command.seq !== commands.size + 1) gaps.push(`batch ${row.batch}: seq ${command.seq} after ${commands.size}`);
        commands.set(command.seq, command);
        const result = engine.apply(command);
        results.set(command.seq, result);
        if (result.ok) produced.push(...result.events.filter(isFact));
      }
      const f = factRows.get(row.batch);
      factRows.delete(row.batch);
      if (f === undefined) {
        if (produced.length > 0) factProblems.push(`batch ${row.batch}: ${produced.length} facts (${[...new Set(produced.map((e) => e.type))].join(', ')}) were not recorded`);
        continue;
      }
      const recorded = JSON.parse(f.events) as EngineEvent[];
      facts.push(...recorded);
      if (f.events !== JSON.stringify(produced)) factProblems.push(`batch ${row.batch}: its facts are not the events its commands produce`);
      if (f.trades !== recorded.filter((e) => e.type === 'trade').length) factProblems.push(`batch ${row.batch}: ${f.trades} trades counted`);
      if (f.first_seq < row.first_seq || f.last_seq > row.last_seq) factProblems.push(`batch ${row.batch}: facts of seq ${f.first_seq}–${f.last_seq} outside it`);
    }
    for (const f of factRows.values()) factProblems.push(`facts of batch ${f.batch} (seq ${f.first_seq}–${f.last_seq}) without their batch (last seq ${commands.size})`);
    // The audit trail: every risk and operator command (here, the set-up) with its outcome, and nothing else.
    const audit = db.prepare('SELECT seq, command, code FROM audit ORDER BY seq').all() as { seq: number; command: string; code: string | null }[];
    const audited = new Set(audit.map((a) => a.seq));
    for (const a of audit) {
      const c = commands.get(a.seq);
      const result = results.get(a.seq);
      if (c === undefined || result === undefined) factProblems.push(`audit entry ${a.seq} without its command`);
      else if (a.command !== JSON.stringify(c) || a.code !== (result.ok ? null : result.code)) factProblems.push(`audit entry ${a.seq} is not its command and outcome`);
    }
    for (const [seq, c] of commands) if (c.actor.role !== 'member' && !audited.has(seq)) factProblems.push(`${c.actor.role} command ${seq} is not in the audit trail`);
    const days = (db.prepare('SELECT seq FROM days').all() as { seq: number }[]).map((d) => d.seq);
    for (const seq of days) if (!commands.has(seq)) factProblems.push(`end of day at seq ${seq} without its command`);
    return { engine, commands, results, facts, batches, audited: audit.length, badCrc, gaps, factProblems };
  } finally {
    db.close();
  }
}

async function round(t: Test, n: number): Promise<void> {
  const rnd = random(SEED + n * 7919);
  const folder = tempFolder('crash-test-');
  t.teardown(folder.remove);
  const dataDir = join(folder.path, 'data');
  const loopCount = 3 + Math.floor(rnd() * 4);
  const loops: Loop[] = Array.from({ length: loopCount }, (_, i) => ({ member: `M${(i % 3) + 1}`, key: `crash-round-${n}-loop-${i}-${Math.floor(rnd() * 1e9)}` }));
  const keys: KeySpec[] = loops.map((l) => ({ key: l.key, role: 'member', member: l.member }));
  const keysFile = writeKeys(folder.path, keys);
  const snapshotEvery = [100_000, 200, 60][Math.floor(rnd() * 3)];
  const env = { SNAPSHOT_EVERY: String(snapshotEvery), RATE_LIMIT: '0' };
  const killAfter = 300 + Math.floor(rnd() * 1700);
  t.comment(`round ${n}: ${loopCount} clients, snapshot every ${snapshotEvery}, SIGKILL after ${killAfter} ms`);

  // ---- load, then SIGKILL
  const exchange = await ExchangeProcess.start({ dataDir, keysFile, env });
  t.teardown(() => exchange.kill());
  const acks: Ack[] = [];
  const stop = { now: false };
  let firstAck = () => {};
  const acknowledged = new Promise<void>((resolve) => { firstAck = resolve; });
  const clients = loops.map((loop, i) => runLoop(exchange.base, loop, random(SEED + n * 7919 + i + 1), acks, firstAck, stop));
  const reader = readBook(exchange.base, stop);
  // The random moment counts from the first acknowledgement, so that a slow start still leaves load to kill.
  let gaveUp: NodeJS.Timeout | undefined;
  await Promise.race([acknowledged, new Promise((resolve) => { gaveUp = setTimeout(resolve, 30_000); })]);
  clearTimeout(gaveUp);
  await new Promise((resolve) => setTimeout(resolve, killAfter));
  await exchange.kill();
  stop.now = true;
  const stats = await Promise.all(clients);
  const bookSeq = await reader;
  const tearWal = n % 2 === 0;
  const wal = join(dataDir, 'journal.sqlite-wal');
  if (tearWal && existsSync(wal)) {
    // A write in flight at the kill, torn: bytes after the last frame SQLite wrote.
    appendFileSync(wal, Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 151 + n) & 0xff)));
    t.comment(`round ${n}: 3000 bytes of garbage appended to the -wal (${statSync(wal).size} bytes)`);
  }
  t.comment(`round ${n}: ${stats.reduce((a, s) => a + s.sent, 0)} requests, ${acks.length} acknowledged`);
  t.ok(acks.length > 0, 'the exchange acknowledged commands before it died');

  // ---- (1) recovery equals a replay from scratch
  const replay = replayFromScratch(dataDir);
  t.same(replay.badCrc, [], `every batch carries a sound CRC (${replay.batches} batches, ${replay.commands.size} commands)`);
  t.same(replay.gaps, [], 'the batches hold seq 1, 2, 3, … without a gap or an overlap');
  const r = recover(dataDir);
  let journalOpen = true;
  t.teardown(() => { if (journalOpen) r.journal.db.close(); });
  t.equal(r.created, false);
  t.equal(r.engine.lastSequence, replay.engine.lastSequence, 'recovery reaches the last journaled seq');
  t.equal(r.engine.stateHash(), replay.engine.stateHash(), `recovered state (${r.fromSnapshot === null ? 'full replay' : `snapshot ${r.fromSnapshot} + ${r.replayed}`}) equals a replay from scratch`);
  t.same(r.skippedSnapshots, [], 'no snapshot was found damaged');
  const lastSeq = r.engine.lastSequence;
  t.ok(bookSeq <= lastSeq, `no reply showed state beyond what was committed (book seq ${bookSeq} ≤ ${lastSeq})`);
  const nextOrderId = r.engine.internals().nextOrderId;

  // ---- (2) every acknowledged command is in the journal as it was sent, with the outcome it was told
  const problems: string[] = [];
  for (const a of acks) {
    const c = replay.commands.get(a.seq);
    const result = replay.results.get(a.seq);
    if (c === undefined || result === undefined) { problems.push(`acknowledged seq ${a.seq} is not in the journal`); continue; }
    if (c.actor.role !== 'member' || c.actor.id !== a.member) problems.push(`seq ${a.seq}: actor ${JSON.stringify(c.actor)}, not member ${a.member}`);
    const accepted = a.status === 200 || a.status === 201;
    if (result.ok !== accepted) problems.push(`seq ${a.seq}: replied ${a.status} but the replay ${result.ok ? 'accepts' : 'rejects'} it`);
    if (!result.ok && a.code !== result.code) problems.push(`seq ${a.seq}: replied ${a.code}, the replay says ${result.code}`);
    if (a.kind === 'place') {
      const q = a.request;
      if (c.type !== 'placeOrder') { problems.push(`seq ${a.seq}: journal holds ${c.type}, not placeOrder`); continue; }
      const sent = { accountId: q.accountId, symbol: q.symbol, side: q.side, orderType: q.type, price: parseMoney(q.price), quantity: q.quantity, timeInForce: q.timeInForce ?? 'DAY' };
      const held = { accountId: c.accountId, symbol: c.symbol, side: c.side, orderType: c.orderType, price: c.price, quantity: c.quantity, timeInForce: c.timeInForce ?? 'DAY' };
      if (JSON.stringify(sent) !== JSON.stringify(held)) problems.push(`seq ${a.seq}: sent ${JSON.stringify(sent)}, journal holds ${JSON.stringify(held)}`);
      if (result.ok) {
        if (String(result.orderId) !== a.orderId) problems.push(`seq ${a.seq}: acknowledged order ${a.orderId}, the replay gives ${result.orderId}`);
        const tradeIds = result.events.filter((e): e is TradeEvent => e.type === 'trade').map((e) => String(e.tradeId));
        if (JSON.stringify(tradeIds) !== JSON.stringify(a.tradeIds)) problems.push(`seq ${a.seq}: acknowledged fills ${a.tradeIds}, the replay trades ${tradeIds}`);
      }
    } else {
      if (c.type !== 'cancelOrder' || c.orderId !== a.orderId) problems.push(`seq ${a.seq}: journal holds ${JSON.stringify(c)}, not cancelOrder ${a.orderId}`);
    }
  }
  t.same(problems, [], `all ${acks.length} acknowledged commands are journaled as sent, with the outcome acknowledged`);

  // ---- (3) acknowledged orders, fills and cancels are in the recovered state
  const tradeFacts = new Set(replay.facts.filter((f): f is TradeEvent => f.type === 'trade').map((f) => String(f.tradeId)));
  const cancelled = new Set(acks.filter((a) => a.kind === 'cancel' && a.status === 200).map((a) => (a as { orderId: number }).orderId));
  const missing: string[] = [];
  let placed = 0;
  let fills = 0;
  for (const a of acks) {
    if (a.kind !== 'place' || a.orderId === null || !(a.status === 200 || a.status === 201)) continue;
    placed++;
    const id = Number(a.orderId);
    const open = r.engine.order(id);
    if (open === undefined) {
      if (!(id < nextOrderId)) missing.push(`order ${id} is neither open nor below nextOrderId ${nextOrderId}`);
    } else {
      if (open.filled < a.filled) missing.push(`order ${id} shows ${open.filled} filled, ${a.filled} were acknowledged`);
      if (a.orderStatus === 'filled' || a.orderStatus === 'cancelled' || a.orderStatus === 'expired') missing.push(`order ${id} was acknowledged ${a.orderStatus} but is open`);
      if (cancelled.has(id)) missing.push(`order ${id} was acknowledged cancelled but is open`);
    }
    for (const tradeId of a.tradeIds) {
      fills++;
      if (!tradeFacts.has(tradeId)) missing.push(`trade ${tradeId} (order ${id}) is not among the recorded facts`);
    }
  }
  for (const id of cancelled) if (r.engine.order(id) !== undefined) missing.push(`cancelled order ${id} is open`);
  t.same(missing, [], `${placed} acknowledged orders, ${fills} fills and ${cancelled.size} cancels are all there`);

  // No fact without its batch, and each batch's facts are exactly the events its commands produce
  // (trades, transfers and orders included); the audit trail likewise.
  t.same(replay.factProblems.slice(0, 20), [], `the facts and the audit trail (${replay.audited} entries) agree with the journal: nothing half-applied`);

  const depth = r.engine.depth('CEA24', 50)!;
  const level = ([p, q, c]: [number, number, number]) => [formatMoney(p), q, c];
  const book = { seq: lastSeq, bids: depth.bids.map(level), asks: depth.asks.map(level) };
  r.journal.close();
  journalOpen = false;

  // ---- (4) the exchange starts again on the same files and answers the book
  const again = await ExchangeProcess.start({ dataDir, keysFile, env });
  t.teardown(() => again.kill());
  const res = await fetch(`${again.base}/v1/instruments/CEA24/book?depth=50`);
  t.equal(res.status, 200);
  const body = (await res.json()) as { seq: number; bids: unknown[]; asks: unknown[] };
  t.same({ seq: body.seq, bids: body.bids, asks: body.asks }, book, 'the restarted exchange shows the recovered book');
  const more = await fetch(`${again.base}/v1/orders`, {
    method: 'POST', headers: { authorization: `Bearer ${loops[0].key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ accountId: CEA24_ACCOUNTS[loops[0].member][0], symbol: 'CEA24', side: 'buy', type: 'limit', price: '52.00', quantity: 1 }),
  });
  await more.arrayBuffer();
  t.equal(more.headers.get('x-exchange-seq'), String(lastSeq + 1), 'and sequences new commands after the recovered ones');
  t.equal(await again.stop(), 0, 'a clean shutdown after the restart');
}

t.setTimeout(Math.max(300_000, ROUNDS * 30_000));

t.test('a SIGKILL during the first start leaves nothing or the whole market set-up, and the restart completes it', async (t) => {
  const setup = loadMarkets(DEMO_MARKETS_FILE);
  const listed = setup.commands.filter((c) => c.type === 'listInstrument').length;
  const rnd = random(SEED + 17);
  // The set-up commits as one batch with the genesis, a few ms after journal.sqlite appears: the
  // first kill comes as soon as it appears (before the commit, as a rule), the second a little later.
  const delays = [0, 3 + Math.floor(rnd() * 25)];
  for (const [i, delay] of delays.entries()) {
    await t.test(`killed ${delay} ms after journal.sqlite appears`, async (t) => {
      const folder = tempFolder('crash-setup-');
      t.teardown(folder.remove);
      const dataDir = join(folder.path, 'data');
      const key = `crash-setup-member-key-${i}`;
      const keysFile = writeKeys(folder.path, [{ key, role: 'member', member: 'M1' }]);
      const env = { RATE_LIMIT: '0' };
      const exchange = await ExchangeProcess.spawn({ dataDir, keysFile, env });
      t.teardown(() => exchange.kill());
      const deadline = Date.now() + 30_000;
      while (exchange.running && Date.now() < deadline && !existsSync(join(dataDir, 'journal.sqlite'))) await new Promise((resolve) => setTimeout(resolve, 1));
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      t.ok(exchange.running, `the exchange was still starting when it was killed${exchange.running ? '' : `:\n${exchange.output}`}`);
      await exchange.kill();
      const atKill = journalOnDisk(dataDir);
      const committed = atKill.commands > 0;
      t.comment(`killed ${committed ? 'after' : 'before'} the set-up's commit: ${atKill.commands} of ${setup.commands.length} set-up commands on disk, tables [${atKill.tables.join(', ')}], schema version ${atKill.schemaVersion}`);
      t.ok(atKill.commands === 0 || atKill.commands === setup.commands.length, `the set-up is all or nothing on disk (${atKill.commands} of ${setup.commands.length} commands)`);
      t.ok(atKill.batches <= 1, 'in one batch');
      t.equal(atKill.genesis, committed, 'the genesis is recorded exactly when the set-up is');

      const again = await ExchangeProcess.start({ dataDir, keysFile, env });
      t.teardown(() => again.kill());
      const instruments = (await (await fetch(`${again.base}/v1/instruments`)).json()) as unknown[];
      t.equal(instruments.length, listed, 'every instrument of the set-up is listed after the restart');
      const order = await fetch(`${again.base}/v1/orders`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountId: 'M1-I1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '52.00', quantity: 1 }),
      });
      t.equal(order.status, 201, `the set-up's accounts exist and trade (${await order.text()})`);
      t.equal(order.headers.get('x-exchange-seq'), String(setup.commands.length + 1), 'the first command after the set-up');
      t.equal(await again.stop(), 0, 'a clean shutdown');
      t.match(again.output, committed ? /recovery: snapshot none, \d+ commands? replayed/ : /recovery: new data directory/, committed ? 'the restart recovered the set-up' : 'the restart took the directory for a new one');
      const after = journalOnDisk(dataDir);
      t.equal(after.commands, setup.commands.length + 1, 'the journal holds the whole set-up and the order');
      const db = new Database(join(dataDir, 'journal.sqlite'), { readonly: true });
      t.same(db.prepare('SELECT first_seq, last_seq FROM batches WHERE batch = 1').get(), { first_seq: 1, last_seq: setup.commands.length }, 'the set-up is the first batch, whole');
      db.close();
    });
  }
});

t.test(`crash: SIGKILL under load, ${ROUNDS} rounds (seed ${SEED})`, async (t) => {
  for (let n = 1; n <= ROUNDS; n++) {
    await t.test(`round ${n}`, (t) => round(t, n));
  }
});
