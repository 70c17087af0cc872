import { randomBytes } from 'node:crypto';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createAuditLog } from '../../shared/audit.js';
import type {
  Actor,
  Application,
  Card,
  CardJob,
  CertificateRecord,
  RevocationReason,
} from '../../shared/domain/model.js';
import { AdjustableClock, systemClock } from '../../shared/ports/clock.js';
import type { Mailer, OutgoingMail } from '../../shared/ports/mailer.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import type {
  CardCertificateRequest,
  IssuanceDeps,
  IssuingAuthority,
} from '../../shared/usecases/issuance.js';

/** Hand-written fakes at the ports and record factories for the workflow tests. */

let n = 0;
const unique = () => String(++n).padStart(6, '0');

export const T0 = '2026-03-05T02:00:00.000Z';
export const DEADLINE = '2026-03-16T15:59:59.000Z';

export const application = (over: Partial<Application> = {}): Application => ({
  id: over.id ?? `app${unique()}`,
  version: 1,
  status: 'awaiting_payment',
  arcKey: `arck-${unique()}`,
  arcLast4: '6789',
  arcExpiry: '2029-05-31',
  name: 'LEE MEI LING',
  dateOfBirth: '1990-04-01',
  email: 'mei@example.com',
  mailingAddress: { postalCode: '100', city: 'Taipei', line1: 'No. 1, Sec. 1, Zhongxiao W. Rd.' },
  stationId: 'TPE01',
  officerId: 'officer-7',
  createdAt: '2026-03-01T02:00:00.000Z',
  updatedAt: '2026-03-01T02:00:00.000Z',
  paymentDeadline: DEADLINE,
  credential: { hash: 'scrypt$N=1024,r=8,p=1$c2FsdA==$aGFzaA==', pepperKeyId: 'pepper-1', failures: 0 },
  fee: {
    currency: 'TWD',
    items: [
      { code: 'card', label: 'IC card', amount: 250 },
      { code: 'postage', label: 'Registered mail', amount: 28 },
    ],
    total: 278,
  },
  ...over,
});

export const blankCard = (over: Partial<Card> = {}): Card => ({
  cardNumber: over.cardNumber ?? `TA${unique().padStart(14, '0')}`,
  version: 1,
  status: 'blank',
  keys: {
    signature: { spki: 'MFkwEwYHKoZIzj0CAQ==', algorithm: 'EC-P256', keyId: '01' },
    encryption: { spki: 'MFkwEwYHKoZIzj0CAg==', algorithm: 'EC-P256', keyId: '02' },
  },
  enrolledAt: `2026-02-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
  enrolledBy: 'station-A',
  updatedAt: '2026-02-01T00:00:00.000Z',
  ...over,
});

export class RecordingMailer implements Mailer {
  readonly sent: OutgoingMail[] = [];
  failNext = 0;
  async send(mail: OutgoingMail) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('smtp down');
    }
    this.sent.push(mail);
    return { messageId: `m${this.sent.length}` };
  }
  byTemplate(template: string) {
    return this.sent.filter((m) => m.template === template);
  }
}

/**
 * A CA at the port: stores two `good` certificates per call and counts the calls, so a test sees whether
 * the workflow asked to sign twice. Not idempotent on purpose: the workflow must not rely on it.
 */
export class FakeCa implements IssuingAuthority {
  issued: CardCertificateRequest[] = [];
  revoked: { serial: string; reason: RevocationReason; actor: Actor }[] = [];
  constructor(
    private readonly repo: Repository,
    private readonly clock: AdjustableClock,
  ) {}

  async issueCardCertificates(req: CardCertificateRequest) {
    this.issued.push(req);
    const now = this.clock.now();
    const notAfter = new Date(now.getTime() + 5 * 365 * 86_400_000).toISOString();
    const make = async (profile: CertificateRecord['profile']) =>
      this.repo.certificates.create({
        serialNumber: `4${randomBytes(15).toString('hex')}`,
        version: 1,
        issuer: 'issuing-ca',
        profile,
        status: 'good',
        cardNumber: req.cardNumber,
        applicationId: req.applicationId,
        subjectName: req.holderName,
        subjectSerial: req.subjectSerial,
        issuedMonth: now.toISOString().slice(0, 7),
        notBefore: now.toISOString(),
        notAfter,
        der: randomBytes(64).toString('base64'),
        reservedAt: now.toISOString(),
        issuedAt: now.toISOString(),
        updatedAt: now.toISOString(),
      });
    return { signature: await make('holder-signature'), encryption: await make('holder-encryption') };
  }

  async revoke(serial: string, reason: RevocationReason, actor: Actor) {
    this.revoked.push({ serial, reason, actor });
    const cert = await this.repo.certificates.get(serial);
    if (cert && cert.status !== 'revoked')
      await this.repo.certificates.save({ ...cert, status: 'revoked', revocationReason: reason });
    return cert;
  }

  async chain() {
    return ['SVNTVUlORy1DQQ==', 'Uk9PVC1DQQ=='];
  }
}

export interface World {
  repo: Repository;
  clock: AdjustableClock;
  mailer: RecordingMailer;
  ca: FakeCa;
  deps: IssuanceDeps;
}

export const world = (at: string = T0): World => {
  const clock = new AdjustableClock(systemClock, new Date(at));
  const repo = createMemoryRepository({ clock });
  const mailer = new RecordingMailer();
  const ca = new FakeCa(repo, clock);
  const deps: IssuanceDeps = {
    repo,
    audit: createAuditLog(repo.audit, clock),
    mailer,
    mail: { portalUrl: 'https://portal.example.test' },
    opsEmail: 'ops@example.test',
    clock,
    ca,
  };
  return { repo, clock, mailer, ca, deps };
};

export const getApp = async (repo: Repository, id: string) =>
  (await repo.applications.get(id)) as Application | undefined;

/** What the payment callback does (written elsewhere): record the payment, then resume the workflow. */
export const pay = async (w: World, workflow: Workflow, id: string): Promise<void> => {
  const app = (await getApp(w.repo, id))!;
  await w.repo.applications.save({
    ...app,
    status: 'paid',
    payment: {
      gateway: 'sandbox',
      merchantTradeNo: `T${id}`,
      gatewayTradeNo: `G${id}`,
      amount: 278,
      paidAt: w.clock.now().toISOString(),
      method: 'Credit_CreditCard',
    },
    updatedAt: w.clock.now().toISOString(),
  });
  if (app.paymentTaskToken) await workflow.sendTaskSuccess(app.paymentTaskToken, { status: 'paid' });
};

/** What the card station's completion and mailing report do (written elsewhere). */
export const stationCompletes = async (w: World, workflow: Workflow | undefined, jobId: string) => {
  const job = (await w.repo.cardJobs.get(jobId))!;
  const saved = await w.repo.cardJobs.save({
    ...job,
    status: 'completed',
    completedAt: w.clock.now().toISOString(),
    updatedAt: w.clock.now().toISOString(),
  });
  if (workflow && job.taskToken) await workflow.sendTaskSuccess(job.taskToken, { jobStatus: 'completed' });
  return saved;
};

export const stationMails = async (
  w: World,
  workflow: Workflow | undefined,
  jobId: string,
  trackingNumber = 'RR123456785TW',
): Promise<CardJob> => {
  const job = (await w.repo.cardJobs.get(jobId))!;
  const saved = await w.repo.cardJobs.save({
    ...job,
    status: 'mailed',
    trackingNumber,
    mailedAt: w.clock.now().toISOString(),
    updatedAt: w.clock.now().toISOString(),
  });
  if (workflow && job.taskToken) await workflow.sendTaskSuccess(job.taskToken, { jobStatus: 'mailed' });
  return saved;
};

export const DAY = 86_400_000;
