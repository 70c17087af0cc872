import * as z from 'zod';
import { CardNumber } from './holder.js';

/**
 * The operations (customer service) contract: emergency suspension on a faxed request, and the audit
 * export with its chain verification.
 */

export const OpsSuspensionRequest = z
  .object({
    cardNumber: CardNumber,
    /** The customer-service case (fax) reference, e.g. `FAX-2026-000123`. */
    caseReference: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{2,63}$/, 'must be 3–64 letters, digits or . _ / -'),
    /** Why, in a few words, as written on the case (no personal data beyond what the case needs). */
    reason: z.string().trim().min(3, 'must say why in at least 3 characters').max(500),
  })
  .strict();
export type OpsSuspensionRequest = z.infer<typeof OpsSuspensionRequest>;

/**
 * `from` / `to`: ISO-8601 dates (`2026-11-01`, read as 00:00 Asia/Taipei) or date-times; `to` is
 * exclusive. `afterSeq` continues a previous page. At most `limit` records per page.
 */
export const AuditExportQuery = z
  .object({
    from: z.string().min(10).max(40),
    to: z.string().min(10).max(40),
    afterSeq: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(5000).default(1000),
  })
  .strict();
export type AuditExportQuery = z.infer<typeof AuditExportQuery>;

export const AuditRecordSchema = z.object({
  chain: z.string(),
  seq: z.number(),
  at: z.string(),
  actor: z.object({ type: z.string(), id: z.string(), stationId: z.string().optional() }),
  action: z.string(),
  subject: z.object({ type: z.string(), id: z.string() }),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

export const AuditExportResponse = z.object({
  chain: z.string(),
  from: z.string(),
  to: z.string(),
  records: z.array(AuditRecordSchema),
  /**
   * The exported records re-hashed and re-linked, including the link to the record just before the
   * first one: `ok` false names the first broken seq.
   */
  verification: z.object({
    ok: z.boolean(),
    records: z.number(),
    brokenAt: z.number().optional(),
    reason: z.string().optional(),
  }),
  /** The chain's head when the export was made: keep it somewhere append-only to detect truncation. */
  head: z.object({ seq: z.number(), hash: z.string() }).optional(),
  /** Present when more records fall in the window: pass it as `afterSeq` for the next page. */
  nextAfterSeq: z.number().optional(),
});
export type AuditExportResponse = z.infer<typeof AuditExportResponse>;
