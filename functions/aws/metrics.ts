import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { KMSClient } from '@aws-sdk/client-kms';

/**
 * Business and dependency metrics as CloudWatch EMF, through Powertools (namespace and `service`
 * dimension from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME, set by the function construct).
 * The operations dashboard and alarms (infra/stacks/ops.ts) read exactly these names:
 *
 * - `TaskSucceeded` / `TaskFailed`: one per workflow task run;
 * - `KmsRequests`, `KmsLatency` (ms, per call including SDK retries), `KmsThrottled` (per throttled
 *   attempt, so a throttle that a retry absorbed still shows);
 * - `CrlPublished`: one per CRL written to the PKI repository;
 * - `CaMaterialDaysLeft`: what the yearly key ceremony renews (OCSP responder certificate, root CRL).
 */
export const METRIC = {
  taskSucceeded: 'TaskSucceeded',
  taskFailed: 'TaskFailed',
  kmsRequests: 'KmsRequests',
  kmsLatency: 'KmsLatency',
  kmsThrottled: 'KmsThrottled',
  crlPublished: 'CrlPublished',
  /** Days until the first of: the OCSP responder certificate expires, the root CRL's nextUpdate. */
  caMaterialDaysLeft: 'CaMaterialDaysLeft',
} as const;

let instance: Metrics | undefined;

/** The function's one Metrics instance (created on first use). */
export const metrics = (): Metrics => {
  instance ??= new Metrics();
  return instance;
};

export const count = (name: string, value = 1): void => {
  metrics().addMetric(name, MetricUnit.Count, value);
};

export const gauge = (name: string, value: number): void => {
  metrics().addMetric(name, MetricUnit.Count, value);
};

export const milliseconds = (name: string, value: number): void => {
  metrics().addMetric(name, MetricUnit.Milliseconds, value);
};

/** Writes the buffered metrics (one EMF line); silent when there is nothing to write. */
export const flushMetrics = (): void => {
  if (instance?.hasStoredMetrics()) instance.publishStoredMetrics();
};

const THROTTLE_NAMES = new Set(['ThrottlingException', 'LimitExceededException', 'TooManyRequestsException']);

export const isThrottle = (e: unknown): boolean => {
  const name = (e as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && THROTTLE_NAMES.has(name);
};

/**
 * Counts a client's calls, their latency, and every throttled attempt. `initialize` runs once per call
 * (around the SDK's retries); `deserialize` runs once per attempt (inside them).
 */
export const instrumentKmsClient = (client: KMSClient): KMSClient => {
  client.middlewareStack.add(
    (next) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        count(METRIC.kmsRequests);
        milliseconds(METRIC.kmsLatency, performance.now() - started);
      }
    },
    { step: 'initialize', name: 'acdcKmsMetrics' },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        if (isThrottle(e)) count(METRIC.kmsThrottled);
        throw e;
      }
    },
    // High priority: outside the SDK's deserializer, so the parsed service error reaches this catch.
    { step: 'deserialize', name: 'acdcKmsThrottles', priority: 'high' },
  );
  return client;
};
