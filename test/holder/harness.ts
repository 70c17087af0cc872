import { mkdtemp } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiHandler } from '../../functions/http/api.js';
import { createOpsHandlers } from '../../functions/ops/handlers.js';
import { opsRoutes } from '../../functions/ops/routes.js';
import { createQueryHandlers } from '../../functions/query/handlers.js';
import { createTokenBucketLimiter } from '../../functions/query/rate-limit.js';
import { queryRoutes } from '../../functions/query/routes.js';
import { createRevocationHandlers } from '../../functions/station/revocation-handlers.js';
import { revocationRoutes } from '../../functions/station/revocation-routes.js';
import { startLocalServer } from '../../infra/local/server.js';
import { type LocalIssuer, openLocalIssuer } from '../../infra/local/tokens.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createAuditLog } from '../../shared/audit.js';
import { certificateLifecycle, transition } from '../../shared/domain/lifecycle.js';
import type {
  Actor,
  Application,
  Card,
  CertificateRecord,
  RevocationReason,
} from '../../shared/domain/model.js';
import { NotFoundError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { AuditLog } from '../../shared/ports/audit.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Repository } from '../../shared/ports/repository.js';
import { createOpsUseCases } from '../../shared/usecases/ops.js';
import { createQueryUseCases } from '../../shared/usecases/query.js';
import { type CardCertificateOperations, createCardStateUseCases } from '../../shared/usecases/revocation.js';

/**
 * A CA stand-in with the issuer's semantics for status changes (idempotent hold / release / revoke
 * through the certificate lifecycle, each audited), counting how often the CRL would be regenerated.
 */
export const createFakeCa = (repo: Repository, clock: AdjustableClock, audit: AuditLog) => {
  let crlRegenerations = 0;
  const change = async (
    serial: string,
    actor: Actor,
    action: string,
    decide: (r: CertificateRecord, now: string) => CertificateRecord | undefined,
  ) => {
    const r = await repo.certificates.get(serial);
    if (!r) throw new NotFoundError(`no certificate ${serial}`);
    const next = decide(r, clock.now().toISOString());
    crlRegenerations++;
    if (!next) return r;
    const saved = await repo.certificates.save(next);
    await audit.append({ actor, action, subject: { type: 'certificate', id: serial }, details: {} });
    return saved;
  };
  const ops: CardCertificateOperations = {
    hold: (serial, actor) =>
      change(serial, actor, 'certificate.hold', (r, now) =>
        r.status === 'hold'
          ? undefined
          : {
              ...r,
              status: transition(certificateLifecycle, 'certificate', r.status, 'hold'),
              holdAt: now,
              updatedAt: now,
            },
      ),
    release: (serial, actor) =>
      change(serial, actor, 'certificate.release', (r, now) => {
        if (r.status === 'good') return undefined;
        const { holdAt: _h, ...rest } = r;
        return {
          ...rest,
          status: transition(certificateLifecycle, 'certificate', r.status, 'good'),
          updatedAt: now,
        };
      }),
    revoke: (serial, reason: RevocationReason, actor) =>
      change(serial, actor, 'certificate.revoke', (r, now) =>
        r.status === 'revoked'
          ? undefined
          : {
              ...r,
              status: transition(certificateLifecycle, 'certificate', r.status, 'revoked'),
              revokedAt: now,
              revocationReason: reason,
              updatedAt: now,
            },
      ),
  };
  return { ...ops, crlRegenerations: () => crlRegenerations };
};

let seq = 0;
const next = () => ++seq;

/** Personal data of the test holder: what no public answer may ever contain. */
export const HOLDER = {
  arcNumber: 'A800000014',
  name: 'NGUYEN THI HOA',
  dateOfBirth: '1991-07-15',
  email: 'hoa.nguyen@example.org',
  mailingAddress: { postalCode: '10617', city: 'Taipei', line1: 'No. 25, Ln. 3, Roosevelt Rd. Sec. 4' },
  subjectSerial: '4821390057716624',
} as const;

export interface SeededCard {
  application: Application;
  card: Card;
  signature: CertificateRecord;
  encryption: CertificateRecord;
}

/** An application, its card and two good certificates, in the state issuance leaves them in. */
export const seedIssuedCard = async (
  repo: Repository,
  clock: AdjustableClock,
  over: { cardStatus?: Card['status']; appStatus?: Application['status']; activatedAt?: string } = {},
): Promise<SeededCard> => {
  const n = next();
  const now = clock.now().toISOString();
  const cardNumber = `AC${String(n).padStart(14, '0')}`;
  const applicationId = `app-h-${n}`;
  const serial = (k: number) => `7${String(n).padStart(7, '0')}${k}${'a1b2c3d4e5f6'}`;
  const application = await repo.applications.create({
    id: applicationId,
    version: 0,
    status: over.appStatus ?? 'mailed',
    arcKey: `arck-${n}`,
    arcLast4: HOLDER.arcNumber.slice(-4),
    arcExpiry: '2029-05-31',
    name: HOLDER.name,
    dateOfBirth: HOLDER.dateOfBirth,
    email: HOLDER.email,
    mailingAddress: { ...HOLDER.mailingAddress },
    stationId: 'TPE01',
    officerId: 'officer-7',
    createdAt: now,
    updatedAt: now,
    paymentDeadline: now,
    credential: { hash: 'scrypt$placeholder', pepperKeyId: 'pepper-1', failures: 0 },
    fee: { currency: 'TWD', items: [], total: 278 },
    cardNumber,
    certificateSerials: { signature: serial(1), encryption: serial(2) },
  });
  const base = {
    version: 0,
    issuer: 'issuing-ca-1',
    status: 'good' as const,
    cardNumber,
    applicationId,
    subjectName: HOLDER.name,
    subjectSerial: HOLDER.subjectSerial,
    emailKey: `emk-${HOLDER.email}`,
    issuedMonth: now.slice(0, 7),
    notBefore: now,
    notAfter: new Date(clock.now().getTime() + 5 * 365 * 86_400_000).toISOString(),
    reservedAt: now,
    issuedAt: now,
    updatedAt: now,
    der: Buffer.from(`not a real certificate for ${HOLDER.name} ${HOLDER.email}`).toString('base64'),
  };
  const signature = await repo.certificates.create({
    ...base,
    serialNumber: serial(1),
    profile: 'holder-signature',
  });
  const encryption = await repo.certificates.create({
    ...base,
    serialNumber: serial(2),
    profile: 'holder-encryption',
  });
  const card = await repo.cards.create({
    cardNumber,
    version: 0,
    status: over.cardStatus ?? 'mailed',
    keys: {
      signature: { spki: 'MFkw', algorithm: 'RSA-2048', keyId: '01' },
      encryption: { spki: 'MFkx', algorithm: 'RSA-2048', keyId: '02' },
    },
    enrolledAt: now,
    enrolledBy: 'bureau-1',
    applicationId,
    certificateSerials: { signature: serial(1), encryption: serial(2) },
    ...(over.activatedAt ? { activatedAt: over.activatedAt } : {}),
    updatedAt: now,
  });
  return { application, card, signature, encryption };
};

export interface Harness {
  url: string;
  server: Server;
  repo: Repository;
  clock: AdjustableClock;
  audit: AuditLog;
  ca: ReturnType<typeof createFakeCa>;
  issuer: LocalIssuer;
  officer: () => Promise<string>;
  ops: () => Promise<string>;
  close: () => Promise<void>;
}

/** Query, ops and station revocation routes on the local server, over the memory repository. */
export const startStateHarness = async (opts: { queryBurst?: number } = {}): Promise<Harness> => {
  const clock = new AdjustableClock(undefined, new Date('2026-11-23T02:00:00.000Z'));
  const repo = createMemoryRepository({ clock });
  const audit = createAuditLog(repo.audit, clock);
  const ca = createFakeCa(repo, clock, audit);
  const logger = createLogger('test');
  const cardState = createCardStateUseCases({
    cards: repo.cards,
    certificates: repo.certificates,
    markers: repo.markers,
    ca,
    audit,
    clock,
  });
  const query = createQueryUseCases({
    certificates: repo.certificates,
    clock,
    emailKey: async (email) => `emk-${email.toLowerCase()}`,
    issuerName: (id) => (id === 'issuing-ca-1' ? 'C=TW, O=ACDC, CN=ACDC Issuing CA - G1' : undefined),
  });
  const ops = createOpsUseCases({ cardState, auditStore: repo.audit, audit, clock });
  const dir = await mkdtemp(join(tmpdir(), 'h7-'));
  const issuer = await openLocalIssuer(join(dir, 'issuer.json'));
  const functions = {
    query: createApiHandler(queryRoutes, createQueryHandlers({ query }), {
      logger,
      rateLimit: createTokenBucketLimiter({
        capacity: opts.queryBurst ?? 1000,
        refillPerSecond: 0.5,
        clock,
      }),
    }),
    ops: createApiHandler(opsRoutes, createOpsHandlers({ ops }), { logger }),
    station: createApiHandler(revocationRoutes, createRevocationHandlers({ cardState }), { logger }),
  };
  const { server, url } = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    specs: [...queryRoutes, ...opsRoutes, ...revocationRoutes],
    functions,
    verifyJwt: async (t) => (await issuer.verify(t)) as Record<string, unknown>,
    logger,
  });
  return {
    url,
    server,
    repo,
    clock,
    audit,
    ca,
    issuer,
    officer: () => issuer.issue('officer', 'officer-7', { stationId: 'TPE01' }),
    ops: () => issuer.issue('ops', 'ops-ana'),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

/** fetch + JSON with a bearer token. */
export const call = async (
  url: string,
  method: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: any; headers: Headers }> => {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(url, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
};
