import * as z from 'zod';
import type { IssueCardCertificatesInput } from '../../../shared/ca/issuer.js';
import { ForbiddenError, ValidationError } from '../../../shared/errors.js';
import type { Repository } from '../../../shared/ports/repository.js';
import { answer, certificateAuthority, checkReissueRequest } from '../ca.js';
import { repository } from '../deps.js';
import { measured, taskHandler, taskServiceName } from '../workflow.js';

/**
 * The issuance signer: the only function whose role the issuing CA key's policy lets sign certificates.
 * It runs the `signCertificates` task of the state machine, and answers one other caller: the portal's
 * e-mail change, which re-issues a card's certificates (`{ op: 'issueCardCertificates', input }`). That
 * request is checked against the records first (checkReissueRequest, checkReissueScope), so the portal
 * can choose the e-mail and nothing else: a re-issue (with an issuance id) of the card's own pair, which
 * the CA revokes as superseded once the new pair is stored.
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
    issuance: z.string().min(1).max(64),
    supersedes: z.array(z.string().regex(/^[0-9a-f]{1,40}$/)).length(2),
  }),
});

/** The portal's re-issue request as the signer takes it (schema only; the records are checked next). */
export const parseReissueEvent = (event: unknown): IssueCardCertificatesInput => {
  const parsed = ReissueEvent.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(
      `input.${issue.path.slice(1).join('.')}`.replace(/\.$/, ''),
      'reissue.event',
      issue.message,
    );
  }
  return parsed.data.input as unknown as IssueCardCertificatesInput;
};

/**
 * A portal re-issue replaces exactly the pair the card record names (the pair in force), so the portal
 * can neither take the card's first issuance (no issuance id) nor supersede anything else.
 */
export const checkReissueScope = async (
  input: IssueCardCertificatesInput,
  repo: Pick<Repository, 'cards'> = repository(),
): Promise<void> => {
  const card = await repo.cards.get(input.cardNumber);
  const inForce = [card?.certificateSerials?.signature, card?.certificateSerials?.encryption];
  const asked = input.supersedes ?? [];
  if (!input.issuance || asked.length !== 2 || !inForce.every((s) => s !== undefined && asked.includes(s))) {
    throw new ForbiddenError('re-issue refused: it must supersede the pair in force on the card record');
  }
};

const reissue = async (event: unknown) => {
  const input = parseReissueEvent(event);
  await checkReissueRequest(input);
  await checkReissueScope(input);
  return (await certificateAuthority(SERVICE)).issueCardCertificates(input);
};

export const handler = async (event: unknown) => {
  if ((event as { op?: unknown } | null)?.op === 'issueCardCertificates') {
    return measured(() => answer(() => reissue(event)));
  }
  return task(event);
};
