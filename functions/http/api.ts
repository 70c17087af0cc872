import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import {
  AppError,
  AuthenticationError,
  ForbiddenError,
  httpStatusOf,
  InternalError,
  RateLimitedError,
  ValidationError,
} from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { type Auth, type RouteSpec, routeKey } from './spec.js';

/**
 * The HTTP edge shared by every API function: route by API Gateway route key, authenticate, read and
 * validate the body/query/path against the route's zod schemas, call one use case, map the one error
 * taxonomy to HTTP. Handlers stay thin: they receive typed input and a principal, and return a result.
 * The same middy handler runs in Lambda (HTTP API payload v2) and behind the local node:http server.
 */

export type Principal =
  | { kind: 'public' }
  | { kind: 'gateway' }
  | { kind: 'holder'; applicationId: string; sessionId: string }
  | { kind: 'officer'; id: string; stationId: string }
  | { kind: 'ops'; id: string }
  | { kind: 'card-station'; id: string };

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface HttpRequest<S extends RouteSpec = RouteSpec> {
  body: Out<S['body']>;
  query: Out<S['query']>;
  params: Out<S['params']>;
  principal: Principal;
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
  sourceIp: string;
  requestId: string;
}

export interface HttpResult {
  status: number;
  /** A JSON body (serialized here). */
  json?: unknown;
  /** A raw body (text or bytes) with its content type. */
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Handler<S extends RouteSpec> = (req: HttpRequest<S>) => Promise<HttpResult>;
export type HandlerMap<Specs extends readonly RouteSpec[]> = {
  [K in Specs[number] as K['id']]: Handler<K>;
};

export interface ApiFunctionDeps {
  logger: Logger;
  /** Resolves a holder's bearer token to a session; throws AuthenticationError when unknown/expired. */
  authenticateHolder?: (token: string) => Promise<{ applicationId: string; sessionId: string }>;
  /** Per-caller throttle for public routes; throws RateLimitedError. */
  rateLimit?: (spec: RouteSpec, callerKey: string) => Promise<void>;
}

export const MAX_BODY_BYTES = 1024 * 1024;

export const json = (status: number, body: unknown, headers?: Record<string, string>): HttpResult =>
  headers ? { status, json: body, headers } : { status, json: body };
export const noContent = (): HttpResult => ({ status: 204 });

const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Turns the first zod issue into a ValidationError naming the field and the rule. */
export const validationErrorFromZod = (e: z.ZodError, where: 'body' | 'query' | 'path'): ValidationError => {
  const issue = e.issues[0]!;
  const path = issue.path.map(String);
  // An unknown key is the field at fault, not its parent object.
  if (issue.code === 'unrecognized_keys' && issue.keys[0]) path.push(issue.keys[0]);
  const field = path.length > 0 ? path.join('.') : where;
  const message =
    issue.code === 'invalid_type' && issue.input === undefined
      ? 'is required'
      : issue.message.replace(/^Invalid input: /, '');
  return new ValidationError(field, `${where}.${issue.code}`, message);
};

const parseWith = <T extends z.ZodType | undefined>(
  schema: T,
  value: unknown,
  where: 'body' | 'query' | 'path',
): Out<T> => {
  if (!schema) return undefined as Out<T>;
  const r = schema.safeParse(value);
  if (!r.success) throw validationErrorFromZod(r.error, where);
  return r.data as Out<T>;
};

const lowerHeaders = (h: APIGatewayProxyEventV2['headers']): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

const readBody = (
  spec: RouteSpec,
  event: APIGatewayProxyEventV2,
  headers: Record<string, string | undefined>,
) => {
  const raw = event.body
    ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new ValidationError('body', 'body.size', `is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const kind = spec.bodyKind ?? (spec.body ? 'json' : 'none');
  const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let value: unknown;
  if (kind === 'json') {
    if (raw.byteLength === 0) value = undefined;
    else {
      if (type !== 'application/json') {
        throw new ValidationError('content-type', 'body.content_type', 'must be application/json');
      }
      try {
        value = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ValidationError('body', 'body.json', 'is not valid JSON');
      }
    }
  } else if (kind === 'form') {
    value = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  } else if (kind === 'binary') {
    value = raw;
  }
  return { raw, value };
};

const claimsOf = (event: APIGatewayProxyEventV2): Record<string, unknown> | undefined =>
  (event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } }).authorizer?.jwt
    ?.claims;

/** Who is calling. JWT routes: API Gateway (or the local server) has already verified the token. */
const authenticate = async (
  auth: Auth,
  event: APIGatewayProxyEventV2,
  headers: Record<string, string | undefined>,
  deps: ApiFunctionDeps,
): Promise<Principal> => {
  switch (auth) {
    case 'public':
      return { kind: 'public' };
    case 'gateway':
      return { kind: 'gateway' };
    case 'holder': {
      const m = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(headers.authorization ?? '');
      if (!m || !deps.authenticateHolder) throw new AuthenticationError('a holder session token is required');
      const s = await deps.authenticateHolder(m[1]!);
      return { kind: 'holder', ...s };
    }
    case 'officer':
    case 'ops':
    case 'card-station': {
      const claims = claimsOf(event);
      if (!claims || typeof claims.sub !== 'string')
        throw new AuthenticationError('a bearer token is required');
      // Defence in depth: the authorizer checked the signature; the role must match the route too.
      if (claims.role !== auth) throw new ForbiddenError(`this route is for the ${auth} role`);
      if (auth === 'officer') {
        const stationId = claims.station_id;
        if (typeof stationId !== 'string' || !/^[A-Z0-9]{2,10}$/.test(stationId)) {
          throw new ForbiddenError('the officer token carries no valid station_id claim');
        }
        return { kind: 'officer', id: claims.sub, stationId };
      }
      return { kind: auth, id: claims.sub };
    }
  }
};

const toResult = (r: HttpResult, requestId: string): APIGatewayProxyStructuredResultV2 => {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'x-request-id': requestId, ...r.headers };
  if (r.json !== undefined) {
    headers['content-type'] ??= 'application/json; charset=utf-8';
    headers['cache-control'] ??= 'no-store';
    return { statusCode: r.status, headers, body: JSON.stringify(r.json) };
  }
  if (r.body === undefined) return { statusCode: r.status, headers, body: '' };
  if (r.contentType) headers['content-type'] = r.contentType;
  if (typeof r.body === 'string') return { statusCode: r.status, headers, body: r.body };
  return {
    statusCode: r.status,
    headers,
    body: Buffer.from(r.body).toString('base64'),
    isBase64Encoded: true,
  };
};

export const errorResult = (
  e: unknown,
  requestId: string,
  logger: Logger,
): APIGatewayProxyStructuredResultV2 => {
  if (e instanceof AppError) {
    const status = httpStatusOf(e);
    if (status >= 500) logger.error('request failed', { error: e, cause: e.cause });
    const headers: Record<string, string> =
      e instanceof RateLimitedError ? { 'retry-after': String(e.retryAfterSeconds) } : {};
    return toResult({ status, json: e.toBody(), headers }, requestId);
  }
  logger.error('unexpected error', { error: e });
  const internal = new InternalError(`internal error (request ${requestId})`);
  return toResult({ status: 500, json: internal.toBody() }, requestId);
};

/**
 * Builds the Lambda handler of one API function from its route specs and handlers.
 * `event.routeKey` is set by API Gateway (and by the local server) to `METHOD /path/{param}`.
 */
export const createApiHandler = <Specs extends readonly RouteSpec[]>(
  specs: Specs,
  handlers: NoInfer<HandlerMap<Specs>>,
  deps: ApiFunctionDeps,
) => {
  const byKey = new Map<string, { spec: RouteSpec; handler: Handler<RouteSpec> }>();
  for (const spec of specs) {
    const handler = (handlers as Record<string, Handler<RouteSpec>>)[spec.id];
    if (!handler) throw new InternalError(`no handler bound for route ${spec.id}`);
    byKey.set(routeKey(spec), { spec, handler });
  }

  const core = async (
    event: APIGatewayProxyEventV2,
    context?: Context,
  ): Promise<APIGatewayProxyStructuredResultV2> => {
    const requestId = context?.awsRequestId ?? event.requestContext?.requestId ?? randomUUID();
    const started = performance.now();
    const entry = byKey.get(event.routeKey);
    let status = 500;
    let principal: Principal | undefined;
    try {
      if (!entry) throw new ValidationError('path', 'route', `no route ${event.routeKey}`);
      const { spec, handler } = entry;
      const headers = lowerHeaders(event.headers);
      principal = await authenticate(spec.auth, event, headers, deps);
      const sourceIp = event.requestContext?.http?.sourceIp ?? 'unknown';
      if (deps.rateLimit)
        await deps.rateLimit(spec, principal.kind === 'public' ? sourceIp : principalKey(principal));
      const { raw, value } = readBody(spec, event, headers);
      const req: HttpRequest<RouteSpec> = {
        params: parseWith(spec.params, event.pathParameters ?? {}, 'path'),
        query: parseWith(spec.query, event.queryStringParameters ?? {}, 'query'),
        body: parseWith(spec.body, value, 'body'),
        principal,
        headers,
        rawBody: raw,
        sourceIp,
        requestId,
      };
      const result = await handler(req);
      status = result.status;
      return toResult(result, requestId);
    } catch (e) {
      const r = errorResult(e, requestId, deps.logger);
      status = r.statusCode ?? 500;
      return r;
    } finally {
      deps.logger.info('request', {
        route: event.routeKey,
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        requestId,
        principal: principal ? principalKey(principal) : undefined,
      });
    }
  };

  return middy(core);
};

/** A loggable, non-secret identity of the caller. */
export const principalKey = (p: Principal): string => {
  switch (p.kind) {
    case 'holder':
      return `holder:${p.applicationId}`;
    case 'officer':
      return `officer:${p.stationId}:${p.id}`;
    case 'ops':
    case 'card-station':
      return `${p.kind}:${p.id}`;
    default:
      return p.kind;
  }
};

/** Asserts the principal kind inside a handler, for the type checker and as a second line of defence. */
export function expectPrincipal<K extends Principal['kind']>(
  p: Principal,
  kind: K,
): asserts p is Extract<Principal, { kind: K }> {
  if (p.kind !== kind) throw new ForbiddenError(`this action is for the ${kind} role`);
}

/** Common zod pieces for path parameters. */
export const pathParams = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();
