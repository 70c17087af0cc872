import type {
  ApplicationStatusResponse,
  CounterApplicationRequest,
  CounterApplicationResponse,
} from '../contracts/station.js';
import type { ApplicationFormInput } from '../documents/application-form.js';
import { checkApplicantAge, checkArcExpiry } from '../domain/applicant.js';
import { maskArc, parseArcNumber } from '../domain/arc.js';
import { paymentDeadline, taipeiDate } from '../domain/calendar.js';
import { parseEmail, parseHolderName, parseMailingAddress } from '../domain/contact.js';
import { newApplicationId, parseApplicationId } from '../domain/ids.js';
import { applicationLifecycle, transition } from '../domain/lifecycle.js';
import type { Actor, Application, ApplicationTombstone, Card, MailingAddress } from '../domain/model.js';
import { applicationFee } from '../domain/money.js';
import {
  generateSubscriberCode,
  hashSubscriberCode,
  newSubscriberCredential,
  sealInitialCode,
} from '../domain/subscriber-code.js';
import { ConflictError, GoneError, NotFoundError, VersionConflictError } from '../errors.js';
import { arcKeyOf } from '../lookup-keys.js';
import { applicationReceivedMail } from '../mail/templates.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { Mailer } from '../ports/mailer.js';
import type { Repository } from '../ports/repository.js';
import type { SecretKeys } from '../ports/secrets.js';
import type { Workflow } from '../ports/workflow.js';

/**
 * The station counter: an officer takes a holder's application, hands over the printed form with the
 * subscriber code, looks up an application's status, and cancels one that is not paid yet.
 *
 * Every action is audited with the officer and the station. Audit details never hold the ARC number
 * (only its last four characters) nor the subscriber code. The code exists in clear only inside
 * `applyAtCounter`: it is printed on the form and returned once; what is stored is its slow, peppered
 * hash and a sealed copy that only "retrieve my subscriber code" opens, until activation.
 */

export interface Officer {
  id: string;
  stationId: string;
}

/** Renders the application form to PDF bytes; `createdAt` (the PDF's creation date) comes from the clock. */
export type FormRenderer = (input: ApplicationFormInput, opts: { createdAt: Date }) => Promise<Uint8Array>;

export interface StationDeps {
  repo: Pick<Repository, 'applications' | 'cards'>;
  audit: AuditLog;
  clock: Clock;
  secrets: SecretKeys;
  mailer: Mailer;
  workflow: Workflow;
  /** The holder portal's address, printed on the form and in the mails. */
  portalUrl: string;
  /** scrypt cost of the subscriber-code hash as log2(N) (config SUBSCRIBER_CODE_SCRYPT_LOG2N). */
  scryptLog2N: number;
  /**
   * Renders the printable form. A port, so the PDF renderer (pdfkit, fonts) stays out of the station
   * function's bundle: locally it is renderApplicationForm in process; on AWS the documents function
   * renders it (functions/aws/documents.ts).
   */
  renderForm: FormRenderer;
  /** Reports what went wrong after the application was safely stored (mail, workflow start). */
  onAfterCommitFailure?: (what: string, error: unknown) => void;
}

const officerActor = (o: Officer): Actor => ({ type: 'officer', id: o.id, stationId: o.stationId });

const isApplication = (r: Application | ApplicationTombstone): r is Application => 'arcKey' in r;

/** Applications that still move towards a card: a second counter application would duplicate them. */
const IN_PROGRESS: ReadonlySet<Application['status']> = new Set([
  'awaiting_payment',
  'paid',
  'issued',
  'personalized',
  'failed',
]);

/** Card states in which a holder still has a usable (or resumable) card. */
const LIVE_CARD: ReadonlySet<Card['status']> = new Set(['personalized', 'mailed', 'active', 'suspended']);

export const toStatusResponse = (rec: Application | ApplicationTombstone): ApplicationStatusResponse => {
  if (!isApplication(rec))
    return {
      applicationId: rec.id,
      status: rec.status,
      stationId: rec.stationId,
      createdAt: rec.createdAt,
      endedAt: rec.endedAt,
    };
  const out: ApplicationStatusResponse = {
    applicationId: rec.id,
    status: rec.status,
    stationId: rec.stationId,
    createdAt: rec.createdAt,
    name: rec.name,
    arcLast4: rec.arcLast4,
    paymentDeadline: rec.paymentDeadline,
    fee: rec.fee,
  };
  if (rec.payment) out.paidAt = rec.payment.paidAt;
  if (rec.cardNumber) out.cardNumber = rec.cardNumber;
  if (rec.trackingNumber) out.trackingNumber = rec.trackingNumber;
  if (rec.replacesCardNumber) out.replacesCardNumber = rec.replacesCardNumber;
  return out;
};

export interface ValidCounterApplication {
  arcNumber: string;
  arcExpiry: string;
  name: string;
  dateOfBirth: string;
  email: string;
  mailingAddress: MailingAddress;
}

/** Every field of a counter application, in form order; the first fault is a ValidationError naming it. */
export const validateCounterApplication = (
  input: CounterApplicationRequest,
  now: Date,
): ValidCounterApplication => {
  const arc = parseArcNumber(input.arcNumber, 'arcNumber');
  return {
    arcNumber: arc.value,
    arcExpiry: checkArcExpiry(input.arcExpiry, now, 'arcExpiry'),
    name: parseHolderName('name', input.name),
    dateOfBirth: checkApplicantAge(input.dateOfBirth, now, 'dateOfBirth'),
    email: parseEmail('email', input.email),
    mailingAddress: parseMailingAddress(input.mailingAddress, 'mailingAddress'),
  };
};

export const createStationUseCases = (deps: StationDeps) => {
  const afterCommit = deps.onAfterCommitFailure ?? (() => undefined);

  /** The holder's newest live card among their earlier applications, if any. */
  const liveCardOf = async (previous: Application[]): Promise<string | undefined> => {
    for (const app of previous) {
      if (!app.cardNumber) continue;
      const card = await deps.repo.cards.get(app.cardNumber);
      if (card && LIVE_CARD.has(card.status)) return card.cardNumber;
    }
    return undefined;
  };

  const load = async (input: string): Promise<Application | ApplicationTombstone> => {
    const id = parseApplicationId('id', input);
    const rec = await deps.repo.applications.get(id);
    if (!rec) throw new NotFoundError(`no application ${id}`, { field: 'id', rule: 'application.unknown' });
    return rec;
  };

  return {
    /**
     * A counter application. Validates every field (the first fault is a ValidationError naming it),
     * refuses a second application while one is still in progress, warns about a live card (which the new
     * card replaces), and returns the subscriber code once, with the printable form.
     */
    async applyAtCounter(
      input: CounterApplicationRequest,
      officer: Officer,
    ): Promise<CounterApplicationResponse> {
      const now = deps.clock.now();
      const today = taipeiDate(now);
      const v = validateCounterApplication(input, now);
      const arc = parseArcNumber(v.arcNumber);
      const arcKey = await arcKeyOf(deps.secrets, arc.value);

      const previous = await deps.repo.applications.listByArcKey(arcKey);
      const open = previous.find((a) => IN_PROGRESS.has(a.status));
      if (open)
        throw new ConflictError(
          `this holder already has application ${open.id} in progress (${open.status}); finish or cancel it first`,
          { field: 'arcNumber', rule: 'application.in_progress' },
        );
      const replacesCardNumber = await liveCardOf(previous);

      const id = newApplicationId(now);
      const code = generateSubscriberCode();
      const credential = newSubscriberCredential(
        await hashSubscriberCode(code, deps.secrets, { log2N: deps.scryptLog2N }),
        await sealInitialCode(code, id, deps.secrets),
      );
      const deadline = paymentDeadline(now).toISOString();
      const fee = applicationFee();

      // The form is rendered before anything is stored: if it cannot be made, nothing is half-written
      // and no subscriber code exists that nobody was ever shown.
      const pdf = await deps.renderForm(
        {
          applicationId: id,
          stationId: officer.stationId,
          officerId: officer.id,
          applicationDate: today,
          name: v.name,
          arcMasked: maskArc(arc.value),
          subscriberCode: code,
          fee,
          paymentDeadline: deadline,
          portalUrl: deps.portalUrl,
          ...(replacesCardNumber ? { replacesCardNumber } : {}),
        },
        { createdAt: now },
      );

      const iso = now.toISOString();
      const app: Application = {
        id,
        version: 0,
        status: 'awaiting_payment',
        arcKey,
        arcLast4: arc.last4,
        arcExpiry: v.arcExpiry,
        name: v.name,
        dateOfBirth: v.dateOfBirth,
        email: v.email,
        mailingAddress: v.mailingAddress,
        stationId: officer.stationId,
        officerId: officer.id,
        createdAt: iso,
        updatedAt: iso,
        paymentDeadline: deadline,
        credential,
        fee,
        ...(replacesCardNumber ? { replacesCardNumber } : {}),
      };
      await deps.repo.applications.create(app);
      await deps.audit.append({
        actor: officerActor(officer),
        action: 'application.create',
        subject: { type: 'application', id },
        details: {
          arcLast4: arc.last4,
          paymentDeadline: deadline,
          feeTotal: fee.total,
          ...(replacesCardNumber ? { replacesCardNumber, warning: 'live_card' } : {}),
        },
      });

      // After the commit: the holder has the printed form whatever happens below. A workflow that did not
      // start is started again by the payment callback (startIssuance is idempotent) and the sweeper
      // purges an unpaid order even without an execution; a lost mail only loses a reminder.
      try {
        await deps.workflow.startIssuance(id);
      } catch (e) {
        afterCommit('workflow.start', e);
      }
      try {
        await deps.mailer.send(
          applicationReceivedMail(
            { portalUrl: deps.portalUrl },
            {
              to: v.email,
              applicationId: id,
              name: v.name,
              stationId: officer.stationId,
              paymentDeadline: deadline,
              fee,
              ...(replacesCardNumber ? { replacesCardNumber } : {}),
            },
          ),
        );
      } catch (e) {
        afterCommit('mail.application-received', e);
      }

      return {
        applicationId: id,
        status: 'awaiting_payment',
        subscriberCode: code,
        paymentDeadline: deadline,
        fee,
        arcLast4: arc.last4,
        ...(replacesCardNumber ? { replacesCardNumber } : {}),
        warnings: replacesCardNumber
          ? [
              {
                code: 'live_card',
                cardNumber: replacesCardNumber,
                message: `The holder still has a live card (${replacesCardNumber}); it is revoked when the new card is issued.`,
              },
            ]
          : [],
        applicationForm: {
          contentType: 'application/pdf',
          filename: `application-${id}.pdf`,
          base64: Buffer.from(pdf).toString('base64'),
        },
      };
    },

    async getApplicationStatus(id: string, officer: Officer): Promise<ApplicationStatusResponse> {
      const rec = await load(id);
      await deps.audit.append({
        actor: officerActor(officer),
        action: 'application.view',
        subject: { type: 'application', id },
        details: { status: rec.status },
      });
      return toStatusResponse(rec);
    },

    /**
     * Cancels an unpaid application: the record becomes a tombstone without personal data, and a workflow
     * execution waiting for its payment is resumed so that it ends (it reads the record and closes).
     * Cancelling again is answered with the same tombstone; a paid application cannot be cancelled.
     */
    async cancelApplication(id: string, officer: Officer): Promise<ApplicationStatusResponse> {
      for (let attempt = 1; ; attempt++) {
        const rec = await load(id);
        if (!isApplication(rec)) {
          if (rec.status === 'cancelled') return toStatusResponse(rec);
          throw new GoneError(`application ${id} was ${rec.status}`, { rule: 'application.gone' });
        }
        if (rec.status !== 'awaiting_payment')
          throw new ConflictError(
            `application ${id} is ${rec.status}; only an unpaid application can be cancelled`,
            {
              rule: 'application.not_cancellable',
            },
          );
        transition(applicationLifecycle, 'application', rec.status, 'cancelled');
        const endedAt = deps.clock.now().toISOString();
        const tombstone = {
          id,
          status: 'cancelled' as const,
          createdAt: rec.createdAt,
          endedAt,
          stationId: rec.stationId,
        };
        try {
          await deps.repo.applications.replaceWithTombstone(rec, tombstone);
        } catch (e) {
          // A payment (or another cancellation) got there first: decide again on what is stored now.
          if (e instanceof VersionConflictError && attempt < 5) continue;
          throw e;
        }
        await deps.audit.append({
          actor: officerActor(officer),
          action: 'application.cancel',
          subject: { type: 'application', id },
          details: { previousStatus: rec.status, paymentStarted: rec.pendingTradeNo !== undefined },
        });
        if (rec.paymentTaskToken) {
          try {
            await deps.workflow.sendTaskSuccess(rec.paymentTaskToken, {
              applicationId: id,
              status: 'cancelled',
            });
          } catch (e) {
            // The execution still ends: its wait times out at the deadline and it finds the tombstone.
            afterCommit('workflow.resume', e);
          }
        }
        return toStatusResponse({ ...tombstone, version: rec.version + 1 });
      }
    },
  };
};

export type StationUseCases = ReturnType<typeof createStationUseCases>;
