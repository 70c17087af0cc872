import { createHash } from 'node:crypto';
import { certificateLifecycle, transition } from '../domain/lifecycle.js';
import type {
  Actor,
  Card,
  CardKey,
  CertificateProfileName,
  CertificateRecord,
  RevocationReason,
} from '../domain/model.js';
import {
  ConflictError,
  DependencyError,
  InternalError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { CrlBlobStore } from '../ports/crl-blobs.js';
import type { CertificateStore, ConfigDocStore } from '../ports/repository.js';
import type { Signer } from '../ports/signer.js';
import {
  type CaDescriptor,
  HolderCertificateTemplate,
  type PreparedHolderCertificate,
} from './certificate.js';
import { type CrlInfo, type CrlPublisher, createCrlPublisher } from './crl.js';
import { verifySignature } from './keys.js';
import { fastLintHolderTbs, lintHolderTbs } from './lint.js';
import { validateHolderName, validateSubjectSerial } from './names.js';
import { type CertificateProfile, type PkiUrls, PROFILES } from './profiles.js';
import { newSerialNumber, type RandomSource } from './serial.js';

/**
 * The issuing CA: issues the two certificates of a card, and suspends, resumes and revokes them.
 *
 * Issuance of one certificate (the Boulder order):
 *   0. input    — names, e-mail, both card keys (type, size, curve point, distinct pairs) and the CA's
 *                 remaining validity are checked before anything is written;
 *   1. reserve  — a fresh random serial, created as a `reserved` CertificateRecord with a conditional
 *                 create (a collision picks a new serial; a serial is never used twice);
 *   2. build    — the TBSCertificate from the profile template (exact bytes);
 *   3. check    — a DER walk of the TBS against the profile and the request (the first certificate of
 *                 each shape also gets the independent parse-back lint, see lint.ts);
 *   4. intent   — the TBS SHA-256 recorded on the reserved record; then ONE audit record
 *                 `certificate.sign.intent` for the card, listing its certificates' serials and TBS hashes;
 *   5. sign     — by the signer port (HSM / KMS); the signature is verified with the CA public key;
 *   6. store    — DER stored, status `good`; then ONE audit record `certificate.sign.done` for the card
 *                 (serials, TBS and certificate hashes).
 * The two certificates of a card go through the steps together (one intent and one done record per card
 * halves the hash-chain appends on the hot path; the audit subject is the card, the serials are in the
 * details). A crash after 5 leaves a `reserved` record with the TBS hash, serial, card and issuer: enough
 * to find it (`listReservedBefore`) and revoke it (`resolveStaleReservations`).
 *
 * Idempotency (one application + card never gets two live certificates per profile): a claim document
 * `certificate-claim/<applicationId>/<cardNumber>` (ConfigDocStore, conditional writes) names the serial
 * chosen for each profile. Calling again finds the claim and, per profile:
 *   - `good` / `hold`  → returned as is, nothing signed;
 *   - `reserved`       → resumed: the TBS is rebuilt from the reservation (same serial, same notBefore);
 *                        if a TBS hash was recorded and the rebuilt bytes hash the same, the identical TBS
 *                        is signed (the same certificate again, never a second one); if it differs, the
 *                        reservation — which may have been signed — is revoked (superseded) and replaced;
 *   - `abandoned`      → replaced by a new reservation (nothing was signed);
 *   - `revoked`        → ConflictError: a revoked card is not re-issued by a retry.
 * Two concurrent first calls both reserve, but only one claim create succeeds; the loser abandons its
 * reservations (never signed) and continues with the winner's serials.
 */

export interface IssuanceTimings {
  /** Called with the wall time of each phase of one certificate, in milliseconds. */
  record(phase: 'reserve' | 'build' | 'audit' | 'sign' | 'store', ms: number): void;
}

export interface CertificateAuthorityDeps {
  certificates: CertificateStore;
  docs: ConfigDocStore;
  audit: AuditLog;
  signer: Signer;
  clock: Clock;
  /** The issuing CA. */
  ca: CaDescriptor;
  urls: PkiUrls;
  /** Keyed hash of a lower-cased e-mail for the public query (SecretKeys 'lookup'); required to store e-mails. */
  emailKey?: (email: string) => Promise<string>;
  /** Profile overrides (validated with defineProfile); defaults to PROFILES. */
  profiles?: Partial<Record<CertificateProfileName, CertificateProfile>>;
  random?: RandomSource;
  /** The CRL publisher of this CA; built from the same deps when absent. */
  crl?: CrlPublisher;
  /** Where the built publisher publishes CRLs (files locally, S3 in AWS); default in memory (tests). */
  crlBlobs?: CrlBlobStore;
  crlValidityHours?: number;
  /**
   * Check of every TBS before signing: 'fast' (default) = a DER walk of every certificate plus the full
   * parse-back lint of the first certificate of each shape; 'full' = the parse-back lint every time.
   */
  lint?: 'fast' | 'full' | 'off';
  timings?: IssuanceTimings;
}

export interface IssueCardCertificatesInput {
  applicationId: string;
  cardNumber: string;
  holderName: string;
  /** The opaque 16-digit subject serialNumber (never the ARC number). */
  subjectSerial: string;
  email?: string;
  keys: Card['keys'];
  actor: Actor;
  /**
   * Which issuance of this card this is, as an idempotency key: absent for the card's first issuance;
   * for a re-issue (e.g. the holder changed the e-mail in the certificate) a stable id of that request,
   * so that retries of the same re-issue return the same certificates.
   */
  issuance?: string;
  /**
   * Certificates of this card that the new ones replace: revoked (reason superseded) once the new
   * certificates are stored, so the holder is never without a valid pair. Idempotent.
   */
  supersedes?: readonly string[];
}

export interface IssuedCertificates {
  signature: CertificateRecord;
  encryption: CertificateRecord;
}

export interface CertificateAuthority {
  readonly ca: CaDescriptor;
  readonly crl: CrlPublisher;
  issueCardCertificates(input: IssueCardCertificatesInput): Promise<IssuedCertificates>;
  /** Permanent revocation. Idempotent: an already revoked certificate is returned unchanged. */
  revoke(serialNumber: string, reason: RevocationReason, actor: Actor): Promise<CertificateRecord>;
  /** Suspension (certificateHold). Idempotent. */
  hold(serialNumber: string, actor: Actor): Promise<CertificateRecord>;
  /** Resumption: the hold is lifted and the entry leaves the next CRL. Idempotent. */
  release(serialNumber: string, actor: Actor): Promise<CertificateRecord>;
  regenerateCrl(actor?: Actor): Promise<CrlInfo>;
  /**
   * Crash recovery: reservations older than `before` are closed — never signed (no TBS hash) → abandoned;
   * possibly signed (TBS hash recorded) → revoked (reason superseded; they appear on the CRL).
   */
  resolveStaleReservations(
    before: Date,
    actor: Actor,
    limit?: number,
  ): Promise<{ abandoned: string[]; revoked: string[] }>;
}

const PROFILE_OF: Record<'signature' | 'encryption', CertificateProfileName> = {
  signature: 'holder-signature',
  encryption: 'holder-encryption',
};

const CARD_NUMBER = /^[A-Z]{2}\d{14}$/;
const REVOCATION_REASONS: readonly RevocationReason[] = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
];

interface ClaimDoc {
  applicationId: string;
  cardNumber: string;
  serials: Partial<Record<CertificateProfileName, string>>;
}

const claimName = (input: { applicationId: string; cardNumber: string; issuance?: string }) =>
  `certificate-claim/${input.applicationId}/${input.cardNumber}${input.issuance ? `/${input.issuance}` : ''}`;

/** YYYY-MM in Asia/Taipei (UTC+8 all year; no DST since 1979). */
const taipeiMonth = (d: Date): string => new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 7);

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const now = (clock: Clock) => clock.now();
const elapsed = (t0: number) => performance.now() - t0;

export const createCertificateAuthority = (deps: CertificateAuthorityDeps): CertificateAuthority => {
  const { certificates, docs, audit, signer, clock, ca } = deps;
  const profiles = { ...PROFILES, ...deps.profiles };
  const templates = {
    'holder-signature': new HolderCertificateTemplate(profiles['holder-signature'], ca, deps.urls),
    'holder-encryption': new HolderCertificateTemplate(profiles['holder-encryption'], ca, deps.urls),
  } satisfies Record<CertificateProfileName, HolderCertificateTemplate>;
  const crl =
    deps.crl ??
    createCrlPublisher({
      docs,
      certificates,
      signer,
      clock,
      ca,
      audit,
      validityHours: deps.crlValidityHours,
      ...(deps.crlBlobs ? { blobs: deps.crlBlobs } : {}),
    });
  const lint = deps.lint ?? 'fast';
  const fullyLinted = new Set<string>();
  const timings = deps.timings;

  // The CA key in the HSM must be the key of the CA certificate; checked once, before the first signature.
  let keyCheck: Promise<void> | undefined;
  const checkCaKey = () => {
    keyCheck ??= signer.publicKey(ca.key).then((spki) => {
      if (!Buffer.from(spki).equals(Buffer.from(ca.spki))) {
        throw new InternalError(`the ${ca.id} key in the signer does not match the ${ca.id} certificate`);
      }
    });
    keyCheck.catch(() => {
      keyCheck = undefined;
    });
    return keyCheck;
  };

  interface Job {
    profile: CertificateProfileName;
    template: HolderCertificateTemplate;
    prepared: PreparedHolderCertificate;
    cardKey: CardKey;
  }

  const validateInput = (input: IssueCardCertificatesInput): Job[] => {
    if (typeof input.applicationId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(input.applicationId)) {
      throw new ValidationError('applicationId', 'application.id', 'must be 1–64 letters, digits, _ or -');
    }
    if (typeof input.cardNumber !== 'string' || !CARD_NUMBER.test(input.cardNumber)) {
      throw new ValidationError('cardNumber', 'card.number', 'must be two capital letters and 14 digits');
    }
    if (
      input.issuance !== undefined &&
      (typeof input.issuance !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(input.issuance))
    ) {
      throw new ValidationError(
        'issuance',
        'certificate.issuance',
        'must be 1–64 letters, digits, _ . : or -',
      );
    }
    validateHolderName(input.holderName);
    validateSubjectSerial(input.subjectSerial);
    if (input.email !== undefined && !deps.emailKey) {
      throw new InternalError(
        'the CA was configured without an e-mail lookup key; cannot store an e-mail certificate',
      );
    }
    const sig = input.keys?.signature;
    const enc = input.keys?.encryption;
    if (!sig?.spki || !enc?.spki)
      throw new ValidationError(
        'keys',
        'card.keys',
        'both the signature and the encryption public keys are required',
      );
    const decode = (k: CardKey, field: string) => {
      const b = Buffer.from(k.spki, 'base64');
      if (b.length === 0 || b.toString('base64') !== k.spki.replace(/\s+/g, '')) {
        throw new ValidationError(`${field}.spki`, 'certificate.key.encoding', 'must be base64 DER');
      }
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    };
    const jobs = (['signature', 'encryption'] as const).map((which) => {
      const cardKey = input.keys[which];
      const profile = PROFILE_OF[which];
      const template = templates[profile];
      const prepared = template.prepare({
        holderName: input.holderName,
        subjectSerial: input.subjectSerial,
        email: input.email,
        spki: decode(cardKey, `keys.${which}`),
        declaredAlgorithm: cardKey.algorithm,
        keyField: `keys.${which}`,
      });
      return { profile, template, prepared, cardKey };
    });
    if (Buffer.from(jobs[0]!.prepared.key.keyBits).equals(Buffer.from(jobs[1]!.prepared.key.keyBits))) {
      throw new ValidationError(
        'keys.encryption.spki',
        'certificate.key.reuse',
        'the signature and encryption certificates need two different key pairs',
      );
    }
    // Fails early (before any reservation) if a certificate issued now would outlive the CA.
    for (const j of jobs) j.template.validity(now(clock));
    return jobs;
  };

  /** Creates a `reserved` record under a fresh serial; a serial collision picks another (never reused). */
  const reserve = async (
    input: IssueCardCertificatesInput,
    job: Job,
    emailKey: string | undefined,
  ): Promise<CertificateRecord> => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const at = now(clock);
      const { notBefore, notAfter } = job.template.validity(at);
      const record: CertificateRecord = {
        version: 0,
        serialNumber: newSerialNumber(deps.random),
        issuer: ca.id,
        profile: job.profile,
        status: 'reserved',
        cardNumber: input.cardNumber,
        applicationId: input.applicationId,
        subjectName: input.holderName,
        subjectSerial: input.subjectSerial,
        ...(emailKey ? { emailKey } : {}),
        issuedMonth: taipeiMonth(at),
        notBefore: notBefore.toISOString(),
        notAfter: notAfter.toISOString(),
        reservedAt: at.toISOString(),
        updatedAt: at.toISOString(),
      };
      try {
        return await certificates.create(record);
      } catch (e) {
        if (e instanceof VersionConflictError) continue; // serial taken: draw another
        throw e;
      }
    }
    throw new InternalError('could not reserve a unique serial number (random source broken?)');
  };

  const abandon = async (record: CertificateRecord, actor: Actor, why: string) => {
    const t = now(clock).toISOString();
    const saved = await certificates.save({
      ...record,
      status: transition(certificateLifecycle, 'certificate', record.status, 'abandoned'),
      updatedAt: t,
    });
    await audit.append({
      actor,
      action: 'certificate.abandon',
      subject: { type: 'certificate', id: record.serialNumber },
      details: {
        issuer: ca.id,
        profile: record.profile,
        cardNumber: record.cardNumber,
        applicationId: record.applicationId,
        reason: why,
      },
    });
    return saved;
  };

  type Step =
    | { kind: 'done'; record: CertificateRecord }
    | { kind: 'superseded'; record: CertificateRecord }
    | {
        kind: 'pending';
        job: Job;
        record: CertificateRecord;
        tbs: Uint8Array;
        tbsSha256: string;
        notBefore: Date;
        notAfter: Date;
      };

  /** Build and check the TBS of a reserved record (no write). */
  const buildReserved = (record: CertificateRecord, job: Job, input: IssueCardCertificatesInput): Step => {
    const t0 = performance.now();
    // A reservation without a recorded TBS may be re-dated; one with a TBS hash is rebuilt byte for byte.
    const start = record.tbsSha256 ? new Date(record.notBefore) : now(clock);
    const built = job.template.build(job.prepared, record.serialNumber, start);
    if (lint !== 'off') {
      const keyKind = job.prepared.key.kind === 'ec' ? 'ec' : 'rsa';
      const expectation = {
        profile: job.template.profile,
        ca,
        urls: deps.urls,
        serialNumber: record.serialNumber,
        subjectName: input.holderName,
        subjectSerial: input.subjectSerial,
        email: input.email,
        spki: job.prepared.spki,
        keyKind,
      } as const;
      // Full parse-back lint on the first certificate of each shape (every time in 'full' mode); the
      // fast DER walk on every certificate.
      const shapeKey = `${job.profile}|${keyKind}|${input.email !== undefined}`;
      const problems =
        lint === 'full' || !fullyLinted.has(shapeKey) ? lintHolderTbs(built.tbs, expectation) : [];
      problems.push(
        ...fastLintHolderTbs(built.tbs, {
          ...expectation,
          shape: job.template.shapes[keyKind],
          keyIdentifier: job.prepared.key.keyIdentifier,
        }),
      );
      if (problems.length) {
        throw new InternalError(
          `TBS for ${record.serialNumber} failed the profile check: ${problems.join('; ')}`,
        );
      }
      fullyLinted.add(shapeKey);
    }
    const tbsSha256 = sha256Hex(built.tbs);
    timings?.record('build', elapsed(t0));
    if (record.tbsSha256 && record.tbsSha256 !== tbsSha256) return { kind: 'superseded', record };
    return {
      kind: 'pending',
      job,
      record,
      tbs: built.tbs,
      tbsSha256,
      notBefore: built.notBefore,
      notAfter: built.notAfter,
    };
  };

  /**
   * Intent → sign → store for the card's pending certificates. The intent (TBS hashes) is recorded on
   * each reservation and in one audit record for the card before any signature; every resumed attempt
   * records its intent again (a duplicate intent is harmless, a signature without one is not).
   */
  const signPending = async (
    pending: Extract<Step, { kind: 'pending' }>[],
    input: IssueCardCertificatesInput,
    emailKey: string | undefined,
  ): Promise<CertificateRecord[]> => {
    let t0 = performance.now();
    const recorded = await Promise.all(
      pending.map(async (p) => {
        if (p.record.tbsSha256) return p;
        const t = now(clock).toISOString();
        const { emailKey: _old, ...rest } = p.record;
        const record = await certificates.save({
          ...rest,
          subjectName: input.holderName,
          subjectSerial: input.subjectSerial,
          ...(emailKey ? { emailKey } : {}),
          notBefore: p.notBefore.toISOString(),
          notAfter: p.notAfter.toISOString(),
          tbsSha256: p.tbsSha256,
          updatedAt: t,
        });
        return { ...p, record };
      }),
    );
    timings?.record('store', elapsed(t0) / pending.length);
    t0 = performance.now();
    await audit.append({
      actor: input.actor,
      action: 'certificate.sign.intent',
      subject: { type: 'card', id: input.cardNumber },
      details: {
        issuer: ca.id,
        applicationId: input.applicationId,
        certificates: recorded.map((p) => ({
          serialNumber: p.record.serialNumber,
          profile: p.job.profile,
          tbsSha256: p.tbsSha256,
          notBefore: p.record.notBefore,
          notAfter: p.record.notAfter,
        })),
      },
    });
    timings?.record('audit', elapsed(t0) / pending.length);

    const stored = await Promise.all(
      recorded.map(async (p) => {
        let t1 = performance.now();
        const signature = await signer.sign(ca.key, p.tbs);
        if (!verifySignature(ca.spki, ca.key.algorithm, p.tbs, signature)) {
          throw new DependencyError(
            `the signer returned a signature that does not verify for ${p.record.serialNumber}`,
          );
        }
        const der = p.job.template.assemble(p.tbs, signature);
        timings?.record('sign', elapsed(t1));
        t1 = performance.now();
        const issuedAt = now(clock).toISOString();
        try {
          const saved = await certificates.save({
            ...p.record,
            status: transition(certificateLifecycle, 'certificate', p.record.status, 'good'),
            der: Buffer.from(der).toString('base64'),
            issuedAt,
            updatedAt: issuedAt,
          });
          timings?.record('store', elapsed(t1));
          return { record: saved, certificateSha256: sha256Hex(der) };
        } catch (e) {
          if (!(e instanceof VersionConflictError)) throw e;
          // A concurrent retry stored the same TBS first: that certificate is the one.
          const current = await certificates.get(p.record.serialNumber);
          if (current && current.tbsSha256 === p.tbsSha256 && current.status !== 'reserved') {
            return {
              record: current,
              certificateSha256: sha256Hex(Buffer.from(current.der ?? '', 'base64')),
            };
          }
          throw e;
        }
      }),
    );
    t0 = performance.now();
    await audit.append({
      actor: input.actor,
      action: 'certificate.sign.done',
      subject: { type: 'card', id: input.cardNumber },
      details: {
        issuer: ca.id,
        applicationId: input.applicationId,
        certificates: stored.map((s) => ({
          serialNumber: s.record.serialNumber,
          profile: s.record.profile,
          tbsSha256: s.record.tbsSha256,
          certificateSha256: s.certificateSha256,
        })),
      },
    });
    timings?.record('audit', elapsed(t0) / pending.length);
    return stored.map((s) => s.record);
  };

  /** Claims (or finds) the serial of each profile for this application + card. */
  const claimSerials = async (
    input: IssueCardCertificatesInput,
    jobs: Job[],
    emailKey: string | undefined,
  ) => {
    const name = claimName(input);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const t0 = performance.now();
      const claim = await docs.get<ClaimDoc>(name);
      const records = new Map<CertificateProfileName, CertificateRecord>();
      const fresh: CertificateRecord[] = [];
      for (const job of jobs) {
        const serial = claim?.serials[job.profile];
        const existing = serial ? await certificates.get(serial) : undefined;
        if (serial && !existing)
          throw new InternalError(`claimed serial ${serial} has no certificate record`);
        if (existing && existing.status !== 'abandoned') {
          if (existing.status === 'revoked') {
            throw new ConflictError(
              `the ${job.profile} certificate of card ${input.cardNumber} for application ${input.applicationId} is revoked; a retry does not re-issue it`,
              { rule: 'certificate.revoked' },
            );
          }
          records.set(job.profile, existing);
        } else {
          const r = await reserve(input, job, emailKey);
          fresh.push(r);
          records.set(job.profile, r);
        }
      }
      if (fresh.length === 0) {
        timings?.record('reserve', elapsed(t0));
        return records;
      }
      const doc: ClaimDoc = {
        applicationId: input.applicationId,
        cardNumber: input.cardNumber,
        serials: Object.fromEntries([...records].map(([p, r]) => [p, r.serialNumber])),
      };
      try {
        await docs.put(name, doc, claim?.version ?? 0);
        timings?.record('reserve', elapsed(t0));
        return records;
      } catch (e) {
        if (!(e instanceof VersionConflictError)) throw e;
        // Someone else claimed first: our reservations were never signed; close them and follow theirs.
        for (const r of fresh) await abandon(r, input.actor, 'lost the issuance claim to a concurrent call');
      }
    }
    throw new DependencyError(`issuance claim for card ${input.cardNumber} is too contended`);
  };

  const revokeRecord = async (record: CertificateRecord, reason: RevocationReason, actor: Actor) => {
    const t = now(clock).toISOString();
    const saved = await certificates.save({
      ...record,
      status: transition(certificateLifecycle, 'certificate', record.status, 'revoked'),
      revokedAt: t,
      revocationReason: reason,
      updatedAt: t,
    });
    await audit.append({
      actor,
      action: 'certificate.revoke',
      subject: { type: 'certificate', id: record.serialNumber },
      details: {
        issuer: ca.id,
        profile: record.profile,
        cardNumber: record.cardNumber,
        reason,
        previousStatus: record.status,
      },
    });
    return saved;
  };

  /** The certificates a re-issue replaces: this CA's, this card's. Checked before anything is written. */
  const loadSuperseded = async (input: IssueCardCertificatesInput): Promise<CertificateRecord[]> => {
    if (!input.supersedes?.length) return [];
    if (!input.issuance) {
      throw new ValidationError(
        'issuance',
        'certificate.reissue',
        'a re-issue that supersedes certificates needs an issuance id',
      );
    }
    return Promise.all(
      input.supersedes.map(async (serial, i) => {
        const r = await certificates.get(String(serial).toLowerCase());
        if (!r || r.issuer !== ca.id || r.cardNumber !== input.cardNumber) {
          throw new ValidationError(
            `supersedes.${i}`,
            'certificate.reissue',
            `certificate ${serial} is not one of card ${input.cardNumber}`,
          );
        }
        return r;
      }),
    );
  };

  /** After a re-issue: the replaced certificates are revoked (superseded), the CRL regenerated. */
  const supersede = async (replaced: CertificateRecord[], issued: IssuedCertificates, actor: Actor) => {
    const fresh = new Set([issued.signature.serialNumber, issued.encryption.serialNumber]);
    let changed = false;
    for (const old of replaced) {
      if (fresh.has(old.serialNumber)) continue;
      for (let attempt = 1; attempt <= 5; attempt++) {
        const current = (await certificates.get(old.serialNumber))!;
        if (current.status === 'revoked' || current.status === 'abandoned') break;
        try {
          await revokeRecord(
            {
              ...current,
              supersededBy:
                issued[current.profile === 'holder-signature' ? 'signature' : 'encryption'].serialNumber,
            },
            'superseded',
            actor,
          );
          changed = true;
          break;
        } catch (e) {
          if (!(e instanceof VersionConflictError) || attempt === 5) throw e;
        }
      }
    }
    if (changed) await crl.regenerate(actor);
  };

  const issueCardCertificates = async (input: IssueCardCertificatesInput): Promise<IssuedCertificates> => {
    const t0 = performance.now();
    const jobs = validateInput(input);
    timings?.record('build', elapsed(t0));
    await checkCaKey();
    const emailKey = input.email !== undefined ? await deps.emailKey!(input.email.toLowerCase()) : undefined;
    const replaced = await loadSuperseded(input);
    for (let round = 1; round <= 5; round++) {
      const records = await claimSerials(input, jobs, emailKey);
      const steps = jobs.map((job): Step => {
        const record = records.get(job.profile)!;
        if (record.status === 'good' || record.status === 'hold') return { kind: 'done', record };
        return buildReserved(record, job, input);
      });
      const superseded = steps.flatMap((st) => (st.kind === 'superseded' ? [st.record] : []));
      if (superseded.length === 0) {
        const pending = steps.flatMap((st) => (st.kind === 'pending' ? [st] : []));
        const signed = pending.length ? await signPending(pending, input, emailKey) : [];
        const byProfile = new Map<CertificateProfileName, CertificateRecord>();
        for (const st of steps) if (st.kind === 'done') byProfile.set(st.record.profile, st.record);
        for (const r of signed) byProfile.set(r.profile, r);
        const issued = {
          signature: byProfile.get('holder-signature')!,
          encryption: byProfile.get('holder-encryption')!,
        };
        if (replaced.length) await supersede(replaced, issued, input.actor);
        return issued;
      }
      // The request changed since a reservation whose TBS may have been signed: revoke it, then re-issue.
      for (const r of superseded) await revokeRecord(r, 'superseded', input.actor);
      const name = claimName(input);
      const claim = await docs.get<ClaimDoc>(name);
      if (claim) {
        const serials = { ...claim.serials };
        for (const r of superseded) delete serials[r.profile];
        await docs.put(
          name,
          { applicationId: claim.applicationId, cardNumber: claim.cardNumber, serials },
          claim.version,
        );
      }
      await crl.regenerate(input.actor);
    }
    throw new DependencyError(`issuance for card ${input.cardNumber} did not settle`);
  };

  const load = async (serialNumber: string): Promise<CertificateRecord> => {
    const serial = typeof serialNumber === 'string' ? serialNumber.toLowerCase() : '';
    if (!/^[0-9a-f]{1,40}$/.test(serial))
      throw new ValidationError('serialNumber', 'certificate.serial', 'must be hexadecimal');
    const record = await certificates.get(serial.replace(/^0+(?=.)/, ''));
    if (!record || record.issuer !== ca.id) throw new NotFoundError(`no certificate ${serial}`);
    return record;
  };

  /** Read-decide-write with a retry when another writer got there first. */
  const change = async (
    serialNumber: string,
    decide: (r: CertificateRecord) => Promise<CertificateRecord | undefined>,
  ): Promise<CertificateRecord> => {
    for (let attempt = 1; ; attempt++) {
      const record = await load(serialNumber);
      try {
        const changed = await decide(record);
        await crl.regenerate();
        return changed ?? record;
      } catch (e) {
        if (e instanceof VersionConflictError && attempt < 5) continue;
        throw e;
      }
    }
  };

  return {
    ca,
    crl,
    issueCardCertificates,

    revoke: async (serialNumber, reason, actor) => {
      if (!REVOCATION_REASONS.includes(reason)) {
        throw new ValidationError(
          'reason',
          'certificate.revocationReason',
          `must be one of ${REVOCATION_REASONS.join(', ')} (suspension is a hold)`,
        );
      }
      return change(serialNumber, async (r) =>
        r.status === 'revoked' ? undefined : revokeRecord(r, reason, actor),
      );
    },

    hold: (serialNumber, actor) =>
      change(serialNumber, async (r) => {
        if (r.status === 'hold') return undefined;
        const t = now(clock).toISOString();
        const saved = await certificates.save({
          ...r,
          status: transition(certificateLifecycle, 'certificate', r.status, 'hold'),
          holdAt: t,
          updatedAt: t,
        });
        await audit.append({
          actor,
          action: 'certificate.hold',
          subject: { type: 'certificate', id: r.serialNumber },
          details: { issuer: ca.id, profile: r.profile, cardNumber: r.cardNumber },
        });
        return saved;
      }),

    release: (serialNumber, actor) =>
      change(serialNumber, async (r) => {
        if (r.status === 'good') return undefined;
        const t = now(clock).toISOString();
        const { holdAt, ...rest } = r;
        const saved = await certificates.save({
          ...rest,
          status: transition(certificateLifecycle, 'certificate', r.status, 'good'),
          updatedAt: t,
        });
        await audit.append({
          actor,
          action: 'certificate.release',
          subject: { type: 'certificate', id: r.serialNumber },
          details: { issuer: ca.id, profile: r.profile, cardNumber: r.cardNumber, heldSince: holdAt },
        });
        return saved;
      }),

    regenerateCrl: (actor) => crl.regenerate(actor),

    async resolveStaleReservations(before, actor, limit = 100) {
      const stale = await certificates.listReservedBefore(before.toISOString(), limit);
      const abandoned: string[] = [];
      const revoked: string[] = [];
      for (const r of stale) {
        if (r.issuer !== ca.id || r.status !== 'reserved') continue;
        try {
          if (r.tbsSha256) {
            await revokeRecord(r, 'superseded', actor);
            revoked.push(r.serialNumber);
          } else {
            await abandon(r, actor, 'reservation never reached signing');
            abandoned.push(r.serialNumber);
          }
        } catch (e) {
          if (!(e instanceof VersionConflictError)) throw e; // someone finished it meanwhile
        }
      }
      if (revoked.length) await crl.regenerate(actor);
      return { abandoned, revoked };
    },
  };
};
