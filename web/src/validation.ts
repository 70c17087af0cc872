import { checkApplicantAge, checkArcExpiry } from '../../shared/domain/applicant.js';
import { parseArcNumber } from '../../shared/domain/arc.js';
import { taipeiDate } from '../../shared/domain/calendar.js';
import {
  parseCardNumber,
  parseEmail,
  parseHolderName,
  parseMailingAddress,
} from '../../shared/domain/contact.js';
import {
  parseCitizenCertificateCarrier,
  parseDonationCode,
  parseMobileBarcode,
  parseUbn,
  ubnChecksumOk,
} from '../../shared/domain/einvoice.js';
import { AppError } from '../../shared/errors.js';

/**
 * Checks the browser runs while a person types, so mistakes show next to the field before anything is
 * sent. The server checks everything again (and its `field` errors are shown the same way); these rules
 * only spare the round trip. Wherever the domain has a pure rule (ARC number, age, ARC expiry, e-invoice
 * carriers, company tax id) the browser runs that very code (shared/domain/*), so the page and the
 * server can never disagree on a check digit.
 *
 * A problem is an i18n key plus values (never a finished sentence), so it re-renders in the other
 * language when the holder switches.
 */
export interface Problem {
  key: string;
  values?: Record<string, string | number>;
}

export type Check = (value: string) => Problem | undefined;

export const required =
  (check?: Check): Check =>
  (v) =>
    v.trim() === '' ? { key: 'rules.required' } : check?.(v);

/**
 * A domain parser (shared/domain) as a check: its ValidationError's rule becomes the i18n key
 * `rules.<rule>`, so the words are ours (in two languages) and the rule is the server's.
 */
export const fromDomain =
  (parse: (value: string) => unknown): Check =>
  (v) => {
    try {
      parse(v);
      return undefined;
    } catch (e) {
      if (e instanceof AppError && e.rule) return { key: `rules.${e.rule}` };
      throw e;
    }
  };

/** ARC (UI) number, current (A800000014) or old (AC01234567) format, with its check digit. */
export const checkArcNumber: Check = fromDomain((v) => parseArcNumber(v));

/** The holder's second secret as printed on the application form: 6–10 letters or digits. */
export const checkSubscriberCode: Check = (v) =>
  /^[A-Za-z0-9]{6,10}$/.test(v.trim()) ? undefined : { key: 'rules.subscriberCode.format' };

/** E-mail address as the server reads it (shared/domain/contact.ts): local part, a real domain name. */
export const checkEmail: Check = fromDomain((v) => parseEmail('email', v));

/** The holder's name as on the ARC: letters of any script, spaces and . , ' - (it goes on the card). */
export const checkHolderName: Check = fromDomain((v) => parseHolderName('name', v));

/** IC card number as printed on the card face: two capital letters and 14 digits. */
export const checkCardNumber: Check = fromDomain((v) => parseCardNumber('cardNumber', v));

/** Certificate serial number as the query accepts it: 16–40 hex digits. */
export const checkSerialNumber: Check = (v) =>
  /^[0-9a-f]{16,40}$/i.test(v.trim().replace(/[:\s]/g, ''))
    ? undefined
    : { key: 'rules.serialNumber.format' };

export const checkIssuedMonth: Check = (v) =>
  /^\d{4}-(0[1-9]|1[0-2])$/.test(v.trim()) ? undefined : { key: 'rules.issuedMonth.format' };

// ---------------------------------------------------------------------------------------------------
// Dates at the counter (Asia/Taipei calendar), through the domain's own checks

/** Today's date in Taipei as YYYY-MM-DD. */
export const taipeiToday = (now: Date = new Date()): string => taipeiDate(now);

/** The applicant is 18 or older on today's Taipei date (shared/domain/applicant.ts). */
export const checkAdultBirthDate =
  (now: () => Date = () => new Date()): Check =>
  (v) =>
    fromDomain((x) => checkApplicantAge(x, now()))(v);

/** The ARC must still be valid after today, and not implausibly far ahead. */
export const checkFutureDate =
  (now: () => Date = () => new Date()): Check =>
  (v) =>
    fromDomain((x) => checkArcExpiry(x, now()))(v);

// ---------------------------------------------------------------------------------------------------
// E-invoice buyer data (Ministry of Finance rules), through shared/domain/einvoice.ts

/** Mobile barcode carrier (手機條碼, 3J0002): `/` then seven of 0-9 A-Z . + - (upper-cased, as the server does). */
export const checkMobileBarcode: Check = fromDomain((v) => parseMobileBarcode('carrier', v));

/** Citizen digital certificate carrier (自然人憑證條碼, CQ0001): two capital letters and 14 digits. */
export const checkCitizenCertificate: Check = fromDomain((v) => parseCitizenCertificateCarrier('carrier', v));

/** Donation code (捐贈碼 / 愛心碼): 3 to 7 digits. */
export const checkDonationCode: Check = fromDomain((v) => parseDonationCode('donationCode', v));

/**
 * Company tax id (統一編號) with the checksum in force since 2023-04-01 (weights 1,2,1,2,1,2,4,1, digit
 * sums added, divisible by 5; a 7th digit 7 may count either way).
 */
export const isTaxId = (v: string): boolean => /^\d{8}$/.test(v) && ubnChecksumOk(v);
export const checkTaxId: Check = fromDomain((v) => parseUbn('taxId', v));

// ---------------------------------------------------------------------------------------------------
// Mailing address (Taiwan), one part at a time through the domain's parser

const ADDRESS_OK = { postalCode: '100', city: '臺北市', line1: '中正區重慶南路一段 122 號' };
export type AddressPart = 'postalCode' | 'city' | 'line1' | 'line2' | 'recipient' | 'phone';

/** One part of the address, judged by `parseMailingAddress` with every other part known good. */
export const checkAddressPart = (part: AddressPart): Check =>
  fromDomain((v) => parseMailingAddress({ ...ADDRESS_OK, [part]: v }));

/** Printable text (no control or bidirectional-override characters), at most `max` characters. */
export const checkPrintable =
  (max: number): Check =>
  (v) => {
    if (/[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u.test(v)) {
      return { key: 'rules.text.control' };
    }
    return [...v.trim()].length > max ? { key: 'rules.text.length', values: { max } } : undefined;
  };
