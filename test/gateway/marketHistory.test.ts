// The gateway's market history (recent trades per instrument, block and auction trades apart, K-lines) after a
// restart is what the running exchange showed before it, on a real journal file: a History fed the
// committed batches live (as the exchange feeds it) against one rebuilt from the journal. Rebuilt
// from every fact, or from the checkpoint written at an end of day plus the facts after it; a
// quiet instrument's last trades and bars survive however many trades of another came after them;
// a checkpoint that cannot be read, or was written before auction trades were kept, falls back to
// every fact.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import type { Command, EndOfDayEvent, EngineEvent, TradeEvent } from '../../engine/index.ts';
import { INTERVAL_NAMES } from '../../engine/index.ts';
import { History } from '../../gateway/history.ts';
import { Journal } from '../../persistence/journal.ts';
import { runToEnd } from '../../persistence/turns.ts';
import { tempFolder } from '../support/exchangeProcess.ts';

const T0 = Date.parse('2026-11-20T09:30:00+08:00');
const DAY = 86_400_000;

function trade(seq: number, tradeId: number, symbol: string, price: number, time: number, mode: TradeEvent['mode'] = 'listed'): TradeEvent {
  const listed = mode === 'listed';
  return {
    type: 'trade', seq, time, tradeId, symbol, mode, price, quantity: 1 + (tradeId % 7), buyOrderId: listed ? 1 : null, sellOrderId: listed ? 2 : null,
    blockId: mode === 'block' ? tradeId : null, buyAccountId: 'M1-I1', sellAccountId: 'M2-I1', buyRemaining: 0, sellRemaining: 0, buyFee: 0, sellFee: 0, aggressor: 'buy',
  };
}

function endOfDay(seq: number, time: number, date: string, closes: Record<string, number>): EndOfDayEvent {
  return {
    type: 'endOfDay', seq, time, date, nextDate: 'next', feesCollected: 0, largeHolders: [], accounts: [],
    instruments: Object.entries(closes).map(([symbol, close]) => ({ symbol, close }) as unknown as EndOfDayEvent['instruments'][number]),
  };
}

/** A journal and the History the running exchange would hold: each batch committed, then folded in. */
class Exchange {
  readonly journal: Journal;
  readonly live: History;
  seq = 0;
  tradeId = 0;

  constructor(readonly dir: string) {
    this.journal = new Journal(dir);
    this.live = new History(this.journal);
  }

  /** One committed batch of one command carrying these events; an end of day in it writes the checkpoint, as the exchange does. */
  batch(events: (seq: number) => EngineEvent[]): void {
    const seq = ++this.seq;
    const command = { type: 'haltMarket', reason: 'carrier', seq, time: T0, actor: { role: 'risk', id: 'r' } } as Command;
    const list = events(seq);
    this.journal.append(command, list, null);
    this.journal.commit();
    this.live.onEvents(list);
    if (list.some((e) => e.type === 'endOfDay')) this.live.checkpoint(seq);
  }

  trades(n: number, symbol: string, time: (i: number) => number, price: (i: number) => number, mode: TradeEvent['mode'] = 'listed', perBatch = 1000): void {
    for (let done = 0; done < n;) {
      const k = Math.min(perBatch, n - done);
      this.batch((seq) => Array.from({ length: k }, (_, i) => trade(seq, ++this.tradeId, symbol, price(done + i), time(done + i), mode)));
      done += k;
    }
  }

  rebuilt(): History {
    const h = new History(this.journal);
    runToEnd(h.rebuilding());
    return h;
  }
}

const SYMBOLS = ['CEA23', 'CEA24', 'HBEA'];

/** Everything the market routes and channels read from the history. */
function market(h: History) {
  const out: Record<string, unknown> = {};
  for (const symbol of SYMBOLS) {
    out[`${symbol} trades`] = h.recentTrades(symbol, 1000);
    out[`${symbol} blocks`] = h.recentTrades(symbol, 100, 'block');
    out[`${symbol} listed`] = h.recentTrades(symbol, 50, 'listed');
    out[`${symbol} auction`] = h.recentTrades(symbol, 1000, 'auction');
    for (const interval of INTERVAL_NAMES) out[`${symbol} ${interval}`] = h.klines.get(symbol, interval, 1500);
  }
  return out;
}

function exchange(t: Test): Exchange {
  const folder = tempFolder('market-history-');
  const x = new Exchange(join(folder.path, 'data'));
  t.teardown(() => {
    x.journal.close();
    folder.remove();
  });
  return x;
}

t.test('a quiet instrument keeps its trades and bars however many trades of another come after them', async (t) => {
  const x = exchange(t);
  // CEA23 trades a little, then CEA24 200,001 times (one a second: more 1m bars than a series keeps).
  x.trades(3, 'CEA23', (i) => T0 + i * 1000, (i) => 5600 + i);
  x.trades(200_001, 'CEA24', (i) => T0 + 10_000 + i * 1000, (i) => 5700 + (i % 50), 'listed', 5000);
  const live = market(x.live);
  t.equal((live['CEA23 trades'] as unknown[]).length, 3, 'live: CEA23 shows its three trades');
  t.equal((live['CEA24 1m'] as unknown[]).length, 1500, 'live: a series keeps 1,500 bars');
  t.same(market(x.rebuilt()), live, 'rebuilt from every fact: the same trades and bars, CEA23 included');
});

t.test('across ends of day: from the checkpoint and the facts after it, or from every fact', async (t) => {
  const x = exchange(t);
  // Day 1: listed trades on all three, block trades on CEA24, then the end of day (official closes).
  x.trades(40, 'CEA23', (i) => T0 + i * 61_000, (i) => 5500 + i);
  x.trades(300, 'CEA24', (i) => T0 + i * 7_000, (i) => 5700 + (i % 30), 'listed', 37);
  x.trades(3, 'CEA24', (i) => T0 + 3_600_000 + i, () => 5650, 'block');
  x.trades(1200, 'CEA24', (i) => T0 + 3_700_000, () => 5600, 'auction');
  x.trades(20, 'HBEA', (i) => T0 + i * 120_000, (i) => 4000 + i);
  x.batch((seq) => [endOfDay(seq, T0 + 8 * 3_600_000, '2026-11-20', { CEA23: 5519, CEA24: 5712, HBEA: 4009 })]);
  const checkpointSeq = x.seq;
  t.equal(x.journal.marketCheckpoint()?.seq, checkpointSeq, 'the end of day wrote the checkpoint at its batch');
  // Day 2: CEA24 and HBEA only.
  x.trades(250, 'CEA24', (i) => T0 + DAY + i * 9_000, (i) => 5720 - (i % 20), 'listed', 25);
  x.trades(2, 'CEA24', (i) => T0 + DAY + 7_200_000 + i, () => 5800, 'block');
  x.trades(30, 'CEA24', () => T0 + DAY + 7_300_000, () => 5750, 'auction');
  x.trades(5, 'CEA24', (i) => T0 + DAY + 7_400_000 + i, () => 5760);
  x.trades(10, 'HBEA', (i) => T0 + DAY + i * 300_000, (i) => 4010 + i);
  const live = market(x.live);
  t.match((live['CEA24 1d'] as { close: string | number }[])[0], { close: 5712 }, "live: day 1's bar took the official close");
  const all = live['CEA24 trades'] as TradeEvent[];
  t.equal(all.length, 1000, 'the latest 1,000 of every mode');
  t.same(all.slice(0, 38).map((e) => e.mode), [...Array(5).fill('listed'), ...Array(30).fill('auction'), 'block', 'block', 'listed'], 'newest first, the modes merged');
  t.ok(all.every((e, i) => i === 0 || e.tradeId < all[i - 1].tradeId), 'in trade id order');
  t.equal(all.filter((e) => e.mode === 'auction').length, 30 + (1000 - 5 - 30 - 2 - 250), "below day 2's trades, day 1's latest auction trades");
  t.equal((live['CEA24 auction'] as TradeEvent[]).length, 1000, 'an auction list of its own keeps 1,000');

  t.same(market(x.rebuilt()), live, 'from the checkpoint and the facts after it');

  // The checkpoint is what is read: without the facts it covers, the market reads back the same.
  const db = x.journal.db;
  const saved = db.prepare('SELECT batch, first_seq, last_seq, events, trades FROM facts WHERE last_seq <= ?').all(checkpointSeq) as unknown[][];
  db.prepare('DELETE FROM facts WHERE last_seq <= ?').run(checkpointSeq);
  t.same(market(x.rebuilt()), live, 'the facts before the checkpoint are not needed');
  const insert = db.prepare('INSERT INTO facts (batch, first_seq, last_seq, events, trades) VALUES (@batch, @first_seq, @last_seq, @events, @trades)');
  for (const row of saved) insert.run(row);

  // A checkpoint that cannot be read: every fact instead, and a word on stderr.
  const body = x.journal.marketCheckpoint()?.body as string;
  db.prepare('UPDATE market_checkpoints SET body = ?').run(body.slice(0, 100));
  const writes: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => { writes.push(String(chunk)); return true; }) as typeof process.stderr.write;
  let fromFacts: Record<string, unknown>;
  try {
    fromFacts = market(x.rebuilt());
  } finally {
    process.stderr.write = write;
  }
  t.same(fromFacts, live, 'a damaged checkpoint: rebuilt from every fact');
  t.match(writes.join(''), new RegExp(`checkpoint at seq ${checkpointSeq} cannot be read`), 'and said so');

  // A checkpoint written before auction trades were kept: every fact, without a word.
  const older = JSON.parse(body) as Record<string, unknown>;
  t.ok(Array.isArray(older.recentAuctions), 'a checkpoint keeps the auction trades');
  delete older.recentAuctions;
  db.prepare('UPDATE market_checkpoints SET body = ?').run(JSON.stringify(older));
  writes.length = 0;
  process.stderr.write = ((chunk: string) => { writes.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    fromFacts = market(x.rebuilt());
  } finally {
    process.stderr.write = write;
  }
  t.same(fromFacts, live, 'a checkpoint without auction trades: rebuilt from every fact, the auction trades included');
  t.same(writes, [], 'quietly: nothing is wrong with it');

  // No checkpoint at all (a journal written before them, or a crash before the first): every fact.
  db.exec('DROP TABLE market_checkpoints');
  t.same(market(x.rebuilt()), live, 'no checkpoint: rebuilt from every fact');

  // A checkpoint older than the last end of day (a crash before the newer one was written): the
  // facts after it, across that end of day.
  x.trades(5, 'CEA23', (i) => T0 + DAY + 9_000_000 + i * 1000, (i) => 5530 + i);
  x.batch((seq) => [endOfDay(seq, T0 + DAY + 8 * 3_600_000, '2026-11-23', { CEA23: 5532, CEA24: 5711, HBEA: 4015 })]);
  const stale = x.journal.marketCheckpoint();
  t.same(market(x.rebuilt()), market(x.live), 'the newest checkpoint');
  x.trades(4, 'HBEA', (i) => T0 + 2 * DAY + i * 1000, (i) => 4020 + i);
  db.prepare('UPDATE market_checkpoints SET seq = ?, body = ?').run(checkpointSeq, body);
  t.not(stale?.seq, checkpointSeq);
  t.same(market(x.rebuilt()), market(x.live), 'a stale checkpoint: it and every fact after it, across the later end of day');
});
