import * as z from 'zod';
import { CARD_NUMBER_PATTERN, isTaiwanRegisteredMail } from '../card/numbers.js';
import { MailingAddress } from './station.js';

/**
 * The wire contract between the card personalization bureau's agent (card-station/) and the cloud:
 * blank stock enrollment, the job lease, its heartbeat, completion, mailing and failure. The route
 * specs, the use cases (shared/usecases/card-station.ts) and the agent's HTTP client all use these
 * schemas and types. The caller is a card station machine identity (bearer JWT); `agentId` names the
 * agent process instance on that machine, so two agents of one bureau never share a lease.
 */

const Iso = z.string().describe('ISO-8601 date-time (UTC)');
const Base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest, 64 lower-case hex digits');
const SerialHex = z
  .string()
  .regex(
    /^[1-9a-f][0-9a-f]{0,39}$/,
    'must be a certificate serial number in lower-case hex, no leading zeros',
  );

export const CardNumber = z
  .string()
  .regex(CARD_NUMBER_PATTERN, 'must be two capital letters followed by 14 digits, e.g. TP00000000000123');

export const KeyAlgorithm = z.enum(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384']);

/** An agent instance on a card station machine: letters, digits, `.`, `_`, `-`, `:`. */
export const AgentId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1–64 letters, digits, ".", "_", "-" or ":"');

export const CardJobId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be a card job id as given by the lease');

// ---------------------------------------------------------------------------------------------------
// POST /v1/card-station/inventory

export const EnrolledKey = z
  .object({
    /** PKCS#10 request signed by the key itself (proof of possession), PEM or base64 DER. */
    csr: z.string().min(1, 'is required').max(16_384, 'is too long for a certification request'),
    algorithm: KeyAlgorithm,
    /** CKA_ID of the key pair on the card, hex. */
    keyId: z.string().regex(/^[0-9a-f]{2,64}$/, 'must be the key pair CKA_ID in lower-case hex'),
  })
  .strict();
export type EnrolledKey = z.infer<typeof EnrolledKey>;

export const EnrolledCard = z
  .object({
    cardNumber: CardNumber,
    keys: z.object({ signature: EnrolledKey, encryption: EnrolledKey }).strict(),
  })
  .strict();
export type EnrolledCard = z.infer<typeof EnrolledCard>;

export const InventoryRequest = z
  .object({
    /** Free label of the delivery of blank cards (a batch or lot number), for the audit trail. */
    batch: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1–40 letters, digits, ".", "_" or "-"')
      .optional(),
    cards: z
      .array(EnrolledCard)
      .min(1, 'must list at least one card')
      .max(100, 'must list at most 100 cards'),
  })
  .strict();
export type InventoryRequest = z.infer<typeof InventoryRequest>;

export const InventoryResponse = z.object({
  enrolled: z.array(
    z.object({
      cardNumber: CardNumber,
      status: z.literal('blank'),
      /** False when the card was already enrolled with the same keys (a retried enrollment). */
      created: z.boolean(),
    }),
  ),
});
export type InventoryResponse = z.infer<typeof InventoryResponse>;

// ---------------------------------------------------------------------------------------------------
// POST /v1/card-station/jobs/lease  → 200 LeasedJob | 204 (nothing to do)

export const LeaseRequest = z
  .object({
    agentId: AgentId,
    /** Resume this job (after an agent restart): granted if it is leasable or already leased by this agent. */
    jobId: CardJobId.optional(),
  })
  .strict();
export type LeaseRequest = z.infer<typeof LeaseRequest>;

export const LeasedJob = z.object({
  id: CardJobId,
  applicationId: z.string(),
  cardNumber: CardNumber,
  /** Both holder certificates and the CA chain (issuing CA first), DER base64, to write to the card. */
  certificates: z.object({ signature: Base64, encryption: Base64, chain: z.array(Base64) }),
  /** What the card face shows. `expiry` is YYYY-MM-DD. */
  holder: z.object({ name: z.string(), expiry: z.string() }),
  mailingAddress: MailingAddress,
  /** How many times this job has been leased, this lease included. */
  attempts: z.number().int(),
  lease: z.object({ owner: z.string(), expiresAt: Iso }),
  /**
   * The card's admin key K_card (base64), to inject at the end of personalization. Never stored by the
   * station; a re-lease gives it again.
   */
  cardAdminKey: Base64,
});
export type LeasedJob = z.infer<typeof LeasedJob>;

export const JobPathParams = z.object({ id: CardJobId }).strict();

// ---------------------------------------------------------------------------------------------------
// POST /v1/card-station/jobs/{id}/heartbeat

export const HeartbeatRequest = z.object({ agentId: AgentId }).strict();
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const HeartbeatResponse = z.object({ jobId: CardJobId, leaseExpiresAt: Iso });
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

// ---------------------------------------------------------------------------------------------------
// POST /v1/card-station/jobs/{id}/complete  (idempotent)

const WrittenCertificate = z.object({ serialNumber: SerialHex, sha256: Sha256Hex }).strict();

/** What the agent read back from the card after writing it. */
export const WrittenCertificatesBody = z
  .object({
    signature: WrittenCertificate,
    encryption: WrittenCertificate,
    chain: z.array(Sha256Hex).max(8, 'must list at most 8 CA certificates'),
  })
  .strict();

export const CompleteRequest = z
  .object({
    agentId: AgentId,
    written: WrittenCertificatesBody,
    /** Key check value of the admin key the card holds (adminKeyCheckValue), 16 hex digits. */
    adminKeyCheck: z
      .string()
      .regex(/^[0-9a-f]{16}$/, 'must be the 16-hex-digit key check value read from the card'),
  })
  .strict();
export type CompleteRequest = z.infer<typeof CompleteRequest>;

export const CompleteResponse = z.object({
  jobId: CardJobId,
  cardNumber: CardNumber,
  status: z.literal('completed'),
  completedAt: Iso,
});
export type CompleteResponse = z.infer<typeof CompleteResponse>;

// ---------------------------------------------------------------------------------------------------
// POST /v1/card-station/jobs/{id}/mailed  (idempotent for the same tracking number)

export const TrackingNumber = z
  .string()
  .refine(
    isTaiwanRegisteredMail,
    'must be a registered-mail number in UPU S10 format posted in Taiwan, e.g. RR123456785TW (check digit included)',
  );

export const MailedRequest = z.object({ agentId: AgentId, trackingNumber: TrackingNumber }).strict();
export type MailedRequest = z.infer<typeof MailedRequest>;

export const MailedResponse = z.object({
  jobId: CardJobId,
  cardNumber: CardNumber,
  status: z.literal('mailed'),
  trackingNumber: z.string(),
  mailedAt: Iso,
});
export type MailedResponse = z.infer<typeof MailedResponse>;

// ---------------------------------------------------------------------------------------------------
// POST /v1/card-station/jobs/{id}/failure  (the card is spoiled; idempotent)

export const FAILURE_REASONS = [
  'card_defective', // the chip does not answer, keys missing or unusable
  'write_failed', // certificates could not be written or do not read back right
  'print_failed', // the card face was misprinted
  'certificate_mismatch', // the job's certificates are not for this card's keys
  'damaged', // physically damaged in handling
  'lost', // the card cannot be found in the bureau
] as const;

export const FailureRequest = z
  .object({
    agentId: AgentId,
    reason: z.enum(FAILURE_REASONS),
    /** Free text for ops; no personal data. */
    detail: z.string().max(500, 'must be at most 500 characters').optional(),
  })
  .strict();
export type FailureRequest = z.infer<typeof FailureRequest>;

export const FailureResponse = z.object({
  jobId: CardJobId,
  cardNumber: CardNumber,
  status: z.literal('failed'),
  cardStatus: z.literal('spoiled'),
  failureReason: z.string(),
});
export type FailureResponse = z.infer<typeof FailureResponse>;
