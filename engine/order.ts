// An order as the engine holds it. Resting orders are linked into their price level's FIFO queue
// through `prev`/`next` (an intrusive list), so cancelling one is O(1) once it is found by id.
import type { Account, Position } from './account.ts';
import type { Instrument } from './instrument.ts';

export const BUY = 0;
export const SELL = 1;
export type Side = typeof BUY | typeof SELL;

export type OrderType = 'limit' | 'market' | 'pick';
export type TimeInForce = 'DAY' | 'IOC' | 'FOK';
export type OrderStatus = 'new' | 'partially_filled' | 'filled' | 'cancelled' | 'expired';

export class Order {
  prev: Order | null = null;
  next: Order | null = null;
  /** True while the order sits in a book queue. */
  resting = false;
  /** The book's own index of the order's price level while it rests (LadderBook: the ladder slot). */
  slot = -1;
  filled = 0;
  /** Sum of price × quantity over the fills, for the average price. */
  filledNotional = 0;
  /** A buy's cash reservation still held (notional at its limit plus the fee reserve); 0 for sells. */
  frozenCash = 0;
  status: OrderStatus = 'new';
  /** Why it ended, when it was cancelled or expired by the exchange rather than the member. */
  reason: string | null = null;
  constructor(
    public readonly id: number,
    public readonly account: Account,
    public readonly position: Position,
    public readonly instrument: Instrument,
    public readonly side: Side,
    public readonly type: OrderType,
    /** Limit price in fen; for a market order, the deepest price it may reach. */
    public price: number,
    public quantity: number,
    public readonly tif: TimeInForce,
    public readonly clientOrderId: string | null,
    /** Sequence number and stamped time of the command that placed (or last re-queued) it. */
    public seq: number,
    public time: number,
  ) {}

  get remaining(): number {
    return this.quantity - this.filled;
  }

  get isOpen(): boolean {
    return this.status === 'new' || this.status === 'partially_filled';
  }
}

export function sideName(side: Side): 'buy' | 'sell' {
  return side === BUY ? 'buy' : 'sell';
}
