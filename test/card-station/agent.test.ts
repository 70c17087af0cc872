import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { comparePersonalization } from '../../card-station/card/personalization.js';
import { openSoftHsmCardReader } from '../../card-station/card/softhsm.js';
import { CARD_FACE_SIZE, LABEL_SIZE, pngSize } from '../../card-station/render.js';
import { closeModules, softhsmConfig } from '../../shared/adapters/pkcs11/module.js';
import { isTaiwanRegisteredMail } from '../../shared/card/numbers.js';
import { createUnblockAuthorization, deriveCardAdminKey } from '../../shared/card/unblock.js';
import type { CardJob } from '../../shared/domain/model.js';
import { runAgent, startAgent } from './agent-process.js';
import { startTestServer, type TestServer } from './server.js';
import { setNativeEnv } from './softhsm-env.js';
import { createTestCa, type TestCa } from './test-ca.js';
import { createWorld, queueJobFor, type World } from './world.js';

/**
 * The card station CLI end to end, as a separate process against the card station use cases behind a
 * small HTTP server: enroll blank stock, personalize and mail the cards of queued orders, print their
 * faces and labels; then a holder activates one of the cards with the server's authorization.
 */

const run = promisify(execFile);
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const TOKEN = 'bureau-1-token';

let world: World;
let server: TestServer;
let ca: TestCa;
let state: string;
const common = () => ['--state-dir', state, '--api', server.url, '--token', TOKEN];

/** Tesseract OCR (Debian tesseract-ocr); one thread is much faster than its OpenMP default on small images. */
const ocr = async (png: string): Promise<string> =>
  (await run('tesseract', [png, '-', '--psm', '11'], { env: { ...process.env, OMP_THREAD_LIMIT: '1' } }))
    .stdout;

beforeAll(async () => {
  world = createWorld({ realTime: true, leaseSeconds: 30 });
  server = await startTestServer(world.useCases, { [TOKEN]: 'bureau-1' });
  ca = await createTestCa();
  state = await mkdtemp(join(tmpdir(), 'station-'));
});
afterAll(async () => {
  closeModules();
  await server.close();
});

describe('card-station CLI against the card station API', () => {
  const holders = ['CHEN, Mei-Ling 陳美玲', 'NGUYEN THI THANH HUONG', 'Tanaka Hanako 田中花子'];
  let jobs: CardJob[] = [];

  it('enrolls blank stock: keys generated on each card, public keys accepted with proof of possession', async () => {
    const r = await runAgent([
      ...common(),
      'enroll',
      '--count',
      '3',
      '--prefix',
      'TP',
      '--first',
      '00000000000100',
    ]);
    expect(r.stdout).toMatch(/enrolled 3 card\(s\)/);
    for (const n of ['TP00000000000100', 'TP00000000000101', 'TP00000000000102']) {
      expect(await world.repo.cards.get(n)).toMatchObject({ status: 'blank', enrolledBy: 'bureau-1' });
    }
    const status = await runAgent([...common(), '--json', 'status']);
    const s = JSON.parse(status.stdout);
    expect(s.cards).toHaveLength(3);
    expect(s.pendingEnrollment).toEqual([]);
    // The next run continues the stock range.
    await runAgent([...common(), 'enroll', '--count', '1']);
    expect(await world.repo.cards.get('TP00000000000103')).toMatchObject({ status: 'blank' });
  });

  it('personalizes, prints and mails every queued order; the cards read back right', async () => {
    jobs = [];
    for (const [i, holder] of holders.entries()) {
      jobs.push((await queueJobFor(world, ca, `TP0000000000010${i}`, holder)).job);
    }
    await new Promise((r) => setTimeout(r, 5)); // the open-jobs index offers a job from the next instant
    const r = await runAgent([...common(), '--json', 'run', '--once']);
    const outcomes = JSON.parse(r.stdout) as { jobId: string; outcome: string; trackingNumber: string }[];
    expect(outcomes.map((o) => o.outcome)).toEqual(['mailed', 'mailed', 'mailed']);
    for (const job of jobs) {
      const stored = (await world.repo.cardJobs.get(job.id))!;
      expect(stored.status).toBe('mailed');
      expect(isTaiwanRegisteredMail(stored.trackingNumber!)).toBe(true);
      expect(await world.repo.cards.get(job.cardNumber)).toMatchObject({ status: 'mailed' });
      expect(await world.repo.applications.get(job.applicationId)).toMatchObject({ status: 'personalized' });
      expect(
        world.workflow.successes.filter((s) => s.taskToken === job.taskToken).length,
      ).toBeGreaterThanOrEqual(2);
    }
    // Unused stock stays blank.
    expect(await world.repo.cards.get('TP00000000000103')).toMatchObject({ status: 'blank' });
    expect(await world.audit.verify()).toMatchObject({ ok: true });
  });

  it('prints an ID-1 card face with the card number, holder and expiry, and a mailing label with the tracking number', async () => {
    for (const job of jobs) {
      const dir = join(state, 'card-station', 'output', encodeURIComponent(job.id));
      const face = join(dir, 'card-face.png');
      const label = join(dir, 'mailing-label.png');
      expect(pngSize(await readFile(face))).toEqual(CARD_FACE_SIZE);
      expect(pngSize(await readFile(label))).toEqual(LABEL_SIZE);
      // OCR reads a zero as the letter O now and then: numbers are compared with O as 0.
      const zeroForO = (t: string) => t.replace(/\s+/g, '').replace(/O/g, '0');
      const faceText = await ocr(face);
      expect(zeroForO(faceText)).toContain(zeroForO(job.cardNumber));
      expect(zeroForO(faceText)).toContain(zeroForO(job.holder.expiry));
      const latinName = job.holder.name.split(/[^\x20-\x7e]/)[0]!.trim();
      expect(faceText.replace(/\s+/g, ' ')).toContain(latinName);
      const labelText = zeroForO(await ocr(label));
      expect(labelText).toContain(zeroForO((await world.repo.cardJobs.get(job.id))!.trackingNumber!));
      expect(labelText).toContain(job.mailingAddress.postalCode);
    }
  });

  it('the holder activates a mailed card with the server’s authorization; OpenSC then sees both keys and certificates', async () => {
    const job = jobs[0]!;
    setNativeEnv('SOFTHSM2_CONF', await softhsmConfig(join(state, 'cards')));
    const reader = await openSoftHsmCardReader({ cardsDir: join(state, 'cards') });
    const card = await reader.open(job.cardNumber);
    const info = await card.info();
    expect(info).toMatchObject({
      cardNumber: job.cardNumber,
      phase: 'personalized',
      holder: job.holder.name,
      issuer: 'Test Issuing CA',
      pin: { activated: false, locked: true },
    });
    const set = {
      signature: Buffer.from(job.certificates.signature, 'base64'),
      encryption: Buffer.from(job.certificates.encryption, 'base64'),
      chain: job.certificates.chain.map((c) => Buffer.from(c, 'base64')),
    };
    expect(comparePersonalization(await card.readCertificates(), set)).toEqual({ state: 'complete' });

    // Activation: the server derives K_card from the card-master key and authorizes the card's challenge.
    const challenge = await card.getChallenge();
    const auth = createUnblockAuthorization({
      adminKey: await deriveCardAdminKey(world.secrets, job.cardNumber),
      cardNumber: job.cardNumber,
      challenge,
      expiresAt: new Date(Date.now() + 300_000),
    });
    await card.unblock(auth, '482915');
    const { stdout } = await run(
      'pkcs11-tool',
      ['--module', MODULE, '--token-label', job.cardNumber, '--login', '--pin', '482915', '--list-objects'],
      { env: { ...process.env, SOFTHSM2_CONF: join(state, 'cards', 'softhsm2.conf') } },
    );
    expect(stdout.match(/Private Key Object/g)).toHaveLength(2);
    expect(stdout.match(/never extractable/g)).toHaveLength(2);
    expect(stdout).toMatch(/label:\s+sign-cert/);
    expect(stdout).toMatch(/label:\s+enc-cert/);

    const inspected = await runAgent([...common(), 'inspect', job.cardNumber]);
    expect(inspected.stdout).toMatch(/holder\s+CHEN, Mei-Ling 陳美玲/);
    expect(inspected.stdout).toMatch(/PIN\s+set, 3 tries left/);
  });

  it('refuses to work without a valid machine identity', async () => {
    const r = await startAgent([
      '--state-dir',
      state,
      '--api',
      server.url,
      '--token',
      'wrong',
      'run',
      '--once',
    ]).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/card station token is required/);
  });
});
