import type { ApiFunction } from '../functions/http/spec.js';
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
  /** The PKI repository bucket. */
  pkiBucket?: 'read' | 'write';
  /** Reads the payment gateway merchant credentials. */
  paymentGateway?: boolean;
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
    // The subscriber code is hashed with scrypt (N = 2^15): CPU is memory on Lambda.
    memorySize: 1024,
  },
  portal: {
    description: 'Card holders: sessions, payment, subscriber code, activation, PIN unblock, suspension',
    table: 'readwrite',
    macs: ['lookup', 'subscriber-pepper', 'card-master'],
    seal: 'open',
    mail: true,
    workflow: { start: true },
    paymentGateway: true,
    memorySize: 1024,
  },
  payments: {
    description: 'Payment gateway callback (MAC-verified, idempotent)',
    table: 'readwrite',
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
    workflow: { respond: true },
  },
  ops: {
    description: 'Customer service: emergency (fax) suspension, audit export and verification',
    table: 'readwrite',
    macs: ['lookup'],
    timeoutSeconds: 28,
  },
  pki: {
    description: 'Relying parties: OCSP responder, CRLs, CA certificates',
    table: 'read',
    ocspSign: true,
    pkiBucket: 'read',
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
    timeoutSeconds: 300,
  },
  crl: {
    description:
      'On a schedule: signs a fresh CRL per CA with the issuing CA key and publishes it to the PKI repository',
    table: 'read',
    caSign: 'crls',
    pkiBucket: 'write',
    timeoutSeconds: 300,
    memorySize: 1024,
  },
} satisfies Record<string, FunctionNeeds>;

export type JobFunction = keyof typeof JOB_FUNCTIONS;

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
    description: 'Workflow: the issuance signer, the only function that signs certificates with the CA key',
    table: 'readwrite',
    caSign: 'certificates',
    memorySize: 1024,
  },
  RevokePreviousCard: {
    description: "Workflow: revokes the holder's previous card once the new one is issued",
    table: 'readwrite',
  },
  QueueCardJob: {
    description: 'Workflow: queues the card personalization job and parks its task token',
    table: 'readwrite',
  },
  RecordCardCompleted: {
    description: 'Workflow: records the completed personalization',
    table: 'readwrite',
  },
  AwaitMailing: {
    description: 'Workflow: parks the mailing task token until the card station reports the tracking number',
    table: 'readwrite',
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
  task: (task: TaskFunction) => `functions/aws/tasks/${kebab(task)}.ts`,
};
