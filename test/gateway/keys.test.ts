// Who a key is: the audit trail names risk officers and operators by their key's `name`, or by the
// role and the first 8 hex digits of the key's SHA-256 — never by where the key sits in a keys file,
// which would hand an officer's name to another once a line is added or removed.
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
