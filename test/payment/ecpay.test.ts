import { createHash } from 'node:crypto';
import {
  createEcpayGateway,
  ecpayCheckMacValue,
  ecpayDate,
  ecpayMacMatches,
  ecpayUrlEncode,
  parseEcpayDate,
} from '../../shared/adapters/payment/ecpay.js';
import { AuthenticationError, ValidationError } from '../../shared/errors.js';

/** `a=1&b=2` → { a: '1', b: '2' } without decoding (the vectors are given as raw strings). */
const qs = (s: string): Record<string, string> =>
  Object.fromEntries(
    s.split('&').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i), p.slice(i + 1)];
    }),
  );

// ECPay's public stage test merchant 3002607 and its published HashKey / HashIV.
const STAGE = { merchantId: '3002607', hashKey: 'pwFHCqoQZGmho4w6', hashIV: 'EkRm7iFT261dpevs' };

describe('ECPay CheckMacValue', () => {
  it('reproduces the official SHA-256 example of the AIO checkout', () => {
    // ECPay's CheckMacValue documentation (developers.ecpay.com.tw/?p=2902) gives this order and value;
    // the same vector is quoted by many independent public test suites (code search for
    // "6C51C9E6888DE861FD62FB1DD17029FC": Python, TypeScript, Java and node:test suites alike).
    const fields = qs(
      'TradeDesc=促銷方案&PaymentType=aio&MerchantTradeDate=2023/03/12 15:30:23&MerchantTradeNo=ecpay20230312153023&MerchantID=3002607&ReturnURL=https://www.ecpay.com.tw/receive.php&ItemName=Apple iphone 15&TotalAmount=30000&ChoosePayment=ALL&EncryptType=1',
    );
    expect(ecpayCheckMacValue(fields, STAGE.hashKey, STAGE.hashIV)).toBe(
      '6C51C9E6888DE861FD62FB1DD17029FC742634498FD813DC43D4243B5685B840',
    );
  });

  it('reproduces the published payment-result notification example (empty fields included)', () => {
    // The "付款結果通知" parameter example for merchant 3002607, as quoted by a public test suite.
    const fields = qs(
      'CustomField1=&CustomField2=&CustomField3=&CustomField4=&MerchantID=3002607&MerchantTradeNo=D9RMXNrihUYM&PaymentDate=2024/12/31 12:26:09&PaymentType=Credit_CreditCard&PaymentTypeChargeFee=10&RtnCode=1&RtnMsg=交易成功&SimulatePaid=0&StoreID=&TradeAmt=402&TradeDate=2024/12/31 12:25:43&TradeNo=2412311225437371',
    );
    const mac = '85D927637935683EA756CDEF76498FEB9F5D098A7A1AC4F0CB3B3609A9D4116A';
    expect(ecpayCheckMacValue(fields, STAGE.hashKey, STAGE.hashIV)).toBe(mac);
    const verified = createEcpayGateway({ ...STAGE, checkoutUrl: 'https://x.test' }).verifyCallback({
      ...fields,
      CheckMacValue: mac,
    });
    expect(verified).toMatchObject({
      merchantTradeNo: 'D9RMXNrihUYM',
      gatewayTradeNo: '2412311225437371',
      amount: 402,
      paid: true,
      simulated: false,
      paidAt: '2024-12-31T04:26:09.000Z',
      method: 'Credit_CreditCard',
    });
  });

  it('reproduces the published CVS payment-info example of the old test merchant 2000132', () => {
    const fields = qs(
      'Barcode1=&Barcode2=&Barcode3=&ExpireDate=2017/12/28 00:39:03&MerchantID=2000132&MerchantTradeNo=Test1513787899&PaymentNo=LLL17355880822&PaymentType=CVS_CVS&RtnCode=10100073&RtnMsg=Get CVS Code Succeeded.&TradeAmt=2000&TradeDate=2017/12/21 00:39:03&TradeNo=17122100383415923452&StoreID=&CustomField1=&CustomField2=&CustomField3=&CustomField4=',
    );
    expect(ecpayCheckMacValue(fields, '5294y06JbISpM5x9', 'v77hoKGq4kWxNNIS')).toBe(
      'C25373CE6379BB6116FAE8398F4A8E60B71B289D955F6B8A9D9F53FDCC97F571',
    );
  });

  it('sorts keys case-insensitively and encodes like .NET before lower-casing', () => {
    const fields = { Zeta: '1', alpha: 'x y', Beta: "~'(*)!", CheckMacValue: 'ignored' };
    const expected = createHash('sha256')
      .update('hashkey%3dk%26alpha%3dx+y%26beta%3d%7e%27(*)!%26zeta%3d1%26hashiv%3dv')
      .digest('hex')
      .toUpperCase();
    expect(ecpayCheckMacValue(fields, 'K', 'V')).toBe(expected);
  });

  it.each([
    ['-_.!*()', '-_.!*()'],
    [' ', '+'],
    ['~', '%7E'],
    ["'", '%27'],
    ['+', '%2B'],
    ['&=/:', '%26%3D%2F%3A'],
    ['交易', '%E4%BA%A4%E6%98%93'],
  ])('url-encodes %j as %j', (input, out) => {
    expect(ecpayUrlEncode(input)).toBe(out);
  });

  it('formats and parses dates in Taipei time', () => {
    expect(ecpayDate(new Date('2026-11-23T16:05:09Z'))).toBe('2026/11/24 00:05:09');
    expect(parseEcpayDate('2026/11/24 00:05:09')?.toISOString()).toBe('2026-11-23T16:05:09.000Z');
    expect(parseEcpayDate('2026-11-24 00:05:09')).toBeUndefined();
  });
});

describe('ECPay gateway', () => {
  const gateway = createEcpayGateway({
    ...STAGE,
    checkoutUrl: 'https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5',
  });
  const order = {
    merchantTradeNo: 'ACDC0001ABCDEF',
    amount: 278,
    description: '外來人口自然人憑證 Alien Citizen Digital Certificate',
    itemName: 'IC 卡 NT$250 + 掛號 NT$28',
    createdAt: new Date('2026-11-23T05:00:00Z'),
    callbackUrl: 'https://api.example.gov.tw/v1/payments/callback',
    returnUrl: 'https://portal.example.gov.tw/paid',
  };

  const paidCallback = (over: Record<string, string> = {}) => {
    const f: Record<string, string> = {
      MerchantID: STAGE.merchantId,
      MerchantTradeNo: order.merchantTradeNo,
      StoreID: '',
      RtnCode: '1',
      RtnMsg: '交易成功',
      TradeNo: '2611231300001234',
      TradeAmt: '278',
      PaymentDate: '2026/11/23 13:05:00',
      PaymentType: 'Credit_CreditCard',
      PaymentTypeChargeFee: '5',
      TradeDate: '2026/11/23 13:00:00',
      SimulatePaid: '0',
      CustomField1: '',
      ...over,
    };
    f.CheckMacValue = ecpayCheckMacValue(f, STAGE.hashKey, STAGE.hashIV);
    return f;
  };

  it('builds a signed AIO credit-card checkout form', () => {
    const form = gateway.checkout(order);
    expect(form.action).toBe('https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5');
    expect(form.fields).toMatchObject({
      MerchantID: '3002607',
      MerchantTradeNo: 'ACDC0001ABCDEF',
      MerchantTradeDate: '2026/11/23 13:00:00',
      PaymentType: 'aio',
      TotalAmount: '278',
      ChoosePayment: 'Credit',
      EncryptType: '1',
      ReturnURL: order.callbackUrl,
      OrderResultURL: order.returnUrl,
    });
    expect(ecpayMacMatches(form.fields, STAGE)).toBe(true);
    expect(gateway.acknowledgement).toBe('1|OK');
  });

  it('refuses an order whose trade number ECPay would reject', () => {
    expect(() => gateway.checkout({ ...order, merchantTradeNo: 'ACDC-0001' })).toThrow(ValidationError);
    expect(() => gateway.checkout({ ...order, merchantTradeNo: 'A'.repeat(21) })).toThrow(ValidationError);
  });

  it('accepts a correctly signed callback, whatever the case of the MAC', () => {
    const f = paidCallback();
    expect(gateway.verifyCallback(f)).toMatchObject({ paid: true, amount: 278, simulated: false });
    expect(gateway.verifyCallback({ ...f, CheckMacValue: f.CheckMacValue!.toLowerCase() }).paid).toBe(true);
  });

  it.each([
    ['a changed amount', (f: Record<string, string>) => ({ ...f, TradeAmt: '1' })],
    ['a changed trade number', (f: Record<string, string>) => ({ ...f, MerchantTradeNo: 'ACDC0002' })],
    ['an added field', (f: Record<string, string>) => ({ ...f, Extra: 'x' })],
    ['a missing MAC', (f: Record<string, string>) => ({ ...f, CheckMacValue: '' })],
    ['a MAC of the wrong length', (f: Record<string, string>) => ({ ...f, CheckMacValue: 'ABCD' })],
    [
      'another merchant key',
      (f: Record<string, string>) => {
        const g = { ...f, CheckMacValue: '' };
        g.CheckMacValue = ecpayCheckMacValue(g, 'otherHashKey0000', STAGE.hashIV);
        return g;
      },
    ],
  ])('refuses %s with AuthenticationError', (_name, change) => {
    expect(() => gateway.verifyCallback(change(paidCallback()))).toThrow(AuthenticationError);
  });

  it('refuses a correctly signed callback for another merchant id', () => {
    expect(() => gateway.verifyCallback(paidCallback({ MerchantID: '2000132' }))).toThrow(
      AuthenticationError,
    );
  });

  it('never reports a simulated or failed payment as paid', () => {
    expect(gateway.verifyCallback(paidCallback({ SimulatePaid: '1' }))).toMatchObject({
      paid: false,
      simulated: true,
    });
    expect(gateway.verifyCallback(paidCallback({ RtnCode: '10100058' })).paid).toBe(false);
  });

  it('names a malformed field of a signed callback', () => {
    expect(() => gateway.verifyCallback(paidCallback({ TradeAmt: 'abc' }))).toThrow(
      expect.objectContaining({ field: 'TradeAmt' }),
    );
  });
});
