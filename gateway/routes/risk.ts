// Risk officers' routes (API.md "Risk officers"): bands and reference prices, halts, position caps,
// large-holder thresholds, the large-holder list, account restrictions, cancel-all, risk warnings to
// the market, and the audit trail of every risk and operator action, read from the journal.
import type { FastifyInstance } from 'fastify';
import { dayOfDate, localMidnight, formatMoney, isoTime, parseMoney, TEXT_LIMITS, type Command, type EngineEvent, type LargeHolderClosedEvent, type LargeHolderEvent, type LimitEvent, type WarningEvent } from '../../engine/index.ts';
import {
  ACCOUNT, body, DAY, errorReplies, fail, freeText, params, PERCENT, PRICE, REASON, refuse, SINCE, submit, SYMBOL, TEXT, TEXT_OR_NULL, TIME, TONNES, TONNES_OR_NULL, unknownInstrument, unlisted, type Gateway,
} from '../http.ts';
import { ACCOUNT_CLASS, ended, endedProperties, INSTRUMENT_VIEW, LARGE_HOLDER, WARNING_VIEW, warningView } from '../replies.ts';
import { instrumentEventOf, instrumentViewAt } from './market.ts';
import { AUDIT_DUPLICATE, type AuditEntry } from '../../persistence/journal.ts';

const risk = { config: { role: 'risk' as const } };
/** A large-holder alert a threshold change raised. */
const ALERT = {
  type: 'object',
  properties: { accountId: TEXT, symbol: TEXT, holding: TONNES, threshold: TONNES, dueDate: { ...DAY, description: 'the day the report is due' } },
  additionalProperties: false,
} as const;
/** A cap's or threshold's body: each route takes its own field only (maxQuantity, quantity), so that the other's is refused, never ignored. */
const limitBody = (field: 'maxQuantity' | 'quantity') => body({
  // The one of accountClass and accountId not used may be sent as null, as the answer gives it.
  symbol: SYMBOL, accountClass: { type: ['string', 'null'], enum: [...ACCOUNT_CLASS.enum, null] }, accountId: { ...ACCOUNT, type: ['string', 'null'] },
  [field]: { type: ['integer', 'null'], minimum: 0, maximum: 1_000_000_000_000, description: 'tonnes; null removes the limit' },
  plusAllocation: { type: 'boolean' }, reason: REASON,
}, ['symbol', field]);

export function riskRoutes(app: FastifyInstance, g: Gateway): void {
  app.patch<{ Params: { symbol: string }; Body: { listedBandPct?: string; blockBandPct?: string; referencePrice?: string; status?: 'trading' | 'halted'; reason: string } }>('/v1/risk/instruments/:symbol', {
    ...risk,
    schema: {
      params: params({ symbol: SYMBOL }),
      body: body({ listedBandPct: PERCENT, blockBandPct: PERCENT, referencePrice: PRICE, status: { enum: ['trading', 'halted'] }, reason: REASON }, ['reason']),
      response: {
        200: {
          type: 'object',
          properties: {
            instrument: INSTRUMENT_VIEW,
            cancelledOrders: { type: 'integer', description: 'how many resting orders were cancelled for falling outside the new band' },
            ...endedProperties(
              'the ids of those orders, as the other risk answers give them', 'the ids of the block proposals withdrawn for falling outside the new block band',
              'the ids of the auction bids withdrawn for falling outside the new listed band (a cancelled auction\'s own bids included)', 'the ids of the auctions cancelled for having no price left in the new listed band',
            ),
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
      },
    },
  }, async (req, reply) => {
    const b = req.body;
    // A status alone is a halt or a resume, which leaves the bands as they are and so never checks
    // their width (a band the end of day widened past a listing's may still be halted).
    const statusAlone = b.status !== undefined && b.listedBandPct === undefined && b.blockBandPct === undefined && b.referencePrice === undefined;
    const r = await submit(g, req, reply, statusAlone ? { type: 'setInstrumentStatus', symbol: req.params.symbol, status: b.status as 'trading' | 'halted', reason: b.reason, strict: true } : {
      type: 'setInstrument', symbol: req.params.symbol, listedBandPct: b.listedBandPct ?? null, blockBandPct: b.blockBandPct ?? null,
      referencePrice: b.referencePrice === undefined ? null : parseMoney(b.referencePrice), status: b.status ?? null, reason: b.reason, strict: true,
    });
    if (!r.ok) return refuse(reply, r);
    const { cancelled, withdrawnBlocks, withdrawnBids, cancelledAuctions } = ended(r.events);
    // The instrument as this command left it, not as a later one (committed with it) did.
    return { instrument: instrumentViewAt(g, instrumentEventOf(r.events, req.params.symbol)), cancelledOrders: cancelled.length, cancelled, withdrawnBlocks, withdrawnBids, cancelledAuctions };
  });

  app.post<{ Body: { symbol?: string | null; text: string } }>('/v1/risk/warnings', {
    ...risk,
    schema: {
      // A warning to the whole market names no symbol, or null as its answer shows it.
      body: body({ symbol: { anyOf: [SYMBOL, { type: 'null' }] }, text: freeText(TEXT_LIMITS.warning, 'what the market is warned of') }, ['text']),
      response: { 201: { type: 'object', properties: { warning: WARNING_VIEW }, additionalProperties: false }, ...errorReplies(400, 401, 403, 404, 413, 415, 429, 500) },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'publishWarning', symbol: req.body.symbol ?? null, text: req.body.text });
    if (!r.ok) return refuse(reply, r);
    const e = r.events.find((x) => x.type === 'warning') as WarningEvent;
    return reply.code(201).send({ warning: warningView(e) });
  });

  for (const [path, type] of [['/v1/risk/market/halt', 'haltMarket'], ['/v1/risk/market/resume', 'resumeMarket']] as const) {
    app.post<{ Body: { reason: string } }>(path, {
      ...risk,
      schema: {
        body: body({ reason: REASON }, ['reason']),
        response: {
          200: { type: 'object', properties: { status: { type: 'string', enum: ['trading', 'halted'] }, reason: TEXT }, additionalProperties: false },
          ...errorReplies(400, 401, 403, 409, 413, 415, 429, 500),
        },
      },
    }, async (req, reply) => {
      const r = await submit(g, req, reply, { type, reason: req.body.reason, strict: true });
      // What the command left (not the engine now, which may hold a later one not yet committed).
      return r.ok ? { status: type === 'haltMarket' ? 'halted' : 'trading', reason: req.body.reason } : refuse(reply, r);
    });
  }

  for (const [path, type, field] of [['/v1/risk/position-caps', 'setPositionCap', 'maxQuantity'], ['/v1/risk/large-holder-thresholds', 'setLargeHolderThreshold', 'quantity']] as const) {
    app.put<{ Body: { symbol: string; accountClass?: 'compliance' | 'institution' | 'individual'; accountId?: string; maxQuantity: number | null; quantity: number | null; plusAllocation?: boolean; reason?: string } }>(path, {
      ...risk,
      schema: {
        body: limitBody(field),
        response: {
          200: {
            type: 'object',
            properties: {
              symbol: TEXT, accountClass: TEXT_OR_NULL, accountId: TEXT_OR_NULL, [field]: { ...TONNES_OR_NULL, description: 'the limit; null when removed' },
              plusAllocation: { type: 'boolean' },
              ...(type === 'setLargeHolderThreshold' ? { alerts: { type: 'array', items: ALERT, description: 'the large-holder alerts the new threshold raised, in account id order' } } : {
                ...endedProperties('the ids of the buy orders cancelled because the account\'s holding and open buys passed the new cap', 'the ids of the buy proposals withdrawn for the same reason'),
              }),
            },
            additionalProperties: false,
          },
          ...errorReplies(400, 401, 403, 404, 413, 415, 429, 500),
        },
      },
    }, async (req, reply) => {
      const b = req.body;
      if (b[field] === null && b.plusAllocation === true) {
        return fail(reply, 400, 'INVALID_REQUEST', `body/plusAllocation adds the allocation to a limit; ${field}: null removes the limit, and takes none`);
      }
      const r = await submit(g, req, reply, {
        type, symbol: b.symbol, accountClass: b.accountClass ?? null, accountId: b.accountId ?? null,
        quantity: (b[field] ?? null) as number | null, plusAllocation: b.plusAllocation === true, reason: b.reason,
      });
      if (!r.ok) return refuse(reply, r);
      const e = r.events.find((x): x is LimitEvent => x.type === 'limit') as LimitEvent;
      const answer: Record<string, unknown> = { symbol: e.symbol, accountClass: e.accountClass, accountId: e.accountId, [field]: e.quantity, plusAllocation: e.plusAllocation };
      if (type === 'setLargeHolderThreshold') {
        answer.alerts = r.events.filter((x): x is LargeHolderEvent => x.type === 'largeHolder' && x.action === 'alert')
          .map((a) => ({ accountId: a.accountId, symbol: a.symbol, holding: a.holding, threshold: a.threshold, dueDate: a.dueDate }));
      } else {
        Object.assign(answer, ended(r.events));
      }
      return answer;
    });
  }

  app.get<{ Querystring: { symbol?: string } }>('/v1/risk/large-holders', {
    ...risk,
    schema: { querystring: body({ symbol: SYMBOL }), response: { 200: { type: 'array', items: LARGE_HOLDER }, ...errorReplies(400, 401, 403, 404, 429, 500) } },
  }, async (req, reply) => {
    const symbol = req.query.symbol;
    if (unlisted(g, symbol)) return unknownInstrument(reply, symbol);
    return g.engine.largeHolders(symbol, true);
  });

  // Beyond API.md: a report obligation the account no longer has a reason to meet (its holding does
  // not pass the threshold in force: one set by mistake and put back) is ended by a risk officer.
  app.post<{ Body: { symbol: string; accountId: string; reason: string } }>('/v1/risk/large-holder-waivers', {
    ...risk,
    schema: {
      body: body({ symbol: SYMBOL, accountId: ACCOUNT, reason: REASON }, ['symbol', 'accountId', 'reason']),
      response: {
        200: {
          type: 'object',
          properties: {
            accountId: TEXT, symbol: TEXT, holding: TONNES,
            threshold: { ...TONNES_OR_NULL, description: 'the threshold in force; null when none' },
            dueDate: { ...DAY, description: 'the day the report waived was due' }, time: TIME,
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'waiveLargeHolderReport', symbol: req.body.symbol, accountId: req.body.accountId, reason: req.body.reason });
    if (!r.ok) return refuse(reply, r);
    const e = r.events.find((x): x is LargeHolderClosedEvent => x.type === 'largeHolderClosed') as LargeHolderClosedEvent;
    return { accountId: e.accountId, symbol: e.symbol, holding: e.holding, threshold: e.threshold, dueDate: e.dueDate, time: isoTime(e.time) };
  });

  app.patch<{ Params: { accountId: string }; Body: { restriction: 'none' | 'no_buy' | 'no_sell' | 'frozen'; reason: string } }>('/v1/risk/accounts/:accountId', {
    ...risk,
    schema: {
      params: params({ accountId: ACCOUNT }), body: body({ restriction: { enum: ['none', 'no_buy', 'no_sell', 'frozen'] }, reason: REASON }, ['restriction', 'reason']),
      response: {
        200: {
          type: 'object',
          properties: {
            accountId: TEXT, restriction: { type: 'string', enum: ['none', 'no_buy', 'no_sell', 'frozen'] },
            ...endedProperties('the ids of the open orders on a side the restriction forbids, cancelled', 'the ids of the block proposals the account was party to on a side the restriction forbids, withdrawn'),
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'restrictAccount', accountId: req.params.accountId, restriction: req.body.restriction, reason: req.body.reason, strict: true });
    return r.ok ? { accountId: req.params.accountId, restriction: req.body.restriction, ...ended(r.events) } : refuse(reply, r);
  });

  app.post<{ Params: { accountId: string }; Body: { reason: string } }>('/v1/risk/accounts/:accountId/cancel-all', {
    ...risk,
    schema: {
      params: params({ accountId: ACCOUNT }), body: body({ reason: REASON }, ['reason']),
      response: {
        200: {
          type: 'object',
          properties: {
            ...endedProperties('the ids of the orders cancelled', 'the ids of the block proposals the account was party to, withdrawn'),
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'cancelAll', accountId: req.params.accountId, reason: req.body.reason });
    return r.ok ? ended(r.events) : refuse(reply, r);
  });

  app.get<{ Querystring: { since?: string; limit?: number } }>('/v1/risk/audit', {
    ...risk,
    // A time's "+08:00" typed into a URL as it is arrives as " 08:00" (a + in a query string is a
    // space): taken as the + it was meant to be.
    preValidation: async (req) => {
      const q = req.query as { since?: unknown };
      if (typeof q.since === 'string') q.since = q.since.replace(/T(.+) (\d{2}:\d{2})$/, 'T$1+$2');
    },
    schema: {
      querystring: body({ since: SINCE, limit: { type: 'integer', minimum: 1, maximum: 10_000 } }),
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              seq: { type: 'integer', description: 'the command\'s sequence number in the journal' }, time: TIME,
              who: { type: 'string', description: 'role:id of the actor' }, action: { type: 'string', description: 'the command type' },
              // The command's own fields, whatever its type: every key is kept as it is.
              what: { type: 'object', additionalProperties: true, description: 'the command\'s fields, prices and money as decimal strings' },
              why: TEXT_OR_NULL,
              outcome: { type: 'string', enum: ['done', 'refused', 'duplicate'], description: 'duplicate: it repeated an earlier transfer\'s reference and terms, and nothing was done' },
              duplicateOf: { type: ['string', 'null'], description: 'the transfer it repeated (S<seq>, as the statements name it), for a duplicate' },
              error: {
                type: ['object', 'null'], properties: { code: TEXT, message: TEXT }, additionalProperties: false,
                description: 'the refusal, when the command was refused',
              },
            },
            additionalProperties: false,
          },
        },
        ...errorReplies(400, 401, 403, 429, 500),
      },
    },
  }, async (req, reply) => {
    const since = req.query.since ?? '0';
    const limit = req.query.limit ?? 1000;
    let entries;
    if (/^\d+$/.test(since)) {
      entries = g.journal.audit(Number(since), limit);
    } else {
      // A date is its midnight in China Standard Time; a time must say its offset (the pattern asks
      // for it). Its date must be a real one: Date.parse would take 2026-02-30 for 2026-03-02.
      const day = dayOfDate(since.slice(0, 10));
      const time = day === null ? NaN : since.length === 10 ? localMidnight(day) : Date.parse(since);
      if (Number.isNaN(time)) return fail(reply, 400, 'INVALID_REQUEST', `querystring/since ${JSON.stringify(since)} is not a real date or time`);
      entries = g.journal.auditFrom(time, limit);
    }
    return entries.map((entry) => {
      const { seq: _s, time: _t, actor, type, reason, ...what } = entry.command as Command & Record<string, unknown> & { reason?: string };
      return {
        seq: entry.seq, time: isoTime(entry.time), who: `${actor.role}:${actor.id}`, action: type, what: describe(type, what), why: reason ?? null,
        ...auditOutcome(entry),
      };
    });
  });
}

/** How an audited command ended: done, refused (with its error), or a duplicate of an earlier transfer. */
function auditOutcome(entry: AuditEntry) {
  if (entry.code === null) return { outcome: 'done', duplicateOf: null, error: null };
  if (entry.code === AUDIT_DUPLICATE) return { outcome: 'duplicate', duplicateOf: entry.message, error: null };
  return { outcome: 'refused', duplicateOf: null, error: { code: entry.code, message: entry.message } };
}

/**
 * The fields a command names otherwise than the request that made it: the audit trail speaks the
 * API's words (a cap's `maxQuantity`, an account's `class`).
 */
const API_NAMES: Partial<Record<string, Record<string, string>>> = {
  setPositionCap: { quantity: 'maxQuantity' },
  createAccount: { accountClass: 'class' },
};

/** The fields a command of that type may leave out, with what their absence means. */
const TRANSFER_DEFAULTS = { cash: null, symbol: null, quantity: null, reference: null };
const AUDIT_DEFAULTS: Partial<Record<string, Record<string, unknown>>> = {
  deposit: TRANSFER_DEFAULTS,
  withdraw: TRANSFER_DEFAULTS,
  createAccount: { allocation: 0, venues: null },
};

/**
 * Command fields for the audit trail, as the API writes them: prices and money as decimal strings,
 * ids of orders, blocks, auctions and bids as strings of digits, a listing's whole profile (and its
 * venue on its own).
 */
function describe(type: string, what: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = API_NAMES[type];
  // What the command left out is said as the engine takes it: one shape per action, whether the
  // gateway sent it (every field) or the market set-up (only those it uses).
  for (const [k, v] of Object.entries(AUDIT_DEFAULTS[type] ?? {})) if (!(k in what)) out[names?.[k] ?? k] = v;
  for (const [k, v] of Object.entries(what)) {
    const name = names?.[k] ?? k;
    if (k === 'strict' || k === 'toClock') continue; // how the engine takes the command, not what the operator asked
    if (k === 'profile') {
      out.venue = (v as { venue: string }).venue;
      out.profile = v;
    } else if ((k === 'cash' || k === 'referencePrice' || k === 'listingPrice') && typeof v === 'number') out[name] = formatMoney(v);
    else if (k.endsWith('Id') && typeof v === 'number') out[name] = String(v);
    else if (v !== undefined) out[name] = v; // null kept: a cap or threshold of null is its removal
  }
  return out;
}

