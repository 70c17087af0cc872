import { ValidationError } from '../errors.js';
import type { EInvoice } from './model.js';
import { parseFreeText, requireText } from './text.js';

/**
 * E-invoice buyer data (電子發票), one of the four kinds the Taiwan e-invoice system accepts. These are
 * format checks: a well-formed mobile barcode or donation code may still be unregistered, which only the
 * MOF platform (through the invoice provider) can tell.
 *
 * Carriers are upper-cased before checking: both are Code 39 barcodes, which have no lower case, so a
 * holder typing `/ab12+.-` means `/AB12+.-`.
 */

export const MOBILE_BARCODE = /^\/[0-9A-Z.+-]{7}$/; // 手機條碼, carrier type 3J0002
export const CITIZEN_CERTIFICATE_CARRIER = /^[A-Z]{2}\d{14}$/; // 自然人憑證條碼, carrier type CQ0001
export const DONATION_CODE = /^\d{3,7}$/; // 捐贈碼 (愛心碼); leading zeros matter: 001 ≠ 0001

/** The buyer name on a company invoice: the MIG's BuyerName holds at most 60 characters. */
const COMPANY_TITLE_MAX = 60;

const UBN_WEIGHTS = [1, 2, 1, 2, 1, 2, 4, 1] as const;

/**
 * The checksum of a unified business number (統一編號), as in force since 2023-04-01 (MOF): weight the
 * digits 1,2,1,2,1,2,4,1, add the digits of each product, and the total must be divisible by 5 (before,
 * by 10; every number valid then is valid now). When the 7th digit is 7 its product 28 counts as 10 or
 * as 1, so a total one short of a multiple of 5 passes too.
 */
export const ubnChecksumOk = (taxId: string): boolean => {
  if (!/^\d{8}$/.test(taxId)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    const product = Number(taxId[i]) * (UBN_WEIGHTS[i] as number);
    sum += Math.floor(product / 10) + (product % 10);
  }
  return sum % 5 === 0 || (taxId[6] === '7' && (sum + 1) % 5 === 0);
};

/**
 * A company tax id (統一編號) for a company invoice. Rules: `ubn.required`, `ubn.format` (8 digits),
 * `ubn.placeholder` (00000000 is the e-invoice platform's "no buyer"), `ubn.checksum`.
 */
export const parseUbn = (field: string, input: unknown): string => {
  const taxId = requireText(field, 'ubn', input, 'the company tax id (統一編號)');
  if (!/^\d{8}$/.test(taxId)) {
    throw new ValidationError(field, 'ubn.format', 'a company tax id (統一編號) has exactly 8 digits');
  }
  if (taxId === '00000000') {
    throw new ValidationError(field, 'ubn.placeholder', '00000000 stands for "no buyer", not for a company');
  }
  if (!ubnChecksumOk(taxId)) {
    throw new ValidationError(
      field,
      'ubn.checksum',
      'this is not a valid company tax id (統一編號); please check it for a typing error',
    );
  }
  return taxId;
};

/** Mobile barcode carrier 手機條碼: `/` and 7 of `0-9 A-Z . + -`. Rule `einvoice.mobile_barcode`. */
export const parseMobileBarcode = (field: string, input: unknown): string => {
  const carrier = requireText(field, 'einvoice', input, 'the mobile barcode').toUpperCase();
  if (!MOBILE_BARCODE.test(carrier)) {
    throw new ValidationError(
      field,
      'einvoice.mobile_barcode',
      'a mobile barcode (手機條碼) is "/" followed by 7 characters from 0-9, A-Z, ".", "+", "-"',
    );
  }
  return carrier;
};

/** Citizen digital certificate carrier: 2 letters and 14 digits. Rule `einvoice.citizen_certificate`. */
export const parseCitizenCertificateCarrier = (field: string, input: unknown): string => {
  const carrier = requireText(field, 'einvoice', input, 'the certificate carrier number').toUpperCase();
  if (!CITIZEN_CERTIFICATE_CARRIER.test(carrier)) {
    throw new ValidationError(
      field,
      'einvoice.citizen_certificate',
      'a citizen digital certificate carrier (自然人憑證條碼) is 2 letters followed by 14 digits',
    );
  }
  return carrier;
};

/** Donation code 捐贈碼: 3 to 7 digits. Rule `einvoice.donation_code`. */
export const parseDonationCode = (field: string, input: unknown): string => {
  const code = requireText(field, 'einvoice', input, 'the donation code');
  if (!DONATION_CODE.test(code)) {
    throw new ValidationError(field, 'einvoice.donation_code', 'a donation code (捐贈碼) has 3 to 7 digits');
  }
  return code;
};

export const EINVOICE_KINDS = ['mobile_barcode', 'citizen_certificate', 'donation', 'company'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The e-invoice part of a payment request, e.g. `{ kind: 'mobile_barcode', carrier: '/AB12+.-' }`.
 * Errors name the nested field (`invoice.carrier`, `invoice.taxId`, …). Other properties are ignored.
 */
export const parseEInvoice = (input: unknown, field = 'invoice'): EInvoice => {
  if (input === undefined || input === null) {
    throw new ValidationError(field, 'einvoice.required', 'e-invoice details are required');
  }
  if (!isRecord(input)) {
    throw new ValidationError(field, 'einvoice.format', 'e-invoice details must be an object with a kind');
  }
  switch (input.kind) {
    case 'mobile_barcode':
      return { kind: 'mobile_barcode', carrier: parseMobileBarcode(`${field}.carrier`, input.carrier) };
    case 'citizen_certificate':
      return {
        kind: 'citizen_certificate',
        carrier: parseCitizenCertificateCarrier(`${field}.carrier`, input.carrier),
      };
    case 'donation':
      return {
        kind: 'donation',
        donationCode: parseDonationCode(`${field}.donationCode`, input.donationCode),
      };
    case 'company': {
      const taxId = parseUbn(`${field}.taxId`, input.taxId);
      if (input.title === undefined || input.title === null || input.title === '')
        return { kind: 'company', taxId };
      const title = parseFreeText(
        `${field}.title`,
        'einvoice.title',
        input.title,
        'the company name',
        COMPANY_TITLE_MAX,
      );
      return { kind: 'company', taxId, title };
    }
    default:
      throw new ValidationError(
        `${field}.kind`,
        'einvoice.kind',
        `the e-invoice kind is one of ${EINVOICE_KINDS.join(', ')}`,
      );
  }
};
