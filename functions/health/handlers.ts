import type { Clock } from '../../shared/ports/clock.js';
import { type HandlerMap, json } from '../http/api.js';
import type { healthRoutes } from './routes.js';

/** Each check resolves to 'ok' or throws; a failing check makes the whole answer 503. */
export type HealthChecks = Record<string, () => Promise<void>>;

export const createHealthHandlers = (deps: {
  checks: HealthChecks;
  clock: Clock;
}): HandlerMap<typeof healthRoutes> => ({
  'health.get': async () => {
    const entries = await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (e) {
          return [name, e instanceof Error ? e.name : 'failed'] as const;
        }
      }),
    );
    const ok = entries.every(([, v]) => v === 'ok');
    return json(ok ? 200 : 503, {
      status: ok ? 'ok' : 'degraded',
      checks: Object.fromEntries(entries),
      time: deps.clock.now().toISOString(),
    });
  },
});
