// Reads the CSV command stream that shared/bench/gen-workload.mjs writes into compact typed arrays,
// so that a benchmark can build its engine's inputs from it without keeping a million strings alive.
//
// Columns: op,account,order,side,price,qty (see gen-workload.mjs). Empty numeric fields read as 0:
// every real account, order id, price and quantity in the stream is at least 1.
import { readFileSync } from 'node:fs';

/** Operation codes, in the order gen-workload.mjs documents them. */
export const OP = { N: 0, I: 1, F: 2, M: 3, C: 4, R: 5 } as const;
export type OpCode = (typeof OP)[keyof typeof OP];
export const OP_LETTERS = ['N', 'I', 'F', 'M', 'C', 'R'] as const;

export const BUY_SIDE = 0;
export const SELL_SIDE = 1;
export const NO_SIDE = 2;

export interface Workload {
  count: number;
  /** One of OP per command. */
  op: Uint8Array;
  /** 1..A for new orders; 0 for C and R, which name an order instead. */
  account: Int32Array;
  /** A new id for N/I/F/M; for C and R the id of an earlier order. */
  order: Int32Array;
  /** BUY_SIDE, SELL_SIDE, or NO_SIDE for C (R carries the moved order's side). */
  side: Uint8Array;
  /** Integer ticks of 0.01; 0 for M and C. */
  price: Int32Array;
  /** Whole tonnes; 0 for C and R. */
  qty: Int32Array;
  /** Largest account number and order id seen, to size lookup tables. */
  maxAccount: number;
  maxOrder: number;
}

const NEWLINE = 10;
const CR = 13;
const ZERO = 48;

/** Parses the decimal digits of text[from, to) as a non-negative integer; an empty field is 0. */
function intField(text: string, from: number, to: number, line: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) throw new Error(`workload line ${line}: "${text.slice(from, to)}" is not a whole number`);
    v = v * 10 + d;
  }
  return v;
}

/** Field f of a line whose commas (and end) are at `cuts`, as a number. */
function numberField(text: string, cuts: number[], f: number, line: number): number {
  return intField(text, cuts[f] + 1, cuts[f + 1], line);
}

/** Reads a workload CSV file (header line first). */
export function readWorkload(file: string): Workload {
  const text = readFileSync(file, 'latin1');
  // One command per line after the header; counting newlines sizes the arrays exactly.
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
  if (text.length > 0 && text.charCodeAt(text.length - 1) !== NEWLINE) lines++;
  const capacity = Math.max(0, lines - 1);
  const w: Workload = {
    count: 0,
    op: new Uint8Array(capacity),
    account: new Int32Array(capacity),
    order: new Int32Array(capacity),
    side: new Uint8Array(capacity),
    price: new Int32Array(capacity),
    qty: new Int32Array(capacity),
    maxAccount: 0,
    maxOrder: 0,
  };

  const header = text.indexOf('\n');
  if (header < 0 || !text.startsWith('op,account,order,side,price,qty')) {
    throw new Error(`${file} is not a workload: it must start with the header op,account,order,side,price,qty`);
  }
  let pos = header + 1;
  let line = 1;
  while (pos < text.length) {
    line++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let stop = end;
    if (stop > pos && text.charCodeAt(stop - 1) === CR) stop--;
    if (stop > pos) parseLine(text, pos, stop, line, w);
    pos = end + 1;
  }
  return w;
}

/** Parses one line text[from, to) into the next slot of `w`. */
function parseLine(text: string, from: number, to: number, line: number, w: Workload): void {
  // cuts[f] is the comma before field f (from - 1 for the first) and cuts[6] the line's end.
  const cuts = [from - 1, 0, 0, 0, 0, 0, to];
  for (let f = 1; f <= 5; f++) {
    const comma = text.indexOf(',', cuts[f - 1] + 1);
    if (comma < 0 || comma >= to) throw new Error(`workload line ${line}: expected 6 fields`);
    cuts[f] = comma;
  }
  const extra = text.indexOf(',', cuts[5] + 1);
  if (extra >= 0 && extra < to) throw new Error(`workload line ${line}: expected 6 fields`);
  const opText = text.slice(from, cuts[1]);
  const op: OpCode | undefined = Object.hasOwn(OP, opText) ? OP[opText as keyof typeof OP] : undefined;
  if (op === undefined) throw new Error(`workload line ${line}: unknown op "${opText}"`);
  const sideText = text.slice(cuts[3] + 1, cuts[4]);
  const side = sideText === 'B' ? BUY_SIDE : sideText === 'S' ? SELL_SIDE : sideText === '' ? NO_SIDE : -1;
  if (side < 0) throw new Error(`workload line ${line}: side must be B, S or empty, not "${sideText}"`);

  const k = w.count++;
  w.op[k] = op;
  w.account[k] = numberField(text, cuts, 1, line);
  w.order[k] = numberField(text, cuts, 2, line);
  w.side[k] = side;
  w.price[k] = numberField(text, cuts, 4, line);
  w.qty[k] = numberField(text, cuts, 5, line);
  if (w.account[k] > w.maxAccount) w.maxAccount = w.account[k];
  if (w.order[k] > w.maxOrder) w.maxOrder = w.order[k];
}
