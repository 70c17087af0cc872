import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createFileCrlBlobs } from '../../shared/adapters/files/crl-blobs.js';
import { createMemoryCrlBlobs } from '../../shared/adapters/memory/crl-blobs.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createS3CrlBlobs } from '../../shared/adapters/s3/crl-blobs.js';
import { createAuditLog } from '../../shared/audit.js';
import { type CrlDocument, createCrlPublisher, crlDocumentName } from '../../shared/ca/crl.js';
import { createCertificateAuthority } from '../../shared/ca/issuer.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import type { CertificateRecord, RevocationReason } from '../../shared/domain/model.js';
import { DependencyError, InternalError } from '../../shared/errors.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { CrlBlobStore } from '../../shared/ports/crl-blobs.js';
import { buildHierarchy, openssl, SoftwareSigner, type TestHierarchy, writePem } from './helpers.js';

/**
 * CRL publication: the table document holds the CRL's number, dates, size and digest; the CRL itself goes
 * to a blob store (files locally, S3 in AWS). A national CA's CRL is megabytes, far past a DynamoDB item.
 */

const urls = pkiUrls('http://127.0.0.1:8080');
const REASONS: RevocationReason[] = ['keyCompromise', 'superseded', 'cessationOfOperation', 'unspecified'];

/** A revoked (or, every 7th, held) certificate record as the issuer would have left it. */
const revokedRecord = (i: number, now: Date): CertificateRecord => {
  const at = new Date(now.getTime() - (i % 1000) * 60_000).toISOString();
  const held = i % 7 === 0;
  return {
    serialNumber: `5${i.toString(16).padStart(31, '0')}`,
    issuer: 'issuing-ca',
    profile: i % 2 ? 'holder-signature' : 'holder-encryption',
    status: held ? 'hold' : 'revoked',
    cardNumber: `AC${String(Math.floor(i / 2)).padStart(14, '0')}`,
    applicationId: `app-${Math.floor(i / 2)}`,
    subjectName: 'TEST HOLDER',
    subjectSerial: '1234567890123456',
    issuedMonth: '2026-01',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2031-01-01T00:00:00.000Z',
    reservedAt: '2026-01-01T00:00:00.000Z',
    issuedAt: '2026-01-01T00:00:00.000Z',
    ...(held ? { holdAt: at } : { revokedAt: at, revocationReason: REASONS[i % REASONS.length] }),
    updatedAt: at,
    version: 1,
  };
};

describe('CRL publication (blob store + digest in the table)', () => {
  const clock = new AdjustableClock(undefined, new Date('2026-11-23T05:00:00.000Z'));
  let signer: SoftwareSigner;
  let hierarchy: TestHierarchy;
  let dir: string;
  let issuingPem: string;

  beforeAll(async () => {
    signer = new SoftwareSigner();
    hierarchy = await buildHierarchy(
      signer,
      {
        root: signer.add('root', 'RSA-2048'),
        issuing: signer.add('issuing', 'RSA-2048'),
        ocsp: signer.add('ocsp', 'RSA-2048'),
      },
      new Date('2026-01-01T00:00:00Z'),
      urls,
    );
    dir = await mkdtemp(join(tmpdir(), 'crl-pub-'));
    issuingPem = await writePem(dir, 'issuing-ca.pem', hierarchy.issuing.certificate);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const setup = (blobs: CrlBlobStore) => {
    const repo = createMemoryRepository({ clock });
    const ca = createCertificateAuthority({
      certificates: repo.certificates,
      docs: repo.docs,
      audit: createAuditLog(repo.audit, clock),
      signer,
      clock,
      ca: hierarchy.issuing,
      urls,
      crlBlobs: blobs,
    });
    return { repo, ca };
  };

  it('publishes a CRL of more than 10,000 entries as a file that OpenSSL verifies; the table keeps only its digest', async () => {
    const crlDir = join(dir, 'big', 'pki', 'crl');
    const { repo, ca } = setup(createFileCrlBlobs(crlDir));
    const n = 12_000;
    for (let i = 1; i <= n; i++) await repo.certificates.create(revokedRecord(i, clock.now()));

    const info = await ca.regenerateCrl();
    expect(info.entries).toBe(n);
    expect(info.size).toBeGreaterThan(400 * 1024); // past what one DynamoDB item could hold

    const doc = (await repo.docs.get<CrlDocument & { der?: string }>(crlDocumentName('issuing-ca')))!;
    expect(doc.der).toBeUndefined();
    expect(JSON.stringify(doc).length).toBeLessThan(1024);
    const file = join(crlDir, 'issuing-ca.crl');
    const der = await readFile(file);
    expect(der.byteLength).toBe(doc.size);
    expect(createHash('sha256').update(der).digest('hex')).toBe(doc.sha256);
    expect((await readdir(crlDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const verify = await openssl('crl', '-inform', 'DER', '-in', file, '-CAfile', issuingPem, '-noout');
    expect(verify.stdout + verify.stderr).toContain('verify OK');
    // The text dump is megabytes: to a file (execFile buffers 1 MB of output).
    const textFile = join(dir, 'big', 'crl.txt');
    const dump = await openssl('crl', '-inform', 'DER', '-in', file, '-noout', '-text', '-out', textFile);
    expect(dump.code).toBe(0);
    const text = await readFile(textFile, 'utf8');
    expect(text.match(/Serial Number:/g)?.length).toBe(n);
    expect(text).toContain('Certificate Hold');
    expect(text).toContain('Key Compromise');
    expect(text).toMatch(new RegExp(`X509v3 CRL Number: *\\n *${info.number}\\n`));

    const latest = (await ca.crl.latest())!;
    expect(Buffer.from(latest.der).equals(der)).toBe(true);
    expect(latest.pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
  }, 120_000);

  it('serves no CRL whose bytes are not the ones the table names, and the next read publishes a fresh one', async () => {
    const blobs = createMemoryCrlBlobs();
    const { repo, ca } = setup(blobs);
    await repo.certificates.create(revokedRecord(1, clock.now()));
    const first = await ca.regenerateCrl();
    const firstDer = (await blobs.get('issuing-ca'))!;
    await ca.regenerateCrl();
    // An older CRL lands after the newer one (two writers, out of order).
    await blobs.put('issuing-ca', firstDer);
    expect(await ca.crl.latest()).toBeUndefined();
    const current = await ca.crl.current();
    expect(current.number).toBe(first.number + 2n);
    expect(Buffer.from((await blobs.get('issuing-ca'))!).equals(Buffer.from(current.der))).toBe(true);
  });

  it('claims the CRL number before publishing: a failed publication leaves no CRL to serve, then heals', async () => {
    const inner = createMemoryCrlBlobs();
    let fail = true;
    const flaky: CrlBlobStore = {
      put: async (caId, der) => {
        if (fail) throw new DependencyError('bucket unreachable');
        await inner.put(caId, der);
      },
      get: (caId) => inner.get(caId),
    };
    const { repo, ca } = setup(flaky);
    await expect(ca.regenerateCrl()).rejects.toBeInstanceOf(DependencyError);
    expect((await repo.docs.get<CrlDocument>(crlDocumentName('issuing-ca')))?.number).toBe('1');
    expect(await ca.crl.latest()).toBeUndefined();
    fail = false;
    const healed = await ca.crl.current();
    expect(healed.number).toBe(2n);
    expect(healed.entries).toBe(0);
  });

  it('fetches and hashes the CRL bytes once per CRL, not once per read', async () => {
    const inner = createMemoryCrlBlobs();
    let gets = 0;
    const counting: CrlBlobStore = {
      put: (caId, der) => inner.put(caId, der),
      get: async (caId) => {
        gets++;
        return inner.get(caId);
      },
    };
    const { ca } = setup(counting);
    const first = await ca.regenerateCrl();
    for (let i = 0; i < 5; i++) expect((await ca.crl.current()).number).toBe(first.number);
    expect(gets).toBe(1);
    await ca.regenerateCrl();
    expect((await ca.crl.latest())!.number).toBe(first.number + 1n);
    expect((await ca.crl.latest())!.number).toBe(first.number + 1n);
    expect(gets).toBe(2);
  });

  it('racing publishers never publish two CRLs with one number', async () => {
    const blobs = createMemoryCrlBlobs();
    const puts: string[] = [];
    const recording: CrlBlobStore = {
      put: async (caId, der) => {
        puts.push(createHash('sha256').update(der).digest('hex'));
        await blobs.put(caId, der);
      },
      get: (caId) => blobs.get(caId),
    };
    const repo = createMemoryRepository({ clock });
    const publishers = Array.from({ length: 4 }, () =>
      createCrlPublisher({
        docs: repo.docs,
        certificates: repo.certificates,
        signer,
        clock,
        ca: hierarchy.issuing,
        blobs: recording,
      }),
    );
    const results = await Promise.all(publishers.map((p) => p.regenerate()));
    expect(results.map((r) => r.number).sort()).toEqual([1n, 2n, 3n, 4n]);
    expect(puts.length).toBe(4);
    expect(new Set(puts).size).toBe(4);
  });

  it('file store: CA ids only (no paths), atomic replace, absent is undefined', async () => {
    const blobs = createFileCrlBlobs(join(dir, 'files'));
    expect(await blobs.get('issuing-ca')).toBeUndefined();
    await expect(blobs.put('../x', Uint8Array.of(1))).rejects.toBeInstanceOf(InternalError);
    await expect(blobs.get('issuing-ca/../../x')).rejects.toBeInstanceOf(InternalError);
    await blobs.put('issuing-ca', Uint8Array.of(1, 2, 3));
    await blobs.put('issuing-ca', Uint8Array.of(4, 5));
    expect([...(await blobs.get('issuing-ca'))!]).toEqual([4, 5]);
    expect(await readdir(join(dir, 'files'))).toEqual(['issuing-ca.crl']);
    await writeFile(join(dir, 'files', 'root-ca.crl'), Uint8Array.of(9));
    expect([...(await blobs.get('root-ca'))!]).toEqual([9]);
  });

  it('memory store copies in and out', async () => {
    const blobs = createMemoryCrlBlobs();
    const der = Uint8Array.of(1, 2, 3);
    await blobs.put('issuing-ca', der);
    der[0] = 9;
    const out = (await blobs.get('issuing-ca'))!;
    out[1] = 9;
    expect([...(await blobs.get('issuing-ca'))!]).toEqual([1, 2, 3]);
    expect(blobs.size).toBe(1);
  });

  describe('S3 store (the PKI repository bucket)', () => {
    const s3 = mockClient(S3Client);
    afterEach(() => s3.reset());
    const store = () =>
      createS3CrlBlobs({ client: new S3Client({ region: 'ap-east-2' }), bucket: 'pki-bucket' });

    it('puts pki/crl/<ca>.crl with the CRL media type and a short cache lifetime', async () => {
      s3.on(PutObjectCommand).resolves({});
      await store().put('issuing-ca', Uint8Array.of(0x30, 0x00));
      const input = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
      expect(input).toMatchObject({
        Bucket: 'pki-bucket',
        Key: 'pki/crl/issuing-ca.crl',
        ContentType: 'application/pkix-crl',
        CacheControl: 'public, max-age=300',
      });
    });

    it('reads the object back; a missing object is no CRL; other failures are dependency errors', async () => {
      s3.on(GetObjectCommand, { Key: 'pki/crl/issuing-ca.crl' }).resolves({
        Body: { transformToByteArray: async () => Uint8Array.of(0x30, 0x00) } as never,
      });
      expect([...(await store().get('issuing-ca'))!]).toEqual([0x30, 0x00]);
      s3.on(GetObjectCommand, { Key: 'pki/crl/root-ca.crl' }).rejects(
        new NoSuchKey({ message: 'no such key', $metadata: {} }),
      );
      expect(await store().get('root-ca')).toBeUndefined();
      s3.on(PutObjectCommand).rejects(new Error('AccessDenied'));
      await expect(store().put('issuing-ca', Uint8Array.of(1))).rejects.toBeInstanceOf(DependencyError);
    });
  });
});
