// Price bands (涨跌幅限制), MARKET-RULES section 3: reference × (1 ± p) rounded half-up to the tick;
// an order outside the band is refused with a message naming the band; a risk officer moving the
// band cancels the resting orders it leaves outside and releases what they froze.
import t from 'tap';
import { ladderBook, referenceBook, restore, snapshot, type BookFactory, type EndOfDayEvent, type InstrumentEvent } from '../../engine/index.ts';
import { Harness, cst, fen, loadProfile, allDay, ok, ordersOf } from '../support/harness.ts';
import { expectReject, funds, national, position } from './fixtures.ts';

const BOOKS: [string, BookFactory][] = [['ladder', ladderBook], ['reference', referenceBook]];
const START = fen('1000000.00');

/** CEA24 at 57.46 (band 51.71–63.21), two buyers with 1,000,000.00 and two sellers with 1,000 t. */
function market(bookFactory: BookFactory): Harness {
  const h = new Harness({ tradingDate: '2026-11-20', bookFactory });
  h.list(national(), 'CEA24', '57.46');
  h.open('B1-A', { cash: '1000000.00' });
  h.open('B2-A', { cash: '1000000.00' });
  h.open('S1-A', { holdings: { CEA24: 1000 } });
  h.open('S2-A', { holdings: { CEA24: 1000 } });
  return h;
}

const buy = (price: string, quantity = 100) => ({ symbol: 'CEA24', side: 'buy' as const, price, quantity });
const sell = (price: string, quantity = 100) => ({ symbol: 'CEA24', side: 'sell' as const, price, quantity });

for (const [bookName, bookFactory] of BOOKS) {
  t.test(`on the ${bookName} book`, async (t) => {
    t.test('listing at 57.46 gives the listed band 51.71–63.21 and the block band 40.22–74.70', async (t) => {
      const h = new Harness({ tradingDate: '2026-11-20', bookFactory });
      const listed = h.list(national(), 'CEA24', '57.46');
      const e = listed.events.find((x): x is InstrumentEvent => x.type === 'instrument');
      t.match(e, { symbol: 'CEA24', status: 'trading', referencePrice: 5746, bandLow: 5171, bandHigh: 6321, blockLow: 4022, blockHigh: 7470 });
    });

    t.test('accepts a buy at exactly the upper limit', async (t) => {
      const h = market(bookFactory);
      const r = ok(h.order('B1-A', buy('63.21')));
      t.match(ordersOf(r.events), [{ price: 6321, quantity: 100, status: 'new' }]);
      t.same(h.engine.depth('CEA24', 5)?.bids, [[6321, 100, 1]]);
    });

    t.test('accepts a sell at exactly the lower limit', async (t) => {
      const h = market(bookFactory);
      const r = ok(h.order('S1-A', sell('51.71')));
      t.match(ordersOf(r.events), [{ price: 5171, quantity: 100, status: 'new' }]);
      t.same(h.engine.depth('CEA24', 5)?.asks, [[5171, 100, 1]]);
    });

    t.test('rejects a buy one tick above the band', async (t) => {
      const h = market(bookFactory);
      const r = expectReject(t, h, () => h.order('B1-A', buy('63.22')), 'PRICE_OUT_OF_BAND', '51.71–63.21');
      t.match(r?.message, '63.22', 'the message names the refused price');
      t.same(funds(h, 'B1-A'), { cash: START, cashFrozen: 0 });
    });

    t.test('rejects a sell one tick below the band', async (t) => {
      const h = market(bookFactory);
      expectReject(t, h, () => h.order('S1-A', sell('51.70')), 'PRICE_OUT_OF_BAND', '51.71–63.21');
      t.same(position(h, 'S1-A', 'CEA24'), { available: 1000, frozen: 0, pending: 0, openBuy: 0 });
    });

    t.test('the band binds both sides: a buy below it and a sell above it are refused too', async (t) => {
      const h = market(bookFactory);
      expectReject(t, h, () => h.order('B1-A', buy('51.70')), 'PRICE_OUT_OF_BAND', '51.71–63.21');
      expectReject(t, h, () => h.order('S1-A', sell('63.22')), 'PRICE_OUT_OF_BAND', '51.71–63.21');
    });

    t.test('rejects a price that is not a positive whole number of ticks', async (t) => {
      const h = market(bookFactory);
      const raw = (price: number) => h.member('B1', { type: 'placeOrder', accountId: 'B1-A', symbol: 'CEA24', side: 'buy', orderType: 'limit', price, quantity: 100 });
      expectReject(t, h, () => raw(5746.5), 'INVALID_PRICE', '0.01');
      expectReject(t, h, () => raw(0), 'INVALID_PRICE');
      expectReject(t, h, () => raw(-5746), 'INVALID_PRICE');
    });

    t.test('on a venue with a tick of 0.05, a price between ticks is INVALID_PRICE and the band is on the tick', async (t) => {
      const h = new Harness({ tradingDate: '2026-11-20', bookFactory });
      const profile = allDay(loadProfile('cea', { tick: '0.05' }));
      const listed = h.list(profile, 'CEA24', '57.45');
      // 57.45 × 0.9 = 51.705 → 51.70; 57.45 × 1.1 = 63.195 → 63.20 (half-up to 0.05)
      t.match(listed.events.find((e) => e.type === 'instrument'), { bandLow: 5170, bandHigh: 6320 });
      h.open('B1-A', { cash: '1000000.00' });
      expectReject(t, h, () => h.order('B1-A', buy('57.46')), 'INVALID_PRICE', '0.05');
      ok(h.order('B1-A', buy('57.50')));
      ok(h.order('B1-A', buy('63.20')));
      expectReject(t, h, () => h.order('B1-A', buy('63.25')), 'PRICE_OUT_OF_BAND', '51.70–63.20');
    });

    t.test('a modification to a price outside the band is refused and the order stays as it was', async (t) => {
      const h = market(bookFactory);
      const id = ok(h.order('B1-A', buy('57.00'))).orderId as number;
      expectReject(t, h, () => h.modify('B1-A', id, { price: '63.22' }), 'PRICE_OUT_OF_BAND', '51.71–63.21');
      t.match(h.engine.order(id), { price: 5700, quantity: 100, status: 'new' });
      t.same(funds(h, 'B1-A'), { cash: START - 570_000, cashFrozen: 570_000 });
    });

    t.test('a risk officer narrowing the band cancels the orders outside it and releases what they froze', async (t) => {
      const h = market(bookFactory);
      const lowBid = ok(h.order('B1-A', buy('52.00'))).orderId as number;
      const bid = ok(h.order('B2-A', buy('57.00'))).orderId as number;
      const highAsk = ok(h.order('S1-A', sell('62.00', 50))).orderId as number;
      const ask = ok(h.order('S2-A', sell('58.00'))).orderId as number;
      t.same(funds(h, 'B1-A'), { cash: START - 520_000, cashFrozen: 520_000 });

      const r = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '5', reason: 'volatility' }));
      // 57.46 × 0.95 = 54.587 → 54.59; 57.46 × 1.05 = 60.333 → 60.33. The block band stays at ±30 %.
      t.match(r.events, [
        { type: 'order', orderId: lowBid, accountId: 'B1-A', side: 'buy', price: 5200, status: 'cancelled', reason: 'price_out_of_band', filled: 0 },
        { type: 'order', orderId: highAsk, accountId: 'S1-A', side: 'sell', price: 6200, status: 'cancelled', reason: 'price_out_of_band', filled: 0 },
        { type: 'instrument', symbol: 'CEA24', referencePrice: 5746, bandLow: 5459, bandHigh: 6033, blockLow: 4022, blockHigh: 7470, reason: 'volatility' },
      ]);
      t.equal(r.events.length, 3, 'the orders inside the band are not touched');
      t.same(funds(h, 'B1-A'), { cash: START, cashFrozen: 0 }, 'the cancelled buy released all its cash');
      t.same(position(h, 'B1-A', 'CEA24').openBuy, 0);
      t.same(position(h, 'S1-A', 'CEA24'), { available: 1000, frozen: 0, pending: 0, openBuy: 0 }, 'the cancelled sell released its tonnes');
      t.equal(h.engine.order(lowBid), undefined);
      t.equal(h.engine.order(highAsk), undefined);
      t.match(h.engine.order(bid), { status: 'new', price: 5700 });
      t.match(h.engine.order(ask), { status: 'new', price: 5800 });
      t.same(h.engine.depth('CEA24', 5), { bids: [[5700, 100, 1]], asks: [[5800, 100, 1]] });

      expectReject(t, h, () => h.order('B1-A', buy('60.34')), 'PRICE_OUT_OF_BAND', '54.59–60.33');
      expectReject(t, h, () => h.order('S1-A', sell('54.58')), 'PRICE_OUT_OF_BAND', '54.59–60.33');
      ok(h.order('S1-A', sell('60.33')));
      // The orders that stayed still trade: a sell at the new lower limit takes the bid at 57.00.
      const fill = ok(h.order('S1-A', sell('54.59', 40)));
      t.match(fill.events.filter((e) => e.type === 'trade'), [{ price: 5700, quantity: 40, buyOrderId: bid, buyRemaining: 60, sellRemaining: 0 }]);
    });

    t.test('a new reference price moves both bands and cancels what falls outside', async (t) => {
      const h = market(bookFactory);
      const keep = ok(h.order('B1-A', buy('52.00'))).orderId as number;
      const out = ok(h.order('B2-A', buy('57.00'))).orderId as number;
      const outAsk = ok(h.order('S1-A', sell('58.00'))).orderId as number;
      const r = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('50.00'), reason: 'listing price corrected' }));
      t.match(r.events, [
        { type: 'order', orderId: out, status: 'cancelled', reason: 'price_out_of_band' },
        { type: 'order', orderId: outAsk, status: 'cancelled', reason: 'price_out_of_band' },
        { type: 'instrument', referencePrice: 5000, bandLow: 4500, bandHigh: 5500, blockLow: 3500, blockHigh: 6500 },
      ]);
      t.equal(r.events.length, 3);
      t.match(h.engine.order(keep), { status: 'new' });
      t.same(funds(h, 'B2-A'), { cash: START, cashFrozen: 0 });
      t.same(position(h, 'S1-A', 'CEA24').available, 1000);
      ok(h.order('S2-A', sell('45.00', 10)));
      expectReject(t, h, () => h.order('S2-A', sell('44.99', 10)), 'PRICE_OUT_OF_BAND', '45.00–55.00');
    });

    t.test('widening the band cancels nothing and keeps time priority', async (t) => {
      const h = market(bookFactory);
      const first = ok(h.order('B1-A', buy('57.00'))).orderId as number;
      const second = ok(h.order('B2-A', buy('57.00'))).orderId as number;
      const r = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '20', reason: 'wider band' }));
      t.match(r.events, [{ type: 'instrument', bandLow: 4597, bandHigh: 6895 }]);
      t.equal(r.events.length, 1);
      const fill = ok(h.order('S1-A', sell('57.00')));
      t.match(fill.events.filter((e) => e.type === 'trade'), [{ buyOrderId: first, quantity: 100, price: 5700 }]);
      t.match(h.engine.order(second), { status: 'new' });
      ok(h.order('B1-A', buy('68.95')));
      expectReject(t, h, () => h.order('B1-A', buy('68.96')), 'PRICE_OUT_OF_BAND', '45.97–68.95');
    });

    t.test('a band change refuses malformed values', async (t) => {
      const h = market(bookFactory);
      expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '0', reason: 'x' }), 'INVALID_COMMAND');
      expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '101', reason: 'x' }), 'INVALID_COMMAND');
      expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: 0, reason: 'x' }), 'INVALID_PRICE');
      expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', listedBandPct: '5', reason: '' }), 'INVALID_COMMAND', 'reason');
      expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA24', reason: 'nothing named' }), 'INVALID_COMMAND');
      expectReject(t, h, () => h.risk({ type: 'setInstrument', symbol: 'CEA99', listedBandPct: '5', reason: 'x' }), 'UNKNOWN_INSTRUMENT');
    });
  });
}

t.test("a risk officer's reference price moves the bands, not the previous close", async (t) => {
  const h = market(ladderBook);
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('50.00'), reason: 'reference reset' }));
  t.match(h.engine.instrument('CEA24'), { prevClose: 5746, referencePrice: 5000, bandLow: 4500, bandHigh: 5500 });
  t.match(h.engine.ticker('CEA24'), { prevClose: 5746, bandLow: 4500, bandHigh: 5500, changeHundredths: 0 });

  // The state survives a snapshot; one written before prevClose was kept apart reads it as the reference.
  const snap = JSON.parse(JSON.stringify(snapshot(h.engine)));
  t.match(restore(snap).instrument('CEA24'), { prevClose: 5746, referencePrice: 5000, bandLow: 4500 });
  delete snap.instruments[0].prevClose;
  t.match(restore(snap).instrument('CEA24'), { prevClose: 5000, referencePrice: 5000 });

  // A trade at 52.00 is 9.50 % under the previous close.
  ok(h.order('S1-A', sell('52.00', 10)));
  ok(h.order('B1-A', buy('52.00', 10)));
  t.match(h.engine.ticker('CEA24'), { prevClose: 5746, last: 5200, changeHundredths: -950 });
});

t.test("a day without listed trades closes at the risk officer's reference price, which stands the next day", async (t) => {
  const h = market(ladderBook);
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('50.00'), reason: 'reference reset' }));
  h.time = cst('2026-11-20', '16:00');
  const eod = ok(h.operator({ type: 'endOfDay', date: '2026-11-20', strict: true }));
  const day = eod.events.find((e): e is EndOfDayEvent => e.type === 'endOfDay')!;
  t.match(day.instruments, [{ symbol: 'CEA24', prevClose: 5746, open: 5000, close: 5000 }]);
  t.match(h.engine.instrument('CEA24'), { prevClose: 5000, referencePrice: 5000, bandLow: 4500, bandHigh: 5500 }, 'tomorrow is banded on it');
  // Untouched by a risk officer, the reference is the previous close: a quiet day closes there.
  h.time = cst('2026-11-21', '16:00');
  const quiet = ok(h.operator({ type: 'endOfDay', date: '2026-11-21', strict: true })).events.find((e): e is EndOfDayEvent => e.type === 'endOfDay')!;
  t.match(quiet.instruments, [{ symbol: 'CEA24', prevClose: 5000, open: 5000, close: 5000 }]);
  // A day with listed trades closes at their VWAP whatever the reference.
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('52.00'), reason: 'again' }));
  h.time = cst('2026-11-22', '10:00');
  ok(h.order('S1-A', sell('51.00', 10)));
  ok(h.order('B1-A', buy('51.00', 10)));
  h.time = cst('2026-11-22', '16:00');
  const traded = ok(h.operator({ type: 'endOfDay', date: '2026-11-22', strict: true })).events.find((e): e is EndOfDayEvent => e.type === 'endOfDay')!;
  t.match(traded.instruments, [{ symbol: 'CEA24', prevClose: 5000, open: 5100, close: 5100 }]);
});

t.test('an end of day journaled before that rule (no strict) closes a quiet day at the previous close, as it did then', async (t) => {
  const h = market(ladderBook);
  ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', referencePrice: fen('50.00'), reason: 'reference reset' }));
  h.time = cst('2026-11-20', '16:00');
  const eod = ok(h.operator({ type: 'endOfDay', date: '2026-11-20' }));
  const day = eod.events.find((e): e is EndOfDayEvent => e.type === 'endOfDay')!;
  t.match(day.instruments, [{ symbol: 'CEA24', prevClose: 5746, open: 5746, close: 5746 }]);
  // Tomorrow's reference is that close: the override ended with the day.
  t.match(h.engine.instrument('CEA24'), { prevClose: 5746, referencePrice: 5746, bandLow: 5171, bandHigh: 6321 });
});
