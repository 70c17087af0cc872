import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { csrToPem } from '../shared/card/csr.js';
import { cardNumberAt } from '../shared/card/numbers.js';
import { adminKeyCheckValue } from '../shared/card/unblock.js';
import type { EnrolledCard, FailureRequest, LeasedJob } from '../shared/contracts/card-station.js';
import type { KeyAlgorithm } from '../shared/domain/model.js';
import {
  AuthenticationError,
  ConflictError,
  DependencyError,
  ForbiddenError,
  isAppError,
  NotFoundError,
} from '../shared/errors.js';
import type { Clock } from '../shared/ports/clock.js';
import type { CardStationApi } from './api.js';
import { comparePersonalization, writtenCertificatesOnCard } from './card/personalization.js';
import {
  type CardInfo,
  type CardReader,
  type CertificateSet,
  isCardError,
  type SmartCard,
} from './card/types.js';
import { removeFile, writeFileAtomic } from './files.js';
import { Journal } from './journal.js';
import type { PostOffice } from './post.js';
import { renderCardFace, renderMailingLabel } from './render.js';

/**
 * The card station agent: enrolls blank stock, then leases card jobs and carries each through
 * personalize → print → verify → complete → post → report the tracking number.
 *
 * Crash safety (any step may be cut short by a crash or a kill):
 * - The journal records a job as soon as it is leased; a restart resumes journal entries first, asking
 *   the cloud for the same job again (`lease { jobId }`), which gives the card admin key again.
 * - Before writing, the card is read back and compared with the job: a finished card is not written
 *   again, a half-written one is wiped and rewritten, and a card already closed is only verified.
 * - Completion is idempotent in the cloud; if it went through before the crash, the restart sees the
 *   job completed and completes again (same answer) from what the card shows.
 * - A card is handed to the post and reported mailed only after completion succeeded; the tracking
 *   number is kept per job, so a repeat reports the same number.
 * - One card is only ever in one agent's hands: jobs are leased exclusively, and a lock file per card
 *   keeps two agent processes sharing a card folder off the same card.
 */

export interface AgentLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface AgentOptions {
  reader: CardReader;
  api: CardStationApi;
  post: PostOffice;
  clock: Clock;
  /** The agent's own folder: journal, printed output. */
  stateDir: string;
  /** Lock files that keep two agent processes off one card (next to the shared card folder). */
  cardLockDir: string;
  /** Sender lines printed on the mailing label. */
  sender?: string[];
  logger?: AgentLogger;
}

export interface EnrollOptions {
  count: number;
  prefix: string;
  /** First number of the stock range (14 digits) if this agent has not numbered cards yet. */
  first?: bigint;
  algorithm: KeyAlgorithm;
  batch?: string;
  /** Cards per inventory request. */
  batchSize?: number;
  onProgress?: (done: number, total: number, cardNumber: string) => void;
}

export interface RunOptions {
  /** Stop when no job is left (instead of waiting for more). */
  once?: boolean;
  concurrency?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

export type JobOutcome =
  | { jobId: string; outcome: 'mailed'; cardNumber: string; trackingNumber: string }
  | { jobId: string; outcome: 'failed'; cardNumber: string; reason: string }
  | { jobId: string; outcome: 'lost'; cardNumber: string; reason: string };

/** Thrown inside job processing when the lease went to someone else: stop touching the card. */
class LeaseLost extends Error {}

/** A card problem the bureau cannot fix by retrying: the card is reported spoiled. */
class Spoiled extends Error {
  constructor(
    readonly reason: FailureRequest['reason'],
    detail: string,
  ) {
    super(detail);
  }
}

const noop = () => {};
const quietLogger: AgentLogger = { info: noop, warn: noop, error: noop };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

const certificateSetOf = (job: LeasedJob): CertificateSet => ({
  signature: Buffer.from(job.certificates.signature, 'base64'),
  encryption: Buffer.from(job.certificates.encryption, 'base64'),
  chain: job.certificates.chain.map((c) => Buffer.from(c, 'base64')),
});

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** How often a one-shot run (`run --once`) tries the same job before leaving it for the next run. */
const ONCE_MAX_ATTEMPTS = 3;

export class CardStationAgent {
  readonly journal: Journal;
  private readonly log: AgentLogger;

  constructor(private readonly opts: AgentOptions) {
    this.journal = new Journal(opts.stateDir);
    this.log = opts.logger ?? quietLogger;
  }

  get agentId(): string {
    return this.journal.agentId;
  }

  /** Where the printed card face and mailing label of a job go. */
  outputDir(jobId: string): string {
    return join(this.opts.stateDir, 'output', encodeURIComponent(jobId));
  }

  // -----------------------------------------------------------------------------------------------
  // Enrollment

  /**
   * Number `count` new cards from the stock range, initialize each, generate both key pairs on the card,
   * and send the public keys with their proof of possession to the inventory. Cards numbered by an
   * earlier, interrupted run are finished and sent first.
   */
  async enroll(
    o: EnrollOptions,
  ): Promise<{ enrolled: string[]; rejected: { cardNumber: string; reason: string }[] }> {
    const stock = this.journal.stock();
    const key = o.prefix;
    let next = BigInt(stock.next[key] ?? (o.first ?? this.defaultFirst()).toString());
    for (let i = 0; i < o.count; i++) {
      stock.pending.push(cardNumberAt(o.prefix, next, 0));
      next += 1n;
    }
    stock.next[key] = next.toString();
    // Numbers are taken (journaled) before any card is made: a crash leaves them pending, not reused.
    this.journal.saveStock(stock);

    const total = stock.pending.length;
    const enrolled: string[] = [];
    const rejected: { cardNumber: string; reason: string }[] = [];
    let done = 0;
    let batch: EnrolledCard[] = [];
    const flush = async () => {
      while (batch.length > 0) {
        try {
          const res = await this.opts.api.enroll({ cards: batch, ...(o.batch ? { batch: o.batch } : {}) });
          enrolled.push(...res.enrolled.map((e) => e.cardNumber));
          this.dropPending(batch.map((c) => c.cardNumber));
          batch = [];
        } catch (e) {
          // One card refused (a number already taken, a bad key): set it aside, send the others.
          const field = isAppError(e) ? e.field : undefined;
          const index = field ? Number(/^cards\.(\d+)\./.exec(field)?.[1]) : Number.NaN;
          if (Number.isNaN(index) || !batch[index]) throw e;
          const card = batch[index]!;
          rejected.push({ cardNumber: card.cardNumber, reason: (e as Error).message });
          this.log.warn('inventory refused a card', {
            cardNumber: card.cardNumber,
            rule: (e as { rule?: string }).rule,
          });
          this.dropPending([card.cardNumber]);
          batch = batch.filter((_, i) => i !== index);
        }
      }
    };
    for (const cardNumber of [...stock.pending]) {
      const card = await this.opts.reader.initialize(cardNumber);
      const keys = await card.generateKeyPairs(o.algorithm);
      batch.push({
        cardNumber,
        keys: {
          signature: {
            csr: csrToPem(await card.createCsr('signature')),
            algorithm: keys.signature.algorithm,
            keyId: keys.signature.keyId,
          },
          encryption: {
            csr: csrToPem(await card.createCsr('encryption')),
            algorithm: keys.encryption.algorithm,
            keyId: keys.encryption.keyId,
          },
        },
      });
      done++;
      o.onProgress?.(done, total, cardNumber);
      if (batch.length >= (o.batchSize ?? 20)) await flush();
    }
    await flush();
    return { enrolled, rejected };
  }

  private dropPending(cardNumbers: string[]): void {
    const stock = this.journal.stock();
    stock.pending = stock.pending.filter((c) => !cardNumbers.includes(c));
    this.journal.saveStock(stock);
  }

  /** A fresh stock range start: the current time to the second, so two wiped setups rarely collide. */
  private defaultFirst(): bigint {
    const d = this.opts.clock.now();
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return BigInt(
      `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`,
    );
  }

  // -----------------------------------------------------------------------------------------------
  // Jobs

  /** Work jobs until none is left (`once`) or until `signal` aborts. Journal entries are finished first. */
  async run(o: RunOptions = {}): Promise<JobOutcome[]> {
    const outcomes: JobOutcome[] = [];
    const resumable = this.journal.entries();
    // Failures per job in this run: a one-shot run stops retrying a job that keeps failing the same way
    // (the journal and the lease keep it for the next run; the sweeper reports it to ops if it stays).
    const failures = new Map<string, number>();
    const worker = async () => {
      while (!o.signal?.aborted) {
        const entry = resumable.shift();
        let jobId = entry?.jobId;
        let outcome: JobOutcome | undefined;
        try {
          if (entry) {
            outcome = await this.resume(entry.jobId, entry.cardNumber, entry.phase);
          } else {
            const job = await this.opts.api.lease({ agentId: this.agentId });
            if (!job) {
              if (o.once) return;
              await sleep(o.pollMs ?? 5000, o.signal);
              continue;
            }
            jobId = job.id;
            outcome = await this.process(job);
          }
        } catch (e) {
          if (e instanceof AuthenticationError || e instanceof ForbiddenError) throw e;
          // Anything else (the API or a card briefly unavailable): the journal keeps the job; try later.
          const failed = jobId ? (failures.get(jobId) ?? 0) + 1 : 0;
          if (jobId) failures.set(jobId, failed);
          if (o.once && failed >= ONCE_MAX_ATTEMPTS) {
            this.log.error('job keeps failing; left for the next run', {
              error: (e as Error).message,
              jobId,
            });
            return;
          }
          this.log.warn('job interrupted; will resume', { error: (e as Error).message, jobId });
          if (entry) resumable.push(entry);
          await sleep(Math.min(o.pollMs ?? 5000, 2000), o.signal);
          if (o.once && !entry && e instanceof DependencyError) return;
          continue;
        }
        if (outcome) outcomes.push(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, () => worker()));
    return outcomes;
  }

  /** Carry on with a journaled job after a restart. */
  private async resume(jobId: string, cardNumber: string, phase: string): Promise<JobOutcome | undefined> {
    if (phase === 'completed') return this.postAndReport(jobId, cardNumber);
    let job: LeasedJob | undefined;
    try {
      job = await this.opts.api.lease({ agentId: this.agentId, jobId });
    } catch (e) {
      if (e instanceof ConflictError) {
        // Not leasable any more: most likely our completion went through just before the crash.
        return this.completeFromCard(jobId, cardNumber);
      }
      if (e instanceof NotFoundError || e instanceof ForbiddenError) {
        this.journal.remove(jobId);
        return { jobId, outcome: 'lost', cardNumber, reason: (e as Error).message };
      }
      throw e;
    }
    return job ? this.process(job) : undefined;
  }

  /** The job was completed before (or by someone else): complete again from the card; mail if it is ours. */
  private async completeFromCard(jobId: string, cardNumber: string): Promise<JobOutcome> {
    try {
      const info = await this.withCard(cardNumber, async (card) => ({
        info: await card.info(),
        certs: await card.readCertificates(),
      }));
      const written = writtenCertificatesOnCard(info.certs);
      if (info.info.phase !== 'personalized' || !written || !info.info.adminKeyCheck) {
        throw new ConflictError(`card ${cardNumber} was not finished by this agent`);
      }
      await this.opts.api.complete(jobId, {
        agentId: this.agentId,
        written,
        adminKeyCheck: info.info.adminKeyCheck,
      });
    } catch (e) {
      if (e instanceof ConflictError || e instanceof NotFoundError || isCardError(e)) {
        this.journal.remove(jobId);
        this.log.warn('job taken over or gone; dropped', { jobId, error: (e as Error).message });
        return { jobId, outcome: 'lost', cardNumber, reason: (e as Error).message };
      }
      throw e;
    }
    this.journal.put({
      jobId,
      cardNumber,
      phase: 'completed',
      updatedAt: this.opts.clock.now().toISOString(),
    });
    return this.postAndReport(jobId, cardNumber);
  }

  /** Personalize, print, verify, complete, post and report one leased job. */
  async process(job: LeasedJob): Promise<JobOutcome> {
    this.journal.put({
      jobId: job.id,
      cardNumber: job.cardNumber,
      phase: 'leased',
      updatedAt: this.opts.clock.now().toISOString(),
    });
    this.log.info('job leased', { jobId: job.id, cardNumber: job.cardNumber, attempts: job.attempts });
    const lease = this.keepLease(job);
    try {
      const adminKey = Buffer.from(job.cardAdminKey, 'base64');
      const proof = await this.withCard(job.cardNumber, (card) =>
        this.personalize(card, job, adminKey, lease.check),
      );
      lease.check();
      await this.print(job);
      lease.check();
      await this.opts.api.complete(job.id, { agentId: this.agentId, ...proof });
    } catch (e) {
      if (e instanceof Spoiled) return this.reportSpoiled(job, e);
      if (e instanceof LeaseLost || (e instanceof ConflictError && e.rule === 'cardjob.lease_lost')) {
        this.journal.remove(job.id);
        this.log.warn('lease lost; job left to its new holder', { jobId: job.id });
        return { jobId: job.id, outcome: 'lost', cardNumber: job.cardNumber, reason: 'lease lost' };
      }
      throw e;
    } finally {
      lease.stop();
    }
    this.journal.put({
      jobId: job.id,
      cardNumber: job.cardNumber,
      phase: 'completed',
      updatedAt: this.opts.clock.now().toISOString(),
    });
    this.log.info('job completed', { jobId: job.id, cardNumber: job.cardNumber });
    return this.postAndReport(job.id, job.cardNumber);
  }

  /** Write the card to match the job (or verify it already does) and return what it reads back. */
  private async personalize(card: SmartCard, job: LeasedJob, adminKey: Buffer, check: () => void) {
    const set = certificateSetOf(job);
    let info: CardInfo;
    try {
      info = await card.info();
    } catch (e) {
      if (isCardError(e, 'card_terminated')) throw new Spoiled('card_defective', 'the card is terminated');
      throw e;
    }
    if (info.terminated) throw new Spoiled('card_defective', 'the card is terminated');
    if (info.keys.length < 2) throw new Spoiled('card_defective', 'the card has lost a key pair');

    if (info.phase === 'issuer') {
      const state = comparePersonalization(await card.readCertificates(), set);
      if (state.state === 'partial') {
        check();
        const removed = await card.wipeCertificates();
        this.log.warn('half-written card wiped', {
          cardNumber: job.cardNumber,
          removed,
          missing: state.missing,
          unexpected: state.unexpected,
        });
      }
      if (state.state !== 'complete') {
        check();
        try {
          await card.writeCertificates(set);
        } catch (e) {
          if (isCardError(e, 'certificate_mismatch')) throw new Spoiled('certificate_mismatch', e.message);
          throw e;
        }
      }
      const written = comparePersonalization(await card.readCertificates(), set);
      if (written.state !== 'complete')
        throw new Spoiled('write_failed', 'the certificates do not read back right');
      check();
      await card.closePersonalization(adminKey);
    }

    // Verify what the card shows now, whichever way we got here.
    const after = await card.info();
    const onCard = await card.readCertificates();
    if (after.phase !== 'personalized' || comparePersonalization(onCard, set).state !== 'complete') {
      throw new Spoiled('write_failed', 'the closed card does not hold this job’s certificates');
    }
    if (after.adminKeyCheck !== adminKeyCheckValue(adminKey)) {
      throw new Spoiled('write_failed', 'the card holds another admin key');
    }
    const written = writtenCertificatesOnCard(onCard)!;
    return { written, adminKeyCheck: after.adminKeyCheck };
  }

  /** The card face and the mailing label (with the registered-mail number) for this job. */
  private async print(job: LeasedJob): Promise<void> {
    const trackingNumber = await this.opts.post.registeredNumber(job.id);
    const dir = this.outputDir(job.id);
    mkdirSync(dir, { recursive: true });
    const face = renderCardFace({
      cardNumber: job.cardNumber,
      holderName: job.holder.name,
      expiry: job.holder.expiry,
    });
    const label = renderMailingLabel({
      trackingNumber,
      address: { ...job.mailingAddress, recipient: job.mailingAddress.recipient ?? job.holder.name },
      sender: this.opts.sender ?? ['外來人口自然人憑證 製卡中心', 'ACDC Card Personalization Bureau'],
      simulated: this.opts.post.simulated,
    });
    writeFileAtomic(join(dir, 'card-face.png'), face, 0o644);
    writeFileAtomic(join(dir, 'mailing-label.png'), label, 0o644);
  }

  private async postAndReport(jobId: string, cardNumber: string): Promise<JobOutcome> {
    const trackingNumber = await this.opts.post.registeredNumber(jobId);
    await this.opts.post.handOver(jobId);
    await this.opts.api.mailed(jobId, { agentId: this.agentId, trackingNumber });
    this.journal.remove(jobId);
    this.log.info('card mailed', { jobId, cardNumber, trackingNumber });
    return { jobId, outcome: 'mailed', cardNumber, trackingNumber };
  }

  private async reportSpoiled(job: LeasedJob, e: Spoiled): Promise<JobOutcome> {
    this.log.error('card spoiled', {
      jobId: job.id,
      cardNumber: job.cardNumber,
      reason: e.reason,
      detail: e.message,
    });
    try {
      await this.opts.api.failure(job.id, { agentId: this.agentId, reason: e.reason, detail: e.message });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
    this.journal.remove(job.id);
    return { jobId: job.id, outcome: 'failed', cardNumber: job.cardNumber, reason: e.reason };
  }

  /** Heartbeats at a third of the lease; `check()` throws once the lease went to someone else. */
  private keepLease(job: LeasedJob): { check: () => void; stop: () => void } {
    let lost = false;
    const period = Math.max(250, (Date.parse(job.lease.expiresAt) - this.opts.clock.now().getTime()) / 3);
    const timer = setInterval(() => {
      this.opts.api.heartbeat(job.id, { agentId: this.agentId }).then(
        () => undefined,
        (e) => {
          if (e instanceof ConflictError) lost = true;
          else this.log.warn('heartbeat failed', { jobId: job.id, error: (e as Error).message });
        },
      );
    }, period);
    timer.unref();
    return {
      check: () => {
        if (lost) throw new LeaseLost(job.id);
      },
      stop: () => clearInterval(timer),
    };
  }

  /** Hold the card (a lock file per card across agent processes) while `fn` runs. */
  private async withCard<T>(cardNumber: string, fn: (card: SmartCard) => Promise<T>): Promise<T> {
    const release = await this.lockCard(cardNumber);
    try {
      let card: SmartCard;
      try {
        card = await this.opts.reader.open(cardNumber);
      } catch (e) {
        if (isCardError(e, 'card_absent'))
          throw new Spoiled('lost', `card ${cardNumber} is not in this bureau`);
        throw e;
      }
      return await fn(card);
    } finally {
      release();
    }
  }

  private async lockCard(cardNumber: string): Promise<() => void> {
    mkdirSync(this.opts.cardLockDir, { recursive: true });
    const path = join(this.opts.cardLockDir, `${cardNumber}.lock`);
    for (let attempt = 0; attempt < 300; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => removeFile(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number(readFileSafe(path));
        // The holder died (a crash): its lock is stale.
        if (!holder || !pidAlive(holder)) {
          removeFile(path);
          continue;
        }
        await sleep(100);
      }
    }
    throw new DependencyError(`card ${cardNumber} is held by another agent process`);
  }

  // -----------------------------------------------------------------------------------------------
  // Inspection

  async inspect(cardNumber: string): Promise<CardInfo> {
    return (await this.opts.reader.open(cardNumber)).info();
  }

  async status(): Promise<{
    agentId: string;
    cards: { cardNumber: string; phase: string; activated: boolean }[];
    journal: { jobId: string; cardNumber: string; phase: string; updatedAt: string }[];
    pendingEnrollment: string[];
  }> {
    const cards = [];
    for (const cardNumber of await this.opts.reader.list()) {
      try {
        const info = await (await this.opts.reader.open(cardNumber)).info();
        cards.push({ cardNumber, phase: info.phase, activated: info.pin.activated });
      } catch (e) {
        cards.push({ cardNumber, phase: isCardError(e) ? e.code : 'unreadable', activated: false });
      }
    }
    return {
      agentId: this.agentId,
      cards,
      journal: this.journal.entries(),
      pendingEnrollment: this.journal.stock().pending,
    };
  }
}

const readFileSafe = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
