import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { allRoutes } from '../../functions/routes.js';
import { createIssuanceTaskHandlers } from '../../functions/workflow/handlers.js';
import { runCeremony } from '../../scripts/ceremony.js';
import { createDynamoClient, type LocalDynamo, startDynalite } from '../../shared/adapters/dynamodb/local.js';
import { createDynamoRepository } from '../../shared/adapters/dynamodb/repository.js';
import { ensureTable } from '../../shared/adapters/dynamodb/table.js';
import { createFileCrlBlobs } from '../../shared/adapters/files/crl-blobs.js';
import { createOutboxMailer, DEFAULT_FROM } from '../../shared/adapters/mail/outbox.js';
import { createSandboxGateway, sandboxRawRoute } from '../../shared/adapters/payment/sandbox.js';
import { createLocalCaSigner } from '../../shared/adapters/pkcs11/local-ca.js';
import { closeModules } from '../../shared/adapters/pkcs11/module.js';
import { createLocalSecretKeys } from '../../shared/adapters/secrets/local.js';
import { createAuditLog } from '../../shared/audit.js';
import { createCertificateAuthority } from '../../shared/ca/issuer.js';
import { loadPkiMaterial } from '../../shared/ca/material.js';
import { createPkiService } from '../../shared/ca/pki-service.js';
import type { Config } from '../../shared/config.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { emailKeyOf } from '../../shared/lookup-keys.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { SecretKeys } from '../../shared/ports/secrets.js';
import type { Signer } from '../../shared/ports/signer.js';
import { issuingAuthorityOf } from '../../shared/usecases/issuance.js';
import { scheduleSweeps, sweep } from '../../shared/usecases/sweeper.js';
import { createLocalWorkflow } from '../../shared/workflow/local-engine.js';
import { runCardStationCommand, superviseCardStation } from './card-station.js';
import { composeLocalApi } from './composition.js';
import { type RawRoute, startLocalServer } from './server.js';
import { openLocalIssuer } from './tokens.js';

/**
 * The whole product on one machine: the same route table and handlers as API Gateway + Lambda, with
 * dynalite for DynamoDB, SoftHSM for the CA keys, the local Step Functions engine, an .eml outbox and the
 * sandbox payment gateway. Used by `npm start` (infra/local/main.ts) and by end-to-end tests.
 */

export interface LocalStackOptions {
  config: Config;
  clock?: AdjustableClock;
  logger?: Logger;
  /** Keep DynamoDB in memory (tests); otherwise under `<STATE_DIR>/dynamodb`. */
  ephemeralDatabase?: boolean;
  /** CA key algorithms for the first ceremony (tests use smaller keys). */
  caAlgorithms?: Parameters<typeof runCeremony>[0]['algorithms'];
  /** How often the sweeper runs (purges unpaid orders past their deadline, reports stuck work). */
  sweepIntervalMs?: number;
  /** Extra raw routes (the web front end). */
  rawRoutes?: RawRoute[];
  /** Ops mailbox for alerts. */
  opsEmail?: string;
  /**
   * Run the card personalization bureau's agent as a child process, enrolling blank stock when fewer
   * than `minStock` blank cards are in the inventory (npm start). Off by default (tests drive it).
   */
  cardStation?: { minStock: number; enrollCount: number; echo?: boolean };
  /**
   * Benchmarks (bench/aws-calls.ts) count what would be billed AWS calls: DynamoDB requests (a wrapper on
   * the repository's client), KMS signatures (the CA signer) and KMS MAC / encrypt / decrypt (secret keys).
   */
  instrument?: {
    dynamoClient?: (client: ReturnType<typeof createDynamoClient>) => void;
    signer?: (signer: Signer) => Signer;
    secrets?: (secrets: SecretKeys) => SecretKeys;
  };
}

export interface LocalPaths {
  stateDir: string;
  database: string;
  pki: string;
  caHsm: string;
  outbox: string;
  keys: string;
  issuerKey: string;
}

export interface LocalStack {
  url: string;
  config: Config;
  clock: AdjustableClock;
  repo: Repository;
  paths: LocalPaths;
  logger: Logger;
  /** Runs the sweeper once now (tests; it also runs on its interval). */
  sweepNow(): ReturnType<typeof sweep>;
  stop(): Promise<void>;
}

export const localPaths = (stateDir: string): LocalPaths => {
  const abs = resolve(stateDir);
  return {
    stateDir: abs,
    database: join(abs, 'dynamodb'),
    pki: join(abs, 'pki'),
    caHsm: join(abs, 'ca-hsm'),
    outbox: join(abs, 'outbox'),
    keys: join(abs, 'keys'),
    issuerKey: join(abs, 'auth', 'issuer-key.json'),
  };
};

export const startLocalStack = async (opts: LocalStackOptions): Promise<LocalStack> => {
  const { config } = opts;
  const logger = opts.logger ?? createLogger('acdc-local');
  const clock = opts.clock ?? new AdjustableClock();
  if (config.LOCAL_CLOCK_OFFSET_MS) clock.advance(config.LOCAL_CLOCK_OFFSET_MS);
  const paths = localPaths(config.STATE_DIR);
  await mkdir(paths.stateDir, { recursive: true });
  const stops: (() => Promise<void> | void)[] = [];

  // The public base URL goes into certificates (AIA, CRL DP); by default the local server itself.
  const port = config.PORT;
  const baseUrl = config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${port}`;

  // Data.
  const dynamo: LocalDynamo = await startDynalite(
    opts.ephemeralDatabase ? { thread: true } : { path: paths.database, thread: true },
  );
  stops.push(() => dynamo.close());
  const client = createDynamoClient(dynamo.endpoint, config.AWS_REGION, dynamo.requestHandler);
  opts.instrument?.dynamoClient?.(client);
  stops.push(() => client.destroy());
  await ensureTable(client, config.TABLE_NAME);
  const repo = createDynamoRepository({ client, tableName: config.TABLE_NAME, clock });
  const audit = createAuditLog(repo.audit, clock);
  const localSecrets = createLocalSecretKeys({ dir: paths.keys });
  const secrets = opts.instrument?.secrets?.(localSecrets) ?? localSecrets;

  // The CA: key ceremony on first run (idempotent), then the PKCS#11 signer over the CA tokens.
  const ceremony = await runCeremony({
    stateDir: paths.stateDir,
    publicBaseUrl: baseUrl,
    pkcs11Module: config.PKCS11_MODULE,
    ...(opts.caAlgorithms ? { algorithms: opts.caAlgorithms } : {}),
    clock,
    log: (line) => logger.info(`ceremony: ${line}`),
  });
  const material = ceremony.material ?? (await loadPkiMaterial(paths.stateDir));
  const caSigner = await createLocalCaSigner(paths.stateDir, { modulePath: config.PKCS11_MODULE });
  const signer = opts.instrument?.signer?.(caSigner) ?? caSigner;
  stops.push(() => closeModules());
  const emailKey = (email: string) => emailKeyOf(secrets, email);
  const ca = createCertificateAuthority({
    certificates: repo.certificates,
    docs: repo.docs,
    audit,
    signer,
    clock,
    ca: material.issuing,
    urls: material.urls,
    emailKey,
    // CRLs as files next to the CA certificates: <STATE_DIR>/pki/crl/issuing-ca.crl.
    crlBlobs: createFileCrlBlobs(join(paths.pki, 'crl')),
  });
  const pki = createPkiService({ material, certificates: repo.certificates, signer, clock, crl: ca.crl });

  // Mail, payment gateway (sandbox), workflow.
  const mailer = createOutboxMailer({ dir: paths.outbox, clock, from: DEFAULT_FROM });
  const mail = { portalUrl: `${baseUrl}/` };
  const opsEmail = opts.opsEmail ?? 'ops@acdc.local';
  const sandbox = createSandboxGateway({ baseUrl, clock });
  const issuingAuthority = issuingAuthorityOf(ca, material.chain);
  const workflow = createLocalWorkflow({
    applications: repo.applications,
    logger,
    handlers: (wf) =>
      createIssuanceTaskHandlers({
        repo,
        audit,
        mailer,
        mail,
        opsEmail,
        clock,
        ca: issuingAuthority,
        workflow: wf,
        logger,
      }),
  });
  // Stopped before the database closes: an execution waiting for payment holds a timer for its deadline.
  stops.push(() => workflow.stop());

  // Use cases and the API function of each trust area (one composition, shared with the fault tests).
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
    opsEmail,
    scryptLog2N: config.SUBSCRIBER_CODE_SCRYPT_LOG2N,
    sessionMinutes: config.HOLDER_SESSION_MINUTES,
    queryRateLimit: { burst: config.QUERY_RATE_LIMIT_BURST, perSecond: config.QUERY_RATE_LIMIT_PER_SECOND },
  });

  const issuer = await openLocalIssuer(paths.issuerKey, () => clock.now());
  const { server, url } = await startLocalServer({
    host: config.HOST,
    port,
    specs: allRoutes,
    functions,
    verifyJwt: async (t) => (await issuer.verify(t)) as Record<string, unknown>,
    rawRoutes: [
      sandboxRawRoute(sandbox),
      {
        prefix: '/.well-known/jwks.json',
        handle: async () => ({
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(issuer.jwks()),
        }),
      },
      ...(opts.rawRoutes ?? []),
    ],
    logger,
  });
  stops.push(() => closeServer(server));

  // Background work: re-attach executions, sweep, keep the CRL fresh.
  await workflow.resumeAll();
  const sweepDeps = { repo, audit, mailer, mail, opsEmail, clock, ca: issuingAuthority, workflow, logger };
  const stopSweeps = scheduleSweeps(() => sweep(sweepDeps), opts.sweepIntervalMs ?? 60_000, logger);
  stops.push(stopSweeps);
  await ca.regenerateCrl();
  // A fresh CRL well before nextUpdate (24 h) even when nothing is revoked: relying parties reject stale
  // CRLs. Every revocation, hold and release regenerates it as well.
  const crlTimer = setInterval(() => {
    ca.regenerateCrl().catch((error: unknown) =>
      logger.error('scheduled CRL regeneration failed', { error }),
    );
  }, 6 * 3_600_000);
  crlTimer.unref();
  stops.push(() => clearInterval(crlTimer));

  if (opts.cardStation) {
    const station = { stateDir: paths.stateDir, apiUrl: url, logger, echo: opts.cardStation.echo ?? false };
    const blank = await repo.cards.countBlank();
    if (blank < opts.cardStation.minStock) {
      logger.info(`card stock: ${blank} blank cards; enrolling ${opts.cardStation.enrollCount}`);
      await runCardStationCommand(station, ['enroll', '--count', String(opts.cardStation.enrollCount)]);
    }
    stops.push(superviseCardStation(station).stop);
  }

  return {
    url,
    config,
    clock,
    repo,
    paths,
    logger,
    sweepNow: () => sweep(sweepDeps),
    async stop() {
      for (const s of stops.reverse()) {
        try {
          await s();
        } catch (e) {
          logger.warn('stop step failed', { error: e });
        }
      }
    },
  };
};

const closeServer = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
