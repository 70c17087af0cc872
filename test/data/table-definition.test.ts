import {
  certificateKeys,
  KEY_ATTRIBUTES,
  REVOCATION_INDEX_ATTRIBUTES,
} from '../../shared/adapters/dynamodb/keys.js';
import { createTableInput, tableDefinition } from '../../shared/adapters/dynamodb/table.js';
import { crlEntryOf } from '../../shared/ca/crl.js';
import type { CertificateRecord } from '../../shared/domain/model.js';
import { certificate } from './fixtures.js';

/**
 * DynamoDB's limits on index projections (API reference, `Projection.NonKeyAttributes`): an INCLUDE
 * projection lists 1 to 20 attributes, and the lists of all secondary indexes of a table sum to at most
 * 100 (one attribute projected into two indexes counts twice). CloudFormation rejects a table that breaks
 * them, so the table definition the CDK stack and ensureTable share is held to them here.
 */

const MAX_PER_INDEX = 20;
const MAX_PER_TABLE = 100;

const def = tableDefinition('acdc-main');
const included = def.globalSecondaryIndexes.flatMap((g) =>
  g.projection.type === 'INCLUDE' ? [{ index: g.indexName, attributes: g.projection.nonKeyAttributes }] : [],
);

test('the revocation index is an INCLUDE projection (the CRL reads it whole: no DER)', () => {
  expect(included.map((i) => i.index)).toContain('GSI5');
  expect(included.find((i) => i.index === 'GSI5')!.attributes).not.toContain('der');
});

test.each(included)('$index projects 1 to 20 non-key attributes, each once', ({ attributes }) => {
  expect(attributes.length).toBeGreaterThanOrEqual(1);
  expect(attributes.length).toBeLessThanOrEqual(MAX_PER_INDEX);
  expect(new Set(attributes).size).toBe(attributes.length);
});

test('INCLUDE projections of the table sum to at most 100 attributes', () => {
  expect(included.reduce((n, i) => n + i.attributes.length, 0)).toBeLessThanOrEqual(MAX_PER_TABLE);
});

test('no INCLUDE projection names a key attribute (they are projected anyway)', () => {
  for (const { attributes } of included)
    expect(attributes.filter((a) => KEY_ATTRIBUTES.includes(a))).toEqual([]);
});

test('the CreateTable request carries the same projections', () => {
  const input = createTableInput(def);
  for (const { index, attributes } of included) {
    const gsi = input.GlobalSecondaryIndexes.find((g) => g.IndexName === index)!;
    expect(gsi.Projection).toEqual({ ProjectionType: 'INCLUDE', NonKeyAttributes: attributes });
  }
});

/** What a query of the revocation index returns for one certificate: projected attributes only. */
const throughRevocationIndex = (cert: CertificateRecord): CertificateRecord => {
  const item: Record<string, unknown> = { ...cert, ...certificateKeys(cert) };
  expect(item.GSI5PK).toBeDefined();
  return Object.fromEntries(
    REVOCATION_INDEX_ATTRIBUTES.filter((a) => item[a] !== undefined).map((a) => [a, item[a]]),
  ) as unknown as CertificateRecord;
};

test.each([
  certificate({
    status: 'revoked',
    revokedAt: '2026-05-01T08:00:00.000Z',
    revocationReason: 'keyCompromise',
    der: 'MIIB',
  }),
  certificate({ status: 'revoked', revokedAt: '2026-05-01T08:00:00.000Z', der: 'MIIB' }),
  certificate({ status: 'hold', holdAt: '2026-05-02T09:30:00.000Z', der: 'MIIB' }),
])('the CRL entry of a $status certificate is the same from the index as from the item', (cert) => {
  const projected = throughRevocationIndex(cert);
  expect(crlEntryOf(projected)).toEqual(crlEntryOf(cert));
  expect(crlEntryOf(projected)).toBeDefined();
  expect(projected.der).toBeUndefined();
});
