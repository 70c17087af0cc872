import { mkdtemp } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiHandler } from '../../functions/http/api.js';
import { createPaymentHandlers } from '../../functions/payments/handlers.js';
import { paymentRoutes } from '../../functions/payments/routes.js';
import { createPortalHandlers } from '../../functions/portal/handlers.js';
import { portalRoutes } from '../../functions/portal/routes.js';
import { createStationHandlers } from '../../functions/station/handlers.js';
import { stationRoutes } from '../../functions/station/routes.js';
import { type LambdaHttpHandler, startLocalServer } from '../../infra/local/server.js';
import { type LocalIssuer, openLocalIssuer } from '../../infra/local/tokens.js';
import { createOutboxMailer } from '../../shared/adapters/mail/outbox.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { ecpayCheckMacValue } from '../../shared/adapters/payment/ecpay.js';
import {
  createSandboxGateway,
  SANDBOX_CREDENTIALS,
  type SandboxGateway,
  sandboxRawRoute,
} from '../../shared/adapters/payment/sandbox.js';
import { createTestSecretKeys } from '../../shared/adapters/secrets/local.js';
import { createAuditLog } from '../../shared/audit.js';
import { renderApplicationForm } from '../../shared/documents/application-form.js';
import { createLogger } from '../../shared/logger.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import { createPaymentUseCases } from '../../shared/usecases/payment.js';
import { createPortalUseCases } from '../../shared/usecases/portal.js';
import { createStationUseCases } from '../../shared/usecases/station.js';
import { HOLDER, START } from '../intake/harness.js';
import { readOutbox, templateOf } from '../mail/fixtures.js';

/** Hidden inputs of the sandbox checkout page, as the browser submits them. */
const hiddenFields = (html: string): Record<string, string> => {
  const unescapeHtml = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
      unescapeHtml(m[1]!),
      unescapeHtml(m[2]!),
    ]),
  );
};

describe('counter → login → payment through HTTP, paid at the local sandbox gateway', () => {
  let server: Server;
  let url: string;
  let issuer: LocalIssuer;
  let outboxDir: string;
  const started: string[] = [];
  const resumed: string[] = [];

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'h4-http-'));
    outboxDir = join(dir, 'outbox');
    issuer = await openLocalIssuer(join(dir, 'issuer.json'));
    const logger = createLogger('test');
    const clock = new AdjustableClock(undefined, START);
    const repo = createMemoryRepository({ clock });
    const audit = createAuditLog(repo.audit, clock);
    const secrets = createTestSecretKeys({ seed: 'http' });
    const mailer = createOutboxMailer({ dir: outboxDir, clock, from: { address: 'no-reply@acdc.test' } });
    const workflow: Workflow = {
      startIssuance: async (id) => {
        started.push(id);
      },
      sendTaskSuccess: async (token) => {
        resumed.push(token);
      },
      sendTaskFailure: async () => undefined,
    };
    // The functions are bound once the server knows its port (the sandbox and the callback URL need it).
    const fns: Record<string, LambdaHttpHandler> = {};
    let sandbox: SandboxGateway | undefined;
    ({ server, url } = await startLocalServer({
      host: '127.0.0.1',
      port: 0,
      specs: [...stationRoutes, ...portalRoutes, ...paymentRoutes],
      functions: {
        station: (e, c) => fns.station!(e, c),
        portal: (e, c) => fns.portal!(e, c),
        payments: (e, c) => fns.payments!(e, c),
      },
      verifyJwt: async (t) => (await issuer.verify(t)) as Record<string, unknown>,
      rawRoutes: [{ prefix: '/sandbox/gateway', handle: (req) => sandboxRawRoute(sandbox!).handle(req) }],
      logger,
    }));
    sandbox = createSandboxGateway({ baseUrl: url, clock });
    const portalUrl = `${url}/portal`;
    const station = createStationUseCases({
      repo,
      audit,
      clock,
      secrets,
      mailer,
      workflow,
      portalUrl,
      scryptLog2N: 10,
      renderForm: renderApplicationForm,
    });
    const portal = createPortalUseCases({
      repo,
      audit,
      clock,
      secrets,
      gateway: sandbox.gateway,
      sessionMinutes: 15,
      scryptLog2N: 10,
      callbackUrl: `${url}/v1/payments/callback`,
      returnUrl: `${portalUrl}/order`,
    });
    const payments = createPaymentUseCases({
      repo,
      gateway: sandbox.gateway,
      audit,
      clock,
      mailer,
      workflow,
      mail: { portalUrl },
      opsEmail: 'ops@acdc.test',
    });
    fns.station = createApiHandler(stationRoutes, createStationHandlers({ station }), { logger });
    fns.portal = createApiHandler(portalRoutes, createPortalHandlers({ portal }), {
      logger,
      authenticateHolder: (token) => portal.authenticate(token),
    });
    fns.payments = createApiHandler(paymentRoutes, createPaymentHandlers({ payments }), { logger });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const officer = async () => ({
    authorization: `Bearer ${await issuer.issue('officer', 'officer-7', { stationId: 'TPE01' })}`,
    'content-type': 'application/json',
  });
  const post = async (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const postForm = (path: string, fields: Record<string, string>) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  it('takes the application, logs in, pays at the sandbox and shows the order paid', async () => {
    const apply = await post('/v1/station/applications', HOLDER, await officer());
    expect(apply.status).toBe(201);
    const intake = (await apply.json()) as {
      applicationId: string;
      subscriberCode: string;
      paymentDeadline: string;
      applicationForm: { base64: string };
    };
    expect(intake.paymentDeadline).toBe('2026-12-08T15:59:59.999Z');
    expect(Buffer.from(intake.applicationForm.base64, 'base64').subarray(0, 5).toString()).toBe('%PDF-');
    expect(started).toContain(intake.applicationId);

    const status = await fetch(`${url}/v1/station/applications/${intake.applicationId}`, {
      headers: await officer(),
    });
    expect(status.status).toBe(200);
    expect(await status.json()).not.toHaveProperty('subscriberCode');

    const login = await post(
      '/v1/portal/sessions',
      { arcNumber: HOLDER.arcNumber, subscriberCode: intake.subscriberCode },
      { 'content-type': 'application/json' },
    );
    expect(login.status).toBe(201);
    const { token } = (await login.json()) as { token: string };
    const holder = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

    const order = await fetch(`${url}/v1/portal/application`, { headers: holder });
    expect(order.status).toBe(200);
    const orderJson = await order.text();
    expect(orderJson).not.toContain(HOLDER.arcNumber);
    expect(JSON.parse(orderJson)).toMatchObject({
      status: 'awaiting_payment',
      fee: { total: 278 },
      paymentOpen: true,
    });

    const pay = await post(
      '/v1/portal/payments',
      { mailingAddress: HOLDER.mailingAddress, invoice: { kind: 'donation', donationCode: '919' } },
      holder,
    );
    expect(pay.status).toBe(201);
    const { checkout } = (await pay.json()) as {
      checkout: { action: string; fields: Record<string, string> };
    };
    expect(checkout.action).toBe(`${url}/sandbox/gateway/checkout`);

    // The holder's browser posts the checkout form to the sandbox, then presses "pay".
    const page = await postForm(new URL(checkout.action).pathname, checkout.fields);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('SANDBOX — no real money');
    const done = await postForm('/sandbox/gateway/pay', { ...hiddenFields(html), sandboxOutcome: 'approve' });
    expect(await done.text()).toContain('The merchant acknowledged the callback (1|OK)');

    const paid = (await (await fetch(`${url}/v1/portal/application`, { headers: holder })).json()) as {
      status: string;
      payment: { amount: number };
    };
    expect(paid).toMatchObject({ status: 'paid', payment: { amount: 278 } });
    const mails = (await readOutbox(outboxDir)).filter(
      (m) => m.headers.get('x-acdc-reference') === intake.applicationId,
    );
    expect(mails.map(templateOf).sort()).toEqual(['application-received', 'payment-received']);

    // The gateway retries: the same `1|OK`, nothing twice.
    const again = await postForm('/sandbox/gateway/pay', {
      ...hiddenFields(html),
      sandboxOutcome: 'approve',
    });
    expect(await again.text()).toContain('(1|OK)');
    // No execution had parked on the payment in this test: the payment resumed it by (idempotently)
    // starting it once more, and the retry did not do it again.
    expect(started.filter((id) => id === intake.applicationId)).toHaveLength(2);
    expect(resumed).toEqual([]);

    const logout = await fetch(`${url}/v1/portal/sessions/current`, { method: 'DELETE', headers: holder });
    expect(logout.status).toBe(204);
    expect((await fetch(`${url}/v1/portal/application`, { headers: holder })).status).toBe(401);
  });

  it('names the field of a bad counter application (400), and wants an officer token (401)', async () => {
    const bad = await post(
      '/v1/station/applications',
      { ...HOLDER, arcNumber: 'A800000015' },
      await officer(),
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'validation_failed', field: 'arcNumber', rule: 'arc.checksum' },
    });
    const young = await post(
      '/v1/station/applications',
      { ...HOLDER, arcNumber: 'F800000028', dateOfBirth: '2010-01-01' },
      await officer(),
    );
    expect(await young.json()).toMatchObject({ error: { field: 'dateOfBirth', rule: 'applicant.age' } });
    const extra = await post('/v1/station/applications', { ...HOLDER, pin: '1234' }, await officer());
    expect(await extra.json()).toMatchObject({ error: { field: 'pin' } });
    const anonymous = await post('/v1/station/applications', HOLDER, { 'content-type': 'application/json' });
    expect(anonymous.status).toBe(401);
  });

  it('answers 401 for wrong codes and 423 once locked, the right code included', async () => {
    const apply = await post(
      '/v1/station/applications',
      { ...HOLDER, arcNumber: 'B900000035' },
      await officer(),
    );
    const { subscriberCode } = (await apply.json()) as { subscriberCode: string };
    const wrong = subscriberCode.startsWith('3')
      ? `4${subscriberCode.slice(1)}`
      : `3${subscriberCode.slice(1)}`;
    const login = (code: string) =>
      post(
        '/v1/portal/sessions',
        { arcNumber: 'B900000035', subscriberCode: code },
        { 'content-type': 'application/json' },
      );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(wrong)).status);
    expect(statuses).toEqual([401, 401, 401, 423]);
    const right = await login(subscriberCode);
    expect(right.status).toBe(423);
    expect(await right.json()).toMatchObject({ error: { code: 'locked', rule: 'subscriber_code.locked' } });
  });

  it('refuses a forged callback with 401 and a signed one for an unknown trade with 1|OK (recorded for refund)', async () => {
    const fields: Record<string, string> = {
      MerchantID: SANDBOX_CREDENTIALS.merchantId,
      MerchantTradeNo: 'P20261123UNKNOWN0000',
      RtnCode: '1',
      TradeNo: 'SBX0000000000000001',
      TradeAmt: '278',
      PaymentDate: '2026/11/23 13:10:00',
      PaymentType: 'Credit_CreditCard',
      SimulatePaid: '0',
    };
    const signed = {
      ...fields,
      CheckMacValue: ecpayCheckMacValue(fields, SANDBOX_CREDENTIALS.hashKey, SANDBOX_CREDENTIALS.hashIV),
    };
    const forged = await postForm('/v1/payments/callback', { ...signed, TradeAmt: '1' });
    expect(forged.status).toBe(401);
    const ok = await postForm('/v1/payments/callback', signed);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('1|OK');
  });
});
