import { AuthenticationError } from '../../shared/errors.js';
import type { PortalUseCases } from '../../shared/usecases/portal.js';
import { expectPrincipal, type HandlerMap, json, noContent } from '../http/api.js';
import type { portalRoutes } from './routes.js';

const bearer = (authorization: string | undefined): string => {
  const m = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!m) throw new AuthenticationError('a holder session token is required');
  return m[1]!;
};

export const createPortalHandlers = (deps: { portal: PortalUseCases }): HandlerMap<typeof portalRoutes> => ({
  'portal.createSession': async (req) => json(201, await deps.portal.login(req.body)),
  'portal.deleteSession': async (req) => {
    expectPrincipal(req.principal, 'holder');
    await deps.portal.logout(bearer(req.headers.authorization));
    return noContent();
  },
  'portal.getOrder': async (req) => {
    expectPrincipal(req.principal, 'holder');
    return json(200, await deps.portal.getOrder(req.principal));
  },
  'portal.startPayment': async (req) => {
    expectPrincipal(req.principal, 'holder');
    return json(201, await deps.portal.startPayment(req.principal, req.body));
  },
});
