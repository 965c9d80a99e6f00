// The threads the exchange runs its modules on (the settlement and snapshot threads): answers in
// order, a failure that fails only the requests of the thread that failed, a new thread for the
// next request, and an idle thread that never keeps the process alive.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { ModuleThread } from '../../persistence/moduleThread.ts';
import { ROOT } from '../support/exchangeProcess.ts';

const ECHO = new URL('../support/echoThread.ts', import.meta.url);

t.test('answers each request, and a thrown error as that request\'s rejection', async (t) => {
  const thread = new ModuleThread<string, string>(ECHO, null, 'echo');
  t.teardown(() => thread.close());
  t.same(await Promise.all(['a', 'b', 'c'].map((x) => thread.request(x))), ['echo a', 'echo b', 'echo c']);
  await t.rejects(thread.request('throw'), /asked to throw/);
  t.equal(await thread.request('d'), 'echo d', 'the same thread goes on');
});

t.test('a thread that stops fails its own requests only; the next request gets a new thread', async (t) => {
  const thread = new ModuleThread<string, string>(ECHO, null, 'echo');
  t.teardown(() => thread.close());
  const dying = thread.request('die');
  const behind = thread.request('queued behind it');
  let next: Promise<string> | null = null;
  // Asked again the moment the failure is known (as the start's loop over unpublished days does).
  await t.rejects(dying.finally(() => { next = thread.request('after'); }), /the echo thread stopped \(exit code 3\)/);
  await t.rejects(behind, /stopped/, 'what was queued on the stopped thread fails too, rather than wait for ever');
  t.equal(await (next as unknown as Promise<string>), 'echo after', 'the new thread answers: the old one\'s end does not fail it');
  t.equal(await thread.request('again'), 'echo again');
});

t.test('a thread that fails with an uncaught error: the same, though its end comes after', async (t) => {
  const thread = new ModuleThread<string, string>(ECHO, null, 'echo');
  t.teardown(() => thread.close());
  let next: Promise<string> | null = null;
  await t.rejects(thread.request('crash').finally(() => { next = thread.request('after'); }), /the echo thread failed: .+ \(exit code 1\)/);
  t.equal(await (next as unknown as Promise<string>), 'echo after', 'the request made between the error and the thread\'s end goes to a new thread, which answers');
});

t.test('a process whose thread is idle ends by itself', async (t) => {
  const script = `
    import { ModuleThread } from './persistence/moduleThread.ts';
    const thread = new ModuleThread(new URL(${JSON.stringify(ECHO.href)}), null, 'echo');
    console.log(await thread.request('x'));
    await thread.request('die').catch((e) => console.log(e.message));
    console.log(await thread.request('y'));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.signal, null, 'it was not killed by the timeout');
  t.equal(r.status, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['echo x', 'the echo thread stopped (exit code 3)', 'echo y']);
});
