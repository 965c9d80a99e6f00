// The open orders by id. Ids are handed out in rising order and most orders live briefly, so
// arrays indexed by id beat a hash map here: no hashing, no table rebuilds as orders come and go.
// The ids are cut into pages of 4096: a page is made when its first order opens and dropped when
// its last one ends (unless it is the newest), so a few orders resting all day keep only their own pages alive, and nothing
// is ever copied to grow. Whenever no order is open the numbering starts again from the next id.
import type { Order } from './order.ts';

const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** Moving the base down for an older id never grows the page list beyond this (2^28 ids). */
const MAX_SHIFTED_PAGES = 1 << 16;

class Page {
  readonly orders: (Order | undefined)[] = new Array<Order | undefined>(PAGE_SIZE).fill(undefined);
  count = 0;
}

export class OpenOrders {
  private pages: (Page | undefined)[] = [];
  /** The id held by the first slot of pages[0]. */
  private base = 0;
  private count = 0;
  /**
   * Orders whose id lies 2^32 or more past `base` (four billion orders placed while one order stays
   * open: not a day's trading, but kept correct rather than assumed away), or, in a restore, far
   * below it.
   */
  private readonly far = new Map<number, Order>();

  get size(): number {
    return this.count;
  }

  get(id: number): Order | undefined {
    const i = id - this.base;
    // (i >>> 0) === i holds exactly for whole numbers in [0, 2^32): anything else is not in the pages.
    if ((i >>> 0) !== i) return this.far.size === 0 ? undefined : this.far.get(id);
    const page = this.pages[i >>> PAGE_BITS];
    return page === undefined ? undefined : page.orders[i & PAGE_MASK];
  }

  add(order: Order): void {
    if (this.count === 0) {
      // Every page is empty; the newest one (which delete keeps) becomes page 0 rather than garbage.
      const spare = this.pages[this.pages.length - 1];
      this.pages.length = 0;
      if (spare !== undefined) this.pages.push(spare);
      this.base = order.id;
    }
    let i = order.id - this.base;
    if (i < 0 && this.pages.length + Math.ceil(-i / PAGE_SIZE) <= MAX_SHIFTED_PAGES) {
      // Only a restore adds ids out of order (it adds in book priority): move the base down by whole pages.
      const shift = Math.ceil(-i / PAGE_SIZE);
      this.pages = [...new Array<Page | undefined>(shift).fill(undefined), ...this.pages];
      this.base -= shift * PAGE_SIZE;
      i += shift * PAGE_SIZE;
    }
    if ((i >>> 0) !== i) {
      if (this.far.has(order.id)) throw new Error(`order ${order.id} is open already`);
      this.far.set(order.id, order);
      this.count++;
      return;
    }
    const p = i >>> PAGE_BITS;
    let page = this.pages[p];
    if (page === undefined) {
      while (this.pages.length < p) this.pages.push(undefined);
      page = new Page();
      this.pages[p] = page;
    }
    const slot = i & PAGE_MASK;
    if (page.orders[slot] !== undefined) throw new Error(`order ${order.id} is open already`);
    page.orders[slot] = order;
    page.count++;
    this.count++;
  }

  /** Takes the order out; false when it was not open. */
  delete(id: number): boolean {
    const i = id - this.base;
    if ((i >>> 0) !== i) {
      if (!this.far.delete(id)) return false;
      this.count--;
      return true;
    }
    const p = i >>> PAGE_BITS;
    const page = this.pages[p];
    if (page === undefined || page.orders[i & PAGE_MASK] === undefined) return false;
    page.orders[i & PAGE_MASK] = undefined;
    // An emptied page goes, unless it is the newest: new ids still land there.
    if (--page.count === 0 && p !== this.pages.length - 1) this.pages[p] = undefined;
    this.count--;
    return true;
  }

  /** Every open order, in id order. */
  values(): Order[] {
    const out: Order[] = [];
    for (const page of this.pages) {
      if (page === undefined) continue;
      for (const o of page.orders) if (o !== undefined) out.push(o);
    }
    if (this.far.size > 0) {
      out.push(...this.far.values());
      out.sort((a, b) => a.id - b.id);
    }
    return out;
  }
}
