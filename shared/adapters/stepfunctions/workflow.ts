import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DependencyError, ValidationError } from '../../errors.js';
import type { Workflow } from '../../ports/workflow.js';

/**
 * The Workflow port on AWS Step Functions (standard workflow, statemachines/issuance.asl.json).
 *
 * - One live execution per application: the execution is named by the application id, so a second
 *   StartExecution while it runs is refused by Step Functions (ExecutionAlreadyExists): success. When
 *   the execution of that name has ended (an order ops re-queued after a failure, a payment callback
 *   for an execution lost long ago), a new one is started as `<id>_r2`, `<id>_r3`, …: execution names
 *   cannot be reused for 90 days, and the new execution reads the record and does only what is left.
 *   Needs states:StartExecution and states:DescribeExecution.
 * - Callbacks: a token that timed out, is malformed or belongs to a finished task is ignored, as the port
 *   says: the caller (payment callback, card station, sweeper) has already written the record, and the
 *   workflow reads the record, not the callback.
 * - Anything else (throttling, network, permissions) is a DependencyError, so callers retry.
 */

export interface StepFunctionsWorkflowOptions {
  client: SFNClient;
  stateMachineArn: string;
}

/** Step Functions execution names: 1–80 characters of letters, digits, `-` and `_`. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

const IGNORED_CALLBACK_ERRORS = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

const errorName = (e: unknown): string => (e instanceof Error ? e.name : '');

/** Step Functions limits: error ≤ 256 characters, cause ≤ 32768. */
const clip = (s: string, max: number): string => (s.length > max ? s.slice(0, max) : s);

/** Executions per application before the adapter gives up (each re-queue by ops is one). */
const MAX_RUNS = 20;

/** `arn:aws:states:<region>:<account>:stateMachine:<machine>` → `…:execution:<machine>:<name>`. */
export const executionArnOf = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

export const createStepFunctionsWorkflow = (opts: StepFunctionsWorkflowOptions): Workflow => {
  const isRunning = async (name: string): Promise<boolean> => {
    try {
      const d = await opts.client.send(
        new DescribeExecutionCommand({ executionArn: executionArnOf(opts.stateMachineArn, name) }),
      );
      return d.status === 'RUNNING' || d.status === 'PENDING_REDRIVE';
    } catch (e) {
      throw new DependencyError('Step Functions DescribeExecution failed', { cause: e });
    }
  };

  const callback = async (command: SendTaskSuccessCommand | SendTaskFailureCommand, what: string) => {
    try {
      await opts.client.send(command as SendTaskSuccessCommand);
    } catch (e) {
      if (IGNORED_CALLBACK_ERRORS.has(errorName(e))) return;
      throw new DependencyError(`Step Functions ${what} failed`, { cause: e });
    }
  };

  return {
    async startIssuance(applicationId) {
      if (!EXECUTION_NAME.test(applicationId) || applicationId.length > 72)
        throw new ValidationError(
          'applicationId',
          'workflow.execution-name',
          'must be 1-72 letters, digits, - or _',
        );
      const input = JSON.stringify({ applicationId });
      for (let run = 1; run <= MAX_RUNS; run++) {
        const name = run === 1 ? applicationId : `${applicationId}_r${run}`;
        try {
          await opts.client.send(
            new StartExecutionCommand({ stateMachineArn: opts.stateMachineArn, name, input }),
          );
          return;
        } catch (e) {
          if (errorName(e) !== 'ExecutionAlreadyExists')
            throw new DependencyError('Step Functions StartExecution failed', { cause: e });
        }
        if (await isRunning(name)) return; // one live execution per application
      }
      throw new DependencyError(
        `application ${applicationId} has had ${MAX_RUNS} executions; ops must look at it`,
      );
    },

    sendTaskSuccess: (taskToken, output) =>
      callback(
        new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) }),
        'SendTaskSuccess',
      ),

    sendTaskFailure: (taskToken, error, cause) =>
      callback(
        new SendTaskFailureCommand({ taskToken, error: clip(error, 256), cause: clip(cause, 32_768) }),
        'SendTaskFailure',
      ),
  };
};
