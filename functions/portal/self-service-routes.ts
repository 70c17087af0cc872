import {
  ActivationResponse,
  CardCertificatesResponse,
  CardPathParams,
  CardStateResponse,
  CodeChallengeRequest,
  CodeChallengeResponse,
  CodeChangeRequest,
  CodeChangeResponse,
  CodeRetrievalRequest,
  CodeRetrievalResponse,
  EmailChangeRequest,
  EmailChangeResponse,
  PinUnblockResponse,
  SubscriberCodeRequest,
  UnblockRequest,
} from '../../shared/contracts/holder.js';
import { route } from '../http/spec.js';

/**
 * The holder's self-service on a card: activation, PIN unblock, subscriber code retrieval and change,
 * suspension, resumption, e-mail change. Each is authorized by the subscriber code (counted towards the
 * 4-failure lock) or, for the code change, by a signature of the card's own key; none needs a session,
 * except reading the card's certificates back.
 */

const codeErrors = {
  400: { description: 'A malformed field (named)' },
  401: { description: 'Wrong subscriber code (counts towards the lock)' },
  404: { description: 'No issued card with this number' },
  409: { description: 'The card is not in a state that allows this (the rule is named)' },
  423: { description: 'The subscriber code is locked after 4 wrong tries: change it with the card' },
} as const;

export const selfServiceRoutes = [
  route({
    id: 'portal.activateCard',
    method: 'POST',
    path: '/v1/portal/cards/{cardNumber}/activation',
    auth: 'public',
    fn: 'portal',
    summary:
      'Activate a mailed card: the subscriber code buys a single-use, 5-minute authorization for the challenge the card showed; the card then takes the first PIN. Repeating it on an active card (the card did not take the PIN) gives a fresh authorization.',
    params: CardPathParams,
    body: UnblockRequest,
    responses: { 200: { description: 'Activated', schema: ActivationResponse }, ...codeErrors },
  }),
  route({
    id: 'portal.unblockPin',
    method: 'POST',
    path: '/v1/portal/cards/{cardNumber}/pin-unblock',
    auth: 'public',
    fn: 'portal',
    summary:
      "PIN unblock (forgotten or locked PIN) of an active card: a single-use, 5-minute authorization bound to this card's challenge.",
    params: CardPathParams,
    body: UnblockRequest,
    responses: { 200: { description: 'Authorization', schema: PinUnblockResponse }, ...codeErrors },
  }),
  route({
    id: 'portal.retrieveSubscriberCode',
    method: 'POST',
    path: '/v1/portal/subscriber-code/retrieval',
    auth: 'public',
    fn: 'portal',
    summary:
      'Re-send the initial subscriber code to the registered e-mail (before activation only). The answer is the same whether or not the ARC number and e-mail matched; at most 3 requests per ARC number per hour.',
    body: CodeRetrievalRequest,
    responses: {
      202: { description: 'Accepted', schema: CodeRetrievalResponse },
      400: { description: 'A malformed field (named)' },
      429: { description: 'Too many requests for this ARC number; see Retry-After' },
    },
  }),
  route({
    id: 'portal.subscriberCodeChallenge',
    method: 'POST',
    path: '/v1/portal/subscriber-code/challenge',
    auth: 'public',
    fn: 'portal',
    summary:
      "Step 1 of a subscriber code change: a 5-minute nonce and the exact message the card's signature key must sign.",
    body: CodeChallengeRequest,
    responses: {
      201: { description: 'Nonce', schema: CodeChallengeResponse },
      404: { description: 'No issued card with this number' },
    },
  }),
  route({
    id: 'portal.changeSubscriberCode',
    method: 'PUT',
    path: '/v1/portal/subscriber-code',
    auth: 'public',
    fn: 'portal',
    summary:
      "Step 2: change the subscriber code, proved by the card's signature (PIN-protected on the card) over the challenge message. Clears failures and the lock; the old code is not needed.",
    body: CodeChangeRequest,
    responses: {
      200: { description: 'Changed', schema: CodeChangeResponse },
      400: { description: 'A malformed field (named)' },
      401: { description: 'The signature does not verify, or the nonce is unknown, used or expired' },
      409: { description: 'The signature certificate is not good (card suspended or revoked)' },
    },
  }),
  route({
    id: 'portal.suspendCard',
    method: 'POST',
    path: '/v1/portal/cards/{cardNumber}/suspension',
    auth: 'public',
    fn: 'portal',
    summary:
      'Suspend (card lost): both certificates on hold (certificateHold in the CRL and OCSP). Repeating it changes nothing.',
    params: CardPathParams,
    body: SubscriberCodeRequest,
    responses: { 200: { description: 'Suspended', schema: CardStateResponse }, ...codeErrors },
  }),
  route({
    id: 'portal.resumeCard',
    method: 'POST',
    path: '/v1/portal/cards/{cardNumber}/resumption',
    auth: 'public',
    fn: 'portal',
    summary:
      'Resume a suspended card (holder or fax suspension): the hold is lifted. A revoked card cannot be resumed (409 card.revoked).',
    params: CardPathParams,
    body: SubscriberCodeRequest,
    responses: { 200: { description: 'Resumed', schema: CardStateResponse }, ...codeErrors },
  }),
  route({
    id: 'portal.changeEmail',
    method: 'PUT',
    path: '/v1/portal/cards/{cardNumber}/email',
    auth: 'public',
    fn: 'portal',
    summary:
      'Put a new e-mail in the certificates: both are re-issued on the same card keys and the old ones revoked (superseded). The card client writes the new ones to the card.',
    params: CardPathParams,
    body: EmailChangeRequest,
    responses: { 200: { description: 'Re-issued', schema: EmailChangeResponse }, ...codeErrors },
  }),
  route({
    id: 'portal.cardCertificates',
    method: 'GET',
    path: '/v1/portal/cards/{cardNumber}/certificates',
    auth: 'holder',
    fn: 'portal',
    summary:
      "The card's current certificates and CA chain, for the card client to write to the card (after an e-mail change). Needs a holder session of the card's own application.",
    params: CardPathParams,
    responses: {
      200: { description: 'Certificates', schema: CardCertificatesResponse },
      401: { description: 'No or expired session' },
      404: { description: 'No card of this session with this number' },
    },
  }),
] as const;
