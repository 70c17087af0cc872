import type { CardStateUseCases } from '../../shared/usecases/revocation.js';
import { expectPrincipal, type HandlerMap, json } from '../http/api.js';
import type { revocationRoutes } from './revocation-routes.js';

export const createRevocationHandlers = (deps: {
  cardState: CardStateUseCases;
}): HandlerMap<typeof revocationRoutes> => ({
  'station.revokeCertificate': async (req) => {
    expectPrincipal(req.principal, 'officer');
    const result = await deps.cardState.revokeBySerial({
      serialNumber: req.params.serial,
      reason: req.body.reason,
      actor: { type: 'officer', id: req.principal.id, stationId: req.principal.stationId },
    });
    return json(200, result);
  },
});
