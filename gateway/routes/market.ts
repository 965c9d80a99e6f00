// Public market data (API.md "Market data"): instruments, book, recent trades, ticker, K-lines, and
// today's risk warnings.
import type { FastifyInstance } from 'fastify';
import { formatMoney, formatPercent, isoTime, INTERVAL_NAMES, type EngineEvent, type InstrumentEvent, type KlineInterval } from '../../engine/index.ts';
import { body, errorReplies, money, params, SYMBOL, unknownInstrument, unlisted, type Gateway } from '../http.ts';
import { BOOK, INSTRUMENT_VIEW, KLINE_VIEW, LARGE_HOLDER_NOTICE, LISTINGS, PUBLIC_TRADE, TICKER_VIEW, WARNING_VIEW, warningView } from '../replies.ts';
import type { TradeMode } from '../history.ts';

export function instrumentView(g: Gateway, symbol: string) {
  const i = g.engine.instrument(symbol);
  if (i === undefined) return undefined;
  const now = g.sequencer.now();
  const session = (mode: 'listed' | 'block') => (g.engine.sessionOpen(i, mode, now) ? 'open' : 'closed');
  return {
    symbol: i.symbol, name: i.name, venue: i.venue, kind: i.profile.source.kind, vintage: i.vintage, tick: formatMoney(i.profile.tick),
    lot: i.profile.lot, status: g.engine.marketHalted ? 'halted' : i.status, instrumentStatus: i.status, prevClose: formatMoney(i.prevClose), referencePrice: formatMoney(i.referencePrice),
    listedBand: { low: formatMoney(i.bandLow), high: formatMoney(i.bandHigh), pct: formatPercent(i.listedBandRate) },
    blockBand: { low: formatMoney(i.blockLow), high: formatMoney(i.blockHigh), pct: formatPercent(i.blockBandRate) },
    tradingDate: g.engine.tradingDate, listedSession: session('listed'), blockSession: session('block'), headline: i.profile.source.headline ?? 'close',
    calendarThrough: i.profile.source.calendarThrough ?? null,
  };
}

/**
 * An instrument as a command left it (its instrument event): what a risk officer's or operator's
 * answer shows, which another officer's command committed in the same batch must not show instead.
 * The market-wide halt is read as it is now.
 */
export function instrumentViewAt(g: Gateway, e: InstrumentEvent) {
  const view = instrumentView(g, e.symbol);
  if (view === undefined) return undefined;
  return {
    ...view, status: g.engine.marketHalted ? 'halted' : e.status, instrumentStatus: e.status, prevClose: formatMoney(e.prevClose), referencePrice: formatMoney(e.referencePrice),
    listedBand: { low: formatMoney(e.bandLow), high: formatMoney(e.bandHigh), pct: formatPercent(e.listedBandRate) },
    blockBand: { low: formatMoney(e.blockLow), high: formatMoney(e.blockHigh), pct: formatPercent(e.blockBandRate) },
  };
}

/** The instrument event of a command's events (every command that lists or sets an instrument has one). */
export const instrumentEventOf = (events: readonly EngineEvent[], symbol: string): InstrumentEvent =>
  events.find((e): e is InstrumentEvent => e.type === 'instrument' && e.symbol === symbol) as InstrumentEvent;

export function marketRoutes(app: FastifyInstance, g: Gateway): void {
  const symbolParams = { params: params({ symbol: SYMBOL }) };
  // A symbol's route answers 400 for a malformed symbol or query and 404 for one not listed.
  const symbolErrors = errorReplies(400, 404, 429, 500);

  app.get('/v1/instruments', {
    schema: { response: { 200: { type: 'array', items: INSTRUMENT_VIEW }, ...errorReplies(429, 500) } },
  }, async () => g.engine.instruments.map((i) => instrumentView(g, i.symbol)));

  app.get<{ Params: { symbol: string } }>('/v1/instruments/:symbol', {
    schema: { ...symbolParams, response: { 200: INSTRUMENT_VIEW, ...symbolErrors } },
  }, async (req, reply) =>
    instrumentView(g, req.params.symbol) ?? unknownInstrument(reply, req.params.symbol));

  app.get<{ Params: { symbol: string }; Querystring: { depth?: number } }>('/v1/instruments/:symbol/book', {
    schema: {
      ...symbolParams, querystring: body({ depth: { type: 'integer', minimum: 1, maximum: 50 } }),
      response: { 200: BOOK, ...symbolErrors },
    },
  }, async (req, reply) => {
    const d = g.engine.depth(req.params.symbol, req.query.depth ?? 5);
    if (d === undefined) return unknownInstrument(reply, req.params.symbol);
    const level = ([p, q, n]: [number, number, number]) => [formatMoney(p), q, n];
    return { symbol: req.params.symbol, seq: g.engine.lastSequence, bids: d.bids.map(level), asks: d.asks.map(level) };
  });

  // The orders a pick may name (the listings of a 挂牌点选 market), anonymous: id, price, remaining
  // quantity and time, in priority, within the best levels the venue lets a pick reach.
  // At most `limit` orders a side (1,000 unless asked): a level can hold tens of thousands.
  app.get<{ Params: { symbol: string }; Querystring: { limit?: number } }>('/v1/instruments/:symbol/listings', {
    schema: {
      ...symbolParams, querystring: body({ limit: { type: 'integer', minimum: 1, maximum: 5000 } }),
      response: { 200: LISTINGS, ...symbolErrors },
    },
  }, async (req, reply) => {
    const p = g.engine.pickable(req.params.symbol, req.query.limit ?? 1000);
    if (p === undefined) return unknownInstrument(reply, req.params.symbol);
    const listing = (o: { id: number; price: number; remaining: number; time: number }) => ({ orderId: String(o.id), price: formatMoney(o.price), quantity: o.remaining, time: isoTime(o.time) });
    return { symbol: req.params.symbol, seq: g.engine.lastSequence, levels: p.levels, bids: p.bids.map(listing), asks: p.asks.map(listing) };
  });

  app.get<{ Params: { symbol: string }; Querystring: { limit?: number; mode?: TradeMode } }>('/v1/instruments/:symbol/trades', {
    schema: {
      ...symbolParams,
      querystring: body({
        limit: { type: 'integer', minimum: 1, maximum: 1000 },
        mode: { enum: ['all', 'listed', 'block', 'auction'], description: 'one mode\'s trades only (all unless asked)' },
      }),
      response: { 200: { type: 'array', items: PUBLIC_TRADE }, ...symbolErrors },
    },
  }, async (req, reply) => {
    if (unlisted(g, req.params.symbol)) return unknownInstrument(reply, req.params.symbol);
    return g.history.recentTrades(req.params.symbol, req.query.limit ?? 100, req.query.mode ?? 'all').map((t) => ({
      tradeId: String(t.tradeId), price: formatMoney(t.price), quantity: t.quantity, mode: t.mode, aggressor: t.mode === 'listed' ? t.aggressor : null,
      time: isoTime(t.time),
    }));
  });

  app.get<{ Params: { symbol: string } }>('/v1/instruments/:symbol/ticker', {
    schema: { ...symbolParams, response: { 200: TICKER_VIEW, ...symbolErrors } },
  }, async (req, reply) => {
    const t = g.engine.ticker(req.params.symbol);
    if (t === undefined) return unknownInstrument(reply, req.params.symbol);
    return tickerView(t);
  });

  app.get<{ Params: { symbol: string }; Querystring: { interval?: KlineInterval; limit?: number } }>('/v1/instruments/:symbol/klines', {
    schema: {
      ...symbolParams,
      querystring: body({ interval: { enum: INTERVAL_NAMES }, limit: { type: 'integer', minimum: 1, maximum: 1500 } }),
      response: { 200: { type: 'array', items: KLINE_VIEW }, ...symbolErrors },
    },
  }, async (req, reply) => {
    if (unlisted(g, req.params.symbol)) return unknownInstrument(reply, req.params.symbol);
    return g.history.klines.get(req.params.symbol, req.query.interval ?? '1m', req.query.limit ?? 500).map(klineView);
  });

  app.get<{ Querystring: { symbol?: string } }>('/v1/warnings', {
    schema: {
      querystring: body({ symbol: SYMBOL }),
      response: { 200: { type: 'array', items: WARNING_VIEW }, ...symbolErrors },
    },
  }, async (req, reply) => {
    // An instrument's warnings include those about the whole market.
    const symbol = req.query.symbol;
    if (unlisted(g, symbol)) return unknownInstrument(reply, symbol);
    return g.history.warnings.filter((w) => symbol === undefined || w.symbol === null || w.symbol === symbol).map(warningView);
  });

  app.get<{ Querystring: { symbol?: string } }>('/v1/large-holders', {
    schema: {
      querystring: body({ symbol: SYMBOL }),
      response: { 200: { type: 'array', items: LARGE_HOLDER_NOTICE }, ...symbolErrors },
    },
  }, async (req, reply) => {
    const symbol = req.query.symbol;
    if (unlisted(g, symbol)) return unknownInstrument(reply, symbol);
    return publishedLargeHolders(g, symbol);
  });
}

/**
 * The large holders a venue publishes as market notices (its profile's `largeHolder.publish`), of
 * one instrument or all: what the `warnings` channel's snapshot shows and its `largeHolder` alerts add to.
 */
export function publishedLargeHolders(g: Gateway, symbol?: string) {
  return g.engine.largeHoldersOver(symbol).filter((h) => publishesLargeHolders(g, h.symbol));
}

/** Whether the venue of the instrument publishes its large holders (its profile's largeHolder.publish). */
export function publishesLargeHolders(g: Gateway, symbol: string): boolean {
  return g.engine.instrument(symbol)?.profile.source.largeHolder.publish === true;
}

export function tickerView(t: NonNullable<ReturnType<Gateway['engine']['ticker']>>) {
  return {
    symbol: t.symbol, date: t.date, exchangeSeq: t.seq, status: t.status, open: money(t.open), high: money(t.high), low: money(t.low), last: money(t.last),
    close: null, prevClose: money(t.prevClose), changePct: (t.changeHundredths < 0 ? '-' : '') + formatMoney(Math.abs(t.changeHundredths)),
    vwap: money(t.vwap), average: money(t.average), listedVolume: t.listedVolume, listedTurnover: money(t.listedTurnover), blockVolume: t.blockVolume,
    blockTurnover: money(t.blockTurnover), auctionVolume: t.auctionVolume, auctionTurnover: money(t.auctionTurnover),
    volume: t.volume, turnover: money(t.turnover), cumulativeVolume: t.cumulativeVolume, cumulativeTurnover: money(t.cumulativeTurnover),
    bandLow: money(t.bandLow), bandHigh: money(t.bandHigh),
  };
}

export function klineView(k: { openTime: number; open: number; high: number; low: number; close: number; volume: number; turnover: number }) {
  return {
    openTime: isoTime(k.openTime), open: formatMoney(k.open), high: formatMoney(k.high), low: formatMoney(k.low), close: formatMoney(k.close),
    volume: k.volume, turnover: formatMoney(k.turnover),
  };
}
