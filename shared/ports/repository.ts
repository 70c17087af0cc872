import type {
  Application,
  ApplicationTombstone,
  AuditRecord,
  Card,
  CardJob,
  CertificateRecord,
  HolderSession,
} from '../domain/model.js';

/**
 * The repository port, split by aggregate so that each part of the product gets only the store it needs
 * (the signer gets CertificateStore, the card station routes get CardStore + CardJobStore, …).
 *
 * Write rules, common to every store:
 * - `create` writes version 1 and fails with VersionConflictError if the key already exists.
 * - `save` writes the whole record only if the stored version equals `record.version`, and returns the
 *   record with `version + 1`. A lost race throws VersionConflictError: re-read, re-decide, retry.
 * - No method scans the table; every list is served by a key or an index.
 * Adapters: DynamoDB (AWS, and dynalite locally) and in-memory (tests, benchmarks).
 */

export interface ApplicationStore {
  create(app: Application): Promise<Application>;
  get(id: string): Promise<Application | ApplicationTombstone | undefined>;
  save(app: Application): Promise<Application>;
  /** Applications for one ARC (by keyed hash), newest first. */
  listByArcKey(arcKey: string): Promise<Application[]>;
  /** Unpaid applications whose payment deadline is before `before`, oldest deadline first. */
  listUnpaidDueBefore(before: string, limit: number): Promise<Application[]>;
  /** Paid applications waiting in `status`, oldest first (work queues for sweepers / ops). */
  listByStatus(status: Application['status'], limit: number): Promise<Application[]>;
  /**
   * Replace the application by a tombstone carrying no personal data (conditional on version).
   * Used for purge of unpaid orders and for cancellation.
   */
  replaceWithTombstone(app: Application, tombstone: Omit<ApplicationTombstone, 'version'>): Promise<void>;
}

export interface CardStore {
  create(card: Card): Promise<Card>;
  get(cardNumber: string): Promise<Card | undefined>;
  save(card: Card): Promise<Card>;
  /** Enrolled blank cards, oldest enrolment first (allocation takes from the front). */
  listBlank(limit: number): Promise<Card[]>;
  countBlank(): Promise<number>;
}

export interface CertificateStore {
  /** Reserve a serial: conditional create, fails with VersionConflictError if the serial exists. */
  create(cert: CertificateRecord): Promise<CertificateRecord>;
  get(serialNumber: string): Promise<CertificateRecord | undefined>;
  save(cert: CertificateRecord): Promise<CertificateRecord>;
  listByCard(cardNumber: string): Promise<CertificateRecord[]>;
  listByEmailKey(emailKey: string): Promise<CertificateRecord[]>;
  listByNameAndMonth(subjectName: string, issuedMonth: string): Promise<CertificateRecord[]>;
  /**
   * Every certificate of `issuer` currently on hold or revoked and not yet expired (sparse index).
   * Served from a narrow index (CRL / OCSP need no DER): `der` and `tbsSha256` are left out; `get` has them.
   */
  listRevokedOrHeld(issuer: string): Promise<CertificateRecord[]>;
  /** Certificates left in `reserved` before `before` (a crash between reserve and store). */
  listReservedBefore(before: string, limit: number): Promise<CertificateRecord[]>;
}

export interface CardJobStore {
  create(job: CardJob): Promise<CardJob>;
  get(id: string): Promise<CardJob | undefined>;
  save(job: CardJob): Promise<CardJob>;
  /** Jobs a card station may lease now: queued, or leased with a lease expired before `now`. */
  listLeasable(now: string, limit: number): Promise<CardJob[]>;
}

export interface AuditStore {
  /** The last record of a chain, or undefined for an empty chain. */
  head(chain: string): Promise<AuditRecord | undefined>;
  /** Conditional put of record `seq`; VersionConflictError if that seq exists (someone appended). */
  put(record: AuditRecord): Promise<void>;
  /** Records with fromSeq ≤ seq ≤ toSeq, in order. */
  range(chain: string, fromSeq: number, toSeq: number): Promise<AuditRecord[]>;
}

export interface SessionStore {
  create(session: HolderSession): Promise<void>;
  get(tokenHash: string): Promise<HolderSession | undefined>;
  delete(tokenHash: string): Promise<void>;
}

/**
 * Single-use markers with an expiry: payment callback de-duplication, used unblock challenges, rate
 * limit windows. `claim` is a conditional create: true for the first caller, false for every other.
 */
export interface MarkerStore {
  claim(key: string, expiresAt: string, value?: Record<string, unknown>): Promise<boolean>;
  get(key: string): Promise<{ key: string; expiresAt: string; value?: Record<string, unknown> } | undefined>;
}

/** Small named counters and documents (CRL numbers and the latest CRL per CA, bootstrap state). */
export interface ConfigDocStore {
  get<T extends object>(name: string): Promise<(T & { version: number }) | undefined>;
  /** Create when `expectedVersion` is 0, otherwise conditional on it. Returns the new version. */
  put<T extends object>(name: string, doc: T, expectedVersion: number): Promise<number>;
}

export interface Repository {
  applications: ApplicationStore;
  cards: CardStore;
  certificates: CertificateStore;
  cardJobs: CardJobStore;
  audit: AuditStore;
  sessions: SessionStore;
  markers: MarkerStore;
  docs: ConfigDocStore;
}
