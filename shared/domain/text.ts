import { ValidationError } from '../errors.js';

/**
 * Small helpers every validator in the domain shares. Inputs arrive from JSON, so a validator takes
 * `unknown` and says clearly when a value is missing or not text, naming the field and the rule.
 */

/** `input` as a trimmed string, or a ValidationError `<prefix>.required` naming `field`. */
export const requireText = (field: string, rulePrefix: string, input: unknown, what: string): string => {
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) {
    throw new ValidationError(field, `${rulePrefix}.required`, `${what} is required`);
  }
  if (typeof input !== 'string') {
    throw new ValidationError(field, `${rulePrefix}.format`, `${what} must be text`);
  }
  return input.trim();
};

/**
 * Characters that have no place in a name or an address printed on a card face or a mailing label:
 * C0/C1 controls (line breaks included), the line/paragraph separators, and the bidirectional
 * overrides and isolates (which can make a printed label read differently from what was stored).
 */
const FORBIDDEN_CONTROL = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

export const hasControlCharacters = (s: string): boolean => FORBIDDEN_CONTROL.test(s);

/** Length in Unicode code points, which is what a person counts (a CJK character is one). */
export const codePointLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/**
 * Free text (an address line, a city, a company title): trimmed, NFC-normalized, no control
 * characters, within `max` code points.
 */
export const parseFreeText = (
  field: string,
  rulePrefix: string,
  input: unknown,
  what: string,
  max: number,
): string => {
  const s = requireText(field, rulePrefix, input, what).normalize('NFC');
  if (hasControlCharacters(s)) {
    throw new ValidationError(
      field,
      `${rulePrefix}.control_characters`,
      `${what} must not contain line breaks or control characters`,
    );
  }
  if (codePointLength(s) > max) {
    throw new ValidationError(field, `${rulePrefix}.length`, `${what} must be at most ${max} characters`);
  }
  return s;
};
