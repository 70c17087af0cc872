import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createStepFunctionsWorkflow, executionArnOf } from '../../shared/adapters/stepfunctions/workflow.js';
import { DependencyError, ValidationError } from '../../shared/errors.js';

const ARN = 'arn:aws:states:ap-east-2:123456789012:stateMachine:issuance';
const sfn = mockClient(SFNClient);
const workflow = () =>
  createStepFunctionsWorkflow({ client: new SFNClient({ region: 'ap-east-2' }), stateMachineArn: ARN });
const meta = { $metadata: {} };

beforeEach(() => sfn.reset());

describe('Step Functions workflow adapter', () => {
  it('starts one execution named by the application id', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${ARN}:app-1`, startDate: new Date() });
    await workflow().startIssuance('app-1');
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: ARN,
      name: 'app-1',
      input: JSON.stringify({ applicationId: 'app-1' }),
    });
  });

  it('treats ExecutionAlreadyExists of a running execution as success (one live execution)', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
    await expect(workflow().startIssuance('app-1')).resolves.toBeUndefined();
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: 'arn:aws:states:ap-east-2:123456789012:execution:issuance:app-1',
    });
  });

  it('starts the next run (<id>_r2, _r3, …) when the earlier executions have ended (ops re-queue)', async () => {
    sfn
      .on(StartExecutionCommand, { name: 'app-1' })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }))
      .on(StartExecutionCommand, { name: 'app-1_r2' })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }))
      .on(StartExecutionCommand, { name: 'app-1_r3' })
      .resolves({ executionArn: `${ARN}:app-1_r3`, startDate: new Date() });
    sfn
      .on(DescribeExecutionCommand, { executionArn: executionArnOf(ARN, 'app-1') })
      .resolves({ status: 'FAILED' } as never)
      .on(DescribeExecutionCommand, { executionArn: executionArnOf(ARN, 'app-1_r2') })
      .resolves({ status: 'SUCCEEDED' } as never);
    await workflow().startIssuance('app-1');
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name)).toEqual([
      'app-1',
      'app-1_r2',
      'app-1_r3',
    ]);
  });

  it('reports any other failure to start as a retryable DependencyError', async () => {
    sfn.on(StartExecutionCommand).rejects(
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'slow down',
        ...meta,
      }),
    );
    const err = await workflow()
      .startIssuance('app-1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as DependencyError).retryable).toBe(true);
  });

  it('refuses an application id that cannot be an execution name, without calling AWS', async () => {
    await expect(workflow().startIssuance('app 1/../x')).rejects.toBeInstanceOf(ValidationError);
    await expect(workflow().startIssuance('a'.repeat(73))).rejects.toBeInstanceOf(ValidationError);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('sends task success with the output as JSON', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await workflow().sendTaskSuccess('token-1', { status: 'paid' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'token-1',
      output: '{"status":"paid"}',
    });
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut({ message: 'timed out', ...meta })],
    ['InvalidToken', new InvalidToken({ message: 'bad token', ...meta })],
    ['TaskDoesNotExist', new TaskDoesNotExist({ message: 'gone', ...meta })],
  ])('ignores %s on callbacks (the token is finished or unknown)', async (_name, error) => {
    sfn.on(SendTaskSuccessCommand).rejects(error);
    sfn.on(SendTaskFailureCommand).rejects(error);
    await expect(workflow().sendTaskSuccess('t', {})).resolves.toBeUndefined();
    await expect(workflow().sendTaskFailure('t', 'PaymentWindowClosed', 'late')).resolves.toBeUndefined();
  });

  it('reports other callback failures as DependencyError', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(
        new SFNServiceException({ name: 'ServiceUnavailable', $fault: 'server', message: 'down', ...meta }),
      );
    await expect(workflow().sendTaskSuccess('t', {})).rejects.toBeInstanceOf(DependencyError);
  });

  it('sends task failure with the error name and cause, clipped to the API limits', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    await workflow().sendTaskFailure('t', 'E'.repeat(300), 'c'.repeat(40_000));
    const input = sfn.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(input.taskToken).toBe('t');
    expect(input.error).toHaveLength(256);
    expect(input.cause).toHaveLength(32_768);
  });
});
