import {
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
 * - One execution per application: the execution is named by the application id, so a second
 *   StartExecution for the same application is refused by Step Functions (ExecutionAlreadyExists), which
 *   is exactly the idempotency the port promises. (A running execution with the same input is even
 *   returned as a success by the API itself.)
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

export const createStepFunctionsWorkflow = (opts: StepFunctionsWorkflowOptions): Workflow => {
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
      if (!EXECUTION_NAME.test(applicationId))
        throw new ValidationError(
          'applicationId',
          'workflow.execution-name',
          'must be 1-80 letters, digits, - or _',
        );
      try {
        await opts.client.send(
          new StartExecutionCommand({
            stateMachineArn: opts.stateMachineArn,
            name: applicationId,
            input: JSON.stringify({ applicationId }),
          }),
        );
      } catch (e) {
        if (errorName(e) === 'ExecutionAlreadyExists') return;
        throw new DependencyError('Step Functions StartExecution failed', { cause: e });
      }
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
