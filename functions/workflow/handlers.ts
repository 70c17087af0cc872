import * as z from 'zod';
import { ValidationError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import {
  allocateCard,
  awaitMailing,
  awaitPayment,
  type CallbackOutcome,
  type IssuanceDeps,
  loadApplication,
  markFailed,
  notifyShipped,
  purgeUnpaidApplication,
  queueCardJob,
  recordCardCompleted,
  reportStalled,
  revokePreviousCard,
  signCertificates,
} from '../../shared/usecases/issuance.js';

/**
 * The issuance workflow's task handlers: one thin function per Task state of
 * statemachines/issuance.asl.json. Each receives the state's `Payload` (`{ task, applicationId, … }`),
 * calls one use case and returns its result, which Step Functions exposes as `$.Payload`. They are the
 * same functions in AWS (behind Lambda, per task or through `dispatch`) and in the local engine.
 *
 * Callback tasks (`.waitForTaskToken`) get `taskToken`: they store it and return; when the awaited event
 * has already happened they resume the execution themselves through the Workflow port.
 * Errors are thrown as they are: their `name` (VersionConflictError, DependencyError, …) is what the
 * state machine's Retry and Catch match.
 */

export const ISSUANCE_TASKS = [
  'loadApplication',
  'awaitPayment',
  'purgeUnpaid',
  'allocateCard',
  'signCertificates',
  'revokePreviousCard',
  'queueCardJob',
  'recordCardCompleted',
  'awaitMailing',
  'notifyShipped',
  'reportStalled',
  'markFailed',
] as const;
export type IssuanceTaskName = (typeof ISSUANCE_TASKS)[number];

const EventSchema = z.object({
  task: z.enum(ISSUANCE_TASKS),
  applicationId: z.string().min(1).max(128),
  taskToken: z.string().min(1).max(2048).optional(),
  stage: z.string().max(64).optional(),
  /** MarkFailed: the Catch output `{ Error, Cause }` (or an error name with `cause` beside it). */
  error: z
    .union([
      z.string().max(512),
      z.looseObject({ Error: z.string().max(512).optional(), Cause: z.string().max(40_000).optional() }),
    ])
    .optional(),
  cause: z.string().max(40_000).optional(),
  secondsUntilDeadline: z.number().optional(),
});
export type IssuanceTaskEvent = z.infer<typeof EventSchema>;

export type IssuanceTaskResult = Record<string, unknown>;
export type IssuanceTaskHandler = (event: unknown) => Promise<IssuanceTaskResult>;
export type IssuanceTaskHandlers = Record<IssuanceTaskName, IssuanceTaskHandler> & {
  /** One Lambda for every task: routes by `event.task`. */
  dispatch: IssuanceTaskHandler;
};

export interface IssuanceHandlerDeps extends IssuanceDeps {
  /** Used by callback tasks to resume at once when the awaited event already happened. */
  workflow: Workflow;
  logger?: Logger;
}

const parse = (event: unknown): IssuanceTaskEvent => {
  const r = EventSchema.safeParse(event);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ValidationError(String(issue.path.join('.') || 'event'), 'workflow.event', issue.message);
  }
  return r.data;
};

const tokenOf = (e: IssuanceTaskEvent): string => {
  if (!e.taskToken)
    throw new ValidationError('taskToken', 'workflow.event', 'a callback task needs its task token');
  return e.taskToken;
};

export const createIssuanceTaskHandlers = (deps: IssuanceHandlerDeps): IssuanceTaskHandlers => {
  const callback = async (e: IssuanceTaskEvent, outcome: CallbackOutcome): Promise<IssuanceTaskResult> => {
    if (outcome.waiting) return { waiting: true };
    await deps.workflow.sendTaskSuccess(tokenOf(e), outcome.output);
    return { waiting: false };
  };

  const run: Record<IssuanceTaskName, (e: IssuanceTaskEvent) => Promise<IssuanceTaskResult>> = {
    loadApplication: async (e) => ({ ...(await loadApplication(deps, e.applicationId)) }),
    awaitPayment: async (e) => callback(e, await awaitPayment(deps, e.applicationId, tokenOf(e))),
    purgeUnpaid: async (e) => purgeUnpaidApplication(deps, e.applicationId),
    allocateCard: async (e) => allocateCard(deps, e.applicationId),
    signCertificates: async (e) => signCertificates(deps, e.applicationId),
    revokePreviousCard: async (e) => revokePreviousCard(deps, e.applicationId),
    queueCardJob: async (e) => callback(e, await queueCardJob(deps, e.applicationId, tokenOf(e))),
    recordCardCompleted: async (e) => recordCardCompleted(deps, e.applicationId),
    awaitMailing: async (e) => callback(e, await awaitMailing(deps, e.applicationId, tokenOf(e))),
    notifyShipped: async (e) => notifyShipped(deps, e.applicationId),
    reportStalled: async (e) => reportStalled(deps, e.applicationId, e.stage ?? 'unknown'),
    markFailed: async (e) =>
      typeof e.error === 'object'
        ? markFailed(deps, e.applicationId, e.error.Error, e.error.Cause)
        : markFailed(deps, e.applicationId, e.error, e.cause),
  };

  const handle =
    (expected?: IssuanceTaskName): IssuanceTaskHandler =>
    async (event) => {
      const e = parse(event);
      if (expected && e.task !== expected)
        throw new ValidationError('task', 'workflow.event', `this handler runs ${expected}, not ${e.task}`);
      try {
        return await run[e.task](e);
      } catch (err) {
        deps.logger?.warn('issuance task failed', {
          task: e.task,
          applicationId: e.applicationId,
          error: err instanceof Error ? { name: err.name, message: err.message } : String(err),
        });
        throw err;
      }
    };

  const handlers = Object.fromEntries(ISSUANCE_TASKS.map((t) => [t, handle(t)])) as Record<
    IssuanceTaskName,
    IssuanceTaskHandler
  >;
  return { ...handlers, dispatch: handle() };
};
