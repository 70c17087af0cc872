import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from '../../functions/aws/origin.js';
import type { DeployConfig } from '../config.js';
import { acknowledgeNag } from '../constructs/nag.js';

/**
 * The two public front doors, both CloudFront with a WAF web ACL (infra/stacks/waf.ts):
 *
 * - API: the HTTP API behind CloudFront. CloudFront adds the secret `x-origin-verify` header to every
 *   origin request and the API functions refuse requests without it (functions/aws/api.ts), so the
 *   execute-api hostname is no way around the WAF. Nothing is cached (CachingDisabled), the
 *   Authorization header reaches the API, and the Host header stays the API's own.
 * - PKI: the base URL certificates name in AIA and CRL distribution points (the key ceremony's
 *   --base-url). CRLs and CA certificates come from the PKI repository bucket (origin access control);
 *   `/pki/ocsp*` goes to the OCSP responder on the API. Plain HTTP is allowed here, as relying parties
 *   expect (RFC 5280 4.2.1.13, RFC 6960 A.1): everything served is signed.
 */
export interface EdgeStackProps extends StackProps {
  config: DeployConfig;
  apiDomainName: string;
  originVerifySecret: secretsmanager.ISecret;
  apiWebAclArn: string;
  pkiWebAclArn: string;
  pkiBucket: s3.IBucket;
  logBucket: s3.IBucket;
}

export class EdgeStack extends Stack {
  readonly apiDistribution: cloudfront.Distribution;
  readonly pkiDistribution: cloudfront.Distribution;
  /** What the ceremony's --base-url should be (the custom PKI domain when configured). */
  readonly pkiBaseUrl: string;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const apiOrigin = new origins.HttpOrigin(props.apiDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      customHeaders: { [ORIGIN_VERIFY_HEADER]: props.originVerifySecret.secretValue.unsafeUnwrap() },
    });
    const toApi = (viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy): cloudfront.BehaviorOptions => ({
      origin: apiOrigin,
      viewerProtocolPolicy,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // With caching disabled this policy forwards Authorization too; Host stays the API's own.
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    });
    const customDomain = (domain: string | undefined, certificateArn: string | undefined, id: string) =>
      domain && certificateArn
        ? {
            domainNames: [domain],
            certificate: acm.Certificate.fromCertificateArn(this, id, certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {};

    this.apiDistribution = new cloudfront.Distribution(this, 'ApiDistribution', {
      comment: 'API: WAF in front of the HTTP API',
      defaultBehavior: toApi(cloudfront.ViewerProtocolPolicy.HTTPS_ONLY),
      // The pki function's routes (OCSP, CRL, CA certificates) answer plain HTTP too.
      additionalBehaviors: { '/pki/*': toApi(cloudfront.ViewerProtocolPolicy.ALLOW_ALL) },
      webAclId: props.apiWebAclArn,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/api/',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...customDomain(config.apiDomainName, config.apiCertificateArn, 'ApiCertificate'),
    });

    // The bucket's policy (PKI repository stack) lets CloudFront read pki/crl/* and pki/certs/*.
    const bucket = s3.Bucket.fromBucketAttributes(this, 'PkiBucket', {
      bucketArn: props.pkiBucket.bucketArn,
      bucketName: props.pkiBucket.bucketName,
    });
    this.pkiDistribution = new cloudfront.Distribution(this, 'PkiDistribution', {
      comment: 'PKI repository: CRLs and CA certificates (S3), OCSP (API)',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.ALLOW_ALL,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: new cloudfront.CachePolicy(this, 'PkiCachePolicy', {
          comment: 'CRLs change every CRL run: short default TTL, the Cache-Control the CRL job sets wins',
          defaultTtl: Duration.minutes(5),
          minTtl: Duration.seconds(0),
          maxTtl: Duration.hours(1),
        }),
      },
      additionalBehaviors: { '/pki/ocsp*': toApi(cloudfront.ViewerProtocolPolicy.ALLOW_ALL) },
      webAclId: props.pkiWebAclArn,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/pki/',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...customDomain(config.pkiDomainName, config.pkiCertificateArn, 'PkiCertificate'),
    });
    Validations.of(this.pkiDistribution).acknowledge({
      id: 'Annotation::@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac',
      reason:
        'The bucket policy is written in the PKI repository stack (CloudFront in this account may read pki/crl/* and pki/certs/*), so this stack need not change it.',
    });
    this.pkiBaseUrl = `http://${config.pkiDomainName ?? this.pkiDistribution.distributionDomainName}`;

    for (const [dist, custom, what] of [
      [this.apiDistribution, config.apiDomainName, 'api'],
      [this.pkiDistribution, config.pkiDomainName, 'pki'],
    ] as const) {
      if (!custom) {
        acknowledgeNag(
          dist,
          'AwsSolutions-CFR4',
          `Without acdc:${what}DomainName the default *.cloudfront.net certificate is used, which cannot set a TLS minimum. Production sets the custom domain (docs/deploy.md), which enforces TLS 1.2.`,
        );
      }
      acknowledgeNag(
        dist,
        'AwsSolutions-CFR1',
        'No geo restriction: holders live abroad part of the time and relying parties are worldwide.',
      );
    }
    new CfnOutput(this, 'ApiBaseUrl', {
      value: `https://${config.apiDomainName ?? this.apiDistribution.distributionDomainName}`,
    });
    new CfnOutput(this, 'PkiBaseUrl', {
      value: this.pkiBaseUrl,
      description: 'The key ceremony --base-url (AIA, CRL distribution points, OCSP in every certificate)',
    });
  }
}
