import { S3Client } from '@aws-sdk/client-s3';
import { createS3CrlBlobs } from '../../shared/adapters/s3/crl-blobs.js';
import type { CrlBlobStore } from '../../shared/ports/crl-blobs.js';
import { config, required } from './deps.js';

/**
 * The PKI repository bucket as the CRL blob store, for the two functions that touch CRL bytes: the CRL
 * job (publishes) and the pki function (serves `GET /pki/crl/{ca}.crl`). Kept apart from ./ca.ts so the
 * S3 client stays out of every other function's bundle.
 */
let blobs: CrlBlobStore | undefined;

export const crlBlobs = (): CrlBlobStore => {
  blobs ??= createS3CrlBlobs({
    client: new S3Client({ region: config().AWS_REGION }),
    bucket: required('PKI_BUCKET'),
  });
  return blobs;
};
