// A start that cannot go on says why in one line (`cannot start: …`, no stack trace) and exits 1,
// leaving nothing half-done: a port in use and a bad keys file are found before the data directory is
// touched; a market set-up the engine refuses journals nothing, so that the corrected file makes the
// market on the next start. In-process, a start that fails once the journal is open closes it.
import t, { type Test } from 'tap';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DEMO_MARKETS_FILE, SetupError } from '../../engine/setup.ts';
import { startExchange } from '../../gateway/exchange.ts';
import { ExchangeProcess, freePort, journalOnDisk, ROOT, tempFolder, writeKeys } from '../support/exchangeProcess.ts';
import { call, KEY_SPECS, KEYS } from '../support/server.ts';

const folder = tempFolder('start-failures-test-');
t.teardown(folder.remove);
const keysFile = writeKeys(folder.path, KEY_SPECS);

/** The demo's market files copied into `dir`, with M1-C1's opening CEA24 above what an account may hold (the engine refuses that deposit; the file itself is well-formed). */
function refusedSetup(dir: string): string {
  cpSync(join(ROOT, 'markets'), dir, { recursive: true });
  const file = join(dir, 'demo.json');
  const setup = JSON.parse(readFileSync(file, 'utf8')) as { accounts: { accountId: string; holdings: Record<string, number> }[] };
  setup.accounts.find((a) => a.accountId === 'M1-C1')!.holdings.CEA24 = 2_000_000_000_000_000;
  writeFileSync(file, JSON.stringify(setup));
  return file;
}

/** Runs the start command until it exits on its own; returns its exit code and what it printed. */
async function failedStart(t: Test, options: Parameters<typeof ExchangeProcess.spawn>[0]): Promise<{ code: number | null; output: string }> {
  const ex = await ExchangeProcess.spawn(options);
  t.teardown(() => ex.kill());
  const { code } = await ex.ended();
  return { code, output: ex.output };
}

function saysWhyInOneLine(t: Test, output: string, pattern: RegExp): void {
  const lines = output.trim().split('\n');
  t.match(lines[lines.length - 1], pattern, 'the reason, in one line');
  t.notMatch(output, /^\s+at /m, 'no stack trace');
}

t.test('a port in use: exit 1 before the data directory is created', async (t) => {
  const taken = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const dataDir = join(folder.path, 'port-taken');
  const { code, output } = await failedStart(t, { dataDir, keysFile, port });
  t.equal(code, 1, 'exit code 1');
  saysWhyInOneLine(t, output, new RegExp(`^cannot start: .*EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
  t.notOk(existsSync(dataDir), 'no data directory');
});

t.test('a bad flag or number: exit 1 naming it, before the data directory is created', async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a port that is not a number', ['--port', 'abc'], {}, /^cannot start: --port \(PORT\) must be a whole number from 0 to 65535, not "abc"$/],
    ['a port out of range', ['--port', '70000'], {}, /^cannot start: --port \(PORT\) must be a whole number from 0 to 65535, not "70000"$/],
    ['a negative rate limit', ['--rate-limit=-1'], {}, /^cannot start: --rate-limit \(RATE_LIMIT\) must be a whole number from 0 to 1000000000, not "-1"$/],
    ['a negative port, as a separate word', ['--port', '-1'], {}, /^cannot start: --port \(PORT\) must be a whole number from 0 to 65535, not "-1"$/],
    ['a negative snapshot interval, as a separate word', ['--snapshot-every', '-5'], {}, /^cannot start: --snapshot-every \(SNAPSHOT_EVERY\) must be a whole number from 0 to 1000000000, not "-5"$/],
    ['a snapshot interval in exponent form', ['--snapshot-every', '1e5'], {}, /^cannot start: --snapshot-every \(SNAPSHOT_EVERY\) must be a whole number/],
    ['a drain time from the environment', [], { DRAIN_MS: '2.5' }, /^cannot start: --drain-ms \(DRAIN_MS\) must be a whole number from 0 to 3600000, not "2\.5"$/],
    ['a WebSocket bound that is not a number', ['--ws-per-address', 'many'], {}, /^cannot start: --ws-per-address \(WS_PER_ADDRESS\) must be a whole number from 0 to 1000000, not "many"$/],
    ['a flag given twice', ['--port', '9000', '--rate-limit', '5', '--port=9001'], {}, /^cannot start: --port is given more than once: give it once$/],
    ['a switch given twice', ['--quiet', '--quiet'], {}, /^cannot start: --quiet is given more than once: give it once$/],
    ['an unknown flag', ['--prot', '9000'], {}, /^cannot start: Unknown option '--prot'/],
    ['a flag without its value', ['--data'], {}, /^cannot start: Option '--data <value>' argument missing/],
  ];
  for (const [i, [what, args, env, pattern]] of cases.entries()) {
    const dataDir = join(folder.path, `bad-flag-${i}`);
    const { code, output } = await failedStart(t, { dataDir, keysFile, args, env });
    t.equal(code, 1, `${what}: exit code 1`);
    saysWhyInOneLine(t, output, pattern);
    t.notOk(existsSync(dataDir), `${what}: no data directory`);
  }
});

t.test('--help lists every flag with its environment variable and starts nothing', async (t) => {
  for (const args of [['--help'], ['--port', 'abc', '-h']]) {
    const dataDir = join(folder.path, `help-${args.length}`);
    const { code, output } = await failedStart(t, { dataDir, keysFile, args });
    t.equal(code, 0, `${args.join(' ')}: exit code 0`);
    for (const [flag, name] of [['port', 'PORT'], ['host', 'HOST'], ['data', 'DATA_DIR'], ['markets', 'MARKETS_FILE'], ['keys', 'KEYS_FILE'], ['snapshot-every', 'SNAPSHOT_EVERY'], ['rate-limit', 'RATE_LIMIT'], ['drain-ms', 'DRAIN_MS'], ['ws-per-address', 'WS_PER_ADDRESS'], ['request-timeout-ms', 'REQUEST_TIMEOUT_MS']]) {
      t.match(output, new RegExp(`^  --${flag} .*\\[${name}\\]`, 'm'), `${args.join(' ')}: --${flag} and ${name}`);
    }
    t.match(output, /^  --quiet /m);
    t.notOk(existsSync(dataDir), `${args.join(' ')}: no data directory`);
  }
  const { output } = await failedStart(t, { dataDir: join(folder.path, 'help-hint'), keysFile, args: ['--prot', '9000'] });
  saysWhyInOneLine(t, output, /\(npm start -- --help lists the flags\)$/);
});

t.test('a data directory that cannot be one: exit 1 saying why', async (t) => {
  const file = join(folder.path, 'a-file');
  writeFileSync(file, 'not a directory');
  const cases: [string, string, RegExp][] = [
    ['a file', file, /^cannot start: .*a-file is not a directory$/],
    ['under a file', join(file, 'data'), /^cannot start: .*a-file[/\\]data cannot be created: .*a-file is not a directory$/],
  ];
  // Node's own recursive mkdir never returns for a path under /proc: each level is made in turn instead.
  if (existsSync('/proc/self')) cases.push(['under /proc', '/proc/no-such-dir/data', /^cannot start: \/proc\/no-such-dir\/data cannot be created: ENOENT/]);
  for (const [what, dataDir, pattern] of cases) {
    const { code, output } = await failedStart(t, { dataDir, keysFile });
    t.equal(code, 1, `${what}: exit code 1`);
    saysWhyInOneLine(t, output, pattern);
  }
  t.equal(readFileSync(file, 'utf8'), 'not a directory', 'the file is left as it was');
});

t.test('a data directory an exchange runs on: a second exchange and the archive are refused; a crash leaves no lock behind', async (t) => {
  const dataDir = join(folder.path, 'in-use');
  const first = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => first.kill());
  const order = () => call(first.base, 'POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.00', quantity: 10 } });
  t.equal((await order()).status, 201, 'the first exchange takes orders');

  const { code, output } = await failedStart(t, { dataDir, keysFile });
  t.equal(code, 1, 'a second exchange on the same directory: exit code 1');
  saysWhyInOneLine(t, output, /^cannot start: .*in-use is in use: an exchange \(or an archive\) is running on it\. Stop it first; one exchange runs on a data directory at a time/);
  const archived = await runArchive(dataDir);
  t.equal(archived.code, 1, 'the archive beside it: exit code 1');
  t.match(archived.output, /^archive: .*in-use is in use: an exchange \(or an archive\) is running on it/, 'saying why in one line');
  t.notOk(existsSync(join(dataDir, 'archive')), 'and moving nothing');
  t.equal((await order()).status, 201, 'the first exchange still takes orders');
  t.equal(journalOnDisk(dataDir).commands > 0, true);

  await first.kill(); // a crash: the operating system ends the lock with the process
  const again = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => again.kill());
  t.equal(((await call(again.base, 'GET', '/v1/orders?status=open', { key: 'M1' })).body as unknown[]).length, 2, 'an exchange starts on it after the crash, with both orders');
  t.equal(await again.stop(), 0);
  const twice = await runArchive(dataDir, ['--data', join(folder.path, 'elsewhere')]);
  t.equal(twice.code, 1, '--data given twice: exit code 1');
  t.equal(twice.output, 'archive: --data is given more than once: give it once\n', 'saying so, as the start does, and archiving neither');
  t.notOk(existsSync(join(dataDir, 'archive')), 'nothing moved');
  const after = await runArchive(dataDir);
  t.equal(after.code, 0, `once it has stopped, the archive runs: ${after.output.trim()}`);
});

/** `npm run archive -- --data DIR`, as the README gives it (the command behind it), and any flags more. */
async function runArchive(dataDir: string, more: string[] = []): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'persistence', 'archiveCommand.ts'), '--data', dataDir, ...more], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

t.test('a lost journal beside what an exchange left is not taken for a new directory', async (t) => {
  for (const [what, left] of [['snapshots', 'snapshots'], ['settlement', 'settlement'], ['the demo keys', 'keys.json']] as const) {
    const dataDir = join(folder.path, `lost-${left}`);
    mkdirSync(dataDir);
    if (left === 'keys.json') writeFileSync(join(dataDir, left), '[]');
    else mkdirSync(join(dataDir, left));
    // An empty journal file, as a failed copy or a truncation leaves; and then none at all.
    writeFileSync(join(dataDir, 'journal.sqlite'), '');
    for (const journal of ['empty', 'missing']) {
      if (journal === 'missing') for (const f of readdirSync(dataDir)) if (f.startsWith('journal.sqlite')) rmSync(join(dataDir, f));
      const { code, output } = await failedStart(t, { dataDir, keysFile });
      t.equal(code, 1, `${what}, the journal ${journal}: exit code 1`);
      saysWhyInOneLine(t, output, new RegExp(`^cannot start: .*journal\\.sqlite is missing or empty, but .*lost-${left.replace('.', '\\.')} holds ${left.replace('.', '\\.')} of an exchange that ran here: restore the journal, or move those away`));
    }
  }
});

t.test('a journal file that is not a database is refused naming the file', async (t) => {
  const dataDir = join(folder.path, 'garbage-journal');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'journal.sqlite'), Buffer.alloc(8192, 0x5a));
  const { code, output } = await failedStart(t, { dataDir, keysFile });
  t.equal(code, 1);
  saysWhyInOneLine(t, output, /^cannot start: .*garbage-journal[/\\]journal\.sqlite is damaged \(file is not a database\): .*restore the journal from a copy$/);
});

t.test('a bad keys file: exit 1 naming it, before the data directory is created', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"key":', /^cannot start: the keys file .*bad-keys-0\.json: .*JSON/],
    ['not an array', '{"key":"a-key-of-enough-length","role":"member","member":"M1"}', /^cannot start: the keys file .*: the keys must be a JSON array/],
    ['a short key', '[{"key":"short","role":"operator"}]', /^cannot start: the keys file .*: keys\[0\]\.key must be a string of 16–256 characters/],
    ['an unknown role', '[{"key":"a-key-of-enough-length","role":"admin"}]', /^cannot start: the keys file .*: keys\[0\]\.role must be member, risk or operator/],
    ['null', '[null]', /^cannot start: the keys file .*: keys\[0\] must be an object/],
    ['no key at all', '[]', /^cannot start: the keys file .*: the keys file lists no key/],
    ['the same key twice', '[{"key":"a-key-of-enough-length","role":"member","member":"M1"},{"key":"a-key-of-enough-length","role":"operator"}]', /^cannot start: the keys file .*: keys\[1\] repeats the key of keys\[0\]/],
    ['a key with a space', '[{"key":"  a-key-of-enough-length","role":"operator"}]', /^cannot start: the keys file .*: keys\[0\]\.key must be printable characters without spaces/],
    ['a misspelt field', '[{"key":"a-key-of-enough-length","role":"risk","nmae":"wang"}]', /^cannot start: the keys file .*: keys\[0\] has a field "nmae"; a key takes "key", "role", "member" \(member keys\) and "name" \(risk and operator keys\)/],
    ['a name on a member key', '[{"key":"a-key-of-enough-length","role":"member","member":"M1","name":"x"}]', /^cannot start: the keys file .*: keys\[0\]\.name is for risk and operator keys: a member key acts as its member/],
    ['a name with a blank', '[{"key":"a-key-of-enough-length","role":"risk","name":"Wang Li"}]', /^cannot start: the keys file .*: keys\[0\]\.name must be 1–64 letters, digits/],
    ['the set-up\'s own name', '[{"key":"a-key-of-enough-length","role":"operator","name":"setup"}]', /^cannot start: the keys file .*: keys\[0\]\.name "setup" is reserved: the audit trail names the exchange's own set-up so/],
    ['an empty member', '[{"key":"a-key-of-enough-length","role":"member","member":""}]', /^cannot start: the keys file .*: keys\[0\]\.member names the member a member key trades for: 1–32 letters/],
    ['a member on a risk key', '[{"key":"a-key-of-enough-length","role":"risk","member":"M1"}]', /^cannot start: the keys file .*: keys\[0\]\.member is for member keys: a risk key acts for no member$/],
    // The parser's own words would quote the text around the comma: the end of a key.
    ['a trailing comma', '[\n  {"key":"a-key-of-enough-length-SECRETEND","role":"operator"},\n]', /^cannot start: the keys file .*bad-keys-\d+\.json: is not valid JSON \(an unexpected '\]', after a trailing comma\?\)$/],
  ];
  for (const [i, [what, text, pattern]] of cases.entries()) {
    const file = join(folder.path, `bad-keys-${i}.json`);
    writeFileSync(file, text);
    const dataDir = join(folder.path, `bad-keys-${i}`);
    const { code, output } = await failedStart(t, { dataDir, keysFile: file });
    t.equal(code, 1, `${what}: exit code 1`);
    saysWhyInOneLine(t, output, pattern);
    t.notMatch(output, /a-key-of-enough-length/, `${what}: no key in what it says`);
    t.notOk(existsSync(dataDir), `${what}: no data directory`);
  }
});

t.test('a keys file that starts with a byte-order mark is read past it', async (t) => {
  const file = join(folder.path, 'keys-with-bom.json');
  writeFileSync(file, '\uFEFF' + readFileSync(keysFile, 'utf8'));
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'keys-with-bom'), keysFile: file });
  t.teardown(() => ex.kill());
  const r = await call(ex.base, 'GET', '/v1/account?accountId=M1-C1', { key: KEYS.M1 });
  t.equal(r.status, 200, 'its keys work');
});

t.test('a set-up the engine refuses leaves nothing behind; the corrected file makes the market next start', async (t) => {
  const dataDir = join(folder.path, 'refused-setup');
  const markets = refusedSetup(join(folder.path, 'refused-markets'));
  const refusal = /^cannot start: .*demo\.json: commands\[\d+\]: deposit of 2000000000000000 t CEA24 into M1-C1 \(seq \d+\) was rejected: INVALID_QUANTITY: quantity must be a positive whole number of tonnes of at most 1,000,000,000,000,000, not 2000000000000000$/;
  const { code, output } = await failedStart(t, { dataDir, keysFile, args: ['--markets', markets] });
  t.equal(code, 1, 'exit code 1');
  saysWhyInOneLine(t, output, refusal);
  t.notOk(existsSync(dataDir), 'no data directory is made');
  // A directory made beforehand (empty) is left as it was: no journal, no lock file.
  mkdirSync(dataDir);
  const again = await failedStart(t, { dataDir, keysFile, args: ['--markets', markets] });
  t.equal(again.code, 1, 'exit code 1 again');
  saysWhyInOneLine(t, again.output, refusal);
  t.same(readdirSync(dataDir), [], 'the directory is left empty');

  const ex = await ExchangeProcess.start({ dataDir, keysFile, args: ['--markets', DEMO_MARKETS_FILE] });
  t.teardown(() => ex.kill());
  t.match(ex.output, /recovery: new data directory/, 'the directory is still new');
  const account = await call(ex.base, 'GET', '/v1/account?accountId=M1-C1', { key: KEYS.M1 });
  t.equal(account.status, 200);
  t.equal(account.body.cash.available, '50000000.00', 'the corrected set-up\'s cash');
  t.equal(await ex.stop(), 0);
});

t.test('a markets file named for a data directory that exists is not applied, and the start says so', async (t) => {
  const dataDir = join(folder.path, 'named-markets');
  const first = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => first.kill());
  t.notMatch(first.output, /not applied/, 'a new directory takes the markets file: no note');
  t.equal(await first.stop(), 0);

  // Another file (one whose set-up the engine would refuse): read, not applied, and said.
  const other = refusedSetup(join(folder.path, 'named-markets-files'));
  const again = await ExchangeProcess.start({ dataDir, keysFile, args: ['--markets', other] });
  t.teardown(() => again.kill());
  t.ok(again.output.includes(`note: --markets ${other} is not applied: ${dataDir} already holds its market (set up from ${DEMO_MARKETS_FILE})`), 'the note names both files');
  const account = await call(again.base, 'GET', '/v1/account?accountId=M1-C1', { key: KEYS.M1 });
  t.equal(account.body.cash.available, '50000000.00', 'the directory keeps its own market');
  t.equal(await again.stop(), 0);

  // The same file, through the environment: said too, as the same file.
  const same = await ExchangeProcess.start({ dataDir, keysFile, env: { MARKETS_FILE: DEMO_MARKETS_FILE } });
  t.teardown(() => same.kill());
  t.match(same.output, /note: --markets .* is not applied: .*\(set up from this same file\)/, 'named by MARKETS_FILE');
  t.equal(await same.stop(), 0);

  const plain = await ExchangeProcess.start({ dataDir, keysFile });
  t.teardown(() => plain.kill());
  t.notMatch(plain.output, /not applied/, 'no markets file named: no note');
  t.equal(await plain.stop(), 0);
});

/** The files of `dir` this process has open. */
const openFiles = (dir: string) => readdirSync('/proc/self/fd')
  .map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } })
  .filter((f) => f.startsWith(dir));

t.test('in process, a start that fails once the journal is open closes it', { skip: !existsSync('/proc/self/fd') && 'needs /proc/self/fd' }, async (t) => {
  // A journal file found empty (a first start killed while creating it): its set-up is tried once
  // the journal is open.
  const dataDir = join(folder.path, 'in-process');
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'journal.sqlite'), '');
  const markets = refusedSetup(join(folder.path, 'in-process-markets'));
  await t.rejects(startExchange({ dataDir, marketsFile: markets, keys: KEY_SPECS, logger: false }), SetupError);
  t.ok(existsSync(join(dataDir, 'journal.sqlite')), 'the journal was opened');
  t.same(openFiles(dataDir), [], 'no file of the data directory is left open');
});

t.test('in process, a start that fails with the sequencer running closes it and the journal', { skip: !existsSync('/proc/self/fd') && 'needs /proc/self/fd' }, async (t) => {
  // A data directory with the demo's generated keys, whose stored keys file is then damaged: the
  // start fails after recovery, once the writer thread runs.
  const dataDir = join(folder.path, 'damaged-keys');
  const first = await startExchange({ dataDir, marketsFile: DEMO_MARKETS_FILE, logger: false });
  t.ok(first.freshKeys.length > 0, 'demo keys made');
  await first.close();
  // Written whole (a temporary file synced and renamed into place), readable by its owner only.
  t.equal(statSync(join(dataDir, 'keys.json')).mode & 0o777, 0o600, 'keys.json is 0600');
  t.notOk(existsSync(join(dataDir, 'keys.json.tmp')), 'no temporary file is left');
  writeFileSync(join(dataDir, 'keys.json'), '[{"hash": ');
  await t.rejects(startExchange({ dataDir, marketsFile: DEMO_MARKETS_FILE, logger: false }), /keys\.json cannot be read .*: restore it, or delete it/);
  t.same(openFiles(dataDir), [], 'no file of the data directory is left open');
  const disk = journalOnDisk(dataDir);
  t.ok(disk.genesis && disk.commands > 0, 'the journal is as the first start left it');
});
