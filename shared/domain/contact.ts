import { ValidationError } from '../errors.js';
import type { MailingAddress } from './model.js';
import { codePointLength, hasControlCharacters, parseFreeText, requireText } from './text.js';

/**
 * Contact and card-face data the holder gives at the counter or in the portal: e-mail, mailing address,
 * name as printed on the card, and the identifiers that come back from the card station and the post
 * (card number, registered-mail tracking number). Every parser trims and normalizes, and reports the
 * field and the rule that failed.
 */

// ---------------------------------------------------------------------------------------------------
// E-mail

/** RFC 5321 limits: a forward path of 256 octets less the angle brackets; 64 for the local part. */
const EMAIL_MAX = 254;
const LOCAL_MAX = 64;
/** The dot-atom form of RFC 5322; quoted local parts and address literals are not accepted. */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The ASCII (punycode), lower-case form of a domain, or '' if it is none. Uses the WHATWG URL host
 * parser, which Node and browsers share (the portal reuses these checks), after refusing every
 * character that would make the parser read something other than a host.
 */
const asciiDomain = (domain: string): string => {
  if (hasControlCharacters(domain) || /[\s/?#:\\[\]%@]/u.test(domain)) return '';
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return '';
  }
};

/**
 * An e-mail address: a pragmatic subset of RFC 5321 that real mailboxes use. The domain is lower-cased
 * and an internationalized domain is converted to its ASCII (punycode) form; the local part is kept as
 * typed (it may be case-sensitive). Rules: `email.required`, `email.length`, `email.format`,
 * `email.domain`.
 */
export const parseEmail = (field: string, input: unknown): string => {
  const s = requireText(field, 'email', input, 'the e-mail address');
  if (s.length > EMAIL_MAX) {
    throw new ValidationError(field, 'email.length', `an e-mail address has at most ${EMAIL_MAX} characters`);
  }
  const at = s.lastIndexOf('@');
  const local = at < 0 ? '' : s.slice(0, at);
  const domainTyped = at < 0 ? '' : s.slice(at + 1);
  if (!local || !domainTyped || local.length > LOCAL_MAX || !LOCAL_PART.test(local)) {
    throw new ValidationError(field, 'email.format', 'an e-mail address looks like name@example.com');
  }
  const domain = asciiDomain(domainTyped);
  const labels = domain.split('.');
  const tld = labels[labels.length - 1] ?? '';
  if (
    !domain ||
    domain.length > 253 ||
    labels.length < 2 ||
    !labels.every((l) => DNS_LABEL.test(l)) ||
    !/^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(tld)
  ) {
    throw new ValidationError(
      field,
      'email.domain',
      'the part after @ must be a domain name like example.com',
    );
  }
  const email = `${local}@${domain}`;
  if (email.length > EMAIL_MAX) {
    throw new ValidationError(field, 'email.length', `an e-mail address has at most ${EMAIL_MAX} characters`);
  }
  return email;
};

/** The form used for keyed lookups (query by e-mail): the whole address lower-cased. */
export const emailLookupForm = (email: string): string => email.toLowerCase();

/** The e-mail as shown back to a holder or an officer: `j***@example.com`. */
export const maskEmail = (email: string): string => {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${[...email.slice(0, at)][0]}***${email.slice(at)}`;
};

// ---------------------------------------------------------------------------------------------------
// Mailing address (Taiwan)

/** Taiwan postal codes: 3 digits, or 3+2 (five) / 3+3 (six, since 2020) digits. */
const POSTAL_CODE = /^\d{3}(?:\d{2}|\d{3})?$/;
const PHONE = /^\+?[0-9][0-9 ()-]{5,19}$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/**
 * The address a card is mailed to by registered post. Rules: `address.required` / `address.format` for
 * the whole, `address.postal_code`, `address.phone`, and `address.<part>.{required,length,
 * control_characters}` for city, line1, line2 and recipient. Other properties are ignored.
 */
export const parseMailingAddress = (input: unknown, field = 'mailingAddress'): MailingAddress => {
  if (input === undefined || input === null) {
    throw new ValidationError(field, 'address.required', 'a mailing address is required');
  }
  if (!isRecord(input)) {
    throw new ValidationError(
      field,
      'address.format',
      'a mailing address is an object with postalCode, city, line1',
    );
  }
  const postalCode = requireText(
    `${field}.postalCode`,
    'address.postal_code',
    input.postalCode,
    'the postal code',
  );
  if (!POSTAL_CODE.test(postalCode)) {
    throw new ValidationError(
      `${field}.postalCode`,
      'address.postal_code',
      'a Taiwan postal code has 3, 5 or 6 digits (e.g. 100 or 100218)',
    );
  }
  const text = (part: string, what: string, max: number) =>
    parseFreeText(`${field}.${part}`, `address.${part}`, input[part], what, max);
  const address: MailingAddress = {
    postalCode,
    city: text('city', 'the city or county', 32),
    line1: text('line1', 'the address', 120),
  };
  if (!absent(input.line2)) address.line2 = text('line2', 'the second address line', 120);
  if (!absent(input.recipient)) address.recipient = text('recipient', 'the recipient', 64);
  if (!absent(input.phone)) {
    const phone = requireText(`${field}.phone`, 'address.phone', input.phone, 'the phone number');
    if (!PHONE.test(phone)) {
      throw new ValidationError(
        `${field}.phone`,
        'address.phone',
        'a phone number has 6 to 20 digits, spaces, hyphens or brackets, optionally starting with +',
      );
    }
    address.phone = phone;
  }
  return address;
};

// ---------------------------------------------------------------------------------------------------
// Holder name (card face, certificate CN)

const NAME_MAX = 64;
/** Letters of any script (CJK included), combining marks, spaces and . , ' - and the name middle dots. */
const NAME_CHARS = /^[\p{L}\p{M} .,'’\-·‧・]+$/u;

/**
 * The holder's name as on the ARC, which is printed on the card and put in the certificate. Trimmed,
 * NFC-normalized, runs of spaces (including the ideographic space) collapsed to one. Rules:
 * `name.required`, `name.format`, `name.control_characters`, `name.length` (1–64), `name.characters`.
 */
export const parseHolderName = (field: string, input: unknown): string => {
  const raw = requireText(field, 'name', input, 'the name').normalize('NFC');
  if (hasControlCharacters(raw)) {
    throw new ValidationError(
      field,
      'name.control_characters',
      'the name must not contain line breaks or tabs',
    );
  }
  const name = raw.replace(/[\p{Zs}]+/gu, ' ');
  if (codePointLength(name) > NAME_MAX) {
    throw new ValidationError(field, 'name.length', `the name has at most ${NAME_MAX} characters`);
  }
  if (!NAME_CHARS.test(name) || !/\p{L}/u.test(name)) {
    throw new ValidationError(
      field,
      'name.characters',
      "a name has letters (any script), spaces and . , ' - only, as on the ARC",
    );
  }
  return name;
};

// ---------------------------------------------------------------------------------------------------
// Card number and registered-mail tracking number

const CARD_NUMBER = /^[A-Z]{2}\d{14}$/;

/** The IC card number printed on the card face: 2 letters and 14 digits. Rule `card_number.format`. */
export const parseCardNumber = (field: string, input: unknown): string => {
  const card = requireText(field, 'card_number', input, 'the card number').replace(/\s+/g, '').toUpperCase();
  if (!CARD_NUMBER.test(card)) {
    throw new ValidationError(
      field,
      'card_number.format',
      'a card number is 2 letters followed by 14 digits',
    );
  }
  return card;
};

const S10 = /^[A-Z]{2}(\d{8})(\d)[A-Z]{2}$/;
const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7] as const;

/** The UPU S10 check digit of an item's 8-digit serial number. */
export const s10CheckDigit = (serial: string): number => {
  if (!/^\d{8}$/.test(serial)) throw new RangeError('an S10 serial number has 8 digits');
  const sum = [...serial].reduce((s, d, i) => s + Number(d) * (S10_WEIGHTS[i] as number), 0);
  const c = 11 - (sum % 11);
  return c === 10 ? 0 : c === 11 ? 5 : c;
};

/**
 * A registered-mail tracking number as reported by the card station: upper-cased, spaces removed,
 * 10–20 letters and digits (the domestic format is not published, so it is kept opaque). When it has the
 * international UPU S10 shape (`RR123456785TW`), its check digit must be right. Rules: `tracking.format`,
 * `tracking.check_digit`.
 */
export const parseTrackingNumber = (field: string, input: unknown): string => {
  const n = requireText(field, 'tracking', input, 'the tracking number').replace(/\s+/g, '').toUpperCase();
  if (!/^[0-9A-Z]{10,20}$/.test(n)) {
    throw new ValidationError(field, 'tracking.format', 'a tracking number has 10 to 20 letters and digits');
  }
  const s10 = S10.exec(n);
  if (s10 && s10CheckDigit(s10[1] as string) !== Number(s10[2])) {
    throw new ValidationError(
      field,
      'tracking.check_digit',
      'this international (S10) tracking number has a wrong check digit; please check it',
    );
  }
  return n;
};
