import { createCardStationUseCases } from '../../shared/usecases/card-station.js';
import { awsApiHandler } from '../aws/api.js';
import { audit, clock, repository, secretKeys, workflow } from '../aws/deps.js';
import { createCardStationHandlers } from './handlers.js';
import { cardStationRoutes } from './routes.js';

/**
 * AWS entry of the card personalization bureau's function: blank-card inventory (with proof of
 * possession), job leases, heartbeats, completion and mailing, which resume the waiting issuance
 * execution. It holds the card-master key (per-card unblock keys) and no CA key.
 */
export const handler = awsApiHandler({
  service: 'cardstation',
  specs: cardStationRoutes,
  build: () =>
    createCardStationHandlers({
      cardStation: createCardStationUseCases({
        repo: repository(),
        audit: audit(),
        secrets: secretKeys(),
        workflow: workflow(),
        clock,
      }),
    }),
});
