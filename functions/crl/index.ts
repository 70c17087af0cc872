import type { Actor } from '../../shared/domain/model.js';
import { answer, certificateAuthority, crlAnswerOf, material } from '../aws/ca.js';
import { crlBlobs } from '../aws/crl-blobs.js';
import { clock, logger } from '../aws/deps.js';
import { count, flushMetrics, gauge, METRIC } from '../aws/metrics.js';

/**
 * The CRL job: the only function besides the issuance signer whose role may sign with the issuing CA
 * key, and only CRLs. It runs on a schedule (a fresh CRL well before nextUpdate, even when nothing
 * changed) and on request: a function that revoked, held or released a certificate asks it for a new CRL
 * (`{ op: 'regenerateCrl' }`, see functions/aws/ca.ts remoteCrlPublisher). Each CRL's number, dates and
 * digest go to the table (a conditional write claims the number), its bytes to the PKI repository bucket
 * (`pki/crl/issuing-ca.crl`), which CloudFront serves at the CRL distribution point every certificate
 * names and the pki function reads for `GET /pki/crl/issuing-ca.crl` (shared/ca/crl.ts).
 */

const SERVICE = 'crl';
const log = logger(SERVICE);
const publish = async (actor?: Actor) => {
  const ca = await certificateAuthority(SERVICE, { crlSigner: true, crlBlobs });
  const crl = await ca.regenerateCrl(actor);
  count(METRIC.crlPublished);
  const m = await material();
  const firstExpiry = Math.min(m.ocspResponder.notAfter.getTime(), Date.parse(m.file.rootCrl.nextUpdate));
  gauge(METRIC.caMaterialDaysLeft, Math.floor((firstExpiry - clock.now().getTime()) / 86_400_000));
  log.info('crl published', {
    caId: crl.caId,
    number: crl.number.toString(),
    entries: crl.entries,
    bytes: crl.size,
  });
  return crlAnswerOf(crl);
};

export const handler = async (event: unknown) => {
  try {
    const request = event as { op?: unknown; actor?: Actor } | null;
    if (request?.op === 'regenerateCrl') return await answer(() => publish(request.actor));
    return await publish();
  } finally {
    flushMetrics();
  }
};
