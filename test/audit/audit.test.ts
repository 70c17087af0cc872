import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { auditRecordHash, canonicalJson, createAuditLog, GENESIS_HASH } from '../../shared/audit.js';
import type { AuditRecord } from '../../shared/domain/model.js';
import { DependencyError, VersionConflictError } from '../../shared/errors.js';
import type { AuditEntry } from '../../shared/ports/audit.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { AuditStore } from '../../shared/ports/repository.js';

/** A store the test can reach into, to play the attacker who edits the table directly. */
class RawAuditStore implements AuditStore {
  records: AuditRecord[] = [];
  async head(chain: string) {
    const mine = this.records.filter((r) => r.chain === chain);
    return structuredClone(mine[mine.length - 1]);
  }
  async put(record: AuditRecord) {
    if (this.records.some((r) => r.chain === record.chain && r.seq === record.seq))
      throw new VersionConflictError('AuditRecord', String(record.seq));
    this.records.push(structuredClone(record));
  }
  async range(chain: string, fromSeq: number, toSeq: number) {
    // Stored order, as a table would return by sort key: the attacker may have re-keyed records.
    return structuredClone(
      this.records.filter((r) => r.chain === chain && r.seq >= fromSeq && r.seq <= toSeq),
    );
  }
}

const entry = (i: number, details: Record<string, unknown> = { i }): AuditEntry => ({
  actor: { type: 'officer', id: 'officer-7', stationId: 'TPE01' },
  action: 'application.create',
  subject: { type: 'application', id: `app-${i}` },
  details,
});

const clock = () => new AdjustableClock(undefined, new Date('2026-03-05T00:00:00.000Z'));

describe('canonical JSON', () => {
  it('is independent of key order and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
});

describe('audit log', () => {
  it('chains records from the genesis hash and verifies them', async () => {
    const store = new RawAuditStore();
    const c = clock();
    const log = createAuditLog(store, c);
    const first = await log.append(entry(1));
    c.advance(1000);
    const second = await log.append(entry(2));
    expect(first.seq).toBe(1);
    expect(second.seq).toBe(2);
    const [r1, r2] = store.records;
    expect(r1!.prevHash).toBe(GENESIS_HASH);
    expect(r1!.hash).toBe(first.hash);
    expect(r2!.prevHash).toBe(r1!.hash);
    expect(r2!.at).toBe('2026-03-05T00:00:01.000Z');
    expect(r1!.hash).toBe(auditRecordHash(r1!));
    expect(r1!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await log.verify()).toEqual({ ok: true, records: 2 });
    expect(await log.verify('main', 2, 2)).toEqual({ ok: true, records: 1 });
  });

  it('verifies an empty chain and an empty range as intact', async () => {
    const log = createAuditLog(new RawAuditStore(), clock());
    expect(await log.verify()).toEqual({ ok: true, records: 0 });
    expect(await log.verify('main', 5, 4)).toEqual({ ok: true, records: 0 });
  });

  it('gives 50 concurrent appends of one log seq 1..50 with a valid chain', async () => {
    const repo = createMemoryRepository();
    const log = createAuditLog(repo.audit, clock());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(entry(i))));
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(await log.verify()).toEqual({ ok: true, records: 50 });
  });

  it('gives 50 writers in different processes (one append each) one gap-free chain', async () => {
    const repo = createMemoryRepository();
    const c = clock();
    // Fifty separate logs share the store, as fifty Lambda instances share the table.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        createAuditLog(repo.audit, c, { maxAttempts: 500 }).append(entry(i)),
      ),
    );
    expect(new Set(results.map((r) => r.seq))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i + 1)));
    const records = await repo.audit.range('main', 1, 50);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Every writer's entry is there exactly once.
    expect(new Set(records.map((r) => r.subject.id)).size).toBe(50);
    expect(await createAuditLog(repo.audit, c).verify()).toEqual({ ok: true, records: 50 });
  });

  it('gives up with a retryable DependencyError when it keeps losing the race', async () => {
    const store = new RawAuditStore();
    store.put = async (r) => {
      throw new VersionConflictError('AuditRecord', String(r.seq));
    };
    const log = createAuditLog(store, clock(), { maxAttempts: 3 });
    await expect(log.append(entry(1))).rejects.toBeInstanceOf(DependencyError);
    // A failed append does not block the next one.
    await expect(log.append(entry(2))).rejects.toBeInstanceOf(DependencyError);
  });

  it('keeps separate chains apart', async () => {
    const repo = createMemoryRepository();
    const main = createAuditLog(repo.audit, clock());
    const signer = createAuditLog(repo.audit, clock(), { chain: 'signer' });
    await main.append(entry(1));
    await signer.append(entry(2));
    await main.append(entry(3));
    expect((await repo.audit.head('main'))?.seq).toBe(2);
    expect((await repo.audit.head('signer'))?.seq).toBe(1);
    expect(await main.verify()).toEqual({ ok: true, records: 2 });
    expect(await main.verify('signer')).toEqual({ ok: true, records: 1 });
  });

  it('redacts secrets and ARC numbers in details before hashing and storing', async () => {
    const store = new RawAuditStore();
    const log = createAuditLog(store, clock());
    await log.append(
      entry(1, {
        subscriberCode: 'Ab3dE9fG',
        pin: '123456',
        note: 'holder A800000014 called',
        nested: { token: 'eyJhbGciOi', amount: 278 },
        when: new Date('2026-03-05T00:00:00.000Z'),
        gone: undefined,
      }),
    );
    const stored = JSON.stringify(store.records[0]);
    expect(stored).not.toContain('Ab3dE9fG');
    expect(stored).not.toContain('123456');
    expect(stored).not.toContain('A800000014');
    expect(stored).not.toContain('eyJhbGciOi');
    expect(store.records[0]!.details).toEqual({
      subscriberCode: '[REDACTED]',
      pin: '[REDACTED]',
      note: 'holder ******0014 called',
      nested: { token: '[REDACTED]', amount: 278 },
      when: '2026-03-05T00:00:00.000Z',
    });
    expect(await log.verify()).toEqual({ ok: true, records: 1 });
  });

  describe('detects tampering', () => {
    let store: RawAuditStore;
    let log: ReturnType<typeof createAuditLog>;
    beforeEach(async () => {
      store = new RawAuditStore();
      log = createAuditLog(store, clock());
      for (let i = 1; i <= 10; i++) await log.append(entry(i, { i, reason: 'keyCompromise' }));
      expect((await log.verify()).ok).toBe(true);
    });

    const tampered: [string, (r: AuditRecord) => void][] = [
      ['details', (r) => (r.details.i = 99)],
      ['a nested detail', (r) => (r.details.reason = 'unspecified')],
      ['the time', (r) => (r.at = '2026-03-06T00:00:00.000Z')],
      ['the actor', (r) => (r.actor.id = 'officer-8')],
      ['the action', (r) => (r.action = 'certificate.revoke')],
      ['the subject', (r) => (r.subject.id = 'app-x')],
      ['the chain name', (r) => (r.chain = 'other')],
      ['an added field', (r) => Object.assign(r, { extra: 1 })],
      ['the previous hash', (r) => (r.prevHash = 'f'.repeat(64))],
      ['the hash', (r) => (r.hash = 'f'.repeat(64))],
    ];
    it.each(tampered)('a change of %s', async (_what, change) => {
      change(store.records[5]!);
      const result = await log.verify();
      expect(result.ok).toBe(false);
      expect(result.brokenAt).toBe(6);
      expect(result.records).toBe(5);
      expect(result.reason).toEqual(expect.any(String));
    });

    it('a record rewritten with a fresh own hash (the next link breaks)', async () => {
      const r = store.records[5]!;
      r.details.i = 99;
      r.hash = auditRecordHash(r);
      expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 7 });
    });

    it('records missing at the end of a range the caller expects to exist', async () => {
      // An exported head (seq 10) is the anchor: a chain cut back to 8 no longer reaches it.
      store.records.splice(8, 2);
      expect(await log.verify()).toEqual({ ok: true, records: 8 });
      expect(await log.verify('main', 1, 10)).toEqual({
        ok: false,
        records: 8,
        brokenAt: 9,
        reason: 'record missing',
      });
    });

    it('a deleted record', async () => {
      store.records.splice(3, 1);
      expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 4 });
    });

    it('two records swapped', async () => {
      const a = store.records[2]!;
      store.records[2] = store.records[3]!;
      store.records[3] = a;
      expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 3 });
    });

    it('two records swapped and renumbered', async () => {
      const a = store.records[2]!;
      const b = store.records[3]!;
      [a.seq, b.seq] = [b.seq, a.seq];
      store.records[2] = b;
      store.records[3] = a;
      expect(await log.verify()).toMatchObject({ ok: false, brokenAt: 3 });
    });

    it('a change inside a verified sub-range, and not outside it', async () => {
      store.records[7]!.details.i = 0;
      expect(await log.verify('main', 1, 7)).toEqual({ ok: true, records: 7 });
      expect(await log.verify('main', 6, 10)).toMatchObject({ ok: false, brokenAt: 8, records: 2 });
      // The link into a sub-range is checked against the record before it.
      store.records[4]!.hash = '0'.repeat(64);
      expect(await log.verify('main', 6, 7)).toMatchObject({ ok: false, brokenAt: 6 });
    });
  });

  it('verifies long chains across pages', async () => {
    const repo = createMemoryRepository();
    const log = createAuditLog(repo.audit, clock());
    for (let i = 0; i < 1201; i++) await log.append(entry(i));
    expect(await log.verify()).toEqual({ ok: true, records: 1201 });
    expect(await log.verify('main', 499, 1002)).toEqual({ ok: true, records: 504 });
  });
});
