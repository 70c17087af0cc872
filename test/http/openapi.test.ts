import { readFile } from 'node:fs/promises';
import { buildOpenApi } from '../../functions/http/openapi.js';
import { routeKey } from '../../functions/http/spec.js';
import { allRoutes } from '../../functions/routes.js';

describe('OpenAPI document', () => {
  it('is committed and equal to what the route table generates (run `npm run openapi` after changing routes)', async () => {
    const committed = JSON.parse(await readFile('openapi.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi(allRoutes))));
  });

  it('describes every route exactly once, with an operation id and an error response', () => {
    const doc = buildOpenApi(allRoutes) as {
      paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
    };
    const keys = allRoutes.map(routeKey);
    expect(new Set(keys).size).toBe(keys.length);
    const ids = allRoutes.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of allRoutes) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op?.operationId).toBe(r.id);
      expect(op?.responses.default).toBeDefined();
    }
  });
});
