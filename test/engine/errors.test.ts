// The closed set of rejection codes (engine/errors.ts): every code is produced by some command,
// every rejection carries a code of the set and a message, and a rejection leaves the state as it
// was (DESIGN, "validate, then mutate"). The table below is typed by RejectCode, so a code added to
// the set without a case here fails the type check as well as the last test.
import t from 'tap';
import { REJECT_CODES, httpStatusOf, type RejectCode, type Result } from '../../engine/index.ts';
import { Harness, ok } from '../support/harness.ts';
import { type Asserts, expectReject, guangdong, harnessOn, national, nationalWithSessions, produced } from './fixtures.ts';

const id = (r: Result) => ok(r).orderId as number;
const blockIdOf = (r: Result) => (ok(r) as { blockId?: number }).blockId as number;

/**
 * CEA24 (national, open all day, 57.46) and GDEA (Guangdong-like, in session at 10:00). B1-A buys
 * (and holds a little of both, so it has positions), S1-A sells, X1-A does both.
 */
function world(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '57.46');
  h.list(guangdong(), 'GDEA', '57.46');
  h.open('B1-A', { cash: '1000000.00', holdings: { CEA24: 10, GDEA: 10 } });
  h.open('S1-A', { holdings: { CEA24: 200_000, GDEA: 1000 } });
  h.open('X1-A', { cash: '1000000.00', holdings: { CEA24: 1000 } });
  return h;
}

type Fields = Parameters<Harness['order']>[1];
const buy = (more: Partial<Fields> = {}): Fields => ({ symbol: 'CEA24', side: 'buy', price: '57.00', quantity: 10, ...more });
const sell = (more: Partial<Fields> = {}): Fields => ({ symbol: 'CEA24', side: 'sell', price: '58.00', quantity: 10, ...more });
const proposal = (more: Record<string, unknown> = {}) => ({
  type: 'proposeBlock' as const, accountId: 'S1-A', symbol: 'CEA24', side: 'sell' as const, price: 5746, quantity: 100_000,
  counterpartyAccountId: 'B1-A', ...more,
});

const auction = (more: Record<string, unknown> = {}) => ({
  type: 'openAuction' as const, accountId: 'S1-A', symbol: 'CEA24', side: 'sell' as const, quantity: 100_000, pricing: 'uniform' as const, ...more,
});
const auctionIdOf = (r: Result) => (ok(r) as { auctionId?: number }).auctionId as number;

/** One way to provoke each code, each on a fresh world. */
const CASES: Record<RejectCode, (t: Asserts, h: Harness) => void> = {
  INVALID_COMMAND: (t, h) => expectReject(t, h, () => h.order('B1-A', buy({ side: 'hold' as 'buy' })), 'INVALID_COMMAND', 'side'),
  INVALID_PRICE: (t, h) => expectReject(t, h, () => h.member('B1', { type: 'placeOrder', accountId: 'B1-A', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5700.5, quantity: 10 }), 'INVALID_PRICE'),
  INVALID_QUANTITY: (t, h) => expectReject(t, h, () => h.order('B1-A', buy({ quantity: 0 })), 'INVALID_QUANTITY'),
  UNKNOWN_INSTRUMENT: (t, h) => expectReject(t, h, () => h.order('B1-A', buy({ symbol: 'CEA99' })), 'UNKNOWN_INSTRUMENT', 'CEA99'),
  UNKNOWN_ACCOUNT: (t, h) => expectReject(t, h, () => h.order('B1-Z', buy()), 'UNKNOWN_ACCOUNT', 'B1-Z'),
  UNKNOWN_ORDER: (t, h) => expectReject(t, h, () => h.cancel('B1-A', 999), 'UNKNOWN_ORDER'),
  ACCOUNT_REQUIRED: (t, h) => {
    // An open proposal (no counterparty) taken up by a member with two accounts that names neither.
    h.open('B1-B', { cash: '1000.00' });
    const block = blockIdOf(h.member('S1', proposal({ counterpartyAccountId: null })));
    expectReject(t, h, () => h.member('B1', { type: 'acceptBlock', blockId: block }), 'ACCOUNT_REQUIRED', 'B1-A, B1-B');
  },
  UNKNOWN_VENUE: (t, h) => expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'N1-A', member: 'N1', accountClass: 'institution', venues: ['CEA', 'SHEA'], strict: true }), 'UNKNOWN_VENUE', 'no instrument is listed on venue SHEA; the venues are CEA'),
  UNKNOWN_BLOCK: (t, h) => expectReject(t, h, () => h.member('B1', { type: 'acceptBlock', blockId: 999 }), 'UNKNOWN_BLOCK'),
  UNKNOWN_AUCTION: (t, h) => expectReject(t, h, () => h.member('B1', { type: 'bidAuction', auctionId: 7, accountId: 'B1-A', price: 5746, quantity: 10 }), 'UNKNOWN_AUCTION', 'auction 7'),
  UNKNOWN_BID: (t, h) => {
    const id = auctionIdOf(h.member('S1', auction()));
    ok(h.member('B1', { type: 'bidAuction', auctionId: id, accountId: 'B1-A', price: 5746, quantity: 10 }));
    // Another member's bid is unknown to the caller, as one that does not exist.
    expectReject(t, h, () => h.member('X1', { type: 'cancelAuctionBid', auctionId: id, bidId: 1 }), 'UNKNOWN_BID', 'bid 1');
  },
  AUCTION_NOT_OPEN: (t, h) => {
    const id = auctionIdOf(h.member('S1', auction()));
    ok(h.operator({ type: 'closeAuction', auctionId: id }));
    expectReject(t, h, () => h.member('B1', { type: 'bidAuction', auctionId: id, accountId: 'B1-A', price: 5746, quantity: 10 }), 'AUCTION_NOT_OPEN');
  },
  AUCTION_TOO_SMALL: (t, h) => expectReject(t, h, () => h.member('S1', auction({ quantity: 99_999 })), 'AUCTION_TOO_SMALL', 'at least 100000 t'),
  AUCTION_NOT_OFFERED: (t, h) => {
    const { auction: _none, ...profile } = national();
    h.list({ ...profile, venue: 'NOAU', instruments: [{ symbol: 'NOAU', name: 'No auctions', vintage: null }] }, 'NOAU', '57.46');
    ok(h.operator({ type: 'deposit', accountId: 'S1-A', symbol: 'NOAU', quantity: 100_000 }));
    expectReject(t, h, () => h.member('S1', auction({ symbol: 'NOAU' })), 'AUCTION_NOT_OFFERED', 'NOAU');
  },
  NOT_PERMITTED: (t, h) => expectReject(t, h, () => h.member('B1', { type: 'setInstrument', symbol: 'CEA24', listedBandPct: '5', reason: 'x' }), 'NOT_PERMITTED'),
  ACCOUNT_NOT_OWNED: (t, h) => expectReject(t, h, () => h.member('B1', { type: 'placeOrder', accountId: 'S1-A', symbol: 'CEA24', side: 'sell', orderType: 'limit', price: 5800, quantity: 10 }), 'ACCOUNT_NOT_OWNED'),
  VENUE_NOT_ADMITTED: (t, h) => {
    h.open('H1-A', { cash: '1000.00', venues: ['HBEA'] });
    expectReject(t, h, () => h.order('H1-A', buy()), 'VENUE_NOT_ADMITTED');
  },
  ACCOUNT_EXISTS: (t, h) => expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'B1-A', member: 'B1', accountClass: 'institution' }), 'ACCOUNT_EXISTS'),
  BAND_TOO_WIDE: (t, h) => {
    // 10,000.00 at ±10 %: 9,000.00–11,000.00, 200,001 steps of 0.01.
    expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: 1_000_000, reason: 'a typo' }), 'BAND_TOO_WIDE', '9000.00–11000.00, 200,001 price steps of 0.01; the book keeps at most 100,000');
    expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'CEA99', name: 'A far too dear listing', profile: national(), listingPrice: 1_000_000 }), 'BAND_TOO_WIDE', 'a listing price of 10000.00');
    // 5,000.00 at ±10 % spans 100,001 steps, one too many; at ±9 % it fits.
    expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: 500_000, reason: 'x' }), 'BAND_TOO_WIDE', '100,001 price steps');
    t.equal(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: 500_000, listedBandPct: '9', reason: 'x' }).ok, true, 'a band within the limit is taken');
  },
  INSTRUMENT_EXISTS: (t, h) => expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'CEA24', profile: national(), listingPrice: 5746 }), 'INSTRUMENT_EXISTS'),
  ORDER_NOT_OPEN: (t, h) => {
    const bid = id(h.order('B1-A', buy()));
    ok(h.cancel('B1-A', bid));
    expectReject(t, h, () => h.cancel('B1-A', bid), 'ORDER_NOT_OPEN');
  },
  CLIENT_ORDER_ID_REUSED: (t, h) => {
    ok(h.order('B1-A', buy({ clientOrderId: 'k1' })));
    expectReject(t, h, () => h.order('B1-A', buy({ clientOrderId: 'k1', quantity: 11 })), 'CLIENT_ORDER_ID_REUSED');
  },
  TRANSFER_REFERENCE_REUSED: (t, h) => {
    ok(h.operator({ type: 'deposit', accountId: 'B1-A', cash: 100, reference: 'BK-1' }));
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'B1-A', cash: 100, reference: 'BK-1' }), 'TRANSFER_REFERENCE_REUSED', 'a deposit of 1.00 of cash, not a withdrawal of 1.00 of cash');
  },
  BLOCK_NOT_OPEN: (t, h) => {
    const block = blockIdOf(h.member('S1', proposal()));
    ok(h.member('S1', { type: 'withdrawBlock', blockId: block }));
    expectReject(t, h, () => h.member('B1', { type: 'acceptBlock', blockId: block }), 'BLOCK_NOT_OPEN');
  },
  NOT_A_PARTY: (t, h) => {
    h.open('B1-B', { cash: '1000.00' });
    const block = blockIdOf(h.member('S1', proposal()));
    // B1 is party to it with B1-A: naming its other account is not "no such block".
    expectReject(t, h, () => h.member('B1', { type: 'acceptBlock', blockId: block, accountId: 'B1-B' }), 'NOT_A_PARTY', 'account B1-B is not a party to block 1, which is between accounts S1-A and B1-A: name B1-A');
    expectReject(t, h, () => h.member('B1', { type: 'counterBlock', blockId: block, accountId: 'B1-B', price: 5700, quantity: 100_000 }), 'NOT_A_PARTY', 'name B1-A');
  },
  NOT_YOUR_TURN: (t, h) => {
    const block = blockIdOf(h.member('S1', proposal()));
    expectReject(t, h, () => h.member('S1', { type: 'acceptBlock', blockId: block }), 'NOT_YOUR_TURN', 'B1-A');
  },
  SESSION_OPEN: (t) => {
    const h = new Harness({ tradingDate: '2026-11-20', time: '10:00' });
    h.list(nationalWithSessions(), 'CEA24', '57.46');
    expectReject(t, h, () => h.operator({ type: 'endOfDay', date: '2026-11-20' }), 'SESSION_OPEN', '15:00');
  },
  DAY_ALREADY_CLOSED: (t, h) => expectReject(t, h, () => h.operator({ type: 'endOfDay', date: '2026-11-19' }), 'DAY_ALREADY_CLOSED'),
  DAY_NOT_STARTED: (t) => {
    // Sessions all day, every day: the 20th closes on the 20th; the 21st cannot be closed on the 20th.
    const h = new Harness({ tradingDate: '2026-11-20', time: '16:00' });
    h.list(national(), 'CEA24', '57.46');
    ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
    expectReject(t, h, () => h.operator({ type: 'endOfDay', date: '2026-11-21' }), 'DAY_NOT_STARTED', 'the trading day 2026-11-21 has not begun: it is 2026-11-20');
    h.at('2026-11-21', '00:01');
    ok(h.operator({ type: 'endOfDay', date: '2026-11-21' }));
  },
  NO_CHANGE: (t, h) => {
    const bid = id(h.order('B1-A', buy()));
    expectReject(t, h, () => h.modify('B1-A', bid, { price: '57.00' }), 'NO_CHANGE');
  },
  QUANTITY_BELOW_FILLED: (t, h) => {
    const bid = id(h.order('B1-A', buy({ quantity: 10 })));
    ok(h.order('S1-A', sell({ price: '57.00', quantity: 4 })));
    expectReject(t, h, () => h.modify('B1-A', bid, { quantity: 4 }), 'QUANTITY_BELOW_FILLED', 'has filled 4 t: the new quantity must be above that (cancel it instead)');
  },
  REPORT_NOT_DUE: (t, h) => expectReject(t, h, () => h.member('B1', { type: 'fileLargeHolderReport', accountId: 'B1-A', symbol: 'CEA24', text: 'x' }), 'REPORT_NOT_DUE'),
  PRICE_OUT_OF_BAND: (t, h) => expectReject(t, h, () => h.order('B1-A', buy({ price: '63.22' })), 'PRICE_OUT_OF_BAND', '51.71–63.21'),
  BLOCK_TOO_SMALL: (t, h) => expectReject(t, h, () => h.member('S1', proposal({ quantity: 99_999 })), 'BLOCK_TOO_SMALL', '100000'),
  ORDER_TOO_LARGE: (t, h) => expectReject(t, h, () => h.order('S1-A', sell({ quantity: 100_000 })), 'ORDER_TOO_LARGE'),
  PRICE_REQUIRED: (t, h) => expectReject(t, h, () => h.order('B1-A', buy({ price: undefined })), 'PRICE_REQUIRED'),
  INSUFFICIENT_FUNDS: (t, h) => expectReject(t, h, () => h.order('B1-A', buy({ quantity: 99_999 })), 'INSUFFICIENT_FUNDS'),
  INSUFFICIENT_HOLDINGS: (t, h) => expectReject(t, h, () => h.order('B1-A', sell({ quantity: 11 })), 'INSUFFICIENT_HOLDINGS'),
  POSITION_CAP_EXCEEDED: (t, h) => {
    ok(h.risk({ type: 'setPositionCap', symbol: 'CEA24', accountClass: 'institution', quantity: 15, reason: 'cap' }));
    expectReject(t, h, () => h.order('B1-A', buy({ quantity: 6 })), 'POSITION_CAP_EXCEEDED');
  },
  ACCOUNT_RESTRICTED: (t, h) => {
    ok(h.risk({ type: 'restrictAccount', accountId: 'B1-A', restriction: 'no_buy', reason: 'x' }));
    expectReject(t, h, () => h.order('B1-A', buy()), 'ACCOUNT_RESTRICTED');
  },
  REPORT_OVERDUE: (t, h) => {
    ok(h.order('S1-A', sell({ price: '57.50', quantity: 1000 })));
    ok(h.operator({ type: 'deposit', accountId: 'X1-A', symbol: 'CEA24', quantity: 499_000 }));
    ok(h.order('X1-A', buy({ price: '57.50', quantity: 1 })));
    const later = harnessOn(h.engine.snapshot(), '2026-11-26');
    expectReject(t, later, () => later.order('X1-A', buy({ price: '57.50', quantity: 1 })), 'REPORT_OVERDUE');
  },
  STILL_LARGE_HOLDER: (t, h) => {
    ok(h.order('S1-A', sell({ price: '57.50', quantity: 1000 })));
    ok(h.operator({ type: 'deposit', accountId: 'X1-A', symbol: 'CEA24', quantity: 499_000 }));
    ok(h.order('X1-A', buy({ price: '57.50', quantity: 1 })));
    expectReject(t, h, () => h.risk({ type: 'waiveLargeHolderReport', accountId: 'X1-A', symbol: 'CEA24', reason: 'not needed' }), 'STILL_LARGE_HOLDER', 'over the threshold in force');
  },
  NO_LIQUIDITY: (t, h) => expectReject(t, h, () => h.order('B1-A', { symbol: 'CEA24', side: 'buy', type: 'market', quantity: 10 }), 'NO_LIQUIDITY'),
  PICK_TARGET_INVALID: (t, h) => expectReject(t, h, () => h.order('B1-A', { symbol: 'CEA24', side: 'buy', type: 'pick', targetOrderId: 999, quantity: 10 }), 'PICK_TARGET_INVALID'),
  PICK_QUANTITY_MISMATCH: (t, h) => {
    const ask = id(h.order('S1-A', { symbol: 'GDEA', side: 'sell', price: '57.50', quantity: 50 }));
    expectReject(t, h, () => h.order('B1-A', { symbol: 'GDEA', side: 'buy', type: 'pick', targetOrderId: ask, quantity: 49 }), 'PICK_QUANTITY_MISMATCH');
  },
  SELF_TRADE: (t, h) => {
    const ask = id(h.order('X1-A', sell()));
    expectReject(t, h, () => h.order('X1-A', { symbol: 'CEA24', side: 'buy', type: 'pick', targetOrderId: ask, quantity: 10 }), 'SELF_TRADE');
  },
  INSTRUMENT_HALTED: (t, h) => {
    ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', status: 'halted', reason: 'fault' }));
    expectReject(t, h, () => h.order('B1-A', buy()), 'INSTRUMENT_HALTED');
  },
  MARKET_HALTED: (t, h) => {
    ok(h.risk({ type: 'haltMarket', reason: 'outage' }));
    expectReject(t, h, () => h.order('B1-A', buy()), 'MARKET_HALTED');
  },
  MARKET_CLOSED: (t, h) => {
    h.at('2026-11-20', '12:00');
    expectReject(t, h, () => h.order('B1-A', buy({ symbol: 'GDEA' })), 'MARKET_CLOSED');
  },
};

t.test('each code of the closed set is produced by some command', async (t) => {
  for (const [code, provoke] of Object.entries(CASES) as [RejectCode, (t: Asserts, h: Harness) => void][]) {
    t.test(code, async (t) => provoke(t, world()));
  }
});

t.test('a rejection leaves engine.stateHash() unchanged', async (t) => {
  const h = world();
  const bid = id(h.order('B1-A', buy()));
  for (const [what, run] of [
    ['a buy above the band', () => h.order('B1-A', buy({ price: '63.22' }))],
    ['a cancel of an unknown order', () => h.cancel('B1-A', 999)],
    ['a modification that changes nothing', () => h.modify('B1-A', bid, { quantity: 10 })],
    ['a member setting a band', () => h.member('B1', { type: 'setInstrument', symbol: 'CEA24', listedBandPct: '5', reason: 'x' })],
  ] as [string, () => Result][]) {
    const before = h.engine.stateHash();
    const r = run();
    t.equal(r.ok, false, `${what} is refused`);
    t.equal(h.engine.stateHash(), before, `${what}: stateHash() after equals stateHash() before`);
  }
});

t.test('a refused buy, sell or withdrawal on an instrument the account never held leaves no empty position behind', async (t) => {
  const h = world();
  h.open('N1-A', { cash: '100.00' });
  expectReject(t, h, () => h.order('N1-A', buy()), 'INSUFFICIENT_FUNDS');
  t.same(h.engine.snapshot().accounts.find((a) => a.id === 'N1-A')?.positions, [], 'no position was created');
  h.open('N2-A');
  expectReject(t, h, () => h.order('N2-A', sell()), 'INSUFFICIENT_HOLDINGS');
  t.same(h.engine.snapshot().accounts.find((a) => a.id === 'N2-A')?.positions, [], 'no position was created');
  h.open('N3-A');
  expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'N3-A', symbol: 'CEA24', quantity: 1 }), 'INSUFFICIENT_HOLDINGS');
  t.same(h.engine.snapshot().accounts.find((a) => a.id === 'N3-A')?.positions, [], 'no position was created');
});

t.test('every rejection code has a 4xx or 5xx status and a meaning', async (t) => {
  for (const code of Object.keys(REJECT_CODES) as RejectCode[]) {
    const status = httpStatusOf(code);
    t.ok(status >= 400 && status < 600, `${code} → ${status}`);
    t.ok(REJECT_CODES[code].meaning.length > 0);
  }
});

t.test('every code of REJECT_CODES was produced by a test above', async (t) => {
  const missing = (Object.keys(REJECT_CODES) as RejectCode[]).filter((code) => !produced.has(code));
  t.same(missing, [], 'no code is left unproduced');
  const unknown = [...produced].filter((code) => !Object.hasOwn(REJECT_CODES, code));
  t.same(unknown, [], 'no rejection came back with a code outside the set');
});
