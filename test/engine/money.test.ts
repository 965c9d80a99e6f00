// Money at the edges: decimal strings in and out, fees as exact half-up fractions of turnover, and
// the price bands of MARKET-RULES section 3.
import t from 'tap';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import {
  RATE_SCALE, applyRate, bandLimits, buyFeeReserve, divideHalfUp, formatMoney, parseMoney, parsePercent, parseRate, tradeFee,
} from '../../engine/index.ts';

const TEN_PERCENT = 10_000_000; // parts per 10^8
const THIRTY_PERCENT = 30_000_000;
const HALF_PERCENT = 500_000; // 0.005 of turnover

/** amount × rate / 10^8 with BigInt, rounded half-up or up: the arithmetic applyRate must match. */
function exact(amount: number, rate: number, mode: 'half-up' | 'ceil'): number {
  const product = BigInt(amount) * BigInt(rate);
  const scale = BigInt(RATE_SCALE);
  const add = mode === 'half-up' ? scale / 2n : scale - 1n;
  return Number((product + add) / scale);
}

t.test('parseMoney reads CNY strings into fen', async (t) => {
  t.equal(parseMoney('57.46'), 5746);
  t.equal(parseMoney('57.5'), 5750, 'one decimal is tenths');
  t.equal(parseMoney('57'), 5700, 'no decimals is whole yuan');
  t.equal(parseMoney('0.01'), 1);
  t.equal(parseMoney('0.10'), 10);
  t.equal(parseMoney('0'), 0);
  t.equal(parseMoney('999999999999.99'), 99_999_999_999_999, 'a large amount, exactly');
  t.equal(parseMoney('10000000000000.00'), 1e15, 'the largest a command takes (MAX_AMOUNT) can be written');
});

t.test('parseMoney refuses anything that is not a plain decimal with at most two places', async (t) => {
  for (const text of ['1.234', '-1', '1e3', '', ' 1', '1 ', '1.', '.5', '01', '00.10', '1,000.00', '+1', 'NaN', 'Infinity', '0x10', '100000000000000']) {
    t.equal(parseMoney(text), null, JSON.stringify(text));
  }
  t.equal(parseMoney(57.46 as unknown as string), null, 'a number is not a string');
});

t.test('formatMoney writes fen with exactly two decimals', async (t) => {
  t.equal(formatMoney(5746), '57.46');
  t.equal(formatMoney(5), '0.05');
  t.equal(formatMoney(50), '0.50');
  t.equal(formatMoney(0), '0.00');
  t.equal(formatMoney(100), '1.00');
  t.equal(formatMoney(-5), '-0.05');
  t.equal(formatMoney(-123456), '-1234.56');
  t.equal(formatMoney(99_999_999_999_999), '999999999999.99');
});

t.test('parseMoney and formatMoney round-trip', async (t) => {
  for (const text of ['0.00', '0.01', '0.99', '1.00', '57.46', '40.67', '100000.00', '999999999999.99']) {
    t.equal(formatMoney(parseMoney(text) as number), text, text);
  }
  fc.assert(fc.property(fc.integer({ min: 0, max: 99_999_999_999_999 }), (fen) => parseMoney(formatMoney(fen)) === fen));
  fc.assert(fc.property(fc.integer({ min: 0, max: 999_999_999_999 }), fc.integer({ min: 0, max: 99 }), (units, cents) => {
    const text = `${units}.${cents < 10 ? '0' : ''}${cents}`;
    return formatMoney(parseMoney(text) as number) === text;
  }));
});

t.test('parseRate and parsePercent read rates as parts per 10^8', async (t) => {
  t.equal(parseRate('0.005'), HALF_PERCENT, 'Hubei 0.5 %');
  t.equal(parseRate('0.04'), 4_000_000, 'Hubei 定价转让 4 %');
  t.equal(parseRate('0'), 0);
  t.equal(parseRate('0.00000001'), 1, 'eight decimals is the finest rate');
  t.equal(parseRate('0.000000001'), null, 'nine decimals are refused');
  t.equal(parseRate('1'), null, 'a rate of the whole turnover is refused');
  t.equal(parseRate('-0.005'), null);
  t.equal(parseRate('5e-3'), null);
  t.equal(parsePercent('10'), TEN_PERCENT);
  t.equal(parsePercent('30'), THIRTY_PERCENT);
  t.equal(parsePercent('7.5'), 7_500_000);
  t.equal(parsePercent('100'), 100_000_000);
  t.equal(parsePercent('100.01'), null, 'above 100 % is refused');
  t.equal(parsePercent('0.00000001'), null, 'a percentage finer than 10^-8 of the whole is refused');
});

t.test('applyRate rounds a value at exactly half a fen up', async (t) => {
  // 100 t at 40.67 = 4067.00 turnover = 406,700 fen; 0.5 % of it is 2,033.5 fen.
  t.equal(applyRate(406_700, HALF_PERCENT, 'half-up'), 2034, '20.335 → 20.34');
  t.equal(applyRate(406_500, HALF_PERCENT, 'half-up'), 2033, '20.325 → 20.33');
  t.equal(applyRate(406_600, HALF_PERCENT, 'half-up'), 2033, '20.33 exactly');
  t.equal(applyRate(406_690, HALF_PERCENT, 'half-up'), 2033, '20.3345 → 20.33');
  t.equal(applyRate(1, 50_000_000, 'half-up'), 1, '0.5 fen → 1 fen');
  t.equal(applyRate(1, 49_999_999, 'half-up'), 0, '0.49999999 fen → 0');
  t.equal(applyRate(3, 50_000_000, 'half-up'), 2, '1.5 fen → 2 fen');
  t.equal(applyRate(4067, HALF_PERCENT, 'half-up'), 20, 'one tonne at 40.67: 20.335 fen → 20 fen');
  t.equal(tradeFee(406_700, HALF_PERCENT), 2034, 'the fee of one side of one trade');
  t.equal(tradeFee(406_700, 0), 0);
  t.equal(applyRate(0, HALF_PERCENT, 'half-up'), 0);
});

t.test('applyRate in ceil mode rounds any remainder up and an exact value not at all', async (t) => {
  t.equal(applyRate(406_700, HALF_PERCENT, 'ceil'), 2034);
  t.equal(applyRate(406_000, HALF_PERCENT, 'ceil'), 2030);
  t.equal(applyRate(406_001, HALF_PERCENT, 'ceil'), 2031, '2030.005 → 2031');
  t.equal(applyRate(1, 1, 'ceil'), 1, '10^-8 fen → 1 fen');
});

t.test('applyRate is exact on huge amounts', async (t) => {
  t.equal(applyRate(100_000_000_000_000, HALF_PERCENT, 'half-up'), 500_000_000_000, '10^14 fen × 0.5 %');
  t.equal(applyRate(100_000_000_000_000, 12_345_678, 'half-up'), 12_345_678_000_000, '10^14 fen × 0.12345678');
  for (const [amount, rate] of [
    [999_999_999_999_999, 99_999_999], [999_999_999_999_999, 1], [123_456_789_012_345, 33_333_333],
    [100_000_000_000_001, 50_000_000], [99_999_999, 99_999_999], [100_000_050, 50_000_000], [576_543_210_987_654, HALF_PERCENT],
  ]) {
    t.equal(applyRate(amount, rate, 'half-up'), exact(amount, rate, 'half-up'), `${amount} × ${rate} half-up`);
    t.equal(applyRate(amount, rate, 'ceil'), exact(amount, rate, 'ceil'), `${amount} × ${rate} ceil`);
  }
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 1_000_000_000_000_000 }), fc.integer({ min: 0, max: RATE_SCALE - 1 }),
    (amount, rate) => applyRate(amount, rate, 'half-up') === exact(amount, rate, 'half-up')
      && applyRate(amount, rate, 'ceil') === exact(amount, rate, 'ceil'),
  ), { numRuns: 2000 });
});

t.test('buyFeeReserve covers every per-fill rounding', async (t) => {
  // 100 t at 40.67 at 0.5 %: ceil(2033.5) = 2034 fen, plus half a fen for each of 100 possible fills = 50.
  t.equal(buyFeeReserve(406_700, 100, HALF_PERCENT), 2084);
  t.equal(buyFeeReserve(406_700, 101, HALF_PERCENT), 2085, 'an odd quantity rounds its half-fens up');
  t.equal(buyFeeReserve(406_700, 100, 0), 0, 'no fee, no reserve');
  // However an order is split into fills, the fees of its fills never exceed its reserve.
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 10_000_000 }),
    fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 50 }),
    (price, quantity, rate, sizes) => {
      // Split the quantity into fills of the given sizes (the last takes the rest) and sum their fees.
      let left = quantity;
      let fees = 0;
      for (const size of sizes) {
        if (left === 0) break;
        const q = Math.min(size, left);
        fees += tradeFee(price * q, rate);
        left -= q;
      }
      if (left > 0) fees += tradeFee(price * left, rate);
      return fees <= buyFeeReserve(price * quantity, quantity, rate);
    },
  ));
});

t.test('bandLimits is exact for the largest prices: no rounding before the half-up to the tick', async (t) => {
  // 999,999,999,995 fen × 1.30000001 = 1,300,000,009,993.49999995 fen: half-up to the fen gives …993,
  // where a product rounded to 20 significant digits first (…993.50) gave …994.
  t.same(bandLimits(999_999_999_995, parsePercent('30.000001') as number, 1), { low: 699_999_989_997, high: 1_300_000_009_993 });
  // 1,100,001 t at 40,000,000.00 and 1,100,000 t at 40,000,000.01: 4,000,000,000.49999… fen a tonne,
  // which a float division rounds up to 4,000,000,001.
  t.equal(divideHalfUp(8_800_004_001_100_000, 2_200_001), 4_000_000_000, 'an average near 2^53 is rounded once, half-up');
});

t.test('property: divideHalfUp is the exact quotient rounded half-up, for every safe integer ratio', async (t) => {
  const E = Decimal.clone({ precision: 60 });
  fc.assert(fc.property(fc.oneof(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: 1e9 })), fc.integer({ min: 1, max: 2 ** 40 }), (n, d) => {
    const exact = new E(n).div(d).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
    // The halves themselves: n·2 + 1 over 2·d-ish ratios land exactly on .5 often enough to matter.
    const half = Math.min(Number.MAX_SAFE_INTEGER, d * Math.floor(n / (d + 1)) + Math.ceil(d / 2));
    const exactHalf = new E(half).div(d).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
    return divideHalfUp(n, d) === exact && divideHalfUp(half, d) === exactHalf;
  }), { numRuns: 20_000 });
  t.pass('20,000 random ratios and as many halves');
});

t.test('bandLimits follows the examples of MARKET-RULES section 3', async (t) => {
  t.same(bandLimits(5746, TEN_PERCENT, 1), { low: 5171, high: 6321 }, '57.46 → listed [51.71, 63.21]');
  t.same(bandLimits(5746, THIRTY_PERCENT, 1), { low: 4022, high: 7470 }, '57.46 → block [40.22, 74.70]');
  t.same(bandLimits(4067, TEN_PERCENT, 1), { low: 3660, high: 4474 }, 'Hubei 40.67 → [36.60, 44.74]');
});

t.test('bandLimits rounds a limit at exactly half a tick up', async (t) => {
  // 57.45 × 0.9 = 51.705 and 57.45 × 1.1 = 63.195: both round half-up.
  t.same(bandLimits(5745, TEN_PERCENT, 1), { low: 5171, high: 6320 });
  // 20 % band (Beijing): 57.46 × 0.8 = 45.968, × 1.2 = 68.952.
  t.same(bandLimits(5746, 20_000_000, 1), { low: 4597, high: 6895 });
  // A tick of 0.05: 57.45 × 0.9 = 51.705 → 51.70; × 1.1 = 63.195 → 63.20.
  t.same(bandLimits(5745, TEN_PERCENT, 5), { low: 5170, high: 6320 });
});

t.test('bandLimits never puts the lower limit below one tick', async (t) => {
  t.same(bandLimits(1, 60_000_000, 1), { low: 1, high: 2 }, '0.01 × 0.4 rounds to 0: the floor is one tick');
  t.same(bandLimits(10, 100_000_000, 1), { low: 1, high: 20 }, 'a 100 % band still starts at one tick');
});

t.test('divideHalfUp rounds an average price half-up', async (t) => {
  t.equal(divideHalfUp(5, 2), 3);
  t.equal(divideHalfUp(7, 3), 2);
  t.equal(divideHalfUp(8, 3), 3);
  // 100 t at 57.50 and 50 t at 57.61: (575000 + 288050) / 150 = 5753.666… → 5754
  t.equal(divideHalfUp(863_050, 150), 5754);
});
