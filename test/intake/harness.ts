import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOutboxMailer } from '../../shared/adapters/mail/outbox.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createEcpayGateway } from '../../shared/adapters/payment/ecpay.js';
import { createTestSecretKeys } from '../../shared/adapters/secrets/local.js';
import { createAuditLog } from '../../shared/audit.js';
import { renderApplicationForm } from '../../shared/documents/application-form.js';
import type { Application, AuditRecord } from '../../shared/domain/model.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import { createPaymentUseCases } from '../../shared/usecases/payment.js';
import { createPortalUseCases } from '../../shared/usecases/portal.js';
import { createStationUseCases, type Officer } from '../../shared/usecases/station.js';

/**
 * The counter-to-paid-order slice on the in-memory repository: real use cases, the real audit log, the
 * .eml outbox in a temp folder, ECPay-style gateway with test keys, and a fake workflow that parks on
 * the payment like the real AwaitPayment task (stores its task token on the application).
 */

export const GATEWAY_KEYS = {
  merchantId: 'TEST0001',
  hashKey: 'testHashKey00001',
  hashIV: 'testHashIV000001',
};

export const OFFICER: Officer = { id: 'officer-7', stationId: 'TPE01' };

/** A holder who may apply on 2026-11-23 (valid checksum, 35 years old, ARC valid until 2028). */
export const HOLDER = {
  arcNumber: 'A800000014',
  arcExpiry: '2028-06-30',
  name: 'NGUYEN THI HOA',
  dateOfBirth: '1991-07-15',
  email: 'hoa.nguyen@example.org',
  mailingAddress: { postalCode: '10617', city: '臺北市大安區', line1: '羅斯福路四段1號' },
};

/** 2026-11-23 13:00 Taipei. */
export const START = new Date('2026-11-23T05:00:00Z');

export interface FakeWorkflow extends Workflow {
  started: string[];
  successes: { token: string; output: Record<string, unknown> }[];
  failures: { token: string; error: string }[];
  /** Parks the execution of `applicationId` on its payment, as AwaitPayment does. */
  park(applicationId: string): Promise<string>;
}

export const createHarness = async (opts: { scryptLog2N?: number } = {}) => {
  const clock = new AdjustableClock(undefined, START);
  const repo = createMemoryRepository({ clock });
  const audit = createAuditLog(repo.audit, clock);
  const secrets = createTestSecretKeys({ seed: 'intake-tests' });
  const outboxDir = await mkdtemp(join(tmpdir(), 'outbox-'));
  const mailer = createOutboxMailer({ dir: outboxDir, clock, from: { address: 'no-reply@acdc.test' } });
  const gateway = createEcpayGateway({ ...GATEWAY_KEYS, checkoutUrl: 'https://gateway.test/checkout' });
  let tokens = 0;
  const workflow: FakeWorkflow = {
    started: [],
    successes: [],
    failures: [],
    async startIssuance(id) {
      this.started.push(id);
    },
    async sendTaskSuccess(token, output) {
      this.successes.push({ token, output });
    },
    async sendTaskFailure(token, error) {
      this.failures.push({ token, error });
    },
    async park(applicationId) {
      const token = `token-${++tokens}`;
      const app = (await repo.applications.get(applicationId)) as Application;
      await repo.applications.save({ ...app, paymentTaskToken: token });
      return token;
    },
  };
  const portalUrl = 'http://127.0.0.1:8080/portal';
  const station = createStationUseCases({
    repo,
    audit,
    clock,
    secrets,
    mailer,
    workflow,
    portalUrl,
    scryptLog2N: opts.scryptLog2N ?? 10,
    renderForm: renderApplicationForm,
  });
  const portal = createPortalUseCases({
    repo,
    audit,
    clock,
    secrets,
    gateway,
    sessionMinutes: 15,
    scryptLog2N: opts.scryptLog2N ?? 10,
    callbackUrl: 'http://127.0.0.1:8080/v1/payments/callback',
    returnUrl: 'http://127.0.0.1:8080/portal/order',
  });
  const payments = createPaymentUseCases({
    repo,
    gateway,
    audit,
    clock,
    mailer,
    workflow,
    mail: { portalUrl },
    opsEmail: 'ops@acdc.test',
  });

  /** Every audit record so far, in order. */
  const auditRecords = async (): Promise<AuditRecord[]> => {
    const head = await repo.audit.head('main');
    return head ? repo.audit.range('main', 1, head.seq) : [];
  };

  return {
    clock,
    repo,
    audit,
    secrets,
    outboxDir,
    mailer,
    gateway,
    workflow,
    station,
    portal,
    payments,
    auditRecords,
  };
};

export type Harness = Awaited<ReturnType<typeof createHarness>>;
