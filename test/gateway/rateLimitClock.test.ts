// The rate limit's windows follow the monotonic clock: a backward step of the wall clock (an NTP
// correction) does not lock keys out for the length of the step.
import t from 'tap';
import { MonotonicRateStore } from '../../gateway/rateStore.ts';
import { expectError, startServer } from '../support/server.ts';

type Res = { current: number; ttl: number };
function counted(store: MonotonicRateStore, key: string, how: 'incr' | 'read' = 'incr'): Res {
  let res: Res | undefined;
  store[how](key, (err, r) => {
    if (err !== null) throw err;
    res = r;
  }, 1000);
  if (res === undefined) throw new Error('the store did not answer at once');
  return res;
}

t.test('the store: fixed windows per key, opened by its first request, on the clock it is given', async (t) => {
  let now = 5_000.25;
  const store = new MonotonicRateStore(undefined, () => now);
  t.same(counted(store, 'a'), { current: 1, ttl: 1000 });
  now += 400;
  t.same(counted(store, 'a'), { current: 2, ttl: 600 }, 'counted in the window, its rest as ttl');
  t.same(counted(store, 'b'), { current: 1, ttl: 1000 }, 'another key counts apart');
  t.same(counted(store, 'a', 'read'), { current: 2, ttl: 600 }, 'read does not count');
  now += 600;
  t.same(counted(store, 'a', 'read'), { current: 0, ttl: 0 }, 'the window has ended');
  t.same(counted(store, 'a'), { current: 1, ttl: 1000 }, 'and a new one opens with the next request');
  t.same(counted(store.child(), 'a'), { current: 1, ttl: 1000 }, 'a child (a route with settings of its own) counts apart');
});

t.test('the store: keys whose windows ended are swept, so memory holds about two windows of keys', async (t) => {
  let now = 0;
  const store = new MonotonicRateStore(undefined, () => now);
  for (let second = 0; second < 20; second++) {
    for (let i = 0; i < 500; i++) counted(store, `s${second} k${i}`);
    now += 1000;
  }
  t.ok(store.size <= 1000, `${store.size} keys held after 20 seconds of 500 new keys each`);
  t.equal(counted(store, 's19 k0', 'read').current, 0, 'an ended window reads as none');
});

t.test('a backward step of the wall clock does not lock a key out', async (t) => {
  const s = await startServer({ rateLimit: 5 });
  const realNow = Date.now;
  t.teardown(async () => {
    Date.now = realNow;
    await s.close();
  });
  const read = () => s.api('GET', '/v1/instruments/CEA24/book?depth=1', { key: 'M1' });
  const first = await Promise.all(Array.from({ length: 8 }, read));
  t.equal(first.filter((r) => r.status === 200).length, 5, 'five in the window are answered');
  expectError(t, first.find((r) => r.status !== 200)!, 429, 'RATE_LIMITED', /at most 5 requests a second/);
  t.equal(first.find((r) => r.status === 429)?.headers.get('retry-after'), '1', 'retry in a second');
  // The wall clock steps back an hour, as a correction would.
  Date.now = () => realNow() - 3_600_000;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const after = await read();
  t.equal(after.status, 200, 'a second later the key has its allowance again');
  t.equal(after.headers.get('x-ratelimit-remaining'), '4', 'a new window, counted from its first request');
});
