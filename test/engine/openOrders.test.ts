// The engine's table of open orders by id, against a plain Map: pages made and dropped as orders
// come and go, ids added out of order (a restore), ids far beyond the rest, and ids that are not
// whole numbers.
import t from 'tap';
import fc from 'fast-check';
import { OpenOrders } from '../../engine/openOrders.ts';
import type { Order } from '../../engine/order.ts';

const order = (id: number): Order => ({ id }) as Order;

type Op = { kind: 'add' | 'delete' | 'get'; id: number };

/** Ids near a few anchors: dense runs, page edges (4096), 2^28 (the most the pages shift down for) and 2^32 beyond the others. */
const idArb = fc.oneof(
  fc.integer({ min: 1, max: 300 }),
  fc.integer({ min: 4000, max: 4200 }),
  fc.integer({ min: 20_000, max: 20_100 }),
  fc.integer({ min: 2 ** 28, max: 2 ** 28 + 50 }),
  fc.integer({ min: 2 ** 32, max: 2 ** 32 + 50 }),
);
const opArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom('add', 'add', 'delete', 'get'), id: idArb }) as fc.Arbitrary<Op>;

t.test('OpenOrders answers as a Map keyed by id would, whatever the order of ids', async (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
    const table = new OpenOrders();
    const model = new Map<number, Order>();
    for (const op of ops) {
      if (op.kind === 'add') {
        if (model.has(op.id)) continue; // adding an open id is a bug the table refuses (tested below)
        const o = order(op.id);
        table.add(o);
        model.set(op.id, o);
      } else if (op.kind === 'delete') {
        if (table.delete(op.id) !== model.delete(op.id)) return false;
      } else if (table.get(op.id) !== model.get(op.id)) {
        return false;
      }
      if (table.size !== model.size) return false;
    }
    const ids = table.values().map((o) => o.id);
    const expected = [...model.keys()].sort((a, b) => a - b);
    return ids.length === expected.length && ids.every((id, i) => id === expected[i]);
  }), { numRuns: 300 });
});

t.test('OpenOrders refuses to open an id twice and finds nothing at ids that are not whole numbers', async (t) => {
  const table = new OpenOrders();
  table.add(order(10));
  table.add(order(11));
  t.throws(() => table.add(order(10)), /open already/);
  for (const id of [10.5, 11.000001, -1, 0, Number.NaN, Infinity, 2 ** 53]) t.equal(table.get(id), undefined, String(id));
  t.equal(table.delete(10.5), false);
  t.equal(table.size, 2);
  t.equal(table.get(10)?.id, 10);
});

t.test('OpenOrders starts numbering again once no order is open', async (t) => {
  const table = new OpenOrders();
  table.add(order(1));
  table.add(order(5000));
  t.ok(table.delete(1));
  t.ok(table.delete(5000));
  t.equal(table.size, 0);
  table.add(order(9_000_000));
  t.equal(table.get(9_000_000)?.id, 9_000_000);
  t.same(table.values().map((o) => o.id), [9_000_000]);
});
