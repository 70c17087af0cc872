import * as z from 'zod';
import { ValidationError } from './errors.js';

/**
 * Configuration is read from the environment once, at start-up, and validated here. A bad value stops
 * the process with a message naming the variable; nothing reads `process.env` anywhere else.
 * Every field has a usable default for the local stack, so a fresh clone runs with none set.
 */
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

export const ConfigSchema = z.object({
  /** `local` runs everything on one machine; `aws` uses the AWS adapters. */
  STAGE: z.enum(['local', 'aws', 'test']).default('local'),
  /** Folder for local state (dynalite data, SoftHSM tokens, outbox, CA certificates). Git-ignored. */
  STATE_DIR: z.string().min(1).default('.local'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(8080, 0, 65535),
  /** Public base URL that goes into certificates (AIA, CRL DP) and mails. */
  PUBLIC_BASE_URL: z.url().optional(),
  TABLE_NAME: z.string().min(3).default('acdc-main'),
  AWS_REGION: z.string().default('ap-east-2'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  /** scrypt cost for subscriber codes (2^N); lowered only in tests. */
  SUBSCRIBER_CODE_SCRYPT_LOG2N: int(15, 10, 20),
  HOLDER_SESSION_MINUTES: int(15, 1, 120),
  /** Local demo: multiply the speed of the local clock's passage (never changes a rule). */
  LOCAL_CLOCK_OFFSET_MS: z.coerce.number().int().default(0),
  PKCS11_MODULE: z.string().default('/usr/lib/softhsm/libsofthsm2.so'),
  /**
   * Local stack: the public query's per-IP token bucket (functions/query/rate-limit.ts), requests per
   * second refilled and burst capacity. Raised only by the benchmark (npm run bench), which measures the
   * route rather than the limiter.
   */
  QUERY_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().max(1_000_000).default(10),
  QUERY_RATE_LIMIT_BURST: int(60, 1, 10_000_000),
  POWERTOOLS_DEV: bool.optional(),

  // AWS only: set per function by the CDK function construct (infra/constructs/function.ts) and read by
  // the AWS composition root (functions/aws/deps.ts). A function gets only the ones its area needs.
  /** Issuing CA key in KMS (ARN) and its algorithm; only the signer task and the CRL job get them. */
  KMS_CA_KEY_ID: z.string().min(1).optional(),
  KMS_CA_KEY_ALGORITHM: z.enum(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384']).optional(),
  /** Delegated OCSP responder key in KMS (ARN) and its algorithm; only the pki function gets them. */
  KMS_OCSP_KEY_ID: z.string().min(1).optional(),
  KMS_OCSP_KEY_ALGORITHM: z.enum(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384']).optional(),
  /** KMS HMAC keys (GenerateMac), one per secret purpose, and the symmetric key that seals. */
  KMS_PEPPER_KEY_ID: z.string().min(1).optional(),
  KMS_LOOKUP_KEY_ID: z.string().min(1).optional(),
  KMS_CARD_MASTER_KEY_ID: z.string().min(1).optional(),
  KMS_SESSION_KEY_ID: z.string().min(1).optional(),
  KMS_SEAL_KEY_ID: z.string().min(1).optional(),
  /** The issuance state machine (Step Functions). */
  STATE_MACHINE_ARN: z.string().min(1).optional(),
  /** SES v2 sender address, region (SES is not in every region) and configuration set. */
  SES_FROM_ADDRESS: z.email().optional(),
  SES_REGION: z.string().min(1).optional(),
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  /** S3 bucket of the PKI repository (CRLs, CA certificates) served through CloudFront. */
  PKI_BUCKET: z.string().min(3).optional(),
  /** The CRL job (the only function that signs CRLs): others ask it for a fresh CRL after a status change. */
  CRL_FUNCTION_ARN: z.string().min(1).optional(),
  /** The issuance signer (the only function that signs certificates): the portal's e-mail re-issue asks it. */
  CA_SIGNER_FUNCTION_ARN: z.string().min(1).optional(),
  /** The documents function (renders PDFs, e.g. the station's application form). */
  DOCUMENTS_FUNCTION_ARN: z.string().min(1).optional(),
  /** The holder portal's URL, as mails link to it. */
  PORTAL_URL: z.url().optional(),
  /** Customer service / ops mailbox that workflow alerts go to. */
  OPS_EMAIL: z.email().optional(),
  /** Secrets Manager secret with the payment gateway merchant credentials (JSON). */
  PAYMENT_GATEWAY_SECRET_ARN: z.string().min(1).optional(),
  /** Secrets Manager secret holding the header value CloudFront adds, so WAF cannot be bypassed. */
  ORIGIN_VERIFY_SECRET_ARN: z.string().min(1).optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  const known = Object.fromEntries(
    Object.keys(ConfigSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = ConfigSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? 'config');
    throw new ValidationError(field, 'config', issue.message);
  }
  return parsed.data;
};
