import { applicationLifecycle, transition } from '../domain/lifecycle.js';
import type { Actor, Application, ApplicationTombstone, Payment } from '../domain/model.js';
import { VersionConflictError } from '../errors.js';
import { type MailContext, opsAlertMail, paymentReceivedMail } from '../mail/templates.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { Mailer } from '../ports/mailer.js';
import type { PaymentGateway, VerifiedCallback } from '../ports/payment.js';
import type { Repository } from '../ports/repository.js';
import type { Workflow } from '../ports/workflow.js';

/**
 * The payment gateway's signed server callback.
 *
 * Only a callback whose MAC verifies is read at all (a forged or tampered one is an AuthenticationError
 * and changes nothing). A verified callback is real money, so it is never dropped silently: it either
 * pays the order, is recognised as a duplicate, or is recorded for a refund (paid after the purge or the
 * cancellation, paid twice, paid the wrong amount, paid after the deadline) with an audit record and a
 * mail to ops. The gateway gets its acknowledgement (`1|OK`) in all those cases, so it stops retrying;
 * only a failure on our side (a database outage) leaves it unacknowledged, and the gateway retries.
 *
 * Idempotency: the application moves from `awaiting_payment` to `paid` by a versioned conditional save,
 * so of any number of concurrent duplicates exactly one records the payment. The workflow is resumed by
 * whoever holds the short resumption marker; once it is done, a long marker says so, and later duplicates
 * (the gateway retries for days) resume nothing.
 */

/** Where the merchant trade number → application mapping lives (written when the payment starts). */
export const tradeMarkerKey = (merchantTradeNo: string): string => `trade|${merchantTradeNo}`;

export interface TradeMarkerValue extends Record<string, unknown> {
  applicationId: string;
  amount: number;
}

export interface PaymentDeps {
  repo: Pick<Repository, 'applications' | 'markers'>;
  gateway: PaymentGateway;
  audit: AuditLog;
  clock: Clock;
  mailer: Mailer;
  workflow: Workflow;
  mail: MailContext;
  /** Customer service / ops mailbox for payments that need a refund. */
  opsEmail: string;
  /** Reports what failed after the payment was safely recorded (mail). */
  onAfterCommitFailure?: (what: string, error: unknown) => void;
}

export type CallbackOutcome =
  | 'paid' // this callback recorded the payment
  | 'duplicate' // the payment was already recorded
  | 'not_paid' // a declined or simulated payment: nothing to do
  | 'refund'; // real money that cannot pay an open order: recorded for refund

export interface CallbackResult {
  /** The plain-text body the gateway expects (`1|OK`). */
  acknowledgement: string;
  outcome: CallbackOutcome;
  applicationId?: string;
}

const DAY_MS = 86_400_000;
/** How long an in-flight resumption keeps duplicates from resuming too (a crash frees it after this). */
const RESUME_LOCK_MS = 2 * 60_000;
/** How long "already handled" markers are kept: well past the gateway's retries (3 days). */
const HANDLED_MARKER_MS = 400 * DAY_MS;
const SAVE_ATTEMPTS = 20;

const isApplication = (r: Application | ApplicationTombstone): r is Application => 'arcKey' in r;

export const createPaymentUseCases = (deps: PaymentDeps) => {
  const actor: Actor = { type: 'gateway', id: deps.gateway.name };
  const afterCommit = deps.onAfterCommitFailure ?? (() => undefined);
  const later = (ms: number) => new Date(deps.clock.now().getTime() + ms).toISOString();

  const ack = (outcome: CallbackOutcome, applicationId?: string): CallbackResult => ({
    acknowledgement: deps.gateway.acknowledgement,
    outcome,
    ...(applicationId ? { applicationId } : {}),
  });

  const paymentFacts = (cb: VerifiedCallback) => ({
    merchantTradeNo: cb.merchantTradeNo,
    gatewayTradeNo: cb.gatewayTradeNo,
    amount: cb.amount,
    paidAt: cb.paidAt,
    method: cb.method,
  });

  /**
   * Real money that cannot pay an open order. Recorded once per gateway trade (however many duplicate
   * callbacks carry it): an audit record, then a mail to ops (best effort: the audit is the record).
   */
  const recordForRefund = async (
    cb: VerifiedCallback,
    reason: string,
    applicationId: string | undefined,
  ): Promise<CallbackResult> => {
    const first = await deps.repo.markers.claim(
      `payment-refund|${cb.gatewayTradeNo}`,
      later(HANDLED_MARKER_MS),
      {
        applicationId: applicationId ?? null,
        reason,
      },
    );
    if (first) {
      await deps.audit.append({
        actor,
        action: 'payment.refund_required',
        subject: { type: 'application', id: applicationId ?? `trade:${cb.merchantTradeNo}` },
        details: { ...paymentFacts(cb), reason, gateway: deps.gateway.name },
      });
      try {
        await deps.mailer.send(
          opsAlertMail(deps.mail, {
            to: deps.opsEmail,
            summary: `payment to refund: ${reason}`,
            details: {
              applicationId: applicationId ?? 'unknown',
              ...paymentFacts(cb),
              gateway: deps.gateway.name,
            },
            reference: applicationId ?? cb.merchantTradeNo,
          }),
        );
      } catch (e) {
        afterCommit('mail.ops-alert', e);
      }
    }
    return ack('refund', applicationId);
  };

  /**
   * Resumes the execution waiting for this payment, once. Whoever claims the resumption lock resumes (the
   * recorder, or a duplicate if the recorder died first); the long marker then says it is done. The lock
   * is per time slot, so a resumption that failed (the error goes back to the gateway, which retries)
   * can be claimed again by a later retry. Without a stored task token the execution has not parked yet
   * (it will see `paid` and go on by itself) or never started (startIssuance is idempotent and starts it).
   */
  const resumeWorkflowOnce = async (app: Application, gatewayTradeNo: string): Promise<void> => {
    const done = `payment-resumed|${gatewayTradeNo}`;
    if (await deps.repo.markers.get(done)) return;
    const slot = Math.floor(deps.clock.now().getTime() / RESUME_LOCK_MS);
    if (
      !(await deps.repo.markers.claim(
        `payment-resuming|${gatewayTradeNo}|${slot}`,
        later(2 * RESUME_LOCK_MS),
      ))
    )
      return;
    if (app.paymentTaskToken)
      await deps.workflow.sendTaskSuccess(app.paymentTaskToken, {
        applicationId: app.id,
        status: 'paid',
        paidAt: app.payment?.paidAt ?? null,
      });
    else await deps.workflow.startIssuance(app.id);
    await deps.repo.markers.claim(done, later(HANDLED_MARKER_MS));
  };

  return {
    async handleCallback(fields: Record<string, string>): Promise<CallbackResult> {
      const cb = deps.gateway.verifyCallback(fields); // forged or tampered: AuthenticationError, nothing changes

      const trade = await deps.repo.markers.get(tradeMarkerKey(cb.merchantTradeNo));
      const applicationId =
        trade && typeof trade.value?.applicationId === 'string' ? trade.value.applicationId : undefined;

      if (!cb.paid) {
        // Declined, or a back-office simulation (SimulatePaid=1): never fulfils an order.
        await deps.audit.append({
          actor,
          action: 'payment.not_paid',
          subject: { type: 'application', id: applicationId ?? `trade:${cb.merchantTradeNo}` },
          details: {
            merchantTradeNo: cb.merchantTradeNo,
            simulated: cb.simulated,
            rtnCode: cb.raw.RtnCode ?? null,
            gateway: deps.gateway.name,
          },
        });
        return ack('not_paid', applicationId);
      }
      if (!applicationId) return recordForRefund(cb, 'unknown merchant trade number', undefined);

      for (let attempt = 1; ; attempt++) {
        const rec = await deps.repo.applications.get(applicationId);
        if (!rec) return recordForRefund(cb, 'application not found', applicationId);
        if (!isApplication(rec))
          return recordForRefund(cb, `paid after the order was ${rec.status}`, applicationId);
        if (rec.payment) {
          if (rec.payment.gatewayTradeNo !== cb.gatewayTradeNo)
            return recordForRefund(cb, 'the order was already paid by another payment', applicationId);
          await resumeWorkflowOnce(rec, cb.gatewayTradeNo);
          return ack('duplicate', applicationId);
        }
        if (rec.status !== 'awaiting_payment')
          return recordForRefund(cb, `the order is ${rec.status}`, applicationId);
        if (cb.amount !== rec.fee.total)
          return recordForRefund(cb, `paid NT$${cb.amount} instead of NT$${rec.fee.total}`, applicationId);
        if (Date.parse(cb.paidAt) > Date.parse(rec.paymentDeadline))
          return recordForRefund(cb, 'paid after the payment deadline', applicationId);

        transition(applicationLifecycle, 'application', rec.status, 'paid');
        const payment: Payment = {
          gateway: deps.gateway.name,
          merchantTradeNo: cb.merchantTradeNo,
          gatewayTradeNo: cb.gatewayTradeNo,
          amount: cb.amount,
          paidAt: cb.paidAt,
          method: cb.method,
        };
        const { pendingTradeNo: _done, ...rest } = rec;
        let saved: Application;
        try {
          saved = await deps.repo.applications.save({
            ...rest,
            status: 'paid',
            payment,
            updatedAt: deps.clock.now().toISOString(),
          });
        } catch (e) {
          // A duplicate (or a cancellation, or the purge) was written first: decide again on what is stored.
          if (e instanceof VersionConflictError && attempt < SAVE_ATTEMPTS) continue;
          throw e;
        }

        await deps.audit.append({
          actor,
          action: 'payment.record',
          subject: { type: 'application', id: saved.id },
          details: { ...paymentFacts(cb), gateway: deps.gateway.name },
        });
        try {
          await deps.mailer.send(
            paymentReceivedMail(deps.mail, {
              to: saved.email,
              applicationId: saved.id,
              name: saved.name,
              amount: payment.amount,
              paidAt: payment.paidAt,
              merchantTradeNo: payment.merchantTradeNo,
            }),
          );
        } catch (e) {
          afterCommit('mail.payment-received', e);
        }
        // Last: if this fails the error goes back to the gateway, whose retry (a duplicate) resumes.
        await resumeWorkflowOnce(saved, cb.gatewayTradeNo);
        return ack('paid', saved.id);
      }
    },
  };
};

export type PaymentUseCases = ReturnType<typeof createPaymentUseCases>;
