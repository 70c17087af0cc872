import type { Fee } from '../domain/model.js';
import type { OutgoingMail } from '../ports/mailer.js';

/**
 * The mails the product sends, each composed as an OutgoingMail with a plain-text and a simple HTML body.
 * Every mail is bilingual: Traditional Chinese first, then English. Only the subscriber-code retrieval
 * mail carries a secret (the holder asked for it to be re-sent to the registered address); every other
 * mail says how to proceed without ever repeating the code.
 */

const SERVICE_ZH = '外來人口自然人憑證';
const SERVICE_EN = 'Alien Citizen Digital Certificate';
const HELPDESK = '0800-080-117';

export interface MailContext {
  /** The holder portal, e.g. `https://portal.example.gov.tw` (shown as a link). */
  portalUrl: string;
}

/** Taiwan has kept UTC+8 without daylight saving since 1979. */
const taipei = (iso: string): string => {
  const t = new Date(new Date(iso).getTime() + 8 * 3600_000).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 19)}`;
};

export const formatTaipeiDateTime = (iso: string): { zh: string; en: string } => {
  const s = taipei(iso);
  return { zh: `${s}（臺灣時間）`, en: `${s} (Taipei time)` };
};

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** One paragraph per string; `{{b:…}}` marks a value to show in bold in the HTML part. */
type Para = string | { list: string[] };

const toText = (paras: Para[]): string =>
  paras
    .map((p) =>
      typeof p === 'string' ? p.replace(/\{\{b:(.*?)\}\}/g, '$1') : p.list.map((l) => `  - ${l}`).join('\n'),
    )
    .join('\n\n');

const toHtml = (title: string, zh: Para[], en: Para[]): string => {
  const render = (p: Para) =>
    typeof p === 'string'
      ? `<p>${escapeHtml(p)
          .replace(/\{\{b:(.*?)\}\}/g, '<strong>$1</strong>')
          .replace(/\n/g, '<br>')}</p>`
      : `<ul>${p.list.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:sans-serif;line-height:1.5;color:#222;max-width:40em">
<div lang="zh-Hant-TW">${zh.map(render).join('\n')}</div>
<hr>
<div lang="en">${en.map(render).join('\n')}</div>
</body></html>`;
};

const compose = (args: {
  template: string;
  to: string;
  reference: string;
  subjectZh: string;
  subjectEn: string;
  zh: Para[];
  en: Para[];
}): OutgoingMail => {
  const subject = `【${SERVICE_ZH}】${args.subjectZh} / ${args.subjectEn}`;
  const footerZh = `此信件由系統自動發送，請勿直接回覆。客服專線 ${HELPDESK}。`;
  const footerEn = `This mail was sent automatically; please do not reply. Helpdesk: ${HELPDESK}.`;
  const zh = [...args.zh, footerZh];
  const en = [...args.en, footerEn];
  return {
    to: args.to,
    subject,
    text: `${toText(zh)}\n\n----------------------------------------\n\n${toText(en)}\n`,
    html: toHtml(subject, zh, en),
    template: args.template,
    reference: args.reference,
  };
};

const feeLines = (fee: Fee): { zh: string[]; en: string[] } => {
  const zhLabel: Record<string, string> = { card: 'IC 卡製卡費', postage: '掛號郵寄處理費' };
  const enLabel: Record<string, string> = { card: 'IC card', postage: 'Registered postage and handling' };
  return {
    zh: [
      ...fee.items.map((i) => `${zhLabel[i.code] ?? i.label}：新臺幣 ${i.amount} 元`),
      `合計：新臺幣 ${fee.total} 元`,
    ],
    en: [...fee.items.map((i) => `${enLabel[i.code] ?? i.label}: NT$${i.amount}`), `Total: NT$${fee.total}`],
  };
};

export interface ApplicationReceivedInput {
  to: string;
  applicationId: string;
  name: string;
  stationId: string;
  /** ISO instant: 23:59:59 Taipei on the last day. */
  paymentDeadline: string;
  fee: Fee;
  /** Set when the holder already has a live card (it is revoked when the new one is issued). */
  replacesCardNumber?: string;
}

/** Counter application taken: deadline, fee, how to pay. Never the subscriber code. */
export const applicationReceivedMail = (ctx: MailContext, i: ApplicationReceivedInput): OutgoingMail => {
  const d = formatTaipeiDateTime(i.paymentDeadline);
  const fee = feeLines(i.fee);
  const zh: Para[] = [
    `${i.name} 您好：`,
    `您於移民署服務站（${i.stationId}）申請的${SERVICE_ZH}已受理，申請編號 {{b:${i.applicationId}}}。`,
    `請於 {{b:${d.zh}}} 前完成線上繳費，逾期未繳費之申請將自動刪除（含個人資料），須重新臨櫃申請。`,
    { list: fee.zh },
    `繳費方式：請至 ${ctx.portalUrl} 「憑證申請查詢及繳費」，以居留證統一證號及申請書上的用戶代碼登入，以信用卡繳費並確認郵寄地址及電子發票資料。`,
    '用戶代碼僅印在您臨櫃取得的申請書上，本信件不會提供；請妥善保管，勿告知他人。',
  ];
  const en: Para[] = [
    `Dear ${i.name},`,
    `Your application for the ${SERVICE_EN}, taken at immigration service station ${i.stationId}, has been received. Application number: {{b:${i.applicationId}}}.`,
    `Please pay online before {{b:${d.en}}}. Unpaid applications are deleted automatically when the window closes (personal data included); you would then have to apply again at a station.`,
    { list: fee.en },
    `How to pay: open ${ctx.portalUrl}, choose "Application status and payment", log in with your ARC number and the subscriber code printed on your application form, pay by credit card and confirm your mailing address and e-invoice details.`,
    'The subscriber code is printed only on the application form you received at the counter; this mail does not contain it. Keep it safe and never tell it to anyone.',
  ];
  if (i.replacesCardNumber) {
    zh.push(`提醒：您目前仍有有效的憑證卡（卡號 ${i.replacesCardNumber}），新卡簽發時舊卡憑證將被廢止。`);
    en.push(
      `Note: you still hold a live card (number ${i.replacesCardNumber}); its certificates are revoked when the new card is issued.`,
    );
  }
  return compose({
    template: 'application-received',
    to: i.to,
    reference: i.applicationId,
    subjectZh: '申請已受理，請於期限內繳費',
    subjectEn: 'Application received: please pay before the deadline',
    zh,
    en,
  });
};

export interface SubscriberCodeRetrievalInput {
  to: string;
  applicationId: string;
  name: string;
  /** The initial subscriber code, opened from its sealed copy just for this mail. */
  subscriberCode: string;
}

/** "Retrieve my subscriber code" (before activation): the one mail that carries the initial code. */
export const subscriberCodeRetrievalMail = (
  ctx: MailContext,
  i: SubscriberCodeRetrievalInput,
): OutgoingMail =>
  compose({
    template: 'subscriber-code-retrieval',
    to: i.to,
    reference: i.applicationId,
    subjectZh: '取回用戶代碼',
    subjectEn: 'Your subscriber code',
    zh: [
      `${i.name} 您好：`,
      `依您的要求，重新寄送申請編號 ${i.applicationId} 的用戶代碼：`,
      `用戶代碼：{{b:${i.subscriberCode}}}`,
      `用戶代碼用於線上繳費、開卡、PIN 碼解鎖、憑證停用及恢復使用，請妥善保管，勿告知他人；本機關人員不會向您索取。若非您本人提出要求，請撥打客服專線。網站：${ctx.portalUrl}`,
    ],
    en: [
      `Dear ${i.name},`,
      `As you asked, here again is the subscriber code of application ${i.applicationId}:`,
      `Subscriber code: {{b:${i.subscriberCode}}}`,
      `You need it to pay, activate your card, unblock the PIN, and suspend or resume your certificates. Keep it safe and never tell it to anyone; our staff will never ask for it. If you did not ask for this mail, call the helpdesk. Portal: ${ctx.portalUrl}`,
    ],
  });

export interface PaymentReceivedInput {
  to: string;
  applicationId: string;
  name: string;
  amount: number;
  paidAt: string;
  merchantTradeNo: string;
}

export const paymentReceivedMail = (ctx: MailContext, i: PaymentReceivedInput): OutgoingMail => {
  const d = formatTaipeiDateTime(i.paidAt);
  return compose({
    template: 'payment-received',
    to: i.to,
    reference: i.applicationId,
    subjectZh: '繳費完成',
    subjectEn: 'Payment received',
    zh: [
      `${i.name} 您好：`,
      `我們已於 ${d.zh} 收到申請編號 ${i.applicationId} 的費用新臺幣 ${i.amount} 元（交易編號 ${i.merchantTradeNo}）。`,
      '憑證卡製作完成後將以掛號寄出，約需 7 至 10 個工作天；寄出時會再以電子郵件通知掛號號碼。卡片製作完成後恕不退費。',
      `收到卡片後，請至 ${ctx.portalUrl} 以用戶代碼開卡並設定 PIN 碼。`,
    ],
    en: [
      `Dear ${i.name},`,
      `We received NT$${i.amount} for application ${i.applicationId} at ${d.en} (trade number ${i.merchantTradeNo}).`,
      'Your card is made and sent by registered mail within about 7 to 10 working days; we will mail you the tracking number when it is posted. No refund once the card is made.',
      `When the card arrives, activate it at ${ctx.portalUrl} with your subscriber code and set your PIN.`,
    ],
  });
};

export interface OrderPurgedInput {
  to: string;
  applicationId: string;
  name: string;
  paymentDeadline: string;
}

/** Sent just before an unpaid order and its personal data are deleted. */
export const orderPurgedMail = (ctx: MailContext, i: OrderPurgedInput): OutgoingMail => {
  const d = formatTaipeiDateTime(i.paymentDeadline);
  return compose({
    template: 'order-purged',
    to: i.to,
    reference: i.applicationId,
    subjectZh: '逾期未繳費，申請已刪除',
    subjectEn: 'Application deleted: not paid in time',
    zh: [
      `${i.name} 您好：`,
      `申請編號 ${i.applicationId} 未於繳費期限 ${d.zh} 前完成繳費，依規定已自動刪除，您的個人資料亦已刪除。`,
      `如仍需申請，請攜帶居留證及電子郵件信箱至移民署各服務站重新臨櫃申請。網站：${ctx.portalUrl}`,
    ],
    en: [
      `Dear ${i.name},`,
      `Application ${i.applicationId} was not paid before the deadline (${d.en}) and has been deleted automatically, together with your personal data.`,
      `To apply again, bring your ARC and an e-mail address to any immigration service station. Portal: ${ctx.portalUrl}`,
    ],
  });
};

export interface CardShippedInput {
  to: string;
  applicationId: string;
  name: string;
  trackingNumber: string;
  mailedAt: string;
}

export const cardShippedMail = (ctx: MailContext, i: CardShippedInput): OutgoingMail => {
  const d = formatTaipeiDateTime(i.mailedAt);
  return compose({
    template: 'card-shipped',
    to: i.to,
    reference: i.applicationId,
    subjectZh: '憑證卡已寄出',
    subjectEn: 'Your card has been posted',
    zh: [
      `${i.name} 您好：`,
      `申請編號 ${i.applicationId} 的憑證卡已於 ${d.zh} 以中華郵政掛號寄出，掛號號碼 {{b:${i.trackingNumber}}}。`,
      `收到卡片後，請至 ${ctx.portalUrl} 以用戶代碼開卡並設定 PIN 碼（6 至 8 碼）。`,
    ],
    en: [
      `Dear ${i.name},`,
      `The card of application ${i.applicationId} was posted by Chunghwa Post registered mail at ${d.en}. Tracking number: {{b:${i.trackingNumber}}}.`,
      `When it arrives, activate it at ${ctx.portalUrl} with your subscriber code and set a PIN of 6 to 8 characters.`,
    ],
  });
};

export interface OpsAlertInput {
  to: string;
  /** What happened, in a few words (English is fine for ops; the template adds the Chinese frame). */
  summary: string;
  /** Non-secret facts: ids, amounts, states. Never a subscriber code, PIN, key or full ARC number. */
  details: Record<string, string | number | boolean>;
  reference: string;
}

/** For customer service / ops: something needs a person (e.g. a payment after the purge, to refund). */
export const opsAlertMail = (_ctx: MailContext, i: OpsAlertInput): OutgoingMail => {
  const facts = Object.entries(i.details).map(([k, v]) => `${k}: ${String(v)}`);
  return compose({
    template: 'ops-alert',
    to: i.to,
    reference: i.reference,
    subjectZh: '需人工處理',
    subjectEn: `Ops action needed: ${i.summary}`,
    zh: ['系統偵測到需要人工處理的事件：', `摘要：${i.summary}`, { list: facts }],
    en: ['An event needs a person to act on it:', `Summary: ${i.summary}`, { list: facts }],
  });
};
