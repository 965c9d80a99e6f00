// Risk warnings (MARKET-RULES section 8: a risk officer publishes a risk warning) end to end over
// the real server: only a risk officer publishes one, bad input is refused with a code and leaves no
// trace, the public reads today's warnings over HTTP (an instrument's include those about the whole
// market) and over the WebSocket channel `warnings` (snapshot, then one message per warning, seq +1),
// the audit trail names the officer, a restart keeps the day's warnings and the end of day clears them.
import { readFileSync, rmSync } from 'node:fs';
import t from 'tap';
import { expectError, expectOk, ISO_TIME, openSocket, seqGaps, startServer, type TestServer } from '../support/server.ts';

let s: TestServer = await startServer();
const dataDir = s.dataDir;
t.teardown(async () => {
  await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
const warn = (body: unknown, key: string | null = 'risk') => s.api('POST', '/v1/risk/warnings', { key, body });
const texts = (list: { text: string }[]) => list.map((w) => w.text);

t.test('only a risk officer publishes, and bad input leaves no warning behind', async (t) => {
  expectError(t, await warn({ text: 'x' }, null), 401, 'UNAUTHENTICATED', undefined, 'no key');
  for (const key of ['M1', 'operator']) expectError(t, await warn({ text: 'x' }, key), 403, 'NOT_PERMITTED', /role risk/, key);
  expectError(t, await warn({ text: '' }), 400, 'INVALID_REQUEST', undefined, 'empty text');
  expectError(t, await warn({ text: 'y'.repeat(2001) }), 400, 'INVALID_REQUEST', undefined, 'text over 2,000 characters');
  expectError(t, await warn({ symbol: 'CEA24' }), 400, 'INVALID_REQUEST', undefined, 'no text');
  expectError(t, await warn({ text: 'x', severity: 'high' }), 400, 'INVALID_REQUEST', /severity/, 'an unknown field');
  expectError(t, await warn({ text: 'x', symbol: 'NOPE9' }), 404, 'UNKNOWN_INSTRUMENT', /NOPE9/, 'an unlisted symbol');
  expectError(t, await warn({ text: '   ' }), 400, 'INVALID_COMMAND', /blank/, 'only blanks');
  t.same((await s.api('GET', '/v1/warnings')).body, [], 'none of them was published');
});

t.test('published: answered, listed, streamed and audited', async (t) => {
  const c = await openSocket(s.wsUrl);
  c.send({ op: 'subscribe', channels: ['warnings'] });
  const snapshot = await c.next((m) => m.channel === 'warnings' && m.type === 'snapshot');
  t.same(snapshot.warnings, [], 'the snapshot: no warning yet today');

  const market = await warn({ text: 'Prices have moved sharply today; trade with care.' });
  expectOk(t, market, 201, 'a warning about the whole market');
  t.match(market.body.warning, { symbol: null, text: 'Prices have moved sharply today; trade with care.' });
  t.match(market.body.warning.warningId, /^[1-9][0-9]*$/, 'its id is a string of digits');
  t.match(market.body.warning.time, ISO_TIME);
  const cea = await warn({ symbol: 'CEA24', text: 'CEA24 is near its upper band.' });
  expectOk(t, cea, 201, 'a warning about CEA24');
  const hbea = await warn({ symbol: 'HBEA', text: 'HBEA holdings are concentrated.' });
  expectOk(t, hbea, 201, 'a warning about HBEA');
  t.ok(Number(cea.body.warning.warningId) > Number(market.body.warning.warningId), 'ids rise');

  const all = await s.api('GET', '/v1/warnings');
  t.same(all.body, [market.body.warning, cea.body.warning, hbea.body.warning], 'the public list: every warning of the day, oldest first, as answered');
  t.same(texts((await s.api('GET', '/v1/warnings?symbol=CEA24')).body), [market.body.warning.text, 'CEA24 is near its upper band.'],
    "an instrument's list: its own and those about the whole market");
  expectError(t, await s.api('GET', '/v1/warnings?symbol=NOPE9'), 404, 'UNKNOWN_INSTRUMENT');

  const streamed = [];
  for (const w of [market, cea, hbea]) {
    streamed.push(await c.next((m) => m.channel === 'warnings' && m.type === 'warning' && m.warning.warningId === w.body.warning.warningId));
  }
  t.same(streamed.map((m) => m.warning), all.body, 'each warning on the channel, as the list shows it');
  const first = snapshot.seq as number;
  t.same(streamed.map((m) => m.seq), [first + 1, first + 2, first + 3], 'seq +1 per message');
  t.same(seqGaps(c.messages), [], 'no gap');
  const late = await openSocket(s.wsUrl);
  late.send({ op: 'subscribe', channels: ['warnings'] });
  t.same((await late.next((m) => m.channel === 'warnings' && m.type === 'snapshot')).warnings, all.body, "a late subscriber's snapshot has the day's warnings");
  late.ws.close();
  c.ws.close();

  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { action: string; who: string; what: Record<string, unknown>; outcome: string; error: { code: string } | null }[];
  const published = audit.filter((a) => a.action === 'publishWarning');
  t.same(published.filter((a) => a.outcome === 'done').map((a) => a.what), [
    { symbol: null, text: market.body.warning.text }, { symbol: 'CEA24', text: cea.body.warning.text }, { symbol: 'HBEA', text: hbea.body.warning.text },
  ], 'the audit trail has each warning as published');
  t.ok(published.length > 0 && published.every((a) => a.who.startsWith('risk:') && a.who === published[0].who), `and the officer who published it (${published[0]?.who})`);
  t.same(published.filter((a) => a.outcome === 'refused').map((a) => a.error?.code), ['UNKNOWN_INSTRUMENT', 'INVALID_COMMAND'], 'and the two the engine refused');
});

t.test('a restart keeps the day\'s warnings; the end of day clears them', async (t) => {
  const before = (await s.api('GET', '/v1/warnings')).body;
  t.equal(before.length, 3);
  await s.stop();
  s = await startServer({ dataDir });
  t.same((await s.api('GET', '/v1/warnings')).body, before, 'the same list after a restart');
  const next = await warn({ text: 'After the restart.' });
  expectOk(t, next, 201);
  t.ok(Number(next.body.warning.warningId) > Number(before[2].warningId), 'ids carry on');

  const c = await openSocket(s.wsUrl);
  c.send({ op: 'subscribe', channels: ['warnings'] });
  const held = await c.next((m) => m.channel === 'warnings' && m.type === 'snapshot');
  t.equal(held.warnings.length, 4, 'a subscriber holds the day\'s warnings');
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200, 'end of day');
  t.same((await s.api('GET', '/v1/warnings')).body, [], 'a new trading day starts with no warning');
  // Told so on the channel, one seq on: a subscriber drops them, as a new one's snapshot has none.
  const ended = await c.next((m) => m.channel === 'warnings' && m.type === 'endOfDay');
  t.match(ended, { seq: Number(held.seq) + 1, date: eod.body.date, nextDate: eod.body.nextDate }, 'the end of day, on warnings');
  const late = await openSocket(s.wsUrl);
  late.send({ op: 'subscribe', channels: ['warnings'] });
  t.match(await late.next((m) => m.channel === 'warnings' && m.type === 'snapshot'), { seq: ended.seq, warnings: [] }, 'a new subscriber: no warning, at that seq');
  t.same(seqGaps(c.messages), []);
  c.close();
  late.close();
  await s.stop();
  s = await startServer({ dataDir });
  t.same((await s.api('GET', '/v1/warnings')).body, [], 'also after another restart');
  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { action: string }[];
  t.equal(audit.filter((a) => a.action === 'publishWarning').length, 6, 'the audit trail keeps every attempt');
});

t.test('a text is counted in characters as written, by the schema and by the engine alike', async (t) => {
  // 2,000 emoji are 2,000 characters (4,000 UTF-16 units): the schema takes them, and so does the engine.
  const emoji = '😀'.repeat(2000);
  const r = await warn({ text: emoji });
  expectOk(t, r, 201, '2,000 emoji');
  t.equal(r.body.warning.text, emoji, 'kept as written');
  expectError(t, await warn({ text: `${emoji}😀` }), 400, 'INVALID_REQUEST', /at most 2000 characters|2000/, 'one more is refused at the edge');
  const reason = '原因'.repeat(250);
  expectOk(t, await s.api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason } }), 200, 'a reason of 500 Chinese characters');
  expectOk(t, await s.api('POST', '/v1/risk/market/resume', { key: 'risk', body: { reason: '🙂'.repeat(500) } }), 200, 'a reason of 500 emoji');
});

t.test('a free text with a control character is refused in words; tabs and line breaks are taken', async (t) => {
  for (const [what, text] of [
    ['NUL', 'near\u0000band'], ['BEL', '\u0007alarm'], ['ESC', '\u001b[31mred'], ['DEL', 'x\u007f'], ['a vertical tab', 'a\u000bb'],
    ['C1 CSI (an 8-bit escape)', 'x\u009b31mRED'], ['C1 NEL', 'a\u0085b'], ['a right-to-left override', 'pay \u202e01.75'], ['a left-to-right isolate', 'a\u2066b'],
    ['a lone low surrogate', 'ok \udc00'], ['a lone high surrogate', '\ud800x'], ['surrogates in the wrong order', '\ude00\ud83d'],
  ] as const) {
    expectError(t, await warn({ text }), 400, 'INVALID_REQUEST', /^body\/text must be a string of whole characters without control characters or direction overrides \(tabs and line breaks are taken\)$/, `a warning with ${what}`);
    expectError(t, await s.api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: text } }), 400, 'INVALID_REQUEST', /body\/reason must be a string of whole characters without control characters/, `a reason with ${what}`);
  }
  // A number where a text belongs is told it must be a string; a percentage of four digits, that three are the most.
  expectError(t, await s.api('PATCH', '/v1/risk/accounts/M1-C1', { key: 'risk', body: { restriction: 'none', reason: 123 } }), 400, 'INVALID_REQUEST', /^body\/reason must be a string of whole characters/);
  expectError(t, await s.api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { listedBandPct: '1000', reason: 'wide' } }), 400, 'INVALID_REQUEST', /^body\/listedBandPct must be a percentage as a string of up to three whole digits and six decimals/);
  expectError(t, await s.api('POST', '/v1/large-holder-reports', { key: 'M1', body: { symbol: 'CEA24', accountId: 'M1-C1', text: 'holding\u0000' } }), 400, 'INVALID_REQUEST', /body\/text must be a string of whole characters without control characters/, 'a report with NUL');
  expectError(t, await s.api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol: 'CEA99', name: 'bad\u0000name', vintage: null, profile: JSON.parse(readFileSync(new URL('../../markets/venues/fjea.json', import.meta.url), 'utf8')), listingPrice: '57.00' } }), 400, 'INVALID_REQUEST', /body\/name must be a string of whole characters without control characters/, 'a listing name with NUL');
  const multiline = await warn({ text: 'Line one.\r\n\tLine two.\nLine three.' });
  expectOk(t, multiline, 201, 'tabs and line breaks');
  t.equal(multiline.body.warning.text, 'Line one.\r\n\tLine two.\nLine three.', 'kept as written');
});

t.test('a warning to the whole market may say symbol: null, as its answer does', async (t) => {
  const r = await warn({ symbol: null, text: 'Settlement runs late tonight.' });
  expectOk(t, r, 201, 'symbol: null');
  t.match(r.body.warning, { symbol: null, text: 'Settlement runs late tonight.' });
  expectError(t, await warn({ symbol: 'cea24', text: 'x' }), 400, 'INVALID_REQUEST', undefined, 'a symbol still has its form');
});
