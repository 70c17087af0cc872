import fc from 'fast-check';
import type { Fee } from '../../shared/domain/model.js';
import {
  applicationFee,
  CARD_FEE_TWD,
  feeTotal,
  formatTwd,
  paysFee,
  REGISTERED_POSTAGE_TWD,
} from '../../shared/domain/money.js';
import { InternalError } from '../../shared/errors.js';

describe('applicationFee', () => {
  it('is NT$278: NT$250 for the card and NT$28 registered postage, itemised', () => {
    const fee = applicationFee();
    expect(fee).toEqual({
      currency: 'TWD',
      items: [
        { code: 'card', label: expect.stringContaining('晶片卡') as unknown as string, amount: 250 },
        { code: 'postage', label: expect.stringContaining('掛號') as unknown as string, amount: 28 },
      ],
      total: 278,
    });
    expect(CARD_FEE_TWD + REGISTERED_POSTAGE_TWD).toBe(278);
    expect(feeTotal(fee)).toBe(278);
    expect(fee.items.every((i) => Number.isInteger(i.amount))).toBe(true);
  });

  it('gives a new object every time (a caller may not change the next one)', () => {
    const a = applicationFee();
    a.items[0]!.amount = 1;
    expect(applicationFee().total).toBe(278);
    expect(applicationFee().items[0]!.amount).toBe(250);
  });
});

describe('feeTotal / paysFee', () => {
  const fee = applicationFee();

  it('accepts exactly the total', () => {
    expect(paysFee(fee, 278)).toBe(true);
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double()), (amount) => {
        expect(paysFee(fee, amount)).toBe(amount === 278);
      }),
    );
  });

  it('refuses a stored fee whose items and total disagree, or with fractional or negative amounts', () => {
    const broken = (f: Partial<Fee>) => ({ ...fee, ...f }) as Fee;
    expect(() => feeTotal(broken({ total: 277 }))).toThrow(InternalError);
    expect(() =>
      feeTotal(broken({ items: [{ code: 'card', label: 'x', amount: 249.5 }], total: 249.5 })),
    ).toThrow(InternalError);
    expect(() => feeTotal(broken({ items: [{ code: 'card', label: 'x', amount: -1 }], total: -1 }))).toThrow(
      InternalError,
    );
    expect(() => feeTotal(broken({ currency: 'USD' as 'TWD' }))).toThrow(InternalError);
  });

  it('sums any whole-dollar items exactly', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 10 }), (amounts) => {
        const items = amounts.map((amount) => ({ code: 'card' as const, label: 'x', amount }));
        const total = amounts.reduce((a, b) => a + b, 0);
        expect(feeTotal({ currency: 'TWD', items, total })).toBe(total);
      }),
    );
  });
});

describe('formatTwd', () => {
  it.each([
    [278, 'NT$278'],
    [0, 'NT$0'],
    [1250, 'NT$1,250'],
    [1234567, 'NT$1,234,567'],
    [-28, '-NT$28'],
  ])('%p → %s', (amount, text) => {
    expect(formatTwd(amount)).toBe(text);
  });

  it('writes the digits back unchanged with thousands separators', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (n) => {
        const s = formatTwd(n);
        expect(s).toMatch(/^-?NT\$\d{1,3}(,\d{3})*$/);
        expect(Number(s.replace(/[^\d-]/g, ''))).toBe(n);
      }),
    );
  });

  it('refuses fractions', () => {
    expect(() => formatTwd(27.8)).toThrow(InternalError);
    expect(() => formatTwd(Number.NaN)).toThrow(InternalError);
  });
});
