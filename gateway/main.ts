// `npm start`: the exchange on 127.0.0.1:8080 with the demo market unless told otherwise. Flags and
// their environment variables: --port (PORT), --host (HOST), --data (DATA_DIR), --markets
// (MARKETS_FILE), --keys (KEYS_FILE), --snapshot-every (SNAPSHOT_EVERY), --rate-limit (RATE_LIMIT),
// --drain-ms (DRAIN_MS), --ws-per-address (WS_PER_ADDRESS), --request-timeout-ms (REQUEST_TIMEOUT_MS), --quiet; --help (-h) prints them. A markets file named for a data directory that exists is checked
// but not applied (a note says so). It listens before it recovers (probes answered, everything else
// 503 RECOVERING until ready). SIGTERM and SIGINT shut down cleanly: drain (--drain-ms), stop intake,
// commit, snapshot, exit (a second signal ends the drain); before it is ready, they stop the
// recovery and exit.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatMoney } from '../engine/index.ts';
import { DEMO_MARKETS_FILE, withoutBom } from '../engine/setup.ts';
import { startExchange, type Exchange } from './exchange.ts';
import type { KeySpec } from './keys.ts';
import { REQUEST_TIMEOUT_MS } from './standby.ts';
import { damaged, journalFile } from '../persistence/journal.ts';

const say = (s: string) => process.stdout.write(s + '\n');
const USAGE = `usage: npm start -- [flags]   (each flag's environment variable in brackets)
  --port N                [PORT]                port to listen on, 0 for any free one (8080)
  --host H                [HOST]                address to listen on (127.0.0.1)
  --data DIR              [DATA_DIR]            data directory: journal, snapshots, keys, settlement (data)
  --markets FILE          [MARKETS_FILE]        profiles and set-up of a new data directory (the demo market)
  --keys FILE             [KEYS_FILE]           JSON array of {"key","role","member"?,"name"?} instead of DIR/keys.json
  --snapshot-every N      [SNAPSHOT_EVERY]      commands between snapshots, 0 = end of day and shutdown only (500000)
  --rate-limit N          [RATE_LIMIT]          requests a second per key, 0 = off (200)
  --drain-ms N            [DRAIN_MS]            on SIGTERM, serve N ms with /readyz 503 before stopping (0)
  --ws-per-address N      [WS_PER_ADDRESS]      WebSocket connections open at once per address, 0 = no bound (100)
  --request-timeout-ms N  [REQUEST_TIMEOUT_MS]  time a client has to send a whole request, else 408 (10000)
  --quiet                                       no JSON log (requests, errors)
  --help, -h                                    this text`;
// --help anywhere answers the usage and nothing else, whatever else the command line holds.
if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  say(USAGE);
  process.exit(0);
}
// A start that cannot go on (a bad flag, a port taken, a bad set-up or keys file, a damaged journal)
// says why in one line and exits 1; nothing was acknowledged, and nothing half-open is left behind.
const cannot = (what: string, e: unknown): never => {
  process.stderr.write(`cannot start: ${what}${((e as Error).message ?? String(e)).replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
};

/** An environment variable, an empty one counting as unset (HOST= must not mean every interface, nor DATA_DIR= the working directory). */
const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);
const options = {
  options: {
    port: { type: 'string', default: env('PORT') ?? '8080' },
    host: { type: 'string', default: env('HOST') ?? '127.0.0.1' },
    data: { type: 'string', default: env('DATA_DIR') ?? 'data' },
    markets: { type: 'string', default: env('MARKETS_FILE') ?? DEMO_MARKETS_FILE },
    keys: { type: 'string', default: env('KEYS_FILE') },
    'snapshot-every': { type: 'string', default: env('SNAPSHOT_EVERY') ?? '500000' },
    'rate-limit': { type: 'string', default: env('RATE_LIMIT') ?? '200' },
    'drain-ms': { type: 'string', default: env('DRAIN_MS') ?? '0' },
    'ws-per-address': { type: 'string', default: env('WS_PER_ADDRESS') ?? '100' },
    'request-timeout-ms': { type: 'string', default: env('REQUEST_TIMEOUT_MS') ?? String(REQUEST_TIMEOUT_MS) },
    quiet: { type: 'boolean', default: false },
  },
} as const;
/** The numeric flags: their environment variable and range. */
const NUMBERS = {
  port: ['PORT', 0, 65535], 'snapshot-every': ['SNAPSHOT_EVERY', 0, 1_000_000_000],
  'rate-limit': ['RATE_LIMIT', 0, 1_000_000_000], 'drain-ms': ['DRAIN_MS', 0, 3_600_000],
  'ws-per-address': ['WS_PER_ADDRESS', 0, 1_000_000], 'request-timeout-ms': ['REQUEST_TIMEOUT_MS', 100, 3_600_000],
} as const satisfies Record<string, readonly [string, number, number]>;
const notWhole = (flag: keyof typeof NUMBERS, text: string): never => {
  const [name, min, max] = NUMBERS[flag];
  return cannot('', new Error(`--${flag} (${name}) must be a whole number from ${min} to ${max}, not "${text}"`));
};
const { values, tokens } = (() => {
  try {
    return parseArgs({ ...options, tokens: true });
  } catch (e) {
    // `--port -1`: parseArgs takes the -1 for a flag and calls the value ambiguous; it is a bad number.
    const args = process.argv.slice(2);
    for (let i = 0; i + 1 < args.length; i++) {
      const flag = args[i].slice(2);
      if (args[i].startsWith('--') && flag in NUMBERS && /^-\d/.test(args[i + 1])) notWhole(flag as keyof typeof NUMBERS, args[i + 1]);
    }
    return cannot('', new Error(`${(e as Error).message} (npm start -- --help lists the flags)`));
  }
})();
// A flag given twice is a mistake (a script adding its own --port to one already there), not a choice of the last one.
{
  const seen = new Set<string>();
  for (const tk of tokens) {
    if (tk.kind !== 'option') continue;
    if (seen.has(tk.name)) cannot('', new Error(`--${tk.name} is given more than once: give it once`));
    seen.add(tk.name);
  }
}
/** Whether a markets file was named (flag or environment), rather than the demo's taken by default. */
const marketsNamed = env('MARKETS_FILE') !== undefined || tokens.some((t) => t.kind === 'option' && t.name === 'markets');
// An empty flag value (--host "", --data "") is a mistake, not a choice of every interface or of the working directory.
for (const flag of ['host', 'data', 'markets', 'keys'] as const) {
  if (values[flag] === '') cannot('', new Error(`--${flag} needs a value, not an empty one`));
}

/** A numeric flag: a whole number within its range, or the start stops naming the flag. */
const whole = (flag: keyof typeof NUMBERS): number => {
  const text = values[flag] as string;
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(n >= NUMBERS[flag][1] && n <= NUMBERS[flag][2])) notWhole(flag, text);
  return n;
};
const port = whole('port');
const snapshotEvery = whole('snapshot-every');
const rateLimit = whole('rate-limit');
const drainMs = whole('drain-ms');
const wsPerAddress = whole('ws-per-address');
const requestTimeoutMs = whole('request-timeout-ms');
/**
 * Why a keys file is not JSON, by line and column only: the parser's own message may quote the text
 * around the mistake, which is a key.
 */
function notJson(text: string, e: unknown): Error {
  const message = (e as Error).message;
  const at = /position (\d+)/.exec(message);
  if (at !== null) {
    const before = text.slice(0, Number(at[1])).split('\n');
    return new Error(`is not valid JSON (line ${before.length}, column ${before[before.length - 1].length + 1})`);
  }
  if (/end of JSON input/.test(message)) return new Error('is not valid JSON (it ends before its last value does)');
  // A stray bracket, brace, comma or colon is named; a letter or digit, which a key is made of, is not.
  const token = /^Unexpected token '([\]\[{}:,])'/.exec(message);
  return new Error(`is not valid JSON${token === null ? '' : ` (an unexpected '${token[1]}'${token[1] === ']' || token[1] === '}' ? ', after a trailing comma?' : ''})`}`);
}
// Read here; checked by the start, which names the file in a refusal.
let keys: KeySpec[] | undefined;
const keysFile = values.keys === undefined ? undefined : resolve(values.keys);
if (keysFile !== undefined) {
  try {
    const text = withoutBom(readFileSync(keysFile, 'utf8'));
    try {
      keys = JSON.parse(text) as KeySpec[];
    } catch (e) {
      throw notJson(text, e);
    }
  } catch (e) {
    cannot(`the keys file ${keysFile}: `, e);
  }
}
// SIGTERM and SIGINT: once ready, a clean shutdown; before, the start stops at its next turn (a
// replay has written nothing) and the process exits 0 as well.
const aborting = new AbortController();
let exchange: Exchange | null = null;
let stopping = false;
const stop = async () => {
  if (stopping) {
    // A second signal while it drains: shut down now (the first signal's close tells how it ended).
    if (exchange !== null) await exchange.close().catch(() => undefined);
    return;
  }
  stopping = true;
  if (exchange === null) return aborting.abort(new Error('stopped by a signal'));
  if (drainMs > 0) say(`carbon exchange draining for ${drainMs} ms (/readyz answers 503), then stopping; a second signal stops it now`);
  await closeAndExit(exchange);
};
/** Closes the exchange and exits: 0 once it has closed, 1 saying why in one line if the close failed. */
const closeAndExit = async (running: Exchange): Promise<never> => {
  try {
    await running.close();
  } catch (e) {
    process.stderr.write(`error: the shutdown did not finish: ${((e as Error).message ?? String(e)).replace(/\s*\n\s*/g, ' ')}\n`);
    process.exit(1);
  }
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// It listens at once: while the journal is recovered, /healthz says it is alive and /readyz 503.
exchange = await startExchange({
  listen: { port, host: values.host },
  onListening: (address) => say(`carbon exchange listening on ${address}: recovering ${resolve(values.data)} (/readyz answers 200 once ready)`),
  // Printed before they are stored: a start killed in between stores none, and the next makes new ones.
  onFreshKeys: (fresh) => {
    say('API keys (shown once; stored hashed in keys.json):');
    for (const k of fresh) say(`  ${k.role.padEnd(8)} ${(k.member ?? '').padEnd(4)} ${k.key}`);
  },
  dataDir: resolve(values.data),
  marketsFile: resolve(values.markets),
  keys,
  keysFile,
  snapshotEvery,
  rateLimit,
  drainMs,
  wsPerAddress,
  requestTimeoutMs,
  logger: !values.quiet,
  signal: aborting.signal,
}).catch((e: unknown) => {
  if (!aborting.signal.aborted) return cannot('', damaged(journalFile(resolve(values.data)), e));
  say(`carbon exchange stopped before it was ready; ${resolve(values.data)} is intact`);
  return process.exit(0);
});
// A signal after the start's last turn: the exchange is whole, and closes as usual.
if (stopping) await closeAndExit(exchange);

const { engine } = exchange.gateway;
const r = exchange.recovered;
const base = exchange.address ?? `http://${values.host}:${port}`;
say(`carbon exchange ready on ${base}: data ${resolve(values.data)}, trading day ${engine.tradingDate}, ${engine.instruments.length} instruments, ${engine.accounts.size} accounts`);
say(`recovery: ${r.created ? 'new data directory' : `snapshot ${r.fromSnapshot ?? 'none'}, ${r.replayed} command${r.replayed === 1 ? '' : 's'} replayed`} in ${r.millis.toFixed(0)} ms`);
// A snapshot passed over is told: the state is right (an older one or the journal gave it), but
// a damaged file on the disk is the operator's to look into.
for (const why of r.skippedSnapshots) process.stderr.write(`warning: skipped ${why}\n`);
// A data directory keeps the market it was set up with: a markets file named for one that exists
// is read and checked, but not applied, and the operator is told so rather than left to believe it.
if (marketsNamed && !r.created) {
  const named = resolve(values.markets);
  const recorded = (r.journal.genesis()?.markets as { file?: unknown } | undefined)?.file;
  const from = recorded === named ? 'this same file' : typeof recorded === 'string' ? recorded : 'another file';
  say(`note: --markets ${named} is not applied: ${resolve(values.data)} already holds its market (set up from ${from}). An existing data directory keeps its instruments, accounts and profiles: list an instrument with POST /v1/admin/instruments, open an account with POST /v1/admin/accounts, or start a new market on a new --data directory`);
}
// A member key for a member with no account is taken (the operator may open one later), but said.
for (const [i, k] of (keys ?? []).entries()) {
  if (k.role === 'member' && engine.accountsOfMember(k.member as string).length === 0) {
    say(`note: keys[${i}] is for member ${k.member}, which has no account yet: it can trade once an operator opens one (POST /v1/admin/accounts)`);
  }
}
if (exchange.freshKeys.length > 0) {
  const member = exchange.freshKeys.find((k) => k.role === 'member');
  // A first order the market at hand takes: the member's first account, an instrument it is
  // admitted to (CEA24 when it is), 100 t (in whole lots) bid 1 % under the reference price
  // (down to the tick, within the band), so that it rests and crosses none of the README's steps.
  const first = member === undefined ? undefined : engine.accountsOfMember(member.member as string)[0];
  const account = first === undefined ? undefined : engine.account(first);
  const tradable = account === undefined ? [] : engine.instruments.filter((i) => engine.admittedTo(account, i));
  const inst = tradable.find((i) => i.symbol === 'CEA24') ?? tradable[0];
  if (member !== undefined && account !== undefined && inst !== undefined) {
    const bid = Math.max(inst.bandLow, Math.floor((inst.referencePrice * 99) / 100 / inst.profile.tick) * inst.profile.tick);
    say('try:');
    say(`  curl -s ${base}/v1/instruments/${inst.symbol}/book`);
    say(`  curl -s -X POST ${base}/v1/orders -H 'Authorization: Bearer ${member.key}' -H 'Content-Type: application/json' -d '{"accountId":"${account.id}","symbol":"${inst.symbol}","side":"buy","type":"limit","price":"${formatMoney(bid)}","quantity":${Math.ceil(100 / inst.profile.lot) * inst.profile.lot}}'`);
  }
}

