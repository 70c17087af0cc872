import { randomInt } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { calendarDateParts, taipeiDate } from './calendar.js';

/**
 * Identifiers the service hands out. All random parts come from the CSPRNG (node:crypto randomInt), so
 * an identifier reveals nothing but the Taipei day it was made on and cannot be guessed. Uniqueness is
 * still enforced where they are stored (conditional puts); the randomness only makes clashes rare.
 * (Certificate serial numbers are made by the CA core, not here.)
 */

/** Crockford's base 32: no I, L, O, U, so an id read aloud or typed from paper survives. */
export const CROCKFORD_BASE32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

const randomChars = (alphabet: string, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
};

/** `20261123` for an instant on 2026-11-23 Taipei time. */
const compactTaipeiDate = (d: Date): string => taipeiDate(d).replaceAll('-', '');

/** Crockford decoding is forgiving: lower case, and O→0, I/L→1, as typed from a printed form. */
const crockfordNormalize = (s: string): string => s.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');

const hasRealDate = (yyyymmdd: string): boolean =>
  calendarDateParts(`${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`) !== undefined;

const CROCKFORD_CLASS = '[0-9A-HJKMNP-TV-Z]';

/** Builds new/parse functions for an id of the form `<letter><yyyymmdd>-<n random Crockford chars>`. */
const datedId = (letter: string, randomLength: number, rule: string, what: string, example: string) => {
  const shape = new RegExp(`^${letter}(\\d{8})-(${CROCKFORD_CLASS}{${randomLength}})$`);
  return {
    create: (now: Date): string =>
      `${letter}${compactTaipeiDate(now)}-${randomChars(CROCKFORD_BASE32, randomLength)}`,
    parse: (field: string, input: unknown): string => {
      const raw = typeof input === 'string' ? input.trim() : '';
      const dash = raw.indexOf('-');
      // Only the random part is Crockford-decoded; the leading letter is not.
      const id =
        dash < 0
          ? raw.toUpperCase()
          : `${raw.slice(0, dash).toUpperCase()}-${crockfordNormalize(raw.slice(dash + 1))}`;
      const m = shape.exec(id);
      if (!m || !hasRealDate(m[1] as string)) {
        throw new ValidationError(field, rule, `${what} looks like ${example}`);
      }
      return id;
    },
  };
};

const applicationIds = datedId('A', 8, 'application_id.format', 'an application id', 'A20261123-7K3M9QXZ');
const cardJobIds = datedId('J', 10, 'card_job_id.format', 'a card job id', 'J20261123-7K3M9QXZ4H');

/** A new application id: `A` + Taipei date + 8 random Crockford characters, e.g. `A20261123-7K3M9QXZ`. */
export const newApplicationId = (now: Date): string => applicationIds.create(now);
/** An application id from a path or a form. Rule `application_id.format`. */
export const parseApplicationId = (field: string, input: unknown): string =>
  applicationIds.parse(field, input);

/** A new card personalization job id: `J` + Taipei date + 10 random Crockford characters. */
export const newCardJobId = (now: Date): string => cardJobIds.create(now);
/** A card job id from a path. Rule `card_job_id.format`. */
export const parseCardJobId = (field: string, input: unknown): string => cardJobIds.parse(field, input);

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * A new merchant trade number for one payment attempt at the gateway: 20 letters and digits (the
 * ECPay limit), `P` + Taipei date + 11 random characters, unique per attempt.
 */
export const newMerchantTradeNo = (now: Date): string =>
  `P${compactTaipeiDate(now)}${randomChars(ALNUM, 11)}`;

/** A merchant trade number as echoed by a gateway: 1–20 letters and digits. Rule `merchant_trade_no.format`. */
export const parseMerchantTradeNo = (field: string, input: unknown): string => {
  if (typeof input !== 'string' || !/^[0-9A-Za-z]{1,20}$/.test(input)) {
    throw new ValidationError(
      field,
      'merchant_trade_no.format',
      'a merchant trade number has 1 to 20 letters and digits',
    );
  }
  return input;
};

/**
 * A new subject serialNumber attribute for a holder's certificates: 16 random digits (first non-zero).
 * It is opaque on purpose: never derived from the ARC number or anything else about the holder.
 */
export const newSubjectSerialNumber = (): string =>
  `${randomChars('123456789', 1)}${randomChars('0123456789', 15)}`;

export const isSubjectSerialNumber = (s: unknown): boolean =>
  typeof s === 'string' && /^[1-9]\d{15}$/.test(s);
