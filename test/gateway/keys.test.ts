// Who a key is: the audit trail names risk officers and operators by their key's `name`, or by the
// role and the first 8 hex digits of the key's SHA-256 — never by where the key sits in a keys file,
// which would hand an officer's name to another once a line is added or removed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hashKey, KeyRing, type KeySpec } from '../../gateway/keys.ts';

const SPECS: KeySpec[] = [
  { key: 'member-key-of-M1-000001', role: 'member', member: 'M1' },
  { key: 'risk-key-of-wang-000002', role: 'risk', name: 'wang.li' },
  { key: 'risk-key-unnamed-000003', role: 'risk' },
  { key: 'operator-key-0000000004', role: 'operator', name: 'ops@night' },
  { key: 'operator-key-0000000005', role: 'operator' },
];

t.test('a principal does not depend on the order of the keys, nor on keys added or removed', async (t) => {
  const first = KeyRing.of(SPECS);
  const shuffled = KeyRing.of([{ key: 'another-member-key-0006', role: 'member', member: 'M2' }, ...[...SPECS].reverse().slice(1)]);
  for (const spec of SPECS.slice(0, -1)) t.same(shuffled.lookup(spec.key), first.lookup(spec.key), `${spec.role} ${spec.name ?? spec.member ?? '(unnamed)'}: the same principal`);
  t.same(first.lookup('member-key-of-M1-000001'), { role: 'member', id: 'M1', member: 'M1' }, 'a member key acts as its member');
  t.same(first.lookup('risk-key-of-wang-000002'), { role: 'risk', id: 'wang.li', member: undefined }, 'a named key goes by its name');
  t.equal(first.lookup('risk-key-unnamed-000003')?.id, `risk-${hashKey('risk-key-unnamed-000003').slice(0, 8)}`, 'an unnamed one by its role and hash');
  t.equal(first.lookup('operator-key-0000000005')?.id, `operator-${hashKey('operator-key-0000000005').slice(0, 8)}`);
  t.equal(first.lookup('operator-key-0000000004')?.id, 'ops@night');
  t.equal(first.lookup('not-a-key-of-this-ring'), null, 'an unknown key is nobody');
});

t.test('the demo keys go by the same names on every start, also when stored by an earlier build', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { ring, fresh } = KeyRing.demo(dir, ['M1', 'M2']);
  t.equal(fresh.length, 4, 'two members, a risk officer and an operator');
  const again = KeyRing.demo(dir, ['M1', 'M2']);
  t.same(again.fresh, [], 'read back, none made');
  for (const spec of fresh) {
    t.same(again.ring.lookup(spec.key), ring.lookup(spec.key), `${spec.role} ${spec.member ?? ''}: the same principal after a restart`);
  }
  const risk = fresh.find((s) => s.role === 'risk') as KeySpec;
  t.equal(again.ring.lookup(risk.key)?.id, `risk-${hashKey(risk.key).slice(0, 8)}`, 'the risk officer by role and hash');
  // keys.json as an earlier build wrote it: a risk or operator key named by its place in the list.
  const file = join(dir, 'keys.json');
  const stored = JSON.parse(readFileSync(file, 'utf8')) as { id: string; role: string }[];
  writeFileSync(file, JSON.stringify(stored.map((k, i) => (k.role === 'member' ? k : { ...k, id: `${k.role}-${i + 1}` }))));
  const old = KeyRing.demo(dir, ['M1', 'M2']);
  for (const spec of fresh) t.same(old.ring.lookup(spec.key), ring.lookup(spec.key), `${spec.role} ${spec.member ?? ''}: the same principal from an earlier build's file`);
  // A keys.json that parses but holds no usable key stops the start, as a damaged one does.
  const risky = stored.find((k) => k.role === 'risk') as Record<string, unknown>;
  for (const [what, text] of [['no key', '[]'], ['an unknown role', JSON.stringify([{ ...risky, role: 'admin' }])], ['a member key without its member', JSON.stringify([{ ...risky, role: 'member' }])], ['a hash that is none', JSON.stringify([{ ...risky, hash: 'abc' }])]] as const) {
    writeFileSync(file, text);
    t.throws(() => KeyRing.demo(dir, ['M1', 'M2']), /keys\.json cannot be read .*restore it, or delete it/, `${what}: refused`);
  }
});
