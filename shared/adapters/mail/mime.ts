import { randomBytes } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import type { OutgoingMail } from '../../ports/mailer.js';

/**
 * A small RFC 5322 / MIME writer for our own mails: UTF-8 everywhere, bodies in base64 (so no line is
 * ever too long and any script survives any relay), non-ASCII header text as RFC 2047 encoded-words,
 * text + HTML as multipart/alternative, attachments around that as multipart/mixed. CRLF line ends.
 * The same bytes go to the local outbox (.eml) and to SES as raw content.
 */

export interface MailAddress {
  address: string;
  name?: string;
}

export interface MimeOptions {
  from: MailAddress;
  date: Date;
  /** Without angle brackets, e.g. `1732370000.abcd@acdc.local`. */
  messageId: string;
}

const CRLF = '\r\n';

const noLineBreaks = (field: string, v: string): string => {
  if (/[\r\n]/.test(v)) throw new ValidationError(field, 'mail.header', 'must not contain line breaks');
  return v;
};

const isPrintableAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/**
 * RFC 2047 B-encoded words (at most 75 characters each). 39 bytes of UTF-8 become 52 base64 characters,
 * 64 with `=?UTF-8?B?` and `?=`, so even the first word after `Subject: ` keeps its line under 78.
 * A character is never split across two words.
 */
export const encodeWords = (text: string, maxBytes = 39): string[] => {
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (size === 0) return;
    words.push(`=?UTF-8?B?${Buffer.concat(chunk).toString('base64')}?=`);
    chunk = [];
    size = 0;
  };
  for (const ch of text) {
    const b = Buffer.from(ch, 'utf8');
    if (size + b.length > maxBytes) flush();
    chunk.push(b);
    size += b.length;
  }
  flush();
  return words;
};

/** An unstructured header value: as is when short printable ASCII, else folded encoded-words. */
export const encodeHeaderText = (text: string): string => {
  if (isPrintableAscii(text) && text.length <= 900) return text;
  return encodeWords(text).join(`${CRLF} `);
};

export const formatAddress = (a: MailAddress): string => {
  const address = noLineBreaks('to', a.address);
  if (!/^[^\s<>@",]+@[^\s<>@",]+$/.test(address))
    throw new ValidationError('to', 'mail.address', 'is not a single plain e-mail address');
  if (!a.name) return address;
  const name = noLineBreaks('from', a.name);
  const display = isPrintableAscii(name)
    ? `"${name.replace(/(["\\])/g, '\\$1')}"`
    : encodeWords(name).join(`${CRLF} `);
  return isPrintableAscii(name) ? `${display} <${address}>` : `${display}${CRLF} <${address}>`;
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC: `Mon, 23 Nov 2026 13:54:07 +0000`. */
export const formatMailDate = (d: Date): string => {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
};

/** base64 in lines of 76 characters (RFC 2045). */
const base64Lines = (data: Uint8Array): string =>
  (
    Buffer.from(data)
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join(CRLF);

const boundary = () => `=_acdc_${randomBytes(9).toString('hex')}`;

const textPart = (contentType: string, body: string): string =>
  [
    `Content-Type: ${contentType}; charset=UTF-8`,
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(Buffer.from(body, 'utf8')),
  ].join(CRLF);

const multipart = (subtype: string, parts: string[]): string => {
  const b = boundary();
  return [
    `Content-Type: multipart/${subtype}; boundary="${b}"`,
    '',
    'This is a multi-part message in MIME format.',
    ...parts.map((p) => `--${b}${CRLF}${p}`),
    `--${b}--`,
    '',
  ].join(CRLF);
};

const filenameParams = (filename: string): string => {
  const name = noLineBreaks('attachments.filename', filename);
  if (isPrintableAscii(name) && !/["\\]/.test(name)) return `filename="${name}"`;
  return `filename*=UTF-8''${encodeURIComponent(name)}`;
};

const attachmentPart = (a: NonNullable<OutgoingMail['attachments']>[number]): string =>
  [
    `Content-Type: ${noLineBreaks('attachments.contentType', a.contentType)}`,
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; ${filenameParams(a.filename)}`,
    '',
    base64Lines(a.content),
  ].join(CRLF);

/** The complete message, ready for an .eml file or SES raw content. */
export const buildMimeMessage = (mail: OutgoingMail, opts: MimeOptions): Buffer => {
  const alternative = mail.html
    ? multipart('alternative', [textPart('text/plain', mail.text), textPart('text/html', mail.html)])
    : textPart('text/plain', mail.text);
  const body =
    mail.attachments && mail.attachments.length > 0
      ? multipart('mixed', [alternative, ...mail.attachments.map(attachmentPart)])
      : alternative;
  const headers = [
    `From: ${formatAddress(opts.from)}`,
    `To: ${formatAddress({ address: mail.to })}`,
    `Subject: ${encodeHeaderText(noLineBreaks('subject', mail.subject))}`,
    `Date: ${formatMailDate(opts.date)}`,
    `Message-ID: <${noLineBreaks('messageId', opts.messageId)}>`,
    'MIME-Version: 1.0',
    `X-ACDC-Template: ${encodeHeaderText(noLineBreaks('template', mail.template))}`,
    `X-ACDC-Reference: ${encodeHeaderText(noLineBreaks('reference', mail.reference))}`,
  ];
  return Buffer.from(`${headers.join(CRLF)}${CRLF}${body}`, 'utf8');
};

/** A fresh Message-ID local part @ the sender's domain. */
export const newMessageId = (from: MailAddress, date: Date): string =>
  `${date.getTime()}.${randomBytes(8).toString('hex')}@${from.address.split('@')[1] ?? 'localhost'}`;
