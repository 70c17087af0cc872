import * as z from 'zod';
import type { RouteSpec } from './spec.js';

/**
 * The OpenAPI 3.1 document, generated from the route table (request schemas are the same zod schemas
 * the handlers validate with). `npm run openapi` writes it to openapi.json; a test keeps the committed
 * file equal to what the routes say.
 */
const schemaOf = (s: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;

const securityOf = (auth: RouteSpec['auth']) => {
  switch (auth) {
    case 'officer':
      return [{ officerJwt: [] }];
    case 'ops':
      return [{ opsJwt: [] }];
    case 'card-station':
      return [{ cardStationJwt: [] }];
    case 'holder':
      return [{ holderSession: [] }];
    default:
      return [];
  }
};

const ErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The request field at fault' },
        rule: { type: 'string', description: 'The rule that failed' },
      },
    },
  },
};

export const buildOpenApi = (routes: readonly RouteSpec[], version = '1.0.0') => {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!schema) continue;
      const js = schemaOf(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (js.required ?? []).includes(name),
          schema: s,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      const contentType = resp.contentType ?? 'application/json';
      responses[status] = {
        description: resp.description,
        ...(resp.schema ? { content: { [contentType]: { schema: schemaOf(resp.schema, 'output') } } } : {}),
        ...(!resp.schema && resp.contentType ? { content: { [contentType]: {} } } : {}),
      };
    }
    responses.default = {
      description: 'Error (4xx for any bad input, naming the field and the rule)',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const kind = r.bodyKind ?? (r.body ? 'json' : 'none');
    const requestBody =
      kind === 'none'
        ? undefined
        : {
            required: true,
            content: {
              [kind === 'json'
                ? 'application/json'
                : kind === 'form'
                  ? 'application/x-www-form-urlencoded'
                  : 'application/octet-stream']: r.body ? { schema: schemaOf(r.body, 'input') } : {},
            },
          };
    paths[r.path] ??= {};
    paths[r.path]![r.method.toLowerCase()] = {
      operationId: r.id,
      summary: r.summary,
      tags: [r.fn],
      'x-auth': r.auth,
      security: securityOf(r.auth),
      ...(parameters.length ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Alien Citizen Digital Certificate service',
      version,
      description:
        'Counter application, payment, issuance, card personalization and holder self-service for the Alien Citizen Digital Certificate IC card.',
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'local stack (npm start)' }],
    paths,
    components: {
      schemas: { Error: ErrorSchema },
      securitySchemes: {
        officerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'role=officer, station_id claim',
        },
        opsJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'role=ops' },
        cardStationJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'role=card-station',
        },
        holderSession: {
          type: 'http',
          scheme: 'bearer',
          description: 'holder session from POST /v1/portal/sessions',
        },
      },
    },
  };
};
