// The headline price (MARKET-RULES section 4): Beijing and Chongqing publish the day's average price
// of all trades as their headline, the other venues their close. /v1/instruments says which, the
// ticker carries the average beside the listed trades' VWAP, and the market report's average is the
// same figure; a listing's profile may name its headline, and nothing else.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { expectError, expectOk, startServer } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

t.test('the headline each venue publishes, and the average it is', async (t) => {
  const instruments = (await s.api('GET', '/v1/instruments')).body as { symbol: string; headline: string }[];
  const headlines = Object.fromEntries(instruments.map((i) => [i.symbol, i.headline]));
  t.match(headlines, { BEA: 'average', CQEA: 'average', CEA24: 'close', HBEA: 'close', GDEA: 'close' });
  t.equal(Object.values(headlines).filter((h) => h === 'average').length, 2, 'Beijing and Chongqing only');

  const ticker = async () => (await s.api('GET', '/v1/instruments/BEA/ticker')).body;
  t.match(await ticker(), { vwap: null, average: null }, 'no trade, no average');
  // A listed trade of 100 t at 72.50, then a block of 10,000 t at 70.00.
  expectOk(t, await s.api('POST', '/v1/orders', { key: 'M3', body: { accountId: 'M3-I1', symbol: 'BEA', side: 'sell', type: 'limit', price: '72.50', quantity: 100 } }), 201);
  const buy = await s.api('POST', '/v1/orders', { key: 'M1', body: { accountId: 'M1-C3', symbol: 'BEA', side: 'buy', type: 'limit', price: '72.50', quantity: 100 } });
  t.equal(buy.body.fills.length, 1);
  const proposed = await s.api('POST', '/v1/block-trades', { key: 'M3', body: { accountId: 'M3-I1', symbol: 'BEA', side: 'sell', price: '70.00', quantity: 10_000, counterpartyAccountId: 'M1-C3' } });
  expectOk(t, proposed, 201);
  expectOk(t, await s.api('POST', `/v1/block-trades/${proposed.body.blockId}/accept`, { key: 'M1', body: { accountId: 'M1-C3' } }), 200);
  // (7,250.00 + 700,000.00) / 10,100 t = 70.0247… → 70.02; the listed trades' VWAP stays 72.50.
  t.match(await ticker(), { vwap: '72.50', average: '70.02', volume: 10_100 });

  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200);
  const market = (await s.api('GET', `/v1/settlement/${eod.body.date}/market`, { key: 'operator' })).body as { symbol: string; average: string; close: string }[];
  t.match(market.find((r) => r.symbol === 'BEA'), { average: '70.02', close: '72.50' }, 'the report\'s average is the headline; the close, the next reference, is the listed VWAP');
  t.match((await s.api('GET', '/v1/instruments/BEA')).body, { prevClose: '72.50', headline: 'average' });
});

t.test('a listing names its headline in its profile: close or average, nothing else', async (t) => {
  const profile = JSON.parse(readFileSync(new URL('../../markets/venues/fjea.json', import.meta.url), 'utf8'));
  const list = (symbol: string, headline: unknown) =>
    s.api('POST', '/v1/admin/instruments', { key: 'operator', body: { symbol, name: symbol, vintage: null, profile: { ...profile, instruments: [{ symbol, name: symbol, vintage: null }], headline }, listingPrice: '25.00' } });
  expectError(t, await list('FJEA-H1', 'median'), 400, 'INVALID_COMMAND', /headline/, 'median');
  expectOk(t, await list('FJEA-H2', 'average'), 201);
  t.match((await s.api('GET', '/v1/instruments/FJEA-H2')).body, { headline: 'average' });
  t.match((await s.api('GET', '/v1/instruments/FJEA')).body, { headline: 'close' }, 'a profile without it publishes its close');
});
