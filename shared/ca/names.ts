import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import { ValidationError } from '../errors.js';
import { type Bytes, isPrintableString, oid, printableString, seq, set, utf8String } from './der.js';

/**
 * Distinguished names. Holder subjects are exactly `C=TW, CN=<name>, serialNumber=<16 digits>` (taiwan
 * domain notes §5.2); CA names come from configuration as `C=TW, O=…, OU=…, CN=…` strings.
 * countryName and serialNumber are PrintableString (RFC 5280 appendix A); other attributes UTF8String
 * (RFC 5280 §4.1.2.6: UTF8String for new names).
 */

const ATTRIBUTES: Record<string, { oid: string; printable: boolean; max: number }> = {
  C: { oid: '2.5.4.6', printable: true, max: 2 },
  ST: { oid: '2.5.4.8', printable: false, max: 128 },
  L: { oid: '2.5.4.7', printable: false, max: 128 },
  O: { oid: '2.5.4.10', printable: false, max: 64 },
  OU: { oid: '2.5.4.11', printable: false, max: 64 },
  CN: { oid: '2.5.4.3', printable: false, max: 64 },
  serialNumber: { oid: '2.5.4.5', printable: true, max: 64 },
};
const SHORT_NAMES: Record<string, string> = Object.fromEntries(
  Object.entries(ATTRIBUTES).map(([k, v]) => [v.oid, k]),
);

const rdn = (attrOid: string, value: Bytes): Bytes => set(seq(oid(attrOid), value));

const CONTROL = /\p{Cc}|\p{Cf}/u;

/** ub-common-name (RFC 5280 appendix A): 64 characters. */
export const validateHolderName = (name: string, field = 'holderName'): void => {
  if (typeof name !== 'string' || name.length === 0)
    throw new ValidationError(field, 'certificate.subject.cn', 'must not be empty');
  if (name !== name.trim())
    throw new ValidationError(field, 'certificate.subject.cn', 'must not start or end with spaces');
  if (CONTROL.test(name))
    throw new ValidationError(field, 'certificate.subject.cn', 'must not contain control characters');
  if (name !== name.normalize('NFC'))
    throw new ValidationError(field, 'certificate.subject.cn', 'must be in Unicode NFC form');
  if ([...name].length > 64)
    throw new ValidationError(field, 'certificate.subject.cn', 'at most 64 characters (ub-common-name)');
};

/** The opaque 16-digit subject serialNumber (not the ARC number). */
export const validateSubjectSerial = (serial: string, field = 'subjectSerial'): void => {
  if (typeof serial !== 'string' || !/^\d{16}$/.test(serial)) {
    throw new ValidationError(field, 'certificate.subject.serialNumber', 'must be exactly 16 digits');
  }
};

/** `C=TW, CN=<name>, serialNumber=<16 digits>`, in that RDN order. */
export const holderSubject = (name: string, subjectSerial: string): Bytes => {
  validateHolderName(name);
  validateSubjectSerial(subjectSerial);
  return seq(
    rdn('2.5.4.6', printableString('TW')),
    rdn('2.5.4.3', utf8String(name)),
    rdn('2.5.4.5', printableString(subjectSerial)),
  );
};

/**
 * Encodes a DN string such as `C=TW, O=ACDC, OU=Certification Authority, CN=ACDC Root CA - G1`.
 * Commas inside a value are written `\,`. Only the attributes above are accepted.
 */
export const encodeDistinguishedName = (dn: string, field = 'subject'): Bytes => {
  const parts = dn
    .split(/(?<!\\),/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) throw new ValidationError(field, 'dn.empty', 'empty distinguished name');
  const rdns = parts.map((part) => {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part
      .slice(eq + 1)
      .trim()
      .replace(/\\,/g, ',');
    const attr = ATTRIBUTES[key === '2.5.4.5' ? 'serialNumber' : key];
    if (eq < 1 || !attr)
      throw new ValidationError(field, 'dn.attribute', `unsupported attribute in "${part}"`);
    if (value.length === 0 || [...value].length > attr.max) {
      throw new ValidationError(field, 'dn.length', `${key} must have 1..${attr.max} characters`);
    }
    if (attr.printable && !isPrintableString(value)) {
      throw new ValidationError(field, 'dn.printable', `${key} must be a PrintableString`);
    }
    if (key === 'C' && !/^[A-Z]{2}$/.test(value))
      throw new ValidationError(field, 'dn.country', 'C is a two-letter ISO 3166 code');
    return rdn(attr.oid, attr.printable ? printableString(value) : utf8String(value));
  });
  return seq(...rdns);
};

/** A DER Name rendered as `C=TW, O=…, CN=…` for ca.json, logs and reports. */
export const nameToString = (der: Bytes): string => {
  const name = AsnConvert.parse(der, Name);
  return name
    .map((r) =>
      r
        .map((a) => {
          const key = SHORT_NAMES[a.type] ?? a.type;
          const value = a.value.toString().replace(/,/g, '\\,');
          return `${key}=${value}`;
        })
        .join('+'),
    )
    .join(', ');
};
