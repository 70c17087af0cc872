import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config.js';

/**
 * The PKI repository: CA certificates (`pki/certs/<ca>.cer`) and CRLs (`pki/crl/<ca>.crl`), the URLs every
 * certificate names in its AIA and CRL distribution point. Private, encrypted, versioned S3, served only
 * through CloudFront with origin access control (the PKI distribution in infra/stacks/edge.ts).
 * `infra/publish-ca.ts` publishes the CA certificates and the root CRL after the key ceremony; the CRL job
 * publishes the issuing CA's CRLs. Also the access-log bucket of this bucket and of CloudFront.
 */
export interface PkiRepositoryStackProps extends StackProps {
  config: DeployConfig;
  /** The key ceremony role, which publishes the CA certificates and the root CRL (infra/publish-ca.ts). */
  ceremonyRole: iam.IRole;
}

/** What the key ceremony publishes here; the CRL job publishes `pki/crl/issuing-ca.crl`. */
export const CEREMONY_OBJECTS = [
  'pki/certs/root-ca.cer',
  'pki/certs/issuing-ca.cer',
  'pki/crl/root-ca.crl',
] as const;

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

    const ceremony = iam.Role.fromRoleArn(this, 'KeyCeremonyRole', props.ceremonyRole.roleArn, {
      mutable: true,
    });
    ceremony.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: CEREMONY_OBJECTS.map((k) => this.bucket.arnForObjects(k)),
      }),
    );
    new CfnOutput(this, 'PkiBucketName', { value: this.bucket.bucketName });

    // Read by the PKI distribution (infra/stacks/edge.ts) through origin access control. The distribution
    // lives in the edge stack (it also routes /pki/ocsp to the API), so the policy names CloudFront in this
    // account rather than one distribution id; it covers only the public files (CRLs, CA certificates).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontReadsPublishedPkiFiles',
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [
          this.bucket.arnForObjects(`${PKI_PREFIXES.crl}*`),
          this.bucket.arnForObjects(`${PKI_PREFIXES.certs}*`),
        ],
        conditions: {
          StringLike: {
            'AWS:SourceArn': Stack.of(this).formatArn({
              service: 'cloudfront',
              region: '',
              resource: 'distribution',
              resourceName: '*',
            }),
          },
        },
      }),
    );
  }
}
