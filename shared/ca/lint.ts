import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CertificatePolicies,
  CRLDistributionPoints,
  ExtendedKeyUsage,
  KeyUsage,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  TBSCertificate,
} from '@peculiar/asn1-x509';
import { signatureAlgorithmOf } from '../ports/signer.js';
import type { CaDescriptor } from './certificate.js';
import { addYears } from './certificate.js';
import { type Bytes, readTlv } from './der.js';
import { EXT } from './extensions.js';
import { sha1, spkiKeyBits } from './keys.js';
import { type CertificateProfile, KEY_USAGE_BITS, type PkiUrls } from './profiles.js';

/**
 * An independent check of a holder TBSCertificate before it is signed: the DER is parsed back with a
 * different library (asn1-schema) and compared with what the profile and the request say. The writer
 * (der.ts / certificate.ts) and this reader share no encoding code, so a writer bug is caught here,
 * before the CA key is used — the same idea as Boulder linting a TBS before it signs.
 */

export interface LintExpectation {
  profile: CertificateProfile;
  ca: CaDescriptor;
  urls: PkiUrls;
  serialNumber: string;
  subjectName: string;
  subjectSerial: string;
  email?: string;
  spki: Bytes;
  keyKind: 'rsa' | 'ec';
}

const eq = (a: ArrayBuffer | Uint8Array, b: Uint8Array) =>
  Buffer.from(a as ArrayBuffer).equals(Buffer.from(b));

/** Raw Name / SPKI slices of a TBSCertificate (for byte-exact comparisons). */
const rawFields = (tbs: Bytes) => {
  const outer = readTlv(tbs);
  let at = outer.start;
  const next = () => {
    const t = readTlv(tbs, at);
    at = t.end;
    return tbs.subarray(t.offset, t.end);
  };
  const first = readTlv(tbs, at);
  if (first.tag === 0xa0) next();
  next(); // serial
  next(); // signature
  const issuer = next();
  next(); // validity
  const subject = next();
  const spki = next();
  return { issuer, subject, spki, end: outer.end === tbs.length };
};

/** Returns the list of problems; empty means the TBS is what the profile and request call for. */
export const lintHolderTbs = (tbsDer: Bytes, x: LintExpectation): string[] => {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  let tbs: TBSCertificate;
  let raw: ReturnType<typeof rawFields>;
  try {
    tbs = AsnConvert.parse(tbsDer, TBSCertificate);
    raw = rawFields(tbsDer);
  } catch (e) {
    return [`TBS does not parse: ${(e as Error).message}`];
  }
  if (!raw.end) fail('trailing bytes after the TBS');
  if (tbs.version !== 2) fail('not a v3 certificate');
  const serial = new Uint8Array(tbs.serialNumber);
  if (serial.length > 20 || (serial[0]! & 0x80) !== 0)
    fail('serial number negative or longer than 20 octets');
  if (Buffer.from(serial).toString('hex').replace(/^0+/, '') !== x.serialNumber)
    fail('serial number differs from the reservation');
  if (serial.length * 8 < 64) fail('serial number shorter than 64 bits');
  if (tbs.signature.algorithm !== signatureAlgorithmOf(x.ca.key.algorithm).oid)
    fail('signature algorithm is not the CA key algorithm');
  if (!eq(raw.issuer, x.ca.subject)) fail('issuer is not the CA subject');
  if (!eq(raw.spki, x.spki)) fail('public key differs from the card key');
  const notBefore = tbs.validity.notBefore.getTime();
  const notAfter = tbs.validity.notAfter.getTime();
  if (notAfter.getTime() !== addYears(notBefore, x.profile.validityYears).getTime())
    fail(`validity is not ${x.profile.validityYears} years`);
  if (notBefore < x.ca.notBefore || notAfter > x.ca.notAfter) fail('validity outside the CA validity');
  if (notBefore.getTime() % 1000 !== 0 || notAfter.getTime() % 1000 !== 0)
    fail('validity not in whole seconds');

  // Subject: exactly C=TW, CN=<name>, serialNumber=<16 digits>, one attribute per RDN.
  const rdns = tbs.subject.map((r) => (r.length === 1 ? r[0]! : undefined));
  const [c, cn, sn] = rdns;
  if (rdns.length !== 3 || !c || !cn || !sn) fail('subject is not C, CN, serialNumber');
  else {
    if (c.type !== '2.5.4.6' || c.value.printableString !== 'TW') fail('subject C is not PrintableString TW');
    if (cn.type !== '2.5.4.3' || cn.value.utf8String !== x.subjectName) fail('subject CN differs');
    if (
      sn.type !== '2.5.4.5' ||
      !/^\d{16}$/.test(sn.value.printableString ?? '') ||
      sn.value.printableString !== x.subjectSerial
    ) {
      fail('subject serialNumber is not the 16-digit PrintableString');
    }
  }

  // Extensions: exactly the profile's set, each once, with the right criticality and content.
  const exts = tbs.extensions ?? [];
  const byId = new Map<string, (typeof exts)[number]>();
  for (const e of exts) {
    if (byId.has(e.extnID)) fail(`extension ${e.extnID} appears twice`);
    byId.set(e.extnID, e);
  }
  const expected = new Set<string>([
    EXT.basicConstraints,
    EXT.keyUsage,
    EXT.certificatePolicies,
    EXT.authorityInfoAccess,
    EXT.cRLDistributionPoints,
    EXT.authorityKeyIdentifier,
    EXT.subjectKeyIdentifier,
    ...(x.profile.extendedKeyUsage.length ? [EXT.extKeyUsage] : []),
    ...(x.email !== undefined ? [EXT.subjectAltName] : []),
  ]);
  for (const id of byId.keys()) if (!expected.has(id)) fail(`unexpected extension ${id}`);
  for (const id of expected) if (!byId.has(id)) fail(`missing extension ${id}`);
  const value = <T>(id: string, type: new () => T): T | undefined => {
    const e = byId.get(id);
    if (!e) return undefined;
    try {
      return AsnConvert.parse(e.extnValue, type);
    } catch {
      fail(`extension ${id} does not parse`);
      return undefined;
    }
  };
  const critical = (id: string, want: boolean) => {
    const e = byId.get(id);
    if (e && e.critical !== want) fail(`extension ${id} criticality should be ${want}`);
  };
  critical(EXT.basicConstraints, true);
  critical(EXT.keyUsage, true);
  for (const id of [
    EXT.certificatePolicies,
    EXT.authorityInfoAccess,
    EXT.cRLDistributionPoints,
    EXT.authorityKeyIdentifier,
    EXT.subjectKeyIdentifier,
    EXT.extKeyUsage,
    EXT.subjectAltName,
  ]) {
    critical(id, false);
  }
  const bc = value(EXT.basicConstraints, BasicConstraints);
  if (bc && (bc.cA || bc.pathLenConstraint !== undefined)) fail('basicConstraints must be cA:false');
  const ku = value(EXT.keyUsage, KeyUsage);
  if (ku) {
    const want = x.profile.keyUsage[x.keyKind].reduce((m, n) => m | (1 << KEY_USAGE_BITS[n]), 0);
    if (ku.toNumber() !== want) fail('keyUsage differs from the profile');
  }
  const eku = value(EXT.extKeyUsage, ExtendedKeyUsage);
  if (eku && [...eku].join(',') !== x.profile.extendedKeyUsage.join(','))
    fail('extendedKeyUsage differs from the profile');
  const cp = value(EXT.certificatePolicies, CertificatePolicies);
  if (cp && cp.map((p) => p.policyIdentifier).join(',') !== x.profile.policies.join(','))
    fail('certificatePolicies differ from the profile');
  const aia = value(EXT.authorityInfoAccess, AuthorityInfoAccessSyntax);
  if (aia) {
    const m = aia.map((a) => `${a.accessMethod}=${a.accessLocation.uniformResourceIdentifier}`).join(' ');
    if (m !== `1.3.6.1.5.5.7.48.1=${x.urls.ocsp} 1.3.6.1.5.5.7.48.2=${x.urls.caIssuers}`)
      fail('AIA is not OCSP + caIssuers');
  }
  const cdp = value(EXT.cRLDistributionPoints, CRLDistributionPoints);
  if (
    cdp &&
    (cdp.length !== 1 || cdp[0]!.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier !== x.urls.crl)
  ) {
    fail('CRL distribution point differs');
  }
  const aki = value(EXT.authorityKeyIdentifier, AuthorityKeyIdentifier);
  if (
    aki &&
    (!aki.keyIdentifier || !eq(aki.keyIdentifier.buffer, x.ca.keyIdentifier) || aki.authorityCertIssuer)
  ) {
    fail('authorityKeyIdentifier is not the CA key id');
  }
  const ski = value(EXT.subjectKeyIdentifier, SubjectKeyIdentifier);
  if (ski && !eq(ski.buffer, sha1(spkiKeyBits(x.spki)))) fail('subjectKeyIdentifier is not SHA-1 of the key');
  const san = value(EXT.subjectAltName, SubjectAlternativeName);
  if (san && (san.length !== 1 || san[0]!.rfc822Name !== x.email))
    fail('subjectAltName is not the one e-mail');
  return problems;
};

/**
 * The per-certificate check on the issuance hot path: a DER walk of the TBS with its own reader, no
 * general-purpose parser. The parts that vary per certificate are decoded and compared with the request
 * (serial, validity, subject strings, key, SKI, e-mail); the parts that are the same for every
 * certificate of a template must equal the template's encodings byte for byte — and those encodings are
 * checked by the full parse-back lint (`lintHolderTbs`) on the first certificate of each shape.
 */
export interface FastLintExpectation extends LintExpectation {
  /** What every certificate of the template shares, pre-encoded as hex (see `templateShape`). */
  shape: TemplateShape;
  keyIdentifier: Bytes;
}

export interface TemplateShape {
  signatureAlgorithm: Bytes;
  issuer: Bytes;
  /** Constant extensions for the key kind: extnID (hex, with tag) → whole Extension (DER). */
  constants: ReadonlyMap<string, Bytes>;
}

/** Pre-encodes the shared parts of a template for `fastLintHolderTbs`. */
export const templateShape = (
  signatureAlgorithm: Bytes,
  issuer: Bytes,
  constantExtensions: readonly Bytes[],
): TemplateShape => {
  const constants = new Map<string, Bytes>();
  for (const e of constantExtensions) {
    const outer = readTlv(e);
    const id = readTlv(e, outer.start);
    constants.set(hex(e.subarray(id.offset, id.end)), e);
  }
  return { signatureAlgorithm, issuer, constants };
};

const OID_C = '0603550406';
const OID_CN = '0603550403';
const OID_SERIAL = '0603550405';
const OID_SKI = '0603551d0e';
const OID_SAN = '0603551d11';
const VERSION_3 = Uint8Array.of(0xa0, 0x03, 0x02, 0x01, 0x02);
const utf8 = new TextDecoder('utf-8', { fatal: true });

const hex = (b: Bytes) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const same = (a: Bytes, b: Bytes) =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const decodeTime = (tbs: Bytes, t: { tag: number; start: number; end: number }): Date | undefined => {
  const s = Buffer.from(tbs.subarray(t.start, t.end)).toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (!m) return undefined;
  let year = Number(m[1]);
  if (t.tag === 0x17) {
    year += year >= 50 ? 1900 : 2000;
    if (year >= 2050) return undefined;
  } else if (year < 2050) return undefined; // RFC 5280: UTCTime through 2049
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
};

export const fastLintHolderTbs = (tbs: Bytes, x: FastLintExpectation): string[] => {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  try {
    const outer = readTlv(tbs);
    if (outer.tag !== 0x30 || outer.end !== tbs.length) return ['TBS is not one SEQUENCE'];
    let at = outer.start;
    const next = (tag: number, what: string) => {
      const t = readTlv(tbs, at);
      if (t.tag !== tag) throw new RangeError(`${what}: unexpected tag ${t.tag}`);
      at = t.end;
      return t;
    };
    const whole = (t: { offset: number; end: number }) => tbs.subarray(t.offset, t.end);
    if (!same(whole(next(0xa0, 'version')), VERSION_3)) fail('not a v3 certificate');
    const serial = next(0x02, 'serial');
    const sb = tbs.subarray(serial.start, serial.end);
    if (
      sb.length > 20 ||
      sb.length * 8 < 64 ||
      (sb[0]! & 0x80) !== 0 ||
      (sb[0] === 0 && (sb[1]! & 0x80) === 0)
    ) {
      fail('serial number not a minimal positive integer of 64 bits to 20 octets');
    }
    if (hex(sb).replace(/^0+/, '') !== x.serialNumber) fail('serial number differs from the reservation');
    if (!same(whole(next(0x30, 'signature')), x.shape.signatureAlgorithm)) {
      fail('signature algorithm is not the CA key algorithm');
    }
    if (!same(whole(next(0x30, 'issuer')), x.shape.issuer)) fail('issuer is not the CA subject');
    const validity = next(0x30, 'validity');
    const nb = readTlv(tbs, validity.start);
    const na = readTlv(tbs, nb.end);
    const notBefore = decodeTime(tbs, nb);
    const notAfter = decodeTime(tbs, na);
    if (!notBefore || !notAfter || na.end !== validity.end) fail('validity does not decode');
    else {
      const want = new Date(notBefore.getTime());
      want.setUTCFullYear(want.getUTCFullYear() + x.profile.validityYears);
      if (notAfter.getTime() !== want.getTime()) fail(`validity is not ${x.profile.validityYears} years`);
      if (notBefore < x.ca.notBefore || notAfter > x.ca.notAfter) fail('validity outside the CA validity');
    }
    // Subject: three single-attribute RDNs C, CN, serialNumber.
    const subject = next(0x30, 'subject');
    const attrs: { oid: string; tag: number; value: string }[] = [];
    for (let s = subject.start; s < subject.end; ) {
      const set = readTlv(tbs, s);
      s = set.end;
      const atv = readTlv(tbs, set.start);
      if (set.tag !== 0x31 || atv.tag !== 0x30 || atv.end !== set.end)
        throw new RangeError('subject RDN shape');
      const o = readTlv(tbs, atv.start);
      const v = readTlv(tbs, o.end);
      if (o.tag !== 0x06 || v.end !== atv.end) throw new RangeError('subject attribute shape');
      attrs.push({ oid: hex(whole(o)), tag: v.tag, value: utf8.decode(tbs.subarray(v.start, v.end)) });
    }
    const [c, cn, sn] = attrs;
    if (attrs.length !== 3 || !c || !cn || !sn) fail('subject is not C, CN, serialNumber');
    else {
      if (c.oid !== OID_C || c.tag !== 0x13 || c.value !== 'TW') fail('subject C is not PrintableString TW');
      if (cn.oid !== OID_CN || cn.tag !== 0x0c || cn.value !== x.subjectName) fail('subject CN differs');
      if (
        sn.oid !== OID_SERIAL ||
        sn.tag !== 0x13 ||
        !/^\d{16}$/.test(sn.value) ||
        sn.value !== x.subjectSerial
      ) {
        fail('subject serialNumber is not the 16-digit PrintableString');
      }
    }
    if (!same(whole(next(0x30, 'subjectPublicKeyInfo')), x.spki))
      fail('public key differs from the card key');
    const extsWrap = next(0xa3, 'extensions');
    if (at !== outer.end) fail('unexpected fields after the extensions');
    const list = readTlv(tbs, extsWrap.start);
    if (list.tag !== 0x30 || list.end !== extsWrap.end) throw new RangeError('extensions shape');
    const constants = x.shape.constants;
    const seen = new Set<string>();
    for (let e = list.start; e < list.end; ) {
      const ext = readTlv(tbs, e);
      e = ext.end;
      const o = readTlv(tbs, ext.start);
      const id = hex(whole(o));
      if (ext.tag !== 0x30 || o.tag !== 0x06) throw new RangeError('extension shape');
      if (seen.has(id)) fail(`extension ${id} appears twice`);
      seen.add(id);
      const constant = constants.get(id);
      if (constant !== undefined) {
        if (!same(whole(ext), constant)) fail(`extension ${id} differs from the profile`);
        continue;
      }
      let v = readTlv(tbs, o.end);
      if (v.tag === 0x01) fail(`extension ${id} must not be critical`);
      if (v.tag === 0x01) v = readTlv(tbs, v.end);
      if (v.tag !== 0x04 || v.end !== ext.end) throw new RangeError('extension value shape');
      const value = tbs.subarray(v.start, v.end);
      if (id === OID_SKI) {
        const inner = readTlv(value);
        if (
          inner.tag !== 0x04 ||
          inner.end !== value.length ||
          !same(value.subarray(inner.start), x.keyIdentifier)
        ) {
          fail('subjectKeyIdentifier is not SHA-1 of the key');
        }
      } else if (id === OID_SAN && x.email !== undefined) {
        const names = readTlv(value);
        const name = readTlv(value, names.start);
        if (names.tag !== 0x30 || names.end !== value.length || name.tag !== 0x81 || name.end !== names.end)
          fail('subjectAltName is not one rfc822Name');
        else if (Buffer.from(value.subarray(name.start, name.end)).toString('latin1') !== x.email)
          fail('subjectAltName e-mail differs');
      } else fail(`unexpected extension ${id}`);
    }
    for (const id of constants.keys()) if (!seen.has(id)) fail(`missing extension ${id}`);
    if (!seen.has(OID_SKI)) fail('missing subjectKeyIdentifier');
    if ((x.email !== undefined) !== seen.has(OID_SAN))
      fail('subjectAltName presence differs from the request');
  } catch (e) {
    fail(`TBS does not decode: ${(e as Error).message}`);
  }
  return problems;
};
