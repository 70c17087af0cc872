import { createDynamoClient, type LocalDynamo, startDynalite } from '../../shared/adapters/dynamodb/local.js';
import { createDynamoRepository } from '../../shared/adapters/dynamodb/repository.js';
import { ensureTable } from '../../shared/adapters/dynamodb/table.js';
import { describeRepositoryContract } from './contract.js';

// The local stack's database: dynalite on its own thread, the SDK's requests posted to it (no HTTP), from
// the repository's client (middleware resolved once per command type).
let dynamo: LocalDynamo;
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynalite({ thread: true });
});
afterAll(async () => {
  await dynamo.close();
});

describeRepositoryContract(
  'DynamoDB on dynalite in a thread, requests over the worker port',
  async (clock) => {
    const client = createDynamoClient(dynamo.endpoint, 'local', dynamo.requestHandler);
    const tableName = `thread-${++tables}`;
    await ensureTable(client, tableName);
    return {
      repo: createDynamoRepository({ client, tableName, clock, pageSize: 2 }),
      close: async () => client.destroy(),
    };
  },
);

describe('the worker-port transport', () => {
  it('is the one the client uses, and dynalite still answers HTTP for other processes', async () => {
    expect(dynamo.requestHandler).toBeDefined();
    const res = await fetch(dynamo.endpoint);
    expect(await res.text()).toContain('healthy');
  });

  it('fails requests once the database thread is gone, instead of leaving them waiting', async () => {
    const gone = await startDynalite({ thread: true });
    const client = createDynamoClient(gone.endpoint, 'local', gone.requestHandler);
    await ensureTable(client, 'gone');
    const repo = createDynamoRepository({ client, tableName: 'gone' });
    await gone.close();
    await expect(repo.cards.get('TA00000000000001')).rejects.toMatchObject({
      code: 'dependency_unavailable',
    });
  });
});
