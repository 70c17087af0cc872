import type { Actor } from '../domain/model.js';

export interface AuditEntry {
  actor: Actor;
  action: string;
  subject: { type: string; id: string };
  /** Facts about the action. Never a secret, never a full ARC number. */
  details?: Record<string, unknown>;
}

export interface AuditVerification {
  ok: boolean;
  records: number;
  /** First seq whose hash or link does not match, if any. */
  brokenAt?: number;
  reason?: string;
}

/** Append-only, hash-chained log of every privileged action and every signature. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<{ seq: number; hash: string }>;
  verify(chain?: string, fromSeq?: number, toSeq?: number): Promise<AuditVerification>;
}
