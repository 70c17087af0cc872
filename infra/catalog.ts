import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ApiFunction, RouteSpec } from '../functions/http/spec.js';
import type { MacPurpose, TableAccess } from './constructs/function.js';

/**
 * What each Lambda function may touch, as data: least privilege in one table. The stacks grant exactly
 * this (through the bind helpers of infra/constructs/function.ts), and each entry file builds exactly the
 * dependencies listed here (functions/aws/deps.ts), so a permission and its use are reviewed together.
 * docs/deploy.md prints this table.
 */
export interface FunctionNeeds {
  description: string;
  /** DynamoDB table access. */
  table?: TableAccess;
  /** HMAC key purposes (kms:GenerateMac). */
  macs?: MacPurpose[];
  /** The seal key: Encrypt (seal), Decrypt (open) or both. */
  seal?: 'seal' | 'open' | 'both';
  /**
   * Signs with the issuing CA key: certificates (the issuance signer task) or CRLs (the CRL job). The key
   * policy names exactly these two roles (infra/stacks/keys.ts).
   */
  caSign?: 'certificates' | 'crls';
  /** Signs OCSP responses with the responder key. */
  ocspSign?: boolean;
  /** Sends mail through SES. */
  mail?: boolean;
  /** Starts issuance executions / answers task tokens. */
  workflow?: { start?: boolean; respond?: boolean };
  /** Object keys of the PKI repository bucket this function publishes (PutObject on exactly those). */
  pkiBucket?: readonly string[];
  /** Object keys of the PKI repository bucket this function reads (GetObject on exactly those). */
  pkiBucketRead?: readonly string[];
  /** Reads the payment gateway merchant credentials. */
  paymentGateway?: boolean;
  /**
   * Changes certificate status (revoke, hold, release) or serves the CRL: asks the CRL job, the one
   * function that signs CRLs, for a fresh CRL (lambda:InvokeFunction on that function only).
   */
  crl?: boolean;
  /** Asks the issuance signer to re-issue a card's certificates (the holder's e-mail change). */
  caSigner?: boolean;
  /**
   * Asks the documents function for PDFs (the application form): lambda:InvokeFunction on that function
   * only, so pdfkit and the fonts stay out of this function's bundle.
   */
  documents?: boolean;
  /** Renders PDFs (ships pdfkit's fonts and the CJK font with the bundle): the documents function only. */
  pdf?: boolean;
  /** @default 10 (API) / 60 (tasks, jobs) seconds */
  timeoutSeconds?: number;
  /** @default 512 */
  memorySize?: number;
}

/** One function per trust area of the API (functions/http/spec.ts ApiFunction). */
export const API_FUNCTIONS: Record<ApiFunction, FunctionNeeds> = {
  health: {
    description: 'GET /health: answers whether the table is reachable',
    table: 'read',
  },
  station: {
    description: 'Station officers: counter applications, status, revocation',
    table: 'readwrite',
    macs: ['lookup', 'subscriber-pepper'],
    seal: 'seal',
    mail: true,
    workflow: { start: true },
    crl: true,
    documents: true,
    // The subscriber code is hashed with scrypt (N = 2^15): CPU is memory on Lambda.
    memorySize: 1024,
  },
  portal: {
    description: 'Card holders: sessions, payment, subscriber code, activation, PIN unblock, suspension',
    table: 'readwrite',
    macs: ['lookup', 'subscriber-pepper', 'card-master'],
    seal: 'open',
    mail: true,
    paymentGateway: true,
    crl: true,
    caSigner: true,
    memorySize: 1024,
  },
  payments: {
    description: 'Payment gateway callback (MAC-verified, idempotent)',
    table: 'readwrite',
    mail: true,
    workflow: { respond: true },
    paymentGateway: true,
  },
  query: {
    description: 'Public certificate status query',
    table: 'read',
    macs: ['lookup'],
  },
  cardstation: {
    description: 'Card personalization bureau: inventory, job leases, completion, mailing',
    table: 'readwrite',
    macs: ['card-master'],
    workflow: { respond: true },
  },
  ops: {
    description: 'Customer service: emergency (fax) suspension, audit export and verification',
    table: 'readwrite',
    macs: ['lookup'],
    crl: true,
    timeoutSeconds: 28,
  },
  pki: {
    description: 'Relying parties: OCSP responder, CRLs, CA certificates',
    table: 'read',
    ocspSign: true,
    crl: true,
    // Serves GET /pki/crl/issuing-ca.crl: the CRL job's object (the table holds only its digest).
    pkiBucketRead: ['pki/crl/issuing-ca.crl'],
    memorySize: 1024,
  },
};

/** Scheduled jobs. */
export const JOB_FUNCTIONS = {
  sweeper: {
    description:
      'Every few minutes: purges unpaid applications past their deadline (even if an execution was lost) and expires card-job leases',
    table: 'readwrite',
    workflow: { respond: true },
    mail: true,
    timeoutSeconds: 300,
  },
  crl: {
    description:
      'On a schedule and on request: signs a fresh CRL with the issuing CA key, stores it (and audits it) and publishes it to the PKI repository',
    table: 'readwrite',
    caSign: 'crls',
    pkiBucket: ['pki/crl/issuing-ca.crl'],
    timeoutSeconds: 300,
    memorySize: 1024,
  },
} satisfies Record<string, FunctionNeeds>;

export type JobFunction = keyof typeof JOB_FUNCTIONS;

/** Functions other functions invoke, with no route and no schedule. */
export const INTERNAL_FUNCTIONS = {
  documents: {
    description:
      "Renders the station's application form as PDF (pdfkit, the CJK font); invoked by the station function only",
    pdf: true,
    // The station waits for it within its own 10 s; parsing the CJK font is CPU work.
    timeoutSeconds: 8,
    memorySize: 1024,
  },
} satisfies Record<string, FunctionNeeds>;

export type InternalFunction = keyof typeof INTERNAL_FUNCTIONS;

/**
 * Issuance workflow tasks, one function each, keyed by the ASL placeholder `${<Task>FunctionArn}`
 * (statemachines/issuance.asl.json). A placeholder without an entry here fails the synth, so a new task
 * cannot ship without someone deciding its permissions. Every task appends to the audit log (table write).
 */
export const TASK_FUNCTIONS = {
  LoadApplication: {
    description: 'Workflow: reads the application and says what is left to do',
    table: 'readwrite',
  },
  AwaitPayment: {
    description: 'Workflow: parks the payment task token on the application until the gateway callback',
    table: 'readwrite',
    workflow: { respond: true },
  },
  PurgeUnpaid: {
    description: 'Workflow: deletes an unpaid order (personal data included) when the payment window closed',
    table: 'readwrite',
    mail: true,
  },
  AllocateCard: {
    description: 'Workflow: takes an enrolled blank card from the inventory',
    table: 'readwrite',
    mail: true,
  },
  SignCertificates: {
    description:
      "Workflow: the issuance signer, the only function that signs certificates with the CA key (also re-issues on a holder's e-mail change, for the portal)",
    table: 'readwrite',
    macs: ['lookup'],
    caSign: 'certificates',
    crl: true,
    memorySize: 1024,
  },
  RevokePreviousCard: {
    description: "Workflow: revokes the holder's previous card once the new one is issued",
    table: 'readwrite',
    crl: true,
  },
  QueueCardJob: {
    description: 'Workflow: queues the card personalization job and parks its task token',
    table: 'readwrite',
    workflow: { respond: true },
  },
  RecordCardCompleted: {
    description: 'Workflow: records the completed personalization',
    table: 'readwrite',
  },
  AwaitMailing: {
    description: 'Workflow: parks the mailing task token until the card station reports the tracking number',
    table: 'readwrite',
    workflow: { respond: true },
  },
  ReportStalled: {
    description: 'Workflow: tells ops that a card job or mailing is overdue',
    table: 'readwrite',
    mail: true,
  },
  NotifyShipped: {
    description: 'Workflow: mails the holder the registered-mail tracking number',
    table: 'readwrite',
    mail: true,
  },
  MarkFailed: {
    description: 'Workflow: marks the application failed and tells ops',
    table: 'readwrite',
    mail: true,
  },
} satisfies Record<string, FunctionNeeds>;

export type TaskFunction = keyof typeof TASK_FUNCTIONS;

/** `SignCertificates` → `sign-certificates` (entry file and service name). */
export const kebab = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Entry files, relative to the repository root. */
export const entryOf = {
  api: (fn: ApiFunction) => `functions/${fn}/index.ts`,
  job: (fn: JobFunction) => `functions/${fn}/index.ts`,
  internal: (fn: InternalFunction) => `functions/${fn}/index.ts`,
  task: (task: TaskFunction) => `functions/aws/tasks/${kebab(task)}.ts`,
};

/** The issuance state machine definition (the same file the local engine runs). */
export const ISSUANCE_ASL = fileURLToPath(new URL('../statemachines/issuance.asl.json', import.meta.url));

/** `${Name}` placeholders of an ASL document, in order of first appearance. */
export const aslPlaceholders = (asl: string): string[] => [
  ...new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]!)),
];

/** The ASL with each `${Name}` replaced, as Step Functions does with definitionSubstitutions. */
export const substitute = (asl: string, values: Record<string, string>): string =>
  asl.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, name: string) => values[name] ?? whole);

/** The Cognito pre-token-generation trigger (only with acdc:auth=cognito). */
export const TOKEN_CLAIMS_ENTRY = 'functions/aws/cognito/token-claims.ts';

/**
 * Every Lambda function of the deployment and its entry file (relative to the repository root): one
 * per trust area with routes, one per task of the state machine, the jobs, the internal functions (the
 * documents function) and the Cognito trigger.
 * The benchmark (bench/bundles.ts) bundles exactly these.
 */
export const deploymentEntries = (routes: readonly RouteSpec[]): { name: string; entry: string }[] => {
  const areas = [...new Set(routes.map((r) => r.fn))];
  const tasks = aslPlaceholders(readFileSync(ISSUANCE_ASL, 'utf8')).map((p) => p.replace(/FunctionArn$/, ''));
  return [
    ...areas.map((fn) => ({ name: fn, entry: entryOf.api(fn) })),
    ...tasks.map((t) => ({ name: `task-${kebab(t)}`, entry: entryOf.task(t as TaskFunction) })),
    ...(Object.keys(JOB_FUNCTIONS) as JobFunction[]).map((j) => ({ name: j, entry: entryOf.job(j) })),
    ...(Object.keys(INTERNAL_FUNCTIONS) as InternalFunction[]).map((f) => ({
      name: f,
      entry: entryOf.internal(f),
    })),
    { name: 'token-claims', entry: TOKEN_CLAIMS_ENTRY },
  ];
};
