// A repeated clientOrderId applied just before an end of day that commits before the repeat is
// answered: the answer is the first request's object as that closed day ended it (read from the
// journal), never an empty one. The journal's commits are held back (a second connection to the real
// journal file takes its write lock) so that the repeats and the end of day are applied, in that
// order, before any of them commits.
import t from 'tap';
import { expectOk, holdCommits, sendApplied, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());
const engine = s.exchange.gateway.engine;

t.test('repeats answered after the end of day that followed them show what the day ended with', async (t) => {
  const order = () => s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', type: 'limit', price: '57.46', quantity: 100, clientOrderId: 'ord-x' } });
  const block = () => s.api('POST', '/v1/block-trades', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 100_000, counterpartyAccountId: 'M1-C1', clientOrderId: 'blk-x' } });
  const auction = () => s.api('POST', '/v1/auctions', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', quantity: 100_000, pricing: 'uniform', clientOrderId: 'auc-x' } });
  let auctionId = '';
  const bid = () => s.api('POST', `/v1/auctions/${auctionId}/bids`, { key: 'M2', body: { accountId: 'M2-C1', price: '58.00', quantity: 40_000, clientOrderId: 'bid-x' } });

  const placed = await order();
  expectOk(t, placed, 201);
  const orderId = placed.body.order.orderId as string;
  const hit = await s.api('POST', '/v1/orders', { key: 'M2', body: { accountId: 'M2-C1', symbol: 'CEA24', side: 'buy', type: 'limit', price: '57.46', quantity: 11 } });
  t.equal(hit.body.fills.length, 1, 'the sell is filled 11 t');
  const fillsBefore = (await s.api('GET', '/v1/fills', { key: 'M1' })).body.filter((f: { orderId: string }) => f.orderId === orderId)
    .map((f: Record<string, unknown>) => ({ tradeId: f.tradeId, price: f.price, quantity: f.quantity, fee: f.fee, time: f.time }));
  t.equal(fillsBefore.length, 1);
  const proposed = await block();
  expectOk(t, proposed, 201);
  const opened = await auction();
  expectOk(t, opened, 201);
  auctionId = opened.body.auction.auctionId;
  const bidded = await bid();
  expectOk(t, bidded, 201);

  const release = holdCommits(s.dataDir);
  const repeats = [await sendApplied(s, order), await sendApplied(s, block), await sendApplied(s, auction), await sendApplied(s, bid)];
  const day = engine.tradingDate;
  const eod = await sendApplied(s, () => s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} }));
  t.not(engine.tradingDate, day, 'the end of day is applied after the repeats, none committed yet');
  release();
  const [o, b, a, bd] = await Promise.all(repeats.map((r) => r.reply));
  expectOk(t, await eod.reply, 200);

  t.equal(o.status, 200);
  t.match(o.body, {
    order: { orderId, clientOrderId: 'ord-x', accountId: 'M1-C1', status: 'expired', quantity: 100, filledQuantity: 11, remainingQuantity: 0, avgPrice: '57.46' },
    duplicate: true,
  }, 'the order as the day ended it');
  t.same(o.body.fills, fillsBefore, 'with its fill');
  t.equal(b.status, 200);
  t.match(b.body, { blockId: proposed.body.blockId, status: 'expired', block: { blockId: proposed.body.blockId, status: 'expired', reason: 'end_of_day', proposerAccountId: 'M3-C1' }, duplicate: true });
  t.equal(a.status, 200);
  t.match(a.body, { auction: { auctionId, accountId: 'M1-C1', status: 'closed', filled: 40_000 }, duplicate: true }, 'allocated at the close of the day');
  t.equal(bd.status, 200);
  t.match(bd.body, { bid: { bidId: bidded.body.bid.bidId, auctionId, status: 'filled', filled: 40_000, tradePrice: '58.00' }, duplicate: true });
});
