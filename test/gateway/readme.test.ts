// The README's "A first session, step by step" runs as written: the exchange starts on a new data
// directory as `npm start` does (demo keys printed), a newcomer pastes the printed first order, then
// every command of the README's block in turn, in bash from the project's folder, with the printed
// keys in $M1, $M2, $RISK and $OPS. Only the port differs (a free one instead of 8080), and the
// WebSocket subscriber, which runs until Ctrl-C, is given two seconds. No command may answer an error,
// and the figures the README's comments promise are checked.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExchangeProcess, ROOT, tempFolder } from '../support/exchangeProcess.ts';

const SEPARATOR = '<<<end of command>>>';

/** The shell block under the README's "A first session, step by step", as commands (continuations joined). */
function readmeSession(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.indexOf('### A first session, step by step');
  const start = readme.indexOf('```sh\n', section) + '```sh\n'.length;
  const block = readme.slice(start, readme.indexOf('```', start));
  const commands: string[] = [];
  let current = '';
  for (const line of block.split('\n')) {
    if (current === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    current += (current === '' ? '' : '\n') + line;
    if (!line.endsWith('\\')) {
      commands.push(current);
      current = '';
    }
  }
  return commands;
}

t.test("the README's first session, pasted after the printed first order", async (t) => {
  const folder = tempFolder('carbon-readme-');
  t.teardown(folder.remove);
  const ex = await ExchangeProcess.start({ dataDir: join(folder.path, 'data') });
  t.teardown(() => ex.kill());

  const printed = Object.fromEntries([...ex.output.matchAll(/^ {2}(member|risk|operator) +(M\d)? +(\S+)$/gm)].map((m) => [m[2] ?? m[1], m[3]]));
  t.ok(printed.M1 && printed.M2 && printed.risk && printed.operator, 'the start printed keys for M1, M2, a risk officer and an operator');
  const tryLine = /^ {2}(curl -s -X POST .*)$/m.exec(ex.output);
  t.ok(tryLine, 'and a first order to try');

  const commands = readmeSession();
  t.ok(commands.length >= 15, `the README's block holds its commands (${commands.length})`);
  const port = (text: string) => text.replaceAll('localhost:8080', `127.0.0.1:${ex.port}`).replaceAll('127.0.0.1:8080', `127.0.0.1:${ex.port}`);
  const script = [tryLine![1], ...commands]
    .map((c) => (c.startsWith('node -e') && c.includes('/v1/ws') ? `timeout 2 ${c}` : c))
    .map((c) => `${port(c)}\nprintf '\\n${SEPARATOR}\\n'`)
    .join('\n');
  const output = await new Promise<string>((resolve, reject) => {
    execFile('bash', ['-c', script], {
      cwd: ROOT, timeout: 60_000, maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, M1: printed.M1, M2: printed.M2, RISK: printed.risk, OPS: printed.operator },
    }, (error, stdout, stderr) => (error !== null && !stdout.includes(SEPARATOR) ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)));
  });
  const answers = output.split(`\n${SEPARATOR}\n`).slice(0, -1);
  t.equal(answers.length, commands.length + 1, 'every command ran');

  const json = (i: number): unknown => {
    try { return JSON.parse(answers[i]); } catch { return undefined; }
  };
  for (let i = 0; i < answers.length; i++) {
    const command = i === 0 ? 'the printed first order' : commands[i - 1].split('\n')[0].slice(0, 100);
    // An assignment (S=$(…)) prints nothing; the commands that use it show what it held.
    if (!/^[A-Z]+=/.test(command)) t.ok(answers[i].trim().length > 0, `${command}: answered`);
    t.notMatch(answers[i], /"error":\{"code"/, `${command}: no error`);
  }
  const at = (needle: string) => 1 + commands.findIndex((c) => c.includes(needle));
  t.match(json(0), { order: { status: 'new', side: 'buy', filledQuantity: 0 } }, 'the printed order rests');
  t.match(json(at('"side":"sell"')), { order: { status: 'new', side: 'sell', quantity: 100 }, fills: [] }, 'step 1: the sell rests (no self-trade with the printed bid)');
  t.match(json(at('"clientOrderId":"b-1"')), { order: { status: 'filled', filledQuantity: 40 }, fills: [{ price: '57.46', quantity: 40 }] }, 'step 2: the buy fills 40 t at 57.46');
  t.match(json(at('/book?depth=5')), { asks: [['57.46', 60, 1]] }, 'step 3: 60 t left on the book at 57.46');
  t.match(json(at('/trades')), [{ price: '57.46', quantity: 40, mode: 'listed' }], 'step 3: the trade');
  t.match(json(at('"listedBandPct":"5"')), { instrument: { symbol: 'CEA24' } }, 'step 5: the instrument as changed');
  t.match(answers[at('"listedBandPct":"5"')], /"54\.59".*"60\.33"/, 'step 5: the listed band is now 54.59–60.33 (±5 % of 57.46)');
  t.match(json(at('/v1/risk/audit')), [
    { action: 'setInstrument', who: /^risk:/, why: 'volatility', outcome: 'done' },
    { action: 'publishWarning', who: /^risk:/, outcome: 'done' },
  ], "step 5: the audit trail after the demo's set-up holds the officer's two actions");
  t.equal((json(at('/v1/risk/audit')) as unknown[] | undefined)?.length, 2, 'step 5: and nothing else');
  const ws = answers[at('node -e')];
  t.match(ws, /"type":"subscribed"/, 'step 6: the subscriber is subscribed');
  t.match(ws, /"channel":"book:CEA24","type":"snapshot"/, 'step 6: it gets the book snapshot');
  t.match(json(at('/v1/admin/end-of-day') + 1), { date: /^\d{4}-\d{2}-\d{2}$/, reports: Array }, "step 7: the day's settlement index");
  t.match(answers[at('/statements')], /^date,accountId,/, 'step 7: the statements as CSV');
  t.equal(await ex.stop(), 0);
});
