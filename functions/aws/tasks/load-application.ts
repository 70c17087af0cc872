import { taskHandler } from '../workflow.js';

/** The `loadApplication` task of the issuance state machine (its permissions: infra/catalog.ts). */
export const handler = taskHandler('loadApplication');
