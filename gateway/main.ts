// Starts the exchange: recovers (or creates) the data directory, loads the market set-up on first
// start, opens the gateway only once recovery is complete, and shuts down cleanly on SIGTERM/SIGINT
// (stop intake, commit, snapshot, exit).
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadMarkets, DEMO_MARKETS_FILE } from '../engine/setup.ts';
import { dateOfDay, localDay } from '../engine/index.ts';
import { recover } from '../persistence/recovery.ts';
import { Sequencer } from '../persistence/sequencer.ts';
import { SettlementWriter } from '../persistence/settlementWriter.ts';
import { KeyRing } from './keys.ts';
import { buildServer } from './server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8080' },
    host: { type: 'string', default: process.env.HOST ?? '127.0.0.1' },
    data: { type: 'string', default: process.env.DATA_DIR ?? 'data' },
    markets: { type: 'string', default: process.env.MARKETS_FILE ?? DEMO_MARKETS_FILE },
    keys: { type: 'string', default: process.env.KEYS_FILE },
    'snapshot-every': { type: 'string', default: process.env.SNAPSHOT_EVERY ?? '100000' },
    quiet: { type: 'boolean', default: false },
  },
});

const dataDir = resolve(values.data);
const setup = loadMarkets(resolve(values.markets));
const today = dateOfDay(localDay(Date.now()));
let ready = false;
const recovered = recover(dataDir, { genesis: { tradingDate: today, markets: { file: setup.file, profiles: setup.profiles } } });
const { engine, journal, snapshots } = recovered;
const sequencer = new Sequencer(engine, journal, snapshots, { snapshotEvery: Number(values['snapshot-every']) });
const settlement = new SettlementWriter(journal, dataDir);
/** Writes a closed day's outputs; a day that does not reconcile is reported and left unpublished. */
const publish = (date: string) => {
  try {
    settlement.write(date);
  } catch (e) {
    process.stderr.write(`settlement of ${date} not published: ${(e as Error).message}\n`);
  }
};
// A day closed just before a crash may have missed its outputs: write them now.
for (const eod of journal.endsOfDay()) if (!settlement.days().includes(eod.date)) publish(eod.date);
sequencer.onCommit((batch) => {
  for (const e of Sequencer.events(batch)) {
    if (e.type === 'endOfDay') {
      publish(e.date);
      snapshots.takeSync(engine);
    }
  }
});
if (recovered.created) {
  for (const body of setup.commands) {
    const r = await sequencer.submit({ role: 'operator', id: 'setup' }, body);
    if (!r.ok) throw new Error(`the market set-up was refused at ${body.type}: ${r.code}: ${r.message}`);
  }
}
const members = [...new Set([...engine.accounts.values()].map((a) => a.member))].sort();
const { ring, fresh } = values.keys !== undefined ? { ring: KeyRing.fromFile(resolve(values.keys)), fresh: [] } : KeyRing.demo(dataDir, members);

const app = buildServer({ engine, sequencer, settlement, keys: ring, ready: () => ready, logger: !values.quiet });
await app.listen({ port: Number(values.port), host: values.host });
ready = true;

const base = `http://${values.host}:${values.port}`;
const say = (s: string) => process.stdout.write(s + '\n');
say(`carbon exchange on ${base}: data ${dataDir}, trading day ${engine.tradingDate}, ${engine.instruments.length} instruments, ${engine.accounts.size} accounts`);
say(`recovery: ${recovered.created ? 'new data directory' : `snapshot ${recovered.fromSnapshot ?? 'none'}, ${recovered.replayed} commands replayed`} in ${recovered.millis.toFixed(0)} ms`);
if (fresh.length > 0) {
  say('API keys (shown once; stored hashed in keys.json):');
  for (const k of fresh) say(`  ${k.role.padEnd(8)} ${(k.member ?? '').padEnd(4)} ${k.key}`);
  const member = fresh.find((k) => k.role === 'member');
  if (member) {
    say('try:');
    say(`  curl -s ${base}/v1/instruments/CEA24/book`);
    say(`  curl -s -X POST ${base}/v1/orders -H 'Authorization: Bearer ${member.key}' -H 'Content-Type: application/json' -d '{"symbol":"CEA24","side":"buy","type":"limit","price":"57.00","quantity":100}'`);
  }
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  ready = false;
  await app.close();
  await sequencer.shutdown();
  journal.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
