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
    description: 'On a schedule: signs a fresh CRL per CA with the issuing CA key and publishes it to the PKI repository',
    table: 'read',
    caSign: 'crls',
    pkiBucket: 'write',
    timeoutSeconds: 300,
    memorySize: 1024,
  },
} satisfies Record<string, FunctionNeeds>;

export type JobFunction = keyof typeof JOB_FUNCTIONS;
