import fc from 'fast-check';
import {
  emailLookupForm,
  maskEmail,
  parseCardNumber,
  parseEmail,
  parseHolderName,
  parseMailingAddress,
  parseTrackingNumber,
  s10CheckDigit,
} from '../../shared/domain/contact.js';
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

describe('parseEmail', () => {
  it.each([
    ['simple@example.com', 'simple@example.com'],
    ['  Jane.Doe+card@Example.COM ', 'Jane.Doe+card@example.com'],
    ['x@s.example', 'x@s.example'],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ['user-@example.org', 'user-@example.org'],
    [
      'long.address-with-hyphens@and.subdomains.example.com',
      'long.address-with-hyphens@and.subdomains.example.com',
    ],
    ['holder@bücher.de', 'holder@xn--bcher-kva.de'],
    ['holder@例え.テスト', 'holder@xn--r8jz45g.xn--zckzah'],
  ])('accepts %s as %s', (input, out) => {
    expect(parseEmail('email', input)).toBe(out);
  });

  it.each([
    ['abc.example.com', 'email.format'],
    ['a@b@c@example.com', 'email.format'],
    ['just"not"right@example.com', 'email.format'],
    ['"quoted"@example.com', 'email.format'],
    ['.dot@example.com', 'email.format'],
    ['dot.@example.com', 'email.format'],
    ['two..dots@example.com', 'email.format'],
    ['space in@example.com', 'email.format'],
    ['ünicode@example.com', 'email.format'],
    [`${'a'.repeat(65)}@example.com`, 'email.format'],
    ['@example.com', 'email.format'],
    ['user@', 'email.format'],
    ['user@localhost', 'email.domain'],
    ['user@example', 'email.domain'],
    ['user@under_score.com', 'email.domain'],
    ['user@-dash.com', 'email.domain'],
    ['user@a..com', 'email.domain'],
    ['user@example.com.', 'email.domain'],
    ['user@1.2.3.4', 'email.domain'],
    ['user@[127.0.0.1]', 'email.domain'],
    ['user@exa mple.com', 'email.domain'],
    ['user@example.c', 'email.domain'],
    ['user@example.com\n', undefined],
    ['user@exam\u0000ple.com', 'email.domain'],
    [`a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(63)}.com`, 'email.length'],
    ['', 'email.required'],
    [undefined, 'email.required'],
    [42, 'email.format'],
  ])('%j → %s', (input, rule) => {
    const f = failure(() => parseEmail('email', input));
    if (rule === undefined) expect(f).toBeUndefined();
    else expect(f).toEqual({ field: 'email', rule });
  });

  it('accepts the addresses fast-check generates (RFC 5322 dot-atoms) and lower-cases only the domain', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const at = email.lastIndexOf('@');
        fc.pre(email.length <= 254 && /[a-z]{2,}$/.test(email));
        expect(parseEmail('email', email)).toBe(`${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`);
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        fc.pre(email.length <= 254 && /[a-z]{2,}$/.test(email));
        const once = parseEmail('email', email);
        expect(parseEmail('email', once)).toBe(once);
      }),
    );
  });

  it('gives the lookup form in lower case', () => {
    expect(emailLookupForm(parseEmail('email', 'Jane.Doe@Example.com'))).toBe('jane.doe@example.com');
  });
});

describe('maskEmail', () => {
  it('shows the first character and the domain', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j***@example.com');
    expect(maskEmail('j@example.com')).toBe('j***@example.com');
    expect(maskEmail('not-an-email')).toBe('***');
  });

  it('never reveals more of the local part than its first character', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const at = email.lastIndexOf('@');
        const masked = maskEmail(email);
        expect(masked).toBe(`${email[0]}***${email.slice(at)}`);
      }),
    );
  });
});

describe('parseMailingAddress', () => {
  const good = {
    postalCode: '100218',
    city: '臺北市',
    line1: '中正區重慶南路一段122號',
    recipient: 'Jane Doe',
  };

  it('accepts a Taiwan address, trimming and dropping unknown properties', () => {
    expect(
      parseMailingAddress({ ...good, city: ' 臺北市 ', line2: '3樓', phone: '+886 2 2311-2345', extra: 'x' }),
    ).toEqual({ ...good, line2: '3樓', phone: '+886 2 2311-2345' });
    expect(parseMailingAddress({ postalCode: '100', city: 'Taipei', line1: 'No. 1', line2: '' })).toEqual({
      postalCode: '100',
      city: 'Taipei',
      line1: 'No. 1',
    });
  });

  it.each(['100', '10048', '100218'])('accepts postal code %s', (postalCode) => {
    expect(parseMailingAddress({ ...good, postalCode }).postalCode).toBe(postalCode);
  });

  it.each([
    [{ ...good, postalCode: '1000' }, 'mailingAddress.postalCode', 'address.postal_code'],
    [{ ...good, postalCode: '1002189' }, 'mailingAddress.postalCode', 'address.postal_code'],
    [{ ...good, postalCode: '10A' }, 'mailingAddress.postalCode', 'address.postal_code'],
    [{ ...good, postalCode: 100 }, 'mailingAddress.postalCode', 'address.postal_code.format'],
    [{ ...good, postalCode: undefined }, 'mailingAddress.postalCode', 'address.postal_code.required'],
    [{ ...good, city: '' }, 'mailingAddress.city', 'address.city.required'],
    [{ ...good, city: 'x'.repeat(33) }, 'mailingAddress.city', 'address.city.length'],
    [{ ...good, line1: undefined }, 'mailingAddress.line1', 'address.line1.required'],
    [{ ...good, line1: 'a\nb' }, 'mailingAddress.line1', 'address.line1.control_characters'],
    [{ ...good, line1: 'No. 1\u202Eevil' }, 'mailingAddress.line1', 'address.line1.control_characters'],
    [{ ...good, line1: '路'.repeat(121) }, 'mailingAddress.line1', 'address.line1.length'],
    [{ ...good, line2: 'x\ty' }, 'mailingAddress.line2', 'address.line2.control_characters'],
    [{ ...good, recipient: 'r'.repeat(65) }, 'mailingAddress.recipient', 'address.recipient.length'],
    [{ ...good, phone: 'call me' }, 'mailingAddress.phone', 'address.phone'],
    [undefined, 'mailingAddress', 'address.required'],
    ['臺北市', 'mailingAddress', 'address.format'],
  ])('%j → %s %s', (input, field, rule) => {
    expect(failure(() => parseMailingAddress(input))).toEqual({ field, rule });
  });

  it('counts length in characters, so 120 CJK characters fit in an address line', () => {
    expect(parseMailingAddress({ ...good, line1: '路'.repeat(120) }).line1).toHaveLength(120);
    expect(parseMailingAddress({ ...good, line1: '𠀀'.repeat(120) }).line1).toHaveLength(240); // UTF-16 units
  });

  it('refuses any control character in any text part', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('city', 'line1', 'line2', 'recipient'),
        fc.integer({ min: 0, max: 0x1f }),
        (part, code) => {
          const input = { ...good, [part]: `A${String.fromCharCode(code)}B` };
          expect(failure(() => parseMailingAddress(input, 'address'))).toEqual({
            field: `address.${part}`,
            rule: `address.${part}.control_characters`,
          });
        },
      ),
    );
  });

  it('accepts exactly 3-, 5- and 6-digit postal codes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789A'), minLength: 1, maxLength: 8 }),
        (pc) => {
          const ok = /^\d+$/.test(pc) && [3, 5, 6].includes(pc.length);
          expect(failure(() => parseMailingAddress({ ...good, postalCode: pc })) === undefined).toBe(ok);
        },
      ),
    );
  });
});

describe('parseHolderName', () => {
  it.each([
    ['王小明', '王小明'],
    ['  SMITH,  JOHN  ', 'SMITH, JOHN'],
    ['NGUYỄN VĂN A', 'NGUYỄN VĂN A'],
    ["O'NEIL-WATSON", "O'NEIL-WATSON"],
    ['伊莉莎白·泰勒', '伊莉莎白·泰勒'],
    ['Anna\u3000Maria', 'Anna Maria'],
    ['Ng\u0075\u0303yen', 'Ngũyen'], // combining tilde composed by NFC
    ['x'.repeat(64), 'x'.repeat(64)],
  ])('accepts %j as %j', (input, out) => {
    expect(parseHolderName('name', input)).toBe(out);
  });

  it.each([
    ['', 'name.required'],
    [null, 'name.required'],
    [7, 'name.format'],
    ['x'.repeat(65), 'name.length'],
    ['JOHN\nSMITH', 'name.control_characters'],
    ['JOHN\u202ESMITH', 'name.control_characters'],
    ['JOHN SMITH 2', 'name.characters'],
    ['JOHN_SMITH', 'name.characters'],
    ['<script>', 'name.characters'],
    ['...', 'name.characters'],
    ['🙂', 'name.characters'],
  ])('%j → %s', (input, rule) => {
    expect(failure(() => parseHolderName('name', input))).toEqual({ field: 'name', rule });
  });

  it('accepts names of letters and allowed punctuation, collapsing spaces, and refuses anything with a digit', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(..."AbéＺ王 .,'-·3"), minLength: 1, maxLength: 40 }),
        (s) => {
          const collapsed = s.trim().replace(/ +/g, ' ');
          const ok = collapsed !== '' && /\p{L}/u.test(collapsed) && !/3/.test(collapsed);
          const f = failure(() => parseHolderName('name', s));
          if (ok) {
            expect(f).toBeUndefined();
            expect(parseHolderName('name', s)).toBe(collapsed);
          } else expect(f).toBeDefined();
        },
      ),
    );
  });
});

describe('parseCardNumber', () => {
  it('accepts 2 letters and 14 digits, upper-casing and removing spaces', () => {
    expect(parseCardNumber('cardNumber', 'TP03123456789012')).toBe('TP03123456789012');
    expect(parseCardNumber('cardNumber', ' tp03 1234 5678 9012 ')).toBe('TP03123456789012');
  });

  it.each([
    'TP0312345678901',
    'TP031234567890123',
    'T1031234567890123',
    '1234567890123456',
    'TP0312345678901X',
  ])('refuses %s', (c) => {
    expect(failure(() => parseCardNumber('cardNumber', c))).toEqual({
      field: 'cardNumber',
      rule: 'card_number.format',
    });
  });

  it('accepts exactly the 16-character shape', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AZ09x'), maxLength: 18 }), (s) => {
        fc.pre(s.length > 0);
        const ok = /^[A-Z]{2}\d{14}$/.test(s.toUpperCase());
        expect(failure(() => parseCardNumber('cardNumber', s)) === undefined).toBe(ok);
      }),
    );
  });
});

describe('parseTrackingNumber', () => {
  // UPU S10 examples (weights 8,6,4,2,3,5,9,7; notes §3): RR123456785TW valid, RR123456784TW invalid.
  it('checks the S10 check digit of international numbers', () => {
    expect(s10CheckDigit('12345678')).toBe(5);
    expect(parseTrackingNumber('trackingNumber', 'rr 123 456 785 tw')).toBe('RR123456785TW');
    expect(parseTrackingNumber('trackingNumber', 'RB123456785US')).toBe('RB123456785US');
    expect(failure(() => parseTrackingNumber('trackingNumber', 'RR123456784TW'))).toEqual({
      field: 'trackingNumber',
      rule: 'tracking.check_digit',
    });
  });

  it('maps the S10 remainders 10 → 0 and 11 → 5', () => {
    expect(s10CheckDigit('00001010')).toBe(0); // 3 + 9 = 12 ≡ 1 (mod 11): 11 − 1 = 10 → 0
    expect(s10CheckDigit('00000000')).toBe(5); // 0 (mod 11): 11 → 5
    expect(() => s10CheckDigit('1234567')).toThrow(RangeError);
  });

  it('accepts any S10 number with its check digit and refuses every other digit', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z]{2}$/),
        fc.stringMatching(/^\d{8}$/),
        fc.integer({ min: 1, max: 9 }),
        (prefix, serial, delta) => {
          const c = s10CheckDigit(serial);
          expect(parseTrackingNumber('t', `${prefix}${serial}${c}TW`)).toBe(`${prefix}${serial}${c}TW`);
          expect(
            failure(() => parseTrackingNumber('t', `${prefix}${serial}${(c + delta) % 10}TW`))?.rule,
          ).toBe('tracking.check_digit');
        },
      ),
    );
  });

  it('keeps other numbers opaque: 10 to 20 letters and digits', () => {
    expect(parseTrackingNumber('trackingNumber', '12345678901234567890')).toBe('12345678901234567890');
    for (const bad of ['123456789', '123456789012345678901', '1234-567890', '１２３４５６７８９０'])
      expect(failure(() => parseTrackingNumber('trackingNumber', bad))?.rule).toBe('tracking.format');
  });
});
