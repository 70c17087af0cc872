import type {
  Application,
  ApplicationTombstone,
  AuditRecord,
  Card,
  CardJob,
  CertificateRecord,
} from '../../domain/model.js';

/**
 * The single-table key design, as pure functions. The DynamoDB adapter writes these attributes on every
 * item; the in-memory adapter builds its indexes from the very same functions, so both adapters order
 * and filter lists identically (the contract tests hold them to that).
 *
 * Every item has PK/SK. Secondary indexes are overloaded (their meaning depends on the item's `entity`)
 * and sparse (an attribute is only written when the item belongs in that index):
 *
 * | index | entity: partition key → sort key |
 * |---|---|
 * | GSI1 by owner | Application: `ARC#<arcKey>` → `<createdAt>#<id>`; Certificate: `CARDCERT#<cardNumber>` → `<reservedAt>#<serial>` |
 * | GSI2 work queue | Application: `APPSTATUS#<status>` → `<createdAt>#<id>`; blank Card: `CARDSTATUS#blank` → `<enrolledAt>#<cardNumber>`; reserved Certificate: `CERTSTATUS#reserved` → `<reservedAt>#<serial>`; open CardJob: `JOBS#open` → `<availableAt>#<id>` |
 * | GSI3 deadline / e-mail | unpaid Application: `APPUNPAID` → `<paymentDeadline>#<id>`; Certificate with e-mail: `EMAIL#<emailKey>` → `<reservedAt>#<serial>` |
 * | GSI4 by name | Certificate: `NAME#<issuedMonth>#<subjectName>` → `<reservedAt>#<serial>` |
 * | GSI5 revocations (narrow projection) | hold/revoked Certificate: `REVOKED#<issuer>` → `<notAfter>#<serial>` |
 */

export type EntityName =
  | 'Application'
  | 'ApplicationTombstone'
  | 'Card'
  | 'Certificate'
  | 'CardJob'
  | 'AuditRecord';

export const INDEX_NAMES = ['GSI1', 'GSI2', 'GSI3', 'GSI4', 'GSI5'] as const;
export type IndexName = (typeof INDEX_NAMES)[number];

/** Partition/sort attribute names of an index, e.g. GSI1 → GSI1PK / GSI1SK. */
export const indexAttributes = (index: IndexName) => ({ pk: `${index}PK`, sk: `${index}SK` }) as const;

/** The key attributes of one item: PK/SK and, for the indexes it belongs to, GSIxPK/GSIxSK. */
export type ItemKeys = { PK: string; SK: string } & Partial<
  Record<`${IndexName}PK` | `${IndexName}SK`, string>
>;

/**
 * ISO-8601 timestamps sort as strings only when they share one format. Normalise everything that goes
 * into a sort key to `Date#toISOString()` (milliseconds, `Z`); leave non-dates untouched.
 */
export const ts = (iso: string): string => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Date(ms).toISOString();
};

const sortKey = (time: string, id: string): string => `${ts(time)}#${id}`;

/** Zero-padded so that seq order is string order (15 digits: more than the log will ever hold). */
export const seqKey = (seq: number): string => `SEQ#${String(seq).padStart(15, '0')}`;

export const applicationPk = (id: string) => `APP#${id}`;
export const cardPk = (cardNumber: string) => `CARD#${cardNumber}`;
export const certificatePk = (serial: string) => `CERT#${serial}`;
export const cardJobPk = (id: string) => `JOB#${id}`;
export const sessionPk = (tokenHash: string) => `SESSION#${tokenHash}`;
export const markerPk = (key: string) => `MARKER#${key}`;
export const docPk = (name: string) => `DOC#${name}`;
export const auditPk = (chain: string) => `AUDIT#${chain}`;

/** The one sort key value of entities that are alone in their partition. */
export const ITEM_SK = 'ITEM';

export const partitions = {
  applicationsByArc: (arcKey: string) => `ARC#${arcKey}`,
  applicationsByStatus: (status: string) => `APPSTATUS#${status}`,
  unpaidApplications: 'APPUNPAID',
  certificatesByCard: (cardNumber: string) => `CARDCERT#${cardNumber}`,
  blankCards: 'CARDSTATUS#blank',
  reservedCertificates: 'CERTSTATUS#reserved',
  openCardJobs: 'JOBS#open',
  certificatesByEmail: (emailKey: string) => `EMAIL#${emailKey}`,
  // Month first: it has a fixed format, so a name containing '#' cannot collide with another month.
  certificatesByName: (subjectName: string, issuedMonth: string) => `NAME#${issuedMonth}#${subjectName}`,
  revokedOrHeld: (issuer: string) => `REVOKED#${issuer}`,
} as const;

export const applicationKeys = (app: Application): ItemKeys => {
  const keys: ItemKeys = {
    PK: applicationPk(app.id),
    SK: ITEM_SK,
    GSI1PK: partitions.applicationsByArc(app.arcKey),
    GSI1SK: sortKey(app.createdAt, app.id),
    GSI2PK: partitions.applicationsByStatus(app.status),
    GSI2SK: sortKey(app.createdAt, app.id),
  };
  if (app.status === 'awaiting_payment') {
    keys.GSI3PK = partitions.unpaidApplications;
    keys.GSI3SK = sortKey(app.paymentDeadline, app.id);
  }
  return keys;
};

/** A tombstone is in no index: nothing can find it except its id. */
export const tombstoneKeys = (t: ApplicationTombstone): ItemKeys => ({
  PK: applicationPk(t.id),
  SK: ITEM_SK,
});

export const cardKeys = (card: Card): ItemKeys => {
  const keys: ItemKeys = { PK: cardPk(card.cardNumber), SK: ITEM_SK };
  if (card.status === 'blank') {
    keys.GSI2PK = partitions.blankCards;
    keys.GSI2SK = sortKey(card.enrolledAt, card.cardNumber);
  }
  return keys;
};

export const certificateKeys = (cert: CertificateRecord): ItemKeys => {
  const bornAt = sortKey(cert.reservedAt, cert.serialNumber);
  const keys: ItemKeys = {
    PK: certificatePk(cert.serialNumber),
    SK: ITEM_SK,
    GSI1PK: partitions.certificatesByCard(cert.cardNumber),
    GSI1SK: bornAt,
    GSI4PK: partitions.certificatesByName(cert.subjectName, cert.issuedMonth),
    GSI4SK: bornAt,
  };
  if (cert.status === 'reserved') {
    keys.GSI2PK = partitions.reservedCertificates;
    keys.GSI2SK = bornAt;
  }
  if (cert.emailKey) {
    keys.GSI3PK = partitions.certificatesByEmail(cert.emailKey);
    keys.GSI3SK = bornAt;
  }
  if (cert.status === 'hold' || cert.status === 'revoked') {
    keys.GSI5PK = partitions.revokedOrHeld(cert.issuer);
    keys.GSI5SK = sortKey(cert.notAfter, cert.serialNumber);
  }
  return keys;
};

/**
 * When a card station may take a job: a queued job from its creation (oldest order first), a leased one
 * once its lease has expired. Completed, mailed and failed jobs are in no queue.
 */
export const cardJobAvailableAt = (job: CardJob): string | undefined => {
  if (job.status === 'queued') return job.createdAt;
  if (job.status === 'leased') return job.leaseExpiresAt ?? job.updatedAt;
  return undefined;
};

export const cardJobKeys = (job: CardJob): ItemKeys => {
  const keys: ItemKeys = { PK: cardJobPk(job.id), SK: ITEM_SK };
  const availableAt = cardJobAvailableAt(job);
  if (availableAt !== undefined) {
    keys.GSI2PK = partitions.openCardJobs;
    keys.GSI2SK = sortKey(availableAt, job.id);
  }
  return keys;
};

export const auditKeys = (rec: AuditRecord): ItemKeys => ({ PK: auditPk(rec.chain), SK: seqKey(rec.seq) });

/** Seconds since the epoch, for DynamoDB TTL (real DynamoDB deletes the item some time after it). */
export const ttlEpochSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** Attributes the adapter adds to a record; stripped again when an item is read. */
export const KEY_ATTRIBUTES: readonly string[] = [
  'PK',
  'SK',
  ...INDEX_NAMES.flatMap((i) => [`${i}PK`, `${i}SK`]),
  'entity',
  'ttl',
];

/**
 * The certificate fields projected into the revocation index (GSI5), which the CRL is built from
 * (shared/ca/crl.ts `crlEntryOf`): the serial, the status, when and why it was revoked or put on hold,
 * and the issuer and notAfter it is filed under. Nothing else: the CRL job reads the whole index
 * (100k+ entries), and DynamoDB allows at most 20 INCLUDE attributes per index and 100 over all indexes
 * of a table (test/data/table-definition.test.ts holds the table to that). The OCSP responder reads the
 * certificate item itself, not this index. The store needs nothing more: the index's partition holds
 * certificates only, and its sort key (`<notAfter>#<serial>`, projected with every index) filters out
 * expired ones.
 */
export const REVOCATION_INDEX_ATTRIBUTES: readonly string[] = [
  'serialNumber',
  'issuer',
  'status',
  'notAfter',
  'revokedAt',
  'revocationReason',
  'holdAt',
];
