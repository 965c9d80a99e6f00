// The demo start as `npm start` runs it (gateway/main.ts, no --keys): a first start prints an API
// key for each member, a risk officer and an operator, and a first curl command, and stores the
// keys hashed (keys.json, 0600, no key in clear); each key works in its role, the printed command
// places an order; a second start on the same directory prints no keys and takes the same ones.
// The keys are shown before they are stored, so a start killed in between never leaves stored
// keys nobody saw. A snapshot the start passes over (damaged) is named on stderr.
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEMO_MARKETS_FILE } from '../../engine/setup.ts';
import { startExchange } from '../../gateway/exchange.ts';
import { ExchangeProcess, ROOT, tempFolder, writeKeys } from '../support/exchangeProcess.ts';

const folder = tempFolder('demo-start-');
t.teardown(folder.remove);

t.test('a first start prints working keys and a first command; the next start prints none and keeps them', async (t) => {
  const dataDir = join(folder.path, 'data');
  const first = await ExchangeProcess.start({ dataDir });
  t.teardown(() => first.kill());
  const out = first.output;
  const block = out.indexOf('API keys (shown once; stored hashed in keys.json):');
  t.ok(block >= 0, 'the keys are printed');
  t.ok(block < out.indexOf('carbon exchange ready'), 'before the start says it is ready');
  const keys = [...out.matchAll(/^ {2}(member|risk|operator) +(M\d)? +(\S+)$/gm)].map((m) => ({ role: m[1], member: m[2] ?? null, key: m[3] }));
  t.same(keys.map((k) => `${k.role} ${k.member ?? ''}`), ['member M1', 'member M2', 'member M3', 'risk ', 'operator '], 'one per member, a risk officer, an operator');
  const stored = readFileSync(join(dataDir, 'keys.json'), 'utf8');
  for (const k of keys) t.notOk(stored.includes(k.key), `${k.role} ${k.member ?? ''}: not stored in clear`);
  t.equal(statSync(join(dataDir, 'keys.json')).mode & 0o777, 0o600, 'keys.json is readable by its owner only');

  // The printed command, as a newcomer would paste it.
  const curl = /curl -s -X POST (\S+) -H 'Authorization: Bearer (\S+)' -H 'Content-Type: application\/json' -d '(\{.*\})'/.exec(out);
  t.ok(curl, 'a first order command is printed');
  const [, url, key, body] = curl as RegExpExecArray;
  t.equal(url, `${first.base}/v1/orders`);
  t.equal(key, keys[0].key, "with the first member's key");
  const placed = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
  t.equal(placed.status, 201, `it places an order: ${(await placed.clone().text()).slice(0, 200)}`);
  t.match(((await placed.json()) as { order: unknown }).order, { status: 'new', side: 'buy', quantity: 100 });
  // The README's first two steps after it: the printed bid rests below them and crosses neither.
  const post = (k: string, order: object) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify(order) });
  const sell = await post(keys[0].key, { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '57.46', quantity: 100 });
  t.match(await sell.json(), { order: { status: 'new', filledQuantity: 0 }, fills: [] }, "README step 1: M1's sell rests (no self-trade with the printed bid)");
  const buy = await post(keys[1].key, { accountId: 'M2-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.50', quantity: 40, clientOrderId: 'b-1' });
  t.match(await buy.json(), { order: { status: 'filled', filledQuantity: 40 }, fills: [{ price: '57.46', quantity: 40 }] }, "README step 2: M2's buy fills at 57.46");

  const get = (path: string, k: string) => fetch(first.base + path, { headers: { authorization: `Bearer ${k}` } });
  const role = (r: string) => keys.find((k) => k.role === r)!.key;
  t.equal((await get('/v1/risk/audit', role('risk'))).status, 200, 'the risk key reads the audit trail');
  t.equal((await get('/v1/risk/audit', role('member'))).status, 403, 'a member key may not');
  const settlement = await get('/v1/settlement/2020-01-02', role('operator'));
  t.match({ status: settlement.status, body: await settlement.json() }, { status: 404, body: { error: { code: 'UNKNOWN_DAY' } } }, 'the operator key reaches the settlement (no such day)');
  t.equal((await get('/v1/settlement/2020-01-02', role('risk'))).status, 403, 'the risk key does not');
  t.equal((await get('/v1/account?accountId=M2-C1', keys[1].key)).status, 200, "M2's key reads M2's account");
  t.equal((await get('/v1/account?accountId=M2-C1', keys[0].key)).status, 403, "M1's key may not");
  t.equal(await first.stop(), 0);

  const second = await ExchangeProcess.start({ dataDir });
  t.teardown(() => second.kill());
  t.notMatch(second.output, 'API keys', 'the next start prints no keys');
  t.equal((await fetch(`${second.base}/v1/orders?status=open`, { headers: { authorization: `Bearer ${keys[0].key}` } })).status, 200, 'the printed keys still work');
  t.equal(await second.stop(), 0);
});

t.test('a start that passes over a damaged snapshot says so on stderr, and serves the same state', async (t) => {
  const dataDir = join(folder.path, 'data'); // the directory of the test above, stopped cleanly: its newest snapshot is the shutdown's
  const files = readdirSync(join(dataDir, 'snapshots')).filter((f) => !f.endsWith('.tmp')).sort();
  const newest = join(dataDir, 'snapshots', files[files.length - 1]);
  writeFileSync(newest, readFileSync(newest, 'utf8').slice(0, 100));
  const again = await ExchangeProcess.start({ dataDir });
  t.teardown(() => again.kill());
  t.match(again.output, /warning: skipped snapshot at seq \d+: checksum mismatch/, 'the skipped snapshot is named, with why');
  t.match(again.output, /recovery: snapshot (none|\d+), \d+ commands? replayed/, 'and the start recovered from what was left');
  const open = await fetch(`${again.base}/v1/instruments/CEA24/book`);
  t.match(await open.json(), { bids: [['56.88', 100, 1]] }, 'the order placed before is on the book');
  t.equal(await again.stop(), 0);
});

t.test('the printed first order fits the market at hand, and no key reaches the request log', async (t) => {
  // The demo market with CEA24 listed at 80.00: a first order at 57.00 would be out of its band.
  const markets = join(folder.path, 'markets');
  cpSync(join(ROOT, 'markets'), markets, { recursive: true });
  const demo = JSON.parse(readFileSync(join(markets, 'demo.json'), 'utf8')) as { instruments: Record<string, string> };
  demo.instruments.CEA24 = '80.00';
  writeFileSync(join(markets, 'demo.json'), JSON.stringify(demo));
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'dear'), args: ['--markets', join(markets, 'demo.json')], logs: true });
  t.teardown(() => ex.kill());
  const curl = /curl -s -X POST (\S+) -H 'Authorization: Bearer (\S+)' -H 'Content-Type: application\/json' -d '(\{.*\})'/.exec(ex.output) as RegExpExecArray;
  t.match(JSON.parse(curl[3]), { symbol: 'CEA24', price: '79.20' }, 'the printed order bids 1 % under the listing price');
  const placed = await fetch(curl[1], { method: 'POST', headers: { authorization: `Bearer ${curl[2]}`, 'content-type': 'application/json' }, body: curl[3] });
  t.equal(placed.status, 201, 'and it is taken as printed');

  // A key wherever a caller might put one: the header, the query string (refused), a WebSocket URL.
  const key = curl[2];
  await fetch(`${ex.base}/v1/account`, { headers: { authorization: `Bearer ${key}` } });
  await fetch(`${ex.base}/v1/account?key=${key}&accountId=M1-C1`);
  await fetch(`${ex.base}/v1/instruments?api_key=${key}`);
  await fetch(`${ex.base}/healthz?token=${key}`);
  // Under any name, encoded, or as a name itself.
  for (const query of [`bearer=${key}`, `signature=${key}`, `%6Bey=${key}`, key, `${encodeURIComponent(key)}=1`, `symbol=CEA24&credentials=${key}`]) {
    await fetch(`${ex.base}/v1/instruments?${query}`);
  }
  // Pasted where an id, an account or a path belongs: the segment or the value is hidden.
  await fetch(`${ex.base}/v1/orders/${key}`, { headers: { authorization: `Bearer ${key}` } });
  await fetch(`${ex.base}/v1/account?accountId=${encodeURIComponent(key)}`, { headers: { authorization: `Bearer ${key}` } });
  await fetch(`${ex.base}/v1/${key}`);
  await fetch(`${ex.base}/v1/instruments/CEA24/klines?interval=1m&limit=2`);
  // Refusals of who the caller is or what it may do: at warn, with the principal, never the key.
  const halt = await fetch(`${ex.base}/v1/risk/market/halt`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"reason":"x"}' });
  t.equal(halt.status, 403);
  t.equal((await fetch(`${ex.base}/v1/account?accountId=M2-C1`, { headers: { authorization: `Bearer ${key}` } })).status, 403, "another member's account");
  t.equal((await fetch(`${ex.base}/v1/orders`, { headers: { authorization: `Bearer ${key}x` } })).status, 401, 'a key the exchange does not know');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const warned = ex.output.split('\n').filter((line) => line.startsWith('{') && line.includes('"msg":"refused '))
    .map((line) => JSON.parse(line) as { level: number; principal: string | null; code: string; msg: string });
  t.ok(warned.length > 3, 'the earlier requests without a key among them');
  t.match(warned.slice(-3), [
    { level: 40, principal: 'member:M1', code: 'NOT_PERMITTED', msg: 'refused 403 NOT_PERMITTED' },
    { level: 40, principal: 'member:M1', code: 'ACCOUNT_NOT_OWNED' },
    { level: 40, principal: null, code: 'UNAUTHENTICATED', msg: 'refused 401 UNAUTHENTICATED' },
  ], 'each refusal logged at warn, naming who');
  t.match(ex.output, /"reqId":"r\w+"/, 'the request log is on, with request ids');
  t.match(ex.output, /"url":"\/v1\/account\?\[hidden\]&accountId=M1-C1"/, 'a key in the query string is hidden, the parameters a route takes kept');
  t.match(ex.output, /"url":"\/v1\/instruments\?symbol=CEA24&\[hidden\]"/, 'a parameter under another name: hidden');
  t.match(ex.output, /"url":"\/v1\/instruments\/CEA24\/klines\?interval=1m&limit=2"/, 'the parameters routes take, as they came');
  t.match(ex.output, /"url":"\/v1\/orders\/\[hidden\]"/, 'a key as an order id: hidden');
  t.match(ex.output, /"url":"\/v1\/account\?accountId=\[hidden\]"/, "a key as a parameter's value: hidden, the parameter named");
  const log = ex.output.split('\n').filter((line) => line.startsWith('{'));
  t.ok(log.length >= 8, `the log lines (${log.length})`);
  t.notOk(log.some((line) => line.includes(key)), 'the key appears in no log line (only where the first start printed it)');
  t.equal(await ex.stop(), 0);
});

t.test('empty HOST or DATA_DIR count as unset; an empty --host or --data is refused', async (t) => {
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'env'), env: { HOST: '', DATA_DIR: '' } });
  t.teardown(() => ex.kill());
  t.match(ex.output, /listening on http:\/\/127\.0\.0\.1:\d+/, 'HOST= listens on 127.0.0.1, not every interface');
  t.equal(await ex.stop(), 0);
  for (const flag of ['--host', '--data']) {
    const failed = await ExchangeProcess.spawn({ dataDir: join(folder.path, 'env-flag'), args: [flag, ''] });
    t.teardown(() => failed.kill());
    t.equal((await failed.ended()).code, 1, `${flag} "": exit 1`);
    t.match(failed.output, new RegExp(`cannot start: ${flag} needs a value, not an empty one`));
  }
});

t.test('new keys are shown before they are stored', async (t) => {
  const dataDir = join(folder.path, 'shown-first');
  let storedWhenShown: boolean | null = null;
  let shown = 0;
  const exchange = await startExchange({
    dataDir, marketsFile: DEMO_MARKETS_FILE, logger: false,
    onFreshKeys: (fresh) => { storedWhenShown = existsSync(join(dataDir, 'keys.json')); shown = fresh.length; },
  });
  t.teardown(() => exchange.close());
  t.equal(storedWhenShown, false, 'keys.json did not exist yet when the keys were shown');
  t.equal(shown, exchange.freshKeys.length, 'every new key was shown');
  t.ok(existsSync(join(dataDir, 'keys.json')), 'and it exists once the start is done');
});

t.test('a keys file naming a member with no account starts, and says so', async (t) => {
  const keysFile = writeKeys(folder.path, [
    { key: 'member-key-M1-for-note-01', role: 'member', member: 'M1' },
    { key: 'member-key-M9-for-note-02', role: 'member', member: 'M9' },
  ]);
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'member-without-account'), keysFile });
  t.teardown(() => ex.kill());
  t.match(ex.output, /^note: keys\[1\] is for member M9, which has no account yet: it can trade once an operator opens one \(POST \/v1\/admin\/accounts\)$/m, 'the key without an account is named');
  t.notMatch(ex.output, /keys\[0\] is for member M1/, 'a member with accounts is not');
  t.equal(await ex.stop(), 0);
});
