// A journal whose file goes away while the exchange runs: the data directory deleted, moved, or the
// journal replaced by another file. SQLite would go on writing the file it has open, which no
// restart will find, so every later order would be acknowledged and lost. The writer thread checks
// after each commit that the path still names its file: the first order after the change is not
// acknowledged, and the exchange stops (exit 74) saying what happened.
import t, { type Test } from 'tap';
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ExchangeProcess, tempFolder, writeKeys } from '../support/exchangeProcess.ts';

const KEY = 'journal-gone-member-key-000000000001';

async function start(t: Test, dataDir?: string): Promise<{ ex: ExchangeProcess; dataDir: string; folder: string }> {
  const folder = tempFolder('carbon-journal-gone-');
  t.teardown(folder.remove);
  const keysFile = writeKeys(folder.path, [{ key: KEY, role: 'member', member: 'M1' }]);
  const dir = dataDir ?? join(folder.path, 'data');
  const ex = await ExchangeProcess.start({ dataDir: dir, keysFile });
  t.teardown(() => ex.kill());
  return { ex, dataDir: dir, folder: folder.path };
}

/** Places a resting buy; resolves with the status, or null when the connection ended without an answer. */
async function place(ex: ExchangeProcess, price: string): Promise<{ status: number | null; orderId: string | null }> {
  try {
    const res = await fetch(`${ex.base}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: 'M1-I1', symbol: 'CEA24', side: 'buy', type: 'limit', price, quantity: 1 }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as { order?: { orderId: string } };
    return { status: res.status, orderId: body.order?.orderId ?? null };
  } catch {
    return { status: null, orderId: null };
  }
}

async function expectStop(t: Test, ex: ExchangeProcess, what: string): Promise<void> {
  const after = await place(ex, '57.01');
  t.equal(after.status, null, 'the order after the change is not acknowledged (the connection ends unanswered)');
  const { code } = await ex.ended();
  t.equal(code, 74, 'the exchange stops with exit code 74');
  t.match(ex.output, `fatal: the journal could not commit: the journal `, 'it says the journal could not commit');
  t.match(ex.output, what, `it says the journal ${what}`);
  t.match(ex.output, /\(seq \d+–\d+\) went to a file that is no longer there and was not acknowledged/, 'it names the batch that was not acknowledged');
}

t.test('the data directory deleted while the exchange runs', async (t) => {
  const { ex, dataDir } = await start(t);
  const before = await place(ex, '57.00');
  t.equal(before.status, 201, 'an order before the deletion is acknowledged');
  rmSync(dataDir, { recursive: true, force: true });
  await expectStop(t, ex, 'was removed while the exchange ran');
});

t.test('the journal replaced by another file (a copy moved over it)', async (t) => {
  const { ex, dataDir } = await start(t);
  t.equal((await place(ex, '57.00')).status, 201, 'an order before the change is acknowledged');
  const file = join(dataDir, 'journal.sqlite');
  copyFileSync(file, `${file}.copy`);
  renameSync(`${file}.copy`, file);
  await expectStop(t, ex, 'was replaced by another file while the exchange ran');
});

t.test('the journal losing its -wal file', async (t) => {
  const { ex, dataDir } = await start(t);
  t.equal((await place(ex, '57.00')).status, 201, 'an order before the change is acknowledged');
  rmSync(join(dataDir, 'journal.sqlite-wal'));
  await expectStop(t, ex, 'lost its -wal file while the exchange ran');
});

t.test('the data directory moved: the exchange stops, and starts again where it was moved to', async (t) => {
  const { ex, dataDir, folder } = await start(t);
  const before = await place(ex, '57.00');
  t.equal(before.status, 201, 'an order before the move is acknowledged');
  const moved = join(folder, 'moved');
  renameSync(dataDir, moved);
  await expectStop(t, ex, 'was removed while the exchange ran');

  const again = await start(t, moved);
  const res = await fetch(`${again.ex.base}/v1/orders/${before.orderId}`, { headers: { authorization: `Bearer ${KEY}` } });
  t.equal(res.status, 200, 'the order acknowledged before the move is in the moved directory');
  const order = (await res.json()) as { status: string; price: string };
  t.equal(order.status, 'new', 'it rests');
  t.equal(order.price, '57.00', 'at its price');
  t.equal((await place(again.ex, '57.02')).status, 201, 'the exchange takes orders again there');
  t.equal(await again.ex.stop(), 0, 'and stops cleanly');
});

t.test('nothing changed: orders go on being acknowledged', async (t) => {
  const { ex } = await start(t);
  for (let i = 0; i < 20; i++) t.equal((await place(ex, '57.00')).status, 201, `order ${i + 1} acknowledged`);
  t.equal(await ex.stop(), 0, 'and the exchange stops cleanly');
});
