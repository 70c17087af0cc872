import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { type ApiFunction, type RouteSpec, routeKey } from '../../functions/http/spec.js';
import { API_FUNCTIONS, type FunctionNeeds, JOB_FUNCTIONS, kebab, TASK_FUNCTIONS } from '../catalog.js';
import type { DeployConfig } from '../config.js';
import type { AcdcFunction } from '../constructs/function.js';
import { CUSTODIAN_ONLY } from '../constructs/key-custody.js';
import type { ApiStack } from './api.js';
import type { DataStack } from './data.js';
import type { EdgeStack } from './edge.js';
import type { KeysStack } from './keys.js';
import type { WorkflowStack } from './workflow.js';

/**
 * The operators' console in AWS: one CloudWatch dashboard (business flow, failures, keys, latency), the
 * alarms, and the SNS topic they notify. Metrics come from three places:
 * - AWS service metrics (API Gateway, Lambda, Step Functions, DynamoDB, SES);
 * - metric filters on the API functions' structured `request` log lines (one line per request, written
 *   by functions/http/api.ts): applications submitted, payments confirmed, activations, …;
 * - EMF metrics the AWS composition root emits through Powertools (functions/aws/metrics.ts): task
 *   outcomes, KMS calls/latency/throttles, CRLs published.
 * Key custody: every custody action on a product key and every use of the root CA key is an alarm too
 * (EventBridge on CloudTrail; needs a trail with management events, docs/deploy.md).
 */
export interface OpsStackProps extends StackProps {
  config: DeployConfig;
  metricsNamespace: string;
  keys: KeysStack;
  data: DataStack;
  workflow: WorkflowStack;
  api: ApiStack;
  edge: EdgeStack;
  routes: readonly RouteSpec[];
}

/** Business events counted from the API request log lines (2xx answers of these routes). */
export const BUSINESS_EVENTS: {
  metric: string;
  label: string;
  fn: ApiFunction;
  method: string;
  path: string;
}[] = [
  {
    metric: 'ApplicationsSubmitted',
    label: 'Applications submitted',
    fn: 'station',
    method: 'POST',
    path: '/v1/station/applications',
  },
  {
    metric: 'PaymentsConfirmed',
    label: 'Payment callbacks accepted',
    fn: 'payments',
    method: 'POST',
    path: '/v1/payments/callback',
  },
  {
    metric: 'CardsActivated',
    label: 'Cards activated',
    fn: 'portal',
    method: 'POST',
    path: '/v1/portal/cards/{cardNumber}/activation',
  },
  {
    metric: 'Suspensions',
    label: 'Suspensions (online)',
    fn: 'portal',
    method: 'POST',
    path: '/v1/portal/cards/{cardNumber}/suspension',
  },
  {
    metric: 'EmergencySuspensions',
    label: 'Suspensions (fax, ops)',
    fn: 'ops',
    method: 'POST',
    path: '/v1/ops/suspensions',
  },
  {
    metric: 'Revocations',
    label: 'Revocations (station)',
    fn: 'station',
    method: 'POST',
    path: '/v1/station/certificates/{serial}/revocation',
  },
  {
    metric: 'CardJobsLeased',
    label: 'Card jobs leased',
    fn: 'cardstation',
    method: 'POST',
    path: '/v1/card-station/jobs/lease',
  },
];

const FIVE_MINUTES = Duration.minutes(5);

const usesKms = (n: FunctionNeeds) => Boolean(n.macs?.length || n.seal || n.caSign || n.ocspSign);

export class OpsStack extends Stack {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OpsStackProps) {
    super(scope, id, props);
    const { config, api, workflow, keys, data, metricsNamespace: ns } = props;

    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the alarm topic',
      enableKeyRotation: true,
    });
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      topicKey.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    }
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: `${config.prefix}-alarms`,
      displayName: 'ACDC alarms',
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    const notify = new actions.SnsAction(this.topic);
    const alarm = (
      aid: string,
      metric: cloudwatch.IMetric,
      o: Omit<cloudwatch.CreateAlarmOptions, 'metric'>,
    ) => {
      const a = new cloudwatch.Alarm(this, aid, { metric, alarmName: `${config.prefix}-${aid}`, ...o });
      a.addAlarmAction(notify);
      this.alarms.push(a);
      return a;
    };
    const emf = (metricName: string, service: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: ns,
        metricName,
        dimensionsMap: { service },
        statistic,
        period: FIVE_MINUTES,
      });
    // Each sum names its metrics with its own prefix: a graph may show two sums side by side.
    const sumOf = (prefix: string, label: string, metrics: cloudwatch.IMetric[]) =>
      metrics.length === 0
        ? undefined
        : new cloudwatch.MathExpression({
            label,
            expression: metrics.map((_, i) => `FILL(${prefix}${i}, 0)`).join(' + '),
            usingMetrics: Object.fromEntries(metrics.map((m, i) => [`${prefix}${i}`, m])),
            period: FIVE_MINUTES,
          });

    // --- Business flow ---------------------------------------------------------------------------------
    const present = new Set(props.routes.map((r) => routeKey(r)));
    const business: cloudwatch.Metric[] = [];
    for (const ev of BUSINESS_EVENTS) {
      const fn = api.functions.get(ev.fn);
      if (!fn || !present.has(`${ev.method} ${ev.path}`)) continue;
      const filter = new logs.MetricFilter(this, `${ev.metric}Filter`, {
        logGroup: fn.logGroupRef,
        metricNamespace: ns,
        metricName: ev.metric,
        metricValue: '1',
        filterPattern: logs.FilterPattern.all(
          logs.FilterPattern.stringValue('$.message', '=', 'request'),
          logs.FilterPattern.stringValue('$.route', '=', `${ev.method} ${ev.path}`),
          logs.FilterPattern.numberValue('$.status', '>=', 200),
          logs.FilterPattern.numberValue('$.status', '<', 300),
        ),
      });
      business.push(filter.metric({ statistic: 'Sum', period: FIVE_MINUTES, label: ev.label }));
    }
    const task = (name: keyof typeof TASK_FUNCTIONS, label: string) =>
      workflow.tasks.has(name) ? [emf('TaskSucceeded', `task-${kebab(name)}`).with({ label })] : [];
    const flow = [
      ...task('SignCertificates', 'Certificates signed (issuances)'),
      ...task('QueueCardJob', 'Card jobs queued'),
      ...task('RecordCardCompleted', 'Cards personalized'),
      ...task('NotifyShipped', 'Cards mailed'),
      ...task('PurgeUnpaid', 'Unpaid orders purged'),
    ];

    // --- Failures ----------------------------------------------------------------------------------------
    const apiMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: api.api.apiId, Stage: '$default' },
        statistic,
        period: FIVE_MINUTES,
      });
    const api5xx = apiMetric('5xx', 'Sum');
    const api4xx = apiMetric('4xx', 'Sum');
    alarm('Api5xx', api5xx, {
      alarmDescription: 'The API answered 5xx: a dependency is down or a bug (see the functions logs)',
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const allFunctions: AcdcFunction[] = [
      ...api.functions.values(),
      ...(api.documents ? [api.documents] : []),
      ...workflow.tasks.values(),
      ...(workflow.sweeper ? [workflow.sweeper] : []),
      ...(workflow.crlJob ? [workflow.crlJob] : []),
    ];
    for (const fn of allFunctions) {
      alarm(`${fn.node.id}Errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), {
        alarmDescription: `The ${fn.service} function threw (its log group has the details)`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const sm = workflow.stateMachine;
    alarm('IssuanceExecutionsFailed', sm.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }), {
      alarmDescription:
        'An issuance execution failed (MarkFailed ran or a task gave up): open it in the Step Functions console',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('IssuanceExecutionsTimedOut', sm.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }), {
      alarmDescription: 'An issuance execution timed out',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const taskFailures = [...workflow.tasks.values()].map((f) =>
      emf('TaskFailed', f.service).with({ label: f.service }),
    );

    // --- Keys ---------------------------------------------------------------------------------------------
    const kmsServices = [
      ...Object.entries(API_FUNCTIONS)
        .filter(([fn, n]) => usesKms(n) && api.functions.has(fn as ApiFunction))
        .map(([fn]) => fn),
      ...[...workflow.tasks.entries()].filter(([t]) => usesKms(TASK_FUNCTIONS[t])).map(([, f]) => f.service),
      ...(workflow.crlJob && usesKms(JOB_FUNCTIONS.crl) ? [workflow.crlJob.service] : []),
    ];
    const kmsThrottled = sumOf(
      'throttled',
      'KMS requests throttled',
      kmsServices.map((s) => emf('KmsThrottled', s)),
    );
    if (kmsThrottled) {
      alarm('KmsThrottled', kmsThrottled, {
        alarmDescription:
          'KMS throttled Sign/GenerateMac requests: ask for a quota increase (ca-anchors: 1,000 rps shared)',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const kmsLatency = kmsServices.map((s) => emf('KmsLatency', s, 'p99').with({ label: `${s} p99` }));
    const kmsCalls = sumOf(
      'calls',
      'KMS requests',
      kmsServices.map((s) => emf('KmsRequests', s)),
    );
    if (workflow.crlJob) {
      // A CRL that is not refreshed makes relying parties fail closed when nextUpdate passes.
      alarm(
        'CrlNotPublished',
        emf('CrlPublished', workflow.crlJob.service).with({
          period: Duration.minutes(Math.min(config.crlEveryMinutes * 2, 1440)),
        }),
        {
          alarmDescription:
            'No CRL was published in two CRL periods: check the CRL job before nextUpdate passes',
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        },
      );
    }

    if (workflow.crlJob) {
      alarm(
        'CaMaterialExpiring',
        emf('CaMaterialDaysLeft', workflow.crlJob.service, 'Minimum').with({ period: Duration.hours(6) }),
        {
          alarmDescription:
            'The OCSP responder certificate or the root CRL expires within 30 days: run the key ceremony again (it renews both) and infra/publish-ca.ts (docs/deploy.md)',
          threshold: 30,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    }

    // Key custody: every custody act on a product key, and any use of the root CA key.
    const productKeys = [
      keys.rootCaKey,
      keys.caKey,
      keys.ocspKey,
      ...Object.values(keys.secretKeys),
      data.table.key,
    ].map((k) => k.keyArn);
    new events.Rule(this, 'KeyCustodyActions', {
      description: 'Custody actions on a product KMS key (two-person rule): policy change, disable, deletion',
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: [...CUSTODIAN_ONLY.map((a) => a.replace('kms:', '')), 'CreateGrant'],
          resources: { ARN: productKeys },
        },
      },
      targets: [new targets.SnsTopic(this.topic)],
    });
    new events.Rule(this, 'RootKeyUsed', {
      description: 'The root CA key signed something (only the key ceremony should)',
      eventPattern: {
        source: ['aws.kms'],
        detailType: ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: ['Sign'],
          resources: { ARN: [keys.rootCaKey.keyArn] },
        },
      },
      targets: [new targets.SnsTopic(this.topic)],
    });

    // --- Latency ----------------------------------------------------------------------------------------
    const latencyP99 = apiMetric('Latency', 'p99').with({ label: 'API p99' });
    alarm('ApiLatencyP99', latencyP99, {
      alarmDescription: 'API p99 latency above 3 s for 15 minutes',
      threshold: 3000,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const tableThrottles = new cloudwatch.MathExpression({
      label: 'DynamoDB throttled requests',
      expression: 'FILL(r, 0) + FILL(w, 0)',
      usingMetrics: {
        r: data.tableResource.metric('ReadThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
        w: data.tableResource.metric('WriteThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
      },
      period: FIVE_MINUTES,
    });

    // --- Dashboard ----------------------------------------------------------------------------------------
    const graph = (title: string, left: (cloudwatch.IMetric | undefined)[], width = 8) =>
      new cloudwatch.GraphWidget({
        title,
        left: left.filter((m): m is cloudwatch.IMetric => m !== undefined),
        width,
        height: 6,
        period: FIVE_MINUTES,
      });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.prefix}-operations`,
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# Alien Citizen Digital Certificate — operations\nFlow: applications → payments → issuances → card jobs → mailing. ' +
          'Failures open in the Step Functions console (state machine `' +
          `${config.prefix}-issuance` +
          '`); alarms go to the SNS topic `' +
          `${config.prefix}-alarms` +
          '`. Runbook: docs/deploy.md.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Applications, payments, activations (per 5 min)', business),
      graph('Issuances and card jobs (per 5 min)', flow),
      new cloudwatch.SingleValueWidget({
        title: 'Last 24 h',
        metrics: [...business, ...flow].map((m) =>
          (m as cloudwatch.Metric).with({ period: Duration.days(1) }),
        ),
        width: 8,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      graph('API errors', [api5xx.with({ label: '5xx' }), api4xx.with({ label: '4xx' })]),
      graph('Issuance executions', [
        sm.metricStarted({ period: FIVE_MINUTES, label: 'started' }),
        sm.metricSucceeded({ period: FIVE_MINUTES, label: 'succeeded' }),
        sm.metricFailed({ period: FIVE_MINUTES, label: 'failed' }),
        sm.metricTimedOut({ period: FIVE_MINUTES, label: 'timed out' }),
      ]),
      graph('Failed workflow tasks', taskFailures),
    );
    this.dashboard.addWidgets(
      graph('KMS requests and throttles', [kmsCalls, kmsThrottled]),
      graph('KMS latency (p99, ms)', kmsLatency),
      graph('DynamoDB throttles', [tableThrottles]),
    );
    this.dashboard.addWidgets(
      graph('API latency (ms)', [
        apiMetric('Latency', 'p50').with({ label: 'p50' }),
        apiMetric('Latency', 'p90').with({ label: 'p90' }),
        latencyP99,
        apiMetric('IntegrationLatency', 'p99').with({ label: 'integration p99' }),
      ]),
      graph(
        'Function duration p99 (ms)',
        [...api.functions.values()].map((f) =>
          f.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label: f.service }),
        ),
      ),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
  }
}
