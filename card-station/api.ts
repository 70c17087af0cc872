import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { z } from 'zod';
import {
  type CompleteRequest,
  CompleteResponse,
  type FailureRequest,
  FailureResponse,
  type HeartbeatRequest,
  HeartbeatResponse,
  type InventoryRequest,
  InventoryResponse,
  LeasedJob,
  type LeaseRequest,
  type MailedRequest,
  MailedResponse,
} from '../shared/contracts/card-station.js';
import {
  type AppError,
  AuthenticationError,
  ConflictError,
  DependencyError,
  ForbiddenError,
  GoneError,
  InternalError,
  LockedError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../shared/errors.js';

/**
 * The card station's only way to the cloud: outbound HTTPS with its machine identity (bearer JWT).
 * The agent talks to this interface, so tests can put the use cases (or a fake) behind it, and the
 * HTTP client maps the API's error bodies back to the shared error classes.
 */
export interface CardStationApi {
  enroll(req: InventoryRequest): Promise<InventoryResponse>;
  /** undefined when there is nothing to do (HTTP 204). */
  lease(req: LeaseRequest): Promise<LeasedJob | undefined>;
  heartbeat(jobId: string, req: HeartbeatRequest): Promise<HeartbeatResponse>;
  complete(jobId: string, req: CompleteRequest): Promise<CompleteResponse>;
  mailed(jobId: string, req: MailedRequest): Promise<MailedResponse>;
  failure(jobId: string, req: FailureRequest): Promise<FailureResponse>;
}

/** Where the bearer token comes from: fixed, or a command that prints a fresh one (run again on 401). */
export type TokenSource = { token: string } | { command: string };

const run = promisify(execFile);

export interface HttpApiOptions {
  baseUrl: string;
  token: TokenSource;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const errorFromBody = (status: number, body: unknown, retryAfter: string | null): AppError => {
  const e = (body as { error?: { code?: string; message?: string; field?: string; rule?: string } } | null)
    ?.error;
  const message = e?.message ?? `HTTP ${status}`;
  const opts = { ...(e?.field ? { field: e.field } : {}), ...(e?.rule ? { rule: e.rule } : {}) };
  switch (e?.code) {
    case 'validation_failed': {
      const field = e.field ?? 'body';
      const bare = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
      return new ValidationError(field, e.rule ?? 'invalid', bare);
    }
    case 'unauthenticated':
      return new AuthenticationError(message, opts);
    case 'forbidden':
      return new ForbiddenError(message, opts);
    case 'not_found':
      return new NotFoundError(message, opts);
    case 'conflict':
      return new ConflictError(message, opts);
    case 'gone':
      return new GoneError(message, opts);
    case 'locked':
      return new LockedError(message, opts);
    case 'rate_limited':
      return new RateLimitedError(message, Number(retryAfter ?? '1') || 1);
    case 'internal':
      return new InternalError(message, opts);
    default:
      return status >= 500 || status === 429
        ? new DependencyError(`the card station API answered ${status}: ${message}`)
        : new InternalError(`unexpected answer ${status} from the card station API: ${message}`);
  }
};

export class HttpCardStationApi implements CardStationApi {
  private token: string | undefined;
  private readonly fetch: typeof fetch;
  private readonly baseUrl: string;

  constructor(private readonly opts: HttpApiOptions) {
    this.fetch = opts.fetch ?? fetch;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  private async bearer(refresh: boolean): Promise<string> {
    if ('token' in this.opts.token) return this.opts.token.token;
    if (!this.token || refresh) {
      const { stdout } = await run('/bin/sh', ['-c', this.opts.token.command], { timeout: 30_000 });
      const token = stdout.trim().split('\n').at(-1)?.trim();
      if (!token) throw new AuthenticationError('the token command printed no token');
      this.token = token;
    }
    return this.token;
  }

  private async call<S extends z.ZodType>(
    path: string,
    body: unknown,
    schema: S,
  ): Promise<z.infer<S> | undefined> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetch(`${this.baseUrl}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${await this.bearer(attempt > 1)}`,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (e) {
        throw new DependencyError(`the card station API is unreachable: ${(e as Error).message}`, {
          cause: e,
        });
      }
      if (res.status === 204) return undefined;
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      if (res.ok) {
        const checked = schema.safeParse(parsed);
        if (!checked.success)
          throw new InternalError(`the card station API answered ${path} with an unexpected body`);
        return checked.data;
      }
      // A token run out: fetch a fresh one once (token commands only).
      if (res.status === 401 && attempt === 1 && 'command' in this.opts.token) continue;
      throw errorFromBody(res.status, parsed, res.headers.get('retry-after'));
    }
  }

  private async must<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    const out = await this.call(path, body, schema);
    if (out === undefined) throw new InternalError(`the card station API answered ${path} with no body`);
    return out;
  }

  enroll(req: InventoryRequest) {
    return this.must('/v1/card-station/inventory', req, InventoryResponse);
  }
  lease(req: LeaseRequest) {
    return this.call('/v1/card-station/jobs/lease', req, LeasedJob);
  }
  heartbeat(jobId: string, req: HeartbeatRequest) {
    return this.must(`/v1/card-station/jobs/${encodeURIComponent(jobId)}/heartbeat`, req, HeartbeatResponse);
  }
  complete(jobId: string, req: CompleteRequest) {
    return this.must(`/v1/card-station/jobs/${encodeURIComponent(jobId)}/complete`, req, CompleteResponse);
  }
  mailed(jobId: string, req: MailedRequest) {
    return this.must(`/v1/card-station/jobs/${encodeURIComponent(jobId)}/mailed`, req, MailedResponse);
  }
  failure(jobId: string, req: FailureRequest) {
    return this.must(`/v1/card-station/jobs/${encodeURIComponent(jobId)}/failure`, req, FailureResponse);
  }
}
