import { createHmac } from 'node:crypto';
import type { Clock } from '../../ports/clock.js';
import type { PaymentGateway } from '../../ports/payment.js';
import {
  createEcpayGateway,
  type EcpayCredentials,
  ecpayCheckMacValue,
  ecpayDate,
  ecpayMacMatches,
} from './ecpay.js';

/**
 * THE LOCAL SANDBOX PAYMENT GATEWAY — NO REAL MONEY MOVES, EVER.
 *
 * It stands in for ECPay on the one-machine stack: it serves a checkout page where a person "pays" by
 * pressing a button, then posts an ECPay-style callback, signed with the same CheckMacValue code as the
 * real gateway but with the sandbox's own keys, to our `POST /v1/payments/callback`. So the whole path
 * (checkout form → gateway → signed callback → idempotent recording → workflow) runs for real locally.
 *
 * It keeps no state: the pay page carries the signed checkout fields back as hidden inputs and they are
 * verified again, and the sandbox trade number is derived from the merchant trade number, so a double
 * click produces a true duplicate callback (which our side must, and does, absorb).
 */

/** Sandbox keys. Public on purpose: they only ever sign sandbox (play-money) callbacks. */
export const SANDBOX_CREDENTIALS: EcpayCredentials = Object.freeze({
  merchantId: 'SANDBOX01',
  hashKey: 'sandboxHashKey01',
  hashIV: 'sandboxHashIV001',
});

export const SANDBOX_BASE_PATH = '/sandbox/gateway';

export interface SandboxRequest {
  method: string;
  /** Path without query string, e.g. `/sandbox/gateway/checkout`. */
  path: string;
  /** The urlencoded form body, decoded (empty for GET). */
  form: Record<string, string>;
}

export interface SandboxResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Posts the signed callback (form-urlencoded) and returns the response text. */
export type CallbackPoster = (url: string, fields: Record<string, string>) => Promise<string>;

export interface SandboxGatewayOptions {
  /** Origin the sandbox pages are served from, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  basePath?: string;
  credentials?: EcpayCredentials;
  clock: Clock;
  postCallback?: CallbackPoster;
  /** Where callbacks may be posted (default: loopback only), so a crafted form cannot aim it elsewhere. */
  allowCallbackUrl?: (url: URL) => boolean;
}

export interface SandboxGateway {
  /** The PaymentGateway the payment use cases use locally (name `sandbox`). */
  gateway: PaymentGateway;
  /** Mount this on the local server for every request under `basePath`. */
  handle(req: SandboxRequest): Promise<SandboxResponse>;
  readonly basePath: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

const defaultPoster: CallbackPoster = async (url, fields) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  return `${res.status === 200 ? '' : `HTTP ${res.status} `}${await res.text()}`;
};

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const BANNER = `<div class="banner" role="alert"><strong>沙盒測試環境 — 不會收取任何真實款項</strong><br>
<strong>SANDBOX — no real money</strong><br><small>本頁為本機模擬金流，僅供開發測試。This page simulates a payment gateway on this machine, for development and testing only.</small></div>`;

const page = (title: string, body: string): string => `<!doctype html>
<html lang="zh-Hant-TW"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>[SANDBOX] ${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,"Noto Sans TC",sans-serif;max-width:40rem;margin:0 auto;padding:1rem;color:#222}
.banner{background:#b00020;color:#fff;padding:1rem;font-size:1.3rem;text-align:center;border-radius:.4rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4rem;text-align:left}
button{font-size:1.1rem;padding:.6rem 1.2rem;margin:.5rem .5rem 0 0}.pay{background:#0a7d32;color:#fff}.decline{background:#666;color:#fff}
</style></head><body>${BANNER}
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'";

const html = (status: number, title: string, body: string): SandboxResponse => ({
  status,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': CSP,
    'cache-control': 'no-store',
    'x-sandbox-gateway': 'true',
  },
  body: page(title, body),
});

const sandboxTradeNo = (merchantTradeNo: string, creds: EcpayCredentials): string => {
  const mac = createHmac('sha256', creds.hashKey).update(`trade|${merchantTradeNo}`).digest();
  const digits = (mac.readBigUInt64BE(0) % 10n ** 16n).toString().padStart(16, '0');
  return `SBX${digits}`;
};

export const createSandboxGateway = (opts: SandboxGatewayOptions): SandboxGateway => {
  const creds = opts.credentials ?? SANDBOX_CREDENTIALS;
  const basePath = (opts.basePath ?? SANDBOX_BASE_PATH).replace(/\/$/, '');
  const post = opts.postCallback ?? defaultPoster;
  const allow = opts.allowCallbackUrl ?? ((u: URL) => LOOPBACK.has(u.hostname));
  const gateway = createEcpayGateway({
    ...creds,
    checkoutUrl: `${opts.baseUrl.replace(/\/$/, '')}${basePath}/checkout`,
    name: 'sandbox',
  });

  /** The signed checkout fields of a form, or undefined when they are not ours / tampered with. */
  const checkoutFieldsOf = (form: Record<string, string>): Record<string, string> | undefined => {
    const { sandboxOutcome: _o, ...fields } = form;
    if (fields.MerchantID !== creds.merchantId || !ecpayMacMatches(fields, creds)) return undefined;
    return fields;
  };

  const refused = () =>
    html(
      400,
      '付款請求無效 Invalid payment request',
      '<p>此付款請求的簽章無效或已被竄改。The signature of this payment request is not valid or the request was changed.</p>',
    );

  const checkoutPage = (fields: Record<string, string>): SandboxResponse => {
    const hidden = Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('\n');
    const rows: [string, string][] = [
      ['訂單編號 Merchant trade no.', fields.MerchantTradeNo ?? ''],
      ['項目 Item', fields.ItemName ?? ''],
      ['說明 Description', fields.TradeDesc ?? ''],
      ['金額 Amount', `NT$${fields.TotalAmount ?? ''}`],
      ['建立時間 Created (Taipei)', fields.MerchantTradeDate ?? ''],
    ];
    const table = rows
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
      .join('');
    return html(
      200,
      '沙盒信用卡付款 Sandbox card payment',
      `<table>${table}</table>
<form method="post" action="${escapeHtml(basePath)}/pay">
${hidden}
<p>模擬信用卡 Simulated card: 4311-9522-2222-2222（測試卡號 test number）</p>
<button class="pay" type="submit" name="sandboxOutcome" value="approve">模擬付款成功 Simulate approved payment</button>
<button class="decline" type="submit" name="sandboxOutcome" value="decline">模擬付款失敗 Simulate declined payment</button>
</form>`,
    );
  };

  const pay = async (form: Record<string, string>): Promise<SandboxResponse> => {
    const fields = checkoutFieldsOf(form);
    if (!fields) return refused();
    let target: URL;
    try {
      target = new URL(fields.ReturnURL ?? '');
    } catch {
      return refused();
    }
    if (!/^https?:$/.test(target.protocol) || !allow(target)) return refused();
    const approved = form.sandboxOutcome === 'approve';
    const now = ecpayDate(opts.clock.now());
    const callback: Record<string, string> = {
      MerchantID: creds.merchantId,
      MerchantTradeNo: fields.MerchantTradeNo ?? '',
      StoreID: '',
      RtnCode: approved ? '1' : '10100058',
      RtnMsg: approved ? '交易成功' : '付款失敗 (sandbox)',
      TradeNo: sandboxTradeNo(fields.MerchantTradeNo ?? '', creds),
      TradeAmt: fields.TotalAmount ?? '',
      PaymentDate: now,
      PaymentType: 'Credit_CreditCard',
      PaymentTypeChargeFee: '0',
      TradeDate: fields.MerchantTradeDate ?? now,
      SimulatePaid: '0',
      CustomField1: '',
      CustomField2: '',
      CustomField3: '',
      CustomField4: '',
    };
    callback.CheckMacValue = ecpayCheckMacValue(callback, creds.hashKey, creds.hashIV);
    // ECPay retries a callback that is not answered `1|OK`; the sandbox tries three times at once.
    let answer = '';
    for (let attempt = 0; attempt < 3 && answer !== gateway.acknowledgement; attempt++) {
      try {
        answer = (await post(target.toString(), callback)).trim();
      } catch (e) {
        answer = `error: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    const delivered = answer === gateway.acknowledgement;
    const back = fields.OrderResultURL
      ? `<p><a href="${escapeHtml(fields.OrderResultURL)}">返回申請網站 Back to the portal</a></p>`
      : '';
    return html(
      200,
      approved ? '模擬付款完成 Simulated payment done' : '模擬付款失敗 Simulated payment declined',
      `<p>${approved ? '已模擬付款成功。The payment was simulated as approved.' : '已模擬付款失敗。The payment was simulated as declined.'}</p>
<p>交易編號 Sandbox trade no.: ${escapeHtml(callback.TradeNo!)}</p>
<p>${delivered ? '已通知商店 The merchant acknowledged the callback (1|OK).' : `商店未確認 The merchant did not acknowledge the callback: ${escapeHtml(answer.slice(0, 200))}`}</p>
${back}`,
    );
  };

  const handle = async (req: SandboxRequest): Promise<SandboxResponse> => {
    const method = req.method.toUpperCase();
    const sub = req.path.startsWith(basePath) ? req.path.slice(basePath.length) : undefined;
    if (sub === undefined) return html(404, '找不到頁面 Not found', '<p>Not found.</p>');
    if ((sub === '' || sub === '/') && method === 'GET')
      return html(
        200,
        '沙盒金流 Sandbox gateway',
        '<p>由申請網站送出付款表單後，會在此顯示付款頁。Checkout forms from the portal land here.</p>',
      );
    if (sub === '/checkout' && method === 'POST') {
      const fields = checkoutFieldsOf(req.form);
      return fields ? checkoutPage(fields) : refused();
    }
    if (sub === '/pay' && method === 'POST') return pay(req.form);
    return html(404, '找不到頁面 Not found', '<p>Not found.</p>');
  };

  return { gateway, handle, basePath };
};

/**
 * The sandbox as a raw route of the local server (infra/local/server.ts `rawRoutes`): every request
 * under `basePath`, the urlencoded form body decoded.
 */
export const sandboxRawRoute = (sandbox: SandboxGateway) => ({
  prefix: sandbox.basePath,
  handle: async (req: { method: string; path: string; body: Buffer | Uint8Array }) => {
    const form = Object.fromEntries(new URLSearchParams(Buffer.from(req.body).toString('utf8')));
    return sandbox.handle({ method: req.method, path: req.path, form });
  },
});
