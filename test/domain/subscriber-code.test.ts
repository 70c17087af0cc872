import { createHmac, scryptSync } from 'node:crypto';
import fc from 'fast-check';
import { createTestSecretKeys } from '../../shared/adapters/secrets/local.js';
import type { SubscriberCredential } from '../../shared/domain/model.js';
import {
  afterActivation,
  afterChange,
  afterFailure,
  afterSuccess,
  attemptSubscriberCode,
  DEFAULT_SCRYPT_PARAMS,
  generateSubscriberCode,
  hashSubscriberCode,
  isLocked,
  MAX_SUBSCRIBER_CODE_FAILURES,
  newSubscriberCredential,
  openInitialCode,
  parseNewSubscriberCode,
  parseSubscriberCode,
  parseSubscriberCodeHash,
  remainingAttempts,
  SUBSCRIBER_CODE_ALPHABET,
  sealInitialCode,
  verifySubscriberCode,
} from '../../shared/domain/subscriber-code.js';
import { GoneError, InternalError, LockedError, ValidationError } from '../../shared/errors.js';
import type { SecretKeyPurpose, SecretKeys } from '../../shared/ports/secrets.js';

/** Cheap cost for tests (N = 2^10); the default cost is covered once. */
const FAST = { log2N: 10 };
const now = new Date('2026-11-23T04:00:00Z');

const ruleOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('subscriberCode');
    return (e as ValidationError).rule;
  }
};

describe('generateSubscriberCode', () => {
  it('uses only the look-alike-free alphabet', () => {
    for (const c of '0O1IL') expect(SUBSCRIBER_CODE_ALPHABET).not.toContain(c);
    expect(new Set(SUBSCRIBER_CODE_ALPHABET).size).toBe(SUBSCRIBER_CODE_ALPHABET.length);
  });

  it('makes codes of the asked length (6–10) from the alphabet, which parse back unchanged', () => {
    fc.assert(
      fc.property(fc.integer({ min: 6, max: 10 }), (n) => {
        const code = generateSubscriberCode(n);
        expect(code).toHaveLength(n);
        for (const c of code) expect(SUBSCRIBER_CODE_ALPHABET).toContain(c);
        expect(parseSubscriberCode('subscriberCode', code)).toBe(code);
      }),
    );
    expect(generateSubscriberCode()).toHaveLength(10);
  });

  it('draws every character of the alphabet (a broken generator would not)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) for (const c of generateSubscriberCode()) seen.add(c);
    expect([...seen].sort().join('')).toBe([...SUBSCRIBER_CODE_ALPHABET].sort().join(''));
  });

  it('does not repeat itself', () => {
    const codes = new Set(Array.from({ length: 5000 }, () => generateSubscriberCode()));
    expect(codes.size).toBe(5000);
  });

  it.each([5, 11, 0, 7.5, Number.NaN])('refuses length %p', (n) => {
    expect(() => generateSubscriberCode(n)).toThrow(RangeError);
  });
});

describe('parseSubscriberCode', () => {
  it('normalizes case, spaces and hyphens', () => {
    expect(parseSubscriberCode('subscriberCode', ' k7p3m-x9ace ')).toBe('K7P3MX9ACE');
    expect(parseSubscriberCode('subscriberCode', 'AB12cd')).toBe('AB12CD');
  });

  it.each([
    [undefined, 'subscriber_code.required'],
    ['', 'subscriber_code.required'],
    ['   ', 'subscriber_code.required'],
    [123456, 'subscriber_code.characters'],
    ['ABC12', 'subscriber_code.length'],
    ['ABCDEFGHIJK', 'subscriber_code.length'],
    ['ABC_123', 'subscriber_code.characters'],
    ['ÄBC1234', 'subscriber_code.characters'],
    ['ＡＢＣ１２３', 'subscriber_code.characters'],
  ])('%p → %s', (input, rule) => {
    expect(ruleOf(() => parseSubscriberCode('subscriberCode', input))).toBe(rule);
  });

  it('accepts exactly 6–10 letters and digits, and never echoes the code in a message', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AB9z#_ü'), minLength: 1, maxLength: 14 }), (s) => {
        const n = s.replace(/[\s-]/g, '').toUpperCase();
        const ok = /^[A-Z0-9]{6,10}$/.test(n);
        try {
          expect(parseSubscriberCode('subscriberCode', s)).toBe(n);
          expect(ok).toBe(true);
        } catch (e) {
          expect(ok).toBe(false);
          expect((e as Error).message).not.toContain(s);
        }
      }),
    );
  });

  it('refuses trivially guessable new codes', () => {
    expect(ruleOf(() => parseNewSubscriberCode('subscriberCode', '777777'))).toBe('subscriber_code.weak');
    expect(ruleOf(() => parseNewSubscriberCode('subscriberCode', '123456'))).toBe('subscriber_code.weak');
    expect(ruleOf(() => parseNewSubscriberCode('subscriberCode', 'fedcba'))).toBe('subscriber_code.weak');
    expect(parseNewSubscriberCode('subscriberCode', 'k7p3mx')).toBe('K7P3MX');
  });
});

describe('hashSubscriberCode / verifySubscriberCode', () => {
  const secrets = createTestSecretKeys({ seed: 'pepper-a' });

  it('encodes a self-describing scrypt hash with a 16-byte salt, peppered with the current key', async () => {
    const h = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    expect(h.hash).toMatch(/^scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(h.pepperKeyId).toBe('test:subscriber-pepper:1');
    expect(h.hash).not.toContain('K7P3MX9ACE');
    const parsed = parseSubscriberCodeHash(h.hash);
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.hash).toHaveLength(32);
  });

  it('is scrypt over HMAC(pepper, code), so the hash alone cannot be checked without the pepper', async () => {
    const h = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    const { salt, hash } = parseSubscriberCodeHash(h.hash);
    const pepper = await secrets.mac('subscriber-pepper', new TextEncoder().encode('K7P3MX9ACE'));
    const expected = scryptSync(pepper, salt, 32, { N: 1024, r: 8, p: 1 });
    expect(hash.equals(expected)).toBe(true);
    const withoutPepper = scryptSync('K7P3MX9ACE', salt, 32, { N: 1024, r: 8, p: 1 });
    expect(hash.equals(withoutPepper)).toBe(false);
    const otherPepper = createHmac('sha256', 'guess').update('K7P3MX9ACE').digest();
    expect(hash.equals(scryptSync(otherPepper, salt, 32, { N: 1024, r: 8, p: 1 }))).toBe(false);
  });

  it('uses the default cost 2^15, r=8, p=1 unless told otherwise', async () => {
    expect(DEFAULT_SCRYPT_PARAMS).toEqual({ log2N: 15, r: 8, p: 1 });
    const h = await hashSubscriberCode('K7P3MX9ACE', secrets);
    expect(h.hash.startsWith('scrypt$ln=15,r=8,p=1$')).toBe(true);
    expect(await verifySubscriberCode('K7P3MX9ACE', h, secrets)).toBe(true);
  });

  it('verifies the code (in any case or grouping) and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 6, max: 10 }),
        fc.string({ unit: fc.constantFrom(...'ABCXYZ0123789'), minLength: 6, maxLength: 10 }),
        async (n, other) => {
          const code = generateSubscriberCode(n);
          const h = await hashSubscriberCode(code, secrets, FAST);
          expect(await verifySubscriberCode(code, h, secrets)).toBe(true);
          expect(
            await verifySubscriberCode(` ${code.toLowerCase().slice(0, 3)}-${code.slice(3)} `, h, secrets),
          ).toBe(true);
          fc.pre(other !== code);
          expect(await verifySubscriberCode(other, h, secrets)).toBe(false);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('salts: the same code hashes differently every time', async () => {
    const a = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    const b = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    expect(a.hash).not.toBe(b.hash);
  });

  it('does not verify under another pepper', async () => {
    const h = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    // Same key id, different key material: a copied table on another deployment is useless.
    expect(await verifySubscriberCode('K7P3MX9ACE', h, createTestSecretKeys({ seed: 'pepper-b' }))).toBe(
      false,
    );
  });

  it('refuses to verify against a pepper key that is no longer current', async () => {
    const h = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    await expect(
      verifySubscriberCode('K7P3MX9ACE', { ...h, pepperKeyId: 'test:subscriber-pepper:0' }, secrets),
    ).rejects.toThrow(InternalError);
  });

  it('refuses to hash an invalid code or with parameters out of range', async () => {
    await expect(hashSubscriberCode('abc', secrets, FAST)).rejects.toThrow(ValidationError);
    await expect(hashSubscriberCode('K7P3MX9ACE', secrets, { log2N: 9 })).rejects.toThrow(RangeError);
    await expect(hashSubscriberCode('K7P3MX9ACE', secrets, { log2N: 21 })).rejects.toThrow(RangeError);
    await expect(hashSubscriberCode('K7P3MX9ACE', secrets, { p: 0 })).rejects.toThrow(RangeError);
  });

  it.each([
    'bcrypt$2b$10$abc',
    'scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA', // salt and hash too short
    'scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', // N = 2^30
    'scrypt$ln=15,r=99,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    '',
  ])('treats a malformed or unreasonable stored hash as an internal fault: %p', async (hash) => {
    await expect(
      verifySubscriberCode('K7P3MX9ACE', { hash, pepperKeyId: 'test:subscriber-pepper:1' }, secrets),
    ).rejects.toThrow(InternalError);
  });

  it('sends only HMAC input through the SecretKeys port, never asking to seal the code', async () => {
    const calls: string[] = [];
    const spy: SecretKeys = {
      mac: (p: SecretKeyPurpose, d: Uint8Array) => {
        calls.push(`mac:${p}`);
        return secrets.mac(p, d);
      },
      keyId: (p) => secrets.keyId(p),
      seal: (...a) => {
        calls.push('seal');
        return secrets.seal(...a);
      },
      open: (...a) => {
        calls.push('open');
        return secrets.open(...a);
      },
    };
    const h = await hashSubscriberCode('K7P3MX9ACE', spy, FAST);
    await verifySubscriberCode('K7P3MX9ACE', h, spy);
    expect(calls).toEqual(['mac:subscriber-pepper', 'mac:subscriber-pepper']);
  });
});

describe('lockout policy', () => {
  const base: SubscriberCredential = { hash: 'h', pepperKeyId: 'k', failures: 0, sealedInitialCode: 's' };

  it('locks at the 4th consecutive failure and records when', () => {
    let c = base;
    for (let i = 1; i < MAX_SUBSCRIBER_CODE_FAILURES; i++) {
      c = afterFailure(c, now);
      expect(isLocked(c)).toBe(false);
      expect(remainingAttempts(c)).toBe(MAX_SUBSCRIBER_CODE_FAILURES - i);
    }
    c = afterFailure(c, now);
    expect(MAX_SUBSCRIBER_CODE_FAILURES).toBe(4);
    expect(isLocked(c)).toBe(true);
    expect(c.lockedAt).toBe(now.toISOString());
    expect(remainingAttempts(c)).toBe(0);
    expect(() => afterSuccess(c)).toThrow(LockedError);
    expect(afterFailure(c, new Date('2027-01-01T00:00:00Z')).lockedAt).toBe(now.toISOString());
  });

  it('forgets failures after a success', () => {
    const c = afterSuccess(afterFailure(afterFailure(afterFailure(base, now), now), now));
    expect(c.failures).toBe(0);
    expect(isLocked(afterFailure(c, now))).toBe(false);
  });

  it('locks exactly when some run of failures since the last success reaches 4', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 30 }), (outcomes) => {
        let c = base;
        let run = 0;
        let lockedModel = false;
        for (const success of outcomes) {
          if (lockedModel) break;
          if (success) {
            c = afterSuccess(c);
            run = 0;
          } else {
            c = afterFailure(c, now);
            run++;
            if (run >= 4) lockedModel = true;
          }
          expect(c.failures).toBe(run);
        }
        expect(isLocked(c)).toBe(lockedModel);
      }),
    );
  });

  it('a change gives a fresh credential: new hash, no failures, no lock, initial code destroyed', () => {
    const locked = { ...base, failures: 4, lockedAt: now.toISOString() };
    const changedAt = new Date('2026-12-20T01:00:00Z');
    const c = afterChange({ hash: 'new', pepperKeyId: 'k2' }, changedAt);
    expect(c).toEqual({ hash: 'new', pepperKeyId: 'k2', failures: 0, changedAt: changedAt.toISOString() });
    expect(isLocked(c)).toBe(false);
    expect(isLocked(locked)).toBe(true);
  });

  it('activation destroys the sealed initial code and keeps the rest', () => {
    const c = afterActivation({ ...base, failures: 2 });
    expect(c).toEqual({ hash: 'h', pepperKeyId: 'k', failures: 2 });
    expect('sealedInitialCode' in c).toBe(false);
  });

  it('does not mutate the credential it is given', () => {
    const frozen = Object.freeze({ ...base });
    afterFailure(frozen, now);
    afterSuccess(frozen);
    afterActivation(frozen);
    expect(frozen).toEqual(base);
  });
});

describe('attemptSubscriberCode', () => {
  const secrets = createTestSecretKeys();

  it('counts wrong codes, resets on the right one, and refuses to check a locked code at all', async () => {
    const hashed = await hashSubscriberCode('K7P3MX9ACE', secrets, FAST);
    let c = newSubscriberCredential(hashed);
    let r = await attemptSubscriberCode('WRONG1', c, secrets, now);
    expect(r.ok).toBe(false);
    expect(r.credential.failures).toBe(1);
    r = await attemptSubscriberCode('k7p3mx9ace', r.credential, secrets, now);
    expect(r).toEqual({ ok: true, credential: { ...c, failures: 0 } });
    c = r.credential;
    for (let i = 0; i < 4; i++) c = (await attemptSubscriberCode('WRONG1', c, secrets, now)).credential;
    expect(isLocked(c)).toBe(true);
    await expect(attemptSubscriberCode('K7P3MX9ACE', c, secrets, now)).rejects.toThrow(LockedError);
    const e = await attemptSubscriberCode('K7P3MX9ACE', c, secrets, now).then(
      () => undefined,
      (x: unknown) => x as LockedError,
    );
    expect(e?.rule).toBe('subscriber_code.locked');
  });
});

describe('sealed initial code', () => {
  const secrets = createTestSecretKeys();

  it('can be re-opened for its application until activation or a change', async () => {
    const sealed = await sealInitialCode('K7P3MX9ACE', 'A20261123-7K3M9QXZ', secrets);
    const c = newSubscriberCredential({ hash: 'h', pepperKeyId: 'k' }, sealed);
    expect(await openInitialCode(c, 'A20261123-7K3M9QXZ', secrets)).toBe('K7P3MX9ACE');
    await expect(openInitialCode(c, 'A20261123-OTHER000', secrets)).rejects.toThrow(InternalError);
    await expect(openInitialCode(afterActivation(c), 'A20261123-7K3M9QXZ', secrets)).rejects.toThrow(
      GoneError,
    );
    await expect(
      openInitialCode(afterChange({ hash: 'h2', pepperKeyId: 'k' }, now), 'A20261123-7K3M9QXZ', secrets),
    ).rejects.toThrow(GoneError);
  });
});
