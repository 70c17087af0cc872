import { createHash } from 'node:crypto';
import type { AuditRecord } from './domain/model.js';
import { DependencyError, VersionConflictError } from './errors.js';
import type { AuditEntry, AuditLog, AuditVerification } from './ports/audit.js';
import type { Clock } from './ports/clock.js';
import type { AuditStore } from './ports/repository.js';
import { redact } from './redact.js';

/**
 * The append-only, hash-chained audit log. Each record names the hash of the one before it, and its own
 * hash covers every other field, so changing, removing or reordering any record breaks the chain at
 * that point and `verify` says where.
 *
 * Appending reads the chain's head and writes seq + 1 with a conditional put. When several writers
 * (Lambda instances, the local server's requests) append at once, all but one lose that put; they
 * re-read the head and try again after a short random pause, so the chain stays one line without gaps.
 * Within one process appends are also queued per chain, so only writers in different processes race.
 */

export const GENESIS_HASH = '0'.repeat(64);
export const DEFAULT_CHAIN = 'main';

/** JSON with object keys sorted at every level: one byte string per value, whatever the key order. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
};

/** sha256 (hex) over the canonical JSON of every field of the record but `hash`. */
export const auditRecordHash = (record: Omit<AuditRecord, 'hash'> & { hash?: string }): string => {
  const { hash: _hash, ...rest } = record;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
};

export interface AuditLogOptions {
  /** The chain this log appends to (default 'main'). */
  chain?: string;
  /** Appends tried before giving up under contention (default 100). */
  maxAttempts?: number;
}

/** What is stored as details: secrets and ARC numbers redacted, reduced to plain JSON values. */
const cleanDetails = (details: Record<string, unknown> | undefined): Record<string, unknown> => {
  if (!details) return {};
  // JSON first (Dates become strings, undefined and functions go), then redaction on plain data.
  const plain = JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  return redact(plain);
};

const pause = (attempt: number) =>
  new Promise<void>((resolve) =>
    setTimeout(resolve, Math.random() * Math.min(50, 2 * 2 ** Math.min(attempt, 5))),
  );

export const createAuditLog = (store: AuditStore, clock: Clock, opts: AuditLogOptions = {}): AuditLog => {
  const defaultChain = opts.chain ?? DEFAULT_CHAIN;
  const maxAttempts = opts.maxAttempts ?? 100;
  /** Per-chain tail of the in-process queue: each append starts after the previous one settled. */
  const queues = new Map<string, Promise<unknown>>();

  const appendOnce = async (chain: string, entry: AuditEntry) => {
    const details = cleanDetails(entry.details);
    const actor = redact(entry.actor);
    const subject = redact(entry.subject);
    for (let attempt = 1; ; attempt++) {
      const head = await store.head(chain);
      const body: Omit<AuditRecord, 'hash'> = {
        chain,
        seq: head ? head.seq + 1 : 1,
        at: clock.now().toISOString(),
        actor,
        action: entry.action,
        subject,
        details,
        prevHash: head ? head.hash : GENESIS_HASH,
      };
      const record: AuditRecord = { ...body, hash: auditRecordHash(body) };
      try {
        await store.put(record);
        return { seq: record.seq, hash: record.hash };
      } catch (e) {
        if (!(e instanceof VersionConflictError)) throw e;
        if (attempt >= maxAttempts)
          throw new DependencyError(`audit chain ${chain} is too contended; append not written`, {
            cause: e,
          });
        await pause(attempt);
      }
    }
  };

  return {
    append(entry) {
      const chain = defaultChain;
      const previous = queues.get(chain) ?? Promise.resolve();
      const result = previous.then(
        () => appendOnce(chain, entry),
        () => appendOnce(chain, entry),
      );
      const tail = result.catch(() => undefined);
      queues.set(chain, tail);
      // Forget the queue once it drains, so an idle log holds nothing.
      void tail.then(() => {
        if (queues.get(chain) === tail) queues.delete(chain);
      });
      return result;
    },

    async verify(chain = defaultChain, fromSeq = 1, toSeq?: number): Promise<AuditVerification> {
      const last = toSeq ?? (await store.head(chain))?.seq ?? 0;
      const start = Math.max(1, fromSeq);
      if (last < start) return { ok: true, records: 0 };
      let prevHash = GENESIS_HASH;
      if (start > 1) {
        const [before] = await store.range(chain, start - 1, start - 1);
        if (!before || before.seq !== start - 1)
          return { ok: false, records: 0, brokenAt: start - 1, reason: 'record missing' };
        prevHash = before.hash;
      }
      const pageSize = 500;
      let checked = 0;
      for (let from = start; from <= last; from += pageSize) {
        const to = Math.min(last, from + pageSize - 1);
        const page = await store.range(chain, from, to);
        for (let seq = from, i = 0; seq <= to; seq++, i++) {
          const r = page[i];
          const broken = (reason: string): AuditVerification => ({
            ok: false,
            records: checked,
            brokenAt: seq,
            reason,
          });
          if (!r) return broken('record missing');
          if (r.seq !== seq) return broken(r.seq > seq ? 'record missing or moved' : 'record out of order');
          if (r.chain !== chain) return broken('record belongs to another chain');
          if (r.prevHash !== prevHash) return broken('link to the previous record does not match');
          if (auditRecordHash(r) !== r.hash) return broken('hash does not match the record');
          prevHash = r.hash;
          checked++;
        }
      }
      return { ok: true, records: checked };
    },
  };
};
