import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPortalClient } from '../../card-client/api.js';
import { type ClientContext, commands } from '../../card-client/commands.js';
import { createScriptedIo } from '../../card-client/io.js';
import { openSoftHsmCardReader, type SoftHsmCardReader } from '../../card-station/card/softhsm.js';
import type { SmartCard } from '../../card-station/card/types.js';
import { closeModules, softhsmConfig } from '../../shared/adapters/pkcs11/module.js';
import { toPem } from '../../shared/ca/crl.js';
import { sha256Hex } from '../../shared/card/certificates.js';
import type { Application } from '../../shared/domain/model.js';
import { openssl } from '../ca/helpers.js';
import { setNativeEnv } from '../card-station/softhsm-env.js';
import {
  call,
  emulatedCard,
  type Harness,
  HOLDER,
  type SeededCard,
  startHarness,
  uniqueArcNumber,
} from './harness.js';

/**
 * Issue 6, end to end: the holder changes the e-mail in the certificates through the portal API and the
 * card client writes the re-issued pair to the emulated card (SoftHSM token + firmware) with the PIN.
 * Checked from the outside: OpenSC's pkcs11-tool lists the new certificate objects, OpenSSL reads the
 * CRL (old serials, reason superseded) and the OCSP answers (old revoked/superseded, new good), and the
 * public query by the new e-mail finds the new pair.
 */

const run = promisify(execFile);
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = 'Em4il-ch';

let h: Harness;
let reader: SoftHsmCardReader;
let dir: string;
let n = 0;

const ctxWith = (answers: string[] = []) => {
  const io = createScriptedIo(answers);
  const ctx: ClientContext = {
    api: createPortalClient(h.url),
    reader: async () => reader,
    io,
    modulePath: MODULE,
  };
  return { ctx, io };
};

/** A mailed card activated by its holder with PIN, who has an ARC number of their own (for the login). */
const activeCard = async (): Promise<{ card: SmartCard; seeded: SeededCard; arcNumber: string }> => {
  n++;
  const arcNumber = uniqueArcNumber(n);
  const cardNumber = `EM${String(60_000_000_000_000 + n).padStart(14, '0')}`;
  const m = await emulatedCard(h, reader, { cardNumber, arcNumber });
  await commands.activate(ctxWith().ctx, { card: cardNumber, code: m.seeded.code, newPin: PIN });
  return { ...m, arcNumber };
};

const pem = async (name: string, der: Uint8Array | string) => {
  const path = join(dir, name);
  await writeFile(path, toPem(typeof der === 'string' ? Buffer.from(der, 'base64') : der, 'CERTIFICATE'));
  return path;
};

/** The certificate objects on the card as OpenSC's pkcs11-tool lists them (no login: they are public). */
const listedByOpenSc = async (cardNumber: string) => {
  const { stdout } = await run(
    'pkcs11-tool',
    ['--module', MODULE, '--token-label', cardNumber, '--list-objects', '--type', 'cert'],
    { env: { ...process.env } },
  );
  return stdout
    .split(/\n(?=\S)/)
    .filter((b) => b.startsWith('Certificate Object'))
    .map((b) => ({
      label: /label:\s+(\S+)/.exec(b)?.[1],
      id: /ID:\s+(\S+)/.exec(b)?.[1],
      serial: /serial:\s+(\S+)/.exec(b)?.[1]?.toLowerCase().replace(/^0+/, ''),
    }));
};

/** CRL entries as OpenSSL reads the latest CRL: serial (lower-case hex) → reason. */
const crlEntries = async (): Promise<Map<string, string>> => {
  const crl = await h.ca.crl.latest();
  await writeFile(join(dir, 'crl.der'), crl!.der);
  const out = await openssl('crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-text');
  expect(out.code).toBe(0);
  const entries = new Map<string, string>();
  for (const m of out.stdout.matchAll(
    /Serial Number: ([0-9A-F]+)\s+Revocation Date: [^\n]+\n\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+([^\n]+)/g,
  )) {
    entries.set(m[1]!.toLowerCase().replace(/^0+/, ''), m[2]!.trim());
  }
  return entries;
};

/** OpenSSL builds the OCSP request, the harness's responder answers, OpenSSL verifies and reads it. */
const ocsp = async (name: string, derB64: string): Promise<string> => {
  const cert = await pem(`${name}.pem`, derB64);
  const issuing = await pem('issuing.pem', h.hierarchy.issuing.certificate);
  const root = await pem('root.pem', h.hierarchy.root.certificate);
  const req = join(dir, `${name}.req.der`);
  const resp = join(dir, `${name}.resp.der`);
  expect((await openssl('ocsp', '-issuer', issuing, '-cert', cert, '-no_nonce', '-reqout', req)).code).toBe(
    0,
  );
  await writeFile(resp, await h.ocsp.respond(await readFile(req)));
  // The harness clock is not the wall clock: tolerate any age of thisUpdate / nextUpdate.
  const out = await openssl(
    'ocsp',
    '-respin',
    resp,
    '-issuer',
    issuing,
    '-cert',
    cert,
    '-CAfile',
    root,
    '-verify_other',
    issuing,
    '-validity_period',
    '315360000',
  );
  expect(out.stderr + out.stdout).toContain('Response verify OK');
  return out.stdout.replace(cert, name);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'email-change-'));
  setNativeEnv('SOFTHSM2_CONF', await softhsmConfig(join(dir, 'cards')));
  h = await startHarness();
  reader = await openSoftHsmCardReader({ cardsDir: join(dir, 'cards'), modulePath: MODULE, clock: h.clock });
});
afterAll(async () => {
  await h.close();
  closeModules();
});

describe('e-mail change end to end: portal API, CA re-issue, the card client writes the card', () => {
  it('re-issues both certificates on the same keys, writes them to the card; old superseded on the CRL and in OCSP, new good and found by the new e-mail', async () => {
    const { card, seeded } = await activeCard();
    const cardNumber = card.cardNumber;
    const old = { signature: seeded.signature, encryption: seeded.encryption };

    const { ctx, io } = ctxWith([seeded.code, PIN]);
    const r = await commands.changeEmail(ctx, { card: cardNumber, email: 'Mei.Lin@Example.ORG' });
    expect(io.asked).toEqual(['Subscriber code (用戶代碼):', 'PIN:']);
    expect(r).toMatchObject({ cardNumber, changed: true, written: true });
    expect([...r.superseded].sort()).toEqual(
      [old.signature.serialNumber, old.encryption.serialNumber].sort(),
    );
    expect(r.signature).not.toBe(old.signature.serialNumber);
    expect(r.encryption).not.toBe(old.encryption.serialNumber);

    // The server's records: card and application point at the new pair, with the new e-mail.
    const cardRecord = await h.repo.cards.get(cardNumber);
    expect(cardRecord?.certificateSerials).toEqual({ signature: r.signature, encryption: r.encryption });
    const app = (await h.repo.applications.get(seeded.application.id)) as Application;
    expect(app.email).toBe('Mei.Lin@Example.ORG');

    // The card holds exactly the server's current pair (read back, and as OpenSC lists it).
    const token = (
      await call(`${h.url}/v1/portal/sessions`, 'POST', {
        arcNumber: uniqueArcNumber(n),
        subscriberCode: seeded.code,
      })
    ).body.token as string;
    const current = await call(
      `${h.url}/v1/portal/cards/${cardNumber}/certificates`,
      'GET',
      undefined,
      token,
    );
    expect(current.status).toBe(200);
    const onCard = await card.readCertificates();
    const holderObjects = onCard.filter((o) => o.id === '01' || o.id === '02');
    expect(holderObjects).toHaveLength(2);
    expect(sha256Hex(holderObjects.find((o) => o.id === '01')!.der)).toBe(
      sha256Hex(Buffer.from(current.body.signature.der, 'base64')),
    );
    expect(sha256Hex(holderObjects.find((o) => o.id === '02')!.der)).toBe(
      sha256Hex(Buffer.from(current.body.encryption.der, 'base64')),
    );
    const listed = await listedByOpenSc(cardNumber);
    expect(listed).toHaveLength(4);
    expect(listed.find((o) => o.label === 'sign-cert')).toMatchObject({ id: '01', serial: r.signature });
    expect(listed.find((o) => o.label === 'enc-cert')).toMatchObject({ id: '02', serial: r.encryption });

    // The new certificates are on the card's own keys and carry the new e-mail; info shows it.
    for (const which of ['signature', 'encryption'] as const) {
      const cert = new X509Certificate(Buffer.from(current.body[which].der, 'base64'));
      expect(cert.subjectAltName).toBe('email:Mei.Lin@Example.ORG');
      expect(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(
        seeded.card.keys[which].spki,
      );
    }
    const shown = ctxWith();
    const info = await commands.info(shown.ctx, { card: cardNumber });
    expect(info).toMatchObject({ email: 'Mei.Lin@Example.ORG', holder: HOLDER.name });
    expect(shown.io.output.join('\n')).toContain('E-mail        Mei.Lin@Example.ORG');

    // Relying parties: the old pair revoked (superseded) on the CRL and in OCSP, the new pair good.
    const crl = await crlEntries();
    expect(crl.get(old.signature.serialNumber)).toBe('Superseded');
    expect(crl.get(old.encryption.serialNumber)).toBe('Superseded');
    expect(crl.has(r.signature)).toBe(false);
    expect(crl.has(r.encryption)).toBe(false);
    const oldStatus = await ocsp('old-signature', old.signature.der!);
    expect(oldStatus).toContain('old-signature: revoked');
    expect(oldStatus).toContain('Reason: superseded');
    expect(await ocsp('new-signature', current.body.signature.der)).toContain('new-signature: good');
    expect(await ocsp('new-encryption', current.body.encryption.der)).toContain('new-encryption: good');

    // The public query by the new e-mail finds the new pair (good); by the old one, only superseded.
    const byNew = await call(
      `${h.url}/v1/certificates?email=${encodeURIComponent('mei.lin@example.org')}`,
      'GET',
    );
    expect(byNew.status).toBe(200);
    expect(
      byNew.body.certificates
        .map((c: { serialNumber: string; status: string }) => [c.serialNumber, c.status])
        .sort(),
    ).toEqual(
      [
        [r.signature, 'good'],
        [r.encryption, 'good'],
      ].sort(),
    );
    const byOld = await call(`${h.url}/v1/certificates?email=${encodeURIComponent(HOLDER.email)}`, 'GET');
    const oldOnes = byOld.body.certificates.filter((c: { serialNumber: string }) =>
      [old.signature.serialNumber, old.encryption.serialNumber].includes(c.serialNumber),
    );
    expect(oldOnes).toHaveLength(2);
    for (const c of oldOnes) {
      expect(c).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
      expect([r.signature, r.encryption]).toContain(c.supersededBy);
    }

    // The card works with its new certificates: the self-test signs on the card, verifies, status good.
    const selftest = await commands.selftest(ctxWith([PIN]).ctx, { card: cardNumber });
    expect(selftest.passed).toBe(true);
    expect(selftest.steps.find((s) => s.step === 'certificates')?.detail).toContain(r.signature);

    // The same e-mail again re-issues nothing and writes nothing.
    const again = await commands.changeEmail(ctxWith().ctx, {
      card: cardNumber,
      email: 'mei.lin@example.org',
      code: seeded.code,
      pin: PIN,
    });
    expect(again).toMatchObject({ changed: false, written: false, signature: r.signature });
    expect((await h.repo.certificates.listByCard(cardNumber)).length).toBe(4);
  });

  it('a card pulled between writing and deleting: info warns, update-certificates repairs it to the server’s pair', async () => {
    const { card, seeded, arcNumber } = await activeCard();
    const cardNumber = card.cardNumber;
    const p = reader.module;
    const destroy = p.C_DestroyObject;
    p.C_DestroyObject = () => {
      throw new Error('card removed from the reader');
    };
    try {
      await expect(
        commands.changeEmail(ctxWith().ctx, {
          card: cardNumber,
          email: 'torn@example.org',
          code: seeded.code,
          pin: PIN,
        }),
      ).rejects.toThrow('card removed from the reader');
    } finally {
      p.C_DestroyObject = destroy;
    }
    // Online the change is complete; the card has the new signature certificate next to the old one.
    const record = await h.repo.cards.get(cardNumber);
    const newSig = await h.repo.certificates.get(record!.certificateSerials!.signature);
    expect(newSig?.serialNumber).not.toBe(seeded.signature.serialNumber);
    expect((await card.readCertificates()).filter((o) => o.id === '01')).toHaveLength(2);
    const warned = ctxWith();
    await commands.info(warned.ctx, { card: cardNumber });
    expect(warned.io.output.join('\n')).toContain('two signature certificates');

    const { ctx, io } = ctxWith([arcNumber, seeded.code, PIN]);
    const r = await commands.updateCertificates(ctx, { card: cardNumber });
    expect(io.asked).toEqual(['ARC number (居留證號):', 'Subscriber code (用戶代碼):', 'PIN:']);
    expect(r).toMatchObject({ written: true, signature: newSig!.serialNumber });
    const listed = await listedByOpenSc(cardNumber);
    expect(listed.filter((o) => o.id === '01')).toEqual([
      { label: 'sign-cert', id: '01', serial: newSig!.serialNumber },
    ]);
    expect(listed.filter((o) => o.id === '02')).toEqual([
      { label: 'enc-cert', id: '02', serial: record!.certificateSerials!.encryption },
    ]);
    expect((await commands.info(ctxWith().ctx, { card: cardNumber })).email).toBe('torn@example.org');
    // Nothing left to do.
    const again = await commands.updateCertificates(ctxWith().ctx, {
      card: cardNumber,
      arc: arcNumber,
      code: seeded.code,
      pin: PIN,
    });
    expect(again.written).toBe(false);
  });
});
