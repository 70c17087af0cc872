import type { Actor } from '../../shared/domain/model.js';
import type { CardStationUseCases } from '../../shared/usecases/card-station.js';
import { expectPrincipal, type HandlerMap, json, noContent, type Principal } from '../http/api.js';
import type { cardStationRoutes } from './routes.js';

const actorOf = (p: Principal): Actor => {
  expectPrincipal(p, 'card-station');
  return { type: 'card-station', id: p.id };
};

export const createCardStationHandlers = (deps: {
  cardStation: CardStationUseCases;
}): HandlerMap<typeof cardStationRoutes> => ({
  'cardstation.enroll': async (req) =>
    json(200, await deps.cardStation.enroll(actorOf(req.principal), req.body)),
  'cardstation.lease': async (req) => {
    const job = await deps.cardStation.lease(actorOf(req.principal), req.body);
    return job ? json(200, job) : noContent();
  },
  'cardstation.heartbeat': async (req) =>
    json(200, await deps.cardStation.heartbeat(actorOf(req.principal), req.params.id, req.body)),
  'cardstation.complete': async (req) =>
    json(200, await deps.cardStation.complete(actorOf(req.principal), req.params.id, req.body)),
  'cardstation.mailed': async (req) =>
    json(200, await deps.cardStation.mailed(actorOf(req.principal), req.params.id, req.body)),
  'cardstation.failure': async (req) =>
    json(200, await deps.cardStation.failure(actorOf(req.principal), req.params.id, req.body)),
});
