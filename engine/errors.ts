// The closed set of reasons the exchange refuses a command. Every rejection carries exactly one of
// these codes and a message saying what was wrong and what is allowed. The HTTP status is the one
// API.md assigns to the kind of refusal; the gateway uses it as is.

export const REJECT_CODES = {
  INVALID_COMMAND: { status: 400, meaning: 'the command is malformed: a field is missing, of the wrong type or out of range' },
  INVALID_PRICE: { status: 400, meaning: 'the price is not a positive multiple of the tick' },
  INVALID_QUANTITY: { status: 400, meaning: 'the quantity is not a positive whole number of lots' },
  ACCOUNT_REQUIRED: { status: 400, meaning: 'the member has several accounts and must name the one it acts for' },
  UNKNOWN_INSTRUMENT: { status: 404, meaning: 'no instrument has that symbol' },
  UNKNOWN_ACCOUNT: { status: 404, meaning: 'no account has that id' },
  UNKNOWN_ORDER: { status: 404, meaning: 'no order of the caller has that id' },
  UNKNOWN_BLOCK: { status: 404, meaning: 'no block trade proposal the caller can see has that id' },
  UNKNOWN_AUCTION: { status: 404, meaning: 'no auction has that id' },
  UNKNOWN_VENUE: { status: 404, meaning: 'no instrument is listed on that venue' },
  UNKNOWN_BID: { status: 404, meaning: 'no bid of the caller in that auction has that id' },
  NOT_PERMITTED: { status: 403, meaning: 'the caller\'s role may not issue this command' },
  ACCOUNT_NOT_OWNED: { status: 403, meaning: 'the account belongs to another member' },
  NOT_A_PARTY: { status: 403, meaning: 'the account named is the caller\'s but not a party to the block trade, which the caller\'s member is party to with another account' },
  VENUE_NOT_ADMITTED: { status: 403, meaning: 'the account is not admitted to the instrument\'s venue' },
  ACCOUNT_EXISTS: { status: 409, meaning: 'an account with that id exists already' },
  INSTRUMENT_EXISTS: { status: 409, meaning: 'an instrument with that symbol is listed already' },
  ORDER_NOT_OPEN: { status: 409, meaning: 'the order is filled, cancelled or expired' },
  CLIENT_ORDER_ID_REUSED: { status: 409, meaning: 'the clientOrderId was used today for another request (an order, block proposal, auction or bid) of the account' },
  TRANSFER_REFERENCE_REUSED: { status: 409, meaning: 'the transfer reference was used before for another transfer of the account' },
  BLOCK_NOT_OPEN: { status: 409, meaning: 'the block trade proposal was executed, rejected, withdrawn or expired' },
  AUCTION_NOT_OPEN: { status: 409, meaning: 'the auction was closed or cancelled' },
  NOT_YOUR_TURN: { status: 409, meaning: 'the block trade waits for the other party' },
  SESSION_OPEN: { status: 409, meaning: 'the end of day waits until every session of the day has closed' },
  DAY_ALREADY_CLOSED: { status: 409, meaning: 'that trading day has been closed already' },
  DAY_NOT_STARTED: { status: 409, meaning: 'the trading day to close has not begun on the exchange\'s clock' },
  NO_CHANGE: { status: 409, meaning: 'the modification changes nothing' },
  QUANTITY_BELOW_FILLED: { status: 409, meaning: 'the new quantity of a modification is not above what the order has filled already' },
  REPORT_NOT_DUE: { status: 409, meaning: 'the account has no open large-holder report obligation for the instrument' },
  STILL_LARGE_HOLDER: { status: 409, meaning: 'the account\'s holding passes the large-holder threshold in force: its report obligation cannot be waived' },
  PRICE_OUT_OF_BAND: { status: 422, meaning: 'the price is outside today\'s band' },
  BAND_TOO_WIDE: { status: 422, meaning: 'the listed band a reference or listing price would give spans more price steps than the book keeps' },
  BLOCK_TOO_SMALL: { status: 422, meaning: 'a block trade is below the venue\'s minimum quantity' },
  AUCTION_TOO_SMALL: { status: 422, meaning: 'an auction offers less than the venue\'s minimum quantity' },
  AUCTION_NOT_OFFERED: { status: 422, meaning: 'the instrument\'s venue runs no one-way auctions' },
  ORDER_TOO_LARGE: { status: 422, meaning: 'the quantity exceeds the largest single listed order' },
  PRICE_REQUIRED: { status: 422, meaning: 'a limit order needs a price (a market or pick order sent with one is INVALID_COMMAND)' },
  INSUFFICIENT_FUNDS: { status: 422, meaning: 'available cash does not cover the order (full funds)' },
  INSUFFICIENT_HOLDINGS: { status: 422, meaning: 'available allowances do not cover the sale (full holdings; bought today is pending)' },
  POSITION_CAP_EXCEEDED: { status: 422, meaning: 'holdings, pending, open buys and the order together exceed the position cap' },
  ACCOUNT_RESTRICTED: { status: 422, meaning: 'a restriction on the account forbids this side' },
  REPORT_OVERDUE: { status: 422, meaning: 'a large-holder report is overdue and the venue restricts buying until it is filed' },
  NO_LIQUIDITY: { status: 422, meaning: 'a market order needs resting orders on the other side' },
  PICK_TARGET_INVALID: { status: 422, meaning: 'the picked order is not a resting order of the other side within the best levels' },
  PICK_QUANTITY_MISMATCH: { status: 422, meaning: 'the venue requires a pick to take the whole resting quantity' },
  SELF_TRADE: { status: 422, meaning: 'an account never trades with itself' },
  INSTRUMENT_HALTED: { status: 503, meaning: 'the instrument is halted' },
  MARKET_HALTED: { status: 503, meaning: 'the whole market is halted' },
  MARKET_CLOSED: { status: 503, meaning: 'the command came outside the session of its trading mode or off the trading day' },
} as const;

export type RejectCode = keyof typeof REJECT_CODES;

export interface Rejection {
  ok: false;
  code: RejectCode;
  message: string;
}

/**
 * Whether a lookup's answer is its rejection rather than the thing looked up. A load of `ok`, which
 * only a rejection has, is cheaper on the order path than `instanceof` against the class.
 */
export function refused<T extends object>(x: T | Rejection): x is Rejection {
  return (x as { ok?: unknown }).ok === false;
}

export function reject(code: RejectCode, message: string): Rejection {
  return { ok: false, code, message };
}

/** A venue no instrument is listed on, naming those that are. */
export function unknownVenue(venue: string, instruments: readonly { venue: string }[]): Rejection {
  const listed = [...new Set(instruments.map((inst) => inst.venue))].sort();
  return reject('UNKNOWN_VENUE', `no instrument is listed on venue ${venue}; the venues are ${listed.join(', ')}`);
}

export function httpStatusOf(code: RejectCode): number {
  return REJECT_CODES[code].status;
}
