// API keys: each belongs to one principal with one role. Only SHA-256 hashes are kept; a key
// itself is shown once, when it is generated (the demo's first start) or never (a keys file).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Role } from '../engine/index.ts';
import { SETUP_ACTOR } from '../engine/setup.ts';
import { syncFolder, writeDurably } from '../persistence/files.ts';

export interface Principal { role: Role; id: string; member?: string }
/**
 * A key as a keys file gives it. `name` (risk and operator keys) is who the audit trail says acted;
 * without it, the role and the first 8 hex digits of the key's SHA-256, so that a name never depends
 * on where the key sits in the file.
 */
export interface KeySpec { key: string; role: Role; member?: string; name?: string }

const SPEC_FIELDS = new Set(['key', 'role', 'member', 'name']);

export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** The longest key there is: a longer one is refused unread, neither hashed nor remembered. */
export const MAX_KEY_LENGTH = 256;

export class KeyRing {
  private readonly byHash = new Map<string, Principal>();
  /** Keys already seen, so that a busy client's key is hashed once, not on every request. */
  private readonly seen = new Map<string, { principal: Principal; hash: string } | null>();

  add(spec: KeySpec, index: number): void {
    if (spec === null || typeof spec !== 'object') throw new Error(`keys[${index}] must be an object {"key", "role", "member"?}`);
    if (typeof spec.key !== 'string' || spec.key.length < 16 || spec.key.length > MAX_KEY_LENGTH) throw new Error(`keys[${index}].key must be a string of 16–${MAX_KEY_LENGTH} characters`);
    // A caller's Bearer value is read without its surrounding blanks: such a key could never be used.
    if (!/^[\x21-\x7e]+$/.test(spec.key)) throw new Error(`keys[${index}].key must be printable characters without spaces (it is sent as Authorization: Bearer <key>)`);
    if (spec.role !== 'member' && spec.role !== 'risk' && spec.role !== 'operator') throw new Error(`keys[${index}].role must be member, risk or operator`);
    // A member is named as an account's member is (POST /v1/admin/accounts): "" or "M 1" could never trade.
    if (spec.role === 'member' && (typeof spec.member !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(spec.member))) {
      throw new Error(`keys[${index}].member names the member a member key trades for: 1–32 letters, digits, "_", "." and "-", starting with a letter or digit`);
    }
    if (spec.role !== 'member' && spec.member !== undefined) throw new Error(`keys[${index}].member is for member keys: a ${spec.role} key acts for no member`);
    const unknown = Object.keys(spec).find((field) => !SPEC_FIELDS.has(field));
    if (unknown !== undefined) throw new Error(`keys[${index}] has a field ${JSON.stringify(unknown.slice(0, 64))}; a key takes "key", "role", "member" (member keys) and "name" (risk and operator keys)`);
    if (spec.name !== undefined) {
      if (spec.role === 'member') throw new Error(`keys[${index}].name is for risk and operator keys: a member key acts as its member`);
      if (typeof spec.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(spec.name)) throw new Error(`keys[${index}].name must be 1–64 letters, digits, "_", ".", "@" and "-", starting with a letter or digit`);
      // The audit trail's actor of the exchange's own start-up set-up (operator:setup): nobody else may act under it.
      if (spec.name === SETUP_ACTOR.id) throw new Error(`keys[${index}].name "${SETUP_ACTOR.id}" is reserved: the audit trail names the exchange's own set-up so`);
    }
    const hash = hashKey(spec.key);
    const id = spec.role === 'member' ? (spec.member as string) : spec.name ?? `${spec.role}-${hash.slice(0, 8)}`;
    this.addHashed(hash, { role: spec.role, id, member: spec.member });
  }

  addHashed(hash: string, p: Principal): void {
    this.byHash.set(hash, p);
    this.seen.clear();
  }

  /** The principal of a bearer key, or null. */
  lookup(key: string): Principal | null {
    return this.identify(key)?.principal ?? null;
  }

  /** A known key's principal and hash (what may stand for the key, e.g. as a rate-limit bucket), or null. */
  identify(key: string): { principal: Principal; hash: string } | null {
    if (key.length > MAX_KEY_LENGTH) return null;
    let known = this.seen.get(key);
    if (known === undefined) {
      const hash = hashKey(key);
      const principal = this.byHash.get(hash);
      known = principal === undefined ? null : { principal, hash };
      if (this.seen.size >= 10_000) this.seen.clear(); // bad keys must not grow it without bound
      this.seen.set(key, known);
    }
    return known;
  }

  /** A ring of the keys given (checked: each key, role and member as add() requires). */
  static of(specs: KeySpec[]): KeyRing {
    if (!Array.isArray(specs)) throw new Error('the keys must be a JSON array of {"key", "role", "member"?, "name"?}');
    if (specs.length === 0) throw new Error('the keys file lists no key: nobody could use the exchange');
    const ring = new KeyRing();
    const seen = new Map<string, number>();
    specs.forEach((s, i) => {
      ring.add(s, i);
      // The same key twice would leave only its last role in force, in silence.
      const earlier = seen.get(s.key);
      if (earlier !== undefined) throw new Error(`keys[${i}] repeats the key of keys[${earlier}]: each key belongs to one principal`);
      seen.set(s.key, i);
    });
    return ring;
  }

  /**
   * The demo keys of a data directory: those stored in its keys.json, or new ones for each member,
   * a risk officer and an operator. New keys are handed to `show` before they are stored, so that a
   * start killed in between has stored none (the next start makes and shows new ones) rather than
   * stored keys nobody ever saw.
   */
  static demo(dataDir: string, members: string[], show: (fresh: KeySpec[]) => void = () => {}): { ring: KeyRing; fresh: KeySpec[] } {
    const file = join(dataDir, 'keys.json');
    const ring = new KeyRing();
    if (existsSync(file)) {
      let stored: (Principal & { hash: string })[];
      try {
        stored = JSON.parse(readFileSync(file, 'utf8')) as (Principal & { hash: string })[];
        if (!Array.isArray(stored) || !stored.every((k) => typeof k?.hash === 'string' && /^[0-9a-f]{64}$/.test(k.hash) && typeof k.id === 'string'
          && (k.role === 'member' ? typeof k.member === 'string' && k.member !== '' : (k.role === 'risk' || k.role === 'operator') && k.member === undefined))) {
          throw new Error('not an array of stored keys, each a hash, an id and a role (member keys with their member)');
        }
        // None would leave an exchange nobody can use, started as if all were well.
        if (stored.length === 0) throw new Error('it holds no key');
      } catch (e) {
        throw new Error(`${file} cannot be read (${(e as Error).message}): restore it, or delete it to have new demo keys made`);
      }
      // A risk or operator key goes by its role and hash, as on the start that made it: earlier
      // builds stored its place in the list instead (risk-4), which renamed it in the audit trail.
      for (const k of stored) ring.addHashed(k.hash, { role: k.role, id: k.role === 'member' ? k.id : `${k.role}-${k.hash.slice(0, 8)}`, member: k.member });
      return { ring, fresh: [] };
    }
    const fresh: KeySpec[] = [
      ...members.map((member): KeySpec => ({ key: 'mem_' + randomBytes(18).toString('base64url'), role: 'member', member })),
      { key: 'risk_' + randomBytes(18).toString('base64url'), role: 'risk' },
      { key: 'ops_' + randomBytes(18).toString('base64url'), role: 'operator' },
    ];
    fresh.forEach((s, i) => ring.add(s, i));
    const stored = fresh.map((s) => ({ hash: hashKey(s.key), role: s.role, id: (ring.lookup(s.key) as Principal).id, member: s.member }));
    show(fresh);
    // Whole or not at all: a crash while writing must not leave a keys.json that stops the next start.
    writeDurably(dataDir, 'keys.json', JSON.stringify(stored, null, 2), 0o600);
    syncFolder(dataDir);
    return { ring, fresh };
  }
}
