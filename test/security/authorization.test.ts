import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { RouteSpec } from '../../functions/http/spec.js';
import { allRoutes } from '../../functions/routes.js';
import { API_AUDIENCE, LOCAL_ISSUER } from '../../infra/local/tokens.js';
import { closeModules } from '../../shared/adapters/pkcs11/module.js';
import type { Application } from '../../shared/domain/model.js';
import { api } from '../e2e/harness.js';
import { type Bureau, openBureau } from '../faults/bureau.js';
import { diffSnapshots } from '../faults/faulty.js';
import { applyAtCounter, login, nextArc, type Order, pay, waitForStatus } from '../faults/flow.js';
import { startTestStack, type TestStack } from '../faults/stack.js';
import { EXAMPLES, withRealCsrs } from '../fuzz/examples.js';

/**
 * Who may do what, through HTTP on the whole product: staff routes refuse other roles (403) and missing,
 * forged, tampered, expired or foreign tokens (401); holder routes refuse sessions that are not there any
 * more; a holder's session or subscriber code reaches only that holder's order and card; a card station
 * cannot see, lease, extend, complete, mail or fail another station's job, nor enrol its cards. Every
 * refusal changes nothing stored (every item read back by key before and after).
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API, checked where used
type Res = { status: number; body: any };

const STAFF_ROLES = ['officer', 'ops', 'card-station'] as const;
type StaffRole = (typeof STAFF_ROLES)[number];

describe('authorization', () => {
  let stack: TestStack;
  let bureau: Bureau;
  let issuerKey: JWK;
  const good: Record<StaffRole, string> = { officer: '', ops: '', 'card-station': '' };
  let a: Order & { cardNumber: string; session: string };
  let b: Order & { cardNumber: string; session: string };

  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signWith = async (
    key: JWK,
    claims: Record<string, unknown>,
    o: { iss?: string; aud?: string; exp?: number } = {},
  ) => {
    const now = Math.floor(stack.clock.now().getTime() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: key.kid ?? 'k' })
      .setIssuer(o.iss ?? LOCAL_ISSUER)
      .setAudience(o.aud ?? API_AUDIENCE)
      .setSubject(String(claims.sub ?? 'someone'))
      .setIssuedAt(now)
      .setExpirationTime(o.exp ?? now + 3600)
      .sign(await importJWK(key, 'ES256'));
  };

  /** Every refused request: a JSON error body of the one shape, and nothing stored changed. */
  const refused = async (what: string, call: () => Promise<Res>, statuses: number[]): Promise<Res> => {
    const before = await stack.store.snapshot();
    const r = await call();
    const changed = diffSnapshots(before, await stack.store.snapshot());
    expect({
      what,
      status: statuses.includes(r.status) ? 'as expected' : r.status,
      body: r.body,
      changed,
    }).toEqual({
      what,
      status: 'as expected',
      body: r.body,
      changed: [],
    });
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(typeof r.body.error.code).toBe('string');
    expect(typeof r.body.error.message).toBe('string');
    return r;
  };

  const send = (
    r: RouteSpec,
    token: string | undefined,
    over: { params?: Record<string, string>; body?: unknown } = {},
  ) => {
    const e = EXAMPLES[r.id]!;
    const params = { ...e.params, ...over.params };
    const path = r.path.replace(/\{(\w+)\+?\}/g, (_m, n: string) => encodeURIComponent(params[n] ?? ''));
    const q = e.query ? `?${new URLSearchParams(e.query)}` : '';
    const body = over.body ?? e.body;
    return api(stack.url, r.method, `${path}${q}`, {
      ...(token !== undefined ? { token } : {}),
      ...(body !== undefined && r.method !== 'GET' ? { body } : {}),
    });
  };

  const issuedCard = async (email: string) => {
    await bureau.enroll(1);
    const o = await applyAtCounter(stack, nextArc(7_000), email);
    expect(await pay(stack, o)).toBe(200);
    await waitForStatus(stack, o.applicationId, ['issued']);
    await (await bureau.agent(`agent-${o.applicationId}`)).run({ once: true });
    const app = await waitForStatus(stack, o.applicationId, ['mailed']);
    return { ...o, cardNumber: app.cardNumber!, session: await login(stack, o) };
  };

  beforeAll(async () => {
    await withRealCsrs();
    stack = await startTestStack();
    bureau = await openBureau(stack);
    issuerKey = JSON.parse(await readFile(join(stack.dir, 'auth', 'issuer-key.json'), 'utf8')) as JWK;
    good.officer = await stack.tokens.officer();
    good.ops = await stack.tokens.ops();
    good['card-station'] = await stack.tokens.cardStation();
    a = await issuedCard('holder.a@example.org');
    b = await issuedCard('holder.b@example.org');
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    closeModules();
  });

  const staffRoutes = allRoutes.filter((r) => (STAFF_ROLES as readonly string[]).includes(r.auth));

  it('staff routes: another role is forbidden (403), and nothing changes', async () => {
    expect(staffRoutes.length).toBeGreaterThanOrEqual(10);
    for (const r of staffRoutes)
      for (const role of STAFF_ROLES.filter((x) => x !== r.auth)) {
        const res = await refused(`${role} on ${r.id}`, () => send(r, good[role]), [403]);
        expect(res.body.error.code).toBe('forbidden');
      }
  });

  it('staff routes: no token, garbage, forged, tampered, alg none, expired, foreign issuer or audience → 401', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const { exportJWK } = await import('jose');
    const stranger = { ...(await exportJWK(privateKey)), kid: issuerKey.kid } as JWK;
    const now = Math.floor(stack.clock.now().getTime() / 1000);
    for (const r of staffRoutes) {
      const claims = {
        role: r.auth,
        sub: 'mallory',
        ...(r.auth === 'officer' ? { station_id: 'TPE01' } : {}),
      };
      const [h, , s] = good[r.auth as StaffRole].split('.');
      const shortLived = await stack.issuer.issue(r.auth as StaffRole, 'short', {
        stationId: 'TPE01',
        ttlSeconds: 60,
      });
      const bad: [string, string | undefined][] = [
        ['no token', undefined],
        ['garbage', 'not-a-jwt'],
        ['signed by another key', await signWith(stranger, claims)],
        [
          'payload swapped under a valid signature',
          `${h}.${b64url({ ...claims, iss: LOCAL_ISSUER, aud: API_AUDIENCE, exp: now + 3600 })}.${s}`,
        ],
        [
          'alg none',
          `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claims, iss: LOCAL_ISSUER, aud: API_AUDIENCE, exp: now + 3600 })}.`,
        ],
        ['foreign issuer', await signWith(issuerKey, claims, { iss: 'https://evil.example' })],
        ['foreign audience', await signWith(issuerKey, claims, { aud: 'other-api' })],
        ['expired', await signWith(issuerKey, claims, { exp: now - 10 })],
      ];
      for (const [what, token] of bad) {
        const res = await refused(`${what} on ${r.id}`, () => send(r, token), [401]);
        expect(res.body.error.code).toBe('unauthenticated');
      }
      // A valid token that ran out while in use.
      stack.clock.advance(2 * 60_000);
      await refused(`expired (clock) on ${r.id}`, () => send(r, shortLived), [401]);
    }
  });

  it('staff tokens whose claims do not fit the route are forbidden: officer without or with a bad station id, unknown role', async () => {
    const officerRoutes = staffRoutes.filter((r) => r.auth === 'officer');
    for (const r of officerRoutes)
      for (const claims of [
        { role: 'officer' },
        { role: 'officer', station_id: 'tpe 01' },
        { role: 'officer', station_id: 7 },
      ]) {
        const token = await signWith(issuerKey, { ...claims, sub: 'officer-9' });
        await refused(`${JSON.stringify(claims)} on ${r.id}`, () => send(r, token), [403]);
      }
    for (const r of staffRoutes) {
      const token = await signWith(issuerKey, { role: 'admin', sub: 'root', station_id: 'TPE01' });
      await refused(`role admin on ${r.id}`, () => send(r, token), [403]);
    }
  });

  it('holder routes: no session, garbage, a staff JWT, an expired or logged-out session → 401', async () => {
    const holderRoutes = allRoutes.filter((r) => r.auth === 'holder');
    expect(holderRoutes.map((r) => r.id).sort()).toEqual([
      'portal.cardCertificates',
      'portal.deleteSession',
      'portal.getOrder',
      'portal.startPayment',
    ]);
    const loggedOut = await login(stack, a);
    expect((await api(stack.url, 'DELETE', '/v1/portal/sessions/current', { token: loggedOut })).status).toBe(
      204,
    );
    const expiring = await login(stack, b);
    for (const r of holderRoutes) {
      for (const [what, token] of [
        ['no session', undefined],
        ['garbage', 'x'],
        ['random token', 'A'.repeat(43)],
        ['an officer JWT', good.officer],
        ['logged out', loggedOut],
      ] as const) {
        const res = await refused(
          `${what} on ${r.id}`,
          () => send(r, token, { params: { cardNumber: a.cardNumber } }),
          [401],
        );
        expect(res.body.error.code).toBe('unauthenticated');
      }
    }
    stack.clock.advance(16 * 60_000);
    for (const r of holderRoutes)
      await refused(
        `expired session on ${r.id}`,
        () => send(r, expiring, { params: { cardNumber: b.cardNumber } }),
        [401],
      );
    a.session = await login(stack, a);
    b.session = await login(stack, b);
  });

  it("a holder's session reaches only that holder's order and card", async () => {
    const mine = await api(stack.url, 'GET', '/v1/portal/application', { token: a.session });
    expect(mine.body.applicationId).toBe(a.applicationId);
    expect(JSON.stringify(mine.body)).not.toContain(b.applicationId);
    expect(
      (await api(stack.url, 'GET', `/v1/portal/cards/${a.cardNumber}/certificates`, { token: a.session }))
        .status,
    ).toBe(200);
    const theirs = await refused(
      "A's session on B's card certificates",
      () => api(stack.url, 'GET', `/v1/portal/cards/${b.cardNumber}/certificates`, { token: a.session }),
      [403, 404],
    );
    expect(JSON.stringify(theirs.body)).not.toMatch(new RegExp(`${b.applicationId}|holder\\.b@`));
    // Paying goes to one's own order only (it is paid already: a conflict, and B's order is untouched).
    const beforeB = (await stack.repo.applications.get(b.applicationId)) as Application;
    await refused(
      'A starts a payment',
      () => send(allRoutes.find((r) => r.id === 'portal.startPayment')!, a.session),
      [409],
    );
    expect(await stack.repo.applications.get(b.applicationId)).toEqual(beforeB);
    // Logging out A leaves B logged in.
    const spare = await login(stack, a);
    expect((await api(stack.url, 'DELETE', '/v1/portal/sessions/current', { token: spare })).status).toBe(
      204,
    );
    expect(
      (await api(stack.url, 'GET', '/v1/portal/application', { token: b.session })).body.applicationId,
    ).toBe(b.applicationId);
  });

  it("A's subscriber code does nothing to B's card (activation, unblock, suspension, resumption, e-mail)", async () => {
    const card = `/v1/portal/cards/${b.cardNumber}`;
    const challenge = 'c'.repeat(32);
    const cardBefore = await stack.repo.cards.get(b.cardNumber);
    const certsBefore = await stack.repo.certificates.listByCard(b.cardNumber);
    for (const [method, path, body] of [
      ['POST', `${card}/activation`, { subscriberCode: a.subscriberCode, challenge }],
      ['POST', `${card}/pin-unblock`, { subscriberCode: a.subscriberCode, challenge }],
      ['POST', `${card}/suspension`, { subscriberCode: a.subscriberCode }],
      ['POST', `${card}/resumption`, { subscriberCode: a.subscriberCode }],
      ['PUT', `${card}/email`, { subscriberCode: a.subscriberCode, email: 'mallory@example.org' }],
    ] as const) {
      // A wrong code counts towards B's lock (that is the lock's purpose: the 4th try locks, 423); nothing
      // else may change.
      const r = await api(stack.url, method, path, { body });
      expect({ path, refused: [401, 423].includes(r.status) }).toEqual({ path, refused: true });
    }
    expect(await stack.repo.cards.get(b.cardNumber)).toEqual(cardBefore);
    expect(await stack.repo.certificates.listByCard(b.cardNumber)).toEqual(certsBefore);
  });

  it("a card station cannot see, lease, extend, complete, mail or fail another station's job, nor enrol its cards", async () => {
    await bureau.enroll(1);
    const o = await applyAtCounter(stack, nextArc(7_000), 'holder.c@example.org');
    expect(await pay(stack, o)).toBe(200);
    const issued = await waitForStatus(stack, o.applicationId, ['issued']);
    const jobId = issued.cardJobId!;
    const other = await stack.tokens.cardStation('bureau-2');

    // Bureau 2 does not see the job, and cannot lease it by id.
    expect(
      (
        await api(stack.url, 'POST', '/v1/card-station/jobs/lease', {
          token: other,
          body: { agentId: 'agent-1' },
        })
      ).status,
    ).toBe(204);
    await refused(
      'bureau-2 leases by id',
      () =>
        api(stack.url, 'POST', '/v1/card-station/jobs/lease', {
          token: other,
          body: { agentId: 'agent-1', jobId },
        }),
      [403],
    );
    // Bureau 1's agent holds the lease; bureau 2 (even with the same agent id) can do nothing with the job.
    const leased = await api(stack.url, 'POST', '/v1/card-station/jobs/lease', {
      token: good['card-station'],
      body: { agentId: 'agent-1', jobId },
    });
    expect(leased.status).toBe(200);
    const job = `/v1/card-station/jobs/${jobId}`;
    const complete = EXAMPLES['cardstation.complete']!.body as Record<string, unknown>;
    for (const [path, body] of [
      [`${job}/heartbeat`, { agentId: 'agent-1' }],
      [`${job}/complete`, { ...complete, agentId: 'agent-1' }],
      [`${job}/mailed`, { agentId: 'agent-1', trackingNumber: 'RR123456785TW' }],
      [`${job}/failure`, { agentId: 'agent-1', reason: 'lost' }],
    ] as const)
      await refused(
        `bureau-2 ${path}`,
        () => api(stack.url, 'POST', path, { token: other, body }),
        [403, 409],
      );
    // Nor can it enrol a card number bureau 1 holds (and so take it over).
    const enroll = structuredClone(EXAMPLES['cardstation.enroll']!.body) as {
      cards: { cardNumber: string }[];
    };
    enroll.cards[0]!.cardNumber = issued.cardNumber!;
    await refused(
      'bureau-2 enrols a held card',
      () => api(stack.url, 'POST', '/v1/card-station/inventory', { token: other, body: enroll }),
      [400, 403, 409],
    );
    expect((await stack.repo.cardJobs.get(jobId))?.leaseOwner).toBe('bureau-1/agent-1');
  });
});
