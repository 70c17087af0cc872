import fc from 'fast-check';
import { taipeiDate } from '../../shared/domain/calendar.js';
import {
  CROCKFORD_BASE32,
  isSubjectSerialNumber,
  newApplicationId,
  newCardJobId,
  newMerchantTradeNo,
  newSubjectSerialNumber,
  parseApplicationId,
  parseCardJobId,
  parseMerchantTradeNo,
} from '../../shared/domain/ids.js';
import { ValidationError } from '../../shared/errors.js';

const instant = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T00:00:00Z'),
  noInvalidDate: true,
});

const ruleOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).rule;
  }
};

describe('application ids', () => {
  it('carry the Taipei date and 8 Crockford characters, and parse back unchanged', () => {
    fc.assert(
      fc.property(instant, (now) => {
        const id = newApplicationId(now);
        expect(id).toMatch(/^A\d{8}-[0-9A-HJKMNP-TV-Z]{8}$/);
        expect(id.slice(1, 9)).toBe(taipeiDate(now).replaceAll('-', ''));
        expect(parseApplicationId('id', id)).toBe(id);
      }),
    );
  });

  it('use the Taipei day, not the UTC day', () => {
    expect(newApplicationId(new Date('2026-11-23T16:30:00Z')).slice(0, 10)).toBe('A20261124-');
  });

  it('do not repeat and draw every Crockford character', () => {
    const now = new Date('2026-11-23T04:00:00Z');
    const ids = Array.from({ length: 2000 }, () => newApplicationId(now));
    expect(new Set(ids).size).toBe(ids.length);
    const seen = new Set(ids.flatMap((i) => [...i.slice(10)]));
    expect([...seen].sort().join('')).toBe([...CROCKFORD_BASE32].sort().join(''));
  });

  it('are read forgivingly (case, O for 0, I/L for 1) and strictly otherwise', () => {
    expect(parseApplicationId('id', ' a20261123-7k3m9qxz ')).toBe('A20261123-7K3M9QXZ');
    expect(parseApplicationId('id', 'A20261123-O0ILK3MX')).toBe('A20261123-0011K3MX');
    for (const bad of [
      'A20261123-7K3M9QX',
      'A20261123-7K3M9QXZ1',
      'A20261323-7K3M9QXZ',
      'A20260230-7K3M9QXZ',
      'B20261123-7K3M9QXZ',
      'A20261123-7K3M9QXU',
      'A202611237K3M9QXZ',
      '',
      42,
    ]) {
      expect(ruleOf(() => parseApplicationId('id', bad))).toBe('application_id.format');
    }
  });
});

describe('card job ids', () => {
  it('carry the Taipei date and 10 Crockford characters', () => {
    fc.assert(
      fc.property(instant, (now) => {
        const id = newCardJobId(now);
        expect(id).toMatch(/^J\d{8}-[0-9A-HJKMNP-TV-Z]{10}$/);
        expect(parseCardJobId('jobId', id.toLowerCase())).toBe(id);
      }),
    );
    expect(ruleOf(() => parseCardJobId('jobId', newApplicationId(new Date())))).toBe('card_job_id.format');
  });
});

describe('merchant trade numbers', () => {
  it('are 20 letters and digits, start with P and the Taipei date, and do not repeat', () => {
    fc.assert(
      fc.property(instant, (now) => {
        const no = newMerchantTradeNo(now);
        expect(no).toMatch(/^P\d{8}[0-9A-Z]{11}$/);
        expect(no).toHaveLength(20);
        expect(no.slice(1, 9)).toBe(taipeiDate(now).replaceAll('-', ''));
        expect(parseMerchantTradeNo('MerchantTradeNo', no)).toBe(no);
      }),
    );
    const many = Array.from({ length: 5000 }, () => newMerchantTradeNo(new Date('2026-11-23T04:00:00Z')));
    expect(new Set(many).size).toBe(many.length);
  });

  it('refuse what a gateway cannot have sent', () => {
    for (const bad of ['', 'P'.repeat(21), 'P2026-1123', 'P20261123 ABC', undefined])
      expect(ruleOf(() => parseMerchantTradeNo('MerchantTradeNo', bad))).toBe('merchant_trade_no.format');
  });
});

describe('subject serial numbers', () => {
  it('are 16 random digits with a non-zero first digit', () => {
    const serials = Array.from({ length: 5000 }, () => newSubjectSerialNumber());
    for (const s of serials) expect(isSubjectSerialNumber(s)).toBe(true);
    expect(new Set(serials).size).toBe(serials.length);
    const firstDigits = new Set(serials.map((s) => s[0]));
    expect([...firstDigits].sort().join('')).toBe('123456789');
    const otherDigits = new Set(serials.flatMap((s) => [...s.slice(1)]));
    expect(otherDigits.size).toBe(10);
  });

  it('recognise only the 16-digit shape', () => {
    for (const bad of [
      '0123456789012345',
      '123456789012345',
      '12345678901234567',
      'A800000014123456',
      1234567890123456,
    ])
      expect(isSubjectSerialNumber(bad)).toBe(false);
  });
});
