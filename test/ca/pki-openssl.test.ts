import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCeremony } from '../../scripts/ceremony.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { findKeyPair, privateKeyProtection } from '../../shared/adapters/pkcs11/ca-keys.js';
import { createLocalCaSigner, readPins } from '../../shared/adapters/pkcs11/local-ca.js';
import {
  closeModules,
  findSlotByLabel,
  listTokens,
  openModule,
  openSession,
  pkcs11js,
} from '../../shared/adapters/pkcs11/module.js';
import type { Pkcs11Signer } from '../../shared/adapters/pkcs11/signer.js';
import { createAuditLog } from '../../shared/audit.js';
import { crlPem } from '../../shared/ca/crl.js';
import { type CertificateAuthority, createCertificateAuthority } from '../../shared/ca/issuer.js';
import { verifySignature } from '../../shared/ca/keys.js';
import type { PkiMaterial } from '../../shared/ca/material.js';
import { createPkiService, type PkiService } from '../../shared/ca/pki-service.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import { cardKeys, cardNumberOf, officer, openssl, setNativeEnv, workflow, writePem } from './helpers.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/**
 * The CA end to end with real parts: key ceremony into SoftHSM tokens, the PKCS#11 signer, the issuer,
 * CRLs and the OCSP responder — every artefact checked by OpenSSL 3.
 */
describe('PKI with SoftHSM and OpenSSL', () => {
  let dir: string;
  let stateDir: string;
  let material: PkiMaterial;
  let signer: Pkcs11Signer;
  let ca: CertificateAuthority;
  let pki: PkiService;
  let server: Server;
  let base: string;
  let rootPem: string;
  let issuingPem: string;
  let chainPem: string;
  const clock = new AdjustableClock();
  const repo = createMemoryRepository({ clock });
  const audit = createAuditLog(repo.audit, clock);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pki-'));
    stateDir = join(dir, 'state');
    // Before the module initializes: SoftHSM must see this state folder's tokens, not the system's.
    setNativeEnv('SOFTHSM2_CONF', join(stateDir, 'ca-hsm', 'softhsm2.conf'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const url = req.url ?? '';
        let body: Uint8Array;
        if (req.method === 'POST' && url === '/pki/ocsp') body = await pki.ocsp(Buffer.concat(chunks));
        else if (req.method === 'GET' && url.startsWith('/pki/ocsp/'))
          body = await pki.ocspGet(url.slice('/pki/ocsp/'.length));
        else if (req.method === 'GET' && url === '/pki/crl/issuing-ca.crl')
          body = await pki.crlDer('issuing-ca');
        else {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, {
          'content-type': url.includes('crl') ? 'application/pkix-crl' : 'application/ocsp-response',
        });
        res.end(Buffer.from(body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runCeremony({
      stateDir,
      publicBaseUrl: base,
      algorithms: { 'root-ca': 'RSA-2048', 'issuing-ca': 'RSA-2048', 'ocsp-responder': 'RSA-2048' },
    });
    material = result.material;
    signer = await createLocalCaSigner(stateDir, { modulePath: MODULE });
    ca = createCertificateAuthority({
      certificates: repo.certificates,
      docs: repo.docs,
      audit,
      signer,
      clock,
      ca: material.issuing,
      urls: material.urls,
      emailKey: async (e) => `k:${e}`,
    });
    pki = createPkiService({ material, certificates: repo.certificates, signer, clock, crl: ca.crl });
    rootPem = join(result.pkiDir, 'root-ca.pem');
    issuingPem = join(result.pkiDir, 'issuing-ca.pem');
    chainPem = join(result.pkiDir, 'chain.pem');
  }, 60_000);

  afterAll(async () => {
    signer?.close();
    closeModules();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  const issue = (n: number, keys = cardKeys()) =>
    ca.issueCardCertificates({
      applicationId: `app-${n}`,
      cardNumber: cardNumberOf(n),
      holderName: '陳大文',
      subjectSerial: '0000111122223333',
      email: 'chan@example.tw',
      keys,
      actor: workflow,
    });

  const writeCert = (name: string, derB64: string) => writePem(dir, name, Buffer.from(derB64, 'base64'));
  const writeCrl = async (name: string) => {
    const path = join(dir, name);
    await writeFile(path, (await ca.crl.latest())!.pem);
    return path;
  };

  describe('key ceremony', () => {
    it('writes the hierarchy, keeps PINs private and the keys inside the tokens', async () => {
      const pkiDir = join(stateDir, 'pki');
      expect((await readdir(pkiDir)).sort()).toEqual(
        expect.arrayContaining([
          'ca.json',
          'chain.pem',
          'issuing-ca.cer',
          'issuing-ca.pem',
          'ocsp-responder.cer',
          'ocsp-responder.pem',
          'root-ca.cer',
          'root-ca.crl',
          'root-ca.pem',
        ]),
      );
      expect((await stat(join(stateDir, 'ca-hsm', 'pins.json'))).mode & 0o777).toBe(0o600);
      const caJson = JSON.parse(await readFile(join(pkiDir, 'ca.json'), 'utf8'));
      expect(caJson.authorities['issuing-ca']).toMatchObject({
        role: 'issuing',
        tokenLabel: 'acdc-issuing-ca',
        key: { provider: 'pkcs11', token: 'acdc-issuing-ca', algorithm: 'RSA-2048' },
        authorityKeyIdentifier: caJson.authorities['root-ca'].subjectKeyIdentifier,
        subject: 'C=TW, O=ACDC Demo PKI, OU=Alien Citizen Certification Authority, CN=ACDC Issuing CA - G1',
      });
      expect(caJson.authorities['ocsp-responder'].authorityKeyIdentifier).toBe(
        caJson.authorities['issuing-ca'].subjectKeyIdentifier,
      );
      expect(caJson.urls.ocsp).toBe(`${base}/pki/ocsp`);
      expect(JSON.stringify(caJson)).not.toMatch(/pin"?\s*:/i);

      const p = openModule(MODULE);
      const pins = (await readPins(stateDir))!;
      for (const id of ['root-ca', 'issuing-ca', 'ocsp-responder'] as const) {
        const a = caJson.authorities[id];
        const s = openSession(p, findSlotByLabel(p, a.tokenLabel)!, false);
        try {
          try {
            p.C_Login(s, pkcs11js.CKU_USER, pins.tokens[a.tokenLabel]!.userPin);
          } catch {
            // already logged in by the signer's pool
          }
          const pair = findKeyPair(p, s, Buffer.from(a.key.keyId, 'hex'))!;
          expect(privateKeyProtection(p, s, pair.privateKey)).toEqual({
            sensitive: true,
            extractable: false,
            neverExtractable: true,
            local: true,
          });
          expect(() =>
            p.C_GetAttributeValue(s, pair.privateKey, [{ type: pkcs11js.CKA_PRIVATE_EXPONENT }]),
          ).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        } finally {
          p.C_CloseSession(s);
        }
      }

      const issuing = await openssl('verify', '-x509_strict', '-CAfile', rootPem, issuingPem);
      expect(issuing.stdout).toContain(': OK');
      const ocsp = await openssl(
        'verify',
        '-x509_strict',
        '-purpose',
        'ocsphelper',
        '-CAfile',
        rootPem,
        '-untrusted',
        issuingPem,
        join(pkiDir, 'ocsp-responder.pem'),
      );
      expect(ocsp.stdout).toContain(': OK');
      const text = (await openssl('x509', '-in', join(pkiDir, 'ocsp-responder.pem'), '-noout', '-text'))
        .stdout;
      expect(text).toContain('OCSP Signing');
      expect(text).toContain('OCSP No Check');
      const rootCrl = await openssl(
        'crl',
        '-inform',
        'DER',
        '-in',
        join(pkiDir, 'root-ca.crl'),
        '-CAfile',
        rootPem,
        '-noout',
      );
      expect(rootCrl.stderr + rootCrl.stdout).toContain('verify OK');
    });

    it('is idempotent: a second run creates nothing and rewrites nothing', async () => {
      const pkiDir = join(stateDir, 'pki');
      const files = (await readdir(pkiDir)).filter((f) => !f.startsWith('.'));
      const before = await Promise.all(
        files.map(async (f) => ({
          f,
          bytes: await readFile(join(pkiDir, f)),
          mtime: (await stat(join(pkiDir, f))).mtimeMs,
        })),
      );
      const tokens = listTokens(openModule(MODULE))
        .map((t) => t.serial)
        .sort();
      const again = await runCeremony({
        stateDir,
        publicBaseUrl: base,
        // Different wishes do not regenerate anything that exists.
        algorithms: { 'root-ca': 'RSA-4096', 'issuing-ca': 'RSA-4096' },
        subjects: { 'root-ca': 'C=TW, O=Other, CN=Other Root' },
      });
      expect(again.actions).toEqual([]);
      expect(again.keygenMs).toEqual({});
      for (const b of before) {
        expect(await readFile(join(pkiDir, b.f))).toEqual(b.bytes);
        expect((await stat(join(pkiDir, b.f))).mtimeMs).toBe(b.mtime);
      }
      expect(
        listTokens(openModule(MODULE))
          .map((t) => t.serial)
          .sort(),
      ).toEqual(tokens);
      expect(again.material.issuing.serialNumber).toBe(material.issuing.serialNumber);
    });
  });

  describe('holder certificates', () => {
    it('each profile verifies with openssl -x509_strict; the signature certificate for S/MIME signing', async () => {
      const { signature, encryption } = await issue(1);
      const sig = await writeCert('sig.pem', signature.der!);
      const enc = await writeCert('enc.pem', encryption.der!);
      const v1 = await openssl(
        'verify',
        '-x509_strict',
        '-purpose',
        'smimesign',
        '-CAfile',
        rootPem,
        '-untrusted',
        issuingPem,
        sig,
      );
      expect(v1.stdout).toContain('sig.pem: OK');
      const v2 = await openssl(
        'verify',
        '-x509_strict',
        '-purpose',
        'smimeencrypt',
        '-CAfile',
        rootPem,
        '-untrusted',
        issuingPem,
        enc,
      );
      expect(v2.stdout).toContain('enc.pem: OK');
      const v3 = await openssl(
        'verify',
        '-x509_strict',
        '-purpose',
        'sslclient',
        '-CAfile',
        rootPem,
        '-untrusted',
        issuingPem,
        sig,
      );
      expect(v3.stdout).toContain('sig.pem: OK');
      // The encryption certificate is not a signing certificate.
      const v4 = await openssl(
        'verify',
        '-x509_strict',
        '-purpose',
        'smimesign',
        '-CAfile',
        rootPem,
        '-untrusted',
        issuingPem,
        enc,
      );
      expect(v4.code).not.toBe(0);

      const text = (
        await openssl('x509', '-in', sig, '-noout', '-text', '-nameopt', 'utf8,sep_comma_plus_space')
      ).stdout;
      expect(text).toContain('Subject: C=TW, CN=陳大文, serialNumber=0000111122223333');
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation/);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toContain('Policy: 2.16.886.101.0.3.3');
      expect(text).toContain(`OCSP - URI:${base}/pki/ocsp`);
      expect(text).toContain(`CA Issuers - URI:${base}/pki/certs/issuing-ca.cer`);
      expect(text).toContain(`URI:${base}/pki/crl/issuing-ca.crl`);
      expect(text).toContain('email:chan@example.tw');
      expect(text).toContain('E-mail Protection, TLS Web Client Authentication');
      const start = new Date(signature.notBefore);
      const end = new Date(signature.notAfter);
      expect(end.getUTCFullYear() - start.getUTCFullYear()).toBe(5);
      const encText = (await openssl('x509', '-in', enc, '-noout', '-text')).stdout;
      expect(encText).toMatch(/X509v3 Key Usage: critical\s+Key Encipherment\n/);
    });

    it('EC card keys: signature and keyAgreement certificates verify', async () => {
      const { signature, encryption } = await issue(2, cardKeys('EC-P256', 'EC-P384'));
      const sig = await writeCert('ec-sig.pem', signature.der!);
      const enc = await writeCert('ec-enc.pem', encryption.der!);
      expect(
        (
          await openssl(
            'verify',
            '-x509_strict',
            '-purpose',
            'smimesign',
            '-CAfile',
            rootPem,
            '-untrusted',
            issuingPem,
            sig,
          )
        ).stdout,
      ).toContain(': OK');
      expect(
        (await openssl('verify', '-x509_strict', '-CAfile', rootPem, '-untrusted', issuingPem, enc)).stdout,
      ).toContain(': OK');
      expect((await openssl('x509', '-in', enc, '-noout', '-text')).stdout).toMatch(
        /Key Usage: critical\s+Key Agreement/,
      );
    });
  });

  describe('CRL', () => {
    it('is signed by the issuing CA, holds a held certificate and drops it on release', async () => {
      const { signature } = await issue(3);
      const cert = await writeCert('held.pem', signature.der!);
      const verifyWithCrl = async (crl: string) =>
        openssl(
          'verify',
          '-x509_strict',
          '-crl_check',
          '-CAfile',
          rootPem,
          '-untrusted',
          issuingPem,
          '-CRLfile',
          crl,
          cert,
        );

      await ca.hold(signature.serialNumber, officer);
      const crl1 = await writeCrl('crl1.pem');
      const check = await openssl('crl', '-in', crl1, '-CAfile', chainPem, '-noout');
      expect(check.stderr + check.stdout).toContain('verify OK');
      const text = (await openssl('crl', '-in', crl1, '-noout', '-text')).stdout;
      expect(text).toContain(`Serial Number: ${signature.serialNumber.toUpperCase()}`);
      expect(text).toContain('Certificate Hold');
      expect(text).toMatch(/X509v3 CRL Number:\s+\d+/);
      expect(text).toContain('X509v3 Authority Key Identifier');
      const held = await verifyWithCrl(crl1);
      expect(held.code).not.toBe(0);
      expect(held.stdout + held.stderr).toContain('certificate revoked');

      await ca.release(signature.serialNumber, officer);
      const crl2 = await writeCrl('crl2.pem');
      expect((await verifyWithCrl(crl2)).stdout).toContain('held.pem: OK');

      await ca.revoke(signature.serialNumber, 'keyCompromise', officer);
      const crl3 = await writeCrl('crl3.pem');
      const t3 = (await openssl('crl', '-in', crl3, '-noout', '-text')).stdout;
      expect(t3).toContain('Key Compromise');
      expect((await verifyWithCrl(crl3)).code).not.toBe(0);
      // The HTTP form is DER, the same CRL.
      const res = await fetch(`${base}/pki/crl/issuing-ca.crl`);
      expect(crlPem(new Uint8Array(await res.arrayBuffer()))).toBe(await readFile(crl3, 'utf8'));
    });
  });

  describe('OCSP', () => {
    const ocsp = (...args: string[]) =>
      openssl(
        'ocsp',
        '-issuer',
        issuingPem,
        '-url',
        `${base}/pki/ocsp`,
        '-CAfile',
        rootPem,
        '-verify_other',
        issuingPem,
        '-nonce',
        ...args,
      );

    it('answers good, revoked (certificateHold) and unknown, each verified', async () => {
      const { signature } = await issue(4);
      const cert = await writeCert('ocsp-ee.pem', signature.der!);
      const good = await ocsp('-cert', cert);
      expect(good.stdout).toContain(`${cert}: good`);
      expect(good.stderr + good.stdout).toContain('Response verify OK');

      await ca.hold(signature.serialNumber, officer);
      const held = await ocsp('-cert', cert);
      expect(held.stdout).toContain(`${cert}: revoked`);
      expect(held.stdout).toContain('Reason: certificateHold');
      expect(held.stderr + held.stdout).toContain('Response verify OK');

      const unknown = await ocsp('-serial', '0x4a5b6c7d8e9f00112233445566778899');
      expect(unknown.stdout).toContain('unknown');
      expect(unknown.stderr + unknown.stdout).toContain('Response verify OK');

      await ca.release(signature.serialNumber, officer);
      expect((await ocsp('-cert', cert)).stdout).toContain(`${cert}: good`);
    });

    it('serves the GET form, refuses other issuers and malformed requests without failing', async () => {
      const { encryption } = await issue(5);
      const cert = await writeCert('ocsp-get.pem', encryption.der!);
      const reqPath = join(dir, 'req.der');
      await openssl('ocsp', '-issuer', issuingPem, '-cert', cert, '-no_nonce', '-reqout', reqPath);
      const b64 = (await readFile(reqPath)).toString('base64');
      const res = await fetch(`${base}/pki/ocsp/${encodeURIComponent(b64)}`);
      const respPath = join(dir, 'resp.der');
      await writeFile(respPath, Buffer.from(await res.arrayBuffer()));
      const parsed = await openssl(
        'ocsp',
        '-respin',
        respPath,
        '-issuer',
        issuingPem,
        '-cert',
        cert,
        '-CAfile',
        rootPem,
        '-verify_other',
        issuingPem,
      );
      expect(parsed.stdout).toContain(`${cert}: good`);
      expect(parsed.stderr + parsed.stdout).toContain('Response verify OK');

      const other = await openssl(
        'ocsp',
        '-issuer',
        rootPem,
        '-cert',
        issuingPem,
        '-url',
        `${base}/pki/ocsp`,
        '-CAfile',
        rootPem,
      );
      expect(other.stdout + other.stderr).toContain('unauthorized (6)');

      const bad = await fetch(`${base}/pki/ocsp`, {
        method: 'POST',
        body: Buffer.from('not an ocsp request'),
      });
      expect(Buffer.from(await bad.arrayBuffer()).toString('hex')).toBe('30030a0101');
      const badGet = await fetch(`${base}/pki/ocsp/%%%`);
      expect(Buffer.from(await badGet.arrayBuffer()).toString('hex')).toBe('30030a0101');
    });
  });

  describe('PKCS#11 signer', () => {
    it('signs concurrently through its session pool; every signature verifies', async () => {
      const key = material.issuing.key;
      const messages = Array.from({ length: 64 }, (_, i) => Buffer.from(`to be signed ${i}`));
      const sigs = await Promise.all(messages.map((m) => signer.sign(key, m)));
      sigs.forEach((s, i) => {
        expect(verifySignature(material.issuing.spki, key.algorithm, messages[i]!, s)).toBe(true);
      });
      expect(Buffer.from(await signer.publicKey(key))).toEqual(Buffer.from(material.issuing.spki));
    });

    it('EC keys on a token: raw CKM_ECDSA over a host digest, returned as DER that verifies (P-256, P-384)', async () => {
      const { createPkcs11Signer } = await import('../../shared/adapters/pkcs11/signer.js');
      const { generateCaKeyPair } = await import('../../shared/adapters/pkcs11/ca-keys.js');
      const { initToken } = await import('../../shared/adapters/pkcs11/module.js');
      const p = openModule(MODULE);
      const slot = initToken(p, 'acdc-ec-test', 'so-pin-ec', 'user-pin-ec');
      const s = openSession(p, slot, true);
      p.C_Login(s, pkcs11js.CKU_USER, 'user-pin-ec');
      generateCaKeyPair(p, s, { algorithm: 'EC-P256', id: Buffer.from('e256', 'hex'), label: 'p256' });
      generateCaKeyPair(p, s, { algorithm: 'EC-P384', id: Buffer.from('e384', 'hex'), label: 'p384' });
      const ec = createPkcs11Signer({ modulePath: MODULE, pin: () => 'user-pin-ec', sessionsPerToken: 2 });
      try {
        for (const [keyId, algorithm] of [
          ['e256', 'EC-P256'],
          ['e384', 'EC-P384'],
        ] as const) {
          const ref = { provider: 'pkcs11' as const, token: 'acdc-ec-test', keyId, algorithm };
          const spki = await ec.publicKey(ref);
          const sigs = await Promise.all(
            Array.from({ length: 8 }, (_, i) => ec.sign(ref, Buffer.from(`tbs ${i}`))),
          );
          sigs.forEach((sig, i) => {
            expect(sig[0]).toBe(0x30); // DER Ecdsa-Sig-Value, as X.509 carries it
            expect(verifySignature(spki, algorithm, Buffer.from(`tbs ${i}`), sig)).toBe(true);
          });
        }
        // A key that disappears while signatures are queued on every session: each fails with a clear
        // error (the pool is rebuilt, the key looked up again and not found), none hangs, and the other
        // keys of the token go on signing.
        const { findKeyPair } = await import('../../shared/adapters/pkcs11/ca-keys.js');
        generateCaKeyPair(p, s, { algorithm: 'EC-P256', id: Buffer.from('e999', 'hex'), label: 'gone' });
        const gone = {
          provider: 'pkcs11' as const,
          token: 'acdc-ec-test',
          keyId: 'e999',
          algorithm: 'EC-P256' as const,
        };
        await Promise.all(Array.from({ length: 8 }, (_, i) => ec.sign(gone, Buffer.from(`before ${i}`))));
        const pair = findKeyPair(p, s, Buffer.from('e999', 'hex'))!;
        p.C_DestroyObject(s, pair.privateKey);
        p.C_DestroyObject(s, pair.publicKey);
        const after = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => ec.sign(gone, Buffer.from(`after ${i}`))),
        );
        for (const r of after) {
          expect(r).toMatchObject({
            status: 'rejected',
            reason: { code: 'internal', message: expect.stringContaining('no key pair e999') },
          });
        }
        const p256 = {
          provider: 'pkcs11' as const,
          token: 'acdc-ec-test',
          keyId: 'e256',
          algorithm: 'EC-P256' as const,
        };
        const spki256 = await ec.publicKey(p256);
        const still = await Promise.all(
          Array.from({ length: 8 }, (_, i) => ec.sign(p256, Buffer.from(`still ${i}`))),
        );
        still.forEach((sig, i) => {
          expect(verifySignature(spki256, 'EC-P256', Buffer.from(`still ${i}`), sig)).toBe(true);
        });
        // The reference's algorithm must be the key's.
        await expect(
          ec.sign(
            { provider: 'pkcs11', token: 'acdc-ec-test', keyId: 'e256', algorithm: 'EC-P384' },
            Buffer.from('x'),
          ),
        ).rejects.toMatchObject({
          code: 'internal',
        });
      } finally {
        ec.close();
        p.C_CloseSession(s);
      }
    });

    it('a wrong PIN, a missing key or a foreign key reference is a clear error, not a crash', async () => {
      const { createPkcs11Signer } = await import('../../shared/adapters/pkcs11/signer.js');
      const wrong = createPkcs11Signer({ modulePath: MODULE, pin: () => 'wrong-pin' });
      // PKCS#11 login is per application and token: the root token has no open session in this process
      // (the ceremony closed its sessions), so this login really is checked.
      await expect(wrong.sign(material.root.key, Buffer.from('x'))).rejects.toMatchObject({
        code: 'internal',
        message: expect.stringContaining('login refused'),
      });
      await expect(
        wrong.sign(
          { provider: 'pkcs11', token: 'no-such-token', keyId: '01', algorithm: 'RSA-2048' },
          Buffer.from('x'),
        ),
      ).rejects.toMatchObject({
        code: 'dependency_unavailable',
      });
      await expect(
        signer.sign({ ...material.issuing.key, keyId: 'deadbeef' }, Buffer.from('x')),
      ).rejects.toMatchObject({ code: 'internal' });
      await expect(
        signer.sign({ provider: 'kms', keyId: 'k', algorithm: 'RSA-2048' }, Buffer.from('x')),
      ).rejects.toMatchObject({ code: 'internal' });
      wrong.close();
    });
  });

  describe('key ceremony, a year later', () => {
    it('renews only what is about to expire: the OCSP responder certificate (same key) and the root CRL', async () => {
      const later = new AdjustableClock();
      later.advance(340 * 86400_000);
      const before = material;
      const result = await runCeremony({ stateDir, publicBaseUrl: base, clock: later });
      expect(result.actions.sort()).toEqual(
        ['renewed ocsp-responder certificate', 'signed root CRL 2', 'updated ca.json'].sort(),
      );
      const m = result.material;
      expect(m.root.serialNumber).toBe(before.root.serialNumber);
      expect(m.issuing.serialNumber).toBe(before.issuing.serialNumber);
      expect(m.ocspResponder.serialNumber).not.toBe(before.ocspResponder.serialNumber);
      expect(Buffer.from(m.ocspResponder.spki)).toEqual(Buffer.from(before.ocspResponder.spki));
      expect(m.ocspResponder.notAfter.getTime()).toBeGreaterThan(before.ocspResponder.notAfter.getTime());
      const text = (
        await openssl('crl', '-inform', 'DER', '-in', join(result.pkiDir, 'root-ca.crl'), '-noout', '-text')
      ).stdout;
      expect(text).toMatch(/X509v3 CRL Number:\s+2/);
      // And again: nothing left to renew.
      expect((await runCeremony({ stateDir, publicBaseUrl: base, clock: later })).actions).toEqual([]);
    });
  });
});
