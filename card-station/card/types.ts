import type { UnblockAuthorization } from '../../shared/card/unblock.js';
import type { KeyAlgorithm } from '../../shared/domain/model.js';

/**
 * The card as the card station and the holder's card tool see it, whatever is behind it: a SoftHSM
 * token with the emulation firmware here (card-station/card/softhsm.ts), a PKCS#11 smart card in
 * production. Everything that logs in to a card goes through this interface, so the rules a real card
 * enforces (PIN retry counter, lock, PIN length, challenge-response unblock, issuer mode closed after
 * personalization) hold whichever implementation runs.
 */

export type KeyRole = 'signature' | 'encryption';

/** Fixed object layout of a card (CKA_ID hex, CKA_LABEL), shared by both implementations and the tests. */
export const CARD_LAYOUT = {
  signature: { keyId: '01', keyLabel: 'sign', certLabel: 'sign-cert' },
  encryption: { keyId: '02', keyLabel: 'enc', certLabel: 'enc-cert' },
  /** CA certificates, issuing CA first: CKA_ID c1, c2, … and labels ca-1, ca-2, … */
  caId: (index: number): string => (0xc1 + index).toString(16),
  caLabel: (index: number): string => `ca-${index + 1}`,
} as const;

export const PIN_MIN_LENGTH = 6;
export const PIN_MAX_LENGTH = 8;
export const PIN_MAX_TRIES = 3;

/**
 * - `issuer`: the bureau's personalization mode (keys, CSRs, certificate objects), authenticated by the
 *   card's internal transport credential; no holder PIN exists yet.
 * - `personalized`: issuer mode is closed for good; the admin key is in; holder operations only.
 */
export type CardPhase = 'issuer' | 'personalized';

export interface PinStatus {
  /** The holder set a PIN (activation done). A card ships locked and not activated. */
  activated: boolean;
  locked: boolean;
  retriesLeft: number;
}

export interface CardPublicKey {
  role: KeyRole;
  keyId: string;
  label: string;
  algorithm: KeyAlgorithm;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
}

export interface CardCertificateObject {
  /** CKA_ID, lower-case hex. */
  id: string;
  label: string;
  der: Uint8Array;
}

/** What the card tool shows: card number, holder, issuer, validity, PIN state. */
export interface CardInfo {
  cardNumber: string;
  phase: CardPhase;
  terminated: boolean;
  pin: PinStatus;
  keys: { role: KeyRole; keyId: string; algorithm: KeyAlgorithm }[];
  holder?: string;
  /** The e-mail in the signature certificate (subjectAltName rfc822Name), if it carries one. */
  email?: string;
  issuer?: string;
  notBefore?: string;
  notAfter?: string;
  certificates: { id: string; label: string; serialNumber: string; sha256: string }[];
  /** Certificate objects whose value does not parse (left by an interrupted write); absent when none. */
  unreadableObjects?: number;
  /** Check value of the injected admin key (see adminKeyCheckValue), once personalized. */
  adminKeyCheck?: string;
}

/** The holder's two certificates, DER. */
export interface HolderCertificates {
  signature: Uint8Array;
  encryption: Uint8Array;
}

export interface CertificateSet extends HolderCertificates {
  /** CA chain, issuing CA first. */
  chain: Uint8Array[];
}

/** What a holder-mode certificate replacement did. */
export interface CertificateReplacement {
  /** Roles whose certificate object was written (empty: the card already held exactly these). */
  written: KeyRole[];
  /** Certificate objects removed: the replaced ones and any left over by an interrupted replacement. */
  removed: number;
}

export interface SmartCard {
  readonly cardNumber: string;

  // Bureau (issuer mode): refused with CardError 'issuer_mode_closed' once personalized.
  /** Generate whichever of the two key pairs is missing (non-extractable, sensitive) and return both. */
  generateKeyPairs(algorithm: KeyAlgorithm): Promise<Record<KeyRole, CardPublicKey>>;
  /** A PKCS#10 request for the key's own public key, signed by that key (proof of possession). */
  createCsr(role: KeyRole): Promise<Uint8Array>;
  /** Write both holder certificates and the CA chain; refuses certificates not matching the card keys. */
  writeCertificates(set: CertificateSet): Promise<void>;
  /** Remove every certificate object (to rewrite a half-written card). Returns how many were removed. */
  wipeCertificates(): Promise<number>;
  /**
   * End personalization: inject the admin key, set the user PIN to a random value that is discarded
   * (the card ships locked), close issuer mode. Idempotent with the same key.
   */
  closePersonalization(adminKey: Uint8Array): Promise<void>;

  // Anyone with the card in hand.
  publicKeys(): Promise<Partial<Record<KeyRole, CardPublicKey>>>;
  readCertificates(): Promise<CardCertificateObject[]>;
  info(): Promise<CardInfo>;

  // Holder.
  /** A fresh single-use unblock challenge (replaces any pending one). */
  getChallenge(): Promise<string>;
  /** Activation / unblock: verify the server's authorization for the pending challenge, set `newPin`. */
  unblock(authorization: UnblockAuthorization, newPin: string): Promise<void>;
  changePin(currentPin: string, newPin: string): Promise<void>;
  /** Sign `data` with the card key (RSA PKCS#1 v1.5 SHA-256; ECDSA DER for EC keys). PIN-protected. */
  sign(role: KeyRole, pin: string, data: Uint8Array): Promise<Uint8Array>;
  /**
   * Replace the two holder certificates of a personalized, activated card with re-issued ones (a new
   * e-mail in the certificates). PIN-protected: wrong PINs count towards the lock. Each certificate must
   * certify the card's own key pair of its role (CardError 'certificate_mismatch' otherwise, checked
   * before the PIN is presented); objects get the personalization's CKA_ID, CKA_LABEL and CKA_SUBJECT.
   * Crash-safe: per role the new object is written first and the old one removed after, so an
   * interruption leaves two certificates for one key id, never none; running it again with the
   * server's current certificates keeps the matching one and removes the rest. The CA chain objects
   * are left as they are.
   */
  replaceCertificates(pin: string, certificates: HolderCertificates): Promise<CertificateReplacement>;
}

export interface CardReader {
  /** Card numbers of the cards present. */
  list(): Promise<string[]>;
  /**
   * Make a blank chip card `cardNumber`: the card's internal secrets and an empty token in issuer mode.
   * Returns the existing card if it is already initialized and still in issuer mode.
   */
  initialize(cardNumber: string): Promise<SmartCard>;
  /** Throws CardError 'card_absent' when no such card is present. */
  open(cardNumber: string): Promise<SmartCard>;
}

export type CardErrorCode =
  | 'CKR_PIN_INCORRECT'
  | 'CKR_PIN_LOCKED'
  | 'CKR_PIN_LEN_RANGE'
  | 'CKR_USER_PIN_NOT_INITIALIZED'
  | 'unblock_refused'
  | 'card_terminated'
  | 'card_absent'
  | 'issuer_mode_closed'
  | 'keys_missing'
  | 'certificate_mismatch';

/** A card refused an operation. `code` follows PKCS#11 return values where one exists. */
export class CardError extends Error {
  constructor(
    readonly code: CardErrorCode,
    message: string,
    readonly details: { retriesLeft?: number; reason?: string } = {},
  ) {
    super(message);
    this.name = 'CardError';
  }
}

export const isCardError = (e: unknown, code?: CardErrorCode): e is CardError =>
  e instanceof CardError && (code === undefined || e.code === code);
