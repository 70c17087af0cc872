import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError, ValidationError } from '../../shared/errors.js';
import type { RawRequest, RawResponse, RawRoute } from './server.js';
import { type LocalIssuer, openLocalIssuer } from './tokens.js';

/**
 * The web front end on the local stack: the static build of `web/` (`npm run build:web` → web/dist)
 * served under `/` with an SPA fallback, plus a LOCAL-ONLY officer sign-in endpoint backed by the local
 * token issuer. In AWS the same build is served by S3 + CloudFront and officers sign in with the real
 * identity provider; nothing in this file is deployed.
 */

export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Paths that belong to the API and other raw routes: never answered with the SPA's index.html. */
const NOT_THE_APP = ['/v1/', '/pki/', '/sandbox/', '/local/', '/health', '/.well-known/'];

/**
 * The page may talk to its own origin only, submit forms to its own origin (the sandbox gateway lives
 * there locally) and open the application form PDF it made itself (blob:).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

export interface WebAppRouteOptions {
  /** The built front end; default `web/dist` of this repository. */
  distDir?: string;
  /**
   * What `/config.json` says to the page. Locally the API is on the same origin and the local officer
   * sign-in is shown.
   */
  config?: { apiBaseUrl?: string; localOfficerSignIn?: boolean };
}

const json = (status: number, body: unknown): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Web front end not built</title>
<body style="font-family:system-ui;max-width:40rem;margin:2rem auto">
<h1>The web front end is not built yet</h1><p>Run <code>npm run build:web</code> and reload.
The API is up: try <a href="/health">/health</a>.</p></body></html>`;

/**
 * Serves the front end: files from the build folder with their content types (hashed `/assets/*`
 * cached for a year, everything else revalidated), `/config.json` for the local stack, and
 * `index.html` for any other GET that is a page of the app (client-side routes such as `/portal`).
 */
export const webAppRoute = (opts: WebAppRouteOptions = {}): RawRoute => {
  const root = resolve(opts.distDir ?? DEFAULT_WEB_DIST);
  const config = { apiBaseUrl: '', localOfficerSignIn: true, ...opts.config };

  const fileResponse = async (path: string, method: string): Promise<RawResponse | undefined> => {
    try {
      const s = await stat(path);
      if (!s.isFile()) return undefined;
      const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
      const immutable = path.startsWith(join(root, 'assets') + sep);
      const body = await readFile(path);
      return {
        status: 200,
        headers: {
          ...SECURITY_HEADERS,
          'content-type': type,
          'content-length': String(body.byteLength),
          'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        },
        body: method === 'HEAD' ? '' : body,
      };
    } catch {
      return undefined;
    }
  };

  return {
    prefix: '/',
    async handle(req: RawRequest) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
      if (NOT_THE_APP.some((p) => req.path === p.replace(/\/$/, '') || req.path.startsWith(p)))
        return undefined;
      if (req.path === '/config.json') return json(200, config);

      let decoded: string;
      try {
        decoded = decodeURIComponent(req.path);
      } catch {
        return undefined;
      }
      // Stay inside the build folder whatever the path says (`..`, encoded slashes, NUL).
      if (decoded.includes('\0')) return undefined;
      const target = normalize(join(root, decoded));
      if (target !== root && !target.startsWith(root + sep)) return undefined;

      if (decoded !== '/' && !decoded.endsWith('/')) {
        const file = await fileResponse(target, req.method);
        if (file) return file;
        // A missing file with an extension (a stale hashed asset, a typo): a real 404, not the app.
        if (extname(decoded) !== '') return undefined;
      }
      const index = await fileResponse(join(root, 'index.html'), req.method);
      if (index) return index;
      return {
        status: 503,
        headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
        body: NOT_BUILT,
      };
    },
  };
};

export interface LocalOfficerTokenOptions {
  /** The local issuer, or the key file to open it from (`<STATE_DIR>/auth/issuer-key.json`). */
  issuer: LocalIssuer | { keyFile: string };
  /** The stack's clock (a compressed demo clock must stamp tokens the way the server verifies them). */
  now?: () => Date;
  ttlSeconds?: number;
}

/**
 * LOCAL ONLY — NEVER DEPLOYED. `POST /local/officer-token` `{ officerId, stationId }` →
 * `{ token, expiresAt }`: the station console's "sign in" on the one-machine stack, the same token
 * `npm run token -- officer --station TPE01` prints. Anyone who can reach the local server can get an
 * officer token, which is why the local server only listens on 127.0.0.1 and why this route has no
 * counterpart in infra/ (in AWS, officers sign in with the ministry's identity provider).
 */
export const localOfficerTokenRoute = (opts: LocalOfficerTokenOptions): RawRoute => {
  let issuer: Promise<LocalIssuer> | undefined;
  const getIssuer = () => {
    issuer ??=
      'issue' in opts.issuer ? Promise.resolve(opts.issuer) : openLocalIssuer(opts.issuer.keyFile, opts.now);
    return issuer;
  };
  return {
    prefix: '/local/',
    async handle(req) {
      if (req.path !== '/local/officer-token') return undefined;
      if (req.method !== 'POST') {
        return json(405, { error: { code: 'not_found', message: `method ${req.method} not allowed here` } });
      }
      try {
        let body: { officerId?: unknown; stationId?: unknown };
        try {
          body = JSON.parse(req.body.toString('utf8') || '{}') as typeof body;
        } catch {
          throw new ValidationError('body', 'body.json', 'must be a JSON object');
        }
        const officerId = typeof body.officerId === 'string' ? body.officerId.trim() : '';
        const stationId = typeof body.stationId === 'string' ? body.stationId.trim().toUpperCase() : '';
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(officerId)) {
          throw new ValidationError('officerId', 'token.subject', 'must be 1–64 letters, digits or ._@-');
        }
        if (!/^[A-Z0-9]{2,10}$/.test(stationId)) {
          throw new ValidationError(
            'stationId',
            'token.station',
            'must be 2–10 capital letters or digits, e.g. TPE01',
          );
        }
        const ttl = opts.ttlSeconds ?? 8 * 3600;
        const token = await (await getIssuer()).issue('officer', officerId, { stationId, ttlSeconds: ttl });
        const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
          exp: number;
        };
        return json(200, { token, expiresAt: new Date(exp.exp * 1000).toISOString(), localOnly: true });
      } catch (e) {
        if (e instanceof AppError) return json(400, e.toBody());
        throw e;
      }
    },
  };
};

/**
 * Both routes in the order the local server must try them: the local sign-in first, the app (which
 * answers every other page path) last — mount these AFTER the sandbox gateway and the other raw routes.
 */
export const localWebRoutes = (
  opts: WebAppRouteOptions & { stateDir: string; issuer?: LocalIssuer; now?: () => Date },
): RawRoute[] => [
  localOfficerTokenRoute({
    issuer: opts.issuer ?? { keyFile: join(opts.stateDir, 'auth', 'issuer-key.json') },
    ...(opts.now ? { now: opts.now } : {}),
  }),
  webAppRoute(opts),
];
