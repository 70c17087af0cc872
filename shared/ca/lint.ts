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
