import { readFileSync } from 'node:fs';
import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import type { IConstruct } from 'constructs';
import { routeKey } from '../../functions/http/spec.js';
import { allRoutes } from '../../functions/routes.js';
import { API_FUNCTIONS, type FunctionNeeds, JOB_FUNCTIONS, TASK_FUNCTIONS } from '../../infra/catalog.js';
import type { AcdcApp } from '../../infra/main.js';
import { isJwtRole, pascal } from '../../infra/stacks/api.js';
import { aslPlaceholders, ISSUANCE_ASL, substitute } from '../../infra/stacks/workflow.js';
import { tableDefinition } from '../../shared/adapters/dynamodb/table.js';
import { asArray, buildTestApp, flat, type Json, propsOf, resourcesOf, templates } from './support.js';

/**
 * What the deployment promises, checked on the synthesized templates (no bundling, no AWS):
 * the CA key answers to one signer, no function holds a wildcard on DynamoDB or KMS, the API is the route
 * table, the state machine is the ASL file.
 */

let acdc: AcdcApp;
let all: Map<string, Template>;
const t = (stack: { stackName: string }) => all.get(stack.stackName)!;

beforeAll(() => {
  acdc = buildTestApp();
  all = templates(acdc);
});

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: { AWS?: unknown };
  Sid?: string;
}

const keyPolicy = (template: Template, logicalPrefix: string): Statement[] => {
  const keys = resourcesOf(template, 'AWS::KMS::Key');
  const [id, key] = Object.entries(keys).find(([k]) => k.startsWith(logicalPrefix)) ?? [];
  if (!id || !key) throw new Error(`no KMS key ${logicalPrefix}`);
  return (propsOf(key).KeyPolicy as { Statement: Statement[] }).Statement;
};

/** Logical ids of the roles (GetAtt …Arn) a statement names as principals. */
const principalRoles = (s: Statement): string[] =>
  asArray(s.Principal?.AWS as unknown[]).map((p) => {
    const getAtt = (p as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    return getAtt ? getAtt[0] : flat(p);
  });

const logicalIdOf = (construct: IConstruct, template: Template, type: string): string => {
  const id = Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
  if (!(id in resourcesOf(template, type))) throw new Error(`${id} is not a ${type}`);
  return id;
};

describe('CA keys', () => {
  test('the issuing CA key lets exactly the signer task role and the CRL job role sign', () => {
    const statements = keyPolicy(t(acdc.keys), 'IssuingCaKey');
    const signing = statements.filter((s) =>
      asArray(s.Action).some((a) => a === 'kms:Sign' || a === 'kms:*'),
    );
    expect(signing).toHaveLength(1);
    const signerRole = logicalIdOf(acdc.keys.caSignerRole, t(acdc.keys), 'AWS::IAM::Role');
    const crlRole = logicalIdOf(acdc.keys.crlSignerRole, t(acdc.keys), 'AWS::IAM::Role');
    expect(principalRoles(signing[0]!).sort()).toEqual([signerRole, crlRole].sort());
    expect(asArray(signing[0]!.Action)).not.toContain('kms:*');
  });

  test('no CA key policy delegates to the account, so no IAM policy can add a signer', () => {
    for (const prefix of ['RootCaKey', 'IssuingCaKey', 'OcspResponderKey']) {
      for (const s of keyPolicy(t(acdc.keys), prefix)) {
        expect(flat(s.Principal)).not.toMatch(/:root/);
        expect(asArray(s.Action)).not.toContain('kms:*');
      }
    }
  });

  test('the OCSP responder key signs only for the pki function role; the root key only in the ceremony', () => {
    const ocsp = keyPolicy(t(acdc.keys), 'OcspResponderKey').filter((s) =>
      asArray(s.Action).includes('kms:Sign'),
    );
    expect(ocsp.flatMap(principalRoles)).toEqual([
      logicalIdOf(acdc.keys.ocspResponderRole, t(acdc.keys), 'AWS::IAM::Role'),
    ]);
    const root = keyPolicy(t(acdc.keys), 'RootCaKey').filter((s) => asArray(s.Action).includes('kms:Sign'));
    expect(root.flatMap(principalRoles)).toEqual([
      logicalIdOf(acdc.keys.custody.ceremony, t(acdc.keys), 'AWS::IAM::Role'),
    ]);
  });

  test('destructive key actions belong to the custodian alone (two-person rule)', () => {
    const custodian = logicalIdOf(acdc.keys.custody.custodian, t(acdc.keys), 'AWS::IAM::Role');
    const keys = resourcesOf(t(acdc.keys), 'AWS::KMS::Key');
    expect(Object.keys(keys).length).toBeGreaterThanOrEqual(8);
    for (const key of Object.values(keys)) {
      const statements = (propsOf(key).KeyPolicy as { Statement: Statement[] }).Statement;
      for (const action of ['kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:PutKeyPolicy']) {
        const holders = statements.filter((s) => asArray(s.Action).includes(action)).flatMap(principalRoles);
        expect(holders).toEqual([custodian]);
      }
      expect(propsOf(key).BypassPolicyLockoutSafetyCheck).toBe(true);
      expect((key as Json).DeletionPolicy).toBe('Retain');
    }
  });

  test('the signer task and the CRL job run with the roles the key policy names', () => {
    const sign = acdc.workflow.tasks.get('SignCertificates');
    expect(sign).toBeDefined();
    const fn = propsOf(
      resourcesOf(t(acdc.workflow), 'AWS::Lambda::Function')[
        logicalIdOf(sign!, t(acdc.workflow), 'AWS::Lambda::Function')
      ]!,
    );
    expect(flat(fn.Role)).toContain('CaSignerRole');
    const crl = acdc.workflow.crlJob;
    expect(crl).toBeDefined();
    const crlFn = propsOf(
      resourcesOf(t(acdc.workflow), 'AWS::Lambda::Function')[
        logicalIdOf(crl!, t(acdc.workflow), 'AWS::Lambda::Function')
      ]!,
    );
    expect(flat(crlFn.Role)).toContain('CrlSignerRole');
  });
});

describe('least privilege', () => {
  const statementsOf = (template: Template): { where: string; s: Statement }[] => {
    const out: { where: string; s: Statement }[] = [];
    for (const [id, p] of Object.entries(resourcesOf(template, 'AWS::IAM::Policy'))) {
      for (const s of (propsOf(p).PolicyDocument as { Statement: Statement[] }).Statement)
        out.push({ where: id, s });
    }
    for (const [id, r] of Object.entries(resourcesOf(template, 'AWS::IAM::Role'))) {
      for (const inline of asArray(propsOf(r).Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
        for (const s of inline.PolicyDocument.Statement) out.push({ where: id, s });
      }
    }
    return out;
  };

  test('no IAM statement has "*" in a DynamoDB or KMS action or resource', () => {
    let checked = 0;
    for (const [stack, template] of all) {
      for (const { where, s } of statementsOf(template)) {
        const actions = asArray(s.Action);
        if (!actions.some((a) => /^(dynamodb|kms):/i.test(a))) continue;
        checked++;
        for (const a of actions) expect(`${stack}/${where} ${a}`).not.toMatch(/\*/);
        for (const r of asArray(s.Resource)) expect(`${stack}/${where} ${flat(r)}`).not.toMatch(/\*/);
      }
    }
    expect(checked).toBeGreaterThan(5);
  });

  test('no IAM policy grants kms:Sign (only key policies do)', () => {
    for (const [, template] of all) {
      for (const { s } of statementsOf(template)) expect(asArray(s.Action)).not.toContain('kms:Sign');
    }
  });

  test('only the functions the catalog allows get a signing key, a seal key or the payment secret', () => {
    const env = (fn: IConstruct, stack: { stackName: string }) => {
      const id = logicalIdOf(fn, t(stack), 'AWS::Lambda::Function');
      return (propsOf(resourcesOf(t(stack), 'AWS::Lambda::Function')[id]!).Environment as { Variables: Json })
        .Variables;
    };
    for (const [area, fn] of acdc.api.functions) {
      const vars = env(fn, acdc.api);
      const needs = API_FUNCTIONS[area];
      expect([area, 'KMS_CA_KEY_ID' in vars]).toEqual([area, Boolean(needs.caSign)]);
      expect([area, 'KMS_OCSP_KEY_ID' in vars]).toEqual([area, Boolean(needs.ocspSign)]);
      expect([area, 'KMS_SEAL_KEY_ID' in vars]).toEqual([area, Boolean(needs.seal)]);
      expect([area, 'PAYMENT_GATEWAY_SECRET_ARN' in vars]).toEqual([area, Boolean(needs.paymentGateway)]);
      expect([area, 'TABLE_NAME' in vars]).toEqual([area, Boolean(needs.table)]);
    }
    for (const [task, fn] of acdc.workflow.tasks) {
      const vars = env(fn, acdc.workflow);
      expect([task, 'KMS_CA_KEY_ID' in vars]).toEqual([
        task,
        Boolean((TASK_FUNCTIONS[task] as FunctionNeeds).caSign),
      ]);
    }
    expect(
      Object.values(TASK_FUNCTIONS as Record<string, FunctionNeeds>).filter((n) => n.caSign),
    ).toHaveLength(1);
    expect(JOB_FUNCTIONS.crl.caSign).toBe('crls');
  });

  test('only the station function may invoke the documents function, which holds no table, key or secret', () => {
    const template = t(acdc.api);
    const documents = acdc.api.documents;
    expect(documents).toBeDefined();
    const docId = logicalIdOf(documents!, template, 'AWS::Lambda::Function');
    const policies = resourcesOf(template, 'AWS::IAM::Policy');
    const invokers: string[] = [];
    for (const [stack, tpl] of all) {
      for (const { where, s } of statementsOf(tpl)) {
        if (!asArray(s.Action).includes('lambda:InvokeFunction')) continue;
        if (!flat(s.Resource).includes(docId)) continue;
        expect(stack).toBe(acdc.api.stackName);
        invokers.push(...asArray(propsOf(policies[where]!).Roles).map(flat));
      }
    }
    const stationRole = logicalIdOf(acdc.api.functions.get('station')!.role!, template, 'AWS::IAM::Role');
    expect(invokers).toEqual([flat({ Ref: stationRole })]);
    const station = propsOf(
      resourcesOf(template, 'AWS::Lambda::Function')[
        logicalIdOf(acdc.api.functions.get('station')!, template, 'AWS::Lambda::Function')
      ]!,
    );
    expect(flat((station.Environment as { Variables: Json }).Variables.DOCUMENTS_FUNCTION_ARN)).toContain(
      docId,
    );
    const fn = propsOf(resourcesOf(template, 'AWS::Lambda::Function')[docId]!);
    expect(Object.keys((fn.Environment as { Variables: Json }).Variables).sort()).toEqual(
      ['NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'STAGE'].sort(),
    );
    const docRole = logicalIdOf(documents!.role!, template, 'AWS::IAM::Role');
    const own = statementsOf(template).filter(
      ({ where }) =>
        where === docRole || flat(propsOf(policies[where] ?? {}).Roles) === flat([{ Ref: docRole }]),
    );
    expect(own.flatMap(({ s }) => asArray(s.Action)).sort()).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  test('each API function may be invoked by the API only for the routes of its own area', () => {
    const perms = resourcesOf(t(acdc.api), 'AWS::Lambda::Permission');
    for (const [area, fn] of acdc.api.functions) {
      const fnId = logicalIdOf(fn, t(acdc.api), 'AWS::Lambda::Function');
      const own = new Set(allRoutes.filter((r) => r.fn === area).map((r) => r.path));
      const mine = Object.values(perms).filter(
        (p) =>
          flat(propsOf(p).FunctionName).includes(fnId) && propsOf(p).Principal === 'apigateway.amazonaws.com',
      );
      expect(mine.length).toBeGreaterThan(0);
      for (const p of mine) {
        const path = /\/\*\/\*(\/[^"]*)"/.exec(flat(propsOf(p).SourceArn))?.[1];
        expect([area, own.has(path ?? '')]).toEqual([area, true]);
      }
    }
  });
});

describe('API', () => {
  test('every route of the route table is on the API, with its authorizer and its function', () => {
    const template = t(acdc.api);
    const routes = resourcesOf(template, 'AWS::ApiGatewayV2::Route');
    const integrations = resourcesOf(template, 'AWS::ApiGatewayV2::Integration');
    const authorizers = resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer');
    expect(Object.keys(routes)).toHaveLength(allRoutes.length);
    for (const spec of allRoutes) {
      const found = Object.values(routes).filter((r) => propsOf(r).RouteKey === routeKey(spec));
      expect([routeKey(spec), found.length]).toEqual([routeKey(spec), 1]);
      const route = propsOf(found[0]!);
      if (isJwtRole(spec.auth)) {
        expect(route.AuthorizationType).toBe('JWT');
        const authId = (route.AuthorizerId as { Ref: string }).Ref;
        const auth = propsOf(authorizers[authId]!);
        expect(auth.AuthorizerType).toBe('JWT');
        expect(auth.Name).toBe(`${acdc.config.prefix}-${spec.auth}`);
      } else {
        expect([routeKey(spec), route.AuthorizationType]).toEqual([routeKey(spec), 'NONE']);
      }
      const integrationId = /"Ref":"([^"]+)"/.exec(flat(route.Target))?.[1];
      const integration = propsOf(integrations[integrationId!]!);
      expect(flat(integration.IntegrationUri)).toContain(`${pascal(spec.fn)}Function`);
      expect(integration.PayloadFormatVersion).toBe('2.0');
    }
  });

  test('the three JWT roles have separate authorizers, each with its issuer and audience', () => {
    const roles = new Set(allRoutes.map((r) => r.auth).filter(isJwtRole));
    const authorizers = Object.values(resourcesOf(t(acdc.api), 'AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(roles.size);
    for (const a of authorizers) {
      const cfg = propsOf(a).JwtConfiguration as { Issuer: unknown; Audience: unknown[] };
      expect(flat(cfg.Issuer)).toContain('cognito-idp');
      expect(cfg.Audience).toHaveLength(1);
    }
  });

  test('OIDC by context: issuer and per-role audiences come from acdc:oidcIssuer / acdc:oidcAudience', () => {
    const oidc = buildTestApp({
      'acdc:auth': 'oidc',
      'acdc:oidcIssuer': 'https://login.example.gov.tw/realms/acdc',
      'acdc:oidcAudience': JSON.stringify({
        officer: 'station-app',
        ops: 'ops-console',
        'card-station': 'bureau',
      }),
    });
    const template = templates(oidc).get(oidc.api.stackName)!;
    expect(resourcesOf(template, 'AWS::Cognito::UserPool')).toEqual({});
    const byName = Object.fromEntries(
      Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer')).map((a) => [
        propsOf(a).Name,
        propsOf(a).JwtConfiguration,
      ]),
    );
    const expected = { officer: 'station-app', ops: 'ops-console', 'card-station': 'bureau' } as const;
    for (const role of new Set(allRoutes.map((r) => r.auth).filter(isJwtRole))) {
      expect(byName[`acdc-${role}`]).toEqual({
        Issuer: 'https://login.example.gov.tw/realms/acdc',
        Audience: [expected[role]],
      });
    }
  });

  test('CORS: the portal origin (or acdc:corsOrigins) may call the API from a browser', () => {
    const withPortal = buildTestApp({ 'acdc:portalUrl': 'https://portal.acdc.example.gov.tw/portal' });
    const api = (a: AcdcApp) =>
      propsOf(Object.values(resourcesOf(templates(a).get(a.api.stackName)!, 'AWS::ApiGatewayV2::Api'))[0]!);
    expect(api(withPortal).CorsConfiguration).toMatchObject({
      AllowOrigins: ['https://portal.acdc.example.gov.tw'],
      AllowHeaders: ['authorization', 'content-type'],
    });
    const listed = buildTestApp({ 'acdc:corsOrigins': 'https://a.example.org, https://b.example.org/app' });
    expect((api(listed).CorsConfiguration as Json).AllowOrigins).toEqual([
      'https://a.example.org',
      'https://b.example.org',
    ]);
    expect(api(acdc).CorsConfiguration).toBeUndefined();
  });

  test('stage throttling, tighter route throttling on unauthenticated routes, JSON access logs', () => {
    const stage = propsOf(Object.values(resourcesOf(t(acdc.api), 'AWS::ApiGatewayV2::Stage'))[0]!);
    expect(stage.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: acdc.config.apiRateLimit,
      ThrottlingBurstLimit: acdc.config.apiBurstLimit,
      DetailedMetricsEnabled: true,
    });
    const open = allRoutes.filter((r) => !isJwtRole(r.auth)).map(routeKey);
    expect(Object.keys(stage.RouteSettings as Json).sort()).toEqual(open.sort());
    const format = JSON.parse((stage.AccessLogSettings as { Format: string }).Format) as Json;
    expect(format.requestId).toBe('$context.requestId');
    expect(JSON.stringify(format)).not.toMatch(/querystring|requestUri|body/i);
  });

  test('CloudFront in front with the WAF web ACL and the origin header', () => {
    const dist = propsOf(Object.values(resourcesOf(t(acdc.edge), 'AWS::CloudFront::Distribution'))[0]!)
      .DistributionConfig as Json;
    expect(flat(dist.WebACLId)).toMatch(/Fn::GetAtt|Ref|ApiWebAcl|SSM|Reader/);
    expect(flat(dist.Origins)).toContain('x-origin-verify');
    expect(flat(dist.Origins)).toContain('resolve:secretsmanager');
    const acl = propsOf(Object.values(resourcesOf(t(acdc.waf), 'AWS::WAFv2::WebACL'))[0]!);
    expect(acl.Scope).toBe('CLOUDFRONT');
    const rules = acl.Rules as { Statement: Json }[];
    expect(rules.some((r) => 'RateBasedStatement' in r.Statement)).toBe(true);
    expect(rules.filter((r) => 'ManagedRuleGroupStatement' in r.Statement).length).toBeGreaterThanOrEqual(2);
    expect(acdc.waf.region).toBe('us-east-1');
  });
});

describe('workflow', () => {
  test('the state machine is the ASL file, with every placeholder bound to its own task function', () => {
    const asl = readFileSync(ISSUANCE_ASL, 'utf8');
    const sm = propsOf(Object.values(resourcesOf(t(acdc.workflow), 'AWS::StepFunctions::StateMachine'))[0]!);
    const subs = sm.DefinitionSubstitutions as Record<string, { 'Fn::GetAtt': [string, string] }>;
    const placeholders = aslPlaceholders(asl);
    expect(Object.keys(subs).sort()).toEqual([...placeholders].sort());
    const bound = Object.fromEntries(
      Object.entries(subs).map(([k, v]) => {
        expect(v['Fn::GetAtt'][1]).toBe('Arn');
        return [k, `arn:function:${v['Fn::GetAtt'][0]}`];
      }),
    );
    for (const p of placeholders) expect(bound[p]).toContain(`${p.replace(/FunctionArn$/, '')}Task`);
    const deployed = JSON.parse(substitute(sm.DefinitionString as string, bound));
    expect(deployed).toEqual(JSON.parse(substitute(asl, bound)));
    expect(JSON.stringify(deployed)).not.toMatch(/\$\{/);
  });

  test('logging ALL to its log group, X-Ray on, and the sweeper and CRL job on schedules', () => {
    const sm = propsOf(Object.values(resourcesOf(t(acdc.workflow), 'AWS::StepFunctions::StateMachine'))[0]!);
    expect(sm.LoggingConfiguration).toMatchObject({ Level: 'ALL' });
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
    const rules = Object.values(resourcesOf(t(acdc.workflow), 'AWS::Events::Rule')).map(propsOf);
    const rate = (m: number) => events.Schedule.rate(Duration.minutes(m)).expressionString;
    expect(rules.map((r) => r.ScheduleExpression).sort()).toEqual(
      [rate(acdc.config.crlEveryMinutes), rate(acdc.config.sweepEveryMinutes)].sort(),
    );
  });
});

describe('data and PKI repository', () => {
  test('the table is table.ts: keys, indexes, TTL, PITR, deletion protection, customer managed key', () => {
    const def = tableDefinition(`${acdc.config.prefix}-main`);
    const table = propsOf(Object.values(resourcesOf(t(acdc.data), 'AWS::DynamoDB::GlobalTable'))[0]!);
    expect(table.TableName).toBe(def.tableName);
    expect(table.KeySchema).toEqual([
      { AttributeName: 'PK', KeyType: 'HASH' },
      { AttributeName: 'SK', KeyType: 'RANGE' },
    ]);
    const gsis = table.GlobalSecondaryIndexes as {
      IndexName: string;
      KeySchema: unknown;
      Projection: Json;
    }[];
    expect(gsis.map((g) => g.IndexName)).toEqual(def.globalSecondaryIndexes.map((g) => g.indexName));
    for (const g of def.globalSecondaryIndexes) {
      const deployed = gsis.find((x) => x.IndexName === g.indexName)!;
      expect(deployed.KeySchema).toEqual([
        { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
      ]);
      expect(deployed.Projection.ProjectionType).toBe(g.projection.type);
    }
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    const replica = (table.Replicas as Json[])[0]!;
    expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(replica.DeletionProtectionEnabled).toBe(true);
    expect(flat(replica.SSESpecification)).toContain('TableKey');
    expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
  });

  test('the PKI bucket is private, encrypted and versioned, read by CloudFront through OAC', () => {
    const buckets = resourcesOf(t(acdc.pki), 'AWS::S3::Bucket');
    const repo = Object.entries(buckets).find(([id]) => id.startsWith('Repository'))![1];
    const p = propsOf(repo);
    expect(p.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(p.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(flat(p.BucketEncryption)).toContain('AES256');
    // CloudFront (origin access control) may read the published files and nothing else of the bucket.
    const policy = propsOf(
      Object.values(resourcesOf(t(acdc.pki), 'AWS::S3::BucketPolicy')).find((p) =>
        flat(propsOf(p).Bucket).includes('Repository'),
      )!,
    );
    const statements = (policy.PolicyDocument as { Statement: Statement[] }).Statement;
    const cloudfront = statements.filter((s) => flat(s.Principal).includes('cloudfront.amazonaws.com'));
    expect(cloudfront).toHaveLength(1);
    expect(asArray(cloudfront[0]!.Action)).toEqual(['s3:GetObject']);
    const objects = asArray(cloudfront[0]!.Resource).map((r) => /"(\/[^"]*)"\]\]\}$/.exec(flat(r))?.[1]);
    expect(objects.sort()).toEqual(['/pki/certs/*', '/pki/crl/*']);
    expect(Object.keys(resourcesOf(t(acdc.edge), 'AWS::CloudFront::OriginAccessControl'))).toHaveLength(1);
    const pkiDist = Object.values(resourcesOf(t(acdc.edge), 'AWS::CloudFront::Distribution'))
      .map((d) => propsOf(d).DistributionConfig as Json)
      .find((d) => flat(d.Comment).startsWith('PKI'))!;
    const ocsp = (pkiDist.CacheBehaviors as Json[]).find((b) => b.PathPattern === '/pki/ocsp*')!;
    expect(ocsp.ViewerProtocolPolicy).toBe('allow-all');
    expect((pkiDist.DefaultCacheBehavior as Json).ViewerProtocolPolicy).toBe('allow-all');
  });
});

test('docs/deploy.md lists every function of the deployment in its least-privilege table', () => {
  const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('### Least privilege'), doc.indexOf('### The CloudHSM option'));
  const functions = [
    ...acdc.api.functions.values(),
    ...acdc.workflow.tasks.values(),
    ...[acdc.workflow.sweeper, acdc.workflow.crlJob, acdc.api.documents].filter((f) => f !== undefined),
  ];
  expect(functions.length).toBeGreaterThan(20);
  for (const f of functions)
    expect([f.service, section.includes(`\`${f.service}\``)]).toEqual([f.service, true]);
});
