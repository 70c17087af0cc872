import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { type CaKeyAlgorithm, type DeployConfig, kmsKeySpecOf } from '../config.js';
import type { SecretKeyRefs } from '../constructs/function.js';
import { type CustodyPrincipals, custodyRole, custodyStatements } from '../constructs/key-custody.js';

/**
 * The keys of the CA, in KMS:
 *
 * - root CA key (asymmetric SIGN_VERIFY): signs the issuing CA certificate during the key ceremony; the
 *   key-ceremony role is the only principal that may Sign with it, and every use alarms.
 * - issuing CA key (asymmetric SIGN_VERIFY): signs certificates and CRLs. Its key policy lets exactly two
 *   roles Sign: the issuance signer task's and the CRL job's. No IAM policy can add a third, because the
 *   policy does not delegate to the account.
 * - OCSP responder key (asymmetric SIGN_VERIFY): signs OCSP responses; only the pki function's role.
 * - HMAC keys (GenerateMac), one per purpose: subscriber-code pepper, lookup keys, card master, session;
 *   and the symmetric seal key. Their policies delegate *use* (only) to IAM, so each function's role
 *   gets exactly the purposes its area needs (infra/catalog.ts).
 *
 * The roles that the CA/OCSP key policies name are made here, so the policies can name them before any
 * function exists; the functions in the other stacks are created with these roles.
 * Administration and the two-person rule: ../constructs/key-custody.ts.
 */
export interface KeysStackProps extends StackProps {
  config: DeployConfig;
}

const SIGNING_ALGORITHM: Record<CaKeyAlgorithm, string> = {
  'RSA-2048': 'RSASSA_PKCS1_V1_5_SHA_256',
  'RSA-3072': 'RSASSA_PKCS1_V1_5_SHA_256',
  'RSA-4096': 'RSASSA_PKCS1_V1_5_SHA_256',
  'EC-P256': 'ECDSA_SHA_256',
  'EC-P384': 'ECDSA_SHA_384',
};

export class KeysStack extends Stack {
  readonly rootCaKey: kms.Key;
  readonly caKey: kms.Key;
  readonly ocspKey: kms.Key;
  readonly secretKeys: SecretKeyRefs;
  /** Execution roles of the functions that hold a signing key. */
  readonly caSignerRole: iam.Role;
  readonly crlSignerRole: iam.Role;
  readonly ocspResponderRole: iam.Role;
  readonly custody: CustodyPrincipals & { ceremony: iam.Role };
  readonly caKeyAlgorithm: CaKeyAlgorithm;
  readonly ocspKeyAlgorithm: CaKeyAlgorithm;

  constructor(scope: Construct, id: string, props: KeysStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.caKeyAlgorithm = config.caKeyAlgorithm;
    this.ocspKeyAlgorithm = config.ocspKeyAlgorithm;

    const administrator = custodyRole(
      this,
      'KeyAdministrator',
      'key-administrator',
      'Day-to-day KMS key administration (no use, no deletion, no policy change)',
    );
    const custodian = custodyRole(
      this,
      'KeyCustodian',
      'key-custodian',
      'Second person of the two-person rule: key policy changes, disable/enable, deletion',
    );
    const ceremony = custodyRole(
      this,
      'KeyCeremony',
      'key-ceremony',
      'Key ceremony: sign with the root CA key, read CA public keys, publish CA certificates',
    );
    this.custody = { administrator, custodian, ceremony };

    const lambdaRole = (rid: string, description: string) =>
      new iam.Role(this, rid, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
    this.caSignerRole = lambdaRole(
      'CaSignerRole',
      'Issuance signer task: the only function that signs certificates',
    );
    this.crlSignerRole = lambdaRole('CrlSignerRole', 'CRL job: signs CRLs with the issuing CA key');
    this.ocspResponderRole = lambdaRole(
      'OcspResponderRole',
      'pki function: signs OCSP responses with the responder key',
    );

    const arn = (r: iam.IRole) => new iam.ArnPrincipal(r.roleArn);
    const signingKey = (
      kid: string,
      algorithm: CaKeyAlgorithm,
      description: string,
      signers: iam.IRole[],
      publicKeyReaders: iam.IRole[],
    ) => {
      const policy = new iam.PolicyDocument({
        statements: custodyStatements(this, { administrator, custodian }),
      });
      policy.addStatements(
        new iam.PolicyStatement({
          sid: 'SignOnlyByNamedRoles',
          principals: signers.map(arn),
          actions: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
          resources: ['*'],
          conditions: { StringEquals: { 'kms:SigningAlgorithm': SIGNING_ALGORITHM[algorithm] } },
        }),
        new iam.PolicyStatement({
          sid: 'ReadPublicKey',
          principals: publicKeyReaders.map(arn),
          actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
          resources: ['*'],
        }),
      );
      const key = new kms.Key(this, kid, {
        description,
        keySpec: kmsKeySpecOf(algorithm) as kms.KeySpec,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        policy,
        removalPolicy: RemovalPolicy.RETAIN,
        pendingWindow: undefined,
      });
      // The deploy role is not allowed to change this policy afterwards, so CreateKey must skip KMS's
      // "can the caller still PutKeyPolicy" check; the custodian can.
      (key.node.defaultChild as kms.CfnKey).bypassPolicyLockoutSafetyCheck = true;
      return key;
    };

    this.rootCaKey = signingKey(
      'RootCaKey',
      config.caKeyAlgorithm,
      'Root CA key: signs the issuing CA certificate in the key ceremony',
      [ceremony],
      [administrator],
    );
    this.caKey = signingKey(
      'IssuingCaKey',
      config.caKeyAlgorithm,
      'Issuing CA key: certificates (issuance signer task) and CRLs (CRL job) only',
      [this.caSignerRole, this.crlSignerRole],
      [ceremony, administrator],
    );
    this.ocspKey = signingKey(
      'OcspResponderKey',
      config.ocspKeyAlgorithm,
      'Delegated OCSP responder key: OCSP responses only',
      [this.ocspResponderRole],
      [ceremony, administrator, this.crlSignerRole],
    );
    new kms.Alias(this, 'RootCaKeyAlias', {
      aliasName: `alias/${config.prefix}/root-ca`,
      targetKey: this.rootCaKey,
    });
    new kms.Alias(this, 'IssuingCaKeyAlias', {
      aliasName: `alias/${config.prefix}/issuing-ca`,
      targetKey: this.caKey,
    });
    new kms.Alias(this, 'OcspKeyAlias', {
      aliasName: `alias/${config.prefix}/ocsp-responder`,
      targetKey: this.ocspKey,
    });

    const delegatedKey = (
      kid: string,
      alias: string,
      description: string,
      spec: kms.KeySpec,
      usage: kms.KeyUsage,
      actions: string[],
    ) => {
      const policy = new iam.PolicyDocument({
        statements: custodyStatements(this, { administrator, custodian }),
      });
      policy.addStatements(
        new iam.PolicyStatement({
          sid: 'UseThroughIamOnly',
          principals: [new iam.AccountRootPrincipal()],
          actions,
          resources: ['*'],
        }),
      );
      const key = new kms.Key(this, kid, {
        description,
        keySpec: spec,
        keyUsage: usage,
        policy,
        removalPolicy: RemovalPolicy.RETAIN,
        // HMAC keys cannot rotate automatically (stored MACs would stop matching); the seal key can.
        enableKeyRotation: spec === kms.KeySpec.SYMMETRIC_DEFAULT,
      });
      (key.node.defaultChild as kms.CfnKey).bypassPolicyLockoutSafetyCheck = true;
      new kms.Alias(this, `${kid}Alias`, { aliasName: `alias/${config.prefix}/${alias}`, targetKey: key });
      return key;
    };
    const hmac = (kid: string, alias: string, description: string) =>
      delegatedKey(kid, alias, description, kms.KeySpec.HMAC_256, kms.KeyUsage.GENERATE_VERIFY_MAC, [
        'kms:GenerateMac',
        'kms:VerifyMac',
        'kms:DescribeKey',
      ]);
    // What the key ceremony and the operators need (docs/deploy.md).
    for (const [oid, value, description] of [
      ['RootCaKeyArn', this.rootCaKey.keyArn, 'ceremony --root-kms-key-id'],
      ['IssuingCaKeyArn', this.caKey.keyArn, 'ceremony --issuing-kms-key-id'],
      ['OcspResponderKeyArn', this.ocspKey.keyArn, 'ceremony --ocsp-kms-key-id'],
      ['KeyAdministratorRoleArn', administrator.roleArn, 'day-to-day key administration'],
      ['KeyCustodianRoleArn', custodian.roleArn, 'second person: key policy, disable, deletion'],
      ['KeyCeremonyRoleArn', ceremony.roleArn, 'the key ceremony and infra/publish-ca.ts'],
    ] as const) {
      new CfnOutput(this, oid, { value, description });
    }

    this.secretKeys = {
      pepper: hmac('SubscriberPepperKey', 'subscriber-pepper', 'Peppers subscriber-code hashes'),
      lookup: hmac('LookupKey', 'lookup', 'Keyed hashes of ARC numbers and e-mails used as index keys'),
      cardMaster: hmac('CardMasterKey', 'card-master', 'Diversifies per-card unblock secrets'),
      session: hmac('SessionKey', 'session', 'Reserved: signs stateless holder tokens'),
      seal: delegatedKey(
        'SealKey',
        'seal',
        'Seals the initial subscriber code until activation',
        kms.KeySpec.SYMMETRIC_DEFAULT,
        kms.KeyUsage.ENCRYPT_DECRYPT,
        ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'],
      ),
    };
  }
}
