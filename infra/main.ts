import { type App, type Stack, Tags, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { RouteSpec } from '../functions/http/spec.js';
import { type DeployConfig, deployConfigFrom } from './config.js';
import type { SharedResources } from './constructs/wire.js';
import { ApiStack } from './stacks/api.js';
import { DataStack } from './stacks/data.js';
import { EdgeStack } from './stacks/edge.js';
import { KeysStack } from './stacks/keys.js';
import { MailStack } from './stacks/mail.js';
import { OpsStack } from './stacks/ops.js';
import { PkiRepositoryStack } from './stacks/pki-repository.js';
import { WafStack } from './stacks/waf.js';
import { WorkflowStack } from './stacks/workflow.js';

/**
 * The whole deployment, as one function of the CDK app and the route table, so tests build exactly what
 * `cdk synth` builds. Stacks, in deployment order:
 *
 *   <Prefix>-Keys → <Prefix>-Data → <Prefix>-Mail (mail region) → <Prefix>-Waf (us-east-1)
 *   → <Prefix>-PkiRepository → <Prefix>-Workflow → <Prefix>-Api → <Prefix>-Edge → <Prefix>-Ops
 */
export interface AcdcApp {
  config: DeployConfig;
  keys: KeysStack;
  data: DataStack;
  mail: MailStack;
  waf: WafStack;
  pki: PkiRepositoryStack;
  workflow: WorkflowStack;
  api: ApiStack;
  edge: EdgeStack;
  ops: OpsStack;
  stacks: Stack[];
}

export const METRICS_NAMESPACE = 'Acdc';

const RETENTION: Record<number, logs.RetentionDays> = Object.fromEntries(
  Object.values(logs.RetentionDays)
    .filter((v): v is logs.RetentionDays => typeof v === 'number')
    .map((v) => [v, v]),
);

/** The nearest CloudWatch retention at or above the requested number of days. */
const retentionOf = (days: number): logs.RetentionDays => {
  const allowed = Object.keys(RETENTION)
    .map(Number)
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  return RETENTION[allowed.find((d) => d >= days) ?? allowed[allowed.length - 1]!]!;
};

export const buildAcdcApp = (
  app: App,
  routes: readonly RouteSpec[],
  opts: { nag?: boolean } = {},
): AcdcApp => {
  const config = deployConfigFrom((k) => app.node.tryGetContext(k));
  const name = (s: string) => `${config.prefix[0]!.toUpperCase()}${config.prefix.slice(1)}-${s}`;
  const env = { region: config.region, ...(config.account ? { account: config.account } : {}) };
  const common = { env, crossRegionReferences: true };

  const keys = new KeysStack(app, name('Keys'), { ...common, config });
  const data = new DataStack(app, name('Data'), { ...common, config, custody: keys.custody });
  const mail = new MailStack(app, name('Mail'), { env: { ...env, region: config.mailRegion }, config });
  const waf = new WafStack(app, name('Waf'), {
    env: { ...env, region: 'us-east-1' },
    crossRegionReferences: true,
    config,
  });
  const pki = new PkiRepositoryStack(app, name('PkiRepository'), {
    ...common,
    config,
    ceremonyRole: keys.custody.ceremony,
  });

  const resources: Omit<SharedResources, 'stateMachine' | 'crlFunction' | 'caSignerFunction'> = {
    config,
    metricsNamespace: METRICS_NAMESPACE,
    logRetention: retentionOf(config.logRetentionDays),
    table: data.table,
    secretKeys: keys.secretKeys,
    caKey: keys.caKey,
    caKeyAlgorithm: keys.caKeyAlgorithm,
    ocspKey: keys.ocspKey,
    ocspKeyAlgorithm: keys.ocspKeyAlgorithm,
    roles: {
      caSigner: keys.caSignerRole,
      crlSigner: keys.crlSignerRole,
      ocspResponder: keys.ocspResponderRole,
    },
    mail: data.mail,
    pkiBucket: pki.bucket,
    paymentGatewaySecret: data.paymentGatewaySecret,
    originVerifySecret: data.originVerifySecret,
  };
  const workflow = new WorkflowStack(app, name('Workflow'), { ...common, resources });
  const api = new ApiStack(app, name('Api'), {
    ...common,
    resources: {
      ...resources,
      stateMachine: workflow.stateMachine,
      ...(workflow.crlJob ? { crlFunction: workflow.crlJob } : {}),
      ...(workflow.tasks.get('SignCertificates')
        ? { caSignerFunction: workflow.tasks.get('SignCertificates')! }
        : {}),
    },
    routes,
  });
  const edge = new EdgeStack(app, name('Edge'), {
    ...common,
    config,
    apiDomainName: api.apiDomainName,
    originVerifySecret: data.originVerifySecret,
    apiWebAclArn: waf.apiWebAcl.attrArn,
    pkiWebAclArn: waf.pkiWebAcl.attrArn,
    pkiBucket: pki.bucket,
    logBucket: pki.logBucket,
  });
  const ops = new OpsStack(app, name('Ops'), {
    ...common,
    config,
    metricsNamespace: METRICS_NAMESPACE,
    keys,
    data,
    workflow,
    api,
    edge,
    routes,
  });

  const stacks: Stack[] = [keys, data, mail, waf, pki, workflow, api, edge, ops];
  for (const s of stacks) {
    Tags.of(s).add('application', 'alien-citizen-digital-certificate');
    Tags.of(s).add('prefix', config.prefix);
  }
  if (opts.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { config, keys, data, mail, waf, pki, workflow, api, edge, ops, stacks };
};
