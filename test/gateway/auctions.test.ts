// One-way auctions over HTTP and WebSocket, on a real server with real `ws` clients: a member opens
// an auction, others bid (sealed: the public, the initiator and other members see no bid), the roles
// (members bid, an operator closes, a risk officer or an operator cancels), the allocation and its
// trades in the reply, on the `auctions` channel, in each bidder's `orders` channel and in the public
// trades list, not on the listed `trades` channel; every refusal's status and code; and a closed day's auctions, bids and
// block proposals read back by ?date=.
import t from 'tap';
import { expectError, KEYS, seqGaps, startServer, type SocketClient, subscribedSocket } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

const subscribed = (channels: string[], key?: string): Promise<SocketClient> => subscribedSocket(t, s.wsUrl, channels, key);
const open = (body: Record<string, unknown>, key = 'M1') => s.api('POST', '/v1/auctions', { key, body: { symbol: 'CEA24', side: 'sell', quantity: 100_000, pricing: 'uniform', accountId: 'M1-C1', ...body } });
const bid = (auctionId: string, key: string, body: Record<string, unknown>) => s.api('POST', `/v1/auctions/${auctionId}/bids`, { key, body });

t.test('an auction from opening to allocation, over HTTP and WebSocket', async (t) => {
  const market = await subscribed(['auctions:CEA24', 'trades:CEA24']);
  t.same(market.on('auctions:CEA24')[0].auctions, [], 'no auction yet');
  const m2 = await subscribed(['orders'], KEYS.M2);
  const m1 = await subscribed(['orders'], KEYS.M1);

  const opened = await open({});
  t.equal(opened.status, 201);
  t.match(opened.body.auction, {
    auctionId: '1', symbol: 'CEA24', side: 'sell', quantity: 100_000, pricing: 'uniform', low: '57.46', high: '63.21', status: 'open',
    bids: null, filled: 0, turnover: '0.00', clearingPrice: null, reason: null,
  });
  t.equal(opened.body.auction.accountId, 'M1-C1', 'its member is told which of its accounts offers it');
  const announced = await market.next((m) => m.channel === 'auctions:CEA24' && m.type === 'auction');
  t.match(announced, { auction: { auctionId: '1', status: 'open' } });
  t.notOk('accountId' in announced.auction, 'the public is not told the initiator');
  t.notOk('accountId' in (await s.api('GET', '/v1/auctions/1')).body, 'nor over HTTP');
  t.match(await m1.next((m) => m.channel === 'orders' && m.type === 'auction'), { auction: { auctionId: '1', accountId: 'M1-C1' } }, 'the initiator\'s member hears it, with its account');
  const again = await subscribed(['orders'], KEYS.M1);
  t.match(again.on('orders')[0].auctions, [{ auctionId: '1', accountId: 'M1-C1', status: 'open' }], 'and finds its open auctions in its orders snapshot');

  const b1 = await bid('1', 'M2', { price: '60.00', quantity: 60_000, accountId: 'M2-C1' });
  t.equal(b1.status, 201);
  t.match(b1.body.bid, { bidId: '1', auctionId: '1', accountId: 'M2-C1', side: 'buy', price: '60.00', quantity: 60_000, status: 'open', filled: 0 });
  t.match(await m2.next((m) => m.channel === 'orders' && m.type === 'bid'), { bid: { bidId: '1', status: 'open' } });
  expectError(t, await bid('1', 'M3', { price: '61.00', quantity: 50_000 }), 400, 'ACCOUNT_REQUIRED', /M3-C1/);
  t.equal((await bid('1', 'M3', { price: '61.00', quantity: 50_000, accountId: 'M3-C1' })).status, 201);
  // Sealed: another member sees only its own bids, the public sees none.
  t.same((await s.api('GET', '/v1/auctions/1/bids', { key: 'M2' })).body.map((b: { bidId: string }) => b.bidId), ['1']);
  t.same((await s.api('GET', '/v1/auctions/1/bids', { key: 'M1' })).body, []);
  t.same((await s.api('GET', '/v1/auctions/1/bids', { key: 'risk' })).body.map((b: { accountId: string }) => b.accountId), ['M2-C1', 'M3-C1'], 'a risk officer reads every bid');
  const firstPage = (await s.api('GET', '/v1/auctions/1/bids?limit=1', { key: 'risk' })).body as { bidId: string; accountId: string }[];
  t.same(firstPage.map((b) => b.accountId), ['M2-C1'], 'in pages: limit');
  t.same((await s.api('GET', `/v1/auctions/1/bids?after=${firstPage[0].bidId}`, { key: 'risk' })).body.map((b: { accountId: string }) => b.accountId), ['M3-C1'], 'and after');
  t.match((await s.api('GET', '/v1/auctions/1')).body, { status: 'open', bids: null });
  t.match((await s.api('GET', '/v1/account?accountId=M2-C1', { key: 'M2' })).body, { cash: { frozen: '3600000.00' } }, 'the bid froze 60.00 × 60,000');

  // Only an operator closes it.
  expectError(t, await s.api('POST', '/v1/auctions/1/close', { key: 'M1' }), 403, 'NOT_PERMITTED');
  expectError(t, await s.api('POST', '/v1/auctions/1/close', { key: 'risk' }), 403, 'NOT_PERMITTED');
  const closed = await s.api('POST', '/v1/auctions/1/close', { key: 'operator' });
  t.equal(closed.status, 200);
  t.match(closed.body.auction, { status: 'closed', filled: 100_000, bids: 2, clearingPrice: '60.00', turnover: '6000000.00' });
  t.same(closed.body.trades.map((x: { buyAccountId: string; quantity: number; price: string }) => [x.buyAccountId, x.quantity, x.price]),
    [['M3-C1', 50_000, '60.00'], ['M2-C1', 50_000, '60.00']], 'the best bid first, the marginal one in part, all at the last accepted price');

  // The market hears the trades and the result on the auctions channel, not on the listed trades channel.
  const result = await market.next((m) => m.channel === 'auctions:CEA24' && m.type === 'auction' && m.auction.status === 'closed');
  t.match(result, { auction: { auctionId: '1', filled: 100_000, clearingPrice: '60.00' } });
  t.equal(market.on('auctions:CEA24').filter((m) => m.type === 'trade').length, 2);
  t.same(market.on('trades:CEA24').filter((m) => m.type === 'trade'), [], 'auction trades are not listed trades');
  // Each bidder hears its fill and its bid's outcome.
  t.match(await m2.next((m) => m.channel === 'orders' && m.type === 'bid' && m.bid.status !== 'open'), { bid: { bidId: '1', status: 'partially_filled', filled: 50_000, tradePrice: '60.00' } });
  t.match(m2.on('orders').find((m) => m.type === 'execution' && m.fill !== undefined), { fill: { accountId: 'M2-C1', quantity: 50_000, price: '60.00', mode: 'auction', orderId: null, auctionId: '1', bidId: '1' } },
    'its fill came before, naming the auction and the bid');
  const sold = m1.on('orders').filter((m) => m.type === 'execution' && m.fill !== undefined).map((m) => m.fill);
  t.same(sold.map((f) => [f.accountId, f.side, f.quantity, f.auctionId, f.bidId]), [['M1-C1', 'sell', 50_000, '1', null], ['M1-C1', 'sell', 50_000, '1', null]],
    'the initiator\'s fills name the auction, not the sealed bids');
  const m2Fills = (await s.api('GET', '/v1/fills', { key: 'M2' })).body as { mode: string }[];
  t.match(m2Fills.filter((f) => f.mode === 'auction'), [{ accountId: 'M2-C1', auctionId: '1', bidId: '1', orderId: null, blockId: null }], 'GET /v1/fills names them too');
  t.match((await s.api('GET', '/v1/fills', { key: 'M1' })).body.filter((f: { mode: string }) => f.mode === 'auction'), [{ auctionId: '1', bidId: null }, { auctionId: '1', bidId: null }]);
  t.match((await s.api('GET', '/v1/account?accountId=M2-C1', { key: 'M2' })).body, { cash: { frozen: '0.00' } }, 'the rest of the bid\'s freeze is released');
  t.match((await s.api('GET', '/v1/instruments/CEA24/ticker')).body, { auctionVolume: 100_000, auctionTurnover: '6000000.00' });
  // The public trades list has them, newest first, with the listed and block trades, or alone.
  const ids = closed.body.trades.map((x: { tradeId: string }) => x.tradeId).reverse();
  const publicTrades = (await s.api('GET', '/v1/instruments/CEA24/trades')).body as { tradeId: string; mode: string; price: string; quantity: number; aggressor: null }[];
  t.same(publicTrades.filter((x) => x.mode === 'auction').map((x) => [x.tradeId, x.price, x.quantity, x.aggressor]), ids.map((id: string) => [id, '60.00', 50_000, null]), 'the public trades list shows the auction trades');
  t.same((await s.api('GET', '/v1/instruments/CEA24/trades?mode=auction')).body.map((x: { tradeId: string }) => x.tradeId), ids, 'alone with ?mode=auction');
  t.same((await s.api('GET', '/v1/instruments/CEA24/trades?mode=listed')).body.filter((x: { mode: string }) => x.mode !== 'listed'), [], 'and not with ?mode=listed');
  t.same((await s.api('GET', '/v1/instruments/CEA24/trades?mode=auction&limit=1')).body.map((x: { tradeId: string }) => x.tradeId), ids.slice(0, 1), 'the newest first');
  expectError(t, await s.api('GET', '/v1/instruments/CEA24/trades?mode=pick'), 400, 'INVALID_REQUEST', /mode/);
  // A later subscriber's snapshot has the day's auctions.
  const late = await subscribed(['auctions:CEA24']);
  t.match(late.on('auctions:CEA24')[0].auctions, [{ auctionId: '1', status: 'closed', filled: 100_000 }]);
  for (const c of [market, m1, m2, late]) t.same(seqGaps(c.messages), []);
  // The audit trail names the auction as every answer does, by a string of digits.
  const audit = (await s.api('GET', '/v1/risk/audit', { key: 'risk' })).body as { action: string; what: Record<string, unknown> }[];
  t.same(audit.filter((e) => e.action === 'closeAuction').map((e) => e.what), [{ auctionId: '1' }], 'the close, audited with its auction id as a string');
});

t.test('refusals: each with its status and code, nothing applied', async (t) => {
  expectError(t, await open({ quantity: 99_999 }), 422, 'AUCTION_TOO_SMALL');
  expectError(t, await open({ pricing: 'dutch' }), 400, 'INVALID_REQUEST');
  expectError(t, await open({ reservePct: '5' }), 400, 'INVALID_COMMAND', /"0", "10"/);
  expectError(t, await open({ accountId: 'M2-C1' }), 403, 'ACCOUNT_NOT_OWNED');
  expectError(t, await open({}, 'risk'), 403, 'NOT_PERMITTED');
  expectError(t, await bid('1', 'M2', { price: '60.00', quantity: 10, accountId: 'M2-C1' }), 409, 'AUCTION_NOT_OPEN');
  expectError(t, await bid('99', 'M2', { price: '60.00', quantity: 10, accountId: 'M2-C1' }), 404, 'UNKNOWN_AUCTION');
  expectError(t, await s.api('GET', '/v1/auctions/99'), 404, 'UNKNOWN_AUCTION');
  expectError(t, await s.api('GET', '/v1/auctions?symbol=NOPE'), 404, 'UNKNOWN_INSTRUMENT');

  const market = await subscribed(['auctions:CEA24']);
  const m1 = await subscribed(['orders'], KEYS.M1);
  const second = await open({ reservePct: '10', pricing: 'pay_as_bid' });
  t.equal(second.status, 201);
  const id = second.body.auction.auctionId as string;
  t.equal(second.body.auction.low, '51.71', 'bids down to 10 % below the close');
  expectError(t, await bid(id, 'M2', { price: '50.00', quantity: 10, accountId: 'M2-C1' }), 422, 'PRICE_OUT_OF_BAND');
  expectError(t, await bid(id, 'M2', { price: 'cheap', quantity: 10, accountId: 'M2-C1' }), 400, 'INVALID_REQUEST');
  expectError(t, await bid(id, 'M1', { price: '60.00', quantity: 10, accountId: 'M1-C1' }), 422, 'SELF_TRADE');
  const placed = await bid(id, 'M2', { price: '55.00', quantity: 1000, accountId: 'M2-C1' });
  t.equal(placed.status, 201);
  expectError(t, await s.api('DELETE', `/v1/auctions/${id}/bids/${placed.body.bid.bidId}`, { key: 'M3' }), 404, 'UNKNOWN_BID');
  expectError(t, await s.api('DELETE', `/v1/auctions/${id}/bids/${placed.body.bid.bidId}`, { key: 'M2', body: { quantity: 5 } }), 400, 'INVALID_REQUEST');
  const withdrawn = await s.api('DELETE', `/v1/auctions/${id}/bids/${placed.body.bid.bidId}`, { key: 'M2' });
  t.equal(withdrawn.status, 200);
  t.match(withdrawn.body.bid, { status: 'cancelled', reason: 'withdrawn' });
  expectError(t, await s.api('DELETE', `/v1/auctions/${id}/bids/${placed.body.bid.bidId}`, { key: 'M2' }), 409, 'BID_NOT_OPEN', /no longer open \(cancelled\)/);

  // Nothing executes on a halted instrument: the close waits.
  t.equal((await bid(id, 'M3', { price: '56.00', quantity: 2000, accountId: 'M3-C1' })).status, 201);
  t.equal((await s.api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { status: 'halted', reason: 'news' } })).status, 200);
  expectError(t, await s.api('POST', `/v1/auctions/${id}/close`, { key: 'operator' }), 503, 'INSTRUMENT_HALTED');
  t.equal((await s.api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { status: 'trading', reason: 'resumed' } })).status, 200);
  // A risk control lists the bids and auctions it ended.
  const restricted = await s.api('PATCH', '/v1/risk/accounts/M3-C1', { key: 'risk', body: { restriction: 'no_buy', reason: 'inquiry' } });
  t.match(restricted.body, { cancelled: [], withdrawnBlocks: [], withdrawnBids: [String(Number(placed.body.bid.bidId) + 1)], cancelledAuctions: [] });
  // The initiator's own restriction cancels its auction: the public reads no risk control in the reason.
  const mine = await open({ quantity: 100_000, accountId: 'M1-I1' });
  t.equal(mine.status, 201);
  const ended = await s.api('PATCH', '/v1/risk/accounts/M1-I1', { key: 'risk', body: { restriction: 'no_sell', reason: 'inquiry' } });
  t.same(ended.body.cancelledAuctions, [mine.body.auction.auctionId]);
  t.match((await s.api('GET', `/v1/auctions/${mine.body.auction.auctionId}`)).body, { status: 'cancelled', reason: 'cancelled_by_exchange', openedAt: mine.body.auction.openedAt });
  t.equal((await s.api('PATCH', '/v1/risk/accounts/M1-I1', { key: 'risk', body: { restriction: 'none', reason: 'cleared' } })).status, 200);
  t.equal((await s.api('PATCH', '/v1/risk/accounts/M3-C1', { key: 'risk', body: { restriction: 'none', reason: 'cleared' } })).status, 200);

  // A risk officer (or an operator) cancels an auction, with a reason.
  expectError(t, await s.api('POST', `/v1/auctions/${id}/cancel`, { key: 'risk', body: {} }), 400, 'INVALID_REQUEST');
  expectError(t, await s.api('POST', `/v1/auctions/${id}/cancel`, { key: 'M1', body: { reason: 'mine' } }), 403, 'NOT_PERMITTED');
  const cancelled = await s.api('POST', `/v1/auctions/${id}/cancel`, { key: 'risk', body: { reason: 'announced in error' } });
  t.equal(cancelled.status, 200);
  t.match(cancelled.body, { auction: { status: 'cancelled', reason: 'announced in error', filled: 0 }, trades: [] });
  // The officer's words are for the officers and the initiator's member (on its orders channel);
  // the public reads cancelled_by_exchange, over HTTP and on the auctions channel.
  t.match((await s.api('GET', `/v1/auctions/${id}`)).body, { status: 'cancelled', reason: 'cancelled_by_exchange' }, 'the public');
  t.match(await m1.next((m) => m.channel === 'orders' && m.type === 'auction' && m.auction.auctionId === id && m.auction.status === 'cancelled'), { auction: { reason: 'announced in error' } }, 'the initiator\'s member');
  t.match(await market.next((m) => m.channel === 'auctions:CEA24' && m.type === 'auction' && m.auction.auctionId === id && m.auction.status === 'cancelled'), { auction: { reason: 'cancelled_by_exchange' } }, 'the auctions channel');
  const late = await subscribed(['auctions:CEA24']);
  t.match(late.on('auctions:CEA24')[0].auctions.find((a: { auctionId: string }) => a.auctionId === id), { reason: 'cancelled_by_exchange' }, 'its snapshot');
  t.same((await s.api('GET', '/v1/auctions?status=cancelled')).body.map((a: { auctionId: string }) => a.auctionId), [id, mine.body.auction.auctionId]);
  t.same((await s.api('GET', '/v1/auctions?status=open')).body, []);
});

t.test('a band change withdraws the bids outside it and cancels an auction with no price left in it, and its answer says which', async (t) => {
  const opened = await open({ reservePct: null });
  t.equal(opened.status, 201);
  const a = opened.body.auction as { auctionId: string; low: string; high: string };
  const high = await bid(a.auctionId, 'M2', { price: a.high, quantity: 1000, accountId: 'M2-C1' });
  const low = await bid(a.auctionId, 'M3', { price: a.low, quantity: 1000, accountId: 'M3-C1' });
  t.equal(high.status, 201);
  t.equal(low.status, 201);
  const band = (body: Record<string, unknown>) => s.api('PATCH', '/v1/risk/instruments/CEA24', { key: 'risk', body: { reason: 'test', ...body } });
  const narrowed = await band({ listedBandPct: '1' });
  t.equal(narrowed.status, 200);
  t.match(narrowed.body, { withdrawnBids: [high.body.bid.bidId], cancelledAuctions: [] }, 'the bid at the top of the range is outside ±1 %');
  const moved = await band({ referencePrice: (Number(a.low) * 0.8).toFixed(2) });
  t.equal(moved.status, 200);
  t.match(moved.body, { withdrawnBids: [low.body.bid.bidId], cancelledAuctions: [a.auctionId] }, 'no price of the auction is left in the band: cancelled, its bid withdrawn');
  t.match((await s.api('GET', `/v1/auctions/${a.auctionId}`)).body, { status: 'cancelled', reason: 'price_out_of_band' });
  const restored = await band({ listedBandPct: '10', referencePrice: opened.body.auction.low });
  t.match(restored.body, { withdrawnBids: [], cancelledAuctions: [] });
});

t.test('the end of day allocates what is open, says so, and ends the day\'s list; the closed day is read by ?date=', async (t) => {
  const market = await subscribed(['auctions:CEA24', 'ticker:CEA24']);
  const opened = await open({ reservePct: null });
  t.equal(opened.status, 201, 'reservePct: null is the venue\'s first reserve');
  t.equal(opened.body.auction.low, '57.46');
  const id = opened.body.auction.auctionId as string;
  t.equal((await bid(id, 'M2', { price: '58.00', quantity: 7000, accountId: 'M2-C1' })).status, 201);
  // What the day's readers see before its end: the auctions already over, and every bid of the day.
  const over = (await s.api('GET', '/v1/auctions')).body.filter((a: { status: string }) => a.status !== 'open');
  t.ok(over.length >= 1, 'the first test\'s auction is over');
  const bidsOf = async (auctionId: string, key: string, date?: string) =>
    s.api('GET', `/v1/auctions/${auctionId}/bids${date === undefined ? '' : `?date=${date}`}`, { key });
  const liveBids = new Map<string, unknown>();
  for (const a of over) for (const key of ['M2', 'M3', 'risk']) liveBids.set(`${a.auctionId} ${key}`, (await bidsOf(a.auctionId, key)).body);
  // Two block proposals left open at the close: M1's to M2, and M3's open to all.
  const named = await s.api('POST', '/v1/block-trades', { key: 'M1', body: { accountId: 'M1-C1', symbol: 'CEA24', side: 'sell', price: '57.46', quantity: 100_000, counterpartyAccountId: 'M2-C1' } });
  t.equal(named.status, 201, named.text);
  const anyone = await s.api('POST', '/v1/block-trades', { key: 'M3', body: { accountId: 'M3-C1', symbol: 'CEA24', side: 'sell', price: '57.46', quantity: 100_000 } });
  t.equal(anyone.status, 201, anyone.text);
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  t.equal(eod.status, 200);
  t.equal(eod.body.endedAuctions, 1);
  t.match(eod.body.instruments.find((i: { symbol: string }) => i.symbol === 'CEA24'), { auctionVolume: 107_000 }, 'the day\'s: the first test\'s 100,000 t and these 7,000');
  const allocated = await market.next((m) => m.channel === 'auctions:CEA24' && m.type === 'auction' && m.auction.status === 'closed');
  t.equal(allocated.auction.openedAt, opened.body.auction.openedAt, 'an auction the end of day allocated keeps its opening time');
  t.not(allocated.auction.time, opened.body.auction.openedAt);
  t.match(await market.next((m) => m.channel === 'auctions:CEA24' && m.type === 'endOfDay'), { date: eod.body.date, nextDate: eod.body.nextDate });
  t.same((await s.api('GET', '/v1/auctions')).body, [], 'the next day starts with none');
  // The ticker: the closed day's last, with what the end of day allocated and the official close
  // (the market report's figures), then the next day's.
  const marketReport = await s.api('GET', `/v1/settlement/${eod.body.date}/market`, { key: 'operator' });
  t.equal(marketReport.status, 200, marketReport.text.slice(0, 200));
  const report = (marketReport.body as { symbol: string }[]).find((i) => i.symbol === 'CEA24') as Record<string, unknown>;
  const final = await market.next((m) => m.channel === 'ticker:CEA24' && m.type === 'update' && m.ticker.date === eod.body.date, 0, 3000);
  t.match(final.ticker, {
    close: report.close, auctionVolume: 107_000, auctionTurnover: report.auctionTurnover, volume: report.totalVolume, turnover: report.totalTurnover,
    cumulativeVolume: report.cumulativeVolume, changePct: report.changePct, average: report.average,
  }, 'the closed day\'s last ticker has the auction the end of day allocated, and the official close');
  const rolled = await market.next((m) => m.channel === 'ticker:CEA24' && m.type === 'update', market.messages.indexOf(final) + 1, 3000);
  t.match(rolled.ticker, { date: eod.body.nextDate, close: null, prevClose: report.close, auctionVolume: 0, cumulativeVolume: report.cumulativeVolume }, 'then the next day\'s');
  t.same(seqGaps(market.messages), []);

  // The closed day, by ?date=: the auctions over before its end as they were read live; the one
  // its end allocated, closed; every bid as it ended, sealed as live; the block proposals expired.
  const date = eod.body.date as string;
  const closedDay = (await s.api('GET', `/v1/auctions?date=${date}`)).body as { auctionId: string; status: string }[];
  t.same(closedDay.filter((a) => a.auctionId !== id), over, 'the auctions over before the end, as read live');
  t.match(closedDay.find((a) => a.auctionId === id), { status: 'closed', reason: 'end_of_day', filled: 7000, openedAt: opened.body.auction.openedAt });
  t.notOk(closedDay.some((a) => 'accountId' in a), 'never naming the initiator');
  t.same((await s.api('GET', `/v1/auctions/${id}?date=${date}`)).body, closedDay.find((a) => a.auctionId === id), 'one of them by id');
  t.same((await s.api('GET', `/v1/auctions?date=${date}&status=cancelled&symbol=CEA24`)).body, closedDay.filter((a) => a.status === 'cancelled'), 'filtered by status');
  for (const [which, read] of liveBids) {
    const [auctionId, key] = which.split(' ');
    t.same((await bidsOf(auctionId, key, date)).body, read, `auction ${auctionId}'s bids as ${key} read them live`);
  }
  const allocatedBid = (await bidsOf(id, 'M2', date)).body;
  t.match(allocatedBid, [{ accountId: 'M2-C1', status: 'filled', filled: 7000, tradePrice: '58.00' }], 'the bid the end allocated, filled');
  t.match((await s.api('GET', `/v1/fills?date=${date}`, { key: 'M2' })).body.filter((f: { mode: string }) => f.mode === 'auction'),
    [{ auctionId: '1', bidId: '1' }, { auctionId: id, bidId: allocatedBid[0].bidId, quantity: 7000, tradeId: allocatedBid[0].tradeId }], 'the closed day\'s fills name their auctions and bids');
  const all = liveBids.get('1 risk') as { bidId: string }[];
  t.ok(all.length >= 2);
  const paged = await s.api('GET', `/v1/auctions/1/bids?date=${date}&limit=1&after=${all[0].bidId}`, { key: 'risk' });
  t.same(paged.body, [all[1]], 'a closed day\'s bids in pages too');
  t.same((await bidsOf(id, 'M3', date)).body, [], 'sealed: another member sees none of it');
  expectError(t, await s.api('GET', `/v1/auctions/${id}/bids?date=${date}`), 401, 'UNAUTHENTICATED');
  expectError(t, await s.api('GET', `/v1/auctions/999/bids?date=${date}`, { key: 'risk' }), 404, 'UNKNOWN_AUCTION', new RegExp(`no auction 999 on ${date}`));
  expectError(t, await s.api('GET', `/v1/auctions/999?date=${date}`), 404, 'UNKNOWN_AUCTION');
  expectError(t, await s.api('GET', '/v1/auctions?date=2001-01-01'), 404, 'UNKNOWN_DAY');
  expectError(t, await s.api('GET', '/v1/auctions/1?date=20260101'), 400, 'INVALID_REQUEST');
  t.same((await s.api('GET', `/v1/auctions?date=${eod.body.nextDate}`)).body, [], 'today\'s date reads today\'s');

  const blocks = async (key: string) => (await s.api('GET', `/v1/block-trades?date=${date}`, { key })).body.map((b: { blockId: string; status: string }) => [b.blockId, b.status]);
  t.same(await blocks('M1'), [[named.body.blockId, 'expired']], 'M1 reads its proposal, expired at the end of day');
  t.same(await blocks('M2'), [[named.body.blockId, 'expired']], 'and so does its counterparty');
  t.same(await blocks('M3'), [[anyone.body.blockId, 'expired']], 'an open proposal of others that ended is not M1\'s or M2\'s');
  t.same((await s.api('GET', `/v1/block-trades?date=${date}&status=executed`, { key: 'M1' })).body, []);
  expectError(t, await s.api('GET', '/v1/block-trades?date=2001-01-01', { key: 'M1' }), 404, 'UNKNOWN_DAY');
});
