import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { simpleParser } from 'mailparser';
import { createSesMailer } from '../../shared/adapters/mail/ses.js';
import { DependencyError, InternalError } from '../../shared/errors.js';
import { cardShippedMail } from '../../shared/mail/templates.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import { CTX } from './fixtures.js';

const ses = mockClient(SESv2Client);
const clock = new AdjustableClock(undefined, new Date('2026-11-23T05:00:00Z'));
const from = { address: 'no-reply@acdc.example', name: 'ACDC' };
const mailer = createSesMailer({
  client: new SESv2Client({ region: 'ap-east-2' }),
  from,
  clock,
  configurationSetName: 'acdc',
});
const mail = cardShippedMail(CTX, {
  to: 'ana@example.com',
  applicationId: 'app_01',
  name: 'Ana',
  trackingNumber: '12345678901234567890',
  mailedAt: '2026-11-30T01:00:00.000Z',
});

describe('SES v2 mailer', () => {
  beforeEach(() => ses.reset());

  it('sends simple content (UTF-8 subject, text and HTML) and returns the SES message id', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    expect(await mailer.send(mail)).toEqual({ messageId: 'ses-1' });
    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      FromEmailAddress: '"ACDC" <no-reply@acdc.example>',
      Destination: { ToAddresses: ['ana@example.com'] },
      ConfigurationSetName: 'acdc',
      EmailTags: [{ Name: 'template', Value: 'card-shipped' }],
      Content: {
        Simple: {
          Subject: { Data: mail.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
        },
      },
    });
  });

  it('sends raw MIME when the mail has attachments', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-2' });
    const content = new Uint8Array([37, 80, 68, 70, 45]);
    await mailer.send({
      ...mail,
      attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', content }],
    });
    const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(input.Content?.Simple).toBeUndefined();
    const parsed = await simpleParser(Buffer.from(input.Content!.Raw!.Data!));
    expect(parsed.subject).toBe(mail.subject);
    expect(parsed.text).toBe(mail.text);
    expect(new Uint8Array(parsed.attachments[0]!.content)).toEqual(content);
  });

  it('throttling is a retryable DependencyError', async () => {
    ses
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' }));
    await expect(mailer.send(mail)).rejects.toBeInstanceOf(DependencyError);
  });

  it('a rejected message is not retryable', async () => {
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('rejected'), { name: 'MessageRejected' }));
    const e = await mailer.send(mail).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InternalError);
    expect((e as InternalError).retryable).toBe(false);
  });
});
