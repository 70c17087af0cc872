import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import type { KeyAlgorithm } from '../domain/model.js';

/**
 * PKCS#10 certification requests as proof of possession of a card key: the card signs a request
 * carrying its own public key and the card number, so the inventory only accepts public keys whose
 * private half signed for them. Built with @peculiar/asn1-csr (the signature comes from the card, so no
 * WebCrypto key is involved) and verified with node:crypto over the exact bytes that were signed.
 */

const OID_CN = '2.5.4.3';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const SIGNATURE_OIDS = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  'ecdsa-with-SHA256': '1.2.840.10045.4.3.2',
  'ecdsa-with-SHA384': '1.2.840.10045.4.3.3',
} as const;

const CURVES: Record<string, KeyAlgorithm> = { prime256v1: 'EC-P256', secp384r1: 'EC-P384' };

/** How a key of this algorithm signs (card signatures and CSRs alike). */
export const signatureSchemeOf = (
  algorithm: KeyAlgorithm,
): { oid: string; hash: 'sha256' | 'sha384'; kind: 'rsa' | 'ec' } => {
  switch (algorithm) {
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096':
      return { oid: SIGNATURE_OIDS.sha256WithRSAEncryption, hash: 'sha256', kind: 'rsa' };
    case 'EC-P256':
      return { oid: SIGNATURE_OIDS['ecdsa-with-SHA256'], hash: 'sha256', kind: 'ec' };
    case 'EC-P384':
      return { oid: SIGNATURE_OIDS['ecdsa-with-SHA384'], hash: 'sha384', kind: 'ec' };
  }
};

/** The KeyAlgorithm of a SubjectPublicKeyInfo, or undefined for anything a card may not hold. */
export const keyAlgorithmOfSpki = (spki: Uint8Array): KeyAlgorithm | undefined => {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength;
    if (details?.publicExponent !== 65537n) return undefined;
    return bits === 2048 ? 'RSA-2048' : bits === 3072 ? 'RSA-3072' : bits === 4096 ? 'RSA-4096' : undefined;
  }
  if (key.asymmetricKeyType === 'ec') return CURVES[details?.namedCurve ?? ''];
  return undefined;
};

/**
 * Build a CSR with subject `CN=<commonName>` for `spki`, signed by `sign` (the card). `sign` receives the
 * DER CertificationRequestInfo and returns the signature as it goes into the BIT STRING (PKCS#1 v1.5
 * for RSA, DER Ecdsa-Sig-Value for EC).
 */
export const buildCsr = async (opts: {
  commonName: string;
  spki: Uint8Array;
  algorithm: KeyAlgorithm;
  sign: (tbs: Uint8Array) => Promise<Uint8Array>;
}): Promise<Uint8Array> => {
  const scheme = signatureSchemeOf(opts.algorithm);
  const info = new CertificationRequestInfo({
    version: 0,
    subject: new Name([
      new RelativeDistinguishedName([
        new AttributeTypeAndValue({
          type: OID_CN,
          value: new AttributeValue({ utf8String: opts.commonName }),
        }),
      ]),
    ]),
    subjectPKInfo: AsnConvert.parse(Buffer.from(opts.spki), SubjectPublicKeyInfo),
    attributes: new Attributes(),
  });
  const tbs = new Uint8Array(AsnConvert.serialize(info));
  const signature = await opts.sign(tbs);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    // RSA signature algorithms carry NULL parameters; ECDSA ones carry none (RFC 4055 / RFC 5758).
    signatureAlgorithm: new AlgorithmIdentifier(
      scheme.kind === 'rsa' ? { algorithm: scheme.oid, parameters: null } : { algorithm: scheme.oid },
    ),
    signature: new Uint8Array(signature).buffer as ArrayBuffer,
  });
  return new Uint8Array(AsnConvert.serialize(csr));
};

/** Length of the DER TLV starting at `offset` (header + content). */
const tlvLength = (der: Uint8Array, offset: number): { header: number; content: number } => {
  const first = der[offset + 1];
  if (first === undefined) throw new Error('truncated DER');
  if (first < 0x80) return { header: 2, content: first };
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new Error('unsupported DER length');
  let len = 0;
  for (let i = 0; i < n; i++) {
    const b = der[offset + 2 + i];
    if (b === undefined) throw new Error('truncated DER');
    len = len * 256 + b;
  }
  return { header: 2 + n, content: len };
};

export interface VerifiedCsr {
  commonName: string | undefined;
  spki: Uint8Array;
  algorithm: KeyAlgorithm;
}

export type CsrProblem = 'malformed' | 'unsupported_key' | 'signature_algorithm' | 'bad_signature';

/**
 * Parse a CSR (DER) and check its self-signature over the exact CertificationRequestInfo bytes.
 * Returns what it certifies, or the reason it is refused.
 */
export const verifyCsr = (
  der: Uint8Array,
): { ok: true; csr: VerifiedCsr } | { ok: false; problem: CsrProblem } => {
  let req: CertificationRequest;
  let tbs: Uint8Array;
  try {
    req = AsnConvert.parse(Buffer.from(der), CertificationRequest);
    // The signed bytes are the first element of the outer SEQUENCE, exactly as received.
    const outer = tlvLength(der, 0);
    if (der[0] !== 0x30 || outer.header + outer.content !== der.length)
      return { ok: false, problem: 'malformed' };
    const inner = tlvLength(der, outer.header);
    tbs = der.subarray(outer.header, outer.header + inner.header + inner.content);
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  const info = req.certificationRequestInfo;
  const spki = new Uint8Array(AsnConvert.serialize(info.subjectPKInfo));
  const algorithm = keyAlgorithmOfSpki(spki);
  if (!algorithm) return { ok: false, problem: 'unsupported_key' };
  const keyOid = info.subjectPKInfo.algorithm.algorithm;
  if (keyOid !== (algorithm.startsWith('RSA') ? OID_RSA_ENCRYPTION : OID_EC_PUBLIC_KEY)) {
    return { ok: false, problem: 'unsupported_key' };
  }
  const scheme = signatureSchemeOf(algorithm);
  if (req.signatureAlgorithm.algorithm !== scheme.oid) return { ok: false, problem: 'signature_algorithm' };
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const signature = Buffer.from(req.signature);
  let good = false;
  try {
    good = verifySignature(
      scheme.hash,
      tbs,
      scheme.kind === 'ec' ? { key, dsaEncoding: 'der' } : key,
      signature,
    );
  } catch {
    good = false;
  }
  if (!good) return { ok: false, problem: 'bad_signature' };
  const cn = info.subject
    .flatMap((rdn) => [...rdn])
    .find((atv) => atv.type === OID_CN)
    ?.value.toString();
  return { ok: true, csr: { commonName: cn, spki, algorithm } };
};

/** Accepts a CSR as PEM (`-----BEGIN CERTIFICATE REQUEST-----`) or as base64 DER; returns the DER. */
export const csrDerFrom = (text: string): Uint8Array | undefined => {
  const trimmed = text.trim();
  const pem =
    /^-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (NEW )?CERTIFICATE REQUEST-----$/.exec(
      trimmed,
    );
  const body = (pem ? pem[2]! : trimmed).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return undefined;
  const der = Buffer.from(body, 'base64');
  return der.length > 0 ? new Uint8Array(der) : undefined;
};

export const csrToPem = (der: Uint8Array): string => {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE REQUEST-----\n`;
};
