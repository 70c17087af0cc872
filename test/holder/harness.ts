import { createHash, generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CardReader, SmartCard } from '../../card-station/card/types.js';
import { createApiHandler } from '../../functions/http/api.js';
import { createOpsHandlers } from '../../functions/ops/handlers.js';
import { opsRoutes } from '../../functions/ops/routes.js';
import { createPortalHandlers } from '../../functions/portal/handlers.js';
import { portalRoutes } from '../../functions/portal/routes.js';
import { createSelfServiceHandlers } from '../../functions/portal/self-service-handlers.js';
import { selfServiceRoutes } from '../../functions/portal/self-service-routes.js';
import { createQueryHandlers } from '../../functions/query/handlers.js';
import { createTokenBucketLimiter } from '../../functions/query/rate-limit.js';
import { queryRoutes } from '../../functions/query/routes.js';
import { createRevocationHandlers } from '../../functions/station/revocation-handlers.js';
import { revocationRoutes } from '../../functions/station/revocation-routes.js';
import { startLocalServer } from '../../infra/local/server.js';
import { type LocalIssuer, openLocalIssuer } from '../../infra/local/tokens.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createTestSecretKeys } from '../../shared/adapters/secrets/local.js';
import { createAuditLog } from '../../shared/audit.js';
import { type CertificateAuthority, createCertificateAuthority } from '../../shared/ca/issuer.js';
import { createOcspResponder, type OcspResponder } from '../../shared/ca/ocsp.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import { deriveCardAdminKey } from '../../shared/card/unblock.js';
import { arcCheckDigit } from '../../shared/domain/arc.js';
import type { Application, Card, CertificateRecord } from '../../shared/domain/model.js';
import {
  hashSubscriberCode,
  newSubscriberCredential,
  sealInitialCode,
} from '../../shared/domain/subscriber-code.js';
import { AuthenticationError, DependencyError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import type { AuditLog } from '../../shared/ports/audit.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { OutgoingMail } from '../../shared/ports/mailer.js';
import type { PaymentGateway } from '../../shared/ports/payment.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { SecretKeys } from '../../shared/ports/secrets.js';
import { createHolderUseCases, type HolderUseCases } from '../../shared/usecases/holder.js';
import { createOpsUseCases } from '../../shared/usecases/ops.js';
import { createPortalUseCases } from '../../shared/usecases/portal.js';
import { createQueryUseCases } from '../../shared/usecases/query.js';
import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { buildHierarchy, SoftwareSigner, type TestHierarchy } from '../ca/helpers.js';

/**
 * The holder (login and self-service), query, ops and station-revocation routes on the local server
 * (the API Gateway stand-in), over the memory repository, a test CA hierarchy (software signer,
 * shared/ca/issuer.ts for real) with its OCSP responder, in-memory secret keys and a mailer that keeps
 * what it sends. Payment is not served (the gateway refuses).
 */

const SCRYPT_LOG2N = 10;
const generateKeyPairAsync = promisify(generateKeyPair);

/** Personal data of the test holder: what no public answer may ever contain. */
export const HOLDER = {
  arcNumber: 'A800000014',
  name: 'NGUYEN THI HOA',
  dateOfBirth: '1991-07-15',
  email: 'hoa.nguyen@example.org',
  mailingAddress: { postalCode: '10617', city: 'Taipei', line1: 'No. 25, Ln. 3, Roosevelt Rd. Sec. 4' },
  subjectSerial: '4821390057716624',
} as const;

export const INITIAL_CODE = 'K7M4HT9C3A';

export interface SeededCard {
  application: Application;
  card: Card;
  signature: CertificateRecord;
  encryption: CertificateRecord;
  /** The card's private keys: this test's stand-in for the chip (absent for an emulated card). */
  keys: { signature?: KeyObject; encryption?: KeyObject };
  code: string;
}

export interface Harness {
  url: string;
  server: Server;
  repo: Repository;
  clock: AdjustableClock;
  audit: AuditLog;
  secrets: SecretKeys;
  ca: CertificateAuthority;
  hierarchy: TestHierarchy;
  holder: HolderUseCases;
  mails: OutgoingMail[];
  issuer: LocalIssuer;
  /** The issuing CA's OCSP responder (delegated responder certificate of the test hierarchy). */
  ocsp: OcspResponder;
  arcKey: (arcNumber: string) => Promise<string>;
  emailKey: (email: string) => Promise<string>;
  officer: () => Promise<string>;
  ops: () => Promise<string>;
  /** A holder session for an application (as POST /v1/portal/sessions would give). */
  session: (applicationId: string) => Promise<string>;
  close: () => Promise<void>;
}

let seq = 0;

const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export const startHarness = async (opts: { queryBurst?: number } = {}): Promise<Harness> => {
  const clock = new AdjustableClock(undefined, new Date('2026-11-23T02:00:00.000Z'));
  const repo = createMemoryRepository({ clock });
  const audit = createAuditLog(repo.audit, clock);
  const secrets = createTestSecretKeys();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const arcKey = async (arc: string) =>
    hex(await secrets.mac('lookup', new TextEncoder().encode(`arc|${arc}`)));
  const emailKey = async (email: string) =>
    hex(await secrets.mac('lookup', new TextEncoder().encode(`email|${email}`)));

  const signer = new SoftwareSigner();
  const refs = {
    root: signer.add('root', 'RSA-2048'),
    issuing: signer.add('issuing', 'RSA-2048'),
    ocsp: signer.add('ocsp', 'EC-P256'),
  };
  const urls = pkiUrls('http://127.0.0.1:8080');
  const hierarchy = await buildHierarchy(signer, refs, new Date('2026-01-01T00:00:00Z'), urls);
  const ca = createCertificateAuthority({
    certificates: repo.certificates,
    docs: repo.docs,
    audit,
    signer,
    clock,
    ca: hierarchy.issuing,
    urls,
    emailKey,
  });
  const chain = [hierarchy.issuing.certificate, hierarchy.root.certificate].map((c) =>
    Buffer.from(c).toString('base64'),
  );

  const mails: OutgoingMail[] = [];
  const cardState = createCardStateUseCases({
    cards: repo.cards,
    certificates: repo.certificates,
    markers: repo.markers,
    ca,
    audit,
    clock,
  });
  const holder = createHolderUseCases({
    repo,
    secrets,
    clock,
    audit,
    mailer: {
      send: async (m) => {
        mails.push(m);
        return { messageId: `m-${mails.length}` };
      },
    },
    mail: { portalUrl: 'http://127.0.0.1:8080/portal' },
    ca: {
      hold: ca.hold,
      release: ca.release,
      revoke: ca.revoke,
      issueCardCertificates: ca.issueCardCertificates,
      chain: async () => chain,
    },
    cardState,
    arcKey,
    emailKey,
    scryptLog2N: SCRYPT_LOG2N,
  });
  const query = createQueryUseCases({
    certificates: repo.certificates,
    clock,
    emailKey,
    issuerName: (id) => (id === hierarchy.issuing.id ? hierarchy.issuing.subjectText : undefined),
  });
  const ops = createOpsUseCases({ cardState, auditStore: repo.audit, audit, clock });
  const noPayments: PaymentGateway = {
    name: 'none',
    acknowledgement: '1|OK',
    checkout: () => {
      throw new DependencyError('this test harness takes no payments');
    },
    verifyCallback: () => {
      throw new AuthenticationError('this test harness takes no payment callbacks');
    },
  };
  const portal = createPortalUseCases({
    repo,
    audit,
    clock,
    secrets,
    gateway: noPayments,
    sessionMinutes: 15,
    callbackUrl: 'http://127.0.0.1:8080/v1/payments/callback',
    returnUrl: 'http://127.0.0.1:8080/portal/order',
    scryptLog2N: SCRYPT_LOG2N,
  });
  const ocsp = createOcspResponder({
    certificates: repo.certificates,
    signer,
    clock,
    issuer: hierarchy.issuing,
    responder: hierarchy.ocspResponder,
  });

  const dir = await mkdtemp(join(tmpdir(), 'h7-'));
  const issuer = await openLocalIssuer(join(dir, 'issuer.json'));
  const logger = createLogger('test');
  const authenticateHolder = async (token: string) => {
    const s = await repo.sessions.get(sha256hex(token));
    if (!s)
      throw new AuthenticationError('the session is unknown or has expired', { rule: 'holder.session' });
    return { applicationId: s.applicationId, sessionId: s.tokenHash.slice(0, 16) };
  };
  const functions = {
    query: createApiHandler(queryRoutes, createQueryHandlers({ query }), {
      logger,
      rateLimit: createTokenBucketLimiter({ capacity: opts.queryBurst ?? 1000, refillPerSecond: 0.5, clock }),
    }),
    ops: createApiHandler(opsRoutes, createOpsHandlers({ ops }), { logger }),
    station: createApiHandler(revocationRoutes, createRevocationHandlers({ cardState }), { logger }),
    portal: createApiHandler(
      [...portalRoutes, ...selfServiceRoutes],
      { ...createPortalHandlers({ portal }), ...createSelfServiceHandlers({ holder }) },
      { logger, authenticateHolder },
    ),
  };
  const { server, url } = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    specs: [...queryRoutes, ...opsRoutes, ...revocationRoutes, ...portalRoutes, ...selfServiceRoutes],
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
    secrets,
    ca,
    hierarchy,
    holder,
    mails,
    issuer,
    ocsp,
    arcKey,
    emailKey,
    officer: () => issuer.issue('officer', 'officer-7', { stationId: 'TPE01' }),
    ops: () => issuer.issue('ops', 'ops-ana'),
    session: async (applicationId) => {
      const token = randomBytes(32).toString('base64url');
      const now = clock.now();
      await repo.sessions.create({
        tokenHash: sha256hex(token),
        applicationId,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 15 * 60_000).toISOString(),
      });
      return token;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

const spkiOf = (k: KeyObject) => (k.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64');

/**
 * An application, its card and the two certificates issued by the test CA for the card's keys, in the
 * state issuance leaves them: card and application `mailed`, both certificates `good`, the initial
 * subscriber code hashed and sealed.
 */
export const seedIssuedCard = async (
  h: Harness,
  over: {
    cardStatus?: Card['status'];
    appStatus?: Application['status'];
    code?: string;
    arcNumber?: string;
    /** A card made elsewhere (an emulated card): its number and public keys; no private keys here then. */
    cardNumber?: string;
    keys?: Card['keys'];
  } = {},
): Promise<SeededCard> => {
  const n = ++seq;
  const now = h.clock.now().toISOString();
  const cardNumber = over.cardNumber ?? `AC${String(n).padStart(14, '0')}`;
  const applicationId = `app-h7-${n}`;
  const code = over.code ?? INITIAL_CODE;
  const [sig, enc] = over.keys
    ? [undefined, undefined]
    : await Promise.all([
        generateKeyPairAsync('rsa', { modulusLength: 2048 }),
        generateKeyPairAsync('ec', { namedCurve: 'prime256v1' }),
      ]);
  const keys: Card['keys'] = over.keys ?? {
    signature: { spki: spkiOf(sig!.publicKey), algorithm: 'RSA-2048', keyId: '01' },
    encryption: { spki: spkiOf(enc!.publicKey), algorithm: 'EC-P256', keyId: '02' },
  };
  const issued = await h.ca.issueCardCertificates({
    applicationId,
    cardNumber,
    holderName: HOLDER.name,
    subjectSerial: HOLDER.subjectSerial,
    email: HOLDER.email,
    keys,
    actor: { type: 'system', id: 'workflow' },
  });
  const serials = { signature: issued.signature.serialNumber, encryption: issued.encryption.serialNumber };
  const credential = newSubscriberCredential(
    await hashSubscriberCode(code, h.secrets, { log2N: SCRYPT_LOG2N }),
    await sealInitialCode(code, applicationId, h.secrets),
  );
  const application = await h.repo.applications.create({
    id: applicationId,
    version: 0,
    status: over.appStatus ?? 'mailed',
    arcKey: await h.arcKey(over.arcNumber ?? HOLDER.arcNumber),
    arcLast4: (over.arcNumber ?? HOLDER.arcNumber).slice(-4),
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
    credential,
    fee: { currency: 'TWD', items: [], total: 278 },
    cardNumber,
    certificateSerials: serials,
  });
  const card = await h.repo.cards.create({
    cardNumber,
    version: 0,
    status: over.cardStatus ?? 'mailed',
    keys,
    enrolledAt: now,
    enrolledBy: 'bureau-1',
    applicationId,
    certificateSerials: serials,
    ...(over.cardStatus === 'active' ? { activatedAt: now } : {}),
    updatedAt: now,
  });
  return {
    application,
    card,
    signature: issued.signature,
    encryption: issued.encryption,
    keys: { signature: sig?.privateKey, encryption: enc?.privateKey },
    code,
  };
};

/** RSA PKCS#1 v1.5 / SHA-256 by the card's signature key, base64 (what the card client asks the card for). */
export const cardSign = (s: SeededCard, message: string): string =>
  sign('sha256', Buffer.from(message, 'utf8'), s.keys.signature!).toString('base64');

export type CallResult = {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON of any shape; the assertions check them
  body: any;
  headers: Headers;
};

/** fetch + JSON with a bearer token. */
export const call = async (
  url: string,
  method: string,
  body?: unknown,
  token?: string,
): Promise<CallResult> => {
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

/** A valid ARC number (new format) unique to `n`, so a login finds exactly this holder's application. */
export const uniqueArcNumber = (n: number): string => {
  const first9 = `H9${String(n).padStart(7, '0')}`;
  return `${first9}${arcCheckDigit(first9)}`;
};

/**
 * A card as the card station leaves it, on an emulated card reader: keys generated on the card,
 * certificates issued by the harness CA for those keys and written with the chain, the admin key K_card
 * injected, issuer mode closed, PIN locked until activation; the server records say "mailed".
 */
export const emulatedCard = async (
  h: Harness,
  reader: CardReader,
  over: { cardNumber: string; arcNumber?: string },
): Promise<{ card: SmartCard; seeded: SeededCard }> => {
  const card = await reader.initialize(over.cardNumber);
  const keys = await card.generateKeyPairs('RSA-2048');
  const spki = (k: { spki: Uint8Array }) => Buffer.from(k.spki).toString('base64');
  const seeded = await seedIssuedCard(h, {
    cardNumber: over.cardNumber,
    ...(over.arcNumber ? { arcNumber: over.arcNumber } : {}),
    keys: {
      signature: { spki: spki(keys.signature), algorithm: 'RSA-2048', keyId: '01' },
      encryption: { spki: spki(keys.encryption), algorithm: 'RSA-2048', keyId: '02' },
    },
  });
  await card.writeCertificates({
    signature: Buffer.from(seeded.signature.der!, 'base64'),
    encryption: Buffer.from(seeded.encryption.der!, 'base64'),
    chain: [h.hierarchy.issuing.certificate, h.hierarchy.root.certificate],
  });
  await card.closePersonalization(await deriveCardAdminKey(h.secrets, over.cardNumber));
  return { card, seeded };
};
