import { createPkiService } from '../../shared/ca/pki-service.js';
import { InternalError } from '../../shared/errors.js';
import { awsApiHandler } from '../aws/api.js';
import { material, remoteCrlPublisher } from '../aws/ca.js';
import { crlBlobs } from '../aws/crl-blobs.js';
import { clock, logger, ocspKeyRef, repository, signer } from '../aws/deps.js';
import { createPkiHandlers } from './handlers.js';
import { pkiRoutes } from './routes.js';

/**
 * AWS entry of the relying parties' function: OCSP responses signed with the delegated responder key (the
 * only key this function's role may use), the CRL as the CRL job published it (read from the PKI
 * repository bucket, checked against the table's digest), and the CA certificates.
 * The PKI distribution serves the CRL and certificates from S3 too; these routes answer the same bytes.
 */
export const handler = awsApiHandler({
  service: 'pki',
  specs: pkiRoutes,
  build: async () => {
    const m = await material();
    const granted = ocspKeyRef();
    if (
      m.ocspResponder.key.provider !== 'kms' ||
      !granted.keyId.endsWith(m.ocspResponder.key.keyId.replace(/^.*key\//, ''))
    ) {
      throw new InternalError(
        `the OCSP responder certificate names key ${m.ocspResponder.key.keyId}, but this function was given ${granted.keyId}`,
      );
    }
    const log = logger('pki');
    return createPkiHandlers({
      pki: createPkiService({
        material: { ...m, ocspResponder: { ...m.ocspResponder, key: granted } },
        certificates: repository().certificates,
        signer: signer(),
        clock,
        crl: remoteCrlPublisher(m, 'pki', crlBlobs),
        onError: (e) => log.error('ocsp request failed', { error: e }),
      }),
    });
  },
});
