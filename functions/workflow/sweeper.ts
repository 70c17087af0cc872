import {
  type SweeperDeps,
  type SweepOptions,
  type SweepReport,
  sweep,
} from '../../shared/usecases/sweeper.js';

/**
 * The scheduled sweeper (EventBridge rule → Lambda in AWS; `scheduleSweeps` in the local server). The
 * event carries nothing the sweeper needs: the database and the Clock say what is due.
 */
export const createSweeperHandler =
  (deps: SweeperDeps, opts: SweepOptions = {}) =>
  async (): Promise<SweepReport> =>
    sweep(deps, opts);
