import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import {
  CompleteRequest,
  FailureRequest,
  HeartbeatRequest,
  InventoryRequest,
  LeaseRequest,
  MailedRequest,
} from '../../shared/contracts/card-station.js';
import type { Actor } from '../../shared/domain/model.js';
import {
  AuthenticationError,
  httpStatusOf,
  isAppError,
  NotFoundError,
  ValidationError,
} from '../../shared/errors.js';
import type { CardStationUseCases } from '../../shared/usecases/card-station.js';

/**
 * A minimal HTTP front for the card station use cases, for tests that run the real agent as a child
 * process: the six /v1/card-station routes, bearer tokens mapped to card station identities, bodies
 * checked with the contract schemas, errors in the API's error body. (The product's routes are the
 * integrator's, in functions/; this stands in for them until then.)
 */

export interface TestServer {
  url: string;
  close(): Promise<void>;
  /** Calls answered, by route, for the tests' bookkeeping. */
  calls: { route: string; status: number }[];
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const parse = <S extends z.ZodType>(schema: S, raw: string): z.infer<S> => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ValidationError('body', 'json', 'must be JSON');
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ValidationError(issue.path.join('.') || 'body', 'schema', issue.message);
  }
  return r.data;
};

export const startTestServer = async (
  useCases: CardStationUseCases,
  tokens: Record<string, string>,
): Promise<TestServer> => {
  const calls: TestServer['calls'] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let route = `${req.method} ${req.url}`;
    const send = (status: number, body?: unknown) => {
      calls.push({ route, status });
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      const station = tokens[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
      if (!station) throw new AuthenticationError('a card station token is required');
      const actor: Actor = { type: 'card-station', id: station };
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/v1\/card-station\/jobs\/([^/]+)\/(heartbeat|complete|mailed|failure)$/.exec(url.pathname);
      if (req.method === 'POST' && url.pathname === '/v1/card-station/inventory') {
        route = 'inventory';
        return send(201, await useCases.enroll(actor, parse(InventoryRequest, raw)));
      }
      if (req.method === 'POST' && url.pathname === '/v1/card-station/jobs/lease') {
        route = 'lease';
        const job = await useCases.lease(actor, parse(LeaseRequest, raw));
        return job ? send(200, job) : send(204);
      }
      if (req.method === 'POST' && m) {
        const id = decodeURIComponent(m[1]!);
        route = m[2]!;
        switch (m[2]) {
          case 'heartbeat':
            return send(200, await useCases.heartbeat(actor, id, parse(HeartbeatRequest, raw)));
          case 'complete':
            return send(200, await useCases.complete(actor, id, parse(CompleteRequest, raw)));
          case 'mailed':
            return send(200, await useCases.mailed(actor, id, parse(MailedRequest, raw)));
          case 'failure':
            return send(200, await useCases.failure(actor, id, parse(FailureRequest, raw)));
        }
      }
      throw new NotFoundError(`no route ${req.method} ${url.pathname}`);
    } catch (e) {
      if (isAppError(e)) return send(httpStatusOf(e), e.toBody());
      return send(500, { error: { code: 'internal', message: 'internal error' } });
    }
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
