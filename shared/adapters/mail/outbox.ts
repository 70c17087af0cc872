import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DependencyError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Mailer, OutgoingMail } from '../../ports/mailer.js';
import { buildMimeMessage, type MailAddress, newMessageId } from './mime.js';

/**
 * The local mailer: every mail becomes an RFC 5322 .eml file in an outbox folder, where a person opens it
 * with any mail client and tests parse it. Files are written under a temporary name and renamed, so a
 * reader never sees half a message. Names sort by time: `<UTC time>-<template>-<reference>-<random>.eml`.
 */

export interface OutboxMailerOptions {
  dir: string;
  clock: Clock;
  from: MailAddress;
}

export const DEFAULT_FROM: MailAddress = { address: 'no-reply@acdc.local', name: '外來人口自然人憑證 ACDC' };

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);

export const createOutboxMailer = (opts: OutboxMailerOptions): Mailer & { readonly dir: string } => {
  let ready: Promise<unknown> | undefined;
  return {
    dir: opts.dir,
    async send(mail: OutgoingMail) {
      const date = opts.clock.now();
      const messageId = newMessageId(opts.from, date);
      const bytes = buildMimeMessage(mail, { from: opts.from, date, messageId });
      const stamp = date.toISOString().replace(/[-:]/g, '').replace('.', '');
      const name = `${stamp}-${safe(mail.template)}-${safe(mail.reference)}-${randomBytes(4).toString('hex')}.eml`;
      try {
        ready ??= mkdir(opts.dir, { recursive: true });
        await ready;
        const tmp = join(opts.dir, `.${name}.tmp`);
        await writeFile(tmp, bytes, { mode: 0o600 });
        await rename(tmp, join(opts.dir, name));
      } catch (e) {
        ready = undefined;
        throw new DependencyError('could not write the mail to the outbox', { cause: e });
      }
      return { messageId: `<${messageId}>` };
    },
  };
};
