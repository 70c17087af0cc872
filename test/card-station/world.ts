import { randomUUID } from 'node:crypto';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createTestSecretKeys } from '../../shared/adapters/secrets/local.js';
import { createAuditLog } from '../../shared/audit.js';
import type { Actor, Application, Card, CardJob } from '../../shared/domain/model.js';
import type { AuditLog } from '../../shared/ports/audit.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { SecretKeys } from '../../shared/ports/secrets.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import { type CardStationUseCases, createCardStationUseCases } from '../../shared/usecases/card-station.js';
import type { TestCa } from './test-ca.js';

/**
 * The server side of the card station in memory: memory repository, hash-chained audit log, test secret
 * keys, a recording workflow, an adjustable clock, and helpers that put an order in the state the
 * issuance workflow leaves it in when it queues a card job (card allocated, certificates signed,
 * application issued, job queued with the waiting task's token).
 */

export class RecordingWorkflow implements Workflow {
  readonly successes: { taskToken: string; output: Record<string, unknown> }[] = [];
  readonly failures: { taskToken: string; error: string; cause: string }[] = [];
  async startIssuance(): Promise<void> {}
  async sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    this.successes.push({ taskToken, output });
  }
  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    this.failures.push({ taskToken, error, cause });
  }
}

export interface World {
  repo: Repository;
  audit: AuditLog;
  secrets: SecretKeys;
  workflow: RecordingWorkflow;
  clock: AdjustableClock;
  useCases: CardStationUseCases;
}

export const createWorld = (
  opts: { leaseSeconds?: number; secretsSeed?: string; realTime?: boolean } = {},
): World => {
  // Real time for tests with child processes (leases must run out while they wait); fixed otherwise.
  const clock = opts.realTime
    ? new AdjustableClock()
    : new AdjustableClock(undefined, new Date('2026-05-04T02:00:00.000Z'));
  const repo = createMemoryRepository({ clock });
  const audit = createAuditLog(repo.audit, clock);
  const secrets = createTestSecretKeys({ seed: opts.secretsSeed ?? 'card-station-tests' });
  const workflow = new RecordingWorkflow();
  const useCases = createCardStationUseCases({
    repo,
    audit,
    secrets,
    workflow,
    clock,
    leaseSeconds: opts.leaseSeconds ?? 120,
  });
  return { repo, audit, secrets, workflow, clock, useCases };
};

export const station = (id = 'bureau-1'): Actor => ({ type: 'card-station', id });

let seq = 0;

/**
 * Turn the enrolled blank card `cardNumber` into a queued card job, as the issuance workflow would:
 * application issued, card allocated, both certificates signed by `ca` for the card's keys.
 */
export const queueJobFor = async (
  world: World,
  ca: TestCa,
  cardNumber: string,
  holderName = `HOLDER ${++seq}`,
): Promise<{ job: CardJob; application: Application }> => {
  const card = (await world.repo.cards.get(cardNumber)) as Card;
  const now = world.clock.now().toISOString();
  const appId = `app-${randomUUID()}`;
  const signature = await ca.issue({
    spki: Buffer.from(card.keys.signature.spki, 'base64'),
    holder: holderName,
    role: 'signature',
  });
  const encryption = await ca.issue({
    spki: Buffer.from(card.keys.encryption.spki, 'base64'),
    holder: holderName,
    role: 'encryption',
  });
  const application = await world.repo.applications.create({
    id: appId,
    version: 1,
    status: 'issued',
    arcKey: `arck-${appId}`,
    arcLast4: '0014',
    arcExpiry: '2029-05-31',
    name: holderName,
    dateOfBirth: '1990-04-01',
    email: 'holder@example.com',
    mailingAddress: {
      postalCode: '10058',
      city: '臺北市中正區',
      line1: '忠孝西路一段1號',
      recipient: holderName,
    },
    stationId: 'TPE01',
    officerId: 'officer-7',
    createdAt: now,
    updatedAt: now,
    paymentDeadline: now,
    credential: { hash: 'x', pepperKeyId: 'p', failures: 0 },
    fee: { currency: 'TWD', items: [], total: 278 },
    cardNumber,
    cardJobId: `${appId}.${cardNumber}`,
  });
  await world.repo.cards.save({ ...card, status: 'allocated', applicationId: appId, updatedAt: now });
  const job = await world.repo.cardJobs.create({
    id: `${appId}.${cardNumber}`,
    version: 1,
    status: 'queued',
    applicationId: appId,
    cardNumber,
    certificates: {
      signature: Buffer.from(signature).toString('base64'),
      encryption: Buffer.from(encryption).toString('base64'),
      chain: ca.chain.map((c) => Buffer.from(c).toString('base64')),
    },
    holder: { name: holderName, expiry: '2031-05-03' },
    mailingAddress: application.mailingAddress,
    attempts: 0,
    taskToken: `token-card-${appId}`,
    createdAt: now,
    updatedAt: now,
  });
  return { job, application };
};
