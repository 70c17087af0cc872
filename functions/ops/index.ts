import { createOpsUseCases } from '../../shared/usecases/ops.js';
import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { awsApiHandler } from '../aws/api.js';
import { audit, clock, repository } from '../aws/deps.js';
import { cardCertificateOperations } from '../aws/workflow.js';
import { createOpsHandlers } from './handlers.js';
import { opsRoutes } from './routes.js';

/**
 * AWS entry of the ops (customer service) function: emergency (fax) suspension and audit export with
 * chain verification. A suspension puts the certificates on hold; the CRL job signs the new CRL.
 */
export const handler = awsApiHandler({
  service: 'ops',
  specs: opsRoutes,
  build: () => {
    const repo = repository();
    const cardState = createCardStateUseCases({
      cards: repo.cards,
      certificates: repo.certificates,
      markers: repo.markers,
      ca: cardCertificateOperations('ops'),
      audit: audit(),
      clock,
    });
    return createOpsHandlers({
      ops: createOpsUseCases({ cardState, auditStore: repo.audit, audit: audit(), clock }),
    });
  },
});
