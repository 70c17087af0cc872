import { createQueryUseCases } from '../../shared/usecases/query.js';
import { awsApiHandler } from '../aws/api.js';
import { material } from '../aws/ca.js';
import { clock, emailKey, repository } from '../aws/deps.js';
import { createQueryHandlers } from './handlers.js';
import { createTokenBucketLimiter } from './rate-limit.js';
import { queryRoutes } from './routes.js';

/**
 * AWS entry of the public certificate query: certificates by name + month, e-mail (keyed hash), card
 * number or serial. Reads only; the lookup key is its one secret. The in-process token bucket is the
 * second line behind the WAF rate rule and the route throttle.
 */
export const handler = awsApiHandler({
  service: 'query',
  specs: queryRoutes,
  build: async () => {
    const m = await material();
    return createQueryHandlers({
      query: createQueryUseCases({
        certificates: repository().certificates,
        clock,
        emailKey,
        issuerName: (id) => (id === m.issuing.id ? m.issuing.subjectText : undefined),
      }),
    });
  },
  edge: () => ({ rateLimit: createTokenBucketLimiter({ capacity: 30, refillPerSecond: 0.5, clock }) }),
});
