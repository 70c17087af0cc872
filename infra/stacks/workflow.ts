import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { entryOf, JOB_FUNCTIONS, TASK_FUNCTIONS, type TaskFunction } from '../catalog.js';
import type { AcdcFunction } from '../constructs/function.js';
import { acknowledgeNag } from '../constructs/nag.js';
import {
  createFunction,
  MissingEntryError,
  REPO_ROOT,
  type SharedResources,
  tryCreateFunction,
} from '../constructs/wire.js';

/**
 * The issuance workflow: the state machine of statemachines/issuance.asl.json (the very file the local
 * stack runs), its task functions (one per `${…FunctionArn}` placeholder), and the two scheduled jobs:
 * the sweeper, which enforces the 15-day purge and lease expiry from the table even when an execution was
 * lost, and the CRL job, which signs and publishes fresh CRLs.
 */
export const ISSUANCE_ASL = join(REPO_ROOT, 'statemachines', 'issuance.asl.json');

/** `${Name}` placeholders of an ASL document, in order of first appearance. */
export const aslPlaceholders = (asl: string): string[] => [
  ...new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]!)),
];

/** The ASL with each `${Name}` replaced, as Step Functions does with definitionSubstitutions. */
export const substitute = (asl: string, values: Record<string, string>): string =>
  asl.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) => values[name] ?? whole);

export interface WorkflowStackProps extends StackProps {
  resources: Omit<SharedResources, 'stateMachine'>;
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
          service: `task-${entryOf.task(task).split('/').pop()!.replace(/\.ts$/, '')}`,
          entry: entryOf.task(task),
          needs,
          resources: props.resources,
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
      stateMachineName: `${config.prefix}-issuance`,
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

    const resources = { ...props.resources, stateMachine: this.stateMachine };
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

    this.crlJob = tryCreateFunction(this, 'CrlJob', {
      service: 'crl',
      entry: entryOf.job('crl'),
      needs: JOB_FUNCTIONS.crl,
      resources,
      defaultTimeoutSeconds: 60,
    });
    if (this.crlJob) {
      new events.Rule(this, 'CrlSchedule', {
        description: 'Signs and publishes fresh CRLs',
        schedule: events.Schedule.rate(Duration.minutes(config.crlEveryMinutes)),
        targets: [new targets.LambdaFunction(this.crlJob, { retryAttempts: 2 })],
      });
    }
  }
}
