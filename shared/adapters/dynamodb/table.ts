import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DependencyError } from '../../errors.js';
import { INDEX_NAMES, type IndexName, REVOCATION_INDEX_ATTRIBUTES } from './keys.js';

/**
 * The one table of the product, as data: the CDK data stack builds it from this, and `ensureTable`
 * creates it on dynalite (local mode, tests). See docs/data.md for what each index serves.
 */

export interface KeyAttribute {
  name: string;
  type: 'S';
}

export type Projection = { type: 'ALL' } | { type: 'INCLUDE'; nonKeyAttributes: string[] };

export interface IndexDefinition {
  indexName: IndexName;
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  projection: Projection;
}

export interface TableDefinition {
  tableName: string;
  billingMode: 'PAY_PER_REQUEST';
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  globalSecondaryIndexes: IndexDefinition[];
  /** Epoch seconds; real DynamoDB deletes expired sessions and markers (lazily, within days). */
  timeToLiveAttribute: 'ttl';
}

const s = (name: string): KeyAttribute => ({ name, type: 'S' });

export const tableDefinition = (tableName: string): TableDefinition => ({
  tableName,
  billingMode: 'PAY_PER_REQUEST',
  partitionKey: s('PK'),
  sortKey: s('SK'),
  globalSecondaryIndexes: INDEX_NAMES.map(
    (indexName): IndexDefinition => ({
      indexName,
      partitionKey: s(`${indexName}PK`),
      sortKey: s(`${indexName}SK`),
      // The revocation index is read whole to build CRLs (100k+ entries): keep it narrow, no DER.
      projection:
        indexName === 'GSI5'
          ? {
              type: 'INCLUDE',
              nonKeyAttributes: [...REVOCATION_INDEX_ATTRIBUTES],
            }
          : { type: 'ALL' },
    }),
  ),
  timeToLiveAttribute: 'ttl',
});

type Sender = Pick<DynamoDBClient, 'send'> | Pick<DynamoDBDocumentClient, 'send'>;

const errorName = (e: unknown): string => (e as { name?: string })?.name ?? '';

/** The CreateTable input for a definition (used by ensureTable; the CDK stack maps the same data). */
export const createTableInput = (def: TableDefinition) => ({
  TableName: def.tableName,
  BillingMode: def.billingMode,
  AttributeDefinitions: [
    { AttributeName: def.partitionKey.name, AttributeType: def.partitionKey.type },
    { AttributeName: def.sortKey.name, AttributeType: def.sortKey.type },
    ...def.globalSecondaryIndexes.flatMap((g) => [
      { AttributeName: g.partitionKey.name, AttributeType: g.partitionKey.type },
      { AttributeName: g.sortKey.name, AttributeType: g.sortKey.type },
    ]),
  ],
  KeySchema: [
    { AttributeName: def.partitionKey.name, KeyType: 'HASH' as const },
    { AttributeName: def.sortKey.name, KeyType: 'RANGE' as const },
  ],
  GlobalSecondaryIndexes: def.globalSecondaryIndexes.map((g) => ({
    IndexName: g.indexName,
    KeySchema: [
      { AttributeName: g.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: g.sortKey.name, KeyType: 'RANGE' as const },
    ],
    Projection:
      g.projection.type === 'ALL'
        ? { ProjectionType: 'ALL' as const }
        : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: g.projection.nonKeyAttributes },
  })),
});

/**
 * Create the table if it is missing (on-demand billing) and wait until it is ACTIVE; then switch TTL on
 * where the service supports it (dynalite does not: reads filter expired items anyway). Safe to call
 * from several processes at once.
 */
export const ensureTable = async (client: Sender, tableName: string, opts: { timeoutMs?: number } = {}) => {
  const def = tableDefinition(tableName);
  const send = client.send.bind(client) as (c: unknown) => Promise<unknown>;
  const status = async (): Promise<string | undefined> => {
    try {
      const out = (await send(new DescribeTableCommand({ TableName: tableName }))) as {
        Table?: { TableStatus?: string };
      };
      return out.Table?.TableStatus;
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  };

  if ((await status()) === undefined) {
    try {
      await send(new CreateTableCommand(createTableInput(def)));
    } catch (e) {
      // Someone else created it first: fine, wait for it below.
      if (errorName(e) !== 'ResourceInUseException') throw e;
    }
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const st = await status();
    if (st === 'ACTIVE') break;
    if (Date.now() > deadline) throw new DependencyError(`table ${tableName} did not become ACTIVE (${st})`);
    await new Promise((r) => setTimeout(r, st === undefined || st === 'CREATING' ? 200 : 1000));
  }

  try {
    const ttl = (await send(new DescribeTimeToLiveCommand({ TableName: tableName }))) as {
      TimeToLiveDescription?: { TimeToLiveStatus?: string };
    };
    const state = ttl.TimeToLiveDescription?.TimeToLiveStatus;
    if (state !== 'ENABLED' && state !== 'ENABLING')
      await send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: def.timeToLiveAttribute, Enabled: true },
        }),
      );
  } catch (e) {
    // dynalite answers UnknownOperationException: it has no TTL, and our reads never rely on it.
    if (errorName(e) !== 'UnknownOperationException') throw e;
  }
  return def;
};
