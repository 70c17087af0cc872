import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorResult, MAX_BODY_BYTES } from '../../functions/http/api.js';
import { type ApiFunction, type RouteSpec, routeKey } from '../../functions/http/spec.js';
import { AppError, ValidationError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';

/**
 * The local stand-in for API Gateway (HTTP API, payload v2): matches the same route specs, verifies JWTs
 * like the JWT authorizer, turns a node:http request into the same event Lambda receives, and calls the
 * same function handler. Anything not in the route table can be mounted as a raw route (the sandbox
 * gateway, the static web app, the JWKS).
 */

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

export interface RawRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  body: Buffer;
}
export interface RawResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}
export type RawRoute = { prefix: string; handle: (req: RawRequest) => Promise<RawResponse | undefined> };

export interface LocalServerOptions {
  host: string;
  port: number;
  specs: readonly RouteSpec[];
  functions: Partial<Record<ApiFunction, LambdaHttpHandler>>;
  /** Verifies a bearer JWT (signature, issuer, audience, expiry) and returns its claims. */
  verifyJwt: (token: string) => Promise<Record<string, unknown>>;
  rawRoutes?: RawRoute[];
  logger: Logger;
}

interface CompiledRoute {
  spec: RouteSpec;
  regex: RegExp;
  names: string[];
}

const compile = (spec: RouteSpec): CompiledRoute => {
  const names: string[] = [];
  const pattern = spec.path
    .split('/')
    .map((seg) => {
      const m = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(seg);
      if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return m[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { spec, regex: new RegExp(`^${pattern}$`), names };
};

/** Past this, an oversized body is not even read to its end: the connection is cut. */
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

const readRequestBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => new ValidationError('body', 'body.size', `is larger than ${MAX_BODY_BYTES} bytes`);
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size <= MAX_BODY_BYTES + 1) {
        chunks.push(c);
        return;
      }
      // Too large: keep reading (without keeping it) so the client gets its 400 instead of a reset.
      chunks.length = 0;
      if (size > DRAIN_LIMIT_BYTES) {
        reject(tooLarge());
        req.destroy();
      }
    });
    req.on('end', () => (size > MAX_BODY_BYTES + 1 ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });

const flatHeaders = (req: IncomingMessage): Record<string, string> => {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  return h;
};

const fakeContext = (requestId: string, fn: string): Context =>
  ({
    awsRequestId: requestId,
    functionName: `local-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:local-${fn}`,
    memoryLimitInMB: '1024',
    logGroupName: `/local/${fn}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

export const startLocalServer = async (
  opts: LocalServerOptions,
): Promise<{ server: Server; url: string }> => {
  const routes = opts.specs.map(compile);

  const send = (res: ServerResponse, r: APIGatewayProxyStructuredResultV2 | RawResponse) => {
    const status = 'statusCode' in r ? (r.statusCode ?? 200) : (r as RawResponse).status;
    const headers = { ...(r.headers as Record<string, string> | undefined) };
    let body: Buffer | string = '';
    if ('statusCode' in r) {
      body = r.isBase64Encoded ? Buffer.from(r.body ?? '', 'base64') : (r.body ?? '');
    } else if (r.body !== undefined) {
      body = typeof r.body === 'string' ? r.body : Buffer.from(r.body);
    }
    res.writeHead(status, headers);
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      const body = await readRequestBody(req);
      const headers = flatHeaders(req);
      let matched: { route: CompiledRoute; params: Record<string, string> } | undefined;
      let pathMatchedOtherMethod = false;
      for (const route of routes) {
        const m = route.regex.exec(url.pathname);
        if (!m) continue;
        if (route.spec.method !== method) {
          pathMatchedOtherMethod = true;
          continue;
        }
        const params: Record<string, string> = {};
        route.names.forEach((n, i) => {
          try {
            params[n] = decodeURIComponent(m[i + 1]!);
          } catch {
            // A malformed escape (`%zz`, a cut UTF-8 sequence) is the client's input, not our fault.
            throw new ValidationError(n, 'path.encoding', 'is not valid percent-encoding');
          }
        });
        matched = { route, params };
        break;
      }
      if (!matched) {
        for (const raw of opts.rawRoutes ?? []) {
          if (!url.pathname.startsWith(raw.prefix)) continue;
          const r = await raw.handle({ method, path: url.pathname, query: url.searchParams, headers, body });
          if (r) return send(res, r);
        }
        const status = pathMatchedOtherMethod ? 405 : 404;
        const message = pathMatchedOtherMethod
          ? `method ${method} not allowed here`
          : `no route ${url.pathname}`;
        return send(res, {
          status,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({ error: { code: 'not_found', message } }),
        });
      }
      const { spec } = matched.route;
      const fn = opts.functions[spec.fn];
      if (!fn) throw new Error(`function ${spec.fn} is not running`);

      // The JWT authorizer: routes for officers, ops and card stations need a valid bearer token.
      let authorizer: { jwt: { claims: Record<string, unknown>; scopes: string[] } } | undefined;
      if (spec.auth === 'officer' || spec.auth === 'ops' || spec.auth === 'card-station') {
        const m = /^Bearer (.+)$/.exec(headers.authorization ?? '');
        if (!m) {
          return send(res, {
            status: 401,
            headers: { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' },
            body: JSON.stringify({
              error: { code: 'unauthenticated', message: 'a bearer token is required' },
            }),
          });
        }
        authorizer = { jwt: { claims: await opts.verifyJwt(m[1]!), scopes: [] } };
      }

      const query = Object.fromEntries(
        [...new Set(url.searchParams.keys())].map((k) => [k, url.searchParams.getAll(k).join(',')]),
      );
      const now = new Date();
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: routeKey(spec),
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
        ...(Object.keys(matched.params).length ? { pathParameters: matched.params } : {}),
        ...(body.byteLength
          ? { body: body.toString('base64'), isBase64Encoded: true }
          : { isBase64Encoded: false }),
        requestContext: {
          accountId: 'local',
          apiId: 'local',
          domainName: headers.host ?? 'localhost',
          domainPrefix: 'local',
          http: {
            method,
            path: url.pathname,
            protocol: `HTTP/${req.httpVersion}`,
            sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId,
          routeKey: routeKey(spec),
          stage: '$default',
          time: now.toISOString(),
          timeEpoch: now.getTime(),
          ...(authorizer ? { authorizer } : {}),
        },
      } as APIGatewayProxyEventV2;
      const result = (await fn(event, fakeContext(requestId, spec.fn))) as APIGatewayProxyStructuredResultV2;
      return send(res, result);
    } catch (e) {
      if (!(e instanceof AppError)) opts.logger.error('local server failure', { error: e });
      return send(res, errorResult(e, requestId, opts.logger));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      opts.logger.error('unhandled', { error: e });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host, resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${opts.host}:${port}` };
};
