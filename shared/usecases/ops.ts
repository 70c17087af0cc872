import type { AuditExportQuery, AuditExportResponse, OpsSuspensionRequest } from '../contracts/ops.js';
import type { Actor, AuditRecord } from '../domain/model.js';
import { ValidationError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { AuditStore } from '../ports/repository.js';
import type { CardStateUseCases } from './revocation.js';

/**
 * Customer service and operations: the emergency suspension a holder asks for by fax, and the audit
 * export with the chain's verification. Every ops action is itself audited with the ops identity.
 */

export interface OpsDeps {
  cardState: Pick<CardStateUseCases, 'suspend'>;
  auditStore: Pick<AuditStore, 'head' | 'range'>;
  audit: AuditLog;
  clock: Clock;
  /** The audit chain to export (default 'main'). */
  chain?: string;
}

/** The longest window one export covers; a year of a national CA's actions is already a large file. */
export const MAX_EXPORT_DAYS = 366;

/**
 * `2026-11-01` is midnight in Taipei (the operator's calendar); a date-time must carry its zone
 * (`Z` or `+08:00`) so nobody exports the wrong eight hours.
 */
export const parseExportTime = (value: string, field: string): Date => {
  const v = value.trim();
  let ms: number;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) ms = Date.parse(`${v}T00:00:00+08:00`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(v))
    ms = Date.parse(v);
  else {
    throw new ValidationError(
      field,
      'audit.time',
      'must be a date (YYYY-MM-DD, Taipei) or a date-time with its zone (2026-11-01T00:00:00Z)',
    );
  }
  if (Number.isNaN(ms)) throw new ValidationError(field, 'audit.time', 'is not a real date');
  return new Date(ms);
};

export const createOpsUseCases = (deps: OpsDeps) => {
  const chain = deps.chain ?? 'main';

  /** The record `seq` of the chain (undefined past the head). */
  const at = async (seq: number): Promise<AuditRecord | undefined> =>
    (await deps.auditStore.range(chain, seq, seq))[0];

  /**
   * The first seq whose record is at or after `t`, by binary search over the chain: records are
   * appended in time order, so no index on time is needed. Returns head + 1 when every record is older.
   */
  const firstSeqFrom = async (t: string, headSeq: number): Promise<number> => {
    let lo = 1;
    let hi = headSeq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const r = await at(mid);
      if (r && r.at < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  return {
    async emergencySuspension(req: OpsSuspensionRequest, actor: Actor) {
      return deps.cardState.suspend({
        cardNumber: req.cardNumber,
        by: 'ops',
        actor,
        details: { caseReference: req.caseReference, caseReason: req.reason },
      });
    },

    async exportAudit(q: AuditExportQuery, actor: Actor): Promise<AuditExportResponse> {
      const from = parseExportTime(q.from, 'from');
      const to = parseExportTime(q.to, 'to');
      if (to.getTime() <= from.getTime())
        throw new ValidationError('to', 'audit.window', 'must be after from');
      if (to.getTime() - from.getTime() > MAX_EXPORT_DAYS * 86_400_000) {
        throw new ValidationError(
          'to',
          'audit.window',
          `the window is at most ${MAX_EXPORT_DAYS} days; export in parts`,
        );
      }
      const head = await deps.auditStore.head(chain);
      const fromIso = from.toISOString();
      const toIso = to.toISOString();
      let records: AuditRecord[] = [];
      let verification: AuditExportResponse['verification'] = { ok: true, records: 0 };
      let nextAfterSeq: number | undefined;
      if (head) {
        const first = Math.max(await firstSeqFrom(fromIso, head.seq), (q.afterSeq ?? 0) + 1);
        const last = (await firstSeqFrom(toIso, head.seq)) - 1;
        if (first <= last) {
          const pageEnd = Math.min(last, first + q.limit - 1);
          records = await deps.auditStore.range(chain, first, pageEnd);
          // Re-hash and re-link what is exported, including its link to the record just before it.
          verification = await deps.audit.verify(chain, first, pageEnd);
          if (pageEnd < last) nextAfterSeq = pageEnd;
        }
      }
      await deps.audit.append({
        actor,
        action: 'audit.export',
        subject: { type: 'audit-chain', id: chain },
        details: {
          from: fromIso,
          to: toIso,
          records: records.length,
          firstSeq: records[0]?.seq,
          lastSeq: records.at(-1)?.seq,
          verified: verification.ok,
        },
      });
      const out: AuditExportResponse = { chain, from: fromIso, to: toIso, records, verification };
      if (head) out.head = { seq: head.seq, hash: head.hash };
      if (nextAfterSeq !== undefined) out.nextAfterSeq = nextAfterSeq;
      return out;
    },
  };
};

export type OpsUseCases = ReturnType<typeof createOpsUseCases>;
