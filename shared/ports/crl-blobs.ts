/**
 * Where signed CRLs are published as files: the PKI repository bucket in AWS (`pki/crl/<ca>.crl`, which
 * CloudFront serves at the CRL distribution point), files under `<STATE_DIR>/pki/crl/` locally, a Map in
 * tests. A full CRL grows by about 40 bytes per revoked or held certificate (100,000 entries ≈ 4 MB), far
 * past a DynamoDB item (400 KB), so the table keeps only the CRL's number, dates, size and SHA-256, and
 * the bytes live here (shared/ca/crl.ts).
 *
 * One object per CA, replaced by every new CRL (the AWS bucket is versioned, so every CRL ever published
 * stays retrievable). Writers never race for one CRL number: the table document is claimed first, with a
 * conditional write, and only its winner writes the blob.
 */
export interface CrlBlobStore {
  /** Replaces the published CRL (DER) of `caId` (`root-ca`, `issuing-ca`). */
  put(caId: string, der: Uint8Array): Promise<void>;
  /** The published CRL of `caId`, or undefined when none was published yet. */
  get(caId: string): Promise<Uint8Array | undefined>;
}

/** CA ids are file and object names: lower-case letters, digits and dashes only. */
export const CRL_CA_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
