// The order book of one instrument: resting listed orders by side, price level and time.
// `LadderBook` is the fast one the engine runs: an array of levels indexed by price within the
// day's band, a bitmap of non-empty levels to find the next best price in a few word operations,
// and intrusive FIFO queues so that adding, cancelling and filling an order are O(1).
// `ReferenceBook` (referenceBook.ts) is a plain implementation of the same interface; the tests run
// the engine on both and require identical results.
import { BUY, SELL, type Order, type Side } from './order.ts';

export type DepthLevel = [price: number, quantity: number, orders: number];

export interface Book {
  /** Appends a resting order at the tail of its price level. */
  add(order: Order): void;
  /** Takes a resting order out of its level, wherever it stands in the queue. */
  remove(order: Order): void;
  /** Tells the book that a resting order's remaining quantity fell by `quantity` (it keeps its place). */
  reduced(order: Order, quantity: number): void;
  /** The order with priority on a side: the head of its best level. */
  best(side: Side): Order | null;
  /** The order right after `order` in priority on its side. */
  after(order: Order): Order | null;
  /** Price of the deepest of the best `levels` levels of a side (the last one there is), or null when the side is empty. */
  deepestPrice(side: Side, levels: number): number | null;
  /** The best `levels` levels of a side as [price, quantity, number of orders]. */
  depth(side: Side, levels: number): DepthLevel[];
  /** Every resting order of a side in priority order. */
  ordersInPriority(side: Side): Order[];
  /** Moves the book to a new price range; every resting order must already lie inside it. */
  setRange(low: number, high: number): void;
  /** Number of resting orders on a side. */
  count(side: Side): number;
}

export type BookFactory = (low: number, high: number, tick: number) => Book;

class Level {
  quantity = 0;
  orders = 0;
  head: Order | null = null;
  tail: Order | null = null;
  constructor(public readonly price: number) {}
}

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

export class LadderBook implements Book {
  private low = 0;
  private size = 0;
  private readonly levels: [Level[], Level[]] = [[], []];
  private readonly bits: [Uint32Array, Uint32Array] = [new Uint32Array(0), new Uint32Array(0)];
  /** Index of the best bid level (-1 when none) and of the best ask level (`size` when none). */
  private bestBid = -1;
  private bestAsk = 0;
  private readonly counts: [number, number] = [0, 0];

  constructor(low: number, high: number, private readonly tick: number) {
    this.allocate(low, high);
  }

  private allocate(low: number, high: number): void {
    this.low = low;
    this.size = Math.floor((high - low) / this.tick) + 1;
    for (const side of [BUY, SELL] as const) {
      const levels: Level[] = new Array(this.size);
      for (let i = 0; i < this.size; i++) levels[i] = new Level(low + i * this.tick);
      this.levels[side] = levels;
      this.bits[side] = new Uint32Array((this.size + 31) >>> 5);
    }
    this.bestBid = -1;
    this.bestAsk = this.size;
    this.counts[BUY] = this.counts[SELL] = 0;
  }

  private index(price: number): number {
    const i = (price - this.low) / this.tick;
    if (!(i >= 0 && i < this.size && i === Math.floor(i))) {
      throw new Error(`price ${price} is outside the book's range or off the tick`);
    }
    return i;
  }

  /** Highest non-empty level index ≤ from on a side, or -1. */
  private below(side: Side, from: number): number {
    const bits = this.bits[side];
    if (from < 0) return -1;
    let w = from >>> 5;
    let word = bits[w] & (0xffffffff >>> (31 - (from & 31)));
    for (;;) {
      if (word !== 0) return (w << 5) + 31 - Math.clz32(word);
      if (--w < 0) return -1;
      word = bits[w];
    }
  }

  /** Lowest non-empty level index ≥ from on a side, or `size`. */
  private above(side: Side, from: number): number {
    const bits = this.bits[side];
    if (from >= this.size) return this.size;
    let w = from >>> 5;
    let word = bits[w] & (0xffffffff << (from & 31));
    for (;;) {
      if (word !== 0) return (w << 5) + lowestBit(word);
      if (++w >= bits.length) return this.size;
      word = bits[w];
    }
  }

  add(order: Order): void {
    const side = order.side;
    const i = this.index(order.price);
    order.slot = i;
    const level = this.levels[side][i];
    order.prev = level.tail;
    order.next = null;
    if (level.tail) level.tail.next = order;
    else level.head = order;
    level.tail = order;
    level.quantity += order.quantity - order.filled;
    if (level.orders++ === 0) {
      this.bits[side][i >>> 5] |= 1 << (i & 31);
      if (side === BUY) { if (i > this.bestBid) this.bestBid = i; }
      else if (i < this.bestAsk) this.bestAsk = i;
    }
    order.resting = true;
    this.counts[side]++;
  }

  remove(order: Order): void {
    const side = order.side;
    const i = order.slot;
    const level = this.levels[side][i];
    if (order.prev) order.prev.next = order.next;
    else level.head = order.next;
    if (order.next) order.next.prev = order.prev;
    else level.tail = order.prev;
    order.prev = order.next = null;
    order.resting = false;
    level.quantity -= order.quantity - order.filled;
    this.counts[side]--;
    if (--level.orders === 0) {
      this.bits[side][i >>> 5] &= ~(1 << (i & 31));
      if (side === BUY) { if (i === this.bestBid) this.bestBid = this.below(BUY, i - 1); }
      else if (i === this.bestAsk) this.bestAsk = this.above(SELL, i + 1);
    }
  }

  reduced(order: Order, quantity: number): void {
    this.levels[order.side][order.slot].quantity -= quantity;
  }

  best(side: Side): Order | null {
    if (side === BUY) return this.bestBid >= 0 ? this.levels[BUY][this.bestBid].head : null;
    return this.bestAsk < this.size ? this.levels[SELL][this.bestAsk].head : null;
  }

  after(order: Order): Order | null {
    if (order.next) return order.next;
    const i = order.slot;
    if (order.side === BUY) {
      const j = this.below(BUY, i - 1);
      return j >= 0 ? this.levels[BUY][j].head : null;
    }
    const j = this.above(SELL, i + 1);
    return j < this.size ? this.levels[SELL][j].head : null;
  }

  deepestPrice(side: Side, levels: number): number | null {
    let i = side === BUY ? this.bestBid : this.bestAsk;
    let price: number | null = null;
    for (let r = 0; r < levels && i >= 0 && i < this.size; r++) {
      price = this.levels[side][i].price;
      i = side === BUY ? this.below(BUY, i - 1) : this.above(SELL, i + 1);
    }
    return price;
  }

  depth(side: Side, levels: number): DepthLevel[] {
    const out: DepthLevel[] = [];
    let i = side === BUY ? this.bestBid : this.bestAsk;
    while (out.length < levels && i >= 0 && i < this.size) {
      const level = this.levels[side][i];
      out.push([level.price, level.quantity, level.orders]);
      i = side === BUY ? this.below(BUY, i - 1) : this.above(SELL, i + 1);
    }
    return out;
  }

  ordersInPriority(side: Side): Order[] {
    const out: Order[] = [];
    for (let o = this.best(side); o; o = this.after(o)) out.push(o);
    return out;
  }

  setRange(low: number, high: number): void {
    const bids = this.ordersInPriority(BUY);
    const asks = this.ordersInPriority(SELL);
    this.allocate(low, high);
    for (const o of bids) this.add(o);
    for (const o of asks) this.add(o);
  }

  count(side: Side): number {
    return this.counts[side];
  }
}

export const ladderBook: BookFactory = (low, high, tick) => new LadderBook(low, high, tick);
