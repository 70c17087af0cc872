import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';

/**
 * DynamoDB on one machine: dynalite in this process, on 127.0.0.1 only. In memory unless `path` is given
 * (then LevelDB files under that folder, kept across restarts). dynalite has no transactions and no TTL,
 * and silently ignores request parameters it does not know (ReturnValuesOnConditionCheckFailure, …);
 * the repository is written so that none of that matters (see docs/data.md).
 */
export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

export const startDynalite = async (
  opts: { path?: string; port?: number; thread?: boolean } = {},
): Promise<LocalDynamo> => {
  if (opts.thread) return startDynaliteThread(opts);
  if (opts.path) mkdirSync(opts.path, { recursive: true });
  const server = dynalite({
    ...(opts.path ? { path: opts.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive sockets of SDK clients would otherwise hold the server open.
        server.closeIdleConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
};

/**
 * dynalite in a worker thread (`thread: true`, what the local stack uses): the database then runs on the
 * other core instead of taking turns with the API on one event loop, as DynamoDB is a separate service in
 * AWS. Tests keep it in the test's thread (`thread` unset), where it starts faster.
 */
const startDynaliteThread = async (opts: { path?: string; port?: number }): Promise<LocalDynamo> => {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), {
    workerData: { path: opts.path, port: opts.port },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { port?: number; error?: string }) =>
      m.port ? resolve(m.port) : reject(new Error(`dynalite did not start: ${m.error ?? 'unknown error'}`)),
    );
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage('close');
        setTimeout(() => void worker.terminate(), 5000).unref();
      }),
  };
};

/**
 * A document client for the table. With an endpoint (dynalite, local mode) it uses dummy credentials;
 * without one it is the real service with the default credential chain (Lambda's role).
 */
export const createDocumentClient = (endpoint?: string, region = 'ap-east-2'): DynamoDBDocumentClient => {
  // The SDK warns about Node 20 at every client creation; the runtime is chosen on purpose.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new DynamoDBClient({
    region,
    ...(endpoint ? { endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
};
