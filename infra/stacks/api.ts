import { join } from 'node:path';
import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type ApiFunction, type Auth, type RouteSpec, routeKey } from '../../functions/http/spec.js';
import { API_FUNCTIONS, entryOf, INTERNAL_FUNCTIONS } from '../catalog.js';
import { AcdcFunction } from '../constructs/function.js';
import { acknowledgeNag } from '../constructs/nag.js';
import { REPO_ROOT, type SharedResources, tryCreateFunction } from '../constructs/wire.js';

/**
 * The HTTP API: one route per entry of the route table (functions/routes.ts), each integrated with the
 * function of its trust area, so a function only ever receives its own area's routes and holds only its
 * area's permissions (infra/catalog.ts).
 *
 * Authentication at the gateway: JWT authorizers for officer, ops and card-station routes (one authorizer
 * per role, each with its own audience), from a Cognito user pool made here or from any OIDC issuer
 * (context acdc:auth=oidc). Public, holder and gateway routes have no gateway authorizer: the function
 * checks the holder session / the gateway's MAC itself. The function re-checks the role claim too.
 *
 * Abuse: stage throttling, tighter per-route throttling on unauthenticated routes, and the WAF web ACL on
 * the CloudFront distribution in front (infra/stacks/edge.ts; HTTP APIs cannot carry a web ACL). The
 * functions refuse requests that did not come through CloudFront (origin header), so the WAF cannot be
 * walked around.
 */
export type JwtRole = Extract<Auth, 'officer' | 'ops' | 'card-station'>;
export const JWT_ROLES: readonly JwtRole[] = ['officer', 'ops', 'card-station'];
export const isJwtRole = (a: Auth): a is JwtRole => (JWT_ROLES as readonly Auth[]).includes(a);

export interface ApiStackProps extends StackProps {
  resources: SharedResources;
  routes: readonly RouteSpec[];
}

export class ApiStack extends Stack {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions = new Map<ApiFunction, AcdcFunction>();
  /** The documents function (no route): renders the station's application form. */
  readonly documents: AcdcFunction | undefined;
  readonly authorizers: Record<JwtRole, HttpJwtAuthorizer>;
  readonly userPool: cognito.UserPool | undefined;
  readonly accessLogs: logs.LogGroup;
  /** Routes left out because their function's entry file does not exist yet. */
  readonly skippedRoutes: string[] = [];

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { routes } = props;
    const { config } = props.resources;

    // The documents function first: the station function invokes it (and is the only one allowed to).
    this.documents = tryCreateFunction(this, 'DocumentsFunction', {
      service: 'documents',
      entry: entryOf.internal('documents'),
      needs: INTERNAL_FUNCTIONS.documents,
      resources: props.resources,
      defaultTimeoutSeconds: 10,
    });
    const resources: SharedResources = {
      ...props.resources,
      ...(this.documents ? { documentsFunction: this.documents } : {}),
    };

    // Functions: one per trust area that has routes.
    const areas = [...new Set(routes.map((r) => r.fn))];
    for (const fn of areas) {
      const f = tryCreateFunction(this, `${pascal(fn)}Function`, {
        service: fn,
        entry: entryOf.api(fn),
        needs: API_FUNCTIONS[fn],
        resources,
        defaultTimeoutSeconds: 10,
      });
      if (!f) continue;
      if (resources.originVerifySecret) f.bindOriginVerify(resources.originVerifySecret);
      this.functions.set(fn, f);
    }

    // Who signs the officer / ops / card-station tokens.
    let issuer: string;
    let audience: (role: JwtRole) => string[];
    if (config.auth === 'cognito') {
      const staff = this.staffDirectory(resources);
      this.userPool = staff.pool;
      issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${staff.pool.userPoolId}`;
      audience = (role) => [
        role === 'card-station'
          ? staff.cardStationClient.userPoolClientId
          : staff.staffClient.userPoolClientId,
      ];
    } else {
      this.userPool = undefined;
      issuer = config.oidcIssuer!;
      const aud = config.oidcAudience!;
      audience = (role) => [typeof aud === 'string' ? aud : aud[role]];
    }
    this.authorizers = Object.fromEntries(
      JWT_ROLES.map((role) => [
        role,
        new HttpJwtAuthorizer(`${pascal(role)}Authorizer`, issuer, {
          authorizerName: `${config.prefix}-${role}`,
          jwtAudience: audience(role),
          identitySource: ['$request.header.Authorization'],
        }),
      ]),
    ) as Record<JwtRole, HttpJwtAuthorizer>;

    // Browsers on the portal (and station app) origin may call the API; API Gateway answers the preflight.
    const corsOrigins = config.corsOrigins ?? (config.portalUrl ? [new URL(config.portalUrl).origin] : []);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${config.prefix}-api`,
      description: 'Alien Citizen Digital Certificate API (routes from functions/routes.ts)',
      createDefaultStage: false,
      ...(corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: corsOrigins.map((o) => new URL(o).origin),
              allowMethods: [
                apigwv2.CorsHttpMethod.GET,
                apigwv2.CorsHttpMethod.POST,
                apigwv2.CorsHttpMethod.PUT,
                apigwv2.CorsHttpMethod.DELETE,
              ],
              allowHeaders: ['authorization', 'content-type'],
              exposeHeaders: ['x-request-id', 'retry-after'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });

    const integrations = new Map<ApiFunction, HttpLambdaIntegration>();
    const created: apigwv2.HttpRoute[] = [];
    const throttled: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const spec of routes) {
      const fn = this.functions.get(spec.fn);
      if (!fn) {
        this.skippedRoutes.push(routeKey(spec));
        continue;
      }
      let integration = integrations.get(spec.fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascal(spec.fn)}Integration`, fn, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(spec.fn, integration);
      }
      const route = new apigwv2.HttpRoute(this, `Route${pascal(spec.id)}`, {
        httpApi: this.api,
        routeKey: apigwv2.HttpRouteKey.with(spec.path, spec.method as apigwv2.HttpMethod),
        integration,
        ...(isJwtRole(spec.auth) ? { authorizer: this.authorizers[spec.auth] } : {}),
      });
      created.push(route);
      if (!isJwtRole(spec.auth)) {
        acknowledgeNag(
          route,
          'AwsSolutions-APIG4',
          `${spec.auth} route: ${
            spec.auth === 'holder'
              ? 'the function checks the holder session token (opaque, revocable, stored hashed)'
              : spec.auth === 'gateway'
                ? "the function verifies the payment gateway's MAC over the callback"
                : 'public by design (relying parties, the public status query, health)'
          }; throttled per route and behind the WAF`,
        );
        throttled[routeKey(spec)] = {
          ThrottlingRateLimit: config.publicRouteRateLimit,
          ThrottlingBurstLimit: config.publicRouteBurstLimit,
        };
      }
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: resources.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      detailedMetricsEnabled: true,
      throttle: { rateLimit: config.apiRateLimit, burstLimit: config.apiBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        // No query string and no body: the public query carries names and e-mail addresses.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            time: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            userAgent: '$context.identity.userAgent',
          }),
        ),
      },
    });
    const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
    cfnStage.routeSettings = throttled;
    // Route settings name route keys, which must exist first.
    for (const r of created) this.stage.node.addDependency(r);

    new CfnOutput(this, 'ApiEndpoint', { value: this.api.apiEndpoint });
    if (this.skippedRoutes.length > 0) {
      new CfnOutput(this, 'RoutesNotYetDeployed', { value: this.skippedRoutes.join(', ') });
    }
  }

  /** The domain name of the API's execute-api endpoint (CloudFront's origin). */
  get apiDomainName(): string {
    return Fn.select(2, Fn.split('/', this.api.apiEndpoint));
  }

  /**
   * Cognito staff directory: officers and ops sign in (MFA required, no self sign-up, accounts made by
   * ops); card stations use the client-credentials grant. A pre-token-generation trigger puts the `role`
   * (and for officers the `station_id`) claims into the access token, which is what the API reads.
   */
  private staffDirectory(resources: SharedResources) {
    const { config } = resources;
    const claimsFn = new AcdcFunction(this, 'TokenClaimsFunction', {
      entry: join(REPO_ROOT, 'functions', 'aws', 'cognito', 'token-claims.ts'),
      service: 'token-claims',
      description: 'Cognito pre-token-generation: role and station_id claims from group and attribute',
      logRetention: resources.logRetention,
      metricsNamespace: resources.metricsNamespace,
      timeout: Duration.seconds(5),
      memorySize: 256,
    });
    const pool = new cognito.UserPool(this, 'StaffPool', {
      userPoolName: `${config.prefix}-staff`,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(1),
      },
      accountRecovery: cognito.AccountRecovery.NONE,
      customAttributes: {
        station_id: new cognito.StringAttribute({ minLen: 2, maxLen: 10, mutable: true }),
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    pool.addTrigger(
      cognito.UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG,
      claimsFn,
      cognito.LambdaVersion.V3_0,
    );
    acknowledgeNag(
      pool,
      'AwsSolutions-COG8',
      'Threat protection (compromised credentials, adaptive authentication) needs the PLUS feature plan; staff accounts are few, admin-created, MFA-only, and every officer/ops action is audited. Enable it with the PLUS plan if the policy asks for it.',
    );
    for (const group of ['officer', 'ops'] as const) {
      new cognito.CfnUserPoolGroup(this, `${pascal(group)}Group`, {
        userPoolId: pool.userPoolId,
        groupName: group,
        description:
          group === 'officer' ? 'Station officers (set custom:station_id)' : 'Customer service / operations',
      });
    }
    const staffClient = pool.addClient('StaffClient', {
      userPoolClientName: `${config.prefix}-staff`,
      authFlows: { userSrp: true },
      disableOAuth: true,
      generateSecret: false,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.minutes(60),
      idTokenValidity: Duration.minutes(60),
      refreshTokenValidity: Duration.hours(12),
      // Staff cannot change their own station.
      writeAttributes: new cognito.ClientAttributes(),
    });
    const scope = new cognito.ResourceServerScope({
      scopeName: 'card-station',
      scopeDescription: 'Card personalization bureau',
    });
    const server = pool.addResourceServer('ApiResourceServer', {
      identifier: config.prefix,
      userPoolResourceServerName: `${config.prefix}-api`,
      scopes: [scope],
    });
    const cardStationClient = pool.addClient('CardStationClient', {
      userPoolClientName: `${config.prefix}-card-station`,
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { clientCredentials: true },
        scopes: [cognito.OAuthScope.resourceServer(server, scope)],
      },
      accessTokenValidity: Duration.minutes(60),
    });
    pool.addDomain('Domain', {
      cognitoDomain: {
        domainPrefix: config.cognitoDomainPrefix ?? `${config.prefix}-staff-${Aws.ACCOUNT_ID}`,
      },
    });
    new CfnOutput(this, 'StaffUserPoolId', { value: pool.userPoolId });
    new CfnOutput(this, 'StaffClientId', { value: staffClient.userPoolClientId });
    new CfnOutput(this, 'CardStationClientId', { value: cardStationClient.userPoolClientId });
    return { pool, staffClient, cardStationClient };
  }
}

/** `card-station` → `CardStation`, `station.getApplication` → `StationGetApplication`. */
export const pascal = (s: string): string =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
