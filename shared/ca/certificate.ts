import { AsnConvert } from '@peculiar/asn1-schema';
import { Validity } from '@peculiar/asn1-x509';
import type { KeyAlgorithm } from '../domain/model.js';
import { ConflictError, ValidationError } from '../errors.js';
import { type CaKeyAlgorithm, type SignerKeyRef, signatureAlgorithmOf } from '../ports/signer.js';
import {
  type Bytes,
  bitString,
  bytesToHex,
  derNull,
  explicit,
  hexToBytes,
  oid,
  readTlv,
  seq,
  smallInteger,
  time,
  unsignedInteger,
  wholeSeconds,
} from './der.js';
import {
  authorityInfoAccess,
  authorityKeyIdentifier,
  basicConstraints,
  certificatePolicies,
  crlDistributionPoints,
  extKeyUsage,
  keyUsage,
  ocspNoCheck,
  subjectAltNameEmail,
  subjectKeyIdentifier,
} from './extensions.js';
import { inspectPublicKey, type PublicKeyInfo, spkiKeyBits } from './keys.js';
import { type TemplateShape, templateShape } from './lint.js';
import { holderSubject, nameToString } from './names.js';
import type { CertificateProfile, PkiUrls } from './profiles.js';

/** A CA as the issuance code sees it: its certificate, the facts read from it, and its key reference. */
export interface CaDescriptor {
  /** `root-ca`, `issuing-ca`, `ocsp-responder` (the id used in URLs and in CertificateRecord.issuer). */
  id: string;
  key: SignerKeyRef;
  certificate: Bytes;
  /** The subject Name exactly as encoded in the certificate (becomes the issuer of what it signs). */
  subject: Bytes;
  subjectText: string;
  spki: Bytes;
  /** The subjectKeyIdentifier (becomes the authorityKeyIdentifier of what it signs). */
  keyIdentifier: Bytes;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** The raw fields of a certificate, sliced out of the DER (no re-encoding). */
export interface CertificateParts {
  tbs: Bytes;
  serialNumber: string;
  signatureAlgorithm: Bytes;
  issuer: Bytes;
  validity: Bytes;
  subject: Bytes;
  spki: Bytes;
  extensions?: Bytes;
  signature: Bytes;
}

export const certificateParts = (der: Bytes): CertificateParts => {
  const cert = readTlv(der);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw new RangeError('not a certificate');
  const tbs = readTlv(der, cert.start);
  const outerAlg = readTlv(der, tbs.end);
  const sig = readTlv(der, outerAlg.end);
  if (sig.tag !== 0x03 || sig.end !== cert.end) throw new RangeError('not a certificate');
  let at = tbs.start;
  const next = () => {
    const t = readTlv(der, at);
    at = t.end;
    return t;
  };
  let field = next();
  if (field.tag === 0xa0) field = next();
  const serial = field;
  const alg = next();
  const issuer = next();
  const validity = next();
  const subject = next();
  const spki = next();
  let extensions: Bytes | undefined;
  while (at < tbs.end) {
    const t = next();
    if (t.tag === 0xa3) extensions = der.subarray(t.start, t.end);
  }
  const whole = (t: { offset: number; end: number }) => der.subarray(t.offset, t.end);
  return {
    tbs: whole(tbs),
    serialNumber: bytesToHex(der.subarray(serial.start, serial.end)).replace(/^0+(?=.)/, ''),
    signatureAlgorithm: whole(alg),
    issuer: whole(issuer),
    validity: whole(validity),
    subject: whole(subject),
    spki: whole(spki),
    extensions,
    signature: der.subarray(sig.start + 1, sig.end),
  };
};

/** Reads a CA certificate into a descriptor. */
export const describeCa = (id: string, certificate: Bytes, key: SignerKeyRef): CaDescriptor => {
  const parts = certificateParts(certificate);
  const validity = AsnConvert.parse(parts.validity, Validity);
  const info = inspectPublicKey(parts.spki);
  const ski = findExtension(parts.extensions, '2.5.29.14');
  // The SKI extension value is an OCTET STRING holding the key id.
  const keyIdentifier = ski ? ski.subarray(readTlv(ski).start) : info.keyIdentifier;
  return {
    id,
    key,
    certificate,
    subject: parts.subject,
    subjectText: nameToString(parts.subject),
    spki: parts.spki,
    keyIdentifier,
    serialNumber: parts.serialNumber,
    notBefore: validity.notBefore.getTime(),
    notAfter: validity.notAfter.getTime(),
  };
};

/** The extnValue (content of the OCTET STRING) of extension `id` in an `[3] Extensions` body, if present. */
export const findExtension = (extensions: Bytes | undefined, id: string): Bytes | undefined => {
  if (!extensions) return undefined;
  const want = oid(id);
  const list = readTlv(extensions);
  for (let at = list.start; at < list.end; ) {
    const ext = readTlv(extensions, at);
    at = ext.end;
    const idTlv = readTlv(extensions, ext.start);
    const idBytes = extensions.subarray(ext.start, idTlv.end);
    if (!Buffer.from(idBytes).equals(want)) continue;
    let v = readTlv(extensions, idTlv.end);
    if (v.tag === 0x01) v = readTlv(extensions, v.end);
    return extensions.subarray(v.start, v.end);
  }
  return undefined;
};

/** AlgorithmIdentifier of the signature a CA key makes (RSA: NULL parameters; ECDSA: absent). */
export const signatureAlgorithmIdentifier = (algorithm: CaKeyAlgorithm): Bytes => {
  const sig = signatureAlgorithmOf(algorithm);
  return sig.name === 'sha256WithRSAEncryption' ? seq(oid(sig.oid), derNull) : seq(oid(sig.oid));
};

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } — from the exact TBS bytes. */
export const assembleSigned = (tbs: Bytes, signatureAlgorithm: Bytes, signature: Bytes): Bytes =>
  seq(tbs, signatureAlgorithm, bitString(signature));

export const addYears = (d: Date, years: number): Date => {
  const out = new Date(d.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
};

/** Serial numbers: lower-case hex, positive, no leading zeros, at most 20 octets (RFC 5280 §4.1.2.2). */
export const SERIAL_PATTERN = /^[1-9a-f][0-9a-f]{15,39}$/;

export const serialToBytes = (serial: string): Bytes => {
  if (!SERIAL_PATTERN.test(serial)) throw new RangeError(`bad serial number ${serial}`);
  return hexToBytes(serial);
};

export interface TbsFields {
  serialNumber: string;
  signatureAlgorithm: Bytes;
  issuer: Bytes;
  notBefore: Date;
  notAfter: Date;
  subject: Bytes;
  spki: Bytes;
  extensions: readonly Bytes[];
}

/** TBSCertificate (v3) from its parts. */
export const tbsCertificate = (f: TbsFields): Bytes =>
  seq(
    explicit(0, smallInteger(2)),
    unsignedInteger(serialToBytes(f.serialNumber)),
    f.signatureAlgorithm,
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, seq(...f.extensions)),
  );

export interface HolderCertificateInput {
  holderName: string;
  subjectSerial: string;
  email?: string;
  /** The card key's SubjectPublicKeyInfo, DER. */
  spki: Bytes;
  /** The algorithm the card inventory declares for this key; must match the key itself. */
  declaredAlgorithm?: KeyAlgorithm;
  /** Request field of the key, for error messages, e.g. `keys.signature`. */
  keyField?: string;
}

/** A holder certificate request that passed every check that does not depend on serial or time. */
export interface PreparedHolderCertificate {
  subject: Bytes;
  spki: Bytes;
  key: PublicKeyInfo;
  email?: string;
  /** The profile's extensions for this key type and e-mail, in certificate order. */
  extensions: readonly Bytes[];
}

export interface BuiltTbs {
  tbs: Bytes;
  notBefore: Date;
  notAfter: Date;
}

const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export const validateCertificateEmail = (email: string, field = 'email'): void => {
  if (typeof email !== 'string' || email.length > 254 || !EMAIL.test(email)) {
    throw new ValidationError(
      field,
      'certificate.email',
      'must be an ASCII e-mail address (rfc822Name) of at most 254 characters',
    );
  }
};

/**
 * A holder-certificate template: one profile under one CA. Everything that is the same for every
 * certificate (issuer name, signature algorithm, policy, AIA, CRL DP, AKI, keyUsage per key type) is
 * encoded once here. `prepare` checks the holder's name, e-mail and key against the profile; `build`
 * adds serial and validity (checked against the CA's validity) and returns the exact TBS bytes.
 */
export class HolderCertificateTemplate {
  readonly signatureAlgorithm: Bytes;
  private readonly head: { rsa: Bytes[]; ec: Bytes[] };
  private readonly tail: Bytes[];
  /** The shared encodings per key kind, for the per-certificate lint. */
  readonly shapes: { rsa: TemplateShape; ec: TemplateShape };

  constructor(
    readonly profile: CertificateProfile,
    readonly ca: CaDescriptor,
    readonly urls: PkiUrls,
  ) {
    this.signatureAlgorithm = signatureAlgorithmIdentifier(ca.key.algorithm);
    const bc = basicConstraints(false);
    this.head = { rsa: [bc, keyUsage(profile.keyUsage.rsa)], ec: [bc, keyUsage(profile.keyUsage.ec)] };
    this.tail = [
      ...(profile.extendedKeyUsage.length ? [extKeyUsage(profile.extendedKeyUsage)] : []),
      certificatePolicies(profile.policies),
      authorityInfoAccess({ ocsp: urls.ocsp, caIssuers: urls.caIssuers }),
      crlDistributionPoints(urls.crl),
      authorityKeyIdentifier(ca.keyIdentifier),
    ];
    this.shapes = {
      rsa: templateShape(this.signatureAlgorithm, ca.subject, [...this.head.rsa, ...this.tail]),
      ec: templateShape(this.signatureAlgorithm, ca.subject, [...this.head.ec, ...this.tail]),
    };
  }

  prepare(input: HolderCertificateInput): PreparedHolderCertificate {
    const keyField = input.keyField ?? 'spki';
    let key: PublicKeyInfo;
    try {
      key = inspectPublicKey(input.spki);
    } catch (e) {
      throw new ValidationError(`${keyField}.spki`, 'certificate.key.invalid', (e as Error).message);
    }
    if (!key.algorithm || !this.profile.keyAlgorithms.includes(key.algorithm)) {
      throw new ValidationError(
        `${keyField}.spki`,
        'certificate.key.algorithm',
        `key type not allowed by ${this.profile.name} (allowed: ${this.profile.keyAlgorithms.join(', ')})`,
      );
    }
    if (input.declaredAlgorithm && input.declaredAlgorithm !== key.algorithm) {
      throw new ValidationError(
        `${keyField}.algorithm`,
        'certificate.key.mismatch',
        `declared ${input.declaredAlgorithm}, key is ${key.algorithm}`,
      );
    }
    if (key.kind === 'rsa') {
      const e = key.publicExponent ?? 0n;
      if (e % 2n === 0n || e < 65537n || e >= 1n << 256n) {
        throw new ValidationError(
          `${keyField}.spki`,
          'certificate.key.exponent',
          'RSA public exponent must be odd, at least 65537 and below 2^256',
        );
      }
    }
    if (Buffer.from(key.keyBits).equals(Buffer.from(spkiKeyBits(this.ca.spki)))) {
      throw new ValidationError(
        `${keyField}.spki`,
        'certificate.key.ca',
        'a holder key cannot be the CA key',
      );
    }
    if (input.email !== undefined) {
      if (this.profile.email === 'forbidden')
        throw new ValidationError('email', 'certificate.email', `${this.profile.name} carries no e-mail`);
      validateCertificateEmail(input.email);
    }
    const subject = holderSubject(input.holderName, input.subjectSerial);
    const extensions = [
      ...this.head[key.kind === 'ec' ? 'ec' : 'rsa'],
      ...(input.email !== undefined ? [subjectAltNameEmail(input.email)] : []),
      ...this.tail,
      subjectKeyIdentifier(key.keyIdentifier),
    ];
    return { subject, spki: input.spki, key, email: input.email, extensions };
  }

  /** The validity a certificate starting at `start` gets; ConflictError if it would outlive the CA. */
  validity(start: Date): { notBefore: Date; notAfter: Date } {
    const notBefore = wholeSeconds(start);
    const notAfter = addYears(notBefore, this.profile.validityYears);
    if (notBefore < this.ca.notBefore || notAfter > this.ca.notAfter) {
      throw new ConflictError(
        `a ${this.profile.validityYears}-year certificate from ${notBefore.toISOString()} would outlive the issuing CA (valid ${this.ca.notBefore.toISOString()} to ${this.ca.notAfter.toISOString()})`,
        { rule: 'certificate.validity.ca' },
      );
    }
    return { notBefore, notAfter };
  }

  build(prepared: PreparedHolderCertificate, serialNumber: string, start: Date): BuiltTbs {
    if (!SERIAL_PATTERN.test(serialNumber)) throw new RangeError(`bad serial number ${serialNumber}`);
    const { notBefore, notAfter } = this.validity(start);
    const tbs = tbsCertificate({
      serialNumber,
      signatureAlgorithm: this.signatureAlgorithm,
      issuer: this.ca.subject,
      notBefore,
      notAfter,
      subject: prepared.subject,
      spki: prepared.spki,
      extensions: prepared.extensions,
    });
    return { tbs, notBefore, notAfter };
  }

  assemble(tbs: Bytes, signature: Bytes): Bytes {
    return assembleSigned(tbs, this.signatureAlgorithm, signature);
  }
}

/** What kind of CA-side certificate the key ceremony makes. */
export type AuthorityCertificateKind = 'root' | 'issuing' | 'ocsp-responder';

export interface AuthorityCertificateSpec {
  kind: AuthorityCertificateKind;
  serialNumber: string;
  subject: Bytes;
  spki: Bytes;
  notBefore: Date;
  notAfter: Date;
  /** The signing CA; absent for the self-signed root. */
  issuer?: CaDescriptor;
  /** Signature algorithm of the signing key (the subject's own key for the root). */
  signingAlgorithm: CaKeyAlgorithm;
  /** Root URLs for the issuing CA's AIA / CRL DP. */
  urls?: PkiUrls;
  policies?: readonly string[];
}

/**
 * TBS of a CA-side certificate:
 * - root: self-signed, CA:true (no path length), keyCertSign + cRLSign, SKI (no AKI: RFC 5280 §4.2.1.1);
 * - issuing: CA:true pathLen 0, keyCertSign + cRLSign, policies, AIA caIssuers + CRL DP of the root, AKI/SKI;
 * - ocsp-responder: delegated responder (RFC 6960 §4.2.2.2): CA:false, digitalSignature,
 *   EKU id-kp-OCSPSigning, id-pkix-ocsp-nocheck, AKI/SKI.
 */
export const authorityTbs = (spec: AuthorityCertificateSpec): Bytes => {
  const key = inspectPublicKey(spec.spki);
  const ski = subjectKeyIdentifier(key.keyIdentifier);
  const issuer = spec.issuer;
  if (spec.kind !== 'root' && !issuer) throw new RangeError(`${spec.kind} certificate needs an issuer`);
  let extensions: Bytes[];
  switch (spec.kind) {
    case 'root':
      extensions = [basicConstraints(true), keyUsage(['keyCertSign', 'cRLSign']), ski];
      break;
    case 'issuing':
      extensions = [
        basicConstraints(true, 0),
        keyUsage(['keyCertSign', 'cRLSign']),
        ...(spec.policies?.length ? [certificatePolicies(spec.policies)] : []),
        ...(spec.urls
          ? [
              authorityInfoAccess({ caIssuers: spec.urls.rootCertificate }),
              crlDistributionPoints(spec.urls.rootCrl),
            ]
          : []),
        authorityKeyIdentifier(issuer!.keyIdentifier),
        ski,
      ];
      break;
    case 'ocsp-responder':
      extensions = [
        basicConstraints(false),
        keyUsage(['digitalSignature']),
        extKeyUsage(['1.3.6.1.5.5.7.3.9']),
        ocspNoCheck(),
        authorityKeyIdentifier(issuer!.keyIdentifier),
        ski,
      ];
      break;
  }
  return tbsCertificate({
    serialNumber: spec.serialNumber,
    signatureAlgorithm: signatureAlgorithmIdentifier(spec.signingAlgorithm),
    issuer: issuer ? issuer.subject : spec.subject,
    notBefore: wholeSeconds(spec.notBefore),
    notAfter: wholeSeconds(spec.notAfter),
    subject: spec.subject,
    spki: spec.spki,
    extensions,
  });
};
