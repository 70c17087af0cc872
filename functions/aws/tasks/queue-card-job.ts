import { taskHandler } from '../workflow.js';

/** The `queueCardJob` task of the issuance state machine (its permissions: infra/catalog.ts). */
export const handler = taskHandler('queueCardJob');
