import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { materialDoc } from '../functions/aws/ca.js';
import { CA_MATERIAL_DOC } from '../functions/aws/material-doc.js';
import { createDynamoClient } from '../shared/adapters/dynamodb/client.js';
import { createDynamoRepository } from '../shared/adapters/dynamodb/repository.js';
import { loadPkiMaterial, type PkiMaterial } from '../shared/ca/material.js';
import { ValidationError } from '../shared/errors.js';
import type { ConfigDocStore } from '../shared/ports/repository.js';

/**
 * After the key ceremony in AWS mode (`npm run ceremony -- --mode aws …`), publishes what it made:
 *
 * - the CA material (ca.json, the three CA certificates, the root CRL) as the `ca-material` document in
 *   the table, which every function that needs the CA reads at cold start;
 * - the root and issuing CA certificates and the root CRL to the PKI repository bucket, at the paths the
 *   certificates' AIA and CRL distribution points name (the issuing CA's CRLs come from the CRL job).
 *
 * Run it as the key-ceremony role (its only permissions: that document, those three objects):
 *   npx tsx infra/publish-ca.ts --state-dir .ceremony --table acdc-main --bucket <PkiBucketName> [--region R]
 */

export interface PublishTargets {
  docs: ConfigDocStore;
  putObject: (key: string, body: Uint8Array, contentType: string) => Promise<void>;
}

/** The objects the PKI repository gets, by key (see infra/stacks/pki-repository.ts CEREMONY_OBJECTS). */
export const repositoryObjects = (m: PkiMaterial) => [
  { key: 'pki/certs/root-ca.cer', body: m.root.certificate, contentType: 'application/pkix-cert' },
  { key: 'pki/certs/issuing-ca.cer', body: m.issuing.certificate, contentType: 'application/pkix-cert' },
  { key: 'pki/crl/root-ca.crl', body: m.rootCrl, contentType: 'application/pkix-crl' },
];

/** Publishes ceremony output; refuses a local (SoftHSM) CA, whose keys AWS cannot reach. */
export const publishCa = async (m: PkiMaterial, to: PublishTargets): Promise<{ version: number }> => {
  if (m.file.mode !== 'aws') {
    throw new ValidationError(
      'stateDir',
      'publish.mode',
      'this CA was made in local mode; run the ceremony with --mode aws',
    );
  }
  for (const d of [m.root, m.issuing, m.ocspResponder]) {
    if (d.key.provider !== 'kms') {
      throw new ValidationError('stateDir', 'publish.kms', `the ${d.id} key is not a KMS key`);
    }
  }
  const existing = await to.docs.get(CA_MATERIAL_DOC);
  const version = await to.docs.put(CA_MATERIAL_DOC, materialDoc(m), existing?.version ?? 0);
  for (const o of repositoryObjects(m)) await to.putObject(o.key, o.body, o.contentType);
  return { version };
};

const main = async () => {
  const { values } = parseArgs({
    options: {
      'state-dir': { type: 'string' },
      table: { type: 'string' },
      bucket: { type: 'string' },
      region: { type: 'string' },
    },
  });
  const need = (k: 'state-dir' | 'table' | 'bucket') => {
    const v = values[k];
    if (!v) throw new ValidationError(k, 'publish.args', `--${k} is required`);
    return v;
  };
  const region = values.region ?? process.env.AWS_REGION ?? 'ap-east-2';
  const m = await loadPkiMaterial(resolve(need('state-dir')));
  const client = createDynamoClient(undefined, region);
  const s3 = new S3Client({ region });
  const bucket = need('bucket');
  const { version } = await publishCa(m, {
    docs: createDynamoRepository({ client, tableName: need('table') }).docs,
    putObject: async (key, body, contentType) => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },
  });
  console.log(
    `publish-ca: ca-material v${version} in ${values.table}; certificates and root CRL in s3://${bucket}/pki/`,
  );
  for (const d of [m.root, m.issuing, m.ocspResponder]) console.log(`  ${d.id.padEnd(15)} ${d.subjectText}`);
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`publish-ca failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
