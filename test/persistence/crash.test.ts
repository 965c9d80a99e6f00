// Crash test (DESIGN.md "Testing shape", issue 4): the exchange runs in a child process under
// concurrent load from this test; it is killed with SIGKILL at a random moment; then the data
// directory must hold every acknowledged order, cancel and trade, nothing half-applied, and recover
// to exactly the state a replay from scratch reaches; and the exchange must start again on it.
//
// `npm test` runs 4 rounds; a longer run: CRASH_ROUNDS=50 npx tap test/persistence/crash.test.ts (the
// file's time limit grows with the rounds). CRASH_SEED fixes the random choices (the moment of the
// kill still depends on the machine). The kill comes 0.3–2 s after the first acknowledgement.
import t, { type Test } from 'tap';
import Database from 'better-sqlite3';
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, formatMoney, parseMoney, type Command, type Result, type TradeEvent } from '../../engine/index.ts';
import { entryChecksum, type Genesis } from '../../persistence/journal.ts';
import { recover } from '../../persistence/recovery.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { ExchangeProcess, tempFolder, writeKeys, type KeySpec } from '../support/exchangeProcess.ts';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 4);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The demo accounts of each member that may trade CEA24 (national market). */
const CEA24_ACCOUNTS: Record<string, string[]> = { M1: ['M1-C1', 'M1-I1', 'M1-P1'], M2: ['M2-C1', 'M2-I1'], M3: ['M3-C1', 'M3-I2'] };
/** Facts the settlement needs and the sequencer must record with their command. */
const REQUIRED_FACTS = new Set(['trade', 'account', 'endOfDay']);

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

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

/** The journal read with SQL, each entry's CRC checked, replayed on a new engine from the genesis. */
function replayFromScratch(dir: string) {
  const db = new Database(join(dir, 'journal.sqlite'), { readonly: true });
  try {
    const genesis = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'genesis'").get() as { value: string }).value) as Genesis;
    const engine = new Engine({ tradingDate: genesis.tradingDate });
    const commands = new Map<number, Command>();
    const results = new Map<number, Result>();
    const badCrc: number[] = [];
    const gaps: number[] = [];
    for (const row of db.prepare('SELECT seq, time, command, crc FROM journal ORDER BY seq').all() as { seq: number; time: number; command: string; crc: number }[]) {
      if (row.crc !== entryChecksum(row.seq, row.time, row.command)) badCrc.push(row.seq);
      if (row.seq !== commands.size + 1) gaps.push(row.seq);
      const command = JSON.parse(row.command) as Command;
      commands.set(row.seq, command);
      results.set(row.seq, engine.apply(command));
    }
    const facts = db.prepare('SELECT seq, idx, type, body FROM facts ORDER BY seq, idx').all() as { seq: number; idx: number; type: string; body: string }[];
    return { engine, commands, results, facts, badCrc, gaps };
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
  t.same(replay.badCrc, [], 'every journal entry carries a sound CRC');
  t.same(replay.gaps, [], 'the journal holds seq 1, 2, 3, … without a gap');
  const r = recover(dataDir);
  let journalOpen = true;
  t.teardown(() => { if (journalOpen) r.journal.db.close(); });
  t.equal(r.created, false);
  t.equal(r.tornTailFrom, null, 'a SIGKILL tears no committed batch');
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
  const tradeFacts = new Set(replay.facts.filter((f) => f.type === 'trade').map((f) => String((JSON.parse(f.body) as TradeEvent).tradeId)));
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

  // No fact without its command, and the facts are the events the journal's commands produce.
  const factProblems: string[] = [];
  const recorded = new Set<string>();
  for (const f of replay.facts) {
    recorded.add(`${f.seq}/${f.idx}`);
    const result = replay.results.get(f.seq);
    if (result === undefined) { factProblems.push(`fact ${f.seq}/${f.idx} has no command (last seq ${lastSeq})`); continue; }
    if (!result.ok || JSON.stringify(result.events[f.idx]) !== f.body) factProblems.push(`fact ${f.seq}/${f.idx} is not the event its command produces`);
  }
  for (const [seq, result] of replay.results) {
    if (result.ok) result.events.forEach((e, i) => { if (REQUIRED_FACTS.has(e.type) && !recorded.has(`${seq}/${i}`)) factProblems.push(`${e.type} event ${seq}/${i} was not recorded`); });
  }
  t.same(factProblems.slice(0, 20), [], 'the facts agree with the journal: nothing half-applied');

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

/** Journal rows in a data directory the exchange may be writing right now (0 while it cannot be read). */
function journalRows(dataDir: string): number {
  const file = join(dataDir, 'journal.sqlite');
  if (!existsSync(file)) return 0;
  try {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // the schema is not there yet
  }
}

t.setTimeout(Math.max(300_000, ROUNDS * 30_000));

/** A known bug: its assertions are reported as TODO rather than failures until it is fixed. */
const SETUP_BUG = {
  todo: 'bug: the genesis is recorded before the set-up commands, which commit one batch each; a restart takes the directory for a complete one and never finishes the set-up',
};

t.test('a SIGKILL during the first start, in the middle of the market set-up', async (t) => {
  const folder = tempFolder('crash-setup-');
  t.teardown(folder.remove);
  const dataDir = join(folder.path, 'data');
  const keysFile = writeKeys(folder.path, [{ key: 'crash-setup-member-key-1', role: 'member', member: 'M1' }]);
  const setup = loadMarkets(DEMO_MARKETS_FILE);
  const exchange = await ExchangeProcess.spawn({ dataDir, keysFile, env: { RATE_LIMIT: '0' } });
  t.teardown(() => exchange.kill());
  const deadline = Date.now() + 30_000;
  while (exchange.running && Date.now() < deadline && journalRows(dataDir) < 5) await new Promise((resolve) => setTimeout(resolve, 2));
  await exchange.kill();
  const atKill = journalRows(dataDir);
  if (atKill === 0 || atKill >= setup.commands.length) {
    t.comment(`the kill came ${atKill === 0 ? 'before the first' : 'after the last'} set-up command (${atKill} of ${setup.commands.length} journaled): nothing to check this time`);
    return;
  }
  t.comment(`killed with ${atKill} of ${setup.commands.length} set-up commands journaled`);
  const again = await ExchangeProcess.start({ dataDir, keysFile, env: { RATE_LIMIT: '0' } });
  t.teardown(() => again.kill());
  const instruments = (await (await fetch(`${again.base}/v1/instruments`)).json()) as unknown[];
  t.equal(instruments.length, setup.commands.filter((c) => c.type === 'listInstrument').length, 'every instrument of the set-up is listed after the restart', SETUP_BUG);
  const order = await fetch(`${again.base}/v1/orders`, {
    method: 'POST', headers: { authorization: 'Bearer crash-setup-member-key-1', 'content-type': 'application/json' },
    body: JSON.stringify({ accountId: 'M1-I1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '52.00', quantity: 1 }),
  });
  t.equal(order.status, 201, `the set-up's accounts exist and trade (${await order.text()})`, SETUP_BUG);
  await again.kill();
  t.equal(journalRows(dataDir) >= setup.commands.length, true, 'the journal holds the whole set-up', SETUP_BUG);
});

t.test(`crash: SIGKILL under load, ${ROUNDS} rounds (seed ${SEED})`, async (t) => {
  for (let n = 1; n <= ROUNDS; n++) {
    await t.test(`round ${n}`, (t) => round(t, n));
  }
});
