import fc from 'fast-check';
import {
  parseCitizenCertificateCarrier,
  parseDonationCode,
  parseEInvoice,
  parseMobileBarcode,
  parseUbn,
  ubnChecksumOk,
} from '../../shared/domain/einvoice.js';
import { ValidationError } from '../../shared/errors.js';

const failure = (fn: () => unknown): { field?: string; rule?: string } | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    const v = e as ValidationError;
    return { field: v.field, rule: v.rule };
  }
};

/*
 * Company tax id (統一編號) vectors from public test suites:
 * [G] guanting112/taiwan-id-validator twid_test.go (commit 43beb8bc3fbd6378c145ab79a8bc474e71fe6415),
 *     Test_ValidateUbn_Ok: "Valid Ubn", a sample of the "Real Ubn" list, "Invalid Ubn", "Broken Real Ubn".
 * [E] enylin/taiwan-id-validator src/business-administration-number.test.ts
 *     (commit 7e461de58d1379efef832634bc61b1b63508e782), isBan with the current (divisible-by-5) rules.
 * [K] koblas/stdnum-js src/tw/ubn.spec.ts (commit 3fec5ad02d00df08b1310248929c1a95aebc3d26).
 */
const UBN_VALID: [string, string][] = [
  ['04595257', 'G E K'],
  ['04595252', 'G'], // valid only under the 2023 rule (divisible by 5)
  ['10458575', 'G'],
  ['10458574', 'G'], // 7th digit 7
  ['10458570', 'G'],
  ['22099131', 'G'],
  ['84149961', 'G'],
  ['45212330', 'G'],
  ['77377545', 'G'],
  ['70796516', 'G'],
  ['60273709', 'G'],
  ['28997786', 'G'],
  ['08826770', 'G'],
  ['92322936', 'G'],
  ['14614009', 'G'],
  ['72428236', 'G'],
  ['82400010', 'G'],
  ['39657383', 'G'],
  ['42669834', 'G'],
  ['47523388', 'G'],
  ['88575769', 'G'],
  ['89868460', 'G'],
  ['61957005', 'G'],
  ['87821546', 'G'],
  ['38705318', 'G'],
  ['42809785', 'G'],
  ['85489754', 'G'],
  ['24255592', 'G'],
  ['23871529', 'G'],
  ['12345676', 'E'], // 7th digit 7
  ['12345670', 'E'],
  ['12345671', 'E'],
  ['12345675', 'E'],
  ['00501503', 'K'],
  ['00501508', 'K'],
  ['00000074', 'K'], // 7th digit 7, total one short of a multiple of 5
];

const UBN_INVALID: [string, string, string][] = [
  ['00000000', 'ubn.placeholder', 'G'],
  ['12345678', 'ubn.checksum', 'G E'],
  ['22099130', 'ubn.checksum', 'G'],
  ['12345672', 'ubn.checksum', 'E'],
  ['04595253', 'ubn.checksum', 'E'],
  ['00501502', 'ubn.checksum', 'K'],
  ['94921310', 'ubn.checksum', 'G'],
  ['82526810', 'ubn.checksum', 'G'],
  ['24277470', 'ubn.checksum', 'G'],
  ['12042740', 'ubn.checksum', 'G'],
  ['61790510', 'ubn.checksum', 'G'],
  ['94920200', 'ubn.checksum', 'G'],
  ['77379470', 'ubn.checksum', 'G'],
  ['25317520', 'ubn.checksum', 'G'],
  ['79956360', 'ubn.checksum', 'G'],
  ['47591700', 'ubn.checksum', 'G'],
  ['92236640', 'ubn.checksum', 'G'],
  ['88753830', 'ubn.checksum', 'G'],
  ['87185360', 'ubn.checksum', 'G'],
  ['99362610', 'ubn.checksum', 'G'],
  ['99192900', 'ubn.checksum', 'G'],
  ['99909170', 'ubn.checksum', 'G'],
  ['99827940', 'ubn.checksum', 'G'],
  ['99683700', 'ubn.checksum', 'G'],
  ['99030230', 'ubn.checksum', 'G'],
  ['1234567821u241', 'ubn.format', 'G'],
  ['AAAAAAAA', 'ubn.format', 'G'],
  ['1234567', 'ubn.format', 'E'],
  ['123456769', 'ubn.format', 'E'],
  ['12345', 'ubn.format', 'K'],
];

describe('company tax id (統一編號)', () => {
  it.each(UBN_VALID)('accepts %s [%s]', (taxId) => {
    expect(parseUbn('invoice.taxId', taxId)).toBe(taxId);
  });

  it.each(UBN_INVALID)('refuses %s with %s [%s]', (taxId, rule) => {
    expect(failure(() => parseUbn('invoice.taxId', taxId))).toEqual({ field: 'invoice.taxId', rule });
  });

  /** An independent statement of the rule: some reading of the 7th digit makes the total ≡ 0 (mod 5). */
  const reference = (id: string) => {
    const w = [1, 2, 1, 2, 1, 2, 4, 1];
    const parts = [...id].map((d, i) => {
      const p = Number(d) * (w[i] as number);
      return i === 6 && d === '7' ? [1, 10] : [Math.floor(p / 10) + (p % 10)];
    });
    const base = parts.reduce((s, p, i) => (i === 6 ? s : s + (p[0] as number)), 0);
    return (parts[6] as number[]).some((v) => (base + v) % 5 === 0);
  };

  it('agrees with the rule stated independently, for every 8-digit number tried', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), (n) => {
        const id = String(n).padStart(8, '0');
        expect(ubnChecksumOk(id)).toBe(reference(id));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every number valid under the rule before 2023 (divisible by 10)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999_999 }), (n) => {
        const id = String(n).padStart(8, '0');
        const w = [1, 2, 1, 2, 1, 2, 4, 1];
        const s = [...id].reduce((t, d, i) => {
          const p = Number(d) * (w[i] as number);
          return t + Math.floor(p / 10) + (p % 10);
        }, 0);
        const oldValid = s % 10 === 0 || (id[6] === '7' && (s + 1) % 10 === 0);
        if (oldValid) expect(ubnChecksumOk(id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('catches a change of the last digit unless it moves the total by 5', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 1, max: 9 }), (n, delta) => {
        const id = String(n).padStart(8, '0');
        fc.pre(ubnChecksumOk(id) && id[6] !== '7');
        const last = Number(id[7]);
        const changed = `${id.slice(0, 7)}${(last + delta) % 10}`;
        expect(ubnChecksumOk(changed)).toBe((((last + delta) % 10) - last) % 5 === 0);
      }),
    );
  });

  it.each([
    [undefined, 'ubn.required'],
    ['', 'ubn.required'],
    [12345676, 'ubn.format'],
    [' 1234 5676', 'ubn.format'],
  ])('%p → %s', (input, rule) => {
    expect(failure(() => parseUbn('invoice.taxId', input))?.rule).toBe(rule);
  });
});

/*
 * Carrier and donation-code vectors from enylin/taiwan-id-validator:
 * src/einvoice/index.test.ts (commit 4d1a0419a075077f9e4af8688dca05743f1140a2) and
 * src/cdc/index.test.ts (commit e8789dde61ac2456441232bd0865bedbf7d7f058). Lower-case inputs that
 * suite refuses are accepted here on purpose (upper-cased: Code 39 has no lower case), tested below.
 */
describe('mobile barcode (手機條碼)', () => {
  it.each(['/+.-++..', '/AAA33AA', '/P4SV.-I', '/O0O01I1'])('accepts %s', (c) => {
    expect(parseMobileBarcode('invoice.carrier', c)).toBe(c);
  });

  it.each(['/ABCD1234', '/ABCD12', '/ABCD12;', '/ABCD$12', 'ABCD1234', '//ABC123', '/ABC 123'])(
    'refuses %s',
    (c) => {
      expect(failure(() => parseMobileBarcode('invoice.carrier', c))).toEqual({
        field: 'invoice.carrier',
        rule: 'einvoice.mobile_barcode',
      });
    },
  );

  it('upper-cases and trims', () => {
    expect(parseMobileBarcode('invoice.carrier', ' /ab12+.- ')).toBe('/AB12+.-');
  });

  it('accepts exactly "/" and 7 characters of 0-9 A-Z . + -', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'/AZ09.+-a*# '), maxLength: 10 }), (s) => {
        const n = s.trim().toUpperCase();
        const ok = /^\/[0-9A-Z.+-]{7}$/.test(n);
        expect(failure(() => parseMobileBarcode('c', s)) === undefined).toBe(ok);
      }),
    );
  });
});

describe('citizen digital certificate carrier (自然人憑證條碼)', () => {
  it.each(['AB12345678901234', 'RP47809425348791'])('accepts %s', (c) => {
    expect(parseCitizenCertificateCarrier('invoice.carrier', c)).toBe(c);
  });

  it.each([
    'AB123456789012345',
    'AB1234567890123',
    'A112345678901234',
    '9B12345678901234',
    'AA123456789012J4',
  ])('refuses %s', (c) => {
    expect(failure(() => parseCitizenCertificateCarrier('invoice.carrier', c))).toEqual({
      field: 'invoice.carrier',
      rule: 'einvoice.citizen_certificate',
    });
  });

  it('upper-cases', () => {
    expect(parseCitizenCertificateCarrier('c', 'ab12345678901234')).toBe('AB12345678901234');
  });
});

describe('donation code (捐贈碼)', () => {
  it.each(['001', '0001', '8880064', '123', '5281', '2291292'])('accepts %s, keeping leading zeros', (c) => {
    expect(parseDonationCode('invoice.donationCode', c)).toBe(c);
  });

  it.each(['00', '12345678', 'ab3456', '12 34', '１２３'])('refuses %s', (c) => {
    expect(failure(() => parseDonationCode('invoice.donationCode', c))).toEqual({
      field: 'invoice.donationCode',
      rule: 'einvoice.donation_code',
    });
  });

  it('refuses a number (it would lose leading zeros)', () => {
    expect(failure(() => parseDonationCode('invoice.donationCode', 123))?.rule).toBe('einvoice.format');
  });
});

describe('parseEInvoice', () => {
  it('parses each kind', () => {
    expect(parseEInvoice({ kind: 'mobile_barcode', carrier: '/ab12+.-' })).toEqual({
      kind: 'mobile_barcode',
      carrier: '/AB12+.-',
    });
    expect(parseEInvoice({ kind: 'citizen_certificate', carrier: 'RP47809425348791' })).toEqual({
      kind: 'citizen_certificate',
      carrier: 'RP47809425348791',
    });
    expect(parseEInvoice({ kind: 'donation', donationCode: '0001' })).toEqual({
      kind: 'donation',
      donationCode: '0001',
    });
    expect(parseEInvoice({ kind: 'company', taxId: '04595257', title: ' 測試股份有限公司 ' })).toEqual({
      kind: 'company',
      taxId: '04595257',
      title: '測試股份有限公司',
    });
    expect(parseEInvoice({ kind: 'company', taxId: '04595257' })).toEqual({
      kind: 'company',
      taxId: '04595257',
    });
  });

  it('drops properties that do not belong to the kind', () => {
    expect(parseEInvoice({ kind: 'donation', donationCode: '123', carrier: '/AAAAAAA', extra: 1 })).toEqual({
      kind: 'donation',
      donationCode: '123',
    });
  });

  it.each([
    [undefined, 'invoice', 'einvoice.required'],
    ['/AB12+.-', 'invoice', 'einvoice.format'],
    [[], 'invoice', 'einvoice.format'],
    [{}, 'invoice.kind', 'einvoice.kind'],
    [{ kind: 'paper' }, 'invoice.kind', 'einvoice.kind'],
    [{ kind: 'mobile_barcode' }, 'invoice.carrier', 'einvoice.required'],
    [{ kind: 'mobile_barcode', carrier: '/AB' }, 'invoice.carrier', 'einvoice.mobile_barcode'],
    [{ kind: 'citizen_certificate', carrier: 'AB1' }, 'invoice.carrier', 'einvoice.citizen_certificate'],
    [{ kind: 'donation', donationCode: '12' }, 'invoice.donationCode', 'einvoice.donation_code'],
    [{ kind: 'company', taxId: '12345678' }, 'invoice.taxId', 'ubn.checksum'],
    [{ kind: 'company' }, 'invoice.taxId', 'ubn.required'],
    [
      { kind: 'company', taxId: '04595257', title: 'A\nB' },
      'invoice.title',
      'einvoice.title.control_characters',
    ],
    [{ kind: 'company', taxId: '04595257', title: 'x'.repeat(61) }, 'invoice.title', 'einvoice.title.length'],
    [{ kind: 'company', taxId: '04595257', title: 42 }, 'invoice.title', 'einvoice.title.format'],
  ])('%j → %s %s', (input, field, rule) => {
    expect(failure(() => parseEInvoice(input))).toEqual({ field, rule });
  });

  it('names the nested field under the given prefix', () => {
    expect(failure(() => parseEInvoice({ kind: 'company', taxId: '1' }, 'payment.invoice'))).toEqual({
      field: 'payment.invoice.taxId',
      rule: 'ubn.format',
    });
  });
});
