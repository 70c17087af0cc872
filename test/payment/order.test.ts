import { ecpayMacMatches } from '../../shared/adapters/payment/ecpay.js';
import type { Application } from '../../shared/domain/model.js';
import { ConflictError, GoneError, ValidationError } from '../../shared/errors.js';
import { tradeMarkerKey } from '../../shared/usecases/payment.js';
import { createHarness, GATEWAY_KEYS, HOLDER, OFFICER } from '../intake/harness.js';
import { INVOICE, orderAwaitingPayment, signedCallback } from './helpers.js';

const loggedIn = async () => {
  const h = await createHarness();
  const intake = await h.station.applyAtCounter(HOLDER, OFFICER);
  const s = await h.portal.login({ arcNumber: HOLDER.arcNumber, subscriberCode: intake.subscriberCode });
  const ref = await h.portal.authenticate(s.token);
  return { h, intake, ref };
};

describe('holder order', () => {
  it('shows the order: itemised fee, deadline, status, masked e-mail, never the ARC number', async () => {
    const { h, intake, ref } = await loggedIn();
    const o = await h.portal.getOrder(ref);
    expect(o).toMatchObject({
      applicationId: intake.applicationId,
      status: 'awaiting_payment',
      name: HOLDER.name,
      emailMasked: 'h***@example.org',
      paymentDeadline: '2026-12-08T15:59:59.999Z',
      paymentOpen: true,
      fee: { total: 278 },
      mailingAddress: HOLDER.mailingAddress,
    });
    expect(JSON.stringify(o)).not.toContain(HOLDER.arcNumber);
    expect(JSON.stringify(o)).not.toContain(HOLDER.email);
    h.clock.set(new Date('2026-12-08T16:00:00Z'));
    expect((await h.portal.getOrder(ref)).paymentOpen).toBe(false);
  });

  it('after payment it shows the payment, and later the tracking number', async () => {
    const { h, started, ref, load } = await orderAwaitingPayment();
    await h.payments.handleCallback(signedCallback(started.merchantTradeNo));
    const app = await load();
    await h.repo.applications.save({
      ...app,
      trackingNumber: 'RR123456785TW',
      mailedAt: '2026-11-30T01:00:00.000Z',
    });
    expect(await h.portal.getOrder(ref)).toMatchObject({
      status: 'paid',
      paymentOpen: false,
      payment: { amount: 278, merchantTradeNo: started.merchantTradeNo },
      trackingNumber: 'RR123456785TW',
      invoice: INVOICE,
    });
  });

  it('starts a payment: records address, invoice and a fresh trade number; returns a signed checkout form', async () => {
    const { h, intake, ref } = await loggedIn();
    const address = {
      postalCode: '100',
      city: '臺北市中正區',
      line1: '忠孝西路一段1號',
      recipient: '阮氏花',
    };
    const p = await h.portal.startPayment(ref, { mailingAddress: address, invoice: INVOICE });
    expect(p).toMatchObject({ applicationId: intake.applicationId, amount: 278, gateway: 'ecpay' });
    expect(p.merchantTradeNo).toMatch(/^P20261123[A-Z0-9]{11}$/);
    expect(p.checkout.action).toBe('https://gateway.test/checkout');
    expect(p.checkout.fields).toMatchObject({
      MerchantTradeNo: p.merchantTradeNo,
      TotalAmount: '278',
      ReturnURL: 'http://127.0.0.1:8080/v1/payments/callback',
      ChoosePayment: 'Credit',
    });
    expect(ecpayMacMatches(p.checkout.fields, GATEWAY_KEYS)).toBe(true);
    const app = (await h.repo.applications.get(intake.applicationId)) as Application;
    expect(app).toMatchObject({
      pendingTradeNo: p.merchantTradeNo,
      invoice: INVOICE,
      mailingAddress: address,
    });
    expect((await h.repo.markers.get(tradeMarkerKey(p.merchantTradeNo)))?.value).toEqual({
      applicationId: intake.applicationId,
      amount: 278,
    });
    const again = await h.portal.startPayment(ref, { mailingAddress: address, invoice: INVOICE });
    expect(again.merchantTradeNo).not.toBe(p.merchantTradeNo);
  });

  it.each([
    [
      'mailingAddress.postalCode',
      { mailingAddress: { ...HOLDER.mailingAddress, postalCode: '12' }, invoice: INVOICE },
    ],
    [
      'invoice.carrier',
      { mailingAddress: HOLDER.mailingAddress, invoice: { kind: 'mobile_barcode', carrier: 'AB12345' } },
    ],
    [
      'invoice.taxId',
      { mailingAddress: HOLDER.mailingAddress, invoice: { kind: 'company', taxId: '12345678' } },
    ],
    [
      'invoice.donationCode',
      { mailingAddress: HOLDER.mailingAddress, invoice: { kind: 'donation', donationCode: '12' } },
    ],
  ])('refuses a bad %s and records nothing', async (field, body) => {
    const { h, intake, ref } = await loggedIn();
    const before = await h.repo.applications.get(intake.applicationId);
    const e = await h.portal.startPayment(ref, body as never).catch((x) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.field).toBe(field);
    expect(await h.repo.applications.get(intake.applicationId)).toEqual(before);
  });

  it('refuses to start a payment after the deadline', async () => {
    const { h, ref } = await loggedIn();
    h.clock.set(new Date('2026-12-08T15:59:59.999Z'));
    await expect(
      h.portal.startPayment(ref, { mailingAddress: HOLDER.mailingAddress, invoice: INVOICE }),
    ).resolves.toBeDefined();
    h.clock.set(new Date('2026-12-08T16:00:00.000Z'));
    await expect(
      h.portal.startPayment(ref, { mailingAddress: HOLDER.mailingAddress, invoice: INVOICE }),
    ).rejects.toMatchObject({ rule: 'payment.deadline_passed' });
  });

  it('refuses to start a payment of a paid order, and a cancelled order is gone', async () => {
    const { h, started, ref, intake } = await orderAwaitingPayment();
    await h.payments.handleCallback(signedCallback(started.merchantTradeNo));
    await expect(
      h.portal.startPayment(ref, { mailingAddress: HOLDER.mailingAddress, invoice: INVOICE }),
    ).rejects.toBeInstanceOf(ConflictError);

    const other = await loggedIn();
    await other.h.station.cancelApplication(other.intake.applicationId, OFFICER);
    await expect(other.h.portal.getOrder(other.ref)).rejects.toBeInstanceOf(GoneError);
    expect(intake.applicationId).not.toBe(other.intake.applicationId);
  });
});
