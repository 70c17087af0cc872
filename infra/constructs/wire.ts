import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { FunctionNeeds } from '../catalog.js';
import type { CaKeyAlgorithm, DeployConfig } from '../config.js';
import type { MailRef } from '../stacks/data.js';
import { AcdcFunction, type InvokeEnv, type SecretKeyRefs, type TableRef } from './function.js';

/** The repository root (entries and the lock file are found from here). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Everything a function may be bound to. Optional parts exist only in some stacks. */
export interface SharedResources {
  config: DeployConfig;
  metricsNamespace: string;
  logRetention: logs.RetentionDays;
  table: TableRef;
  secretKeys: SecretKeyRefs;
  caKey: kms.IKey;
  caKeyAlgorithm: CaKeyAlgorithm;
  ocspKey: kms.IKey;
  ocspKeyAlgorithm: CaKeyAlgorithm;
  roles: { caSigner: iam.IRole; crlSigner: iam.IRole; ocspResponder: iam.IRole };
  mail: MailRef;
  pkiBucket: s3.IBucket;
  paymentGatewaySecret: secretsmanager.ISecret;
  originVerifySecret?: secretsmanager.ISecret;
  stateMachine?: sfn.IStateMachine;
  /** The CRL job (signs CRLs) and the issuance signer (signs certificates), once they exist. */
  crlFunction?: lambda.IFunction;
  caSignerFunction?: lambda.IFunction;
  /** The documents function (renders PDFs), once it exists. */
  documentsFunction?: lambda.IFunction;
}

export class MissingEntryError extends Error {}

/**
 * Like createFunction, but an entry file that does not exist yet is reported (a synth warning) instead of
 * failing the synth, so the app keeps synthesizing while areas are being written.
 */
export const tryCreateFunction = (
  scope: Construct,
  id: string,
  opts: Parameters<typeof createFunction>[2],
): AcdcFunction | undefined => {
  try {
    return createFunction(scope, id, opts);
  } catch (e) {
    if (!(e instanceof MissingEntryError)) throw e;
    Annotations.of(scope).addWarningV2(`acdc:missing-entry:${opts.service}`, e.message);
    return undefined;
  }
};

/**
 * Makes one function from its catalog entry: the role the key policies expect (if it signs), then every
 * grant + environment variable its needs list, and nothing else.
 */
export const createFunction = (
  scope: Construct,
  id: string,
  opts: {
    service: string;
    /** Entry file, relative to the repository root. */
    entry: string;
    needs: FunctionNeeds;
    resources: SharedResources;
    defaultTimeoutSeconds: number;
  },
): AcdcFunction => {
  const { needs, resources: r } = opts;
  const entry = join(REPO_ROOT, opts.entry);
  if (!existsSync(entry))
    throw new MissingEntryError(`no entry file ${opts.entry} for function ${opts.service}`);
  const role =
    needs.caSign === 'certificates'
      ? r.roles.caSigner
      : needs.caSign === 'crls'
        ? r.roles.crlSigner
        : needs.ocspSign
          ? r.roles.ocspResponder
          : undefined;
  const fn = new AcdcFunction(scope, id, {
    entry,
    service: opts.service,
    description: needs.description,
    timeout: Duration.seconds(needs.timeoutSeconds ?? opts.defaultTimeoutSeconds),
    memorySize: needs.memorySize ?? 512,
    logRetention: r.logRetention,
    metricsNamespace: r.metricsNamespace,
    ...(needs.pdf ? { pdfAssets: true } : {}),
    ...(role ? { role } : {}),
  });
  if (needs.table) fn.bindTable(r.table, needs.table);
  if (needs.macs?.length || needs.seal) {
    fn.bindSecrets(r.secretKeys, { macs: needs.macs ?? [], ...(needs.seal ? { seal: needs.seal } : {}) });
  }
  if (needs.caSign) fn.bindSigner(r.caKey, r.caKeyAlgorithm);
  if (needs.ocspSign) fn.bindOcspSigner(r.ocspKey, r.ocspKeyAlgorithm);
  if (needs.mail) {
    fn.bindMail({
      from: r.mail.from,
      identityArns: r.mail.identityArns,
      configurationSet: r.mail.configurationSet,
      region: r.mail.region,
    });
    fn.setEnv('OPS_EMAIL', r.config.opsEmail ?? r.config.alarmEmail ?? r.config.mailFrom);
    if (r.config.portalUrl) fn.setEnv('PORTAL_URL', r.config.portalUrl);
  }
  if (needs.workflow) {
    if (!r.stateMachine)
      throw new Error(`function ${opts.service} needs the state machine, which this stack has not`);
    fn.bindWorkflow(r.stateMachine, needs.workflow);
  }
  if (needs.pkiBucket) fn.bindPkiBucket(r.pkiBucket, needs.pkiBucket);
  if (needs.pkiBucketRead) fn.bindPkiBucketRead(r.pkiBucket, needs.pkiBucketRead);
  if (needs.paymentGateway) fn.bindPaymentGateway(r.paymentGatewaySecret);
  const call = (target: lambda.IFunction | undefined, env: InvokeEnv) => {
    if (target) fn.bindInvoke(target, env);
    else
      Annotations.of(fn).addWarningV2(
        `acdc:unbound:${env}`,
        `${opts.service} needs ${env}, which does not exist yet`,
      );
  };
  if (needs.crl) call(r.crlFunction, 'CRL_FUNCTION_ARN');
  if (needs.caSigner) call(r.caSignerFunction, 'CA_SIGNER_FUNCTION_ARN');
  if (needs.documents) call(r.documentsFunction, 'DOCUMENTS_FUNCTION_ARN');
  if (r.config.publicBaseUrl) fn.setEnv('PUBLIC_BASE_URL', r.config.publicBaseUrl);
  return fn;
};
