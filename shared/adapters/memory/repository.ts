import type {
  Application,
  ApplicationTombstone,
  AuditRecord,
  Card,
  CardJob,
  CertificateRecord,
  HolderSession,
} from '../../domain/model.js';
import { VersionConflictError } from '../../errors.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { Repository } from '../../ports/repository.js';
import {
  applicationKeys,
  applicationPk,
  cardJobKeys,
  cardJobPk,
  cardKeys,
  cardPk,
  certificateKeys,
  certificatePk,
  docPk,
  INDEX_NAMES,
  type IndexName,
  type ItemKeys,
  markerPk,
  partitions,
  REVOCATION_INDEX_ATTRIBUTES,
  sessionPk,
  tombstoneKeys,
  ts,
} from '../dynamodb/keys.js';

/**
 * The repository in memory: the tests' and benchmarks' adapter. It keeps the same keys and indexes as
 * the DynamoDB table (built by the same functions in ../dynamodb/keys.ts), so lists come back in the same
 * order, and it enforces the same conditional writes. Everything stored or returned is a deep copy, so a
 * caller can never change stored state by mutating an object it holds.
 */

interface Item {
  entity: string;
  record: Record<string, unknown>;
  keys: ItemKeys;
}

/** One partition of an index: sort keys kept sorted, each pointing at the item's primary key. */
class SortedPartition {
  readonly sks: string[] = [];
  readonly pks: string[] = [];

  private position(sk: string): number {
    let lo = 0;
    let hi = this.sks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sks[mid]! < sk) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(sk: string, pk: string): void {
    const i = this.position(sk);
    this.sks.splice(i, 0, sk);
    this.pks.splice(i, 0, pk);
  }

  remove(sk: string, pk: string): void {
    for (let i = this.position(sk); i < this.sks.length && this.sks[i] === sk; i++) {
      if (this.pks[i] === pk) {
        this.sks.splice(i, 1);
        this.pks.splice(i, 1);
        return;
      }
    }
  }

  /** Primary keys with `gt < sk < lt` (bounds optional), ascending or descending, at most `limit`. */
  range(opts: { gt?: string; lt?: string; descending?: boolean; limit?: number }): string[] {
    const from = opts.gt === undefined ? 0 : this.upperBound(opts.gt);
    const to = opts.lt === undefined ? this.sks.length : this.position(opts.lt);
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const out: string[] = [];
    if (opts.descending) {
      for (let i = to - 1; i >= from && out.length < limit; i--) out.push(this.pks[i]!);
    } else {
      for (let i = from; i < to && out.length < limit; i++) out.push(this.pks[i]!);
    }
    return out;
  }

  /** First position whose sort key is strictly greater than `sk`. */
  private upperBound(sk: string): number {
    let lo = 0;
    let hi = this.sks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sks[mid]! <= sk) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The table: items by primary key (PK + SK) and the five overloaded, sparse indexes. */
class MemoryTable {
  private readonly items = new Map<string, Item>();
  private readonly indexes = new Map<IndexName, Map<string, SortedPartition>>(
    INDEX_NAMES.map((n) => [n, new Map()]),
  );
  /** Audit records, many per partition: each chain kept sorted by seq. */
  private readonly chains = new Map<string, AuditRecord[]>();

  static id(keys: { PK: string; SK: string }): string {
    return `${keys.PK}\u0000${keys.SK}`;
  }

  get(id: string): Item | undefined {
    return this.items.get(id);
  }

  put(item: Item): void {
    const id = MemoryTable.id(item.keys);
    const old = this.items.get(id);
    this.items.set(id, item);
    this.reindex(id, old?.keys, item.keys);
  }

  delete(id: string): void {
    const old = this.items.get(id);
    if (!old) return;
    this.reindex(id, old.keys, undefined);
    this.items.delete(id);
  }

  query(index: IndexName, partition: string, opts: Parameters<SortedPartition['range']>[0]): Item[] {
    const part = this.indexes.get(index)!.get(partition);
    if (!part) return [];
    return part.range(opts).map((id) => this.items.get(id)!);
  }

  count(index: IndexName, partition: string): number {
    return this.indexes.get(index)!.get(partition)?.sks.length ?? 0;
  }

  chain(name: string): AuditRecord[] {
    let c = this.chains.get(name);
    if (!c) {
      c = [];
      this.chains.set(name, c);
    }
    return c;
  }

  /** Move the item between index entries; most saves keep their keys, and then nothing moves. */
  private reindex(id: string, before: ItemKeys | undefined, after: ItemKeys | undefined): void {
    for (const name of INDEX_NAMES) {
      const pkName = `${name}PK` as const;
      const skName = `${name}SK` as const;
      const oldPk = before?.[pkName];
      const oldSk = before?.[skName];
      const newPk = after?.[pkName];
      const newSk = after?.[skName];
      if (oldPk === newPk && oldSk === newSk) continue;
      const parts = this.indexes.get(name)!;
      if (oldPk !== undefined && oldSk !== undefined) {
        const part = parts.get(oldPk);
        part?.remove(oldSk, id);
        if (part?.sks.length === 0) parts.delete(oldPk);
      }
      if (newPk !== undefined && newSk !== undefined) {
        let part = parts.get(newPk);
        if (!part) {
          part = new SortedPartition();
          parts.set(newPk, part);
        }
        part.insert(newSk, id);
      }
    }
  }
}

/**
 * Deep copy of stored data (JSON-like values and byte arrays; what the DynamoDB adapter can marshall),
 * dropping `undefined` members as its marshalling does. Callers never share objects with the store.
 * Written out rather than structuredClone, which costs several times more on these small records.
 */
const deepCopy = (v: unknown): unknown => {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(deepCopy);
  if (v instanceof Uint8Array) return v.slice();
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = deepCopy(x);
  }
  return out;
};

const copy = <T>(v: T): T => deepCopy(v) as T;

/** The stored form of a record: a deep copy without `undefined` members. */
const stored = <T extends object>(record: T): Record<string, unknown> =>
  deepCopy(record) as Record<string, unknown>;

/**
 * A versioned store of one entity: create (version 1, only if absent) and save (only if the stored
 * version equals the caller's, then version + 1). Shared by applications, cards, certificates and jobs.
 */
const versioned = <T extends { version: number }>(
  table: MemoryTable,
  entity: string,
  keyOf: (r: T) => string,
  keysOf: (r: T) => ItemKeys,
) => {
  const idOf = (r: T) => MemoryTable.id(keysOf(r));
  return {
    create(record: T): T {
      const next = { ...record, version: 1 };
      const keys = keysOf(next);
      if (table.get(MemoryTable.id(keys))) throw new VersionConflictError(entity, keyOf(record));
      table.put({ entity, record: stored(next), keys });
      return copy(next);
    },
    save(record: T): T {
      const current = table.get(idOf(record));
      if (!current || current.entity !== entity || current.record.version !== record.version)
        throw new VersionConflictError(entity, keyOf(record));
      const next = { ...record, version: record.version + 1 };
      table.put({ entity, record: stored(next), keys: keysOf(next) });
      return copy(next);
    },
  };
};

/** First position in a seq-sorted chain whose seq is ≥ `seq`. */
const seqPosition = (c: AuditRecord[], seq: number): number => {
  let lo = 0;
  let hi = c.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

const records = <T>(items: Item[]): T[] => items.map((i) => copy(i.record) as T);

export interface MemoryRepositoryOptions {
  /** "Now" for expiry: sessions, markers and the revocation list drop what has expired. */
  clock?: Clock;
}

export const createMemoryRepository = (opts: MemoryRepositoryOptions = {}): Repository => {
  const clock = opts.clock ?? systemClock;
  const nowIso = () => clock.now().toISOString();
  const table = new MemoryTable();

  const apps = versioned<Application>(table, 'Application', (a) => a.id, applicationKeys);
  const cards = versioned<Card>(table, 'Card', (c) => c.cardNumber, cardKeys);
  const certs = versioned<CertificateRecord>(table, 'Certificate', (c) => c.serialNumber, certificateKeys);
  const jobs = versioned<CardJob>(table, 'CardJob', (j) => j.id, cardJobKeys);

  const getRecord = <T>(pk: string, ...entities: string[]): T | undefined => {
    const item = table.get(MemoryTable.id({ PK: pk, SK: 'ITEM' }));
    if (!item || !entities.includes(item.entity)) return undefined;
    return copy(item.record) as T;
  };

  /** Expiring items (sessions, markers): an expired one reads as absent and may be claimed again. */
  const live = (pk: string, entity: string): Item | undefined => {
    const item = table.get(MemoryTable.id({ PK: pk, SK: 'ITEM' }));
    if (!item || item.entity !== entity) return undefined;
    return ts(String(item.record.expiresAt)) > nowIso() ? item : undefined;
  };

  return {
    applications: {
      create: async (app) => apps.create(app),
      get: async (id) =>
        getRecord<Application | ApplicationTombstone>(
          applicationPk(id),
          'Application',
          'ApplicationTombstone',
        ),
      save: async (app) => apps.save(app),
      listByArcKey: async (arcKey) =>
        records<Application>(table.query('GSI1', partitions.applicationsByArc(arcKey), { descending: true })),
      listUnpaidDueBefore: async (before, limit) =>
        records<Application>(table.query('GSI3', partitions.unpaidApplications, { lt: ts(before), limit })),
      listByStatus: async (status, limit) =>
        records<Application>(table.query('GSI2', partitions.applicationsByStatus(status), { limit })),
      replaceWithTombstone: async (app, tombstone) => {
        const current = table.get(MemoryTable.id({ PK: applicationPk(app.id), SK: 'ITEM' }));
        if (current?.entity !== 'Application' || current.record.version !== app.version)
          throw new VersionConflictError('Application', app.id);
        const next: ApplicationTombstone = {
          id: app.id,
          status: tombstone.status,
          createdAt: tombstone.createdAt,
          endedAt: tombstone.endedAt,
          stationId: tombstone.stationId,
          version: app.version + 1,
        };
        table.put({ entity: 'ApplicationTombstone', record: stored(next), keys: tombstoneKeys(next) });
      },
    },

    cards: {
      create: async (card) => cards.create(card),
      get: async (cardNumber) => getRecord<Card>(cardPk(cardNumber), 'Card'),
      save: async (card) => cards.save(card),
      listBlank: async (limit) => records<Card>(table.query('GSI2', partitions.blankCards, { limit })),
      countBlank: async () => table.count('GSI2', partitions.blankCards),
    },

    certificates: {
      create: async (cert) => certs.create(cert),
      get: async (serial) => getRecord<CertificateRecord>(certificatePk(serial), 'Certificate'),
      save: async (cert) => certs.save(cert),
      listByCard: async (cardNumber) =>
        records<CertificateRecord>(table.query('GSI1', partitions.certificatesByCard(cardNumber), {})),
      listByEmailKey: async (emailKey) =>
        records<CertificateRecord>(table.query('GSI3', partitions.certificatesByEmail(emailKey), {})),
      listByNameAndMonth: async (subjectName, issuedMonth) =>
        records<CertificateRecord>(
          table.query('GSI4', partitions.certificatesByName(subjectName, issuedMonth), {}),
        ),
      listRevokedOrHeld: async (issuer) => {
        // Sort key `<notAfter>#<serial>`: anything above `now` has notAfter ≥ now (still valid).
        const items = table.query('GSI5', partitions.revokedOrHeld(issuer), { gt: nowIso() });
        // Same narrow projection as the DynamoDB index: no DER, no TBS hash.
        return items.map((i) => {
          const out: Record<string, unknown> = {};
          for (const a of REVOCATION_INDEX_ATTRIBUTES)
            if (a !== 'entity' && i.record[a] !== undefined) out[a] = copy(i.record[a]);
          return out as unknown as CertificateRecord;
        });
      },
      listReservedBefore: async (before, limit) =>
        records<CertificateRecord>(
          table.query('GSI2', partitions.reservedCertificates, { lt: ts(before), limit }),
        ),
    },

    cardJobs: {
      create: async (job) => jobs.create(job),
      get: async (id) => getRecord<CardJob>(cardJobPk(id), 'CardJob'),
      save: async (job) => jobs.save(job),
      listLeasable: async (now, limit) =>
        records<CardJob>(table.query('GSI2', partitions.openCardJobs, { lt: ts(now), limit })),
    },

    audit: {
      head: async (chain) => {
        const c = table.chain(chain);
        const last = c[c.length - 1];
        return last ? copy(last) : undefined;
      },
      put: async (record) => {
        const c = table.chain(record.chain);
        const at = seqPosition(c, record.seq);
        if (c[at]?.seq === record.seq)
          throw new VersionConflictError('AuditRecord', `${record.chain}/${record.seq}`);
        // Almost always an append at the end; a gap or an out-of-order seq is kept in place, as the table
        // would keep it, and the verifier reports it.
        c.splice(at, 0, stored(record) as unknown as AuditRecord);
      },
      range: async (chain, fromSeq, toSeq) => {
        const c = table.chain(chain);
        const out: AuditRecord[] = [];
        for (let i = seqPosition(c, fromSeq); i < c.length && c[i]!.seq <= toSeq; i++) out.push(copy(c[i]!));
        return out;
      },
    },

    sessions: {
      create: async (session: HolderSession) => {
        if (live(sessionPk(session.tokenHash), 'Session'))
          throw new VersionConflictError('Session', session.tokenHash.slice(0, 8));
        table.put({
          entity: 'Session',
          record: stored(session),
          keys: { PK: sessionPk(session.tokenHash), SK: 'ITEM' },
        });
      },
      get: async (tokenHash) => {
        const item = live(sessionPk(tokenHash), 'Session');
        return item ? (copy(item.record) as unknown as HolderSession) : undefined;
      },
      delete: async (tokenHash) => {
        table.delete(MemoryTable.id({ PK: sessionPk(tokenHash), SK: 'ITEM' }));
      },
    },

    markers: {
      claim: async (key, expiresAt, value) => {
        if (live(markerPk(key), 'Marker')) return false;
        const record: Record<string, unknown> = { key, expiresAt };
        if (value !== undefined) record.value = copy(value);
        table.put({ entity: 'Marker', record, keys: { PK: markerPk(key), SK: 'ITEM' } });
        return true;
      },
      get: async (key) => {
        const item = live(markerPk(key), 'Marker');
        return item ? (copy(item.record) as { key: string; expiresAt: string }) : undefined;
      },
    },

    docs: {
      get: async <T extends object>(name: string) => {
        const item = table.get(MemoryTable.id({ PK: docPk(name), SK: 'ITEM' }));
        if (!item) return undefined;
        return { ...(copy(item.record.doc) as T), version: item.record.version as number };
      },
      put: async <T extends object>(name: string, doc: T, expectedVersion: number) => {
        const item = table.get(MemoryTable.id({ PK: docPk(name), SK: 'ITEM' }));
        const current = item ? (item.record.version as number) : 0;
        if (current !== expectedVersion) throw new VersionConflictError('ConfigDoc', name);
        const { version: _ignored, ...body } = doc as T & { version?: number };
        const version = expectedVersion + 1;
        table.put({
          entity: 'ConfigDoc',
          record: { name, doc: stored(body), version },
          keys: { PK: docPk(name), SK: 'ITEM' },
        });
        return version;
      },
    },
  };
};
