import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { dynamoClientConfig } from './client.js';

/**
 * DynamoDB on one machine: dynalite in this process, on 127.0.0.1 only. In memory unless `path` is given
 * (then LevelDB files under that folder, kept across restarts). dynalite has no transactions and no TTL,
 * and silently ignores request parameters it does not know (ReturnValuesOnConditionCheckFailure, …);
 * the repository is written so that none of that matters (see docs/data.md).
 */
export interface LocalDynamo {
  endpoint: string;
  /** With `thread`: the SDK transport that posts requests to the database thread instead of using HTTP. */
  requestHandler?: LocalRequestHandler;
  close(): Promise<void>;
}

/** The slice of the SDK's HttpRequest the transport reads. */
interface SdkHttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/**
 * An SDK request handler (the `requestHandler` client option, where NodeHttpHandler normally sits) that
 * posts each request to dynalite's thread and takes the response back: the same SDK work (serialize,
 * sign, retry, parse) and the same dynalite work, without a socket and two HTTP parsers in between —
 * a third of a local read's event-loop time.
 */
export class LocalRequestHandler {
  readonly metadata = { handlerProtocol: 'local-worker' };
  private readonly pending = new Map<
    number,
    {
      resolve: (r: { statusCode: number; headers: Record<string, string>; body: Uint8Array }) => void;
      reject: (e: unknown) => void;
    }
  >();
  private nextId = 0;
  private closed = false;

  constructor(private readonly worker: Worker) {
    // A database thread that is gone answers nothing: what is in flight, and what comes after, fails.
    worker.on('exit', () => this.close());
    worker.on('error', () => this.close());
    worker.on(
      'message',
      (m: {
        id?: number;
        statusCode?: number;
        headers?: Record<string, string>;
        body?: string | Uint8Array;
        error?: string;
      }) => {
        if (m.id === undefined) return;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) return;
        if (m.error !== undefined || m.statusCode === undefined)
          p.reject(new Error(`local database: ${m.error}`));
        else
          p.resolve({
            statusCode: m.statusCode,
            headers: m.headers ?? {},
            body: typeof m.body === 'string' ? Buffer.from(m.body) : (m.body ?? new Uint8Array(0)),
          });
      },
    );
  }

  handle(
    request: SdkHttpRequest,
  ): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }> {
    if (this.closed) return Promise.reject(new Error('local database: closed'));
    const body = request.body;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      return Promise.reject(new Error('local database: streaming request bodies are not supported'));
    }
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(request.query ?? {}))
      for (const x of Array.isArray(v) ? v : [v]) query.append(k, x ?? '');
    const q = query.toString();
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.pending.set(id, { resolve: (response) => resolve({ response }), reject });
      this.worker.postMessage({
        type: 'request',
        id,
        method: request.method,
        path: `${request.path}${q ? `?${q}` : ''}`,
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
        // Strings as such: a small Buffer is a view of an 8 KB pool slab, and posting a view copies its
        // whole ArrayBuffer.
        body: body instanceof Uint8Array && body.byteLength !== body.buffer.byteLength ? body.slice() : body,
      });
    });
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  /** Called by the SDK when a client is destroyed: the transport belongs to the database, not the client. */
  destroy(): void {}

  /** The database is closing: what is still in flight fails. */
  close(): void {
    this.closed = true;
    const gone = new Error('local database: closed');
    for (const p of this.pending.values()) p.reject(gone);
    this.pending.clear();
  }
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
  const requestHandler = new LocalRequestHandler(worker);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requestHandler,
    close: () =>
      new Promise<void>((resolve) => {
        requestHandler.close();
        worker.once('exit', () => resolve());
        worker.postMessage('close');
        setTimeout(() => void worker.terminate(), 5000).unref();
      }),
  };
};

// The repository's client lives apart from dynalite (Lambda bundles import it); re-exported for local callers.
export { createDynamoClient } from './client.js';

/**
 * A document client for the table (tools, tests, bench fixtures), configured as createDynamoClient but
 * without the middleware cache.
 */
export const createDocumentClient = (
  endpoint?: string,
  region = 'ap-east-2',
  requestHandler?: DynamoDBClientConfig['requestHandler'],
): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(dynamoClientConfig(endpoint, region, requestHandler)), {
    marshallOptions: { removeUndefinedValues: true },
  });
