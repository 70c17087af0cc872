import { RateLimitedError } from '../../shared/errors.js';
import type { Clock } from '../../shared/ports/clock.js';
import type { RouteSpec } from '../http/spec.js';

/**
 * An in-process token bucket per caller key (the source IP for public routes), for the local server and
 * a single Lambda instance. In AWS the real throttle is in front of the function: API Gateway stage /
 * route throttling and an AWS WAF rate-based rule per IP (infra/), which hold across every instance;
 * this bucket is the second line that also works on one machine.
 *
 * Each caller starts with `capacity` tokens; one request takes one; tokens come back at
 * `refillPerSecond`. An empty bucket answers 429 with the seconds until the next token (Retry-After).
 */
export interface TokenBucketOptions {
  capacity: number;
  refillPerSecond: number;
  clock: Clock;
  /** Which routes the limiter applies to (default: public routes only). */
  applies?: (spec: RouteSpec) => boolean;
  /** Buckets kept before idle ones are dropped (a full bucket is the same as no bucket). */
  maxKeys?: number;
}

export const createTokenBucketLimiter = (opts: TokenBucketOptions) => {
  if (!(opts.capacity >= 1) || !(opts.refillPerSecond > 0)) {
    throw new RangeError('token bucket needs capacity ≥ 1 and refillPerSecond > 0');
  }
  const buckets = new Map<string, { tokens: number; at: number }>();
  const maxKeys = opts.maxKeys ?? 10_000;
  const applies = opts.applies ?? ((spec: RouteSpec) => spec.auth === 'public');

  const refill = (b: { tokens: number; at: number }, now: number) => {
    const elapsed = Math.max(0, now - b.at) / 1000;
    b.tokens = Math.min(opts.capacity, b.tokens + elapsed * opts.refillPerSecond);
    b.at = now;
  };

  const sweep = (now: number) => {
    for (const [k, b] of buckets) {
      refill(b, now);
      if (b.tokens >= opts.capacity) buckets.delete(k);
    }
  };

  return async (spec: RouteSpec, callerKey: string): Promise<void> => {
    if (!applies(spec)) return;
    const now = opts.clock.now().getTime();
    let b = buckets.get(callerKey);
    if (!b) {
      if (buckets.size >= maxKeys) sweep(now);
      b = { tokens: opts.capacity, at: now };
      buckets.set(callerKey, b);
    } else {
      refill(b, now);
    }
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / opts.refillPerSecond));
      throw new RateLimitedError(`too many requests from this caller; try again in ${wait} s`, wait);
    }
    b.tokens -= 1;
  };
};
