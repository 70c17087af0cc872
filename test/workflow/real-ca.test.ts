import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuanceTaskHandlers } from '../../functions/workflow/handlers.js';
import { createCertificateAuthority } from '../../shared/ca/issuer.js';
import { pkiUrls } from '../../shared/ca/profiles.js';
import { issuingAuthorityOf, signCertificates } from '../../shared/usecases/issuance.js';
import { LocalWorkflow } from '../../shared/workflow/local-engine.js';
import {
  buildHierarchy,
  cardKeys,
  openssl,
  SoftwareSigner,
  type TestHierarchy,
  writePem,
} from '../ca/helpers.js';
import { application, blankCard, getApp, pay, stationCompletes, stationMails, world } from './support.js';

/**
 * The workflow with the real issuing CA (shared/ca/issuer.ts) behind the software signer fake: the
 * certificates queued for the card station are real, chain to the root, and are signed once.
 */
describe('issuance with the real CA', () => {
  const urls = pkiUrls('http://127.0.0.1:8080');
  const signer = new SoftwareSigner();
  let hierarchy: TestHierarchy;
  let dir: string;

  beforeAll(async () => {
    hierarchy = await buildHierarchy(
      signer,
      {
        root: signer.add('root', 'RSA-2048'),
        issuing: signer.add('issuing', 'RSA-2048'),
        ocsp: signer.add('ocsp', 'EC-P256'),
      },
      new Date('2026-01-01T00:00:00Z'),
      urls,
    );
    dir = await mkdtemp(join(tmpdir(), 'issuance-ca-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('queues certificates that verify against the chain, revokes the previous card, and signs once', async () => {
    const w = world();
    const ca = createCertificateAuthority({
      certificates: w.repo.certificates,
      docs: w.repo.docs,
      audit: w.deps.audit,
      signer,
      clock: w.clock,
      ca: hierarchy.issuing,
      urls,
    });
    const deps = {
      ...w.deps,
      ca: issuingAuthorityOf(ca, [hierarchy.issuing.certificate, hierarchy.root.certificate]),
    };

    // The holder's previous card, with real certificates.
    const previous = await w.repo.cards.create(blankCard({ keys: cardKeys() }));
    await w.repo.cards.save({ ...previous, status: 'active' });
    const old = await ca.issueCardCertificates({
      applicationId: 'A20250101-OLDCARD0',
      cardNumber: previous.cardNumber,
      holderName: 'LEE MEI LING',
      subjectSerial: '1234567890123456',
      keys: previous.keys,
      actor: { type: 'system', id: 'workflow' },
    });

    await w.repo.cards.create(blankCard({ keys: cardKeys() }));
    const app = await w.repo.applications.create(application({ replacesCardNumber: previous.cardNumber }));
    const engine = new LocalWorkflow({
      handlers: (workflow) => createIssuanceTaskHandlers({ ...deps, workflow }),
      applications: w.repo.applications,
    });
    try {
      await engine.startIssuance(app.id);
      await engine.waitForCallback(app.id, 'AwaitPayment');
      await pay(w, engine, app.id);
      await engine.waitForCallback(app.id, 'QueueCardJob');
      const signaturesAfterIssue = signer.signatures;

      const issued = (await getApp(w.repo, app.id))!;
      const job = (await w.repo.cardJobs.get(issued.cardJobId!))!;
      const root = await writePem(dir, 'root.pem', hierarchy.root.certificate);
      const chain = await writePem(dir, 'issuing.pem', Buffer.from(job.certificates.chain[0]!, 'base64'));
      for (const which of ['signature', 'encryption'] as const) {
        const leaf = await writePem(dir, `${which}.pem`, Buffer.from(job.certificates[which], 'base64'));
        const r = await openssl('verify', '-CAfile', root, '-untrusted', chain, leaf);
        expect({ which, out: r.stdout.trim(), code: r.code }).toEqual({ which, out: `${leaf}: OK`, code: 0 });
      }
      const subject = await openssl(
        'x509',
        '-noout',
        '-subject',
        '-in',
        join(dir, 'signature.pem'),
        '-nameopt',
        'RFC2253',
      );
      expect(subject.stdout).toContain('CN=LEE MEI LING');
      expect(subject.stdout).not.toContain(app.arcKey);

      for (const serial of [old.signature.serialNumber, old.encryption.serialNumber])
        expect(await w.repo.certificates.get(serial)).toMatchObject({
          status: 'revoked',
          revocationReason: 'superseded',
        });
      expect((await w.repo.cards.get(previous.cardNumber))?.status).toBe('revoked');

      // Signing again (a duplicate delivery) returns the same certificates and signs nothing.
      expect(await signCertificates(deps, app.id)).toEqual(issued.certificateSerials);
      expect(signer.signatures).toBe(signaturesAfterIssue);

      await stationCompletes(w, engine, job.id);
      await engine.waitForCallback(app.id, 'AwaitMailing');
      await stationMails(w, engine, job.id);
      expect(await engine.settled(app.id)).toMatchObject({ status: 'succeeded' });
      expect(await w.deps.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await engine.stop();
    }
  });
});
