import * as z from 'zod';
import { route } from '../http/spec.js';

/** Relying parties: CRLs, CA certificates and the OCSP responder. Public, no authentication. */
const CA_IDS = ['root-ca', 'issuing-ca'] as const;

export const pkiRoutes = [
  route({
    id: 'pki.getCrl',
    method: 'GET',
    path: '/pki/crl/{file}',
    auth: 'public',
    fn: 'pki',
    summary: 'The latest full CRL of a CA (DER), e.g. /pki/crl/issuing-ca.crl',
    params: z.object({
      file: z
        .string()
        .regex(new RegExp(`^(${CA_IDS.join('|')})\\.crl$`), 'must be root-ca.crl or issuing-ca.crl'),
    }),
    responses: { 200: { description: 'DER CRL', contentType: 'application/pkix-crl' } },
  }),
  route({
    id: 'pki.getCaCertificate',
    method: 'GET',
    path: '/pki/certs/{file}',
    auth: 'public',
    fn: 'pki',
    summary: 'A CA certificate (DER), e.g. /pki/certs/issuing-ca.cer',
    params: z.object({
      file: z
        .string()
        .regex(new RegExp(`^(${CA_IDS.join('|')})\\.cer$`), 'must be root-ca.cer or issuing-ca.cer'),
    }),
    responses: { 200: { description: 'DER certificate', contentType: 'application/pkix-cert' } },
  }),
  route({
    id: 'pki.ocspPost',
    method: 'POST',
    path: '/pki/ocsp',
    auth: 'public',
    fn: 'pki',
    summary: 'OCSP (RFC 6960), POST form: body is a DER OCSPRequest',
    bodyKind: 'binary',
    responses: { 200: { description: 'DER OCSPResponse', contentType: 'application/ocsp-response' } },
  }),
  route({
    id: 'pki.ocspGet',
    method: 'GET',
    path: '/pki/ocsp/{request+}',
    auth: 'public',
    fn: 'pki',
    summary: 'OCSP (RFC 6960), GET form: the URL-encoded base64 DER OCSPRequest as the path',
    params: z.object({ request: z.string().min(1).max(4096) }),
    responses: { 200: { description: 'DER OCSPResponse', contentType: 'application/ocsp-response' } },
  }),
] as const;
