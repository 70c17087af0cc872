import type { CertificateProfileName, KeyAlgorithm } from '../domain/model.js';
import { ValidationError } from '../errors.js';

/**
 * Certificate profiles: named, validated configuration. A profile that breaks the certificate policy is
 * refused when it is defined (at start-up), never discovered on a signed certificate.
 *
 * Sources of the rules:
 * - DESIGN.md "Rules from the seeds" / "Architecture": 5-year validity; GPKI CP assurance level 3
 *   (policy 2.16.886.101.0.3.3); two key pairs per card, signature (digitalSignature, nonRepudiation) and
 *   encryption (keyEncipherment for RSA / keyAgreement for EC); AIA and CRL DP in every certificate.
 * - RFC 5280 §4.2.1.3 (keyUsage; keyCertSign/cRLSign only with cA), §4.2.1.9 (basicConstraints),
 *   §4.2.1.12 (EKU); RFC 5480 §3 (EC keys: keyAgreement, never keyEncipherment); RFC 8550/8551 (S/MIME).
 * - NIST SP 800-131A / GPKI level 3: RSA ≥ 2048 bits, P-256 or P-384.
 */

export const OID = {
  policyGpkiLevel3: '2.16.886.101.0.3.3',
  ekuServerAuth: '1.3.6.1.5.5.7.3.1',
  ekuClientAuth: '1.3.6.1.5.5.7.3.2',
  ekuCodeSigning: '1.3.6.1.5.5.7.3.3',
  ekuEmailProtection: '1.3.6.1.5.5.7.3.4',
  ekuTimeStamping: '1.3.6.1.5.5.7.3.8',
  ekuOcspSigning: '1.3.6.1.5.5.7.3.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
  anyPolicy: '2.5.29.32.0',
} as const;

export const KEY_USAGE_BITS = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;
export type KeyUsageName = keyof typeof KEY_USAGE_BITS;

export interface CertificateProfileSpec {
  name: CertificateProfileName;
  /** What the key pair is for on the card: the two are never mixed (DESIGN: two key pairs per card). */
  purpose: 'signature' | 'encryption';
  description: string;
  validityYears: number;
  /** keyUsage by the type of the holder's key. */
  keyUsage: { rsa: readonly KeyUsageName[]; ec: readonly KeyUsageName[] };
  extendedKeyUsage: readonly string[];
  policies: readonly string[];
  /** Holder key types the profile accepts. */
  keyAlgorithms: readonly KeyAlgorithm[];
  /** Whether an e-mail may go into subjectAltName (rfc822Name). */
  email: 'optional' | 'forbidden';
}

export type CertificateProfile = Readonly<CertificateProfileSpec>;

const ALLOWED_KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  'RSA-2048',
  'RSA-3072',
  'RSA-4096',
  'EC-P256',
  'EC-P384',
];
const FORBIDDEN_EKUS = new Set<string>([
  OID.ekuServerAuth,
  OID.ekuCodeSigning,
  OID.ekuTimeStamping,
  OID.ekuOcspSigning,
  OID.anyExtendedKeyUsage,
]);
const OID_PATTERN = /^[0-2](\.(0|[1-9]\d*))+$/;

const refuse = (field: string, rule: string, message: string): never => {
  throw new ValidationError(`profile.${field}`, rule, message);
};

/** Validates a profile against the certificate policy and freezes it. */
export const defineProfile = (spec: CertificateProfileSpec): CertificateProfile => {
  if (spec.name !== 'holder-signature' && spec.name !== 'holder-encryption') {
    refuse('name', 'profile.name', `unknown profile ${String(spec.name)}`);
  }
  if (spec.validityYears !== 5) {
    refuse(
      'validityYears',
      'profile.validity',
      'holder certificates are valid exactly 5 years (DESIGN, MOICA FAQ)',
    );
  }
  if (spec.policies.length !== 1 || spec.policies[0] !== OID.policyGpkiLevel3) {
    refuse(
      'policies',
      'profile.policy',
      `the only policy is GPKI CP assurance level 3, ${OID.policyGpkiLevel3} (DESIGN); anyPolicy and others are refused`,
    );
  }
  if (
    spec.keyAlgorithms.length === 0 ||
    spec.keyAlgorithms.some((a) => !ALLOWED_KEY_ALGORITHMS.includes(a))
  ) {
    refuse(
      'keyAlgorithms',
      'profile.keyAlgorithm',
      'holder keys are RSA-2048/3072/4096 or EC P-256/P-384 (NIST SP 800-131A)',
    );
  }
  for (const kind of ['rsa', 'ec'] as const) {
    const ku = spec.keyUsage[kind];
    if (ku.length === 0)
      refuse(
        `keyUsage.${kind}`,
        'profile.keyUsage',
        'keyUsage must assert at least one bit (RFC 5280 §4.2.1.3)',
      );
    if (new Set(ku).size !== ku.length)
      refuse(`keyUsage.${kind}`, 'profile.keyUsage', 'keyUsage lists a bit twice');
    for (const bit of ku) {
      if (!(bit in KEY_USAGE_BITS)) refuse(`keyUsage.${kind}`, 'profile.keyUsage', `unknown keyUsage ${bit}`);
      if (bit === 'keyCertSign' || bit === 'cRLSign') {
        refuse(
          `keyUsage.${kind}`,
          'profile.keyUsage.ca',
          `${bit} is for CA certificates only (RFC 5280 §4.2.1.3, §4.2.1.9)`,
        );
      }
    }
    const has = (b: KeyUsageName) => ku.includes(b);
    if (spec.purpose === 'signature') {
      if (!has('digitalSignature') || !has('nonRepudiation') || ku.length !== 2) {
        refuse(
          `keyUsage.${kind}`,
          'profile.keyUsage.signature',
          'the signature certificate asserts exactly digitalSignature and nonRepudiation; encryption uses the other key pair (DESIGN)',
        );
      }
    } else {
      if (has('digitalSignature') || has('nonRepudiation')) {
        refuse(
          `keyUsage.${kind}`,
          'profile.keyUsage.encryption',
          'the encryption certificate must not assert digitalSignature or nonRepudiation (DESIGN: separate key pairs)',
        );
      }
      if (
        kind === 'rsa' &&
        (!has('keyEncipherment') || ku.some((b) => b !== 'keyEncipherment' && b !== 'dataEncipherment'))
      ) {
        refuse(
          'keyUsage.rsa',
          'profile.keyUsage.encryption',
          'RSA encryption keys assert keyEncipherment (RFC 8551 §4.4.2)',
        );
      }
      if (kind === 'ec' && (ku.length !== 1 || ku[0] !== 'keyAgreement')) {
        refuse(
          'keyUsage.ec',
          'profile.keyUsage.encryption',
          'EC encryption keys assert keyAgreement only (RFC 5480 §3)',
        );
      }
    }
  }
  if (new Set(spec.extendedKeyUsage).size !== spec.extendedKeyUsage.length) {
    refuse('extendedKeyUsage', 'profile.eku', 'extendedKeyUsage lists a purpose twice');
  }
  for (const eku of spec.extendedKeyUsage) {
    if (!OID_PATTERN.test(eku)) refuse('extendedKeyUsage', 'profile.eku', `not an OID: ${eku}`);
    if (FORBIDDEN_EKUS.has(eku)) {
      refuse(
        'extendedKeyUsage',
        'profile.eku',
        `${eku} is not a holder purpose (no TLS server, code, time-stamp, OCSP or any purpose)`,
      );
    }
  }
  if (spec.email !== 'optional' && spec.email !== 'forbidden')
    refuse('email', 'profile.email', 'email is optional or forbidden');
  return Object.freeze({
    ...spec,
    keyUsage: Object.freeze({
      rsa: Object.freeze([...spec.keyUsage.rsa]),
      ec: Object.freeze([...spec.keyUsage.ec]),
    }),
    extendedKeyUsage: Object.freeze([...spec.extendedKeyUsage]),
    policies: Object.freeze([...spec.policies]),
    keyAlgorithms: Object.freeze([...spec.keyAlgorithms]),
  });
};

/**
 * Signature certificate: signs documents and logs in to e-government sites. S/MIME signing
 * (emailProtection) and TLS client authentication (clientAuth) — HiPKI relying parties pick the card
 * certificate whose usage is digitalSignature.
 */
export const HOLDER_SIGNATURE: CertificateProfile = defineProfile({
  name: 'holder-signature',
  purpose: 'signature',
  description: 'Holder signature certificate (digitalSignature, nonRepudiation)',
  validityYears: 5,
  keyUsage: { rsa: ['digitalSignature', 'nonRepudiation'], ec: ['digitalSignature', 'nonRepudiation'] },
  extendedKeyUsage: [OID.ekuEmailProtection, OID.ekuClientAuth],
  policies: [OID.policyGpkiLevel3],
  keyAlgorithms: ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'],
  email: 'optional',
});

/** Encryption certificate: S/MIME encryption / key exchange only. */
export const HOLDER_ENCRYPTION: CertificateProfile = defineProfile({
  name: 'holder-encryption',
  purpose: 'encryption',
  description: 'Holder encryption certificate (keyEncipherment for RSA, keyAgreement for EC)',
  validityYears: 5,
  keyUsage: { rsa: ['keyEncipherment'], ec: ['keyAgreement'] },
  extendedKeyUsage: [OID.ekuEmailProtection],
  policies: [OID.policyGpkiLevel3],
  keyAlgorithms: ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'],
  email: 'optional',
});

export const PROFILES: Readonly<Record<CertificateProfileName, CertificateProfile>> = Object.freeze({
  'holder-signature': HOLDER_SIGNATURE,
  'holder-encryption': HOLDER_ENCRYPTION,
});

/** Where relying parties fetch status and CA certificates; goes into AIA and CRL DP. */
export interface PkiUrls {
  ocsp: string;
  /** The issuing CA certificate (AIA caIssuers of holder certificates). */
  caIssuers: string;
  /** The issuing CA's CRL (CRL DP of holder certificates). */
  crl: string;
  /** The root certificate and the root's CRL (AIA / CRL DP of the issuing CA certificate). */
  rootCertificate: string;
  rootCrl: string;
}

/**
 * URLs from the public base URL. Plain http is what relying parties expect for OCSP and CRLs (RFC 5280
 * §4.2.1.13, RFC 6960 appendix A); https is accepted for deployments behind API Gateway.
 */
export const pkiUrls = (publicBaseUrl: string): PkiUrls => {
  let u: URL;
  try {
    u = new URL(publicBaseUrl);
  } catch {
    throw new ValidationError('publicBaseUrl', 'pki.baseUrl', 'not an absolute URL');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash || u.username || u.password) {
    throw new ValidationError(
      'publicBaseUrl',
      'pki.baseUrl',
      'must be an http(s) URL without query, fragment or credentials',
    );
  }
  const base = u.toString().replace(/\/+$/, '');
  if (!/^[\x21-\x7e]+$/.test(base))
    throw new ValidationError('publicBaseUrl', 'pki.baseUrl', 'must be ASCII (IA5String)');
  return {
    ocsp: `${base}/pki/ocsp`,
    caIssuers: `${base}/pki/certs/issuing-ca.cer`,
    crl: `${base}/pki/crl/issuing-ca.crl`,
    rootCertificate: `${base}/pki/certs/root-ca.cer`,
    rootCrl: `${base}/pki/crl/root-ca.crl`,
  };
};
