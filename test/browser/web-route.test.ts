import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawRequest } from '../../infra/local/server.js';
import { openLocalIssuer } from '../../infra/local/tokens.js';
import { localOfficerTokenRoute, localWebRoutes, webAppRoute } from '../../infra/local/web.js';

const req = (path: string, init: Partial<RawRequest> = {}): RawRequest => ({
  method: 'GET',
  path,
  query: new URLSearchParams(),
  headers: {},
  body: Buffer.alloc(0),
  ...init,
});

const text = (b: string | Uint8Array | undefined) =>
  typeof b === 'string' ? b : Buffer.from(b ?? '').toString();

describe('web app route (static build with SPA fallback)', () => {
  let dir: string;
  let dist: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acdc-web-route-'));
    dist = join(dir, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), '<!doctype html><div id="app"></div>');
    await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(join(dist, 'assets', 'index-abc123.css'), 'body{}');
    await writeFile(join(dist, 'favicon.svg'), '<svg/>');
    await writeFile(join(dir, 'secret.txt'), 'outside the build');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves files with their content types; hashed assets are cached for good, the rest revalidated', async () => {
    const route = webAppRoute({ distDir: dist });
    const js = await route.handle(req('/assets/index-abc123.js'));
    expect(js?.status).toBe(200);
    expect(js?.headers?.['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js?.headers?.['cache-control']).toContain('immutable');
    expect(text(js?.body)).toBe('console.log(1)');
    const css = await route.handle(req('/assets/index-abc123.css'));
    expect(css?.headers?.['content-type']).toBe('text/css; charset=utf-8');
    const svg = await route.handle(req('/favicon.svg'));
    expect(svg?.headers?.['content-type']).toBe('image/svg+xml');
    expect(svg?.headers?.['cache-control']).toBe('no-cache');
    const index = await route.handle(req('/'));
    expect(index?.headers?.['content-type']).toBe('text/html; charset=utf-8');
    expect(index?.headers?.['content-security-policy']).toContain("form-action 'self'");
    expect(index?.headers?.['x-content-type-options']).toBe('nosniff');
  });

  it('answers client-side routes with index.html', async () => {
    const route = webAppRoute({ distDir: dist });
    for (const path of ['/portal', '/portal/payment', '/station/applications/new', '/status']) {
      const r = await route.handle(req(path));
      expect(r?.status).toBe(200);
      expect(text(r?.body)).toContain('<div id="app">');
    }
  });

  it('leaves API paths, missing files with an extension and other methods to the server (404/405)', async () => {
    const route = webAppRoute({ distDir: dist });
    for (const path of [
      '/v1/portal/application',
      '/v1',
      '/health',
      '/pki/crl/issuing.crl',
      '/sandbox/gateway',
      '/local/x',
    ]) {
      expect(await route.handle(req(path))).toBeUndefined();
    }
    expect(await route.handle(req('/assets/index-old.js'))).toBeUndefined();
    expect(await route.handle(req('/portal', { method: 'POST' }))).toBeUndefined();
  });

  it('never serves a file outside the build folder', async () => {
    const route = webAppRoute({ distDir: dist });
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/a%00.js']) {
      const r = await route.handle(req(path));
      expect(text(r?.body)).not.toContain('outside the build');
    }
  });

  it('answers HEAD without a body, and /config.json with the local settings', async () => {
    const route = webAppRoute({ distDir: dist });
    const head = await route.handle(req('/portal', { method: 'HEAD' }));
    expect(head?.status).toBe(200);
    expect(text(head?.body)).toBe('');
    const config = await route.handle(req('/config.json'));
    expect(JSON.parse(text(config?.body))).toEqual({ apiBaseUrl: '', localOfficerSignIn: true });
  });

  it('says how to build the front end when web/dist is missing', async () => {
    const r = await webAppRoute({ distDir: join(dir, 'nope') }).handle(req('/portal'));
    expect(r?.status).toBe(503);
    expect(text(r?.body)).toContain('npm run build:web');
  });
});

describe('local officer sign-in (local stack only)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'acdc-officer-token-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const post = (body: unknown) =>
    req('/local/officer-token', { method: 'POST', body: Buffer.from(JSON.stringify(body)) });

  it('issues an officer token from the local issuer key file, with the station claim', async () => {
    const [tokenRoute] = localWebRoutes({ stateDir: dir });
    const r = await tokenRoute!.handle(post({ officerId: 'officer01', stationId: 'tpe01' }));
    expect(r?.status).toBe(200);
    const { token, expiresAt, localOnly } = JSON.parse(text(r?.body)) as Record<string, string>;
    expect(localOnly).toBe(true);
    const issuer = await openLocalIssuer(join(dir, 'auth', 'issuer-key.json'));
    const claims = await issuer.verify(token!);
    expect(claims).toMatchObject({ sub: 'officer01', role: 'officer', station_id: 'TPE01' });
    expect(Date.parse(expiresAt!)).toBe((claims.exp as number) * 1000);
  });

  it('stamps tokens with the stack clock (a compressed demo clock)', async () => {
    const later = new Date('2031-05-01T00:00:00Z');
    const [tokenRoute] = localWebRoutes({ stateDir: dir, now: () => later });
    const r = await tokenRoute!.handle(post({ officerId: 'officer02', stationId: 'KHH01' }));
    const { expiresAt } = JSON.parse(text(r?.body)) as { expiresAt: string };
    expect(expiresAt).toBe('2031-05-01T08:00:00.000Z');
  });

  it('refuses a bad officer id or station with the field named', async () => {
    const route = localOfficerTokenRoute({ issuer: { keyFile: join(dir, 'auth', 'issuer-key.json') } });
    const badOfficer = await route.handle(post({ officerId: 'a b', stationId: 'TPE01' }));
    expect(badOfficer?.status).toBe(400);
    expect(JSON.parse(text(badOfficer?.body)).error).toMatchObject({ field: 'officerId' });
    const badStation = await route.handle(post({ officerId: 'officer01', stationId: 'x' }));
    expect(JSON.parse(text(badStation?.body)).error).toMatchObject({ field: 'stationId' });
    const notJson = await route.handle(
      req('/local/officer-token', { method: 'POST', body: Buffer.from('{') }),
    );
    expect(notJson?.status).toBe(400);
    expect((await route.handle(req('/local/officer-token')))?.status).toBe(405);
    expect(await route.handle(req('/local/other', { method: 'POST' }))).toBeUndefined();
  });
});
