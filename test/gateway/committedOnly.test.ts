// Nothing a reply or a market-data message shows may come from a command whose batch has not
// committed. With the journal's writer thread the engine applies the next batches while one is on
// its way to the disk, so the state after a batch has to be taken when the batch is sealed, not
// when it has committed. Each test here holds the writer's commits back (a second connection to the
// real journal file takes its write lock), sends one command, waits until its batch is sealed, sends
// another that changes what the first one's answer would show, lets the commits go, and checks that
// the first answer and the messages published for its batch show the state after it, not after both.
import t from 'tap';
import { expectOk, holdCommits as holdSupport, KEYS, openSocket, sendApplied, startServer, type ApiReply } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());
const engine = s.exchange.gateway.engine;

const holdCommits = () => holdSupport(s.dataDir);

/** Sends a request and resolves once the engine has applied it and its batch is sealed, with the request's answer still to come. */
async function sendAndSeal(send: () => Promise<ApiReply>): Promise<{ reply: Promise<ApiReply> }> {
  const applied = await sendApplied(s, send);
  // The batch is sealed at the end of the turn that applied it (setImmediate); wait a turn past it.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return applied;
}

const order = (key: string, accountId: string, side: 'buy' | 'sell', price: string, quantity: number) =>
  () => s.api('POST', '/v1/orders', { key, body: { accountId, symbol: 'CEA24', side, type: 'limit', price, quantity } });

t.test('an order answered, and its book and ticker messages, show it before a later command filled it', async (t) => {
  const c = await openSocket(s.wsUrl);
  c.send({ op: 'auth', key: KEYS.M1 });
  await c.next((m) => m.type === 'authenticated');
  c.send({ op: 'subscribe', channels: ['orders', 'book:CEA24', 'trades:CEA24', 'ticker:CEA24'] });
  for (const ch of ['orders', 'book:CEA24', 'trades:CEA24', 'ticker:CEA24']) await c.next((m) => m.channel === ch && m.type === 'snapshot');
  const volumeBefore = (await c.next((m) => m.channel === 'ticker:CEA24')).ticker.listedVolume as number;

  const release = holdCommits();
  let sellReply: { reply: Promise<ApiReply> };
  let buyReply: { reply: Promise<ApiReply> };
  try {
    sellReply = await sendAndSeal(order('M1', 'M1-I1', 'sell', '55.55', 10));
    buyReply = await sendAndSeal(order('M2', 'M2-I1', 'buy', '55.55', 4));
  } finally {
    release();
  }
  const sell = await sellReply.reply;
  const buy = await buyReply.reply;
  expectOk(t, sell, 201, 'the sell');
  expectOk(t, buy, 201, 'the buy');
  t.match(sell.body.order, { filledQuantity: 0, remainingQuantity: 10, status: 'new' }, 'the sell as its own command left it: nothing filled yet');
  t.same(sell.body.fills, [], 'and no fills');
  t.match(buy.body.order, { filledQuantity: 4, status: 'filled' }, 'the buy took 4 t of it');
  t.equal(buy.body.fills.length, 1);

  const tradeId = buy.body.fills[0].tradeId as string;
  const tradeAt = c.messages.indexOf(await c.next((m) => m.channel === 'trades:CEA24' && m.type === 'trade' && m.tradeId === tradeId));
  const askAt = (m: { channel?: string; type: string; asks?: [string, number, number][] }) =>
    m.channel === 'book:CEA24' && m.type === 'update' ? m.asks?.find((l) => l[0] === '55.55') : undefined;
  await c.next((m) => askAt(m)?.[1] === 6);
  const asks = c.messages.map((m, i) => [i, askAt(m)] as const).filter(([, l]) => l !== undefined);
  t.same(asks.map(([, l]) => l), [['55.55', 10, 1], ['55.55', 6, 1]], 'the book showed the 10 t resting, then 6 t after the trade');
  t.ok(asks[0][0] < tradeAt && asks[1][0] > tradeAt, 'the 10 t before the trade message, the 6 t after it');
  const reportAt = c.messages.findIndex((m) => m.channel === 'orders' && m.report?.orderId === sell.body.order.orderId && m.report.status === 'new');
  t.ok(reportAt >= 0 && reportAt < asks[0][0], "the sell's execution report came before the book showed it");
  const early = c.messages.slice(0, tradeAt).filter((m) => m.channel === 'ticker:CEA24' && m.ticker.listedVolume !== volumeBefore);
  t.same(early, [], 'no ticker message showed the trade before the trade message');
  await c.close();
});

t.test("a deposit's answer shows the account as the deposit left it", async (t) => {
  const before = (await s.api('GET', '/v1/account?accountId=M3-C1', { key: 'M3' })).body.cash;
  const release = holdCommits();
  let deposit: { reply: Promise<ApiReply> };
  let buy: { reply: Promise<ApiReply> };
  try {
    deposit = await sendAndSeal(() => s.api('POST', '/v1/admin/deposits', { key: 'operator', body: { accountId: 'M3-C1', cash: '100.00' } }));
    buy = await sendAndSeal(() => s.api('POST', '/v1/orders', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '52.00', quantity: 10 } }));
  } finally {
    release();
  }
  const d = await deposit.reply;
  expectOk(t, d, 201, 'the deposit');
  expectOk(t, await buy.reply, 201, 'the buy that freezes cash after it');
  const cents = (x: string) => Math.round(Number(x) * 100);
  t.equal(cents(d.body.cash.available), cents(before.available) + 10000, 'available: before + 100.00, not less what the later buy froze');
  t.equal(d.body.cash.frozen, before.frozen, 'frozen: as before');
});

t.test("halting and resuming the market: each answer is what its own command left", async (t) => {
  const release = holdCommits();
  let halt: { reply: Promise<ApiReply> };
  let resume: { reply: Promise<ApiReply> };
  try {
    halt = await sendAndSeal(() => s.api('POST', '/v1/risk/market/halt', { key: 'risk', body: { reason: 'a drill' } }));
    resume = await sendAndSeal(() => s.api('POST', '/v1/risk/market/resume', { key: 'risk', body: { reason: 'the drill is over' } }));
  } finally {
    release();
  }
  t.same((await halt.reply).body, { status: 'halted', reason: 'a drill' });
  t.same((await resume.reply).body, { status: 'trading', reason: 'the drill is over' });
});
