import { constants, generateKeyPairSync, type KeyObject, privateEncrypt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandInput,
  KMSClient,
  KMSInvalidStateException,
  NotFoundException,
  SignCommand,
  type SignCommandInput,
} from '@aws-sdk/client-kms';
import { p256, p384 } from '@noble/curves/nist.js';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { runCeremony } from '../../scripts/ceremony.js';
import { createKmsSigner, kmsKeySpecOf } from '../../shared/adapters/kms/signer.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createAuditLog } from '../../shared/audit.js';
import { createCertificateAuthority } from '../../shared/ca/issuer.js';
import { createOcspResponder } from '../../shared/ca/ocsp.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import { DependencyError, InternalError } from '../../shared/errors.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { CaKeyAlgorithm, SignerKeyRef } from '../../shared/ports/signer.js';
import { buildHierarchy, cardKeys, cardNumberOf, openssl, workflow, writePem } from './helpers.js';

/**
 * The KMS signer against a mocked KMS whose `Sign` computes a REAL signature over the digest it is given
 * (RSA: PKCS#1 v1.5 over DigestInfo‖digest with the raw private-key operation; ECDSA: noble-curves on the
 * pre-hashed digest, DER output, as KMS returns it). The certificates that come out are checked by OpenSSL.
 */

const DIGEST_INFO: Record<string, string> = {
  RSASSA_PKCS1_V1_5_SHA_256: '3031300d060960864801650304020105000420',
};

interface FakeKey {
  algorithm: CaKeyAlgorithm;
  privateKey: KeyObject;
  spki: Uint8Array;
  usage: 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT';
}

const kmsMock = mockClient(KMSClient);
const keys = new Map<string, FakeKey>();

const addKey = (
  keyId: string,
  algorithm: CaKeyAlgorithm,
  usage: FakeKey['usage'] = 'SIGN_VERIFY',
): SignerKeyRef => {
  const pair = algorithm.startsWith('RSA-')
    ? generateKeyPairSync('rsa', { modulusLength: Number(algorithm.slice(4)) })
    : generateKeyPairSync('ec', { namedCurve: algorithm === 'EC-P256' ? 'prime256v1' : 'secp384r1' });
  keys.set(keyId, {
    algorithm,
    privateKey: pair.privateKey,
    spki: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
    usage,
  });
  return { provider: 'kms', keyId, algorithm };
};

const notFound = (keyId: string) =>
  new NotFoundException({ message: `Key '${keyId}' does not exist`, $metadata: {} });

const installFakeKms = () => {
  kmsMock.reset();
  kmsMock.on(GetPublicKeyCommand).callsFake((input: GetPublicKeyCommandInput) => {
    const k = keys.get(input.KeyId!);
    if (!k) throw notFound(input.KeyId!);
    return { KeyId: input.KeyId, PublicKey: k.spki, KeySpec: kmsKeySpecOf(k.algorithm), KeyUsage: k.usage };
  });
  kmsMock.on(SignCommand).callsFake((input: SignCommandInput) => {
    const k = keys.get(input.KeyId!);
    if (!k) throw notFound(input.KeyId!);
    if (input.MessageType !== 'DIGEST') throw new Error('this fake only signs digests');
    const digest = Buffer.from(input.Message!);
    if (input.SigningAlgorithm === 'RSASSA_PKCS1_V1_5_SHA_256') {
      if (digest.length !== 32) throw new Error('not a SHA-256 digest');
      const block = Buffer.concat([Buffer.from(DIGEST_INFO[input.SigningAlgorithm]!, 'hex'), digest]);
      return {
        KeyId: input.KeyId,
        Signature: privateEncrypt({ key: k.privateKey, padding: constants.RSA_PKCS1_PADDING }, block),
      };
    }
    const d = Buffer.from(k.privateKey.export({ format: 'jwk' }).d!, 'base64url');
    if (input.SigningAlgorithm === 'ECDSA_SHA_256' && k.algorithm === 'EC-P256' && digest.length === 32) {
      return { KeyId: input.KeyId, Signature: p256.sign(digest, d, { prehash: false, format: 'der' }) };
    }
    if (input.SigningAlgorithm === 'ECDSA_SHA_384' && k.algorithm === 'EC-P384' && digest.length === 48) {
      return { KeyId: input.KeyId, Signature: p384.sign(digest, d, { prehash: false, format: 'der' }) };
    }
    throw new Error(`unsupported ${input.SigningAlgorithm} for ${k.algorithm}`);
  });
};

describe('KMS signer (aws-sdk-client-mock with real signatures) and OpenSSL', () => {
  let dir: string;
  const clock = new AdjustableClock();
  const urls = pkiUrls('http://127.0.0.1:8080');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kms-'));
  });
  beforeEach(installFakeKms);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const hierarchyAndIssue = async (
    algorithms: { root: CaKeyAlgorithm; issuing: CaKeyAlgorithm; ocsp: CaKeyAlgorithm },
    tag: string,
  ) => {
    const signer = createKmsSigner(new KMSClient({ region: 'ap-east-2' }));
    const refs = {
      root: addKey(`${tag}-root`, algorithms.root),
      issuing: addKey(`${tag}-issuing`, algorithms.issuing),
      ocsp: addKey(`${tag}-ocsp`, algorithms.ocsp),
    };
    const h = await buildHierarchy(signer, refs, new Date(clock.now().getTime() - 3600_000), urls);
    const repo = createMemoryRepository({ clock });
    const ca = createCertificateAuthority({
      certificates: repo.certificates,
      docs: repo.docs,
      audit: createAuditLog(repo.audit, clock),
      signer,
      clock,
      ca: h.issuing,
      urls,
    });
    const issued = await ca.issueCardCertificates({
      applicationId: `app-${tag}`,
      cardNumber: cardNumberOf(1),
      holderName: 'Nguyen Van An',
      subjectSerial: '9876543210987654',
      keys: cardKeys('RSA-2048', 'EC-P256'),
      actor: workflow,
    });
    const root = await writePem(dir, `${tag}-root.pem`, h.root.certificate);
    const issuing = await writePem(dir, `${tag}-issuing.pem`, h.issuing.certificate);
    const sig = await writePem(dir, `${tag}-sig.pem`, Buffer.from(issued.signature.der!, 'base64'));
    const enc = await writePem(dir, `${tag}-enc.pem`, Buffer.from(issued.encryption.der!, 'base64'));
    return { signer, h, repo, ca, issued, files: { root, issuing, sig, enc } };
  };

  it('RSA hierarchy: KMS DIGEST signatures make certificates and CRLs OpenSSL accepts', async () => {
    const { ca, files } = await hierarchyAndIssue(
      { root: 'RSA-2048', issuing: 'RSA-2048', ocsp: 'RSA-2048' },
      'rsa',
    );
    for (const cert of [files.sig, files.enc]) {
      const v = await openssl(
        'verify',
        '-x509_strict',
        '-CAfile',
        files.root,
        '-untrusted',
        files.issuing,
        cert,
      );
      expect(v.stdout).toContain(': OK');
    }
    const crlPath = join(dir, 'rsa.crl.pem');
    await ca.regenerateCrl();
    await writeFile(crlPath, (await ca.crl.latest())!.pem);
    const c = await openssl('crl', '-in', crlPath, '-CAfile', files.issuing, '-noout');
    expect(c.stdout + c.stderr).toContain('verify OK');
    expect(kmsMock).toHaveReceivedCommandWith(SignCommand, {
      KeyId: 'rsa-issuing',
      MessageType: 'DIGEST',
      SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
    });
  });

  it('EC hierarchy (P-384 root, P-256 issuing CA): DER ECDSA from KMS verifies in certificates, CRLs and OCSP', async () => {
    const { signer, h, repo, ca, issued, files } = await hierarchyAndIssue(
      { root: 'EC-P384', issuing: 'EC-P256', ocsp: 'EC-P256' },
      'ec',
    );
    for (const cert of [files.sig, files.enc]) {
      const v = await openssl(
        'verify',
        '-x509_strict',
        '-CAfile',
        files.root,
        '-untrusted',
        files.issuing,
        cert,
      );
      expect(v.stdout).toContain(': OK');
    }
    expect((await openssl('x509', '-in', files.sig, '-noout', '-text')).stdout).toContain(
      'Signature Algorithm: ecdsa-with-SHA256',
    );
    expect((await openssl('x509', '-in', files.issuing, '-noout', '-text')).stdout).toContain(
      'Signature Algorithm: ecdsa-with-SHA384',
    );
    await ca.hold(issued.signature.serialNumber, workflow);
    const crlPath = join(dir, 'ec.crl.pem');
    await writeFile(crlPath, (await ca.crl.latest())!.pem);
    const c = await openssl('crl', '-in', crlPath, '-CAfile', files.issuing, '-noout');
    expect(c.stdout + c.stderr).toContain('verify OK');

    // OCSP: the responder signs through KMS; the DER signature goes into the BIT STRING unchanged.
    const responder = createOcspResponder({
      certificates: repo.certificates,
      signer,
      clock,
      issuer: h.issuing,
      responder: h.ocspResponder,
    });
    const reqPath = join(dir, 'ec-req.der');
    await openssl('ocsp', '-issuer', files.issuing, '-cert', files.sig, '-no_nonce', '-reqout', reqPath);
    const respPath = join(dir, 'ec-resp.der');
    await writeFile(respPath, await responder.respond(await readFile(reqPath)));
    const o = await openssl(
      'ocsp',
      '-respin',
      respPath,
      '-no_nonce',
      '-issuer',
      files.issuing,
      '-cert',
      files.sig,
      '-CAfile',
      files.root,
      '-verify_other',
      files.issuing,
    );
    expect(o.stdout).toContain('revoked');
    expect(o.stdout).toContain('Reason: certificateHold');
    expect(o.stdout + o.stderr).toContain('Response verify OK');
    expect(kmsMock).toHaveReceivedCommandWith(SignCommand, {
      KeyId: 'ec-ocsp',
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(kmsMock).toHaveReceivedCommandWith(SignCommand, {
      KeyId: 'ec-root',
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_384',
    });
  });

  it('KMS failures are DependencyErrors; a key of the wrong kind is refused', async () => {
    const signer = createKmsSigner(new KMSClient({ region: 'ap-east-2' }));
    const ref = addKey('err-key', 'EC-P256');
    kmsMock
      .on(SignCommand)
      .rejects(new KMSInvalidStateException({ message: 'key is disabled', $metadata: {} }));
    const e = await signer.sign(ref, Buffer.from('tbs')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DependencyError);
    expect((e as DependencyError).retryable).toBe(true);
    expect((e as Error).message).toContain('KMSInvalidStateException');
    await expect(
      signer.publicKey({ provider: 'kms', keyId: 'missing', algorithm: 'EC-P256' }),
    ).rejects.toBeInstanceOf(DependencyError);
    await expect(signer.publicKey({ ...ref, algorithm: 'EC-P384' })).rejects.toBeInstanceOf(InternalError);
    const enc = addKey('enc-key', 'RSA-2048', 'ENCRYPT_DECRYPT');
    await expect(signer.publicKey(enc)).rejects.toThrow('not a SIGN_VERIFY key');
    await expect(
      signer.sign({ provider: 'pkcs11', token: 't', keyId: '01', algorithm: 'RSA-2048' }, Buffer.from('x')),
    ).rejects.toBeInstanceOf(InternalError);
  });

  it('the key ceremony in AWS mode certifies existing KMS keys, idempotently', async () => {
    addKey('aws-root', 'RSA-3072');
    addKey('aws-issuing', 'RSA-3072');
    addKey('aws-ocsp', 'EC-P256');
    const client = new KMSClient({ region: 'ap-east-2' });
    const stateDir = join(dir, 'aws-state');
    const options = {
      stateDir,
      mode: 'aws' as const,
      publicBaseUrl: 'https://pki.example.tw',
      algorithms: { 'root-ca': 'RSA-3072', 'issuing-ca': 'RSA-3072', 'ocsp-responder': 'EC-P256' } as const,
      kms: {
        client,
        keyIds: { 'root-ca': 'aws-root', 'issuing-ca': 'aws-issuing', 'ocsp-responder': 'aws-ocsp' },
      },
    };
    const first = await runCeremony(options);
    expect(first.actions).toEqual(
      expect.arrayContaining([
        'issued root-ca certificate',
        'issued issuing-ca certificate',
        'issued ocsp-responder certificate',
      ]),
    );
    const caJson = JSON.parse(await readFile(join(first.pkiDir, 'ca.json'), 'utf8'));
    expect(caJson.mode).toBe('aws');
    expect(caJson.hsm).toBeUndefined();
    expect(caJson.authorities['issuing-ca'].key).toEqual({
      provider: 'kms',
      keyId: 'aws-issuing',
      algorithm: 'RSA-3072',
    });
    expect(caJson.urls.crl).toBe('https://pki.example.tw/pki/crl/issuing-ca.crl');
    const v = await openssl(
      'verify',
      '-x509_strict',
      '-CAfile',
      join(first.pkiDir, 'root-ca.pem'),
      '-untrusted',
      join(first.pkiDir, 'issuing-ca.pem'),
      join(first.pkiDir, 'ocsp-responder.pem'),
    );
    expect(v.stdout).toContain(': OK');
    const signs = kmsMock.commandCalls(SignCommand).length;
    const second = await runCeremony(options);
    expect(second.actions).toEqual([]);
    expect(kmsMock.commandCalls(SignCommand).length).toBe(signs);
  });
});
