import { createIssuanceTaskHandlers } from '../../functions/workflow/handlers.js';
import { parseCardJobId } from '../../shared/domain/ids.js';
import type { Application, Card } from '../../shared/domain/model.js';
import { ConflictError, ValidationError } from '../../shared/errors.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import {
  allocateCard,
  awaitMailing,
  awaitPayment,
  cardJobIdOf,
  failureReason,
  loadApplication,
  MAX_PAYMENT_WAIT_SECONDS,
  markFailed,
  notifyShipped,
  OutOfStockError,
  purgeUnpaidApplication,
  queueCardJob,
  recordCardCompleted,
  signCertificates,
  subjectSerialOf,
} from '../../shared/usecases/issuance.js';
import {
  application,
  blankCard,
  DAY,
  DEADLINE,
  getApp,
  stationCompletes,
  stationMails,
  world,
} from './support.js';

const paidWithCard = async (w: ReturnType<typeof world>, over: Partial<Application> = {}) => {
  await w.repo.cards.create(blankCard());
  const app = await w.repo.applications.create(application({ status: 'paid', ...over }));
  await allocateCard(w.deps, app.id);
  return app;
};

const issuedApp = async (w: ReturnType<typeof world>) => {
  const app = await paidWithCard(w);
  await signCertificates(w.deps, app.id);
  await queueCardJob(w.deps, app.id, 'token-queue');
  return (await getApp(w.repo, app.id))!;
};

const actions = async (w: ReturnType<typeof world>) =>
  (await w.repo.audit.range('main', 1, 1000)).map((r) => r.action);

describe('loadApplication', () => {
  it('gives the seconds left in the payment window (at least 1 while open) and closes it at the deadline', async () => {
    const w = world(new Date(Date.parse(DEADLINE) - 90_500).toISOString());
    const app = await w.repo.applications.create(application());
    expect(await loadApplication(w.deps, app.id)).toEqual({
      applicationId: app.id,
      status: 'awaiting_payment',
      secondsUntilDeadline: 91,
      paymentWindowOpen: true,
    });
    w.clock.advance(90_400);
    expect((await loadApplication(w.deps, app.id)).secondsUntilDeadline).toBe(1);
    w.clock.advance(100);
    expect(await loadApplication(w.deps, app.id)).toMatchObject({
      secondsUntilDeadline: 0,
      paymentWindowOpen: false,
    });
  });

  it('never asks for one wait longer than 20 days (Node timers overflow at 24.8)', async () => {
    const w = world('2026-01-01T00:00:00.000Z');
    const app = await w.repo.applications.create(
      application({ paymentDeadline: '2026-12-31T15:59:59.000Z' }),
    );
    expect((await loadApplication(w.deps, app.id)).secondsUntilDeadline).toBe(MAX_PAYMENT_WAIT_SECONDS);
  });

  it('reports a purged order as purged and an unknown one as not found', async () => {
    const w = world(new Date(Date.parse(DEADLINE) + DAY).toISOString());
    const app = await w.repo.applications.create(application());
    await purgeUnpaidApplication(w.deps, app.id);
    expect((await loadApplication(w.deps, app.id)).status).toBe('purged');
    await expect(loadApplication(w.deps, 'A20260301-NOPE0000')).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});

describe('awaitPayment', () => {
  it('stores the token on an unpaid application and waits', async () => {
    const w = world();
    const app = await w.repo.applications.create(application());
    expect(await awaitPayment(w.deps, app.id, 'tok-1')).toEqual({ waiting: true });
    expect((await getApp(w.repo, app.id))?.paymentTaskToken).toBe('tok-1');
  });

  it('resumes at once when the payment came before the token was stored', async () => {
    const w = world();
    const app = await w.repo.applications.create(application({ status: 'paid' }));
    expect(await awaitPayment(w.deps, app.id, 'tok-1')).toEqual({
      waiting: false,
      output: { status: 'paid' },
    });
    expect((await getApp(w.repo, app.id))?.paymentTaskToken).toBeUndefined();
  });
});

describe('purgeUnpaidApplication', () => {
  it('purges only when unpaid and past the deadline by the Clock; the holder is mailed first, once', async () => {
    const w = world(new Date(Date.parse(DEADLINE) - DAY).toISOString());
    const app = await w.repo.applications.create(application());
    expect(await purgeUnpaidApplication(w.deps, app.id)).toEqual({
      purged: false,
      status: 'awaiting_payment',
    });
    w.clock.set(new Date(DEADLINE));
    expect((await purgeUnpaidApplication(w.deps, app.id)).purged).toBe(false); // 23:59:59 is still inside
    w.clock.advance(1000);
    expect(await purgeUnpaidApplication(w.deps, app.id)).toEqual({ purged: true, status: 'purged' });
    expect(await purgeUnpaidApplication(w.deps, app.id)).toEqual({ purged: true, status: 'purged' });
    expect(w.mailer.byTemplate('order-purged')).toHaveLength(1);
    expect(await actions(w)).toEqual(['application.purge']);
  });

  it('never purges a paid order, even long after the deadline', async () => {
    const w = world(new Date(Date.parse(DEADLINE) + 30 * DAY).toISOString());
    const app = await w.repo.applications.create(application({ status: 'paid' }));
    expect(await purgeUnpaidApplication(w.deps, app.id)).toEqual({ purged: false, status: 'paid' });
    expect((await getApp(w.repo, app.id))?.name).toBe(app.name);
  });

  it('keeps the order when the mail cannot be sent (the e-mail address would be lost), so a retry can purge', async () => {
    const w = world(new Date(Date.parse(DEADLINE) + DAY).toISOString());
    const app = await w.repo.applications.create(application());
    w.mailer.failNext = 1;
    await expect(purgeUnpaidApplication(w.deps, app.id)).rejects.toThrow('smtp down');
    expect((await getApp(w.repo, app.id))?.email).toBe(app.email);
    expect((await purgeUnpaidApplication(w.deps, app.id)).purged).toBe(true);
  });
});

describe('allocateCard', () => {
  it('allocates the same card however often it runs', async () => {
    const w = world();
    for (let i = 0; i < 3; i++) await w.repo.cards.create(blankCard());
    const app = await w.repo.applications.create(application({ status: 'paid' }));
    const first = await allocateCard(w.deps, app.id);
    const again = await allocateCard(w.deps, app.id);
    expect(again).toEqual(first);
    expect(await w.repo.cards.countBlank()).toBe(2);
    expect(await w.repo.cards.get(first.cardNumber)).toMatchObject({
      status: 'allocated',
      applicationId: app.id,
    });
    expect((await actions(w)).filter((a) => a === 'card.allocate')).toHaveLength(1);
  });

  it('gives concurrent orders different cards', async () => {
    const w = world();
    for (let i = 0; i < 8; i++) await w.repo.cards.create(blankCard());
    const apps = await Promise.all(
      Array.from({ length: 8 }, () => w.repo.applications.create(application({ status: 'paid' }))),
    );
    const cards = await Promise.all(apps.map((a) => allocateCard(w.deps, a.id)));
    expect(new Set(cards.map((c) => c.cardNumber)).size).toBe(8);
    for (const [i, c] of cards.entries())
      expect((await w.repo.cards.get(c.cardNumber))?.applicationId).toBe(apps[i]!.id);
    expect(await w.repo.cards.countBlank()).toBe(0);
  });

  it('finishes an allocation interrupted between choosing the card and claiming it', async () => {
    const w = world();
    const chosen = await w.repo.cards.create(blankCard());
    await w.repo.cards.create(blankCard());
    const app = await w.repo.applications.create(
      application({ status: 'paid', cardNumber: chosen.cardNumber }), // crash right after this write
    );
    expect(await allocateCard(w.deps, app.id)).toEqual({ cardNumber: chosen.cardNumber });
    expect((await w.repo.cards.get(chosen.cardNumber))?.status).toBe('allocated');
  });

  it('chooses again when its chosen card was taken by another order meanwhile', async () => {
    const w = world();
    const taken = await w.repo.cards.create(blankCard());
    const free = await w.repo.cards.create(blankCard());
    await w.repo.cards.save({ ...taken, status: 'allocated', applicationId: 'other' });
    const app = await w.repo.applications.create(
      application({ status: 'paid', cardNumber: taken.cardNumber }),
    );
    expect(await allocateCard(w.deps, app.id)).toEqual({ cardNumber: free.cardNumber });
  });

  it('with no stock: a retryable OutOfStockError and one ops alert per hour', async () => {
    const w = world();
    const a = await w.repo.applications.create(application({ status: 'paid' }));
    const b = await w.repo.applications.create(application({ status: 'paid' }));
    const err = await allocateCard(w.deps, a.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutOfStockError);
    expect((err as OutOfStockError).name).toBe('OutOfStockError'); // what the ASL retrier matches
    expect((err as OutOfStockError).retryable).toBe(true);
    await expect(allocateCard(w.deps, b.id)).rejects.toBeInstanceOf(OutOfStockError);
    expect(w.mailer.byTemplate('ops-alert')).toHaveLength(1);
    expect(await actions(w)).toEqual(['inventory.exhausted']);
    w.clock.advance(3_600_000);
    await expect(allocateCard(w.deps, b.id)).rejects.toBeInstanceOf(OutOfStockError);
    expect(w.mailer.byTemplate('ops-alert')).toHaveLength(2);
  });

  it('refuses an unpaid order', async () => {
    const w = world();
    await w.repo.cards.create(blankCard());
    const app = await w.repo.applications.create(application());
    await expect(allocateCard(w.deps, app.id)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('signCertificates', () => {
  it('asks the CA once, however often it runs', async () => {
    const w = world();
    const app = await paidWithCard(w);
    const first = await signCertificates(w.deps, app.id);
    const again = await signCertificates(w.deps, app.id);
    expect(again).toEqual(first);
    expect(w.ca.issued).toHaveLength(1);
    const card = (await w.repo.cards.get((await getApp(w.repo, app.id))!.cardNumber!)) as Card;
    expect(card.certificateSerials).toEqual(first);
    expect(w.ca.issued[0]).toMatchObject({
      applicationId: app.id,
      cardNumber: card.cardNumber,
      holderName: app.name,
      subjectSerial: subjectSerialOf(app.arcKey),
      keys: card.keys,
      actor: { type: 'system', id: 'workflow' },
    });
  });

  it('does not sign again after a crash between the CA and the application update', async () => {
    const w = world();
    const app = await paidWithCard(w);
    const cardNumber = (await getApp(w.repo, app.id))!.cardNumber!;
    const card = (await w.repo.cards.get(cardNumber))!;
    const before = await w.ca.issueCardCertificates({
      applicationId: app.id,
      cardNumber,
      holderName: app.name,
      subjectSerial: subjectSerialOf(app.arcKey),
      keys: card.keys,
      actor: { type: 'system', id: 'workflow' },
    });
    expect(await signCertificates(w.deps, app.id)).toEqual({
      signature: before.signature.serialNumber,
      encryption: before.encryption.serialNumber,
    });
    expect(w.ca.issued).toHaveLength(1);
  });

  it('signs nothing for a card that is not allocated to the order', async () => {
    const w = world();
    const other = await w.repo.cards.create(blankCard());
    const app = await w.repo.applications.create(
      application({ status: 'paid', cardNumber: other.cardNumber }),
    );
    await expect(signCertificates(w.deps, app.id)).rejects.toBeInstanceOf(ConflictError);
    expect(w.ca.issued).toHaveLength(0);
  });
});

describe('subjectSerialOf', () => {
  it('is 16 digits, the same for one holder and different between holders', () => {
    expect(subjectSerialOf('arck-1')).toMatch(/^\d{16}$/);
    expect(subjectSerialOf('arck-1')).toBe(subjectSerialOf('arck-1'));
    expect(subjectSerialOf('arck-1')).not.toBe(subjectSerialOf('arck-2'));
  });
});

describe('queueCardJob, recordCardCompleted, awaitMailing, notifyShipped', () => {
  it('queues one job however often it runs; a later run only stores its new token', async () => {
    const w = world();
    const app = await paidWithCard(w);
    await signCertificates(w.deps, app.id);
    expect(await queueCardJob(w.deps, app.id, 'token-1')).toEqual({ waiting: true });
    expect(await queueCardJob(w.deps, app.id, 'token-2')).toEqual({ waiting: true });
    const issued = (await getApp(w.repo, app.id))!;
    expect(issued.status).toBe('issued');
    expect(issued.cardJobId).toBe(cardJobIdOf(app, issued.cardNumber!));
    expect(parseCardJobId('id', issued.cardJobId)).toBe(issued.cardJobId);
    const job = (await w.repo.cardJobs.get(issued.cardJobId!))!;
    expect(job).toMatchObject({ version: 2, status: 'queued', taskToken: 'token-2', attempts: 0 });
    const sig = (await w.repo.certificates.get(issued.certificateSerials!.signature))!;
    expect(job.certificates.signature).toBe(sig.der);
    expect(job.holder.expiry).toBe(
      new Date(Date.parse(sig.notAfter) + 8 * 3600_000).toISOString().slice(0, 10),
    );
    expect((await actions(w)).filter((a) => a === 'cardjob.queue')).toHaveLength(1);
  });

  it('resumes at once when the station completed or mailed before the task ran', async () => {
    const w = world();
    const app = await issuedApp(w);
    await stationCompletes(w, undefined, app.cardJobId!);
    expect(await queueCardJob(w.deps, app.id, 'token-3')).toEqual({
      waiting: false,
      output: { jobStatus: 'completed' },
    });
    expect(await recordCardCompleted(w.deps, app.id)).toEqual({ completed: true });
    expect(await awaitMailing(w.deps, app.id, 'token-4')).toEqual({ waiting: true });
    expect((await w.repo.cardJobs.get(app.cardJobId!))?.taskToken).toBe('token-4');
    await stationMails(w, undefined, app.cardJobId!);
    expect(await awaitMailing(w.deps, app.id, 'token-5')).toEqual({
      waiting: false,
      output: { jobStatus: 'mailed' },
    });
  });

  it('says "wait again" when resumed before the job is completed or mailed', async () => {
    const w = world();
    const app = await issuedApp(w);
    expect(await recordCardCompleted(w.deps, app.id)).toEqual({ completed: false });
    await stationCompletes(w, undefined, app.cardJobId!);
    expect(await recordCardCompleted(w.deps, app.id)).toEqual({ completed: true });
    expect((await getApp(w.repo, app.id))?.status).toBe('personalized');
    expect(await notifyShipped(w.deps, app.id)).toEqual({ shipped: false });
    expect(w.mailer.byTemplate('card-shipped')).toHaveLength(0);
  });

  it('a failed card job fails the task (the workflow then marks the order failed)', async () => {
    const w = world();
    const app = await issuedApp(w);
    const job = (await w.repo.cardJobs.get(app.cardJobId!))!;
    await w.repo.cardJobs.save({ ...job, status: 'failed', failureReason: 'chip write error' });
    await expect(recordCardCompleted(w.deps, app.id)).rejects.toThrow('chip write error');
    await expect(queueCardJob(w.deps, app.id, 'token-9')).rejects.toBeInstanceOf(ConflictError);
  });

  it('tells the holder once, with the tracking number', async () => {
    const w = world();
    const app = await issuedApp(w);
    await stationCompletes(w, undefined, app.cardJobId!);
    await recordCardCompleted(w.deps, app.id);
    await stationMails(w, undefined, app.cardJobId!, 'RR123456785TW');
    expect(await notifyShipped(w.deps, app.id)).toEqual({
      shipped: true,
      trackingNumber: 'RR123456785TW',
      notified: true,
    });
    expect(await notifyShipped(w.deps, app.id)).toEqual({
      shipped: true,
      trackingNumber: 'RR123456785TW',
      notified: true,
    });
    expect(w.mailer.byTemplate('card-shipped')).toHaveLength(1);
    expect(await getApp(w.repo, app.id)).toMatchObject({ status: 'mailed', trackingNumber: 'RR123456785TW' });
    expect((await w.repo.cards.get(app.cardNumber!))?.status).toBe('mailed');
  });
});

describe('markFailed', () => {
  it('withdraws a card job the bureau has not finished; re-queueing the order puts the same job back', async () => {
    const w = world();
    const app = await issuedApp(w);
    expect(await markFailed(w.deps, app.id, 'States.TaskFailed', 'boom')).toMatchObject({
      markedFailed: true,
    });
    const withdrawn = await w.repo.cardJobs.get(app.cardJobId!);
    expect(withdrawn).toMatchObject({ status: 'failed' });
    expect(withdrawn?.failureReason).toMatch(/^withdrawn:/);
    expect(await actions(w)).toContain('cardjob.withdraw');
    // Ops re-queue the order (failed → paid): the workflow queues the same job, with the same card.
    const failed = (await getApp(w.repo, app.id))!;
    await w.repo.applications.save({ ...failed, status: 'paid' });
    expect(await queueCardJob(w.deps, app.id, 'token-requeued')).toEqual({ waiting: true });
    const requeued = await w.repo.cardJobs.get(app.cardJobId!);
    expect(requeued).toMatchObject({
      status: 'queued',
      taskToken: 'token-requeued',
      cardNumber: app.cardNumber,
    });
    expect(requeued?.failureReason).toBeUndefined();
    expect((await getApp(w.repo, app.id))?.status).toBe('issued');
  });

  it('marks a paid order failed with a short reason taken from a Lambda error cause', async () => {
    const w = world();
    const app = await issuedApp(w);
    const cause = JSON.stringify({
      errorType: 'InternalError',
      errorMessage: 'HSM refused the key',
      trace: ['x'],
    });
    expect(await markFailed(w.deps, app.id, 'InternalError', cause)).toEqual({
      status: 'failed',
      markedFailed: true,
    });
    expect((await getApp(w.repo, app.id))?.failureReason).toBe('InternalError: HSM refused the key');
    expect(await actions(w)).toContain('issuance.failed');
  });

  it('only reports an unpaid order (it cannot be "failed"; the sweeper still purges it)', async () => {
    const w = world();
    const app = await w.repo.applications.create(application());
    expect(await markFailed(w.deps, app.id, 'States.Runtime', 'bad path')).toEqual({
      status: 'awaiting_payment',
      markedFailed: false,
    });
    expect((await getApp(w.repo, app.id))?.status).toBe('awaiting_payment');
    expect(await actions(w)).toEqual(['issuance.error']);
    expect(w.mailer.byTemplate('ops-alert')).toHaveLength(1);
  });

  it('still records the alert when the ops mailbox is down', async () => {
    const w = world();
    const app = await issuedApp(w);
    w.mailer.failNext = 1;
    expect((await markFailed(w.deps, app.id, 'ConflictError', 'x')).markedFailed).toBe(true);
    expect(await actions(w)).toContain('issuance.failed');
  });

  it('masks ARC-shaped text and keeps reasons short', () => {
    expect(failureReason('Error', 'holder A800000014 not found')).toBe('Error: holder ******0014 not found');
    expect(failureReason('Error', 'x'.repeat(1000))).toHaveLength(300);
  });
});

describe('task handlers', () => {
  const recordingWorkflow = () => {
    const sent: { token: string; output: Record<string, unknown> }[] = [];
    const workflow: Workflow = {
      startIssuance: async () => {},
      sendTaskSuccess: async (token, output) => {
        sent.push({ token, output });
      },
      sendTaskFailure: async () => {},
    };
    return { sent, workflow };
  };

  it('routes by task name and resumes a callback task itself when nothing is left to wait for', async () => {
    const w = world();
    const { sent, workflow } = recordingWorkflow();
    const handlers = createIssuanceTaskHandlers({ ...w.deps, workflow });
    const app = await w.repo.applications.create(application({ status: 'paid' }));
    expect(
      await handlers.dispatch({ task: 'awaitPayment', applicationId: app.id, taskToken: 'tok' }),
    ).toEqual({
      waiting: false,
    });
    expect(sent).toEqual([{ token: 'tok', output: { status: 'paid' } }]);
    expect(await handlers.loadApplication({ task: 'loadApplication', applicationId: app.id })).toMatchObject({
      status: 'paid',
    });
  });

  it('marks failed from the Catch output object, with or without a Cause', async () => {
    const w = world();
    const handlers = createIssuanceTaskHandlers({ ...w.deps, workflow: recordingWorkflow().workflow });
    const app = await w.repo.applications.create(application({ status: 'paid' }));
    expect(
      await handlers.markFailed({
        task: 'markFailed',
        applicationId: app.id,
        error: { Error: 'States.Timeout' },
      }),
    ).toEqual({ status: 'failed', markedFailed: true });
    expect((await getApp(w.repo, app.id))?.failureReason).toBe('States.Timeout');
  });

  it('refuses a malformed event or one meant for another task', async () => {
    const w = world();
    const handlers = createIssuanceTaskHandlers({ ...w.deps, workflow: recordingWorkflow().workflow });
    await expect(handlers.dispatch({ task: 'nope', applicationId: 'x' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(handlers.awaitPayment({ task: 'awaitPayment', applicationId: 'x' })).rejects.toMatchObject({
      field: 'taskToken',
    });
    await expect(
      handlers.allocateCard({ task: 'signCertificates', applicationId: 'x' }),
    ).rejects.toMatchObject({
      field: 'task',
    });
  });
});
