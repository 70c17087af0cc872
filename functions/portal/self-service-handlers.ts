import type { HolderUseCases } from '../../shared/usecases/holder.js';
import { expectPrincipal, type HandlerMap, json } from '../http/api.js';
import type { selfServiceRoutes } from './self-service-routes.js';

export const createSelfServiceHandlers = (deps: {
  holder: HolderUseCases;
}): HandlerMap<typeof selfServiceRoutes> => ({
  'portal.activateCard': async (req) =>
    json(200, await deps.holder.activate(req.params.cardNumber, req.body)),
  'portal.unblockPin': async (req) =>
    json(200, await deps.holder.unblockPin(req.params.cardNumber, req.body)),
  'portal.retrieveSubscriberCode': async (req) =>
    json(202, await deps.holder.retrieveSubscriberCode(req.body)),
  'portal.subscriberCodeChallenge': async (req) =>
    json(201, await deps.holder.codeChangeChallenge(req.body.cardNumber)),
  'portal.changeSubscriberCode': async (req) => json(200, await deps.holder.changeSubscriberCode(req.body)),
  'portal.suspendCard': async (req) =>
    json(200, await deps.holder.suspend(req.params.cardNumber, req.body.subscriberCode)),
  'portal.resumeCard': async (req) =>
    json(200, await deps.holder.resume(req.params.cardNumber, req.body.subscriberCode)),
  'portal.changeEmail': async (req) =>
    json(200, await deps.holder.changeEmail(req.params.cardNumber, req.body)),
  'portal.cardCertificates': async (req) => {
    expectPrincipal(req.principal, 'holder');
    return json(200, await deps.holder.cardCertificates(req.params.cardNumber, req.principal));
  },
});
