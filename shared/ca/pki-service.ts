import { NotFoundError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CertificateStore } from '../ports/repository.js';
import type { Signer } from '../ports/signer.js';
import type { CrlPublisher } from './crl.js';
import type { PkiMaterial } from './material.js';
import { createOcspResponder, decodeOcspGetRequest, ocspErrorResponse } from './ocsp.js';

/**
 * What relying parties fetch, for the HTTP layer to serve:
 *   GET /pki/crl/{caId}.crl      → crlDer(caId)             application/pkix-crl
 *   GET /pki/certs/{caId}.cer    → caCertificateDer(caId)   application/pkix-cert
 *   POST /pki/ocsp               → ocsp(body)               application/ocsp-request → application/ocsp-response
 *   GET /pki/ocsp/{b64 request}  → ocspGet(pathRest)
 * caId is `root-ca` or `issuing-ca`; anything else is NotFoundError.
 */
export interface PkiService {
  crlDer(caId: string): Promise<Uint8Array>;
  caCertificateDer(caId: string): Promise<Uint8Array>;
  /** Never throws: errors become OCSP error statuses. */
  ocsp(requestDer: Uint8Array): Promise<Uint8Array>;
  /** The GET form: the path segment after `/pki/ocsp/` (URL-encoded base64 of the DER request). */
  ocspGet(encodedRequest: string): Promise<Uint8Array>;
}

export interface PkiServiceDeps {
  material: PkiMaterial;
  certificates: CertificateStore;
  signer: Signer;
  clock: Clock;
  /** The issuing CA's CRL publisher (the same one the CertificateAuthority regenerates). */
  crl: CrlPublisher;
  ocspValiditySeconds?: number;
  onError?: (e: unknown) => void;
}

export const createPkiService = (deps: PkiServiceDeps): PkiService => {
  const { material } = deps;
  const responder = createOcspResponder({
    certificates: deps.certificates,
    signer: deps.signer,
    clock: deps.clock,
    issuer: material.issuing,
    responder: material.ocspResponder,
    validitySeconds: deps.ocspValiditySeconds,
    onError: deps.onError,
  });
  return {
    async crlDer(caId) {
      if (caId === 'issuing-ca') return (await deps.crl.current()).der;
      if (caId === 'root-ca') return material.rootCrl;
      throw new NotFoundError(`no CRL for ${caId}`);
    },
    async caCertificateDer(caId) {
      if (caId === 'issuing-ca') return material.issuing.certificate;
      if (caId === 'root-ca') return material.root.certificate;
      throw new NotFoundError(`no CA certificate ${caId}`);
    },
    ocsp: (requestDer) => responder.respond(requestDer),
    async ocspGet(encodedRequest) {
      const der = decodeOcspGetRequest(encodedRequest);
      return der ? responder.respond(der) : ocspErrorResponse('malformedRequest');
    },
  };
};
