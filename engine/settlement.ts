// Settlement of one trading day (MARKET-RULES section 11, steps 3–4), built from the day's events
// alone: gross, trade by trade, delivery versus payment. Pure and deterministic: the same events give
// the same reports, byte for byte, so a re-run for a day rewrites identical files. The reports refuse
// to exist (SettlementError) unless every total reconciles.
import { isoTime } from './calendar.ts';
import { idText, type AccountEvent, type AuctionBidEvent, type DayInstrumentStats, type EndOfDayEvent, type EngineEvent, type TradeEvent } from './events.ts';
import { divideHalfUp, formatMoney } from './money.ts';

export class SettlementError extends Error {
  constructor(date: string, problem: string) {
    super(`settlement of ${date} does not reconcile: ${problem}`);
    this.name = 'SettlementError';
  }
}

/** A statement's line; a field a kind of line has no value for is null (an empty cell in the CSV). */
export interface Movement {
  /** opening | trade | deposit | withdraw | closing */
  kind: 'opening' | 'trade' | 'deposit' | 'withdraw' | 'closing';
  seq: number;
  time: string | null;
  ref: string | null;
  /** null on a cash line */
  symbol: string | null;
  side: 'buy' | 'sell' | null;
  mode: string | null;
  price: string | null;
  quantity: number;
  amount: string | null;
  fee: string | null;
  /** On opening and closing rows the balance; on the others the signed change: cash (decimal string) and tonnes of `symbol`. */
  cash: string;
  tonnes: number;
  /** A transfer's bank or registry reference, when it was given one; null on every other line. */
  reference: string | null;
}

export interface Statement {
  date: string;
  accountId: string;
  member: string;
  cash: { opening: string; paid: string; received: string; fees: string; deposited: string; withdrawn: string; closing: string };
  instruments: { symbol: string; opening: number; bought: number; sold: number; deposited: number; withdrawn: number; closing: number }[];
  movements: Movement[];
}

export interface TradeRegisterRow {
  date: string; tradeId: string; seq: number; time: string; symbol: string; mode: string; price: string; quantity: number;
  amount: string; buyAccountId: string; sellAccountId: string; buyOrderId: string | null; sellOrderId: string | null;
  blockId: string | null; buyFee: string; sellFee: string;
  /** An auction trade's auction and the bid it filled (null for listed and block trades). */
  auctionId: string | null; bidId: string | null;
}

export interface MarketReportRow {
  date: string; symbol: string; prevClose: string; open: string; high: string | null; low: string | null;
  /** The day's last listed trade's price; null with none. */
  last: string | null; close: string; changePct: string;
  average: string | null; totalVolume: number; totalTurnover: string; listedVolume: number; listedTurnover: string;
  blockVolume: number; blockTurnover: string; auctionVolume: number; auctionTurnover: string; trades: number;
  cumulativeVolume: number; cumulativeTurnover: string;
}

export interface LargeHolderRow {
  date: string; accountId: string; symbol: string; holding: number; threshold: number; since: string; dueDate: string;
  filed: string | null; overdue: boolean;
}

export interface SettlementReports {
  date: string;
  statements: Statement[];
  trades: TradeRegisterRow[];
  market: MarketReportRow[];
  largeHolders: LargeHolderRow[];
  totals: { tradeCount: number; cashPaid: string; cashReceived: string; fees: string; tonnesBought: number; tonnesSold: number };
}

type Balances = EndOfDayEvent['accounts'];

interface Work {
  accountId: string; member: string; openingCash: number; paid: number; received: number; fees: number; deposited: number;
  withdrawn: number; tonnes: Map<string, { opening: number; bought: number; sold: number; deposited: number; withdrawn: number }>;
  movements: Movement[];
}

const pct = (close: number, prev: number): string => {
  // (close − prev) / prev × 100, half-up to 0.01, from integers: 10000·(close − prev) / prev hundredths.
  const hundredths = divideHalfUp(Math.abs(close - prev) * 10_000, prev);
  return (close < prev && hundredths > 0 ? '-' : '') + formatMoney(hundredths);
};
const priceOrNull = (v: number | null): string | null => (v === null ? null : formatMoney(v));

/** An instrument's row of the market report: its day's statistics as the end of day took them (also the closed day's last ticker). */
export function marketRow(date: string, s: DayInstrumentStats): MarketReportRow {
  const volume = s.listedVolume + s.blockVolume + s.auctionVolume;
  const turnover = s.listedTurnover + s.blockTurnover + s.auctionTurnover;
  return {
    date, symbol: s.symbol, prevClose: formatMoney(s.prevClose), open: formatMoney(s.open), high: priceOrNull(s.high), low: priceOrNull(s.low), last: priceOrNull(s.last),
    close: formatMoney(s.close), changePct: pct(s.close, s.prevClose), average: volume === 0 ? null : formatMoney(divideHalfUp(turnover, volume)),
    totalVolume: volume, totalTurnover: formatMoney(turnover), listedVolume: s.listedVolume, listedTurnover: formatMoney(s.listedTurnover),
    blockVolume: s.blockVolume, blockTurnover: formatMoney(s.blockTurnover), auctionVolume: s.auctionVolume,
    auctionTurnover: formatMoney(s.auctionTurnover), trades: s.trades, cumulativeVolume: s.cumulativeVolume,
    cumulativeTurnover: formatMoney(s.cumulativeTurnover),
  };
}

/** Refuses the day when an amount (fen) or quantity is past what a Number keeps exact. */
function exact(date: string, sums: [string, number][]): void {
  for (const [what, n] of sums) {
    if (!Number.isSafeInteger(n)) {
      throw new SettlementError(date, `${what}, ${formatMoney(n)}, passes 90,071,992,547,409.91 (2^53 fen), past what the exchange keeps exact: the day is not published rather than published wrong`);
    }
  }
}

/**
 * Builds the reports of the day closed by `eod` from the events of that day (everything after the
 * previous end of day, in sequence order) and the previous day's closing balances (null on the
 * first day).
 */
export function settle(dayEvents: readonly EngineEvent[], eod: EndOfDayEvent, previousClose: Balances | null): SettlementReports {
  const date = eod.date;
  const works = new Map<string, Work>();
  const work = (accountId: string, member: string): Work => {
    let w = works.get(accountId);
    if (w === undefined) {
      w = { accountId, member, openingCash: 0, paid: 0, received: 0, fees: 0, deposited: 0, withdrawn: 0, tonnes: new Map(), movements: [] };
      works.set(accountId, w);
    }
    return w;
  };
  const tonnes = (w: Work, symbol: string) => {
    let t = w.tonnes.get(symbol);
    if (t === undefined) { t = { opening: 0, bought: 0, sold: 0, deposited: 0, withdrawn: 0 }; w.tonnes.set(symbol, t); }
    return t;
  };
  const memberOf = new Map(eod.accounts.map((a) => [a.accountId, a.member]));
  for (const a of previousClose ?? []) {
    const w = work(a.accountId, a.member);
    w.openingCash = a.cash;
    for (const [symbol, q] of a.holdings) tonnes(w, symbol).opening = q;
  }

  // An auction trade's bid, which the bid's event (after its trade's) names.
  const bidOf = new Map<number, AuctionBidEvent>();
  for (const e of dayEvents) if (e.type === 'auctionBid' && e.tradeId !== null) bidOf.set(e.tradeId, e);
  const trades: TradeRegisterRow[] = [];
  let cashPaid = 0, cashReceived = 0, fees = 0, tonnesBought = 0, tonnesSold = 0;
  for (const e of dayEvents) {
    if (e.type === 'trade') {
      const t = e as TradeEvent;
      const amount = t.price * t.quantity;
      const bid = t.mode === 'auction' ? bidOf.get(t.tradeId) : undefined;
      trades.push({
        // Ids as strings of digits, as every answer of the API has them (a member's fills match by equality).
        date, tradeId: String(t.tradeId), seq: t.seq, time: isoTime(t.time), symbol: t.symbol, mode: t.mode, price: formatMoney(t.price),
        quantity: t.quantity, amount: formatMoney(amount), buyAccountId: t.buyAccountId, sellAccountId: t.sellAccountId,
        buyOrderId: idText(t.buyOrderId), sellOrderId: idText(t.sellOrderId), blockId: idText(t.blockId), buyFee: formatMoney(t.buyFee), sellFee: formatMoney(t.sellFee),
        auctionId: bid === undefined ? null : String(bid.auctionId), bidId: bid === undefined ? null : String(bid.bidId),
      });
      cashPaid += amount + t.buyFee;
      cashReceived += amount - t.sellFee;
      fees += t.buyFee + t.sellFee;
      tonnesBought += t.quantity;
      tonnesSold += t.quantity;
      for (const side of ['buy', 'sell'] as const) {
        const accountId = side === 'buy' ? t.buyAccountId : t.sellAccountId;
        const w = work(accountId, memberOf.get(accountId) ?? '');
        const fee = side === 'buy' ? t.buyFee : t.sellFee;
        const tt = tonnes(w, t.symbol);
        if (side === 'buy') { w.paid += amount; tt.bought += t.quantity; } else { w.received += amount; tt.sold += t.quantity; }
        w.fees += fee;
        const cash = side === 'buy' ? -(amount + fee) : amount - fee;
        w.movements.push({
          kind: 'trade', seq: t.seq, time: isoTime(t.time), ref: `T${t.tradeId}`, symbol: t.symbol, side, mode: t.mode,
          price: formatMoney(t.price), quantity: t.quantity, amount: formatMoney(amount), fee: formatMoney(fee),
          cash: formatMoney(cash), tonnes: side === 'buy' ? t.quantity : -t.quantity, reference: null,
        });
      }
    } else if (e.type === 'account' && (e.change === 'deposit' || e.change === 'withdraw')) {
      const a = e as AccountEvent;
      const w = work(a.accountId, memberOf.get(a.accountId) ?? '');
      const sign = a.change === 'deposit' ? 1 : -1;
      if (a.amount !== null) {
        if (sign > 0) w.deposited += a.amount; else w.withdrawn += a.amount;
      } else if (a.symbol !== null && a.quantity !== null) {
        const tt = tonnes(w, a.symbol);
        if (sign > 0) tt.deposited += a.quantity; else tt.withdrawn += a.quantity;
      }
      w.movements.push({
        kind: a.change as 'deposit' | 'withdraw', seq: a.seq, time: isoTime(a.time), ref: `S${a.seq}`, symbol: a.symbol, side: null, mode: null, price: null,
        quantity: a.quantity ?? 0, amount: a.amount === null ? null : formatMoney(a.amount), fee: '0.00',
        cash: formatMoney(sign * (a.amount ?? 0)), tonnes: sign * (a.quantity ?? 0), reference: a.reference ?? null,
      });
    }
  }

  // Reconciliation: the market as a whole, then every account against its closing balances. A sum
  // past 2^53 is not exact, and two sums off by the same amount would still agree: refused first.
  exact(date, [['cash paid', cashPaid], ['cash received', cashReceived], ['fees', fees], ['tonnes bought', tonnesBought]]);
  for (const s of eod.instruments) {
    exact(date, [[`${s.symbol}'s listed turnover`, s.listedTurnover], [`${s.symbol}'s block turnover`, s.blockTurnover],
      [`${s.symbol}'s auction turnover`, s.auctionTurnover], [`${s.symbol}'s turnover`, s.listedTurnover + s.blockTurnover + s.auctionTurnover],
      [`${s.symbol}'s cumulative turnover`, s.cumulativeTurnover], [`${s.symbol}'s cumulative volume`, s.cumulativeVolume]]);
  }
  if (cashPaid !== cashReceived + fees) {
    throw new SettlementError(date, `cash paid ${formatMoney(cashPaid)} ≠ cash received ${formatMoney(cashReceived)} + fees ${formatMoney(fees)}`);
  }
  if (tonnesBought !== tonnesSold) throw new SettlementError(date, `tonnes bought ${tonnesBought} ≠ tonnes sold ${tonnesSold}`);

  const statements: Statement[] = [];
  const closing = new Map(eod.accounts.map((a) => [a.accountId, a]));
  for (const a of eod.accounts) work(a.accountId, a.member);
  for (const w of [...works.values()].sort((x, y) => (x.accountId < y.accountId ? -1 : x.accountId > y.accountId ? 1 : 0))) {
    const close = closing.get(w.accountId);
    if (close === undefined) throw new SettlementError(date, `account ${w.accountId} has movements but no closing balance`);
    const expectedCash = w.openingCash - w.paid + w.received - w.fees + w.deposited - w.withdrawn;
    exact(date, [[`${w.accountId}'s payments`, w.paid], [`${w.accountId}'s receipts`, w.received], [`${w.accountId}'s deposits`, w.deposited], [`${w.accountId}'s closing cash`, expectedCash]]);
    if (expectedCash !== close.cash) {
      throw new SettlementError(date, `account ${w.accountId} closes with ${formatMoney(close.cash)} cash, its movements give ${formatMoney(expectedCash)}`);
    }
    const closeHoldings = new Map(close.holdings);
    for (const symbol of closeHoldings.keys()) tonnes(w, symbol);
    const instruments = [...w.tonnes.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([symbol, t]) => {
      const expected = t.opening + t.bought - t.sold + t.deposited - t.withdrawn;
      const actual = closeHoldings.get(symbol) ?? 0;
      if (expected !== actual) throw new SettlementError(date, `account ${w.accountId} closes with ${actual} t of ${symbol}, its movements give ${expected} t`);
      return { symbol, opening: t.opening, bought: t.bought, sold: t.sold, deposited: t.deposited, withdrawn: t.withdrawn, closing: actual };
    });
    const line = (kind: 'opening' | 'closing', cash: number, symbol: string | null, q: number): Movement => ({
      kind, seq: kind === 'opening' ? 0 : eod.seq, time: null, ref: null, symbol, side: null, mode: null, price: null, quantity: q, amount: null,
      fee: null, cash: formatMoney(cash), tonnes: q, reference: null,
    });
    const movements = [
      line('opening', w.openingCash, null, 0), ...instruments.map((i) => line('opening', 0, i.symbol, i.opening)),
      ...w.movements,
      line('closing', close.cash, null, 0), ...instruments.map((i) => line('closing', 0, i.symbol, i.closing)),
    ];
    statements.push({
      date, accountId: w.accountId, member: w.member || close.member,
      cash: {
        opening: formatMoney(w.openingCash), paid: formatMoney(w.paid), received: formatMoney(w.received), fees: formatMoney(w.fees),
        deposited: formatMoney(w.deposited), withdrawn: formatMoney(w.withdrawn), closing: formatMoney(close.cash),
      },
      instruments, movements,
    });
  }

  const market: MarketReportRow[] = eod.instruments.map((s) => marketRow(date, s));

  const largeHolders: LargeHolderRow[] = eod.largeHolders.map((l) => ({
    date, accountId: l.accountId, symbol: l.symbol, holding: l.holding, threshold: l.threshold, since: l.since, dueDate: l.dueDate,
    filed: l.filed ?? null, overdue: l.overdue,
  }));

  return {
    date, statements, trades, market, largeHolders,
    totals: {
      tradeCount: trades.length, cashPaid: formatMoney(cashPaid), cashReceived: formatMoney(cashReceived), fees: formatMoney(fees),
      tonnesBought, tonnesSold,
    },
  };
}

/** About a megabyte of text a piece. */
const PIECE = 1 << 20;

/**
 * Lines gathered into pieces of about a megabyte: a busy day's report passes the longest string V8
 * makes (about 512 M characters), so it is written piece by piece, never as one string.
 */
export function* inPieces(lines: Iterable<string>): Generator<string> {
  let piece = '';
  for (const line of lines) {
    piece += line;
    if (piece.length >= PIECE) {
      yield piece;
      piece = '';
    }
  }
  if (piece !== '') yield piece;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NUMBER = /^-\d+(\.\d+)?$/;

/**
 * One CSV cell: quoted only when it must be, and a text a spreadsheet would take for a formula
 * (starting with `=`, `+`, `@`, a tab or a carriage return, or `-` when it is not a number, as a
 * bank's reference may) is led by an apostrophe, so that opening the file runs nothing. Numbers,
 * negative ones included, are left as they are; the JSON keeps every text as it was given.
 */
export const csvCell = (v: unknown): string => {
  let s = v === null || v === undefined ? '' : String(v);
  if (FORMULA_START.test(s) && !NUMBER.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** A header line and a line per row, each ending in a line break, in pieces (inPieces). */
export function* csvPieces<T extends object>(rows: Iterable<T>, columns: readonly (keyof T & string)[]): Generator<string> {
  yield* inPieces((function* () {
    yield columns.join(',') + '\n';
    for (const r of rows) yield columns.map((c) => csvCell(r[c])).join(',') + '\n';
  })());
}

export function toCsv<T extends object>(rows: readonly T[], columns: readonly (keyof T & string)[]): string {
  return [...csvPieces(rows, columns)].join('');
}

export const CSV_COLUMNS = {
  trades: ['date', 'tradeId', 'seq', 'time', 'symbol', 'mode', 'price', 'quantity', 'amount', 'buyAccountId', 'sellAccountId', 'buyOrderId', 'sellOrderId', 'blockId', 'buyFee', 'sellFee', 'auctionId', 'bidId'] as (keyof TradeRegisterRow & string)[],
  market: ['date', 'symbol', 'prevClose', 'open', 'high', 'low', 'last', 'close', 'changePct', 'average', 'totalVolume', 'totalTurnover', 'listedVolume', 'listedTurnover', 'blockVolume', 'blockTurnover', 'auctionVolume', 'auctionTurnover', 'trades', 'cumulativeVolume', 'cumulativeTurnover'] as (keyof MarketReportRow & string)[],
  largeHolders: ['date', 'accountId', 'symbol', 'holding', 'threshold', 'since', 'dueDate', 'filed', 'overdue'] as (keyof LargeHolderRow & string)[],
  statements: ['date', 'accountId', 'member', 'kind', 'seq', 'time', 'ref', 'symbol', 'side', 'mode', 'price', 'quantity', 'amount', 'fee', 'cash', 'tonnes', 'reference'] as const,
};

/** The statements as one CSV ledger: a row per movement, opening and closing lines included, in pieces (inPieces). */
export function* statementsCsvPieces(statements: readonly Statement[]): Generator<string> {
  type Row = { date: string; accountId: string; member: string } & Statement['movements'][number];
  const rows = function* (): Generator<Row> {
    for (const s of statements) for (const m of s.movements) yield { date: s.date, accountId: s.accountId, member: s.member, ...m };
  };
  yield* csvPieces(rows(), CSV_COLUMNS.statements as unknown as (keyof Row & string)[]);
}

/** statementsCsvPieces as one text. */
export function statementsCsv(statements: readonly Statement[]): string {
  return [...statementsCsvPieces(statements)].join('');
}
