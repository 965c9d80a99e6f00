// K-lines: listed trades only, bars aligned to China Standard Time, and a closed day's 1d bar at the
// day's official close, whether the day's end comes live (after the day's trades) or at start-up,
// when the gateway reads the trades back first and the days' ends after them.
import t from 'tap';
import { Klines, type EndOfDayEvent, type TradeEvent } from '../../engine/index.ts';

const at = (iso: string) => Date.parse(iso);
let seq = 0;
function trade(time: string, price: number, quantity: number, mode: TradeEvent['mode'] = 'listed'): TradeEvent {
  seq++;
  return { type: 'trade', seq, time: at(time), tradeId: seq, symbol: 'CEA24', mode, price, quantity } as TradeEvent;
}
function endOfDay(date: string, close: number, listedVolume: number): EndOfDayEvent {
  return {
    type: 'endOfDay', seq: ++seq, time: at(`${date}T15:30:00+08:00`), date, nextDate: '', feesCollected: 0, largeHolders: [], accounts: [],
    instruments: [{ symbol: 'CEA24', close, listedVolume } as EndOfDayEvent['instruments'][number]],
  };
}

const DAY1 = [trade('2026-03-10T09:31:00+08:00', 5750, 600), trade('2026-03-10T10:05:00+08:00', 5710, 10), trade('2026-03-10T13:00:00+08:00', 5600, 100000, 'block')];
const DAY2 = [trade('2026-03-11T09:30:10+08:00', 5760, 50), trade('2026-03-11T09:30:40+08:00', 5800, 50)];

t.test('live: the day bar closes at its last trade until the day ends, then at the official close', async (t) => {
  const k = new Klines();
  for (const e of DAY1) k.onTrade(e);
  t.match(k.get('CEA24', '1d'), [{ openTime: at('2026-03-10T00:00:00+08:00'), open: 5750, high: 5750, low: 5710, close: 5710, volume: 610 }], 'the block trade is not in it');
  const minutes = k.get('CEA24', '1m');
  t.same(k.onEndOfDay(endOfDay('2026-03-10', 5749, 610)), ['CEA24'], 'the bar took the official close');
  t.match(k.get('CEA24', '1d'), [{ close: 5749, open: 5750, high: 5750, low: 5710, volume: 610 }]);
  t.same(k.get('CEA24', '1m'), minutes, 'intraday bars keep their last trade');
  t.same(k.onEndOfDay(endOfDay('2026-03-10', 5749, 610)), ['CEA24'], 'the same close again: the bar is told all the same');
  t.match(k.get('CEA24', '1d'), [{ close: 5749 }], 'and unchanged');
  for (const e of DAY2) k.onTrade(e);
  t.match(k.get('CEA24', '1d'), [{ close: 5749 }, { close: 5800, volume: 100 }], "the next day's bar is a new one");
});

t.test("rebuilt: the days' ends applied after all the trades reach each day's own bar", async (t) => {
  const k = new Klines();
  for (const e of [...DAY1, ...DAY2]) k.onTrade(e);
  t.same(k.onEndOfDay(endOfDay('2026-03-10', 5749, 610)), ['CEA24'], 'an earlier bar than the last');
  t.same(k.onEndOfDay(endOfDay('2026-03-11', 5780, 100)), ['CEA24']);
  t.match(k.get('CEA24', '1d'), [{ openTime: at('2026-03-10T00:00:00+08:00'), close: 5749 }, { openTime: at('2026-03-11T00:00:00+08:00'), close: 5780 }]);
  t.same(k.onEndOfDay(endOfDay('2026-03-09', 5700, 0)), [], 'a day without listed trades has no bar to change');
  t.same(k.onEndOfDay(endOfDay('2026-03-12', 5700, 20)), [], 'nor does a day whose trades were not read back');
  t.equal(k.get('CEA24', '1d').length, 2, 'no bar is made up');
});
