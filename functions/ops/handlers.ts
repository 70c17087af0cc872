import type { OpsUseCases } from '../../shared/usecases/ops.js';
import { expectPrincipal, type HandlerMap, json } from '../http/api.js';
import type { opsRoutes } from './routes.js';

export const createOpsHandlers = (deps: { ops: OpsUseCases }): HandlerMap<typeof opsRoutes> => ({
  'ops.suspendCard': async (req) => {
    expectPrincipal(req.principal, 'ops');
    return json(200, await deps.ops.emergencySuspension(req.body, { type: 'ops', id: req.principal.id }));
  },
  'ops.exportAudit': async (req) => {
    expectPrincipal(req.principal, 'ops');
    return json(200, await deps.ops.exportAudit(req.query, { type: 'ops', id: req.principal.id }));
  },
});
