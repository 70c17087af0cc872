import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { buildMimeMessage, encodeWords } from '../../shared/adapters/mail/mime.js';
import { createOutboxMailer } from '../../shared/adapters/mail/outbox.js';
import { ValidationError } from '../../shared/errors.js';
import { applicationReceivedMail } from '../../shared/mail/templates.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import { CTX, FEE, readOutbox, templateOf } from './fixtures.js';

const clock = new AdjustableClock(undefined, new Date('2026-11-23T05:00:00Z'));
const from = { address: 'no-reply@acdc.example', name: '外來人口自然人憑證 ACDC' };

const mail = applicationReceivedMail(CTX, {
  to: 'chen.dawen@example.com',
  applicationId: 'app_01',
  name: '陳大文',
  stationId: 'TPE01',
  paymentDeadline: '2026-12-08T15:59:59.000Z',
  fee: FEE,
});

describe('.eml outbox', () => {
  it('writes a well-formed multipart/alternative UTF-8 message that parses back exactly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
    const outbox = createOutboxMailer({ dir: join(dir, 'nested'), clock, from });
    const { messageId } = await outbox.send(mail);
    const [parsed, ...rest] = await readOutbox(join(dir, 'nested'));
    expect(rest).toHaveLength(0);
    expect(parsed!.file).toMatch(/^20261123T050000000Z-application-received-app_01-[0-9a-f]{8}\.eml$/);
    expect(parsed!.subject).toBe(mail.subject);
    expect(parsed!.text).toBe(mail.text);
    expect(parsed!.html).toBe(mail.html);
    expect(parsed!.messageId).toBe(messageId);
    expect(parsed!.date?.toISOString()).toBe('2026-11-23T05:00:00.000Z');
    expect(parsed!.from?.value[0]).toEqual({ address: from.address, name: from.name });
    expect(parsed!.to && !Array.isArray(parsed!.to) ? parsed!.to.value[0]?.address : undefined).toBe(
      'chen.dawen@example.com',
    );
    expect(templateOf(parsed!)).toBe('application-received');
    expect(parsed!.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    // RFC 5322: CRLF line ends only, no line over 78 characters, nothing but ASCII on the wire.
    const raw = parsed!.raw;
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(raw).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(raw).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    // No stray temporary file stays behind.
    expect((await readdir(join(dir, 'nested'))).filter((n) => !n.endsWith('.eml'))).toEqual([]);
  });

  it('wraps attachments in multipart/mixed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
    const outbox = createOutboxMailer({ dir, clock, from });
    const content = new Uint8Array(5000).map((_, i) => i % 251);
    await outbox.send({
      ...mail,
      attachments: [{ filename: '申請書 form.pdf', contentType: 'application/pdf', content }],
    });
    const [parsed] = await readOutbox(dir);
    expect(parsed!.headers.get('content-type')).toMatchObject({ value: 'multipart/mixed' });
    expect(parsed!.text).toBe(mail.text);
    expect(parsed!.attachments).toHaveLength(1);
    expect(parsed!.attachments[0]!.filename).toBe('申請書 form.pdf');
    expect(parsed!.attachments[0]!.contentType).toBe('application/pdf');
    expect(new Uint8Array(parsed!.attachments[0]!.content)).toEqual(content);
  });

  it('splits long subjects into encoded-words of at most 75 characters without cutting a character', async () => {
    const words = encodeWords('外來人口自然人憑證'.repeat(8));
    expect(words.length).toBeGreaterThan(1);
    for (const w of words) expect(w.length).toBeLessThanOrEqual(75);
    const decoded = words.map((w) => Buffer.from(w.slice(10, -2), 'base64').toString('utf8')).join('');
    expect(decoded).toBe('外來人口自然人憑證'.repeat(8));
    const parsed = await simpleParser(
      buildMimeMessage(
        { ...mail, subject: '外來人口自然人憑證'.repeat(8) },
        { from, date: clock.now(), messageId: 'x@y' },
      ),
    );
    expect(parsed.subject).toBe('外來人口自然人憑證'.repeat(8));
  });

  it('refuses header injection through the recipient or subject', () => {
    const opts = { from, date: clock.now(), messageId: 'x@y' };
    expect(() => buildMimeMessage({ ...mail, to: 'a@b.c\r\nBcc: evil@x.y' }, opts)).toThrow(ValidationError);
    expect(() => buildMimeMessage({ ...mail, subject: 'hi\r\nBcc: evil@x.y' }, opts)).toThrow(
      ValidationError,
    );
    expect(() => buildMimeMessage({ ...mail, to: 'a@b.c, evil@x.y' }, opts)).toThrow(ValidationError);
  });
});
