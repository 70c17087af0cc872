import { readFileSync } from 'node:fs';
import { Annotations, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  aslPlaceholders,
  entryOf,
  ISSUANCE_ASL,
  JOB_FUNCTIONS,
  kebab,
  TASK_FUNCTIONS,
  type TaskFunction,
} from '../catalog.js';
import type { AcdcFunction } from '../constructs/function.js';
import { acknowledgeNag } from '../constructs/nag.js';
import {
  createFunction,
  MissingEntryError,
  type SharedResources,
  tryCreateFunction,
} from '../constructs/wire.js';

/**
 * The issuance workflow: the state machine of statemachines/issuance.asl.json (the very file the local
 * stack runs), its task functions (one per `${…FunctionArn}` placeholder), and the two scheduled jobs:
 * the sweeper, which enforces the 15-day purge and lease expiry from the table even when an execution was
 * lost, and the CRL job, which signs and publishes fresh CRLs.
 */
export { aslPlaceholders, ISSUANCE_ASL, substitute } from '../catalog.js';

export interface WorkflowStackProps extends StackProps {
  resources: Omit<SharedResources, 'stateMachine' | 'crlFunction' | 'caSignerFunction'>;
}

export class WorkflowStack extends Stack {
  readonly stateMachine: sfn.StateMachine;
  readonly tasks: Map<TaskFunction, AcdcFunction> = new Map();
  readonly sweeper: AcdcFunction | undefined;
  readonly crlJob: AcdcFunction | undefined;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkflowStackProps) {
    super(scope, id, props);
    const { config } = props.resources;
    const asl = readFileSync(ISSUANCE_ASL, 'utf8');
    const stateMachineName = `${config.prefix}-issuance`;
    // Tasks answer task tokens of this state machine, which names the tasks: they reach it by its name
    // (not by reference), so the definition and the tasks' permissions do not depend on each other.
    const byName = sfn.StateMachine.fromStateMachineName(this, 'IssuanceByName', stateMachineName);

    // The CRL job first: the tasks that change certificate status ask it for a fresh CRL.
    this.crlJob = tryCreateFunction(this, 'CrlJob', {
      service: 'crl',
      entry: entryOf.job('crl'),
      needs: JOB_FUNCTIONS.crl,
      resources: props.resources,
      defaultTimeoutSeconds: 60,
    });
    if (this.crlJob) {
      new events.Rule(this, 'CrlSchedule', {
        description: 'Signs and publishes a fresh CRL',
        schedule: events.Schedule.rate(Duration.minutes(config.crlEveryMinutes)),
        targets: [new targets.LambdaFunction(this.crlJob, { retryAttempts: 2 })],
      });
    }
    const resources: SharedResources = {
      ...props.resources,
      stateMachine: byName,
      ...(this.crlJob ? { crlFunction: this.crlJob } : {}),
    };

    const substitutions: Record<string, string> = {};
    const missing: string[] = [];
    for (const placeholder of aslPlaceholders(asl)) {
      const task = placeholder.replace(/FunctionArn$/, '') as TaskFunction;
      const needs = TASK_FUNCTIONS[task];
      if (!needs || !placeholder.endsWith('FunctionArn')) {
        throw new Error(
          `statemachines/issuance.asl.json uses \${${placeholder}}: add '${task}' to TASK_FUNCTIONS in infra/catalog.ts (its permissions)`,
        );
      }
      try {
        const fn = createFunction(this, `${task}Task`, {
          service: `task-${kebab(task)}`,
          entry: entryOf.task(task),
          needs,
          resources,
          defaultTimeoutSeconds: 60,
        });
        this.tasks.set(task, fn);
        substitutions[placeholder] = fn.functionArn;
      } catch (e) {
        if (!(e instanceof MissingEntryError)) throw e;
        missing.push(entryOf.task(task));
      }
    }
    if (missing.length > 0) {
      // Synth keeps working while task entries are being written; deploying would fail on the placeholders.
      Annotations.of(this).addWarningV2(
        'acdc:missing-task-entries',
        `missing task entries: ${missing.join(', ')}`,
      );
    }

    this.logGroup = new logs.LogGroup(this, 'IssuanceLogs', {
      logGroupName: `/aws/vendedlogs/states/${config.prefix}-issuance`,
      retention: props.resources.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Issuance', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Inline (not an S3 asset), so the template shows the exact definition that runs.
      definitionBody: sfn.DefinitionBody.fromString(asl),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: {
        destination: this.logGroup,
        level: sfn.LogLevel.ALL,
        // Execution data carries names and e-mail addresses: events are logged, payloads are not (ops read
        // them in the execution history, which IAM guards).
        includeExecutionData: false,
      },
    });
    const taskArns = [...this.tasks.values()].map((f) => f.functionArn);
    if (taskArns.length > 0) {
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: taskArns }),
      );
    }
    acknowledgeNag(
      this.stateMachine,
      'AwsSolutions-IAM5[Resource::*]',
      'Step Functions log delivery (logs:CreateLogDelivery, GetLogDelivery, …, DescribeLogGroups) and X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) do not support resource-level permissions; CDK adds exactly those.',
    );

    this.sweeper = tryCreateFunction(this, 'Sweeper', {
      service: 'sweeper',
      entry: entryOf.job('sweeper'),
      needs: JOB_FUNCTIONS.sweeper,
      resources,
      defaultTimeoutSeconds: 60,
    });
    if (this.sweeper) {
      new events.Rule(this, 'SweepSchedule', {
        description: 'Purges unpaid orders past their deadline and expires card-job leases',
        schedule: events.Schedule.rate(Duration.minutes(config.sweepEveryMinutes)),
        targets: [new targets.LambdaFunction(this.sweeper, { retryAttempts: 2 })],
      });
    }
  }
}
