import { existsSync } from 'node:fs';
import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CJK_FONT_SOURCES } from '../../functions/aws/pdf.js';
import type { TableDefinition } from '../../shared/adapters/dynamodb/table.js';
import type { Config } from '../../shared/config.js';
import { BUNDLE_OPTIONS, findCjkFontSource, NODE_MAJOR, pdfAssetCommands } from '../bundling.js';
import type { CaKeyAlgorithm } from '../config.js';
import { acknowledgeNag } from './nag.js';

/**
 * The one way a Lambda function is made (practice 7: defaults in one construct). Every function gets:
 * Node 22 on ARM64, ESM bundled by the local esbuild with the options of infra/bundling.ts, X-Ray
 * tracing, its own log group with retention, its own role with nothing but its log group, and source
 * maps. Access to anything else is added through the `bind*` helpers below, which grant the narrowest
 * actions on the exact resources AND set the environment variable the composition root reads, so a
 * permission and its configuration cannot drift apart.
 *
 * Rules the helpers keep (test/infra checks them on the template):
 * - no `*` in any DynamoDB or KMS action or resource (index ARNs are listed one by one);
 * - CA and OCSP keys are never granted through IAM here: their key policies name the one role that may
 *   sign (infra/stacks/keys.ts); `bindSigner` only passes the key id on.
 */

/** Environment variables a function may receive: exactly the names shared/config.ts validates. */
export type EnvName =
  | keyof Config
  | 'POWERTOOLS_SERVICE_NAME'
  | 'POWERTOOLS_METRICS_NAMESPACE'
  | 'NODE_OPTIONS';

export interface AcdcFunctionProps {
  /** Absolute path of the entry file (exports `handler`). */
  entry: string;
  /** Powertools service name (logs, the `service` metric dimension), e.g. `station`, `task-sign-certificates`. */
  service: string;
  description: string;
  /** @default 10 seconds (API functions answer within API Gateway's 30 s limit with room to spare) */
  timeout?: Duration;
  /** @default 512 MB (on ARM64, CPU grows with memory: signing and scrypt want more) */
  memorySize?: number;
  logRetention: logs.RetentionDays;
  /**
   * A role made elsewhere (the keys stack makes the roles its key policies name). Permissions added here
   * then live in this function's stack, attached to that role.
   */
  role?: iam.IRole;
  /** CloudWatch metrics namespace (Powertools). */
  metricsNamespace: string;
  /** Ship pdfkit's standard fonts and the CJK font next to the bundle (functions/aws/pdf.ts). */
  pdfAssets?: boolean;
}

export type TableAccess = 'read' | 'readwrite';

/** The environment variables that name a function another one invokes. */
export type InvokeEnv = 'CRL_FUNCTION_ARN' | 'CA_SIGNER_FUNCTION_ARN' | 'DOCUMENTS_FUNCTION_ARN';

export interface TableRef {
  tableName: string;
  tableArn: string;
  definition: TableDefinition;
  /** The customer managed key the table is encrypted with. */
  key: kms.IKey;
}

export interface SecretKeyRefs {
  pepper: kms.IKey;
  lookup: kms.IKey;
  cardMaster: kms.IKey;
  session: kms.IKey;
  seal: kms.IKey;
}

export type MacPurpose = 'subscriber-pepper' | 'lookup' | 'card-master' | 'session';

const MAC_ENV: Record<MacPurpose, { env: EnvName; key: keyof SecretKeyRefs }> = {
  'subscriber-pepper': { env: 'KMS_PEPPER_KEY_ID', key: 'pepper' },
  lookup: { env: 'KMS_LOOKUP_KEY_ID', key: 'lookup' },
  'card-master': { env: 'KMS_CARD_MASTER_KEY_ID', key: 'cardMaster' },
  session: { env: 'KMS_SESSION_KEY_ID', key: 'session' },
};

/** The Lambda runtime of NODE_MAJOR (infra/bundling.ts), which the esbuild target follows. */
const RUNTIME = new lambda.Runtime(`nodejs${NODE_MAJOR}.x`, lambda.RuntimeFamily.NODEJS, {
  supportsInlineCode: true,
});

/**
 * Table access as IAM statements: GetItem/Query (read) plus PutItem/DeleteItem (readwrite; every write of
 * the repository is one of those), on the table and on each index by name, and the table key through
 * DynamoDB only. `leadingKeys` narrows item access to partitions (e.g. one config document).
 */
export const tableStatements = (
  table: TableRef,
  access: TableAccess,
  region: string,
  opts: { leadingKeys?: string[] } = {},
): iam.PolicyStatement[] => {
  const read = ['dynamodb:GetItem', 'dynamodb:Query'];
  const write = ['dynamodb:PutItem', 'dynamodb:DeleteItem'];
  const itemConditions = opts.leadingKeys
    ? { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': opts.leadingKeys } }
    : undefined;
  const statements = [
    new iam.PolicyStatement({
      actions: access === 'readwrite' ? [...read, ...write] : read,
      resources: [table.tableArn],
      ...(itemConditions ? { conditions: itemConditions } : {}),
    }),
    new iam.PolicyStatement({
      actions:
        access === 'readwrite'
          ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']
          : ['kms:Decrypt', 'kms:DescribeKey'],
      resources: [table.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
    }),
  ];
  if (!opts.leadingKeys) {
    const indexArns = table.definition.globalSecondaryIndexes.map(
      (g) => `${table.tableArn}/index/${g.indexName}`,
    );
    statements.push(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: indexArns }));
  }
  return statements;
};

export class AcdcFunction extends nodejs.NodejsFunction {
  readonly logGroupRef: logs.LogGroup;
  readonly service: string;

  constructor(scope: Construct, id: string, props: AcdcFunctionProps) {
    const cjkFont = props.pdfAssets ? findCjkFontSource(existsSync) : undefined;
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention });
    const role =
      props.role && Stack.of(props.role) !== Stack.of(scope)
        ? iam.Role.fromRoleArn(scope, `${id}SharedRole`, props.role.roleArn, { mutable: true })
        : (props.role ??
          new iam.Role(scope, `${id}Role`, {
            assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
            description: `Execution role of the ${props.service} function`,
          }));
    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      // One execution per request is plenty; a runaway loop between functions stops itself.
      recursiveLoop: lambda.RecursiveLoop.TERMINATE,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: BUNDLE_OPTIONS.target,
        minify: BUNDLE_OPTIONS.minify,
        sourceMap: BUNDLE_OPTIONS.sourcemap,
        sourcesContent: BUNDLE_OPTIONS.sourcesContent,
        keepNames: BUNDLE_OPTIONS.keepNames,
        mainFields: BUNDLE_OPTIONS.mainFields,
        banner: BUNDLE_OPTIONS.banner,
        externalModules: BUNDLE_OPTIONS.external,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_OPTIONS.alias).map(([from, to]) => [`--alias:${from}`, to]),
        ),
        ...(props.pdfAssets
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) =>
                  pdfAssetCommands(inputDir, outputDir, cjkFont),
              },
            }
          : {}),
      },
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        STAGE: 'aws',
        POWERTOOLS_SERVICE_NAME: props.service,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
      },
    });
    this.logGroupRef = logGroup;
    this.service = props.service;
    if (props.pdfAssets && !cjkFont) {
      Annotations.of(this).addWarningV2(
        'acdc:no-cjk-font',
        `no CJK font on this machine (${CJK_FONT_SOURCES.join(', ')}): the ${props.service} function cannot render the application form; install fonts-droid-fallback and synthesize again`,
      );
    }
    acknowledgeNag(
      this,
      'AwsSolutions-L1',
      `Node ${NODE_MAJOR} on purpose: the runtime the project builds and tests with (infra/bundling.ts); moving to a newer runtime is a tested change of NODE_MAJOR, not a silent default.`,
    );
    // Tracing.ACTIVE adds xray:PutTraceSegments / PutTelemetryRecords on "*": X-Ray has no resource-level
    // permissions. test/infra checks that no statement has "*" in a DynamoDB or KMS action or resource.
    acknowledgeNag(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'Only the X-Ray trace upload actions (xray:PutTraceSegments, xray:PutTelemetryRecords), which support no resource-level permission.',
    );
    // Its own log group only (the role has no managed policy, so no logs:* on every group).
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
  }

  /** Sets one environment variable, by the name shared/config.ts knows. */
  setEnv(name: EnvName, value: string): this {
    this.addEnvironment(name, value);
    return this;
  }

  /**
   * The table: GetItem/Query (read) plus PutItem/DeleteItem (readwrite; every write of the repository is
   * one of those), on the table and on each index by name, and the table key through DynamoDB only.
   */
  bindTable(table: TableRef, access: TableAccess): this {
    for (const statement of tableStatements(table, access, Stack.of(this).region))
      this.addToRolePolicy(statement);
    return this.setEnv('TABLE_NAME', table.tableName);
  }

  /** HMAC keys by purpose (kms:GenerateMac only) and the seal key (Encrypt to seal, Decrypt to open). */
  bindSecrets(keys: SecretKeyRefs, opts: { macs: MacPurpose[]; seal?: 'seal' | 'open' | 'both' }): this {
    for (const purpose of opts.macs) {
      const { env, key } = MAC_ENV[purpose];
      this.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['kms:GenerateMac'], resources: [keys[key].keyArn] }),
      );
      this.setEnv(env, keys[key].keyArn);
    }
    if (opts.seal) {
      const actions =
        opts.seal === 'both'
          ? ['kms:Encrypt', 'kms:Decrypt']
          : [opts.seal === 'seal' ? 'kms:Encrypt' : 'kms:Decrypt'];
      this.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [keys.seal.keyArn] }));
      this.setEnv('KMS_SEAL_KEY_ID', keys.seal.keyArn);
    }
    return this;
  }

  /**
   * The issuing CA key. Permission comes from the key policy, which names this function's role and no
   * other; here only the key id and algorithm are passed on.
   */
  bindSigner(key: kms.IKey, algorithm: CaKeyAlgorithm): this {
    return this.setEnv('KMS_CA_KEY_ID', key.keyArn).setEnv('KMS_CA_KEY_ALGORITHM', algorithm);
  }

  /** The delegated OCSP responder key (permission from its key policy, like the CA key). */
  bindOcspSigner(key: kms.IKey, algorithm: CaKeyAlgorithm): this {
    return this.setEnv('KMS_OCSP_KEY_ID', key.keyArn).setEnv('KMS_OCSP_KEY_ALGORITHM', algorithm);
  }

  /** SES v2 SendEmail as the sender identity (address or domain), through one configuration set. */
  bindMail(mail: { from: string; identityArns: string[]; configurationSet: string; region: string }): this {
    const stack = Stack.of(this);
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [
          ...mail.identityArns,
          stack.formatArn({
            service: 'ses',
            region: mail.region,
            resource: 'configuration-set',
            resourceName: mail.configurationSet,
          }),
        ],
        conditions: { StringEquals: { 'ses:FromAddress': mail.from } },
      }),
    );
    return this.setEnv('SES_FROM_ADDRESS', mail.from)
      .setEnv('SES_REGION', mail.region)
      .setEnv('SES_CONFIGURATION_SET', mail.configurationSet);
  }

  /** The issuance workflow: start executions and/or answer task tokens, on this state machine only. */
  bindWorkflow(stateMachine: sfn.IStateMachine, opts: { start?: boolean; respond?: boolean }): this {
    if (opts.start) stateMachine.grantStartExecution(this);
    if (opts.respond) stateMachine.grantTaskResponse(this);
    return this.setEnv('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
  }

  /** The PKI repository bucket: PutObject on exactly these object keys (the CRL job: its CRL). */
  bindPkiBucket(bucket: s3.IBucket, objectKeys: readonly string[]): this {
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: objectKeys.map((k) => bucket.arnForObjects(k)),
      }),
    );
    return this.setEnv('PKI_BUCKET', bucket.bucketName);
  }

  /** The PKI repository bucket: GetObject on exactly these object keys (the pki function: the CRL). */
  bindPkiBucketRead(bucket: s3.IBucket, objectKeys: readonly string[]): this {
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: objectKeys.map((k) => bucket.arnForObjects(k)),
      }),
    );
    return this.setEnv('PKI_BUCKET', bucket.bucketName);
  }

  /**
   * Another function this one calls synchronously (the CRL job, the issuance signer, the documents
   * function): InvokeFunction on that function's ARN only, and its ARN in the environment.
   */
  bindInvoke(target: lambda.IFunction, env: InvokeEnv): this {
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.functionArn] }),
    );
    return this.setEnv(env, target.functionArn);
  }

  /** The payment gateway's merchant credentials (read once per cold start). */
  bindPaymentGateway(secret: secretsmanager.ISecret): this {
    secret.grantRead(this);
    return this.setEnv('PAYMENT_GATEWAY_SECRET_ARN', secret.secretArn);
  }

  /** The CloudFront origin header secret (read once per cold start). */
  bindOriginVerify(secret: secretsmanager.ISecret): this {
    secret.grantRead(this);
    return this.setEnv('ORIGIN_VERIFY_SECRET_ARN', secret.secretArn);
  }
}
