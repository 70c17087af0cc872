import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  createDocumentClient,
  type LocalDynamo,
  startDynalite,
} from '../../shared/adapters/dynamodb/local.js';
import { createDynamoRepository, mapDynamoError } from '../../shared/adapters/dynamodb/repository.js';
import { ensureTable, tableDefinition } from '../../shared/adapters/dynamodb/table.js';
import { DependencyError, InternalError, NotFoundError, VersionConflictError } from '../../shared/errors.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import { application, card, certificate, plusMinutes } from './fixtures.js';

const T0 = '2026-03-05T00:00:00.000Z';
const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 400 }, ...extra });

describe('mapDynamoError', () => {
  it('turns a failed condition into a version conflict', () => {
    const e = mapDynamoError(sdkError('ConditionalCheckFailedException'), 'Card', 'TA1');
    expect(e).toBeInstanceOf(VersionConflictError);
    expect(e.message).toContain('Card TA1');
  });

  it.each([
    ['ProvisionedThroughputExceededException', {}],
    ['ThrottlingException', {}],
    ['RequestLimitExceeded', {}],
    ['InternalServerError', { $metadata: { httpStatusCode: 500 } }],
    ['SomethingNew', { $metadata: { httpStatusCode: 503 } }],
    ['TimeoutError', {}],
    ['Error', { code: 'ECONNREFUSED' }],
    ['Error', { cause: { code: 'ECONNRESET' } }],
    ['Error', { $metadata: { attempts: 4 } }],
  ])('treats %s %j as a retryable dependency failure', (name, extra) => {
    const e = mapDynamoError(sdkError(name, extra), 'Card', 'TA1');
    expect(e).toBeInstanceOf(DependencyError);
    expect((e as DependencyError).retryable).toBe(true);
    expect((e as DependencyError).cause).toBeDefined();
  });

  it('treats a request the service rejects as our own fault, and keeps product errors', () => {
    expect(mapDynamoError(sdkError('ValidationException'), 'Card', 'TA1')).toBeInstanceOf(InternalError);
    expect(mapDynamoError(sdkError('ResourceNotFoundException'), 'Card', 'TA1')).toBeInstanceOf(
      InternalError,
    );
    const own = new NotFoundError('x');
    expect(mapDynamoError(own, 'Card', 'TA1')).toBe(own);
  });
});

describe('DynamoDB adapter on dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  let n = 0;
  const freshTable = async () => {
    const name = `adapter-${++n}`;
    await ensureTable(client, name);
    return name;
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    client = createDocumentClient(dynamo.endpoint, 'local');
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('creates the table once, with the five indexes, and tolerates a second ensureTable', async () => {
    const name = await freshTable();
    await ensureTable(client, name);
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST').toBe('PAY_PER_REQUEST');
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, g]));
    expect(Object.keys(indexes).sort()).toEqual(['GSI1', 'GSI2', 'GSI3', 'GSI4', 'GSI5']);
    expect(indexes.GSI5?.Projection?.ProjectionType).toBe('INCLUDE');
    expect(indexes.GSI5?.Projection?.NonKeyAttributes).not.toContain('der');
    expect(indexes.GSI1?.Projection?.ProjectionType).toBe('ALL');
    expect(tableDefinition(name).timeToLiveAttribute).toBe('ttl');
  });

  it('pages through a long revocation list and returns every entry without DER', async () => {
    const tableName = await freshTable();
    const clock = new AdjustableClock(undefined, new Date(T0));
    const repo = createDynamoRepository({ client, tableName, clock, pageSize: 25 });
    const serials = Array.from({ length: 260 }, (_, i) => `a${String(i).padStart(4, '0')}`);
    for (let i = 0; i < serials.length; i += 20)
      await Promise.all(
        serials.slice(i, i + 20).map((serialNumber, j) =>
          repo.certificates.create(
            certificate({
              serialNumber,
              status: (i + j) % 2 ? 'hold' : 'revoked',
              der: 'M'.repeat(1500),
              revokedAt: T0,
            }),
          ),
        ),
      );
    let queries = 0;
    const counting = {
      send: (c: unknown) => {
        if ((c as object).constructor.name === 'QueryCommand') queries++;
        return client.send(c as GetCommand);
      },
    } as unknown as DynamoDBDocumentClient;
    const paged = createDynamoRepository({ client: counting, tableName, clock, pageSize: 25 });
    const list = await paged.certificates.listRevokedOrHeld('issuing-ca-1');
    expect(list.map((c) => c.serialNumber).sort()).toEqual(serials);
    expect(list.every((c) => c.der === undefined && c.revokedAt === T0 && c.notAfter !== undefined)).toBe(
      true,
    );
    expect(queries).toBeGreaterThanOrEqual(11);
    // Without a page size, DynamoDB decides the pages; the answer is the same.
    expect(await repo.certificates.listRevokedOrHeld('issuing-ca-1')).toHaveLength(260);
  });

  it('stores a TTL epoch on sessions and markers, and reads expired ones as absent', async () => {
    const tableName = await freshTable();
    const clock = new AdjustableClock(undefined, new Date(T0));
    const repo = createDynamoRepository({ client, tableName, clock });
    const expiresAt = plusMinutes(T0, 15);
    await repo.sessions.create({ tokenHash: 'th', applicationId: 'a1', createdAt: T0, expiresAt });
    await repo.markers.claim('m', expiresAt);
    for (const PK of ['SESSION#th', 'MARKER#m']) {
      const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { PK, SK: 'ITEM' } }));
      expect(Item?.ttl).toBe(Date.parse(expiresAt) / 1000);
    }
    clock.advance(16 * 60_000);
    // dynalite never deletes (no TTL), real DynamoDB deletes late: the reads decide.
    expect(await repo.sessions.get('th')).toBeUndefined();
    expect(await repo.markers.get('m')).toBeUndefined();
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { PK: 'SESSION#th', SK: 'ITEM' } }),
    );
    expect(Item).toBeDefined();
  });

  it('writes a tombstone as a whole new item: no personal attribute and no index key survives', async () => {
    const tableName = await freshTable();
    const repo = createDynamoRepository({ client, tableName });
    const app = await repo.applications.create(
      application({ id: 'p1', invoice: { kind: 'donation', donationCode: '919' } }),
    );
    await repo.applications.replaceWithTombstone(app, {
      id: 'p1',
      status: 'purged',
      createdAt: app.createdAt,
      endedAt: T0,
      stationId: 'TPE01',
    });
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { PK: 'APP#p1', SK: 'ITEM' } }),
    );
    expect(Object.keys(Item ?? {}).sort()).toEqual(
      ['PK', 'SK', 'entity', 'id', 'status', 'createdAt', 'endedAt', 'stationId', 'version'].sort(),
    );
  });

  it('keeps data across a restart when given a folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynalite-'));
    try {
      const first = await startDynalite({ path: dir });
      const c1 = createDocumentClient(first.endpoint, 'local');
      await ensureTable(c1, 'persisted');
      await createDynamoRepository({ client: c1, tableName: 'persisted' }).cards.create(
        card({ cardNumber: 'TA7' }),
      );
      c1.destroy();
      await first.close();

      const second = await startDynalite({ path: dir });
      const c2 = createDocumentClient(second.endpoint, 'local');
      await ensureTable(c2, 'persisted');
      const repo = createDynamoRepository({ client: c2, tableName: 'persisted' });
      expect((await repo.cards.get('TA7'))?.cardNumber).toBe('TA7');
      expect(await repo.cards.countBlank()).toBe(1);
      c2.destroy();
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable database as a retryable DependencyError', async () => {
    const down = await startDynalite();
    const endpoint = down.endpoint;
    await down.close();
    const dead = createDocumentClient(endpoint, 'local');
    const repo = createDynamoRepository({ client: dead, tableName: 'nothing' });
    await expect(repo.cards.get('TA1')).rejects.toBeInstanceOf(DependencyError);
    await expect(repo.markers.claim('k', T0)).rejects.toBeInstanceOf(DependencyError);
    dead.destroy();
  });
});
