import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Workflow } from '../ports/workflow.js';
import {
  type IssuanceDeps,
  PAYMENT_WINDOW_CLOSED,
  purgeUnpaidApplication,
  WORKFLOW_ACTOR,
} from './issuance.js';

/**
 * The sweeper: the database is the source of truth, so the rules that depend on time are enforced from it
 * even when no execution is waiting (an execution lost in a restart, a local process that was down at the
 * deadline). Run on an interval by the local server and on a schedule by CDK (EventBridge → Lambda).
 *
 * - Purges every unpaid order past its payment deadline (the deadline index, oldest first; never a scan),
 *   and fails the payment task still waiting on it, if any, so that execution ends too.
 * - Reports certificates stuck in `reserved` (a crash between reserving a serial and storing the signed
 *   certificate) and card jobs whose lease expired long ago (a card station that died holding a card).
 *   They are for a person to look at: the sweeper does not guess what happened at the HSM or the bureau.
 */

export interface SweeperDeps extends IssuanceDeps {
  workflow: Workflow;
  logger?: Logger;
}

export interface SweepOptions {
  /** Records read per index query (default 100). */
  batchSize?: number;
  /** Upper bound of purge pages per run, so one run stays short (default 20). */
  maxBatches?: number;
  /** A reservation older than this is stuck (default 15 minutes; signing takes seconds). */
  reservedGraceMinutes?: number;
  /** A lease expired for longer than this is abandoned (default 60 minutes). */
  leaseGraceMinutes?: number;
}

export interface SweepReport {
  purged: string[];
  purgeErrors: { applicationId: string; error: string }[];
  stuckCertificates: {
    serialNumber: string;
    applicationId: string;
    cardNumber: string;
    reservedAt: string;
  }[];
  expiredLeases: {
    jobId: string;
    applicationId: string;
    cardNumber: string;
    leaseOwner?: string;
    leaseExpiresAt?: string;
  }[];
}

/** Re-audit the same unchanged set of stuck items at most once a day. */
const REPORT_REPEAT_HOURS = 24;

export const sweep = async (deps: SweeperDeps, opts: SweepOptions = {}): Promise<SweepReport> => {
  const batchSize = opts.batchSize ?? 100;
  const maxBatches = opts.maxBatches ?? 20;
  const now = deps.clock.now();
  const report: SweepReport = { purged: [], purgeErrors: [], stuckCertificates: [], expiredLeases: [] };

  // 1. Unpaid orders past their deadline. Purged ones leave the index, so each page brings new ones;
  //    an order that could not be purged stays, and a page with nothing new ends the run.
  const seen = new Set<string>();
  for (let page = 0; page < maxBatches; page++) {
    const due = await deps.repo.applications.listUnpaidDueBefore(now.toISOString(), batchSize);
    const fresh = due.filter((a) => !seen.has(a.id));
    if (fresh.length === 0) break;
    for (const app of fresh) {
      seen.add(app.id);
      try {
        const { purged } = await purgeUnpaidApplication(deps, app.id);
        if (!purged) continue;
        report.purged.push(app.id);
        if (app.paymentTaskToken) {
          try {
            await deps.workflow.sendTaskFailure(
              app.paymentTaskToken,
              PAYMENT_WINDOW_CLOSED,
              'The order was unpaid at the payment deadline and has been purged.',
            );
          } catch (e) {
            // The purge is done; the execution's own deadline timeout ends it anyway.
            deps.logger?.warn('sweeper: could not fail the waiting payment task', {
              applicationId: app.id,
              error: e instanceof Error ? e.name : String(e),
            });
          }
        }
      } catch (e) {
        report.purgeErrors.push({ applicationId: app.id, error: e instanceof Error ? e.name : 'Error' });
        deps.logger?.error('sweeper: purge failed', {
          applicationId: app.id,
          error: e instanceof Error ? { name: e.name, message: e.message } : String(e),
        });
      }
    }
    if (due.length < batchSize) break;
  }

  // 2. Certificates left in `reserved`.
  const reservedBefore = new Date(now.getTime() - (opts.reservedGraceMinutes ?? 15) * 60_000).toISOString();
  for (const c of await deps.repo.certificates.listReservedBefore(reservedBefore, batchSize))
    report.stuckCertificates.push({
      serialNumber: c.serialNumber,
      applicationId: c.applicationId,
      cardNumber: c.cardNumber,
      reservedAt: c.reservedAt,
    });

  // 3. Card jobs whose lease expired long ago (the open-jobs index also holds queued jobs: skip those).
  const expiredBefore = new Date(now.getTime() - (opts.leaseGraceMinutes ?? 60) * 60_000).toISOString();
  for (const j of await deps.repo.cardJobs.listLeasable(expiredBefore, batchSize))
    if (j.status === 'leased')
      report.expiredLeases.push({
        jobId: j.id,
        applicationId: j.applicationId,
        cardNumber: j.cardNumber,
        leaseOwner: j.leaseOwner,
        leaseExpiresAt: j.leaseExpiresAt,
      });

  await auditFindings(deps, report);
  if (
    report.purged.length ||
    report.purgeErrors.length ||
    report.stuckCertificates.length ||
    report.expiredLeases.length
  )
    deps.logger?.info('sweep done', {
      purged: report.purged.length,
      purgeErrors: report.purgeErrors.length,
      stuckCertificates: report.stuckCertificates.length,
      expiredLeases: report.expiredLeases.length,
    });
  return report;
};

/** One audit record per distinct set of findings per day, not one per run. */
const auditFindings = async (deps: SweeperDeps, report: SweepReport): Promise<void> => {
  if (!report.stuckCertificates.length && !report.expiredLeases.length && !report.purgeErrors.length) return;
  const findings = {
    stuckCertificates: report.stuckCertificates.map((c) => c.serialNumber),
    expiredLeases: report.expiredLeases.map((j) => j.jobId),
    purgeErrors: report.purgeErrors.map((p) => p.applicationId),
  };
  const digest = createHash('sha256').update(JSON.stringify(findings)).digest('hex').slice(0, 32);
  const now = deps.clock.now();
  const until = new Date(now.getTime() + REPORT_REPEAT_HOURS * 3600_000).toISOString();
  if (!(await deps.repo.markers.claim(`sweeper-report:${digest}`, until))) return;
  await deps.audit.append({
    actor: WORKFLOW_ACTOR,
    action: 'sweeper.report',
    subject: { type: 'sweeper', id: 'issuance' },
    details: {
      stuckCertificates: report.stuckCertificates,
      expiredLeases: report.expiredLeases,
      purgeErrors: report.purgeErrors,
    },
  });
};

/**
 * Runs `sweep` now and then every `intervalMs` (the local server). Runs never overlap; a failing run is
 * logged and the next one tries again. Returns a stop function.
 */
export const scheduleSweeps = (
  run: () => Promise<unknown>,
  intervalMs: number,
  logger?: Logger,
): (() => Promise<void>) => {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return; // the previous run is still going: skip this beat
    running = run()
      .then(
        () => undefined,
        (e) =>
          logger?.error('sweep failed', {
            error: e instanceof Error ? { name: e.name, message: e.message } : String(e),
          }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
};
