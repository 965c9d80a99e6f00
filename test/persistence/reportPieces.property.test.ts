// A settlement report is written in pieces of about a megabyte (a busy day's report is longer than
// the longest string V8 makes), and the pieces must make exactly the text one string would have:
// JSON.stringify(rows, null, 2) + '\n' for the JSON reports, the header and a line per row for the
// CSV ones. Checked for any rows, and for rows long enough to cross many piece boundaries; and a
// file written from pieces through writeDurably holds those bytes.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvCell, csvPieces, inPieces } from '../../engine/index.ts';
import { writeDurably } from '../../persistence/files.ts';
import { jsonPieces } from '../../persistence/settlementWriter.ts';

/** The CSV of rows as one string, as the reports were written before pieces (each cell by csvCell). */
const csvAsOne = (rows: Record<string, unknown>[], columns: string[]) =>
  [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';

/** A CSV cell's text, unquoted. */
const unquoted = (cell: string) => (cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell);

const row = fc.record({
  a: fc.string(), b: fc.oneof(fc.integer(), fc.constant(null), fc.string({ unit: 'grapheme' })),
  c: fc.array(fc.record({ x: fc.integer(), y: fc.string() }), { maxLength: 3 }), d: fc.boolean(),
});

t.test('JSON pieces make JSON.stringify(rows, null, 2) + a line break, byte for byte', async (t) => {
  fc.assert(fc.property(fc.array(row, { maxLength: 30 }), (rows) => [...jsonPieces(rows)].join('') === JSON.stringify(rows, null, 2) + '\n'), { numRuns: 300 });
  t.pass('300 lists of rows');
});

t.test('CSV pieces make the header and a line per row', async (t) => {
  const columns = ['a', 'b', 'd'];
  fc.assert(fc.property(fc.array(row, { maxLength: 30 }), (rows) => [...csvPieces(rows, columns as (keyof typeof rows[number] & string)[])].join('') === csvAsOne(rows, columns)), { numRuns: 300 });
  t.pass('300 lists of rows');
});

t.test('a CSV cell never starts a formula, keeps a number as it is, and is its text led at most by an apostrophe', async (t) => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('=1+2', '+1', '-1', '-12.50', '-', '@A1', '\t=1', '\r=1', "'=1", '-2+3', '- 1', '-1e5'),
    fc.tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r'), fc.string()).map(([a, b]) => a + b));
  fc.assert(fc.property(fc.oneof(text, fc.integer(), fc.constant(null)), (v) => {
    const given = v === null ? '' : String(v);
    const cell = unquoted(csvCell(v));
    const neutralised = cell !== given;
    if (neutralised && cell !== `'${given}`) return false;
    if (/^[=+@\t\r]/.test(cell)) return false;
    if (/^-/.test(cell) && !/^-\d+(\.\d+)?$/.test(cell)) return false;
    // A number (a negative one too) is never changed.
    return !(typeof v === 'number' || /^-?\d+(\.\d+)?$/.test(given)) || !neutralised;
  }), { numRuns: 2000 });
  t.equal(csvCell('-1234.50'), '-1234.50', 'a negative amount as it is');
  t.equal(csvCell('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"', 'led by an apostrophe, then quoted');
});

t.test('a report of many megabytes: many pieces, none much over a megabyte, the same text', async (t) => {
  const rows = Array.from({ length: 30_000 }, (_, i) => ({ a: `row ${i} ${'x'.repeat(i % 500)}`, b: i, c: [{ x: i, y: 'é"\n,' }], d: i % 2 === 0 }));
  const pieces = [...jsonPieces(rows)];
  t.ok(pieces.length > 5, `${pieces.length} pieces`);
  t.ok(pieces.every((p) => p.length < 1.1 * 2 ** 20), 'each about a megabyte at most');
  t.equal(pieces.join(''), JSON.stringify(rows, null, 2) + '\n');
  const csv = [...csvPieces(rows, ['a', 'b', 'd'])];
  t.ok(csv.length > 5);
  t.equal(csv.join(''), csvAsOne(rows, ['a', 'b', 'd']));
  // Written through writeDurably piece by piece: the file holds exactly those bytes.
  const dir = mkdtempSync(join(tmpdir(), 'report-pieces-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeDurably(dir, 'trades.json', jsonPieces(rows));
  t.equal(readFileSync(join(dir, 'trades.json'), 'utf8'), JSON.stringify(rows, null, 2) + '\n', 'the file, byte for byte');
  t.same([...inPieces([])], [], 'no lines, no piece');
});
