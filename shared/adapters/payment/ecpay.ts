import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, ValidationError } from '../../errors.js';
import type { CheckoutForm, PaymentGateway, PaymentOrder, VerifiedCallback } from '../../ports/payment.js';

/**
 * ECPay (綠界) AIO checkout and its signed server callback, as ECPay documents them
 * (developers.ecpay.com.tw ?p=2902 CheckMacValue, ?p=2878 callback). The same MAC code serves the local
 * sandbox gateway (./sandbox.ts), which signs with its own, public sandbox keys.
 */

export interface EcpayCredentials {
  merchantId: string;
  hashKey: string;
  hashIV: string;
}

/** ECPay's stage (test) checkout endpoint; production is `payment.ecpay.com.tw`. */
export const ECPAY_STAGE_CHECKOUT_URL = 'https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5';

/**
 * URL-encodes like .NET's `HttpUtility.UrlEncode`, which is what ECPay hashes: unreserved are
 * `A-Z a-z 0-9 - _ . ! * ( )`, space becomes `+`, everything else (`~` and `'` included) is `%xx` of
 * the UTF-8 bytes. encodeURIComponent differs only in leaving `~` and `'` alone and writing `%20`.
 */
export const ecpayUrlEncode = (s: string): string =>
  encodeURIComponent(s).replace(/~/g, '%7E').replace(/'/g, '%27').replace(/%20/g, '+');

/** Ordinal comparison of lower-cased keys (the PHP SDK's strcasecmp); no locale collation. */
const byKeyCaseInsensitive = (a: string, b: string): number => {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * CheckMacValue (EncryptType=1): every field but CheckMacValue (empty values included), sorted by key
 * case-insensitively, joined as `k=v&…` between `HashKey=…&` and `&HashIV=…`, .NET URL-encoded, lower-cased,
 * SHA-256, upper-case hex.
 */
export const ecpayCheckMacValue = (
  fields: Readonly<Record<string, string>>,
  hashKey: string,
  hashIV: string,
): string => {
  const pairs = Object.keys(fields)
    .filter((k) => k !== 'CheckMacValue')
    .sort(byKeyCaseInsensitive)
    .map((k) => `${k}=${fields[k]}`);
  const raw = `HashKey=${hashKey}&${pairs.join('&')}&HashIV=${hashIV}`;
  const encoded = ecpayUrlEncode(raw).toLowerCase();
  return createHash('sha256').update(encoded, 'utf8').digest('hex').toUpperCase();
};

/** Constant-time check of a received CheckMacValue (hex, any case) against the one we compute. */
export const ecpayMacMatches = (
  fields: Readonly<Record<string, string>>,
  creds: Pick<EcpayCredentials, 'hashKey' | 'hashIV'>,
): boolean => {
  const received = fields.CheckMacValue;
  if (typeof received !== 'string' || !/^[0-9A-Fa-f]{64}$/.test(received)) return false;
  const expected = Buffer.from(ecpayCheckMacValue(fields, creds.hashKey, creds.hashIV), 'ascii');
  return timingSafeEqual(expected, Buffer.from(received.toUpperCase(), 'ascii'));
};

/** Taiwan has kept UTC+8 without daylight saving since 1979. */
const TAIPEI_OFFSET_MS = 8 * 60 * 60 * 1000;

/** `yyyy/MM/dd HH:mm:ss` in Taipei time, the format of MerchantTradeDate and PaymentDate. */
export const ecpayDate = (d: Date): string => {
  const t = new Date(d.getTime() + TAIPEI_OFFSET_MS).toISOString(); // 2026-11-23T13:05:09.000Z
  return `${t.slice(0, 4)}/${t.slice(5, 7)}/${t.slice(8, 10)} ${t.slice(11, 19)}`;
};

/** Inverse of ecpayDate; undefined when the text is not in that format. */
export const parseEcpayDate = (s: string | undefined): Date | undefined => {
  const m = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s ?? '');
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`);
  return Number.isNaN(d.getTime()) ? undefined : d;
};

/** ECPay limits: MerchantTradeNo ≤ 20 alphanumerics; TradeDesc ≤ 200; ItemName ≤ 400. */
const checkOrder = (order: PaymentOrder): void => {
  if (!/^[A-Za-z0-9]{1,20}$/.test(order.merchantTradeNo))
    throw new ValidationError('merchantTradeNo', 'payment.trade_no', 'must be 1–20 letters or digits');
  if (!Number.isInteger(order.amount) || order.amount <= 0)
    throw new ValidationError('amount', 'payment.amount', 'must be a positive whole number of NT$');
};

/** The checkout fields (AIO, credit card, SHA-256 MAC) for an order, signed with `creds`. */
export const ecpayCheckoutFields = (order: PaymentOrder, creds: EcpayCredentials): Record<string, string> => {
  checkOrder(order);
  const fields: Record<string, string> = {
    MerchantID: creds.merchantId,
    MerchantTradeNo: order.merchantTradeNo,
    MerchantTradeDate: ecpayDate(order.createdAt),
    PaymentType: 'aio',
    TotalAmount: String(order.amount),
    TradeDesc: order.description.slice(0, 200),
    ItemName: order.itemName.slice(0, 400),
    ReturnURL: order.callbackUrl,
    OrderResultURL: order.returnUrl,
    ChoosePayment: 'Credit',
    EncryptType: '1',
  };
  fields.CheckMacValue = ecpayCheckMacValue(fields, creds.hashKey, creds.hashIV);
  return fields;
};

const required = (fields: Record<string, string>, name: string, pattern: RegExp): string => {
  const v = fields[name];
  if (typeof v !== 'string' || !pattern.test(v))
    throw new ValidationError(name, 'payment.callback_field', `is missing or malformed in the callback`);
  return v;
};

/**
 * Reads a callback whose MAC is already verified. ECPay's fields: RtnCode (1 = paid), TradeNo (ECPay's
 * trade number), TradeAmt, PaymentDate, PaymentType, SimulatePaid (1 = back-office simulation).
 */
export const readEcpayCallback = (fields: Record<string, string>, merchantId: string): VerifiedCallback => {
  if (fields.MerchantID !== merchantId)
    throw new AuthenticationError('the callback is for another merchant', { rule: 'payment.merchant' });
  const merchantTradeNo = required(fields, 'MerchantTradeNo', /^[A-Za-z0-9]{1,20}$/);
  const gatewayTradeNo = required(fields, 'TradeNo', /^[A-Za-z0-9]{1,30}$/);
  const amount = Number(required(fields, 'TradeAmt', /^\d{1,9}$/));
  const rtnCode = required(fields, 'RtnCode', /^-?\d{1,10}$/);
  const simulated = fields.SimulatePaid === '1';
  const paidAt = parseEcpayDate(fields.PaymentDate);
  const paid = rtnCode === '1' && !simulated;
  if (paid && !paidAt)
    throw new ValidationError(
      'PaymentDate',
      'payment.callback_field',
      'is missing or malformed in the callback',
    );
  return {
    merchantTradeNo,
    gatewayTradeNo,
    amount,
    paid,
    simulated,
    paidAt: (paidAt ?? new Date(0)).toISOString(),
    method: fields.PaymentType ?? '',
    raw: { ...fields },
  };
};

export interface EcpayGatewayOptions extends EcpayCredentials {
  /** Where the holder's browser posts the checkout form (stage or production AioCheckOut/V5). */
  checkoutUrl: string;
  /** Gateway name stored on the payment ('ecpay'; the sandbox reuses this code as 'sandbox'). */
  name?: string;
}

export const createEcpayGateway = (opts: EcpayGatewayOptions): PaymentGateway => {
  const creds: EcpayCredentials = { merchantId: opts.merchantId, hashKey: opts.hashKey, hashIV: opts.hashIV };
  return {
    name: opts.name ?? 'ecpay',
    acknowledgement: '1|OK',
    checkout: (order: PaymentOrder): CheckoutForm => ({
      action: opts.checkoutUrl,
      fields: ecpayCheckoutFields(order, creds),
    }),
    verifyCallback: (fields: Record<string, string>): VerifiedCallback => {
      if (!ecpayMacMatches(fields, creds))
        throw new AuthenticationError('the payment callback signature is not valid', {
          rule: 'payment.signature',
        });
      return readEcpayCallback(fields, creds.merchantId);
    },
  };
};
