import { createCardStationHandlers } from '../../functions/cardstation/handlers.js';
import { cardStationRoutes } from '../../functions/cardstation/routes.js';
import { createHealthHandlers } from '../../functions/health/handlers.js';
import { healthRoutes } from '../../functions/health/routes.js';
import { type ApiFunctionDeps, createApiHandler } from '../../functions/http/api.js';
import type { ApiFunction, RouteSpec } from '../../functions/http/spec.js';
import { createOpsHandlers } from '../../functions/ops/handlers.js';
import { opsRoutes } from '../../functions/ops/routes.js';
import { createPaymentHandlers } from '../../functions/payments/handlers.js';
import { paymentRoutes } from '../../functions/payments/routes.js';
import { createPkiHandlers } from '../../functions/pki/handlers.js';
import { pkiRoutes } from '../../functions/pki/routes.js';
import { createPortalHandlers } from '../../functions/portal/handlers.js';
import { portalRoutes } from '../../functions/portal/routes.js';
import { createSelfServiceHandlers } from '../../functions/portal/self-service-handlers.js';
import { selfServiceRoutes } from '../../functions/portal/self-service-routes.js';
import { createQueryHandlers } from '../../functions/query/handlers.js';
import { createTokenBucketLimiter } from '../../functions/query/rate-limit.js';
import { queryRoutes } from '../../functions/query/routes.js';
import { createStationHandlers } from '../../functions/station/handlers.js';
import { createRevocationHandlers } from '../../functions/station/revocation-handlers.js';
import { revocationRoutes } from '../../functions/station/revocation-routes.js';
import { stationRoutes } from '../../functions/station/routes.js';
import type { CertificateAuthority } from '../../shared/ca/issuer.js';
import type { PkiMaterial } from '../../shared/ca/material.js';
import type { PkiService } from '../../shared/ca/pki-service.js';
import { renderApplicationForm } from '../../shared/documents/application-form.js';
import type { Logger } from '../../shared/logger.js';
import { arcKeyOf } from '../../shared/lookup-keys.js';
import type { AuditLog } from '../../shared/ports/audit.js';
import type { Clock } from '../../shared/ports/clock.js';
import type { Mailer } from '../../shared/ports/mailer.js';
import type { PaymentGateway } from '../../shared/ports/payment.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { SecretKeys } from '../../shared/ports/secrets.js';
import type { Signer } from '../../shared/ports/signer.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import { createCardStationUseCases } from '../../shared/usecases/card-station.js';
import { createHolderUseCases } from '../../shared/usecases/holder.js';
import type { IssuingAuthority } from '../../shared/usecases/issuance.js';
import { createOpsUseCases } from '../../shared/usecases/ops.js';
import { createPaymentUseCases } from '../../shared/usecases/payment.js';
import { createPortalUseCases } from '../../shared/usecases/portal.js';
import { createQueryUseCases } from '../../shared/usecases/query.js';
import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { createStationUseCases } from '../../shared/usecases/station.js';
import type { LambdaHttpHandler } from './server.js';

/**
 * The composition root of the one-machine stack: every use case and the API function of each trust area,
 * wired from the adapters the caller chose. `infra/local/stack.ts` passes the real local adapters; the
 * fault-injection stack of the tests passes failing wrappers of the same ones, so both run the same wiring.
 */
export interface LocalCompositionDeps {
  repo: Repository;
  audit: AuditLog;
  clock: Clock;
  secrets: SecretKeys;
  mailer: Mailer;
  workflow: Workflow;
  gateway: PaymentGateway;
  ca: CertificateAuthority;
  issuingAuthority: IssuingAuthority;
  material: PkiMaterial;
  pki: PkiService;
  /** The signer the health route asks for the issuing key (is the HSM there?). */
  signer: Signer;
  emailKey: (email: string) => Promise<string>;
  logger: Logger;
  /** The server's own base URL (payment callback and return addresses). */
  baseUrl: string;
  /** Links in mails (the portal's address), as the workflow's tasks also get them. */
  mail: { portalUrl: string };
  opsEmail: string;
  scryptLog2N: number;
  sessionMinutes: number;
  queryRateLimit: { burst: number; perSecond: number };
  leaseSeconds?: number;
}

export const composeLocalApi = (d: LocalCompositionDeps) => {
  const { repo, audit, clock, secrets, mailer, workflow, ca, logger, mail } = d;
  const onAfterCommitFailure = (what: string, error: unknown) =>
    logger.error(`after commit: ${what}`, { error });

  const station = createStationUseCases({
    repo,
    audit,
    clock,
    secrets,
    mailer,
    workflow,
    portalUrl: mail.portalUrl,
    scryptLog2N: d.scryptLog2N,
    renderForm: renderApplicationForm,
    onAfterCommitFailure,
  });
  const portal = createPortalUseCases({
    repo,
    audit,
    clock,
    secrets,
    gateway: d.gateway,
    sessionMinutes: d.sessionMinutes,
    callbackUrl: `${d.baseUrl}/v1/payments/callback`,
    returnUrl: `${d.baseUrl}/`,
    scryptLog2N: d.scryptLog2N,
  });
  const payments = createPaymentUseCases({
    repo,
    gateway: d.gateway,
    audit,
    clock,
    mailer,
    workflow,
    mail,
    opsEmail: d.opsEmail,
    onAfterCommitFailure,
  });
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
    emailKey: d.emailKey,
    issuerName: (id) => (id === d.material.issuing.id ? d.material.issuing.subjectText : undefined),
  });
  const ops = createOpsUseCases({ cardState, auditStore: repo.audit, audit, clock });
  const holder = createHolderUseCases({
    repo,
    secrets,
    clock,
    audit,
    mailer,
    mail,
    ca: { ...ca, chain: d.issuingAuthority.chain },
    cardState,
    arcKey: (arc) => arcKeyOf(secrets, arc),
    emailKey: d.emailKey,
    scryptLog2N: d.scryptLog2N,
  });
  const cardStation = createCardStationUseCases({
    repo,
    audit,
    secrets,
    workflow,
    clock,
    ...(d.leaseSeconds ? { leaseSeconds: d.leaseSeconds } : {}),
  });

  // API functions, one per trust area, each with only what it needs.
  const rateLimit = createTokenBucketLimiter({
    capacity: d.queryRateLimit.burst,
    refillPerSecond: d.queryRateLimit.perSecond,
    clock,
  });
  const fn = <S extends readonly RouteSpec[]>(
    specs: S,
    handlers: Parameters<typeof createApiHandler<S>>[1],
    extra: Partial<ApiFunctionDeps> = {},
  ) => createApiHandler(specs, handlers, { logger, ...extra }) as unknown as LambdaHttpHandler;
  const functions: Record<ApiFunction, LambdaHttpHandler> = {
    health: fn(
      healthRoutes,
      createHealthHandlers({
        clock,
        checks: {
          database: async () => void (await repo.docs.get('health')),
          hsm: async () => void (await d.signer.publicKey(d.material.issuing.key)),
        },
      }),
    ),
    station: fn([...stationRoutes, ...revocationRoutes] as const, {
      ...createStationHandlers({ station }),
      ...createRevocationHandlers({ cardState }),
    }),
    portal: fn(
      [...portalRoutes, ...selfServiceRoutes] as const,
      { ...createPortalHandlers({ portal }), ...createSelfServiceHandlers({ holder }) },
      { authenticateHolder: (t) => portal.authenticate(t) },
    ),
    cardstation: fn(cardStationRoutes, createCardStationHandlers({ cardStation })),
    payments: fn(paymentRoutes, createPaymentHandlers({ payments })),
    query: fn(queryRoutes, createQueryHandlers({ query }), {
      rateLimit: (spec, key) => rateLimit(spec, key),
    }),
    ops: fn(opsRoutes, createOpsHandlers({ ops })),
    pki: fn(pkiRoutes, createPkiHandlers({ pki: d.pki })),
  };

  return {
    useCases: { station, portal, payments, cardState, query, ops, holder, cardStation },
    functions,
  };
};
