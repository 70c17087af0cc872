import { execFile } from 'node:child_process';
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  comparePersonalization,
  writtenCertificatesOnCard,
} from '../../card-station/card/personalization.js';
import { openSoftHsmCardReader, type SoftHsmCardReader } from '../../card-station/card/softhsm.js';
import {
  type CardError,
  type CertificateSet,
  isCardError,
  type SmartCard,
} from '../../card-station/card/types.js';
import { closeModules, findObjects, pkcs11js, softhsmConfig } from '../../shared/adapters/pkcs11/module.js';
import { summarizeCertificate, writtenCertificatesOf } from '../../shared/card/certificates.js';
import { verifyCsr } from '../../shared/card/csr.js';
import { adminKeyCheckValue, createUnblockAuthorization } from '../../shared/card/unblock.js';
import { AdjustableClock } from '../../shared/ports/clock.js';
import { setNativeEnv } from './softhsm-env.js';
import { createTestCa, type TestCa, toPem } from './test-ca.js';

const run = promisify(execFile);
const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

let dir: string;
let reader: SoftHsmCardReader;
let ca: TestCa;
const clock = new AdjustableClock();
let serial = 0;
const nextCardNumber = () => `TP${String(10_000_000_000_000 + ++serial).padStart(14, '0')}`;

/** A card in issuer mode with its keys and both certificates written (not yet closed). */
const writtenCard = async (
  holder = 'CHEN, Mei-Ling 陳美玲',
  algorithm: 'RSA-2048' | 'EC-P256' = 'RSA-2048',
) => {
  const cardNumber = nextCardNumber();
  const card = await reader.initialize(cardNumber);
  const keys = await card.generateKeyPairs(algorithm);
  const set: CertificateSet = {
    signature: await ca.issue({ spki: keys.signature.spki, holder, role: 'signature' }),
    encryption: await ca.issue({ spki: keys.encryption.spki, holder, role: 'encryption' }),
    chain: ca.chain,
  };
  await card.writeCertificates(set);
  return { card, cardNumber, set, keys };
};

/** A card personalized (locked) and activated with `pin` through the unblock protocol. */
const activatedCard = async (pin: string) => {
  const w = await writtenCard();
  const adminKey = randomBytes(32);
  await w.card.closePersonalization(adminKey);
  await activate(w.card, adminKey, pin);
  return { ...w, adminKey };
};

const activate = async (card: SmartCard, adminKey: Uint8Array, pin: string) => {
  const challenge = await card.getChallenge();
  const auth = createUnblockAuthorization({
    adminKey,
    cardNumber: card.cardNumber,
    challenge,
    expiresAt: new Date(clock.now().getTime() + 300_000),
  });
  await card.unblock(auth, pin);
};

const cardError = async (p: Promise<unknown>): Promise<CardError> => {
  try {
    await p;
  } catch (e) {
    if (isCardError(e)) return e;
    throw e;
  }
  throw new Error('expected the card to refuse');
};

const tool = async (args: string[]) =>
  run('pkcs11-tool', ['--module', MODULE, ...args], { env: { ...process.env } }).then((r) => r.stdout);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cards-'));
  setNativeEnv('SOFTHSM2_CONF', await softhsmConfig(dir));
  reader = await openSoftHsmCardReader({ cardsDir: dir, clock });
  ca = await createTestCa();
});
afterAll(() => closeModules());

describe('card layer on SoftHSM with the emulation firmware', () => {
  it('generates both key pairs on the card and proves possession with a CSR per key', async () => {
    const cardNumber = nextCardNumber();
    const card = await reader.initialize(cardNumber);
    const keys = await card.generateKeyPairs('RSA-2048');
    expect(keys.signature).toMatchObject({ keyId: '01', label: 'sign', algorithm: 'RSA-2048' });
    expect(keys.encryption).toMatchObject({ keyId: '02', label: 'enc', algorithm: 'RSA-2048' });
    expect(Buffer.from(keys.signature.spki).equals(Buffer.from(keys.encryption.spki))).toBe(false);
    // Asking again keeps the keys (an interrupted enrollment resumes, it does not re-key).
    const again = await card.generateKeyPairs('RSA-2048');
    expect(Buffer.from(again.signature.spki)).toEqual(Buffer.from(keys.signature.spki));

    for (const role of ['signature', 'encryption'] as const) {
      const csr = await card.createCsr(role);
      const verdict = verifyCsr(csr);
      expect(verdict).toMatchObject({ ok: true, csr: { commonName: cardNumber, algorithm: 'RSA-2048' } });
      if (verdict.ok) expect(Buffer.from(verdict.csr.spki)).toEqual(Buffer.from(keys[role].spki));
      const path = join(dir, `${cardNumber}-${role}.csr`);
      await writeFile(path, toPem(csr, 'CERTIFICATE REQUEST'));
      const { stderr } = await run('openssl', ['req', '-in', path, '-verify', '-noout']);
      expect(stderr).toMatch(/verify OK/);
    }
    expect(await reader.list()).toContain(cardNumber);
  });

  it('writes both holder certificates and the chain, reads them back and shows the card information', async () => {
    const { card, cardNumber, set } = await writtenCard('CHEN, Mei-Ling 陳美玲');
    const onCard = await card.readCertificates();
    expect(onCard.map((o) => [o.id, o.label]).sort()).toEqual([
      ['01', 'sign-cert'],
      ['02', 'enc-cert'],
      ['c1', 'ca-1'],
      ['c2', 'ca-2'],
    ]);
    expect(comparePersonalization(onCard, set)).toEqual({ state: 'complete' });
    expect(writtenCertificatesOnCard(onCard)).toEqual(writtenCertificatesOf(set));

    const adminKey = randomBytes(32);
    await card.closePersonalization(adminKey);
    await card.closePersonalization(adminKey); // idempotent with the same key
    const info = await card.info();
    const sign = summarizeCertificate(set.signature);
    expect(info).toMatchObject({
      cardNumber,
      phase: 'personalized',
      holder: 'CHEN, Mei-Ling 陳美玲',
      issuer: 'Test Issuing CA',
      notAfter: sign.notAfter,
      pin: { activated: false, locked: true, retriesLeft: 0 },
      adminKeyCheck: adminKeyCheckValue(adminKey),
    });
    // Shipped locked: no PIN opens it until the holder activates it.
    expect((await cardError(card.sign('signature', '123456', Buffer.from('x')))).code).toBe('CKR_PIN_LOCKED');
    // Issuer mode is closed for good.
    expect((await cardError(card.wipeCertificates())).code).toBe('issuer_mode_closed');
    expect((await cardError(card.generateKeyPairs('RSA-2048'))).code).toBe('issuer_mode_closed');
    expect((await cardError(card.closePersonalization(randomBytes(32)))).code).toBe('issuer_mode_closed');
  });

  it('after activation OpenSC lists both certificates and both private keys, sensitive and never extractable', async () => {
    const { cardNumber } = await activatedCard('246810');
    const out = await tool(['--token-label', cardNumber, '--login', '--pin', '246810', '--list-objects']);
    const blocks = out.split(/\n(?=\S)/);
    const privateKeys = blocks.filter((b) => b.startsWith('Private Key Object'));
    expect(privateKeys).toHaveLength(2);
    for (const b of privateKeys) {
      expect(b).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/);
    }
    expect(privateKeys.map((b) => /label:\s+(\S+)/.exec(b)?.[1]).sort()).toEqual(['enc', 'sign']);
    const certs = blocks.filter((b) => b.startsWith('Certificate Object'));
    expect(certs.map((b) => /label:\s+(\S+)/.exec(b)?.[1]).sort()).toEqual([
      'ca-1',
      'ca-2',
      'enc-cert',
      'sign-cert',
    ]);
    expect(certs.find((b) => b.includes('sign-cert'))).toMatch(/ID:\s+01/);
    expect(certs.find((b) => b.includes('enc-cert'))).toMatch(/ID:\s+02/);
    // The private exponent cannot be read, even logged in.
    const p = reader.module;
    const s = p.C_OpenSession(reader.slotOf(cardNumber)!, pkcs11js.CKF_SERIAL_SESSION);
    try {
      p.C_Login(s, pkcs11js.CKU_USER, '246810');
      for (const key of findObjects(p, s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }])) {
        expect(() => p.C_GetAttributeValue(s, key, [{ type: pkcs11js.CKA_PRIVATE_EXPONENT }])).toThrow(
          /CKR_ATTRIBUTE_SENSITIVE/,
        );
      }
      p.C_Logout(s);
    } finally {
      p.C_CloseSession(s);
    }
  });

  it('signs with the card key (RSA PKCS#1 v1.5 SHA-256); OpenSSL verifies it with the certificate', async () => {
    const { card, set } = await activatedCard('13572468');
    const data = Buffer.from('acdc/subscriber-code-change/v1\ncardNumber=TP…\nnonce=abc', 'utf8');
    const sig = await card.sign('signature', '13572468', data);
    const certPath = join(dir, 'sign.pem');
    const chainPath = join(dir, 'chain.pem');
    await writeFile(certPath, toPem(set.signature));
    await writeFile(chainPath, set.chain.map((c) => toPem(c)).join(''));
    await writeFile(join(dir, 'data.bin'), data);
    await writeFile(join(dir, 'sig.bin'), sig);
    const { stdout: pub } = await run('openssl', ['x509', '-in', certPath, '-pubkey', '-noout']);
    await writeFile(join(dir, 'pub.pem'), pub);
    const { stdout } = await run('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(dir, 'pub.pem'),
      '-signature',
      join(dir, 'sig.bin'),
      join(dir, 'data.bin'),
    ]);
    expect(stdout.trim()).toBe('Verified OK');
    const { stdout: chainOk } = await run('openssl', ['verify', '-CAfile', chainPath, certPath]);
    expect(chainOk).toMatch(/OK/);
    // The encryption key answers too (for a client that needs it), but a wrong PIN never signs.
    expect((await cardError(card.sign('signature', '00000000', data))).code).toBe('CKR_PIN_INCORRECT');
  });

  it('three wrong PINs lock the card; the correct PIN is refused until the unblock flow runs', async () => {
    const { card, adminKey } = await activatedCard('112233');
    const data = Buffer.from('hello');
    const first = await cardError(card.sign('signature', '999999', data));
    expect(first).toMatchObject({ code: 'CKR_PIN_INCORRECT', details: { retriesLeft: 2 } });
    // A correct PIN in between gives the tries back.
    await card.sign('signature', '112233', data);
    expect((await card.info()).pin.retriesLeft).toBe(3);
    for (const left of [2, 1, 0]) {
      expect(await cardError(card.sign('signature', '999999', data))).toMatchObject({
        code: 'CKR_PIN_INCORRECT',
        details: { retriesLeft: left },
      });
    }
    expect((await card.info()).pin).toEqual({ activated: true, locked: true, retriesLeft: 0 });
    expect((await cardError(card.sign('signature', '112233', data))).code).toBe('CKR_PIN_LOCKED');
    expect((await cardError(card.changePin('112233', '445566'))).code).toBe('CKR_PIN_LOCKED');
    // SoftHSM alone would still accept the PIN: the lock is the firmware's.
    await activate(card, adminKey, '778899');
    expect((await card.info()).pin).toEqual({ activated: true, locked: false, retriesLeft: 3 });
    expect((await cardError(card.sign('signature', '112233', data))).code).toBe('CKR_PIN_INCORRECT');
    await expect(card.sign('signature', '778899', data)).resolves.toBeInstanceOf(Uint8Array);
  });

  it('refuses an unblock authorization that is replayed, made for another card, expired or forged', async () => {
    const a = await activatedCard('135790');
    const b = await activatedCard('246802');
    const expiresAt = new Date(clock.now().getTime() + 300_000);

    // Used once: fine. Replayed (same authorization, the card has moved on): refused.
    const challenge = await a.card.getChallenge();
    const auth = createUnblockAuthorization({
      adminKey: a.adminKey,
      cardNumber: a.cardNumber,
      challenge,
      expiresAt,
    });
    await a.card.unblock(auth, '111111');
    expect(await cardError(a.card.unblock(auth, '222222'))).toMatchObject({
      code: 'unblock_refused',
      details: { reason: 'no_challenge' },
    });
    await a.card.getChallenge();
    expect(await cardError(a.card.unblock(auth, '222222'))).toMatchObject({ details: { reason: 'bad_mac' } });

    // Card A's authorization on card B, even for B's own pending challenge and with B's number.
    const bChallenge = await b.card.getChallenge();
    const forB = createUnblockAuthorization({
      adminKey: a.adminKey,
      cardNumber: b.cardNumber,
      challenge: bChallenge,
      expiresAt,
    });
    expect(await cardError(b.card.unblock(forB, '333333'))).toMatchObject({ details: { reason: 'bad_mac' } });
    const aForB = createUnblockAuthorization({
      adminKey: a.adminKey,
      cardNumber: a.cardNumber,
      challenge: bChallenge,
      expiresAt,
    });
    await b.card.getChallenge();
    expect(await cardError(b.card.unblock(aForB, '333333'))).toMatchObject({
      details: { reason: 'wrong_card' },
    });

    // Expired: the MAC is right but the time is up.
    const c3 = await b.card.getChallenge();
    const old = createUnblockAuthorization({
      adminKey: b.adminKey,
      cardNumber: b.cardNumber,
      challenge: c3,
      expiresAt: new Date(clock.now().getTime() - 1000),
    });
    expect(await cardError(b.card.unblock(old, '333333'))).toMatchObject({ details: { reason: 'expired' } });

    // A failed attempt spends the challenge: the right authorization for it is now refused too.
    const c4 = await b.card.getChallenge();
    const forged = {
      ...createUnblockAuthorization({
        adminKey: b.adminKey,
        cardNumber: b.cardNumber,
        challenge: c4,
        expiresAt,
      }),
    };
    const good = { ...forged };
    forged.mac = `${forged.mac.slice(0, 63)}${forged.mac.endsWith('0') ? '1' : '0'}`;
    expect(await cardError(b.card.unblock(forged, '333333'))).toMatchObject({
      details: { reason: 'bad_mac' },
    });
    expect(await cardError(b.card.unblock(good, '333333'))).toMatchObject({
      details: { reason: 'no_challenge' },
    });

    // None of it changed B's PIN.
    await expect(b.card.sign('signature', '246802', Buffer.from('x'))).resolves.toBeInstanceOf(Uint8Array);
  });

  it('a new PIN must have 6–8 characters; the holder changes the PIN knowing the current one', async () => {
    const { card, adminKey } = await activatedCard('123456');
    expect((await cardError(card.changePin('123456', '12345'))).code).toBe('CKR_PIN_LEN_RANGE');
    expect((await cardError(card.changePin('123456', '123456789'))).code).toBe('CKR_PIN_LEN_RANGE');
    expect((await cardError(card.changePin('123456', '12 456'))).code).toBe('CKR_PIN_LEN_RANGE');
    // The refused new PIN spent no try; a malformed current PIN spends none either.
    expect((await card.info()).pin.retriesLeft).toBe(3);
    expect((await cardError(card.sign('signature', '123', Buffer.from('x')))).code).toBe('CKR_PIN_LEN_RANGE');
    expect((await card.info()).pin.retriesLeft).toBe(3);
    await card.changePin('123456', 'Ab3$xy9z');
    expect((await cardError(card.sign('signature', '123456', Buffer.from('x')))).code).toBe(
      'CKR_PIN_INCORRECT',
    );
    await expect(card.sign('signature', 'Ab3$xy9z', Buffer.from('x'))).resolves.toBeInstanceOf(Uint8Array);
    // An unblock with a PIN of the wrong length does not spend the authorization.
    const challenge = await card.getChallenge();
    const auth = createUnblockAuthorization({
      adminKey,
      cardNumber: card.cardNumber,
      challenge,
      expiresAt: new Date(clock.now().getTime() + 60_000),
    });
    expect((await cardError(card.unblock(auth, '1234'))).code).toBe('CKR_PIN_LEN_RANGE');
    await card.unblock(auth, '654321');
    await expect(card.sign('signature', '654321', Buffer.from('x'))).resolves.toBeInstanceOf(Uint8Array);
  });

  it('detects a half-written card, wipes its certificate objects and rewrites them', async () => {
    const { card, cardNumber, set } = await writtenCard();
    // Simulate an interrupted write: remove the encryption certificate behind the firmware's back.
    const p = reader.module;
    const slot = reader.slotOf(cardNumber)!;
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    const [enc] = findObjects(p, s, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_LABEL, value: 'enc-cert' },
    ]);
    p.C_DestroyObject(s, enc!);
    p.C_CloseSession(s);

    const half = comparePersonalization(await card.readCertificates(), set);
    expect(half).toEqual({ state: 'partial', missing: ['enc-cert'], unexpected: [] });
    // Certificates of another job on this card are not "complete" either.
    const other: CertificateSet = { ...set, chain: [set.chain[0]!] };
    expect(comparePersonalization(await card.readCertificates(), other).state).toBe('partial');
    // Writing over existing objects is refused; the station wipes first.
    expect((await cardError(card.writeCertificates(set))).details.reason).toBe('certificates_present');
    expect(await card.wipeCertificates()).toBe(3);
    expect(comparePersonalization(await card.readCertificates(), set)).toEqual({ state: 'empty' });
    await card.writeCertificates(set);
    expect(comparePersonalization(await card.readCertificates(), set)).toEqual({ state: 'complete' });
  });

  it('refuses certificates that do not certify the card’s own keys, and closing without them', async () => {
    const cardNumber = nextCardNumber();
    const card = await reader.initialize(cardNumber);
    const keys = await card.generateKeyPairs('RSA-2048');
    const sign = await ca.issue({ spki: keys.signature.spki, holder: 'X', role: 'signature' });
    const enc = await ca.issue({ spki: keys.encryption.spki, holder: 'X', role: 'encryption' });
    expect(
      await cardError(card.writeCertificates({ signature: enc, encryption: sign, chain: ca.chain })),
    ).toMatchObject({ code: 'certificate_mismatch', details: { reason: 'signature_key' } });
    expect(await card.readCertificates()).toEqual([]);
    expect((await cardError(card.closePersonalization(randomBytes(32)))).code).toBe('certificate_mismatch');
  });

  it('works with EC P-256 keys as well (raw CKM_ECDSA, host-side hash)', async () => {
    const { card, set, keys } = await writtenCard('Tanaka Hanako', 'EC-P256');
    expect(keys.signature.algorithm).toBe('EC-P256');
    expect(verifyCsr(await card.createCsr('encryption'))).toMatchObject({
      ok: true,
      csr: { algorithm: 'EC-P256' },
    });
    const adminKey = randomBytes(32);
    await card.closePersonalization(adminKey);
    await activate(card, adminKey, '5555aa');
    const data = Buffer.from('data to sign');
    const sig = await card.sign('signature', '5555aa', data);
    const key = createPublicKey({
      key: Buffer.from(summarizeCertificate(set.signature).spki),
      format: 'der',
      type: 'spki',
    });
    expect(verifySignature('sha256', data, { key, dsaEncoding: 'der' }, sig)).toBe(true);
  });

  it('terminates itself after ten refused unblock authorizations', async () => {
    const { card, adminKey, cardNumber } = await activatedCard('121212');
    for (let i = 0; i < 10; i++) {
      await card.getChallenge();
      await cardError(
        card.unblock(
          {
            cardNumber,
            challenge: '0'.repeat(32),
            expiresAt: clock.now().toISOString(),
            mac: '0'.repeat(64),
          },
          '343434',
        ),
      );
    }
    expect((await card.info()).terminated).toBe(true);
    expect((await cardError(card.getChallenge())).code).toBe('card_terminated');
    expect((await cardError(card.sign('signature', '121212', Buffer.from('x')))).code).toBe(
      'card_terminated',
    );
    void adminKey;
  });

  it('keeps its protected state in the firmware file, not readable by others', async () => {
    const { cardNumber } = await activatedCard('808080');
    const path = reader.firmware.path(cardNumber);
    const state = JSON.parse(await readFile(path, 'utf8'));
    expect(state).toMatchObject({ phase: 'personalized', pin: { activated: true, locked: false } });
    expect(state.transportPin).toBeUndefined();
    const { stdout } = await run('stat', ['-c', '%a', path]);
    expect(stdout.trim()).toBe('600');
  });
});

describe('holder-mode certificate replacement (re-issued certificates, e.g. a new e-mail)', () => {
  /** New certificates for the card's own keys, as the CA re-issues them (new serials, new subject). */
  const reissued = async (keys: Awaited<ReturnType<typeof writtenCard>>['keys'], holder: string) => ({
    signature: await ca.issue({ spki: keys.signature.spki, holder, role: 'signature' }),
    encryption: await ca.issue({ spki: keys.encryption.spki, holder, role: 'encryption' }),
  });
  const sha = (der: Uint8Array) => summarizeCertificate(der).sha256;
  const holderObjects = async (card: SmartCard) =>
    (await card.readCertificates())
      .filter((o) => o.id === '01' || o.id === '02')
      .map((o) => ({ id: o.id, label: o.label, sha256: sha(o.der) }))
      .sort((a, b) => a.id.localeCompare(b.id));

  /** Runs `fn` with C_DestroyObject failing, as if the card were pulled right after the new object was written. */
  const pulledBeforeDelete = async (fn: () => Promise<unknown>) => {
    const p = reader.module;
    const destroy = p.C_DestroyObject;
    p.C_DestroyObject = () => {
      throw new Error('card removed from the reader');
    };
    try {
      await expect(fn()).rejects.toThrow('card removed from the reader');
    } finally {
      p.C_DestroyObject = destroy;
    }
  };

  it('replaces both holder certificates with the PIN: same IDs, labels and CKA_SUBJECT; OpenSC lists them; the keys still sign', async () => {
    const { card, cardNumber, keys, set } = await activatedCard('24682468');
    const next = await reissued(keys, 'CHEN, Mei-Ling (new e-mail)');
    expect(await card.replaceCertificates('24682468', next)).toEqual({
      written: ['signature', 'encryption'],
      removed: 2,
    });
    expect(await holderObjects(card)).toEqual([
      { id: '01', label: 'sign-cert', sha256: sha(next.signature) },
      { id: '02', label: 'enc-cert', sha256: sha(next.encryption) },
    ]);
    // The CA chain is untouched; the card is complete for the new set.
    expect(comparePersonalization(await card.readCertificates(), { ...next, chain: set.chain })).toEqual({
      state: 'complete',
    });
    const info = await card.info();
    expect(info.holder).toBe('CHEN, Mei-Ling (new e-mail)');
    expect(info.certificates.map((c) => c.serialNumber)).toContain(
      summarizeCertificate(next.signature).serialNumber,
    );
    expect(info.certificates.map((c) => c.serialNumber)).not.toContain(
      summarizeCertificate(set.signature).serialNumber,
    );
    expect(info.pin).toEqual({ activated: true, locked: false, retriesLeft: 3 });

    // The objects carry the attributes personalization writes, so tools match them to the keys.
    const p = reader.module;
    const s = p.C_OpenSession(reader.slotOf(cardNumber)!, pkcs11js.CKF_SERIAL_SESSION);
    try {
      const [cert] = findObjects(p, s, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
        { type: pkcs11js.CKA_LABEL, value: 'sign-cert' },
      ]);
      const [subject, serialDer, category] = p.C_GetAttributeValue(s, cert!, [
        { type: pkcs11js.CKA_SUBJECT },
        { type: pkcs11js.CKA_SERIAL_NUMBER },
        { type: pkcs11js.CKA_CERTIFICATE_CATEGORY },
      ]);
      const summary = summarizeCertificate(next.signature);
      expect(Buffer.from(subject!.value as Buffer)).toEqual(Buffer.from(summary.subjectDer));
      expect(Buffer.from(serialDer!.value as Buffer)).toEqual(Buffer.from(summary.serialDer));
      expect((category!.value as Buffer).readUInt32LE(0)).toBe(1);
    } finally {
      p.C_CloseSession(s);
    }
    const out = await tool(['--token-label', cardNumber, '--list-objects', '--type', 'cert']);
    const blocks = out.split(/\n(?=\S)/).filter((b) => b.startsWith('Certificate Object'));
    expect(blocks).toHaveLength(4);
    expect(blocks.find((b) => b.includes('sign-cert'))).toMatch(/ID:\s+01/);
    expect(blocks.find((b) => b.includes('enc-cert'))).toMatch(/ID:\s+02/);
    const serialHex = summarizeCertificate(next.signature).serialNumber;
    expect(blocks.find((b) => b.includes('sign-cert'))?.toLowerCase()).toContain(serialHex.slice(-8));

    // The card's key still signs, and the new certificate verifies it.
    const data = Buffer.from('after the re-issue');
    const sig = await card.sign('signature', '24682468', data);
    const key = createPublicKey({
      key: Buffer.from(summarizeCertificate(next.signature).spki),
      format: 'der',
      type: 'spki',
    });
    expect(verifySignature('sha256', data, key, sig)).toBe(true);

    // Asked again with the same certificates: nothing to write, nothing to remove.
    expect(await card.replaceCertificates('24682468', next)).toEqual({ written: [], removed: 0 });
  });

  it('a wrong PIN counts and the third locks the card; nothing is written without the right PIN', async () => {
    const { card, keys, adminKey, set } = await activatedCard('11223344');
    const next = await reissued(keys, 'Locked Out');
    for (const left of [2, 1, 0]) {
      expect(await cardError(card.replaceCertificates('99999999', next))).toMatchObject({
        code: 'CKR_PIN_INCORRECT',
        details: { retriesLeft: left },
      });
    }
    expect((await cardError(card.replaceCertificates('11223344', next))).code).toBe('CKR_PIN_LOCKED');
    expect(await holderObjects(card)).toEqual([
      { id: '01', label: 'sign-cert', sha256: sha(set.signature) },
      { id: '02', label: 'enc-cert', sha256: sha(set.encryption) },
    ]);
    // After the online unblock the holder's new PIN writes them.
    await activate(card, adminKey, '55667788');
    await card.replaceCertificates('55667788', next);
    expect((await holderObjects(card)).map((o) => o.sha256)).toEqual([
      sha(next.signature),
      sha(next.encryption),
    ]);
  });

  it('refuses certificates for other keys (before the PIN: no try spent), and cards not yet the holder’s', async () => {
    const { card, keys, set } = await activatedCard('31415926');
    const other = await writtenCard('Someone Else');
    const foreign = await reissued(other.keys, 'Someone Else');
    const swapped = { signature: set.encryption, encryption: set.signature };
    expect(
      await cardError(
        card.replaceCertificates('31415926', { signature: foreign.signature, encryption: set.encryption }),
      ),
    ).toMatchObject({ code: 'certificate_mismatch', details: { reason: 'signature_key' } });
    expect(await cardError(card.replaceCertificates('00000000', swapped))).toMatchObject({
      code: 'certificate_mismatch',
      details: { reason: 'signature_key' },
    });
    const half = { ...(await reissued(keys, 'X')), encryption: foreign.encryption };
    expect(await cardError(card.replaceCertificates('31415926', half))).toMatchObject({
      details: { reason: 'encryption_key' },
    });
    expect(
      await cardError(
        card.replaceCertificates('31415926', { ...set, signature: Buffer.from('not a certificate') }),
      ),
    ).toMatchObject({ details: { reason: 'signature_unreadable' } });
    // No try was spent on any of these, and the card is as it was.
    expect((await card.info()).pin.retriesLeft).toBe(3);
    expect((await holderObjects(card)).map((o) => o.sha256)).toEqual([
      sha(set.signature),
      sha(set.encryption),
    ]);

    // In issuer mode there is no holder PIN; personalized but not activated, the PIN is locked.
    const mine = await reissued(other.keys, 'Someone Else');
    expect((await cardError(other.card.replaceCertificates('12345678', mine))).code).toBe(
      'CKR_USER_PIN_NOT_INITIALIZED',
    );
    await other.card.closePersonalization(randomBytes(32));
    expect((await cardError(other.card.replaceCertificates('12345678', mine))).code).toBe('CKR_PIN_LOCKED');
  });

  it('a card pulled between writing the new certificate and deleting the old one is repaired with the server’s current pair', async () => {
    const { card, keys, set } = await activatedCard('27182818');
    const next = await reissued(keys, 'CHEN, Mei-Ling (new e-mail)');
    await pulledBeforeDelete(() => card.replaceCertificates('27182818', next));
    // Never without a certificate: the signature key now has two, the encryption key still its old one.
    const torn = await holderObjects(card);
    expect(
      torn
        .filter((o) => o.id === '01')
        .map((o) => o.sha256)
        .sort(),
    ).toEqual([sha(set.signature), sha(next.signature)].sort());
    expect(torn.filter((o) => o.id === '02').map((o) => o.sha256)).toEqual([sha(set.encryption)]);
    expect(comparePersonalization(await card.readCertificates(), { ...next, chain: set.chain }).state).toBe(
      'partial',
    );
    // The right PIN was presented before the tear: the tries are back to 3.
    expect((await card.info()).pin.retriesLeft).toBe(3);

    // Run again with what the server says is current: the new one is kept, the old one removed.
    expect(await card.replaceCertificates('27182818', next)).toEqual({ written: ['encryption'], removed: 2 });
    expect(await holderObjects(card)).toEqual([
      { id: '01', label: 'sign-cert', sha256: sha(next.signature) },
      { id: '02', label: 'enc-cert', sha256: sha(next.encryption) },
    ]);

    // If the server's current pair is still the old one (its re-issue never finished), the old one stays.
    const b = await activatedCard('16180339');
    const notIssued = await reissued(b.keys, 'Never Finished');
    await pulledBeforeDelete(() => b.card.replaceCertificates('16180339', notIssued));
    expect(await b.card.replaceCertificates('16180339', b.set)).toEqual({ written: [], removed: 1 });
    expect(await holderObjects(b.card)).toEqual([
      { id: '01', label: 'sign-cert', sha256: sha(b.set.signature) },
      { id: '02', label: 'enc-cert', sha256: sha(b.set.encryption) },
    ]);
  });
});
