// Risk officers' routes (API.md "Risk officers"): bands and reference prices, halts, position caps,
// large-holder thresholds, the large-holder list, account restrictions, cancel-all, and the audit
// trail of every risk and operator action, read from the journal.
import type { FastifyInstance } from 'fastify';
import { formatMoney, isoTime, parseMoney, type Command, type LimitEvent } from '../../engine/index.ts';
import { ACCOUNT, body, fail, params, PERCENT, REASON, refuse, submit, SYMBOL, type Gateway } from '../http.ts';
import { instrumentView } from './market.ts';

const risk = { config: { role: 'risk' as const } };
const CLASS = { enum: ['compliance', 'institution', 'individual'] };
const LIMIT_BODY = body({
  symbol: SYMBOL, accountClass: CLASS, accountId: ACCOUNT,
  maxQuantity: { anyOf: [{ type: 'integer', minimum: 0, maximum: 1_000_000_000_000 }, { type: 'null' }] },
  quantity: { anyOf: [{ type: 'integer', minimum: 0, maximum: 1_000_000_000_000 }, { type: 'null' }] },
  plusAllocation: { type: 'boolean' }, reason: REASON,
}, ['symbol']);

export function riskRoutes(app: FastifyInstance, g: Gateway): void {
  app.patch<{ Params: { symbol: string }; Body: { listedBandPct?: string; blockBandPct?: string; referencePrice?: string; status?: 'trading' | 'halted'; reason: string } }>('/v1/risk/instruments/:symbol', {
    ...risk,
    schema: {
      params: params({ symbol: SYMBOL }),
      body: body({ listedBandPct: PERCENT, blockBandPct: PERCENT, referencePrice: { type: 'string', pattern: '^(0|[1-9][0-9]{0,9})(\\.[0-9]{1,2})?$' }, status: { enum: ['trading', 'halted'] }, reason: REASON }, ['reason']),
    },
  }, async (req, reply) => {
    const b = req.body;
    const r = await submit(g, req, reply, {
      type: 'setInstrument', symbol: req.params.symbol, listedBandPct: b.listedBandPct ?? null, blockBandPct: b.blockBandPct ?? null,
      referencePrice: b.referencePrice === undefined ? null : parseMoney(b.referencePrice), status: b.status ?? null, reason: b.reason,
    });
    if (!r.ok) return refuse(reply, r);
    return { instrument: instrumentView(g, req.params.symbol), cancelledOrders: r.events.filter((e) => e.type === 'order').length };
  });

  for (const [path, type] of [['/v1/risk/market/halt', 'haltMarket'], ['/v1/risk/market/resume', 'resumeMarket']] as const) {
    app.post<{ Body: { reason: string } }>(path, { ...risk, schema: { body: body({ reason: REASON }, ['reason']) } }, async (req, reply) => {
      const r = await submit(g, req, reply, { type, reason: req.body.reason });
      return r.ok ? { status: g.engine.marketHalted ? 'halted' : 'trading', reason: req.body.reason } : refuse(reply, r);
    });
  }

  for (const [path, type, field] of [['/v1/risk/position-caps', 'setPositionCap', 'maxQuantity'], ['/v1/risk/large-holder-thresholds', 'setLargeHolderThreshold', 'quantity']] as const) {
    app.put<{ Body: { symbol: string; accountClass?: 'compliance' | 'institution' | 'individual'; accountId?: string; maxQuantity?: number | null; quantity?: number | null; plusAllocation?: boolean; reason?: string } }>(path, {
      ...risk, schema: { body: LIMIT_BODY },
    }, async (req, reply) => {
      const b = req.body;
      if (!(field in b)) return fail(reply, 400, 'INVALID_REQUEST', `${field} is required (a number of tonnes, or null to remove the limit)`);
      const r = await submit(g, req, reply, {
        type, symbol: b.symbol, accountClass: b.accountClass ?? null, accountId: b.accountId ?? null,
        quantity: (b[field] ?? null) as number | null, plusAllocation: b.plusAllocation === true, reason: b.reason,
      });
      if (!r.ok) return refuse(reply, r);
      const e = r.events.find((x): x is LimitEvent => x.type === 'limit') as LimitEvent;
      return { symbol: e.symbol, accountClass: e.accountClass, accountId: e.accountId, [field]: e.quantity, plusAllocation: e.plusAllocation };
    });
  }

  app.get<{ Querystring: { symbol?: string } }>('/v1/risk/large-holders', { ...risk, schema: { querystring: body({ symbol: SYMBOL }) } }, async (req) =>
    g.engine.largeHolders(req.query.symbol));

  app.patch<{ Params: { accountId: string }; Body: { restriction: 'none' | 'no_buy' | 'no_sell' | 'frozen'; reason: string } }>('/v1/risk/accounts/:accountId', {
    ...risk, schema: { params: params({ accountId: ACCOUNT }), body: body({ restriction: { enum: ['none', 'no_buy', 'no_sell', 'frozen'] }, reason: REASON }, ['restriction', 'reason']) },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'restrictAccount', accountId: req.params.accountId, restriction: req.body.restriction, reason: req.body.reason });
    return r.ok ? { accountId: req.params.accountId, restriction: req.body.restriction } : refuse(reply, r);
  });

  app.post<{ Params: { accountId: string }; Body: { reason: string } }>('/v1/risk/accounts/:accountId/cancel-all', {
    ...risk, schema: { params: params({ accountId: ACCOUNT }), body: body({ reason: REASON }, ['reason']) },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'cancelAll', accountId: req.params.accountId, reason: req.body.reason });
    return r.ok ? { cancelled: r.events.filter((e) => e.type === 'order').map((e) => (e.type === 'order' ? String(e.orderId) : '')) } : refuse(reply, r);
  });

  app.get<{ Querystring: { since?: number; limit?: number } }>('/v1/risk/audit', {
    ...risk, schema: { querystring: body({ since: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 10_000 } }) },
  }, async (req) => {
    return g.journal.audit(req.query.since ?? 0, req.query.limit ?? 1000).map((entry) => {
      const { seq: _s, time: _t, actor, type, reason, ...what } = entry.command as Command & Record<string, unknown> & { reason?: string };
      return {
        seq: entry.seq, time: isoTime(entry.time), who: `${actor.role}:${actor.id}`, action: type, what: describe(what), why: reason ?? null,
        outcome: entry.code === null ? 'done' : 'refused', error: entry.code === null ? null : { code: entry.code, message: entry.message },
      };
    });
  });
}

/** Command fields for the audit trail, prices and money as decimal strings. */
function describe(what: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(what)) {
    if (k === 'profile') out.venue = (v as { venue: string }).venue;
    else if ((k === 'cash' || k === 'referencePrice' || k === 'listingPrice') && typeof v === 'number') out[k] = formatMoney(v);
    else if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}

