import { createHash } from 'node:crypto';
import type { CertificateAuthority } from '../ca/issuer.js';
import { taipeiDate } from '../domain/calendar.js';
import { CROCKFORD_BASE32 } from '../domain/ids.js';
import {
  applicationLifecycle,
  canTransition,
  cardJobLifecycle,
  cardLifecycle,
  transition,
} from '../domain/lifecycle.js';
import type {
  Actor,
  Application,
  ApplicationTombstone,
  Card,
  CardJob,
  CertificateRecord,
  RevocationReason,
} from '../domain/model.js';
import {
  ConflictError,
  DependencyError,
  GoneError,
  InternalError,
  NotFoundError,
  VersionConflictError,
} from '../errors.js';
import { cardShippedMail, type MailContext, opsAlertMail, orderPurgedMail } from '../mail/templates.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { Mailer } from '../ports/mailer.js';
import type { Repository } from '../ports/repository.js';
import { maskArcLike } from '../redact.js';
import { SAVE_ATTEMPTS, updateVersioned } from './optimistic.js';

/**
 * The issuance workflow's tasks (statemachines/issuance.asl.json), as plain functions over the ports.
 *
 * The application record is the source of truth, not the execution: every task reads the records, does
 * only what they show as not done yet, and writes with conditional (versioned) saves along the
 * lifecycles. So a retry, a duplicate delivery or a whole re-run after a restart changes nothing twice:
 * allocating again returns the same card, signing again returns the same certificates, queueing again
 * finds the same card job.
 */

export const WORKFLOW_ACTOR: Actor = { type: 'system', id: 'workflow' };

/** The error the sweeper sends to a waiting payment task when it purged the order itself. */
export const PAYMENT_WINDOW_CLOSED = 'PaymentWindowClosed';

/**
 * No enrolled blank card in the inventory. Retryable (a card station enrols more stock), but on a much
 * longer schedule than a flaky dependency, so the state machine matches it by its own name.
 */
export class OutOfStockError extends DependencyError {}

/** What the workflow asks of the CA (shared/ca/issuer.ts provides it). */
export interface CardCertificateRequest {
  applicationId: string;
  cardNumber: string;
  holderName: string;
  /** The opaque 16-digit subject serialNumber (not the ARC number). */
  subjectSerial: string;
  email?: string;
  keys: Card['keys'];
  actor: Actor;
}

export interface IssuingAuthority {
  /** Reserves two serials, signs both certificates for the card's keys, stores them as `good`. */
  issueCardCertificates(
    req: CardCertificateRequest,
  ): Promise<{ signature: CertificateRecord; encryption: CertificateRecord }>;
  revoke(serialNumber: string, reason: RevocationReason, actor: Actor): Promise<unknown>;
  /** The CA certificates written on the card next to the holder's (DER base64, issuing CA first). */
  chain(): Promise<string[]>;
}

/**
 * The workflow's view of the CA built by `createCertificateAuthority` (shared/ca/issuer.ts), with the
 * chain a card carries (`[issuing CA, root]` DER, e.g. the `chain` of the CA material).
 */
export const issuingAuthorityOf = (
  ca: Pick<CertificateAuthority, 'issueCardCertificates' | 'revoke'>,
  chain: readonly Uint8Array[],
): IssuingAuthority => {
  const encoded = chain.map((c) => Buffer.from(c).toString('base64'));
  return {
    issueCardCertificates: (req) => ca.issueCardCertificates(req),
    revoke: (serial, reason, actor) => ca.revoke(serial, reason, actor),
    chain: async () => [...encoded],
  };
};

export interface IssuanceDeps {
  repo: Pick<Repository, 'applications' | 'cards' | 'certificates' | 'cardJobs' | 'markers'>;
  audit: AuditLog;
  mailer: Mailer;
  /** Links used in the holder mails. */
  mail: MailContext;
  /** Where ops alerts go (customer service / ops mailbox). */
  opsEmail: string;
  clock: Clock;
  ca: IssuingAuthority;
}

/** A callback task either waits for its token, or (the awaited thing already happened) resumes at once. */
export type CallbackOutcome = { waiting: true } | { waiting: false; output: Record<string, unknown> };

export interface LoadedApplication {
  applicationId: string;
  status: Application['status'];
  /** Whole seconds left in the payment window, at least 1 while it is open (a TimeoutSecondsPath). */
  secondsUntilDeadline: number;
  paymentWindowOpen: boolean;
}

// ---------------------------------------------------------------------------------------------------------

const isApplication = (r: Application | ApplicationTombstone): r is Application => 'arcKey' in r;

const nowIso = (deps: IssuanceDeps) => deps.clock.now().toISOString();

const getApplication = async (deps: IssuanceDeps, id: string): Promise<Application> => {
  const rec = await deps.repo.applications.get(id);
  if (!rec) throw new NotFoundError(`application ${id} does not exist`);
  if (!isApplication(rec)) throw new GoneError(`application ${id} was ${rec.status}`);
  return rec;
};

const update = updateVersioned;

const updateApplication = (
  deps: IssuanceDeps,
  id: string,
  decide: (app: Application) => Application | null,
) =>
  update(
    () => getApplication(deps, id),
    decide,
    (next) => deps.repo.applications.save(next),
  ) as Promise<Application>;

const updateCard = (deps: IssuanceDeps, cardNumber: string, decide: (card: Card) => Card | null) =>
  update(
    () => deps.repo.cards.get(cardNumber),
    decide,
    (next) => deps.repo.cards.save(next),
  );

const updateJob = (deps: IssuanceDeps, id: string, decide: (job: CardJob) => CardJob | null) =>
  update(
    () => deps.repo.cardJobs.get(id),
    decide,
    (next) => deps.repo.cardJobs.save(next),
  );

/**
 * The opaque 16-digit subject serialNumber of a holder: derived from the keyed ARC hash, so it is the same
 * on every card of one holder, says nothing about the ARC number, and needs no counter.
 */
export const subjectSerialOf = (arcKey: string): string => {
  const digest = createHash('sha256').update(`subject-serial\u0000${arcKey}`).digest();
  return (digest.readBigUInt64BE(0) % 10_000_000_000_000_000n).toString().padStart(16, '0');
};

/** Audits the alert (the durable record) and mails ops; the mail is best effort, the audit is not. */
export const alertOps = async (
  deps: Pick<IssuanceDeps, 'audit' | 'mailer' | 'mail' | 'opsEmail'>,
  alert: {
    action: string;
    summary: string;
    reference: string;
    subject: { type: string; id: string };
    details: Record<string, string | number | boolean>;
  },
): Promise<void> => {
  await deps.audit.append({
    actor: WORKFLOW_ACTOR,
    action: alert.action,
    subject: alert.subject,
    details: { ...alert.details, summary: alert.summary, opsAlerted: true },
  });
  try {
    await deps.mailer.send(
      opsAlertMail(deps.mail, {
        to: deps.opsEmail,
        summary: alert.summary,
        details: alert.details,
        reference: alert.reference,
      }),
    );
  } catch {
    // The audit record above is the alert of record (ops dashboards read it); a mail outage must not turn
    // an alert into a failed task that would run again and alert twice.
  }
};

// ---------------------------------------------------------------------------------------------------------
// LoadApplication / AwaitPayment / PurgeUnpaid

/**
 * One payment wait is at most 20 days (the window is 15–16): longer waits overflow Node's timers in the
 * local engine (24.8 days) and would fire at once. A wait that ends before the deadline only makes the
 * workflow look at the record again and wait for the rest.
 */
export const MAX_PAYMENT_WAIT_SECONDS = 20 * 86_400;

export const loadApplication = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<LoadedApplication> => {
  const rec = await deps.repo.applications.get(applicationId);
  if (!rec) throw new NotFoundError(`application ${applicationId} does not exist`);
  if (!isApplication(rec)) {
    return { applicationId, status: rec.status, secondsUntilDeadline: 0, paymentWindowOpen: false };
  }
  const msLeft = Date.parse(rec.paymentDeadline) - deps.clock.now().getTime();
  const open = rec.status === 'awaiting_payment' && msLeft > 0;
  return {
    applicationId,
    status: rec.status,
    secondsUntilDeadline: open
      ? Math.min(MAX_PAYMENT_WAIT_SECONDS, Math.max(1, Math.ceil(msLeft / 1000)))
      : 0,
    paymentWindowOpen: open,
  };
};

/**
 * Parks the execution until the payment callback: stores the task token on the application. If the
 * payment (or the purge, or the deadline) came first, the task resumes at once instead of waiting; the
 * conditional save makes "token stored" and "paid" ordered, so the callback always finds one or the other.
 */
export const awaitPayment = async (
  deps: IssuanceDeps,
  applicationId: string,
  taskToken: string,
): Promise<CallbackOutcome> => {
  for (let attempt = 1; ; attempt++) {
    const rec = await deps.repo.applications.get(applicationId);
    if (!rec) throw new NotFoundError(`application ${applicationId} does not exist`);
    if (!isApplication(rec) || rec.status !== 'awaiting_payment')
      return { waiting: false, output: { status: rec.status } };
    if (Date.parse(rec.paymentDeadline) <= deps.clock.now().getTime())
      return { waiting: false, output: { status: rec.status, paymentWindowOpen: false } };
    try {
      await deps.repo.applications.save({ ...rec, paymentTaskToken: taskToken, updatedAt: nowIso(deps) });
      return { waiting: true };
    } catch (e) {
      if (!(e instanceof VersionConflictError) || attempt >= SAVE_ATTEMPTS) throw e;
    }
  }
};

/**
 * Deletes an order that is still unpaid once its payment window has closed by the Clock: mails the holder
 * first (the e-mail address goes with the purge), then replaces the record by a tombstone with no personal
 * data. `purged` is true when the order is gone (now or before); false when it must be looked at again
 * (paid meanwhile, cancelled, or the window not closed yet by this Clock).
 */
export const purgeUnpaidApplication = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<{ purged: boolean; status: string }> => {
  const rec = await deps.repo.applications.get(applicationId);
  if (!rec) throw new NotFoundError(`application ${applicationId} does not exist`);
  if (!isApplication(rec)) return { purged: rec.status === 'purged', status: rec.status };
  if (rec.status !== 'awaiting_payment') return { purged: false, status: rec.status };
  const now = deps.clock.now();
  if (now.getTime() <= Date.parse(rec.paymentDeadline)) return { purged: false, status: rec.status };

  transition(applicationLifecycle, 'application', rec.status, 'purged');
  await deps.mailer.send(
    orderPurgedMail(deps.mail, {
      to: rec.email,
      applicationId: rec.id,
      name: rec.name,
      paymentDeadline: rec.paymentDeadline,
    }),
  );
  await deps.repo.applications.replaceWithTombstone(rec, {
    id: rec.id,
    status: 'purged',
    createdAt: rec.createdAt,
    endedAt: now.toISOString(),
    stationId: rec.stationId,
  });
  await deps.audit.append({
    actor: WORKFLOW_ACTOR,
    action: 'application.purge',
    subject: { type: 'application', id: rec.id },
    details: {
      reason: 'unpaid at the payment deadline',
      paymentDeadline: rec.paymentDeadline,
      stationId: rec.stationId,
    },
  });
  return { purged: true, status: 'purged' };
};

// ---------------------------------------------------------------------------------------------------------
// AllocateCard

const OUT_OF_STOCK_ALERT_MINUTES = 60;

const reportOutOfStock = async (deps: IssuanceDeps, applicationId: string): Promise<void> => {
  // One alert per hour however many orders are waiting for stock.
  const now = deps.clock.now();
  const window = now.toISOString().slice(0, 13);
  const expiresAt = new Date(now.getTime() + OUT_OF_STOCK_ALERT_MINUTES * 60_000).toISOString();
  if (!(await deps.repo.markers.claim(`ops-alert:out-of-stock:${window}`, expiresAt))) return;
  await alertOps(deps, {
    action: 'inventory.exhausted',
    summary: 'No enrolled blank card in the inventory; paid orders are waiting',
    reference: applicationId,
    subject: { type: 'inventory', id: 'blank-cards' },
    details: { applicationId, blankCards: 0 },
  });
};

/**
 * Takes an enrolled blank card for a paid application. The application records its choice first and the
 * card is claimed second, both conditionally: a crash in between is finished by the next run, two
 * applications racing for one card end with one winner and one re-pick, and a re-run returns the card
 * already allocated.
 */
export const allocateCard = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<{ cardNumber: string }> => {
  const claim = async (card: Card, app: Application): Promise<boolean> => {
    const now = nowIso(deps);
    try {
      await deps.repo.cards.save({
        ...card,
        status: transition(cardLifecycle, 'card', card.status, 'allocated'),
        applicationId: app.id,
        updatedAt: now,
      });
      return true;
    } catch (e) {
      if (e instanceof VersionConflictError) return false;
      throw e;
    }
  };

  const ALLOCATION_ATTEMPTS = 25;
  for (let attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt++) {
    const app = await getApplication(deps, applicationId);
    if (app.status !== 'paid') {
      if (app.cardNumber) return { cardNumber: app.cardNumber };
      throw new ConflictError(`application ${app.id} is ${app.status}, not paid: no card to allocate`, {
        rule: 'issuance.allocate.status',
      });
    }

    if (app.cardNumber) {
      const card = await deps.repo.cards.get(app.cardNumber);
      if (card?.status === 'allocated' && card.applicationId === app.id)
        return { cardNumber: card.cardNumber }; // done before
      if (card?.status === 'blank') {
        // Chosen but not claimed yet (a crash, or the other order lost): finish the claim.
        if (await claim(card, app)) {
          await auditAllocation(deps, app, card.cardNumber);
          return { cardNumber: card.cardNumber };
        }
        continue;
      }
      // Taken by another order (or spoiled) between our choice and our claim: choose again below.
    }

    const blanks = (await deps.repo.cards.listBlank(10)).filter((c) => c.cardNumber !== app.cardNumber);
    if (blanks.length === 0) {
      await reportOutOfStock(deps, app.id);
      throw new OutOfStockError('no enrolled blank card in the inventory');
    }
    // Orders allocating at the same time pick at random among the oldest blanks, so most win at once.
    const candidate = blanks[Math.floor(Math.random() * blanks.length)]!;
    let chosen: Application;
    try {
      chosen = await deps.repo.applications.save({
        ...app,
        cardNumber: candidate.cardNumber,
        updatedAt: nowIso(deps),
      });
    } catch (e) {
      if (e instanceof VersionConflictError) continue;
      throw e;
    }
    if (await claim(candidate, chosen)) {
      await auditAllocation(deps, chosen, candidate.cardNumber);
      return { cardNumber: candidate.cardNumber };
    }
  }
  throw new VersionConflictError('Card', 'allocation');
};

const auditAllocation = (deps: IssuanceDeps, app: Application, cardNumber: string) =>
  deps.audit.append({
    actor: WORKFLOW_ACTOR,
    action: 'card.allocate',
    subject: { type: 'application', id: app.id },
    details: { cardNumber },
  });

// ---------------------------------------------------------------------------------------------------------
// SignCertificates / RevokePreviousCard

/**
 * Has the CA sign both certificates for the allocated card's keys, once. A re-run finds them on the
 * application, or by card when the crash came before the application was updated; only when neither
 * has them is the CA asked (and the CA itself returns what it already issued for this application+card).
 */
export const signCertificates = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<{ signature: string; encryption: string }> => {
  const app = await getApplication(deps, applicationId);
  if (app.certificateSerials) return app.certificateSerials;
  if (app.status !== 'paid')
    throw new ConflictError(
      `application ${app.id} is ${app.status}: certificates are signed only when paid`,
      {
        rule: 'issuance.sign.status',
      },
    );
  if (!app.cardNumber) throw new ConflictError(`application ${app.id} has no card allocated`);
  const card = await deps.repo.cards.get(app.cardNumber);
  if (card?.status !== 'allocated' || card.applicationId !== app.id)
    throw new ConflictError(`card ${app.cardNumber} is not allocated to application ${app.id}`, {
      rule: 'issuance.sign.card',
    });

  const ours = (await deps.repo.certificates.listByCard(card.cardNumber)).filter(
    (c) => c.applicationId === app.id && c.status === 'good',
  );
  let signature = ours.find((c) => c.profile === 'holder-signature');
  let encryption = ours.find((c) => c.profile === 'holder-encryption');

  if (!signature || !encryption) {
    // The CA is idempotent per (application, card) on its own (a claim document names the serials), so a
    // duplicate delivery running at the same time, or a run resuming after a crash between the two
    // signatures, gets the same two certificates back rather than new ones.
    const issued = await deps.ca.issueCardCertificates({
      applicationId: app.id,
      cardNumber: card.cardNumber,
      holderName: app.name,
      subjectSerial: subjectSerialOf(app.arcKey),
      keys: card.keys,
      actor: WORKFLOW_ACTOR,
    });
    signature = issued.signature;
    encryption = issued.encryption;
  }

  const serials = { signature: signature.serialNumber, encryption: encryption.serialNumber };
  await updateCard(deps, card.cardNumber, (c) =>
    c.certificateSerials?.signature === serials.signature &&
    c.certificateSerials.encryption === serials.encryption
      ? null
      : { ...c, certificateSerials: serials, updatedAt: nowIso(deps) },
  );
  await updateApplication(deps, app.id, (a) =>
    a.certificateSerials ? null : { ...a, certificateSerials: serials, updatedAt: nowIso(deps) },
  );
  const saved = await getApplication(deps, app.id);
  return saved.certificateSerials ?? serials;
};

/**
 * A holder who applied again while holding a live card: that card's certificates are revoked
 * (superseded) and the card is revoked, now that the new certificates exist. Idempotent.
 */
export const revokePreviousCard = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<{ revoked: boolean; cardNumber?: string }> => {
  const app = await getApplication(deps, applicationId);
  const previous = app.replacesCardNumber;
  if (!previous || previous === app.cardNumber) return { revoked: false };
  const card = await deps.repo.cards.get(previous);
  if (!card) return { revoked: false, cardNumber: previous };

  const live = (await deps.repo.certificates.listByCard(previous)).filter(
    (c) => c.status === 'good' || c.status === 'hold',
  );
  for (const cert of live) await deps.ca.revoke(cert.serialNumber, 'superseded', WORKFLOW_ACTOR);

  let changed = live.length > 0;
  await updateCard(deps, previous, (c) => {
    if (c.status === 'revoked' || !canTransition(cardLifecycle, c.status, 'revoked')) return null;
    changed = true;
    const now = nowIso(deps);
    return { ...c, status: 'revoked', revokedAt: now, updatedAt: now };
  });
  if (changed)
    await deps.audit.append({
      actor: WORKFLOW_ACTOR,
      action: 'card.revoke',
      subject: { type: 'card', id: previous },
      details: {
        reason: 'superseded',
        applicationId: app.id,
        replacedBy: app.cardNumber ?? null,
        certificates: live.map((c) => c.serialNumber),
      },
    });
  return { revoked: true, cardNumber: previous };
};

// ---------------------------------------------------------------------------------------------------------
// QueueCardJob / RecordCardCompleted / AwaitMailing / NotifyShipped

/**
 * One job per (application, card), with an id in the card-job id format (`J<Taipei date>-<10 Crockford
 * characters>`, shared/domain/ids.ts) derived from both: a re-run finds the same job again, a re-queue
 * with a new card gets a new one.
 */
export const cardJobIdOf = (app: Pick<Application, 'id' | 'createdAt'>, cardNumber: string): string => {
  const digest = createHash('sha256').update(`cardjob\u0000${app.id}\u0000${cardNumber}`).digest();
  // 256 is a multiple of 32: each byte mod 32 is a uniform Crockford character.
  const random = Array.from(digest.subarray(0, 10), (b) => CROCKFORD_BASE32[b % 32]).join('');
  return `J${taipeiDate(new Date(app.createdAt)).replaceAll('-', '')}-${random}`;
};

const der = async (deps: IssuanceDeps, serial: string): Promise<CertificateRecord & { der: string }> => {
  const cert = await deps.repo.certificates.get(serial);
  if (!cert?.der || cert.status !== 'good')
    throw new InternalError(`certificate ${serial} is not a signed, good certificate`);
  return cert as CertificateRecord & { der: string };
};

/** Stores the waiting task's token on an open job, or says the job is already past `until`. */
const waitOnJob = async (
  deps: IssuanceDeps,
  jobId: string,
  taskToken: string,
  until: 'completed' | 'mailed',
): Promise<CallbackOutcome> => {
  const reached = (j: CardJob) =>
    until === 'completed' ? j.status === 'completed' || j.status === 'mailed' : j.status === 'mailed';
  let outcome: CallbackOutcome = { waiting: true };
  const job = await updateJob(deps, jobId, (j) => {
    // A job withdrawn when its order failed goes back to the bureau when ops re-queue the order; a job
    // the bureau failed (spoiled card) does not.
    if (j.status === 'failed' && j.failureReason?.startsWith(WITHDRAWN)) {
      outcome = { waiting: true };
      const { failureReason: _r, leaseOwner: _o, leaseExpiresAt: _e, ...rest } = j;
      return {
        ...rest,
        status: transition(cardJobLifecycle, 'cardJob', j.status, 'queued'),
        taskToken,
        updatedAt: nowIso(deps),
      };
    }
    if (j.status === 'failed') return null;
    if (reached(j)) {
      outcome = { waiting: false, output: { jobStatus: j.status } };
      return null;
    }
    outcome = { waiting: true };
    return j.taskToken === taskToken ? null : { ...j, taskToken, updatedAt: nowIso(deps) };
  });
  if (!job) throw new InternalError(`card job ${jobId} does not exist`);
  if (job.status === 'failed')
    throw new ConflictError(
      `card job ${jobId} failed at the card station: ${job.failureReason ?? 'no reason given'}`,
      {
        rule: 'issuance.cardjob.failed',
      },
    );
  return outcome;
};

/**
 * Queues the card job for the card station (once) with this task's token, and marks the application
 * issued. The station's completion resumes the execution; if the job is already done, it resumes at once.
 */
export const queueCardJob = async (
  deps: IssuanceDeps,
  applicationId: string,
  taskToken: string,
): Promise<CallbackOutcome> => {
  const app = await getApplication(deps, applicationId);
  if (app.status === 'personalized' || app.status === 'mailed' || app.status === 'activated')
    return { waiting: false, output: { status: app.status } };
  if (app.status === 'issued' && app.cardJobId) return waitOnJob(deps, app.cardJobId, taskToken, 'completed');
  if (app.status !== 'paid')
    throw new ConflictError(`application ${app.id} is ${app.status}: no card job to queue`, {
      rule: 'issuance.queue.status',
    });
  if (!app.cardNumber || !app.certificateSerials)
    throw new ConflictError(`application ${app.id} has no signed card yet`, {
      rule: 'issuance.queue.unsigned',
    });

  const jobId = cardJobIdOf(app, app.cardNumber);
  let outcome: CallbackOutcome = { waiting: true };
  if (await deps.repo.cardJobs.get(jobId)) {
    outcome = await waitOnJob(deps, jobId, taskToken, 'completed');
  } else {
    const [signature, encryption, chain] = await Promise.all([
      der(deps, app.certificateSerials.signature),
      der(deps, app.certificateSerials.encryption),
      deps.ca.chain(),
    ]);
    const now = nowIso(deps);
    try {
      await deps.repo.cardJobs.create({
        id: jobId,
        version: 1,
        status: 'queued',
        applicationId: app.id,
        cardNumber: app.cardNumber,
        certificates: { signature: signature.der, encryption: encryption.der, chain },
        // The expiry printed on the card face: the signature certificate's notAfter, as a Taipei date.
        holder: { name: app.name, expiry: taipeiDate(new Date(signature.notAfter)) },
        mailingAddress: app.mailingAddress,
        attempts: 0,
        taskToken,
        createdAt: now,
        updatedAt: now,
      });
    } catch (e) {
      if (!(e instanceof VersionConflictError)) throw e;
      outcome = await waitOnJob(deps, jobId, taskToken, 'completed'); // a duplicate run created it first
    }
  }

  // The audit record goes before the application moves to `issued`: a retry after an audit outage finds
  // the order still `paid` and writes it then (at least once; the order moves only after it is written).
  await deps.audit.append({
    actor: WORKFLOW_ACTOR,
    action: 'cardjob.queue',
    subject: { type: 'application', id: app.id },
    details: { cardJobId: jobId, cardNumber: app.cardNumber, certificates: app.certificateSerials },
  });
  await updateApplication(deps, app.id, (a) =>
    a.status !== 'paid'
      ? null
      : {
          ...a,
          status: transition(applicationLifecycle, 'application', a.status, 'issued'),
          cardJobId: jobId,
          updatedAt: nowIso(deps),
        },
  );
  return outcome;
};

/** After the station's callback: records the card as personalized, or says to wait again. */
export const recordCardCompleted = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<{ completed: boolean }> => {
  const app = await getApplication(deps, applicationId);
  if (app.status === 'personalized' || app.status === 'mailed' || app.status === 'activated')
    return { completed: true };
  if (app.status !== 'issued' || !app.cardJobId)
    throw new ConflictError(`application ${app.id} is ${app.status}: no card job to complete`, {
      rule: 'issuance.complete.status',
    });
  const job = await deps.repo.cardJobs.get(app.cardJobId);
  if (!job) throw new InternalError(`card job ${app.cardJobId} does not exist`);
  if (job.status === 'failed')
    throw new ConflictError(
      `card job ${job.id} failed at the card station: ${job.failureReason ?? 'no reason given'}`,
      {
        rule: 'issuance.cardjob.failed',
      },
    );
  if (job.status !== 'completed' && job.status !== 'mailed') return { completed: false };

  await updateCard(deps, job.cardNumber, (c) =>
    c.status === 'allocated'
      ? { ...c, status: transition(cardLifecycle, 'card', c.status, 'personalized'), updatedAt: nowIso(deps) }
      : null,
  );
  let changed = false;
  await updateApplication(deps, app.id, (a) => {
    if (a.status !== 'issued') return null;
    changed = true;
    return {
      ...a,
      status: transition(applicationLifecycle, 'application', a.status, 'personalized'),
      updatedAt: nowIso(deps),
    };
  });
  if (changed)
    await deps.audit.append({
      actor: WORKFLOW_ACTOR,
      action: 'application.personalized',
      subject: { type: 'application', id: app.id },
      details: { cardJobId: job.id, cardNumber: job.cardNumber },
    });
  return { completed: true };
};

/** Parks the execution until the card station reports the registered-mail number. */
export const awaitMailing = async (
  deps: IssuanceDeps,
  applicationId: string,
  taskToken: string,
): Promise<CallbackOutcome> => {
  const app = await getApplication(deps, applicationId);
  if (app.status === 'mailed' || app.status === 'activated')
    return { waiting: false, output: { status: app.status } };
  if (!app.cardJobId)
    throw new ConflictError(`application ${app.id} has no card job`, { rule: 'issuance.mailing.job' });
  return waitOnJob(deps, app.cardJobId, taskToken, 'mailed');
};

/**
 * Once the job is mailed: tells the holder (with the tracking number), then records card and application
 * as mailed. The mail goes before the records, so a crash re-sends it rather than losing it.
 */
/** Kept long past any retry: the holder's "card shipped" notice is sent at least once, not on every run. */
const SHIPPED_NOTICE_DAYS = 400;
const shippedNoticeKey = (applicationId: string) => `notice:card-shipped:${applicationId}`;

/**
 * The card is in the post: record it (card and application `mailed`, with the tracking number), then tell
 * the holder. The facts are written first, so a mail outage can never fail a shipped order (which would
 * send it back towards a second card); the notice is sent at least once (a marker after the send), and a
 * notice that cannot be delivered is reported to ops instead of failing the task — the holder also sees
 * the tracking number in the portal.
 */
export const notifyShipped = async (
  deps: IssuanceDeps,
  applicationId: string,
): Promise<{ shipped: boolean; trackingNumber?: string; notified?: boolean }> => {
  let app = await getApplication(deps, applicationId);
  if (app.status === 'activated') return { shipped: true, trackingNumber: app.trackingNumber };
  if (app.status !== 'mailed') {
    if (app.status !== 'personalized' || !app.cardJobId)
      throw new ConflictError(`application ${app.id} is ${app.status}: not ready to ship`, {
        rule: 'issuance.ship.status',
      });
    const job = await deps.repo.cardJobs.get(app.cardJobId);
    if (!job) throw new InternalError(`card job ${app.cardJobId} does not exist`);
    if (job.status !== 'mailed' || !job.trackingNumber) return { shipped: false };
    const trackingNumber = job.trackingNumber;
    const mailedAt = job.mailedAt ?? nowIso(deps);
    await updateCard(deps, job.cardNumber, (c) =>
      c.status === 'personalized'
        ? { ...c, status: transition(cardLifecycle, 'card', c.status, 'mailed'), updatedAt: nowIso(deps) }
        : null,
    );
    let changed = false;
    app =
      (await updateApplication(deps, app.id, (a) => {
        if (a.status !== 'personalized') return null;
        changed = true;
        return {
          ...a,
          status: transition(applicationLifecycle, 'application', a.status, 'mailed'),
          trackingNumber,
          mailedAt,
          updatedAt: nowIso(deps),
        };
      })) ?? app;
    if (changed)
      await deps.audit.append({
        actor: WORKFLOW_ACTOR,
        action: 'application.mailed',
        subject: { type: 'application', id: app.id },
        details: { cardNumber: job.cardNumber, trackingNumber },
      });
    if (app.status !== 'mailed') return { shipped: true, trackingNumber };
  }

  const trackingNumber = app.trackingNumber!;
  const key = shippedNoticeKey(app.id);
  if (await deps.repo.markers.get(key)) return { shipped: true, trackingNumber, notified: true };
  try {
    await deps.mailer.send(
      cardShippedMail(deps.mail, {
        to: app.email,
        applicationId: app.id,
        name: app.name,
        trackingNumber,
        mailedAt: app.mailedAt ?? nowIso(deps),
      }),
    );
  } catch (e) {
    await alertOps(deps, {
      action: 'mail.card-shipped.undelivered',
      summary: 'The card is in the post but the "card shipped" mail could not be sent to the holder.',
      reference: app.id,
      subject: { type: 'application', id: app.id },
      details: { trackingNumber, error: e instanceof Error ? e.name : 'unknown' },
    });
    return { shipped: true, trackingNumber, notified: false };
  }
  const until = new Date(deps.clock.now().getTime() + SHIPPED_NOTICE_DAYS * 86_400_000).toISOString();
  await deps.repo.markers.claim(key, until);
  return { shipped: true, trackingNumber, notified: true };
};

// ---------------------------------------------------------------------------------------------------------
// ReportStalled / MarkFailed

/** A callback wait ran out (the station or the post is slow): ops are told, the execution waits again. */
export const reportStalled = async (
  deps: IssuanceDeps,
  applicationId: string,
  stage: string,
): Promise<{ reported: boolean }> => {
  const app = await deps.repo.applications.get(applicationId);
  const job =
    app && isApplication(app) && app.cardJobId ? await deps.repo.cardJobs.get(app.cardJobId) : undefined;
  const details: Record<string, string | number | boolean> = {
    applicationId,
    stage,
    applicationStatus: app?.status ?? 'missing',
  };
  if (job) {
    details.cardJobId = job.id;
    details.cardJobStatus = job.status;
    details.attempts = job.attempts;
  }
  await alertOps(deps, {
    action: 'issuance.stalled',
    summary: `Issuance is waiting unusually long for the ${stage}`,
    reference: applicationId,
    subject: { type: 'application', id: applicationId },
    details,
  });
  return { reported: true };
};

/** A short, non-secret reason from a Step Functions error and cause (a Lambda cause is a JSON error). */
export const failureReason = (error: string | undefined, cause: string | undefined): string => {
  let message = cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorType?: unknown; errorMessage?: unknown };
    if (parsed && typeof parsed === 'object' && typeof parsed.errorMessage === 'string')
      message = parsed.errorMessage;
  } catch {
    // not JSON: a plain message (local engine, States.* errors)
  }
  const name = error ?? 'Error';
  const text = (message.trim() ? `${name}: ${message}` : name).replace(/\s+/g, ' ').trim();
  return maskArcLike(text.length > 300 ? `${text.slice(0, 297)}...` : text);
};

/**
 * The last resort of the workflow. A paid order (paid / issued / personalized) is marked `failed` with
 * the reason, so it stays visible in the ops queue and is never lost; anything else is only reported.
 * Ops are alerted in both cases.
 */
/** Prefix of the failure reason of a card job withdrawn by the workflow (not failed by the bureau). */
const WITHDRAWN = 'withdrawn:';

/**
 * A failed order must not get a card: its card job, if the bureau has not completed it, is failed with a
 * `withdrawn:` reason, so no card station leases it (and one holding a lease cannot complete it). When ops
 * re-queue the order, the same job goes back to the queue with the same card and certificates.
 */
const withdrawCardJob = async (deps: IssuanceDeps, jobId: string, reason: string): Promise<void> => {
  let withdrawn = false;
  await updateJob(deps, jobId, (j) => {
    if (j.status !== 'queued' && j.status !== 'leased') return null;
    withdrawn = true;
    return {
      ...j,
      status: transition(cardJobLifecycle, 'cardJob', j.status, 'failed'),
      failureReason: `${WITHDRAWN} ${reason}`.slice(0, 500),
      updatedAt: nowIso(deps),
    };
  });
  if (withdrawn)
    await deps.audit.append({
      actor: WORKFLOW_ACTOR,
      action: 'cardjob.withdraw',
      subject: { type: 'cardJob', id: jobId },
      details: { reason },
    });
};

export const markFailed = async (
  deps: IssuanceDeps,
  applicationId: string,
  error: string | undefined,
  cause: string | undefined,
): Promise<{ status: string; markedFailed: boolean }> => {
  const reason = failureReason(error, cause);
  const rec = await deps.repo.applications.get(applicationId);
  let status: string = rec?.status ?? 'missing';
  let markedFailed = false;
  if (rec && isApplication(rec)) {
    const saved = await updateApplication(deps, applicationId, (a) => {
      if (!canTransition(applicationLifecycle, a.status, 'failed')) return null;
      markedFailed = true;
      return { ...a, status: 'failed', failureReason: reason, updatedAt: nowIso(deps) };
    });
    status = saved.status;
    if (markedFailed && rec.cardNumber) await withdrawCardJob(deps, cardJobIdOf(rec, rec.cardNumber), reason);
  }
  await alertOps(deps, {
    action: markedFailed ? 'issuance.failed' : 'issuance.error',
    summary: markedFailed
      ? 'Issuance failed for a paid order; it is kept as failed until ops re-queue it'
      : 'The issuance workflow hit an error it could not recover from',
    reference: applicationId,
    subject: { type: 'application', id: applicationId },
    details: { applicationId, status, reason },
  });
  return { status, markedFailed };
};
