import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { ForbiddenError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { type ApiFunctionDeps, createApiHandler, errorResult, type HandlerMap } from '../http/api.js';
import type { ApiFunction, RouteSpec } from '../http/spec.js';
import { config, lazyHandler, logger, secretString } from './deps.js';
import { flushMetrics } from './metrics.js';
import { ORIGIN_VERIFY_HEADER } from './origin.js';

/**
 * An API function's Lambda handler on AWS: the shared HTTP edge (functions/http/api.ts) over the area's
 * routes and handlers, behind two AWS-only checks:
 *
 * - the request came through CloudFront (and so through the WAF): CloudFront adds a secret header that
 *   the execute-api hostname cannot supply; anything else is 403 before any handler runs;
 * - metrics buffered during the request are flushed as one EMF line.
 */

export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of the origin header with the expected value. */
export const originHeaderMatches = (event: APIGatewayProxyEventV2, expected: string): boolean => {
  const headers = event.headers ?? {};
  const got = Object.entries(headers).find(([k]) => k.toLowerCase() === ORIGIN_VERIFY_HEADER)?.[1];
  return typeof got === 'string' && timingSafeEqual(digest(got), digest(expected));
};

/** Wraps an API handler with the origin check (when a secret is configured) and the metrics flush. */
export const withEdgeChecks =
  (handler: LambdaHttpHandler, expected: string | undefined, log: Logger): LambdaHttpHandler =>
  async (event, context) => {
    try {
      if (expected !== undefined && !originHeaderMatches(event, expected)) {
        log.warn('request refused: not through the public endpoint', { route: event.routeKey });
        return errorResult(
          new ForbiddenError('requests must come through the public endpoint'),
          context?.awsRequestId ?? event.requestContext?.requestId ?? 'unknown',
          log,
        );
      }
      return await handler(event, context);
    } finally {
      flushMetrics();
    }
  };

/**
 * The exported `handler` of an API entry. `build` makes the area's handlers from the composition root,
 * on the first invocation.
 */
export const awsApiHandler = <Specs extends readonly RouteSpec[]>(opts: {
  service: ApiFunction;
  specs: Specs;
  build: () => Promise<HandlerMap<Specs>> | HandlerMap<Specs>;
  /** Holder authentication and rate limiting, when the area has such routes. */
  edge?: () => Promise<Omit<ApiFunctionDeps, 'logger'>> | Omit<ApiFunctionDeps, 'logger'>;
}): LambdaHttpHandler =>
  lazyHandler(async () => {
    const log = logger(opts.service);
    const handlers = await opts.build();
    const extra = opts.edge ? await opts.edge() : {};
    const api = createApiHandler(opts.specs, handlers as never, { logger: log, ...extra });
    const arn = config().ORIGIN_VERIFY_SECRET_ARN;
    const expected = arn ? await secretString(arn) : undefined;
    return withEdgeChecks(api as unknown as LambdaHttpHandler, expected, log);
  });
