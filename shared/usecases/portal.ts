import { createHash, randomBytes } from 'node:crypto';
import type {
  OrderResponse,
  PaymentRequest,
  PaymentResponse,
  SessionRequest,
  SessionResponse,
} from '../contracts/portal.js';
import { parseArcNumber } from '../domain/arc.js';
import { isPastDeadline } from '../domain/calendar.js';
import { maskEmail, parseMailingAddress } from '../domain/contact.js';
import { parseEInvoice } from '../domain/einvoice.js';
import { newMerchantTradeNo } from '../domain/ids.js';
import type {
  Actor,
  Application,
  ApplicationTombstone,
  HolderSession,
  SubscriberCredential,
} from '../domain/model.js';
import {
  afterFailure,
  afterSuccess,
  generateSubscriberCode,
  hashSubscriberCode,
  isLocked,
  MAX_SUBSCRIBER_CODE_FAILURES,
  parseSubscriberCode,
  verifySubscriberCode,
} from '../domain/subscriber-code.js';
import {
  AuthenticationError,
  ConflictError,
  GoneError,
  LockedError,
  NotFoundError,
  VersionConflictError,
} from '../errors.js';
import { arcKeyOf } from '../lookup-keys.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { PaymentGateway } from '../ports/payment.js';
import type { Repository } from '../ports/repository.js';
import type { SecretKeys } from '../ports/secrets.js';
import { type TradeMarkerValue, tradeMarkerKey } from './payment.js';

/**
 * The holder's order in the portal: log in with the ARC number and the subscriber code, see the order,
 * and start the payment at the gateway (the gateway's callback is in ./payment.ts).
 *
 * Lockout is race-free: after a wrong code the failure is counted by a versioned conditional save of
 * the application, re-read and retried when someone else saved first, so any number of concurrent wrong
 * codes count one each until the 4th locks the code; every try after that (the right code included) is
 * refused with 423 without the code being checked.
 *
 * Sessions: a random 32-byte bearer token, of which only the sha256 is stored, valid for
 * HOLDER_SESSION_MINUTES.
 */

export interface HolderSessionRef {
  applicationId: string;
  /** Short, non-secret id of the session for logs (a prefix of the token hash). */
  sessionId: string;
}

export interface PortalDeps {
  repo: Pick<Repository, 'applications' | 'sessions' | 'markers'>;
  audit: AuditLog;
  clock: Clock;
  secrets: SecretKeys;
  gateway: PaymentGateway;
  sessionMinutes: number;
  /** Our `POST /v1/payments/callback` as the gateway reaches it. */
  callbackUrl: string;
  /** Where the holder's browser comes back after paying (the portal's order page). */
  returnUrl: string;
  /** scrypt cost (log2 N) of the decoy hash checked for unknown ARC numbers; match the real codes'. */
  scryptLog2N?: number;
}

/** Wrong codes, unknown ARC numbers and tombstones all get this one answer, so nothing can be probed. */
const wrongCredentials = () =>
  new AuthenticationError('the ARC number or the subscriber code is not right', {
    rule: 'holder.credentials',
  });

const lockedError = () =>
  new LockedError(
    `the subscriber code is locked after ${MAX_SUBSCRIBER_CODE_FAILURES} wrong tries; change it online with your card, or ask customer service`,
    { rule: 'subscriber_code.locked' },
  );

const isApplication = (r: Application | ApplicationTombstone | undefined): r is Application =>
  r !== undefined && 'arcKey' in r;

const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** How long the trade number → application mapping is kept: long past the deadline, for late payments. */
const TRADE_MARKER_DAYS = 120;
const SAVE_ATTEMPTS = 50;

/** A short random pause before re-reading after a lost conditional save, so racers spread out. */
const backoff = (attempt: number) =>
  new Promise<void>((resolve) =>
    setTimeout(resolve, Math.random() * Math.min(20, 2 ** Math.min(attempt, 4))),
  );

export const createPortalUseCases = (deps: PortalDeps) => {
  const holder = (applicationId: string): Actor => ({ type: 'holder', id: applicationId });

  /**
   * For an ARC number without an application, the same slow hash is checked against a decoy, so the
   * answer takes as long as for a wrong code and nobody can tell by timing who has applied.
   */
  let decoy: ReturnType<typeof hashSubscriberCode> | undefined;
  const checkDecoy = async (code: string): Promise<void> => {
    decoy ??= hashSubscriberCode(generateSubscriberCode(), deps.secrets, { log2N: deps.scryptLog2N ?? 15 });
    await verifySubscriberCode(code, await decoy, deps.secrets);
  };

  /**
   * Applies `change` to the credential of the stored application with a conditional save, re-reading
   * on every lost race. `change` sees the current credential and returns the next (or null: no write).
   */
  const updateCredential = async (
    applicationId: string,
    change: (c: SubscriberCredential, app: Application) => SubscriberCredential | null,
  ): Promise<Application> => {
    for (let attempt = 1; ; attempt++) {
      const app = await deps.repo.applications.get(applicationId);
      if (!isApplication(app)) throw wrongCredentials();
      const next = change(app.credential, app);
      if (!next) return app;
      try {
        return await deps.repo.applications.save({
          ...app,
          credential: next,
          updatedAt: deps.clock.now().toISOString(),
        });
      } catch (e) {
        if (!(e instanceof VersionConflictError) || attempt >= SAVE_ATTEMPTS) throw e;
        await backoff(attempt);
      }
    }
  };

  const loadOrder = async (session: HolderSessionRef): Promise<Application> => {
    const rec = await deps.repo.applications.get(session.applicationId);
    if (!rec) throw new NotFoundError('the order does not exist', { rule: 'order.unknown' });
    if (!isApplication(rec))
      throw new GoneError(`the order was ${rec.status}; apply again at a station`, {
        rule: `order.${rec.status}`,
      });
    return rec;
  };

  return {
    /** ARC number + subscriber code → a short-lived session. 401 wrong, 423 locked. */
    async login(req: SessionRequest): Promise<SessionResponse> {
      const arc = parseArcNumber(req.arcNumber, 'arcNumber');
      const code = parseSubscriberCode('subscriberCode', req.subscriberCode);
      const arcKey = await arcKeyOf(deps.secrets, arc.value);
      // The holder's newest application (tombstones are not listed: a purged order cannot be logged into).
      const [app] = await deps.repo.applications.listByArcKey(arcKey);
      if (!app) {
        await checkDecoy(code);
        throw wrongCredentials();
      }
      if (isLocked(app.credential)) throw lockedError();

      const ok = await verifySubscriberCode(code, app.credential, deps.secrets);
      if (!ok) {
        let counted = false;
        const saved = await updateCredential(app.id, (c) => {
          counted = false;
          if (isLocked(c)) return null; // locked meanwhile by other tries: this one is not counted
          counted = true;
          return afterFailure(c, deps.clock.now());
        });
        if (counted)
          await deps.audit.append({
            actor: holder(app.id),
            action: isLocked(saved.credential) ? 'subscriber_code.locked' : 'holder.login_failed',
            subject: { type: 'application', id: app.id },
            details: { failures: saved.credential.failures },
          });
        if (isLocked(saved.credential)) throw lockedError();
        throw wrongCredentials();
      }

      const saved = await updateCredential(app.id, (c, current) => {
        if (isLocked(c)) throw lockedError(); // the 4th wrong try won the race
        // The code verified against this credential; a changed code must be verified again.
        if (current.credential.hash !== app.credential.hash) throw wrongCredentials();
        return c.failures === 0 ? null : afterSuccess(c);
      });

      const token = randomBytes(32).toString('base64url');
      const now = deps.clock.now();
      const session: HolderSession = {
        tokenHash: sha256hex(token),
        applicationId: saved.id,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + deps.sessionMinutes * 60_000).toISOString(),
      };
      await deps.repo.sessions.create(session);
      await deps.audit.append({
        actor: holder(saved.id),
        action: 'holder.login',
        subject: { type: 'application', id: saved.id },
        details: { sessionId: session.tokenHash.slice(0, 16), expiresAt: session.expiresAt },
      });
      return { token, expiresAt: session.expiresAt, applicationId: saved.id };
    },

    /** Bearer token → session (for the HTTP edge). Unknown or expired: AuthenticationError. */
    async authenticate(token: string): Promise<HolderSessionRef> {
      const tokenHash = sha256hex(token);
      const s = await deps.repo.sessions.get(tokenHash);
      if (!s || Date.parse(s.expiresAt) <= deps.clock.now().getTime())
        throw new AuthenticationError('the session is unknown or has expired; log in again', {
          rule: 'holder.session',
        });
      return { applicationId: s.applicationId, sessionId: tokenHash.slice(0, 16) };
    },

    async logout(token: string): Promise<void> {
      await deps.repo.sessions.delete(sha256hex(token));
    },

    /** The order: fee, deadline, status, address, payment and tracking. Never the ARC number. */
    async getOrder(session: HolderSessionRef): Promise<OrderResponse> {
      const app = await loadOrder(session);
      const out: OrderResponse = {
        applicationId: app.id,
        status: app.status,
        name: app.name,
        emailMasked: maskEmail(app.email),
        fee: app.fee,
        paymentDeadline: app.paymentDeadline,
        paymentOpen:
          app.status === 'awaiting_payment' && !isPastDeadline(app.paymentDeadline, deps.clock.now()),
        mailingAddress: app.mailingAddress,
      };
      if (app.invoice) out.invoice = app.invoice;
      if (app.payment)
        out.payment = {
          amount: app.payment.amount,
          paidAt: app.payment.paidAt,
          merchantTradeNo: app.payment.merchantTradeNo,
        };
      if (app.cardNumber) out.cardNumber = app.cardNumber;
      if (app.trackingNumber) out.trackingNumber = app.trackingNumber;
      if (app.mailedAt) out.mailedAt = app.mailedAt;
      return out;
    },

    /**
     * Confirms the mailing address and the e-invoice data and starts a payment at the gateway: a fresh
     * merchant trade number is recorded on the order (and mapped to it for the callback), and the
     * checkout form the browser posts to the gateway is returned.
     */
    async startPayment(session: HolderSessionRef, req: PaymentRequest): Promise<PaymentResponse> {
      const mailingAddress = parseMailingAddress(req.mailingAddress, 'mailingAddress');
      const invoice = parseEInvoice(req.invoice, 'invoice');
      const merchantTradeNo = newMerchantTradeNo(deps.clock.now());

      for (let attempt = 1; ; attempt++) {
        const app = await loadOrder(session);
        if (app.status !== 'awaiting_payment')
          throw new ConflictError(`the order is ${app.status}: nothing to pay`, {
            rule: 'payment.not_awaiting',
          });
        const now = deps.clock.now();
        if (isPastDeadline(app.paymentDeadline, now))
          throw new ConflictError('the payment deadline has passed; the order will be deleted', {
            rule: 'payment.deadline_passed',
          });
        // The mapping first: a callback can only come after the form, and the form only after this.
        if (attempt === 1) {
          const value: TradeMarkerValue = { applicationId: app.id, amount: app.fee.total };
          const expiresAt = new Date(
            Date.parse(app.paymentDeadline) + TRADE_MARKER_DAYS * 86_400_000,
          ).toISOString();
          if (!(await deps.repo.markers.claim(tradeMarkerKey(merchantTradeNo), expiresAt, value)))
            throw new ConflictError('merchant trade number collision; try again', {
              rule: 'payment.trade_no',
            });
        }
        try {
          await deps.repo.applications.save({
            ...app,
            mailingAddress,
            invoice,
            pendingTradeNo: merchantTradeNo,
            updatedAt: now.toISOString(),
          });
        } catch (e) {
          if (!(e instanceof VersionConflictError) || attempt >= 5) throw e;
          continue;
        }
        await deps.audit.append({
          actor: holder(app.id),
          action: 'payment.start',
          subject: { type: 'application', id: app.id },
          details: {
            merchantTradeNo,
            amount: app.fee.total,
            gateway: deps.gateway.name,
            invoiceKind: invoice.kind,
          },
        });
        const form = deps.gateway.checkout({
          merchantTradeNo,
          amount: app.fee.total,
          description: '外來人口自然人憑證 Alien Citizen Digital Certificate',
          itemName: `IC卡 IC card NT$${app.fee.items.find((i) => i.code === 'card')?.amount ?? ''}#掛號郵資 Registered postage NT$${app.fee.items.find((i) => i.code === 'postage')?.amount ?? ''}`,
          createdAt: now,
          callbackUrl: deps.callbackUrl,
          returnUrl: deps.returnUrl,
        });
        return {
          applicationId: app.id,
          merchantTradeNo,
          amount: app.fee.total,
          gateway: deps.gateway.name,
          checkout: { action: form.action, method: 'POST', fields: form.fields },
        };
      }
    },
  };
};

export type PortalUseCases = ReturnType<typeof createPortalUseCases>;
