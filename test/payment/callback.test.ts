import { AuthenticationError, DependencyError } from '../../shared/errors.js';
import { GATEWAY_KEYS } from '../intake/harness.js';
import { readOutbox, templateOf } from '../mail/fixtures.js';
import { orderAwaitingPayment, signedCallback } from './helpers.js';

describe('payment callback', () => {
  it('records the payment, resumes the workflow, mails the holder, audits, answers 1|OK', async () => {
    const { h, started, token, load } = await orderAwaitingPayment();
    const r = await h.payments.handleCallback(signedCallback(started.merchantTradeNo));
    expect(r).toEqual({ acknowledgement: '1|OK', outcome: 'paid', applicationId: started.applicationId });

    const app = await load();
    expect(app.status).toBe('paid');
    expect(app.payment).toEqual({
      gateway: 'ecpay',
      merchantTradeNo: started.merchantTradeNo,
      gatewayTradeNo: '2611231305001234',
      amount: 278,
      paidAt: '2026-11-23T05:05:00.000Z',
      method: 'Credit_CreditCard',
    });
    expect(app.pendingTradeNo).toBeUndefined();
    expect(h.workflow.successes).toEqual([
      { token, output: { applicationId: app.id, status: 'paid', paidAt: '2026-11-23T05:05:00.000Z' } },
    ]);
    const mails = await readOutbox(h.outboxDir);
    expect(mails.map(templateOf).sort()).toEqual(['application-received', 'payment-received']);
    const audit = (await h.auditRecords()).at(-1)!;
    expect(audit).toMatchObject({ action: 'payment.record', actor: { type: 'gateway', id: 'ecpay' } });
  });

  it('100 concurrent duplicate callbacks: exactly one payment recorded and one workflow resumption', async () => {
    const { h, started, load } = await orderAwaitingPayment();
    const fields = signedCallback(started.merchantTradeNo);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => h.payments.handleCallback({ ...fields })),
    );

    expect(results.every((r) => r.acknowledgement === '1|OK')).toBe(true);
    expect(results.filter((r) => r.outcome === 'paid')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(99);
    expect(h.workflow.successes).toHaveLength(1);
    const actions = (await h.auditRecords()).map((a) => a.action);
    expect(actions.filter((a) => a === 'payment.record')).toHaveLength(1);
    const mails = (await readOutbox(h.outboxDir)).map(templateOf);
    expect(mails.filter((t) => t === 'payment-received')).toHaveLength(1);
    expect((await load()).status).toBe('paid');

    // The gateway keeps retrying for days: still nothing twice.
    h.clock.advance(26 * 3600_000);
    await expect(h.payments.handleCallback(fields)).resolves.toMatchObject({ outcome: 'duplicate' });
    expect(h.workflow.successes).toHaveLength(1);
  });

  it.each([
    [
      'signed with another key',
      (no: string) => signedCallback(no, {}, { hashKey: 'otherKey00000000', hashIV: GATEWAY_KEYS.hashIV }),
    ],
    ['amount changed after signing', (no: string) => ({ ...signedCallback(no), TradeAmt: '1' })],
    [
      'RtnCode changed after signing',
      (no: string) => ({ ...signedCallback(no, { RtnCode: '0' }), RtnCode: '1' }),
    ],
    [
      'no MAC',
      (no: string) => {
        const { CheckMacValue: _m, ...rest } = signedCallback(no);
        return rest;
      },
    ],
  ])('a forged callback (%s) is refused and changes nothing', async (_name, make) => {
    const { h, started, load } = await orderAwaitingPayment();
    const before = await load();
    const auditBefore = (await h.auditRecords()).length;
    await expect(h.payments.handleCallback(make(started.merchantTradeNo))).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    expect(await load()).toEqual(before);
    expect((await h.auditRecords()).length).toBe(auditBefore);
    expect(h.workflow.successes).toEqual([]);
    expect((await readOutbox(h.outboxDir)).map(templateOf)).toEqual(['application-received']);
  });

  it.each([
    ['simulated (SimulatePaid=1)', { SimulatePaid: '1' }],
    ['declined', { RtnCode: '10100058', RtnMsg: 'failed' }],
  ])('a %s payment never fulfils the order', async (_n, over) => {
    const { h, started, load } = await orderAwaitingPayment();
    const r = await h.payments.handleCallback(signedCallback(started.merchantTradeNo, over));
    expect(r).toMatchObject({ acknowledgement: '1|OK', outcome: 'not_paid' });
    expect((await load()).status).toBe('awaiting_payment');
    expect(h.workflow.successes).toEqual([]);
    expect((await h.auditRecords()).at(-1)!.action).toBe('payment.not_paid');
  });

  it('a wrong amount is recorded for refund, not as payment', async () => {
    const { h, started, load } = await orderAwaitingPayment();
    const r = await h.payments.handleCallback(signedCallback(started.merchantTradeNo, { TradeAmt: '250' }));
    expect(r.outcome).toBe('refund');
    expect((await load()).status).toBe('awaiting_payment');
    const mails = await readOutbox(h.outboxDir);
    expect(mails.map(templateOf)).toContain('ops-alert');
  });

  it('a payment made after the deadline is recorded for refund', async () => {
    const { h, started, load } = await orderAwaitingPayment();
    const late = signedCallback(started.merchantTradeNo, { PaymentDate: '2026/12/09 00:00:01' });
    expect((await h.payments.handleCallback(late)).outcome).toBe('refund');
    expect((await load()).status).toBe('awaiting_payment');
  });

  it('a payment that arrives after the purge is recorded for refund once (audit + ops mail), never lost', async () => {
    const { h, started, load } = await orderAwaitingPayment();
    const app = await load();
    await h.repo.applications.replaceWithTombstone(app, {
      id: app.id,
      status: 'purged',
      createdAt: app.createdAt,
      endedAt: h.clock.now().toISOString(),
      stationId: app.stationId,
    });
    const fields = signedCallback(started.merchantTradeNo);
    const results = await Promise.all(Array.from({ length: 10 }, () => h.payments.handleCallback(fields)));
    expect(results.every((r) => r.acknowledgement === '1|OK' && r.outcome === 'refund')).toBe(true);
    const refunds = (await h.auditRecords()).filter((a) => a.action === 'payment.refund_required');
    expect(refunds).toHaveLength(1);
    expect(refunds[0]!.details).toMatchObject({
      reason: 'paid after the order was purged',
      amount: 278,
      merchantTradeNo: started.merchantTradeNo,
    });
    const alerts = (await readOutbox(h.outboxDir)).filter((m) => templateOf(m) === 'ops-alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain(started.merchantTradeNo);
    expect(h.workflow.successes).toEqual([]);
  });

  it('a second, different payment of a paid order is recorded for refund', async () => {
    const { h, started } = await orderAwaitingPayment();
    await h.payments.handleCallback(signedCallback(started.merchantTradeNo));
    const other = await h.payments.handleCallback(
      signedCallback(started.merchantTradeNo, { TradeNo: '2611231305009999' }),
    );
    expect(other.outcome).toBe('refund');
    expect(h.workflow.successes).toHaveLength(1);
  });

  it('starts the workflow when no execution has parked on the payment yet', async () => {
    const { h, started, load } = await orderAwaitingPayment();
    const app = await load();
    const { paymentTaskToken: _t, ...unparked } = app;
    await h.repo.applications.save(unparked);
    h.workflow.started.length = 0;
    await h.payments.handleCallback(signedCallback(started.merchantTradeNo));
    expect(h.workflow.started).toEqual([app.id]);
    expect(h.workflow.successes).toEqual([]);
  });

  it('a failed resumption goes back to the gateway, and its retry resumes once', async () => {
    const { h, started, token, load } = await orderAwaitingPayment();
    const send = h.workflow.sendTaskSuccess.bind(h.workflow);
    let failOnce = true;
    h.workflow.sendTaskSuccess = async (t, o) => {
      if (failOnce) {
        failOnce = false;
        throw new DependencyError('states unavailable');
      }
      return send(t, o);
    };
    const fields = signedCallback(started.merchantTradeNo);
    await expect(h.payments.handleCallback(fields)).rejects.toBeInstanceOf(DependencyError);
    expect((await load()).status).toBe('paid');
    h.clock.advance(5 * 60_000); // the gateway's retry comes later
    await expect(h.payments.handleCallback(fields)).resolves.toMatchObject({ outcome: 'duplicate' });
    expect(h.workflow.successes.map((s) => s.token)).toEqual([token]);
    await h.payments.handleCallback(fields);
    expect(h.workflow.successes).toHaveLength(1);
  });
});
