import type { CardStationApi } from '../../card-station/api.js';
import { closeModules } from '../../shared/adapters/pkcs11/module.js';
import type { Application, Card, CardJob, CertificateRecord } from '../../shared/domain/model.js';
import { DependencyError, InternalError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { api, waitFor } from '../e2e/harness.js';
import { type Bureau, openBureau } from './bureau.js';
import { type Capture, captureOutput } from './capture.js';
import { applyAtCounter, auditTrail, nextArc, type Order, pay, waitForStatus } from './flow.js';
import { OPS_EMAIL, startTestStack, type TestStack } from './stack.js';

/**
 * Faults in the middle of issuance, on the whole product in process (route table, use cases, CA issuer,
 * local Step Functions engine running statemachines/issuance.asl.json, sandbox gateway, outbox mailer,
 * card-station agents with emulated SoftHSM cards). Each fault is injected at a port (signer, a store's
 * write, the mailer, the card station's process) and each test says how the product comes out of it:
 *
 * - RECOVERS: the retry (or another agent) finishes the order: `issued` → `mailed`, one card, one pair of
 *   `good` certificates, the paid order intact.
 * - REPORTS: the order ends `failed` (never silently `paid`), with an `issuance.failed` audit record and
 *   an ops alert mail in the outbox; no `good` certificate is left behind without a card job, and what the
 *   CA reserved is listed by the sweeper for ops.
 *
 * After every scenario the invariants hold: the payment is on the order, at most one card is allocated
 * to it, at most one card job exists, at most one `good` certificate per profile (the others are listed).
 */

interface Integrity {
  status: Application['status'];
  paid?: number;
  cards: string[];
  jobs: string[];
  good: string[];
  others: string[];
}

describe('issuance under faults (the workflow recovers, or reports to ops)', () => {
  let stack: TestStack;
  let bureau: Bureau;
  let capture: Capture | undefined;

  beforeAll(async () => {
    const logger = createLogger('h13-faults');
    logger.setLogLevel('DEBUG');
    stack = await startTestStack({
      logger,
      // The signing task times out after 2 s here (120 s in the shipped definition): long enough for a
      // software signature, short enough for a test of a hanging HSM. Nothing else of the ASL changes.
      editDefinition: (d) => {
        d.States.SignCertificates!.TimeoutSeconds = 2;
      },
    });
    bureau = await openBureau(stack);
  }, 60_000);
  afterAll(async () => {
    capture?.restore();
    await stack?.stop();
    closeModules();
  });
  beforeEach(() => {
    capture = captureOutput();
  });
  afterEach(() => {
    capture?.restore();
    capture = undefined;
    stack.store.clearFaults();
    stack.mailer.down = false;
  });

  let arcBase = 3000;
  const order = async (email: string): Promise<Order> => {
    await bureau.enroll(1); // one blank card in stock per order
    arcBase += 100;
    const o = await applyAtCounter(stack, nextArc(arcBase), email);
    expect(await pay(stack, o)).toBe(200);
    return o;
  };

  /** Everything stored about one order, read back by key (test-only full read of the memory store). */
  const integrity = async (applicationId: string): Promise<Integrity> => {
    const items = [...(await stack.store.snapshot()).entries()];
    const of = <T>(prefix: string) =>
      items
        .filter(
          ([k, v]) =>
            k.startsWith(prefix) && (v as { applicationId?: string }).applicationId === applicationId,
        )
        .map(([, v]) => v as T);
    const app = (await stack.repo.applications.get(applicationId)) as Application;
    const certs = of<CertificateRecord>('certificates/');
    return {
      status: app.status,
      ...(app.payment ? { paid: app.payment.amount } : {}),
      cards: of<Card>('cards/').map((c) => c.cardNumber),
      jobs: of<CardJob>('cardJobs/').map((j) => j.status),
      good: certs
        .filter((c) => c.status === 'good')
        .map((c) => c.profile)
        .sort(),
      others: certs
        .filter((c) => c.status !== 'good')
        .map((c) => `${c.serialNumber} ${c.profile} ${c.status}`),
    };
  };

  /** The invariants of every scenario: the paid order is kept, nothing is issued or allocated twice. */
  const expectNoDoubleIssuance = (s: Integrity) => {
    expect(s.paid).toBe(278);
    expect(s.cards.length).toBeLessThanOrEqual(1);
    expect(s.jobs.length).toBeLessThanOrEqual(1);
    expect(s.good.filter((p) => p === 'holder-signature').length).toBeLessThanOrEqual(1);
    expect(s.good.filter((p) => p === 'holder-encryption').length).toBeLessThanOrEqual(1);
  };

  const personalizeAndMail = async (applicationId: string) => {
    const now = await waitForStatus(stack, applicationId, ['issued', 'mailed']);
    if (now.status === 'issued') {
      const outcomes = await (await bureau.agent(`agent-${applicationId}`)).run({ once: true });
      expect(outcomes.filter((o) => o.outcome !== 'mailed')).toEqual([]);
    }
    return waitForStatus(stack, applicationId, ['mailed']);
  };

  /** The order RECOVERED: mailed, one card, exactly one good pair — the one on the order and the card. */
  const expectRecovered = async (applicationId: string): Promise<Integrity> => {
    const app = await personalizeAndMail(applicationId);
    const s = await integrity(applicationId);
    expectNoDoubleIssuance(s);
    expect(s).toMatchObject({ status: 'mailed', cards: [app.cardNumber], jobs: ['mailed'] });
    expect(s.good).toEqual(['holder-encryption', 'holder-signature']);
    const card = (await stack.repo.cards.get(app.cardNumber!))!;
    expect(card.status).toBe('mailed');
    expect(card.certificateSerials).toEqual(app.certificateSerials);
    for (const serial of Object.values(app.certificateSerials!))
      expect((await stack.repo.certificates.get(serial))?.status).toBe('good');
    return s;
  };

  /** The order was REPORTED: failed with the reason, an audit record and an ops alert mail. */
  const expectReported = async (applicationId: string) => {
    const outcome = await stack.workflow.settled(applicationId);
    expect(outcome?.status).toBe('failed');
    const app = await waitForStatus(stack, applicationId, ['failed']);
    expect(app.failureReason).toBeTruthy();
    const alerts = (await auditTrail(stack)).filter(
      (r) => r.action === 'issuance.failed' && r.subject.id === applicationId,
    );
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.details).toMatchObject({ opsAlerted: true, status: 'failed' });
    const opsMails = (await stack.outbox()).filter(
      (m) => m.file.includes('-ops-alert-') && m.file.includes(applicationId),
    );
    expect(opsMails.length).toBeGreaterThanOrEqual(1);
    expect(opsMails[0]!.text).toContain(`To: ${OPS_EMAIL}`);
    const s = await integrity(applicationId);
    expectNoDoubleIssuance(s);
    return { app, s };
  };

  it('baseline: without a fault the order is issued, personalized and mailed (RECOVERS trivially)', async () => {
    const o = await order('base@example.com');
    const s = await expectRecovered(o.applicationId);
    expect(s.others).toEqual([]);
  }, 60_000);

  it('the signer fails on its first call mid-issuance (DependencyError): the retry signs the rest — RECOVERS', async () => {
    const callsBefore = stack.signer.calls.length;
    stack.signer.failNext(1, () => new DependencyError('HSM unavailable (injected)'));
    const o = await order('signer-fails@example.com');
    const s = await expectRecovered(o.applicationId);
    expect(s.others).toEqual([]); // the failed signature's reservation was finished, not abandoned
    const calls = stack.signer.calls.slice(callsBefore).filter((c) => c.keyId === 'issuing-ca');
    expect(calls[0]!.outcome).toBe('failed');
  }, 60_000);

  it('the signer hangs past the task timeout: the retry signs, the late signatures change nothing — RECOVERS', async () => {
    const callsBefore = stack.signer.calls.length;
    stack.signer.hangNext(2, 3_000);
    const o = await order('signer-hangs@example.com');
    const issued = await waitForStatus(stack, o.applicationId, ['issued']);
    // Let the two hung calls finish: they store what the retry stored already (same TBS) and nothing more.
    await waitFor(
      'the hung signatures to come back',
      async () =>
        stack.signer.calls.slice(callsBefore).filter((c) => c.outcome === 'hung-then-signed').length === 2 ||
        undefined,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 200));
    const s = await expectRecovered(o.applicationId);
    expect(s.others).toEqual([]);
    expect((await stack.repo.applications.get(o.applicationId)) as Application).toMatchObject({
      certificateSerials: issued.certificateSerials,
    });
    const trail = (await auditTrail(stack)).filter(
      (r) => r.action === 'certificate.sign.done' && r.subject.id === issued.cardNumber,
    );
    // The retry's and the late attempt's records name the same two serials.
    const named = new Set(
      trail.flatMap((r) => (r.details.certificates as { serialNumber: string }[]).map((c) => c.serialNumber)),
    );
    expect([...named].sort()).toEqual(Object.values(issued.certificateSerials!).sort());
  }, 60_000);

  it('the database rejects the write of a signed certificate (after the CA signed): the retry stores it — RECOVERS', async () => {
    const fault = stack.store.inject({
      store: 'certificates',
      method: 'save',
      when: 'before',
      match: ([c]) => (c as CertificateRecord).status === 'good',
      times: 1,
      error: () => new DependencyError('ProvisionedThroughputExceeded (injected)'),
    });
    const o = await order('db-rejects@example.com');
    const s = await expectRecovered(o.applicationId);
    expect(fault.fired()).toBe(1);
    expect(s.others).toEqual([]);
  }, 60_000);

  it('the certificate write succeeds but its answer is lost: the retry finds it, signs nothing new — RECOVERS', async () => {
    const fault = stack.store.inject({
      store: 'certificates',
      method: 'save',
      when: 'after',
      match: ([c]) => (c as CertificateRecord).status === 'good',
      times: 2,
      error: () => new DependencyError('connection reset after the write (injected)'),
    });
    const signaturesBefore = stack.signer.calls.filter((c) => c.keyId === 'issuing-ca').length;
    const o = await order('answer-lost@example.com');
    const s = await expectRecovered(o.applicationId);
    expect(fault.fired()).toBe(2);
    expect(s.others).toEqual([]);
    // Two certificates, two signatures by the issuing CA key: the retry did not sign again.
    expect(stack.signer.calls.filter((c) => c.keyId === 'issuing-ca').length - signaturesBefore).toBe(2);
  }, 60_000);

  it('the application write after signing is rejected: the retry finds the certificates by card, signs nothing twice — RECOVERS', async () => {
    const fault = stack.store.inject({
      store: 'applications',
      method: 'save',
      when: 'before',
      match: ([a]) => Boolean((a as Application).certificateSerials) && (a as Application).status === 'paid',
      times: 1,
      error: () => new DependencyError('ConditionalCheck service error (injected)'),
    });
    const o = await order('app-write@example.com');
    const s = await expectRecovered(o.applicationId);
    expect(fault.fired()).toBe(1);
    expect(s.others).toEqual([]);
    const intents = (await auditTrail(stack)).filter(
      (r) => r.action === 'certificate.sign.intent' && r.details.applicationId === o.applicationId,
    );
    expect(intents).toHaveLength(1); // the retry did not go back to the CA
  }, 60_000);

  it('the signer fails every time: the paid order ends failed with an audit record and an ops alert mail — REPORTS', async () => {
    stack.signer.failNext(1000, () => new DependencyError('HSM partition offline (injected)'));
    const o = await order('signer-down@example.com');
    const { app, s } = await expectReported(o.applicationId);
    stack.signer.healed();
    expect(app.failureReason).toMatch(/DependencyError/);
    expect(s.good).toEqual([]); // nothing was signed
    expect(s.jobs).toEqual([]);
    // What the CA reserved for the order is left for a person, and the sweeper lists it for ops.
    expect(s.others.every((x) => x.endsWith(' reserved'))).toBe(true);
    stack.clock.advance(20 * 60_000);
    const report = await stack.sweepNow();
    const stuck = report.stuckCertificates.filter((c) => c.applicationId === o.applicationId);
    expect(stuck.map((c) => c.serialNumber).sort()).toEqual(s.others.map((x) => x.split(' ')[0]).sort());
    expect((await auditTrail(stack)).some((r) => r.action === 'sweeper.report')).toBe(true);
  }, 60_000);

  it('a non-retryable database error on the signed certificate: failed, reported, the signed-but-unstored serial listed — REPORTS', async () => {
    stack.store.inject({
      store: 'certificates',
      method: 'save',
      when: 'before',
      match: ([c]) => (c as CertificateRecord).status === 'good',
      times: 1000,
      error: () => new InternalError('ValidationException: item size exceeded (injected)'),
    });
    const o = await order('db-broken@example.com');
    const { s } = await expectReported(o.applicationId);
    expect(s.good).toEqual([]);
    expect(s.jobs).toEqual([]);
    expect(s.others.length).toBeGreaterThan(0);
  }, 60_000);

  /*
   * An order that fails AFTER its card job was queued (here: the save that marks it `issued` is refused for
   * good): MarkFailed withdraws the job (failed, reason `withdrawn:`), so no card station makes a card for a
   * failed order; ops re-queueing the order puts the same job back with the same card.
   */
  it('an order that fails after its card job was queued: the job is withdrawn, no card is made for it — REPORTS', async () => {
    stack.store.inject({
      store: 'applications',
      method: 'save',
      when: 'before',
      match: ([x]) => (x as Application).status === 'issued',
      times: 1000,
      error: () => new InternalError('ValidationException (injected)'),
    });
    const o = await order('queue-broken@example.com');
    await waitFor(
      'the order to fail',
      async () => (await integrity(o.applicationId)).status === 'failed' || undefined,
    );
    stack.store.clearFaults();
    expect(await integrity(o.applicationId)).toMatchObject({ status: 'failed', jobs: ['failed'] });
    const outcomes = await (await bureau.agent(`agent-${o.applicationId}`)).run({ once: true });
    expect(outcomes).toEqual([]);
  }, 60_000);

  /*
   * The `cardjob.queue` record is appended before the order moves to `issued`, so when the append fails
   * (a retryable DependencyError) the retry still finds the order `paid` and writes it.
   */
  it('an audit outage right after queueing: the retry still writes the cardjob.queue record — RECOVERS', async () => {
    const fault = stack.store.inject({
      store: 'audit',
      method: 'put',
      when: 'before',
      match: ([r]) => (r as { action: string }).action === 'cardjob.queue',
      times: 1,
      error: () => new DependencyError('audit table throttled (injected)'),
    });
    const o = await order('audit-blip@example.com');
    const app = await waitForStatus(stack, o.applicationId, ['issued']);
    expect(fault.fired()).toBe(1);
    await expectRecovered(o.applicationId);
    const queued = (await auditTrail(stack)).filter(
      (r) => r.action === 'cardjob.queue' && r.subject.id === o.applicationId,
    );
    expect(queued.map((r) => r.details.cardJobId)).toEqual([app.cardJobId]);
  }, 60_000);

  it('the mailer is down for a while: payment, issuance, personalization and mailing complete; the failed mails are logged — RECOVERS', async () => {
    stack.mailer.down = true;
    const failedBefore = stack.mailer.failed.length;
    const o = await order('mail-down@example.com');
    const paid = await waitForStatus(stack, o.applicationId, ['issued']);
    expect(paid.payment?.amount).toBe(278);
    // The relay comes back before the card is handed to the post.
    stack.mailer.down = false;
    await expectRecovered(o.applicationId);
    const failed = stack.mailer.failed.slice(failedBefore).map((m) => m.template);
    expect(failed).toEqual(expect.arrayContaining(['application-received', 'payment-received']));
    const logged = capture!.lines.filter((l) => l.includes('after commit: mail.'));
    expect(logged.length).toBeGreaterThanOrEqual(2);
    // The shipping mail follows the mailing report (the workflow's next step): wait for it.
    const shippedMail = async () =>
      (await stack.outbox()).filter(
        (m) => m.file.includes('-card-shipped-') && m.file.includes(o.applicationId),
      );
    await waitFor('the shipping mail', async () => ((await shippedMail()).length ? true : undefined));
    expect(await shippedMail()).toHaveLength(1);
  }, 60_000);

  /*
   * Fixed in notifyShipped: the card and the order are recorded `mailed` before the holder is told, and a
   * notice that cannot be sent is reported to ops (audit record) instead of failing a shipped order.
   */
  it('the mailer is down for the whole order: the card made and posted is recorded mailed, the unsent mail reported — RECOVERS', async () => {
    stack.mailer.down = true;
    const o = await order('mail-dead@example.com');
    await waitForStatus(stack, o.applicationId, ['issued']);
    const outcomes = await (await bureau.agent(`agent-${o.applicationId}`)).run({ once: true });
    expect(outcomes.map((x) => x.outcome)).toEqual(['mailed']);
    const s = await waitFor('the workflow to finish', async () => {
      const now = await integrity(o.applicationId);
      return now.status === 'mailed' || now.status === 'failed' ? now : undefined;
    });
    expectNoDoubleIssuance(s);
    expect(s.good).toEqual(['holder-encryption', 'holder-signature']);
    expect(s.jobs).toEqual(['mailed']);
    expect(capture!.lines.some((l) => l.includes('mail.payment-received'))).toBe(true);
    expect(s.status).toBe('mailed');
    const app = (await stack.repo.applications.get(o.applicationId)) as Application;
    expect((await stack.repo.cards.get(app.cardNumber!))?.status).toBe('mailed');
    // The notice that could not go out is reported to ops (the audit record is the alert of record while
    // the relay is down), once.
    const reported = (await auditTrail(stack)).filter(
      (r) => r.action === 'mail.card-shipped.undelivered' && r.subject.id === o.applicationId,
    );
    expect(reported).toHaveLength(1);
    expect(reported[0]!.details).toMatchObject({ opsAlerted: true });
    expect(
      stack.mailer.failed.some((m) => m.template === 'card-shipped' && m.reference === o.applicationId),
    ).toBe(true);
  }, 60_000);

  it('the card station disappears holding a lease: the lease expires, another agent finishes the same card — RECOVERS', async () => {
    const o = await order('station-gone@example.com');
    const issued = await waitForStatus(stack, o.applicationId, ['issued']);
    // Agent A leases the job, writes and closes the card, then its process dies before reporting it.
    const a = await bureau.agent(
      `gone-${o.applicationId}`,
      (http): CardStationApi => ({
        ...http,
        enroll: (r) => http.enroll(r),
        lease: (r) => http.lease(r),
        heartbeat: (id, r) => http.heartbeat(id, r),
        complete: async () => {
          throw new Error('agent A: process killed (injected)');
        },
        mailed: (id, r) => http.mailed(id, r),
        failure: (id, r) => http.failure(id, r),
      }),
    );
    const token = await stack.tokens.cardStation();
    const leased = await api(stack.url, 'POST', '/v1/card-station/jobs/lease', {
      token,
      body: { agentId: a.agentId },
    });
    expect(leased.status).toBe(200);
    expect(leased.body.cardNumber).toBe(issued.cardNumber);
    await expect(a.process(leased.body)).rejects.toThrow('process killed');
    const held = (await stack.repo.cardJobs.get(issued.cardJobId!))!;
    expect(held).toMatchObject({ status: 'leased', leaseOwner: `bureau-1/${a.agentId}` });

    // Nobody else may take it while the lease runs.
    const b = await bureau.agent(`takeover-${o.applicationId}`);
    expect(await b.run({ once: true })).toEqual([]);

    // The lease runs out; agent B leases the job and finishes the card A wrote (no second card).
    stack.clock.advance(6 * 60_000);
    const outcomes = await b.run({ once: true });
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'mailed', cardNumber: issued.cardNumber, jobId: issued.cardJobId }),
    ]);
    const s = await expectRecovered(o.applicationId);
    expect(s.cards).toEqual([issued.cardNumber]);
    const job = (await stack.repo.cardJobs.get(issued.cardJobId!))!;
    expect(job).toMatchObject({ status: 'mailed', leaseOwner: `bureau-1/${b.agentId}`, attempts: 2 });
    // A coming back late cannot complete or report anything for the job any more.
    const late = await api(stack.url, 'POST', `/v1/card-station/jobs/${issued.cardJobId}/heartbeat`, {
      token,
      body: { agentId: a.agentId },
    });
    expect(late.status).toBe(409);
    expect(late.body.error.rule).toBe('cardjob.lease_lost');
  }, 60_000);

  it('a lease that nobody takes over is reported by the sweeper (the bureau is down) — REPORTS', async () => {
    const o = await order('bureau-down@example.com');
    const issued = await waitForStatus(stack, o.applicationId, ['issued']);
    const token = await stack.tokens.cardStation();
    const leased = await api(stack.url, 'POST', '/v1/card-station/jobs/lease', {
      token,
      body: { agentId: 'vanishing-agent' },
    });
    expect(leased.body.id).toBe(issued.cardJobId);
    stack.clock.advance(2 * 3600_000);
    const report = await stack.sweepNow();
    expect(report.expiredLeases).toEqual([
      expect.objectContaining({
        jobId: issued.cardJobId,
        applicationId: o.applicationId,
        leaseOwner: 'bureau-1/vanishing-agent',
      }),
    ]);
    const reported = (await auditTrail(stack)).filter((r) => r.action === 'sweeper.report');
    expect(JSON.stringify(reported.at(-1)!.details)).toContain(issued.cardJobId!);
    // And the order is still whole: a later agent finishes it.
    await expectRecovered(o.applicationId);
  }, 60_000);
});
