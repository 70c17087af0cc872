import type { Actor, RevocationReason } from '../../shared/domain/model.js';
import type { IssuingAuthority } from '../../shared/usecases/issuance.js';
import type { CardCertificateOperations } from '../../shared/usecases/revocation.js';
import {
  createIssuanceTaskHandlers,
  type IssuanceHandlerDeps,
  type IssuanceTaskHandlers,
  type IssuanceTaskName,
} from '../workflow/handlers.js';
import { certificateAuthority, chainBase64 } from './ca.js';
import { audit, clock, logger, mailContext, mailer, opsEmail, repository, workflow } from './deps.js';
import { count, flushMetrics, METRIC } from './metrics.js';

/**
 * The workflow side of the AWS composition root: the dependencies of the issuance tasks and the sweeper.
 * Every dependency is a getter, built on first use: a task that never sends mail never builds a mailer,
 * and one that tries to without the catalog's grant fails naming the missing variable. One task per
 * Lambda function (infra/catalog.ts TASK_FUNCTIONS), each with only its own grants.
 */

/** Revoke / hold / release through this function's CA (which asks the CRL job for the new CRL). */
export const cardCertificateOperations = (service: string): CardCertificateOperations => ({
  hold: async (serial: string, actor: Actor) => (await certificateAuthority(service)).hold(serial, actor),
  release: async (serial: string, actor: Actor) =>
    (await certificateAuthority(service)).release(serial, actor),
  revoke: async (serial: string, reason: RevocationReason, actor: Actor) =>
    (await certificateAuthority(service)).revoke(serial, reason, actor),
});

export const issuingAuthority = (service: string): IssuingAuthority => ({
  issueCardCertificates: async (req) => (await certificateAuthority(service)).issueCardCertificates(req),
  revoke: async (serial, reason, actor) =>
    (await certificateAuthority(service)).revoke(serial, reason, actor),
  chain: chainBase64,
});

export const issuanceDeps = (service: string): IssuanceHandlerDeps => ({
  get repo() {
    return repository();
  },
  get audit() {
    return audit();
  },
  get mailer() {
    return mailer();
  },
  get mail() {
    return mailContext();
  },
  get opsEmail() {
    return opsEmail();
  },
  clock,
  ca: issuingAuthority(service),
  get workflow() {
    return workflow();
  },
  logger: logger(service),
});

export const taskServiceName = (task: IssuanceTaskName): string =>
  `task-${task.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`;

/** Counts the outcome of one run (TaskSucceeded / TaskFailed) and flushes the metrics. */
export const measured = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    const result = await work();
    count(METRIC.taskSucceeded);
    return result;
  } catch (e) {
    count(METRIC.taskFailed);
    throw e;
  } finally {
    flushMetrics();
  }
};

/** The Lambda handler of one issuance task. Errors keep their name: the state machine matches on it. */
export const taskHandler = (task: IssuanceTaskName) => {
  let handlers: IssuanceTaskHandlers | undefined;
  return async (event: unknown) => {
    handlers ??= createIssuanceTaskHandlers(issuanceDeps(taskServiceName(task)));
    const run = handlers[task];
    return measured(() => run(event));
  };
};
