import * as z from 'zod';

/**
 * The wire contract of the holder's self-service: activation, PIN unblock, subscriber code retrieval and
 * change, suspension, resumption, e-mail change and the card's certificates. The route specs
 * (functions/portal/self-service-routes.ts), the use cases (shared/usecases/holder.ts), the card client
 * (card-client/) and the demo all use these schemas and types, so they cannot drift.
 *
 * Field shapes only: whether a code is right, a card may be activated, … is the domain's business.
 */

// ---------------------------------------------------------------------------------------------------
// Field schemas shared with the query and ops contracts

/** IC card number as printed on the card face: two capital letters and 14 digits. */
export const CARD_NUMBER_PATTERN = /^[A-Z]{2}\d{14}$/;
export const CardNumber = z
  .string()
  .regex(CARD_NUMBER_PATTERN, 'must be two capital letters followed by 14 digits, e.g. AC00000000000123');

/**
 * A subscriber code as the holder types it. Only its shape is checked here (6–10 letters or digits), so
 * that a code of the wrong length is a 400 and not a failure counted towards the lock.
 */
export const SubscriberCode = z
  .string()
  .regex(/^[A-Za-z0-9]{6,10}$/, 'must be 6–10 letters or digits, as printed on the application form');

/** The card's single-use unblock challenge: 16 random bytes, lower-case hex. */
export const CardChallenge = z
  .string()
  .regex(/^[0-9a-f]{32}$/, 'must be the 16-byte challenge read from the card, as 32 lower-case hex digits');

/** Certificate serial number: lower-case hex, positive, no leading zero, 8 to 20 octets. */
export const SerialNumber = z
  .string()
  .regex(/^[1-9a-f][0-9a-f]{15,39}$/, 'must be a certificate serial number: 16–40 lower-case hex digits');

export const Email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be an e-mail address'));

export const ArcNumber = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^[A-Z][A-D89]\d{8}$/, 'must be the 10-character ARC (UI) number, e.g. A800000014');

const Iso = z.string().describe('ISO-8601 date-time (UTC)');
const Der = z.string().describe('DER, base64');

// ---------------------------------------------------------------------------------------------------
// Path parameters

export const CardPathParams = z.object({ cardNumber: CardNumber }).strict();

// ---------------------------------------------------------------------------------------------------
// Activation and PIN unblock: the subscriber code buys an unblock authorization for the card's challenge

export const UnblockRequest = z.object({ subscriberCode: SubscriberCode, challenge: CardChallenge }).strict();
export type UnblockRequest = z.infer<typeof UnblockRequest>;

/**
 * What the card verifies before it lets a new PIN be set (see shared/card/unblock.ts): a MAC under the
 * card's own admin key over the card's challenge and an expiry. It opens exactly one PIN change on
 * exactly that card, once, until `expiresAt`.
 */
export const UnblockAuthorization = z.object({
  cardNumber: CardNumber,
  challenge: CardChallenge,
  expiresAt: Iso,
  mac: z.string().describe('HMAC-SHA256 under the card admin key, lower-case hex'),
});
export type UnblockAuthorization = z.infer<typeof UnblockAuthorization>;

export const ActivationResponse = z.object({
  cardNumber: CardNumber,
  status: z.literal('active'),
  activatedAt: Iso,
  /** True when the card was already active (a retry after the card did not take the first PIN). */
  repeated: z.boolean(),
  authorization: UnblockAuthorization,
});
export type ActivationResponse = z.infer<typeof ActivationResponse>;

export const PinUnblockResponse = z.object({ cardNumber: CardNumber, authorization: UnblockAuthorization });
export type PinUnblockResponse = z.infer<typeof PinUnblockResponse>;

// ---------------------------------------------------------------------------------------------------
// Subscriber code: retrieval (before activation) and change (proved with the card)

export const CodeRetrievalRequest = z.object({ arcNumber: ArcNumber, email: Email }).strict();
export type CodeRetrievalRequest = z.infer<typeof CodeRetrievalRequest>;

/** The same answer whether or not the ARC number and e-mail matched, so nobody can probe who applied. */
export const CodeRetrievalResponse = z.object({ accepted: z.literal(true), message: z.string() });
export type CodeRetrievalResponse = z.infer<typeof CodeRetrievalResponse>;

export const CodeChallengeRequest = z.object({ cardNumber: CardNumber }).strict();
export type CodeChallengeRequest = z.infer<typeof CodeChallengeRequest>;

export const CodeChallengeResponse = z.object({
  cardNumber: CardNumber,
  nonce: z.string(),
  expiresAt: Iso,
  /** The exact text the card's signature key signs (UTF-8), see `codeChangeMessage`. */
  message: z.string(),
});
export type CodeChallengeResponse = z.infer<typeof CodeChallengeResponse>;

export const CodeChangeRequest = z
  .object({
    cardNumber: CardNumber,
    nonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the nonce given by the challenge step'),
    signature: z
      .string()
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64')
      .max(2048, 'is too long for a signature'),
    newSubscriberCode: SubscriberCode,
  })
  .strict();
export type CodeChangeRequest = z.infer<typeof CodeChangeRequest>;

export const CodeChangeResponse = z.object({ cardNumber: CardNumber, changedAt: Iso });
export type CodeChangeResponse = z.infer<typeof CodeChangeResponse>;

/** Purpose label inside the signed message: a signature made for anything else never changes a code. */
export const CODE_CHANGE_PURPOSE = 'acdc/subscriber-code-change/v1';

/**
 * The canonical message the card's signature key signs to prove possession of the card (and of its
 * PIN) for a subscriber code change. RSA PKCS#1 v1.5 with SHA-256 over these UTF-8 bytes (ECDSA with
 * SHA-256, DER, for an EC key). One line per field, fixed order, no trailing newline.
 */
export const codeChangeMessage = (m: { cardNumber: string; nonce: string }): string =>
  [CODE_CHANGE_PURPOSE, `cardNumber=${m.cardNumber}`, `nonce=${m.nonce}`].join('\n');

// ---------------------------------------------------------------------------------------------------
// Suspension and resumption

export const SubscriberCodeRequest = z.object({ subscriberCode: SubscriberCode }).strict();
export type SubscriberCodeRequest = z.infer<typeof SubscriberCodeRequest>;

export const CertificateStatusItem = z.object({
  serialNumber: SerialNumber,
  profile: z.enum(['holder-signature', 'holder-encryption']),
  status: z.enum(['reserved', 'good', 'hold', 'revoked', 'abandoned']),
});

export const CardStateResponse = z.object({
  cardNumber: CardNumber,
  status: z.enum([
    'blank',
    'allocated',
    'personalized',
    'mailed',
    'active',
    'suspended',
    'revoked',
    'spoiled',
  ]),
  /** False when the card was already in the asked-for state (a repeated request changes nothing). */
  changed: z.boolean(),
  suspendedAt: Iso.optional(),
  suspendedBy: z.enum(['holder', 'ops']).optional(),
  revokedAt: Iso.optional(),
  certificates: z.array(CertificateStatusItem),
});
export type CardStateResponse = z.infer<typeof CardStateResponse>;

// ---------------------------------------------------------------------------------------------------
// E-mail change and the card's certificates

export const EmailChangeRequest = z.object({ subscriberCode: SubscriberCode, email: Email }).strict();
export type EmailChangeRequest = z.infer<typeof EmailChangeRequest>;

export const IssuedCertificate = z.object({ serialNumber: SerialNumber, der: Der });

/** What the card client writes to the card: both certificates and the CA chain (issuing CA first). */
export const CardCertificatesResponse = z.object({
  cardNumber: CardNumber,
  signature: IssuedCertificate,
  encryption: IssuedCertificate,
  chain: z.array(Der),
});
export type CardCertificatesResponse = z.infer<typeof CardCertificatesResponse>;

export const EmailChangeResponse = CardCertificatesResponse.extend({
  changed: z.boolean(),
  /** Serial numbers of the certificates this change superseded (revoked, reason superseded). */
  superseded: z.array(SerialNumber),
});
export type EmailChangeResponse = z.infer<typeof EmailChangeResponse>;
