import { ValidationError } from '../errors.js';

/**
 * ARC / unified ID number (居留證統一證號), the holder's identifier at the counter and the portal login.
 *
 * Two formats are in circulation (NIA, new numbers from 2021-01-02; old numbers replaced when the card is
 * next renewed, usable until 2030-12-31):
 * - current: area letter, `8` (male) or `9` (female), seven serial digits, check digit — `A800000014`;
 * - old:     area letter, `A`–`D` (category and sex), seven serial digits, check digit — `AC01234567`.
 *
 * Both use the national-ID checksum: the area letter is folded to two digits (table below), the
 * weights are 1,9 for those and 8,7,6,5,4,3,2,1,1 for the rest; the total is a multiple of 10. In the
 * old format the second letter counts with its units digit (A→0, B→1, C→2, D→3).
 * Every area letter is accepted: numbers with letters no longer issued (L, R, S, Y) stay valid.
 * A `1` or `2` in second place is a national ID number, not an ARC: refused with its own message.
 */

export type ArcFormat = 'new' | 'old';

export interface ArcNumber {
  /** Upper-case, 10 characters. Never log it or store it: store `last4` and a keyed hash. */
  value: string;
  format: ArcFormat;
  last4: string;
}

/** Area letter → two-digit code, the same table as the national ID. */
export const ARC_LETTER_CODES: Readonly<Record<string, number>> = Object.freeze({
  A: 10,
  B: 11,
  C: 12,
  D: 13,
  E: 14,
  F: 15,
  G: 16,
  H: 17,
  I: 34,
  J: 18,
  K: 19,
  L: 20,
  M: 21,
  N: 22,
  O: 35,
  P: 23,
  Q: 24,
  R: 25,
  S: 26,
  T: 27,
  U: 28,
  V: 29,
  W: 32,
  X: 30,
  Y: 31,
  Z: 33,
});

const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 1] as const;

const isUpperLetter = (c: string | undefined): boolean => c !== undefined && c >= 'A' && c <= 'Z';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Weighted sum of the first nine characters (both formats), before the check digit. */
const weightedSum = (first9: string): number => {
  const letter = ARC_LETTER_CODES[first9[0] as string];
  if (letter === undefined) throw new RangeError('ARC number must start with a letter A–Z');
  let sum = Math.floor(letter / 10) + (letter % 10) * 9;
  const second = first9[1] as string;
  if (isDigit(second)) sum += Number(second) * 8;
  else {
    const code = ARC_LETTER_CODES[second];
    if (code === undefined) throw new RangeError('second character must be a digit or a letter');
    sum += (code % 10) * 8;
  }
  for (let i = 2; i < 9; i++) {
    const c = first9[i];
    if (!isDigit(c)) throw new RangeError('characters 3 to 9 must be digits');
    sum += Number(c) * (WEIGHTS[i - 1] as number);
  }
  return sum;
};

/**
 * The check digit that completes the first nine characters of an ARC number (either format).
 * For generating test data and for tests; validation goes through `parseArcNumber`.
 */
export const arcCheckDigit = (first9: string): number => {
  if (first9.length !== 9) throw new RangeError('give the first nine characters of the ARC number');
  return (10 - (weightedSum(first9) % 10)) % 10;
};

/**
 * Parse what an officer or a holder typed as an ARC number: trimmed and upper-cased, then checked rule by
 * rule so the message says what is wrong. Throws ValidationError(field, rule) with rule one of
 * `arc.required`, `arc.length`, `arc.letter`, `arc.gender_digit`, `arc.second_letter`, `arc.format`,
 * `arc.checksum`. The message never repeats the number.
 */
export const parseArcNumber = (input: unknown, field = 'arcNumber'): ArcNumber => {
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) {
    throw new ValidationError(field, 'arc.required', 'the ARC number is required');
  }
  if (typeof input !== 'string') {
    throw new ValidationError(field, 'arc.format', 'the ARC number must be text, e.g. A800000014');
  }
  const value = input.trim().toUpperCase();
  if (value.length !== 10) {
    throw new ValidationError(
      field,
      'arc.length',
      `an ARC number has 10 characters (one or two letters, then digits); got ${value.length}`,
    );
  }
  if (!isUpperLetter(value[0])) {
    throw new ValidationError(field, 'arc.letter', 'an ARC number starts with a letter A–Z');
  }
  const second = value[1] as string;
  let format: ArcFormat;
  if (isDigit(second)) {
    if (second === '1' || second === '2') {
      throw new ValidationError(
        field,
        'arc.gender_digit',
        'this looks like a national ID number (second character 1 or 2); an ARC number has 8 or 9 there',
      );
    }
    if (second !== '8' && second !== '9') {
      throw new ValidationError(field, 'arc.gender_digit', 'the second character of an ARC number is 8 or 9');
    }
    format = 'new';
  } else if (isUpperLetter(second)) {
    if (second > 'D') {
      throw new ValidationError(
        field,
        'arc.second_letter',
        'in an old-format ARC number the second character is a letter A–D',
      );
    }
    format = 'old';
  } else {
    throw new ValidationError(
      field,
      'arc.format',
      'the second character of an ARC number is 8 or 9 (or, old format, a letter A–D)',
    );
  }
  for (let i = 2; i < 10; i++) {
    if (!isDigit(value[i])) {
      throw new ValidationError(field, 'arc.format', 'the last eight characters of an ARC number are digits');
    }
  }
  if (arcCheckDigit(value.slice(0, 9)) !== Number(value[9])) {
    throw new ValidationError(
      field,
      'arc.checksum',
      'the ARC number is not valid (check digit mismatch); please check it for a typing error',
    );
  }
  return { value, format, last4: value.slice(-4) };
};

/** True when `input` is a valid ARC number of either format (same normalization as `parseArcNumber`). */
export const isArcNumber = (input: unknown): boolean => {
  try {
    parseArcNumber(input);
    return true;
  } catch {
    return false;
  }
};

/**
 * The ARC number as shown to officers, holders and logs: only the last four characters
 * (`******6789`). Anything shorter than eight characters is masked entirely.
 */
export const maskArc = (value: string): string => {
  const s = value.trim();
  if (s.length < 8) return '*'.repeat(s.length);
  return `${'*'.repeat(s.length - 4)}${s.slice(-4)}`;
};
