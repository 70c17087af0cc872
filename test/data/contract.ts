import { REVOCATION_INDEX_ATTRIBUTES } from '../../shared/adapters/dynamodb/keys.js';
import type { Application, ApplicationTombstone, AuditRecord, CardJob } from '../../shared/domain/model.js';
import { VersionConflictError } from '../../shared/errors.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Repository } from '../../shared/ports/repository.js';
import { application, card, cardJob, certificate, plusMinutes } from './fixtures.js';

/**
 * The one behaviour every Repository adapter must have. Each adapter's test file calls
 * `describeRepositoryContract` with a factory that returns a fresh, empty repository whose expiry
 * checks use the given clock.
 */
export interface RepositoryUnderTest {
  repo: Repository;
  close?: () => Promise<void>;
}
export type RepositoryFactory = (clock: AdjustableClock) => Promise<RepositoryUnderTest>;

const T0 = '2026-03-05T00:00:00.000Z';

const rejectsWithConflict = async (p: Promise<unknown>) => {
  await expect(p).rejects.toBeInstanceOf(VersionConflictError);
};

/** Read-modify-save with retry on a lost race: the way every use case is meant to write. */
const retrying = async <T>(attempt: () => Promise<T>, tries = 200): Promise<T> => {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof VersionConflictError) || i >= tries) throw e;
      // Jittered, growing pause: losers spread out instead of colliding again in lock-step.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 * 2 ** i)));
    }
  }
};

export const describeRepositoryContract = (name: string, factory: RepositoryFactory): void => {
  describe(`Repository contract: ${name}`, () => {
    let clock: AdjustableClock;
    let repo: Repository;
    let close: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      clock = new AdjustableClock(undefined, new Date(T0));
      const made = await factory(clock);
      repo = made.repo;
      close = made.close;
    });
    afterEach(async () => {
      await close?.();
    });

    describe('applications', () => {
      it('creates at version 1 and refuses a second create of the same id', async () => {
        const created = await repo.applications.create(application({ id: 'a1', version: 7 }));
        expect(created.version).toBe(1);
        expect(await repo.applications.get('a1')).toEqual(created);
        await rejectsWithConflict(repo.applications.create(application({ id: 'a1' })));
        expect(await repo.applications.get('missing')).toBeUndefined();
      });

      it('saves only over the version it read, and bumps it', async () => {
        const v1 = await repo.applications.create(application({ id: 'a1' }));
        const v2 = await repo.applications.save({ ...v1, status: 'paid', updatedAt: plusMinutes(T0, 1) });
        expect(v2.version).toBe(2);
        expect(await repo.applications.get('a1')).toEqual(v2);
        await rejectsWithConflict(repo.applications.save({ ...v1, status: 'cancelled' }));
        expect(((await repo.applications.get('a1')) as Application).status).toBe('paid');
        await rejectsWithConflict(repo.applications.save(application({ id: 'never-created' })));
      });

      it('keeps optional fields it was given and drops none of the nested data', async () => {
        const full = application({
          id: 'a1',
          invoice: { kind: 'mobile_barcode', carrier: '/ABC+123' },
          mailingAddress: { postalCode: '10048', city: 'Taipei', line1: 'x', line2: '', phone: '0912345678' },
          certificateSerials: { signature: '1a', encryption: '2b' },
        });
        const created = await repo.applications.create(full);
        expect(await repo.applications.get('a1')).toEqual({ ...full, version: 1 });
        expect(created).toEqual({ ...full, version: 1 });
      });

      it('hands out copies: mutating a returned record changes nothing stored', async () => {
        const input = application({ id: 'a1' });
        const created = await repo.applications.create(input);
        input.name = 'CHANGED';
        created.mailingAddress.city = 'CHANGED';
        const read = (await repo.applications.get('a1')) as Application;
        read.fee.items.pop();
        const again = (await repo.applications.get('a1')) as Application;
        expect(again.name).toBe('LEE MEI LING');
        expect(again.mailingAddress.city).toBe('Taipei');
        expect(again.fee.items).toHaveLength(2);
      });

      it('lists the applications of one ARC key, newest first', async () => {
        await repo.applications.create(
          application({ id: 'old', arcKey: 'k1', createdAt: '2025-01-01T00:00:00.000Z' }),
        );
        await repo.applications.create(
          application({ id: 'new', arcKey: 'k1', createdAt: '2026-01-01T00:00:00.000Z' }),
        );
        await repo.applications.create(
          application({ id: 'mid', arcKey: 'k1', createdAt: '2025-06-01T00:00:00.000Z' }),
        );
        await repo.applications.create(application({ id: 'other', arcKey: 'k2' }));
        expect((await repo.applications.listByArcKey('k1')).map((a) => a.id)).toEqual(['new', 'mid', 'old']);
        expect(await repo.applications.listByArcKey('nobody')).toEqual([]);
      });

      it('lists unpaid applications due before a time, oldest deadline first, up to a limit', async () => {
        const due = (id: string, deadline: string, status: Application['status'] = 'awaiting_payment') =>
          repo.applications.create(application({ id, status, paymentDeadline: deadline }));
        await due('d3', '2026-03-03T15:59:59.000Z');
        await due('d1', '2026-03-01T15:59:59.000Z');
        await due('d2', '2026-03-02T15:59:59.000Z');
        await due('later', '2026-03-20T15:59:59.000Z');
        await due('exact', '2026-03-04T00:00:00.000Z');
        await due('paid', '2026-03-01T10:00:00.000Z', 'paid');
        const before = '2026-03-04T00:00:00.000Z';
        expect((await repo.applications.listUnpaidDueBefore(before, 10)).map((a) => a.id)).toEqual([
          'd1',
          'd2',
          'd3',
        ]);
        expect((await repo.applications.listUnpaidDueBefore(before, 2)).map((a) => a.id)).toEqual([
          'd1',
          'd2',
        ]);
        // Once paid, it is no longer the sweeper's business.
        const d1 = (await repo.applications.get('d1')) as Application;
        await repo.applications.save({ ...d1, status: 'paid' });
        expect((await repo.applications.listUnpaidDueBefore(before, 10)).map((a) => a.id)).toEqual([
          'd2',
          'd3',
        ]);
      });

      it('lists applications by status, oldest first, and follows status changes', async () => {
        await repo.applications.create(
          application({ id: 'p2', status: 'paid', createdAt: '2026-03-02T00:00:00.000Z' }),
        );
        await repo.applications.create(
          application({ id: 'p1', status: 'paid', createdAt: '2026-03-01T00:00:00.000Z' }),
        );
        await repo.applications.create(
          application({ id: 'p3', status: 'paid', createdAt: '2026-03-03T00:00:00.000Z' }),
        );
        await repo.applications.create(application({ id: 'w', status: 'awaiting_payment' }));
        expect((await repo.applications.listByStatus('paid', 10)).map((a) => a.id)).toEqual([
          'p1',
          'p2',
          'p3',
        ]);
        expect((await repo.applications.listByStatus('paid', 1)).map((a) => a.id)).toEqual(['p1']);
        const p1 = (await repo.applications.get('p1')) as Application;
        await repo.applications.save({ ...p1, status: 'issued' });
        expect((await repo.applications.listByStatus('paid', 10)).map((a) => a.id)).toEqual(['p2', 'p3']);
        expect((await repo.applications.listByStatus('issued', 10)).map((a) => a.id)).toEqual(['p1']);
        expect(await repo.applications.listByStatus('failed', 10)).toEqual([]);
      });

      it('replaces an application by a tombstone without personal data, conditionally', async () => {
        const app = await repo.applications.create(application({ id: 'gone', arcKey: 'k9' }));
        const tomb: Omit<ApplicationTombstone, 'version'> = {
          id: 'gone',
          status: 'purged',
          createdAt: app.createdAt,
          endedAt: '2026-03-17T00:00:00.000Z',
          stationId: app.stationId,
        };
        await rejectsWithConflict(repo.applications.replaceWithTombstone({ ...app, version: 5 }, tomb));
        await repo.applications.replaceWithTombstone(app, tomb);
        const read = await repo.applications.get('gone');
        expect(read).toEqual({ ...tomb, version: 2 });
        expect(JSON.stringify(read)).not.toMatch(/LEE|mei@|6789|Taipei|scrypt/);
        // Out of every list, and no stale writer can bring the personal data back.
        expect(await repo.applications.listByArcKey('k9')).toEqual([]);
        expect(await repo.applications.listByStatus('awaiting_payment', 10)).toEqual([]);
        expect(await repo.applications.listUnpaidDueBefore('2030-01-01T00:00:00.000Z', 10)).toEqual([]);
        await rejectsWithConflict(repo.applications.save(app));
        await rejectsWithConflict(repo.applications.save({ ...app, version: 2 }));
        await rejectsWithConflict(repo.applications.replaceWithTombstone(app, tomb));
        await rejectsWithConflict(repo.applications.create(application({ id: 'gone' })));
      });
    });

    describe('cards', () => {
      it('creates, reads and saves conditionally', async () => {
        const c = await repo.cards.create(card({ cardNumber: 'TA00000000000042', version: 3 }));
        expect(c.version).toBe(1);
        expect(await repo.cards.get('TA00000000000042')).toEqual(c);
        await rejectsWithConflict(repo.cards.create(card({ cardNumber: 'TA00000000000042' })));
        const s = await repo.cards.save({ ...c, status: 'allocated', applicationId: 'a1' });
        expect(s.version).toBe(2);
        await rejectsWithConflict(repo.cards.save({ ...c, status: 'spoiled' }));
        expect(await repo.cards.get('TA99999999999999')).toBeUndefined();
      });

      it('lists blank cards oldest enrolment first and counts them', async () => {
        const enrolled = (cardNumber: string, at: string) =>
          repo.cards.create(card({ cardNumber, enrolledAt: at }));
        await enrolled('TA00000000000003', '2026-01-03T00:00:00.000Z');
        await enrolled('TA00000000000001', '2026-01-01T00:00:00.000Z');
        const c2 = await enrolled('TA00000000000002', '2026-01-02T00:00:00.000Z');
        await repo.cards.create(card({ cardNumber: 'TA00000000000009', status: 'active' }));
        expect((await repo.cards.listBlank(10)).map((c) => c.cardNumber)).toEqual([
          'TA00000000000001',
          'TA00000000000002',
          'TA00000000000003',
        ]);
        expect((await repo.cards.listBlank(1)).map((c) => c.cardNumber)).toEqual(['TA00000000000001']);
        expect(await repo.cards.countBlank()).toBe(3);
        await repo.cards.save({ ...c2, status: 'allocated' });
        expect(await repo.cards.countBlank()).toBe(2);
        expect((await repo.cards.listBlank(10)).map((c) => c.cardNumber)).toEqual([
          'TA00000000000001',
          'TA00000000000003',
        ]);
      });
    });

    describe('certificates', () => {
      it('reserves a serial once', async () => {
        const c = await repo.certificates.create(certificate({ serialNumber: 'abc123' }));
        expect(c.version).toBe(1);
        await rejectsWithConflict(repo.certificates.create(certificate({ serialNumber: 'abc123' })));
        const signed = await repo.certificates.save({ ...c, status: 'good', der: 'MIIBxyz', issuedAt: T0 });
        expect(signed.version).toBe(2);
        expect(await repo.certificates.get('abc123')).toEqual(signed);
        await rejectsWithConflict(repo.certificates.save({ ...c, status: 'abandoned' }));
      });

      it('finds certificates by card, e-mail key and name + month, oldest first', async () => {
        await repo.certificates.create(
          certificate({
            serialNumber: 's2',
            cardNumber: 'TA1',
            emailKey: 'e1',
            reservedAt: '2026-03-02T00:00:00.000Z',
          }),
        );
        await repo.certificates.create(
          certificate({
            serialNumber: 's1',
            cardNumber: 'TA1',
            emailKey: 'e1',
            reservedAt: '2026-03-01T00:00:00.000Z',
          }),
        );
        await repo.certificates.create(
          certificate({
            serialNumber: 's3',
            cardNumber: 'TA2',
            subjectName: 'WANG XIAO MING',
            issuedMonth: '2026-04',
          }),
        );
        await repo.certificates.create(
          certificate({
            serialNumber: 's4',
            cardNumber: 'TA3',
            subjectName: 'WANG XIAO MING',
            issuedMonth: '2026-05',
          }),
        );
        expect((await repo.certificates.listByCard('TA1')).map((c) => c.serialNumber)).toEqual(['s1', 's2']);
        expect((await repo.certificates.listByEmailKey('e1')).map((c) => c.serialNumber)).toEqual([
          's1',
          's2',
        ]);
        expect(await repo.certificates.listByEmailKey('e2')).toEqual([]);
        expect(
          (await repo.certificates.listByNameAndMonth('WANG XIAO MING', '2026-04')).map(
            (c) => c.serialNumber,
          ),
        ).toEqual(['s3']);
        expect(
          (await repo.certificates.listByNameAndMonth('LEE MEI LING', '2026-03')).map((c) => c.serialNumber),
        ).toEqual(['s1', 's2']);
        expect(await repo.certificates.listByNameAndMonth('WANG XIAO', '2026-04')).toEqual([]);
      });

      it('lists held and revoked certificates of an issuer until they expire, without DER', async () => {
        const mk = (serialNumber: string, over: Parameters<typeof certificate>[0]) =>
          repo.certificates.create(certificate({ serialNumber, der: 'MIIBder', tbsSha256: 'aa', ...over }));
        await mk('r1', { status: 'revoked', revokedAt: T0, revocationReason: 'keyCompromise' });
        await mk('h1', { status: 'hold', holdAt: T0 });
        await mk('g1', { status: 'good' });
        await mk('other-ca', { status: 'revoked', issuer: 'issuing-ca-2' });
        await mk('expired', { status: 'revoked', notAfter: '2026-03-04T00:00:00.000Z' });
        await mk('soon', { status: 'revoked', notAfter: '2026-03-06T00:00:00.000Z' });
        const list = await repo.certificates.listRevokedOrHeld('issuing-ca-1');
        expect(list.map((c) => c.serialNumber).sort()).toEqual(['h1', 'r1', 'soon']);
        const r1 = list.find((c) => c.serialNumber === 'r1')!;
        expect(r1).toMatchObject({
          status: 'revoked',
          revokedAt: T0,
          revocationReason: 'keyCompromise',
          issuer: 'issuing-ca-1',
        });
        expect(list.find((c) => c.serialNumber === 'h1')).toMatchObject({ status: 'hold', holdAt: T0 });
        // The narrow projection of the revocation index: no DER, no TBS hash, nothing the CRL needs not.
        expect(r1.der).toBeUndefined();
        expect(r1.tbsSha256).toBeUndefined();
        expect(Object.keys(r1).filter((k) => !REVOCATION_INDEX_ATTRIBUTES.includes(k))).toEqual([]);
        // Resumption takes a held certificate off the list; time takes expired ones off.
        const h1 = (await repo.certificates.get('h1'))!;
        await repo.certificates.save({ ...h1, status: 'good' });
        clock.advance(2 * 24 * 3600_000);
        expect(
          (await repo.certificates.listRevokedOrHeld('issuing-ca-1')).map((c) => c.serialNumber),
        ).toEqual(['r1']);
        expect(await repo.certificates.listRevokedOrHeld('nobody')).toEqual([]);
      });

      it('lists certificates left reserved before a time, oldest first', async () => {
        await repo.certificates.create(
          certificate({ serialNumber: 'b', reservedAt: '2026-03-01T00:02:00.000Z' }),
        );
        await repo.certificates.create(
          certificate({ serialNumber: 'a', reservedAt: '2026-03-01T00:01:00.000Z' }),
        );
        await repo.certificates.create(
          certificate({ serialNumber: 'late', reservedAt: '2026-03-01T01:00:00.000Z' }),
        );
        const c = await repo.certificates.create(
          certificate({ serialNumber: 'done', reservedAt: '2026-03-01T00:00:00.000Z' }),
        );
        await repo.certificates.save({ ...c, status: 'good' });
        const cutoff = '2026-03-01T00:30:00.000Z';
        expect((await repo.certificates.listReservedBefore(cutoff, 10)).map((x) => x.serialNumber)).toEqual([
          'a',
          'b',
        ]);
        expect((await repo.certificates.listReservedBefore(cutoff, 1)).map((x) => x.serialNumber)).toEqual([
          'a',
        ]);
      });
    });

    describe('card jobs', () => {
      it('creates, reads and saves conditionally', async () => {
        const j = await repo.cardJobs.create(cardJob({ id: 'j1' }));
        expect(j.version).toBe(1);
        await rejectsWithConflict(repo.cardJobs.create(cardJob({ id: 'j1' })));
        expect(await repo.cardJobs.get('j1')).toEqual(j);
        const leased = await repo.cardJobs.save({
          ...j,
          status: 'leased',
          leaseOwner: 's1',
          leaseExpiresAt: T0,
        });
        expect(leased.version).toBe(2);
        await rejectsWithConflict(repo.cardJobs.save({ ...j, status: 'leased', leaseOwner: 's2' }));
        expect(await repo.cardJobs.get('nope')).toBeUndefined();
      });

      it('lists queued jobs and jobs whose lease expired, first available first', async () => {
        const now = T0;
        await repo.cardJobs.create(cardJob({ id: 'q2', createdAt: plusMinutes(now, -20) }));
        await repo.cardJobs.create(cardJob({ id: 'q1', createdAt: plusMinutes(now, -30) }));
        await repo.cardJobs.create(
          cardJob({
            id: 'expired',
            status: 'leased',
            leaseOwner: 's',
            leaseExpiresAt: plusMinutes(now, -25),
          }),
        );
        await repo.cardJobs.create(
          cardJob({ id: 'held', status: 'leased', leaseOwner: 's', leaseExpiresAt: plusMinutes(now, 5) }),
        );
        await repo.cardJobs.create(
          cardJob({ id: 'done', status: 'completed', createdAt: plusMinutes(now, -60) }),
        );
        await repo.cardJobs.create(
          cardJob({ id: 'failed', status: 'failed', createdAt: plusMinutes(now, -60) }),
        );
        expect((await repo.cardJobs.listLeasable(now, 10)).map((j) => j.id)).toEqual(['q1', 'expired', 'q2']);
        expect((await repo.cardJobs.listLeasable(now, 2)).map((j) => j.id)).toEqual(['q1', 'expired']);
        expect((await repo.cardJobs.listLeasable(plusMinutes(now, 6), 10)).map((j) => j.id)).toEqual([
          'q1',
          'expired',
          'q2',
          'held',
        ]);
        // Taking a lease removes the job until that lease expires.
        const q1 = (await repo.cardJobs.get('q1'))!;
        await repo.cardJobs.save({
          ...q1,
          status: 'leased',
          leaseOwner: 's',
          leaseExpiresAt: plusMinutes(now, 10),
        });
        expect((await repo.cardJobs.listLeasable(now, 10)).map((j) => j.id)).toEqual(['expired', 'q2']);
        expect((await repo.cardJobs.listLeasable(plusMinutes(now, 11), 10)).map((j) => j.id)).toEqual([
          'expired',
          'q2',
          'held',
          'q1',
        ]);
      });
    });

    describe('audit store', () => {
      const rec = (seq: number, chain = 'main'): AuditRecord => ({
        chain,
        seq,
        at: T0,
        actor: { type: 'officer', id: 'officer-7', stationId: 'TPE01' },
        action: 'application.create',
        subject: { type: 'application', id: `a${seq}` },
        details: {
          n: seq,
          nested: { list: [1, 'two', { three: true }] },
          empty: '',
          none: {},
          nil: null,
          frac: 0.25,
        },
        prevHash: '0'.repeat(64),
        hash: String(seq).padStart(64, 'f'),
      });

      it('puts each seq once, reads the head and inclusive ranges in order', async () => {
        expect(await repo.audit.head('main')).toBeUndefined();
        for (let s = 1; s <= 12; s++) await repo.audit.put(rec(s));
        await repo.audit.put(rec(1, 'other'));
        await rejectsWithConflict(repo.audit.put(rec(5)));
        expect(await repo.audit.head('main')).toEqual(rec(12));
        expect(await repo.audit.head('other')).toEqual(rec(1, 'other'));
        expect((await repo.audit.range('main', 3, 10)).map((r) => r.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
        expect(await repo.audit.range('main', 1, 1)).toEqual([rec(1)]);
        expect(await repo.audit.range('main', 13, 20)).toEqual([]);
        expect((await repo.audit.range('main', 11, 99)).map((r) => r.seq)).toEqual([11, 12]);
      });
    });

    describe('sessions', () => {
      it('creates once, reads until expiry, deletes', async () => {
        const s = { tokenHash: 'th1', applicationId: 'a1', createdAt: T0, expiresAt: plusMinutes(T0, 15) };
        await repo.sessions.create(s);
        expect(await repo.sessions.get('th1')).toEqual(s);
        await rejectsWithConflict(repo.sessions.create(s));
        await repo.sessions.delete('th1');
        expect(await repo.sessions.get('th1')).toBeUndefined();
        await repo.sessions.delete('th1'); // deleting twice is fine
        await repo.sessions.create(s);
        clock.advance(15 * 60_000);
        expect(await repo.sessions.get('th1')).toBeUndefined();
        // An expired session is as good as absent, even while the store still holds it.
        await repo.sessions.create({ ...s, expiresAt: plusMinutes(T0, 60) });
        expect((await repo.sessions.get('th1'))?.expiresAt).toBe(plusMinutes(T0, 60));
      });
    });

    describe('markers', () => {
      it('lets only the first claim win until the marker expires', async () => {
        expect(await repo.markers.claim('cb:T1', plusMinutes(T0, 10), { amount: 278 })).toBe(true);
        expect(await repo.markers.claim('cb:T1', plusMinutes(T0, 10))).toBe(false);
        expect(await repo.markers.get('cb:T1')).toEqual({
          key: 'cb:T1',
          expiresAt: plusMinutes(T0, 10),
          value: { amount: 278 },
        });
        expect(await repo.markers.get('cb:T2')).toBeUndefined();
        clock.advance(10 * 60_000);
        expect(await repo.markers.get('cb:T1')).toBeUndefined();
        expect(await repo.markers.claim('cb:T1', plusMinutes(T0, 30))).toBe(true);
        expect(await repo.markers.get('cb:T1')).toEqual({ key: 'cb:T1', expiresAt: plusMinutes(T0, 30) });
      });

      it('gives exactly one of 50 concurrent claims', async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => repo.markers.claim('race', plusMinutes(T0, 5))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('config documents', () => {
      it('creates at expected version 0 and then updates conditionally', async () => {
        expect(await repo.docs.get('crl:issuing-ca-1')).toBeUndefined();
        expect(await repo.docs.put('crl:issuing-ca-1', { crlNumber: 1 }, 0)).toBe(1);
        await rejectsWithConflict(repo.docs.put('crl:issuing-ca-1', { crlNumber: 9 }, 0));
        expect(await repo.docs.put('crl:issuing-ca-1', { crlNumber: 2, der: 'MIIC' }, 1)).toBe(2);
        await rejectsWithConflict(repo.docs.put('crl:issuing-ca-1', { crlNumber: 3 }, 1));
        await rejectsWithConflict(repo.docs.put('never', { x: 1 }, 4));
        expect(await repo.docs.get('crl:issuing-ca-1')).toEqual({ crlNumber: 2, der: 'MIIC', version: 2 });
      });
    });

    describe('concurrency', () => {
      it('applies 50 concurrent read-modify-save updates of one record exactly once each', async () => {
        await repo.cardJobs.create(cardJob({ id: 'hot' }));
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, () =>
            retrying(async () => {
              const j = (await repo.cardJobs.get('hot'))!;
              return repo.cardJobs.save({ ...j, attempts: j.attempts + 1 });
            }),
          ),
        );
        const final = (await repo.cardJobs.get('hot'))!;
        expect(final.attempts).toBe(50);
        expect(final.version).toBe(51);
        // Each successful save produced a distinct version: no two writers both "won" the same one.
        expect(new Set(outcomes.map((o) => o.version)).size).toBe(50);
      });

      it('of 50 single attempts over the same version, the winners and only they are applied', async () => {
        const start = await repo.cardJobs.create(cardJob({ id: 'hot' }));
        const settled = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) =>
            repo.cardJobs.save({ ...start, attempts: start.attempts + 1, leaseOwner: `station-${i}` }),
          ),
        );
        const won = settled.filter((s): s is PromiseFulfilledResult<CardJob> => s.status === 'fulfilled');
        const lost = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
        for (const l of lost) expect(l.reason).toBeInstanceOf(VersionConflictError);
        expect(won).toHaveLength(1);
        const final = (await repo.cardJobs.get('hot'))!;
        expect(final.attempts).toBe(1);
        expect(final.version).toBe(2);
        expect(final.leaseOwner).toBe(won[0]!.value.leaseOwner);
      });

      it('keeps a document counter exact under 50 concurrent increments', async () => {
        await repo.docs.put('counter', { n: 0 }, 0);
        await Promise.all(
          Array.from({ length: 50 }, () =>
            retrying(async () => {
              const d = (await repo.docs.get<{ n: number }>('counter'))!;
              return repo.docs.put('counter', { n: d.n + 1 }, d.version);
            }),
          ),
        );
        expect(await repo.docs.get('counter')).toEqual({ n: 50, version: 51 });
      });
    });
  });
};
