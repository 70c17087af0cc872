import {
  checkAdultBirthDate,
  checkArcNumber,
  checkCitizenCertificate,
  checkDonationCode,
  checkFutureDate,
  checkMobileBarcode,
  checkTaxId,
  isTaxId,
  taipeiToday,
} from '../../web/src/validation.js';

/**
 * The checks the front end runs as people type. Vectors from enylin/taiwan-id-validator
 * (test/index.test.ts and its README, which shows 04595252 as valid only under the 2023 mod-5 rule).
 */
describe('company tax id (統一編號), rule in force since 2023-04-01', () => {
  it.each(['12345675', '12345676', '04595257', '10458575', '04595252'])('accepts %s', (v) => {
    expect(isTaxId(v)).toBe(true);
  });
  it('accepts 04595252, valid only by the mod-5 rule (digit sum 35)', () => {
    expect(checkTaxId('04595252')).toBeUndefined();
  });
  it.each(['12345678', '12345677', '1234567', '123456789', '1234567a'])('refuses %s', (v) => {
    expect(isTaxId(v)).toBe(false);
  });
  it('says whether the shape or the check digit is wrong', () => {
    expect(checkTaxId('1234')?.key).toBe('rules.ubn.format');
    expect(checkTaxId('12345678')?.key).toBe('rules.ubn.checksum');
    expect(checkTaxId('00000000')?.key).toBe('rules.ubn.placeholder');
  });
});

describe('e-invoice carriers', () => {
  it.each(['/+.-++..', '/AAA33AA', '/P4SV.-I', '/O0O01I1'])('mobile barcode %s is accepted', (v) => {
    expect(checkMobileBarcode(v)).toBeUndefined();
  });
  it.each(['/ABCD1234', '/ABCD12', '/ABCD12;', 'ABCD1234'])('mobile barcode %s is refused', (v) => {
    expect(checkMobileBarcode(v)?.key).toBe('rules.einvoice.mobile_barcode');
  });
  it('reads a mobile barcode in capitals, as the server does', () => {
    expect(checkMobileBarcode('/ab12345')).toBeUndefined();
  });
  it('citizen certificate carrier: two capitals and 14 digits', () => {
    expect(checkCitizenCertificate('AB12345678901234')).toBeUndefined();
    expect(checkCitizenCertificate('A112345678901234')?.key).toBe('rules.einvoice.citizen_certificate');
    expect(checkCitizenCertificate('AB1234567890123')).toBeDefined();
  });
  it('donation code: 3 to 7 digits', () => {
    expect(checkDonationCode('001')).toBeUndefined();
    expect(checkDonationCode('2134567')).toBeUndefined();
    expect(checkDonationCode('00')).toBeDefined();
    expect(checkDonationCode('12345678')).toBeDefined();
  });
});

describe('ARC number, through the domain parser', () => {
  it.each(['A800000014', 'A900207177', 'AC03095424', 'HD02717288'])('accepts %s', (v) => {
    expect(checkArcNumber(v)).toBeUndefined();
  });
  it('names the rule that failed', () => {
    expect(checkArcNumber('A800000000')?.key).toBe('rules.arc.checksum');
    expect(checkArcNumber('A123456789')?.key).toBe('rules.arc.gender_digit');
    expect(checkArcNumber('AE00000000')?.key).toBe('rules.arc.second_letter');
    expect(checkArcNumber('A8000')?.key).toBe('rules.arc.length');
  });
});

describe('dates at the counter (Taipei calendar)', () => {
  // 2026-11-23 01:00 in Taipei is still 2026-11-22 in UTC.
  const now = () => new Date('2026-11-22T17:00:00Z');
  it('uses the Taipei date', () => {
    expect(taipeiToday(now())).toBe('2026-11-23');
  });
  it('an applicant is 18 on their 18th birthday, not the day before', () => {
    const adult = checkAdultBirthDate(now);
    expect(adult('2008-11-23')).toBeUndefined();
    expect(adult('2008-11-24')?.key).toBe('rules.applicant.age');
    expect(adult('2030-01-01')?.key).toBe('rules.date_of_birth.future');
    expect(adult('2008-02-30')?.key).toBe('rules.date.invalid');
    expect(adult('1.1.1990')?.key).toBe('rules.date.format');
  });
  it('the ARC must be valid after today', () => {
    const future = checkFutureDate(now);
    expect(future('2026-11-24')).toBeUndefined();
    expect(future('2026-11-23')?.key).toBe('rules.arc_expiry.expired');
  });
});
