// Operators' routes (API.md "Operators"): accounts, deposits and withdrawals, listing an
// instrument with its venue profile, the end of day, and the settlement outputs.
import { open, type FileHandle } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import { formatMoney, parseMoney, type VenueProfile } from '../../engine/index.ts';
import { REPORTS, type ReportName } from '../../persistence/settlementWriter.ts';
import {
  ACCOUNT, body, CLIENT_ORDER_ID, MEMBER, DATE, DAY, DAY_OR_NULL, ERROR_REPLY, errorReplies, fail, freeText, MONEY, MONEY_TEXT, params, PRICE, QUANTITY, REASON, refuse, submit, SYMBOL, TEXT, TEXT_OR_NULL, TONNES, type Gateway,
} from '../http.ts';
import { ACCOUNT_CLASS, ACCOUNT_VENUES, CASH, ended, endedProperties, INSTRUMENT_VIEW, SETTLEMENT_REPORT, venueList } from '../replies.ts';
import { instrumentEventOf, instrumentViewAt } from './market.ts';

const operator = { config: { role: 'operator' as const } };
const VENUE = SYMBOL;
const ALLOCATION = { type: 'integer', minimum: 0, maximum: 1_000_000_000_000 } as const;
/** The venues an account trades on; null: every venue that admits its class. */
const VENUES = { anyOf: [{ type: 'array', items: VENUE, minItems: 1, maxItems: 20, uniqueItems: true }, { type: 'null' }] } as const;
/** The forms a settlement report is sent in, as its Content-Type says them. */
const JSON_FORM = 'application/json; charset=utf-8';
const CSV_FORM = 'text/csv; charset=utf-8';

/** The calendar of each instrument of a venue: its holidays from the trading day on, and how far it is known. */
function calendarsOf(g: Gateway, venue: string) {
  const today = g.engine.tradingDate;
  return g.engine.instruments.filter((i) => i.venue === venue).map((i) => ({
    symbol: i.symbol, holidays: i.profile.source.holidays.filter((d) => d >= today), calendarThrough: i.profile.source.calendarThrough ?? null,
  }));
}

/** The form of `forms` the request's Accept header prefers (the first without one, or with a blank one); undefined when it accepts none. */
function negotiated(req: FastifyRequest, forms: string[]): string | undefined {
  const accept = req.headers.accept;
  return accept === undefined || accept.trim() === '' ? forms[0] : new Negotiator(req).mediaType(forms);
}

/** A closed day's settlement that cannot be written now (a full disk, say). */
const SETTLEMENT_UNAVAILABLE = { ...ERROR_REPLY, description: 'SETTLEMENT_UNAVAILABLE: the day is closed but its settlement could not be written; the journal holds the day, and the next request (or start) writes it again' };

export function adminRoutes(app: FastifyInstance, g: Gateway): void {
  /**
   * Whether a day's settlement can be served: published, or closed and written now (a crash or a
   * failed write cut its outputs short). Otherwise the refusal has been sent.
   */
  const available = async (reply: FastifyReply, date: string): Promise<boolean> => {
    try {
      if (await g.settlement.ensure(date)) return true;
      fail(reply, 404, 'UNKNOWN_DAY', `no settlement has been published for ${date}`);
    } catch (e) {
      fail(reply, 503, 'SETTLEMENT_UNAVAILABLE', `the settlement of ${date} could not be written (${(e as Error).message}); the journal holds the day intact: ask again once the cause is fixed`);
    }
    return false;
  };

  /** An account's holding of an instrument as the engine holds it now; null without a symbol or for an unknown one. */
  const heldAfter = (accountId: string, symbol: string | undefined) => {
    const inst = symbol === undefined ? undefined : g.engine.instrument(symbol);
    const account = g.engine.account(accountId);
    if (inst === undefined || account === undefined) return null;
    const pos = account.peek(inst.index);
    return { symbol: inst.symbol, available: pos.available, frozen: pos.frozen, pending: pos.pending };
  };
  const cashOf = (accountId: string) => {
    const account = g.engine.account(accountId);
    return account === undefined ? null : { available: formatMoney(account.cash), frozen: formatMoney(account.cashFrozen) };
  };

  app.post<{ Body: { accountId: string; member: string; class: 'compliance' | 'institution' | 'individual'; allocation?: number; venues?: string[] | null } }>('/v1/admin/accounts', {
    ...operator,
    schema: {
      body: body({
        accountId: ACCOUNT, member: MEMBER, class: { enum: ACCOUNT_CLASS.enum }, allocation: ALLOCATION, venues: VENUES,
      }, ['accountId', 'member', 'class']),
      response: {
        201: {
          type: 'object',
          description: 'the account as opened',
          properties: { accountId: TEXT, member: TEXT, class: ACCOUNT_CLASS, allocation: TONNES, venues: ACCOUNT_VENUES },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const b = req.body;
    const r = await submit(g, req, reply, { type: 'createAccount', accountId: b.accountId, member: b.member, accountClass: b.class, allocation: b.allocation, venues: b.venues ?? null, strict: true });
    if (!r.ok) return refuse(reply, r);
    return reply.code(201).send({ accountId: b.accountId, member: b.member, class: b.class, allocation: b.allocation ?? 0, venues: venueList(b.venues) });
  });

  // Beyond API.md: a new year's allocation, or the venues an account may trade, changed in place (its
  // class and member stay; an account of another class is another account).
  app.patch<{ Params: { accountId: string }; Body: { allocation?: number; venues?: string[] | null; reason: string } }>('/v1/admin/accounts/:accountId', {
    ...operator,
    schema: {
      params: params({ accountId: ACCOUNT }),
      body: body({ allocation: ALLOCATION, venues: VENUES, reason: REASON }, ['reason']),
      response: {
        200: {
          type: 'object',
          description: 'the account as the change left it, and what of its business the change ended',
          properties: {
            accountId: TEXT, member: TEXT, class: ACCOUNT_CLASS, allocation: TONNES, venues: ACCOUNT_VENUES,
            ...endedProperties(
              'the ids of its open orders cancelled: on a venue it no longer trades, or past a cap lowered with the allocation',
              'the ids of the block proposals it was party to, withdrawn for the same reasons',
            ),
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const b = req.body;
    const r = await submit(g, req, reply, { type: 'updateAccount', accountId: req.params.accountId, allocation: b.allocation, venues: b.venues, reason: b.reason });
    if (!r.ok) return refuse(reply, r);
    const a = g.engine.account(req.params.accountId)!;
    return { accountId: a.id, member: a.member, class: a.accountClass, allocation: a.allocation, venues: venueList(a.venues), ...ended(r.events) };
  });

  // Beyond API.md: a venue's calendar changed on the running exchange (the next year's holidays, once
  // published; a day closed at short notice), for every instrument of the venue.
  const dates = (description: string) => ({ type: 'array', items: DATE, maxItems: 1000, uniqueItems: true, description });
  app.patch<{ Params: { venue: string }; Body: { addHolidays?: string[]; removeHolidays?: string[]; calendarThrough?: string | null; reason: string } }>('/v1/admin/venues/:venue/calendar', {
    ...operator,
    schema: {
      params: params({ venue: VENUE }),
      body: body({
        addHolidays: dates('days to make holidays: the trading day or later'),
        removeHolidays: dates('holidays to trade on after all: the trading day or later'),
        calendarThrough: { anyOf: [DATE, { type: 'null' }], description: 'the last day the holidays are known for (a later day does not trade until it is extended); null for no end; absent: unchanged' },
        reason: REASON,
      }, ['reason']),
      response: {
        200: {
          type: 'object',
          description: 'the calendar of each instrument of the venue as the change left it',
          properties: {
            venue: TEXT,
            instruments: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  symbol: TEXT,
                  holidays: { type: 'array', items: DAY, description: 'its holidays from the trading day on' },
                  calendarThrough: { ...DAY_OR_NULL, description: 'the last day its calendar is known for; null for no end' },
                },
                additionalProperties: false,
              },
            },
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const b = req.body;
    const venue = req.params.venue;
    const r = await submit(g, req, reply, {
      type: 'setCalendar', venue, addHolidays: b.addHolidays ?? [], removeHolidays: b.removeHolidays ?? [],
      ...(b.calendarThrough === undefined ? {} : { calendarThrough: b.calendarThrough }), reason: b.reason,
    });
    if (!r.ok) return refuse(reply, r);
    return { venue, instruments: calendarsOf(g, venue) };
  });

  /** A deposit's or withdrawal's answer: 201 for a new transfer, 200 for a repeated reference. */
  const transferAnswer = {
    type: 'object',
    description: 'the account\'s cash after the transfer and, for a transfer of allowances, its holding of them',
    properties: {
      accountId: TEXT, cash: CASH,
      holding: {
        type: ['object', 'null'],
        description: 'the holding the transfer moved, as it left it; null for a transfer of cash',
        properties: { symbol: TEXT, available: TONNES, frozen: TONNES, pending: TONNES },
        additionalProperties: false,
      },
      ref: { type: 'string', description: 'the transfer as the statements name it, S<seq>; a repeat names the first transfer' },
      reference: { ...TEXT_OR_NULL, description: 'the bank\'s or registry\'s reference the transfer was given, or null' },
      duplicate: { type: 'boolean', description: 'true when the reference named a transfer made before: nothing moved' },
    },
    additionalProperties: false,
  } as const;
  for (const [path, type] of [['/v1/admin/deposits', 'deposit'], ['/v1/admin/withdrawals', 'withdraw']] as const) {
    app.post<{ Body: { accountId: string; cash?: string; symbol?: string; quantity?: number; reference?: string } }>(path, {
      ...operator,
      schema: {
        body: body({ accountId: ACCOUNT, cash: MONEY, symbol: SYMBOL, quantity: QUANTITY, reference: CLIENT_ORDER_ID }, ['accountId']),
        response: { 200: transferAnswer, 201: transferAnswer, ...errorReplies(400, 401, 403, 404, 409, 413, 415, 422, 429, 500) },
      },
    }, async (req, reply) => {
      const b = req.body;
      const outcome = submit(g, req, reply, {
        type, accountId: b.accountId, cash: b.cash === undefined ? null : parseMoney(b.cash), symbol: b.symbol ?? null, quantity: b.quantity ?? null,
        reference: b.reference ?? null,
      });
      // The engine applied the transfer just now and nothing since: cash and holding are read as it
      // left them (by the commit, later commands may have changed them); a repeat's, as they are now.
      const holding = heldAfter(b.accountId, b.symbol);
      const cash = cashOf(b.accountId);
      const r = await outcome;
      if (!r.ok) return refuse(reply, r);
      return reply.code(r.duplicate === true ? 200 : 201).send({
        accountId: b.accountId, cash, holding, ref: `S${r.transferSeq}`, reference: b.reference ?? null, duplicate: r.duplicate === true,
      });
    });
  }

  app.post<{ Body: { symbol: string; name?: string; vintage?: number | null; profile: VenueProfile; listingPrice: string } }>('/v1/admin/instruments', {
    ...operator,
    bodyLimit: 256 * 1024,
    schema: {
      body: body({
        symbol: SYMBOL, name: freeText(100), vintage: { anyOf: [{ type: 'integer', minimum: 2000, maximum: 2100 }, { type: 'null' }] },
        profile: { type: 'object' }, listingPrice: PRICE,
      }, ['symbol', 'profile', 'listingPrice']),
      response: { 201: INSTRUMENT_VIEW, ...errorReplies(400, 401, 403, 409, 413, 415, 422, 429, 500) },
    },
  }, async (req, reply) => {
    const b = req.body;
    // With the checks a profile passes to be taken now, which the engine makes only when asked (it
    // replays listings made before them as they were taken): a symbol listed twice, a trade mode
    // left out of the sessions. A refusal is in the audit trail, as the engine's refusals are.
    const r = await submit(g, req, reply, {
      type: 'listInstrument', symbol: b.symbol, name: b.name, vintage: b.vintage, profile: b.profile, listingPrice: parseMoney(b.listingPrice) as number, strict: true,
    });
    if (!r.ok) return refuse(reply, r);
    // As the listing left it, not as a risk officer's command committed with it did.
    return reply.code(201).send(instrumentViewAt(g, instrumentEventOf(r.events, b.symbol)));
  });

  app.post<{ Body: { date?: string } | null }>('/v1/admin/end-of-day', {
    ...operator,
    schema: {
      body: { type: ['object', 'null'], properties: { date: DATE }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          description: 'the summary of the end of day',
          properties: {
            date: { ...DAY, description: 'the day closed' }, nextDate: { ...DAY, description: 'the trading day now in force' },
            expiredOrders: { type: 'integer' }, expiredBlocks: { type: 'integer' },
            endedAuctions: { type: 'integer', description: 'the auctions still open that the end of day allocated (or cancelled, on a halted instrument); beyond API.md' },
            instruments: {
              type: 'array',
              items: {
                type: 'object',
                properties: { symbol: TEXT, prevClose: MONEY_TEXT, close: MONEY_TEXT, listedVolume: TONNES, blockVolume: TONNES, auctionVolume: TONNES },
                additionalProperties: false,
              },
            },
            settlement: { type: ['string', 'null'], description: 'the path of the day\'s settlement reports; null when they were not published' },
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 409, 413, 415, 429, 500),
      },
    },
  }, async (req, reply) => {
    const r = await submit(g, req, reply, { type: 'endOfDay', date: req.body?.date ?? g.engine.tradingDate, strict: true, toClock: true });
    if (!r.ok) return refuse(reply, r);
    const eod = r.events.find((e) => e.type === 'endOfDay');
    if (eod === undefined || eod.type !== 'endOfDay') return fail(reply, 500, 'INTERNAL', 'the end of day left no summary');
    // The day's outputs are being written on the settlement thread (started as the batch
    // committed): the answer says whether they were published.
    await g.settlement.publishing(eod.date)?.catch(() => undefined);
    return {
      date: eod.date, nextDate: eod.nextDate, expiredOrders: r.events.filter((e) => e.type === 'order').length,
      expiredBlocks: r.events.filter((e) => e.type === 'block').length,
      endedAuctions: r.events.filter((e) => e.type === 'auction').length,
      instruments: eod.instruments.map((i) => ({
        symbol: i.symbol, prevClose: formatMoney(i.prevClose), close: formatMoney(i.close), listedVolume: i.listedVolume, blockVolume: i.blockVolume,
        auctionVolume: i.auctionVolume,
      })),
      settlement: g.settlement.published(eod.date) ? `/v1/settlement/${eod.date}` : null,
    };
  });

  app.get<{ Params: { date: string } }>('/v1/settlement/:date', {
    ...operator,
    schema: {
      params: params({ date: DATE }),
      response: {
        200: {
          type: 'object',
          properties: {
            date: DAY,
            totals: {
              type: ['object', 'null'],
              description: 'the day\'s totals; any further field the published report holds is kept',
              properties: {
                tradeCount: { type: 'integer' }, cashPaid: MONEY_TEXT, cashReceived: MONEY_TEXT, fees: MONEY_TEXT, tonnesBought: TONNES, tonnesSold: TONNES,
              },
              additionalProperties: true,
            },
            reports: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string', enum: [...REPORTS] }, href: TEXT }, additionalProperties: false },
            },
          },
          additionalProperties: false,
        },
        ...errorReplies(400, 401, 403, 404, 406, 429, 500), 503: SETTLEMENT_UNAVAILABLE,
      },
    },
  }, async (req, reply) => {
    if (!(await available(reply, req.params.date))) return reply;
    // The day's index comes as JSON only: an Accept that refuses it is told so, as a report's is.
    if (negotiated(req, [JSON_FORM]) === undefined) {
      return fail(reply, 406, 'NOT_ACCEPTABLE', `a settlement day's index is sent as ${JSON_FORM} (its reports also as ${CSV_FORM}); the Accept header (${req.headers.accept!.slice(0, 200)}) does not accept it`);
    }
    return {
      date: req.params.date, totals: JSON.parse(g.settlement.read(req.params.date, 'totals', 'json') ?? 'null'),
      reports: REPORTS.map((name) => ({ name, href: `/v1/settlement/${req.params.date}/${name}` })),
    };
  });

  app.get<{ Params: { date: string; report: ReportName } }>('/v1/settlement/:date/:report', {
    ...operator,
    schema: {
      // A report that does not exist is 404 (UNKNOWN_REPORT), as an unknown day is, not a malformed request.
      params: params({ date: DATE, report: { type: 'string', maxLength: 64, description: `one of ${REPORTS.join(', ')}` } }),
      response: {
        // The handler sends the report file's text as it is (never serialised again): the rows as JSON, or as CSV with Accept: text/csv.
        200: {
          description: 'the report: its rows as JSON, or as CSV with a header line when the Accept header prefers text/csv (q-values, wildcards and parameters as HTTP has them; at a tie the form the header names first; JSON without an Accept header or with */*)',
          content: {
            'application/json': { schema: SETTLEMENT_REPORT },
            'text/csv': { schema: { type: 'string' } },
          },
        },
        ...errorReplies(400, 401, 403, 404, 406, 429, 500), 503: SETTLEMENT_UNAVAILABLE,
      },
    },
  }, async (req, reply) => {
    if (!(await available(reply, req.params.date))) return reply;
    if (!(REPORTS as readonly string[]).includes(req.params.report)) {
      return fail(reply, 404, 'UNKNOWN_REPORT', `no report ${JSON.stringify(req.params.report)}: a day's reports are ${REPORTS.join(', ')}`);
    }
    // Content negotiation as HTTP has it: `text/csv;q=0` refuses CSV, `TEXT/CSV` is text/csv, a
    // range more specific than another or with a higher q wins, and at a tie the one the header
    // names first; the forms are offered with the charset they are sent in, so that asking for
    // exactly that matches. A blank Accept is no Accept (JSON); one naming neither form is 406.
    const form = negotiated(req, [JSON_FORM, CSV_FORM]);
    if (form === undefined) {
      return fail(reply, 406, 'NOT_ACCEPTABLE', `a report is sent as ${JSON_FORM} or ${CSV_FORM}; the Accept header (${req.headers.accept!.slice(0, 200)}) accepts neither`);
    }
    const csv = form === CSV_FORM;
    const file = g.settlement.file(req.params.date, req.params.report, csv ? 'csv' : 'json');
    if (file === null) return fail(reply, 404, 'UNKNOWN_DAY', `no settlement has been published for ${req.params.date}`);
    // Streamed from the file: a busy day's report is hundreds of megabytes, which read whole would
    // hold the exchange's thread (and could be longer than one string may be). Opened first, so that
    // a file that cannot be read (its permissions, a folder in its place) is refused in the API's words.
    let handle: FileHandle | null = null;
    try {
      handle = await open(file, 'r');
      if (!(await handle.stat()).isFile()) throw new Error(`${file} is not a file`);
    } catch (e) {
      await handle?.close();
      return fail(reply, 503, 'SETTLEMENT_UNAVAILABLE', `the ${req.params.report} report of ${req.params.date} cannot be read (${(e as Error).message}); the journal holds the day intact: ask again once the cause is fixed`);
    }
    return reply.type(form).send(handle.createReadStream());
  });
}
