import { ValidationError } from '../errors.js';
import { addCalendarYears, calendarDateParts, parseCalendarDate, taipeiDate } from './calendar.js';

/**
 * Who may apply: 18 or older on the day of the counter application, holding an ARC that is still valid.
 * Both are judged on the Asia/Taipei calendar, whatever the server's time zone.
 */

export const ADULT_AGE = 18;

/** Oldest plausible date of birth; anything earlier is a typing error. */
const EARLIEST_BIRTH = '1900-01-01';

/** How far ahead an ARC expiry can plausibly be (a year typed as 2206 instead of 2026 is caught). */
const MAX_ARC_VALIDITY_YEARS = 30;

/** Full years of age on `onDate` (both `YYYY-MM-DD`): the birthday itself counts. */
export const ageOn = (dateOfBirth: string, onDate: string): number => {
  const b = calendarDateParts(dateOfBirth);
  const d = calendarDateParts(onDate);
  if (!b || !d) throw new RangeError('ageOn needs two calendar dates');
  const hadBirthday = d.month > b.month || (d.month === b.month && d.day >= b.day);
  return d.year - b.year - (hadBirthday ? 0 : 1);
};

/**
 * The day a person born on `dateOfBirth` turns `years` old. Someone born on 29 February reaches an age
 * that falls in a common year on 1 March: Civil Code art. 124 counts age from the day of birth and
 * art. 121(2) ends a period with no corresponding day on the last day of that month (28 February), so
 * the new age starts the next day. (This is the reading we apply; no ruling specific to this service.)
 */
export const birthdayOfAge = (dateOfBirth: string, years: number): string =>
  addCalendarYears(dateOfBirth, years);

/**
 * Check the applicant's date of birth against the application instant. Returns the date of birth
 * (`YYYY-MM-DD`). Rules: `date.*` (shape), `date_of_birth.future`, `date_of_birth.range`,
 * `applicant.age` (under 18 on the Taipei application day).
 */
export const checkApplicantAge = (
  dateOfBirth: unknown,
  applicationDate: Date,
  field = 'dateOfBirth',
): string => {
  const dob = parseCalendarDate(field, dateOfBirth);
  const today = taipeiDate(applicationDate);
  if (dob > today) {
    throw new ValidationError(field, 'date_of_birth.future', 'the date of birth is in the future');
  }
  if (dob < EARLIEST_BIRTH) {
    throw new ValidationError(
      field,
      'date_of_birth.range',
      `the date of birth must be on or after ${EARLIEST_BIRTH}`,
    );
  }
  if (ageOn(dob, today) < ADULT_AGE) {
    throw new ValidationError(
      field,
      'applicant.age',
      `the applicant must be ${ADULT_AGE} or older on the day of application; eligible from ${birthdayOfAge(dob, ADULT_AGE)}`,
    );
  }
  return dob;
};

/**
 * Check the ARC expiry date: the ARC must still be valid after today (Taipei). An ARC that expires today
 * is refused, because the certificate would be issued and mailed after it lapsed. Returns the date.
 * Rules: `date.*` (shape), `arc_expiry.expired`, `arc_expiry.range` (implausibly far ahead).
 */
export const checkArcExpiry = (arcExpiry: unknown, now: Date, field = 'arcExpiry'): string => {
  const expiry = parseCalendarDate(field, arcExpiry);
  const today = taipeiDate(now);
  if (expiry <= today) {
    throw new ValidationError(
      field,
      'arc_expiry.expired',
      'the ARC has expired or expires today; the applicant needs a valid ARC',
    );
  }
  const limit = addCalendarYears(today, MAX_ARC_VALIDITY_YEARS);
  if (expiry > limit) {
    throw new ValidationError(
      field,
      'arc_expiry.range',
      `an ARC expiry more than ${MAX_ARC_VALIDITY_YEARS} years ahead is not plausible; please check the year`,
    );
  }
  return expiry;
};
