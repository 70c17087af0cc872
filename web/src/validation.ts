import { parseArcNumber } from '../../shared/domain/arc.js';
import { AppError } from '../../shared/errors.js';

/**
 * Checks the browser runs while a person types, so mistakes show next to the field before anything is
 * sent. The server checks everything again (and its `field` errors are shown the same way); these rules
 * only spare the round trip. The ARC number uses the domain's own parser (shared/domain/arc.ts), so the
 * counter and the server can never disagree on a check digit.
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

/** ARC (UI) number, current (A800000014) or old (AC01234567) format, with its check digit. */
export const checkArcNumber: Check = (v) => {
  try {
    parseArcNumber(v);
    return undefined;
  } catch (e) {
    if (e instanceof AppError && e.rule) return { key: `rules.${e.rule}` };
    return { key: 'rules.arc.format' };
  }
};

/** The holder's second secret as printed on the application form: 6–10 letters or digits. */
export const checkSubscriberCode: Check = (v) =>
  /^[A-Za-z0-9]{6,10}$/.test(v.trim()) ? undefined : { key: 'rules.subscriberCode.format' };

export const checkEmail: Check = (v) => {
  const s = v.trim();
  if (s.length > 254) return { key: 'rules.email.length' };
  // The shape browsers use for type=email (WHATWG), which is also what the server's zod check accepts.
  return /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/.test(
    s,
  )
    ? undefined
    : { key: 'rules.email.format' };
};

/** IC card number as printed on the card face: two capital letters and 14 digits. */
export const checkCardNumber: Check = (v) =>
  /^[A-Z]{2}\d{14}$/.test(v.trim().toUpperCase()) ? undefined : { key: 'rules.cardNumber.format' };

/** Certificate serial number as the query accepts it: 16–40 hex digits. */
export const checkSerialNumber: Check = (v) =>
  /^[0-9a-f]{16,40}$/i.test(v.trim().replace(/[:\s]/g, ''))
    ? undefined
    : { key: 'rules.serialNumber.format' };

export const checkIssuedMonth: Check = (v) =>
  /^\d{4}-(0[1-9]|1[0-2])$/.test(v.trim()) ? undefined : { key: 'rules.issuedMonth.format' };

// ---------------------------------------------------------------------------------------------------
// Dates: YYYY-MM-DD, compared as calendar days in Asia/Taipei (where the counter is)

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const parseIsoDate = (v: string): { y: number; m: number; d: number } | undefined => {
  const m = ISO_DATE.exec(v.trim());
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return undefined;
  return { y, m: mo, d };
};

/** Today's date in Taipei as YYYY-MM-DD. */
export const taipeiToday = (now: Date = new Date()): string =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Taipei',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);

/** The applicant is 18 or older today (a birthday on 29 February counts from 1 March in other years). */
export const checkAdultBirthDate =
  (now: () => Date = () => new Date()): Check =>
  (v) => {
    const b = parseIsoDate(v);
    if (!b) return { key: 'rules.date.format' };
    const today = parseIsoDate(taipeiToday(now()))!;
    if (b.y < 1900) return { key: 'rules.dateOfBirth.range' };
    const sameOrAfterBirthday = today.m > b.m || (today.m === b.m && today.d >= b.d);
    const age = today.y - b.y - (sameOrAfterBirthday ? 0 : 1);
    if (v.trim() > taipeiToday(now())) return { key: 'rules.dateOfBirth.future' };
    return age >= 18 ? undefined : { key: 'rules.dateOfBirth.minor', values: { age: 18 } };
  };

/** The ARC must still be valid after today. */
export const checkFutureDate =
  (now: () => Date = () => new Date()): Check =>
  (v) => {
    if (!parseIsoDate(v)) return { key: 'rules.date.format' };
    return v.trim() > taipeiToday(now()) ? undefined : { key: 'rules.arcExpiry.past' };
  };

// ---------------------------------------------------------------------------------------------------
// E-invoice buyer data (Ministry of Finance rules)

/** Mobile barcode carrier (手機條碼, 3J0002): `/` then seven of 0-9 A-Z . + - */
export const checkMobileBarcode: Check = (v) =>
  /^\/[0-9A-Z.+-]{7}$/.test(v.trim()) ? undefined : { key: 'rules.invoice.mobileBarcode' };

/** Citizen digital certificate carrier (自然人憑證條碼, CQ0001): two capital letters and 14 digits. */
export const checkCitizenCertificate: Check = (v) =>
  /^[A-Z]{2}\d{14}$/.test(v.trim()) ? undefined : { key: 'rules.invoice.citizenCertificate' };

/** Donation code (捐贈碼 / 愛心碼): 3 to 7 digits. */
export const checkDonationCode: Check = (v) =>
  /^\d{3,7}$/.test(v.trim()) ? undefined : { key: 'rules.invoice.donationCode' };

/**
 * Company tax id (統一編號) with the checksum in force since 2023-04-01: weights 1,2,1,2,1,2,4,1, each
 * product's digits added, the total divisible by 5 — or, when the 7th digit is 7 (4×7 = 28 may count as
 * 10 or 1), the total + 1 divisible by 5. Every number valid under the old mod-10 rule stays valid.
 */
export const isTaxId = (v: string): boolean => {
  if (!/^\d{8}$/.test(v)) return false;
  const weights = [1, 2, 1, 2, 1, 2, 4, 1];
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const p = Number(v[i]) * weights[i]!;
    sum += Math.floor(p / 10) + (p % 10);
  }
  return sum % 5 === 0 || (v[6] === '7' && (sum + 1) % 5 === 0);
};

export const checkTaxId: Check = (v) => {
  const s = v.trim();
  if (!/^\d{8}$/.test(s)) return { key: 'rules.invoice.taxIdFormat' };
  return isTaxId(s) ? undefined : { key: 'rules.invoice.taxIdChecksum' };
};

// ---------------------------------------------------------------------------------------------------
// Mailing address (Taiwan): postal code and a printable line

export const checkPostalCode: Check = (v) =>
  /^\d{3}(\d{2,3})?$/.test(v.trim()) ? undefined : { key: 'rules.postalCode.format' };

/** Printable text for a card face or a mailing label: no control or bidirectional-override characters. */
export const checkPrintable =
  (max: number): Check =>
  (v) => {
    if (/[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u.test(v)) {
      return { key: 'rules.text.control' };
    }
    return [...v.trim()].length > max ? { key: 'rules.text.length', values: { max } } : undefined;
  };
