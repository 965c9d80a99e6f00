// A WebSocket client that stops reading while orders keep trading is dropped with close code 4008
// once the server's unsent data for it passes the bound (publisher.maxBufferedBytes), instead of the
// server buffering for it without end; /metrics counts the drop, the exchange stays healthy, other
// clients keep their feed, and the dropped client can come back for a fresh snapshot.
import t from 'tap';
import { KEYS, openSocket, startServer, type SocketClient } from '../support/server.ts';

const s = await startServer({ publisher: { maxBufferedBytes: 1024 } });
const sockets: SocketClient[] = [];
t.teardown(async () => {
  for (const c of sockets) { c.ws.terminate(); }
  await s.close();
});
const api = s.api;
const metric = async (name: string): Promise<number> => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec((await api('GET', '/metrics')).text);
  return m === null ? NaN : Number(m[1]);
};
const CHANNELS = ['book:CEA24', 'trades:CEA24', 'ticker:CEA24', 'kline:CEA24:1m', 'kline:CEA24:5m', 'kline:CEA24:15m', 'kline:CEA24:1h', 'kline:CEA24:1d', 'orders'];

/** Twenty one-tonne sells on twenty levels, then one buy that takes them all: 20 trades per round. */
async function round(): Promise<void> {
  const sells = [];
  for (let i = 0; i < 20; i++) {
    const price = (57 + i / 100).toFixed(2);
    sells.push(api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price, quantity: 1 } }));
  }
  for (const r of await Promise.all(sells)) if (r.status !== 201) throw new Error(`a sell was refused: ${r.text}`);
  const buy = await api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.19', quantity: 20 } });
  if (buy.status !== 201 || buy.body.fills.length !== 20) throw new Error(`the sweep did not take 20 levels: ${buy.text.slice(0, 300)}`);
}

t.test('a client that stops reading is closed with 4008 and counted; the server stays healthy', async (t) => {
  const healthy = await openSocket(s.wsUrl);
  sockets.push(healthy);
  healthy.send({ op: 'subscribe', channels: ['trades:CEA24'] });
  await healthy.next((m) => m.channel === 'trades:CEA24' && m.type === 'snapshot');

  const slow = await openSocket(s.wsUrl);
  sockets.push(slow);
  slow.send({ op: 'auth', key: KEYS.M1 });
  await slow.next((m) => m.type === 'authenticated');
  slow.send({ op: 'subscribe', channels: CHANNELS });
  await slow.next((m) => m.channel === 'kline:CEA24:1d' && m.type === 'snapshot');
  t.equal(await metric('exchange_ws_clients'), 2, 'two clients connected');
  t.equal(await metric('exchange_ws_dropped_total'), 0, 'nobody dropped yet');

  // Stop reading: the kernel buffers fill, then the server's own buffer for this client grows.
  (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  let rounds = 0;
  while ((await metric('exchange_ws_dropped_total')) < 1) {
    if (++rounds > 600) break; // a safety net against a server that never drops anyone; the assertions below fail then
    await round();
  }
  t.ok(rounds <= 600, `the slow client was dropped after ${rounds} rounds of 20 trades`);
  t.ok(await metric('exchange_ws_dropped_total') >= 1, 'exchange_ws_dropped_total counts the drop');

  // Reading again, the client finds what was sent before the drop, then the close frame.
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await slow.closed;
  t.equal(closed.code, 4008, 'closed with code 4008');
  t.ok(closed.reason.length > 0, `with a reason: ${closed.reason}`);
  t.equal(await metric('exchange_ws_clients'), 1, 'only the healthy client is left');

  t.same((await api('GET', '/healthz')).body, { status: 'ok' });
  t.same((await api('GET', '/readyz')).body, { status: 'ready' });
  const from = healthy.messages.length;
  const sell = await api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '57.30', quantity: 3 } });
  t.equal(sell.status, 201, 'orders are still taken');
  const buy = await api('POST', '/v1/orders', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.30', quantity: 3 } });
  t.match(buy.body, { order: { status: 'filled' } });
  const seen = await healthy.next((m) => m.channel === 'trades:CEA24' && m.tradeId === buy.body.fills[0].tradeId, from);
  t.match(seen, { price: '57.30', quantity: 3 }, 'the reading client kept its feed');
  const seqs = healthy.on('trades:CEA24').map((m) => m.seq as number);
  t.same(seqs, seqs.map((_, i) => seqs[0] + i), 'with no gap in its seq');

  const back = await openSocket(s.wsUrl);
  sockets.push(back);
  back.send({ op: 'subscribe', channels: ['book:CEA24'] });
  const snap = await back.next((m) => m.channel === 'book:CEA24');
  t.equal(snap.type, 'snapshot', 'a dropped client resubscribes for a fresh snapshot');
  const rest = (await api('GET', '/v1/instruments/CEA24/book?depth=20')).body;
  t.same({ bids: snap.bids, asks: snap.asks }, { bids: rest.bids, asks: rest.asks }, 'which equals the REST book');
});
