import type { PkiService } from '../../shared/ca/pki-service.js';
import type { HandlerMap, HttpResult } from '../http/api.js';
import type { pkiRoutes } from './routes.js';

const der = (body: Uint8Array, contentType: string, maxAgeSeconds: number): HttpResult => ({
  status: 200,
  body,
  contentType,
  headers: { 'cache-control': `public, max-age=${maxAgeSeconds}` },
});

const stem = (file: string) => file.replace(/\.(crl|cer)$/, '');

export const createPkiHandlers = (deps: { pki: PkiService }): HandlerMap<typeof pkiRoutes> => ({
  'pki.getCrl': async ({ params }) =>
    der(await deps.pki.crlDer(stem(params.file)), 'application/pkix-crl', 60),
  'pki.getCaCertificate': async ({ params }) =>
    der(await deps.pki.caCertificateDer(stem(params.file)), 'application/pkix-cert', 86_400),
  // OCSP answers are never cached by intermediaries here: status changes (hold/release) must show at once.
  'pki.ocspPost': async ({ rawBody }) => der(await deps.pki.ocsp(rawBody), 'application/ocsp-response', 0),
  'pki.ocspGet': async ({ params }) =>
    der(await deps.pki.ocspGet(params.request), 'application/ocsp-response', 0),
});
