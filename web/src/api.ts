/**
 * The one way the front end talks to the API: JSON in, JSON out, errors as `ApiError` carrying the
 * server's `{ error: { code, message, field, rule } }` so forms can put a server-side problem next to the
 * field it names. The API origin comes from `/config.json` (same origin when it is empty: the local
 * stack, or CloudFront routing `/v1/*` to API Gateway).
 */

export interface RuntimeConfig {
  /** Origin (and optional path) of the API, e.g. `https://api.example.gov.tw`; empty = same origin. */
  apiBaseUrl: string;
  /** Show the local-only officer sign-in (the local token issuer). Never true in a deployment. */
  localOfficerSignIn: boolean;
}

let config: RuntimeConfig = { apiBaseUrl: '', localOfficerSignIn: false };

export const loadConfig = async (): Promise<RuntimeConfig> => {
  try {
    const res = await fetch('/config.json', { cache: 'no-store' });
    if (res.ok) {
      const c = (await res.json()) as Partial<RuntimeConfig>;
      config = {
        apiBaseUrl: typeof c.apiBaseUrl === 'string' ? c.apiBaseUrl.replace(/\/$/, '') : '',
        localOfficerSignIn: c.localOfficerSignIn === true,
      };
    }
  } catch {
    // No config file: same-origin API, no local sign-in.
  }
  return config;
};

export const runtimeConfig = (): RuntimeConfig => config;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly rule?: string,
    readonly retryAfterSeconds?: number,
    /** The whole `error` object, for extra facts a route may add (e.g. attempts left before a lock). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server's message without its `field: ` prefix (the field is shown by the form itself). */
export const serverMessage = (e: ApiError): string =>
  e.field && e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT';
  body?: unknown;
  token?: string;
  query?: Record<string, string>;
}

export const api = async <T>(path: string, opts: RequestOptions = {}): Promise<T> => {
  const qs = opts.query ? `?${new URLSearchParams(opts.query).toString()}` : '';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(`${config.apiBaseUrl}${path}${qs}`, {
      method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'the service could not be reached');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (
      json as {
        error?: { code?: string; message?: string; field?: string; rule?: string } & Record<string, unknown>;
      }
    )?.error;
    const retry = Number(res.headers.get('retry-after'));
    throw new ApiError(
      res.status,
      err?.code ?? 'http_error',
      err?.message ?? `HTTP ${res.status}`,
      err?.field,
      err?.rule,
      Number.isFinite(retry) && retry > 0 ? retry : undefined,
      err ?? {},
    );
  }
  return json as T;
};

// ---------------------------------------------------------------------------------------------------
// Sessions: kept in sessionStorage, so they end with the tab and never reach another site

const HOLDER_KEY = 'acdc.portal.session';
const OFFICER_KEY = 'acdc.station.session';

export interface HolderSession {
  token: string;
  expiresAt: string;
}
export interface OfficerSession {
  token: string;
  officerId: string;
  stationId: string;
  expiresAt?: string;
}

const readSession = <T extends { expiresAt?: string }>(key: string): T | undefined => {
  try {
    const raw = sessionStorage.getItem(key);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as T;
    if (s.expiresAt && Date.parse(s.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(key);
      return undefined;
    }
    return s;
  } catch {
    return undefined;
  }
};

export const holderSession = (): HolderSession | undefined => readSession<HolderSession>(HOLDER_KEY);
export const setHolderSession = (s: HolderSession | undefined): void => {
  if (s) sessionStorage.setItem(HOLDER_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(HOLDER_KEY);
};
export const officerSession = (): OfficerSession | undefined => readSession<OfficerSession>(OFFICER_KEY);
export const setOfficerSession = (s: OfficerSession | undefined): void => {
  if (s) sessionStorage.setItem(OFFICER_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(OFFICER_KEY);
};

/** The `exp` of a JWT (no verification: only to tell the officer when to sign in again). */
export const jwtExpiry = (token: string): string | undefined => {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as {
      exp?: number;
    };
    return payload.exp ? new Date(payload.exp * 1000).toISOString() : undefined;
  } catch {
    return undefined;
  }
};
