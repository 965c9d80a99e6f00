// Reply schemas of the views that live with their routes (instrumentView, tickerView and klineView
// in routes/market.ts, blockView and the order and block replies in routes/trading.ts) and of the
// replies more than one route sends. orderView's and fillView's sit with them in http.ts. Each lists
// the properties its view returns, in the same order (see "reply schemas" in http.ts for why).
import {
  DAY, DAY_OR_NULL, ID_TEXT, ID_TEXT_OR_NULL, MONEY_TEXT, MONEY_TEXT_OR_NULL, ORDER_VIEW, SIDE, TEXT, TEXT_OR_NULL, TIME, TONNES, TONNES_OR_NULL,
} from './http.ts';
import { ACCOUNT_CLASSES, isoTime, type EngineEvent, type WarningEvent } from '../engine/index.ts';

const STATUS = { type: 'string', enum: ['trading', 'halted'] } as const;
const SESSION = { type: 'string', enum: ['open', 'closed'] } as const;
const PERCENT_TEXT = { type: 'string', description: 'a percentage as a decimal string, such as "10"' } as const;
const BAND = {
  type: 'object',
  properties: { low: MONEY_TEXT, high: MONEY_TEXT, pct: PERCENT_TEXT },
  additionalProperties: false,
} as const;

/** instrumentView (routes/market.ts). */
export const INSTRUMENT_VIEW = {
  type: 'object',
  description: 'a listed instrument, with today\'s listed and block price bands',
  properties: {
    symbol: TEXT, name: TEXT, venue: TEXT, kind: { type: 'string', enum: ['allowance', 'ccer'] }, vintage: { type: ['integer', 'null'] }, tick: MONEY_TEXT,
    lot: TONNES, status: { ...STATUS, description: 'halted while the instrument or the whole market is halted' },
    instrumentStatus: { ...STATUS, description: 'the instrument\'s own status, as risk officers set it: trading during a market-wide halt once the instrument is resumed' },
    prevClose: MONEY_TEXT,
    referencePrice: { ...MONEY_TEXT, description: 'the price today\'s bands are computed from: prevClose, unless a risk officer set another' },
    listedBand: BAND, blockBand: BAND,
    tradingDate: { ...DAY, description: 'the trading day orders are taken for (after the end of day, the next one)' },
    listedSession: { ...SESSION, description: 'whether a listed order sent now falls within the trading day and a listed session of the instrument\'s calendar (a halt is told by status)' },
    blockSession: { ...SESSION, description: 'the same for a block proposal or its answer' },
    headline: { type: 'string', enum: ['close', 'average'], description: 'the price the venue publishes as its day\'s headline: the close, or the average of all the day\'s trades (the ticker\'s and the market report\'s average; Beijing, Chongqing)' },
    calendarThrough: { ...DAY_OR_NULL, description: 'the last day the instrument\'s calendar (its holidays) is known for: a later day does not trade until an operator extends it; null for no end' },
  },
  additionalProperties: false,
} as const;

/** One level of a book: [price, quantity, orders]. */
export const BOOK_LEVEL = {
  type: 'array',
  description: '[price, quantity in tonnes, number of orders]',
  items: [MONEY_TEXT, TONNES, { type: 'integer', description: 'orders at the price' }],
  minItems: 3,
  maxItems: 3,
} as const;

/** GET /v1/instruments/:symbol/book. */
export const BOOK = {
  type: 'object',
  properties: {
    symbol: TEXT, seq: { type: 'integer', description: 'the sequence number of the last command applied' },
    bids: { type: 'array', items: BOOK_LEVEL }, asks: { type: 'array', items: BOOK_LEVEL },
  },
  additionalProperties: false,
} as const;

/** The resting orders a pick may name (GET /v1/instruments/:symbol/listings), without whose they are. */
export const LISTINGS = {
  type: 'object',
  properties: {
    symbol: { type: 'string' }, seq: { type: 'integer' },
    levels: { type: 'integer', description: 'how many best price levels of a side a pick may reach (the venue profile)' },
    ...Object.fromEntries(['bids', 'asks'].map((side) => [side, {
      type: 'array',
      items: {
        type: 'object',
        description: 'a resting order: the id a pick names as targetOrderId, its price, remaining tonnes and when it took its place',
        properties: { orderId: ID_TEXT, price: MONEY_TEXT, quantity: TONNES, time: TIME },
        additionalProperties: false,
      },
    }])),
  },
  additionalProperties: false,
} as const;

/** A public trade of GET /v1/instruments/:symbol/trades. */
export const PUBLIC_TRADE = {
  type: 'object',
  properties: {
    tradeId: ID_TEXT, price: MONEY_TEXT, quantity: TONNES, mode: { type: 'string', enum: ['listed', 'block', 'auction'] },
    aggressor: { type: ['string', 'null'], enum: ['buy', 'sell', null], description: 'the side that took liquidity; null but for listed trades' },
    time: TIME,
  },
  additionalProperties: false,
} as const;

/** tickerView (routes/market.ts). */
export const TICKER_VIEW = {
  type: 'object',
  description: 'the day\'s statistics so far',
  properties: {
    symbol: TEXT,
    date: { ...DAY, description: 'the trading day these statistics are of: it changes when the end of day rolls the ticker over to the next day' },
    exchangeSeq: { type: 'integer', minimum: 0, description: 'the journal\'s sequence number the ticker stands at (the book\'s exchangeSeq, the REST book\'s seq): of two tickers, the higher is the newer' },
    status: STATUS, open: MONEY_TEXT_OR_NULL, high: MONEY_TEXT_OR_NULL, low: MONEY_TEXT_OR_NULL, last: MONEY_TEXT_OR_NULL,
    close: { ...MONEY_TEXT_OR_NULL, description: 'the day\'s official close, which exists only once the day has closed; the end of day rolls the ticker over to the next day at once, so it is null here, and the closed day\'s close is the next day\'s prevClose (and the 1d K-line\'s close, and the market report\'s); the ticker channel sends the closed day\'s last ticker, with it, before the next day\'s' }, prevClose: MONEY_TEXT,
    changePct: { type: 'string', description: 'change of the last price against prevClose, in percent, two decimals' },
    vwap: { ...MONEY_TEXT_OR_NULL, description: 'the average price of the day\'s listed trades (null without one)' },
    average: { ...MONEY_TEXT_OR_NULL, description: 'the average price of all the day\'s trades, listed, block and auction (null without one): the headline price of a venue whose instruments say headline: average' },
    listedVolume: TONNES, listedTurnover: MONEY_TEXT, blockVolume: TONNES,
    blockTurnover: MONEY_TEXT, auctionVolume: TONNES, auctionTurnover: MONEY_TEXT,
    volume: TONNES, turnover: MONEY_TEXT, cumulativeVolume: TONNES, cumulativeTurnover: MONEY_TEXT,
    bandLow: MONEY_TEXT, bandHigh: MONEY_TEXT,
  },
  additionalProperties: false,
} as const;

/** klineView (routes/market.ts): a bar of listed trades. */
export const KLINE_VIEW = {
  type: 'object',
  properties: {
    openTime: TIME, open: MONEY_TEXT, high: MONEY_TEXT, low: MONEY_TEXT, close: MONEY_TEXT,
    volume: TONNES, turnover: MONEY_TEXT,
  },
  additionalProperties: false,
} as const;

/** blockView (routes/trading.ts): a block trade proposal. */
export const BLOCK_VIEW = {
  type: 'object',
  description: 'a block trade proposal',
  properties: {
    blockId: ID_TEXT, symbol: TEXT, status: { type: 'string', enum: ['proposed', 'countered', 'executed', 'rejected', 'withdrawn', 'expired'] },
    proposerAccountId: TEXT, side: SIDE, counterpartyAccountId: { type: ['string', 'null'], description: 'null for a proposal open to anyone' },
    price: MONEY_TEXT, quantity: TONNES, termsBy: { type: 'string', description: 'the account whose terms these are' },
    inReplyTo: ID_TEXT_OR_NULL, reason: TEXT_OR_NULL, time: TIME,
  },
  additionalProperties: false,
} as const;

/** auctionView (routes/auctions.ts). */
export const AUCTION_VIEW = {
  type: 'object',
  description: 'a one-way auction (单向竞价) as anyone sees it: never its initiator, nor a bid',
  properties: {
    auctionId: ID_TEXT, symbol: TEXT, side: { ...SIDE, description: 'the initiator\'s side: sell when one account sells to the bidders' },
    quantity: { ...TONNES, description: 'the tonnes offered (or asked for)' }, pricing: { type: 'string', enum: ['uniform', 'pay_as_bid'] },
    low: { ...MONEY_TEXT, description: 'the lowest price a bid may name' }, high: { ...MONEY_TEXT, description: 'the highest price a bid may name' },
    status: { type: 'string', enum: ['open', 'closed', 'cancelled'] },
    bids: { type: ['integer', 'null'], description: 'how many bids took part; null while open (bids are sealed)' },
    filled: { ...TONNES, description: 'the tonnes allocated (0 until closed)' }, turnover: MONEY_TEXT,
    clearingPrice: { ...MONEY_TEXT_OR_NULL, description: 'the last accepted bid\'s price: every fill\'s price when uniform; null without a fill' },
    reason: TEXT_OR_NULL, openedAt: TIME, time: { ...TIME, description: 'when it last changed' },
  },
  additionalProperties: false,
} as const;

/** auctionView with the initiating account: for its member, risk officers and operators. */
export const AUCTION_OWN_VIEW = {
  ...AUCTION_VIEW,
  description: 'a one-way auction (单向竞价) with its initiating account',
  properties: { ...AUCTION_VIEW.properties, accountId: { type: 'string', description: 'the initiating account' } },
} as const;

/** bidView (routes/auctions.ts). */
export const BID_VIEW = {
  type: 'object',
  description: 'a bid (an offer, in a buy auction) of one of the caller\'s accounts',
  properties: {
    bidId: ID_TEXT, auctionId: ID_TEXT, accountId: TEXT, symbol: TEXT, side: SIDE, price: MONEY_TEXT, quantity: TONNES,
    status: { type: 'string', enum: ['open', 'cancelled', 'filled', 'partially_filled', 'unfilled'] }, filled: TONNES,
    tradePrice: MONEY_TEXT_OR_NULL, tradeId: ID_TEXT_OR_NULL, reason: TEXT_OR_NULL, time: TIME,
  },
  additionalProperties: false,
} as const;

/** The answer to opening, closing or cancelling an auction: the auction after the command and the trades it made. */
export const AUCTION_REPLY = {
  type: 'object',
  properties: {
    auction: { ...AUCTION_OWN_VIEW, type: ['object', 'null'] },
    trades: {
      type: 'array',
      items: {
        type: 'object',
        properties: { tradeId: ID_TEXT, price: MONEY_TEXT, quantity: TONNES, buyAccountId: TEXT, sellAccountId: TEXT, buyFee: MONEY_TEXT, sellFee: MONEY_TEXT },
        additionalProperties: false,
      },
    },
    duplicate: { type: 'boolean', description: 'true when a repeated clientOrderId returned the auction the first request opened, as it stands now' },
  },
  additionalProperties: false,
} as const;

/** The answer to placing or withdrawing a bid. */
export const BID_REPLY = {
  type: 'object',
  properties: {
    bid: { ...BID_VIEW, type: ['object', 'null'] },
    duplicate: { type: 'boolean', description: 'true when a repeated clientOrderId returned the bid the first request placed, as it stands now' },
  },
  additionalProperties: false,
} as const;

/** The answer to placing or modifying an order (orderReply in routes/trading.ts). */
export const ORDER_REPLY = {
  type: 'object',
  properties: {
    order: ORDER_VIEW,
    fills: {
      type: 'array',
      description: 'the trades the command made, with the caller\'s fee',
      items: {
        type: 'object',
        properties: { tradeId: ID_TEXT, price: MONEY_TEXT, quantity: TONNES, fee: MONEY_TEXT, time: TIME },
        additionalProperties: false,
      },
    },
    duplicate: { type: 'boolean', description: 'true when a repeated clientOrderId returned the original order' },
  },
  additionalProperties: false,
} as const;

/** The answer to a block trade command (blockReply in routes/trading.ts). */
export const BLOCK_REPLY = {
  type: 'object',
  properties: {
    blockId: ID_TEXT_OR_NULL,
    status: { type: ['string', 'null'], enum: ['proposed', 'countered', 'executed', 'rejected', 'withdrawn', 'expired', null] },
    block: { ...BLOCK_VIEW, type: ['object', 'null'] },
    trade: {
      type: ['object', 'null'],
      description: 'the trade, when the command executed the block',
      properties: { tradeId: ID_TEXT, price: MONEY_TEXT, quantity: TONNES, buyFee: MONEY_TEXT, sellFee: MONEY_TEXT },
      additionalProperties: false,
    },
    duplicate: { type: 'boolean', description: 'true when a repeated clientOrderId returned the proposal the first request made, as it stands now' },
  },
  additionalProperties: false,
} as const;

/** Cash of an account: available and frozen. */
export const CASH = {
  type: 'object',
  properties: { available: MONEY_TEXT, frozen: MONEY_TEXT },
  additionalProperties: false,
} as const;

/** The venues an account may trade, in order; null when it may trade every venue its class is admitted to. */
export const ACCOUNT_VENUES = {
  type: ['array', 'null'], items: TEXT,
  description: 'the venues the account may trade, in order; null: every venue whose instruments take its class',
} as const;

/** An account's class, as the engine knows them. */
export const ACCOUNT_CLASS = { type: 'string', enum: [...ACCOUNT_CLASSES] } as const;

/** An account's venues as answers give them: in order, or null for every venue of its class. */
export const venueList = (venues: Iterable<string> | null | undefined): string[] | null => (venues == null ? null : [...venues].sort());

/** GET /v1/account. */
export const ACCOUNT_VIEW = {
  type: 'object',
  properties: {
    accountId: TEXT, member: TEXT, class: ACCOUNT_CLASS, allocation: TONNES, venues: ACCOUNT_VENUES,
    restriction: { type: 'string', enum: ['none', 'no_buy', 'no_sell', 'frozen'] },
    cash: CASH,
    holdings: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          symbol: TEXT, available: TONNES, frozen: TONNES, pending: { ...TONNES, description: 'bought today: available after the end of day' },
          openBuy: { ...TONNES, description: 'tonnes in open buy orders' },
          cap: { ...TONNES_OR_NULL, description: 'the position cap; null when there is none' },
          largeHolderThreshold: { ...TONNES_OR_NULL, description: 'the large-holder threshold; null when there is none' },
          largeHolder: {
            type: ['object', 'null'],
            description: 'the large-holder report obligation; null when the holding is under the threshold',
            properties: {
              since: DAY, holding: TONNES, threshold: TONNES, dueDate: DAY, filed: DAY_OR_NULL, overdue: { type: 'boolean' },
            },
            additionalProperties: false,
          },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

const LARGE_HOLDER_PROPERTIES = {
  accountId: TEXT, symbol: TEXT, holding: TONNES, threshold: TONNES, since: DAY, dueDate: DAY, filed: DAY_OR_NULL,
  overdue: { type: 'boolean' },
} as const;

/** GET /v1/risk/large-holders: an account over a large-holder threshold (Engine.largeHolders), with its report. */
export const LARGE_HOLDER = {
  type: 'object',
  properties: {
    ...LARGE_HOLDER_PROPERTIES,
    report: { type: ['string', 'null'], description: 'the text of the report the account filed; null while it is owed' },
  },
  additionalProperties: false,
} as const;

/** A large holder of a venue that publishes them, as the market sees it (GET /v1/large-holders, the `warnings` channel). */
export const LARGE_HOLDER_NOTICE = {
  type: 'object',
  description: 'an account over its large-holder threshold on a venue that publishes them as market notices',
  properties: LARGE_HOLDER_PROPERTIES,
  additionalProperties: false,
} as const;

/** warningView (below): a risk warning as the public sees it. */
export const WARNING_VIEW = {
  type: 'object',
  description: 'a risk officer\'s warning to the market: about one instrument, or about every one (symbol null)',
  properties: { warningId: ID_TEXT, symbol: TEXT_OR_NULL, text: TEXT, time: TIME },
  additionalProperties: false,
} as const;

export function warningView(w: WarningEvent) {
  return { warningId: String(w.seq), symbol: w.symbol, text: w.text, time: isoTime(w.time) };
}

// ---------------------------------------------------------------- settlement reports
// The rows of GET /v1/settlement/:date/:report as JSON (engine/settlement.ts builds them; the CSV
// has the same fields as columns, a null as an empty cell). The handler sends the report file's
// text as it is: these schemas describe it, they do not serialise it.

const MONEY_SIGNED = { type: 'string', description: 'CNY, a decimal string with two decimals, negative for money out' } as const;
const MOVEMENT = {
  type: 'object',
  description: 'a line of an account\'s statement: its opening balances, each trade (one side of it), deposit and withdrawal, its closing balances; a field a kind of line has no value for is null',
  properties: {
    kind: { type: 'string', enum: ['opening', 'trade', 'deposit', 'withdraw', 'closing'] },
    seq: { type: 'integer', description: 'the journal sequence number of the command (0 on opening lines, the end of day\'s on closing lines)' },
    time: { type: ['string', 'null'], format: 'date-time', description: 'ISO 8601 with +08:00; null on opening and closing lines' },
    ref: { type: ['string', 'null'], description: 'T<tradeId> for a trade, S<seq> for a transfer; null on opening and closing lines' },
    symbol: { type: ['string', 'null'], description: 'the instrument; null on a cash line' },
    side: { type: ['string', 'null'], enum: ['buy', 'sell', null] },
    mode: { type: ['string', 'null'], enum: ['listed', 'block', 'auction', null] },
    price: MONEY_TEXT_OR_NULL, quantity: TONNES, amount: MONEY_TEXT_OR_NULL, fee: MONEY_TEXT_OR_NULL,
    cash: { ...MONEY_SIGNED, description: 'the balance on opening and closing lines; otherwise the signed change of cash' },
    tonnes: { type: 'integer', description: 'the holding of symbol on opening and closing lines; otherwise the signed change' },
    reference: { type: ['string', 'null'], description: 'a transfer\'s bank or registry reference, when it was given one; null otherwise (absent on days closed before references were kept)' },
  },
  additionalProperties: false,
} as const;

const REPORT_ROWS = {
  statements: {
    type: 'object',
    description: 'an account\'s statement of the day',
    properties: {
      date: DAY, accountId: TEXT, member: TEXT,
      cash: {
        type: 'object',
        properties: { opening: MONEY_TEXT, paid: MONEY_TEXT, received: MONEY_TEXT, fees: MONEY_TEXT, deposited: MONEY_TEXT, withdrawn: MONEY_TEXT, closing: MONEY_TEXT },
        additionalProperties: false,
      },
      instruments: {
        type: 'array',
        items: {
          type: 'object',
          properties: { symbol: TEXT, opening: TONNES, bought: TONNES, sold: TONNES, deposited: TONNES, withdrawn: TONNES, closing: TONNES },
          additionalProperties: false,
        },
      },
      movements: { type: 'array', items: MOVEMENT },
    },
    additionalProperties: false,
  },
  trades: {
    type: 'object',
    description: 'a trade of the day, both sides, in the trade register',
    properties: {
      date: DAY, tradeId: ID_TEXT, seq: { type: 'integer' }, time: TIME, symbol: TEXT, mode: { type: 'string', enum: ['listed', 'block', 'auction'] },
      price: MONEY_TEXT, quantity: TONNES, amount: MONEY_TEXT, buyAccountId: TEXT, sellAccountId: TEXT, buyOrderId: ID_TEXT_OR_NULL,
      sellOrderId: ID_TEXT_OR_NULL, blockId: ID_TEXT_OR_NULL, buyFee: MONEY_TEXT, sellFee: MONEY_TEXT,
      auctionId: { ...ID_TEXT_OR_NULL, description: 'an auction trade\'s auction (null for a listed or block trade; absent from days published before it was kept)' },
      bidId: { ...ID_TEXT_OR_NULL, description: 'the bid an auction trade filled' },
    },
    additionalProperties: false,
  },
  market: {
    type: 'object',
    description: 'an instrument\'s day: prices of listed trades, volumes and turnover by mode, the official close',
    properties: {
      date: DAY, symbol: TEXT, prevClose: MONEY_TEXT, open: MONEY_TEXT, high: MONEY_TEXT_OR_NULL, low: MONEY_TEXT_OR_NULL,
      last: { ...MONEY_TEXT_OR_NULL, description: 'the last listed trade\'s price; null with none (absent on days closed before it was reported)' }, close: MONEY_TEXT,
      changePct: MONEY_SIGNED, average: MONEY_TEXT_OR_NULL, totalVolume: TONNES, totalTurnover: MONEY_TEXT, listedVolume: TONNES,
      listedTurnover: MONEY_TEXT, blockVolume: TONNES, blockTurnover: MONEY_TEXT, auctionVolume: TONNES, auctionTurnover: MONEY_TEXT,
      trades: { type: 'integer' }, cumulativeVolume: TONNES, cumulativeTurnover: MONEY_TEXT,
    },
    additionalProperties: false,
  },
  'large-holders': {
    type: 'object',
    description: 'an account over a large-holder threshold at the end of the day',
    properties: { date: DAY, ...LARGE_HOLDER_PROPERTIES },
    additionalProperties: false,
  },
} as const;

/** GET /v1/settlement/:date/:report as JSON: a list of the rows of the report named (its `title`). */
export const SETTLEMENT_REPORT = {
  description: 'the rows of the report named in the path',
  anyOf: Object.entries(REPORT_ROWS).map(([name, items]) => ({ title: name, type: 'array', items })),
};

/**
 * The orders a risk action cancelled, the block proposals and auction bids it withdrew and the
 * auctions it cancelled, by their events, each in id order. (A cancelled auction's own bids are
 * withdrawn with it and listed too.)
 */
export function ended(events: readonly EngineEvent[]): { cancelled: string[]; withdrawnBlocks: string[]; withdrawnBids: string[]; cancelledAuctions: string[] } {
  const cancelled: string[] = [];
  const withdrawnBlocks: string[] = [];
  const withdrawnBids: string[] = [];
  const cancelledAuctions: string[] = [];
  for (const e of events) {
    if (e.type === 'order') cancelled.push(String(e.orderId));
    else if (e.type === 'block') withdrawnBlocks.push(String(e.blockId));
    else if (e.type === 'auctionBid') withdrawnBids.push(String(e.bidId));
    else if (e.type === 'auction') cancelledAuctions.push(String(e.auctionId));
  }
  // In id order, whichever side or book the engine ended them in first.
  const byId = (a: string, b: string) => Number(a) - Number(b);
  return { cancelled: cancelled.sort(byId), withdrawnBlocks: withdrawnBlocks.sort(byId), withdrawnBids: withdrawnBids.sort(byId), cancelledAuctions: cancelledAuctions.sort(byId) };
}

/** The ids of what an action ended (ended()), in an answer's properties, each described; bids and auctions as ended "for the same reason" unless said. */
export function endedProperties(
  orders: string, blocks: string,
  bids = 'the ids of the auction bids withdrawn for the same reason (beyond API.md)',
  auctions = 'the ids of the account\'s own auctions cancelled for the same reason, their bids withdrawn with them (beyond API.md)',
) {
  const ids = (description: string) => ({ type: 'array', items: { type: 'string' }, description }) as const;
  return { cancelled: ids(orders), withdrawnBlocks: ids(blocks), withdrawnBids: ids(bids), cancelledAuctions: ids(auctions) };
}
