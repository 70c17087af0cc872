import { Duration, Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * Who may administer the product's KMS keys, and the two-person rule.
 *
 * Three human roles, each assumable only with MFA by an identity that carries the matching value of the
 * principal tag `acdc-key-duty`. A principal has ONE value per tag key, so one identity can never hold two
 * duties; the identity team assigns them to different people.
 *
 * - key-administrator: day to day (describe, tags, description, aliases, reading policies). Cannot use,
 *   disable, delete or re-police a key.
 * - key-custodian: the second person. The ONLY principal that may change a key policy, disable/enable a
 *   key or schedule/cancel its deletion. Nobody else can, not even the account root or the deploy role:
 *   the key policies written here do not delegate to the account, so IAM policies cannot widen them.
 * - key-ceremony: runs the key ceremony (`npm run ceremony -- --kms …`): signs with the root CA key and
 *   reads public keys. The ceremony is witnessed by the custodian.
 *
 * Every use of the root key and every custody action raises an alarm (infra/stacks/ops.ts).
 * KMS has no export of asymmetric or HMAC private key material at all, so "export" is impossible by
 * construction; deletion, disabling and policy changes are what the second role guards.
 */
export type KeyDuty = 'key-administrator' | 'key-custodian' | 'key-ceremony';

export const KEY_DUTY_TAG = 'acdc-key-duty';

export const custodyRole = (scope: Construct, id: string, duty: KeyDuty, description: string): iam.Role =>
  new iam.Role(scope, id, {
    description,
    maxSessionDuration: Duration.hours(1),
    assumedBy: new iam.AccountRootPrincipal().withConditions({
      Bool: { 'aws:MultiFactorAuthPresent': 'true' },
      StringEquals: { [`aws:PrincipalTag/${KEY_DUTY_TAG}`]: duty },
    }),
  });

export interface CustodyPrincipals {
  administrator: iam.IRole;
  custodian: iam.IRole;
}

/** Read-only key actions every custody role needs to see what it is doing. */
const DESCRIBE = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListResourceTags', 'kms:ListGrants'];

/** Actions reserved to the custodian: the second person of the two-person rule. */
export const CUSTODIAN_ONLY = [
  'kms:PutKeyPolicy',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:DisableKey',
  'kms:EnableKey',
] as const;

/**
 * The CDK bootstrap's CloudFormation execution role: it creates keys and keeps tags, descriptions and
 * aliases up to date, and nothing more. It cannot change a key policy after creation, so a key policy
 * change is a custodian act (docs/deploy.md, "Changing a key policy").
 */
export const deployRoleArn = (scope: Construct): string => {
  const synth = Stack.of(scope).synthesizer as { cloudFormationExecutionRoleArn?: string };
  return synth.cloudFormationExecutionRoleArn
    ? Fn.sub(synth.cloudFormationExecutionRoleArn)
    : Stack.of(scope).formatArn({
        service: 'iam',
        region: '',
        resource: 'role',
        resourceName: `cdk-hnb659fds-cfn-exec-role-${Stack.of(scope).account}-${Stack.of(scope).region}`,
      });
};

/**
 * Key policy statements shared by every key of the product: administration, custody, deployment.
 * Usage statements (who may Sign / GenerateMac / Encrypt …) are added per key by the caller.
 */
export const custodyStatements = (scope: Construct, p: CustodyPrincipals): iam.PolicyStatement[] => [
  new iam.PolicyStatement({
    sid: 'KeyAdministration',
    principals: [new iam.ArnPrincipal(p.administrator.roleArn)],
    actions: [
      ...DESCRIBE,
      'kms:TagResource',
      'kms:UntagResource',
      'kms:UpdateKeyDescription',
      'kms:GetKeyRotationStatus',
    ],
    resources: ['*'],
  }),
  new iam.PolicyStatement({
    sid: 'TwoPersonCustody',
    principals: [new iam.ArnPrincipal(p.custodian.roleArn)],
    actions: [...DESCRIBE, ...CUSTODIAN_ONLY],
    resources: ['*'],
  }),
  new iam.PolicyStatement({
    sid: 'DeploymentRole',
    principals: [new iam.ArnPrincipal(deployRoleArn(scope))],
    actions: [
      ...DESCRIBE,
      'kms:TagResource',
      'kms:UntagResource',
      'kms:UpdateKeyDescription',
      'kms:CreateAlias',
      'kms:UpdateAlias',
      'kms:DeleteAlias',
      'kms:GetKeyRotationStatus',
      'kms:EnableKeyRotation',
    ],
    resources: ['*'],
  }),
];
