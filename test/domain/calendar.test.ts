import fc from 'fast-check';
import {
  addCalendarDays,
  calendarDateParts,
  calendarDaysBetween,
  daysInMonth,
  endOfTaipeiDay,
  formatTaipeiDateTime,
  isPastDeadline,
  PAYMENT_WINDOW_DAYS,
  parseCalendarDate,
  paymentDeadline,
  paymentDeadlineDate,
  startOfTaipeiDay,
  taipeiDate,
  taipeiMonth,
} from '../../shared/domain/calendar.js';
import { ValidationError } from '../../shared/errors.js';

const DAY = 24 * 60 * 60 * 1000;
const at = (iso: string) => new Date(iso);

/** An independent oracle: ICU's Asia/Taipei zone (Taiwan has no DST since 1980). */
const icuTaipeiDate = (d: Date) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Asia/Taipei',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(d);

/** Instants from 1980 to 2100, the range where the fixed offset and ICU must agree. */
const instant = fc.date({
  min: at('1980-01-01T00:00:00Z'),
  max: at('2100-12-31T00:00:00Z'),
  noInvalidDate: true,
});
const calendarDate = instant.map((d) => d.toISOString().slice(0, 10));

describe('taipeiDate / taipeiMonth', () => {
  it('agrees with the ICU Asia/Taipei zone for every instant 1980–2100', () => {
    fc.assert(
      fc.property(instant, (d) => {
        expect(taipeiDate(d)).toBe(icuTaipeiDate(d));
        expect(taipeiMonth(d)).toBe(icuTaipeiDate(d).slice(0, 7));
      }),
    );
  });

  it('turns the date at 16:00 UTC, not at UTC midnight', () => {
    expect(taipeiDate(at('2026-11-23T15:59:59.999Z'))).toBe('2026-11-23');
    expect(taipeiDate(at('2026-11-23T16:00:00.000Z'))).toBe('2026-11-24');
    expect(taipeiMonth(at('2026-11-30T16:00:00.000Z'))).toBe('2026-12');
    expect(taipeiMonth(at('2026-12-31T16:00:00.000Z'))).toBe('2027-01');
  });

  it('does not depend on the process time zone', () => {
    const saved = process.env.TZ;
    try {
      for (const tz of ['America/Los_Angeles', 'Pacific/Kiritimati', 'Europe/Berlin']) {
        process.env.TZ = tz;
        expect(taipeiDate(at('2026-11-23T16:30:00Z'))).toBe('2026-11-24');
        expect(paymentDeadline(at('2026-11-23T01:00:00Z')).toISOString()).toBe('2026-12-08T15:59:59.999Z');
        expect(startOfTaipeiDay('2026-03-08').toISOString()).toBe('2026-03-07T16:00:00.000Z');
      }
    } finally {
      process.env.TZ = saved;
    }
  });

  it('refuses an invalid Date', () => {
    expect(() => taipeiDate(new Date(Number.NaN))).toThrow(RangeError);
  });

  it('formats an instant as Taipei wall-clock time with its offset', () => {
    expect(formatTaipeiDateTime(at('2026-12-08T15:59:59.999Z'))).toBe('2026-12-08T23:59:59+08:00');
    expect(formatTaipeiDateTime(at('2026-11-23T16:00:00Z'))).toBe('2026-11-24T00:00:00+08:00');
  });
});

describe('start and end of a Taipei day', () => {
  it('are 00:00:00.000 and 23:59:59.999 Taipei', () => {
    expect(startOfTaipeiDay('2026-12-08').toISOString()).toBe('2026-12-07T16:00:00.000Z');
    expect(endOfTaipeiDay('2026-12-08').toISOString()).toBe('2026-12-08T15:59:59.999Z');
  });

  it('bracket exactly the instants whose Taipei date is that day', () => {
    fc.assert(
      fc.property(instant, (d) => {
        const day = taipeiDate(d);
        const start = startOfTaipeiDay(day).getTime();
        const end = endOfTaipeiDay(day).getTime();
        expect(start).toBeLessThanOrEqual(d.getTime());
        expect(d.getTime()).toBeLessThanOrEqual(end);
        expect(end - start).toBe(DAY - 1);
        expect(taipeiDate(new Date(start - 1))).toBe(addCalendarDays(day, -1));
        expect(taipeiDate(new Date(end + 1))).toBe(addCalendarDays(day, 1));
      }),
    );
  });

  it('refuse something that is not a calendar date', () => {
    expect(() => endOfTaipeiDay('2026-02-30')).toThrow(RangeError);
    expect(() => startOfTaipeiDay('20261208')).toThrow(RangeError);
  });
});

describe('paymentDeadline', () => {
  it('is 23:59:59 Taipei on the 15th day counted from the day after the application (the FAQ example)', () => {
    for (const applied of ['2026-11-22T16:00:00Z', '2026-11-23T04:00:00Z', '2026-11-23T15:59:59.999Z']) {
      const deadline = paymentDeadline(at(applied));
      expect(formatTaipeiDateTime(deadline)).toBe('2026-12-08T23:59:59+08:00');
      expect(deadline.toISOString()).toBe('2026-12-08T15:59:59.999Z');
      expect(paymentDeadlineDate(at(applied))).toBe('2026-12-08');
    }
  });

  it('follows the Taipei date, not the UTC date, around Taipei midnight', () => {
    // 23:59 Taipei on 11-23 is 15:59Z on 11-23; 00:01 Taipei on 11-24 is 16:01Z, still 11-23 in UTC.
    expect(formatTaipeiDateTime(paymentDeadline(at('2026-11-23T15:59:00Z')))).toBe(
      '2026-12-08T23:59:59+08:00',
    );
    expect(formatTaipeiDateTime(paymentDeadline(at('2026-11-23T16:01:00Z')))).toBe(
      '2026-12-09T23:59:59+08:00',
    );
  });

  it('crosses month and year ends and leap days', () => {
    expect(paymentDeadlineDate(at('2026-12-20T02:00:00Z'))).toBe('2027-01-04');
    expect(paymentDeadlineDate(at('2028-02-20T02:00:00Z'))).toBe('2028-03-06'); // 2028 is a leap year
    expect(paymentDeadlineDate(at('2027-02-20T02:00:00Z'))).toBe('2027-03-07');
  });

  it('is the same instant for every moment of one Taipei day, and one day later for the next day', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: DAY - 1 }), (d, ms) => {
        const day = taipeiDate(d);
        const applied = new Date(startOfTaipeiDay(day).getTime() + ms);
        const deadline = paymentDeadline(applied);
        expect(deadline.getTime()).toBe(
          startOfTaipeiDay(day).getTime() + (PAYMENT_WINDOW_DAYS + 1) * DAY - 1,
        );
        expect(taipeiDate(deadline)).toBe(addCalendarDays(day, PAYMENT_WINDOW_DAYS));
        expect(formatTaipeiDateTime(deadline).slice(11)).toBe('23:59:59+08:00');
        const nextDay = new Date(startOfTaipeiDay(addCalendarDays(day, 1)).getTime() + ms);
        expect(paymentDeadline(nextDay).getTime() - deadline.getTime()).toBe(DAY);
      }),
    );
  });

  it('applications at 23:59 and at 00:01 Taipei get deadlines one day apart, whatever the UTC date says', () => {
    fc.assert(
      fc.property(calendarDate, (day) => {
        const late = new Date(endOfTaipeiDay(day).getTime() - 60_000); // 23:59 Taipei
        const early = new Date(startOfTaipeiDay(addCalendarDays(day, 1)).getTime() + 60_000); // 00:01 next day
        expect(late.toISOString().slice(0, 10)).toBe(early.toISOString().slice(0, 10)); // same UTC date
        expect(calendarDaysBetween(paymentDeadlineDate(late), paymentDeadlineDate(early))).toBe(1);
      }),
    );
  });
});

describe('isPastDeadline', () => {
  const deadline = paymentDeadline(at('2026-11-23T04:00:00Z'));

  it('counts the whole of 23:59:59 as in time and 00:00:00 of the next day as late', () => {
    expect(isPastDeadline(deadline, at('2026-12-08T15:59:59.000Z'))).toBe(false);
    expect(isPastDeadline(deadline, at('2026-12-08T15:59:59.999Z'))).toBe(false);
    expect(isPastDeadline(deadline, at('2026-12-08T16:00:00.000Z'))).toBe(true);
  });

  it('accepts the deadline as stored (ISO string)', () => {
    expect(isPastDeadline(deadline.toISOString(), at('2026-12-08T16:00:00.000Z'))).toBe(true);
    expect(isPastDeadline(deadline.toISOString(), at('2026-11-30T00:00:00.000Z'))).toBe(false);
  });

  it('is false up to the deadline and true after it, for any application', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 20 * DAY }), (applied, offset) => {
        const d = paymentDeadline(applied);
        const now = new Date(applied.getTime() + offset);
        expect(isPastDeadline(d, now)).toBe(taipeiDate(now) > paymentDeadlineDate(applied));
      }),
    );
  });

  it('refuses an unreadable deadline instead of treating it as open', () => {
    expect(() => isPastDeadline('not a date', at('2026-12-08T16:00:00Z'))).toThrow(RangeError);
  });
});

describe('parseCalendarDate', () => {
  const ruleOf = (v: unknown) => {
    try {
      parseCalendarDate('dateOfBirth', v);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe('dateOfBirth');
      return (e as ValidationError).rule;
    }
  };

  it.each([
    ['2026-02-30', 'date.invalid'],
    ['2026-02-29', 'date.invalid'],
    ['2100-02-29', 'date.invalid'],
    ['2026-04-31', 'date.invalid'],
    ['2026-13-01', 'date.invalid'],
    ['2026-00-10', 'date.invalid'],
    ['2026-01-00', 'date.invalid'],
    ['0000-01-01', 'date.invalid'],
    ['2026-1-5', 'date.format'],
    ['26-01-05', 'date.format'],
    ['2026/01/05', 'date.format'],
    ['2026-01-05T00:00:00Z', 'date.format'],
    ['20260105', 'date.format'],
    ['２０２６-01-05', 'date.format'],
    [20260105, 'date.format'],
    [new Date('2026-01-05'), 'date.format'],
    ['', 'date.required'],
    [undefined, 'date.required'],
    [null, 'date.required'],
  ])('%p → %s', (v, rule) => {
    expect(ruleOf(v)).toBe(rule);
  });

  it('accepts leap days of leap years and trims', () => {
    expect(parseCalendarDate('d', '2028-02-29')).toBe('2028-02-29');
    expect(parseCalendarDate('d', '2000-02-29')).toBe('2000-02-29');
    expect(parseCalendarDate('d', ' 2026-11-23 ')).toBe('2026-11-23');
  });

  it('accepts exactly the days the Gregorian calendar has', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1900, max: 2200 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (y, m, d) => {
          const s = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const real = new Date(`${s}T00:00:00Z`);
          const exists = !Number.isNaN(real.getTime()) && real.toISOString().slice(0, 10) === s;
          expect(ruleOf(s)).toBe(exists ? undefined : 'date.invalid');
          expect(d <= daysInMonth(y, m)).toBe(exists);
        },
      ),
    );
  });
});

describe('calendar arithmetic', () => {
  it('adds and counts days as inverses', () => {
    fc.assert(
      fc.property(calendarDate, fc.integer({ min: -4000, max: 4000 }), (day, n) => {
        const later = addCalendarDays(day, n);
        expect(calendarDateParts(later)).toBeDefined();
        expect(calendarDaysBetween(day, later)).toBe(n);
        expect(addCalendarDays(later, -n)).toBe(day);
      }),
    );
  });

  it('handles years before 100 without the Date.UTC two-digit-year trap', () => {
    expect(addCalendarDays('0099-12-31', 1)).toBe('0100-01-01');
    expect(startOfTaipeiDay('0050-06-01').toISOString()).toBe('0050-05-31T16:00:00.000Z');
  });
});
