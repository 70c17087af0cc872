import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import {
  addYears,
  assembleSigned,
  authorityTbs,
  type CaDescriptor,
  describeCa,
  signatureAlgorithmIdentifier,
} from '../../shared/ca/certificate.js';
import { toPem } from '../../shared/ca/crl.js';
import { authorityRecordOf, type PkiMaterial } from '../../shared/ca/material.js';
import { encodeDistinguishedName } from '../../shared/ca/names.js';
import { newSerialNumber } from '../../shared/ca/serial.js';
import type { Card, CardKey, KeyAlgorithm } from '../../shared/domain/model.js';
import type { CaKeyAlgorithm, Signer, SignerKeyRef } from '../../shared/ports/signer.js';

/**
 * Sets an environment variable where native code sees it. Inside a jest test file `process.env` is a
 * sandbox copy: SoftHSM's getenv("SOFTHSM2_CONF") at C_Initialize would otherwise read the real
 * environment and use the system-wide token folder. The real process is the main V8 context's.
 */
export const setNativeEnv = (name: string, value: string): void => {
  const real = runInThisContext('process') as NodeJS.Process;
  real.env[name] = value;
  process.env[name] = value;
};

/** Runs a command; never throws for a non-zero exit (tests assert on code and output). */
export const run = (cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });

export const openssl = (...args: string[]) => run('/usr/bin/openssl', args);

export const writePem = async (
  dir: string,
  name: string,
  der: Uint8Array,
  label = 'CERTIFICATE',
): Promise<string> => {
  const path = join(dir, name);
  await writeFile(path, toPem(der, label));
  return path;
};

const keyOptions = (a: CaKeyAlgorithm | KeyAlgorithm) =>
  a.startsWith('RSA-')
    ? ({ type: 'rsa', options: { modulusLength: Number(a.slice(4)) } } as const)
    : ({ type: 'ec', options: { namedCurve: a === 'EC-P256' ? 'prime256v1' : 'secp384r1' } } as const);

export const generateKey = (
  a: CaKeyAlgorithm | KeyAlgorithm,
): { privateKey: KeyObject; spki: Uint8Array } => {
  const o = keyOptions(a);
  const { privateKey, publicKey } =
    o.type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: o.options.modulusLength })
      : generateKeyPairSync('ec', { namedCurve: o.options.namedCurve });
  return { privateKey, spki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })) };
};

export const cardKey = (a: KeyAlgorithm, keyId = '01'): CardKey => ({
  spki: Buffer.from(generateKey(a).spki).toString('base64'),
  algorithm: a,
  keyId,
});

export const cardKeys = (sig: KeyAlgorithm = 'RSA-2048', enc: KeyAlgorithm = 'RSA-2048'): Card['keys'] => ({
  signature: cardKey(sig, '01'),
  encryption: cardKey(enc, '02'),
});

/**
 * A software signer: a hand-written fake of the signer port for tests that are not about the HSM.
 * Keys live in memory (node KeyObjects); it counts signatures and can be told to fail.
 */
export class SoftwareSigner implements Signer {
  private readonly keys = new Map<string, { privateKey: KeyObject; spki: Uint8Array }>();
  signatures = 0;
  failNext: Error | undefined;

  add(keyId: string, algorithm: CaKeyAlgorithm): SignerKeyRef {
    this.keys.set(keyId, generateKey(algorithm));
    return { provider: 'kms', keyId, algorithm };
  }

  async sign(ref: SignerKeyRef, tbs: Uint8Array): Promise<Uint8Array> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    const k = this.keys.get(ref.keyId);
    if (!k) throw new Error(`no key ${ref.keyId}`);
    this.signatures++;
    const hash = ref.algorithm === 'EC-P384' ? 'sha384' : 'sha256';
    return new Uint8Array(
      sign(
        hash,
        tbs,
        ref.algorithm.startsWith('EC-') ? { key: k.privateKey, dsaEncoding: 'der' } : k.privateKey,
      ),
    );
  }

  async publicKey(ref: SignerKeyRef): Promise<Uint8Array> {
    const k = this.keys.get(ref.keyId);
    if (!k) throw new Error(`no key ${ref.keyId}`);
    return k.spki;
  }
}

export interface TestHierarchy {
  root: CaDescriptor;
  issuing: CaDescriptor;
  ocspResponder: CaDescriptor;
}

/** A root, issuing CA and OCSP responder certified through any signer (no ceremony, no files). */
export const buildHierarchy = async (
  signer: Signer,
  keys: { root: SignerKeyRef; issuing: SignerKeyRef; ocsp: SignerKeyRef },
  start: Date,
  urls?: import('../../shared/ca/profiles.js').PkiUrls,
): Promise<TestHierarchy> => {
  const certify = async (
    id: string,
    kind: 'root' | 'issuing' | 'ocsp-responder',
    subject: string,
    ref: SignerKeyRef,
    issuer: CaDescriptor | undefined,
    years: number,
  ) => {
    const spki = await signer.publicKey(ref);
    const signing = issuer?.key ?? ref;
    const tbs = authorityTbs({
      kind,
      serialNumber: newSerialNumber(),
      subject: encodeDistinguishedName(subject),
      spki,
      notBefore: start,
      notAfter: addYears(start, years),
      issuer,
      signingAlgorithm: signing.algorithm,
      urls,
      policies: ['2.16.886.101.0.3.3'],
    });
    const der = assembleSigned(
      tbs,
      signatureAlgorithmIdentifier(signing.algorithm),
      await signer.sign(signing, tbs),
    );
    return describeCa(id, der, ref);
  };
  const root = await certify(
    'root-ca',
    'root',
    'C=TW, O=Test PKI, OU=Test CA, CN=Test Root CA',
    keys.root,
    undefined,
    25,
  );
  const issuing = await certify(
    'issuing-ca',
    'issuing',
    'C=TW, O=Test PKI, OU=Test CA, CN=Test Issuing CA',
    keys.issuing,
    root,
    20,
  );
  const ocspResponder = await certify(
    'ocsp-responder',
    'ocsp-responder',
    'C=TW, O=Test PKI, OU=Test CA, CN=Test OCSP',
    keys.ocsp,
    issuing,
    1,
  );
  return { root, issuing, ocspResponder };
};

export const officer = { type: 'officer' as const, id: 'officer-1', stationId: 'TPE01' };
export const workflow = { type: 'system' as const, id: 'workflow' };

/** A deterministic card number (two letters + 14 digits). */
export const cardNumberOf = (n: number) => `AC${String(n).padStart(14, '0')}`;

/**
 * The PkiMaterial of a test hierarchy, as `loadPkiMaterial` would read it back after a ceremony (no files
 * written): ca.json records by `authorityRecordOf`, the chain, and the root CRL given.
 */
export const materialOf = (
  h: TestHierarchy,
  o: {
    mode: 'local' | 'aws';
    createdAt: Date;
    publicBaseUrl: string;
    urls: import('../../shared/ca/profiles.js').PkiUrls;
    rootCrl: { der: Uint8Array; thisUpdate: Date; nextUpdate: Date };
  },
): PkiMaterial => ({
  file: {
    format: 'acdc-ca/1',
    mode: o.mode,
    createdAt: o.createdAt.toISOString(),
    publicBaseUrl: o.publicBaseUrl,
    urls: o.urls,
    authorities: {
      'root-ca': authorityRecordOf(h.root, 'root'),
      'issuing-ca': authorityRecordOf(h.issuing, 'issuing', h.root),
      'ocsp-responder': authorityRecordOf(h.ocspResponder, 'ocsp-responder', h.issuing),
    },
    rootCrl: {
      number: '1',
      thisUpdate: o.rootCrl.thisUpdate.toISOString(),
      nextUpdate: o.rootCrl.nextUpdate.toISOString(),
      file: 'root-ca.crl',
    },
  },
  root: h.root,
  issuing: h.issuing,
  ocspResponder: h.ocspResponder,
  urls: o.urls,
  rootCrl: o.rootCrl.der,
  chain: [h.issuing.certificate, h.root.certificate],
});
