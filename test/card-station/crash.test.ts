import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { comparePersonalization } from '../../card-station/card/personalization.js';
import { openSoftHsmCardReader } from '../../card-station/card/softhsm.js';
import { closeModules, softhsmConfig } from '../../shared/adapters/pkcs11/module.js';
import { isTaiwanRegisteredMail } from '../../shared/card/numbers.js';
import { adminKeyCheckValue, deriveCardAdminKey } from '../../shared/card/unblock.js';
import type { AuditRecord, CardJob } from '../../shared/domain/model.js';
import { type AgentRun, runAgent, startAgent } from './agent-process.js';
import { startTestServer, type TestServer } from './server.js';
import { setNativeEnv } from './softhsm-env.js';
import { createTestCa, type TestCa } from './test-ca.js';
import { createWorld, queueJobFor, type World } from './world.js';

/**
 * Crash safety of the card station, end to end: two agent processes share one card folder (one bureau,
 * two workstations) and are killed with SIGKILL at random moments, over and over, while they enroll
 * stock and work a queue of orders. At the end every order has exactly one card, written with its own
 * certificates and admin key and mailed once under one tracking number, no job was ever leased to two
 * agents at once, and the untouched stock is still blank.
 *
 * The random schedule comes from a seed printed on failure (set CRASH_SEED to replay one).
 */

const ORDERS = 10;
const KILL_ROUNDS = 8;
const LEASE_SECONDS = 3;
const TOKEN = 'bureau-1-token';

const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
let rng = seed;
const random = () => {
  // mulberry32
  rng = (rng + 0x6d2b79f5) | 0;
  let t = rng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const between = (lo: number, hi: number) => Math.floor(lo + random() * (hi - lo));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let world: World;
let server: TestServer;
let ca: TestCa;
let root: string;
let cardsDir: string;

const agentArgs = (name: string) => [
  '--state-dir',
  join(root, name),
  '--cards-dir',
  cardsDir,
  '--api',
  server.url,
  '--token',
  TOKEN,
];

/** Start an agent and SIGKILL it after `afterMs` unless it ended by itself. */
const killLater = (run: AgentRun, afterMs: number) => {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), afterMs);
  return run.done.finally(() => clearTimeout(timer));
};

/**
 * SIGKILL the agent `afterMs` after it leased its first job (its log says so), so the kill lands while
 * it works a job wherever the work is (a fixed delay from start mostly fell after a fast agent had
 * already finished); an agent that finds no work ends by itself.
 */
const killDuringWork = (run: AgentRun, afterMs: number) => {
  let timer: NodeJS.Timeout | undefined;
  const watch = (chunk: Buffer) => {
    if (!timer && chunk.toString().includes('job leased'))
      timer = setTimeout(() => run.child.kill('SIGKILL'), afterMs);
  };
  run.child.stdout!.on('data', watch);
  run.child.stderr!.on('data', watch);
  return run.done.finally(() => clearTimeout(timer));
};
/** The agent's own log at info level: the 'job leased' line is what killDuringWork waits for. */
const AGENT_LOG = { POWERTOOLS_LOG_LEVEL: 'INFO' };

beforeAll(async () => {
  world = createWorld({ realTime: true, leaseSeconds: LEASE_SECONDS });
  server = await startTestServer(world.useCases, { [TOKEN]: 'bureau-1' });
  ca = await createTestCa();
  root = await mkdtemp(join(tmpdir(), 'crash-'));
  cardsDir = join(root, 'cards');
});
afterAll(async () => {
  closeModules();
  await server.close();
});

describe(`card station under SIGKILL (seed ${seed})`, () => {
  it('enrollment killed midway finishes on the next run; every card made is in the inventory', async () => {
    const first = await killLater(
      startAgent([...agentArgs('a'), 'enroll', '--count', '8']),
      between(2500, 5000),
    );
    expect(first.signal === 'SIGKILL' || first.code === 0).toBe(true);
    // Run again to the end: the numbers the killed run took are finished first, then 6 more.
    await runAgent([...agentArgs('a'), 'enroll', '--count', '6']);

    const status = JSON.parse((await runAgent([...agentArgs('a'), '--json', 'status'])).stdout) as {
      cards: { cardNumber: string; phase: string }[];
      pendingEnrollment: string[];
    };
    expect(status.pendingEnrollment).toEqual([]);
    expect(status.cards.length).toBeGreaterThanOrEqual(14);
    for (const c of status.cards) {
      expect(c.phase).toBe('issuer');
      expect(await world.repo.cards.get(c.cardNumber)).toMatchObject({
        status: 'blank',
        enrolledBy: 'bureau-1',
      });
    }
    expect(await world.repo.cards.countBlank()).toBe(status.cards.length);
  }, 120_000);

  it(`${ORDERS} orders, two agents killed at random points ${KILL_ROUNDS} times: every order gets exactly one card`, async () => {
    const blank = await world.repo.cards.listBlank(100);
    const jobs: CardJob[] = [];
    for (const card of blank.slice(0, ORDERS)) jobs.push((await queueJobFor(world, ca, card.cardNumber)).job);
    const spare = blank.slice(ORDERS).map((c) => c.cardNumber);
    await sleep(5);

    let kills = 0;
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const runs = ['a', 'b'].map((name) =>
        killDuringWork(
          startAgent([...agentArgs(name), 'run', '--once', '--concurrency', '2'], AGENT_LOG),
          between(0, 800),
        ),
      );
      const results = await Promise.all(runs);
      kills += results.filter((r) => r.signal === 'SIGKILL').length;
      for (const r of results) {
        if (r.signal === null && r.code !== 0) throw new Error(`agent failed: ${r.stderr}`);
      }
    }
    // Let both run to the end; leases orphaned by a kill run out after LEASE_SECONDS.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const results = await Promise.all(
        ['a', 'b'].map(
          (name) => startAgent([...agentArgs(name), 'run', '--once', '--concurrency', '2']).done,
        ),
      );
      for (const r of results) if (r.code !== 0) throw new Error(`agent failed: ${r.stderr}`);
      const open = [];
      for (const j of jobs) if ((await world.repo.cardJobs.get(j.id))!.status !== 'mailed') open.push(j.id);
      if (open.length === 0) break;
      if (Date.now() > deadline) throw new Error(`jobs never finished: ${open.join(', ')}`);
      await sleep(1000);
    }
    expect(kills).toBeGreaterThan(0);

    const audit = await world.repo.audit.range('main', 1, 100_000);
    expect(await world.audit.verify()).toMatchObject({ ok: true });

    // Every order: its job mailed once, under one valid tracking number, after completion.
    const trackingNumbers = new Set<string>();
    for (const j of jobs) {
      const job = (await world.repo.cardJobs.get(j.id))!;
      expect(job).toMatchObject({ status: 'mailed', cardNumber: j.cardNumber });
      expect(isTaiwanRegisteredMail(job.trackingNumber!)).toBe(true);
      trackingNumbers.add(job.trackingNumber!);
      const mine = audit.filter((r) => r.subject.id === j.id);
      const mailed = mine.filter((r) => r.action === 'cardjob.mailed');
      expect(new Set(mailed.map((r) => r.details.trackingNumber))).toEqual(new Set([job.trackingNumber]));
      const firstComplete = mine.find((r) => r.action === 'cardjob.complete')!;
      expect(firstComplete.seq).toBeLessThan(mailed[0]!.seq);
      expect(await world.repo.cards.get(j.cardNumber)).toMatchObject({
        status: 'mailed',
        applicationId: j.applicationId,
      });
      expect(world.workflow.successes.some((s) => s.taskToken === j.taskToken)).toBe(true);
    }
    expect(trackingNumbers.size).toBe(ORDERS);
    expect(world.workflow.failures).toEqual([]);

    // No job was ever leased to two agents at once: each grant came after every other owner's lease
    // (as last extended) had run out.
    const byJob = new Map<string, AuditRecord[]>();
    for (const r of audit) {
      if (r.action !== 'cardjob.lease' && r.action !== 'cardjob.heartbeat') continue;
      byJob.set(r.subject.id, [...(byJob.get(r.subject.id) ?? []), r]);
    }
    let takeovers = 0;
    for (const records of byJob.values()) {
      const lastExpiry = new Map<string, string>();
      for (const r of records) {
        const owner = String(r.details.owner);
        if (r.action === 'cardjob.lease') {
          for (const [other, expiry] of lastExpiry) {
            if (other !== owner) {
              expect(Date.parse(expiry)).toBeLessThanOrEqual(Date.parse(r.at));
              takeovers++;
            }
          }
          for (const other of [...lastExpiry.keys()]) if (other !== owner) lastExpiry.delete(other);
        }
        lastExpiry.set(owner, String(r.details.leaseExpiresAt));
      }
    }

    // The cards themselves: each order's card holds exactly its certificates and its own admin key,
    // closed for the holder; the spare stock was never touched.
    setNativeEnv('SOFTHSM2_CONF', await softhsmConfig(cardsDir));
    const reader = await openSoftHsmCardReader({ cardsDir });
    for (const j of jobs) {
      const card = await reader.open(j.cardNumber);
      const set = {
        signature: Buffer.from(j.certificates.signature, 'base64'),
        encryption: Buffer.from(j.certificates.encryption, 'base64'),
        chain: j.certificates.chain.map((c) => Buffer.from(c, 'base64')),
      };
      expect(comparePersonalization(await card.readCertificates(), set)).toEqual({ state: 'complete' });
      const info = await card.info();
      expect(info).toMatchObject({ phase: 'personalized', pin: { activated: false, locked: true } });
      expect(info.adminKeyCheck).toBe(
        adminKeyCheckValue(await deriveCardAdminKey(world.secrets, j.cardNumber)),
      );
    }
    for (const cardNumber of spare) {
      const card = await reader.open(cardNumber);
      expect(await card.readCertificates()).toEqual([]);
      expect((await card.info()).phase).toBe('issuer');
      expect(await world.repo.cards.get(cardNumber)).toMatchObject({ status: 'blank' });
    }
    // For the record (not asserted: it depends on where the kills fell).
    process.stderr.write(
      `crash test seed ${seed}: ${kills} kills, ${takeovers} lease takeovers, ${audit.filter((r) => r.action === 'cardjob.lease').length} leases\n`,
    );
  }, 300_000);
});
