import { ecpayCheckMacValue, ecpayDate } from '../../shared/adapters/payment/ecpay.js';
import type { Application } from '../../shared/domain/model.js';
import { createHarness, GATEWAY_KEYS, HOLDER, OFFICER } from '../intake/harness.js';

export const INVOICE = { kind: 'mobile_barcode' as const, carrier: '/AB12+.-' };

/** An application taken at the counter, logged into, payment started, execution parked on the payment. */
export const orderAwaitingPayment = async () => {
  const h = await createHarness();
  const intake = await h.station.applyAtCounter(HOLDER, OFFICER);
  const session = await h.portal.login({
    arcNumber: HOLDER.arcNumber,
    subscriberCode: intake.subscriberCode,
  });
  const ref = await h.portal.authenticate(session.token);
  const started = await h.portal.startPayment(ref, {
    mailingAddress: HOLDER.mailingAddress,
    invoice: INVOICE,
  });
  const token = await h.workflow.park(intake.applicationId);
  const load = async () => (await h.repo.applications.get(intake.applicationId)) as Application;
  return { h, intake, session, ref, started, token, load };
};

/** The gateway's signed callback for a trade, as ECPay would post it. */
export const signedCallback = (
  merchantTradeNo: string,
  over: Record<string, string> = {},
  keys: { hashKey: string; hashIV: string } = GATEWAY_KEYS,
): Record<string, string> => {
  const f: Record<string, string> = {
    MerchantID: GATEWAY_KEYS.merchantId,
    MerchantTradeNo: merchantTradeNo,
    StoreID: '',
    RtnCode: '1',
    RtnMsg: '交易成功',
    TradeNo: '2611231305001234',
    TradeAmt: '278',
    PaymentDate: ecpayDate(new Date('2026-11-23T05:05:00Z')),
    PaymentType: 'Credit_CreditCard',
    PaymentTypeChargeFee: '6',
    TradeDate: ecpayDate(new Date('2026-11-23T05:00:00Z')),
    SimulatePaid: '0',
    CustomField1: '',
    CustomField2: '',
    CustomField3: '',
    CustomField4: '',
    ...over,
  };
  f.CheckMacValue = ecpayCheckMacValue(f, keys.hashKey, keys.hashIV);
  return f;
};
