// Risk-officer controls and who may do what, MARKET-RULES sections 1 and 8: account restrictions,
// instrument and market halts, cancel-all, the role of each command, member ownership of accounts,
// and venue admission.
import t from 'tap';
import { restore, snapshot, validateProfile, type Command, type Result, type VenueProfile } from '../../engine/index.ts';
import { Harness, fen, loadProfile, ok, ordersOf } from '../support/harness.ts';
import { expectReject, funds, hubei, national, position, voluntary } from './fixtures.ts';
import { blockIdOf, propose } from '../support/day.ts';

const CASH = fen('1000000.00');
const id = (r: Result) => ok(r).orderId as number;

/** CEA24 and CEA25 at 57.46; A1-A has cash and 1,000 t of each; S1-A sells, B1-A buys. */
function market(): Harness {
  const h = new Harness({ tradingDate: '2026-11-20' });
  h.list(national(), 'CEA24', '57.46');
  h.list(national(), 'CEA25', '57.46');
  h.open('A1-A', { cash: '1000000.00', holdings: { CEA24: 1000, CEA25: 1000 } });
  h.open('S1-A', { holdings: { CEA24: 1000, CEA25: 1000 } });
  h.open('B1-A', { cash: '1000000.00' });
  return h;
}

const order = (symbol: string, side: 'buy' | 'sell', price: string, quantity: number) => ({ symbol, side, price, quantity });
const restrict = (h: Harness, restriction: 'none' | 'no_buy' | 'no_sell' | 'frozen', reason = 'margin call') =>
  h.risk({ type: 'restrictAccount', accountId: 'A1-A', restriction, reason });

t.test('account restrictions', async (t) => {
  t.test('no_buy refuses buys and lets the account sell', async (t) => {
    const h = market();
    const r = ok(restrict(h, 'no_buy'));
    t.match(r.events, [{ type: 'account', change: 'restriction', accountId: 'A1-A', restriction: 'no_buy', reason: 'margin call' }]);
    const refused = expectReject(t, h, () => h.order('A1-A', order('CEA24', 'buy', '57.00', 10)), 'ACCOUNT_RESTRICTED', 'no_buy');
    t.notMatch(refused?.message, 'margin call', "the message does not tell the member the officer's reason (the audit trail keeps it)");
    expectReject(t, h, () => h.order('A1-A', { symbol: 'CEA24', side: 'buy', type: 'market', quantity: 10 }), 'ACCOUNT_RESTRICTED');
    ok(h.order('A1-A', order('CEA24', 'sell', '58.00', 10)));
  });

  t.test('no_sell refuses sells and lets the account buy', async (t) => {
    const h = market();
    ok(restrict(h, 'no_sell'));
    expectReject(t, h, () => h.order('A1-A', order('CEA24', 'sell', '58.00', 10)), 'ACCOUNT_RESTRICTED', 'no_sell');
    ok(h.order('A1-A', order('CEA24', 'buy', '57.00', 10)));
  });

  t.test('frozen refuses trading and withdrawals, allows deposits, and ends the orders already resting', async (t) => {
    const h = market();
    const bid = id(h.order('A1-A', order('CEA24', 'buy', '57.00', 100)));
    const ask = id(h.order('A1-A', order('CEA25', 'sell', '58.00', 40)));
    const r = ok(restrict(h, 'frozen', 'court order'));
    t.same(ordersOf(r.events).map((e) => [e.orderId, e.status, e.reason]), [[bid, 'cancelled', 'account_restricted'], [ask, 'cancelled', 'account_restricted']],
      'both resting orders are cancelled by the freeze');
    t.same(funds(h, 'A1-A'), { cash: CASH, cashFrozen: 0 }, 'the bid\'s reserve is released');
    t.same(position(h, 'A1-A', 'CEA25'), { available: 1000, frozen: 0, pending: 0, openBuy: 0 }, 'the ask\'s tonnes are released');
    t.same(h.engine.ordersOf('A1-A'), []);
    ok(h.order('S1-A', order('CEA24', 'sell', '57.00', 10)));
    t.same(funds(h, 'A1-A'), { cash: CASH, cashFrozen: 0 }, 'a sell at the old bid\'s price finds nothing of the frozen account');
    expectReject(t, h, () => h.order('A1-A', order('CEA24', 'buy', '57.00', 10)), 'ACCOUNT_RESTRICTED', 'frozen');
    const sellRefused = expectReject(t, h, () => h.order('A1-A', order('CEA25', 'sell', '58.00', 10)), 'ACCOUNT_RESTRICTED', 'frozen');
    t.notMatch(sellRefused?.message, 'court order', "the officer's reason is not told to the member");
    expectReject(t, h, () => h.modify('A1-A', bid, { quantity: 60 }), 'ORDER_NOT_OPEN');
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'A1-A', cash: 100 }), 'ACCOUNT_RESTRICTED');
    expectReject(t, h, () => h.operator({ type: 'withdraw', accountId: 'A1-A', symbol: 'CEA24', quantity: 1 }), 'ACCOUNT_RESTRICTED');
    ok(h.operator({ type: 'deposit', accountId: 'A1-A', cash: 100 }));
    t.same(funds(h, 'A1-A'), { cash: CASH + 100, cashFrozen: 0 });
  });

  t.test('no_buy ends resting buys and block proposals to buy; sells rest on and trade', async (t) => {
    const h = market();
    h.open('A2-A', { cash: '20000000.00', holdings: { CEA24: 200_000 } });
    const bid = id(h.order('A2-A', order('CEA24', 'buy', '57.00', 100)));
    const ask = id(h.order('A2-A', order('CEA24', 'sell', '58.00', 100)));
    const buyBlock = blockIdOf(propose(h, 'A2-A', { side: 'buy', price: '57.00', quantity: 100_000 }));
    const sellBlock = blockIdOf(propose(h, 'A2-A', { side: 'sell', price: '58.00', quantity: 100_000, to: 'B1-A' }));
    const r = ok(h.risk({ type: 'restrictAccount', accountId: 'A2-A', restriction: 'no_buy', reason: 'margin call' }));
    t.same(ordersOf(r.events).map((e) => [e.orderId, e.status, e.reason]), [[bid, 'cancelled', 'account_restricted']]);
    t.match(r.events.filter((e) => e.type === 'block'), [{ blockId: buyBlock, status: 'withdrawn', reason: 'account_restricted' }]);
    t.same(funds(h, 'A2-A'), { cash: fen('20000000.00'), cashFrozen: 0 }, 'the bid\'s and the buy proposal\'s cash are released');
    t.match(h.engine.order(ask), { status: 'new' }, 'the ask rests on');
    t.ok(h.engine.blocks.visibleTo(null).some((b) => b.id === sellBlock), 'the proposal to sell stays open');
    const take = ok(h.order('B1-A', order('CEA24', 'buy', '58.00', 30)));
    t.match(take.events.filter((e) => e.type === 'trade'), [{ quantity: 30, price: 5800 }], 'a buyer takes the ask');
  });

  t.test('no_sell ends resting sells only', async (t) => {
    const h = market();
    const bid = id(h.order('A1-A', order('CEA24', 'buy', '57.00', 100)));
    const ask = id(h.order('A1-A', order('CEA24', 'sell', '58.00', 100)));
    const r = ok(restrict(h, 'no_sell'));
    t.same(ordersOf(r.events).map((e) => [e.orderId, e.reason]), [[ask, 'account_restricted']]);
    t.match(h.engine.order(bid), { status: 'new' });
    t.same(position(h, 'A1-A', 'CEA24'), { available: 1000, frozen: 0, pending: 0, openBuy: 100 });
  });

  t.test('none lifts the restriction', async (t) => {
    const h = market();
    ok(restrict(h, 'frozen'));
    const r = ok(restrict(h, 'none', 'resolved'));
    t.match(r.events, [{ type: 'account', change: 'restriction', restriction: 'none', reason: 'resolved' }]);
    ok(h.order('A1-A', order('CEA24', 'buy', '57.00', 10)));
    ok(h.order('A1-A', order('CEA24', 'sell', '58.00', 10)));
  });

  t.test('a restriction needs a known account, a known restriction and a reason', async (t) => {
    const h = market();
    expectReject(t, h, () => h.risk({ type: 'restrictAccount', accountId: 'A1-A', restriction: 'no_trade' as 'frozen', reason: 'x' }), 'INVALID_COMMAND', 'no_buy');
    expectReject(t, h, () => h.risk({ type: 'restrictAccount', accountId: 'A1-A', restriction: 'frozen', reason: '' }), 'INVALID_COMMAND', 'reason');
    expectReject(t, h, () => h.risk({ type: 'restrictAccount', accountId: 'NOBODY', restriction: 'frozen', reason: 'x' }), 'UNKNOWN_ACCOUNT');
  });
});

t.test('halts', async (t) => {
  t.test('a halted instrument refuses orders until it is resumed; its book waits', async (t) => {
    const h = market();
    const bid = id(h.order('B1-A', order('CEA24', 'buy', '57.00', 100)));
    const halt = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', status: 'halted', reason: 'technical fault' }));
    t.match(halt.events, [{ type: 'instrument', symbol: 'CEA24', status: 'halted', reason: 'technical fault' }]);
    t.equal(halt.events.length, 1, 'a halt cancels nothing');
    expectReject(t, h, () => h.order('S1-A', order('CEA24', 'sell', '57.00', 100)), 'INSTRUMENT_HALTED', 'technical fault');
    expectReject(t, h, () => h.order('S1-A', { symbol: 'CEA24', side: 'sell', type: 'market', quantity: 10 }), 'INSTRUMENT_HALTED');
    expectReject(t, h, () => h.order('S1-A', { symbol: 'CEA24', side: 'sell', type: 'pick', targetOrderId: bid, quantity: 10 }), 'INSTRUMENT_HALTED');
    expectReject(t, h, () => h.modify('B1-A', bid, { price: '57.10' }), 'INSTRUMENT_HALTED');
    ok(h.order('S1-A', order('CEA25', 'sell', '58.00', 10)));
    const resume = ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', status: 'trading', reason: 'fixed' }));
    t.match(resume.events, [{ type: 'instrument', status: 'trading' }]);
    const r = ok(h.order('S1-A', order('CEA24', 'sell', '57.00', 100)));
    t.match(r.events.filter((e) => e.type === 'trade'), [{ buyOrderId: bid, quantity: 100, price: 5700 }]);
  });

  t.test('a member may cancel during a halt', async (t) => {
    const h = market();
    const bid = id(h.order('B1-A', order('CEA24', 'buy', '57.00', 100)));
    const ask = id(h.order('S1-A', order('CEA25', 'sell', '58.00', 100)));
    ok(h.risk({ type: 'setInstrument', symbol: 'CEA24', status: 'halted', reason: 'technical fault' }));
    ok(h.cancel('B1-A', bid));
    ok(h.risk({ type: 'haltMarket', reason: 'exchange outage' }));
    ok(h.cancel('S1-A', ask));
    t.same(funds(h, 'B1-A'), { cash: CASH, cashFrozen: 0 });
    t.same(position(h, 'S1-A', 'CEA25'), { available: 1000, frozen: 0, pending: 0, openBuy: 0 });
  });

  t.test('a market halt refuses orders on every instrument until it is resumed', async (t) => {
    const h = market();
    const bid = id(h.order('B1-A', order('CEA25', 'buy', '57.00', 100)));
    const halt = ok(h.risk({ type: 'haltMarket', reason: 'exchange outage' }));
    t.same(halt.events.map((e) => ({ ...e })), [{ type: 'market', seq: h.seq, time: h.time, status: 'halted', reason: 'exchange outage' }]);
    expectReject(t, h, () => h.order('A1-A', order('CEA24', 'buy', '57.00', 10)), 'MARKET_HALTED', 'exchange outage');
    expectReject(t, h, () => h.order('A1-A', order('CEA25', 'sell', '58.00', 10)), 'MARKET_HALTED');
    ok(h.cancel('B1-A', bid));
    expectReject(t, h, () => h.risk({ type: 'resumeMarket', reason: '' }), 'INVALID_COMMAND');
    const resume = ok(h.risk({ type: 'resumeMarket', reason: 'restored' }));
    t.match(resume.events, [{ type: 'market', status: 'trading', reason: 'restored' }]);
    ok(h.order('A1-A', order('CEA24', 'buy', '57.00', 10)));
  });
});

t.test('cancel all', async (t) => {
  t.test('cancels every open order of the account, releases what they froze, and touches no one else', async (t) => {
    const h = market();
    const bid24 = id(h.order('A1-A', order('CEA24', 'buy', '57.00', 100)));
    const bid25 = id(h.order('A1-A', order('CEA25', 'buy', '57.00', 50)));
    const ask24 = id(h.order('A1-A', order('CEA24', 'sell', '58.00', 200)));
    ok(h.order('S1-A', order('CEA24', 'sell', '57.00', 30)));
    const other = id(h.order('B1-A', order('CEA24', 'buy', '56.00', 10)));
    t.same(funds(h, 'A1-A'), { cash: CASH - 570_000 - 285_000, cashFrozen: 570_000 - 171_000 + 285_000 });

    const r = ok(h.risk({ type: 'cancelAll', accountId: 'A1-A', reason: 'member in default' }));
    const cancelled = ordersOf(r.events);
    t.same(cancelled.map((e) => e.orderId).sort((a, b) => a - b), [bid24, bid25, ask24]);
    t.ok(cancelled.every((e) => e.status === 'cancelled' && e.reason === 'cancelled_by_risk'), 'each is cancelled_by_risk');
    t.match(cancelled.find((e) => e.orderId === bid24), { filled: 30 }, 'what had filled stays filled');
    t.same(h.engine.ordersOf('A1-A'), []);
    t.same(funds(h, 'A1-A'), { cash: CASH - 171_000, cashFrozen: 0 });
    t.same(position(h, 'A1-A', 'CEA24'), { available: 1000, frozen: 0, pending: 30, openBuy: 0 });
    t.same(position(h, 'A1-A', 'CEA25'), { available: 1000, frozen: 0, pending: 0, openBuy: 0 });
    t.match(h.engine.order(other), { status: 'new' });
  });

  t.test('with no open orders it changes nothing', async (t) => {
    const h = market();
    const r = ok(h.risk({ type: 'cancelAll', accountId: 'A1-A', reason: 'precaution' }));
    t.same(r.events, []);
  });

  t.test('needs a risk officer, a known account and a reason', async (t) => {
    const h = market();
    expectReject(t, h, () => h.member('A1', { type: 'cancelAll', accountId: 'A1-A', reason: 'x' }), 'NOT_PERMITTED');
    expectReject(t, h, () => h.risk({ type: 'cancelAll', accountId: 'NOBODY', reason: 'x' }), 'UNKNOWN_ACCOUNT');
    expectReject(t, h, () => h.risk({ type: 'cancelAll', accountId: 'A1-A', reason: ' ' }), 'INVALID_COMMAND');
  });
});

t.test('roles', async (t) => {
  t.test('a member cannot set bands, halt or move money; operators and risk officers cannot trade', async (t) => {
    const h = market();
    const r = expectReject(t, h, () => h.member('A1', { type: 'setInstrument', symbol: 'CEA24', listedBandPct: '5', reason: 'x' }), 'NOT_PERMITTED', 'risk');
    t.match(r?.message, 'member');
    expectReject(t, h, () => h.member('A1', { type: 'haltMarket', reason: 'x' }), 'NOT_PERMITTED');
    expectReject(t, h, () => h.member('A1', { type: 'deposit', accountId: 'A1-A', cash: 100 }), 'NOT_PERMITTED');
    expectReject(t, h, () => h.member('A1', { type: 'restrictAccount', accountId: 'B1-A', restriction: 'frozen', reason: 'x' }), 'NOT_PERMITTED');
    const place = { type: 'placeOrder', accountId: 'A1-A', symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5700, quantity: 10 } as const;
    expectReject(t, h, () => h.operator(place), 'NOT_PERMITTED', 'member');
    expectReject(t, h, () => h.risk(place), 'NOT_PERMITTED', 'member');
    expectReject(t, h, () => h.risk({ type: 'createAccount', accountId: 'Z1-A', member: 'Z1', accountClass: 'institution' }), 'NOT_PERMITTED', 'operator');
    expectReject(t, h, () => h.run({ role: 'auditor' as 'risk', id: 'x' }, { type: 'haltMarket', reason: 'x' }), 'NOT_PERMITTED');
    expectReject(t, h, () => h.engine.apply({ type: 'haltMarket', reason: 'x', seq: ++h.seq, time: h.time } as unknown as Command), 'NOT_PERMITTED', 'anonymous');
  });

  t.test('a member trades only its own accounts, and may have several', async (t) => {
    const h = market();
    const place = (accountId: string) => ({ type: 'placeOrder', accountId, symbol: 'CEA24', side: 'buy', orderType: 'limit', price: 5700, quantity: 10 } as const);
    expectReject(t, h, () => h.member('B1', place('A1-A')), 'ACCOUNT_NOT_OWNED', 'A1-A');
    h.open('A1-B', { cash: '1000.00' });
    ok(h.member('A1', place('A1-A')));
    ok(h.member('A1', place('A1-B')));
    expectReject(t, h, () => h.member('A1', place('NOBODY')), 'UNKNOWN_ACCOUNT');
  });

  t.test('account and instrument set-up by an operator is checked', async (t) => {
    const h = market();
    expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'A1-A', member: 'A1', accountClass: 'institution' }), 'ACCOUNT_EXISTS');
    expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'Z1-A', member: 'Z1', accountClass: 'institution', allocation: 100 }), 'INVALID_COMMAND', 'compliance');
    expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'Z1-A', member: 'Z1', accountClass: 'fund' as 'institution' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'Z1-A', member: 'Z1', accountClass: 'institution', venues: [] }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'createAccount', accountId: 'has space', member: 'Z1', accountClass: 'institution' }), 'INVALID_COMMAND');
    expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'CEA24', profile: national(), listingPrice: 5746 }), 'INSTRUMENT_EXISTS');
    expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'CEA23', profile: { ...national(), tick: 'abc' }, listingPrice: 5746 }), 'INVALID_COMMAND', 'tick');
    expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'CEA23', profile: national(), listingPrice: 0 }), 'INVALID_PRICE');
    expectReject(t, h, () => h.operator({ type: 'listInstrument', symbol: 'CEA23', profile: loadProfile('cea', { tick: '0.05' }), listingPrice: 5746 }), 'INVALID_PRICE', '0.05');
  });

  t.test('listings taken before the strict profile checks replay as they were acknowledged', async (t) => {
    // A symbol listed twice in the profile and a trade mode left out of its sessions are refused in
    // a markets file and over HTTP (strict), but a journalled listing made before that refusal, and
    // a snapshot holding it, must replay to what was acknowledged.
    const h = market();
    const partial = national() as unknown as { sessions: Record<string, unknown>; instruments: { symbol: string }[] };
    delete partial.sessions.auction;
    partial.instruments.push({ ...partial.instruments[0] });
    t.throws(() => validateProfile(partial, 'profile', true), /sessions\.auction: is missing|a second time/, 'strict: refused');
    ok(h.operator({ type: 'listInstrument', symbol: 'CEA23', profile: partial as unknown as VenueProfile, listingPrice: 5746 }));
    t.same(h.engine.instrument('CEA23')?.profile.source.sessions.auction, [], 'the mode left out has no session, as before');
    t.equal(restore(JSON.parse(JSON.stringify(snapshot(h.engine)))).instrument('CEA23')?.symbol, 'CEA23', 'and a snapshot holding it restores');
  });
});

t.test('venue admission', async (t) => {
  t.test('an account trades only on the venues it is admitted to', async (t) => {
    const h = market();
    h.list(hubei(), 'HBEA', '40.67');
    h.open('H1-A', { cash: '100000.00', venues: ['HBEA'] });
    expectReject(t, h, () => h.order('H1-A', order('CEA24', 'buy', '57.00', 10)), 'VENUE_NOT_ADMITTED', 'CEA');
    ok(h.order('H1-A', order('HBEA', 'buy', '40.67', 10)));
    ok(h.order('B1-A', order('HBEA', 'buy', '40.67', 10))); // no venue list: every venue that admits its class
  });

  t.test('an individual is not admitted to a venue without individuals', async (t) => {
    const h = market();
    h.list(voluntary(), 'CCER', '80.00');
    h.open('I1-A', { accountClass: 'individual', cash: '100000.00' });
    h.open('N1-A', { cash: '100000.00' });
    expectReject(t, h, () => h.order('I1-A', order('CCER', 'buy', '80.00', 10)), 'VENUE_NOT_ADMITTED', 'individual');
    ok(h.order('N1-A', order('CCER', 'buy', '80.00', 10)));
    ok(h.order('I1-A', order('CEA24', 'buy', '57.00', 10)));
  });

  t.test('an account is not opened for a venue that does not take its class, nor given tonnes it could never trade', async (t) => {
    const h = market();
    h.list(voluntary(), 'CCER', '80.00');
    const create = (accountId: string, accountClass: 'individual' | 'institution', venues: string[]) =>
      h.operator({ type: 'createAccount', accountId, member: 'I1', accountClass, venues });
    expectReject(t, h, () => create('I1-A', 'individual', ['CCER']), 'VENUE_NOT_ADMITTED', 'CCER does not admit individual accounts (it admits compliance, institution)');
    expectReject(t, h, () => create('I1-A', 'individual', ['CEA', 'CCER']), 'VENUE_NOT_ADMITTED');
    t.equal(h.engine.account('I1-A'), undefined, 'no account was opened');
    ok(create('I1-A', 'individual', ['CEA']));
    ok(create('I1-B', 'institution', ['CCER']));
    // Tonnes go only where they can be sold; taking them out is always possible.
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'I1-A', symbol: 'CCER', quantity: 10 }), 'VENUE_NOT_ADMITTED', 'it could never trade CCER');
    expectReject(t, h, () => h.operator({ type: 'deposit', accountId: 'I1-B', symbol: 'CEA24', quantity: 10 }), 'VENUE_NOT_ADMITTED', 'account I1-B (institution) is not admitted to CEA');
    ok(h.operator({ type: 'deposit', accountId: 'I1-A', symbol: 'CEA24', quantity: 10 }));
    ok(h.operator({ type: 'deposit', accountId: 'I1-B', symbol: 'CCER', quantity: 10 }));
    ok(h.operator({ type: 'withdraw', accountId: 'I1-B', symbol: 'CCER', quantity: 10 }));
  });

  t.test('the checks of today are made when asked for; a command journaled before them replays as it was taken', async (t) => {
    const h = market();
    const create = (accountId: string, strict?: boolean) =>
      h.operator({ type: 'createAccount', accountId, member: 'I1', accountClass: 'institution', venues: ['CEA', 'SHEA'], strict });
    expectReject(t, h, () => create('I1-A', true), 'UNKNOWN_VENUE', 'no instrument is listed on venue SHEA; the venues are CEA');
    t.equal(h.engine.account('I1-A'), undefined);
    ok(create('I1-B'));
    t.ok(h.engine.account('I1-B'), 'without strict, as an account journaled before the check: taken');
    const listing = (symbol: string, strict?: boolean) => h.operator({
      type: 'listInstrument', symbol, name: 'Hubei, again', listingPrice: 4000, strict, profile: { ...hubei(), instruments: [...hubei().instruments, hubei().instruments[0]] },
    });
    expectReject(t, h, () => listing('HB-A', true), 'INVALID_COMMAND', 'lists HBEA a second time');
    ok(listing('HB-B'));
  });

  t.test('one instrument listed for some classes only does not shut the others out of its venue', async (t) => {
    const h = market();
    h.list(hubei(), 'HBEA', '40.67');
    // A second Hubei instrument for compliance accounts only.
    h.list({ ...hubei(), instruments: [{ symbol: 'HBX', name: 'Hubei X', vintage: null }], admittedClasses: ['compliance'] }, 'HBX', '40.67');
    ok(h.operator({ type: 'createAccount', accountId: 'I2-A', member: 'I2', accountClass: 'individual', venues: ['HBEA'] }));
    ok(h.operator({ type: 'deposit', accountId: 'I2-A', cash: 1_000_000 }));
    ok(h.order('I2-A', order('HBEA', 'buy', '40.67', 10)));
    expectReject(t, h, () => h.order('I2-A', order('HBX', 'buy', '40.67', 10)), 'VENUE_NOT_ADMITTED', 'individual');
  });

  t.test('admission holds for every instrument, however many are listed, and is answered the same each time', async (t) => {
    const h = market();
    // Forty Hubei instruments: the account keeps the first instruments' answers as bits and the
    // rest apart, and both must be right, the first time and when remembered.
    const symbols: string[] = [];
    for (let i = 0; i < 40; i++) {
      const symbol = `HB${String(i).padStart(2, '0')}`;
      h.list({ ...hubei(), instruments: [{ symbol, name: `Hubei ${i}`, vintage: null }] }, symbol, '40.67');
      symbols.push(symbol);
    }
    h.open('H1-A', { cash: '10000000.00', venues: ['HBEA'] });
    h.open('C1-A', { cash: '10000000.00', venues: ['CEA'] });
    for (let round = 0; round < 2; round++) {
      for (const symbol of [...symbols, 'CEA24']) {
        const hubeiOne = symbol !== 'CEA24';
        ok(h.order(hubeiOne ? 'H1-A' : 'C1-A', order(symbol, 'buy', hubeiOne ? '40.67' : '57.00', 1)));
        expectReject(t, h, () => h.order(hubeiOne ? 'C1-A' : 'H1-A', order(symbol, 'buy', hubeiOne ? '40.67' : '57.00', 1)), 'VENUE_NOT_ADMITTED', hubeiOne ? 'HBEA' : 'CEA');
      }
    }
  });
});

t.test('a risk warning is published as an event and changes nothing else', async (t) => {
  const h = market();
  const hash = h.engine.stateHash();
  const r = ok(h.risk({ type: 'publishWarning', symbol: 'CEA24', text: 'CEA24 is near its upper band.' }));
  t.match(r.events, [{ type: 'warning', symbol: 'CEA24', text: 'CEA24 is near its upper band.' }]);
  t.equal(r.events.length, 1, 'one event');
  t.equal(r.events[0].seq, h.engine.lastSequence, 'stamped with the command\'s seq, which is its id');
  t.match(ok(h.risk({ type: 'publishWarning', symbol: null, text: 'The whole market.' })).events, [{ type: 'warning', symbol: null }], 'no symbol: about every instrument');
  t.match(ok(h.risk({ type: 'publishWarning', text: 'Symbol left out.' })).events, [{ type: 'warning', symbol: null }]);
  expectReject(t, h, () => h.member('A1', { type: 'publishWarning', text: 'not mine to say' }), 'NOT_PERMITTED');
  expectReject(t, h, () => h.operator({ type: 'publishWarning', text: 'not mine to say' }), 'NOT_PERMITTED');
  expectReject(t, h, () => h.risk({ type: 'publishWarning', symbol: 'CEA99', text: 'x' }), 'UNKNOWN_INSTRUMENT');
  for (const [text, says] of [
    ['', /is required \(1–2000 characters\)/], ['  ', /is blank/], ['x'.repeat(2001), /has 2001 characters; at most 2000/],
    ['😀'.repeat(2001), /has 2001 characters; at most 2000/], [42 as unknown as string, /is required/],
  ] as const) {
    expectReject(t, h, () => h.risk({ type: 'publishWarning', text }), 'INVALID_COMMAND', says);
  }
  // Characters are code points, as the gateway's schemas count them: 2,000 emoji (4,000 UTF-16 units) are taken.
  t.match(ok(h.risk({ type: 'publishWarning', text: '😀'.repeat(2000) })).events, [{ type: 'warning' }], '2,000 emoji are 2,000 characters');
  t.equal(h.engine.stateHash(), hash, 'the state hash is unchanged: a warning holds no state');
});
