// clientOrderId beyond orders, on a real server with real `ws` clients and a real SQLite data
// directory: a member that lost the answer to a block proposal or counter, an auction opening or a bid sends it
// again with the same clientOrderId and gets the first one back (200, `duplicate: true`, as it
// stands now) instead of a second freeze; other terms, or an id already used by another request of
// the account that day, are 409 CLIENT_ORDER_ID_REUSED; nothing is published twice; and a restart on
// the same data directory keeps it all.
import t from 'tap';
import { expectError, KEYS, startServer, subscribedSocket, type SocketClient, type TestServer } from '../support/server.ts';

let s: TestServer = await startServer();
const dataDir = s.dataDir;
t.teardown(() => s.close());

const subscribed = (channels: string[], key?: string): Promise<SocketClient> => subscribedSocket(t, s.wsUrl, channels, key);
const propose = (body: Record<string, unknown> = {}) => s.api('POST', '/v1/block-trades', {
  key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.46', quantity: 100_000, clientOrderId: 'blk-1', ...body },
});
const open = (body: Record<string, unknown> = {}) => s.api('POST', '/v1/auctions', {
  key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', quantity: 100_000, pricing: 'uniform', clientOrderId: 'auc-1', ...body },
});
const bid = (auctionId: string, body: Record<string, unknown> = {}) => s.api('POST', `/v1/auctions/${auctionId}/bids`, {
  key: 'M2', body: { accountId: 'M2-C1', price: '58.00', quantity: 40_000, clientOrderId: 'bid-1', ...body },
});
const frozen = async (key: string, accountId: string) => {
  const a = (await s.api('GET', `/v1/account?accountId=${accountId}`, { key })).body;
  return { cash: a.cash.frozen, tonnes: a.holdings.find((h: { symbol: string }) => h.symbol === 'CEA24')?.frozen ?? 0 };
};
const ids: Record<string, string> = {};

t.test('a repeated block proposal answers the first one, as it stands now', async (t) => {
  const m1 = await subscribed(['orders'], KEYS.M1);
  const first = await propose();
  t.equal(first.status, 201);
  t.match(first.body, { status: 'proposed', duplicate: false });
  ids.block = first.body.blockId;
  const held = await frozen('M1', 'M1-C1');
  t.equal(held.tonnes, 100_000, 'the proposal froze its tonnes');

  const again = await propose();
  t.equal(again.status, 200);
  t.match(again.body, { blockId: ids.block, status: 'proposed', block: { blockId: ids.block, proposerAccountId: 'M1-C1', quantity: 100_000 }, trade: null, duplicate: true });
  t.same(await frozen('M1', 'M1-C1'), held, 'frozen once');
  t.equal((await s.api('GET', '/v1/block-trades?status=proposed', { key: 'M1' })).body.length, 1, 'one proposal');
  expectError(t, await propose({ price: '57.50' }), 409, 'CLIENT_ORDER_ID_REUSED', new RegExp(`block proposal ${ids.block} with other terms`));
  expectError(t, await propose({ clientOrderId: 'has space' }), 400, 'INVALID_REQUEST', /clientOrderId/);

  // The counterparty takes it; a late retry answers the executed proposal and trades nothing more.
  const counter = () => s.api('POST', `/v1/block-trades/${ids.block}/counter`, { key: 'M2', body: { accountId: 'M2-C1', price: '57.46', quantity: 100_000, clientOrderId: 'ctr-1' } });
  const taken = await counter();
  t.equal(taken.status, 200, taken.text);
  t.match(taken.body, { status: 'proposed', block: { inReplyTo: ids.block }, duplicate: false }, 'a reply of its own');
  const m2held = await frozen('M2', 'M2-C1');
  t.match(await counter(), { status: 200, body: { blockId: taken.body.blockId, duplicate: true } }, 'a repeated counter answers the first reply');
  t.same(await frozen('M2', 'M2-C1'), m2held, 'and freezes nothing more');
  t.equal((await s.api('GET', '/v1/block-trades?status=proposed', { key: 'M2' })).body.filter((b: { inReplyTo: string | null }) => b.inReplyTo === ids.block).length, 1, 'one reply');
  const accepted = await s.api('POST', `/v1/block-trades/${taken.body.blockId}/accept`, { key: 'M1', body: { accountId: 'M1-C1' } });
  t.match(accepted.body, { status: 'executed', trade: { quantity: 100_000 }, duplicate: false });
  const late = await propose();
  t.equal(late.status, 200);
  t.match(late.body, { blockId: ids.block, status: 'withdrawn', block: { reason: 'reply_executed' }, duplicate: true }, 'the proposal its answer ended');
  t.same(await frozen('M1', 'M1-C1'), { cash: '0.00', tonnes: 0 }, 'nothing frozen again');
  t.match((await s.api('GET', '/v1/account?accountId=M1-C1', { key: 'M1' })).body.holdings.find((h: { symbol: string }) => h.symbol === 'CEA24'), { available: 200_000 }, 'sold once');
  // Published once: the proposal's messages on the member's channel are the first proposal and its end.
  await m1.next((m) => m.block?.blockId === ids.block && m.block.status !== 'proposed');
  t.equal(m1.on('orders').filter((m) => m.block?.blockId === ids.block && m.block.status === 'proposed').length, 1, 'one proposal published');
});

t.test('a repeated auction opening answers the first auction', async (t) => {
  const m1 = await subscribed(['orders'], KEYS.M1);
  const first = await open();
  t.equal(first.status, 201);
  ids.auction = first.body.auction.auctionId;
  t.equal(first.body.duplicate, false);
  const held = await frozen('M1', 'M1-C1');
  const again = await open({ reservePct: '0' });
  t.equal(again.status, 200);
  t.match(again.body, { auction: { auctionId: ids.auction, accountId: 'M1-C1', status: 'open' }, trades: [], duplicate: true });
  t.same(await frozen('M1', 'M1-C1'), held, 'frozen once');
  t.equal((await s.api('GET', '/v1/auctions?status=open')).body.length, 1, 'one auction');
  expectError(t, await open({ pricing: 'pay_as_bid' }), 409, 'CLIENT_ORDER_ID_REUSED', new RegExp(`auction ${ids.auction} with other terms`));
  // The id names that auction for the account all day: not an order, not a block proposal.
  expectError(t, await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '60.00', quantity: 100, clientOrderId: 'auc-1' } }),
    409, 'CLIENT_ORDER_ID_REUSED', new RegExp(`auction ${ids.auction}, not for a new order`));
  expectError(t, await propose({ clientOrderId: 'auc-1' }), 409, 'CLIENT_ORDER_ID_REUSED', /not for a new block proposal/);
  t.equal((await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C2', symbol: 'HBEA', side: 'buy', type: 'limit', price: '40.00', quantity: 100, clientOrderId: 'auc-1' } })).status, 201,
    'another account of the member may use it');
  // Published once: the member heard one opening.
  const opened = await m1.next((m) => m.type === 'auction' && m.auction.auctionId === ids.auction);
  t.equal(opened.auction.status, 'open');
  t.equal(m1.on('orders').filter((m) => m.type === 'auction').length, 1, 'one auction message');
});

t.test('a repeated bid answers the first bid, before and after the close', async (t) => {
  const m2 = await subscribed(['orders'], KEYS.M2);
  const first = await bid(ids.auction);
  t.equal(first.status, 201);
  ids.bid = first.body.bid.bidId;
  const held = await frozen('M2', 'M2-C1');
  t.equal(held.cash, '2320000.00', '58.00 × 40,000 frozen');
  const again = await bid(ids.auction);
  t.equal(again.status, 200);
  t.match(again.body, { bid: { bidId: ids.bid, status: 'open', price: '58.00' }, duplicate: true });
  t.same(await frozen('M2', 'M2-C1'), held, 'frozen once');
  expectError(t, await bid(ids.auction, { quantity: 40_001 }), 409, 'CLIENT_ORDER_ID_REUSED', new RegExp(`auction bid ${ids.bid} with other terms`));
  t.equal((await s.api('GET', `/v1/auctions/${ids.auction}/bids`, { key: 'M2' })).body.length, 1, 'one bid');

  const closed = await s.api('POST', `/v1/auctions/${ids.auction}/close`, { key: 'operator' });
  t.match(closed.body, { auction: { status: 'closed', filled: 40_000 }, duplicate: false });
  const late = await bid(ids.auction);
  t.equal(late.status, 200, 'not AUCTION_NOT_OPEN: the retry finds its bid');
  t.match(late.body, { bid: { bidId: ids.bid, status: 'filled', filled: 40_000, tradePrice: '58.00' }, duplicate: true });
  await m2.next((m) => m.type === 'bid' && m.bid.status === 'filled');
  t.same(m2.on('orders').filter((m) => m.type === 'bid').map((m) => m.bid.status), ['open', 'filled'], 'one placement, one result');
});

t.test('after a restart on the same data directory, the retries still find the first requests', async (t) => {
  await s.stop();
  s = await startServer({ dataDir });
  t.match((await propose()).body, { blockId: ids.block, status: 'withdrawn', duplicate: true });
  t.match((await open()).body, { auction: { auctionId: ids.auction, status: 'closed' }, duplicate: true });
  t.match((await bid(ids.auction)).body, { bid: { bidId: ids.bid, status: 'filled' }, duplicate: true });
  expectError(t, await bid(ids.auction, { price: '58.01' }), 409, 'CLIENT_ORDER_ID_REUSED');
  const fresh = await propose({ clientOrderId: 'blk-2' });
  t.equal(fresh.status, 201);
  t.ok(Number(fresh.body.blockId) > Number(ids.block), 'a new id is a new proposal');
});
