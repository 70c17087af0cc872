import { taskHandler } from '../workflow.js';

/** The `purgeUnpaid` task of the issuance state machine (its permissions: infra/catalog.ts). */
export const handler = taskHandler('purgeUnpaid');
