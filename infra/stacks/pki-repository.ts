import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config.js';

/**
 * The PKI repository: CA certificates (`pki/certs/<ca>.cer`) and CRLs (`pki/crl/<ca>.crl`), the URLs every
 * certificate names in its AIA and CRL distribution point. Private, encrypted, versioned S3, served only
 * through CloudFront with origin access control (infra/stacks/edge.ts). The key ceremony publishes the CA
 * certificates; the CRL job publishes CRLs. Also the access-log bucket of the bucket and of CloudFront.
 */
export interface PkiRepositoryStackProps extends StackProps {
  config: DeployConfig;
}

/** Object key prefixes, the same paths as the API routes `/pki/crl/{ca}.crl` and `/pki/certs/{ca}.cer`. */
export const PKI_PREFIXES = { crl: 'pki/crl/', certs: 'pki/certs/' } as const;

export class PkiRepositoryStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PkiRepositoryStackProps) {
    super(scope, id, props);

    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // CloudFront standard logs are delivered with an ACL.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(props.config.logRetentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Repository', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'pki-repository/',
      // Every CRL ever published stays retrievable for audits; old versions move to cheaper storage.
      lifecycleRules: [
        {
          noncurrentVersionTransitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) },
          ],
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
