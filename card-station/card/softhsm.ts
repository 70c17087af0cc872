import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import {
  closeModules,
  ecPointFromAttribute,
  findObjects,
  findSlotByLabel,
  type Handle,
  isPkcs11Error,
  listTokens,
  openModule,
  openSession,
  type PKCS11,
  pkcs11js,
  softhsmConfig,
  type Template,
  useSoftHsmConfig,
} from '../../shared/adapters/pkcs11/module.js';
import { sha256Hex, summarizeCertificate } from '../../shared/card/certificates.js';
import { buildCsr, keyAlgorithmOfSpki, signatureSchemeOf } from '../../shared/card/csr.js';
import { isCardNumber } from '../../shared/card/numbers.js';
import {
  adminKeyCheckValue,
  newUnblockChallenge,
  type UnblockAuthorization,
  verifyUnblockAuthorization,
} from '../../shared/card/unblock.js';
import type { KeyAlgorithm } from '../../shared/domain/model.js';
import { type Clock, systemClock } from '../../shared/ports/clock.js';
import { ADMIN_MAX_FAILURES, type FirmwareState, FirmwareStore, internalSecret } from './firmware.js';
import {
  EC_PARAMS,
  ecAlgorithmOfParams,
  ecSpki,
  isRsaAlgorithm,
  p1363ToDer,
  RSA_BITS,
  rsaSpki,
} from './keys.js';
import {
  CARD_LAYOUT,
  type CardCertificateObject,
  CardError,
  type CardInfo,
  type CardPublicKey,
  type CardReader,
  type CertificateReplacement,
  type CertificateSet,
  type HolderCertificates,
  type KeyRole,
  PIN_MAX_LENGTH,
  PIN_MAX_TRIES,
  PIN_MIN_LENGTH,
  type SmartCard,
} from './types.js';

/**
 * Cards emulated on SoftHSM: one token per card (label = card number) in the card station's own token
 * folder, plus the emulation firmware (this file) that enforces what a real card enforces and SoftHSM
 * does not: the PIN retry counter and lock, PIN length, the challenge-response unblock, and the
 * bureau's issuer mode that closes for good at the end of personalization. The firmware's protected
 * memory is the per-card state file of firmware.ts.
 *
 * Process model: SoftHSM reads the token list at C_Initialize and caches a token's PINs per process, as
 * a card is in one reader at a time. A card is used by one process at a time; the reader rescans the
 * folder (re-initializes the module) when asked for a card it does not see yet.
 */

const MODULE_DEFAULT = '/usr/lib/softhsm/libsofthsm2.so';
const ROLES: KeyRole[] = ['signature', 'encryption'];
const PIN_PATTERN = new RegExp(`^[\\x21-\\x7e]{${PIN_MIN_LENGTH},${PIN_MAX_LENGTH}}$`);

export interface SoftHsmCardReaderOptions {
  /** The card station's card folder: softhsm2.conf, tokens/ and firmware/ live here. */
  cardsDir: string;
  modulePath?: string;
  clock?: Clock;
}

/**
 * Open the card folder: writes its softhsm2.conf if missing and points this process's SOFTHSM2_CONF at
 * it (SoftHSM reads it once, at the first C_Initialize of the process).
 */
export const openSoftHsmCardReader = async (opts: SoftHsmCardReaderOptions): Promise<SoftHsmCardReader> => {
  useSoftHsmConfig(await softhsmConfig(opts.cardsDir));
  return new SoftHsmCardReader(opts);
};

type Login = { kind: 'none' } | { kind: 'transport' } | { kind: 'so' } | { kind: 'user'; pin: string };

/** The rfc822Name in a certificate's subjectAltName (the holder's e-mail), if any. */
const emailOf = (der: Uint8Array): string | undefined => {
  try {
    return new X509Certificate(Buffer.from(der)).subjectAltName
      ?.split(', ')
      .find((name) => name.startsWith('email:'))
      ?.slice('email:'.length);
  } catch {
    return undefined;
  }
};

const hex = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('hex');
const idBuf = (id: string): Buffer => Buffer.from(id, 'hex');

export class SoftHsmCardReader implements CardReader {
  readonly firmware: FirmwareStore;
  readonly modulePath: string;
  readonly clock: Clock;
  private readonly locks = new Map<string, Promise<unknown>>();
  private inFlight = 0;

  constructor(opts: SoftHsmCardReaderOptions) {
    this.modulePath = opts.modulePath ?? MODULE_DEFAULT;
    this.clock = opts.clock ?? systemClock;
    this.firmware = new FirmwareStore(join(opts.cardsDir, 'firmware'));
  }

  get module(): PKCS11 {
    return openModule(this.modulePath);
  }

  async list(): Promise<string[]> {
    this.refreshIfIdle();
    return listTokens(this.module)
      .map((t) => t.label)
      .filter(isCardNumber)
      .sort();
  }

  async initialize(cardNumber: string): Promise<SmartCard> {
    if (!isCardNumber(cardNumber)) throw new Error(`not a card number: ${cardNumber}`);
    return this.exclusive(cardNumber, async () => {
      let state = this.firmware.read(cardNumber);
      if (state?.phase === 'personalized') {
        throw new CardError('issuer_mode_closed', `card ${cardNumber} is already personalized`);
      }
      // Secrets first, token second: after a crash in between, the token is made again with the same
      // secrets; a token whose secrets were never written cannot exist.
      if (!state) {
        if (this.slotOf(cardNumber) !== undefined) {
          throw new Error(
            `a token labelled ${cardNumber} exists without card firmware state; remove it first`,
          );
        }
        state = {
          format: 1,
          cardNumber,
          phase: 'issuer',
          soPin: internalSecret(),
          transportPin: internalSecret(),
          pin: { failures: 0, locked: false, activated: false },
          adminFailures: 0,
          terminated: false,
          createdAt: this.clock.now().toISOString(),
        };
        this.firmware.write(state);
      }
      if (this.slotOf(cardNumber) === undefined) {
        const p = this.module;
        const free = p
          .C_GetSlotList(false)
          .find((s) => (p.C_GetTokenInfo(s).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0);
        if (free === undefined) throw new Error('no free PKCS#11 slot for a new card');
        p.C_InitToken(free, state.soPin, cardNumber.padEnd(32, ' '));
        const slot = findSlotByLabel(p, cardNumber);
        if (slot === undefined) throw new Error(`card ${cardNumber} not found after initialization`);
        const s = openSession(p, slot);
        try {
          p.C_Login(s, pkcs11js.CKU_SO, state.soPin);
          p.C_InitPIN(s, state.transportPin!);
          p.C_Logout(s);
        } finally {
          p.C_CloseSession(s);
        }
      }
      return new SoftHsmCard(this, cardNumber);
    });
  }

  async open(cardNumber: string): Promise<SmartCard> {
    if (!this.firmware.read(cardNumber) || this.slotOf(cardNumber) === undefined) {
      throw new CardError('card_absent', `card ${cardNumber} is not in the reader`);
    }
    return new SoftHsmCard(this, cardNumber);
  }

  /** The token's slot; rescans once (when idle) if the token was made by another process. */
  slotOf(cardNumber: string): Handle | undefined {
    const slot = findSlotByLabel(this.module, cardNumber);
    if (slot !== undefined) return slot;
    if (!this.refreshIfIdle()) return undefined;
    return findSlotByLabel(this.module, cardNumber);
  }

  private refreshIfIdle(): boolean {
    if (this.inFlight > 0) return false;
    closeModules();
    return true;
  }

  /** Run `fn` with the card to itself (one command at a time, as on a card in one reader). */
  async exclusive<T>(cardNumber: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(cardNumber) ?? Promise.resolve();
    const run = previous.then(
      () => fn(),
      () => fn(),
    );
    const tail = run.catch(() => undefined);
    this.locks.set(cardNumber, tail);
    this.inFlight++;
    try {
      return await run;
    } finally {
      this.inFlight--;
      if (this.locks.get(cardNumber) === tail) this.locks.delete(cardNumber);
    }
  }

  /** Open a session on the card, log in as asked, run `fn`, log out and close whatever happens. */
  async session<T>(
    cardNumber: string,
    login: Login,
    fn: (p: PKCS11, s: Handle) => Promise<T> | T,
  ): Promise<T> {
    const p = this.module;
    const slot = findSlotByLabel(p, cardNumber);
    if (slot === undefined) throw new CardError('card_absent', `card ${cardNumber} is not in the reader`);
    const s = openSession(p, slot);
    let loggedIn = false;
    try {
      if (login.kind !== 'none') {
        const state = this.firmware.read(cardNumber)!;
        const [userType, pin] =
          login.kind === 'so'
            ? [pkcs11js.CKU_SO, state.soPin]
            : login.kind === 'transport'
              ? [pkcs11js.CKU_USER, state.transportPin]
              : [pkcs11js.CKU_USER, login.pin];
        if (pin === undefined)
          throw new CardError('issuer_mode_closed', `card ${cardNumber} left issuer mode`);
        try {
          p.C_Login(s, userType, pin);
        } catch (e) {
          // A session left logged in by an interrupted command: start clean.
          if (!isPkcs11Error(e, 'CKR_USER_ALREADY_LOGGED_IN')) throw e;
          p.C_Logout(s);
          p.C_Login(s, userType, pin);
        }
        loggedIn = true;
      }
      return await fn(p, s);
    } finally {
      if (loggedIn) {
        try {
          p.C_Logout(s);
        } catch {
          // session already gone
        }
      }
      p.C_CloseSession(s);
    }
  }
}

class SoftHsmCard implements SmartCard {
  constructor(
    private readonly reader: SoftHsmCardReader,
    readonly cardNumber: string,
  ) {}

  private get fw(): FirmwareStore {
    return this.reader.firmware;
  }

  private state(): FirmwareState {
    const state = this.fw.read(this.cardNumber);
    if (!state) throw new CardError('card_absent', `card ${this.cardNumber} is not in the reader`);
    if (state.terminated) throw new CardError('card_terminated', `card ${this.cardNumber} is terminated`);
    return state;
  }

  private issuerState(): FirmwareState {
    const state = this.state();
    if (state.phase !== 'issuer') {
      throw new CardError(
        'issuer_mode_closed',
        `card ${this.cardNumber} is personalized; issuer mode is closed`,
      );
    }
    return state;
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.reader.exclusive(this.cardNumber, fn);
  }

  // ------------------------------------------------------------------------------------------------
  // Objects

  private findKeyHandle(p: PKCS11, s: Handle, cls: number, role: KeyRole): Handle | undefined {
    return findObjects(p, s, [
      { type: pkcs11js.CKA_CLASS, value: cls },
      { type: pkcs11js.CKA_ID, value: idBuf(CARD_LAYOUT[role].keyId) },
    ])[0];
  }

  private publicKeyOf(p: PKCS11, s: Handle, role: KeyRole): CardPublicKey | undefined {
    const handle = this.findKeyHandle(p, s, pkcs11js.CKO_PUBLIC_KEY, role);
    if (!handle) return undefined;
    const [type] = p.C_GetAttributeValue(s, handle, [{ type: pkcs11js.CKA_KEY_TYPE }]);
    const keyType = (type!.value as Buffer).readUInt32LE(0); // CK_ULONG, little-endian on this host
    let spki: Uint8Array;
    if (keyType === pkcs11js.CKK_RSA) {
      const [n, e] = p.C_GetAttributeValue(s, handle, [
        { type: pkcs11js.CKA_MODULUS },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT },
      ]);
      spki = rsaSpki(n!.value as Buffer, e!.value as Buffer);
    } else {
      const [params, point] = p.C_GetAttributeValue(s, handle, [
        { type: pkcs11js.CKA_EC_PARAMS },
        { type: pkcs11js.CKA_EC_POINT },
      ]);
      const curve = ecAlgorithmOfParams(params!.value as Buffer);
      if (!curve) throw new Error(`card ${this.cardNumber} holds a key on an unsupported curve`);
      spki = ecSpki(curve, ecPointFromAttribute(point!.value as Buffer));
    }
    const algorithm = keyAlgorithmOfSpki(spki);
    if (!algorithm) throw new Error(`card ${this.cardNumber} holds an unsupported key`);
    return { role, keyId: CARD_LAYOUT[role].keyId, label: CARD_LAYOUT[role].keyLabel, algorithm, spki };
  }

  private certificatesOn(p: PKCS11, s: Handle): CardCertificateObject[] {
    return this.certificateObjects(p, s).map(({ handle: _h, ...o }) => o);
  }

  private certificateObjects(p: PKCS11, s: Handle): (CardCertificateObject & { handle: Handle })[] {
    return findObjects(p, s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }]).map((h) => {
      const [id, label, value] = p.C_GetAttributeValue(s, h, [
        { type: pkcs11js.CKA_ID },
        { type: pkcs11js.CKA_LABEL },
        { type: pkcs11js.CKA_VALUE },
      ]);
      return {
        handle: h,
        id: hex(id!.value as Buffer),
        label: (label!.value as Buffer).toString('utf8'),
        der: new Uint8Array(value!.value as Buffer),
      };
    });
  }

  /** A certificate object as personalization writes it (holder certificates: category 1, CA: 2). */
  private createCertificateObject(
    p: PKCS11,
    s: Handle,
    o: { der: Uint8Array; id: string; label: string; category: number },
  ): Handle {
    const summary = summarizeCertificate(o.der);
    return p.C_CreateObject(s, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: false },
      { type: pkcs11js.CKA_ID, value: idBuf(o.id) },
      { type: pkcs11js.CKA_LABEL, value: o.label },
      // SoftHSM requires CKA_SUBJECT on certificates; issuer and serial let tools match them.
      { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(summary.subjectDer) },
      { type: pkcs11js.CKA_ISSUER, value: Buffer.from(summary.issuerDer) },
      { type: pkcs11js.CKA_SERIAL_NUMBER, value: Buffer.from(summary.serialDer) },
      { type: pkcs11js.CKA_CERTIFICATE_CATEGORY, value: o.category },
      { type: pkcs11js.CKA_VALUE, value: Buffer.from(o.der) },
    ]);
  }

  /**
   * Each holder certificate parsed and checked against the card's key pair of its role (public
   * objects: no login). Throws CardError 'certificate_mismatch' with reason `<role>_key` or
   * `<role>_unreadable`.
   */
  private checkHolderCertificates(p: PKCS11, s: Handle, certs: HolderCertificates): void {
    for (const role of ROLES) {
      const pub = this.publicKeyOf(p, s, role);
      if (!pub) throw new CardError('keys_missing', `card ${this.cardNumber} has no ${role} key pair`);
      let spki: Uint8Array;
      try {
        spki = summarizeCertificate(certs[role]).spki;
      } catch {
        throw new CardError('certificate_mismatch', `the ${role} certificate is not an X.509 certificate`, {
          reason: `${role}_unreadable`,
        });
      }
      if (!Buffer.from(spki).equals(Buffer.from(pub.spki))) {
        throw new CardError(
          'certificate_mismatch',
          `the ${role} certificate is not for this card's ${role} key`,
          { reason: `${role}_key` },
        );
      }
    }
  }

  private signWith(
    p: PKCS11,
    s: Handle,
    key: Handle,
    algorithm: KeyAlgorithm,
    data: Uint8Array,
  ): Promise<Uint8Array> {
    const scheme = signatureSchemeOf(algorithm);
    if (scheme.kind === 'rsa') {
      p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
      return p.C_SignAsync(s, Buffer.from(data), Buffer.alloc(1024)).then((sig) => new Uint8Array(sig));
    }
    // SoftHSM (and many cards) only have raw CKM_ECDSA: hash on the host, DER-encode r‖s.
    const digest = createHash(scheme.hash).update(data).digest();
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key);
    return p.C_SignAsync(s, digest, Buffer.alloc(132)).then((sig) => p1363ToDer(sig));
  }

  // ------------------------------------------------------------------------------------------------
  // Issuer mode

  generateKeyPairs(algorithm: KeyAlgorithm): Promise<Record<KeyRole, CardPublicKey>> {
    return this.run(async () => {
      const state = this.issuerState();
      if (state.keyAlgorithm && state.keyAlgorithm !== algorithm) {
        throw new CardError(
          'keys_missing',
          `card ${this.cardNumber} was started with ${state.keyAlgorithm} keys`,
        );
      }
      if (!state.keyAlgorithm) this.fw.write({ ...state, keyAlgorithm: algorithm });
      return this.reader.session(this.cardNumber, { kind: 'transport' }, async (p, s) => {
        const out = {} as Record<KeyRole, CardPublicKey>;
        for (const role of ROLES) {
          const priv = this.findKeyHandle(p, s, pkcs11js.CKO_PRIVATE_KEY, role);
          const pub = this.findKeyHandle(p, s, pkcs11js.CKO_PUBLIC_KEY, role);
          if (!priv || !pub) {
            // Half a key pair (a generation interrupted): nothing was certified yet, start this pair over.
            if (priv) p.C_DestroyObject(s, priv);
            if (pub) p.C_DestroyObject(s, pub);
            await this.generatePair(p, s, role, algorithm);
          }
          out[role] = this.publicKeyOf(p, s, role)!;
        }
        return out;
      });
    });
  }

  private async generatePair(p: PKCS11, s: Handle, role: KeyRole, algorithm: KeyAlgorithm): Promise<void> {
    const layout = CARD_LAYOUT[role];
    const enc = role === 'encryption';
    const rsa = isRsaAlgorithm(algorithm);
    const common: Template = [
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_ID, value: idBuf(layout.keyId) },
      { type: pkcs11js.CKA_LABEL, value: layout.keyLabel },
    ];
    const publicTemplate: Template = [
      ...common,
      { type: pkcs11js.CKA_PRIVATE, value: false },
      { type: pkcs11js.CKA_VERIFY, value: true },
      ...(rsa
        ? [
            { type: pkcs11js.CKA_ENCRYPT, value: enc },
            { type: pkcs11js.CKA_WRAP, value: enc },
            { type: pkcs11js.CKA_MODULUS_BITS, value: RSA_BITS[algorithm]! },
            { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
          ]
        : [{ type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from(EC_PARAMS[algorithm]!, 'hex') }]),
    ];
    const privateTemplate: Template = [
      ...common,
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      // The encryption key signs only its own certification request (proof of possession).
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_DECRYPT, value: enc && rsa },
      { type: pkcs11js.CKA_UNWRAP, value: enc && rsa },
      { type: pkcs11js.CKA_DERIVE, value: enc && !rsa },
    ];
    await p.C_GenerateKeyPairAsync(
      s,
      { mechanism: rsa ? pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN : pkcs11js.CKM_EC_KEY_PAIR_GEN },
      publicTemplate,
      privateTemplate,
    );
  }

  createCsr(role: KeyRole): Promise<Uint8Array> {
    return this.run(async () => {
      this.issuerState();
      return this.reader.session(this.cardNumber, { kind: 'transport' }, async (p, s) => {
        const pub = this.publicKeyOf(p, s, role);
        const priv = this.findKeyHandle(p, s, pkcs11js.CKO_PRIVATE_KEY, role);
        if (!pub || !priv)
          throw new CardError('keys_missing', `card ${this.cardNumber} has no ${role} key pair`);
        return buildCsr({
          commonName: this.cardNumber,
          spki: pub.spki,
          algorithm: pub.algorithm,
          sign: (tbs) => this.signWith(p, s, priv, pub.algorithm, tbs),
        });
      });
    });
  }

  writeCertificates(set: CertificateSet): Promise<void> {
    return this.run(async () => {
      this.issuerState();
      await this.reader.session(this.cardNumber, { kind: 'transport' }, async (p, s) => {
        if (this.certificatesOn(p, s).length > 0) {
          throw new CardError('certificate_mismatch', `card ${this.cardNumber} already holds certificates`, {
            reason: 'certificates_present',
          });
        }
        this.checkHolderCertificates(p, s, set);
        const objects = ROLES.map(
          (role): { der: Uint8Array; id: string; label: string; category: number } => ({
            der: set[role],
            id: CARD_LAYOUT[role].keyId,
            label: CARD_LAYOUT[role].certLabel,
            category: 1,
          }),
        );
        set.chain.forEach((der, i) => {
          objects.push({ der, id: CARD_LAYOUT.caId(i), label: CARD_LAYOUT.caLabel(i), category: 2 });
        });
        for (const o of objects) this.createCertificateObject(p, s, o);
      });
    });
  }

  wipeCertificates(): Promise<number> {
    return this.run(async () => {
      this.issuerState();
      return this.reader.session(this.cardNumber, { kind: 'transport' }, (p, s) => {
        const handles = findObjects(p, s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE }]);
        for (const h of handles) p.C_DestroyObject(s, h);
        return handles.length;
      });
    });
  }

  closePersonalization(adminKey: Uint8Array): Promise<void> {
    return this.run(async () => {
      const state = this.state();
      const key = Buffer.from(adminKey).toString('base64');
      if (state.phase === 'personalized') {
        if (state.adminKey !== key) {
          throw new CardError(
            'issuer_mode_closed',
            `card ${this.cardNumber} was personalized with another admin key`,
          );
        }
        await this.scrubTransportPin();
        return;
      }
      await this.reader.session(this.cardNumber, { kind: 'transport' }, (p, s) => {
        const certs = this.certificatesOn(p, s);
        for (const role of ROLES) {
          const pub = this.publicKeyOf(p, s, role);
          if (!pub || !this.findKeyHandle(p, s, pkcs11js.CKO_PRIVATE_KEY, role)) {
            throw new CardError('keys_missing', `card ${this.cardNumber} has no ${role} key pair`);
          }
          const cert = certs.find(
            (c) => c.id === CARD_LAYOUT[role].keyId && c.label === CARD_LAYOUT[role].certLabel,
          );
          if (!cert || !Buffer.from(summarizeCertificate(cert.der).spki).equals(Buffer.from(pub.spki))) {
            throw new CardError(
              'certificate_mismatch',
              `card ${this.cardNumber} has no ${role} certificate for its key`,
            );
          }
        }
      });
      // Commit point: from here on the card is the holder's. The transport PIN is scrubbed next; if
      // that is interrupted it is finished on the next command (it can no longer be used anyway: the
      // firmware only logs in with it in issuer mode).
      this.fw.write({
        ...state,
        phase: 'personalized',
        adminKey: key,
        pin: { failures: 0, locked: true, activated: false },
        challenge: undefined,
        adminFailures: 0,
        personalizedAt: this.reader.clock.now().toISOString(),
      });
      await this.scrubTransportPin();
    });
  }

  /** Set the user PIN to a random value nobody keeps, and forget the transport PIN. */
  private async scrubTransportPin(): Promise<void> {
    const state = this.fw.read(this.cardNumber)!;
    if (state.phase !== 'personalized' || state.transportPin === undefined) return;
    await this.reader.session(this.cardNumber, { kind: 'so' }, (p, s) => p.C_InitPIN(s, internalSecret()));
    const { transportPin: _discarded, ...rest } = state;
    this.fw.write(rest);
  }

  // ------------------------------------------------------------------------------------------------
  // Reading

  publicKeys(): Promise<Partial<Record<KeyRole, CardPublicKey>>> {
    return this.run(async () =>
      this.reader.session(this.cardNumber, { kind: 'none' }, (p, s) => {
        const out: Partial<Record<KeyRole, CardPublicKey>> = {};
        for (const role of ROLES) {
          const k = this.publicKeyOf(p, s, role);
          if (k) out[role] = k;
        }
        return out;
      }),
    );
  }

  readCertificates(): Promise<CardCertificateObject[]> {
    return this.run(async () =>
      this.reader.session(this.cardNumber, { kind: 'none' }, (p, s) => this.certificatesOn(p, s)),
    );
  }

  info(): Promise<CardInfo> {
    return this.run(async () => {
      await this.scrubTransportPin();
      const state = this.fw.read(this.cardNumber);
      if (!state) throw new CardError('card_absent', `card ${this.cardNumber} is not in the reader`);
      return this.reader.session(this.cardNumber, { kind: 'none' }, (p, s) => {
        const keys = ROLES.flatMap((role) => {
          const k = this.publicKeyOf(p, s, role);
          return k ? [{ role, keyId: k.keyId, algorithm: k.algorithm }] : [];
        });
        // An object that does not parse is not a certificate: a station killed inside C_CreateObject
        // leaves one with SoftHSM's defaults (no label, no value). Personalization sees it as unexpected
        // and wipes the card; info lists what parses and counts the rest.
        let unreadableObjects = 0;
        const certificates = this.certificatesOn(p, s).flatMap((c) => {
          let summary: ReturnType<typeof summarizeCertificate>;
          try {
            summary = summarizeCertificate(c.der);
          } catch {
            unreadableObjects++;
            return [];
          }
          return [
            {
              id: c.id,
              label: c.label,
              serialNumber: summary.serialNumber,
              sha256: summary.sha256,
              summary,
              der: c.der,
            },
          ];
        });
        // Two for one key id only after an interrupted replacement: show the newer until it is repaired.
        const newest = certificates
          .filter((c) => c.id === CARD_LAYOUT.signature.keyId)
          .sort((a, b) => b.summary.notBefore.localeCompare(a.summary.notBefore))[0];
        const sign = newest?.summary;
        const info: CardInfo = {
          cardNumber: this.cardNumber,
          phase: state.phase,
          terminated: state.terminated,
          pin: {
            activated: state.pin.activated,
            locked: state.pin.locked,
            retriesLeft: state.pin.locked ? 0 : PIN_MAX_TRIES - state.pin.failures,
          },
          keys,
          certificates: certificates.map(({ summary: _s, der: _d, ...c }) => c),
          ...(unreadableObjects ? { unreadableObjects } : {}),
        };
        if (sign) {
          if (sign.subjectCommonName !== undefined) info.holder = sign.subjectCommonName;
          if (sign.issuerCommonName !== undefined) info.issuer = sign.issuerCommonName;
          info.notBefore = sign.notBefore;
          info.notAfter = sign.notAfter;
          const email = emailOf(newest.der);
          if (email) info.email = email;
        }
        if (state.adminKey) info.adminKeyCheck = adminKeyCheckValue(Buffer.from(state.adminKey, 'base64'));
        return info;
      });
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Holder

  private holderState(): FirmwareState {
    const state = this.state();
    if (state.phase !== 'personalized') {
      throw new CardError('CKR_USER_PIN_NOT_INITIALIZED', `card ${this.cardNumber} is not personalized yet`);
    }
    return state;
  }

  private checkNewPin(pin: string): void {
    if (typeof pin !== 'string' || !PIN_PATTERN.test(pin)) {
      throw new CardError(
        'CKR_PIN_LEN_RANGE',
        `a PIN has ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} characters (letters, digits or symbols, no spaces)`,
      );
    }
  }

  /**
   * Verify the holder's PIN and run `fn` logged in. The try is counted before the token checks the PIN
   * and given back only on success; the third wrong PIN locks the card.
   */
  private async withUserPin<T>(pin: string, fn: (p: PKCS11, s: Handle) => Promise<T> | T): Promise<T> {
    let state = this.holderState();
    if (state.pin.locked) {
      throw new CardError(
        'CKR_PIN_LOCKED',
        state.pin.activated ? 'the PIN is locked: unblock the card online' : 'the card is not activated yet',
        { retriesLeft: 0 },
      );
    }
    // A PIN of the wrong shape can never be right; refusing it without spending a try is what cards do.
    if (typeof pin !== 'string' || !PIN_PATTERN.test(pin)) {
      throw new CardError('CKR_PIN_LEN_RANGE', `a PIN has ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} characters`);
    }
    state = { ...state, pin: { ...state.pin, failures: state.pin.failures + 1 } };
    this.fw.write(state);
    try {
      return await this.reader.session(this.cardNumber, { kind: 'user', pin }, async (p, s) => {
        const ok = this.fw.read(this.cardNumber)!;
        this.fw.write({ ...ok, pin: { ...ok.pin, failures: 0 } });
        return fn(p, s);
      });
    } catch (e) {
      if (isPkcs11Error(e, 'CKR_PIN_INCORRECT')) {
        const failures = state.pin.failures;
        const locked = failures >= PIN_MAX_TRIES;
        this.fw.write({ ...state, pin: { ...state.pin, locked } });
        throw new CardError('CKR_PIN_INCORRECT', locked ? 'wrong PIN; the PIN is now locked' : 'wrong PIN', {
          retriesLeft: Math.max(0, PIN_MAX_TRIES - failures),
        });
      }
      throw e;
    }
  }

  getChallenge(): Promise<string> {
    return this.run(async () => {
      const state = this.holderState();
      const challenge = newUnblockChallenge();
      this.fw.write({ ...state, challenge });
      return challenge;
    });
  }

  unblock(authorization: UnblockAuthorization, newPin: string): Promise<void> {
    return this.run(async () => {
      await this.scrubTransportPin();
      const state = this.holderState();
      this.checkNewPin(newPin);
      // One attempt per challenge: clear it before looking at the authorization, so a replay of this
      // authorization (or a guess) meets no pending challenge.
      const pending = state.challenge;
      const after: FirmwareState = { ...state, challenge: undefined };
      this.fw.write(after);
      const verdict = state.adminKey
        ? verifyUnblockAuthorization({
            adminKey: Buffer.from(state.adminKey, 'base64'),
            cardNumber: this.cardNumber,
            pendingChallenge: pending,
            auth: authorization,
            now: this.reader.clock.now(),
          })
        : 'no_challenge';
      if (verdict !== 'ok') {
        const adminFailures = after.adminFailures + 1;
        this.fw.write({ ...after, adminFailures, terminated: adminFailures >= ADMIN_MAX_FAILURES });
        throw new CardError('unblock_refused', `the card refused the unblock authorization (${verdict})`, {
          reason: verdict,
        });
      }
      await this.reader.session(this.cardNumber, { kind: 'so' }, (p, s) => p.C_InitPIN(s, newPin));
      const now = this.reader.clock.now().toISOString();
      this.fw.write({
        ...after,
        adminFailures: 0,
        pin: { failures: 0, locked: false, activated: true },
        activatedAt: after.activatedAt ?? now,
      });
    });
  }

  changePin(currentPin: string, newPin: string): Promise<void> {
    return this.run(async () => {
      this.checkNewPin(newPin);
      await this.withUserPin(currentPin, (p, s) => p.C_SetPIN(s, currentPin, newPin));
    });
  }

  sign(role: KeyRole, pin: string, data: Uint8Array): Promise<Uint8Array> {
    return this.run(async () =>
      this.withUserPin(pin, async (p, s) => {
        const priv = this.findKeyHandle(p, s, pkcs11js.CKO_PRIVATE_KEY, role);
        const pub = this.publicKeyOf(p, s, role);
        if (!priv || !pub) throw new CardError('keys_missing', `card ${this.cardNumber} has no ${role} key`);
        return this.signWith(p, s, priv, pub.algorithm, data);
      }),
    );
  }

  replaceCertificates(pin: string, certificates: HolderCertificates): Promise<CertificateReplacement> {
    return this.run(async () => {
      this.holderState();
      // Certificates that cannot go on this card are refused before the PIN is presented (no try spent).
      await this.reader.session(this.cardNumber, { kind: 'none' }, (p, s) =>
        this.checkHolderCertificates(p, s, certificates),
      );
      return this.withUserPin(pin, (p, s) => {
        this.checkHolderCertificates(p, s, certificates);
        const out: CertificateReplacement = { written: [], removed: 0 };
        for (const role of ROLES) {
          const layout = CARD_LAYOUT[role];
          const wanted = sha256Hex(certificates[role]);
          const present = this.certificateObjects(p, s).filter((o) => o.id === layout.keyId);
          // Keep one object holding exactly the wanted certificate under the personalization's label;
          // write it first if there is none, then remove every other object for this key id (the
          // replaced certificate, or what an interrupted replacement left behind).
          const keep = present.find((o) => o.label === layout.certLabel && sha256Hex(o.der) === wanted);
          if (!keep) {
            this.createCertificateObject(p, s, {
              der: certificates[role],
              id: layout.keyId,
              label: layout.certLabel,
              category: 1,
            });
            out.written.push(role);
          }
          for (const o of present) {
            if (o === keep) continue;
            p.C_DestroyObject(s, o.handle);
            out.removed++;
          }
        }
        return out;
      });
    });
  }
}
