import { type SESv2Client, SendEmailCommand, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { DependencyError, InternalError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Mailer, OutgoingMail } from '../../ports/mailer.js';
import { buildMimeMessage, formatAddress, type MailAddress, newMessageId } from './mime.js';

/**
 * Amazon SES (v2 API) mailer. Mails without attachments go as "simple" content (SES builds the MIME);
 * mails with attachments go as raw content built by our own MIME writer, the same bytes as the outbox.
 * Throttling and service faults are DependencyError (the caller or the workflow retries); a rejected
 * message (bad address, unverified sender) is an InternalError: retrying the same mail cannot help.
 */

export interface SesMailerOptions {
  client: SESv2Client;
  from: MailAddress;
  clock: Clock;
  /** SES configuration set (event publishing, suppression), optional. */
  configurationSetName?: string;
}

const RETRYABLE = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'SendingPausedException',
  'InternalFailure',
  'ServiceUnavailable',
  'ThrottlingException',
]);

export const createSesMailer = (opts: SesMailerOptions): Mailer => ({
  async send(mail: OutgoingMail) {
    const from = formatAddress(opts.from);
    const to = formatAddress({ address: mail.to });
    const tags = [{ Name: 'template', Value: mail.template.replace(/[^A-Za-z0-9_-]/g, '_') }];
    const date = opts.clock.now();
    const input: SendEmailCommandInput = {
      FromEmailAddress: from,
      Destination: { ToAddresses: [to] },
      EmailTags: tags,
      ...(opts.configurationSetName ? { ConfigurationSetName: opts.configurationSetName } : {}),
      Content:
        mail.attachments && mail.attachments.length > 0
          ? {
              Raw: {
                Data: buildMimeMessage(mail, {
                  from: opts.from,
                  date,
                  messageId: newMessageId(opts.from, date),
                }),
              },
            }
          : {
              Simple: {
                Subject: { Data: mail.subject, Charset: 'UTF-8' },
                Body: {
                  Text: { Data: mail.text, Charset: 'UTF-8' },
                  ...(mail.html ? { Html: { Data: mail.html, Charset: 'UTF-8' } } : {}),
                },
              },
            },
    };
    try {
      const out = await opts.client.send(new SendEmailCommand(input));
      if (!out.MessageId) throw new DependencyError('SES accepted the mail without a message id');
      return { messageId: out.MessageId };
    } catch (e) {
      if (e instanceof DependencyError) throw e;
      const err = e as { name?: string; $fault?: string; $retryable?: unknown };
      if (RETRYABLE.has(err.name ?? '') || err.$fault === 'server' || err.$retryable)
        throw new DependencyError('SES could not take the mail now', { cause: e });
      throw new InternalError(`SES refused the mail (${err.name ?? 'unknown error'})`, { cause: e });
    }
  },
});
