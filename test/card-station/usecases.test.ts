import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { writtenCertificatesOf } from '../../shared/card/certificates.js';
import { buildCsr, csrToPem } from '../../shared/card/csr.js';
import { s10 } from '../../shared/card/numbers.js';
import { adminKeyCheckValue, deriveCardAdminKey } from '../../shared/card/unblock.js';
import type { CompleteRequest, EnrolledCard } from '../../shared/contracts/card-station.js';
import type { CardJob } from '../../shared/domain/model.js';
import { ConflictError, ForbiddenError, ValidationError } from '../../shared/errors.js';
import { createTestCa, type TestCa } from './test-ca.js';
import { createWorld, queueJobFor, station, type World } from './world.js';

/** Card keys in software: the use cases only see CSRs, so no card is needed to test them. */
const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const csrFor = async (cardNumber: string, publicKey: KeyObject, signer: KeyObject) =>
  buildCsr({
    commonName: cardNumber,
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    algorithm: 'EC-P256',
    sign: async (tbs) => sign('sha256', tbs, signer),
  });

let n = 0;
const cardNumber = () => `TP${String(20_000_000_000_000 + ++n).padStart(14, '0')}`;

const enrolledCard = async (number = cardNumber()): Promise<EnrolledCard> => {
  const s = keyPair();
  const e = keyPair();
  return {
    cardNumber: number,
    keys: {
      signature: {
        csr: csrToPem(await csrFor(number, s.publicKey, s.privateKey)),
        algorithm: 'EC-P256',
        keyId: '01',
      },
      encryption: {
        csr: Buffer.from(await csrFor(number, e.publicKey, e.privateKey)).toString('base64'),
        algorithm: 'EC-P256',
        keyId: '02',
      },
    },
  };
};

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as Error & { field?: string; rule?: string };
  }
  throw new Error('expected a refusal');
};

/** What an agent reads back from a correctly written card. */
const proofFor = async (world: World, job: CardJob, agentId: string): Promise<CompleteRequest> => ({
  agentId,
  written: writtenCertificatesOf({
    signature: Buffer.from(job.certificates.signature, 'base64'),
    encryption: Buffer.from(job.certificates.encryption, 'base64'),
    chain: job.certificates.chain.map((c) => Buffer.from(c, 'base64')),
  }),
  adminKeyCheck: adminKeyCheckValue(await deriveCardAdminKey(world.secrets, job.cardNumber)),
});

let ca: TestCa;
beforeAll(async () => {
  ca = await createTestCa();
});

/** `count` cards enrolled by `actor` and queued as jobs. */
const queuedJobs = async (world: World, count: number, actor = station()) => {
  const cards = await Promise.all(Array.from({ length: count }, () => enrolledCard()));
  await world.useCases.enroll(actor, { cards });
  const jobs: CardJob[] = [];
  for (const c of cards) jobs.push((await queueJobFor(world, ca, c.cardNumber)).job);
  world.clock.advance(1000); // the open-jobs index offers a job from the instant after it was queued
  return jobs;
};

describe('enrollment of blank stock', () => {
  it('enrolls cards whose CSRs prove possession; a retry changes nothing; every card is audited', async () => {
    const world = createWorld();
    const cards = [await enrolledCard(), await enrolledCard()];
    const res = await world.useCases.enroll(station('bureau-1'), { batch: 'LOT-2026-05', cards });
    expect(res.enrolled).toEqual(
      cards.map((c) => ({ cardNumber: c.cardNumber, status: 'blank', created: true })),
    );
    const stored = await world.repo.cards.get(cards[0]!.cardNumber);
    expect(stored).toMatchObject({ status: 'blank', enrolledBy: 'bureau-1', batch: 'LOT-2026-05' });
    expect(stored!.keys.signature).toMatchObject({ algorithm: 'EC-P256', keyId: '01' });
    expect(await world.repo.cards.countBlank()).toBe(2);

    const again = await world.useCases.enroll(station('bureau-1'), { cards });
    expect(again.enrolled.map((e) => e.created)).toEqual([false, false]);

    const chain = await world.audit.verify();
    expect(chain).toMatchObject({ ok: true, records: 2 });
    const [first] = await world.repo.audit.range('main', 1, 1);
    expect(first).toMatchObject({
      actor: { type: 'card-station', id: 'bureau-1' },
      action: 'card.enroll',
      subject: { type: 'card', id: cards[0]!.cardNumber },
    });
  });

  it('refuses a CSR not signed by the key it carries (bad proof of possession), and writes nothing', async () => {
    const world = createWorld();
    const good = await enrolledCard();
    const number = cardNumber();
    const a = keyPair();
    const b = keyPair();
    const bad = await enrolledCard(number);
    // Key A's public key in the request, signed by key B.
    bad.keys.encryption.csr = csrToPem(await csrFor(number, a.publicKey, b.privateKey));
    const e = await refusal(world.useCases.enroll(station(), { cards: [good, bad] }));
    expect(e).toBeInstanceOf(ValidationError);
    expect(e).toMatchObject({ field: 'cards.1.keys.encryption.csr', rule: 'csr.proof_of_possession' });
    expect(await world.repo.cards.get(good.cardNumber)).toBeUndefined();

    // A tampered request (signature bytes changed) is refused the same way.
    const tampered = await enrolledCard();
    const der = Buffer.from(tampered.keys.encryption.csr, 'base64');
    der[der.length - 3]! ^= 0x01;
    tampered.keys.encryption.csr = der.toString('base64');
    expect(await refusal(world.useCases.enroll(station(), { cards: [tampered] }))).toMatchObject({
      field: 'cards.0.keys.encryption.csr',
    });
  });

  it('checks the card number, the CSR subject, the algorithm, duplicates and cards enrolled with other keys', async () => {
    const world = createWorld();
    const c = await enrolledCard();
    expect(
      await refusal(world.useCases.enroll(station(), { cards: [{ ...c, cardNumber: 'tp1234' }] })),
    ).toMatchObject({
      field: 'cards.0.cardNumber',
      rule: 'card.number',
    });
    const other = await enrolledCard();
    expect(
      await refusal(world.useCases.enroll(station(), { cards: [{ ...other, cardNumber: cardNumber() }] })),
    ).toMatchObject({ field: 'cards.0.keys.signature.csr', rule: 'csr.subject' });
    expect(
      await refusal(
        world.useCases.enroll(station(), {
          cards: [{ ...c, keys: { ...c.keys, signature: { ...c.keys.signature, algorithm: 'RSA-2048' } } }],
        }),
      ),
    ).toMatchObject({ field: 'cards.0.keys.signature.algorithm', rule: 'csr.algorithm' });
    expect(await refusal(world.useCases.enroll(station(), { cards: [c, c] }))).toMatchObject({
      field: 'cards.1.cardNumber',
      rule: 'card.duplicate',
    });
    expect(
      await refusal(
        world.useCases.enroll(station(), {
          cards: [{ ...c, keys: { signature: c.keys.signature, encryption: c.keys.signature } }],
        }),
      ),
    ).toMatchObject({ rule: 'card.key_id' });
    expect(
      await refusal(
        world.useCases.enroll(station(), {
          cards: [{ ...c, keys: { ...c.keys, signature: { ...c.keys.signature, csr: 'not a csr!' } } }],
        }),
      ),
    ).toMatchObject({ rule: 'csr.format' });

    await world.useCases.enroll(station(), { cards: [c] });
    const rekeyed = await enrolledCard(c.cardNumber);
    const e = await refusal(world.useCases.enroll(station(), { cards: [rekeyed] }));
    expect(e).toBeInstanceOf(ConflictError);
    expect(e).toMatchObject({ rule: 'card.enrolled' });
    expect(
      await refusal(world.useCases.enroll({ type: 'officer', id: 'o-1' }, { cards: [c] })),
    ).toBeInstanceOf(ForbiddenError);
  });
});

describe('job lease', () => {
  it('20 concurrent lease calls on 5 jobs: each job is leased exactly once', async () => {
    const world = createWorld();
    const jobs = await queuedJobs(world, 5);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => world.useCases.lease(station(), { agentId: `agent-${i}` })),
    );
    const granted = results.filter((r) => r !== undefined);
    expect(granted).toHaveLength(5);
    expect(new Set(granted.map((g) => g.id))).toEqual(new Set(jobs.map((j) => j.id)));
    for (const g of granted) {
      const stored = await world.repo.cardJobs.get(g.id);
      expect(stored).toMatchObject({ status: 'leased', leaseOwner: g.lease.owner, attempts: 1 });
      expect(g.cardAdminKey).toBe(
        Buffer.from(await deriveCardAdminKey(world.secrets, g.cardNumber)).toString('base64'),
      );
    }
    expect(new Set(granted.map((g) => g.lease.owner)).size).toBe(5);
    expect(await world.useCases.lease(station(), { agentId: 'late' })).toBeUndefined();
  });

  it('offers a job only to the card station that holds its card', async () => {
    const world = createWorld();
    await queuedJobs(world, 1, station('bureau-2'));
    expect(await world.useCases.lease(station('bureau-1'), { agentId: 'a' })).toBeUndefined();
    expect(await world.useCases.lease(station('bureau-2'), { agentId: 'a' })).toBeDefined();
  });

  it('a lease runs out unless its owner heartbeats; then another agent may take the job over', async () => {
    const world = createWorld({ leaseSeconds: 60 });
    const [job] = await queuedJobs(world, 1);
    const leased = (await world.useCases.lease(station(), { agentId: 'a' }))!;
    expect(leased.lease.expiresAt).toBe(new Date(world.clock.now().getTime() + 60_000).toISOString());
    world.clock.advance(45_000);
    expect(await world.useCases.lease(station(), { agentId: 'b' })).toBeUndefined();
    const hb = await world.useCases.heartbeat(station(), job!.id, { agentId: 'a' });
    expect(hb.leaseExpiresAt).toBe(new Date(world.clock.now().getTime() + 60_000).toISOString());
    expect(await refusal(world.useCases.heartbeat(station(), job!.id, { agentId: 'b' }))).toMatchObject({
      rule: 'cardjob.lease_lost',
    });
    world.clock.advance(61_000);
    const taken = (await world.useCases.lease(station(), { agentId: 'b' }))!;
    expect(taken).toMatchObject({ id: job!.id, attempts: 2, lease: { owner: 'bureau-1/b' } });
    // The first agent lost it: no heartbeat, no completion, no failure report.
    expect(await refusal(world.useCases.heartbeat(station(), job!.id, { agentId: 'a' }))).toMatchObject({
      rule: 'cardjob.lease_lost',
    });
    expect(
      await refusal(world.useCases.complete(station(), job!.id, await proofFor(world, job!, 'a'))),
    ).toMatchObject({
      rule: 'cardjob.lease_lost',
    });
    expect(
      await refusal(world.useCases.failure(station(), job!.id, { agentId: 'a', reason: 'write_failed' })),
    ).toBeInstanceOf(ConflictError);
  });

  it('an agent restarted with the job in its journal resumes its own lease; no one else can', async () => {
    const world = createWorld();
    const [job] = await queuedJobs(world, 1);
    await world.useCases.lease(station(), { agentId: 'a' });
    const resumed = await world.useCases.lease(station(), { agentId: 'a', jobId: job!.id });
    expect(resumed).toMatchObject({ id: job!.id, attempts: 1 });
    expect(await refusal(world.useCases.lease(station(), { agentId: 'b', jobId: job!.id }))).toMatchObject({
      rule: 'cardjob.not_leasable',
    });
    expect(
      await refusal(world.useCases.lease(station('bureau-9'), { agentId: 'a', jobId: job!.id })),
    ).toBeInstanceOf(ForbiddenError);
  });
});

describe('completion, mailing and failure', () => {
  it('completes once: job, card and application move, the workflow resumes; a repeat answers the same', async () => {
    const world = createWorld();
    const [job] = await queuedJobs(world, 1);
    await world.useCases.lease(station(), { agentId: 'a' });
    const proof = await proofFor(world, job!, 'a');

    const wrongCert = { ...proof, written: { ...proof.written, encryption: proof.written.signature } };
    expect(await refusal(world.useCases.complete(station(), job!.id, wrongCert))).toMatchObject({
      field: 'written.encryption',
      rule: 'cardjob.certificate_mismatch',
    });
    const noChain = { ...proof, written: { ...proof.written, chain: proof.written.chain.slice(0, 1) } };
    expect(await refusal(world.useCases.complete(station(), job!.id, noChain))).toMatchObject({
      field: 'written.chain',
    });
    expect(
      await refusal(
        world.useCases.complete(station(), job!.id, { ...proof, adminKeyCheck: '0123456789abcdef' }),
      ),
    ).toMatchObject({ field: 'adminKeyCheck', rule: 'cardjob.admin_key' });
    expect((await world.repo.cardJobs.get(job!.id))!.status).toBe('leased');

    const first = await world.useCases.complete(station(), job!.id, proof);
    expect(first).toMatchObject({ jobId: job!.id, cardNumber: job!.cardNumber, status: 'completed' });
    expect(await world.repo.cardJobs.get(job!.id)).toMatchObject({ status: 'completed' });
    expect(await world.repo.cards.get(job!.cardNumber)).toMatchObject({ status: 'personalized' });
    expect(await world.repo.applications.get(job!.applicationId)).toMatchObject({ status: 'personalized' });
    expect(world.workflow.successes).toEqual([
      {
        taskToken: job!.taskToken,
        output: expect.objectContaining({ cardJobId: job!.id, jobStatus: 'completed' }),
      },
    ]);

    world.clock.advance(5000);
    const again = await world.useCases.complete(station(), job!.id, proof);
    expect(again).toEqual(first);
    expect(world.workflow.successes).toHaveLength(2);
    expect(
      await refusal(world.useCases.complete(station(), job!.id, { ...proof, agentId: 'b' })),
    ).toMatchObject({
      rule: 'cardjob.completed',
    });
    const actions = (await world.repo.audit.range('main', 1, 100)).map((r) => [r.action, r.actor.type]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['cardjob.lease', 'card-station'],
        ['cardjob.complete', 'card-station'],
      ]),
    );
  });

  it('mails a completed card only: S10 tracking number checked, idempotent, the waiting workflow resumes', async () => {
    const world = createWorld();
    const [job] = await queuedJobs(world, 1);
    await world.useCases.lease(station(), { agentId: 'a' });
    const tracking = s10('12345678');
    expect(
      await refusal(world.useCases.mailed(station(), job!.id, { agentId: 'a', trackingNumber: tracking })),
    ).toMatchObject({
      rule: 'cardjob.not_completed',
    });
    await world.useCases.complete(station(), job!.id, await proofFor(world, job!, 'a'));
    // The workflow moved on to wait for the mailing with a new task token (as AwaitMailing does).
    const completed = (await world.repo.cardJobs.get(job!.id))!;
    await world.repo.cardJobs.save({ ...completed, taskToken: 'token-mailing' });

    const badCheck = `${tracking.slice(0, 10)}${(Number(tracking[10]) + 1) % 10}TW`;
    expect(
      await refusal(world.useCases.mailed(station(), job!.id, { agentId: 'a', trackingNumber: badCheck })),
    ).toMatchObject({
      field: 'trackingNumber',
      rule: 'tracking.s10',
    });
    const res = await world.useCases.mailed(station(), job!.id, { agentId: 'a', trackingNumber: tracking });
    expect(res).toMatchObject({ status: 'mailed', trackingNumber: tracking });
    expect(await world.repo.cards.get(job!.cardNumber)).toMatchObject({ status: 'mailed' });
    // The application is the workflow's to move (it e-mails the holder first).
    expect(await world.repo.applications.get(job!.applicationId)).toMatchObject({ status: 'personalized' });
    expect(world.workflow.successes.at(-1)).toMatchObject({
      taskToken: 'token-mailing',
      output: { jobStatus: 'mailed', trackingNumber: tracking },
    });
    expect(
      await world.useCases.mailed(station(), job!.id, { agentId: 'a', trackingNumber: tracking }),
    ).toEqual(res);
    expect(
      await refusal(
        world.useCases.mailed(station(), job!.id, { agentId: 'a', trackingNumber: s10('87654321') }),
      ),
    ).toMatchObject({ rule: 'cardjob.mailed' });
    expect(
      await refusal(
        world.useCases.mailed(station('bureau-2'), job!.id, { agentId: 'a', trackingNumber: tracking }),
      ),
    ).toBeInstanceOf(ForbiddenError);
  });

  it('a spoiled card fails the job and the waiting task; a completed job cannot be spoiled', async () => {
    const world = createWorld();
    const [job, done] = await queuedJobs(world, 2);
    await world.useCases.lease(station(), { agentId: 'a', jobId: job!.id });
    const res = await world.useCases.failure(station(), job!.id, {
      agentId: 'a',
      reason: 'print_failed',
      detail: 'ribbon\nran out',
    });
    expect(res).toEqual({
      jobId: job!.id,
      cardNumber: job!.cardNumber,
      status: 'failed',
      cardStatus: 'spoiled',
      failureReason: 'print_failed: ribbon ran out',
    });
    expect(await world.repo.cards.get(job!.cardNumber)).toMatchObject({ status: 'spoiled' });
    expect(world.workflow.failures).toEqual([
      { taskToken: job!.taskToken, error: 'CardJobFailed', cause: expect.stringContaining('print_failed') },
    ]);
    expect(
      await world.useCases.failure(station(), job!.id, {
        agentId: 'a',
        reason: 'print_failed',
        detail: 'ribbon\nran out',
      }),
    ).toEqual(res);
    // A failed job is never offered again (ops re-queue the order with a new card).
    expect(await world.useCases.lease(station(), { agentId: 'a', jobId: done!.id })).toBeDefined();
    await world.useCases.complete(station(), done!.id, await proofFor(world, done!, 'a'));
    expect(
      await refusal(world.useCases.failure(station(), done!.id, { agentId: 'a', reason: 'damaged' })),
    ).toBeInstanceOf(ConflictError);
    expect(await world.useCases.lease(station(), { agentId: 'z' })).toBeUndefined();
    expect(await world.audit.verify()).toMatchObject({ ok: true });
  });
});
