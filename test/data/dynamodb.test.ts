import {
  createDocumentClient,
  type LocalDynamo,
  startDynalite,
} from '../../shared/adapters/dynamodb/local.js';
import { createDynamoRepository } from '../../shared/adapters/dynamodb/repository.js';
import { ensureTable } from '../../shared/adapters/dynamodb/table.js';
import { describeRepositoryContract } from './contract.js';

let dynamo: LocalDynamo;
/** Every command the contract suite sends, by class name: the proof that nothing scans. */
const sent = new Map<string, number>();
let tables = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

describeRepositoryContract('DynamoDB on dynalite', async (clock) => {
  const client = createDocumentClient(dynamo.endpoint, 'local');
  const send = client.send.bind(client);
  client.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
    sent.set(command.constructor.name, (sent.get(command.constructor.name) ?? 0) + 1);
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  }) as typeof client.send;
  const tableName = `contract-${++tables}`;
  await ensureTable(client, tableName);
  // A small page size makes every list walk LastEvaluatedKey pages.
  return {
    repo: createDynamoRepository({ client, tableName, clock, pageSize: 2 }),
    close: async () => client.destroy(),
  };
});

describe('DynamoDB adapter over the whole contract suite', () => {
  it('served every read with GetItem or Query, never Scan', () => {
    expect(sent.get('QueryCommand')).toBeGreaterThan(0);
    expect(sent.get('GetItemCommand')).toBeGreaterThan(0);
    expect([...sent.keys()].filter((name) => /Scan/i.test(name))).toEqual([]);
    expect([...sent.keys()].filter((name) => /Transact|Batch/i.test(name))).toEqual([]);
  });
});
