import { createHash } from 'node:crypto';
import {
  sameWrittenCertificates,
  type WrittenCertificates,
  writtenCertificatesOf,
} from '../card/certificates.js';
import { csrDerFrom, verifyCsr } from '../card/csr.js';
import { isCardNumber, isTaiwanRegisteredMail } from '../card/numbers.js';
import { adminKeyCheckValue, deriveCardAdminKey } from '../card/unblock.js';
import type {
  CompleteRequest,
  CompleteResponse,
  EnrolledKey,
  FailureRequest,
  FailureResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  InventoryRequest,
  InventoryResponse,
  LeasedJob,
  LeaseRequest,
  MailedRequest,
  MailedResponse,
} from '../contracts/card-station.js';
import { applicationLifecycle, cardJobLifecycle, cardLifecycle, transition } from '../domain/lifecycle.js';
import type { Actor, Application, Card, CardJob, CardKey } from '../domain/model.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { Repository } from '../ports/repository.js';
import type { SecretKeys } from '../ports/secrets.js';
import type { Workflow } from '../ports/workflow.js';
import { updateVersioned } from './optimistic.js';

/**
 * The cloud side of the card personalization bureau (routes /v1/card-station/*): blank stock enrollment
 * with proof of possession, the exclusive job lease, heartbeat, completion, mailing and failure.
 *
 * Who may do what: the caller is a card station machine identity (`actor.type === 'card-station'`,
 * `actor.id` its station id). A lease belongs to one agent instance of that station
 * (`owner = <station id>/<agentId>`); only the owner heartbeats, completes or spoils the job, and only
 * the station that holds the job's card (the one that enrolled it) is ever offered that job.
 *
 * Records are the source of truth. Every state change is a conditional (versioned) save along the
 * lifecycles; the card job is written first and everything that follows from it (card, application,
 * workflow) is re-applied by a repeated call, so a crash or a retry at any point converges and never
 * does anything twice. The workflow is resumed with the job's stored task token; the issuance workflow
 * re-checks the records after every resume, so resuming a task twice is harmless.
 */

export interface CardStationDeps {
  repo: Pick<Repository, 'applications' | 'cards' | 'cardJobs'>;
  audit: AuditLog;
  secrets: Pick<SecretKeys, 'mac'>;
  workflow: Pick<Workflow, 'sendTaskSuccess' | 'sendTaskFailure'>;
  clock: Clock;
  /** Length of a lease and of each heartbeat's extension (default 300 s). */
  leaseSeconds?: number;
  /** Leasable jobs looked at per lease call (default 25). */
  leaseScan?: number;
}

export interface CardStationUseCases {
  enroll(actor: Actor, req: InventoryRequest): Promise<InventoryResponse>;
  /** The job leased to the caller, or undefined when there is nothing to do (HTTP 204). */
  lease(actor: Actor, req: LeaseRequest): Promise<LeasedJob | undefined>;
  heartbeat(actor: Actor, jobId: string, req: HeartbeatRequest): Promise<HeartbeatResponse>;
  complete(actor: Actor, jobId: string, req: CompleteRequest): Promise<CompleteResponse>;
  mailed(actor: Actor, jobId: string, req: MailedRequest): Promise<MailedResponse>;
  failure(actor: Actor, jobId: string, req: FailureRequest): Promise<FailureResponse>;
}

/** The Step Functions error name a failed card job resumes the waiting task with. */
export const CARD_JOB_FAILED = 'CardJobFailed';

const update = updateVersioned;

const isApplication = (r: unknown): r is Application => typeof r === 'object' && r !== null && 'arcKey' in r;

const sha256Hex = (b64: string) => createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');

const requireStation = (actor: Actor): void => {
  if (actor.type !== 'card-station') throw new ForbiddenError('only a card station may call this');
};

export const leaseOwnerOf = (actor: Actor, agentId: string): string => `${actor.id}/${agentId}`;
const stationOfOwner = (owner: string | undefined): string | undefined =>
  owner === undefined ? undefined : owner.slice(0, owner.lastIndexOf('/'));

export const createCardStationUseCases = (deps: CardStationDeps): CardStationUseCases => {
  const leaseMs = (deps.leaseSeconds ?? 300) * 1000;
  const scan = deps.leaseScan ?? 25;
  const now = () => deps.clock.now();
  const nowIso = () => now().toISOString();

  const updateJob = (id: string, decide: (job: CardJob) => CardJob | null) =>
    update(
      () => deps.repo.cardJobs.get(id),
      decide,
      (next) => deps.repo.cardJobs.save(next),
    );
  const updateCard = (cardNumber: string, decide: (card: Card) => Card | null) =>
    update(
      () => deps.repo.cards.get(cardNumber),
      decide,
      (next) => deps.repo.cards.save(next),
    );
  const updateApplication = (id: string, decide: (app: Application) => Application | null) =>
    update(
      async () => {
        const rec = await deps.repo.applications.get(id);
        return isApplication(rec) ? rec : undefined;
      },
      decide,
      (next) => deps.repo.applications.save(next),
    );

  const getJob = async (id: string): Promise<CardJob> => {
    const job = await deps.repo.cardJobs.get(id);
    if (!job) throw new NotFoundError(`card job ${id} does not exist`);
    return job;
  };

  const expectedWritten = (job: CardJob): WrittenCertificates =>
    writtenCertificatesOf({
      signature: Buffer.from(job.certificates.signature, 'base64'),
      encryption: Buffer.from(job.certificates.encryption, 'base64'),
      chain: job.certificates.chain.map((c) => Buffer.from(c, 'base64')),
    });

  // -----------------------------------------------------------------------------------------------
  // Enrollment

  const checkKey = (field: string, cardNumber: string, key: EnrolledKey): CardKey => {
    const der = csrDerFrom(key.csr);
    if (!der)
      throw new ValidationError(`${field}.csr`, 'csr.format', 'must be a PKCS#10 request, PEM or base64 DER');
    const verdict = verifyCsr(der);
    if (!verdict.ok) {
      const messages = {
        malformed: ['csr.format', 'is not a readable PKCS#10 certification request'],
        unsupported_key: [
          'csr.key',
          'certifies a key a card may not hold (RSA 2048–4096 with e=65537, P-256, P-384)',
        ],
        signature_algorithm: [
          'csr.signature_algorithm',
          'is signed with an algorithm that does not fit its key',
        ],
        bad_signature: [
          'csr.proof_of_possession',
          'is not signed by the key it carries (no proof of possession)',
        ],
      } as const;
      const [rule, message] = messages[verdict.problem];
      throw new ValidationError(`${field}.csr`, rule, message);
    }
    if (verdict.csr.commonName !== cardNumber) {
      throw new ValidationError(`${field}.csr`, 'csr.subject', 'must name the card number as its subject CN');
    }
    if (verdict.csr.algorithm !== key.algorithm) {
      throw new ValidationError(
        `${field}.algorithm`,
        'csr.algorithm',
        `is ${key.algorithm} but the request carries a ${verdict.csr.algorithm} key`,
      );
    }
    return {
      spki: Buffer.from(verdict.csr.spki).toString('base64'),
      algorithm: verdict.csr.algorithm,
      keyId: key.keyId,
    };
  };

  const sameKeys = (a: Card['keys'], b: Card['keys']) =>
    a.signature.spki === b.signature.spki &&
    a.encryption.spki === b.encryption.spki &&
    a.signature.keyId === b.signature.keyId &&
    a.encryption.keyId === b.encryption.keyId;

  const enroll: CardStationUseCases['enroll'] = async (actor, req) => {
    requireStation(actor);
    // Check the whole batch before writing anything, so a bad card refuses the batch as one.
    const seen = new Map<string, number>();
    const spkis = new Set<string>();
    const cards = req.cards.map((c, i) => {
      const field = `cards.${i}`;
      if (!isCardNumber(c.cardNumber)) {
        throw new ValidationError(
          `${field}.cardNumber`,
          'card.number',
          'must be two capital letters and 14 digits',
        );
      }
      if (seen.has(c.cardNumber)) {
        throw new ValidationError(
          `${field}.cardNumber`,
          'card.duplicate',
          `repeats cards.${seen.get(c.cardNumber)}`,
        );
      }
      seen.set(c.cardNumber, i);
      const signature = checkKey(`${field}.keys.signature`, c.cardNumber, c.keys.signature);
      const encryption = checkKey(`${field}.keys.encryption`, c.cardNumber, c.keys.encryption);
      if (signature.keyId === encryption.keyId) {
        throw new ValidationError(
          `${field}.keys.encryption.keyId`,
          'card.key_id',
          'must differ from the signature key id',
        );
      }
      for (const [role, k] of [
        ['signature', signature],
        ['encryption', encryption],
      ] as const) {
        if (spkis.has(k.spki)) {
          throw new ValidationError(
            `${field}.keys.${role}.csr`,
            'card.key_reuse',
            'carries a key already listed',
          );
        }
        spkis.add(k.spki);
      }
      return { cardNumber: c.cardNumber, keys: { signature, encryption } };
    });

    for (const [i, c] of cards.entries()) {
      const existing = await deps.repo.cards.get(c.cardNumber);
      if (existing && !sameKeys(existing.keys, c.keys)) {
        throw new ConflictError(`card ${c.cardNumber} is already enrolled with other keys`, {
          field: `cards.${i}.cardNumber`,
          rule: 'card.enrolled',
        });
      }
    }

    const enrolled: InventoryResponse['enrolled'] = [];
    for (const [i, c] of cards.entries()) {
      const at = nowIso();
      const card: Card = {
        cardNumber: c.cardNumber,
        version: 1,
        status: 'blank',
        keys: c.keys,
        enrolledAt: at,
        enrolledBy: actor.id,
        updatedAt: at,
        ...(req.batch ? { batch: req.batch } : {}),
      };
      let created = true;
      try {
        await deps.repo.cards.create(card);
      } catch (e) {
        if (!(e instanceof VersionConflictError)) throw e;
        // Enrolled meanwhile (a retried request): fine with the same keys, a conflict otherwise.
        const existing = await deps.repo.cards.get(c.cardNumber);
        if (!existing || !sameKeys(existing.keys, c.keys)) {
          throw new ConflictError(`card ${c.cardNumber} is already enrolled with other keys`, {
            field: `cards.${i}.cardNumber`,
            rule: 'card.enrolled',
          });
        }
        created = false;
      }
      if (created) {
        await deps.audit.append({
          actor,
          action: 'card.enroll',
          subject: { type: 'card', id: c.cardNumber },
          details: {
            batch: req.batch,
            algorithm: c.keys.signature.algorithm,
            signatureKeySha256: sha256Hex(c.keys.signature.spki),
            encryptionKeySha256: sha256Hex(c.keys.encryption.spki),
          },
        });
      }
      enrolled.push({ cardNumber: c.cardNumber, status: 'blank', created });
    }
    return { enrolled };
  };

  // -----------------------------------------------------------------------------------------------
  // Lease

  const leasable = (job: CardJob, at: Date): boolean =>
    job.status === 'queued' ||
    (job.status === 'leased' && (!job.leaseExpiresAt || Date.parse(job.leaseExpiresAt) <= at.getTime()));

  /** Conditional save from queued / expired lease (or the owner's own lease) to leased by `owner`. */
  const tryLease = async (job: CardJob, owner: string): Promise<CardJob | undefined> => {
    const at = now();
    const resumed = job.status === 'leased' && job.leaseOwner === owner;
    if (!resumed && !leasable(job, at)) return undefined;
    const next: CardJob = {
      ...job,
      status: transition(cardJobLifecycle, 'cardjob', job.status, 'leased'),
      leaseOwner: owner,
      leaseExpiresAt: new Date(at.getTime() + leaseMs).toISOString(),
      attempts: resumed ? job.attempts : job.attempts + 1,
      updatedAt: at.toISOString(),
    };
    try {
      return await deps.repo.cardJobs.save(next);
    } catch (e) {
      if (e instanceof VersionConflictError) return undefined; // another agent got it first
      throw e;
    }
  };

  const holdsCard = async (actor: Actor, job: CardJob, cache?: Map<string, boolean>): Promise<boolean> => {
    const cached = cache?.get(job.cardNumber);
    if (cached !== undefined) return cached;
    const card = await deps.repo.cards.get(job.cardNumber);
    const holds = card?.enrolledBy === actor.id;
    cache?.set(job.cardNumber, holds);
    return holds;
  };

  const leasedJobOf = async (job: CardJob): Promise<LeasedJob> => ({
    id: job.id,
    applicationId: job.applicationId,
    cardNumber: job.cardNumber,
    certificates: job.certificates,
    holder: job.holder,
    mailingAddress: job.mailingAddress,
    attempts: job.attempts,
    lease: { owner: job.leaseOwner!, expiresAt: job.leaseExpiresAt! },
    cardAdminKey: Buffer.from(await deriveCardAdminKey(deps.secrets, job.cardNumber)).toString('base64'),
  });

  const lease: CardStationUseCases['lease'] = async (actor, req) => {
    requireStation(actor);
    const owner = leaseOwnerOf(actor, req.agentId);
    let granted: CardJob | undefined;
    let resumed = false;
    if (req.jobId) {
      const job = await getJob(req.jobId);
      if (!(await holdsCard(actor, job))) {
        throw new ForbiddenError(`card job ${job.id} is for a card another card station holds`);
      }
      resumed = job.status === 'leased' && job.leaseOwner === owner;
      granted = await tryLease(job, owner);
      if (!granted) {
        throw new ConflictError(`card job ${job.id} is ${job.status} and cannot be leased by this agent`, {
          rule: 'cardjob.not_leasable',
        });
      }
    } else {
      const cache = new Map<string, boolean>();
      for (const job of await deps.repo.cardJobs.listLeasable(nowIso(), scan)) {
        if (!(await holdsCard(actor, job, cache))) continue;
        granted = await tryLease(job, owner);
        if (granted) break;
      }
      if (!granted) return undefined;
    }
    await deps.audit.append({
      actor,
      action: 'cardjob.lease',
      subject: { type: 'cardjob', id: granted.id },
      details: {
        cardNumber: granted.cardNumber,
        owner,
        leaseExpiresAt: granted.leaseExpiresAt,
        attempts: granted.attempts,
        resumed,
      },
    });
    return leasedJobOf(granted);
  };

  const heartbeat: CardStationUseCases['heartbeat'] = async (actor, jobId, req) => {
    requireStation(actor);
    const owner = leaseOwnerOf(actor, req.agentId);
    await getJob(jobId);
    const saved = await updateJob(jobId, (job) => {
      if (job.status !== 'leased' || job.leaseOwner !== owner) {
        throw new ConflictError(`the lease on card job ${jobId} is not held by this agent`, {
          rule: 'cardjob.lease_lost',
        });
      }
      // Still ours even if it ran out meanwhile: nobody else took it, so extending is safe.
      return {
        ...job,
        leaseExpiresAt: new Date(now().getTime() + leaseMs).toISOString(),
        updatedAt: nowIso(),
      };
    });
    await deps.audit.append({
      actor,
      action: 'cardjob.heartbeat',
      subject: { type: 'cardjob', id: jobId },
      details: { owner, leaseExpiresAt: saved!.leaseExpiresAt },
    });
    return { jobId, leaseExpiresAt: saved!.leaseExpiresAt! };
  };

  // -----------------------------------------------------------------------------------------------
  // Completion

  /** Card and application follow a completed job; each step is a no-op once done. */
  const afterCompleted = async (job: CardJob): Promise<void> => {
    await updateCard(job.cardNumber, (c) =>
      c.status === 'allocated'
        ? { ...c, status: transition(cardLifecycle, 'card', c.status, 'personalized'), updatedAt: nowIso() }
        : null,
    );
    await updateApplication(job.applicationId, (a) =>
      a.status === 'issued'
        ? {
            ...a,
            status: transition(applicationLifecycle, 'application', a.status, 'personalized'),
            updatedAt: nowIso(),
          }
        : null,
    );
    if (job.taskToken) {
      await deps.workflow.sendTaskSuccess(job.taskToken, {
        cardJobId: job.id,
        cardNumber: job.cardNumber,
        jobStatus: job.status,
      });
    }
  };

  const complete: CardStationUseCases['complete'] = async (actor, jobId, req) => {
    requireStation(actor);
    const owner = leaseOwnerOf(actor, req.agentId);
    const job = await getJob(jobId);
    const expected = expectedWritten(job);
    const result = (j: CardJob): CompleteResponse => ({
      jobId: j.id,
      cardNumber: j.cardNumber,
      status: 'completed',
      completedAt: j.completedAt!,
    });

    const checkProof = async () => {
      for (const role of ['signature', 'encryption'] as const) {
        const w = req.written[role];
        const e = expected[role];
        if (w.serialNumber !== e.serialNumber || w.sha256 !== e.sha256) {
          throw new ValidationError(
            `written.${role}`,
            'cardjob.certificate_mismatch',
            `is not the ${role} certificate of this job`,
          );
        }
      }
      if (!sameWrittenCertificates(req.written, expected)) {
        throw new ValidationError(
          'written.chain',
          'cardjob.certificate_mismatch',
          'is not the CA chain of this job',
        );
      }
      const kcv = adminKeyCheckValue(await deriveCardAdminKey(deps.secrets, job.cardNumber));
      if (req.adminKeyCheck !== kcv) {
        throw new ValidationError(
          'adminKeyCheck',
          'cardjob.admin_key',
          'the card does not hold this card’s admin key',
        );
      }
    };

    if (job.status === 'completed' || job.status === 'mailed') {
      // A repeated completion (the answer was lost): same owner, same proof → the same answer, and
      // whatever did not follow the first time (card, application, workflow) follows now.
      if (job.leaseOwner !== owner) {
        throw new ConflictError(`card job ${jobId} was completed by another agent`, {
          rule: 'cardjob.completed',
        });
      }
      await checkProof();
      await afterCompleted(job);
      await deps.audit.append({
        actor,
        action: 'cardjob.complete',
        subject: { type: 'cardjob', id: jobId },
        details: { cardNumber: job.cardNumber, owner, repeated: true },
      });
      return result(job);
    }
    if (job.status !== 'leased' || job.leaseOwner !== owner) {
      throw new ConflictError(`card job ${jobId} is not leased by this agent`, {
        rule: 'cardjob.lease_lost',
      });
    }
    await checkProof();
    let repeated = false;
    const saved = await updateJob(jobId, (j) => {
      if ((j.status === 'completed' || j.status === 'mailed') && j.leaseOwner === owner) {
        repeated = true;
        return null;
      }
      if (j.status !== 'leased' || j.leaseOwner !== owner) {
        throw new ConflictError(`card job ${jobId} is not leased by this agent`, {
          rule: 'cardjob.lease_lost',
        });
      }
      return {
        ...j,
        status: transition(cardJobLifecycle, 'cardjob', j.status, 'completed'),
        completedAt: nowIso(),
        updatedAt: nowIso(),
      };
    });
    await deps.audit.append({
      actor,
      action: 'cardjob.complete',
      subject: { type: 'cardjob', id: jobId },
      details: {
        cardNumber: saved!.cardNumber,
        applicationId: saved!.applicationId,
        owner,
        certificates: {
          signature: expected.signature.serialNumber,
          encryption: expected.encryption.serialNumber,
        },
        repeated,
      },
    });
    await afterCompleted(saved!);
    return result(saved!);
  };

  // -----------------------------------------------------------------------------------------------
  // Mailing

  /**
   * The card follows a mailed job. The application is NOT moved here: the workflow's NotifyShipped
   * e-mails the holder the tracking number first and then records the application as mailed (moving it
   * here would make it skip the e-mail).
   */
  const afterMailed = async (job: CardJob): Promise<void> => {
    await updateCard(job.cardNumber, (c) =>
      c.status === 'personalized'
        ? { ...c, status: transition(cardLifecycle, 'card', c.status, 'mailed'), updatedAt: nowIso() }
        : null,
    );
    if (job.taskToken) {
      await deps.workflow.sendTaskSuccess(job.taskToken, {
        cardJobId: job.id,
        cardNumber: job.cardNumber,
        jobStatus: job.status,
        trackingNumber: job.trackingNumber,
      });
    }
  };

  const mailed: CardStationUseCases['mailed'] = async (actor, jobId, req) => {
    requireStation(actor);
    if (!isTaiwanRegisteredMail(req.trackingNumber)) {
      throw new ValidationError(
        'trackingNumber',
        'tracking.s10',
        'must be a UPU S10 registered-mail number (RR…TW)',
      );
    }
    const job = await getJob(jobId);
    if (stationOfOwner(job.leaseOwner) !== actor.id) {
      throw new ForbiddenError(`card job ${jobId} belongs to another card station`);
    }
    let repeated = false;
    const saved = await updateJob(jobId, (j) => {
      if (j.status === 'mailed') {
        if (j.trackingNumber !== req.trackingNumber) {
          throw new ConflictError(`card job ${jobId} was already mailed under another tracking number`, {
            rule: 'cardjob.mailed',
          });
        }
        repeated = true;
        return null;
      }
      if (j.status !== 'completed') {
        throw new ConflictError(`card job ${jobId} is ${j.status}: only a completed card is mailed`, {
          rule: 'cardjob.not_completed',
        });
      }
      const at = nowIso();
      return {
        ...j,
        status: transition(cardJobLifecycle, 'cardjob', j.status, 'mailed'),
        trackingNumber: req.trackingNumber,
        mailedAt: at,
        updatedAt: at,
      };
    });
    await deps.audit.append({
      actor,
      action: 'cardjob.mailed',
      subject: { type: 'cardjob', id: jobId },
      details: {
        cardNumber: saved!.cardNumber,
        applicationId: saved!.applicationId,
        agentId: req.agentId,
        trackingNumber: req.trackingNumber,
        repeated,
      },
    });
    await afterMailed(saved!);
    return {
      jobId,
      cardNumber: saved!.cardNumber,
      status: 'mailed',
      trackingNumber: saved!.trackingNumber!,
      mailedAt: saved!.mailedAt!,
    };
  };

  // -----------------------------------------------------------------------------------------------
  // Failure (card spoiled)

  const failure: CardStationUseCases['failure'] = async (actor, jobId, req) => {
    requireStation(actor);
    const owner = leaseOwnerOf(actor, req.agentId);
    const reason = req.detail ? `${req.reason}: ${req.detail.replace(/\s+/g, ' ').trim()}` : req.reason;
    let repeated = false;
    await getJob(jobId);
    const saved = await updateJob(jobId, (j) => {
      if (j.status === 'failed' && j.leaseOwner === owner) {
        repeated = true;
        return null;
      }
      if (j.status !== 'leased' || j.leaseOwner !== owner) {
        throw new ConflictError(`card job ${jobId} is not leased by this agent`, {
          rule: 'cardjob.lease_lost',
        });
      }
      return {
        ...j,
        status: transition(cardJobLifecycle, 'cardjob', j.status, 'failed'),
        failureReason: reason,
        updatedAt: nowIso(),
      };
    });
    const job = saved!;
    await updateCard(job.cardNumber, (c) =>
      c.status === 'allocated' || c.status === 'blank'
        ? { ...c, status: transition(cardLifecycle, 'card', c.status, 'spoiled'), updatedAt: nowIso() }
        : null,
    );
    await deps.audit.append({
      actor,
      action: 'cardjob.fail',
      subject: { type: 'cardjob', id: jobId },
      details: {
        cardNumber: job.cardNumber,
        applicationId: job.applicationId,
        owner,
        reason: req.reason,
        repeated,
      },
    });
    // The waiting issuance task fails; the workflow marks the paid order failed and alerts ops, who
    // re-queue it with a new card.
    if (job.taskToken) {
      await deps.workflow.sendTaskFailure(
        job.taskToken,
        CARD_JOB_FAILED,
        `card ${job.cardNumber} was spoiled at the card station (${req.reason})`,
      );
    }
    return {
      jobId,
      cardNumber: job.cardNumber,
      status: 'failed',
      cardStatus: 'spoiled',
      failureReason: job.failureReason ?? reason,
    };
  };

  return { enroll, lease, heartbeat, complete, mailed, failure };
};
