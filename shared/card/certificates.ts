import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, type Name, type Time } from '@peculiar/asn1-x509';

/**
 * What the card station and the server say about a certificate on a card: its serial number and
 * SHA-256 fingerprint (the proof of what was written), and the facts the card face and the card tool
 * show (holder, issuer, validity). Parsed with @peculiar/asn1-x509 so names in any script come out as
 * they were encoded.
 */

const OID_CN = '2.5.4.3';

export interface CertificateSummary {
  /** Lower-case hex, no leading zeros (the CertificateRecord key). */
  serialNumber: string;
  /** SHA-256 of the DER, lower-case hex. */
  sha256: string;
  subjectCommonName: string | undefined;
  issuerCommonName: string | undefined;
  notBefore: string;
  notAfter: string;
  /** The certified public key (SubjectPublicKeyInfo DER). */
  spki: Uint8Array;
  /** DER of the subject Name (what a PKCS#11 certificate object carries as CKA_SUBJECT). */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  /** DER of the serial number INTEGER (CKA_SERIAL_NUMBER). */
  serialDer: Uint8Array;
}

export const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

const commonNameOf = (name: Name): string | undefined =>
  name
    .flatMap((rdn) => [...rdn])
    .find((atv) => atv.type === OID_CN)
    ?.value.toString();

const timeOf = (t: Time): string => t.getTime().toISOString();

/** The serial as lower-case hex without leading zeros. */
export const serialHex = (raw: ArrayBuffer | Uint8Array): string => {
  const hex = Buffer.from(raw instanceof Uint8Array ? raw : new Uint8Array(raw))
    .toString('hex')
    .replace(/^0+/, '');
  return hex === '' ? '0' : hex;
};

/** Parse a DER certificate; throws on anything that is not one. */
export const summarizeCertificate = (der: Uint8Array): CertificateSummary => {
  const cert = AsnConvert.parse(Buffer.from(der), Certificate);
  const tbs = cert.tbsCertificate;
  const serialRaw = new Uint8Array(tbs.serialNumber);
  return {
    serialNumber: serialHex(serialRaw),
    sha256: sha256Hex(der),
    subjectCommonName: commonNameOf(tbs.subject),
    issuerCommonName: commonNameOf(tbs.issuer),
    notBefore: timeOf(tbs.validity.notBefore),
    notAfter: timeOf(tbs.validity.notAfter),
    spki: new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo)),
    subjectDer: new Uint8Array(AsnConvert.serialize(tbs.subject)),
    issuerDer: new Uint8Array(AsnConvert.serialize(tbs.issuer)),
    serialDer: integerDer(serialRaw),
  };
};

/** DER INTEGER of the serial's content octets (already minimal two's complement from the parser). */
const integerDer = (content: Uint8Array): Uint8Array => {
  const len = content.length;
  const header =
    len < 0x80 ? [0x02, len] : len < 0x100 ? [0x02, 0x81, len] : [0x02, 0x82, len >> 8, len & 0xff];
  return new Uint8Array([...header, ...content]);
};

/** The facts a card's certificates prove about what was written (compared by the server at completion). */
export interface WrittenCertificates {
  signature: { serialNumber: string; sha256: string };
  encryption: { serialNumber: string; sha256: string };
  /** SHA-256 of each CA certificate, in the order of the job's chain. */
  chain: string[];
}

export const writtenCertificatesOf = (set: {
  signature: Uint8Array;
  encryption: Uint8Array;
  chain: Uint8Array[];
}): WrittenCertificates => {
  const s = summarizeCertificate(set.signature);
  const e = summarizeCertificate(set.encryption);
  return {
    signature: { serialNumber: s.serialNumber, sha256: s.sha256 },
    encryption: { serialNumber: e.serialNumber, sha256: e.sha256 },
    chain: set.chain.map(sha256Hex),
  };
};

export const sameWrittenCertificates = (a: WrittenCertificates, b: WrittenCertificates): boolean =>
  a.signature.serialNumber === b.signature.serialNumber &&
  a.signature.sha256 === b.signature.sha256 &&
  a.encryption.serialNumber === b.encryption.serialNumber &&
  a.encryption.sha256 === b.encryption.sha256 &&
  a.chain.length === b.chain.length &&
  a.chain.every((h, i) => h === b.chain[i]);
