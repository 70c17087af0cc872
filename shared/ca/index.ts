/**
 * The CA core's public surface. Composition (local stack):
 *
 *   const { material } = await runCeremony({ stateDir, publicBaseUrl });        // scripts/ceremony.ts
 *   const signer = await createLocalCaSigner(stateDir, { modulePath });          // adapters/pkcs11/local-ca.ts
 *   const ca = createCertificateAuthority({ certificates: repo.certificates, docs: repo.docs, audit, signer,
 *                                           clock, ca: material.issuing, urls: material.urls, emailKey });
 *   const pki = createPkiService({ material, certificates: repo.certificates, signer, clock, crl: ca.crl });
 *
 * AWS: `createKmsSigner(new KMSClient(...))` (adapters/kms/signer.ts) instead of the PKCS#11 signer, and
 * `loadPkiMaterial(stateDir)` for ceremony output produced with `--mode aws`.
 */
export {
  type CaDescriptor,
  certificateParts,
  describeCa,
  HolderCertificateTemplate,
} from './certificate.js';
export {
  type CrlDocument,
  type CrlInfo,
  type CrlPublisher,
  createCrlPublisher,
  crlDocumentName,
  crlPem,
  type PublishedCrl,
  readPublishedCrl,
  toPem,
} from './crl.js';
export {
  type CertificateAuthority,
  type CertificateAuthorityDeps,
  createCertificateAuthority,
  type IssuanceTimings,
  type IssueCardCertificatesInput,
  type IssuedCertificates,
} from './issuer.js';
export { type AuthorityId, type CaFile, loadPkiMaterial, type PkiMaterial, pkiDirOf } from './material.js';
export { createOcspResponder, decodeOcspGetRequest, type OcspResponder, ocspErrorResponse } from './ocsp.js';
export { createPkiService, type PkiService, type PkiServiceDeps } from './pki-service.js';
export {
  type CertificateProfile,
  type CertificateProfileSpec,
  defineProfile,
  HOLDER_ENCRYPTION,
  HOLDER_SIGNATURE,
  type PkiUrls,
  PROFILES,
  pkiUrls,
} from './profiles.js';
