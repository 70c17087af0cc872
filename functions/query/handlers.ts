import type { QueryUseCases } from '../../shared/usecases/query.js';
import { type HandlerMap, json } from '../http/api.js';
import type { queryRoutes } from './routes.js';

export const createQueryHandlers = (deps: { query: QueryUseCases }): HandlerMap<typeof queryRoutes> => ({
  'query.certificates': async (req) =>
    // Status can change at any moment (suspension): let nobody cache an answer for long.
    json(200, await deps.query.queryCertificates(req.query), { 'cache-control': 'no-store' }),
});
