import { randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import {
  CARD_LAYOUT,
  type CardInfo,
  type CardReader,
  type CertificateSet,
  isCardError,
  PIN_MAX_LENGTH,
  PIN_MIN_LENGTH,
  type SmartCard,
} from '../card-station/card/types.js';
import { listTokens, openModule } from '../shared/adapters/pkcs11/module.js';
import { sha256Hex } from '../shared/card/certificates.js';
import {
  type CardCertificatesResponse,
  type CardStateResponse,
  codeChangeMessage,
} from '../shared/contracts/holder.js';
import { ApiError, type PortalClient } from './api.js';
import type { Io } from './io.js';

/**
 * The holder's card client: what MOICA's card tool and local signing component do for a citizen card
 * (show the card, change and unblock the PIN, self-test), plus the online steps that need the card in
 * the reader (activation, PIN unblock, subscriber code change, writing re-issued certificates).
 *
 * Every card operation goes through the card layer of card-station/card (the SmartCard interface), so
 * the card's own rules hold (3 PIN tries, the challenge-response unblock); every online step goes
 * through the portal API with the subscriber code. Secrets are asked for (no echo) unless given as
 * options; nothing here writes a secret to a file or a log.
 */

export interface ClientContext {
  api: PortalClient;
  /** The card reader, opened on first use (suspension and resumption work without the card). */
  reader: () => Promise<CardReader>;
  io: Io;
  /** PKCS#11 module the self-test loads. */
  modulePath: string;
}

export interface SecretOptions {
  code?: string;
  pin?: string;
  newPin?: string;
  newCode?: string;
}

export class ClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientError';
  }
}

const PIN_RULE = new RegExp(`^[\\x21-\\x7e]{${PIN_MIN_LENGTH},${PIN_MAX_LENGTH}}$`);

/** The one card in the reader, or the one asked for. */
export const selectCard = async (ctx: ClientContext, cardNumber?: string): Promise<SmartCard> => {
  const reader = await ctx.reader();
  if (cardNumber) return reader.open(cardNumber);
  const present = await reader.list();
  if (present.length === 1) return reader.open(present[0]!);
  if (present.length === 0) throw new ClientError('no card in the reader: insert your card (or give --card)');
  throw new ClientError(`${present.length} cards are present; say which with --card (${present.join(', ')})`);
};

/** The card number: from --card, else from the card in the reader. */
const cardNumberOf = async (ctx: ClientContext, cardNumber?: string): Promise<string> =>
  cardNumber ?? (await selectCard(ctx)).cardNumber;

const askCode = async (ctx: ClientContext, given?: string) =>
  given ?? (await ctx.io.ask('Subscriber code (用戶代碼): ', { secret: true }));

const askPin = async (ctx: ClientContext, given?: string, label = 'PIN') =>
  given ?? (await ctx.io.ask(`${label}: `, { secret: true }));

/** A new PIN: 6–8 characters, asked twice when typed. Checked here so no challenge is spent on a typo. */
const askNewPin = async (ctx: ClientContext, given?: string): Promise<string> => {
  const pin =
    given ??
    (await ctx.io.ask(`New PIN (${PIN_MIN_LENGTH}–${PIN_MAX_LENGTH} characters): `, { secret: true }));
  if (!PIN_RULE.test(pin)) {
    throw new ClientError(
      `a PIN has ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} letters, digits or symbols, no spaces`,
    );
  }
  if (given === undefined && (await ctx.io.ask('New PIN again: ', { secret: true })) !== pin) {
    throw new ClientError('the two PINs differ; nothing was changed');
  }
  return pin;
};

const describeState = (ctx: ClientContext, s: CardStateResponse) => {
  ctx.io.print(`Card ${s.cardNumber}: ${s.status}${s.changed ? '' : ' (no change)'}`);
  for (const c of s.certificates) ctx.io.print(`  ${c.profile.padEnd(18)} ${c.serialNumber}  ${c.status}`);
};

const certificateSet = (r: CardCertificatesResponse): CertificateSet => ({
  signature: Buffer.from(r.signature.der, 'base64'),
  encryption: Buffer.from(r.encryption.der, 'base64'),
  chain: r.chain.map((c) => Buffer.from(c, 'base64')),
});

export const commands = {
  /** Card number, issuer, holder, validity and PIN state, read from the card. */
  async info(ctx: ClientContext, o: { card?: string }): Promise<CardInfo> {
    const card = await selectCard(ctx, o.card);
    const info = await card.info();
    ctx.io.print(`Card number   ${info.cardNumber}`);
    ctx.io.print(`Holder        ${info.holder ?? '(no certificate)'}`);
    if (info.email) ctx.io.print(`E-mail        ${info.email}`);
    ctx.io.print(`Issuer        ${info.issuer ?? '(no certificate)'}`);
    if (info.notBefore && info.notAfter) ctx.io.print(`Valid         ${info.notBefore} – ${info.notAfter}`);
    const pin = info.terminated
      ? 'card terminated'
      : !info.pin.activated
        ? 'not activated (run: activate)'
        : info.pin.locked
          ? 'LOCKED (run: unblock)'
          : `set, ${info.pin.retriesLeft} tries left`;
    ctx.io.print(`PIN           ${pin}`);
    for (const c of info.certificates) ctx.io.print(`Certificate   ${c.label.padEnd(10)} ${c.serialNumber}`);
    for (const role of ['signature', 'encryption'] as const) {
      const { keyId } = CARD_LAYOUT[role];
      if (info.certificates.filter((c) => c.id === keyId).length > 1) {
        ctx.io.print(
          `Warning       two ${role} certificates (an interrupted update); run: update-certificates`,
        );
      }
    }
    return info;
  },

  /** First PIN of a mailed card: subscriber code → authorization for the card's challenge → PIN set. */
  async activate(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const card = await selectCard(ctx, o.card);
    const info = await card.info();
    if (info.pin.activated) {
      throw new ClientError(
        `card ${card.cardNumber} already has a PIN; use change-pin, or unblock if you forgot it`,
      );
    }
    const subscriberCode = await askCode(ctx, o.code);
    const pin = await askNewPin(ctx, o.newPin ?? o.pin);
    const challenge = await card.getChallenge();
    const r = await ctx.api.activate(card.cardNumber, { subscriberCode, challenge });
    await card.unblock(r.authorization, pin);
    ctx.io.print(`Card ${card.cardNumber} is activated and its PIN is set. 卡片已開卡，PIN 碼已設定。`);
    return { cardNumber: card.cardNumber, activatedAt: r.activatedAt, repeated: r.repeated };
  },

  /** Forgotten or locked PIN: subscriber code → authorization → new PIN. */
  async unblock(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const card = await selectCard(ctx, o.card);
    const subscriberCode = await askCode(ctx, o.code);
    const pin = await askNewPin(ctx, o.newPin ?? o.pin);
    const challenge = await card.getChallenge();
    const r = await ctx.api.unblockPin(card.cardNumber, { subscriberCode, challenge });
    await card.unblock(r.authorization, pin);
    ctx.io.print(`Card ${card.cardNumber} is unblocked and has a new PIN. 鎖卡已解除，PIN 碼已重設。`);
    return { cardNumber: card.cardNumber };
  },

  /** Offline: the current PIN for a new one (the card counts wrong tries; the third locks it). */
  async changePin(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const card = await selectCard(ctx, o.card);
    const current = await askPin(ctx, o.pin, 'Current PIN');
    const next = await askNewPin(ctx, o.newPin);
    await card.changePin(current, next);
    ctx.io.print(`The PIN of card ${card.cardNumber} is changed.`);
    return { cardNumber: card.cardNumber };
  },

  /**
   * A new subscriber code, proved with the card: the server's nonce is signed by the card's signature
   * key (PIN). The message is checked to be exactly the code-change message for this card, so the
   * server cannot make the card sign anything else.
   */
  async changeCode(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const card = await selectCard(ctx, o.card);
    const pin = await askPin(ctx, o.pin);
    let newCode = o.newCode;
    if (newCode === undefined) {
      newCode = await ctx.io.ask('New subscriber code (6–10 letters or digits): ', { secret: true });
      if ((await ctx.io.ask('New subscriber code again: ', { secret: true })) !== newCode) {
        throw new ClientError('the two codes differ; nothing was changed');
      }
    }
    const c = await ctx.api.codeChallenge(card.cardNumber);
    const expected = codeChangeMessage({ cardNumber: card.cardNumber, nonce: c.nonce });
    if (c.cardNumber !== card.cardNumber || c.message !== expected) {
      throw new ClientError('the portal asked the card to sign something other than a code change; refused');
    }
    const signature = await card.sign('signature', pin, Buffer.from(expected, 'utf8'));
    const r = await ctx.api.changeCode({
      cardNumber: card.cardNumber,
      nonce: c.nonce,
      signature: Buffer.from(signature).toString('base64'),
      newSubscriberCode: newCode,
    });
    ctx.io.print(`The subscriber code is changed (${r.changedAt}). 用戶代碼已修改。`);
    return r;
  },

  /** Lost card: both certificates on hold. Needs only the card number and the subscriber code. */
  async suspend(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const cardNumber = await cardNumberOf(ctx, o.card);
    const r = await ctx.api.suspend(cardNumber, await askCode(ctx, o.code));
    describeState(ctx, r);
    return r;
  },

  async resume(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const cardNumber = await cardNumberOf(ctx, o.card);
    const r = await ctx.api.resume(cardNumber, await askCode(ctx, o.code));
    describeState(ctx, r);
    return r;
  },

  /**
   * A new e-mail in the certificates: re-issued online (both certificates on the card's own keys, the
   * old pair revoked as superseded), then written to the card with the PIN. If the card step fails
   * (wrong PIN, card pulled), the certificates are already re-issued: `update-certificates` (or this
   * command again, which re-issues nothing) writes them.
   */
  async changeEmail(ctx: ClientContext, o: { card?: string; email: string } & SecretOptions) {
    const card = await selectCard(ctx, o.card);
    const subscriberCode = await askCode(ctx, o.code);
    const r = await ctx.api.changeEmail(card.cardNumber, { subscriberCode, email: o.email });
    ctx.io.print(
      r.changed
        ? `Certificates re-issued with ${o.email}; the old ones are revoked (superseded). 憑證已重新簽發。`
        : `The certificates already carry ${o.email}.`,
    );
    const written = await commands.writeIfNewer(ctx, card, r, o.pin);
    return {
      cardNumber: card.cardNumber,
      changed: r.changed,
      superseded: r.superseded,
      signature: r.signature.serialNumber,
      encryption: r.encryption.serialNumber,
      written,
    };
  },

  /** After an e-mail change elsewhere (the portal): fetch the card's current certificates and write them. */
  async updateCertificates(ctx: ClientContext, o: { card?: string; arc?: string } & SecretOptions) {
    const card = await selectCard(ctx, o.card);
    const arc = o.arc ?? (await ctx.io.ask('ARC number (居留證號): '));
    const session = await ctx.api.login(arc, await askCode(ctx, o.code));
    const r = await ctx.api.cardCertificates(card.cardNumber, session.token);
    const written = await commands.writeIfNewer(ctx, card, r, o.pin);
    return {
      cardNumber: card.cardNumber,
      signature: r.signature.serialNumber,
      encryption: r.encryption.serialNumber,
      written,
    };
  },

  /**
   * Writes the portal's current certificates to the card (PIN) unless the card holds exactly these
   * and nothing else for its two keys. The portal's answer is checked first: the card number, and the
   * serial numbers inside the certificates; the card itself refuses certificates for other keys.
   */
  async writeIfNewer(ctx: ClientContext, card: SmartCard, r: CardCertificatesResponse, pin?: string) {
    if (r.cardNumber !== card.cardNumber) {
      throw new ClientError(`the portal answered for card ${r.cardNumber}, not ${card.cardNumber}; refused`);
    }
    const set = certificateSet(r);
    for (const role of ['signature', 'encryption'] as const) {
      const serial = new X509Certificate(Buffer.from(set[role])).serialNumber
        .toLowerCase()
        .replace(/^0+/, '');
      if (serial !== r[role].serialNumber) {
        throw new ClientError(
          `the portal's ${role} certificate does not carry serial ${r[role].serialNumber}; refused`,
        );
      }
    }
    const onCard = await card.readCertificates();
    const holds = (id: string, der: Uint8Array) => {
      const mine = onCard.filter((c) => c.id === id);
      return mine.length === 1 && sha256Hex(mine[0]!.der) === sha256Hex(der);
    };
    if (
      holds(CARD_LAYOUT.signature.keyId, set.signature) &&
      holds(CARD_LAYOUT.encryption.keyId, set.encryption)
    ) {
      ctx.io.print(`Card ${card.cardNumber} already holds these certificates.`);
      return false;
    }
    const done = await card.replaceCertificates(await askPin(ctx, pin), set);
    ctx.io.print(
      done.written.length
        ? `The new certificates are written to card ${card.cardNumber}. 新憑證已寫入卡片。`
        : `Card ${card.cardNumber} is repaired: it keeps the current certificates only.`,
    );
    return true;
  },

  /**
   * The environment check of MOICA's client inspector: the PKCS#11 module loads, a reader has a card,
   * the card is activated and holds its certificates, and a signature made on the card verifies with
   * the signature certificate (which chains to the CA on the card). Then, if the portal answers, the
   * certificate's status online.
   */
  async selftest(ctx: ClientContext, o: { card?: string } & SecretOptions) {
    const steps: { step: string; ok: boolean; detail: string }[] = [];
    const step = async (name: string, fn: () => Promise<string> | string): Promise<boolean> => {
      try {
        const detail = await fn();
        steps.push({ step: name, ok: true, detail });
        ctx.io.print(`[ OK ] ${name}: ${detail}`);
        return true;
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        steps.push({ step: name, ok: false, detail });
        ctx.io.print(`[FAIL] ${name}: ${detail}`);
        return false;
      }
    };
    let card: SmartCard | undefined;
    let info: CardInfo | undefined;
    let signatureCert: X509Certificate | undefined;
    const ok =
      (await step('PKCS#11 module', () => {
        const p = openModule(ctx.modulePath);
        const i = p.C_GetInfo();
        return `${ctx.modulePath} (${i.manufacturerID.trim()} ${i.libraryDescription.trim()} ${i.libraryVersion.major}.${i.libraryVersion.minor}, Cryptoki ${i.cryptokiVersion.major}.${i.cryptokiVersion.minor})`;
      })) &&
      (await step('reader and card', async () => {
        const tokens = listTokens(openModule(ctx.modulePath)).length;
        card = await selectCard(ctx, o.card);
        return `${tokens} slot(s) with a token, card ${card.cardNumber} present`;
      })) &&
      (await step('card state', async () => {
        info = await card!.info();
        if (info.terminated) throw new Error('the card is terminated');
        if (!info.pin.activated) throw new Error('the card is not activated yet (run: activate)');
        if (info.pin.locked) throw new Error('the PIN is locked (run: unblock)');
        return `activated, ${info.pin.retriesLeft} PIN tries left, holder ${info.holder ?? '?'}`;
      })) &&
      (await step('certificates', async () => {
        const objects = await card!.readCertificates();
        const der = (id: string) => objects.find((c) => c.id === id)?.der;
        const sig = der(CARD_LAYOUT.signature.keyId);
        const enc = der(CARD_LAYOUT.encryption.keyId);
        const ca = der(CARD_LAYOUT.caId(0));
        if (!sig || !enc) throw new Error('the card holds no signature or no encryption certificate');
        signatureCert = new X509Certificate(Buffer.from(sig));
        const now = Date.now();
        if (Date.parse(signatureCert.validTo) < now || Date.parse(signatureCert.validFrom) > now) {
          throw new Error(
            `the signature certificate is not within its validity (${signatureCert.validFrom} – ${signatureCert.validTo})`,
          );
        }
        if (ca) {
          const issuer = new X509Certificate(Buffer.from(ca));
          if (!signatureCert.checkIssued(issuer) || !signatureCert.verify(issuer.publicKey)) {
            throw new Error('the signature certificate does not chain to the CA certificate on the card');
          }
        }
        return `signature ${signatureCert.serialNumber.toLowerCase()}, valid to ${signatureCert.validTo}${ca ? ', chains to the CA on the card' : ''}`;
      })) &&
      (await step('sign and verify', async () => {
        const pin = await askPin(ctx, o.pin);
        const data = Buffer.concat([Buffer.from('acdc selftest '), randomBytes(32)]);
        const sig = await card!.sign('signature', pin, data);
        const good = verifySignature(
          'sha256',
          data,
          { key: signatureCert!.publicKey, dsaEncoding: 'der' },
          sig,
        );
        if (!good) throw new Error('the card signature does not verify with its certificate');
        return `${sig.length}-byte signature by the card verifies with the signature certificate`;
      }));
    if (ok) {
      await step('status online', async () => {
        try {
          const r = await ctx.api.certificateStatus(card!.cardNumber);
          const serial = signatureCert!.serialNumber.toLowerCase().replace(/^0+/, '');
          const mine = r.certificates.find((c) => c.serialNumber === serial);
          if (!mine) throw new Error(`the portal does not know certificate ${serial}`);
          if (mine.status !== 'good')
            throw new Error(`the signature certificate is ${mine.status} at the CA`);
          return `good at ${ctx.api.baseUrl}`;
        } catch (e) {
          if (e instanceof ApiError && e.code === 'unreachable') return `skipped (${e.message})`;
          throw e;
        }
      });
    }
    const passed = steps.every((s) => s.ok);
    ctx.io.print(passed ? 'Self-test passed.' : 'Self-test FAILED.');
    return { passed, steps };
  },
};

/** A message for the holder from whatever went wrong (API refusals, card refusals, our own checks). */
export const explain = (e: unknown): string => {
  if (e instanceof ApiError) {
    const rule = e.rule ? ` [${e.rule}]` : '';
    const retry = e.retryAfterSeconds ? ` (try again in ${e.retryAfterSeconds} s)` : '';
    return `the portal refused (${e.status}${rule}): ${e.message}${retry}`;
  }
  if (isCardError(e)) {
    const left = e.details.retriesLeft !== undefined ? ` (${e.details.retriesLeft} tries left)` : '';
    return `the card refused (${e.code}): ${e.message}${left}`;
  }
  if (e instanceof Error) return e.message;
  return String(e);
};
