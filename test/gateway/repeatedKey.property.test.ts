// repeatedKey (gateway/http.ts), which finds a property named twice in one object of a JSON body
// (JSON.parse keeps the last without a word): it names the first name that repeats within its
// object, wherever the object sits, and nothing in a text whose objects name each property once,
// whatever the strings hold (quotes, colons, escapes, the same names in other objects).
import t from 'tap';
import fc from 'fast-check';
import { repeatedKey } from '../../gateway/http.ts';

const check = (text: string) => repeatedKey(text, JSON.parse(text));

// Few names, so that they often repeat; some with escapes, quotes and colons in them.
const name = fc.constantFrom('a', 'b', 'price', 'quantity', 'a"b', 'x:y', '\\', 'é', '\u0001');
const blank = fc.constantFrom('', ' ', '\n', '\t ');
/** An object's text from its entries (a name may come twice), and the first name that repeats in it. */
const objectText = fc.array(fc.tuple(name, fc.jsonValue(), blank), { maxLength: 8 }).map((entries) => {
  const seen = new Set<string>();
  let first: string | null = null;
  for (const [k] of entries) {
    if (first === null && seen.has(k)) first = k;
    seen.add(k);
  }
  return { text: `{${entries.map(([k, v, b]) => `${b}${JSON.stringify(k)}${b}:${b}${JSON.stringify(v)}`).join(',')}}`, first };
});

t.test('the first name repeated in an object, top level or nested; null when none is', async (t) => {
  fc.assert(fc.property(objectText, fc.constantFrom('top', 'in an object', 'in an array', 'after a sibling'), ({ text, first }, where) => {
    const wrapped = where === 'top' ? text
      : where === 'in an object' ? `{"outer": ${text}, "price": "1.00"}`
        : where === 'in an array' ? `[1, {"a": 1}, ${text}]`
          : `{"a": {"a": 1, "b": 2}, "b": ${text}}`;
    return check(wrapped) === first;
  }), { numRuns: 5000 });
  t.pass('as the entries say');
});

t.test('any JSON value, as JSON.stringify writes it, repeats nothing', async (t) => {
  fc.assert(fc.property(fc.jsonValue(), (v) => check(JSON.stringify(v)) === null), { numRuns: 3000 });
  t.pass('none');
});

t.test('examples', async (t) => {
  t.equal(check('{"quantity": 1, "quantity": 100000}'), 'quantity');
  t.equal(check('{"text": "\\"quantity\\": 5", "quantity": 5}'), null, 'a name inside a string is no name');
  t.equal(check('{"a": {"q": 1}, "b": {"q": 2}}'), null, 'the same name in two objects');
  t.equal(check('{"a": [{"q": 1, "q": 2}]}'), 'q', 'in an array in an object');
  t.equal(check('{"q\\u0041": 1, "qA": 2}'), 'qA', 'names compared as JSON reads them');
  t.equal(check('[]'), null);
  t.equal(check('"just text"'), null);
});
