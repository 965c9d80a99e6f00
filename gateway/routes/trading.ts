// Members' routes (API.md "Trading"): orders, fills, the account, block trades and large-holder
// reports. A member acts only for its own accounts; where it has several, it names one.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { dateOfDay, formatMoney, idText, isoTime, noSuchBlock, parseMoney, TEXT_LIMITS, type BlockEvent, type EngineEvent, type LargeHolderEvent, type OrderEvent, type Result, type TradeEvent } from '../../engine/index.ts';
import {
  ACCOUNT, accountsFor, anyAccount, body, CLIENT_ORDER_ID, DATE, DAY, errorReplies, fail, FILL_VIEW, freeText, fillView, ID, notYours, ORDER_VIEW, orderView, params, PRICE, principal, QUANTITY, refuse,
  ownedBy, page, PAGE_QUERY, pastObject, sendPastDay, shownReason, submit, submitRequest, SYMBOL, TEXT, TIME, TONNES, unknownInstrument, unlisted,
  type PageQuery,
  type Gateway,
} from '../http.ts';
import { ACCOUNT_VIEW, BLOCK_REPLY, BLOCK_VIEW, ORDER_REPLY, venueList } from '../replies.ts';
import { fillsOf, type Fill } from '../history.ts';

const member = { config: { role: 'member' as const } };
/** Reads of an account's trading that a risk officer or an operator may make too (naming the account). */
const supervised = { config: { role: ['member', 'risk', 'operator'] as const } };

/** The account a member acts for: the one it named (if its own), or its only one. */
export function actingAccount(g: Gateway, req: FastifyRequest, reply: FastifyReply, accountId: string | undefined): string | null {
  const mine = g.engine.accountsOfMember(principal(req).member as string);
  if (accountId !== undefined) {
    if (mine.includes(accountId)) return accountId;
    notYours(g, reply, accountId, mine);
    return null;
  }
  if (mine.length === 1) return mine[0];
  fail(reply, 400, 'ACCOUNT_REQUIRED', mine.length === 0 ? 'your member has no account' : `name accountId: your accounts are ${mine.join(', ')}`);
  return null;
}

/**
 * A block proposal as a member sees it. `owns` says which accounts are the member's: a reason naming
 * a risk control on the other party's account reads `cancelled_by_exchange`.
 */
export function blockView(b: BlockEvent, owns: (accountId: string) => boolean) {
  // Facts journaled before the party was recorded: the reason is shown to a member holding both sides.
  const toController = b.reasonAccountId != null ? owns(b.reasonAccountId)
    : owns(b.proposerAccountId) && (b.counterpartyAccountId === null || owns(b.counterpartyAccountId));
  return {
    blockId: String(b.blockId), symbol: b.symbol, status: b.status, proposerAccountId: b.proposerAccountId, side: b.side,
    counterpartyAccountId: b.counterpartyAccountId, price: formatMoney(b.price), quantity: b.quantity, termsBy: b.termsBy,
    inReplyTo: idText(b.inReplyTo), reason: shownReason(b.reason, toController), time: isoTime(b.time),
  };
}

export function tradingRoutes(app: FastifyInstance, g: Gateway): void {
  // The order as it stands after the command (its own order event: the engine may already hold
  // later commands, not yet committed, that filled it), and the command's trades with the order's
  // own fee; for a repeated clientOrderId, the original order as it stands now (the caller waits
  // until everything applied is committed) and all its fills so far.
  const orderReply = (reply: FastifyReply, r: { ok: true; events: readonly { type: string }[]; orderId?: number; duplicate?: boolean }, created: boolean) => {
    const orderId = r.orderId as number;
    let state: OrderEvent | undefined;
    if (r.duplicate === true) {
      const live = g.engine.order(orderId);
      state = live !== undefined ? g.history.current(live) : g.history.orders.get(orderId);
    } else {
      for (const e of r.events) if (e.type === 'order' && (e as OrderEvent).orderId === orderId) state = e as OrderEvent;
      state ??= g.history.orders.get(orderId);
    }
    const accountId = state?.accountId ?? null;
    const fills: Fill[] = r.duplicate === true
      ? (accountId === null ? [] : g.history.fillsOfOrder(accountId, orderId))
      : (r.events as TradeEvent[]).filter((e) => e.type === 'trade').flatMap((t) => fillsOf(t).filter((f) => f.orderId === orderId));
    return reply.code(created && !r.duplicate ? 201 : 200).send({
      order: state === undefined ? { orderId: String(orderId) } : orderView(state),
      fills: fills.map((f) => ({ tradeId: String(f.tradeId), price: formatMoney(f.price), quantity: f.quantity, fee: formatMoney(f.fee), time: isoTime(f.time) })),
      duplicate: r.duplicate === true,
    });
  };

  /** A repeated order answered on a day closed since (submitRequest): the order and its fills as that day ended them. */
  const closedDayOrder = async (reply: FastifyReply, date: string, accountId: string, orderId: number) => {
    const order = await pastObject(g, { what: 'orders', date, accountIds: [accountId] }, 'orderId', orderId);
    const all = await g.pastDays.read({ what: 'fills', date, accountIds: [accountId] });
    const fills = (all === null ? [] : JSON.parse(all.json) as ReturnType<typeof fillView>[]).filter((f) => f.orderId === String(orderId));
    return reply.code(200).send({
      order: order ?? { orderId: String(orderId) },
      fills: fills.map((f) => ({ tradeId: f.tradeId, price: f.price, quantity: f.quantity, fee: f.fee, time: f.time })),
      duplicate: true,
    });
  };

  app.post<{ Body: { symbol: string; side: 'buy' | 'sell'; type: 'limit' | 'market' | 'pick'; price?: string; quantity: number; timeInForce?: 'DAY' | 'IOC' | 'FOK'; targetOrderId?: string; clientOrderId?: string; accountId?: string } }>('/v1/orders', {
    ...member,
    schema: {
      body: body({
        symbol: SYMBOL, side: { enum: ['buy', 'sell'] }, type: { enum: ['limit', 'market', 'pick'] }, price: PRICE, quantity: QUANTITY,
        timeInForce: { enum: ['DAY', 'IOC', 'FOK'] }, targetOrderId: ID, clientOrderId: CLIENT_ORDER_ID,
        accountId: ACCOUNT,
      }, ['symbol', 'side', 'type', 'quantity']),
      // 201 for a new order, 200 for a repeated clientOrderId (the original order).
      response: { 201: ORDER_REPLY, 200: ORDER_REPLY, ...errorReplies(400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503) },
    },
  }, async (req, reply) => {
    const b = req.body;
    if (b.targetOrderId !== undefined && b.type !== 'pick') {
      return fail(reply, 400, 'INVALID_REQUEST', `targetOrderId names the resting order a pick order takes; a ${b.type} order has none`);
    }
    if (b.targetOrderId === undefined && b.type === 'pick') {
      return fail(reply, 400, 'INVALID_REQUEST', 'a pick order names the resting order it takes: targetOrderId');
    }
    const accountId = actingAccount(g, req, reply, b.accountId);
    if (accountId === null) return reply;
    // A repeated clientOrderId shows the original order as it stands now: committed state only.
    const { r, closedDay } = await submitRequest(g, req, reply, {
      type: 'placeOrder', accountId, symbol: b.symbol, side: b.side, orderType: b.type,
      price: b.price === undefined ? null : parseMoney(b.price), quantity: b.quantity, timeInForce: b.timeInForce,
      targetOrderId: b.targetOrderId === undefined ? null : Number(b.targetOrderId), clientOrderId: b.clientOrderId ?? null,
    });
    if (!r.ok) return refuse(reply, r);
    return closedDay === null ? orderReply(reply, r, true) : closedDayOrder(reply, closedDay, accountId, r.orderId as number);
  });

  app.get<{ Querystring: { status?: 'open' | 'all'; symbol?: string; accountId?: string; date?: string } & PageQuery }>('/v1/orders', {
    ...supervised,
    schema: {
      querystring: body({ status: { enum: ['open', 'all'] }, symbol: SYMBOL, accountId: ACCOUNT, date: DATE, ...PAGE_QUERY }),
      response: { 200: { type: 'array', items: ORDER_VIEW }, ...errorReplies(400, 401, 403, 404, 429, 500) },
    },
  }, async (req, reply) => {
    const q = req.query;
    if (unlisted(g, q.symbol)) return unknownInstrument(reply, q.symbol);
    const own = accountsFor(g, req, reply, q.accountId);
    if (own === null) return reply;
    if (q.date !== undefined && q.date !== g.engine.tradingDate) {
      // A closed day's orders, as each ended (none is open any more): the reply's JSON, made on the past days' thread.
      return sendPastDay(g, reply, { what: 'orders', date: q.date, accountIds: own, symbol: q.symbol, openOnly: q.status === 'open', after: q.after, limit: q.limit });
    }
    // Today's, in id order, only the open ones when asked.
    const orders = g.history.ordersOf((id) => g.engine.order(id), own, q.status === 'open').filter((o) => q.symbol === undefined || o.symbol === q.symbol);
    return page(orders, (o) => o.orderId, q).map(orderView);
  });

  /** Today's order of that id, if the caller may read it: a member its own, a risk officer or an operator any. */
  const findOrder = (req: FastifyRequest, orderId: number): OrderEvent | undefined => {
    const p = principal(req);
    const readable = (member: string | undefined) => p.role !== 'member' || member === p.member;
    const live = g.engine.order(orderId);
    if (live !== undefined) return readable(live.account.member) ? g.history.current(live) : undefined;
    const past = g.history.orders.get(orderId);
    return past !== undefined && readable(g.engine.account(past.accountId)?.member) ? past : undefined;
  };
  const noOrder = (req: FastifyRequest, reply: FastifyReply, orderId: number | string) =>
    fail(reply, 404, 'UNKNOWN_ORDER', `${principal(req).role === 'member' ? 'you have' : 'there is'} no order ${orderId} today`);

  /**
   * A refused modify or cancel. The engine keeps only open orders, so it answers ORDER_NOT_OPEN for
   * any id it has issued that is not open: for an order that is not the caller's (another member's,
   * or an earlier day's) that would tell the caller it exists; it is an unknown order instead.
   */
  const refuseChange = (req: FastifyRequest, reply: FastifyReply, r: Result & { ok: false }, orderId: number) =>
    r.code === 'ORDER_NOT_OPEN' && findOrder(req, orderId) === undefined
      ? noOrder(req, reply, orderId)
      : refuse(reply, r);

  app.get<{ Params: { orderId: string } }>('/v1/orders/:orderId', {
    ...supervised, schema: { params: params({ orderId: ID }), response: { 200: ORDER_VIEW, ...errorReplies(400, 401, 403, 404, 429, 500) } },
  }, async (req, reply) => {
    const o = findOrder(req, Number(req.params.orderId));
    return o === undefined ? noOrder(req, reply, req.params.orderId) : orderView(o);
  });

  app.patch<{ Params: { orderId: string }; Body: { quantity?: number; price?: string } }>('/v1/orders/:orderId', {
    ...member,
    schema: {
      params: params({ orderId: ID }), body: { ...body({ quantity: QUANTITY, price: PRICE }), minProperties: 1 },
      response: { 200: ORDER_REPLY, ...errorReplies(400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503) },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, {
      type: 'modifyOrder', orderId: Number(req.params.orderId), quantity: req.body.quantity ?? null,
      price: req.body.price === undefined ? null : parseMoney(req.body.price),
    });
    return r.ok ? orderReply(reply, r, false) : refuseChange(req, reply, r, Number(req.params.orderId));
  });

  app.delete<{ Params: { orderId: string } }>('/v1/orders/:orderId', {
    ...member,
    schema: {
      params: params({ orderId: ID }),
      response: {
        200: { type: 'object', properties: { order: { ...ORDER_VIEW, type: ['object', 'null'] } }, additionalProperties: false },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'cancelOrder', orderId: Number(req.params.orderId) });
    if (!r.ok) return refuseChange(req, reply, r, Number(req.params.orderId));
    const e = r.events.find((x): x is OrderEvent => x.type === 'order');
    return { order: e === undefined ? null : orderView(e) };
  });

  app.get<{ Querystring: { date?: string; accountId?: string } & PageQuery }>('/v1/fills', {
    ...supervised,
    schema: {
      querystring: body({ date: DATE, accountId: ACCOUNT, ...PAGE_QUERY }),
      response: { 200: { type: 'array', items: FILL_VIEW }, ...errorReplies(400, 401, 403, 404, 429, 500) },
    },
  }, async (req, reply) => {
    const accounts = accountsFor(g, req, reply, req.query.accountId);
    if (accounts === null) return reply;
    const date = req.query.date;
    if (date === undefined || date === g.engine.tradingDate) return page(g.history.todaysFills(accounts), (f) => f.tradeId, req.query).map(fillView);
    return sendPastDay(g, reply, { what: 'fills', date, accountIds: accounts, after: req.query.after, limit: req.query.limit });
  });

  // A member reads its own accounts; a risk officer or an operator any account, named: what caps,
  // thresholds and restriction are in force for it, and where it stands.
  app.get<{ Querystring: { accountId?: string } }>('/v1/account', {
    ...supervised,
    schema: { querystring: body({ accountId: ACCOUNT }), response: { 200: ACCOUNT_VIEW, ...errorReplies(400, 401, 403, 404, 429, 500) } },
  }, async (req, reply) => {
    const id = principal(req).role === 'member' ? actingAccount(g, req, reply, req.query.accountId) : anyAccount(g, reply, req.query.accountId);
    if (id === null) return reply;
    const a = g.engine.account(id)!;
    return {
      accountId: a.id, member: a.member, class: a.accountClass, allocation: a.allocation, venues: venueList(a.venues), restriction: a.restriction,
      cash: { available: formatMoney(a.cash), frozen: formatMoney(a.cashFrozen) },
      holdings: a.positions.flatMap((pos) => {
        if (pos === undefined) return [];
        const inst = g.engine.instruments[pos.instrumentIndex];
        const lh = pos.largeHolder;
        return [{
          symbol: inst.symbol, available: pos.available, frozen: pos.frozen, pending: pos.pending, openBuy: pos.openBuy,
          cap: g.engine.capOf(a, pos, inst), largeHolderThreshold: g.engine.thresholdOf(a, pos, inst),
          largeHolder: lh === null ? null : {
            since: dateOfDay(lh.since), holding: pos.holding, threshold: lh.threshold, dueDate: dateOfDay(lh.dueDay),
            filed: lh.filedDay === null ? null : dateOfDay(lh.filedDay), overdue: lh.filedDay === null && lh.dueDay < g.engine.tradingDay,
          },
        }];
      }),
    };
  });

  // ---------------------------------------------------------------- block trades
  app.post<{ Body: { symbol: string; side: 'buy' | 'sell'; price: string; quantity: number; counterpartyAccountId?: string; clientOrderId?: string; accountId?: string } }>('/v1/block-trades', {
    ...member,
    schema: {
      body: body({
        symbol: SYMBOL, side: { enum: ['buy', 'sell'] }, price: PRICE, quantity: QUANTITY, counterpartyAccountId: ACCOUNT, clientOrderId: CLIENT_ORDER_ID, accountId: ACCOUNT,
      }, ['symbol', 'side', 'price', 'quantity']),
      // 201 for a new proposal, 200 for a repeated clientOrderId (the first proposal, as it stands now).
      response: { 201: BLOCK_REPLY, 200: BLOCK_REPLY, ...errorReplies(400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503) },
    },
  }, async (req, reply) => {
    const b = req.body;
    const accountId = actingAccount(g, req, reply, b.accountId);
    if (accountId === null) return reply;
    const { r, closedDay } = await submitRequest(g, req, reply, {
      type: 'proposeBlock', accountId, symbol: b.symbol, side: b.side, price: parseMoney(b.price) as number, quantity: b.quantity,
      counterpartyAccountId: b.counterpartyAccountId ?? null, clientOrderId: b.clientOrderId ?? null,
    });
    if (!r.ok) return refuse(reply, r);
    return r.duplicate === true ? repeated(req, r, closedDay) : reply.code(201).send(blockReply(r, callerOwns(req)));
  });

  /**
   * A repeated clientOrderId (submitRequest waited for everything applied to commit): the block the
   * first request made or changed, as it stands now, or as the day closed since ended it.
   */
  const repeated = async (req: FastifyRequest, r: { blockId?: number }, closedDay: string | null) => {
    if (closedDay !== null) {
      const m = principal(req).member as string;
      const ended = await pastObject(g, { what: 'blocks', date: closedDay, accountIds: g.engine.accountsOfMember(m) }, 'blockId', r.blockId as number);
      return { blockId: String(r.blockId), status: ended?.status ?? null, block: ended ?? null, trade: null, duplicate: true };
    }
    const now = g.history.blocks.get(r.blockId as number);
    return blockReply({ events: now === undefined ? [] : [now], blockId: r.blockId, duplicate: true }, callerOwns(req));
  };
  const callerOwns = (req: FastifyRequest) => ownedBy(g, principal(req).member as string);
  const blockParams = { params: params({ blockId: ID }) };
  /** Whether the caller may see the block: its member's proposal or reply, or an open proposal still open (as the list shows them). */
  const seesBlock = (m: string, b: BlockEvent): boolean => {
    const own = ownedBy(g, m);
    return own(b.proposerAccountId) || (b.counterpartyAccountId === null ? b.status === 'proposed' : own(b.counterpartyAccountId));
  };
  /**
   * A refused block step. The engine keeps only open blocks, so it answers BLOCK_NOT_OPEN for any
   * finished block: for one the caller had no part in, that would tell it the block existed; it is
   * an unknown block instead, in the words used for an open block of others.
   */
  const refuseBlock = (req: FastifyRequest, reply: FastifyReply, r: Result & { ok: false }, blockId: number) => {
    const b = g.history.blocks.get(blockId);
    return r.code === 'BLOCK_NOT_OPEN' && (b === undefined || !seesBlock(principal(req).member as string, b))
      ? refuse(reply, noSuchBlock(blockId))
      : refuse(reply, r);
  };
  // Countering and accepting check the terms again (bands, funds, holdings, the session); rejecting and withdrawing do not.
  const blockTermsReplies = { 200: BLOCK_REPLY, ...errorReplies(400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503) };
  const blockEndReplies = { 200: BLOCK_REPLY, ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500) };
  app.post<{ Params: { blockId: string }; Body: { price: string; quantity: number; clientOrderId?: string; accountId?: string } }>('/v1/block-trades/:blockId/counter', {
    ...member,
    schema: { ...blockParams, body: body({ price: PRICE, quantity: QUANTITY, clientOrderId: CLIENT_ORDER_ID, accountId: ACCOUNT }, ['price', 'quantity']), response: blockTermsReplies },
  }, async (req, reply) => {
    const { r, closedDay } = await submitRequest(g, req, reply, {
      type: 'counterBlock', blockId: Number(req.params.blockId), accountId: req.body.accountId ?? null,
      price: parseMoney(req.body.price) as number, quantity: req.body.quantity, clientOrderId: req.body.clientOrderId ?? null,
    });
    if (!r.ok) return refuseBlock(req, reply, r, Number(req.params.blockId));
    return r.duplicate === true ? repeated(req, r, closedDay) : blockReply(r, callerOwns(req));
  });

  app.post<{ Params: { blockId: string }; Body: { accountId?: string } | null }>('/v1/block-trades/:blockId/accept', {
    ...member,
    schema: { ...blockParams, body: { type: ['object', 'null'], properties: { accountId: ACCOUNT }, additionalProperties: false }, response: blockTermsReplies },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'acceptBlock', blockId: Number(req.params.blockId), accountId: req.body?.accountId ?? null });
    return r.ok ? blockReply(r, callerOwns(req)) : refuseBlock(req, reply, r, Number(req.params.blockId));
  });

  for (const [method, path, type] of [['post', '/v1/block-trades/:blockId/reject', 'rejectBlock'], ['delete', '/v1/block-trades/:blockId', 'withdrawBlock']] as const) {
    app[method]<{ Params: { blockId: string } }>(path, { ...member, schema: { ...blockParams, response: blockEndReplies } }, async (req, reply) => {
      const r = await submit(g, req, reply, { type, blockId: Number(req.params.blockId) });
      return r.ok ? blockReply(r, callerOwns(req)) : refuseBlock(req, reply, r, Number(req.params.blockId));
    });
  }

  app.get<{ Querystring: { status?: BlockEvent['status']; date?: string } & PageQuery }>('/v1/block-trades', {
    ...member,
    schema: {
      querystring: body({ status: { enum: ['proposed', 'countered', 'executed', 'rejected', 'withdrawn', 'expired'] }, date: DATE, ...PAGE_QUERY }),
      response: { 200: { type: 'array', items: BLOCK_VIEW }, ...errorReplies(400, 401, 403, 404, 429, 500) },
    },
  }, async (req, reply) => {
    const m = principal(req).member as string;
    const q = req.query;
    if (q.date !== undefined && q.date !== g.engine.tradingDate) {
      // A closed day's: those the member's accounts proposed or were party to, each as it ended.
      return sendPastDay(g, reply, { what: 'blocks', date: q.date, accountIds: g.engine.accountsOfMember(m), status: q.status, after: q.after, limit: q.limit });
    }
    const blocks = [...g.history.blocks.values()]
      .filter((b) => seesBlock(m, b))
      .filter((b) => req.query.status === undefined || b.status === req.query.status)
      .sort((a, b) => a.blockId - b.blockId);
    const owns = ownedBy(g, m);
    return page(blocks, (b) => b.blockId, req.query).map((b) => blockView(b, owns));
  });

  app.post<{ Body: { symbol: string; accountId?: string; text: string } }>('/v1/large-holder-reports', {
    ...member,
    schema: {
      body: body({ symbol: SYMBOL, accountId: ACCOUNT, text: freeText(TEXT_LIMITS.report) }, ['symbol', 'text']),
      response: {
        201: {
          type: 'object',
          description: 'the report, filed',
          properties: {
            accountId: TEXT, symbol: TEXT, holding: TONNES, threshold: TONNES, dueDate: DAY,
            filed: { ...DAY, description: 'the trading day it was filed on, as in the account view and the large-holder list' },
            time: { ...TIME, description: 'when it was filed, ISO 8601 with +08:00' },
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    // Like every member route: the account named (its own), or its only one.
    const accountId = actingAccount(g, req, reply, req.body.accountId);
    if (accountId === null) return reply;
    const outcome = submit(g, req, reply, { type: 'fileLargeHolderReport', accountId, symbol: req.body.symbol, text: req.body.text });
    // Filed on the trading day the engine is on now, just after applying it (by the commit, a later
    // command in the batch could have closed the day).
    const filedOn = g.engine.tradingDate;
    const r = await outcome;
    if (!r.ok) return refuse(reply, r);
    const e = r.events.find((x): x is LargeHolderEvent => x.type === 'largeHolder') as LargeHolderEvent;
    return reply.code(201).send({ accountId: e.accountId, symbol: e.symbol, holding: e.holding, threshold: e.threshold, dueDate: e.dueDate, filed: filedOn, time: isoTime(e.time) });
  });
}

/**
 * A block command's answer: the state after it of the proposal it made or acted on, and the trade if
 * that executed. (Confirming a reply to an open proposal also ends the open proposal, after the
 * execution: that event is not the answer.)
 */
function blockReply(r: { events: readonly EngineEvent[]; blockId?: number; duplicate?: boolean }, owns: (accountId: string) => boolean) {
  const events = r.events;
  const block = [...events].reverse().find((e): e is BlockEvent => e.type === 'block' && (r.blockId === undefined || e.blockId === r.blockId));
  const trade = events.find((e): e is TradeEvent => e.type === 'trade');
  return {
    blockId: block === undefined ? null : String(block.blockId), status: block?.status ?? null,
    block: block === undefined ? null : blockView(block, owns),
    trade: trade === undefined ? null : { tradeId: String(trade.tradeId), price: formatMoney(trade.price), quantity: trade.quantity, buyFee: formatMoney(trade.buyFee), sellFee: formatMoney(trade.sellFee) },
    duplicate: r.duplicate === true,
  };
}
