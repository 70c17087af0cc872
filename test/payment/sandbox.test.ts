import { ecpayCheckMacValue } from '../../shared/adapters/payment/ecpay.js';
import { createSandboxGateway, SANDBOX_CREDENTIALS } from '../../shared/adapters/payment/sandbox.js';
import { AdjustableClock } from '../../shared/ports/clock.js';

/** Pulls the hidden inputs out of the checkout page, as a browser would submit them. */
const hiddenFields = (html: string): Record<string, string> => {
  const unescapeHtml = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    out[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  return out;
};

describe('local sandbox gateway', () => {
  const clock = new AdjustableClock(undefined, new Date('2026-11-23T05:00:00Z'));
  const posted: { url: string; fields: Record<string, string> }[] = [];
  let answer = '1|OK';
  const sandbox = createSandboxGateway({
    baseUrl: 'http://127.0.0.1:8080',
    clock,
    postCallback: async (url, fields) => {
      posted.push({ url, fields });
      return answer;
    },
  });
  const order = {
    merchantTradeNo: 'ACDC0001SANDBOX',
    amount: 278,
    description: '外來人口自然人憑證',
    itemName: 'IC card <b>NT$250</b> + postage NT$28',
    createdAt: clock.now(),
    callbackUrl: 'http://127.0.0.1:8080/v1/payments/callback',
    returnUrl: 'http://127.0.0.1:8080/portal/paid',
  };

  beforeEach(() => {
    posted.length = 0;
    answer = '1|OK';
  });

  const checkout = async () => {
    const form = sandbox.gateway.checkout(order);
    const page = await sandbox.handle({
      method: 'POST',
      path: new URL(form.action).pathname,
      form: form.fields,
    });
    return { form, page };
  };

  it('is labelled a sandbox on every page', async () => {
    const index = await sandbox.handle({ method: 'GET', path: '/sandbox/gateway', form: {} });
    expect(index.status).toBe(200);
    expect(index.body).toContain('SANDBOX — no real money');
    expect(index.body).toContain('不會收取任何真實款項');
    expect(index.headers['x-sandbox-gateway']).toBe('true');
    expect(sandbox.gateway.name).toBe('sandbox');
  });

  it('serves a bilingual checkout page for a correctly signed checkout form, with values escaped', async () => {
    const { form, page } = await checkout();
    expect(form.action).toBe('http://127.0.0.1:8080/sandbox/gateway/checkout');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('SANDBOX — no real money');
    expect(page.body).toContain('NT$278');
    expect(page.body).toContain('ACDC0001SANDBOX');
    expect(page.body).not.toContain('<b>NT$250</b>');
    expect(page.body).toContain('&lt;b&gt;NT$250&lt;/b&gt;');
    expect(hiddenFields(page.body)).toEqual(form.fields);
  });

  it('refuses a checkout form that was changed after signing', async () => {
    const form = sandbox.gateway.checkout(order);
    const page = await sandbox.handle({
      method: 'POST',
      path: '/sandbox/gateway/checkout',
      form: { ...form.fields, TotalAmount: '1' },
    });
    expect(page.status).toBe(400);
    expect(page.body).toContain('SANDBOX — no real money');
  });

  it('"pays" by posting a correctly signed callback that our side verifies as paid', async () => {
    const { page } = await checkout();
    const done = await sandbox.handle({
      method: 'POST',
      path: '/sandbox/gateway/pay',
      form: { ...hiddenFields(page.body), sandboxOutcome: 'approve' },
    });
    expect(done.status).toBe(200);
    expect(done.body).toContain('1|OK');
    expect(posted).toHaveLength(1);
    expect(posted[0]!.url).toBe(order.callbackUrl);
    const verified = sandbox.gateway.verifyCallback(posted[0]!.fields);
    expect(verified).toMatchObject({
      merchantTradeNo: order.merchantTradeNo,
      amount: 278,
      paid: true,
      simulated: false,
      paidAt: '2026-11-23T05:00:00.000Z',
    });
    expect(posted[0]!.fields.CheckMacValue).toBe(
      ecpayCheckMacValue(posted[0]!.fields, SANDBOX_CREDENTIALS.hashKey, SANDBOX_CREDENTIALS.hashIV),
    );
  });

  it('a double click sends a true duplicate (same gateway trade number)', async () => {
    const { page } = await checkout();
    const form = { ...hiddenFields(page.body), sandboxOutcome: 'approve' };
    await sandbox.handle({ method: 'POST', path: '/sandbox/gateway/pay', form });
    await sandbox.handle({ method: 'POST', path: '/sandbox/gateway/pay', form });
    expect(posted).toHaveLength(2);
    expect(posted[0]!.fields.TradeNo).toBe(posted[1]!.fields.TradeNo);
  });

  it('a declined payment is a signed callback that is not paid', async () => {
    const { page } = await checkout();
    await sandbox.handle({
      method: 'POST',
      path: '/sandbox/gateway/pay',
      form: { ...hiddenFields(page.body), sandboxOutcome: 'decline' },
    });
    expect(sandbox.gateway.verifyCallback(posted[0]!.fields).paid).toBe(false);
  });

  it('retries a callback that is not acknowledged, and says so', async () => {
    answer = 'HTTP 503 busy';
    const { page } = await checkout();
    const done = await sandbox.handle({
      method: 'POST',
      path: '/sandbox/gateway/pay',
      form: { ...hiddenFields(page.body), sandboxOutcome: 'approve' },
    });
    expect(posted).toHaveLength(3);
    expect(done.body).toContain('did not acknowledge');
  });

  it('never posts a callback off this machine', async () => {
    const form = sandbox.gateway.checkout({ ...order, callbackUrl: 'http://10.0.0.1/steal' });
    const done = await sandbox.handle({
      method: 'POST',
      path: '/sandbox/gateway/pay',
      form: { ...form.fields, sandboxOutcome: 'approve' },
    });
    expect(done.status).toBe(400);
    expect(posted).toHaveLength(0);
  });

  it('answers 404 outside its routes', async () => {
    expect((await sandbox.handle({ method: 'GET', path: '/sandbox/gateway/pay', form: {} })).status).toBe(
      404,
    );
    expect((await sandbox.handle({ method: 'GET', path: '/elsewhere', form: {} })).status).toBe(404);
  });
});
