// The ticker channel sends at most one message every 100 ms (API.md), counted from when the last one
// was written to the sockets: a message that waited in a write window for its end must not leave
// less than the interval before the next. Here with a 300 ms ticker interval and a 250 ms write
// window, which another subscriber's trades keep busy, so that a ticker published into a window
// often waits for it; every gap between two ticker messages as received is at least the interval
// (less a margin for the receiving side's own delays).
import t from 'tap';
import { performance } from 'node:perf_hooks';
import { expectOk, openSocket, startServer, subscribedSocket } from '../support/server.ts';

const TICKER_MS = 300;
const s = await startServer({ publisher: { tickerMs: TICKER_MS, flushMs: 250 } });
t.teardown(() => s.close());

t.test('ticker messages as received are at least the interval apart while trades flow', async (t) => {
  expectOk(t, await s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '57.10', quantity: 1000 } }), 201);
  await subscribedSocket(t, s.wsUrl, ['trades:CEA24']); // keeps the write windows busy
  const received: number[] = [];
  let volume = 0;
  const ticker = await openSocket(s.wsUrl, {
    onMessage: (m) => {
      if (m.channel !== 'ticker:CEA24' || m.type !== 'update') return;
      received.push(performance.now());
      volume = m.ticker.listedVolume as number;
    },
  });
  t.teardown(() => ticker.close());
  ticker.send({ op: 'subscribe', channels: ['ticker:CEA24'] });
  const start = (await ticker.next((m) => m.channel === 'ticker:CEA24' && m.type === 'snapshot')).ticker.listedVolume as number;
  const until = performance.now() + 3000;
  let trades = 0;
  while (performance.now() < until) {
    const r = await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.10', quantity: 1 } });
    trades += r.body.fills?.length ?? 0;
    await new Promise((r) => setTimeout(r, 25));
  }
  t.ok(trades > 30, `${trades} trades`);
  await new Promise((r) => setTimeout(r, 2 * TICKER_MS + 300));
  t.ok(received.length >= 6, `${received.length} ticker updates`);
  const gaps = received.slice(1).map((at, i) => Math.round(at - received[i]));
  t.ok(Math.min(...gaps) >= TICKER_MS - 20, `every gap at least ${TICKER_MS} ms less a margin: ${gaps.join(', ')}`);
  t.equal(volume - start, trades, 'the last update has every trade');
});
