import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allRoutes } from '../../functions/routes.js';
import { createIssuanceTaskHandlers } from '../../functions/workflow/handlers.js';
import { composeLocalApi } from '../../infra/local/composition.js';
import { startLocalServer } from '../../infra/local/server.js';
import { type LocalIssuer, openLocalIssuer } from '../../infra/local/tokens.js';
import { createOutboxMailer, DEFAULT_FROM } from '../../shared/adapters/mail/outbox.js';
import { createMemoryRepository } from '../../shared/adapters/memory/repository.js';
import { createSandboxGateway, sandboxRawRoute } from '../../shared/adapters/payment/sandbox.js';
import { createLocalSecretKeys } from '../../shared/adapters/secrets/local.js';
import { createAuditLog } from '../../shared/audit.js';
import { signCrl } from '../../shared/ca/crl.js';
import { type CertificateAuthority, createCertificateAuthority } from '../../shared/ca/issuer.js';
import type { PkiMaterial } from '../../shared/ca/material.js';
import { createPkiService } from '../../shared/ca/pki-service.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import { DependencyError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { emailKeyOf } from '../../shared/lookup-keys.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { SecretKeys } from '../../shared/ports/secrets.js';
import { issuingAuthorityOf } from '../../shared/usecases/issuance.js';
import { type SweepReport, sweep } from '../../shared/usecases/sweeper.js';
import {
  createLocalWorkflow,
  ISSUANCE_DEFINITION_URL,
  type LocalWorkflow,
} from '../../shared/workflow/local-engine.js';
import { buildHierarchy, materialOf } from '../ca/helpers.js';
import { freePort } from '../e2e/harness.js';
import { FaultyMailer, FaultySigner, type InstrumentedRepository, instrumentRepository } from './faulty.js';

/**
 * The whole product in one jest process, composed like infra/local/stack.ts (`npm start`) — the same route
 * table, handlers, use cases, CA issuer, sandbox gateway, .eml outbox and local Step Functions engine
 * running statemachines/issuance.asl.json — but over the memory repository, a software CA signer and local
 * secret keys in a temp folder, each wrapped so a test can inject faults and read back every stored item.
 * No PKCS#11 here: the tests that need cards bring the card-station agent and its SoftHSM reader.
 */

export const OPS_EMAIL = 'ops@acdc.test';
export const SCRYPT_LOG2N = 10;

export interface TestStackOptions {
  /** Card-station lease length in seconds (default 300, as the product). */
  leaseSeconds?: number;
  /** Edits of the issuance state machine definition (e.g. a short task timeout); the rest is as shipped. */
  editDefinition?: (definition: { States: Record<string, Record<string, unknown>> }) => void;
  /** Query rate limiter burst (default large: the fuzz suite is not about the limiter). */
  queryBurst?: number;
  logger?: Logger;
  /** Where the (ticking) clock starts (default now). */
  start?: Date;
}

export interface TestStack {
  url: string;
  dir: string;
  clock: AdjustableClock;
  store: InstrumentedRepository;
  repo: InstrumentedRepository['repo'];
  signer: FaultySigner;
  mailer: FaultyMailer;
  secrets: SecretKeys;
  secretsDir: string;
  outboxDir: string;
  ca: CertificateAuthority;
  material: PkiMaterial;
  workflow: LocalWorkflow;
  issuer: LocalIssuer;
  logger: Logger;
  /** Bearer tokens from the local issuer, as `npm run token` prints them. */
  tokens: {
    officer(stationId?: string, subject?: string): Promise<string>;
    ops(subject?: string): Promise<string>;
    cardStation(subject?: string): Promise<string>;
  };
  sweepNow(): Promise<SweepReport>;
  /** Names of the .eml files in the outbox and their raw text. */
  outbox(): Promise<{ file: string; text: string }[]>;
  stop(): Promise<void>;
}

const TASK_STATES_RETRY_NOW = (definition: { States: Record<string, { Type?: string }> }) =>
  Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, s]) => s.Type === 'Task')
      .map(([name]) => [name, 0]),
  );

export const startTestStack = async (opts: TestStackOptions = {}): Promise<TestStack> => {
  const dir = await mkdtemp(join(tmpdir(), 'acdc-h13-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logger = opts.logger ?? createLogger('h13');
  const clock = new AdjustableClock();
  if (opts.start) clock.advance(opts.start.getTime() - Date.now());

  const store = instrumentRepository(createMemoryRepository({ clock }));
  const repo = store.repo;
  const audit = createAuditLog(repo.audit, clock);
  const secretsDir = join(dir, 'keys');
  const secrets = createLocalSecretKeys({ dir: secretsDir });
  const emailKey = (email: string) => emailKeyOf(secrets, email);

  // The CA: a root, an issuing CA and an OCSP responder certified through the (faulty) software signer.
  const signer = new FaultySigner();
  const refs = {
    root: signer.add('root-ca', 'RSA-2048'),
    issuing: signer.add('issuing-ca', 'RSA-2048'),
    ocsp: signer.add('ocsp-responder', 'EC-P256'),
  };
  const urls = pkiUrls(baseUrl);
  const caStart = new Date(clock.now().getTime() - 86_400_000);
  const h = await buildHierarchy(signer, refs, caStart, urls);
  const rootCrl = await signCrl(signer, {
    issuer: h.root,
    number: 1n,
    thisUpdate: caStart,
    nextUpdate: new Date(caStart.getTime() + 365 * 86_400_000),
    entries: [],
  });
  const material = materialOf(h, {
    mode: 'local',
    createdAt: caStart,
    publicBaseUrl: baseUrl,
    urls,
    rootCrl: {
      der: rootCrl,
      thisUpdate: caStart,
      nextUpdate: new Date(caStart.getTime() + 365 * 86_400_000),
    },
  });
  const ca = createCertificateAuthority({
    certificates: repo.certificates,
    docs: repo.docs,
    audit,
    signer,
    clock,
    ca: material.issuing,
    urls,
    emailKey,
  });
  const pki = createPkiService({ material, certificates: repo.certificates, signer, clock, crl: ca.crl });

  // Mail (outbox .eml, behind a switch), sandbox gateway, workflow.
  const outboxDir = join(dir, 'outbox');
  const mailer = new FaultyMailer(
    createOutboxMailer({ dir: outboxDir, clock, from: DEFAULT_FROM }),
    () => new DependencyError('the mail relay is down (injected)'),
  );
  const mail = { portalUrl: `${baseUrl}/` };
  const sandbox = createSandboxGateway({ baseUrl, clock });
  const issuingAuthority = issuingAuthorityOf(ca, material.chain);
  const definition = JSON.parse(await readFile(ISSUANCE_DEFINITION_URL, 'utf8')) as {
    States: Record<string, Record<string, unknown>>;
  };
  opts.editDefinition?.(definition);
  const workflow = createLocalWorkflow({
    applications: repo.applications,
    logger,
    definitionText: JSON.stringify(definition),
    // Retries at once: the back-off is Step Functions' business, what a retry does is ours.
    retryIntervalOverrides: TASK_STATES_RETRY_NOW(definition as never),
    handlers: (wf) =>
      createIssuanceTaskHandlers({
        repo,
        audit,
        mailer,
        mail,
        opsEmail: OPS_EMAIL,
        clock,
        ca: issuingAuthority,
        workflow: wf,
        logger,
      }),
  });

  // Use cases and API functions: the local stack's own composition, over the failing adapters.
  const { functions } = composeLocalApi({
    repo,
    audit,
    clock,
    secrets,
    mailer,
    workflow,
    gateway: sandbox.gateway,
    ca,
    issuingAuthority,
    material,
    pki,
    signer,
    emailKey,
    logger,
    baseUrl,
    mail,
    opsEmail: OPS_EMAIL,
    scryptLog2N: SCRYPT_LOG2N,
    sessionMinutes: 15,
    queryRateLimit: { burst: opts.queryBurst ?? 100_000, perSecond: 10 },
    ...(opts.leaseSeconds ? { leaseSeconds: opts.leaseSeconds } : {}),
  });

  const issuer = await openLocalIssuer(join(dir, 'auth', 'issuer-key.json'), () => clock.now());
  const { server, url } = await startLocalServer({
    host: '127.0.0.1',
    port,
    specs: allRoutes,
    functions,
    verifyJwt: async (t) => (await issuer.verify(t)) as Record<string, unknown>,
    rawRoutes: [sandboxRawRoute(sandbox)],
    logger,
  });
  await ca.regenerateCrl();
  const sweepDeps = {
    repo,
    audit,
    mailer,
    mail,
    opsEmail: OPS_EMAIL,
    clock,
    ca: issuingAuthority,
    workflow,
    logger,
  };

  return {
    url,
    dir,
    clock,
    store,
    repo,
    signer,
    mailer,
    secrets,
    secretsDir,
    outboxDir,
    ca,
    material,
    workflow,
    issuer,
    logger,
    tokens: {
      officer: (stationId = 'TPE01', subject = 'officer-7') =>
        issuer.issue('officer', subject, { stationId }),
      ops: (subject = 'ops-ana') => issuer.issue('ops', subject),
      cardStation: (subject = 'bureau-1') =>
        issuer.issue('card-station', subject, { ttlSeconds: 30 * 86_400 }),
    },
    sweepNow: () => sweep(sweepDeps),
    async outbox() {
      let files: string[] = [];
      try {
        files = (await readdir(outboxDir)).filter((f) => f.endsWith('.eml')).sort();
      } catch {
        return [];
      }
      return Promise.all(
        files.map(async (file) => ({ file, text: await readFile(join(outboxDir, file), 'utf8') })),
      );
    },
    async stop() {
      await workflow.stop();
      signer.stop();
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
};
