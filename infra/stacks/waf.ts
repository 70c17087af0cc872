import { Stack, type StackProps } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import type { DeployConfig } from '../config.js';

/**
 * WAF web ACLs for the CloudFront distributions. CloudFront-scope web ACLs can only be created in
 * us-east-1, so this stack lives there and the distributions reference the ACL ARNs across regions.
 *
 * Why CloudFront + WAF (and not WAF on the API itself): an API Gateway HTTP API cannot be associated with
 * a web ACL, and a REST API would mean payload v1 events, which the shared HTTP edge (functions/http/api.ts,
 * also used by the local server) does not speak. CloudFront in front adds edge TLS and caching for the
 * PKI files, and the functions refuse any request that lacks CloudFront's secret origin header.
 *
 * - api: AWS managed rule groups (IP reputation, common rules, known bad inputs) + a per-IP rate rule.
 *   Two common rules are counted instead of blocking, because legitimate clients break them:
 *   NoUserAgent_HEADER (OpenSSL's OCSP client and the payment gateway's callback send no User-Agent) and
 *   SizeRestrictions_BODY (card-station inventory batches exceed 8 KB).
 * - pki: IP reputation + a generous per-IP rate rule (CRLs and CA certificates are static files).
 */
export interface WafStackProps extends StackProps {
  config: DeployConfig;
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  sampledRequestsEnabled: true,
  metricName,
});

const managed = (
  priority: number,
  name: string,
  countInsteadOfBlock: string[] = [],
): wafv2.CfnWebACL.RuleProperty => ({
  name: `AWS-${name}`,
  priority,
  overrideAction: { none: {} },
  statement: {
    managedRuleGroupStatement: {
      vendorName: 'AWS',
      name,
      ...(countInsteadOfBlock.length > 0
        ? { ruleActionOverrides: countInsteadOfBlock.map((r) => ({ name: r, actionToUse: { count: {} } })) }
        : {}),
    },
  },
  visibilityConfig: visibility(name),
});

const rateRule = (priority: number, limit: number): wafv2.CfnWebACL.RuleProperty => ({
  name: 'RatePerClientIp',
  priority,
  action: { block: {} },
  statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit, evaluationWindowSec: 300 } },
  visibilityConfig: visibility('RatePerClientIp'),
});

export class WafStack extends Stack {
  readonly apiWebAcl: wafv2.CfnWebACL;
  readonly pkiWebAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: WafStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.apiWebAcl = new wafv2.CfnWebACL(this, 'ApiWebAcl', {
      name: `${config.prefix}-api`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${config.prefix}-api`),
      rules: [
        rateRule(0, config.wafRateLimit),
        managed(1, 'AWSManagedRulesAmazonIpReputationList'),
        managed(2, 'AWSManagedRulesCommonRuleSet', ['NoUserAgent_HEADER', 'SizeRestrictions_BODY']),
        managed(3, 'AWSManagedRulesKnownBadInputsRuleSet'),
      ],
    });
    this.pkiWebAcl = new wafv2.CfnWebACL(this, 'PkiWebAcl', {
      name: `${config.prefix}-pki`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${config.prefix}-pki`),
      rules: [rateRule(0, config.wafRateLimit * 10), managed(1, 'AWSManagedRulesAmazonIpReputationList')],
    });
  }
}
