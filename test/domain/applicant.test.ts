import fc from 'fast-check';
import {
  ADULT_AGE,
  ageOn,
  birthdayOfAge,
  checkApplicantAge,
  checkArcExpiry,
} from '../../shared/domain/applicant.js';
import {
  addCalendarDays,
  addCalendarYears,
  startOfTaipeiDay,
  taipeiDate,
} from '../../shared/domain/calendar.js';
import { ValidationError } from '../../shared/errors.js';

const at = (iso: string) => new Date(iso);

const ruleOf = (fn: () => unknown, field: string) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe(field);
    return (e as ValidationError).rule;
  }
};

const day = fc
  .date({ min: at('1900-01-01T00:00:00Z'), max: at('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

describe('ageOn / birthdayOfAge', () => {
  it('counts the birthday itself', () => {
    expect(ageOn('2008-11-24', '2026-11-23')).toBe(17);
    expect(ageOn('2008-11-24', '2026-11-24')).toBe(18);
    expect(ageOn('2008-12-31', '2026-01-01')).toBe(17);
  });

  it('gives 29 February birthdays their new age on 1 March in common years', () => {
    expect(birthdayOfAge('2008-02-29', 18)).toBe('2026-03-01');
    expect(ageOn('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageOn('2008-02-29', '2026-03-01')).toBe(18);
    expect(birthdayOfAge('2008-02-29', 20)).toBe('2028-02-29');
    expect(ageOn('2008-02-29', '2028-02-29')).toBe(20);
    expect(ageOn('2008-02-29', '2028-02-28')).toBe(19);
  });

  it('puts every date between the birthday of its age and the next one', () => {
    fc.assert(
      fc.property(day, day, (dob, on) => {
        fc.pre(dob <= on);
        const age = ageOn(dob, on);
        expect(age).toBeGreaterThanOrEqual(0);
        expect(birthdayOfAge(dob, age) <= on).toBe(true);
        expect(on < birthdayOfAge(dob, age + 1)).toBe(true);
      }),
    );
  });

  it('adds years to a date keeping month and day', () => {
    fc.assert(
      fc.property(day, fc.integer({ min: 0, max: 100 }), (d, n) => {
        const later = addCalendarYears(d, n);
        expect(Number(later.slice(0, 4)) - Number(d.slice(0, 4))).toBe(n);
        if (d.slice(5) !== '02-29') expect(later.slice(5)).toBe(d.slice(5));
      }),
    );
  });
});

describe('checkApplicantAge', () => {
  it('accepts an applicant on the 18th birthday, judged on the Taipei date', () => {
    // 16:30Z on 11-23 is already 11-24 in Taipei.
    expect(checkApplicantAge('2008-11-24', at('2026-11-23T16:30:00Z'))).toBe('2008-11-24');
    expect(ruleOf(() => checkApplicantAge('2008-11-24', at('2026-11-23T15:59:59Z')), 'dateOfBirth')).toBe(
      'applicant.age',
    );
  });

  it('says from when the applicant will be eligible', () => {
    try {
      checkApplicantAge('2008-02-29', at('2026-02-28T04:00:00Z'));
      throw new Error('unreachable');
    } catch (e) {
      expect((e as ValidationError).rule).toBe('applicant.age');
      expect((e as ValidationError).message).toContain('2026-03-01');
    }
    expect(checkApplicantAge('2008-02-29', at('2026-03-01T04:00:00Z'))).toBe('2008-02-29');
  });

  it('accepts exactly those who are 18 on the Taipei application day', () => {
    fc.assert(
      fc.property(
        day,
        fc.date({ min: at('1990-01-01T00:00:00Z'), max: at('2090-01-01T00:00:00Z'), noInvalidDate: true }),
        (dob, applied) => {
          const today = taipeiDate(applied);
          fc.pre(dob <= today);
          const eligible = birthdayOfAge(dob, ADULT_AGE) <= today;
          expect(ruleOf(() => checkApplicantAge(dob, applied), 'dateOfBirth')).toBe(
            eligible ? undefined : 'applicant.age',
          );
        },
      ),
    );
  });

  it.each([
    ['2030-01-01', 'date_of_birth.future'],
    ['1899-12-31', 'date_of_birth.range'],
    ['2000-02-30', 'date.invalid'],
    ['2000-2-3', 'date.format'],
    [undefined, 'date.required'],
  ])('%p → %s', (dob, rule) => {
    expect(
      ruleOf(
        () => checkApplicantAge(dob, at('2026-11-23T04:00:00Z'), 'applicant.dateOfBirth'),
        'applicant.dateOfBirth',
      ),
    ).toBe(rule);
  });
});

describe('checkArcExpiry', () => {
  const now = at('2026-11-23T04:00:00Z'); // 12:00 Taipei

  it('requires an ARC valid after today (Taipei)', () => {
    expect(checkArcExpiry('2026-11-24', now)).toBe('2026-11-24');
    expect(ruleOf(() => checkArcExpiry('2026-11-23', now), 'arcExpiry')).toBe('arc_expiry.expired');
    expect(ruleOf(() => checkArcExpiry('2020-01-01', now), 'arcExpiry')).toBe('arc_expiry.expired');
  });

  it('follows the Taipei date when the UTC date is still the day before', () => {
    const justAfterTaipeiMidnight = at('2026-11-23T16:05:00Z'); // 2026-11-24 00:05 Taipei
    expect(ruleOf(() => checkArcExpiry('2026-11-24', justAfterTaipeiMidnight), 'arcExpiry')).toBe(
      'arc_expiry.expired',
    );
    expect(checkArcExpiry('2026-11-25', justAfterTaipeiMidnight)).toBe('2026-11-25');
  });

  it('is valid exactly for expiry dates after the Taipei date of now (up to 30 years ahead)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: at('2000-01-01T00:00:00Z'), max: at('2060-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: -400, max: 400 }),
        (instant, offset) => {
          const today = taipeiDate(instant);
          const expiry = addCalendarDays(today, offset);
          expect(ruleOf(() => checkArcExpiry(expiry, instant), 'arcExpiry')).toBe(
            offset > 0 ? undefined : 'arc_expiry.expired',
          );
          // The boundary instant: the last millisecond of the day before expiry is still fine.
          if (offset > 0)
            expect(checkArcExpiry(expiry, new Date(startOfTaipeiDay(expiry).getTime() - 1))).toBe(expiry);
        },
      ),
    );
  });

  it.each([
    ['2066-11-23', 'arc_expiry.range'],
    ['2026-11-31', 'date.invalid'],
    ['23/11/2027', 'date.format'],
    ['', 'date.required'],
  ])('%p → %s', (v, rule) => {
    expect(ruleOf(() => checkArcExpiry(v, now), 'arcExpiry')).toBe(rule);
  });
});
