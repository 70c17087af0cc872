import { taskHandler } from '../workflow.js';

/** The `reportStalled` task of the issuance state machine (its permissions: infra/catalog.ts). */
export const handler = taskHandler('reportStalled');
