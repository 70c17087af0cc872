import { writeFile } from 'node:fs/promises';
import { buildOpenApi } from '../functions/http/openapi.js';
import { allRoutes } from '../functions/routes.js';

/** Writes openapi.json from the route table. */
await writeFile('openapi.json', `${JSON.stringify(buildOpenApi(allRoutes), null, 2)}\n`);
console.log(`openapi.json: ${allRoutes.length} routes`);
