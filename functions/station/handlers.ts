import type { StationUseCases } from '../../shared/usecases/station.js';
import { expectPrincipal, type HandlerMap, json } from '../http/api.js';
import type { stationRoutes } from './routes.js';

export const createStationHandlers = (deps: {
  station: StationUseCases;
}): HandlerMap<typeof stationRoutes> => ({
  'station.applyAtCounter': async (req) => {
    expectPrincipal(req.principal, 'officer');
    const officer = { id: req.principal.id, stationId: req.principal.stationId };
    return json(201, await deps.station.applyAtCounter(req.body, officer));
  },
  'station.getApplication': async (req) => {
    expectPrincipal(req.principal, 'officer');
    const officer = { id: req.principal.id, stationId: req.principal.stationId };
    return json(200, await deps.station.getApplicationStatus(req.params.id, officer));
  },
  'station.cancelApplication': async (req) => {
    expectPrincipal(req.principal, 'officer');
    const officer = { id: req.principal.id, stationId: req.principal.stationId };
    return json(200, await deps.station.cancelApplication(req.params.id, officer));
  },
});
