import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config.js';
import { acknowledgeNag } from '../constructs/nag.js';

/**
 * The PKI repository: CA certificates (`pki/certs/<ca>.cer`) and CRLs (`pki/crl/<ca>.crl`), the URLs every
 * certificate names in its AIA and CRL distribution point. Private, encrypted, versioned S3, served only
 * through CloudFront with origin access control (infra/stacks/edge.ts). The key ceremony publishes the CA
 * certificates; the CRL job publishes CRLs. Also the access-log bucket of the bucket and of CloudFront.
 */
export interface PkiRepositoryStackProps extends StackProps {
  config: DeployConfig;
  /** CloudFront-scope WAF web ACL (us-east-1). */
  webAclArn: string;
}

/** Object key prefixes, the same paths as the API routes `/pki/crl/{ca}.crl` and `/pki/certs/{ca}.cer`. */
export const PKI_PREFIXES = { crl: 'pki/crl/', certs: 'pki/certs/' } as const;

export class PkiRepositoryStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** The base URL certificates name (the custom domain if configured). */
  readonly baseUrl: string;

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

    const { config } = props;
    const custom =
      config.pkiDomainName && config.pkiCertificateArn
        ? {
            domainNames: [config.pkiDomainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'PkiCertificate', config.pkiCertificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {};
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'PKI repository: CRLs and CA certificates',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        // Relying parties fetch CRLs and AIA certificates over plain HTTP (RFC 5280 4.2.1.13, 4.2.2.1):
        // the files are signed, and HTTPS would make revocation checking depend on itself.
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.ALLOW_ALL,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: new cloudfront.CachePolicy(this, 'PkiCachePolicy', {
          comment: 'CRLs change every CRL run: short default TTL, origin Cache-Control wins',
          defaultTtl: Duration.minutes(5),
          minTtl: Duration.seconds(0),
          maxTtl: Duration.hours(1),
          enableAcceptEncodingGzip: false,
          enableAcceptEncodingBrotli: false,
        }),
      },
      webAclId: props.webAclArn,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/pki/',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...custom,
    });
    this.baseUrl =
      config.pkiBaseUrl ?? `http://${config.pkiDomainName ?? this.distribution.distributionDomainName}`;
    if (!config.pkiDomainName) {
      acknowledgeNag(
        this.distribution,
        'AwsSolutions-CFR4',
        'Without acdc:pkiDomainName the default *.cloudfront.net certificate is used, which cannot set a TLS minimum; relying parties use plain HTTP for CRLs anyway (signed files). Set the custom domain for production.',
      );
    }
    acknowledgeNag(
      this.distribution,
      'AwsSolutions-CFR1',
      'Revocation data must be reachable from every country where a certificate holder may use the card.',
    );
    new CfnOutput(this, 'PkiBaseUrl', { value: this.baseUrl });
  }
}
