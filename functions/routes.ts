import { cardStationRoutes } from './cardstation/routes.js';
import { healthRoutes } from './health/routes.js';
import type { RouteSpec } from './http/spec.js';
import { opsRoutes } from './ops/routes.js';
import { paymentRoutes } from './payments/routes.js';
import { pkiRoutes } from './pki/routes.js';
import { portalRoutes } from './portal/routes.js';
import { selfServiceRoutes } from './portal/self-service-routes.js';
import { queryRoutes } from './query/routes.js';
import { revocationRoutes } from './station/revocation-routes.js';
import { stationRoutes } from './station/routes.js';

/**
 * The one route table. API Gateway routes (infra/), the local server (infra/local/), the OpenAPI
 * document (openapi.json) and the fuzz tests are all generated from it.
 *
 * How to add a route:
 * 1. In `functions/<area>/routes.ts`, add a spec with `route({ id: '<area>.<verbNoun>', method, path,
 *    auth, fn, summary, body?/query?/params? (zod schemas, camelCase fields), responses })` to the
 *    area's `as const` array. `fn` names the Lambda function (one per trust area, see ApiFunction).
 * 2. In `functions/<area>/handlers.ts`, bind a thin handler to the id in
 *    `create<Area>Handlers(deps): HandlerMap<typeof <area>Routes>`: it receives typed, validated
 *    `req.body/query/params` and `req.principal`, calls ONE use case from `shared/usecases/`, and returns
 *    `json(status, body)` (or a raw body with a content type). Throw the errors of shared/errors.ts.
 * 3. Add the area's array below (once per area). The Lambda entry `functions/<area>/index.ts` and the
 *    local composition (infra/local/) build the handler with `createApiHandler(specs, handlers, deps)`.
 * 4. Test it through HTTP on the local server (test/http/helpers or the local stack harness).
 */
export const allRoutes: readonly RouteSpec[] = [
  ...healthRoutes,
  ...stationRoutes,
  ...revocationRoutes,
  ...portalRoutes,
  ...selfServiceRoutes,
  ...paymentRoutes,
  ...queryRoutes,
  ...cardStationRoutes,
  ...opsRoutes,
  ...pkiRoutes,
];
