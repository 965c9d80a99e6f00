// One-way auctions survive a restart, on a real SQLite data directory: an exchange that journalled
// two open auctions (a sell at a uniform price, a buy paid as bid, 0.5 % fees a side), bids in
// several batches and two withdrawn, comes back from the journal alone, from a snapshot the snapshot
// thread took while they were open (with more bids journalled after it), and from the final snapshot
// of a clean shutdown, each time with the same state hash, the same open auctions, bids and freezes
// (read from the engine's objects, not only through the hash), and closes them into exactly the
// trades an engine that never restarted makes from the same stamped commands (also checked against
// the figures worked out by hand). An auction the end of day allocates after a restart shows up in
// that day's settlement outputs: the market report's auction volume and turnover, the trade
// register's 'auction' rows, the statements, and totals in which cash paid is cash received plus fees.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Engine, SELL, formatMoney, parseMoney, type AuctionBidEvent, type AuctionEvent, type Command, type EndOfDayEvent, type EngineSnapshot, type MarketReportRow,
  type Statement, type TradeEvent, type TradeRegisterRow, type VenueProfile,
} from '../../engine/index.ts';
import type { Genesis } from '../../persistence/journal.ts';
import { recover, type Recovered } from '../../persistence/recovery.ts';
import { Sequencer, type CommandBody } from '../../persistence/sequencer.ts';
import { SettlementWriter } from '../../persistence/settlementWriter.ts';
import { tempFolder } from '../support/exchangeProcess.ts';
import { cst, fen, ok, tradesOf } from '../support/harness.ts';
import { national } from '../engine/fixtures.ts';

const DATE = '2026-11-20';
const GENESIS: Genesis = { tradingDate: DATE, markets: null };
/** The national market, open all day, with auction fees so that fees are part of what must come back. */
const PROFILE: VenueProfile = { ...national(), fees: { ...national().fees, auction: { buy: '0.005', sell: '0.005' } } };
const fee = (turnover: number) => Math.round(turnover * 0.005);

/** A batch: commands submitted in one turn, each by an account's member, or by 'ops'. */
type Step = [who: string, body: CommandBody];
const bid = (auctionId: number, accountId: string, price: string, quantity: number): Step =>
  [accountId, { type: 'bidAuction', auctionId, accountId, price: fen(price), quantity }];
const withdraw = (auctionId: number, accountId: string, bidId: number): Step => [accountId, { type: 'cancelAuctionBid', auctionId, bidId }];
const ACCOUNTS = ['S1-A', 'B1-A', 'B1-B', 'B2-A', 'B3-A'];
const BATCHES: Step[][] = [
  [['ops', { type: 'listInstrument', symbol: 'CEA24', profile: PROFILE, listingPrice: fen('60.00') }],
    ...ACCOUNTS.flatMap((accountId): Step[] => [
      ['ops', { type: 'createAccount', accountId, member: accountId.split('-')[0], accountClass: 'institution' }],
      ['ops', { type: 'deposit', accountId, cash: fen('20000000.00') }],
      ['ops', { type: 'deposit', accountId, symbol: 'CEA24', quantity: accountId === 'S1-A' ? 300_000 : 200_000 }],
    ])],
  // Auction 1: S1-A sells 200,000 t, uniform price. Auction 2: B3-A buys 100,000 t, pay as bid, offers from 54.00 to 66.00.
  [['S1-A', { type: 'openAuction', accountId: 'S1-A', symbol: 'CEA24', side: 'sell', quantity: 200_000, pricing: 'uniform' }],
    ['B3-A', { type: 'openAuction', accountId: 'B3-A', symbol: 'CEA24', side: 'buy', quantity: 100_000, pricing: 'pay_as_bid', reservePct: '10' }]],
  [bid(1, 'B1-A', '61.00', 80_000), bid(1, 'B2-A', '63.00', 50_000), bid(1, 'B3-A', '61.00', 100_000)], // bids 1, 2, 3
  [bid(1, 'B1-B', '62.00', 40_000)], // bid 4
  [bid(2, 'S1-A', '58.00', 60_000), bid(2, 'B1-A', '55.00', 50_000)], // offers 5, 6
  [withdraw(1, 'B1-B', 4)],
  // The snapshot of the second test is taken here.
  [bid(1, 'B2-A', '60.50', 30_000), bid(2, 'B2-A', '57.00', 10_000)], // bid 7, offer 8
  [withdraw(2, 'B1-A', 6)],
];
const SNAPSHOT_AFTER = 6;
/** What closing them gives, worked out by hand: auction 1 at 61.00 (bid 3 gets 70,000 of its 100,000), auction 2 at each offer's price. */
const EXPECTED: [buyer: string, seller: string, price: string, quantity: number][] = [
  ['B2-A', 'S1-A', '61.00', 50_000], ['B1-A', 'S1-A', '61.00', 80_000], ['B3-A', 'S1-A', '61.00', 70_000],
  ['B3-A', 'B2-A', '57.00', 10_000], ['B3-A', 'S1-A', '58.00', 60_000],
];

interface Exchange { r: Recovered; sequencer: Sequencer; log: Command[] }

/** A fresh data directory; start() opens (or recovers) it as the exchange does, clock at `time`. All closed and removed at the end. */
function dataDir(t: Test): { dir: string; start: (time?: string) => Exchange } {
  const folder = tempFolder('auctions-test-');
  const dir = join(folder.path, 'data');
  const opened: Recovered[] = [];
  t.teardown(async () => {
    for (const r of opened) {
      await r.snapshots.closeThread();
      if (r.journal.db.open) r.journal.close();
    }
    folder.remove();
  });
  return {
    dir,
    start: (time = '10:00') => {
      const r = recover(dir, { genesis: GENESIS });
      opened.push(r);
      let clock = cst(DATE, time);
      const sequencer = new Sequencer(r.engine, r.journal, r.snapshots, { now: () => clock++ });
      const log: Command[] = [];
      sequencer.onCommit((batch) => { for (const c of batch) log.push(c.command); });
      return { r, sequencer, log };
    },
  };
}

/** Submits each batch in one turn of the event loop (one journal batch); every command must be accepted. */
async function run(x: Exchange, batches: Step[][]) {
  const results = [];
  for (const batch of batches) {
    const done = await Promise.all(batch.map(([who, body]) =>
      x.sequencer.submit(who === 'ops' ? { role: 'operator', id: 'ops1' } : { role: 'member', id: who.split('-')[0] }, body)));
    results.push(...done.map(ok));
  }
  return results;
}

/** The open auctions as the engine holds them: their bids, and what the initiator and every bid keep frozen. */
const auctions = (e: Engine) => e.auctions.openById().map((a) => ({
  id: a.id, initiator: a.initiator.id, side: a.side, quantity: a.quantity, pricing: a.pricing, low: a.low, high: a.high,
  frozenCash: a.frozenCash, frozenTonnes: a.frozenTonnes,
  bids: [...a.bids.values()].map((b) => ({ id: b.id, accountId: b.account.id, price: b.price, quantity: b.quantity, frozenCash: b.frozenCash, frozenTonnes: b.frozenTonnes })),
}));
/** Every account's cash and CEA24 position, frozen parts included. */
const balances = (e: Engine) => e.accountsById().map((a) => {
  const p = a.peek(e.instrument('CEA24')!.index);
  return { id: a.id, cash: a.cash, cashFrozen: a.cashFrozen, available: p.available, frozen: p.frozen, openBuy: p.openBuy, pending: p.pending };
});
const bidIds = (e: Engine) => auctions(e).map((a) => a.bids.map((b) => b.id));
const tradeFigures = (trades: TradeEvent[]) => trades.map((x) => [x.buyAccountId, x.sellAccountId, formatMoney(x.price), x.quantity]);

t.test('open auctions come back whole after a restart, and close into the trades of an exchange that never stopped', async (t) => {
  for (const how of ['journal only', 'snapshot thread while open, journal after it', 'clean shutdown\'s final snapshot'] as const) {
    t.test(how, async (t) => {
      const { dir, start } = dataDir(t);
      const live = start();
      let snapshotSeq: number | null = null;
      if (how.startsWith('snapshot')) {
        await run(live, BATCHES.slice(0, SNAPSHOT_AFTER));
        const rec = await live.r.snapshots.takeByReplay();
        await live.r.snapshots.closeThread();
        snapshotSeq = rec.seq;
        t.equal(rec.seq, live.r.engine.lastSequence, 'the snapshot holds every command committed');
        const file = JSON.parse(readFileSync(join(dir, 'snapshots', rec.file), 'utf8')) as EngineSnapshot;
        t.same(file.auctions?.open.map((a) => a.bids.map((b) => b.id)), [[1, 2, 3], [5, 6]], 'it holds both auctions and their live bids');
        await run(live, BATCHES.slice(SNAPSHOT_AFTER));
      } else {
        await run(live, BATCHES);
      }
      const hash = live.r.engine.stateHash();
      const lastSeq = live.r.engine.lastSequence;
      const open = auctions(live.r.engine);
      const held = balances(live.r.engine);
      // What must come back: both auctions, the live bids (4 and 6 withdrawn), and every freeze.
      t.same(bidIds(live.r.engine), [[1, 2, 3, 7], [5, 8]]);
      t.ok(open.every((a) => (a.side === SELL ? a.frozenTonnes === 200_000 : a.frozenCash >= fen('66.00') * 100_000)), 'the initiators hold back what they offer');
      t.ok(open.every((a) => a.bids.every((b) => b.frozenCash > 0 || b.frozenTonnes === b.quantity)), 'and every bid what it offers');
      t.match(held.find((a) => a.id === 'B1-B'), { cashFrozen: 0, openBuy: 0 }, 'a withdrawn bid holds nothing');
      const reference = new Engine({ tradingDate: DATE });
      for (const c of live.log) reference.apply(c);
      t.equal(reference.stateHash(), hash, 'an in-memory engine fed the stamped commands agrees');

      if (how.startsWith('clean')) await live.sequencer.shutdown();
      live.r.journal.close();
      const back = start('11:00');
      t.equal(back.r.created, false);
      t.same(back.r.skippedSnapshots, [], 'no snapshot was passed over');
      const from = how === 'journal only' ? null : snapshotSeq ?? lastSeq;
      t.equal(back.r.fromSnapshot, from, `recovered from ${from === null ? 'the journal alone' : `the snapshot at seq ${from}`}`);
      t.equal(back.r.replayed, lastSeq - (from ?? 0));
      t.equal(back.r.engine.lastSequence, lastSeq);
      t.equal(back.r.engine.stateHash(), hash, 'the same state hash');
      t.same(auctions(back.r.engine), open, 'the same open auctions, bids and freezes');
      t.same(balances(back.r.engine), held, 'the same cash, tonnes and freezes in every account');

      // Closing after the restart, and in the engine that never stopped, from the same stamped commands.
      const closes = await run(back, [[['ops', { type: 'closeAuction', auctionId: 1 }]], [['ops', { type: 'closeAuction', auctionId: 2 }]]]);
      const trades = closes.flatMap((r) => tradesOf(r.events));
      const unbroken = back.log.flatMap((c) => tradesOf(ok(reference.apply(c)).events));
      t.same(trades, unbroken, 'the same trades: ids, prices, quantities, accounts, fees');
      t.same(tradeFigures(trades), EXPECTED, 'the ones worked out by hand');
      t.ok(trades.every((x) => x.mode === 'auction' && x.buyFee === fee(x.price * x.quantity) && x.sellFee === x.buyFee && x.buyFee > 0), 'auction trades, with their fees');
      t.equal(back.r.engine.stateHash(), reference.stateHash(), 'and the same state after them');
      t.same(auctions(back.r.engine), [], 'nothing left open');
      t.ok(back.r.engine.accountsById().every((a) => a.cashFrozen === 0 && a.peek(0).frozen === 0 && a.peek(0).openBuy === 0), 'nor frozen');
    });
  }
});

t.test('an auction the end of day allocates after a restart is in that day\'s settlement outputs, and they reconcile', async (t) => {
  const { dir, start } = dataDir(t);
  const live = start();
  await run(live, BATCHES);
  const open = auctions(live.r.engine);
  live.r.journal.close();
  const x = start('15:30');
  t.same(auctions(x.r.engine), open, 'recovered with both auctions open');
  const [eodResult] = await run(x, [[['ops', { type: 'endOfDay', date: DATE }]]]);
  const trades = tradesOf(eodResult.events);
  const eod = eodResult.events.find((e): e is EndOfDayEvent => e.type === 'endOfDay')!;
  t.same(tradeFigures(trades), EXPECTED, 'the end of day allocates both auctions');
  const ended = eodResult.events.filter((e): e is AuctionEvent => e.type === 'auction');
  t.same(ended.map((a) => [a.auctionId, a.status, a.reason, a.filled]), [[1, 'closed', 'end_of_day', 200_000], [2, 'closed', 'end_of_day', 70_000]]);
  // The journal keeps the auctions' history as facts: opened, bids placed and withdrawn, the close.
  const facts = x.r.journal.facts(0, eod.seq);
  t.same(facts.filter((e): e is AuctionEvent => e.type === 'auction').map((a) => [a.auctionId, a.status]), [[1, 'opened'], [2, 'opened'], [1, 'closed'], [2, 'closed']]);
  t.equal(facts.filter((e) => e.type === 'auctionBid' && e.status === 'cancelled').length, 2, 'the two withdrawn bids');

  const writer = new SettlementWriter(x.r.journal, dir);
  writer.write(DATE);
  t.ok(writer.published(DATE));
  const read = <T>(report: 'market' | 'trades' | 'statements' | 'totals') => JSON.parse(writer.read(DATE, report, 'json') ?? 'null') as T;
  const turnover = trades.reduce((s, x) => s + x.price * x.quantity, 0);
  t.equal(turnover, fen('61.00') * 200_000 + fen('57.00') * 10_000 + fen('58.00') * 60_000);
  const market = read<MarketReportRow[]>('market');
  t.match(market, [{ symbol: 'CEA24', auctionVolume: 270_000, auctionTurnover: formatMoney(turnover), listedVolume: 0, blockVolume: 0, totalVolume: 270_000, trades: 5 }]);
  t.match(eod.instruments, [{ symbol: 'CEA24', auctionVolume: 270_000, auctionTurnover: turnover }]);
  const marketRow = x.r.journal.db.prepare('SELECT body FROM market_report WHERE date = ? AND symbol = ?').get(DATE, 'CEA24') as { body: string };
  t.same(JSON.parse(marketRow.body), market[0], 'the market_report table holds the same row');

  const register = read<TradeRegisterRow[]>('trades');
  t.same(register.map((r) => [r.tradeId, r.mode, r.buyAccountId, r.sellAccountId, r.price, r.quantity, r.buyFee, r.sellFee, r.buyOrderId, r.blockId]),
    trades.map((x) => [String(x.tradeId), 'auction', x.buyAccountId, x.sellAccountId, formatMoney(x.price), x.quantity, formatMoney(x.buyFee), formatMoney(x.sellFee), null, null]),
    'one register row per auction trade, mode auction');
  // Each row names its auction and the bid it filled, as the bid's closing fact has them.
  const filledBids = eodResult.events.filter((e): e is AuctionBidEvent => e.type === 'auctionBid' && e.tradeId !== null);
  t.same(register.map((r) => [r.tradeId, r.auctionId, r.bidId]), trades.map((x) => {
    const b = filledBids.find((y) => y.tradeId === x.tradeId)!;
    return [String(x.tradeId), String(b.auctionId), String(b.bidId)];
  }), 'with its auction and bid');
  t.same(new Set(register.map((r) => r.auctionId)), new Set(['1', '2']), 'both auctions');

  const statements = read<Statement[]>('statements');
  t.same(statements.map((s) => s.accountId), ACCOUNTS.slice().sort());
  for (const s of statements) {
    const mine = trades.filter((x) => x.buyAccountId === s.accountId || x.sellAccountId === s.accountId);
    const lines = s.movements.filter((m) => m.kind === 'trade');
    t.same(lines.map((m) => [m.ref, m.mode]), mine.map((x) => [`T${x.tradeId}`, 'auction']), `${s.accountId}: its auction trades`);
    const acct = x.r.engine.account(s.accountId)!;
    t.equal(parseMoney(s.cash.closing), acct.cash, `${s.accountId}: closing cash as the engine has it`);
    t.equal(s.instruments[0].closing, acct.peek(0).available, `${s.accountId}: closing tonnes as the engine has them`);
    const paid = mine.reduce((n, x) => n + (x.buyAccountId === s.accountId ? x.price * x.quantity : 0), 0);
    const fees = mine.reduce((n, x) => n + (x.buyAccountId === s.accountId ? x.buyFee : 0) + (x.sellAccountId === s.accountId ? x.sellFee : 0), 0);
    t.same([parseMoney(s.cash.paid), parseMoney(s.cash.fees)], [paid, fees], `${s.accountId}: what it paid and its fees`);
  }
  const s1 = statements.find((s) => s.accountId === 'S1-A')!;
  t.match(s1.instruments, [{ symbol: 'CEA24', opening: 0, deposited: 300_000, sold: 260_000, bought: 0, closing: 40_000 }]);

  const totals = read<{ tradeCount: number; cashPaid: string; cashReceived: string; fees: string; tonnesBought: number; tonnesSold: number }>('totals');
  const allFees = trades.reduce((s, x) => s + x.buyFee + x.sellFee, 0);
  t.match(totals, { tradeCount: 5, tonnesBought: 270_000, tonnesSold: 270_000, fees: formatMoney(allFees) });
  t.equal(parseMoney(totals.cashPaid), parseMoney(totals.cashReceived)! + parseMoney(totals.fees)!, 'cash in = cash out + fees');
  t.equal(parseMoney(totals.cashPaid), turnover + trades.reduce((s, x) => s + x.buyFee, 0));
  t.equal(x.r.engine.feesCollected, allFees, 'the exchange collected those fees');

  // And the closed day, auctions and all, recovers again to the same state.
  const hash = x.r.engine.stateHash();
  x.r.journal.close();
  t.equal(start('16:00').r.engine.stateHash(), hash);
});
