import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPortalClient, type PortalClient } from '../../card-client/api.js';
import { type ClientContext, ClientError, commands, explain } from '../../card-client/commands.js';
import { createScriptedIo } from '../../card-client/io.js';
import { openSoftHsmCardReader, type SoftHsmCardReader } from '../../card-station/card/softhsm.js';
import { type CardError, isCardError, type SmartCard } from '../../card-station/card/types.js';
import { closeModules, softhsmConfig } from '../../shared/adapters/pkcs11/module.js';
import { deriveCardAdminKey } from '../../shared/card/unblock.js';
import type { Application } from '../../shared/domain/model.js';
import { setNativeEnv } from '../card-station/softhsm-env.js';
import {
  emulatedCard,
  type Harness,
  type SeededCard,
  seedIssuedCard,
  startHarness,
  uniqueArcNumber,
} from '../holder/harness.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';

let h: Harness;
let reader: SoftHsmCardReader;
let n = 0;

/**
 * A card as the card station leaves it: keys generated on the card, certificates issued by the test CA
 * for those keys and written with the chain, the admin key K_card injected, issuer mode closed, PIN
 * locked until activation; the server records say "mailed".
 */
const mailedCard = async (): Promise<{ card: SmartCard; seeded: SeededCard }> => {
  const cardNumber = `CC${String(70_000_000_000_000 + ++n).padStart(14, '0')}`;
  const card = await reader.initialize(cardNumber);
  const keys = await card.generateKeyPairs('RSA-2048');
  const spki = (k: { spki: Uint8Array }) => Buffer.from(k.spki).toString('base64');
  const seeded = await seedIssuedCard(h, {
    cardNumber,
    keys: {
      signature: { spki: spki(keys.signature), algorithm: 'RSA-2048', keyId: '01' },
      encryption: { spki: spki(keys.encryption), algorithm: 'RSA-2048', keyId: '02' },
    },
  });
  await card.writeCertificates({
    signature: Buffer.from(seeded.signature.der!, 'base64'),
    encryption: Buffer.from(seeded.encryption.der!, 'base64'),
    chain: [h.hierarchy.issuing.certificate, h.hierarchy.root.certificate],
  });
  await card.closePersonalization(await deriveCardAdminKey(h.secrets, cardNumber));
  return { card, seeded };
};

const ctxWith = (answers: string[] = [], api: PortalClient = createPortalClient(h.url)) => {
  const io = createScriptedIo(answers);
  const ctx: ClientContext = { api, reader: async () => reader, io, modulePath: MODULE };
  return { ctx, io };
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

const PIN = 'Pa55w0rd';

const activated = async () => {
  const m = await mailedCard();
  await commands.activate(ctxWith().ctx, { card: m.card.cardNumber, code: m.seeded.code, newPin: PIN });
  return m;
};

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'h7-cards-'));
  setNativeEnv('SOFTHSM2_CONF', await softhsmConfig(dir));
  h = await startHarness();
  reader = await openSoftHsmCardReader({ cardsDir: dir, modulePath: MODULE, clock: h.clock });
});
afterAll(async () => {
  await h.close();
  closeModules();
});

describe('card client (emulated SoftHSM cards, the portal API on the local server)', () => {
  it('info: card number, holder, issuer and validity read from the card; not activated yet', async () => {
    const { card, seeded } = await mailedCard();
    const { ctx, io } = ctxWith();
    const info = await commands.info(ctx, { card: card.cardNumber });
    expect(info).toMatchObject({
      cardNumber: card.cardNumber,
      holder: seeded.application.name,
      issuer: 'Test Issuing CA',
      notBefore: seeded.signature.notBefore,
      notAfter: seeded.signature.notAfter,
      pin: { activated: false },
    });
    expect(io.output.join('\n')).toContain('not activated (run: activate)');
    expect(io.output.join('\n')).toContain(seeded.signature.serialNumber);
  });

  it('activate: asks the code and the new PIN twice, sets the PIN; card and application active online', async () => {
    const { card, seeded } = await mailedCard();
    const { ctx, io } = ctxWith([seeded.code, PIN, PIN]);
    const r = await commands.activate(ctx, { card: card.cardNumber });
    expect(r.repeated).toBe(false);
    expect(io.asked).toEqual(['Subscriber code (用戶代碼):', 'New PIN (6–8 characters):', 'New PIN again:']);
    expect((await card.info()).pin).toEqual({ activated: true, locked: false, retriesLeft: 3 });
    expect(await card.sign('signature', PIN, Buffer.from('x'))).toBeInstanceOf(Uint8Array);
    expect((await h.repo.cards.get(card.cardNumber))?.status).toBe('active');
    expect(((await h.repo.applications.get(seeded.application.id)) as Application).status).toBe('activated');
  });

  it('activate refuses two different PINs and a PIN of the wrong length before any challenge is spent', async () => {
    const { card, seeded } = await mailedCard();
    await expect(
      commands.activate(ctxWith([seeded.code, PIN, 'other123']).ctx, { card: card.cardNumber }),
    ).rejects.toThrow('the two PINs differ');
    await expect(
      commands.activate(ctxWith([seeded.code, '12345']).ctx, { card: card.cardNumber }),
    ).rejects.toBeInstanceOf(ClientError);
    expect((await h.repo.cards.get(card.cardNumber))?.status).toBe('mailed');
  });

  it('a wrong subscriber code: the portal refuses, the card stays locked', async () => {
    const { card } = await mailedCard();
    const e = await commands
      .activate(ctxWith().ctx, { card: card.cardNumber, code: 'WWWWWW7', newPin: PIN })
      .catch((x: unknown) => x);
    expect(explain(e)).toMatch(/the portal refused \(401 \[subscriber_code\.wrong\]\)/);
    expect((await card.info()).pin.activated).toBe(false);
  });

  it('three wrong PINs lock the card; unblock with the subscriber code sets a new PIN', async () => {
    const { card, seeded } = await activated();
    for (const left of [2, 1, 0]) {
      const e = await cardError(card.sign('signature', 'wrong-1', Buffer.from('x')));
      expect(e.code).toBe('CKR_PIN_INCORRECT');
      expect(e.details.retriesLeft).toBe(left);
    }
    expect((await cardError(card.sign('signature', PIN, Buffer.from('x')))).code).toBe('CKR_PIN_LOCKED');
    const { io } = ctxWith();
    const shown = await commands.info({ ...ctxWith().ctx, io }, { card: card.cardNumber });
    expect(shown.pin.locked).toBe(true);
    expect(io.output.join('\n')).toContain('LOCKED (run: unblock)');

    await commands.unblock(ctxWith([seeded.code, 'N3wPin!!', 'N3wPin!!']).ctx, { card: card.cardNumber });
    expect((await card.info()).pin).toEqual({ activated: true, locked: false, retriesLeft: 3 });
    expect(await card.sign('signature', 'N3wPin!!', Buffer.from('x'))).toBeInstanceOf(Uint8Array);
  });

  it('an unblock authorization is refused when replayed, and on another card', async () => {
    const a = await activated();
    const b = await activated();
    const api = createPortalClient(h.url);
    const challenge = await a.card.getChallenge();
    const r = await api.unblockPin(a.card.cardNumber, { subscriberCode: a.seeded.code, challenge });
    // On card B, which shows its own pending challenge: B's admin key makes another MAC.
    await b.card.getChallenge();
    const other = await cardError(b.card.unblock(r.authorization, 'Stolen12'));
    expect(other).toMatchObject({ code: 'unblock_refused', details: { reason: 'wrong_card' } });
    const forged = await cardError(
      b.card.unblock({ ...r.authorization, cardNumber: b.card.cardNumber }, 'Stolen12'),
    );
    expect(forged).toMatchObject({ code: 'unblock_refused' });
    expect(forged.details.reason).toMatch(/bad_mac|no_challenge/);
    // On card A it works once; replayed, the card has no pending challenge any more.
    await a.card.unblock(r.authorization, 'Fresh123');
    const replay = await cardError(a.card.unblock(r.authorization, 'Again123'));
    expect(replay).toMatchObject({ code: 'unblock_refused', details: { reason: 'no_challenge' } });
    // Nor will the portal authorize the same challenge twice.
    await expect(
      api.unblockPin(a.card.cardNumber, { subscriberCode: a.seeded.code, challenge }),
    ).rejects.toMatchObject({
      status: 409,
      rule: 'challenge.used',
    });
    expect(await a.card.sign('signature', 'Fresh123', Buffer.from('x'))).toBeInstanceOf(Uint8Array);
    expect(await b.card.sign('signature', PIN, Buffer.from('x'))).toBeInstanceOf(Uint8Array);
  });

  it('change-pin needs the current PIN', async () => {
    const { card } = await activated();
    await commands.changePin(ctxWith([PIN, 'Chang3d!', 'Chang3d!']).ctx, { card: card.cardNumber });
    expect(await card.sign('signature', 'Chang3d!', Buffer.from('x'))).toBeInstanceOf(Uint8Array);
    const e = await commands
      .changePin(ctxWith().ctx, { card: card.cardNumber, pin: 'wrong-pn', newPin: 'Other123' })
      .catch((x: unknown) => x);
    expect(explain(e)).toContain('CKR_PIN_INCORRECT');
  });

  it('change-code: the card signs the portal nonce; the locked code is replaced and works', async () => {
    const { card, seeded } = await activated();
    for (let i = 0; i < 4; i++) {
      await commands
        .suspend(ctxWith().ctx, { card: card.cardNumber, code: 'WWWWWW7' })
        .catch(() => undefined);
    }
    await expect(
      commands.suspend(ctxWith().ctx, { card: card.cardNumber, code: seeded.code }),
    ).rejects.toMatchObject({
      status: 423,
    });
    const { ctx, io } = ctxWith([PIN, 'NEWC0DE9', 'NEWC0DE9']);
    await commands.changeCode(ctx, { card: card.cardNumber });
    expect(io.asked).toEqual([
      'PIN:',
      'New subscriber code (6–10 letters or digits):',
      'New subscriber code again:',
    ]);
    const s = await commands.suspend(ctxWith().ctx, { card: card.cardNumber, code: 'newc0de9' });
    expect(s).toMatchObject({ status: 'suspended', changed: true });
    const back = await commands.resume(ctxWith(['NEWC0DE9']).ctx, { card: card.cardNumber });
    expect(back.status).toBe('active');
  });

  it('change-code refuses to let the portal make the card sign anything but the code-change message', async () => {
    const { card } = await activated();
    const real = createPortalClient(h.url);
    const evil: PortalClient = {
      ...real,
      codeChallenge: async (cardNumber) => {
        const c = await real.codeChallenge(cardNumber);
        return { ...c, message: 'I owe the bearer NT$1,000,000' };
      },
    };
    await expect(
      commands.changeCode(ctxWith([], evil).ctx, { card: card.cardNumber, pin: PIN, newCode: 'NEWC0DE9' }),
    ).rejects.toThrow('refused');
    expect((await card.info()).pin.retriesLeft).toBe(3); // the PIN was never presented
  });

  it('suspend and resume work with the card number alone (the card may be lost)', async () => {
    const { card, seeded } = await activated();
    const noReader: ClientContext = {
      ...ctxWith().ctx,
      reader: async () => {
        throw new Error('no reader attached');
      },
    };
    const s = await commands.suspend(noReader, { card: card.cardNumber, code: seeded.code });
    expect(s.certificates.map((c) => c.status)).toEqual(['hold', 'hold']);
    const r = await commands.resume(noReader, { card: card.cardNumber, code: seeded.code });
    expect(r.certificates.map((c) => c.status)).toEqual(['good', 'good']);
  });

  it('selftest: module, reader, card, certificates, a sign/verify round trip and the status online', async () => {
    const { card } = await activated();
    const { ctx, io } = ctxWith([PIN]);
    const r = await commands.selftest(ctx, { card: card.cardNumber });
    expect(r.passed).toBe(true);
    expect(r.steps.map((s) => s.step)).toEqual([
      'PKCS#11 module',
      'reader and card',
      'card state',
      'certificates',
      'sign and verify',
      'status online',
    ]);
    expect(r.steps.find((s) => s.step === 'PKCS#11 module')?.detail).toContain('SoftHSM');
    expect(r.steps.find((s) => s.step === 'certificates')?.detail).toContain('chains to the CA on the card');
    expect(io.output.at(-1)).toBe('Self-test passed.');
  });

  it('selftest fails on a card that is not activated, a wrong PIN, and a suspended certificate', async () => {
    const mailed = await mailedCard();
    const notActive = await commands.selftest(ctxWith().ctx, { card: mailed.card.cardNumber });
    expect(notActive.passed).toBe(false);
    expect(notActive.steps.at(-1)).toMatchObject({ step: 'card state', ok: false });

    const { card, seeded } = await activated();
    const wrongPin = await commands.selftest(ctxWith(['wrong-99']).ctx, { card: card.cardNumber });
    expect(wrongPin.steps.at(-1)).toMatchObject({ step: 'sign and verify', ok: false });

    await commands.suspend(ctxWith().ctx, { card: card.cardNumber, code: seeded.code });
    const held = await commands.selftest(ctxWith([PIN]).ctx, { card: card.cardNumber });
    expect(held.passed).toBe(false);
    expect(held.steps.at(-1)).toMatchObject({ step: 'status online', ok: false });
    expect(held.steps.at(-1)?.detail).toContain('hold');

    const offline = await commands.selftest(ctxWith([PIN], createPortalClient('http://127.0.0.1:9')).ctx, {
      card: card.cardNumber,
    });
    expect(offline.passed).toBe(true);
    expect(offline.steps.at(-1)?.detail).toMatch(/^skipped/);
  });

  it('change-email: re-issued online and written to the card with the PIN; info shows the new e-mail', async () => {
    const { card, seeded } = await activated();
    const { ctx, io } = ctxWith([seeded.code, PIN]);
    const r = await commands.changeEmail(ctx, { card: card.cardNumber, email: 'new.mail@example.org' });
    expect(io.asked).toEqual(['Subscriber code (用戶代碼):', 'PIN:']);
    expect(r).toMatchObject({ changed: true, written: true });
    expect(io.output.join('\n')).toContain('新憑證已寫入卡片');
    const onCard = await card.readCertificates();
    expect(onCard.find((o) => o.id === '01')?.der).toEqual(
      new Uint8Array(Buffer.from((await h.repo.certificates.get(r.signature))!.der!, 'base64')),
    );
    expect(onCard.find((o) => o.id === '02')?.der).toEqual(
      new Uint8Array(Buffer.from((await h.repo.certificates.get(r.encryption))!.der!, 'base64')),
    );
    const shown = ctxWith();
    expect((await commands.info(shown.ctx, { card: card.cardNumber })).email).toBe('new.mail@example.org');
    expect(shown.io.output.join('\n')).toContain('new.mail@example.org');
    for (const old of [seeded.signature, seeded.encryption]) {
      expect(await h.repo.certificates.get(old.serialNumber)).toMatchObject({
        status: 'revoked',
        revocationReason: 'superseded',
      });
    }
  });

  it('change-email with a wrong PIN: re-issued online, the card counts the try and keeps its certificates; again writes without re-issuing', async () => {
    const { card, seeded } = await activated();
    const before = await card.readCertificates();
    const e = await commands
      .changeEmail(ctxWith().ctx, {
        card: card.cardNumber,
        email: 'pin@example.org',
        code: seeded.code,
        pin: 'wrong-pn',
      })
      .catch((x: unknown) => x);
    expect(explain(e)).toContain('CKR_PIN_INCORRECT');
    expect((await card.info()).pin.retriesLeft).toBe(2);
    expect(await card.readCertificates()).toEqual(before);
    const issued = await h.repo.cards.get(card.cardNumber);
    expect(issued?.certificateSerials?.signature).not.toBe(seeded.signature.serialNumber);

    const again = await commands.changeEmail(ctxWith().ctx, {
      card: card.cardNumber,
      email: 'pin@example.org',
      code: seeded.code,
      pin: PIN,
    });
    expect(again).toMatchObject({
      changed: false,
      written: true,
      signature: issued?.certificateSerials?.signature,
    });
    expect((await card.info()).pin.retriesLeft).toBe(3);
    expect(await h.repo.certificates.listByCard(card.cardNumber)).toHaveLength(4);
  });

  it('update-certificates: after a change made on the portal, logs in and writes the current pair', async () => {
    const arcNumber = uniqueArcNumber(900 + n);
    const cardNumber = `CC${String(71_000_000_000_000 + ++n).padStart(14, '0')}`;
    const { card, seeded } = await emulatedCard(h, reader, { cardNumber, arcNumber });
    await commands.activate(ctxWith().ctx, { card: cardNumber, code: seeded.code, newPin: PIN });
    // The e-mail changed through the portal (no card in a reader there).
    const changed = await createPortalClient(h.url).changeEmail(cardNumber, {
      subscriberCode: seeded.code,
      email: 'web@example.org',
    });
    expect(changed.changed).toBe(true);
    const r = await commands.updateCertificates(ctxWith().ctx, {
      card: cardNumber,
      arc: arcNumber,
      code: seeded.code,
      pin: PIN,
    });
    expect(r).toMatchObject({ written: true, signature: changed.signature.serialNumber });
    expect((await card.info()).email).toBe('web@example.org');
  });

  it('refuses what a portal sends for another card, or with serials that do not match, before the PIN is asked', async () => {
    const { card, seeded } = await activated();
    const other = await activated();
    const real = createPortalClient(h.url);
    const swapped: PortalClient = {
      ...real,
      changeEmail: async (_n, body) =>
        real.changeEmail(other.card.cardNumber, { ...body, subscriberCode: other.seeded.code }),
    };
    await expect(
      commands.changeEmail(ctxWith([], swapped).ctx, {
        card: card.cardNumber,
        email: 'x@example.org',
        code: seeded.code,
      }),
    ).rejects.toThrow(/answered for card .* refused/);
    const relabelled: PortalClient = {
      ...real,
      changeEmail: async (n, body) => {
        const a = await real.changeEmail(n, body);
        return { ...a, signature: { ...a.signature, serialNumber: a.encryption.serialNumber } };
      },
    };
    await expect(
      commands.changeEmail(ctxWith([], relabelled).ctx, {
        card: card.cardNumber,
        email: 'y@example.org',
        code: seeded.code,
      }),
    ).rejects.toThrow(/does not carry serial/);
    // Certificates for another card's keys: the card refuses them before the PIN is presented.
    const foreign: PortalClient = {
      ...real,
      changeEmail: async (n, body) => {
        const a = await real.changeEmail(n, body);
        const theirs = await real.changeEmail(other.card.cardNumber, {
          subscriberCode: other.seeded.code,
          email: 'z@example.org',
        });
        return { ...a, signature: theirs.signature };
      },
    };
    const e = await commands
      .changeEmail(ctxWith([], foreign).ctx, {
        card: card.cardNumber,
        email: 'z@example.org',
        code: seeded.code,
        pin: 'wrong-pn',
      })
      .catch((x: unknown) => x);
    expect(isCardError(e, 'certificate_mismatch')).toBe(true);
    expect((await card.info()).pin.retriesLeft).toBe(3);
  });

  it('says which card when several are present, and when none is asked for that is absent', async () => {
    await mailedCard();
    await expect(commands.info(ctxWith().ctx, {})).rejects.toThrow(
      /cards are present; say which with --card/,
    );
    const absent = await commands.info(ctxWith().ctx, { card: 'ZZ00000000000000' }).catch((e: unknown) => e);
    expect(isCardError(absent, 'card_absent')).toBe(true);
  });
});
