import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config.js';
import { acknowledgeNag } from '../constructs/nag.js';

/**
 * The public front door of the API: a CloudFront distribution with the WAF web ACL (infra/stacks/waf.ts)
 * in front of the HTTP API. CloudFront adds the secret `x-origin-verify` header to every origin request;
 * the API functions refuse requests without it (functions/aws/edge.ts), so the execute-api hostname is no
 * way around the WAF. Nothing is cached (CachingDisabled), and the Authorization header reaches the API.
 * `/pki/*` (the OCSP responder, and the CRL/certificate routes) also answers over plain HTTP, as relying
 * parties expect (RFC 6960 A.1, RFC 5280).
 */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

export interface EdgeStackProps extends StackProps {
  config: DeployConfig;
  apiDomainName: string;
  originVerifySecret: secretsmanager.ISecret;
  webAclArn: string;
  logBucket: s3.IBucket;
}

export class EdgeStack extends Stack {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, props);
    const { config } = props;
    const origin = new origins.HttpOrigin(props.apiDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      customHeaders: { [ORIGIN_VERIFY_HEADER]: props.originVerifySecret.secretValue.unsafeUnwrap() },
    });
    const behavior = (viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy): cloudfront.BehaviorOptions => ({
      origin,
      viewerProtocolPolicy,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // With caching disabled this policy forwards Authorization too; Host stays the API's own.
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    });
    const custom =
      config.apiDomainName && config.apiCertificateArn
        ? {
            domainNames: [config.apiDomainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'ApiCertificate', config.apiCertificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {};
    this.distribution = new cloudfront.Distribution(this, 'ApiDistribution', {
      comment: 'API: WAF in front of the HTTP API',
      defaultBehavior: behavior(cloudfront.ViewerProtocolPolicy.HTTPS_ONLY),
      additionalBehaviors: { '/pki/*': behavior(cloudfront.ViewerProtocolPolicy.ALLOW_ALL) },
      webAclId: props.webAclArn,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/api/',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...custom,
    });
    if (!config.apiDomainName) {
      acknowledgeNag(
        this.distribution,
        'AwsSolutions-CFR4',
        'Without acdc:apiDomainName the default *.cloudfront.net certificate is used, which cannot set a TLS minimum. Production sets the custom domain (docs/deploy.md), which enforces TLS 1.2.',
      );
    }
    acknowledgeNag(
      this.distribution,
      'AwsSolutions-CFR1',
      'Holders live abroad part of the time and relying parties are worldwide: no geo restriction.',
    );
    new CfnOutput(this, 'ApiBaseUrl', {
      value: `https://${config.apiDomainName ?? this.distribution.distributionDomainName}`,
    });
  }
}
