import type { RevocationReason } from '../domain/model.js';
import {
  type Bytes,
  bitString,
  boolTrue,
  derNull,
  ia5Bytes,
  implicitConstructed,
  implicitPrimitive,
  octetString,
  oid,
  seq,
  smallInteger,
  tlv,
  unsignedInteger,
} from './der.js';
import { KEY_USAGE_BITS, type KeyUsageName } from './profiles.js';

/** X.509 v3 extensions (RFC 5280 §4.2) and CRL extensions (§5.2, §5.3), DER-encoded. */

export const EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  cRLNumber: '2.5.29.20',
  reasonCode: '2.5.29.21',
  cRLDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
} as const;

export const extension = (id: string, critical: boolean, value: Bytes): Bytes =>
  critical ? seq(oid(id), boolTrue, octetString(value)) : seq(oid(id), octetString(value));

export const basicConstraints = (ca: boolean, pathLen?: number): Bytes =>
  extension(
    EXT.basicConstraints,
    true,
    ca ? seq(boolTrue, ...(pathLen === undefined ? [] : [smallInteger(pathLen)])) : seq(),
  );

/** keyUsage BIT STRING in DER: named bits, trailing zero bits dropped (X.690 §11.2.2). Critical. */
export const keyUsage = (names: readonly KeyUsageName[]): Bytes => {
  const bits = names.map((n) => KEY_USAGE_BITS[n]);
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const unused = 7 - (highest & 7);
  return extension(EXT.keyUsage, true, bitString(bytes, unused));
};

export const extKeyUsage = (oids: readonly string[]): Bytes =>
  extension(EXT.extKeyUsage, false, seq(...oids.map((o) => oid(o))));

export const certificatePolicies = (oids: readonly string[]): Bytes =>
  extension(EXT.certificatePolicies, false, seq(...oids.map((o) => seq(oid(o)))));

/** GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String. */
const uri = (u: string): Bytes => implicitPrimitive(6, ia5Bytes(u));

export const authorityInfoAccess = (urls: { ocsp?: string; caIssuers?: string }): Bytes =>
  extension(
    EXT.authorityInfoAccess,
    false,
    seq(
      ...(urls.ocsp ? [seq(oid('1.3.6.1.5.5.7.48.1'), uri(urls.ocsp))] : []),
      ...(urls.caIssuers ? [seq(oid('1.3.6.1.5.5.7.48.2'), uri(urls.caIssuers))] : []),
    ),
  );

/** One DistributionPoint with a fullName URI. `[0]` on the DistributionPointName CHOICE is explicit. */
export const crlDistributionPoints = (url: string): Bytes =>
  extension(
    EXT.cRLDistributionPoints,
    false,
    seq(seq(implicitConstructed(0, implicitConstructed(0, uri(url))))),
  );

export const authorityKeyIdentifier = (keyId: Bytes): Bytes =>
  extension(EXT.authorityKeyIdentifier, false, seq(implicitPrimitive(0, keyId)));

export const subjectKeyIdentifier = (keyId: Bytes): Bytes =>
  extension(EXT.subjectKeyIdentifier, false, octetString(keyId));

/** subjectAltName with one rfc822Name (IA5String: the e-mail must be ASCII). */
export const subjectAltNameEmail = (email: string): Bytes => {
  return extension(EXT.subjectAltName, false, seq(implicitPrimitive(1, ia5Bytes(email))));
};

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): relying parties need not check the responder's status. */
export const ocspNoCheck = (): Bytes => extension(EXT.ocspNoCheck, false, derNull);

export const crlNumber = (n: bigint): Bytes => {
  if (n < 0n) throw new RangeError('negative CRL number');
  const hex = n.toString(16);
  return extension(
    EXT.cRLNumber,
    false,
    unsignedInteger(Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'))),
  );
};

/** RFC 5280 §5.3.1 CRLReason code values. */
export const CRL_REASON_CODES: Readonly<Record<RevocationReason, number>> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
};

/** CRL entry reasonCode (ENUMERATED). */
export const reasonCodeExtension = (reason: RevocationReason): Bytes =>
  extension(EXT.reasonCode, false, tlv(0x0a, Uint8Array.of(CRL_REASON_CODES[reason])));
