import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type RawRequest,
  type RawResponse,
  type RawRoute,
  startLocalServer,
} from '../../infra/local/server.js';
import { openLocalIssuer } from '../../infra/local/tokens.js';
import { localWebRoutes } from '../../infra/local/web.js';
import { createSandboxGateway, type SandboxGateway } from '../../shared/adapters/payment/sandbox.js';
import { parseArcNumber } from '../../shared/domain/arc.js';
import { createLogger } from '../../shared/logger.js';
import { systemClock } from '../../shared/ports/clock.js';

/**
 * A small stand-in for the API, for developing the front end before the real local stack exists:
 * web/dist and the local officer sign-in served by infra/local/web.ts, the real sandbox gateway, and
 * canned, stateful answers for the portal, station and query routes. The journeys test runs against
 * the real stack (`startLocalStack`) when it is there; this is only the fallback.
 */

interface MockApp {
  id: string;
  arc: string;
  code: string;
  failures: number;
  status: string;
  name: string;
  email: string;
  mailingAddress: Record<string, string>;
  paymentDeadline: string;
  tradeNo?: string;
  cardNumber?: string;
  cardStatus?: string;
  serials?: string[];
  certStatus?: string;
}

const json = (status: number, body: unknown): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: JSON.stringify(body),
});
const err = (status: number, code: string, message: string, field?: string, rule?: string) =>
  json(status, { error: { code, message, ...(field ? { field, rule } : {}) } });

const MINIMAL_PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
).toString('base64');

export const startMockApi = async (): Promise<{ url: string; close: () => Promise<void> }> => {
  const stateDir = await mkdtemp(join(tmpdir(), 'acdc-web-mock-'));
  const issuer = await openLocalIssuer(join(stateDir, 'auth', 'issuer-key.json'));
  const apps = new Map<string, MockApp>();
  const sessions = new Map<string, string>();
  let sandbox: SandboxGateway | undefined;
  let baseUrl = '';

  const body = (req: RawRequest): Record<string, unknown> => {
    try {
      return JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const portalApp = (req: RawRequest) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const id = m ? sessions.get(m[1]!) : undefined;
    return id ? apps.get(id) : undefined;
  };
  const view = (a: MockApp) => ({
    applicationId: a.id,
    status: a.status,
    name: a.name,
    paymentDeadline: a.paymentDeadline,
    fee: {
      currency: 'TWD',
      items: [
        { code: 'card', label: 'Card', amount: 250 },
        { code: 'postage', label: 'Registered postage', amount: 28 },
      ],
      total: 278,
    },
    mailingAddress: a.mailingAddress,
    ...(a.cardNumber ? { cardNumber: a.cardNumber } : {}),
  });
  const cardState = (a: MockApp, changed: boolean) => ({
    cardNumber: a.cardNumber,
    status: a.cardStatus,
    changed,
    certificates: (a.serials ?? []).map((s, i) => ({
      serialNumber: s,
      profile: i === 0 ? 'holder-signature' : 'holder-encryption',
      status: a.certStatus,
    })),
  });

  const api: RawRoute = {
    prefix: '/v1/',
    async handle(req) {
      const p = req.path;
      if (p === '/v1/station/applications' && req.method === 'POST') {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!token) return err(401, 'unauthenticated', 'a bearer token is required');
        await issuer.verify(token);
        const b = body(req);
        let arc: string;
        try {
          arc = parseArcNumber(b.arcNumber).value;
        } catch (e) {
          const v = e as { field: string; rule: string; message: string };
          return err(400, 'validation_failed', v.message, v.field, v.rule);
        }
        const id = `APP${randomBytes(4).toString('hex').toUpperCase()}`;
        const code = randomBytes(6)
          .toString('base64url')
          .replace(/[^A-Za-z0-9]/g, 'x')
          .slice(0, 8);
        const deadline = new Date(Date.now() + 15 * 86400_000).toISOString();
        apps.set(id, {
          id,
          arc,
          code,
          failures: 0,
          status: 'awaiting_payment',
          name: String(b.name),
          email: String(b.email),
          mailingAddress: b.mailingAddress as Record<string, string>,
          paymentDeadline: deadline,
        });
        return json(201, {
          applicationId: id,
          subscriberCode: code,
          paymentDeadline: deadline,
          fee: { currency: 'TWD', items: [], total: 278 },
          arcLast4: arc.slice(-4),
          warnings: [],
          applicationForm: { contentType: 'application/pdf', filename: `${id}.pdf`, base64: MINIMAL_PDF },
        });
      }
      const station = /^\/v1\/station\/applications\/([^/]+)$/.exec(p);
      if (station && req.method === 'GET') {
        const a = apps.get(decodeURIComponent(station[1]!));
        return a
          ? json(200, { ...view(a), arcLast4: a.arc.slice(-4) })
          : err(404, 'not_found', 'no such application');
      }
      if (p === '/v1/portal/sessions' && req.method === 'POST') {
        const b = body(req);
        const a = [...apps.values()].find((x) => x.arc === String(b.arcNumber));
        if (!a) return err(401, 'unauthenticated', 'ARC number or subscriber code is wrong');
        if (a.failures >= 4) return err(423, 'locked', 'the subscriber code is locked');
        if (b.subscriberCode !== a.code) {
          a.failures++;
          return a.failures >= 4
            ? err(423, 'locked', 'the subscriber code is locked')
            : err(401, 'unauthenticated', 'ARC number or subscriber code is wrong');
        }
        a.failures = 0;
        const token = randomBytes(16).toString('hex');
        sessions.set(token, a.id);
        return json(201, { token, expiresAt: new Date(Date.now() + 900_000).toISOString() });
      }
      if (p === '/v1/portal/application' && req.method === 'GET') {
        const a = portalApp(req);
        return a ? json(200, view(a)) : err(401, 'unauthenticated', 'sign in again');
      }
      if (p === '/v1/portal/payments' && req.method === 'POST') {
        const a = portalApp(req);
        if (!a) return err(401, 'unauthenticated', 'sign in again');
        const inv = body(req).invoice as { kind?: string; carrier?: string } | undefined;
        if (inv?.kind === 'mobile_barcode' && !/^\/[0-9A-Z.+-]{7}$/.test(inv.carrier ?? '')) {
          return err(
            400,
            'validation_failed',
            'invoice.carrier: not a mobile barcode',
            'invoice.carrier',
            'invoice.mobile_barcode',
          );
        }
        a.tradeNo = `T${randomBytes(6).toString('hex').toUpperCase()}`;
        sandbox ??= createSandboxGateway({ baseUrl, clock: systemClock });
        const checkout = sandbox.gateway.checkout({
          merchantTradeNo: a.tradeNo,
          amount: 278,
          description: 'ACDC card',
          itemName: 'Card NT$250 + postage NT$28',
          createdAt: new Date(),
          callbackUrl: `${baseUrl}/v1/payments/callback`,
          returnUrl: `${baseUrl}/portal`,
        });
        return json(201, { checkout });
      }
      if (p === '/v1/payments/callback' && req.method === 'POST') {
        const fields = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
        const cb = sandbox!.gateway.verifyCallback(fields);
        const a = [...apps.values()].find((x) => x.tradeNo === cb.merchantTradeNo);
        if (a && cb.paid && a.status === 'awaiting_payment') {
          a.status = 'paid';
          setTimeout(() => {
            a.status = 'issued';
            a.cardNumber = `AC${String(Date.now()).padStart(14, '0').slice(-14)}`;
            a.cardStatus = 'mailed';
            a.serials = [
              randomBytes(16).toString('hex').replace(/^0/, '1'),
              randomBytes(16).toString('hex').replace(/^0/, '1'),
            ];
            a.certStatus = 'good';
          }, 1500);
        }
        return { status: 200, headers: { 'content-type': 'text/plain' }, body: '1|OK' };
      }
      const card = /^\/v1\/portal\/cards\/([^/]+)\/(suspension|resumption)$/.exec(p);
      if (card && req.method === 'POST') {
        const a = [...apps.values()].find((x) => x.cardNumber === card[1]);
        if (!a) return err(404, 'not_found', 'no such card', 'cardNumber', 'card.unknown');
        if (body(req).subscriberCode !== a.code) return err(401, 'unauthenticated', 'wrong subscriber code');
        const target = card[2] === 'suspension' ? 'suspended' : 'mailed';
        const changed = a.cardStatus !== target;
        a.cardStatus = target;
        a.certStatus = target === 'suspended' ? 'hold' : 'good';
        return json(200, cardState(a, changed));
      }
      if (p === '/v1/certificates' && req.method === 'GET') {
        const n = req.query.get('cardNumber');
        const a = [...apps.values()].find((x) => n && x.cardNumber === n);
        return json(200, {
          query: 'cardNumber',
          certificates: (a?.serials ?? []).map((s, i) => ({
            serialNumber: s,
            profile: i === 0 ? 'holder-signature' : 'holder-encryption',
            usage: i === 0 ? 'signature' : 'encryption',
            status: a!.certStatus,
            notBefore: new Date().toISOString(),
            notAfter: new Date(Date.now() + 5 * 365 * 86400_000).toISOString(),
            expired: false,
            issuer: { id: 'issuing-ca' },
            cardNumber: a!.cardNumber,
            issuedMonth: new Date().toISOString().slice(0, 7),
          })),
        });
      }
      return undefined;
    },
  };

  const sandboxRoute: RawRoute = {
    prefix: '/sandbox/gateway',
    async handle(req) {
      sandbox ??= createSandboxGateway({ baseUrl, clock: systemClock });
      const form = Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
      return sandbox.handle({ method: req.method, path: req.path, form });
    },
  };

  const { server, url } = await startLocalServer({
    host: '127.0.0.1',
    port: 0,
    specs: [],
    functions: {},
    verifyJwt: async (t) => issuer.verify(t),
    rawRoutes: [api, sandboxRoute, ...localWebRoutes({ stateDir, issuer })],
    logger: createLogger('web-mock'),
  });
  baseUrl = url;
  return {
    url,
    close: async () => {
      await new Promise<void>((r) => (server as Server).close(() => r()));
      await rm(stateDir, { recursive: true, force: true });
    },
  };
};
