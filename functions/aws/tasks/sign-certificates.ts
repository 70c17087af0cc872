import * as z from 'zod';
import type { IssueCardCertificatesInput } from '../../../shared/ca/issuer.js';
import { ValidationError } from '../../../shared/errors.js';
import { answer, certificateAuthority, checkReissueRequest } from '../ca.js';
import { measured, taskHandler, taskServiceName } from '../workflow.js';

/**
 * The issuance signer: the only function whose role the issuing CA key's policy lets sign certificates.
 * It runs the `signCertificates` task of the state machine, and answers one other caller: the portal's
 * e-mail change, which re-issues a card's certificates (`{ op: 'issueCardCertificates', input }`). That
 * request is checked against the records first (checkReissueRequest), so the portal can choose the e-mail
 * and nothing else.
 */

const SERVICE = taskServiceName('signCertificates');
const task = taskHandler('signCertificates');

const ReissueEvent = z.object({
  op: z.literal('issueCardCertificates'),
  input: z.object({
    applicationId: z.string().min(1).max(128),
    cardNumber: z.string().min(1).max(32),
    holderName: z.string().min(1).max(256),
    subjectSerial: z.string().regex(/^\d{16}$/),
    email: z.string().max(254).optional(),
    keys: z.record(z.string(), z.unknown()),
    actor: z.object({ type: z.string(), id: z.string() }).passthrough(),
  }),
});

const reissue = async (event: unknown) => {
  const parsed = ReissueEvent.safeParse(event);
  if (!parsed.success) throw new ValidationError('input', 'reissue.event', parsed.error.issues[0]!.message);
  const input = parsed.data.input as unknown as IssueCardCertificatesInput;
  await checkReissueRequest(input);
  return (await certificateAuthority(SERVICE)).issueCardCertificates(input);
};

export const handler = async (event: unknown) => {
  if ((event as { op?: unknown } | null)?.op === 'issueCardCertificates') {
    return measured(() => answer(() => reissue(event)));
  }
  return task(event);
};
