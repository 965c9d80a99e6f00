// A block proposal that a risk control on one party's account ended (a restriction, a cancel-all, a
// lowered position cap) tells that party's member the control, and the other party's member only
// `cancelled_by_exchange`: in the list, on the `orders` channel and in the closed day's list, over a
// real server with real WebSocket clients.
import t from 'tap';
import { expectOk, KEYS, startServer, subscribedSocket, type WsMessage } from '../support/server.ts';

const s = await startServer();
t.teardown(() => s.close());

t.test('each member reads its own account\'s control, the other party cancelled_by_exchange', async (t) => {
  const propose = async (key: string, body: Record<string, unknown>): Promise<string> => {
    const r = await s.api('POST', '/v1/block-trades', { key, body: { symbol: 'CEA24', quantity: 100_000, ...body } });
    expectOk(t, r, 201, 'proposed');
    return r.body.blockId as string;
  };
  type Listed = { blockId: string; status: string; reason: string | null };
  const reasons = async (key: string, date = ''): Promise<Record<string, string | null>> => {
    const r = await s.api('GET', `/v1/block-trades${date === '' ? '' : `?date=${date}`}`, { key });
    expectOk(t, r, 200, `${key}'s blocks`);
    return Object.fromEntries((r.body as Listed[]).map((b) => [b.blockId, b.reason]));
  };
  const m1 = await subscribedSocket(t, s.wsUrl, ['orders'], KEYS.M1);
  const m2 = await subscribedSocket(t, s.wsUrl, ['orders'], KEYS.M2);
  const m3 = await subscribedSocket(t, s.wsUrl, ['orders'], KEYS.M3);

  const sellToM3 = await propose('M1', { accountId: 'M1-C1', side: 'sell', price: '57.46', counterpartyAccountId: 'M3-C1' });
  const buyFromM1 = await propose('M3', { accountId: 'M3-C1', side: 'buy', price: '57.00', counterpartyAccountId: 'M1-C1' });
  const sellToM2 = await propose('M1', { accountId: 'M1-C1', side: 'sell', price: '57.40', counterpartyAccountId: 'M2-C1' });

  // A cap below what M3-C1 would then hold withdraws its buy proposal; no buying withdraws the one it would confirm.
  expectOk(t, await s.api('PUT', '/v1/risk/position-caps', { key: 'risk', body: { symbol: 'CEA24', accountId: 'M3-C1', maxQuantity: 200_000, reason: 'block cap' } }), 200);
  expectOk(t, await s.api('PATCH', '/v1/risk/accounts/M3-C1', { key: 'risk', body: { restriction: 'no_buy', reason: 'under review' } }), 200);
  expectOk(t, await s.api('POST', '/v1/risk/accounts/M2-C1/cancel-all', { key: 'risk', body: { reason: 'desk closed' } }), 200);

  const mine = { [buyFromM1]: 'position_cap', [sellToM3]: 'account_restricted' };
  const masked = { [buyFromM1]: 'cancelled_by_exchange', [sellToM3]: 'cancelled_by_exchange', [sellToM2]: 'cancelled_by_exchange' };
  t.same(await reasons('M3'), mine, 'M3 reads the controls on its account');
  t.same(await reasons('M1'), masked, 'M1, the other party, reads cancelled_by_exchange for each');
  t.same(await reasons('M2'), { [sellToM2]: 'cancelled_by_risk' }, 'M2 reads the cancel-all on its account');

  // The same on each member's orders channel: the last message of each block.
  const lastReasons = async (c: { next: (p: (m: WsMessage) => boolean) => Promise<WsMessage>; on: (ch: string) => WsMessage[] }, ids: string[]) => {
    for (const id of ids) await c.next((m) => m.block?.blockId === id && m.block.status === 'withdrawn');
    const out: Record<string, string | null> = {};
    for (const m of c.on('orders')) if (m.block !== undefined && ids.includes(m.block.blockId)) out[m.block.blockId] = m.block.reason;
    return out;
  };
  t.same(await lastReasons(m3, [sellToM3, buyFromM1]), mine, 'M3\'s execution reports');
  t.same(await lastReasons(m1, [sellToM3, buyFromM1, sellToM2]), masked, 'M1\'s execution reports');
  t.same(await lastReasons(m2, [sellToM2]), { [sellToM2]: 'cancelled_by_risk' }, 'M2\'s execution reports');
  const leaked = [...m1.messages, ...m2.messages].filter((m) => m.block !== undefined && m.block.blockId !== sellToM2 && /account_restricted|position_cap/.test(JSON.stringify(m)));
  t.same(leaked, [], 'no message to M1 or M2 names M3-C1\'s controls');

  // The closed day reads the same.
  const eod = await s.api('POST', '/v1/admin/end-of-day', { key: 'operator', body: {} });
  expectOk(t, eod, 200);
  const day = eod.body.date as string;
  t.same(await reasons('M1', day), masked, 'M1 reading the closed day');
  t.same(await reasons('M3', day), mine, 'M3 reading the closed day');
  t.same(await reasons('M2', day), { [sellToM2]: 'cancelled_by_risk' }, 'M2 reading the closed day');
});
