import { issuanceDeps, measured } from '../aws/workflow.js';
import { createSweeperHandler } from '../workflow/sweeper.js';

/**
 * AWS entry of the sweeper (EventBridge schedule, infra/stacks/workflow.ts): the database, not the
 * executions, says which unpaid orders are past their deadline and which leases expired.
 */
let sweep: ReturnType<typeof createSweeperHandler> | undefined;

export const handler = async () => {
  sweep ??= createSweeperHandler(issuanceDeps('sweeper'));
  const run = sweep;
  return measured(() => run());
};
