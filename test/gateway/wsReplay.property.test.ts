// Property (fast-check), against the real server over HTTP with real `ws` clients: whatever mix of
// orders (limit, market, IOC, FOK, many price levels, crossing or not, from three members), cancels
// and modifications arrives, and whatever its outcome (traded, rested, refused), at every quiet point
// - a subscriber that applies the `book` updates to its snapshot holds the REST book (top 20 levels,
//   with the quantities and order counts), also when levels beyond the 20th move up into view;
// - a REST book read while the orders are taken, with the `book` updates whose `exchangeSeq` is past
//   its `seq` applied, is the REST book at the quiet point; `exchangeSeq` rises with every message;
// - a member that applies its `orders` execution reports (order reports and fills) to its snapshot of
//   open orders holds exactly the open orders GET /v1/orders?status=open shows, with their price,
//   quantity, filled and remaining quantities;
// - no channel skips or repeats a seq.
// "Quiet" is made exact without sleeping: every write is answered after its batch was published,
// and a repeated subscribe on a connection is answered after everything published before it.
import fc from 'fast-check';
import t from 'tap';
import { KEYS, localBook, openSocket, seqGaps, startServer, type BookLevel as Level, type SocketClient, type WsMessage } from '../support/server.ts';

// Its clients send a subscribe as a barrier at every quiet point, many a second: the flood limit
// (tested in wsLateJoiners.test.ts) is raised so that it does not close them.
const s = await startServer({ publisher: { messagesPerSecond: 100_000 } });
const api = s.api;
const sockets: SocketClient[] = [];
t.teardown(async () => {
  for (const c of sockets) await c.close();
  await s.close();
});

const MEMBERS = ['M1', 'M2', 'M3'] as const;
type Member = (typeof MEMBERS)[number];
const ACCOUNT: Record<Member, string> = { M1: 'M1-C1', M2: 'M2-C1', M3: 'M3-C1' };

/** One HTTP action; `pick` chooses among the orders placed so far (a finished one gets its refusal). */
type Action =
  | { kind: 'place'; member: Member; side: 'buy' | 'sell'; type: 'limit' | 'market'; fen: number; quantity: number; tif: 'DAY' | 'IOC' | 'FOK' }
  | { kind: 'cancel'; member: Member; pick: number }
  | { kind: 'modify'; member: Member; pick: number; quantity: number | null; fen: number | null }
  | { kind: 'outOfBand'; member: Member; side: 'buy' | 'sell' };

// Prices in fen inside CEA24's band (51.71–63.21), buys mostly below 57.46 and sells mostly above,
// spread over enough ticks for more than 20 levels a side; a few cross.
const member = fc.constantFrom<Member>(...MEMBERS);
const place = fc.record({
  kind: fc.constant('place' as const), member, side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  type: fc.constantFrom<'limit' | 'market'>('limit', 'limit', 'limit', 'limit', 'limit', 'limit', 'limit', 'market'),
  fen: fc.integer({ min: 0, max: 60 }), quantity: fc.integer({ min: 1, max: 40 }),
  tif: fc.constantFrom<'DAY' | 'IOC' | 'FOK'>('DAY', 'DAY', 'DAY', 'DAY', 'IOC', 'FOK'),
});
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: place },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), member, pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('modify' as const), member, pick: fc.nat(),
      quantity: fc.option(fc.integer({ min: 1, max: 60 })), fen: fc.option(fc.integer({ min: 0, max: 60 })),
    }),
  },
  // Refused by the engine: a rejected report on the member's channel, nothing on the book.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('outOfBand' as const), member, side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell') }) },
);

/** A buy's price steps down from 57.45, a sell's up from 57.47; 8 steps in 60 cross the middle. */
function price(side: 'buy' | 'sell', fen: number): string {
  const cents = side === 'buy' ? (fen < 8 ? 5760 - fen : 5745 - (fen - 8) * 5) : (fen < 8 ? 5732 + fen : 5747 + (fen - 8) * 5);
  return (cents / 100).toFixed(2);
}

const placed: Record<Member, { orderId: string; side: 'buy' | 'sell' }[]> = { M1: [], M2: [], M3: [] };
const tally = { trades: 0, refused: 0, cancelled: 0, modified: 0, caughtUp: 0 };

async function perform(a: Action): Promise<void> {
  const key = a.member;
  if (a.kind === 'place') {
    const body: Record<string, unknown> = { accountId: ACCOUNT[key], symbol: 'CEA24', side: a.side, type: a.type, quantity: a.quantity };
    if (a.type === 'limit') { body.price = price(a.side, a.fen); body.timeInForce = a.tif; }
    const r = await api('POST', '/v1/orders', { key, body });
    if (r.status === 201) {
      placed[key].push({ orderId: r.body.order.orderId, side: a.side });
      tally.trades += r.body.fills.length;
    } else if (r.status === 422) tally.refused++;
    else throw new Error(`POST /v1/orders ${JSON.stringify(body)} → ${r.status} ${r.text}`);
    return;
  }
  if (a.kind === 'outOfBand') {
    const body = { accountId: ACCOUNT[key], symbol: 'CEA24', side: a.side, type: 'limit', price: a.side === 'buy' ? '51.70' : '63.22', quantity: 1 };
    const r = await api('POST', '/v1/orders', { key, body });
    if (r.status !== 422 || r.body.error.code !== 'PRICE_OUT_OF_BAND') throw new Error(`an order outside the band → ${r.status} ${r.text}`);
    tally.refused++;
    return;
  }
  const mine = placed[key];
  if (mine.length === 0) return;
  const target = mine[a.pick % mine.length];
  if (a.kind === 'cancel') {
    const r = await api('DELETE', `/v1/orders/${target.orderId}`, { key });
    if (r.status === 200) tally.cancelled++;
    else if (r.status !== 409) throw new Error(`DELETE → ${r.status} ${r.text}`);
    return;
  }
  const body: Record<string, unknown> = {};
  if (a.quantity !== null) body.quantity = a.quantity;
  if (a.fen !== null) body.price = price(target.side, a.fen);
  if (Object.keys(body).length === 0) body.quantity = 1;
  const r = await api('PATCH', `/v1/orders/${target.orderId}`, { key, body });
  // 409: no longer open, or below what has filled already; 422: a rule refused the new terms.
  if (r.status === 200) tally.modified++;
  else if (![409, 422].includes(r.status)) throw new Error(`PATCH ${JSON.stringify(body)} → ${r.status} ${r.text}`);
}

/** Answered after everything published to this connection before it: a repeated subscribe. */
async function barrier(c: SocketClient, channel: string): Promise<void> {
  const from = c.messages.length;
  c.send({ op: 'subscribe', channels: [channel] });
  await c.next((m) => m.type === 'subscribed' && m.channels[0] === channel, from);
}


interface OpenOrder { orderId: string; price: string | null; quantity: number; filledQuantity: number; remainingQuantity: number; status: string }
const OPEN = new Set(['new', 'partially_filled']);
const shape = (o: OpenOrder): OpenOrder => ({
  orderId: o.orderId, price: o.price, quantity: o.quantity, filledQuantity: o.filledQuantity, remainingQuantity: o.remainingQuantity, status: o.status,
});

/** The open orders a member's client holds: the snapshot, then each report and fill applied. */
function localOrders(messages: readonly WsMessage[]): OpenOrder[] {
  const open = new Map<string, OpenOrder>();
  for (const m of messages) {
    if (m.channel !== 'orders') continue;
    if (m.type === 'snapshot') {
      open.clear();
      for (const o of m.orders as OpenOrder[]) open.set(o.orderId, shape(o));
    } else if (m.report !== undefined && m.report.orderId !== null) {
      const o = m.report as OpenOrder;
      if (OPEN.has(o.status)) open.set(o.orderId, shape(o));
      else open.delete(o.orderId);
    } else if (m.fill !== undefined && m.fill.orderId !== null) {
      const f = m.fill as { orderId: string; quantity: number; remaining: number; orderStatus: string };
      const o = open.get(f.orderId);
      if (o === undefined) continue; // an order whose fill came with its own report (the taker)
      if (f.orderStatus === 'filled') { open.delete(f.orderId); continue; }
      open.set(f.orderId, { ...o, filledQuantity: o.filledQuantity + f.quantity, remainingQuantity: f.remaining, status: f.orderStatus });
    }
  }
  return [...open.values()].sort((x, y) => Number(x.orderId) - Number(y.orderId));
}

async function restOrders(m: Member): Promise<OpenOrder[]> {
  const r = await api('GET', '/v1/orders?status=open&symbol=CEA24', { key: m });
  return (r.body as OpenOrder[]).map(shape).sort((x, y) => Number(x.orderId) - Number(y.orderId));
}

async function restBook(): Promise<{ bids: Level[]; asks: Level[] }> {
  const b = (await api('GET', '/v1/instruments/CEA24/book?depth=20')).body;
  return { bids: b.bids, asks: b.asks };
}

/** A connection subscribed to the book (and, with a member's key, to its orders). */
async function subscriber(m: Member | null): Promise<SocketClient> {
  const c = await openSocket(s.wsUrl);
  sockets.push(c);
  if (m !== null) {
    c.send({ op: 'auth', key: KEYS[m] });
    await c.next((x) => x.type === 'authenticated');
  }
  const channels = m === null ? ['book:CEA24'] : ['book:CEA24', 'orders'];
  c.send({ op: 'subscribe', channels });
  await c.next((x) => x.type === 'subscribed');
  for (const ch of channels) await c.next((x) => x.channel === ch && x.type === 'snapshot');
  return c;
}

t.test('book and orders rebuilt from snapshot + updates equal the REST views at every quiet point', async (t) => {
  const watcher = await subscriber(null);
  const members = { M1: await subscriber('M1'), M2: await subscriber('M2'), M3: await subscriber('M3') };
  let runs = 0;
  let actions = 0;
  let deepest = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 30, size: "medium" }), fc.boolean(), async (batch, together) => {
      runs++;
      actions += batch.length;
      // One after another, or all at once (so that several land in one journal batch and window).
      // A REST book read while they are taken: the updates after its seq bring it up to date.
      let midway: { seq: number; bids: Level[]; asks: Level[] };
      if (together) [midway] = await Promise.all([api('GET', '/v1/instruments/CEA24/book?depth=20').then((r) => r.body), ...batch.map(perform)]);
      else {
        await perform(batch[0]);
        midway = (await api('GET', '/v1/instruments/CEA24/book?depth=20')).body;
        for (const a of batch.slice(1)) await perform(a);
      }

      // A late joiner's snapshot must agree as well.
      const late = runs % 10 === 0 ? await subscriber(null) : null;
      for (const c of [watcher, ...(late === null ? [] : [late])]) {
        await barrier(c, 'book:CEA24');
        const rest = await restBook();
        const local = localBook(c.messages);
        if (JSON.stringify(local) !== JSON.stringify(rest)) throw new Error(`book differs\nlocal ${JSON.stringify(local)}\nREST  ${JSON.stringify(rest)}`);
      }
      if (late !== null) { await late.close(); sockets.splice(sockets.indexOf(late), 1); }
      // The REST book read midway, with the updates whose exchangeSeq is past its seq applied, is the book now.
      const book = watcher.messages.filter((m) => m.channel === 'book:CEA24');
      const exchangeSeqs = book.map((m) => m.exchangeSeq as number);
      if (!exchangeSeqs.every((x, i) => Number.isInteger(x) && (i === 0 || x > exchangeSeqs[i - 1]))) throw new Error(`exchangeSeq not rising: ${exchangeSeqs.slice(-10).join(' ')}`);
      const caughtUp = localBook([{ channel: 'book:CEA24', type: 'snapshot', seq: 0, bids: midway.bids, asks: midway.asks }, ...book.filter((m) => m.type === 'update' && m.exchangeSeq > midway.seq)]);
      const now = await restBook();
      if (JSON.stringify(caughtUp) !== JSON.stringify(now)) throw new Error(`REST book at seq ${midway.seq} + updates differs\ncaught up ${JSON.stringify(caughtUp)}\nREST      ${JSON.stringify(now)}`);
      if (midway.seq < (exchangeSeqs.at(-1) as number)) tally.caughtUp++;
      for (const m of MEMBERS) {
        const c = members[m];
        await barrier(c, 'orders');
        const local = localOrders(c.messages);
        const rest = await restOrders(m);
        if (JSON.stringify(local) !== JSON.stringify(rest)) throw new Error(`${m}'s open orders differ\nlocal ${JSON.stringify(local)}\nREST  ${JSON.stringify(rest)}`);
        const gaps = seqGaps(c.messages);
        if (gaps.length > 0) throw new Error(`${m}: ${gaps.join('; ')}`);
      }
      const gaps = seqGaps(watcher.messages);
      if (gaps.length > 0) throw new Error(gaps.join('; '));
      const deep = (await api('GET', '/v1/instruments/CEA24/book?depth=50')).body;
      deepest = Math.max(deepest, deep.bids.length, deep.asks.length);
    }),
    { numRuns: 200, endOnFailure: true },
  );
  // The runs must have exercised what the property is about, not passed on an idle book.
  t.ok(deepest > 20, `the book grew beyond the 20 levels a subscriber sees (deepest side ${deepest} levels)`);
  t.ok(tally.caughtUp > 0, `${tally.caughtUp} REST books were caught up by later updates`);
  t.ok(tally.trades > 0 && tally.cancelled > 0 && tally.modified > 0 && tally.refused > 0,
    `${runs} runs, ${actions} actions: ${tally.trades} trades, ${tally.cancelled} cancels, ${tally.modified} modifications, ${tally.refused} refusals`);
});
