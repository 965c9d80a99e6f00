// The open orders by id. Ids are handed out in rising order and most orders live briefly, so an
// array indexed by (id − base) beats a hash map here: no hashing, no table rebuilds as orders come
// and go. Whenever no order is open the array starts again from the next id, which keeps it as
// long as the span of ids open at once (a trading day at most: the end of day expires them all).
import type { Order } from './order.ts';

export class OpenOrders {
  private slots: (Order | undefined)[] = [];
  /** The id held by slots[0]. */
  private base = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): Order | undefined {
    const i = id - this.base;
    return i >= 0 && i < this.slots.length ? this.slots[i] : undefined;
  }

  add(order: Order): void {
    if (this.count === 0) {
      this.slots.length = 0;
      this.base = order.id;
    } else if (order.id < this.base) {
      // Only a restore adds ids out of order (it adds in book priority).
      this.slots = [...new Array<Order | undefined>(this.base - order.id), ...this.slots];
      this.base = order.id;
    }
    const i = order.id - this.base;
    while (this.slots.length < i) this.slots.push(undefined);
    if (i === this.slots.length) this.slots.push(order);
    else {
      if (this.slots[i] !== undefined) throw new Error(`order ${order.id} is open already`);
      this.slots[i] = order;
    }
    this.count++;
  }

  /** Takes the order out; false when it was not open. */
  delete(id: number): boolean {
    const i = id - this.base;
    if (!(i >= 0 && i < this.slots.length) || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    this.count--;
    return true;
  }

  /** Every open order, in id order. */
  values(): Order[] {
    const out: Order[] = [];
    for (const o of this.slots) if (o !== undefined) out.push(o);
    return out;
  }
}
