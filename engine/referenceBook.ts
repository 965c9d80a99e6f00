// A deliberately plain order book: per side, a sorted array of price levels, each an array of orders
// in arrival order. Nothing clever, so that it is easy to believe; the tests run the engine on this
// book and on LadderBook and require the same events and the same state hash.
import type { Book, BookFactory, DepthLevel } from './book.ts';
import { BUY, type Order, type Side } from './order.ts';

interface PlainLevel { price: number; orders: Order[] }

export class ReferenceBook implements Book {
  private readonly sides: [PlainLevel[], PlainLevel[]] = [[], []];

  constructor(private low: number, private high: number, private readonly tick: number) {}

  /** Best first: bids by descending price, asks by ascending price. */
  private better(side: Side, a: number, b: number): boolean {
    return side === BUY ? a > b : a < b;
  }

  add(order: Order): void {
    if (order.price < this.low || order.price > this.high || (order.price - this.low) % this.tick !== 0) {
      throw new Error(`price ${order.price} is outside the book's range or off the tick`);
    }
    const levels = this.sides[order.side];
    let k = 0;
    while (k < levels.length && this.better(order.side, levels[k].price, order.price)) k++;
    if (k === levels.length || levels[k].price !== order.price) levels.splice(k, 0, { price: order.price, orders: [] });
    levels[k].orders.push(order);
    order.resting = true;
  }

  remove(order: Order): void {
    const levels = this.sides[order.side];
    const k = levels.findIndex((l) => l.price === order.price);
    const at = levels[k].orders.indexOf(order);
    if (at < 0) throw new Error(`order ${order.id} is not in the book`);
    levels[k].orders.splice(at, 1);
    if (levels[k].orders.length === 0) levels.splice(k, 1);
    order.resting = false;
  }

  reduced(): void {
    // quantities are read from the orders themselves
  }

  best(side: Side): Order | null {
    return this.sides[side][0]?.orders[0] ?? null;
  }

  after(order: Order): Order | null {
    const all = this.ordersInPriority(order.side);
    return all[all.indexOf(order) + 1] ?? null;
  }

  deepestPrice(side: Side, levels: number): number | null {
    const best = this.sides[side].slice(0, levels);
    return best.length === 0 ? null : best[best.length - 1].price;
  }

  depth(side: Side, levels: number): DepthLevel[] {
    return this.sides[side].slice(0, levels).map((l) => [
      l.price,
      l.orders.reduce((sum, o) => sum + o.quantity - o.filled, 0),
      l.orders.length,
    ]);
  }

  ordersInPriority(side: Side): Order[] {
    return this.sides[side].flatMap((l) => l.orders);
  }

  setRange(low: number, high: number): void {
    this.low = low;
    this.high = high;
  }

  count(side: Side): number {
    return this.ordersInPriority(side).length;
  }
}

export const referenceBook: BookFactory = (low, high, tick) => new ReferenceBook(low, high, tick);
