import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDocumentClient,
  type LocalDynamo,
  startDynalite,
} from '../../shared/adapters/dynamodb/local.js';
import { createDynamoRepository } from '../../shared/adapters/dynamodb/repository.js';
import { ensureTable } from '../../shared/adapters/dynamodb/table.js';
import { createAuditLog } from '../../shared/audit.js';
import { createCertificateAuthority } from '../../shared/ca/issuer.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import type { Repository } from '../../shared/ports/repository.js';
import {
  buildHierarchy,
  cardKeys,
  cardNumberOf,
  officer,
  openssl,
  SoftwareSigner,
  workflow,
  writePem,
} from './helpers.js';

/** The issuer on the DynamoDB adapter (dynalite): conditional writes, the revocation index, the claim document. */
describe('issuing CA on the DynamoDB adapter (dynalite)', () => {
  let dynamo: LocalDynamo;
  let repo: Repository;
  const clock = new AdjustableClock();
  const urls = pkiUrls('http://127.0.0.1:8080');
  const client = () => createDocumentClient(dynamo.endpoint);

  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(client(), 'acdc-ca-test');
    repo = createDynamoRepository({ client: client(), tableName: 'acdc-ca-test', clock });
  });
  afterAll(async () => dynamo.close());

  it('issues once per card, lists held and revoked certificates on the CRL, drops released ones', async () => {
    const signer = new SoftwareSigner();
    const refs = {
      root: signer.add('r', 'RSA-2048'),
      issuing: signer.add('i', 'RSA-2048'),
      ocsp: signer.add('o', 'RSA-2048'),
    };
    const h = await buildHierarchy(signer, refs, new Date(clock.now().getTime() - 86400_000), urls);
    const ca = createCertificateAuthority({
      certificates: repo.certificates,
      docs: repo.docs,
      audit: createAuditLog(repo.audit, clock),
      signer,
      clock,
      ca: h.issuing,
      urls,
    });
    const input = {
      applicationId: 'app-dyn-1',
      cardNumber: cardNumberOf(42),
      holderName: 'Maria Santos',
      subjectSerial: '5555666677778888',
      keys: cardKeys(),
      actor: workflow,
    };
    const [a, b] = await Promise.all([
      ca.issueCardCertificates(input),
      ca.issueCardCertificates(input).catch(() => undefined),
    ]);
    const again = await ca.issueCardCertificates(input);
    expect(again.signature.serialNumber).toBe(a.signature.serialNumber);
    if (b) expect(b.encryption.serialNumber).toBe(a.encryption.serialNumber);
    const live = (await repo.certificates.listByCard(cardNumberOf(42))).filter((c) => c.status === 'good');
    expect(live.length).toBe(2);

    await ca.hold(a.signature.serialNumber, officer);
    await ca.revoke(a.encryption.serialNumber, 'keyCompromise', officer);
    const crl = (await ca.crl.latest())!;
    expect(crl.entries).toBe(2);
    const dir = await mkdtemp(join(tmpdir(), 'ca-dyn-'));
    const crlPath = join(dir, 'crl.pem');
    await writeFile(crlPath, crl.pem);
    const issuing = await writePem(dir, 'issuing.pem', h.issuing.certificate);
    const text = (await openssl('crl', '-in', crlPath, '-CAfile', issuing, '-noout', '-text')).stdout;
    expect(text).toContain('Certificate Hold');
    expect(text).toContain('Key Compromise');
    await ca.release(a.signature.serialNumber, officer);
    const after = (await ca.crl.latest())!;
    expect(after.entries).toBe(1);
    expect(after.number).toBeGreaterThan(crl.number);
  });
});
