import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag (AwsSolutions) finding on a construct and everything under it, with the reason
 * a reviewer needs. cdk-nag 3 reports through CDK's policy validation: an id without the plugin prefix
 * would be recorded as an annotation acknowledgement and suppress nothing, so the prefix is added here.
 * Finding ids are exact: `AwsSolutions-IAM5[Resource::*]` covers only that finding.
 */
export const acknowledgeNag = (scope: IConstruct, id: `AwsSolutions-${string}`, reason: string): void => {
  if (reason.trim().length < 30) throw new Error(`acknowledgement of ${id} needs a real reason`);
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason });
};
