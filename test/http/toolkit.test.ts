import { mkdtemp } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createHealthHandlers } from '../../functions/health/handlers.js';
import { healthRoutes } from '../../functions/health/routes.js';
import { createApiHandler, expectPrincipal, json } from '../../functions/http/api.js';
import { route } from '../../functions/http/spec.js';
import { startLocalServer } from '../../infra/local/server.js';
import { type LocalIssuer, openLocalIssuer } from '../../infra/local/tokens.js';
import { ConflictError, RateLimitedError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { AdjustableClock } from '../../shared/ports/clock.js';

const testRoutes = [
  route({
    id: 'station.echo',
    method: 'POST',
    path: '/v1/station/echo/{id}',
    auth: 'officer',
    fn: 'station',
    summary: 'test',
    params: z.object({ id: z.string().regex(/^[a-z]+$/, 'must be lower-case letters') }),
    body: z.object({ name: z.string().min(1), nested: z.object({ n: z.number().int() }) }).strict(),
    responses: { 200: { description: 'ok' } },
  }),
  route({
    id: 'station.conflict',
    method: 'POST',
    path: '/v1/station/conflict',
    auth: 'officer',
    fn: 'station',
    summary: 'test',
    responses: { 409: { description: 'conflict' } },
  }),
  route({
    id: 'station.crash',
    method: 'GET',
    path: '/v1/station/crash',
    auth: 'public',
    fn: 'station',
    summary: 'test',
    responses: {},
  }),
  route({
    id: 'station.limited',
    method: 'GET',
    path: '/v1/station/limited',
    auth: 'public',
    fn: 'station',
    summary: 'test',
    responses: {},
  }),
] as const;

describe('HTTP edge: local API Gateway + middy handlers', () => {
  let server: Server;
  let url: string;
  let issuer: LocalIssuer;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'http-'));
    issuer = await openLocalIssuer(join(dir, 'issuer.json'));
    const logger = createLogger('test');
    const station = createApiHandler(
      testRoutes,
      {
        'station.echo': async (req) => {
          expectPrincipal(req.principal, 'officer');
          return json(200, { id: req.params.id, name: req.body.name, station: req.principal.stationId });
        },
        'station.conflict': async () => {
          throw new ConflictError('already cancelled', { rule: 'application.state' });
        },
        'station.crash': async () => {
          throw new Error('secret internals at /srv/x.ts:12');
        },
        'station.limited': async () => {
          throw new RateLimitedError('too many queries', 30);
        },
      },
      { logger },
    );
    const health = createApiHandler(
      healthRoutes,
      createHealthHandlers({ checks: { db: async () => undefined }, clock: new AdjustableClock() }),
      { logger },
    );
    ({ server, url } = await startLocalServer({
      host: '127.0.0.1',
      port: 0,
      specs: [...healthRoutes, ...testRoutes],
      functions: { station, health },
      verifyJwt: async (t) => (await issuer.verify(t)) as Record<string, unknown>,
      logger,
    }));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const officer = () => issuer.issue('officer', 'officer-7', { stationId: 'TPE01' });

  it('answers the health route', async () => {
    const r = await fetch(`${url}/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ status: 'ok', checks: { db: 'ok' } });
  });

  it('passes validated input and the officer principal to the handler', async () => {
    const r = await fetch(`${url}/v1/station/echo/abc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await officer()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Ana', nested: { n: 1 } }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ id: 'abc', name: 'Ana', station: 'TPE01' });
  });

  it.each([
    [{ name: '', nested: { n: 1 } }, 'name'],
    [{ name: 'x', nested: { n: 1.5 } }, 'nested.n'],
    [{ name: 'x' }, 'nested'],
    [{ name: 'x', nested: { n: 1 }, extra: 1 }, 'extra'],
  ])('rejects bad body %j with a 400 naming %s', async (body, field) => {
    const r = await fetch(`${url}/v1/station/echo/abc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await officer()}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(400);
    const e = (await r.json()) as { error: { code: string; field: string; rule: string; message: string } };
    expect(e.error.code).toBe('validation_failed');
    expect(e.error.field).toBe(field);
    expect(e.error.message.startsWith(`${field}:`)).toBe(true);
  });

  it('rejects a bad path parameter and malformed JSON', async () => {
    const token = await officer();
    const bad = await fetch(`${url}/v1/station/echo/ABC`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"name":"x","nested":{"n":1}}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('id');
    const malformed = await fetch(`${url}/v1/station/echo/abc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { rule: string } }).error.rule).toBe('body.json');
  });

  it('refuses missing, forged and wrong-role tokens', async () => {
    const none = await fetch(`${url}/v1/station/conflict`, { method: 'POST' });
    expect(none.status).toBe(401);
    const forged = await fetch(`${url}/v1/station/conflict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await officer()).slice(0, -4)}AAAA` },
    });
    expect(forged.status).toBe(401);
    const ops = await issuer.issue('ops', 'ops-1');
    const wrongRole = await fetch(`${url}/v1/station/conflict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ops}` },
    });
    expect(wrongRole.status).toBe(403);
  });

  it('maps domain errors to HTTP and hides internal errors', async () => {
    const c = await fetch(`${url}/v1/station/conflict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await officer()}` },
    });
    expect(c.status).toBe(409);
    expect(await c.json()).toEqual({
      error: { code: 'conflict', message: 'already cancelled', rule: 'application.state' },
    });
    const crash = await fetch(`${url}/v1/station/crash`);
    expect(crash.status).toBe(500);
    const text = await crash.text();
    expect(text).not.toContain('secret internals');
    expect(text).toContain('internal error');
    const limited = await fetch(`${url}/v1/station/limited`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
  });

  it('answers 404 for unknown paths and 405 for a known path with another method', async () => {
    expect((await fetch(`${url}/v1/nope`)).status).toBe(404);
    expect((await fetch(`${url}/health`, { method: 'POST' })).status).toBe(405);
  });
});
