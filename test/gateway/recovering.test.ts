// The exchange listens while it recovers (issue 5: "/readyz not ready while recovering"). A data
// directory with a long journal and no snapshot at its end (as after a crash) is written here; the
// exchange is started on it as `npm start` runs it, in a child process, and polled from its first
// answer: until recovery has finished /healthz says it is alive, /readyz answers 503 "recovering"
// with how far the replay has come, /metrics gives the start's figures, an order and a market-data
// read get 503 RECOVERING with Retry-After, and a WebSocket upgrade is refused with 503. Then /readyz
// turns 200 and stays so, and the gateway serves the recovered state.
import t from 'tap';
import { Ajv } from 'ajv';
import WebSocket from 'ws';
import { join } from 'node:path';
import { dateOfDay, localDay } from '../../engine/index.ts';
import { DEMO_MARKETS_FILE, loadMarkets } from '../../engine/setup.ts';
import { recover } from '../../persistence/recovery.ts';
import { Sequencer } from '../../persistence/sequencer.ts';
import { ExchangeProcess, journalOnDisk, tempFolder, writeKeys } from '../support/exchangeProcess.ts';
import { call, KEY_SPECS, KEYS, type ApiReply } from '../support/server.ts';

/** Commands in the journal: enough that replaying them takes a good part of a second. */
const COMMANDS = 240_000;
const PER_BATCH = 4_000;

const folder = tempFolder('recovering-test-');
t.teardown(folder.remove);
const dataDir = join(folder.path, 'data');
const keysFile = writeKeys(folder.path, KEY_SPECS);

/**
 * Writes the demo set-up and COMMANDS immediate-or-cancel buy orders that find no seller (each one
 * a journalled command, cancelled unfilled), in batches of PER_BATCH, and closes the journal without a
 * snapshot. Returns the last order's id and the last sequence number.
 */
async function writeJournal(): Promise<{ lastOrderId: number; lastSeq: number }> {
  const setup = loadMarkets(DEMO_MARKETS_FILE);
  const r = recover(dataDir, { genesis: { tradingDate: dateOfDay(localDay(Date.now())), markets: { file: setup.file, profiles: setup.profiles } } });
  // A clock inside the demo's trading session, so that the orders are taken (and cancelled, unfilled).
  let clock = Date.parse(`${r.engine.tradingDate}T10:00:00+08:00`);
  const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => clock++ });
  const done = await Promise.all(setup.commands.map((body) => sequencer.submit({ role: 'operator', id: 'setup' }, body)));
  if (!done.every((x) => x.ok)) throw new Error('the demo set-up was refused');
  let last = 0;
  for (let sent = 0; sent < COMMANDS; sent += PER_BATCH) {
    const batch = [];
    for (let i = 0; i < PER_BATCH; i++) {
      batch.push(sequencer.submit({ role: 'member', id: 'M1' }, {
        type: 'placeOrder', accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5200, quantity: 1, timeInForce: 'IOC',
      }));
    }
    const results = await Promise.all(batch);
    const refused = results.find((x) => !x.ok);
    if (refused !== undefined) throw new Error(`an order was refused: ${JSON.stringify(refused)}`);
    last = (results[results.length - 1] as { orderId: number }).orderId;
  }
  r.journal.close();
  return { lastOrderId: last, lastSeq: r.engine.lastSequence };
}

/** The value of an unlabelled (or labelled) sample in a Prometheus text, or null when absent. */
function sample(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

/** A WebSocket upgrade: the HTTP status it was refused with, or 101 when it opened. */
function upgradeStatus(base: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => { resolve(101); ws.close(); });
    ws.on('error', reject);
  });
}

let journalled: { lastOrderId: number; lastSeq: number } | null = null;

t.test('while it recovers the exchange answers its probes, and refuses the rest with 503 RECOVERING', async (t) => {
  journalled = await writeJournal();
  const { lastOrderId, lastSeq } = journalled;
  const ex = await ExchangeProcess.spawn({ dataDir, keysFile });
  t.teardown(() => ex.kill());

  // Poll /readyz from the first moment it listens until it is ready.
  const states: string[] = [];
  const progress: { phase: string; replayed: number; toReplay: number }[] = [];
  let during: { health: ApiReply; order: ApiReply; book: ApiReply; upgrade: number; metrics: ApiReply } | null = null;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline || !ex.running) throw new Error(`never ready:\n${ex.output}`);
    let ready: ApiReply;
    try {
      ready = await call(ex.base, 'GET', '/readyz');
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue; // not listening yet
    }
    states.push(`${ready.status} ${ready.body?.status}`);
    if (ready.status === 200) break;
    progress.push(ready.body);
    if (during === null) {
      // The first answer said recovering: everything else is asked at once, while it still is.
      const [health, order, book, upgrade, metrics] = await Promise.all([
        call(ex.base, 'GET', '/healthz'),
        call(ex.base, 'POST', '/v1/orders', { key: KEYS.M1, body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '52.00', quantity: 1 } }),
        call(ex.base, 'GET', '/v1/instruments/CEA24/book'),
        upgradeStatus(ex.base),
        call(ex.base, 'GET', '/metrics'),
      ]);
      during = { health, order, book, upgrade, metrics };
      states.push(`${(await call(ex.base, 'GET', '/readyz')).status} after the requests`);
    }
  }
  t.equal(states[0], '503 recovering', 'its first answer: recovering');
  t.ok(states.includes('503 after the requests'), `still recovering once the requests were answered (${states.slice(0, 3).join(', ')}…)`);
  t.equal(states[states.length - 1], '200 ready', 'then ready');
  t.ok(during !== null);
  if (during === null) return;
  t.equal(during.health.status, 200);
  t.same(during.health.body, { status: 'ok' }, 'alive meanwhile');
  for (const [what, r] of [['an order', during.order], ['a read', during.book]] as const) {
    t.equal(r.status, 503, `${what}: 503`);
    t.equal(r.body?.error?.code, 'RECOVERING', `${what}: RECOVERING`);
    t.equal(r.headers.get('retry-after'), '1', `${what}: Retry-After`);
  }
  t.equal(during.upgrade, 503, 'a WebSocket upgrade: 503');

  // How far it has come: the replay counts up to every command journalled (there is no snapshot).
  const phases = ['opening', 'replaying', 'history', 'gateway'];
  t.ok(progress.every((p) => phases.includes(p.phase)), `phases: ${[...new Set(progress.map((p) => p.phase))].join(', ')}`);
  t.ok(progress.some((p) => p.phase === 'replaying' && p.replayed > 0 && p.replayed < lastSeq), 'seen part-way through the replay');
  t.ok(progress.filter((p) => p.phase !== 'opening').every((p) => p.toReplay === lastSeq), `all ${lastSeq} commands to replay, from the replay on`);
  t.ok(progress.every((p, i) => i === 0 || (phases.indexOf(p.phase) >= phases.indexOf(progress[i - 1].phase) && p.replayed >= progress[i - 1].replayed)), 'never backwards');
  t.ok(progress.filter((p) => p.phase === 'history' || p.phase === 'gateway').every((p) => p.replayed === lastSeq), 'replayed in full before the history is read');
  t.equal(during.metrics.status, 200, '/metrics answers while it recovers');
  t.match(during.metrics.headers.get('content-type'), /^text\/plain/);
  t.equal(sample(during.metrics.text, 'exchange_ready'), 0, 'exchange_ready 0');
  const phaseNow = phases.filter((p) => sample(during!.metrics.text, `exchange_start_phase{phase="${p}"}`) === 1);
  t.equal(phaseNow.length, 1, `one current phase (${phaseNow.join(', ')})`);
  t.ok((sample(during.metrics.text, 'exchange_recovery_commands_replayed') ?? -1) <= lastSeq, 'the commands replayed so far');
  t.ok((sample(during.metrics.text, 'exchange_start_seconds') ?? -1) > 0, 'the time so far');
  t.match(ex.output, /^carbon exchange listening on http:\/\/127\.0\.0\.1:\d+: recovering /, 'the start says it listens and recovers before it is ready');

  // Ready: the gateway serves what the journal held, and stays ready.
  const order = await call(ex.base, 'GET', `/v1/orders/${lastOrderId}`, { key: KEYS.M1 });
  t.equal(order.status, 200, 'the last order journalled is there');
  t.match(order.body, { orderId: String(lastOrderId), status: 'cancelled', accountId: 'M1-C1' });
  t.equal((await call(ex.base, 'GET', '/readyz')).status, 200);
  t.equal(await upgradeStatus(ex.base), 101, 'WebSocket upgrades open');
  const book = await call(ex.base, 'GET', '/v1/instruments/CEA24/book');
  t.equal(book.status, 200);
  t.equal(book.body.seq, lastSeq, 'the book as of the last command journalled');

  // What it answered while recovering is what the document says /readyz answers with 503.
  const doc = (await call(ex.base, 'GET', '/openapi.json')).body;
  const notReady = new Ajv({ strict: false }).compile(doc.paths['/readyz'].get.responses['503'].content['application/json'].schema);
  t.ok(progress.every((p) => notReady(p)), `every /readyz answer while recovering fits the 503 schema of /openapi.json ${JSON.stringify(notReady.errors ?? [])}`);

  // Once ready, /metrics keeps the start's figures.
  const metrics = await call(ex.base, 'GET', '/metrics');
  t.equal(sample(metrics.text, 'exchange_ready'), 1, 'exchange_ready 1');
  t.equal(sample(metrics.text, 'exchange_start_phase{phase="ready"}'), 1);
  t.equal(sample(metrics.text, 'exchange_recovery_commands_replayed'), lastSeq, 'every command replayed');
  t.equal(sample(metrics.text, 'exchange_recovery_commands_to_replay'), lastSeq);
  const seconds = sample(metrics.text, 'exchange_start_seconds') ?? 0;
  t.ok(seconds > 0, `the start took ${seconds} s`);
  t.equal(sample((await call(ex.base, 'GET', '/metrics')).text, 'exchange_start_seconds'), seconds, 'and that figure stays');
  t.match(ex.output, /listening on .*\n(.|\n)*ready on /, 'it said it listened before it said it was ready');
});

t.test('SIGTERM while it recovers stops the start: exit 0, the journal untouched, the next start recovers it all', async (t) => {
  if (journalled === null) return t.fail('the journal of the test before is needed');
  const { lastOrderId, lastSeq } = journalled;
  const before = journalOnDisk(dataDir);
  const ex = await ExchangeProcess.spawn({ dataDir, keysFile });
  t.teardown(() => ex.kill());
  // Wait until it is part-way through the replay.
  let seen: { phase: string; replayed: number } | null = null;
  const deadline = Date.now() + 60_000;
  while (seen === null) {
    if (Date.now() > deadline || !ex.running) throw new Error(`never seen replaying:\n${ex.output}`);
    const r = await call(ex.base, 'GET', '/readyz').catch(() => null);
    if (r?.status === 200) throw new Error('ready before it was seen replaying: the journal is too short for this test');
    if (r?.body?.phase === 'replaying' && r.body.replayed > 0) seen = r.body;
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  t.ok(seen.replayed < lastSeq, `SIGTERM part-way through the replay (${seen.replayed} of ${lastSeq})`);
  t.equal(await ex.stop(), 0, 'it exits 0');
  t.match(ex.output, /stopped before it was ready; .* is intact/, 'and says so');
  t.notMatch(ex.output, /cannot start|Error/, 'no failure reported');
  t.same(journalOnDisk(dataDir), before, 'the journal is as it was');

  const again = await ExchangeProcess.spawn({ dataDir, keysFile });
  t.teardown(() => again.kill());
  await again.waitReady(60_000);
  const order = await call(again.base, 'GET', `/v1/orders/${lastOrderId}`, { key: KEYS.M1 });
  t.match(order.body, { orderId: String(lastOrderId), status: 'cancelled' }, 'the next start recovers every command');
  t.equal((await call(again.base, 'GET', '/v1/instruments/CEA24/book')).body.seq, lastSeq);
});
