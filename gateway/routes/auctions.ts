// One-way auctions (单向竞价, MARKET-RULES section 2.3), routes beyond API.md: a member opens an
// auction for one of its accounts, other members bid (sealed: nobody sees another's bid), an
// operator closes it (allocates) or a risk officer or operator cancels it, and anyone reads today's
// auctions and, once closed, their results. Every answer comes after the journal committed it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatMoney, isoTime, parseMoney, type AuctionBidEvent, type AuctionEvent, type EngineEvent, type Result, type TradeEvent } from '../../engine/index.ts';
import {
  ACCOUNT, body, CLIENT_ORDER_ID, DATE, errorReplies, fail, ID, page, PAGE_QUERY, params, PERCENT, PRICE, principal, QUANTITY, REASON,
  pastObject, refuse, sendPastDay, submit, submitRequest, SYMBOL, unknownInstrument, unlisted, type Gateway, type PageQuery,
} from '../http.ts';
import { AUCTION_REPLY, AUCTION_VIEW, BID_REPLY, BID_VIEW } from '../replies.ts';
import { actingAccount } from './trading.ts';

/**
 * The reasons the exchange itself ends an auction for, which anyone may read. Any other (a risk
 * control on the initiator's account, or the words of the officer who cancelled it) reads
 * `cancelled_by_exchange` but to the initiator's member, risk officers and operators.
 */
const ENDINGS = new Set(['end_of_day', 'halted_at_end_of_day', 'price_out_of_band']);

/**
 * An auction as the public sees it: never its initiator, nor a bid before the close. `withAccount`
 * adds the initiating account, for its own member and for risk officers and operators.
 */
export function auctionView(a: AuctionEvent, withAccount = false) {
  const ended = a.status !== 'opened';
  const view = {
    auctionId: String(a.auctionId), symbol: a.symbol, side: a.side, quantity: a.quantity, pricing: a.pricing,
    low: formatMoney(a.low), high: formatMoney(a.high), status: ended ? a.status : 'open',
    bids: ended ? a.bids : null, filled: a.filled, turnover: formatMoney(a.turnover),
    clearingPrice: a.clearingPrice === null ? null : formatMoney(a.clearingPrice),
    reason: withAccount || a.reason === null || ENDINGS.has(a.reason) ? a.reason : 'cancelled_by_exchange',
    openedAt: isoTime(a.openedAt), time: isoTime(a.time),
  };
  return withAccount ? { ...view, accountId: a.accountId } : view;
}

export function bidView(b: AuctionBidEvent) {
  return {
    bidId: String(b.bidId), auctionId: String(b.auctionId), accountId: b.accountId, symbol: b.symbol, side: b.side,
    price: formatMoney(b.price), quantity: b.quantity, status: b.status === 'placed' ? 'open' : b.status, filled: b.filled,
    tradePrice: b.tradePrice === null ? null : formatMoney(b.tradePrice), tradeId: b.tradeId === null ? null : String(b.tradeId),
    reason: b.reason, time: isoTime(b.time),
  };
}

const member = { config: { role: 'member' as const } };
const AUCTION_PARAMS = { params: params({ auctionId: ID }) };

export function auctionRoutes(app: FastifyInstance, g: Gateway): void {
  const view = (a: AuctionEvent, withAccount = false) => auctionView(a, withAccount);
  /** The auction as a command's events left it, else as the history holds it. */
  const auctionOf = (events: readonly EngineEvent[], auctionId: number): AuctionEvent | undefined =>
    events.find((e): e is AuctionEvent => e.type === 'auction' && e.auctionId === auctionId) ?? g.history.auctions.get(auctionId);
  /** `closedDay`: a repeated opening answered on a day closed since (submitRequest): the auction as that day ended it. */
  const auctionReply = async (reply: FastifyReply, r: Result, status: number, closedDay: { date: string; accountId: string } | null = null) => {
    if (!r.ok) return refuse(reply, r);
    if (closedDay !== null) {
      const ended = await pastObject(g, { what: 'auctions', date: closedDay.date, accountIds: [closedDay.accountId], auctionId: r.auctionId as number }, 'auctionId', r.auctionId as number);
      return reply.code(200).send({ auction: ended ?? null, trades: [], duplicate: true });
    }
    // A repeat (already waited for everything applied to commit): the first request's auction as it stands now.
    const a = auctionOf(r.events, r.auctionId as number);
    const trades = r.events.filter((e): e is TradeEvent => e.type === 'trade').map((t) => ({
      tradeId: String(t.tradeId), price: formatMoney(t.price), quantity: t.quantity, buyAccountId: t.buyAccountId, sellAccountId: t.sellAccountId,
      buyFee: formatMoney(t.buyFee), sellFee: formatMoney(t.sellFee),
    }));
    // The caller opened it, or is a risk officer or an operator: the initiating account is shown.
    return reply.code(r.duplicate === true ? 200 : status).send({ auction: a === undefined ? null : view(a, true), trades, duplicate: r.duplicate === true });
  };
  /** `closedDay`: a repeated bid answered on a day closed since (submitRequest): the bid as that day ended it. */
  const bidReply = async (reply: FastifyReply, r: Result, status: number, closedDay: { date: string; accountId: string; auctionId: number } | null = null) => {
    if (!r.ok) return refuse(reply, r);
    if (closedDay !== null) {
      const ended = await pastObject(g, { what: 'bids', date: closedDay.date, accountIds: [closedDay.accountId], auctionId: closedDay.auctionId }, 'bidId', r.bidId as number);
      return reply.code(200).send({ bid: ended ?? null, duplicate: true });
    }
    // A repeat (already waited for everything applied to commit): the first request's bid as it stands now.
    const b = r.events.find((e): e is AuctionBidEvent => e.type === 'auctionBid' && e.bidId === r.bidId) ?? g.history.auctionBids.get(r.bidId as number);
    return reply.code(r.duplicate === true ? 200 : status).send({ bid: b === undefined ? null : bidView(b), duplicate: r.duplicate === true });
  };
  const auctionId = (req: FastifyRequest) => Number((req.params as { auctionId: string }).auctionId);
  const commandReplies = (...more: number[]) => errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500, 503, ...more);

  app.post<{ Body: { symbol: string; side: 'buy' | 'sell'; quantity: number; pricing: 'uniform' | 'pay_as_bid'; reservePct?: string | null; clientOrderId?: string; accountId?: string } }>('/v1/auctions', {
    ...member,
    schema: {
      body: body({
        symbol: SYMBOL, side: { enum: ['buy', 'sell'] }, quantity: QUANTITY, pricing: { enum: ['uniform', 'pay_as_bid'] }, reservePct: { ...PERCENT, type: ['string', 'null'] },
        clientOrderId: CLIENT_ORDER_ID, accountId: ACCOUNT,
      }, ['symbol', 'side', 'quantity', 'pricing']),
      // 201 for a new auction, 200 for a repeated clientOrderId (the first request's auction, as it stands now).
      response: { 201: AUCTION_REPLY, 200: AUCTION_REPLY, ...commandReplies(422) },
    },
  }, async (req, reply) => {
    const b = req.body;
    const accountId = actingAccount(g, req, reply, b.accountId);
    if (accountId === null) return reply;
    const { r, closedDay } = await submitRequest(g, req, reply, {
      type: 'openAuction', accountId, symbol: b.symbol, side: b.side, quantity: b.quantity, pricing: b.pricing, reservePct: b.reservePct ?? null,
      clientOrderId: b.clientOrderId ?? null,
    });
    return auctionReply(reply, r, 201, closedDay === null ? null : { date: closedDay, accountId });
  });

  /** A date that is not today's: the read is of a closed day's. */
  const pastDate = (date: string | undefined): date is string => date !== undefined && date !== g.engine.tradingDate;

  app.get<{ Querystring: { symbol?: string; status?: 'open' | 'closed' | 'cancelled'; date?: string } & PageQuery }>('/v1/auctions', {
    schema: {
      querystring: body({ symbol: SYMBOL, status: { enum: ['open', 'closed', 'cancelled'] }, date: DATE, ...PAGE_QUERY }),
      response: { 200: { type: 'array', items: AUCTION_VIEW }, ...errorReplies(400, 404, 429, 500) },
    },
  }, async (req, reply) => {
    const q = req.query;
    if (unlisted(g, q.symbol)) return unknownInstrument(reply, q.symbol);
    const want = q.status === 'open' ? 'opened' : q.status;
    if (pastDate(q.date)) return sendPastDay(g, reply, { what: 'auctions', date: q.date, accountIds: null, symbol: q.symbol, status: want, after: q.after, limit: q.limit });
    const list = [...g.history.auctions.values()]
      .filter((a) => (q.symbol === undefined || a.symbol === q.symbol) && (want === undefined || a.status === want))
      .sort((x, y) => x.auctionId - y.auctionId);
    return page(list, (a) => a.auctionId, q).map((a) => view(a));
  });

  app.get<{ Params: { auctionId: string }; Querystring: { date?: string } }>('/v1/auctions/:auctionId', {
    schema: { ...AUCTION_PARAMS, querystring: body({ date: DATE }), response: { 200: AUCTION_VIEW, ...errorReplies(400, 404, 429, 500) } },
  }, async (req, reply) => {
    if (pastDate(req.query.date)) return sendPastDay(g, reply, { what: 'auctions', date: req.query.date, accountIds: null, auctionId: auctionId(req) });
    const a = g.history.auctions.get(auctionId(req));
    if (a === undefined) return fail(reply, 404, 'UNKNOWN_AUCTION', `there is no auction ${req.params.auctionId} today`);
    return view(a);
  });

  app.post<{ Params: { auctionId: string }; Body: { price: string; quantity: number; clientOrderId?: string; accountId?: string } }>('/v1/auctions/:auctionId/bids', {
    ...member,
    schema: {
      ...AUCTION_PARAMS,
      body: body({ price: PRICE, quantity: QUANTITY, clientOrderId: CLIENT_ORDER_ID, accountId: ACCOUNT }, ['price', 'quantity']),
      // 201 for a new bid, 200 for a repeated clientOrderId (the first request's bid, as it stands now).
      response: { 201: BID_REPLY, 200: BID_REPLY, ...commandReplies(422) },
    },
  }, async (req, reply) => {
    const accountId = actingAccount(g, req, reply, req.body.accountId);
    if (accountId === null) return reply;
    const { r, closedDay } = await submitRequest(g, req, reply, {
      type: 'bidAuction', auctionId: auctionId(req), accountId, price: parseMoney(req.body.price) as number, quantity: req.body.quantity,
      clientOrderId: req.body.clientOrderId ?? null,
    });
    return bidReply(reply, r, 201, closedDay === null ? null : { date: closedDay, accountId, auctionId: auctionId(req) });
  });

  // A member reads its own accounts' bids; a risk officer or an operator reads every bid (to supervise, or before cancelling).
  app.get<{ Params: { auctionId: string }; Querystring: { date?: string } & PageQuery }>('/v1/auctions/:auctionId/bids', {
    config: { role: ['member', 'risk', 'operator'] },
    schema: { ...AUCTION_PARAMS, querystring: body({ date: DATE, ...PAGE_QUERY }), response: { 200: { type: 'array', items: BID_VIEW }, ...errorReplies(400, 401, 403, 404, 429, 500) } },
  }, async (req, reply) => {
    const id = auctionId(req);
    const who = principal(req);
    const own = who.role === 'member' ? g.engine.accountsOfMember(who.member as string) : null;
    // A closed day's bids, each as it ended (filled, unfilled, withdrawn…).
    const q = req.query;
    if (pastDate(q.date)) return sendPastDay(g, reply, { what: 'bids', date: q.date, accountIds: own, auctionId: id, after: q.after, limit: q.limit });
    if (!g.history.auctions.has(id)) return fail(reply, 404, 'UNKNOWN_AUCTION', `there is no auction ${req.params.auctionId} today`);
    const mine = own === null ? null : new Set(own);
    const bids = [...g.history.auctionBids.values()].filter((b) => b.auctionId === id && (mine === null || mine.has(b.accountId)))
      .sort((x, y) => x.bidId - y.bidId);
    return page(bids, (b) => b.bidId, q).map(bidView);
  });

  app.delete<{ Params: { auctionId: string; bidId: string } }>('/v1/auctions/:auctionId/bids/:bidId', {
    ...member,
    schema: { params: params({ auctionId: ID, bidId: ID }), response: { 200: BID_REPLY, ...commandReplies() } },
  }, async (req, reply) => {
    const id = auctionId(req), bidId = Number(req.params.bidId);
    const r = await submit(g, req, reply, { type: 'cancelAuctionBid', auctionId: id, bidId });
    // The engine keeps only live bids: one of the caller's own that has ended is not open, rather than unknown.
    const ended = g.history.auctionBids.get(bidId);
    if (!r.ok && r.code === 'UNKNOWN_BID' && ended !== undefined && ended.auctionId === id
      && g.engine.accountsOfMember(principal(req).member as string).includes(ended.accountId)) {
      return fail(reply, 409, 'BID_NOT_OPEN', `bid ${bidId} is no longer open (${ended.status === 'placed' ? 'ended' : ended.status})`);
    }
    return bidReply(reply, r, 200);
  });

  app.post<{ Params: { auctionId: string }; Body: null | Record<string, never> }>('/v1/auctions/:auctionId/close', {
    config: { role: 'operator' as const },
    schema: { ...AUCTION_PARAMS, response: { 200: AUCTION_REPLY, ...commandReplies() } },
  }, async (req, reply) => auctionReply(reply, await submit(g, req, reply, { type: 'closeAuction', auctionId: auctionId(req) }), 200));

  app.post<{ Params: { auctionId: string }; Body: { reason: string } }>('/v1/auctions/:auctionId/cancel', {
    config: { role: ['risk', 'operator'] },
    schema: { ...AUCTION_PARAMS, body: body({ reason: REASON }, ['reason']), response: { 200: AUCTION_REPLY, ...commandReplies() } },
  }, async (req, reply) => auctionReply(reply, await submit(g, req, reply, { type: 'cancelAuction', auctionId: auctionId(req), reason: req.body.reason }), 200));
}

