import { createHolderUseCases } from '../../shared/usecases/holder.js';
import { createPortalUseCases } from '../../shared/usecases/portal.js';
import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { awsApiHandler } from '../aws/api.js';
import { chainBase64, issueRemotely } from '../aws/ca.js';
import {
  arcKey,
  audit,
  clock,
  config,
  emailKey,
  mailContext,
  mailer,
  paymentGateway,
  repository,
  required,
  secretKeys,
} from '../aws/deps.js';
import { cardCertificateOperations } from '../aws/workflow.js';
import { createPortalHandlers } from './handlers.js';
import { portalRoutes } from './routes.js';
import { createSelfServiceHandlers } from './self-service-handlers.js';
import { selfServiceRoutes } from './self-service-routes.js';

/**
 * AWS entry of the card holders' function: login (ARC number + subscriber code), order and payment, and
 * self-service (activation, PIN unblock, code retrieval and change, suspension, resumption, e-mail
 * change). It signs nothing: suspension and resumption ask the CRL job for a new CRL, and an e-mail
 * change asks the issuance signer to re-issue (checked there against the records).
 */
const specs = [...portalRoutes, ...selfServiceRoutes] as const;

let portal: ReturnType<typeof createPortalUseCases> | undefined;

const portalUseCases = async () => {
  portal ??= createPortalUseCases({
    repo: repository(),
    audit: audit(),
    clock,
    secrets: secretKeys(),
    gateway: await paymentGateway(),
    sessionMinutes: config().HOLDER_SESSION_MINUTES,
    callbackUrl: `${required('PUBLIC_BASE_URL').replace(/\/+$/, '')}/v1/payments/callback`,
    returnUrl: `${required('PORTAL_URL').replace(/\/+$/, '')}/order`,
    scryptLog2N: config().SUBSCRIBER_CODE_SCRYPT_LOG2N,
  });
  return portal;
};

export const handler = awsApiHandler({
  service: 'portal',
  specs,
  build: async () => {
    const repo = repository();
    const secrets = secretKeys();
    const operations = cardCertificateOperations('portal');
    const cardState = createCardStateUseCases({
      cards: repo.cards,
      certificates: repo.certificates,
      markers: repo.markers,
      ca: operations,
      audit: audit(),
      clock,
    });
    const holder = createHolderUseCases({
      repo,
      secrets,
      clock,
      audit: audit(),
      mailer: mailer(),
      mail: mailContext(),
      ca: { ...operations, issueCardCertificates: issueRemotely, chain: chainBase64 },
      cardState,
      arcKey,
      emailKey,
      scryptLog2N: config().SUBSCRIBER_CODE_SCRYPT_LOG2N,
    });
    return {
      ...createPortalHandlers({ portal: await portalUseCases() }),
      ...createSelfServiceHandlers({ holder }),
    };
  },
  edge: () => ({ authenticateHolder: async (token) => (await portalUseCases()).authenticate(token) }),
});
