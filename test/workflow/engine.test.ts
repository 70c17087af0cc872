import { readFileSync } from 'node:fs';
import {
  createIssuanceTaskHandlers,
  type IssuanceTaskHandlers,
  type IssuanceTaskName,
} from '../../functions/workflow/handlers.js';
import type { Application, ApplicationTombstone, Card } from '../../shared/domain/model.js';
import { DependencyError, InternalError } from '../../shared/errors.js';
import { sweep } from '../../shared/usecases/sweeper.js';
import {
  ISSUANCE_DEFINITION_URL,
  LocalWorkflow,
  type LocalWorkflowOptions,
} from '../../shared/workflow/local-engine.js';
import {
  application,
  blankCard,
  DAY,
  DEADLINE,
  getApp,
  pay,
  stationCompletes,
  stationMails,
  type World,
  world,
} from './support.js';

const definition = JSON.parse(readFileSync(ISSUANCE_DEFINITION_URL, 'utf8')) as {
  States: Record<string, { Retry?: unknown }>;
};
/** Every retrier waits 0 ms in these tests. */
const noRetryWaits = Object.fromEntries(
  Object.entries(definition.States)
    .filter(([, s]) => s.Retry)
    .map(([name]) => [name, 0]),
);

type Calls = Partial<Record<IssuanceTaskName, number>>;
type Wrap = (task: IssuanceTaskName, run: (event: unknown) => Promise<Record<string, unknown>>) => typeof run;

const engines: LocalWorkflow[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

const engineFor = (
  w: World,
  opts: { wrap?: Wrap; calls?: Calls } & Partial<
    Pick<LocalWorkflowOptions, 'callbackTimeoutOverridesMs'>
  > = {},
): LocalWorkflow => {
  const calls = opts.calls ?? {};
  const engine = new LocalWorkflow({
    handlers: (workflow) => {
      const real: IssuanceTaskHandlers = createIssuanceTaskHandlers({ ...w.deps, workflow });
      return Object.fromEntries(
        Object.entries(real).map(([task, run]) => {
          const wrapped = opts.wrap ? opts.wrap(task as IssuanceTaskName, run) : run;
          return [
            task,
            async (event: unknown) => {
              calls[task as IssuanceTaskName] = (calls[task as IssuanceTaskName] ?? 0) + 1;
              return wrapped(event);
            },
          ];
        }),
      );
    },
    applications: w.repo.applications,
    retryIntervalOverrides: noRetryWaits,
    callbackTimeoutOverridesMs: opts.callbackTimeoutOverridesMs,
  });
  engines.push(engine);
  return engine;
};

const setUp = async (w: World, over: Partial<Application> = {}, cards = 2) => {
  for (let i = 0; i < cards; i++) await w.repo.cards.create(blankCard());
  return w.repo.applications.create(application(over));
};

const job = async (w: World, id: string) =>
  (await w.repo.cardJobs.get((await getApp(w.repo, id))!.cardJobId!))!;

describe('local issuance engine', () => {
  it('runs a paid order to the end: allocate, sign, queue, card station, mailing, holder notified', async () => {
    const w = world();
    const app = await setUp(w);
    const engine = engineFor(w);

    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'AwaitPayment');
    expect((await getApp(w.repo, app.id))?.paymentTaskToken).toMatch(/^local:/);

    await pay(w, engine, app.id);
    await engine.waitForCallback(app.id, 'QueueCardJob');
    const issued = (await getApp(w.repo, app.id))!;
    expect(issued.status).toBe('issued');
    expect(issued.cardNumber).toMatch(/^TA\d{14}$/);
    const card = (await w.repo.cards.get(issued.cardNumber!)) as Card;
    expect(card).toMatchObject({ status: 'allocated', applicationId: app.id });
    expect(w.ca.issued).toHaveLength(1);
    expect(issued.certificateSerials).toBeDefined();
    const queued = await job(w, app.id);
    expect(queued).toMatchObject({
      status: 'queued',
      cardNumber: issued.cardNumber,
      mailingAddress: app.mailingAddress,
      holder: { name: 'LEE MEI LING' },
    });
    expect(queued.certificates.chain).toEqual(['SVNTVUlORy1DQQ==', 'Uk9PVC1DQQ==']);
    expect(queued.taskToken).toMatch(/^local:/);

    await stationCompletes(w, engine, queued.id);
    await engine.waitForCallback(app.id, 'AwaitMailing');
    expect((await getApp(w.repo, app.id))?.status).toBe('personalized');
    const mailingToken = (await job(w, app.id)).taskToken;
    expect(mailingToken).not.toBe(queued.taskToken);

    await stationMails(w, engine, queued.id, 'RR123456785TW');
    const outcome = await engine.settled(app.id);
    expect(outcome).toMatchObject({ status: 'succeeded' });

    const done = (await getApp(w.repo, app.id))!;
    expect(done).toMatchObject({ status: 'mailed', trackingNumber: 'RR123456785TW' });
    expect((await w.repo.cards.get(done.cardNumber!))?.status).toBe('mailed');
    const shipped = w.mailer.byTemplate('card-shipped');
    expect(shipped).toHaveLength(1);
    expect(shipped[0]).toMatchObject({ to: 'mei@example.com', reference: app.id });
    expect(shipped[0]!.text).toContain('RR123456785TW');
    expect(await w.deps.audit.verify()).toMatchObject({ ok: true });
    expect(engine.isRunning(app.id)).toBe(false);
  });

  it('resumes once when the payment callback is delivered twice', async () => {
    const w = world();
    const app = await setUp(w);
    const calls: Calls = {};
    const engine = engineFor(w, { calls });
    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'AwaitPayment');
    const token = (await getApp(w.repo, app.id))!.paymentTaskToken!;

    await pay(w, engine, app.id);
    await engine.sendTaskSuccess(token, { status: 'paid' }); // the gateway retried its callback
    await engine.waitForCallback(app.id, 'QueueCardJob');
    await engine.sendTaskSuccess(token, { status: 'paid' }); // and once more, much later

    expect(calls.allocateCard).toBe(1);
    expect(calls.signCertificates).toBe(1);
    expect(calls.queueCardJob).toBe(1);
    expect(w.ca.issued).toHaveLength(1);
    expect(engine.waitingIn(app.id)).toBe('QueueCardJob');
  });

  it('purges an unpaid order when the payment wait times out past the deadline: no personal data is left', async () => {
    const w = world();
    const app = await setUp(w);
    const engine = engineFor(w, { callbackTimeoutOverridesMs: { AwaitPayment: 20 } });
    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'AwaitPayment');
    w.clock.set(new Date(Date.parse(DEADLINE) + 1000)); // the window closes before the timeout fires

    const outcome = await engine.settled(app.id);
    expect(outcome).toMatchObject({ status: 'succeeded' });
    const stored = (await w.repo.applications.get(app.id)) as ApplicationTombstone;
    expect(stored.status).toBe('purged');
    expect(Object.keys(stored).sort()).toEqual([
      'createdAt',
      'endedAt',
      'id',
      'stationId',
      'status',
      'version',
    ]);
    const serialized = JSON.stringify(stored);
    for (const personal of [app.name, app.email, app.arcKey, app.dateOfBirth, app.mailingAddress.line1])
      expect(serialized).not.toContain(personal);
    const purgedMail = w.mailer.byTemplate('order-purged');
    expect(purgedMail).toHaveLength(1);
    expect(purgedMail[0]!.to).toBe('mei@example.com');
    expect(await w.repo.cards.countBlank()).toBe(2);
  });

  it('purges nothing when the same timeout fires a day before the deadline; the order waits again', async () => {
    const w = world(new Date(Date.parse(DEADLINE) - DAY).toISOString());
    const app = await setUp(w);
    let purgeAttempts = 0;
    let attempted!: () => void;
    const firstAttempt = new Promise<void>((r) => {
      attempted = r;
    });
    const engine = engineFor(w, {
      callbackTimeoutOverridesMs: { AwaitPayment: 20 },
      wrap: (task, run) =>
        task === 'purgeUnpaid'
          ? async (e) => {
              const r = await run(e);
              purgeAttempts++;
              attempted();
              return r;
            }
          : run,
    });
    await engine.startIssuance(app.id);
    await firstAttempt;
    expect(purgeAttempts).toBeGreaterThanOrEqual(1);
    await engine.waitForCallback(app.id, 'AwaitPayment'); // back to waiting for the payment
    const stored = (await getApp(w.repo, app.id))!;
    expect(stored).toMatchObject({ status: 'awaiting_payment', name: app.name, email: app.email });
    expect(w.mailer.byTemplate('order-purged')).toHaveLength(0);
    expect(engine.isRunning(app.id)).toBe(true);
  });

  it('ends a waiting execution when the sweeper purged the order and failed its payment task', async () => {
    const w = world();
    const app = await setUp(w);
    const engine = engineFor(w);
    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'AwaitPayment');

    w.clock.set(new Date(Date.parse(DEADLINE) + 60_000));
    const report = await sweep({ ...w.deps, workflow: engine });
    expect(report.purged).toEqual([app.id]);
    expect(await engine.settled(app.id)).toMatchObject({ status: 'succeeded' });
    expect((await w.repo.applications.get(app.id))?.status).toBe('purged');
    expect(w.mailer.byTemplate('order-purged')).toHaveLength(1); // the execution's purge changed nothing
  });

  it('re-attaches waiting executions after a restart; tokens of the old process are ignored', async () => {
    const w = world();
    const waiting = await setUp(w);
    const paidBefore = await w.repo.applications.create(application());
    const first = engineFor(w);
    await first.startIssuance(waiting.id);
    await first.startIssuance(paidBefore.id);
    await first.waitForCallback(waiting.id, 'AwaitPayment');
    await first.waitForCallback(paidBefore.id, 'AwaitPayment');
    await pay(w, first, paidBefore.id);
    await first.waitForCallback(paidBefore.id, 'QueueCardJob');
    const oldPaymentToken = (await getApp(w.repo, waiting.id))!.paymentTaskToken!;
    const oldJobToken = (await job(w, paidBefore.id)).taskToken!;
    await first.stop(); // the process goes away; only the repository remains

    const calls: Calls = {};
    const second = engineFor(w, { calls });
    expect((await second.resumeAll()).sort()).toEqual([waiting.id, paidBefore.id].sort());
    expect(await second.resumeAll()).toEqual([]); // already attached
    await second.waitForCallback(waiting.id, 'AwaitPayment');
    await second.waitForCallback(paidBefore.id, 'QueueCardJob');

    const newPaymentToken = (await getApp(w.repo, waiting.id))!.paymentTaskToken!;
    expect(newPaymentToken).not.toBe(oldPaymentToken);
    expect((await job(w, paidBefore.id)).taskToken).not.toBe(oldJobToken);
    await second.sendTaskSuccess(oldPaymentToken, {}); // unknown here: ignored
    expect(second.waitingIn(waiting.id)).toBe('AwaitPayment');

    // The re-attached issuance did not allocate or sign again.
    expect(calls.allocateCard).toBeUndefined();
    expect(w.ca.issued).toHaveLength(1);

    await pay(w, second, waiting.id);
    await second.waitForCallback(waiting.id, 'QueueCardJob');
    expect((await getApp(w.repo, waiting.id))?.status).toBe('issued');
  });

  it('after a restart, resumes at once past a card job the station completed while the engine was down', async () => {
    const w = world();
    const app = await setUp(w);
    const first = engineFor(w);
    await first.startIssuance(app.id);
    await first.waitForCallback(app.id, 'AwaitPayment');
    await pay(w, first, app.id);
    await first.waitForCallback(app.id, 'QueueCardJob');
    await first.stop();

    await stationCompletes(w, undefined, (await job(w, app.id)).id);
    const second = engineFor(w);
    await second.resumeAll();
    await second.waitForCallback(app.id, 'AwaitMailing');
    expect((await getApp(w.repo, app.id))?.status).toBe('personalized');
    const completed = await job(w, app.id);
    expect(completed.status).toBe('completed');
    expect(completed.id).toMatch(/^J\d{8}-[0-9A-HJKMNP-TV-Z]{10}$/);
  });

  it('retries a task that fails with a retryable error', async () => {
    const w = world();
    const app = await setUp(w, { status: 'paid' });
    let failures = 1;
    const calls: Calls = {};
    const engine = engineFor(w, {
      calls,
      wrap: (task, run) =>
        task === 'allocateCard'
          ? async (e) => {
              if (failures-- > 0) throw new DependencyError('inventory table throttled');
              return run(e);
            }
          : run,
    });
    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'QueueCardJob');
    expect(calls.allocateCard).toBe(2);
    expect(calls.markFailed).toBeUndefined();
    expect((await getApp(w.repo, app.id))?.status).toBe('issued');
  });

  it('marks a paid application failed (never lost) and alerts ops on an unrecoverable error', async () => {
    const w = world();
    const app = await setUp(w, { status: 'paid' });
    const calls: Calls = {};
    const engine = engineFor(w, {
      calls,
      wrap: (task, run) =>
        task === 'signCertificates'
          ? async () => {
              throw new InternalError('issuing CA certificate does not match its key');
            }
          : run,
    });
    await engine.startIssuance(app.id);
    const outcome = await engine.settled(app.id);
    expect(outcome).toMatchObject({ status: 'failed', error: 'IssuanceFailed' });
    expect(calls.signCertificates).toBe(1); // InternalError is not retried

    const failed = (await getApp(w.repo, app.id))!;
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toBe('InternalError: issuing CA certificate does not match its key');
    expect(failed.name).toBe(app.name); // the order and its data are kept for ops
    expect(w.mailer.byTemplate('ops-alert')).toHaveLength(1);
    expect(w.mailer.byTemplate('ops-alert')[0]!.to).toBe('ops@example.test');
    const records = await w.repo.audit.range('main', 1, 100);
    expect(records.map((r) => r.action)).toContain('issuance.failed');
  });

  it('keeps one live execution per application', async () => {
    const w = world();
    const app = await setUp(w);
    const calls: Calls = {};
    const engine = engineFor(w, { calls });
    await engine.startIssuance(app.id);
    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'AwaitPayment');
    await engine.startIssuance(app.id);
    expect(calls.loadApplication).toBe(1);
    expect(calls.awaitPayment).toBe(1);
  });

  it('revokes the previous card of a holder who applied again, once the new certificates exist', async () => {
    const w = world();
    const old = await w.repo.cards.create(blankCard());
    await w.repo.cards.save({ ...old, status: 'active' });
    const oldCerts = await w.ca.issueCardCertificates({
      applicationId: 'earlier',
      cardNumber: old.cardNumber,
      holderName: 'LEE MEI LING',
      subjectSerial: '1234567890123456',
      keys: old.keys,
      actor: { type: 'system', id: 'test' },
    });
    w.ca.issued = [];
    const app = await setUp(w, { status: 'paid', replacesCardNumber: old.cardNumber });
    const engine = engineFor(w);
    await engine.startIssuance(app.id);
    await engine.waitForCallback(app.id, 'QueueCardJob');

    expect(w.ca.revoked.map((r) => r.serial).sort()).toEqual(
      [oldCerts.signature.serialNumber, oldCerts.encryption.serialNumber].sort(),
    );
    expect(w.ca.revoked.every((r) => r.reason === 'superseded')).toBe(true);
    expect((await w.repo.cards.get(old.cardNumber))?.status).toBe('revoked');
    expect((await getApp(w.repo, app.id))?.cardNumber).not.toBe(old.cardNumber);
  });
});
