import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { CA_MATERIAL_DOC } from '../../functions/aws/material-doc.js';
import { docPk } from '../../shared/adapters/dynamodb/keys.js';
import { tableDefinition } from '../../shared/adapters/dynamodb/table.js';
import { type DeployConfig, mailConfigurationSetName, mailRegionOf } from '../config.js';
import { type TableRef, tableStatements } from '../constructs/function.js';
import { type CustodyPrincipals, custodyStatements } from '../constructs/key-custody.js';
import { acknowledgeNag } from '../constructs/nag.js';

/**
 * The data every function shares: the one DynamoDB table (built from shared/adapters/dynamodb/table.ts, the
 * same definition the local stack creates on dynalite, so keys and indexes cannot drift), its customer
 * managed key, the two secrets the functions read at cold start (the payment gateway's merchant
 * credentials, the CloudFront origin header), and where mail is sent from.
 */
export interface DataStackProps extends StackProps {
  config: DeployConfig;
  custody: CustodyPrincipals & { ceremony: iam.IRole };
}

export interface MailRef {
  from: string;
  region: string;
  configurationSet: string;
  /** SES identities a function may send as: the address and its domain (whichever is verified). */
  identityArns: string[];
}

export class DataStack extends Stack {
  readonly table: TableRef;
  readonly tableResource: dynamodb.TableV2;
  readonly mail: MailRef;
  readonly paymentGatewaySecret: secretsmanager.Secret;
  readonly originVerifySecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    const region = Stack.of(this).region;

    const keyPolicy = new iam.PolicyDocument({ statements: custodyStatements(this, props.custody) });
    keyPolicy.addStatements(
      new iam.PolicyStatement({
        sid: 'UseThroughDynamoDbOnly',
        principals: [new iam.AccountRootPrincipal()],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
          'kms:CreateGrant',
        ],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
      }),
    );
    const key = new kms.Key(this, 'TableKey', {
      description: 'Encrypts the application, card and certificate table (DynamoDB only)',
      enableKeyRotation: true,
      policy: keyPolicy,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (key.node.defaultChild as kms.CfnKey).bypassPolicyLockoutSafetyCheck = true;
    new kms.Alias(this, 'TableKeyAlias', { aliasName: `alias/${config.prefix}/table`, targetKey: key });

    const def = tableDefinition(`${config.prefix}-main`);
    const attr = (a: { name: string }) => ({ name: a.name, type: dynamodb.AttributeType.STRING });
    const table = new dynamodb.TableV2(this, 'Table', {
      tableName: def.tableName,
      partitionKey: attr(def.partitionKey),
      sortKey: attr(def.sortKey),
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(key),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: def.timeToLiveAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: def.globalSecondaryIndexes.map((g) => ({
        indexName: g.indexName,
        partitionKey: attr(g.partitionKey),
        sortKey: attr(g.sortKey),
        projectionType:
          g.projection.type === 'ALL' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.INCLUDE,
        ...(g.projection.type === 'INCLUDE' ? { nonKeyAttributes: g.projection.nonKeyAttributes } : {}),
      })),
    });
    this.tableResource = table;
    this.table = { tableName: table.tableName, tableArn: table.tableArn, definition: def, key };

    // The key ceremony publishes the CA material (infra/publish-ca.ts): one config document, nothing else.
    const ceremony = iam.Role.fromRoleArn(this, 'KeyCeremonyRole', props.custody.ceremony.roleArn, {
      mutable: true,
    });
    for (const statement of tableStatements(this.table, 'readwrite', region, {
      leadingKeys: [docPk(CA_MATERIAL_DOC)],
    })) {
      ceremony.addToPrincipalPolicy(statement);
    }
    new CfnOutput(this, 'TableName', { value: table.tableName });

    // Mail goes through SES in the mail region (infra/stacks/mail.ts makes the configuration set there).
    const mailRegion = mailRegionOf(config);
    const configurationSetName = mailConfigurationSetName(config);
    const domain = config.mailFrom.split('@')[1]!;
    const identityArn = (identity: string) =>
      Stack.of(this).formatArn({
        service: 'ses',
        region: mailRegion,
        resource: 'identity',
        resourceName: identity,
      });
    this.mail = {
      from: config.mailFrom,
      region: mailRegion,
      configurationSet: configurationSetName,
      identityArns: [identityArn(config.mailFrom), identityArn(domain)],
    };

    // Merchant credentials of the payment gateway: created with a placeholder, set by ops after deploy
    // (docs/deploy.md). Read at cold start by the portal (checkout) and payments (callback MAC).
    this.paymentGatewaySecret = new secretsmanager.Secret(this, 'PaymentGatewaySecret', {
      secretName: `${config.prefix}/payment-gateway`,
      description: 'Payment gateway merchant credentials: {"merchantId","hashKey","hashIV","checkoutUrl"}',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ merchantId: 'SET-ME', checkoutUrl: 'SET-ME' }),
        generateStringKey: 'hashKey',
        excludePunctuation: true,
        passwordLength: 16,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeNag(
      this.paymentGatewaySecret,
      'AwsSolutions-SMG4',
      'The merchant HashKey/HashIV are issued by the payment gateway, not by us; they are rotated in the gateway merchant console and then set here (docs/deploy.md), so a Lambda rotator cannot rotate them.',
    );

    // CloudFront adds this header to every origin request; the API functions refuse requests without it,
    // so nobody can reach the API around the WAF through the execute-api hostname.
    this.originVerifySecret = new secretsmanager.Secret(this, 'OriginVerifySecret', {
      secretName: `${config.prefix}/origin-verify`,
      description: 'Value of the x-origin-verify header CloudFront sends to the API',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });
    acknowledgeNag(
      this.originVerifySecret,
      'AwsSolutions-SMG4',
      'Rotating the origin header means updating the CloudFront distribution and the API functions together; it is rotated by redeploying with a new secret value (docs/deploy.md), not by a rotation Lambda.',
    );
  }
}
