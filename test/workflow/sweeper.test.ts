import type { ApplicationTombstone } from '../../shared/domain/model.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import { scheduleSweeps, sweep } from '../../shared/usecases/sweeper.js';
import { application, DAY, DEADLINE, world } from './support.js';

const recordingWorkflow = () => {
  const failures: { token: string; error: string; cause: string }[] = [];
  const workflow: Workflow = {
    startIssuance: async () => {},
    sendTaskSuccess: async () => {},
    sendTaskFailure: async (token, error, cause) => {
      failures.push({ token, error, cause });
    },
  };
  return { failures, workflow };
};

const deadlinePlus = (ms: number) => new Date(Date.parse(DEADLINE) + ms).toISOString();

describe('sweeper', () => {
  it('purges every unpaid order past its deadline with no execution running, and fails a waiting payment task', async () => {
    const w = world(deadlinePlus(60_000));
    const { failures, workflow } = recordingWorkflow();
    const waiting = await w.repo.applications.create(application({ paymentTaskToken: 'tok-waiting' }));
    const orphan = await w.repo.applications.create(application()); // its execution was lost
    const later = await w.repo.applications.create(application({ paymentDeadline: deadlinePlus(DAY) }));
    const paid = await w.repo.applications.create(application({ status: 'paid' }));

    const report = await sweep({ ...w.deps, workflow });
    expect(report.purged.sort()).toEqual([waiting.id, orphan.id].sort());
    expect(report.purgeErrors).toEqual([]);
    for (const id of [waiting.id, orphan.id]) {
      const t = (await w.repo.applications.get(id)) as ApplicationTombstone;
      expect(t).toMatchObject({ id, status: 'purged', stationId: 'TPE01' });
      expect(JSON.stringify(t)).not.toContain('mei@example.com');
    }
    expect((await w.repo.applications.get(later.id))?.status).toBe('awaiting_payment');
    expect((await w.repo.applications.get(paid.id))?.status).toBe('paid');
    expect(failures).toEqual([
      { token: 'tok-waiting', error: 'PaymentWindowClosed', cause: expect.any(String) },
    ]);
    expect(
      w.mailer
        .byTemplate('order-purged')
        .map((m) => m.reference)
        .sort(),
    ).toEqual([waiting.id, orphan.id].sort());

    // Nothing left to do on the next run.
    expect((await sweep({ ...w.deps, workflow })).purged).toEqual([]);
  });

  it('purges nothing one day before the deadline', async () => {
    const w = world(new Date(Date.parse(DEADLINE) - DAY).toISOString());
    const app = await w.repo.applications.create(application());
    const report = await sweep({ ...w.deps, workflow: recordingWorkflow().workflow });
    expect(report.purged).toEqual([]);
    expect((await w.repo.applications.get(app.id))?.status).toBe('awaiting_payment');
    expect(w.mailer.sent).toEqual([]);
  });

  it('works through more due orders than one page, and reports one it could not purge without looping', async () => {
    const w = world(deadlinePlus(DAY));
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await w.repo.applications.create(application())).id);
    w.mailer.failNext = 1; // the first purge mail fails: that order stays for the next run
    const report = await sweep({ ...w.deps, workflow: recordingWorkflow().workflow }, { batchSize: 2 });
    expect(report.purged).toHaveLength(6);
    expect(report.purgeErrors).toEqual([{ applicationId: ids[0], error: 'Error' }]);
    expect((await w.repo.applications.get(ids[0]!))?.status).toBe('awaiting_payment');
    const next = await sweep({ ...w.deps, workflow: recordingWorkflow().workflow }, { batchSize: 2 });
    expect(next.purged).toEqual([ids[0]]);
  });

  it('reports certificates stuck in reserved and long-expired card job leases, audited once per finding', async () => {
    const w = world('2026-03-10T12:00:00.000Z');
    const base = {
      version: 1,
      issuer: 'issuing-ca',
      cardNumber: 'TA00000000000099',
      applicationId: 'A20260301-STUCK000',
      subjectName: 'LEE MEI LING',
      subjectSerial: '1234567890123456',
      issuedMonth: '2026-03',
      notBefore: '2026-03-10T00:00:00.000Z',
      notAfter: '2031-03-10T00:00:00.000Z',
      updatedAt: '2026-03-10T00:00:00.000Z',
    };
    await w.repo.certificates.create({
      ...base,
      serialNumber: '4aaa0000000000000000000000000001',
      profile: 'holder-signature',
      status: 'reserved',
      reservedAt: '2026-03-10T11:00:00.000Z', // an hour ago: stuck
    });
    await w.repo.certificates.create({
      ...base,
      serialNumber: '4aaa0000000000000000000000000002',
      profile: 'holder-encryption',
      status: 'reserved',
      reservedAt: '2026-03-10T11:59:00.000Z', // a minute ago: being signed right now
    });
    const job = {
      version: 1,
      applicationId: 'A20260301-STUCK000',
      cardNumber: 'TA00000000000099',
      certificates: { signature: 'MIIB', encryption: 'MIIC', chain: [] },
      holder: { name: 'LEE MEI LING', expiry: '2031-03-10' },
      mailingAddress: { postalCode: '100', city: 'Taipei', line1: 'No. 1' },
      attempts: 1,
      createdAt: '2026-03-10T08:00:00.000Z',
      updatedAt: '2026-03-10T08:00:00.000Z',
    };
    await w.repo.cardJobs.create({
      ...job,
      id: 'J20260310-AAAAAAAAAA',
      status: 'leased',
      leaseOwner: 'station-A',
      leaseExpiresAt: '2026-03-10T09:00:00.000Z', // three hours ago
    });
    await w.repo.cardJobs.create({
      ...job,
      id: 'J20260310-BBBBBBBBBB',
      status: 'leased',
      leaseOwner: 'station-B',
      leaseExpiresAt: '2026-03-10T11:50:00.000Z', // ten minutes ago: another station may pick it up
    });
    await w.repo.cardJobs.create({ ...job, id: 'J20260310-CCCCCCCCCC', status: 'queued' });

    const deps = { ...w.deps, workflow: recordingWorkflow().workflow };
    const report = await sweep(deps);
    expect(report.stuckCertificates).toEqual([
      {
        serialNumber: '4aaa0000000000000000000000000001',
        applicationId: 'A20260301-STUCK000',
        cardNumber: 'TA00000000000099',
        reservedAt: '2026-03-10T11:00:00.000Z',
      },
    ]);
    expect(report.expiredLeases).toEqual([
      {
        jobId: 'J20260310-AAAAAAAAAA',
        applicationId: 'A20260301-STUCK000',
        cardNumber: 'TA00000000000099',
        leaseOwner: 'station-A',
        leaseExpiresAt: '2026-03-10T09:00:00.000Z',
      },
    ]);
    const audited = async () =>
      (await w.repo.audit.range('main', 1, 100)).filter((r) => r.action === 'sweeper.report');
    expect(await audited()).toHaveLength(1);
    expect((await audited())[0]!.details).toMatchObject({ stuckCertificates: report.stuckCertificates });

    await sweep(deps); // same findings: reported in the return value, not audited again
    expect(await audited()).toHaveLength(1);
    expect(await w.deps.audit.verify()).toMatchObject({ ok: true });
  });

  it('runs on a schedule without overlapping, and stops cleanly', async () => {
    let runs = 0;
    let release!: () => void;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    const stop = scheduleSweeps(async () => {
      runs++;
      await blocked;
    }, 1);
    await new Promise((r) => setTimeout(r, 20)); // many beats while the first run is still going
    expect(runs).toBe(1);
    release();
    await stop();
    const after = runs;
    await new Promise((r) => setTimeout(r, 10));
    expect(runs).toBe(after);
  });
});
