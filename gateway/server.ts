// The HTTP gateway (Fastify): validates and authenticates requests, turns them into commands for
// the sequencer, and answers once the journal batch holding the command has committed. It never
// changes engine state itself; reads go through the engine's queries.
// This is the first slice of API.md: market data, order entry and cancel, the account, the risk
// officer's instrument controls and the operator's end of day.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  httpStatusOf, formatMoney, parseMoney, isoTime, describeOrder, type Engine, type OrderEvent, type TradeEvent, type Result, type Role,
} from '../engine/index.ts';
import type { Sequencer, CommandBody } from '../persistence/sequencer.ts';
import type { KeyRing, Principal } from './keys.ts';
import { REPORTS, type ReportName, type SettlementWriter } from '../persistence/settlementWriter.ts';

const PRICE = { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$', maxLength: 13 } as const;
const QUANTITY = { type: 'integer', minimum: 1, maximum: 1_000_000_000 } as const;
const SYMBOL = { type: 'string', pattern: '^[A-Z][A-Z0-9-]{1,15}$' } as const;
const ACCOUNT = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$' } as const;
const REASON = { type: 'string', minLength: 1, maxLength: 500 } as const;

function fail(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

/** An order as API.md shows it, from its state as an event (live orders go through describeOrder). */
function orderView(o: OrderEvent) {
  return {
    orderId: String(o.orderId), clientOrderId: o.clientOrderId, accountId: o.accountId, symbol: o.symbol, side: o.side,
    type: o.orderType, timeInForce: o.timeInForce, price: o.price === null ? null : formatMoney(o.price),
    quantity: o.quantity, filledQuantity: o.filled,
    remainingQuantity: o.status === 'new' || o.status === 'partially_filled' ? o.quantity - o.filled : 0,
    avgPrice: o.filled === 0 ? null : formatMoney(Math.round(o.filledNotional / o.filled)), status: o.status,
    reason: o.reason, time: isoTime(o.time),
  };
}

export interface GatewayOptions { engine: Engine; sequencer: Sequencer; settlement: SettlementWriter; keys: KeyRing; ready: () => boolean; logger?: boolean }

export function buildServer(opts: GatewayOptions): FastifyInstance {
  const { engine, sequencer, keys } = opts;
  const app = Fastify({
    logger: opts.logger === true ? { redact: ['req.headers.authorization'] } : false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, _req, reply) => {
    if (err.validation) return fail(reply, 400, 'INVALID_REQUEST', err.message);
    if (err.statusCode !== undefined && err.statusCode < 500) return fail(reply, err.statusCode, 'INVALID_REQUEST', err.message);
    app.log.error(err);
    return fail(reply, 500, 'INTERNAL', 'the exchange could not process the request');
  });
  app.setNotFoundHandler((_req, reply) => fail(reply, 404, 'NOT_FOUND', 'no such route'));

  /** The caller's principal, or a 401/403 already sent. */
  const auth = (req: FastifyRequest, reply: FastifyReply, role: Role): Principal | null => {
    const header = req.headers.authorization;
    const key = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const p = key === '' ? null : keys.lookup(key);
    if (p === null) { fail(reply, 401, 'UNAUTHENTICATED', 'send Authorization: Bearer <api key>'); return null; }
    if (p.role !== role) { fail(reply, 403, 'NOT_PERMITTED', `this route is for the role ${role}; your key is ${p.role}`); return null; }
    return p;
  };

  /** Submits a command and answers with its outcome once durable. */
  const submit = (p: Principal, body: CommandBody, reply: FastifyReply): Promise<Result> => {
    const outcome = sequencer.submit({ role: p.role, id: p.role === 'member' ? (p.member as string) : p.id }, body);
    // The command was stamped and applied synchronously: its sequence number is the engine's last.
    reply.header('x-exchange-seq', String(engine.lastSequence));
    return outcome;
  };

  const refused = (reply: FastifyReply, r: Result) => (r.ok ? null : fail(reply, httpStatusOf(r.code), r.code, r.message));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (opts.ready() ? { status: 'ready' } : reply.code(503).send({ status: 'recovering' })));

  app.get('/v1/instruments', async () => engine.instruments.map((i) => ({
    symbol: i.symbol, name: i.name, venue: i.venue, kind: i.profile.source.kind, vintage: i.vintage, tick: formatMoney(i.profile.tick),
    status: engine.marketHalted ? 'halted' : i.status, prevClose: formatMoney(i.referencePrice),
    listedBand: [formatMoney(i.bandLow), formatMoney(i.bandHigh)], blockBand: [formatMoney(i.blockLow), formatMoney(i.blockHigh)],
  })));

  app.get<{ Params: { symbol: string }; Querystring: { depth?: number } }>('/v1/instruments/:symbol/book', {
    schema: { params: { type: 'object', properties: { symbol: SYMBOL }, required: ['symbol'] }, querystring: { type: 'object', properties: { depth: { type: 'integer', minimum: 1, maximum: 50 } }, additionalProperties: false } },
  }, async (req, reply) => {
    const d = engine.depth(req.params.symbol, req.query.depth ?? 5);
    if (d === undefined) return fail(reply, 404, 'UNKNOWN_INSTRUMENT', `no instrument ${req.params.symbol} is listed`);
    const level = ([p, q, n]: [number, number, number]) => [formatMoney(p), q, n];
    return { symbol: req.params.symbol, seq: engine.lastSequence, bids: d.bids.map(level), asks: d.asks.map(level) };
  });

  app.get<{ Params: { symbol: string } }>('/v1/instruments/:symbol/ticker', {
    schema: { params: { type: 'object', properties: { symbol: SYMBOL }, required: ['symbol'] } },
  }, async (req, reply) => {
    const t = engine.ticker(req.params.symbol);
    if (t === undefined) return fail(reply, 404, 'UNKNOWN_INSTRUMENT', `no instrument ${req.params.symbol} is listed`);
    const m = (v: number | null) => (v === null ? null : formatMoney(v));
    return {
      symbol: t.symbol, status: t.status, open: m(t.open), high: m(t.high), low: m(t.low), last: m(t.last), prevClose: m(t.prevClose),
      changePct: (t.changeHundredths < 0 ? '-' : '') + formatMoney(Math.abs(t.changeHundredths)), vwap: m(t.vwap),
      listedVolume: t.listedVolume, listedTurnover: m(t.listedTurnover), blockVolume: t.blockVolume, blockTurnover: m(t.blockTurnover),
      auctionVolume: t.auctionVolume, auctionTurnover: m(t.auctionTurnover), bandLow: m(t.bandLow), bandHigh: m(t.bandHigh),
    };
  });

  app.post<{ Body: { symbol: string; side: 'buy' | 'sell'; type: 'limit' | 'market' | 'pick'; price?: string; quantity: number; timeInForce?: 'DAY' | 'IOC' | 'FOK'; targetOrderId?: string; clientOrderId?: string; accountId?: string } }>('/v1/orders', {
    schema: {
      body: {
        type: 'object', additionalProperties: false, required: ['symbol', 'side', 'type', 'quantity'],
        properties: {
          symbol: SYMBOL, side: { enum: ['buy', 'sell'] }, type: { enum: ['limit', 'market', 'pick'] }, price: PRICE, quantity: QUANTITY,
          timeInForce: { enum: ['DAY', 'IOC', 'FOK'] }, targetOrderId: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' },
          clientOrderId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$' }, accountId: ACCOUNT,
        },
      },
    },
  }, async (req, reply) => {
    const p = auth(req, reply, 'member');
    if (p === null) return reply;
    const b = req.body;
    const accountId = b.accountId ?? engine.accountsOfMember(p.member as string)[0];
    if (accountId === undefined) return fail(reply, 422, 'UNKNOWN_ACCOUNT', 'your member has no account; name accountId');
    const r = await submit(p, {
      type: 'placeOrder', accountId, symbol: b.symbol, side: b.side, orderType: b.type,
      price: b.price === undefined ? null : parseMoney(b.price), quantity: b.quantity, timeInForce: b.timeInForce,
      targetOrderId: b.targetOrderId === undefined ? null : Number(b.targetOrderId), clientOrderId: b.clientOrderId ?? null,
    }, reply);
    if (!r.ok) return refused(reply, r);
    const fills = r.events.filter((e): e is TradeEvent => e.type === 'trade').map((t) => ({
      tradeId: String(t.tradeId), price: formatMoney(t.price), quantity: t.quantity,
      fee: formatMoney(t.buyAccountId === accountId ? t.buyFee : t.sellFee), time: isoTime(t.time),
    }));
    const event = r.events.find((e): e is OrderEvent => e.type === 'order' && e.orderId === r.orderId);
    const live = engine.order(r.orderId as number);
    const state = event ?? (live === undefined ? undefined : describeOrder(live, live.seq, live.time));
    return reply.code(r.duplicate ? 200 : 201).send({
      order: state === undefined ? { orderId: String(r.orderId), duplicate: true } : orderView(state),
      fills,
    });
  });

  app.get<{ Params: { orderId: string } }>('/v1/orders/:orderId', {
    schema: { params: { type: 'object', properties: { orderId: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } }, required: ['orderId'] } },
  }, async (req, reply) => {
    const p = auth(req, reply, 'member');
    if (p === null) return reply;
    const o = engine.order(Number(req.params.orderId));
    if (o === undefined || o.account.member !== p.member) return fail(reply, 404, 'UNKNOWN_ORDER', `you have no open order ${req.params.orderId}`);
    return orderView(describeOrder(o, o.seq, o.time));
  });

  app.delete<{ Params: { orderId: string } }>('/v1/orders/:orderId', {
    schema: { params: { type: 'object', properties: { orderId: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } }, required: ['orderId'] } },
  }, async (req, reply) => {
    const p = auth(req, reply, 'member');
    if (p === null) return reply;
    const r = await submit(p, { type: 'cancelOrder', orderId: Number(req.params.orderId) }, reply);
    if (!r.ok) return refused(reply, r);
    const e = r.events.find((x): x is OrderEvent => x.type === 'order');
    return { order: e === undefined ? null : orderView(e) };
  });

  app.get<{ Querystring: { accountId?: string } }>('/v1/account', {
    schema: { querystring: { type: 'object', properties: { accountId: ACCOUNT }, additionalProperties: false } },
  }, async (req, reply) => {
    const p = auth(req, reply, 'member');
    if (p === null) return reply;
    const id = req.query.accountId ?? engine.accountsOfMember(p.member as string)[0];
    const a = id === undefined ? undefined : engine.account(id);
    if (a === undefined || a.member !== p.member) return fail(reply, 404, 'UNKNOWN_ACCOUNT', `you have no account ${id ?? ''}`);
    return {
      accountId: a.id, member: a.member, class: a.accountClass, restriction: a.restriction,
      cash: { available: formatMoney(a.cash), frozen: formatMoney(a.cashFrozen) },
      holdings: a.positions.flatMap((pos) => {
        if (pos === undefined) return [];
        const inst = engine.instruments[pos.instrumentIndex];
        return [{
          symbol: inst.symbol, available: pos.available, frozen: pos.frozen, pending: pos.pending, openBuy: pos.openBuy,
          cap: engine.capOf(a, pos, inst), largeHolder: pos.largeHolder,
        }];
      }),
    };
  });

  app.patch<{ Params: { symbol: string }; Body: { listedBandPct?: string; blockBandPct?: string; referencePrice?: string; status?: 'trading' | 'halted'; reason: string } }>('/v1/risk/instruments/:symbol', {
    schema: {
      params: { type: 'object', properties: { symbol: SYMBOL }, required: ['symbol'] },
      body: {
        type: 'object', additionalProperties: false, required: ['reason'],
        properties: { listedBandPct: { type: 'string', maxLength: 12 }, blockBandPct: { type: 'string', maxLength: 12 }, referencePrice: PRICE, status: { enum: ['trading', 'halted'] }, reason: REASON },
      },
    },
  }, async (req, reply) => {
    const p = auth(req, reply, 'risk');
    if (p === null) return reply;
    const b = req.body;
    const r = await submit(p, {
      type: 'setInstrument', symbol: req.params.symbol, listedBandPct: b.listedBandPct ?? null, blockBandPct: b.blockBandPct ?? null,
      referencePrice: b.referencePrice === undefined ? null : parseMoney(b.referencePrice), status: b.status ?? null, reason: b.reason,
    }, reply);
    if (!r.ok) return refused(reply, r);
    const i = engine.instrument(req.params.symbol)!;
    return { symbol: i.symbol, status: i.status, referencePrice: formatMoney(i.referencePrice), listedBand: [formatMoney(i.bandLow), formatMoney(i.bandHigh)], blockBand: [formatMoney(i.blockLow), formatMoney(i.blockHigh)] };
  });

  app.post<{ Body: { date?: string } }>('/v1/admin/end-of-day', {
    schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } } },
  }, async (req, reply) => {
    const p = auth(req, reply, 'operator');
    if (p === null) return reply;
    const r = await submit(p, { type: 'endOfDay', date: req.body?.date ?? engine.tradingDate }, reply);
    if (!r.ok) return refused(reply, r);
    const eod = r.events.find((e) => e.type === 'endOfDay');
    return eod;
  });

  const DATE = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
  app.get<{ Params: { date: string } }>('/v1/settlement/:date', {
    schema: { params: { type: 'object', properties: { date: DATE }, required: ['date'] } },
  }, async (req, reply) => {
    const p = auth(req, reply, 'operator');
    if (p === null) return reply;
    if (!opts.settlement.days().includes(req.params.date)) return fail(reply, 404, 'UNKNOWN_DAY', `no settlement has been published for ${req.params.date}`);
    return { date: req.params.date, reports: REPORTS.map((name) => ({ name, json: `/v1/settlement/${req.params.date}/${name}`, csv: `/v1/settlement/${req.params.date}/${name} (Accept: text/csv)` })) };
  });

  app.get<{ Params: { date: string; report: string } }>('/v1/settlement/:date/:report', {
    schema: { params: { type: 'object', properties: { date: DATE, report: { enum: [...REPORTS] } }, required: ['date', 'report'] } },
  }, async (req, reply) => {
    const p = auth(req, reply, 'operator');
    if (p === null) return reply;
    const csv = (req.headers.accept ?? '').includes('text/csv');
    const text = opts.settlement.read(req.params.date, req.params.report as ReportName, csv ? 'csv' : 'json');
    if (text === null) return fail(reply, 404, 'UNKNOWN_DAY', `no settlement has been published for ${req.params.date}`);
    return reply.type(csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8').send(text);
  });

  return app;
}

