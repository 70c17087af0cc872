import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentLogger, CardStationAgent } from '../../card-station/agent.js';
import type { CardStationApi } from '../../card-station/api.js';
import { comparePersonalization } from '../../card-station/card/personalization.js';
import { openSoftHsmCardReader, type SoftHsmCardReader } from '../../card-station/card/softhsm.js';
import type { CardReader } from '../../card-station/card/types.js';
import { SimulatedPostOffice } from '../../card-station/post.js';
import { closeModules, pkcs11js, softhsmConfig } from '../../shared/adapters/pkcs11/module.js';
import type { CardJob } from '../../shared/domain/model.js';
import { DependencyError } from '../../shared/errors.js';
import { setNativeEnv } from './softhsm-env.js';
import { createTestCa, type TestCa } from './test-ca.js';
import { createWorld, queueJobFor, station, type World } from './world.js';

/**
 * The agent's recovery paths, in process (agent → use cases without HTTP, real SoftHSM cards): a card
 * left half-written with the wrong objects, an answer lost after the cloud recorded the completion, a
 * mailing report that failed, and a job whose certificates are not for its card.
 */

let dir: string;
let reader: SoftHsmCardReader;
let ca: TestCa;
let world: World;

/** The use cases as the agent's API, with hooks to lose answers like a flaky network does. */
const directApi = (
  w: World,
  hooks: { afterComplete?: () => void; beforeMailed?: () => void } = {},
): CardStationApi => {
  const actor = station('bureau-1');
  return {
    enroll: (req) => w.useCases.enroll(actor, req),
    lease: (req) => w.useCases.lease(actor, req),
    heartbeat: (id, req) => w.useCases.heartbeat(actor, id, req),
    complete: async (id, req) => {
      const res = await w.useCases.complete(actor, id, req);
      hooks.afterComplete?.();
      return res;
    },
    mailed: async (id, req) => {
      hooks.beforeMailed?.();
      return w.useCases.mailed(actor, id, req);
    },
    failure: (id, req) => w.useCases.failure(actor, id, req),
  };
};

const logged: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
const logger: AgentLogger = {
  info: (message, fields) => logged.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
  warn: (message, fields) => logged.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
  error: (message, fields) => logged.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
};

const agentWith = (api: CardStationApi, name = 'agent') =>
  new CardStationAgent({
    reader,
    api,
    post: new SimulatedPostOffice(join(dir, name, 'post')),
    clock: world.clock,
    stateDir: join(dir, name),
    cardLockDir: join(dir, 'cards', 'locks'),
    logger,
  });

const setOf = (job: CardJob) => ({
  signature: Buffer.from(job.certificates.signature, 'base64'),
  encryption: Buffer.from(job.certificates.encryption, 'base64'),
  chain: job.certificates.chain.map((c) => Buffer.from(c, 'base64')),
});

let next = 500;
const enrollOne = async (): Promise<string> => {
  const res = await agentWith(directApi(world), 'enroller').enroll({
    count: 1,
    prefix: 'TQ',
    first: BigInt(next++),
    algorithm: 'RSA-2048',
  });
  return res.enrolled[0]!;
};

const queued = async (cardNumber: string) => {
  const { job } = await queueJobFor(world, ca, cardNumber);
  world.clock.advance(5);
  return job;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-'));
  setNativeEnv('SOFTHSM2_CONF', await softhsmConfig(join(dir, 'cards')));
  reader = await openSoftHsmCardReader({ cardsDir: join(dir, 'cards') });
  ca = await createTestCa();
  world = createWorld({ realTime: true, leaseSeconds: 60 });
});
afterAll(() => closeModules());

describe('card station agent recovery', () => {
  it('wipes a card holding other certificates for its keys and writes the job’s own', async () => {
    const cardNumber = await enrollOne();
    const job = await queued(cardNumber);
    // Certificates of some other issuance (other serials) left on the card, e.g. by an aborted earlier job.
    const card = await reader.open(cardNumber);
    const keys = await card.publicKeys();
    await card.writeCertificates({
      signature: await ca.issue({ spki: keys.signature!.spki, holder: 'OLD', role: 'signature' }),
      encryption: await ca.issue({ spki: keys.encryption!.spki, holder: 'OLD', role: 'encryption' }),
      chain: ca.chain,
    });
    const outcomes = await agentWith(directApi(world)).run({ once: true });
    expect(outcomes).toEqual([expect.objectContaining({ jobId: job.id, outcome: 'mailed' })]);
    expect(comparePersonalization(await card.readCertificates(), setOf(job))).toEqual({ state: 'complete' });
    expect(
      logged.some((l) => l.message === 'half-written card wiped' && l.fields?.cardNumber === cardNumber),
    ).toBe(true);
  });

  it('an empty certificate object left by a station killed inside C_CreateObject is wiped, then the card written', async () => {
    const cardNumber = await enrollOne();
    const job = await queued(cardNumber);
    // What SoftHSM leaves when the process dies between creating the object and setting its attributes
    // (seen in the SIGKILL test): a certificate object with no label, no id and a value that is no DER.
    await reader.session(cardNumber, { kind: 'transport' }, (p, s) =>
      p.C_CreateObject(s, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
        { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_SUBJECT, value: Buffer.from([0x30, 0x00]) },
        { type: pkcs11js.CKA_VALUE, value: Buffer.from([0x30]) },
      ]),
    );
    const card = await reader.open(cardNumber);
    expect(await card.info()).toMatchObject({ phase: 'issuer', certificates: [], unreadableObjects: 1 });

    const outcomes = await agentWith(directApi(world)).run({ once: true });
    expect(outcomes).toEqual([expect.objectContaining({ jobId: job.id, outcome: 'mailed' })]);
    expect(comparePersonalization(await card.readCertificates(), setOf(job))).toEqual({ state: 'complete' });
    expect((await card.info()).unreadableObjects).toBeUndefined();
    expect(
      logged.some((l) => l.message === 'half-written card wiped' && l.fields?.cardNumber === cardNumber),
    ).toBe(true);
  });

  it('a one-shot run stops resuming a job that keeps failing after 3 tries; a later run finishes it', async () => {
    const job = await queued(await enrollOne());
    let opened = 0;
    const flaky: CardReader = {
      list: () => reader.list(),
      initialize: (n) => reader.initialize(n),
      open: async () => {
        opened++;
        throw new Error('the reader stopped answering');
      },
    };
    const stuck = new CardStationAgent({
      reader: flaky,
      api: directApi(world),
      post: new SimulatedPostOffice(join(dir, 'flaky', 'post')),
      clock: world.clock,
      stateDir: join(dir, 'flaky'),
      cardLockDir: join(dir, 'cards', 'locks'),
      logger,
    });
    // The first run leases the job, fails once and finds no other job.
    expect(await stuck.run({ once: true, pollMs: 1 })).toEqual([]);
    expect(opened).toBe(1);
    expect(stuck.journal.get(job.id)).toMatchObject({ phase: 'leased' });
    // The next run resumes it from the journal: three tries, then it stops instead of looping.
    expect(await stuck.run({ once: true, pollMs: 1 })).toEqual([]);
    expect(opened).toBe(4);
    expect(stuck.journal.get(job.id)).toMatchObject({ phase: 'leased' });
    expect(logged.some((l) => l.message === 'job keeps failing; left for the next run')).toBe(true);

    // The same workstation with its reader back: the journal resumes the job under its own lease.
    const outcomes = await agentWith(directApi(world), 'flaky').run({ once: true });
    expect(outcomes).toEqual([expect.objectContaining({ jobId: job.id, outcome: 'mailed' })]);
  });

  it('a completion whose answer was lost is completed again from the card after a restart, then mailed', async () => {
    const job = await queued(await enrollOne());
    const lossy = agentWith(
      directApi(world, {
        afterComplete: () => {
          throw new DependencyError('connection reset');
        },
      }),
    );
    // The agent gives up on this run (once + the API "down"): the journal still says leased.
    await lossy.run({ once: true, pollMs: 10 });
    expect((await world.repo.cardJobs.get(job.id))!.status).toBe('completed');
    expect(lossy.journal.get(job.id)).toMatchObject({ phase: 'leased' });

    const restarted = agentWith(directApi(world));
    const outcomes = await restarted.run({ once: true });
    expect(outcomes).toEqual([expect.objectContaining({ jobId: job.id, outcome: 'mailed' })]);
    expect((await world.repo.cardJobs.get(job.id))!.status).toBe('mailed');
    expect(restarted.journal.entries()).toEqual([]);
    const completions = (await world.repo.audit.range('main', 1, 10_000)).filter(
      (r) => r.action === 'cardjob.complete' && r.subject.id === job.id,
    );
    expect(completions.map((r) => r.details.repeated)).toEqual([false, true]);
  });

  it('a failed mailing report is retried with the same tracking number; the card is mailed once', async () => {
    const job = await queued(await enrollOne());
    let fail = true;
    const agent = agentWith(
      directApi(world, {
        beforeMailed: () => {
          if (fail) {
            fail = false;
            throw new DependencyError('gateway timeout');
          }
        },
      }),
      'mailer',
    );
    await agent.run({ once: true, pollMs: 10 });
    // The run ended with the report pending: the journal says completed (never re-personalize), and the
    // next run only posts and reports.
    expect(agent.journal.get(job.id)).toMatchObject({ phase: 'completed' });
    expect((await world.repo.cardJobs.get(job.id))!.status).toBe('completed');
    await agent.run({ once: true, pollMs: 10 });
    const stored = (await world.repo.cardJobs.get(job.id))!;
    expect(stored.status).toBe('mailed');
    expect(stored.trackingNumber).toBe(
      await new SimulatedPostOffice(join(dir, 'mailer', 'post')).registeredNumber(job.id),
    );
    expect(agent.journal.entries()).toEqual([]);
  });

  it('reports a card spoiled when the job’s certificates are not for its keys', async () => {
    const cardNumber = await enrollOne();
    const other = await enrollOne();
    const { job } = await queueJobFor(world, ca, cardNumber);
    // The inventory mixed up two cards: this job carries the other card's certificates.
    const mixed = await queueJobFor(world, ca, other);
    await world.repo.cardJobs.save({ ...job, certificates: mixed.job.certificates });
    await world.repo.cardJobs.save({ ...mixed.job, status: 'failed', failureReason: 'test: set aside' });
    world.clock.advance(5);
    const outcomes = await agentWith(directApi(world)).run({ once: true });
    expect(outcomes).toEqual([
      expect.objectContaining({ jobId: job.id, outcome: 'failed', reason: 'certificate_mismatch' }),
    ]);
    expect(await world.repo.cardJobs.get(job.id)).toMatchObject({ status: 'failed' });
    expect(await world.repo.cards.get(cardNumber)).toMatchObject({ status: 'spoiled' });
    expect(world.workflow.failures.at(-1)).toMatchObject({
      taskToken: job.taskToken,
      error: 'CardJobFailed',
    });
    expect(await (await reader.open(cardNumber)).readCertificates()).toEqual([]);
  });
});
