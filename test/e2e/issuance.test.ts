import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Application, ApplicationTombstone } from '../../shared/domain/model.js';
import {
  api,
  arcNumber,
  counterApplication,
  type E2e,
  outbox,
  payInSandbox,
  run,
  startE2e,
  waitFor,
} from './harness.js';

/**
 * The counter-to-mailbox path on the real local stack (`npm start`'s composition): dynalite, the SoftHSM
 * CA, the local Step Functions engine, the sandbox gateway, the .eml outbox and the card-station agent
 * as its own process. Everything goes through HTTP, as a station, a holder's browser and the bureau do.
 */
describe('end to end on the local stack: counter → payment → signed certificates → card → mail', () => {
  let e2e: E2e;
  beforeAll(async () => {
    e2e = await startE2e();
    await e2e.cardStation(['enroll', '--count', '2']);
  }, 120_000);
  afterAll(() => e2e?.stop());

  it('issues, personalizes and mails a paid order, with the right state and mail at every step', async () => {
    const { url, stack } = e2e;
    const arc = arcNumber(1001);
    const officer = await e2e.officerToken();

    // 1. The counter application: the code is returned once, the holder gets a mail with the deadline.
    const created = await api(url, 'POST', '/v1/station/applications', {
      token: officer,
      body: counterApplication(arc),
    });
    expect(created.status).toBe(201);
    const { applicationId, subscriberCode, paymentDeadline } = created.body;
    expect(subscriberCode).toMatch(/^[A-Z0-9]{6,10}$/);
    expect(created.body.fee.total).toBe(278);
    let mails = await outbox(stack);
    expect(mails.map((m) => m.template)).toEqual(['application-received']);
    expect(mails[0]!.to).toContain('maria@example.com');
    expect(mails[0]!.text).not.toContain(subscriberCode);
    expect(mails[0]!.text).not.toContain(arc);

    const status = await api(url, 'GET', `/v1/station/applications/${applicationId}`, { token: officer });
    expect(status.body.status).toBe('awaiting_payment');

    // 2. The holder logs in with the ARC number and the code, and sees the itemised fee and the deadline.
    const session = await api(url, 'POST', '/v1/portal/sessions', {
      body: { arcNumber: arc, subscriberCode },
    });
    expect(session.status).toBe(201);
    const holder = session.body.token as string;
    const order = await api(url, 'GET', '/v1/portal/application', { token: holder });
    expect(order.body).toMatchObject({ applicationId, status: 'awaiting_payment', paymentDeadline });
    expect(order.body.fee.items.map((i: { amount: number }) => i.amount)).toEqual([250, 28]);
    expect(JSON.stringify(order.body)).not.toContain(arc);

    // 3. Payment through the sandbox gateway: the signed callback records it, the workflow signs.
    const payment = await api(url, 'POST', '/v1/portal/payments', {
      token: holder,
      body: {
        mailingAddress: { postalCode: '10048', city: 'Taipei', line1: 'No. 2, Zhongshan S. Rd' },
        invoice: { kind: 'mobile_barcode', carrier: '/ABC+123' },
      },
    });
    expect(payment.status).toBe(201);
    expect((await payInSandbox(payment.body.checkout)).status).toBe(200);

    const issued = await waitFor('the certificates to be signed', async () => {
      const a = (await stack.repo.applications.get(applicationId)) as Application;
      return a.status === 'issued' ? a : undefined;
    });
    expect(issued.payment?.amount).toBe(278);
    expect(issued.cardNumber).toMatch(/^TP\d{14}$/);
    mails = await outbox(stack);
    expect(mails.map((m) => m.template)).toEqual(['application-received', 'payment-received']);

    // Both certificates are signed, stored `good`, and OpenSSL accepts them against the chain.
    const certs = await stack.repo.certificates.listByCard(issued.cardNumber!);
    expect(certs.map((c) => [c.profile, c.status]).sort()).toEqual([
      ['holder-encryption', 'good'],
      ['holder-signature', 'good'],
    ]);
    for (const c of certs) {
      const pem = `-----BEGIN CERTIFICATE-----\n${c.der!.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
      const file = join(stack.paths.stateDir, `${c.serialNumber}.pem`);
      await writeFile(file, pem);
      const { stdout } = await run('openssl', [
        'verify',
        '-x509_strict',
        '-CAfile',
        join(stack.paths.pki, 'root-ca.pem'),
        '-untrusted',
        join(stack.paths.pki, 'issuing-ca.pem'),
        file,
      ]);
      expect(stdout.trim()).toBe(`${file}: OK`);
    }
    // The card job is queued for the bureau.
    const job = await stack.repo.cardJobs.get(issued.cardJobId!);
    expect(job?.status).toBe('queued');

    // 4. The card station personalizes the card and reports the registered-mail number.
    await e2e.cardStation(['run', '--once']);
    const mailed = await waitFor('the card to be mailed', async () => {
      const r = await api(url, 'GET', '/v1/portal/application', { token: holder });
      return r.body.status === 'mailed' ? r.body : undefined;
    });
    expect(mailed.trackingNumber).toMatch(/^RR\d{9}TW$/);
    // The shipping mail is the workflow's next step after the mailing report: wait for it, then check
    // that it is the only new mail.
    mails = await waitFor('the shipping mail', async () => {
      const all = await outbox(stack);
      return all.some((m) => m.template === 'card-shipped') ? all : undefined;
    });
    expect(mails.map((m) => m.template)).toEqual([
      'application-received',
      'payment-received',
      'card-shipped',
    ]);
    expect(mails[2]!.text).toContain(mailed.trackingNumber);
    const card = await stack.repo.cards.get(issued.cardNumber!);
    expect(card?.status).toBe('mailed');
  }, 120_000);

  it('purges an unpaid order when the window closes — not one day earlier — and says so by mail', async () => {
    const { url, stack, clock } = e2e;
    const officer = await e2e.officerToken();
    const created = await api(url, 'POST', '/v1/station/applications', {
      token: officer,
      body: counterApplication(arcNumber(2002), 'unpaid@example.com'),
    });
    expect(created.status).toBe(201);
    const { applicationId, paymentDeadline } = created.body;

    // One day before the deadline: nothing is purged.
    clock.set(new Date(Date.parse(paymentDeadline) - 24 * 3600_000));
    expect((await stack.sweepNow()).purged).toEqual([]);
    const before = (await stack.repo.applications.get(applicationId)) as Application;
    expect(before.status).toBe('awaiting_payment');

    // Past the deadline: the sweeper purges it, even with no execution waiting for the payment.
    clock.set(new Date(Date.parse(paymentDeadline) + 1000));
    expect((await stack.sweepNow()).purged).toEqual([applicationId]);
    const after = (await stack.repo.applications.get(applicationId)) as ApplicationTombstone;
    expect(after.status).toBe('purged');
    // No personal data left in the stored item: only id, status, times and the station.
    expect(Object.keys(after).sort()).toEqual([
      'createdAt',
      'endedAt',
      'id',
      'stationId',
      'status',
      'version',
    ]);
    const raw = JSON.stringify(after);
    for (const personal of ['Maria', 'unpaid@example.com', 'Zhongzheng', '1990-05-01']) {
      expect(raw).not.toContain(personal);
    }
    const purgedMail = (await outbox(stack)).filter(
      (m) => m.template === 'order-purged' && m.to.includes('unpaid@'),
    );
    expect(purgedMail).toHaveLength(1);

    // The holder can no longer log in to it.
    const login = await api(url, 'POST', '/v1/portal/sessions', {
      body: { arcNumber: arcNumber(2002), subscriberCode: created.body.subscriberCode },
    });
    expect(login.status).toBe(401);
  }, 60_000);
});
