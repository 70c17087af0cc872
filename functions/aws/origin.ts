/**
 * The header CloudFront adds to every request it forwards to the API (infra/stacks/edge.ts) and the API
 * functions require (./api.ts). No imports: the CDK app reads this file too.
 */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';
