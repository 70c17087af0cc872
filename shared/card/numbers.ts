import { randomInt } from 'node:crypto';

/**
 * Numbers the card station deals in: the IC card number printed on the card face (and used as the
 * card's token label), and the registered-mail tracking number of the envelope it is mailed in.
 */

/** IC card number: two capital letters (the bureau's stock prefix, e.g. `TP`) and 14 digits. */
export const CARD_NUMBER_PATTERN = /^[A-Z]{2}\d{14}$/;

export const isCardNumber = (s: string): boolean => CARD_NUMBER_PATTERN.test(s);

/** Card number `index` of the stock range that starts at `first` (14 digits) under `prefix`. */
export const cardNumberAt = (prefix: string, first: bigint, index: number): string => {
  if (!/^[A-Z]{2}$/.test(prefix)) throw new Error('card number prefix must be two capital letters');
  const n = first + BigInt(index);
  if (n < 0n || n > 99_999_999_999_999n) throw new Error('card number outside the 14-digit range');
  return `${prefix}${n.toString().padStart(14, '0')}`;
};

/**
 * UPU S10 item identifier of a registered letter: service indicator (`R` + a letter), 8-digit serial,
 * check digit, ISO country code of the posting administration (`TW`), e.g. `RR123456785TW`.
 */
export const S10_PATTERN = /^[A-Z]{2}\d{9}[A-Z]{2}$/;
const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7];

/** The S10 check digit of an 8-digit serial. */
export const s10CheckDigit = (serial: string): number => {
  if (!/^\d{8}$/.test(serial)) throw new Error('S10 serial must be 8 digits');
  const sum = [...serial].reduce((acc, d, i) => acc + Number(d) * S10_WEIGHTS[i]!, 0);
  const c = 11 - (sum % 11);
  return c === 10 ? 0 : c === 11 ? 5 : c;
};

/** A well-formed S10 identifier with a correct check digit (any service indicator and country). */
export const isS10 = (s: string): boolean =>
  S10_PATTERN.test(s) && s10CheckDigit(s.slice(2, 10)) === Number(s[10]);

/** A registered-letter (`R`-series) number posted in Taiwan: what the bureau's post office hands out. */
export const isTaiwanRegisteredMail = (s: string): boolean => isS10(s) && s[0] === 'R' && s.endsWith('TW');

export const s10 = (serial: string, service = 'RR', country = 'TW'): string =>
  `${service}${serial}${s10CheckDigit(serial)}${country}`;

/** A random registered-letter number, e.g. for the simulated post office. */
export const randomRegisteredMailNumber = (): string =>
  s10(randomInt(0, 100_000_000).toString().padStart(8, '0'));
