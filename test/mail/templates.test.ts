import {
  applicationReceivedMail,
  cardShippedMail,
  formatTaipeiDateTime,
  opsAlertMail,
  orderPurgedMail,
  paymentReceivedMail,
  subscriberCodeRetrievalMail,
} from '../../shared/mail/templates.js';
import type { OutgoingMail } from '../../shared/ports/mailer.js';
import { CTX, FEE } from './fixtures.js';

const DEADLINE = '2026-12-08T15:59:59.000Z';
const base = { to: 'ana@example.com', applicationId: 'app_01', name: 'Ana <Silva> & Co' };

const all: [string, OutgoingMail][] = [
  [
    'application-received',
    applicationReceivedMail(CTX, { ...base, stationId: 'TPE01', paymentDeadline: DEADLINE, fee: FEE }),
  ],
  ['subscriber-code-retrieval', subscriberCodeRetrievalMail(CTX, { ...base, subscriberCode: 'K7m2Qx9P' })],
  [
    'payment-received',
    paymentReceivedMail(CTX, {
      ...base,
      amount: 278,
      paidAt: '2026-11-24T02:00:00.000Z',
      merchantTradeNo: 'ACDC0001',
    }),
  ],
  ['order-purged', orderPurgedMail(CTX, { ...base, paymentDeadline: DEADLINE })],
  [
    'card-shipped',
    cardShippedMail(CTX, {
      ...base,
      trackingNumber: '12345678901234567890',
      mailedAt: '2026-11-30T01:00:00.000Z',
    }),
  ],
  [
    'ops-alert',
    opsAlertMail(CTX, {
      to: 'ops@example.gov.tw',
      summary: 'payment after purge',
      details: { applicationId: 'app_01', amount: 278 },
      reference: 'app_01',
    }),
  ],
];

describe('mail templates', () => {
  it.each(all)('%s is bilingual, Chinese first, with text and HTML', (template, mail) => {
    expect(mail.template).toBe(template);
    expect(mail.subject).toMatch(/^【外來人口自然人憑證】.+ \/ .+/);
    for (const body of [mail.text, mail.html!]) {
      const zh = body.search(/[\u4e00-\u9fff]/);
      const en = body.search(/\b(Dear|An event)\b/);
      expect(zh).toBeGreaterThanOrEqual(0);
      expect(en).toBeGreaterThan(zh);
    }
    expect(mail.html).toContain('<!doctype html>');
  });

  it.each(all.filter(([t]) => t !== 'ops-alert'))('%s escapes the holder name in HTML', (_t, mail) => {
    expect(mail.html).toContain('Ana &lt;Silva&gt; &amp; Co');
    expect(mail.html).not.toContain('<Silva>');
    expect(mail.text).toContain('Ana <Silva> & Co');
  });

  it('application-received gives the deadline in Taipei time, the fee and how to pay, never a code', () => {
    const mail = all[0]![1];
    expect(mail.text).toContain('2026-12-08 23:59:59（臺灣時間）');
    expect(mail.text).toContain('2026-12-08 23:59:59 (Taipei time)');
    expect(mail.text).toContain('NT$250');
    expect(mail.text).toContain('NT$28');
    expect(mail.text).toContain('Total: NT$278');
    expect(mail.text).toContain(CTX.portalUrl);
    expect(mail.text).not.toMatch(/Subscriber code:/);
    expect(mail.reference).toBe('app_01');
  });

  it('application-received warns about the live card it replaces', () => {
    const mail = applicationReceivedMail(CTX, {
      ...base,
      stationId: 'TPE01',
      paymentDeadline: DEADLINE,
      fee: FEE,
      replacesCardNumber: 'AB12345678901234',
    });
    expect(mail.text).toContain('AB12345678901234');
    expect(mail.text).toMatch(/revoked when the new card is issued/);
  });

  it('only the retrieval mail carries the subscriber code', () => {
    for (const [t, mail] of all)
      expect(mail.text.includes('K7m2Qx9P')).toBe(t === 'subscriber-code-retrieval');
  });

  it('card-shipped gives the tracking number', () => {
    expect(all[4]![1].text).toContain('12345678901234567890');
  });

  it('formats instants as Taipei wall time', () => {
    expect(formatTaipeiDateTime('2026-12-31T16:00:00.000Z').en).toBe('2027-01-01 00:00:00 (Taipei time)');
  });
});
