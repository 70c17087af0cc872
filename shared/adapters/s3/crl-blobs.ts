import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DependencyError, InternalError } from '../../errors.js';
import { CRL_CA_ID, type CrlBlobStore } from '../../ports/crl-blobs.js';

/**
 * Published CRLs in the PKI repository bucket (infra/stacks/pki-repository.ts), at `pki/crl/<caId>.crl`:
 * the very object CloudFront serves at the CRL distribution point every certificate names. The bucket is
 * versioned, so replacing the object keeps every earlier CRL for audits.
 */
export interface S3CrlBlobsOptions {
  client: S3Client;
  bucket: string;
  /** Object key prefix (default `pki/crl/`, infra PKI_PREFIXES.crl). */
  prefix?: string;
  /** How long CloudFront and relying parties may cache a CRL (default 300 s; the CRL job runs far more often than it expires). */
  cacheSeconds?: number;
}

export const createS3CrlBlobs = (opts: S3CrlBlobsOptions): CrlBlobStore => {
  const prefix = opts.prefix ?? 'pki/crl/';
  const key = (caId: string) => {
    if (!CRL_CA_ID.test(caId)) throw new InternalError(`not a CA id: ${caId}`);
    return `${prefix}${caId}.crl`;
  };
  return {
    async put(caId, der) {
      try {
        await opts.client.send(
          new PutObjectCommand({
            Bucket: opts.bucket,
            Key: key(caId),
            Body: der,
            ContentType: 'application/pkix-crl',
            CacheControl: `public, max-age=${opts.cacheSeconds ?? 300}`,
          }),
        );
      } catch (e) {
        throw new DependencyError(`publishing the ${caId} CRL to the PKI repository failed`, { cause: e });
      }
    },
    async get(caId) {
      try {
        const out = await opts.client.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key(caId) }));
        return out.Body ? await out.Body.transformToByteArray() : undefined;
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw new DependencyError(`reading the ${caId} CRL from the PKI repository failed`, { cause: e });
      }
    },
  };
};
