import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createDynamoClient } from '../../shared/adapters/dynamodb/client.js';
import { createDynamoRepository } from '../../shared/adapters/dynamodb/repository.js';
import { createKmsSigner } from '../../shared/adapters/kms/signer.js';
import { createSesMailer } from '../../shared/adapters/mail/ses.js';
import { createEcpayGateway } from '../../shared/adapters/payment/ecpay.js';
import { createKmsSecretKeys } from '../../shared/adapters/secrets/kms.js';
import { createStepFunctionsWorkflow } from '../../shared/adapters/stepfunctions/workflow.js';
import { createAuditLog } from '../../shared/audit.js';
import { type Config, loadConfig } from '../../shared/config.js';
import { DependencyError, InternalError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { arcKeyOf, emailKeyOf } from '../../shared/lookup-keys.js';
import type { AuditLog } from '../../shared/ports/audit.js';
import { type Clock, systemClock } from '../../shared/ports/clock.js';
import type { Mailer } from '../../shared/ports/mailer.js';
import type { PaymentGateway } from '../../shared/ports/payment.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { SecretKeyPurpose, SecretKeys } from '../../shared/ports/secrets.js';
import type { Signer, SignerKeyRef } from '../../shared/ports/signer.js';
import type { Workflow } from '../../shared/ports/workflow.js';
import { instrumentKmsClient } from './metrics.js';

/**
 * The AWS composition root. Each function's entry (functions/<area>/index.ts, functions/aws/tasks/*.ts)
 * asks for exactly the dependencies its area needs; each builder below is made once per cold start, from
 * the validated environment (shared/config.ts) that the CDK function construct wrote — and only the
 * variables that function was given exist, so asking for something the catalog did not grant fails at
 * once with a message naming the variable (infra/catalog.ts is the other half of that contract).
 *
 * Nothing here runs at import time: entries build their handler lazily (see `lazyHandler`), so a
 * configuration error surfaces as a failed invocation with a clear log line, and tests can import.
 */

const once = <T>(make: () => T): (() => T) => {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
};

export const config = /* @__PURE__ */ once((): Config => loadConfig());

type ConfigKey = keyof Config;

/** A configuration value this function must have been given by the CDK construct. */
export const required = <K extends ConfigKey>(key: K): NonNullable<Config[K]> => {
  const value = config()[key];
  if (value === undefined || value === null || value === '') {
    throw new InternalError(`${String(key)} is not set for this function (infra/catalog.ts grants it)`);
  }
  return value as NonNullable<Config[K]>;
};

export const clock: Clock = systemClock;

const loggers = new Map<string, Logger>();
export const logger = (service: string): Logger => {
  let l = loggers.get(service);
  if (!l) {
    l = createLogger(service);
    loggers.set(service, l);
  }
  return l;
};

// --- AWS clients (one per cold start, SDK retries on) ----------------------------------------------------

const region = () => config().AWS_REGION;

export const dynamoClient = /* @__PURE__ */ once(() => createDynamoClient(undefined, region()));

export const kmsClient = /* @__PURE__ */ once(() => instrumentKmsClient(new KMSClient({ region: region() })));

const secretsManager = /* @__PURE__ */ once(() => new SecretsManagerClient({ region: region() }));

/** A Secrets Manager secret's string, read once per cold start. */
const secretStrings = new Map<string, Promise<string>>();
export const secretString = (arn: string): Promise<string> => {
  let p = secretStrings.get(arn);
  if (!p) {
    p = secretsManager()
      .send(new GetSecretValueCommand({ SecretId: arn }))
      .then((out) => {
        if (!out.SecretString) throw new InternalError(`secret ${arn} has no string value`);
        return out.SecretString;
      })
      .catch((e: unknown) => {
        secretStrings.delete(arn);
        if (e instanceof InternalError) throw e;
        throw new DependencyError(`reading secret ${arn} failed`, { cause: e });
      });
    secretStrings.set(arn, p);
  }
  return p;
};

// --- Ports ------------------------------------------------------------------------------------------------

export const repository = /* @__PURE__ */ once(
  (): Repository =>
    createDynamoRepository({ client: dynamoClient(), tableName: required('TABLE_NAME'), clock }),
);

export const audit = /* @__PURE__ */ once((): AuditLog => createAuditLog(repository().audit, clock));

/** HMAC keys (by purpose) and the seal key this function was granted; any other purpose is refused. */
export const secretKeys = /* @__PURE__ */ once((): SecretKeys => {
  const c = config();
  const macKeys: Partial<Record<SecretKeyPurpose, string>> = {};
  if (c.KMS_PEPPER_KEY_ID) macKeys['subscriber-pepper'] = c.KMS_PEPPER_KEY_ID;
  if (c.KMS_LOOKUP_KEY_ID) macKeys.lookup = c.KMS_LOOKUP_KEY_ID;
  if (c.KMS_CARD_MASTER_KEY_ID) macKeys['card-master'] = c.KMS_CARD_MASTER_KEY_ID;
  if (c.KMS_SESSION_KEY_ID) macKeys.session = c.KMS_SESSION_KEY_ID;
  return createKmsSecretKeys({ client: kmsClient(), macKeys, sealKey: c.KMS_SEAL_KEY_ID ?? '' });
});

/** Keyed lookup hashes (SecretKeys 'lookup') of ARC numbers and e-mails, as every composition makes them. */
export const arcKey = (arcNumber: string): Promise<string> => arcKeyOf(secretKeys(), arcNumber);
export const emailKey = (email: string): Promise<string> => emailKeyOf(secretKeys(), email);

export const signer = /* @__PURE__ */ once((): Signer => createKmsSigner(kmsClient()));

/** The issuing CA key (signer task and CRL job only). */
export const caKeyRef = (): SignerKeyRef => ({
  provider: 'kms',
  keyId: required('KMS_CA_KEY_ID'),
  algorithm: required('KMS_CA_KEY_ALGORITHM'),
});

/** The delegated OCSP responder key (pki function only). */
export const ocspKeyRef = (): SignerKeyRef => ({
  provider: 'kms',
  keyId: required('KMS_OCSP_KEY_ID'),
  algorithm: required('KMS_OCSP_KEY_ALGORITHM'),
});

export const mailer = /* @__PURE__ */ once(
  (): Mailer =>
    createSesMailer({
      client: new SESv2Client({ region: required('SES_REGION') }),
      from: { address: required('SES_FROM_ADDRESS'), name: '外來人口自然人憑證 ACDC' },
      clock,
      configurationSetName: required('SES_CONFIGURATION_SET'),
    }),
);

export const mailContext = () => ({ portalUrl: required('PORTAL_URL') });

export const opsEmail = () => required('OPS_EMAIL');

export const workflow = /* @__PURE__ */ once(
  (): Workflow =>
    createStepFunctionsWorkflow({
      client: new SFNClient({ region: region() }),
      stateMachineArn: required('STATE_MACHINE_ARN'),
    }),
);

/** The payment gateway with the merchant credentials from Secrets Manager. */
export const paymentGateway = /* @__PURE__ */ once(async (): Promise<PaymentGateway> => {
  const raw = await secretString(required('PAYMENT_GATEWAY_SECRET_ARN'));
  let creds: Record<string, unknown>;
  try {
    creds = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new InternalError('the payment gateway secret is not JSON');
  }
  const field = (k: string): string => {
    const v = creds[k];
    if (typeof v !== 'string' || v === '' || v === 'SET-ME') {
      throw new InternalError(`the payment gateway secret has no ${k} (docs/deploy.md, "Payment gateway")`);
    }
    return v;
  };
  return createEcpayGateway({
    merchantId: field('merchantId'),
    hashKey: field('hashKey'),
    hashIV: field('hashIV'),
    checkoutUrl: field('checkoutUrl'),
  });
});

/**
 * Builds a handler on its first invocation (not at import) and keeps it; if building fails, the next
 * invocation tries again instead of being stuck with a broken function.
 */
export const lazyHandler = <E, C, R>(
  build: () => Promise<(event: E, context: C) => Promise<R>> | ((event: E, context: C) => Promise<R>),
): ((event: E, context: C) => Promise<R>) => {
  let ready: Promise<(event: E, context: C) => Promise<R>> | undefined;
  return async (event, context) => {
    ready ??= Promise.resolve()
      .then(build)
      .catch((e: unknown) => {
        ready = undefined;
        throw e;
      });
    const handler = await ready;
    return handler(event, context);
  };
};
