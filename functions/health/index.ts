import { awsApiHandler } from '../aws/api.js';
import { clock, repository } from '../aws/deps.js';
import { createHealthHandlers } from './handlers.js';
import { healthRoutes } from './routes.js';

/** AWS entry of the health function: answers whether the table is reachable (one GetItem). */
export const handler = awsApiHandler({
  service: 'health',
  specs: healthRoutes,
  build: () =>
    createHealthHandlers({
      clock,
      checks: {
        table: async () => {
          await repository().docs.get('health');
        },
      },
    }),
});
