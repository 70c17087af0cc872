import type { ApplicationStatus, CardJobStatus, CardStatus, CertificateStatus } from './lifecycle.js';

/**
 * The records the product keeps. Dates are ISO-8601 strings in UTC (`2026-11-23T05:00:00.000Z`);
 * calendar dates are `YYYY-MM-DD`. Binary values (DER, keys) are base64. Every record carries a
 * `version` that the repository checks and bumps on every write (optimistic concurrency).
 *
 * Personal data lives only on the Application (and, minimally, on certificates: the name in the
 * subject, the e-mail the holder chose to put in the certificate). The ARC number itself is never
 * stored: only a keyed hash (`arcKey`) for lookups and the last four characters for display.
 */

export interface Versioned {
  version: number;
}

export interface MailingAddress {
  postalCode: string; // 3, 5 or 6 digits
  city: string;
  line1: string;
  line2?: string;
  recipient?: string;
  phone?: string;
}

/** E-invoice buyer data, one of the four kinds the Taiwan e-invoice system accepts. */
export type EInvoice =
  | { kind: 'mobile_barcode'; carrier: string } // 手機條碼 /XXXXXXX
  | { kind: 'citizen_certificate'; carrier: string } // 自然人憑證條碼 AA + 14 digits
  | { kind: 'donation'; donationCode: string } // 捐贈碼 3–7 digits
  | { kind: 'company'; taxId: string; title?: string }; // 統一編號 8 digits

/** How a subscriber code is kept: never the code itself, only a slow salted peppered hash. */
export interface SubscriberCredential {
  /** e.g. `scrypt$N=32768,r=8,p=1$<salt b64>$<hash b64>`; pepper key id kept separately. */
  hash: string;
  pepperKeyId: string;
  failures: number;
  lockedAt?: string;
  changedAt?: string;
  /**
   * The initial code, encrypted under a KMS/local data key, kept only so that "retrieve my subscriber
   * code" can re-send it before activation. Destroyed at activation or at the first change.
   */
  sealedInitialCode?: string;
}

export interface Fee {
  currency: 'TWD';
  items: { code: 'card' | 'postage'; label: string; amount: number }[];
  total: number;
}

export interface Payment {
  gateway: string; // 'ecpay' | 'sandbox'
  merchantTradeNo: string;
  gatewayTradeNo: string;
  amount: number;
  paidAt: string;
  method: string;
}

export interface Application extends Versioned {
  id: string;
  status: ApplicationStatus;
  arcKey: string;
  arcLast4: string;
  arcExpiry: string;
  name: string;
  dateOfBirth: string;
  email: string;
  mailingAddress: MailingAddress;
  stationId: string;
  officerId: string;
  createdAt: string;
  updatedAt: string;
  /** 23:59:59 Asia/Taipei on the 15th calendar day after the application day. */
  paymentDeadline: string;
  credential: SubscriberCredential;
  fee: Fee;
  invoice?: EInvoice;
  /** The merchant trade number of the payment started at the gateway (one at a time). */
  pendingTradeNo?: string;
  payment?: Payment;
  cardNumber?: string;
  certificateSerials?: { signature: string; encryption: string };
  cardJobId?: string;
  trackingNumber?: string;
  mailedAt?: string;
  activatedAt?: string;
  /** Set when the holder already had a live card; that card is revoked when this one is issued. */
  replacesCardNumber?: string;
  failureReason?: string;
  /** Step Functions task token of the execution waiting for this application's payment. */
  paymentTaskToken?: string;
}

/** What stays of a purged or cancelled application: no personal data at all. */
export interface ApplicationTombstone extends Versioned {
  id: string;
  status: 'purged' | 'cancelled';
  createdAt: string;
  endedAt: string;
  stationId: string;
}

export type KeyAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'EC-P256' | 'EC-P384';

export interface CardKey {
  /** SubjectPublicKeyInfo, DER base64. Generated on the card; the private key never leaves it. */
  spki: string;
  algorithm: KeyAlgorithm;
  /** PKCS#11 CKA_ID of the key pair on the card, hex. */
  keyId: string;
}

export interface Card extends Versioned {
  cardNumber: string; // two letters + 14 digits, printed on the card face
  status: CardStatus;
  keys: { signature: CardKey; encryption: CardKey };
  enrolledAt: string;
  enrolledBy: string; // card station identity
  batch?: string;
  applicationId?: string;
  certificateSerials?: { signature: string; encryption: string };
  activatedAt?: string;
  suspendedAt?: string;
  suspendedBy?: 'holder' | 'ops';
  revokedAt?: string;
  updatedAt: string;
}

export type CertificateProfileName = 'holder-signature' | 'holder-encryption';

/** RFC 5280 CRLReason, by name. */
export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'privilegeWithdrawn';

export interface CertificateRecord extends Versioned {
  serialNumber: string; // lower-case hex, no leading zeros, positive, ≥ 64 random bits
  issuer: string; // CA id, e.g. 'issuing-ca-1'
  profile: CertificateProfileName;
  status: CertificateStatus;
  cardNumber: string;
  applicationId: string;
  subjectName: string; // CN
  subjectSerial: string; // the opaque 16-digit subject serialNumber attribute
  /** Keyed hash of the lower-cased e-mail, for the public query; the e-mail itself only in `der`. */
  emailKey?: string;
  issuedMonth: string; // YYYY-MM (Asia/Taipei) — with the name, a public query key
  notBefore: string;
  notAfter: string;
  /** The to-be-signed certificate as recorded before signing (audit trail of what we meant to sign). */
  tbsSha256?: string;
  der?: string;
  reservedAt: string;
  issuedAt?: string;
  revokedAt?: string;
  revocationReason?: RevocationReason;
  holdAt?: string;
  supersededBy?: string;
  updatedAt: string;
}

export interface CardJob extends Versioned {
  id: string;
  status: CardJobStatus;
  applicationId: string;
  cardNumber: string;
  /** What the card station writes: both certificates and the CA chain (DER base64). */
  certificates: { signature: string; encryption: string; chain: string[] };
  holder: { name: string; expiry: string }; // printed on the card face
  mailingAddress: MailingAddress;
  leaseOwner?: string;
  leaseExpiresAt?: string;
  attempts: number;
  /** Task token of the workflow execution waiting for this job to complete / be mailed. */
  taskToken?: string;
  createdAt: string;
  completedAt?: string;
  mailedAt?: string;
  trackingNumber?: string;
  failureReason?: string;
  updatedAt: string;
}

export type ActorType = 'officer' | 'ops' | 'holder' | 'card-station' | 'gateway' | 'system';

export interface Actor {
  type: ActorType;
  id: string; // officer id, ops user, card station id, 'workflow', … — never a secret or an ARC number
  stationId?: string;
}

/** One link of the append-only, hash-chained audit log. */
export interface AuditRecord {
  chain: string; // the log's name; 'main' unless sharded
  seq: number; // 1, 2, 3, … without gaps
  at: string;
  actor: Actor;
  action: string; // e.g. 'application.create', 'certificate.sign', 'certificate.revoke'
  subject: { type: string; id: string };
  details: Record<string, unknown>;
  prevHash: string; // hash of record seq-1; 64 zeros for seq 1
  hash: string; // sha256 over the canonical JSON of every other field
}

export interface HolderSession {
  tokenHash: string; // sha256 of the bearer token; the token itself is never stored
  applicationId: string;
  createdAt: string;
  expiresAt: string;
}
