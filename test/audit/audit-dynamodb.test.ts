import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createDocumentClient,
  type LocalDynamo,
  startDynalite,
} from '../../shared/adapters/dynamodb/local.js';
import { createDynamoRepository } from '../../shared/adapters/dynamodb/repository.js';
import { ensureTable } from '../../shared/adapters/dynamodb/table.js';
import { createAuditLog } from '../../shared/audit.js';
import { AdjustableClock } from '../../shared/ports/clock.js';

/** The audit chain on the real table layout: conditional puts on `AUDIT#<chain>` / `SEQ#…`. */
describe('audit log on DynamoDB (dynalite)', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = createDocumentClient(dynamo.endpoint, 'local');
    await ensureTable(client, 'audit-test');
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('gives 50 concurrent writers in separate processes one gap-free, valid chain', async () => {
    const repo = createDynamoRepository({ client, tableName: 'audit-test' });
    const clock = new AdjustableClock(undefined, new Date('2026-03-05T00:00:00.000Z'));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        createAuditLog(repo.audit, clock).append({
          actor: { type: 'system', id: 'workflow' },
          action: 'certificate.sign',
          subject: { type: 'certificate', id: `serial-${i}` },
          details: { profile: 'holder-signature', i },
        }),
      ),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const records = await repo.audit.range('main', 1, 50);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(records.map((r) => r.subject.id)).size).toBe(50);
    expect((await repo.audit.head('main'))?.seq).toBe(50);
    expect(await createAuditLog(repo.audit, clock).verify()).toEqual({ ok: true, records: 50 });
  });
});
