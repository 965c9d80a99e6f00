// Two whole trading days scripted through the real Sequencer and Journal on a SQLite file in a
// temporary directory, closed by the end-of-day command and written by the SettlementWriter:
// MARKET-RULES sections 2, 4, 5, 6, 7, 9, 10 and 11 end to end. Every number of every output file
// is compared with a value worked out by hand below (the arithmetic is in the comments), the files
// are byte-identical when written again (also after a restart from the data directory), and day 2
// starts where day 1 closed: T+1 release, the reference price and bands from day 1's close, opening
// balances equal to day 1's closing ones; the Friday end of day moves the exchange to Monday.
//
// The venue is the Hubei pilot as published (markets/venues/hbea.json): 0.5 % fees on each side of
// listed and block trades (rounded half-up to the fen per trade and side), listed sessions
// 09:30–11:30 and 13:00–15:00, block 13:00–15:00, Monday to Friday, band ±10 % listed and ±30 %
// block, block minimum 10,000 t, caps institution 1,000,000 t and individual 50,000 t, large-holder
// threshold 500,000 t for an institution, report within 3 trading days.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Actor, EndOfDayEvent, Result } from '../../engine/index.ts';
import { recover } from '../../persistence/recovery.ts';
import { Sequencer, type CommandBody } from '../../persistence/sequencer.ts';
import { SettlementWriter } from '../../persistence/settlementWriter.ts';
import { cst, fen, loadProfile } from '../support/harness.ts';
import { feeOf, halfUp } from '../support/day.ts';

const DAY1 = '2026-11-19'; // Thursday
const DAY2 = '2026-11-20'; // Friday
const MONDAY = '2026-11-23';
const OPS: Actor = { role: 'operator', id: 'ops1' };
const member = (id: string): Actor => ({ role: 'member', id });
const FILES = [
  'large-holders.csv', 'large-holders.json', 'market.csv', 'market.json', 'statements.csv', 'statements.json', 'totals.json',
  'trades.csv', 'trades.json',
];

/** Submits commands through the sequencer at a set local time and counts their sequence numbers. */
class Script {
  now = 0;
  n = 0;
  seq!: Sequencer;
  async at(date: string, time: string, actor: Actor, body: CommandBody): Promise<{ seq: number; r: Result }> {
    this.now = cst(date, time);
    const r = await this.seq.submit(actor, body);
    return { seq: ++this.n, r };
  }
}

const iso = (date: string, time: string) => `${date}T${time}:00.000+08:00`;

// ---------------------------------------------------------------- expected rows, by hand

type Row = Record<string, string | number | boolean | null>;
const blank = { time: null, ref: null, side: null, mode: null, price: null, amount: null, reference: null };
const openCash = (cash: string): Row => ({ kind: 'opening', seq: 0, ...blank, symbol: null, quantity: 0, fee: null, cash, tonnes: 0 });
const openTonnes = (symbol: string, q: number): Row => ({ kind: 'opening', seq: 0, ...blank, symbol, quantity: q, fee: null, cash: '0.00', tonnes: q });
const closeCash = (seq: number, cash: string): Row => ({ kind: 'closing', seq, ...blank, symbol: null, quantity: 0, fee: null, cash, tonnes: 0 });
const closeTonnes = (seq: number, symbol: string, q: number): Row => ({ kind: 'closing', seq, ...blank, symbol, quantity: q, fee: null, cash: '0.00', tonnes: q });
const cashIn = (seq: number, time: string, amount: string, reference: string | null = null): Row => ({
  kind: 'deposit', seq, time, ref: `S${seq}`, symbol: null, side: null, mode: null, price: null, quantity: 0, amount, fee: '0.00', cash: amount, tonnes: 0, reference,
});
const cashOut = (seq: number, time: string, amount: string, reference: string | null = null): Row => ({
  kind: 'withdraw', seq, time, ref: `S${seq}`, symbol: null, side: null, mode: null, price: null, quantity: 0, amount, fee: '0.00', cash: `-${amount}`, tonnes: 0, reference,
});
const tonnesIn = (seq: number, time: string, symbol: string, q: number, reference: string | null = null): Row => ({
  kind: 'deposit', seq, time, ref: `S${seq}`, symbol, side: null, mode: null, price: null, quantity: q, amount: null, fee: '0.00', cash: '0.00', tonnes: q, reference,
});
const tonnesOut = (seq: number, time: string, symbol: string, q: number, reference: string | null = null): Row => ({
  kind: 'withdraw', seq, time, ref: `S${seq}`, symbol, side: null, mode: null, price: null, quantity: q, amount: null, fee: '0.00', cash: '0.00', tonnes: -q, reference,
});
const fill = (seq: number, time: string, tradeId: number, side: 'buy' | 'sell', mode: string, price: string, q: number, amount: string, fee: string, cash: string): Row => ({
  kind: 'trade', seq, time, ref: `T${tradeId}`, symbol: 'HBEA', side, mode, price, quantity: q, amount, fee, cash, tonnes: side === 'buy' ? q : -q, reference: null,
});

interface ExpectedStatement {
  date: string; accountId: string; member: string;
  cash: { opening: string; paid: string; received: string; fees: string; deposited: string; withdrawn: string; closing: string };
  instruments: { symbol: string; opening: number; bought: number; sold: number; deposited: number; withdrawn: number; closing: number }[];
  movements: Row[];
}

const STATEMENT_COLUMNS = ['date', 'accountId', 'member', 'kind', 'seq', 'time', 'ref', 'symbol', 'side', 'mode', 'price', 'quantity', 'amount', 'fee', 'cash', 'tonnes', 'reference'];
const TRADE_COLUMNS = ['date', 'tradeId', 'seq', 'time', 'symbol', 'mode', 'price', 'quantity', 'amount', 'buyAccountId', 'sellAccountId', 'buyOrderId', 'sellOrderId', 'blockId', 'buyFee', 'sellFee', 'auctionId', 'bidId'];
const MARKET_COLUMNS = ['date', 'symbol', 'prevClose', 'open', 'high', 'low', 'last', 'close', 'changePct', 'average', 'totalVolume', 'totalTurnover', 'listedVolume', 'listedTurnover', 'blockVolume', 'blockTurnover', 'auctionVolume', 'auctionTurnover', 'trades', 'cumulativeVolume', 'cumulativeTurnover'];
const HOLDER_COLUMNS = ['date', 'accountId', 'symbol', 'holding', 'threshold', 'since', 'dueDate', 'filed', 'overdue'];

/** The CSV the rows must give: a header, one line per row, LF; none of these values needs quoting. */
function csv(columns: string[], rows: Row[]): string {
  const cell = (v: unknown) => (v === null ? '' : String(v));
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

const statementsCsv = (statements: ExpectedStatement[]): string =>
  csv(STATEMENT_COLUMNS, statements.flatMap((s) => s.movements.map((m) => ({ date: s.date, accountId: s.accountId, member: s.member, ...m }))));

/** Reads a written day folder: every file's text, by name. */
function readDay(dir: string, date: string): Record<string, string> {
  const folder = join(dir, 'settlement', date);
  return Object.fromEntries(readdirSync(folder).sort().map((f) => [f, readFileSync(join(folder, f), 'utf8')]));
}

t.test('two trading days through the sequencer and journal, settled and written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'carbon-day-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rec = recover(dir, { genesis: { tradingDate: DAY1, markets: null } });
  t.equal(rec.created, true);
  const s = new Script();
  s.seq = new Sequencer(rec.engine, rec.journal, rec.snapshots, { now: () => s.now });
  const engine = rec.engine;
  const profile = loadProfile('hbea');

  const accepted = (x: { seq: number; r: Result }, what: string) => {
    if (!x.r.ok) t.fail(`${what}: ${x.r.code} ${x.r.message}`);
    return x.seq;
  };
  const refused = (x: { r: Result }, code: string, what: string) => t.equal(x.r.ok ? 'accepted' : x.r.code, code, what);

  // ======================================================================= day 1, Thursday 2026-11-19
  // 09:00 set-up by the operator (transfers in count as deposits of day 1).
  const T0900 = iso(DAY1, '09:00');
  accepted(await s.at(DAY1, '09:00', OPS, { type: 'listInstrument', symbol: 'HBEA', profile, listingPrice: fen('40.67') }), 'list HBEA at 40.67');
  accepted(await s.at(DAY1, '09:00', OPS, { type: 'createAccount', accountId: 'S1-A', member: 'S1', accountClass: 'institution' }), 'S1-A');
  const sS1tonnes = accepted(await s.at(DAY1, '09:00', OPS, { type: 'deposit', accountId: 'S1-A', symbol: 'HBEA', quantity: 300_000 }), 'S1 300,000 t');
  accepted(await s.at(DAY1, '09:00', OPS, { type: 'createAccount', accountId: 'B1-A', member: 'B1', accountClass: 'institution' }), 'B1-A');
  const sB1cash = accepted(await s.at(DAY1, '09:00', OPS, { type: 'deposit', accountId: 'B1-A', cash: fen('5000000.00'), reference: 'BOC-20261119-0001' }), 'B1 5,000,000.00');
  // The bank's file imported twice: the repeat is answered with the first deposit, and no second line is written.
  const repeated = await s.at(DAY1, '09:00', OPS, { type: 'deposit', accountId: 'B1-A', cash: fen('5000000.00'), reference: 'BOC-20261119-0001' });
  t.match(repeated.r, { ok: true, duplicate: true, transferSeq: sB1cash }, 'a repeated reference moves nothing');
  accepted(await s.at(DAY1, '09:00', OPS, { type: 'createAccount', accountId: 'B2-A', member: 'B2', accountClass: 'individual' }), 'B2-A');
  const sB2cash = accepted(await s.at(DAY1, '09:00', OPS, { type: 'deposit', accountId: 'B2-A', cash: fen('3000000.00') }), 'B2 3,000,000.00');
  accepted(await s.at(DAY1, '09:00', OPS, { type: 'createAccount', accountId: 'L1-A', member: 'L1', accountClass: 'institution' }), 'L1-A');
  const sL1tonnes = accepted(await s.at(DAY1, '09:00', OPS, { type: 'deposit', accountId: 'L1-A', symbol: 'HBEA', quantity: 450_000 }), 'L1 450,000 t');
  const sL1cash = accepted(await s.at(DAY1, '09:00', OPS, { type: 'deposit', accountId: 'L1-A', cash: fen('3000000.00') }), 'L1 3,000,000.00');

  // Listing 40.67: listed band 36.603 → 36.60, 44.737 → 44.74; block band 28.469 → 28.47, 52.871 → 52.87.
  t.match(engine.instrument('HBEA'), { referencePrice: 4067, bandLow: 3660, bandHigh: 4474, blockLow: 2847, blockHigh: 5287 });

  const sell = (accountId: string, price: string, quantity: number): CommandBody =>
    ({ type: 'placeOrder', accountId, symbol: 'HBEA', side: 'sell', orderType: 'limit', price: fen(price), quantity, timeInForce: 'DAY' });
  const buy = (accountId: string, price: string, quantity: number): CommandBody =>
    ({ type: 'placeOrder', accountId, symbol: 'HBEA', side: 'buy', orderType: 'limit', price: fen(price), quantity, timeInForce: 'DAY' });

  refused(await s.at(DAY1, '09:20', member('S1'), sell('S1-A', '40.70', 1000)), 'MARKET_CLOSED', 'before the 09:30 session');
  accepted(await s.at(DAY1, '09:31', member('S1'), sell('S1-A', '40.70', 1000)), 'order 1: S1 sells 1,000 @ 40.70');
  // Order 2: B1 buys 333 @ 40.75 → trade 1, 333 @ 40.70 (the resting order's price).
  // 40.70 × 333 = 13,553.10; fee 0.5 % = 67.7655 → 67.77 each side.
  const sT1 = accepted(await s.at(DAY1, '09:35', member('B1'), buy('B1-A', '40.75', 333)), 'order 2');
  t.equal(feeOf(fen('13553.10'), '0.005'), fen('67.77'));
  accepted(await s.at(DAY1, '09:50', member('S1'), sell('S1-A', '40.90', 2000)), 'order 3: S1 sells 2,000 @ 40.90');
  // Order 4: B2 buys 1,500 @ 41.00 → trade 2, 667 @ 40.70 (the rest of order 1); trade 3, 833 @ 40.90 (order 3).
  // 40.70 × 667 = 27,146.90, fee 135.7345 → 135.73; 40.90 × 833 = 34,069.70, fee 170.3485 → 170.35.
  const sT23 = accepted(await s.at(DAY1, '10:05', member('B2'), buy('B2-A', '41.00', 1500)), 'order 4');
  t.equal(feeOf(fen('27146.90'), '0.005'), fen('135.73'));
  t.equal(feeOf(fen('34069.70'), '0.005'), fen('170.35'));
  // The individual cap is 50,000 t: 1,500 bought today + 48,501 = 50,001 > 50,000 (the cash would cover it).
  refused(await s.at(DAY1, '10:10', member('B2'), buy('B2-A', '40.00', 48_501)), 'POSITION_CAP_EXCEEDED', 'B2 over its individual cap');
  // T+1: B1's 333 t are pending today.
  refused(await s.at(DAY1, '10:20', member('B1'), sell('B1-A', '40.70', 333)), 'INSUFFICIENT_HOLDINGS', 'bought today, sellable tomorrow');
  const sDepB1 = accepted(await s.at(DAY1, '11:00', OPS, { type: 'deposit', accountId: 'B1-A', cash: fen('1000000.00') }), 'B1 +1,000,000.00');
  refused(await s.at(DAY1, '11:45', member('B1'), buy('B1-A', '40.90', 1)), 'MARKET_CLOSED', 'the lunch break');
  // Order 5: B1 buys 1,000 @ 40.90 → trade 4 against order 3 (167 t of it left); 40,900.00, fee 204.50.
  const sT4 = accepted(await s.at(DAY1, '13:05', member('B1'), buy('B1-A', '40.90', 1000)), 'order 5');
  // Block 1: S1 offers 60,000 @ 42.00 to L1; L1 counters 41.50; S1 confirms → trade 5.
  // 41.50 × 60,000 = 2,490,000.00, fee 12,450.00 each side; L1 froze 2,502,450.00.
  refused(await s.at(DAY1, '13:10', member('S1'), { type: 'proposeBlock', accountId: 'S1-A', symbol: 'HBEA', side: 'sell', price: fen('42.00'), quantity: 9_999, counterpartyAccountId: 'L1-A' }), 'BLOCK_TOO_SMALL', 'the Hubei block minimum is 10,000 t');
  accepted(await s.at(DAY1, '13:30', member('S1'), { type: 'proposeBlock', accountId: 'S1-A', symbol: 'HBEA', side: 'sell', price: fen('42.00'), quantity: 60_000, counterpartyAccountId: 'L1-A' }), 'block 1 proposed');
  accepted(await s.at(DAY1, '13:35', member('L1'), { type: 'counterBlock', blockId: 1, price: fen('41.50'), quantity: 60_000 }), 'block 1 countered');
  t.match(engine.account('L1-A'), { cash: fen('497550.00'), cashFrozen: fen('2502450.00') });
  const xT5 = await s.at(DAY1, '13:40', member('S1'), { type: 'acceptBlock', blockId: 1 });
  const sT5 = accepted(xT5, 'block 1 accepted');
  // L1 holds 450,000 + 60,000 = 510,000 > 500,000: alert, due the 3rd trading day after Thursday: Fri 20, Mon 23, Tue 24.
  t.match(xT5.r.ok ? xT5.r.events.filter((e) => e.type === 'largeHolder') : [], [{ accountId: 'L1-A', holding: 510_000, threshold: 500_000, action: 'alert', dueDate: '2026-11-24' }]);
  // Block 2: B1 bids 20,000 @ 40.00 to S1, never answered: it expires tonight. B1 froze 800,000.00 + 4,000.00.
  accepted(await s.at(DAY1, '14:00', member('B1'), { type: 'proposeBlock', accountId: 'B1-A', symbol: 'HBEA', side: 'buy', price: fen('40.00'), quantity: 20_000, counterpartyAccountId: 'S1-A' }), 'block 2 proposed');
  t.match(engine.account('B1-A'), { cashFrozen: fen('804000.00') });
  const sWdCash = accepted(await s.at(DAY1, '14:30', OPS, { type: 'withdraw', accountId: 'S1-A', cash: fen('100000.00') }), 'S1 withdraws 100,000.00');
  const sWdTonnes = accepted(await s.at(DAY1, '14:35', OPS, { type: 'withdraw', accountId: 'S1-A', symbol: 'HBEA', quantity: 5_000, reference: 'REG/HB/2026/0815' }), 'S1 transfers 5,000 t out');
  // Live statistics before the close: blocks are in volume and turnover, not in prices.
  t.match(engine.ticker('HBEA'), { open: 4070, high: 4090, low: 4070, last: 4090, listedVolume: 2833, blockVolume: 60_000, volume: 62_833, trades: 5 });

  refused(await s.at(DAY1, '14:59', OPS, { type: 'endOfDay', date: DAY1 }), 'SESSION_OPEN', 'the last session ends at 15:00');
  const eod1x = await s.at(DAY1, '15:00', OPS, { type: 'endOfDay', date: DAY1 });
  const eod1 = accepted(eod1x, 'end of day 1');
  const eod1Event = (eod1x.r.ok ? eod1x.r.events : []).find((e) => e.type === 'endOfDay') as EndOfDayEvent;
  t.equal(s.n, 30, 'every command took a sequence number, the refused ones too');
  t.equal(engine.lastSequence, s.n);
  // Expired: the rest of order 3 (167 t back to S1) and block 2 (804,000.00 back to B1).
  t.match(eod1x.r.ok ? eod1x.r.events.filter((e) => e.type !== 'endOfDay') : [], [
    { type: 'order', orderId: 3, status: 'expired', reason: 'end_of_day', filled: 1833 },
    { type: 'block', blockId: 2, status: 'expired', reason: 'end_of_day' },
  ]);
  t.equal(eod1Event.nextDate, DAY2);
  // Fees: 2 × (67.77 + 135.73 + 170.35 + 204.50 + 12,450.00) = 2 × 13,028.35 = 26,056.70.
  t.equal(eod1Event.feesCollected, fen('26056.70'));

  const writer = new SettlementWriter(rec.journal, dir);
  writer.write(DAY1);

  // ---- day 1 expected, by hand
  // Listed: 1,000 t @ 40.70 = 40,700.00 (trades 1, 2) and 1,833 t @ 40.90 = 74,969.70 (trades 3, 4):
  //   2,833 t, 115,669.70; VWAP 11,566,970 / 2,833 = 4,082.94 fen → close 40.83.
  // Block: 60,000 t, 2,490,000.00. All: 62,833 t, 2,605,669.70; average 260,566,970 / 62,833 = 4,146.98 → 41.47.
  // Change: (40.83 − 40.67) / 40.67 = 0.3934 % → 0.39.
  t.equal(halfUp(11_566_970, 2833), 4083);
  t.equal(halfUp(260_566_970, 62_833), 4147);
  t.equal(halfUp(16 * 10_000, 4067), 39);
  const market1 = {
    date: DAY1, symbol: 'HBEA', prevClose: '40.67', open: '40.70', high: '40.90', low: '40.70', last: '40.90', close: '40.83', changePct: '0.39',
    average: '41.47', totalVolume: 62_833, totalTurnover: '2605669.70', listedVolume: 2833, listedTurnover: '115669.70',
    blockVolume: 60_000, blockTurnover: '2490000.00', auctionVolume: 0, auctionTurnover: '0.00', trades: 5,
    cumulativeVolume: 62_833, cumulativeTurnover: '2605669.70',
  };
  const tr = (tradeId: number, seq: number, time: string, mode: string, price: string, quantity: number, amount: string, buyAccountId: string, sellAccountId: string, buyOrderId: number | null, sellOrderId: number | null, blockId: number | null, fee: string) => ({
    date: DAY1, tradeId, seq, time, symbol: 'HBEA', mode, price, quantity, amount, buyAccountId, sellAccountId, buyOrderId, sellOrderId, blockId, buyFee: fee, sellFee: fee, auctionId: null, bidId: null,
  });
  const t0935 = iso(DAY1, '09:35'), t1005 = iso(DAY1, '10:05'), t1100 = iso(DAY1, '11:00'), t1305 = iso(DAY1, '13:05'), t1340 = iso(DAY1, '13:40');
  const trades1 = [
    tr(1, sT1, t0935, 'listed', '40.70', 333, '13553.10', 'B1-A', 'S1-A', 2, 1, null, '67.77'),
    tr(2, sT23, t1005, 'listed', '40.70', 667, '27146.90', 'B2-A', 'S1-A', 4, 1, null, '135.73'),
    tr(3, sT23, t1005, 'listed', '40.90', 833, '34069.70', 'B2-A', 'S1-A', 4, 3, null, '170.35'),
    tr(4, sT4, t1305, 'listed', '40.90', 1000, '40900.00', 'B1-A', 'S1-A', 5, 3, null, '204.50'),
    tr(5, sT5, t1340, 'block', '41.50', 60_000, '2490000.00', 'L1-A', 'S1-A', null, null, 1, '12450.00'),
  ];
  const holders1 = [{ date: DAY1, accountId: 'L1-A', symbol: 'HBEA', holding: 510_000, threshold: 500_000, since: DAY1, dueDate: '2026-11-24', filed: null, overdue: false }];
  // Cash paid = amounts + buyer fees = 2,605,669.70 + 13,028.35 = 2,618,698.05;
  // received = amounts − seller fees = 2,605,669.70 − 13,028.35 = 2,592,641.35; fees 26,056.70.
  const totals1 = { tradeCount: 5, cashPaid: '2618698.05', cashReceived: '2592641.35', fees: '26056.70', tonnesBought: 62_833, tonnesSold: 62_833 };
  const statements1: ExpectedStatement[] = [
    {
      // B1: 5,000,000.00 + 1,000,000.00 − (13,553.10 + 67.77) − (40,900.00 + 204.50) = 5,945,274.63; 333 + 1,000 t.
      date: DAY1, accountId: 'B1-A', member: 'B1',
      cash: { opening: '0.00', paid: '54453.10', received: '0.00', fees: '272.27', deposited: '6000000.00', withdrawn: '0.00', closing: '5945274.63' },
      instruments: [{ symbol: 'HBEA', opening: 0, bought: 1333, sold: 0, deposited: 0, withdrawn: 0, closing: 1333 }],
      movements: [
        openCash('0.00'), openTonnes('HBEA', 0),
        cashIn(sB1cash, T0900, '5000000.00', 'BOC-20261119-0001'),
        fill(sT1, t0935, 1, 'buy', 'listed', '40.70', 333, '13553.10', '67.77', '-13620.87'),
        cashIn(sDepB1, t1100, '1000000.00'),
        fill(sT4, t1305, 4, 'buy', 'listed', '40.90', 1000, '40900.00', '204.50', '-41104.50'),
        closeCash(eod1, '5945274.63'), closeTonnes(eod1, 'HBEA', 1333),
      ],
    },
    {
      // B2: 3,000,000.00 − (27,146.90 + 135.73) − (34,069.70 + 170.35) = 2,938,477.32; 1,500 t.
      date: DAY1, accountId: 'B2-A', member: 'B2',
      cash: { opening: '0.00', paid: '61216.60', received: '0.00', fees: '306.08', deposited: '3000000.00', withdrawn: '0.00', closing: '2938477.32' },
      instruments: [{ symbol: 'HBEA', opening: 0, bought: 1500, sold: 0, deposited: 0, withdrawn: 0, closing: 1500 }],
      movements: [
        openCash('0.00'), openTonnes('HBEA', 0),
        cashIn(sB2cash, T0900, '3000000.00'),
        fill(sT23, t1005, 2, 'buy', 'listed', '40.70', 667, '27146.90', '135.73', '-27282.63'),
        fill(sT23, t1005, 3, 'buy', 'listed', '40.90', 833, '34069.70', '170.35', '-34240.05'),
        closeCash(eod1, '2938477.32'), closeTonnes(eod1, 'HBEA', 1500),
      ],
    },
    {
      // L1: 3,000,000.00 − 2,490,000.00 − 12,450.00 = 497,550.00; 450,000 + 60,000 = 510,000 t.
      date: DAY1, accountId: 'L1-A', member: 'L1',
      cash: { opening: '0.00', paid: '2490000.00', received: '0.00', fees: '12450.00', deposited: '3000000.00', withdrawn: '0.00', closing: '497550.00' },
      instruments: [{ symbol: 'HBEA', opening: 0, bought: 60_000, sold: 0, deposited: 450_000, withdrawn: 0, closing: 510_000 }],
      movements: [
        openCash('0.00'), openTonnes('HBEA', 0),
        tonnesIn(sL1tonnes, T0900, 'HBEA', 450_000),
        cashIn(sL1cash, T0900, '3000000.00'),
        fill(sT5, t1340, 5, 'buy', 'block', '41.50', 60_000, '2490000.00', '12450.00', '-2502450.00'),
        closeCash(eod1, '497550.00'), closeTonnes(eod1, 'HBEA', 510_000),
      ],
    },
    {
      // S1 sold every trade: received 2,605,669.70, fees 13,028.35, withdrew 100,000.00 → 2,492,641.35.
      // Tonnes: 300,000 − 2,833 − 60,000 − 5,000 = 232,167.
      date: DAY1, accountId: 'S1-A', member: 'S1',
      cash: { opening: '0.00', paid: '0.00', received: '2605669.70', fees: '13028.35', deposited: '0.00', withdrawn: '100000.00', closing: '2492641.35' },
      instruments: [{ symbol: 'HBEA', opening: 0, bought: 0, sold: 62_833, deposited: 300_000, withdrawn: 5_000, closing: 232_167 }],
      movements: [
        openCash('0.00'), openTonnes('HBEA', 0),
        tonnesIn(sS1tonnes, T0900, 'HBEA', 300_000),
        fill(sT1, t0935, 1, 'sell', 'listed', '40.70', 333, '13553.10', '67.77', '13485.33'),
        fill(sT23, t1005, 2, 'sell', 'listed', '40.70', 667, '27146.90', '135.73', '27011.17'),
        fill(sT23, t1005, 3, 'sell', 'listed', '40.90', 833, '34069.70', '170.35', '33899.35'),
        fill(sT4, t1305, 4, 'sell', 'listed', '40.90', 1000, '40900.00', '204.50', '40695.50'),
        fill(sT5, t1340, 5, 'sell', 'block', '41.50', 60_000, '2490000.00', '12450.00', '2477550.00'),
        cashOut(sWdCash, iso(DAY1, '14:30'), '100000.00'),
        tonnesOut(sWdTonnes, iso(DAY1, '14:35'), 'HBEA', 5_000, 'REG/HB/2026/0815'),
        closeCash(eod1, '2492641.35'), closeTonnes(eod1, 'HBEA', 232_167),
      ],
    },
  ];

  const checkDay = (t: Tap, date: string, statements: ExpectedStatement[], trades: Row[], market: Row[], holders: Row[], totals: Row) => {
    const files = readDay(dir, date);
    t.same(Object.keys(files), FILES, 'the nine report files, nothing left over');
    const json = (name: string, value: unknown) => {
      t.same(JSON.parse(files[name]), value, `${name}: every value`);
      t.equal(files[name], JSON.stringify(JSON.parse(files[name]), null, 2) + '\n', `${name}: indented JSON with a final newline`);
    };
    json('statements.json', statements);
    json('trades.json', trades);
    json('market.json', market);
    json('large-holders.json', holders);
    json('totals.json', totals);
    t.equal(files['statements.csv'], statementsCsv(statements), 'statements.csv');
    t.equal(files['trades.csv'], csv(TRADE_COLUMNS, trades), 'trades.csv');
    t.equal(files['market.csv'], csv(MARKET_COLUMNS, market), 'market.csv');
    t.equal(files['large-holders.csv'], csv(HOLDER_COLUMNS, holders), 'large-holders.csv');
    // The SQLite tables hold the same rows.
    const db = rec.journal.db;
    const bodies = (sql: string) => (db.prepare(sql).all(date) as { body: string }[]).map((r) => JSON.parse(r.body));
    t.same(bodies('SELECT body FROM settlement_statements WHERE date = ? ORDER BY account_id'), statements, 'settlement_statements');
    t.same(bodies('SELECT body FROM trade_register WHERE date = ? ORDER BY trade_id'), trades, 'trade_register');
    t.same(bodies('SELECT body FROM market_report WHERE date = ? ORDER BY symbol'), market, 'market_report');
    t.same(bodies('SELECT body FROM large_holder_report WHERE date = ? ORDER BY account_id, symbol'), holders, 'large_holder_report');
    const day = db.prepare('SELECT totals FROM settlement_days WHERE date = ?').get(date) as { totals: string } | undefined;
    t.same(day && JSON.parse(day.totals), totals, 'settlement_days.totals');
  };
  type Tap = typeof t;

  await t.test('day 1 outputs', async (t) => checkDay(t, DAY1, statements1, trades1, [market1], holders1, totals1));
  const day1Files = readDay(dir, DAY1);
  writer.write(DAY1);
  t.same(readDay(dir, DAY1), day1Files, 'writing day 1 again gives byte-identical files');

  // ======================================================================= day 2, Friday 2026-11-20
  // Reference = day 1's close 40.83: listed 36.747 → 36.75, 44.913 → 44.91; block 28.581 → 28.58, 53.079 → 53.08.
  t.equal(engine.tradingDate, DAY2);
  t.match(engine.instrument('HBEA'), { referencePrice: 4083, bandLow: 3675, bandHigh: 4491, blockLow: 2858, blockHigh: 5308 });
  t.match(engine.ticker('HBEA'), { prevClose: 4083, open: null, last: null, volume: 0, trades: 0, cumulativeVolume: 62_833 });
  // T+1: B1's 1,333 t bought yesterday are available; everything frozen yesterday was released.
  t.match(engine.account('B1-A')!.positions[0], { available: 1333, pending: 0, frozen: 0, openBuy: 0 });
  t.match(engine.account('B1-A'), { cash: fen('5945274.63'), cashFrozen: 0 });
  t.match(engine.account('S1-A')!.positions[0], { available: 232_167, frozen: 0 });
  accepted(await s.at(DAY2, '09:30', member('B1'), sell('B1-A', '41.00', 1333)), 'order 6: B1 sells yesterday\'s 1,333 t');
  refused(await s.at(DAY2, '09:31', member('B2'), buy('B2-A', '44.92', 100)), 'PRICE_OUT_OF_BAND', '44.92 is above today\'s 44.91');
  // Order 7: B2 buys 1,000 @ 41.00 → trade 6: 41,000.00, fee 205.00 each side.
  const sT6 = accepted(await s.at(DAY2, '09:32', member('B2'), buy('B2-A', '41.00', 1000)), 'order 7');
  accepted(await s.at(DAY2, '10:00', member('L1'), { type: 'fileLargeHolderReport', accountId: 'L1-A', symbol: 'HBEA', text: 'strategic holding' }), 'L1 files its report');
  refused(await s.at(DAY2, '14:59', OPS, { type: 'endOfDay', date: DAY2 }), 'SESSION_OPEN', 'not before 15:00');
  const eod2x = await s.at(DAY2, '15:00', OPS, { type: 'endOfDay', date: DAY2 });
  const eod2 = accepted(eod2x, 'end of day 2');
  const eod2Event = (eod2x.r.ok ? eod2x.r.events : []).find((e) => e.type === 'endOfDay') as EndOfDayEvent;
  t.equal(eod2Event.nextDate, MONDAY, 'the Friday close moves the exchange to Monday');
  t.equal(engine.tradingDate, MONDAY);
  // 26,056.70 + 2 × 205.00 = 26,466.70 since the start.
  t.equal(eod2Event.feesCollected, fen('26466.70'));
  refused(await s.at(DAY2, '15:01', OPS, { type: 'endOfDay', date: DAY2 }), 'DAY_ALREADY_CLOSED', 'a second run for Friday');
  refused(await s.at('2026-11-21', '10:00', member('B2'), buy('B2-A', '41.00', 1)), 'MARKET_CLOSED', 'Saturday is no trading day');
  // Monday's reference is Friday's close 41.00: listed 36.90–45.10.
  t.match(engine.instrument('HBEA'), { referencePrice: 4100, bandLow: 3690, bandHigh: 4510 });
  writer.write(DAY2);

  // ---- day 2 expected, by hand
  // One listed trade, 1,000 @ 41.00: open = high = low = close = average = 41.00.
  // Change (41.00 − 40.83) / 40.83 = 0.4164 % → 0.42. Cumulative 62,833 + 1,000 = 63,833 t, 2,605,669.70 + 41,000.00 = 2,646,669.70.
  t.equal(halfUp(17 * 10_000, 4083), 42);
  const t0932 = iso(DAY2, '09:32');
  const market2 = {
    date: DAY2, symbol: 'HBEA', prevClose: '40.83', open: '41.00', high: '41.00', low: '41.00', last: '41.00', close: '41.00', changePct: '0.42',
    average: '41.00', totalVolume: 1000, totalTurnover: '41000.00', listedVolume: 1000, listedTurnover: '41000.00',
    blockVolume: 0, blockTurnover: '0.00', auctionVolume: 0, auctionTurnover: '0.00', trades: 1,
    cumulativeVolume: 63_833, cumulativeTurnover: '2646669.70',
  };
  const trades2 = [{
    date: DAY2, tradeId: 6, seq: sT6, time: t0932, symbol: 'HBEA', mode: 'listed', price: '41.00', quantity: 1000, amount: '41000.00',
    buyAccountId: 'B2-A', sellAccountId: 'B1-A', buyOrderId: 7, sellOrderId: 6, blockId: null, buyFee: '205.00', sellFee: '205.00', auctionId: null, bidId: null,
  }];
  const holders2 = [{ date: DAY2, accountId: 'L1-A', symbol: 'HBEA', holding: 510_000, threshold: 500_000, since: DAY1, dueDate: '2026-11-24', filed: DAY2, overdue: false }];
  const totals2 = { tradeCount: 1, cashPaid: '41205.00', cashReceived: '40795.00', fees: '410.00', tonnesBought: 1000, tonnesSold: 1000 };
  const fill2 = (side: 'buy' | 'sell', cash: string) => ({ ...fill(sT6, t0932, 6, side, 'listed', '41.00', 1000, '41000.00', '205.00', cash) });
  const statements2: ExpectedStatement[] = [
    {
      // B1: 5,945,274.63 + 41,000.00 − 205.00 = 5,986,069.63; 1,333 − 1,000 = 333 t.
      date: DAY2, accountId: 'B1-A', member: 'B1',
      cash: { opening: '5945274.63', paid: '0.00', received: '41000.00', fees: '205.00', deposited: '0.00', withdrawn: '0.00', closing: '5986069.63' },
      instruments: [{ symbol: 'HBEA', opening: 1333, bought: 0, sold: 1000, deposited: 0, withdrawn: 0, closing: 333 }],
      movements: [openCash('5945274.63'), openTonnes('HBEA', 1333), fill2('sell', '40795.00'), closeCash(eod2, '5986069.63'), closeTonnes(eod2, 'HBEA', 333)],
    },
    {
      // B2: 2,938,477.32 − 41,000.00 − 205.00 = 2,897,272.32; 1,500 + 1,000 = 2,500 t.
      date: DAY2, accountId: 'B2-A', member: 'B2',
      cash: { opening: '2938477.32', paid: '41000.00', received: '0.00', fees: '205.00', deposited: '0.00', withdrawn: '0.00', closing: '2897272.32' },
      instruments: [{ symbol: 'HBEA', opening: 1500, bought: 1000, sold: 0, deposited: 0, withdrawn: 0, closing: 2500 }],
      movements: [openCash('2938477.32'), openTonnes('HBEA', 1500), fill2('buy', '-41205.00'), closeCash(eod2, '2897272.32'), closeTonnes(eod2, 'HBEA', 2500)],
    },
    {
      date: DAY2, accountId: 'L1-A', member: 'L1',
      cash: { opening: '497550.00', paid: '0.00', received: '0.00', fees: '0.00', deposited: '0.00', withdrawn: '0.00', closing: '497550.00' },
      instruments: [{ symbol: 'HBEA', opening: 510_000, bought: 0, sold: 0, deposited: 0, withdrawn: 0, closing: 510_000 }],
      movements: [openCash('497550.00'), openTonnes('HBEA', 510_000), closeCash(eod2, '497550.00'), closeTonnes(eod2, 'HBEA', 510_000)],
    },
    {
      date: DAY2, accountId: 'S1-A', member: 'S1',
      cash: { opening: '2492641.35', paid: '0.00', received: '0.00', fees: '0.00', deposited: '0.00', withdrawn: '0.00', closing: '2492641.35' },
      instruments: [{ symbol: 'HBEA', opening: 232_167, bought: 0, sold: 0, deposited: 0, withdrawn: 0, closing: 232_167 }],
      movements: [openCash('2492641.35'), openTonnes('HBEA', 232_167), closeCash(eod2, '2492641.35'), closeTonnes(eod2, 'HBEA', 232_167)],
    },
  ];

  await t.test('day 2 outputs', async (t) => checkDay(t, DAY2, statements2, trades2, [market2], holders2, totals2));
  await t.test('day 2 opens with day 1\'s closing balances', async (t) => {
    for (let i = 0; i < statements1.length; i++) {
      t.equal(statements2[i].cash.opening, statements1[i].cash.closing, `${statements1[i].accountId} cash`);
      t.equal(statements2[i].instruments[0].opening, statements1[i].instruments[0].closing, `${statements1[i].accountId} tonnes`);
    }
    t.same(eod1Event.accounts.map((a) => [a.accountId, a.cash, a.holdings]), [
      ['B1-A', fen('5945274.63'), [['HBEA', 1333]]], ['B2-A', fen('2938477.32'), [['HBEA', 1500]]],
      ['L1-A', fen('497550.00'), [['HBEA', 510_000]]], ['S1-A', fen('2492641.35'), [['HBEA', 232_167]]],
    ]);
  });

  // Re-runs are byte-identical: day 2 again, day 1 after day 2, and both after a restart from the directory.
  const day2Files = readDay(dir, DAY2);
  writer.write(DAY2);
  writer.write(DAY1);
  t.same(readDay(dir, DAY2), day2Files, 'writing day 2 again: byte-identical');
  t.same(readDay(dir, DAY1), day1Files, 'writing day 1 after day 2: byte-identical');
  t.same(writer.days(), [DAY1, DAY2]);
  const hash = engine.stateHash();
  await s.seq.shutdown();
  rec.journal.close();
  const again = recover(dir);
  t.equal(again.created, false);
  t.equal(again.engine.stateHash(), hash, 'a restart rebuilds the same state');
  const writer2 = new SettlementWriter(again.journal, dir);
  writer2.write(DAY1);
  writer2.write(DAY2);
  t.same(readDay(dir, DAY1), day1Files, 'day 1 after a restart: byte-identical');
  t.same(readDay(dir, DAY2), day2Files, 'day 2 after a restart: byte-identical');
  again.journal.close();
});
