import { createHash, X509Certificate } from 'node:crypto';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createAuditLog } from '../../shared/audit.js';
import { certificateParts } from '../../shared/ca/certificate.js';
import { createCertificateAuthority } from '../../shared/ca/issuer.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import type { RandomSource } from '../../shared/ca/serial.js';
import type { CertificateRecord } from '../../shared/domain/model.js';
import { ConflictError, IllegalTransitionError, ValidationError } from '../../shared/errors.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Repository } from '../../shared/ports/repository.js';
import {
  buildHierarchy,
  cardKeys,
  cardNumberOf,
  officer,
  SoftwareSigner,
  type TestHierarchy,
  workflow,
} from './helpers.js';

const urls = pkiUrls('http://127.0.0.1:8080');
const emailKey = async (email: string) => createHash('sha256').update(`lookup:${email}`).digest('base64url');

describe('issuing CA: issuance order, idempotency, serials, lifecycle (software signer, memory repository)', () => {
  let signer: SoftwareSigner;
  let hierarchy: TestHierarchy;
  const clock = new AdjustableClock(undefined, new Date('2026-11-23T05:00:00.000Z'));
  const keys = cardKeys();

  beforeAll(async () => {
    signer = new SoftwareSigner();
    const refs = {
      root: signer.add('root', 'RSA-2048'),
      issuing: signer.add('issuing', 'RSA-2048'),
      ocsp: signer.add('ocsp', 'EC-P256'),
    };
    hierarchy = await buildHierarchy(signer, refs, new Date('2026-01-01T00:00:00Z'), urls);
  });

  const setup = (opts: { random?: RandomSource; repo?: Repository } = {}) => {
    const repo = opts.repo ?? createMemoryRepository({ clock });
    const audit = createAuditLog(repo.audit, clock);
    const ca = createCertificateAuthority({
      certificates: repo.certificates,
      docs: repo.docs,
      audit,
      signer,
      clock,
      ca: hierarchy.issuing,
      urls,
      emailKey,
      random: opts.random,
    });
    return { repo, audit, ca };
  };

  const input = (
    n: number,
    extra: Partial<Parameters<ReturnType<typeof setup>['ca']['issueCardCertificates']>[0]> = {},
  ) => ({
    applicationId: `app-${n}`,
    cardNumber: cardNumberOf(n),
    holderName: '王小明 WANG, Xiao-Ming',
    subjectSerial: '1234567890123456',
    email: 'holder@example.tw',
    keys,
    actor: workflow,
    ...extra,
  });

  it('issues a signature and an encryption certificate in the Boulder order, audited intent → done', async () => {
    const { repo, audit, ca } = setup();
    const before = signer.signatures;
    const { signature, encryption } = await ca.issueCardCertificates(input(1));
    expect(signer.signatures - before).toBe(2);
    for (const r of [signature, encryption]) {
      expect(r.status).toBe('good');
      expect(r.issuer).toBe('issuing-ca');
      expect(r.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
      expect(r.issuedMonth).toBe('2026-11');
      expect(r.emailKey).toBe(await emailKey('holder@example.tw'));
      const der = Buffer.from(r.der!, 'base64');
      const parts = certificateParts(der);
      expect(r.tbsSha256).toBe(createHash('sha256').update(parts.tbs).digest('hex'));
      const x = new X509Certificate(der);
      expect(x.verify(new X509Certificate(Buffer.from(hierarchy.issuing.certificate)).publicKey)).toBe(true);
      expect(x.subject).toBe('C=TW\nCN=王小明 WANG\\, Xiao-Ming\nserialNumber=1234567890123456');
      expect(x.validFrom).toBe('Nov 23 05:00:00 2026 GMT');
      expect(x.validTo).toBe('Nov 23 05:00:00 2031 GMT');
      expect(x.subjectAltName).toBe('email:holder@example.tw');
    }
    expect(signature.profile).toBe('holder-signature');
    expect(encryption.profile).toBe('holder-encryption');
    const head = await repo.audit.head('main');
    const records = await repo.audit.range('main', 1, head!.seq);
    // One intent record for the card's certificates before any signature, one done record after.
    const intent = records.findIndex((r) => r.action === 'certificate.sign.intent');
    const done = records.findIndex((r) => r.action === 'certificate.sign.done');
    expect(intent).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(intent);
    expect(records[intent]!.subject).toEqual({ type: 'card', id: cardNumberOf(1) });
    const listed = (i: number) =>
      records[i]!.details.certificates as {
        serialNumber: string;
        tbsSha256: string;
        certificateSha256?: string;
      }[];
    for (const r of [signature, encryption]) {
      expect(listed(intent)).toContainEqual(
        expect.objectContaining({ serialNumber: r.serialNumber, tbsSha256: r.tbsSha256 }),
      );
      expect(listed(done)).toContainEqual(
        expect.objectContaining({
          serialNumber: r.serialNumber,
          certificateSha256: createHash('sha256').update(Buffer.from(r.der!, 'base64')).digest('hex'),
        }),
      );
    }
    expect(JSON.stringify(records)).not.toContain('holder@example.tw');
    expect((await audit.verify()).ok).toBe(true);
  });

  it('is idempotent: the same application and card get the same certificates, nothing signed twice', async () => {
    const { ca, repo } = setup();
    const first = await ca.issueCardCertificates(input(2));
    const before = signer.signatures;
    const again = await ca.issueCardCertificates(input(2));
    expect(signer.signatures).toBe(before);
    expect(again.signature.serialNumber).toBe(first.signature.serialNumber);
    expect(again.encryption.der).toBe(first.encryption.der);
    expect((await repo.certificates.listByCard(cardNumberOf(2))).length).toBe(2);
  });

  it('concurrent first calls for one card settle on one pair of certificates', async () => {
    const { ca, repo } = setup();
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => ca.issueCardCertificates(input(3))));
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(ok.length).toBeGreaterThan(0);
    // Any caller that lost a race got a retryable conflict, never a second certificate.
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as { retryable?: boolean }).retryable).toBe(true);
    const final = await ca.issueCardCertificates(input(3));
    for (const r of ok) expect(r.signature.serialNumber).toBe(final.signature.serialNumber);
    const live = (await repo.certificates.listByCard(cardNumberOf(3))).filter(
      (c) => c.status !== 'abandoned',
    );
    expect(live.map((c) => c.status).sort()).toEqual(['good', 'good']);
  });

  it('1,000 serial numbers are unique, positive, 16 octets', async () => {
    const { ca, repo } = setup();
    const serials = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const r = await ca.issueCardCertificates(input(1000 + i, { email: undefined }));
      serials.add(r.signature.serialNumber);
      serials.add(r.encryption.serialNumber);
    }
    expect(serials.size).toBe(1000);
    for (const s of serials) {
      const der = Buffer.from((await repo.certificates.get(s))!.der!, 'base64');
      const serialTlv = certificateParts(der);
      expect(serialTlv.serialNumber).toBe(s);
      const bytes = Buffer.from(s, 'hex');
      expect(bytes.length).toBe(16);
      expect(bytes[0]! & 0x80).toBe(0); // positive, no 0x00 padding needed
      expect(bytes[0]).toBeGreaterThanOrEqual(0x40);
    }
  }, 60_000);

  it('a serial collision (a random source that repeats) is retried with a new serial, never duplicated', async () => {
    // The first draws repeat the same 16 bytes; later draws are fresh.
    const fixed = Buffer.alloc(16, 0x5a);
    let draws = 0;
    const repeating: RandomSource = (n) => {
      draws++;
      return draws <= 3
        ? fixed
        : Buffer.from(Array.from({ length: n }, (_, i) => (draws * 31 + i * 7) & 0xff));
    };
    const { ca, repo } = setup({ random: repeating });
    const a = await ca.issueCardCertificates(input(5, { email: undefined }));
    const serials = [a.signature.serialNumber, a.encryption.serialNumber];
    expect(new Set(serials).size).toBe(2);
    expect(serials).toContain('5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a');
    expect(draws).toBeGreaterThanOrEqual(3); // the repeats were drawn and refused
    const b = await ca.issueCardCertificates(input(6, { email: undefined }));
    const all = [...serials, b.signature.serialNumber, b.encryption.serialNumber];
    expect(new Set(all).size).toBe(4);
    for (const s of all) expect((await repo.certificates.get(s))!.status).toBe('good');
  });

  it('refuses bad input before reserving anything, naming the field', async () => {
    const { ca, repo } = setup();
    const expectRule = async (p: Promise<unknown>, field: string, rule: string) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ValidationError);
      expect(e).toMatchObject({ field, rule });
    };
    await expectRule(
      ca.issueCardCertificates(input(7, { subjectSerial: 'A123456789' })),
      'subjectSerial',
      'certificate.subject.serialNumber',
    );
    await expectRule(
      ca.issueCardCertificates(input(7, { holderName: '' })),
      'holderName',
      'certificate.subject.cn',
    );
    await expectRule(
      ca.issueCardCertificates(input(7, { holderName: 'x'.repeat(65) })),
      'holderName',
      'certificate.subject.cn',
    );
    await expectRule(
      ca.issueCardCertificates(input(7, { email: 'not an email' })),
      'email',
      'certificate.email',
    );
    await expectRule(
      ca.issueCardCertificates(input(7, { email: '王@example.tw' })),
      'email',
      'certificate.email',
    );
    await expectRule(ca.issueCardCertificates(input(7, { cardNumber: '12' })), 'cardNumber', 'card.number');
    await expectRule(
      ca.issueCardCertificates(
        input(7, { keys: { signature: keys.signature, encryption: { ...keys.signature, keyId: '02' } } }),
      ),
      'keys.encryption.spki',
      'certificate.key.reuse',
    );
    const weak = cardKeys('RSA-2048').signature;
    await expectRule(
      ca.issueCardCertificates(
        input(7, { keys: { signature: { ...weak, algorithm: 'EC-P256' }, encryption: keys.encryption } }),
      ),
      'keys.signature.algorithm',
      'certificate.key.mismatch',
    );
    await expectRule(
      ca.issueCardCertificates(
        input(7, { keys: { signature: { ...weak, spki: 'AAAA' }, encryption: keys.encryption } }),
      ),
      'keys.signature.spki',
      'certificate.key.invalid',
    );
    const { generateKeyPairSync } = await import('node:crypto');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    await expectRule(
      ca.issueCardCertificates(
        input(7, {
          keys: {
            signature: { spki: small.toString('base64'), algorithm: 'RSA-2048', keyId: '01' },
            encryption: keys.encryption,
          },
        }),
      ),
      'keys.signature.spki',
      'certificate.key.algorithm',
    );
    expect(await repo.certificates.listByCard(cardNumberOf(7))).toEqual([]);
  });

  it('EC card keys: keyAgreement on the encryption certificate, signature certificate unchanged', async () => {
    const { ca } = setup();
    const ec = cardKeys('EC-P256', 'EC-P256');
    const r = await ca.issueCardCertificates(input(8, { keys: ec }));
    const enc = new X509Certificate(Buffer.from(r.encryption.der!, 'base64'));
    expect(enc.toLegacyObject().ext_key_usage).toEqual(['1.3.6.1.5.5.7.3.4']);
    expect(enc.publicKey.asymmetricKeyType).toBe('ec');
  });

  it('a crash after signing leaves a reserved record with the TBS hash; a retry signs the identical TBS', async () => {
    const { ca, repo } = setup();
    // Fail the store after signing: the repository refuses the write that would make it `good`.
    const certs = repo.certificates;
    const realSave = certs.save.bind(certs);
    let failGood = true;
    certs.save = async (c: CertificateRecord) => {
      if (c.status === 'good' && failGood) throw new Error('database went away');
      return realSave(c);
    };
    await expect(ca.issueCardCertificates(input(9))).rejects.toThrow('database went away');
    const reserved = await certs.listByCard(cardNumberOf(9));
    expect(reserved.map((r) => r.status)).toEqual(['reserved', 'reserved']);
    for (const r of reserved) {
      expect(r.tbsSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.issuer).toBe('issuing-ca');
      expect(r.applicationId).toBe('app-9');
    }
    failGood = false;
    clock.advance(90_000); // later retry: the reservation's notBefore is kept
    const r = await ca.issueCardCertificates(input(9));
    clock.advance(-90_000);
    const byProfile = Object.fromEntries(reserved.map((x) => [x.profile, x]));
    expect(r.signature.serialNumber).toBe(byProfile['holder-signature']!.serialNumber);
    expect(r.signature.tbsSha256).toBe(byProfile['holder-signature']!.tbsSha256);
    expect(r.signature.notBefore).toBe(byProfile['holder-signature']!.notBefore);
    // Every signed certificate was announced by an intent record before its done record — the retry
    // recorded its intent again before signing.
    const head = await repo.audit.head('main');
    const log = await repo.audit.range('main', 1, head!.seq);
    const serialsOf = (a: string) =>
      log.flatMap((x, i) =>
        x.action === a
          ? (x.details.certificates as { serialNumber: string }[]).map((c) => ({ i, s: c.serialNumber }))
          : [],
      );
    const intents = serialsOf('certificate.sign.intent');
    for (const d of serialsOf('certificate.sign.done')) {
      expect(intents.some((x) => x.s === d.s && x.i < d.i)).toBe(true);
    }
    expect(intents.filter((x) => x.s === r.signature.serialNumber).length).toBe(2);
  });

  it('a retry with a changed request revokes the possibly-signed reservation and issues anew', async () => {
    const { ca, repo } = setup();
    const certs = repo.certificates;
    const realSave = certs.save.bind(certs);
    certs.save = async (c: CertificateRecord) => {
      if (c.status === 'good') throw new Error('crash');
      return realSave(c);
    };
    await expect(ca.issueCardCertificates(input(10))).rejects.toThrow('crash');
    certs.save = realSave;
    const r = await ca.issueCardCertificates(input(10, { email: 'changed@example.tw' }));
    const all = await certs.listByCard(cardNumberOf(10));
    expect(all.filter((c) => c.status === 'revoked').map((c) => c.revocationReason)).toEqual([
      'superseded',
      'superseded',
    ]);
    expect(
      all
        .filter((c) => c.status === 'good')
        .map((c) => c.serialNumber)
        .sort(),
    ).toEqual([r.signature.serialNumber, r.encryption.serialNumber].sort());
    const crl = await ca.crl.latest();
    expect(crl!.entries).toBe(2);
  });

  it('stale reservations: never signed → abandoned; possibly signed → revoked', async () => {
    const { ca, repo } = setup();
    const certs = repo.certificates;
    const realSave = certs.save.bind(certs);
    let n = 0;
    certs.save = async (c: CertificateRecord) => {
      // first card: crash before intent (no TBS hash); second card: crash after signing
      if (n === 0 && c.tbsSha256) throw new Error('crash before intent');
      if (n === 1 && c.status === 'good') throw new Error('crash after sign');
      return realSave(c);
    };
    await expect(ca.issueCardCertificates(input(11))).rejects.toThrow();
    n = 1;
    await expect(ca.issueCardCertificates(input(12))).rejects.toThrow();
    certs.save = realSave;
    const res = await ca.resolveStaleReservations(new Date(clock.now().getTime() + 1000), officer);
    expect(res.abandoned.length).toBe(2);
    expect(res.revoked.length).toBe(2);
    for (const s of res.revoked) expect((await certs.get(s))!.status).toBe('revoked');
    // Abandoned reservations are replaced by a fresh issuance on retry.
    const again = await ca.issueCardCertificates(input(11));
    expect(res.abandoned).not.toContain(again.signature.serialNumber);
    // Revoked ones are not re-issued by a retry.
    await expect(ca.issueCardCertificates(input(12))).rejects.toBeInstanceOf(ConflictError);
  });

  it('hold, release and revoke follow the certificate lifecycle and regenerate the CRL each time', async () => {
    const { ca, audit } = setup();
    const r = await ca.issueCardCertificates(input(13));
    const s = r.signature.serialNumber;
    const held = await ca.hold(s, officer);
    expect(held.status).toBe('hold');
    const n1 = (await ca.crl.latest())!;
    expect(n1.entries).toBe(1);
    expect((await ca.hold(s, officer)).status).toBe('hold'); // idempotent
    const released = await ca.release(s, officer);
    expect(released.status).toBe('good');
    expect(released.holdAt).toBeUndefined();
    const n2 = (await ca.crl.latest())!;
    expect(n2.entries).toBe(0);
    expect(n2.number).toBeGreaterThan(n1.number);
    const revoked = await ca.revoke(s, 'keyCompromise', officer);
    expect(revoked.status).toBe('revoked');
    expect(revoked.revocationReason).toBe('keyCompromise');
    expect((await ca.revoke(s, 'keyCompromise', officer)).version).toBe(revoked.version); // idempotent
    await expect(ca.hold(s, officer)).rejects.toBeInstanceOf(IllegalTransitionError);
    await expect(ca.release(s, officer)).rejects.toBeInstanceOf(IllegalTransitionError);
    await expect(ca.revoke(s, 'certificateHold', officer)).rejects.toBeInstanceOf(ValidationError);
    await expect(ca.revoke('ffff', 'unspecified', officer)).rejects.toMatchObject({ code: 'not_found' });
    expect((await audit.verify()).ok).toBe(true);
  });

  it('re-issue on the same card (new e-mail): new certificates first, then the old ones revoked as superseded; retries return the same', async () => {
    const { ca, repo } = setup();
    const first = await ca.issueCardCertificates(input(15));
    const reissue = {
      ...input(15, { email: 'new.address@example.tw' }),
      issuance: 'email-change-1',
      supersedes: [first.signature.serialNumber, first.encryption.serialNumber],
    };
    const before = signer.signatures;
    const second = await ca.issueCardCertificates(reissue);
    expect(signer.signatures - before).toBe(3); // two certificates and the CRL that revokes the old pair
    expect(second.signature.serialNumber).not.toBe(first.signature.serialNumber);
    expect(new X509Certificate(Buffer.from(second.signature.der!, 'base64')).subjectAltName).toBe(
      'email:new.address@example.tw',
    );
    for (const old of [first.signature, first.encryption]) {
      const r = (await repo.certificates.get(old.serialNumber))!;
      expect(r).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
      expect([second.signature.serialNumber, second.encryption.serialNumber]).toContain(r.supersededBy);
    }
    expect((await ca.crl.latest())!.entries).toBe(2);
    const again = await ca.issueCardCertificates(reissue);
    expect(again.signature.serialNumber).toBe(second.signature.serialNumber);
    expect(signer.signatures - before).toBe(3);
    // The first issuance's own retry still answers with the (now revoked) originals: no third pair.
    await expect(ca.issueCardCertificates(input(15))).rejects.toBeInstanceOf(ConflictError);
    await expect(
      ca.issueCardCertificates({
        ...reissue,
        issuance: 'email-change-2',
        supersedes: ['40000000000000000000000000000001'],
      }),
    ).rejects.toMatchObject({ field: 'supersedes.0' });
  });

  it('CRL numbers only go up, even with concurrent publishers', async () => {
    const { ca } = setup();
    const crls = await Promise.all(Array.from({ length: 8 }, () => ca.regenerateCrl()));
    const numbers = crls.map((c) => c.number).sort((a, b) => (a < b ? -1 : 1));
    expect(new Set(numbers).size).toBe(8);
    expect((await ca.crl.latest())!.number).toBe(numbers[7]);
  });

  it('refuses to issue a certificate that would outlive the issuing CA', async () => {
    const { ca } = setup();
    const late = new AdjustableClock(undefined, new Date(hierarchy.issuing.notAfter.getTime() - 86400_000));
    const repo = createMemoryRepository({ clock: late });
    const lateCa = createCertificateAuthority({
      certificates: repo.certificates,
      docs: repo.docs,
      audit: createAuditLog(repo.audit, late),
      signer,
      clock: late,
      ca: hierarchy.issuing,
      urls,
      emailKey,
    });
    await expect(lateCa.issueCardCertificates(input(14))).rejects.toMatchObject({
      rule: 'certificate.validity.ca',
    });
    expect(await repo.certificates.listByCard(cardNumberOf(14))).toEqual([]);
    expect(ca).toBeDefined();
  });
});
