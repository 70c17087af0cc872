import { ValidationError } from '../errors.js';

/**
 * The Asia/Taipei calendar, which every date rule of the service follows (payment window, ARC expiry,
 * age, issue month). Taiwan has kept UTC+8 without daylight saving since 1980, so a fixed offset is
 * exact for every date the service handles and no time-zone database is needed. Nothing here reads the
 * process time zone: the same instant gives the same Taipei date on a laptop in Berlin and in Lambda.
 *
 * Calendar dates are `YYYY-MM-DD` strings, months `YYYY-MM`; instants are `Date`s.
 */

export const TAIPEI_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The payment window: 15 calendar days counted from the day after the counter application. */
export const PAYMENT_WINDOW_DAYS = 15;

const assertInstant = (d: Date): number => {
  const t = d.getTime();
  if (Number.isNaN(t)) throw new RangeError('invalid Date');
  return t;
};

/** The Taipei calendar date (`YYYY-MM-DD`) of an instant. */
export const taipeiDate = (d: Date): string =>
  new Date(assertInstant(d) + TAIPEI_OFFSET_MS).toISOString().slice(0, 10);

/** The Taipei calendar month (`YYYY-MM`) of an instant, e.g. a certificate's issue month. */
export const taipeiMonth = (d: Date): string => taipeiDate(d).slice(0, 7);

/** The Taipei wall-clock time of an instant, ISO-8601 with offset: `2026-12-08T23:59:59+08:00`. */
export const formatTaipeiDateTime = (d: Date): string =>
  `${new Date(assertInstant(d) + TAIPEI_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;

export interface CalendarDate {
  year: number;
  month: number; // 1–12
  day: number; // 1–31
}

const DATE_SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;

export const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

export const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/** Parts of a real calendar date, or undefined (`2026-02-30`, `2026-13-01`, `26-1-1` are not dates). */
export const calendarDateParts = (value: string): CalendarDate | undefined => {
  const m = DATE_SHAPE.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return { year, month, day };
};

/**
 * A calendar date given in a request (`dateOfBirth`, `arcExpiry`): exactly `YYYY-MM-DD` and a day that
 * exists. Rules: `date.required`, `date.format` (shape), `date.invalid` (e.g. 2026-02-30).
 */
export const parseCalendarDate = (field: string, value: unknown): string => {
  if (value === undefined || value === null || value === '') {
    throw new ValidationError(field, 'date.required', 'a date is required (YYYY-MM-DD)');
  }
  if (typeof value !== 'string' || !DATE_SHAPE.test(value.trim())) {
    throw new ValidationError(field, 'date.format', 'a date is written YYYY-MM-DD, e.g. 2026-11-23');
  }
  const s = value.trim();
  if (!calendarDateParts(s)) {
    throw new ValidationError(field, 'date.invalid', `${s} is not a day of the calendar`);
  }
  return s;
};

const partsOrThrow = (dateStr: string): CalendarDate => {
  const p = calendarDateParts(dateStr);
  if (!p) throw new RangeError(`not a calendar date: ${dateStr}`);
  return p;
};

/** Milliseconds of 00:00 UTC of a calendar date (setUTCFullYear: Date.UTC would map years 0–99 to 19xx). */
const utcMidnight = ({ year, month, day }: CalendarDate): number =>
  new Date(0).setUTCFullYear(year, month - 1, day);

/** `dateStr` plus `days` calendar days (negative to go back). */
export const addCalendarDays = (dateStr: string, days: number): string => {
  const t = utcMidnight(partsOrThrow(dateStr)) + days * DAY_MS;
  const s = new Date(t).toISOString();
  // Years outside 0000–9999 are not calendar dates this service handles.
  if (!DATE_SHAPE.test(s.slice(0, 10))) throw new RangeError('date out of range');
  return s.slice(0, 10);
};

/**
 * `dateStr` plus `years` years, same month and day; 29 February in a year without one becomes 1 March
 * (see `birthdayOfAge` in applicant.ts for why).
 */
export const addCalendarYears = (dateStr: string, years: number): string => {
  const { year, month, day } = partsOrThrow(dateStr);
  const y = year + years;
  if (!Number.isInteger(y) || y < 1 || y > 9999) throw new RangeError('date out of range');
  const same = `${String(y).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return calendarDateParts(same) ? same : `${String(y).padStart(4, '0')}-03-01`;
};

/** Calendar days from `from` to `to` (positive when `to` is later). */
export const calendarDaysBetween = (from: string, to: string): number => {
  return Math.round((utcMidnight(partsOrThrow(to)) - utcMidnight(partsOrThrow(from))) / DAY_MS);
};

/** The first instant of a Taipei calendar day (00:00:00.000 Taipei). */
export const startOfTaipeiDay = (dateStr: string): Date => {
  return new Date(utcMidnight(partsOrThrow(dateStr)) - TAIPEI_OFFSET_MS);
};

/**
 * The last instant of a Taipei calendar day: 23:59:59.999 Taipei. A deadline "at 23:59:59" covers the
 * whole of that second, so the instant stored is its last millisecond; `now > deadline` is then true
 * exactly from 00:00:00.000 of the next Taipei day, and naive comparisons anywhere (a Step Functions
 * wait, a sweeper query on the ISO string) agree with `isPastDeadline`.
 */
export const endOfTaipeiDay = (dateStr: string): Date =>
  new Date(startOfTaipeiDay(dateStr).getTime() + DAY_MS - 1);

/** The Taipei calendar day on which the payment window of an application closes. */
export const paymentDeadlineDate = (appliedAt: Date): string =>
  addCalendarDays(taipeiDate(appliedAt), PAYMENT_WINDOW_DAYS);

/**
 * The payment deadline of a counter application: 23:59:59(.999) Taipei on the 15th calendar day counted
 * from the day after the application day. Applied on 2026-11-23 (any time of that Taipei day) → day 1 is
 * 2026-11-24, day 15 is 2026-12-08 → deadline 2026-12-08T23:59:59.999+08:00 (= 15:59:59.999Z).
 */
export const paymentDeadline = (appliedAt: Date): Date => endOfTaipeiDay(paymentDeadlineDate(appliedAt));

/** Whether `now` is after the deadline (the deadline instant itself still counts as in time). */
export const isPastDeadline = (deadline: Date | string, now: Date): boolean => {
  const d = typeof deadline === 'string' ? new Date(deadline) : deadline;
  return assertInstant(now) > assertInstant(d);
};
