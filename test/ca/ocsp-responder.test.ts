import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicOCSPResponse, OCSPRequest, OCSPResponse } from '@peculiar/asn1-ocsp';
import { AsnConvert } from '@peculiar/asn1-schema';
import fc from 'fast-check';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import {
  type Bytes,
  boolTrue,
  derNull,
  explicit,
  hexToBytes,
  octetString,
  oid,
  seq,
  tlv,
  unsignedInteger,
} from '../../shared/ca/der.js';
import { sha1, spkiKeyBits, verifySignature } from '../../shared/ca/keys.js';
import {
  createOcspResponder,
  type OcspResponderDeps,
  type ParsedOcspRequest,
  parseOcspRequest,
} from '../../shared/ca/ocsp.js';
import type { CertificateRecord } from '../../shared/domain/model.js';
import { DependencyError } from '../../shared/errors.js';
import { AdjustableClock, systemClock } from '../../shared/ports/clock.js';
import type { CaKeyAlgorithm, Signer } from '../../shared/ports/signer.js';
import { buildHierarchy, openssl, SoftwareSigner, type TestHierarchy, writePem } from './helpers.js';

/**
 * The OCSP responder over the in-memory store with a software signer: the strict request reader (checked
 * against the schema-driven parser it replaced, on OpenSSL's requests and on mutations of them), the
 * answers (status, reason, nonce echo, CertID echo, freshness after a status change) and the signature
 * self-check (RSA: every response; EC: until one verifies, then sampled, and again after a failure).
 */

const hex = (b: ArrayBuffer | Uint8Array) =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');
const NONCE = '1.3.6.1.5.5.7.48.1.2';

/** What the schema-driven parser (asn1-schema + asn1js) makes of a request, in the reader's terms. */
const viaLibrary = (der: Uint8Array) => {
  const req = AsnConvert.parse(der, OCSPRequest);
  const nonce = req.tbsRequest.requestExtensions?.find((e) => e.extnID === NONCE);
  return {
    requests: req.tbsRequest.requestList.map((r) => ({
      certId: hex(AsnConvert.serialize(r.reqCert)),
      hashAlgorithm: hex(oid(r.reqCert.hashAlgorithm.algorithm)),
      issuerNameHash: hex(r.reqCert.issuerNameHash.buffer),
      issuerKeyHash: hex(r.reqCert.issuerKeyHash.buffer),
      serialNumber: hex(r.reqCert.serialNumber),
    })),
    nonce: nonce ? hex(nonce.extnValue.buffer) : undefined,
  };
};
const viaReader = (p: ParsedOcspRequest) => ({
  requests: p.requests.map((r) => ({
    certId: hex(r.certId),
    hashAlgorithm: hex(r.hashAlgorithm),
    issuerNameHash: hex(r.issuerNameHash),
    issuerKeyHash: hex(r.issuerKeyHash),
    serialNumber: hex(r.serialNumber),
  })),
  nonce: p.nonce ? hex(p.nonce) : undefined,
});

const SHA1 = seq(oid('1.3.14.3.2.26'), derNull);
const certIdOf = (h: TestHierarchy, serialHex: string, alg: Bytes = SHA1) =>
  seq(
    alg,
    octetString(sha1(h.issuing.subject)),
    octetString(sha1(spkiKeyBits(h.issuing.spki))),
    unsignedInteger(hexToBytes(serialHex)),
  );
const nonceExtensions = (nonce: Bytes) => explicit(2, seq(seq(oid(NONCE), octetString(octetString(nonce)))));
/** OCSPRequest { TBSRequest { [fields before], requestList, [extensions] } }. */
const request = (certIds: Bytes[], opts: { before?: Bytes[]; after?: Bytes[] } = {}) =>
  seq(seq(...(opts.before ?? []), seq(...certIds.map((c) => seq(c))), ...(opts.after ?? [])));

const record = (
  serialNumber: string,
  status: CertificateRecord['status'],
  extra: Partial<CertificateRecord> = {},
): CertificateRecord => ({
  serialNumber,
  issuer: 'issuing-ca',
  profile: 'holder-signature',
  status,
  cardNumber: 'AC00000000000001',
  applicationId: 'app-1',
  subjectName: 'ANA SANTOS',
  subjectSerial: '1234567890123456',
  issuedMonth: '2026-06',
  notBefore: '2026-06-01T00:00:00.000Z',
  notAfter: '2031-06-01T00:00:00.000Z',
  reservedAt: '2026-06-01T00:00:00.000Z',
  issuedAt: '2026-06-01T00:00:00.000Z',
  updatedAt: '2026-06-01T00:00:00.000Z',
  version: 1,
  ...extra,
});

/** The response, parsed and its signature checked against the responder certificate's key. */
const open = (h: TestHierarchy, der: Uint8Array) => {
  const res = AsnConvert.parse(der, OCSPResponse);
  if (res.responseStatus !== 0) return { status: res.responseStatus as number };
  const basic = AsnConvert.parse(res.responseBytes!.response.buffer, BasicOCSPResponse);
  const tbs = new Uint8Array(AsnConvert.serialize(basic.tbsResponseData));
  const verifies = verifySignature(
    h.ocspResponder.spki,
    h.ocspResponder.key.algorithm,
    tbs,
    new Uint8Array(basic.signature),
  );
  const nonce = basic.tbsResponseData.responseExtensions?.find((e) => e.extnID === NONCE);
  return {
    status: 0,
    verifies,
    basic,
    single: basic.tbsResponseData.responses,
    nonce: nonce ? hex(nonce.extnValue.buffer) : undefined,
  };
};

const setup = async (algorithm: CaKeyAlgorithm, deps: Partial<OcspResponderDeps> = {}) => {
  const signer = new SoftwareSigner();
  const h = await buildHierarchy(
    signer,
    {
      root: signer.add('r', 'EC-P256'),
      issuing: signer.add('i', 'EC-P256'),
      ocsp: signer.add('o', algorithm),
    },
    new Date('2026-01-01T00:00:00Z'),
  );
  const repo = createMemoryRepository();
  const clock = new AdjustableClock(systemClock, new Date('2026-11-23T08:00:00.500Z'));
  const errors: unknown[] = [];
  const responder = createOcspResponder({
    certificates: repo.certificates,
    signer,
    clock,
    issuer: h.issuing,
    responder: h.ocspResponder,
    onError: (e) => errors.push(e),
    ...deps,
  });
  return { signer, h, repo, clock, responder, errors };
};

/** A signer that corrupts its signatures while `bad` is set. */
const corrupting = (inner: Signer) => {
  const s = {
    bad: false,
    sign: async (ref: Parameters<Signer['sign']>[0], tbs: Uint8Array) => {
      const sig = await inner.sign(ref, tbs);
      if (!s.bad) return sig;
      const out = Uint8Array.from(sig);
      out[out.length - 5]! ^= 0x01;
      return out;
    },
    publicKey: (ref: Parameters<Signer['publicKey']>[0]) => inner.publicKey(ref),
  };
  return s;
};

describe('parseOcspRequest', () => {
  let dir: string;
  let h: TestHierarchy;
  const seeds: { name: string; der: Uint8Array }[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocsp-reader-'));
    ({ h } = await setup('EC-P256'));
    const issuer = await writePem(dir, 'issuing.pem', h.issuing.certificate);
    const fromOpenssl = async (name: string, ...args: string[]) => {
      const out = join(dir, `${seeds.length}.der`);
      const r = await openssl('ocsp', '-issuer', issuer, ...args, '-reqout', out);
      expect(r.code).toBe(0);
      seeds.push({ name, der: new Uint8Array(await readFile(out)) });
    };
    await fromOpenssl('nonce (openssl default)', '-serial', '0x4a5b6c7d8e9f0011');
    await fromOpenssl('no nonce', '-serial', '0x0080', '-no_nonce');
    await fromOpenssl('three CertIDs', '-serial', '0x01', '-serial', '0xff', '-serial', '0x7f01');
    await fromOpenssl('SHA-256 CertID', '-sha256', '-serial', '0x123456789abcdef0');
    // A signed request with a requestor name: the responder ignores both, but must read past them.
    const key = join(dir, 'requestor.key');
    const cert = join(dir, 'requestor.pem');
    expect(
      (
        await openssl(
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          key,
          '-out',
          cert,
          '-subj',
          '/CN=relying party',
          '-days',
          '1',
        )
      ).code,
    ).toBe(0);
    await fromOpenssl('signed, requestor name', '-serial', '0x42', '-signer', cert, '-signkey', key);
    seeds.push({
      name: 'explicit v1, critical nonce, hash parameters absent',
      der: seq(
        seq(
          explicit(0, tlv(0x02, Uint8Array.of(0))),
          seq(seq(certIdOf(h, '0b', seq(oid('1.3.14.3.2.26'))))),
          explicit(2, seq(seq(oid(NONCE), boolTrue, octetString(octetString(Uint8Array.of(1, 2, 3)))))),
        ),
      ),
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads what OpenSSL and hand-built DER requests say, exactly as the schema-driven parser does', () => {
    expect(seeds.map((s) => s.name)).toHaveLength(6);
    for (const s of seeds) {
      const mine = viaReader(parseOcspRequest(s.der));
      expect({ name: s.name, ...mine }).toEqual({ name: s.name, ...viaLibrary(s.der) });
      expect(mine.requests.length).toBeGreaterThan(0);
    }
    const three = parseOcspRequest(seeds[2]!.der);
    expect(three.requests.map((r) => hex(r.serialNumber))).toEqual(['01', '00ff', '7f01']);
    expect(three.nonce).toHaveLength(18); // OCTET STRING of openssl's 16-byte nonce
    expect(parseOcspRequest(seeds[1]!.der).nonce).toBeUndefined();
  });

  it('accepts nothing the schema-driven parser reads differently (mutations of the seeds)', () => {
    // Not the signed one: the parser would also read the requestor's certificate inside the signature,
    // which the responder never uses (it only has to be well-formed DER).
    const mutable = seeds.filter((s) => !s.name.startsWith('signed'));
    let accepted = 0;
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('xor' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
    );
    fc.assert(
      fc.property(
        fc.nat({ max: mutable.length - 1 }),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        (i, edits) => {
          let b = Array.from(mutable[i]!.der);
          for (const e of edits) {
            const at = e.at % (b.length + (e.kind === 'insert' ? 1 : 0) || 1);
            if (e.kind === 'set') b[at] = e.value;
            else if (e.kind === 'xor') b[at] = b[at]! ^ e.value;
            else if (e.kind === 'insert') b.splice(at, 0, e.value);
            else if (e.kind === 'delete') b.splice(at, 1);
            else b = b.slice(0, at);
          }
          const der = Uint8Array.from(b);
          let mine: ParsedOcspRequest;
          try {
            mine = parseOcspRequest(der);
          } catch (e) {
            expect((e as Error).name).toBe('RangeError');
            return;
          }
          accepted++;
          expect(viaReader(mine)).toEqual(viaLibrary(der));
        },
      ),
      { numRuns: 4000, seed: 20261123 },
    );
    // Many mutations (serial, nonce and hash bytes) leave valid requests: the comparison did happen.
    expect(accepted).toBeGreaterThan(100);
  });

  it('reads singleRequestExtensions ([0] EXPLICIT, which the asn1-ocsp 2.6 schema lacks) and skips them', () => {
    const id = certIdOf(h, '0c');
    const der = seq(
      seq(
        seq(seq(id, explicit(0, seq(seq(oid('1.3.6.1.5.5.7.48.1.7'), octetString(derNull)))))),
        nonceExtensions(Uint8Array.of(9)),
      ),
    );
    expect(viaReader(parseOcspRequest(der))).toEqual({
      requests: [
        {
          certId: hex(id),
          hashAlgorithm: hex(oid('1.3.14.3.2.26')),
          issuerNameHash: hex(sha1(h.issuing.subject)),
          issuerKeyHash: hex(sha1(spkiKeyBits(h.issuing.spki))),
          serialNumber: '0c',
        },
      ],
      nonce: hex(octetString(Uint8Array.of(9))),
    });
    expect(() => viaLibrary(der)).toThrow(/schema/);
  });

  it('refuses BER forms, trailing bytes and misplaced or repeated fields', () => {
    const id = certIdOf(h, '0a');
    const good = request([id]);
    expect(() => parseOcspRequest(good)).not.toThrow();
    const bad: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      'trailing byte': Uint8Array.from([...good, 0]),
      'indefinite length': Uint8Array.from([0x30, 0x80, ...good.subarray(2), 0, 0]),
      'padded length': Uint8Array.from([0x30, 0x81, good[1]!, ...good.subarray(2)]),
      'constructed OCTET STRING': request([
        seq(
          SHA1,
          tlv(0x24, octetString(sha1(h.issuing.subject))),
          octetString(new Uint8Array(20)),
          tlv(0x02, Uint8Array.of(1)),
        ),
      ]),
      'non-minimal INTEGER': request([
        seq(
          SHA1,
          octetString(new Uint8Array(20)),
          octetString(new Uint8Array(20)),
          tlv(0x02, Uint8Array.of(0, 0x10)),
        ),
      ]),
      'empty INTEGER': request([
        seq(
          SHA1,
          octetString(new Uint8Array(20)),
          octetString(new Uint8Array(20)),
          tlv(0x02, new Uint8Array(0)),
        ),
      ]),
      'version v2': request([id], { before: [explicit(0, tlv(0x02, Uint8Array.of(1)))] }),
      'hash parameters not NULL': request([
        certIdOf(h, '0a', seq(oid('1.3.14.3.2.26'), octetString(Uint8Array.of(1)))),
      ]),
      'repeated nonce': request([id], {
        after: [
          explicit(
            2,
            seq(
              seq(oid(NONCE), octetString(octetString(Uint8Array.of(1)))),
              seq(oid(NONCE), octetString(octetString(Uint8Array.of(2)))),
            ),
          ),
        ],
      }),
      'empty Extensions': request([id], { after: [explicit(2, seq())] }),
      'BER BOOLEAN': request([id], {
        after: [
          explicit(2, seq(seq(oid(NONCE), tlv(0x01, Uint8Array.of(1)), octetString(Uint8Array.of(4, 1, 9))))),
        ],
      }),
      'non-minimal OID': request([
        certIdOf(h, '0a', seq(tlv(0x06, Uint8Array.of(0x2b, 0x80, 0x0e, 3, 2, 0x1a)), derNull)),
      ]),
      'requestList not a SEQUENCE': seq(seq(tlv(0x31, seq(id)))),
      'extensions before the list': seq(seq(nonceExtensions(Uint8Array.of(1)), seq(seq(id)))),
      'unsigned signature field': seq(seq(seq(seq(id))), explicit(0, tlv(0x02, Uint8Array.of(1)))),
      'multi-byte tag': seq(seq(seq(seq(id)), Uint8Array.of(0xbf, 0x1f, 0x00))),
    };
    for (const [name, der] of Object.entries(bad)) {
      expect({
        name,
        threw: (() => {
          try {
            parseOcspRequest(der);
            return false;
          } catch (e) {
            return e instanceof RangeError;
          }
        })(),
      }).toEqual({ name, threw: true });
    }
  });
});

describe('OCSP responder', () => {
  it('answers good, revoked with reason, hold and unknown; repeats each CertID; echoes the nonce', async () => {
    const { h, repo, responder } = await setup('EC-P256');
    await repo.certificates.create(record('1001', 'good'));
    await repo.certificates.create(
      record('1002', 'revoked', { revokedAt: '2026-11-20T01:02:03.456Z', revocationReason: 'keyCompromise' }),
    );
    await repo.certificates.create(record('1003', 'hold', { holdAt: '2026-11-21T05:06:07.000Z' }));
    await repo.certificates.create(record('1004', 'reserved'));
    await repo.certificates.create(record('1005', 'good', { issuer: 'another-ca' }));
    const ids = ['1001', '1002', '1003', '1004', '1005', '00ffee'].map((s) => certIdOf(h, s));
    const nonce = Uint8Array.from({ length: 32 }, (_, i) => i);
    const out = open(h, await responder.respond(request(ids, { after: [nonceExtensions(nonce)] })));
    expect(out.status).toBe(0);
    expect(out.verifies).toBe(true);
    expect(out.nonce).toBe(hex(octetString(nonce)));
    expect(out.single!.map((r) => hex(AsnConvert.serialize(r.certID)))).toEqual(ids.map(hex));
    const status = out.single!.map((r) => r.certStatus);
    expect(status[0]!.good).toBeDefined();
    expect(status[1]!.revoked!.revocationTime.toISOString()).toBe('2026-11-20T01:02:03.000Z');
    expect(status[1]!.revoked!.revocationReason?.reason).toBe(1); // keyCompromise
    expect(status[2]!.revoked!.revocationReason?.reason).toBe(6); // certificateHold
    expect(status[2]!.revoked!.revocationTime.toISOString()).toBe('2026-11-21T05:06:07.000Z');
    for (const s of status.slice(3)) expect(s.unknown).toBeDefined();
    const r = out.single![0]!;
    expect(r.thisUpdate.toISOString()).toBe('2026-11-23T08:00:00.000Z');
    expect(r.nextUpdate!.toISOString()).toBe('2026-11-23T12:00:00.000Z');
    expect(out.basic!.tbsResponseData.producedAt.toISOString()).toBe('2026-11-23T08:00:00.000Z');
  });

  it('signs every answer when asked: a status change shows in the next response, the clock moves', async () => {
    const { h, repo, clock, responder, signer } = await setup('RSA-2048');
    await repo.certificates.create(record('2001', 'good'));
    const req = request([certIdOf(h, '2001')], { after: [nonceExtensions(Uint8Array.of(7))] });
    const before = signer.signatures;
    expect(open(h, await responder.respond(req)).single![0]!.certStatus.good).toBeDefined();
    const held = (await repo.certificates.get('2001'))!;
    await repo.certificates.save({ ...held, status: 'hold', holdAt: '2026-11-23T08:00:00.900Z' });
    const second = open(h, await responder.respond(req));
    expect(second.single![0]!.certStatus.revoked!.revocationReason?.reason).toBe(6); // certificateHold
    clock.advance(1500);
    const third = open(h, await responder.respond(req));
    expect(third.single![0]!.thisUpdate.toISOString()).toBe('2026-11-23T08:00:02.000Z');
    expect(signer.signatures - before).toBe(3);
  });

  it('refuses other issuers, unknown hashes, malformed, oversized lists and nonces; a store outage is tryLater', async () => {
    const { h, repo, responder, errors } = await setup('EC-P256');
    const status = async (der: Uint8Array) => open(h, await responder.respond(der)).status;
    const foreign = seq(
      SHA1,
      octetString(new Uint8Array(20)),
      octetString(new Uint8Array(20)),
      tlv(0x02, Uint8Array.of(1)),
    );
    expect(await status(request([foreign]))).toBe(6);
    expect(await status(request([certIdOf(h, '01', seq(oid('1.2.840.113549.2.5'), derNull))]))).toBe(6); // MD5
    expect(await status(Buffer.from('not an ocsp request'))).toBe(1);
    expect(await status(request([]))).toBe(1);
    expect(await status(request(Array.from({ length: 11 }, (_, i) => certIdOf(h, `${i + 1}`))))).toBe(1);
    expect(await status(request([certIdOf(h, '01')], { after: [nonceExtensions(new Uint8Array(33))] }))).toBe(
      1,
    );
    expect(await status(request([certIdOf(h, '01')], { after: [nonceExtensions(new Uint8Array(32))] }))).toBe(
      0,
    );
    // Malformed wins over unauthorized: a foreign CertID next to a broken one.
    expect(await status(Uint8Array.from([...request([foreign]), 0]))).toBe(1);
    repo.certificates.get = async () => {
      throw new DependencyError('table unavailable');
    };
    expect(await status(request([certIdOf(h, '01')]))).toBe(3);
    expect(errors).toHaveLength(1);
  });

  it('RSA key: every signature is verified; a faulty one is never sent', async () => {
    const base = await setup('RSA-2048');
    const signer = corrupting(base.signer);
    const { h } = base;
    const responder = createOcspResponder({
      certificates: base.repo.certificates,
      signer,
      clock: base.clock,
      issuer: h.issuing,
      responder: h.ocspResponder,
      selfCheckEvery: 1000, // ignored for RSA
    });
    const req = request([certIdOf(h, '01')]);
    expect(open(h, await responder.respond(req)).status).toBe(0);
    signer.bad = true;
    for (let i = 0; i < 20; i++) expect(open(h, await responder.respond(req)).status).toBe(3);
  });

  it('EC key: verified until one verifies, then one in selfCheckEvery, and every one again after a failure', async () => {
    const base = await setup('EC-P256');
    const signer = corrupting(base.signer);
    const { h } = base;
    const responder = createOcspResponder({
      certificates: base.repo.certificates,
      signer,
      clock: base.clock,
      issuer: h.issuing,
      responder: h.ocspResponder,
      selfCheckEvery: 4,
    });
    const req = request([certIdOf(h, '01')]);
    const answer = async () => open(h, await responder.respond(req));
    // A signer that is wrong from the start: nothing leaves, however many requests are in flight.
    signer.bad = true;
    const first = await Promise.all(Array.from({ length: 8 }, answer));
    expect(first.map((a) => a.status)).toEqual(Array(8).fill(3));
    signer.bad = false;
    expect((await answer()).verifies).toBe(true);
    // Goes bad later: caught within selfCheckEvery answers (the ones before it fail at the relying party).
    signer.bad = true;
    const later = [];
    for (let i = 0; i < 4; i++) later.push(await answer());
    expect(later.filter((a) => a.status === 3)).toHaveLength(1);
    expect(later.filter((a) => a.status === 0).every((a) => a.verifies === false)).toBe(true);
    // After the failure, every response is checked again: none of the next ones leaves.
    for (let i = 0; i < 10; i++) expect((await answer()).status).toBe(3);
    signer.bad = false;
    const healed = [];
    for (let i = 0; i < 10; i++) healed.push(await answer());
    expect(healed.every((a) => a.status === 0 && a.verifies)).toBe(true);
  });
});
