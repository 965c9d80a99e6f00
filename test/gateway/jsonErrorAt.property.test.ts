// jsonErrorAt (gateway/http.ts), which says where a refused body's JSON breaks: it calls a text
// valid exactly when JSON.parse does, and for a valid text cut short and followed by a character
// that can continue nothing, it names that character.
import t from 'tap';
import fc from 'fast-check';
import { jsonErrorAt } from '../../gateway/http.ts';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

// Texts near JSON: made of its own characters, so that most are almost valid.
const nearJson = fc.array(fc.constantFrom(...'{}[]:," \n\t\\/-+.0123456789eEtrufalsn"abuF\u0001'.split('')), { maxLength: 40 }).map((cs) => cs.join(''));
// Valid JSON with one character changed, added or taken out.
const mutated = fc.tuple(fc.json(), fc.nat(), fc.constantFrom(...'{}[]:," 0e.-\\"x\u0001'.split('')), fc.constantFrom('replace', 'insert', 'delete'))
  .map(([text, at, c, how]) => {
    const k = at % (text.length + 1);
    return how === 'insert' ? text.slice(0, k) + c + text.slice(k) : how === 'replace' ? text.slice(0, k) + c + text.slice(k + 1) : text.slice(0, k) + text.slice(k + 1);
  });

t.test('valid exactly when JSON.parse takes it', async (t) => {
  for (const [name, texts] of [['near-JSON texts', nearJson], ['valid JSON', fc.json()], ['JSON with one change', mutated]] as const) {
    fc.assert(fc.property(texts, (text) => (jsonErrorAt(text) === -1) === parses(text)), { numRuns: 3000 });
    t.pass(name);
  }
});

t.test('a valid text cut short and followed by a control character breaks at that character', async (t) => {
  fc.assert(fc.property(fc.json(), fc.nat(), (text, at) => {
    const k = at % (text.length + 1);
    return jsonErrorAt(text.slice(0, k) + '\u0001') === k;
  }), { numRuns: 3000 });
  fc.assert(fc.property(fc.json({ maxDepth: 4 }), fc.nat(), (text, at) => {
    // Cut short and nothing after: it ends too soon (the length), unless the cut leaves a whole value.
    const k = at % text.length;
    const cut = text.slice(0, k);
    return jsonErrorAt(cut) === (parses(cut) ? -1 : cut.length);
  }), { numRuns: 3000 });
  t.pass('both');
});

t.test('deep nesting is scanned without a stack of calls', async (t) => {
  t.equal(jsonErrorAt('['.repeat(100_000) + ']'.repeat(100_000)), -1);
  t.equal(jsonErrorAt('['.repeat(100_000)), 100_000, 'it ends too soon');
});
