import { taskHandler } from '../workflow.js';

/** The `markFailed` task of the issuance state machine (its permissions: infra/catalog.ts). */
export const handler = taskHandler('markFailed');
