import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { createStationUseCases } from '../../shared/usecases/station.js';
import { awsApiHandler } from '../aws/api.js';
import {
  audit,
  clock,
  config,
  logger,
  mailer,
  repository,
  required,
  secretKeys,
  workflow,
} from '../aws/deps.js';
import { remoteFormRenderer } from '../aws/documents.js';
import { cardCertificateOperations } from '../aws/workflow.js';
import { createStationHandlers } from './handlers.js';
import { createRevocationHandlers } from './revocation-handlers.js';
import { revocationRoutes } from './revocation-routes.js';
import { stationRoutes } from './routes.js';

/**
 * AWS entry of the station officers' function: counter applications (the subscriber code is hashed with
 * the KMS pepper and sealed with the KMS seal key, the form rendered as PDF by the documents function,
 * the issuance execution started), application status, and revocation (the CRL job signs the new CRL).
 */
const specs = [...stationRoutes, ...revocationRoutes] as const;

export const handler = awsApiHandler({
  service: 'station',
  specs,
  build: () => {
    const repo = repository();
    const log = logger('station');
    const station = createStationUseCases({
      repo,
      audit: audit(),
      clock,
      secrets: secretKeys(),
      mailer: mailer(),
      workflow: workflow(),
      portalUrl: required('PORTAL_URL'),
      scryptLog2N: config().SUBSCRIBER_CODE_SCRYPT_LOG2N,
      renderForm: remoteFormRenderer(),
      onAfterCommitFailure: (what, error) => log.error('after the application was stored', { what, error }),
    });
    const cardState = createCardStateUseCases({
      cards: repo.cards,
      certificates: repo.certificates,
      markers: repo.markers,
      ca: cardCertificateOperations('station'),
      audit: audit(),
      clock,
    });
    return { ...createStationHandlers({ station }), ...createRevocationHandlers({ cardState }) };
  },
});
