import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { certificateKeys } from '../shared/adapters/dynamodb/keys.js';
import type { createDocumentClient } from '../shared/adapters/dynamodb/local.js';
import type { CaDescriptor } from '../shared/ca/certificate.js';
import { derNull, explicit, hexToBytes, octetString, oid, seq, unsignedInteger } from '../shared/ca/der.js';
import { sha1, spkiKeyBits } from '../shared/ca/keys.js';
import type { CertificateRecord, RevocationReason } from '../shared/domain/model.js';

/**
 * Synthetic certificate records for the scale benchmarks: what the issuer stores for a holder
 * certificate, without the DER (neither the CRL nor the OCSP responder reads it; it would only make the
 * in-memory table bigger). Serials are distinct 128-bit values; names and months are spread so that no
 * index partition of the query routes grows unrealistically.
 */

const REASONS: RevocationReason[] = ['keyCompromise', 'superseded', 'cessationOfOperation', 'unspecified'];

export const serialOf = (i: number, prefix = '6'): string => `${prefix}${i.toString(16).padStart(31, '0')}`;

export type SyntheticStatus = 'good' | 'revoked-or-held';

export const syntheticCertificate = (
  i: number,
  status: SyntheticStatus,
  now: Date,
  issuer = 'issuing-ca',
): CertificateRecord => {
  const at = new Date(now.getTime() - (i % 100_000) * 60_000).toISOString();
  const month = `20${22 + (i % 5)}-${String(1 + (i % 12)).padStart(2, '0')}`;
  const base = {
    serialNumber: serialOf(i, status === 'good' ? '6' : '5'),
    issuer,
    profile: i % 2 ? ('holder-signature' as const) : ('holder-encryption' as const),
    cardNumber: `BN${String(Math.floor(i / 2)).padStart(14, '0')}`,
    applicationId: `bench-${Math.floor(i / 2)}`,
    subjectName: `HOLDER ${i % 50_000}`,
    subjectSerial: '1234567890123456',
    issuedMonth: month,
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2031-01-01T00:00:00.000Z',
    reservedAt: '2026-01-01T00:00:00.000Z',
    issuedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: at,
    version: 1,
  };
  if (status === 'good') return { ...base, status: 'good' };
  // One in seven is a suspension (certificateHold), the rest revocations with a mix of reasons.
  return i % 7 === 0
    ? { ...base, status: 'hold', holdAt: at }
    : { ...base, status: 'revoked', revokedAt: at, revocationReason: REASONS[i % REASONS.length]! };
};

/** The DynamoDB item the repository writes for a certificate (record + keys + entity). */
export const certificateItem = (r: CertificateRecord): Record<string, unknown> => ({
  ...r,
  ...certificateKeys(r),
  entity: 'Certificate',
});

/**
 * Loads items with BatchWriteItem (25 per request, `concurrency` requests in flight, unprocessed items
 * retried): dynalite takes a few thousand items per second this way, several times its sequential PutItem.
 */
export const batchLoad = async (
  client: ReturnType<typeof createDocumentClient>,
  tableName: string,
  count: number,
  item: (i: number) => Record<string, unknown>,
  opts: { concurrency?: number; onProgress?: (done: number) => void } = {},
): Promise<void> => {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + 25);
      let request: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> | undefined = {
        [tableName]: Array.from({ length: next - from }, (_, k) => ({
          PutRequest: { Item: item(from + k) },
        })),
      };
      while (request && Object.keys(request).length) {
        const out = await client.send(new BatchWriteCommand({ RequestItems: request }));
        request = out.UnprocessedItems as typeof request;
      }
      done += 25;
      if (done % 10_000 < 25) opts.onProgress?.(Math.min(done, count));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
};

/**
 * An OCSPRequest (RFC 6960) for one serial of `issuer`, SHA-1 CertID: what a relying party sends. With
 * `nonce`, a requestExtensions nonce as `openssl ocsp` sends it (extnValue = OCTET STRING of the nonce).
 */
export const ocspRequestFor = (issuer: CaDescriptor, serialHex: string, nonce?: Uint8Array): Uint8Array => {
  const certId = seq(
    seq(oid('1.3.14.3.2.26'), derNull),
    octetString(sha1(issuer.subject)),
    octetString(sha1(spkiKeyBits(issuer.spki))),
    unsignedInteger(hexToBytes(serialHex)),
  );
  const extensions = nonce
    ? [explicit(2, seq(seq(oid('1.3.6.1.5.5.7.48.1.2'), octetString(octetString(nonce)))))]
    : [];
  return seq(seq(seq(seq(certId)), ...extensions));
};
