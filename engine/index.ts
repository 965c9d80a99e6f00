// The engine's public surface: what persistence, the gateway, the benchmarks and the tests use.
export { Engine, describeOrder, TEXT_LIMITS, type Accepted, type EngineOptions, type Result } from './engine.ts';
export { snapshot, snapshotWithHash, restore, stateHash, SNAPSHOT_VERSION, type EngineSnapshot } from './snapshot.ts';
export { LadderBook, ladderBook, type Book, type BookFactory, type DepthLevel } from './book.ts';
export { ReferenceBook, referenceBook } from './referenceBook.ts';
export { REJECT_CODES, httpStatusOf, type RejectCode, type Rejection } from './errors.ts';
export * from './commands.ts';
export * from './events.ts';
export * from './money.ts';
export * from './profile.ts';
export * from './calendar.ts';
export { BUY, SELL, Order, type Side, type OrderStatus, type OrderType, type TimeInForce } from './order.ts';
export { Account, Position, RESTRICTIONS, type Restriction, type LargeHolderStatus } from './account.ts';
export { Instrument, DayStats, type InstrumentStatus } from './instrument.ts';
export { BlockDesk, Block, noSuchBlock } from './blockTrades.ts';
export { endOfDay, closeOf, firstTradingDay } from './endOfDay.ts';
export * from './settlement.ts';
export * from './klines.ts';
