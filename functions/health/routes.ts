import * as z from 'zod';
import { route } from '../http/spec.js';

export const HealthBody = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.record(z.string(), z.string()),
  time: z.string(),
});

export const healthRoutes = [
  route({
    id: 'health.get',
    method: 'GET',
    path: '/health',
    auth: 'public',
    fn: 'health',
    summary: 'Liveness and readiness: 200 when every dependency answers, 503 otherwise.',
    responses: {
      200: { description: 'Everything is up', schema: HealthBody },
      503: { description: 'A dependency is down', schema: HealthBody },
    },
  }),
] as const;
