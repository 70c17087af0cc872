import * as z from 'zod';

/**
 * Deployment settings, read from CDK context (cdk.json `context`, or `-c acdc:<name>=<value>` on the
 * command line) and validated once. Every value has a default that synthesizes offline on a fresh clone;
 * a real deployment sets at least `acdc:mailFrom`, `acdc:portalUrl` and the custom domains
 * (docs/deploy.md lists them all).
 */

export type CaKeyAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'EC-P256' | 'EC-P384';

const keyAlgorithm = z.enum(['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384']);
const jsonOr = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const t = v.trim();
    return t.startsWith('{') || t.startsWith('[') ? JSON.parse(t) : v;
  }, schema);

const Audience = z.union([
  z.string().min(1),
  z.object({ officer: z.string().min(1), ops: z.string().min(1), 'card-station': z.string().min(1) }),
]);

export const DeployConfigSchema = z
  .object({
    /** Prefix of stack names and of named resources (lower case). */
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,20}$/)
      .default('acdc'),
    /** The region everything regional lives in. CloudFront's WAF web ACL always lives in us-east-1. */
    region: z.string().default('ap-east-2'),
    /** Target account; defaults to the CLI's (CDK_DEFAULT_ACCOUNT). Unset synthesizes account-agnostic. */
    account: z
      .string()
      .regex(/^\d{12}$/)
      .optional(),
    /** SES region: SES is not offered in every region (not in ap-east-2, Taipei), so mail has its own. */
    mailRegion: z.string().default('ap-northeast-1'),
    /** Sender of every mail; its domain (or the address) must be a verified SES identity. */
    mailFrom: z.email().default('no-reply@example.org'),
    /** When set, the data stack creates the SES domain identity (DKIM) for this domain. */
    mailDomain: z.string().optional(),
    /** Base URL of the API as holders and stations see it (the API CloudFront domain or its custom name). */
    publicBaseUrl: z.url().optional(),
    /** The holder portal that mails link to (required for a real deployment). */
    portalUrl: z.url().optional(),
    /**
     * Browser origins allowed to call the API (CORS): the holder portal and the station web app when they
     * are served from other names than the API. Default: the portal's origin.
     */
    corsOrigins: jsonOr(z.array(z.url()))
      .or(
        z.string().transform((s) =>
          s
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
        ),
      )
      .optional(),
    /** Customer service / ops mailbox for workflow alerts (default: alarmEmail, else mailFrom). */
    opsEmail: z.email().optional(),
    /**
     * Custom domains of the two CloudFront distributions (with ACM certificates in us-east-1). Without
     * them the *.cloudfront.net names are used, which cannot enforce TLS 1.2 as the minimum.
     */
    apiDomainName: z.string().optional(),
    apiCertificateArn: z.string().startsWith('arn:').optional(),
    pkiDomainName: z.string().optional(),
    pkiCertificateArn: z.string().startsWith('arn:').optional(),
    /** Officer / ops / card-station tokens: a Cognito user pool made here, or any OIDC issuer. */
    auth: z.enum(['cognito', 'oidc']).default('cognito'),
    oidcIssuer: z.url().optional(),
    /** One audience for every role, or one per role: {"officer":"…","ops":"…","card-station":"…"}. */
    oidcAudience: jsonOr(Audience).optional(),
    /** Cognito hosted domain prefix (for the card stations' client-credentials token endpoint). */
    cognitoDomainPrefix: z
      .string()
      .regex(/^[a-z0-9-]{3,63}$/)
      .optional(),
    /**
     * Root and issuing CA key algorithm, and the OCSP responder's (KMS key specs follow); the defaults are
     * the key ceremony's (RSA-4096 CAs like MOICA G3, RSA-2048 responder).
     */
    caKeyAlgorithm: keyAlgorithm.default('RSA-4096'),
    ocspKeyAlgorithm: keyAlgorithm.default('RSA-2048'),
    /** Alarm notifications go to this address (an SNS e-mail subscription), if set. */
    alarmEmail: z.email().optional(),
    /** API throttling (steady requests/s and burst) for the whole stage, and for holder/public routes. */
    apiRateLimit: z.coerce.number().int().min(1).default(200),
    apiBurstLimit: z.coerce.number().int().min(1).default(400),
    publicRouteRateLimit: z.coerce.number().int().min(1).default(50),
    publicRouteBurstLimit: z.coerce.number().int().min(1).default(100),
    /** WAF rate-based rule: requests per client IP per 5 minutes. */
    wafRateLimit: z.coerce.number().int().min(100).default(1000),
    /** Days CloudWatch keeps function and API access logs. */
    logRetentionDays: z.coerce.number().int().min(1).default(400),
    /** How often the sweeper purges unpaid applications and expired leases (minutes). */
    sweepEveryMinutes: z.coerce.number().int().min(1).max(1440).default(15),
    /** How often CRLs are regenerated (minutes); nextUpdate leaves room for a few missed runs. */
    crlEveryMinutes: z.coerce.number().int().min(5).max(1440).default(60),
  })
  .superRefine((c, ctx) => {
    for (const d of ['api', 'pki'] as const) {
      if (Boolean(c[`${d}DomainName`]) !== Boolean(c[`${d}CertificateArn`])) {
        ctx.addIssue({
          code: 'custom',
          path: [`${d}DomainName`],
          message: `acdc:${d}DomainName and acdc:${d}CertificateArn go together`,
        });
      }
    }
    if (c.auth === 'oidc' && (!c.oidcIssuer || !c.oidcAudience)) {
      ctx.addIssue({
        code: 'custom',
        path: ['oidcIssuer'],
        message: 'acdc:auth=oidc needs acdc:oidcIssuer and acdc:oidcAudience',
      });
    }
  });

export type DeployConfig = z.infer<typeof DeployConfigSchema>;

/** Reads `acdc:<name>` context values (strings on the command line, JSON values from cdk.json). */
export const deployConfigFrom = (
  tryGetContext: (key: string) => unknown,
  env: Record<string, string | undefined> = process.env,
): DeployConfig => {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(DeployConfigSchema.shape)) {
    const v = tryGetContext(`acdc:${key}`);
    if (v !== undefined && v !== '') raw[key] = v;
  }
  raw.account ??= env.CDK_DEFAULT_ACCOUNT;
  const parsed = DeployConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`context acdc:${String(issue.path[0] ?? '?')}: ${issue.message}`);
  }
  return parsed.data;
};

/** KMS key spec of a CA key algorithm. */
export const kmsKeySpecOf = (a: CaKeyAlgorithm): string =>
  ({
    'RSA-2048': 'RSA_2048',
    'RSA-3072': 'RSA_3072',
    'RSA-4096': 'RSA_4096',
    'EC-P256': 'ECC_NIST_P256',
    'EC-P384': 'ECC_NIST_P384',
  })[a];

export const mailRegionOf = (c: DeployConfig): string => c.mailRegion;
export const mailConfigurationSetName = (c: DeployConfig): string => `${c.prefix}-mail`;
