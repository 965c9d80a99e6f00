// A shutdown (SIGTERM, or close()) while orders are still arriving: everything the exchange answered
// 201 before it stopped reaches the subscribers (trades, execution reports) before their close
// (1001), since a closed connection shows no seq gap; and clients that keep their HTTP connections
// alive (fetch does) do not hold the shutdown open once their requests are answered.
import t from 'tap';
import { KEYS, startServer, subscribedSocket, type ApiReply } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

t.test('orders answered before a shutdown reach the subscribers before their close', async (t) => {
  const m1 = await subscribedSocket(t, s.wsUrl, ['orders', 'trades:CEA24'], KEYS.M1);
  const closeCode = new Promise<number>((resolve) => m1.ws.once('close', (code) => resolve(code)));
  // 200 crossing orders from two members, sent at once on kept-alive connections.
  const sent = Array.from({ length: 200 }, (_, i) => {
    const m = i % 2 === 0 ? 'M1' : 'M2';
    return s.api('POST', '/v1/orders', { key: m, body: { accountId: `${m}-C1`, symbol: 'CEA24', side: m === 'M1' ? 'sell' : 'buy', type: 'limit', price: '57.46', quantity: 10 } })
      .catch(() => null as ApiReply | null); // a request the shutdown refused or cut: not answered 201
  });
  // The shutdown starts once the first trade has been published, with most orders still in hand.
  await m1.next((m) => m.channel === 'trades:CEA24' && m.type === 'trade' && m1.on('trades:CEA24').length > 10);
  const closing = s.stop();
  const answers = await Promise.all(sent);
  // Bounded: kept-alive connections used to hold the close for as long as their client kept them.
  const closed = await Promise.race([closing.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
  t.equal(closed, true, 'the shutdown ends once the requests in hand are answered');
  t.equal(await closeCode, 1001, 'the subscriber is closed with 1001');

  const acknowledged = answers.filter((a): a is ApiReply => a !== null && a.status === 201);
  t.ok(acknowledged.length > 0, `some orders were answered 201 (${acknowledged.length}), and ${answers.length - acknowledged.length} not`);
  const tradeIds = new Set(acknowledged.flatMap((a) => (a.body.fills as { tradeId: string }[]).map((f) => f.tradeId)));
  const published = new Set(m1.on('trades:CEA24').filter((m) => m.type === 'trade').map((m) => String(m.tradeId)));
  const unpublished = [...tradeIds].filter((id) => !published.has(id));
  t.same(unpublished, [], `every trade of an answered order was published (${tradeIds.size} trades)`);
  const reported = new Set(m1.on('orders').flatMap((m) => [m.report?.orderId, m.fill?.orderId]).filter((id) => id !== undefined).map(String));
  const mine = acknowledged.filter((a) => a.body.order.accountId === 'M1-C1').map((a) => String(a.body.order.orderId));
  t.same(mine.filter((id) => !reported.has(id)), [], `every answered order of M1 was reported on orders (${mine.length})`);
});
