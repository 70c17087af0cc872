import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  Application,
  ApplicationTombstone,
  AuditRecord,
  Card,
  CardJob,
  CertificateRecord,
  HolderSession,
} from '../../domain/model.js';
import { DependencyError, InternalError, isAppError, VersionConflictError } from '../../errors.js';
import { type Clock, systemClock } from '../../ports/clock.js';
import type { Repository } from '../../ports/repository.js';
import {
  applicationKeys,
  applicationPk,
  auditKeys,
  auditPk,
  cardJobKeys,
  cardJobPk,
  cardKeys,
  cardPk,
  certificateKeys,
  certificatePk,
  docPk,
  type EntityName,
  type IndexName,
  ITEM_SK,
  type ItemKeys,
  indexAttributes,
  KEY_ATTRIBUTES,
  markerPk,
  partitions,
  seqKey,
  sessionPk,
  tombstoneKeys,
  ts,
  ttlEpochSeconds,
} from './keys.js';

/**
 * The repository on DynamoDB (AWS, and dynalite locally), one table, see ./keys.ts and docs/data.md.
 *
 * - Every write is ONE conditional PutItem or DeleteItem: no transactions (dynalite has none), so each
 *   use case orders its single-item writes so that a crash between two of them leaves a state the
 *   sweepers and retries can finish (docs/data.md walks through each one).
 * - Every read is GetItem or Query, on the table or an index; nothing scans.
 * - ConditionalCheckFailedException becomes VersionConflictError (re-read and retry); throttling, 5xx and
 *   network faults become DependencyError (retryable); anything else is our bug: InternalError.
 * - Expired sessions and markers read as absent: dynalite never deletes them, and real DynamoDB TTL
 *   deletes lazily (up to days late), so the `ttl` attribute only saves storage.
 */

export interface DynamoRepositoryOptions {
  /**
   * The DynamoDB client (createDynamoClient: middleware resolved once per command type). The adapter
   * sends the low-level commands and marshalls items itself (@aws-sdk/util-dynamodb, as the document
   * client does), so a document client works too.
   */
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
  /** "Now" for expiry: sessions, markers, and the revocation list (expired certificates drop off). */
  clock?: Clock;
  /** Items per Query page; unset lets DynamoDB fill 1 MB pages. Tests set it low to exercise paging. */
  pageSize?: number;
}

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** Map an SDK failure to the product's taxonomy. Exported for the adapter's own tests. */
export const mapDynamoError = (e: unknown, entity: string, key: string): Error => {
  if (isAppError(e)) return e;
  const err = e as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string };
  };
  const name = err?.name ?? 'Error';
  if (name === 'ConditionalCheckFailedException') return new VersionConflictError(entity, key);
  const status = err?.$metadata?.httpStatusCode;
  if (
    RETRYABLE_NAMES.has(name) ||
    NETWORK_CODES.has(err?.code ?? '') ||
    NETWORK_CODES.has(err?.cause?.code ?? '') ||
    err?.$retryable !== undefined ||
    // No HTTP status: no answer came back at all (connection refused, reset, DNS…). The SDK sometimes
    // wraps the socket error and drops its code, so the missing status is the reliable sign.
    status === undefined ||
    status >= 500
  )
    return new DependencyError(`database unavailable (${name})`, { cause: e });
  return new InternalError(`database rejected a request (${name})`, { cause: e });
};

type Item = Record<string, unknown>;

const strip = <T>(item: Item): T => {
  const out: Item = { ...item };
  for (const a of KEY_ATTRIBUTES) delete out[a];
  return out as T;
};

export const createDynamoRepository = (opts: DynamoRepositoryOptions): Repository => {
  const { tableName: TableName } = opts;
  const client = opts.client as DynamoDBClient;
  // As the document client's marshallOptions: absent optional fields are simply not stored.
  const toAttrs = (v: Record<string, unknown>) => marshall(v, { removeUndefinedValues: true });
  const clock = opts.clock ?? systemClock;
  const nowIso = () => clock.now().toISOString();

  const run = async <T>(entity: string, key: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e) {
      throw mapDynamoError(e, entity, key);
    }
  };

  const getItem = (entity: string, pk: string): Promise<Item | undefined> =>
    run(entity, pk, async () => {
      const out = await client.send(
        new GetItemCommand({ TableName, Key: toAttrs({ PK: pk, SK: ITEM_SK }), ConsistentRead: true }),
      );
      return out.Item ? unmarshall(out.Item) : undefined;
    });

  /** Put the whole item under a condition; a failed condition is a VersionConflictError. */
  const putItem = (
    entity: string,
    key: string,
    item: Item,
    condition: string,
    values?: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<void> =>
    run(entity, key, async () => {
      await client.send(
        new PutItemCommand({
          TableName,
          Item: toAttrs(item),
          ConditionExpression: condition,
          ...(values ? { ExpressionAttributeValues: toAttrs(values) } : {}),
          ...(names ? { ExpressionAttributeNames: names } : {}),
        }),
      );
    });

  /**
   * Query one partition of the table or an index, following LastEvaluatedKey until `limit` items are
   * collected or the partition is exhausted.
   */
  const query = (
    entity: string,
    q: {
      index?: IndexName;
      pk: string;
      /** Sort key condition: `<`, `>` a value, or BETWEEN two values. */
      sk?: { op: '<' | '>'; value: string } | { op: 'between'; from: string; to: string };
      descending?: boolean;
      limit?: number;
      count?: boolean;
    },
  ): Promise<{ items: Item[]; count: number }> =>
    run(entity, q.pk, async () => {
      const attrs = q.index ? indexAttributes(q.index) : { pk: 'PK', sk: 'SK' };
      const names: Record<string, string> = { '#pk': attrs.pk };
      const values: Record<string, unknown> = { ':pk': q.pk };
      let condition = '#pk = :pk';
      if (q.sk) {
        names['#sk'] = attrs.sk;
        if (q.sk.op === 'between') {
          condition += ' AND #sk BETWEEN :from AND :to';
          values[':from'] = q.sk.from;
          values[':to'] = q.sk.to;
        } else {
          condition += ` AND #sk ${q.sk.op} :sk`;
          values[':sk'] = q.sk.value;
        }
      }
      const items: Item[] = [];
      let count = 0;
      let startKey: QueryCommandInput['ExclusiveStartKey'];
      do {
        const remaining = q.limit === undefined ? undefined : q.limit - items.length;
        const pageLimit =
          remaining === undefined
            ? opts.pageSize
            : Math.min(remaining, opts.pageSize ?? Number.MAX_SAFE_INTEGER);
        const input: QueryCommandInput = {
          TableName,
          KeyConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: toAttrs(values),
          ScanIndexForward: !q.descending,
          ...(q.index ? { IndexName: q.index } : { ConsistentRead: true }),
          ...(pageLimit !== undefined ? { Limit: pageLimit } : {}),
          ...(q.count ? { Select: 'COUNT' as const } : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        };
        const out = await client.send(new QueryCommand(input));
        count += out.Count ?? 0;
        if (out.Items) for (const i of out.Items) items.push(unmarshall(i));
        startKey = out.LastEvaluatedKey;
      } while (startKey && (q.limit === undefined || items.length < q.limit));
      return { items, count };
    });

  const list = async <T>(entity: string, q: Parameters<typeof query>[1]): Promise<T[]> => {
    if (q.limit !== undefined && q.limit <= 0) return [];
    return (await query(entity, q)).items.map((i) => strip<T>(i));
  };

  /** create / save for the versioned entities; items are the record plus its keys and entity name. */
  const versioned = <T extends { version: number }>(
    entity: EntityName,
    keyOf: (r: T) => string,
    keysOf: (r: T) => ItemKeys,
  ) => ({
    async create(record: T): Promise<T> {
      const next = { ...record, version: 1 };
      await putItem(entity, keyOf(record), { ...next, ...keysOf(next), entity }, 'attribute_not_exists(PK)');
      return structuredClone(next);
    },
    async save(record: T): Promise<T> {
      const next = { ...record, version: record.version + 1 };
      await putItem(
        entity,
        keyOf(record),
        { ...next, ...keysOf(next), entity },
        '#v = :v AND #e = :e',
        { ':v': record.version, ':e': entity },
        { '#v': 'version', '#e': 'entity' },
      );
      return structuredClone(next);
    },
  });

  const apps = versioned<Application>('Application', (a) => a.id, applicationKeys);
  const cards = versioned<Card>('Card', (c) => c.cardNumber, cardKeys);
  const certs = versioned<CertificateRecord>('Certificate', (c) => c.serialNumber, certificateKeys);
  const jobs = versioned<CardJob>('CardJob', (j) => j.id, cardJobKeys);

  const getAs = async <T>(pk: string, ...entities: string[]): Promise<T | undefined> => {
    const item = await getItem(entities[0]!, pk);
    if (!item || !entities.includes(String(item.entity))) return undefined;
    return strip<T>(item);
  };

  /** Sessions and markers: present only while `expiresAt` is in the future. */
  const getLive = async (entity: string, pk: string): Promise<Item | undefined> => {
    const item = await getItem(entity, pk);
    if (!item || item.entity !== entity) return undefined;
    return ts(String(item.expiresAt)) > nowIso() ? item : undefined;
  };
  const absentOrExpired = 'attribute_not_exists(PK) OR #exp <= :now';

  return {
    applications: {
      create: (app) => apps.create(app),
      get: (id) =>
        getAs<Application | ApplicationTombstone>(applicationPk(id), 'Application', 'ApplicationTombstone'),
      save: (app) => apps.save(app),
      listByArcKey: (arcKey) =>
        list<Application>('Application', {
          index: 'GSI1',
          pk: partitions.applicationsByArc(arcKey),
          descending: true,
        }),
      listUnpaidDueBefore: (before, limit) =>
        list<Application>('Application', {
          index: 'GSI3',
          pk: partitions.unpaidApplications,
          sk: { op: '<', value: ts(before) },
          limit,
        }),
      listByStatus: (status, limit) =>
        list<Application>('Application', {
          index: 'GSI2',
          pk: partitions.applicationsByStatus(status),
          limit,
        }),
      replaceWithTombstone: async (app, tombstone) => {
        const next: ApplicationTombstone = {
          id: app.id,
          status: tombstone.status,
          createdAt: tombstone.createdAt,
          endedAt: tombstone.endedAt,
          stationId: tombstone.stationId,
          version: app.version + 1,
        };
        // One Put replaces the whole item: every personal field and every index attribute goes at once.
        await putItem(
          'Application',
          app.id,
          { ...next, ...tombstoneKeys(next), entity: 'ApplicationTombstone' },
          '#v = :v AND #e = :e',
          { ':v': app.version, ':e': 'Application' },
          { '#v': 'version', '#e': 'entity' },
        );
      },
    },

    cards: {
      create: (card) => cards.create(card),
      get: (cardNumber) => getAs<Card>(cardPk(cardNumber), 'Card'),
      save: (card) => cards.save(card),
      listBlank: (limit) => list<Card>('Card', { index: 'GSI2', pk: partitions.blankCards, limit }),
      countBlank: async () =>
        (await query('Card', { index: 'GSI2', pk: partitions.blankCards, count: true })).count,
    },

    certificates: {
      create: (cert) => certs.create(cert),
      get: (serial) => getAs<CertificateRecord>(certificatePk(serial), 'Certificate'),
      save: (cert) => certs.save(cert),
      listByCard: (cardNumber) =>
        list<CertificateRecord>('Certificate', {
          index: 'GSI1',
          pk: partitions.certificatesByCard(cardNumber),
        }),
      listByEmailKey: (emailKey) =>
        list<CertificateRecord>('Certificate', {
          index: 'GSI3',
          pk: partitions.certificatesByEmail(emailKey),
        }),
      listByNameAndMonth: (subjectName, issuedMonth) =>
        list<CertificateRecord>('Certificate', {
          index: 'GSI4',
          pk: partitions.certificatesByName(subjectName, issuedMonth),
        }),
      // The narrow GSI5 holds no DER; sort key `<notAfter>#<serial>` > now keeps only unexpired ones.
      listRevokedOrHeld: (issuer) =>
        list<CertificateRecord>('Certificate', {
          index: 'GSI5',
          pk: partitions.revokedOrHeld(issuer),
          sk: { op: '>', value: nowIso() },
        }),
      listReservedBefore: (before, limit) =>
        list<CertificateRecord>('Certificate', {
          index: 'GSI2',
          pk: partitions.reservedCertificates,
          sk: { op: '<', value: ts(before) },
          limit,
        }),
    },

    cardJobs: {
      create: (job) => jobs.create(job),
      get: (id) => getAs<CardJob>(cardJobPk(id), 'CardJob'),
      save: (job) => jobs.save(job),
      listLeasable: (now, limit) =>
        list<CardJob>('CardJob', {
          index: 'GSI2',
          pk: partitions.openCardJobs,
          sk: { op: '<', value: ts(now) },
          limit,
        }),
    },

    audit: {
      head: async (chain) => {
        const { items } = await query('AuditRecord', { pk: auditPk(chain), descending: true, limit: 1 });
        return items[0] ? strip<AuditRecord>(items[0]) : undefined;
      },
      put: (record) =>
        putItem(
          'AuditRecord',
          `${record.chain}/${record.seq}`,
          { ...record, ...auditKeys(record), entity: 'AuditRecord' },
          'attribute_not_exists(PK)',
        ),
      range: async (chain, fromSeq, toSeq) => {
        if (toSeq < fromSeq) return [];
        return list<AuditRecord>('AuditRecord', {
          pk: auditPk(chain),
          sk: { op: 'between', from: seqKey(Math.max(0, fromSeq)), to: seqKey(toSeq) },
        });
      },
    },

    sessions: {
      create: async (session: HolderSession) => {
        await putItem(
          'Session',
          session.tokenHash.slice(0, 8),
          {
            ...session,
            PK: sessionPk(session.tokenHash),
            SK: ITEM_SK,
            entity: 'Session',
            ttl: ttlEpochSeconds(session.expiresAt),
          },
          absentOrExpired,
          { ':now': nowIso() },
          { '#exp': 'expiresAt' },
        );
      },
      get: async (tokenHash) => {
        const item = await getLive('Session', sessionPk(tokenHash));
        return item ? strip<HolderSession>(item) : undefined;
      },
      delete: (tokenHash) =>
        run('Session', tokenHash.slice(0, 8), async () => {
          await client.send(
            new DeleteItemCommand({ TableName, Key: toAttrs({ PK: sessionPk(tokenHash), SK: ITEM_SK }) }),
          );
        }),
    },

    markers: {
      claim: async (key, expiresAt, value) => {
        try {
          await putItem(
            'Marker',
            key,
            {
              key,
              expiresAt,
              ...(value !== undefined ? { value } : {}),
              PK: markerPk(key),
              SK: ITEM_SK,
              entity: 'Marker',
              ttl: ttlEpochSeconds(expiresAt),
            },
            absentOrExpired,
            { ':now': nowIso() },
            { '#exp': 'expiresAt' },
          );
          return true;
        } catch (e) {
          if (e instanceof VersionConflictError) return false;
          throw e;
        }
      },
      get: async (key) => {
        const item = await getLive('Marker', markerPk(key));
        return item
          ? strip<{ key: string; expiresAt: string; value?: Record<string, unknown> }>(item)
          : undefined;
      },
    },

    docs: {
      get: async <T extends object>(name: string) => {
        const item = await getItem('ConfigDoc', docPk(name));
        if (!item) return undefined;
        return { ...(item.doc as T), version: item.version as number };
      },
      put: async <T extends object>(name: string, doc: T, expectedVersion: number) => {
        const { version: _ignored, ...body } = doc as T & { version?: number };
        const version = expectedVersion + 1;
        const item = { PK: docPk(name), SK: ITEM_SK, entity: 'ConfigDoc', name, doc: body, version };
        if (expectedVersion === 0) await putItem('ConfigDoc', name, item, 'attribute_not_exists(PK)');
        else
          await putItem('ConfigDoc', name, item, '#v = :v', { ':v': expectedVersion }, { '#v': 'version' });
        return version;
      },
    },
  };
};
