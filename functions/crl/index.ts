import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Actor } from '../../shared/domain/model.js';
import { DependencyError } from '../../shared/errors.js';
import { answer, certificateAuthority, material } from '../aws/ca.js';
import { clock, config, logger, required } from '../aws/deps.js';
import { count, flushMetrics, gauge, METRIC } from '../aws/metrics.js';

/**
 * The CRL job: the only function besides the issuance signer whose role may sign with the issuing CA
 * key, and only CRLs. It runs on a schedule (a fresh CRL well before nextUpdate, even when nothing
 * changed) and on request: a function that revoked, held or released a certificate asks it for a new CRL
 * (`{ op: 'regenerateCrl' }`, see functions/aws/ca.ts remoteCrlPublisher). Each CRL is stored in the
 * table (the pki function serves it) and published to the PKI repository bucket, which CloudFront serves
 * at the CRL distribution point every certificate names.
 */

const SERVICE = 'crl';
const log = logger(SERVICE);
let s3: S3Client | undefined;

/** CloudFront and relying parties may keep a CRL this long; the schedule publishes far more often. */
const CACHE_SECONDS = 300;

const publish = async (actor?: Actor) => {
  const ca = await certificateAuthority(SERVICE, { crlSigner: true });
  const crl = await ca.regenerateCrl(actor);
  s3 ??= new S3Client({ region: config().AWS_REGION });
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: required('PKI_BUCKET'),
        Key: `pki/crl/${crl.caId}.crl`,
        Body: crl.der,
        ContentType: 'application/pkix-crl',
        CacheControl: `public, max-age=${CACHE_SECONDS}`,
      }),
    );
  } catch (e) {
    throw new DependencyError(`publishing CRL ${crl.number} to the PKI repository failed`, { cause: e });
  }
  count(METRIC.crlPublished);
  const m = await material();
  const firstExpiry = Math.min(m.ocspResponder.notAfter.getTime(), Date.parse(m.file.rootCrl.nextUpdate));
  gauge(METRIC.caMaterialDaysLeft, Math.floor((firstExpiry - clock.now().getTime()) / 86_400_000));
  log.info('crl published', { caId: crl.caId, number: crl.number.toString(), entries: crl.entries });
  return {
    caId: crl.caId,
    number: crl.number.toString(),
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate.toISOString(),
    entries: crl.entries,
  };
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
