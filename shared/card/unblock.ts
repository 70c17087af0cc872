import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SecretKeys } from '../ports/secrets.js';

/**
 * The card's PIN unblock protocol, shared by the server (which authorizes) and the card firmware (which
 * verifies). Activation (setting the first PIN of a card shipped locked) is the same protocol.
 *
 *  1. Every card has its own admin key K_card = HMAC-SHA256(card-master key, "card-admin|" + cardNumber).
 *     The server derives it on demand through SecretKeys (never stored); personalization injects it into
 *     the card, where it never leaves.
 *  2. The card issues a random 16-byte challenge, kept as the single pending challenge.
 *  3. The server, once the holder proved who they are (subscriber code), answers with an authorization
 *     { cardNumber, challenge, expiresAt, mac = HMAC-SHA256(K_card, "unblock|" + challenge + "|" + expiresAt) }.
 *  4. The card checks the MAC in constant time against its pending challenge, clears the challenge (one
 *     attempt per challenge, so a replay fails), checks the expiry, then lets exactly one new PIN be set.
 *
 * An authorization for another card fails because its MAC was made under another card's K_card.
 */

export const UNBLOCK_CHALLENGE_BYTES = 16;
const HEX_CHALLENGE = /^[0-9a-f]{32}$/;
const HEX_MAC = /^[0-9a-f]{64}$/;

/** What the server answers and the card verifies (same shape as the holder contract's UnblockAuthorization). */
export interface UnblockAuthorization {
  cardNumber: string;
  /** The card's pending challenge, 32 lower-case hex digits. */
  challenge: string;
  /** ISO-8601 instant after which the card refuses the authorization. */
  expiresAt: string;
  /** HMAC-SHA256 under K_card over `unblockMessage(challenge, expiresAt)`, lower-case hex. */
  mac: string;
}

/** The data the card-master key MACs to give one card's admin key. */
export const cardAdminKeyMessage = (cardNumber: string): Uint8Array =>
  new TextEncoder().encode(`card-admin|${cardNumber}`);

/** K_card for `cardNumber`, computed by the server (card-master key in KMS / local key file). */
export const deriveCardAdminKey = async (
  secrets: Pick<SecretKeys, 'mac'>,
  cardNumber: string,
): Promise<Uint8Array> => secrets.mac('card-master', cardAdminKeyMessage(cardNumber));

/** A fresh single-use challenge, as the card issues it. */
export const newUnblockChallenge = (): string => randomBytes(UNBLOCK_CHALLENGE_BYTES).toString('hex');

export const unblockMessage = (challenge: string, expiresAt: string): string =>
  `unblock|${challenge}|${expiresAt}`;

export const unblockMac = (adminKey: Uint8Array, challenge: string, expiresAt: string): string =>
  createHmac('sha256', adminKey).update(unblockMessage(challenge, expiresAt), 'utf8').digest('hex');

/** The server side: authorize one PIN change on `cardNumber` for the challenge the card showed. */
export const createUnblockAuthorization = (opts: {
  adminKey: Uint8Array;
  cardNumber: string;
  challenge: string;
  expiresAt: Date;
}): UnblockAuthorization => {
  if (!HEX_CHALLENGE.test(opts.challenge)) throw new Error('challenge must be 32 lower-case hex digits');
  const expiresAt = opts.expiresAt.toISOString();
  return {
    cardNumber: opts.cardNumber,
    challenge: opts.challenge,
    expiresAt,
    mac: unblockMac(opts.adminKey, opts.challenge, expiresAt),
  };
};

export type UnblockVerdict = 'ok' | 'no_challenge' | 'wrong_card' | 'bad_mac' | 'expired';

/**
 * The card side: is `auth` a valid authorization for this card's pending challenge at `now`?
 * The caller clears the pending challenge BEFORE acting on the verdict, whatever it is.
 * The MAC is compared in constant time; the expiry is checked only after the MAC, so nothing about an
 * unauthenticated message changes the answer.
 */
export const verifyUnblockAuthorization = (opts: {
  adminKey: Uint8Array;
  cardNumber: string;
  pendingChallenge: string | undefined;
  auth: UnblockAuthorization;
  now: Date;
}): UnblockVerdict => {
  const { auth } = opts;
  if (!opts.pendingChallenge) return 'no_challenge';
  if (auth.cardNumber !== opts.cardNumber) return 'wrong_card';
  if (typeof auth.mac !== 'string' || !HEX_MAC.test(auth.mac)) return 'bad_mac';
  // MAC over the card's own pending challenge: an authorization issued for another challenge (an old
  // one, replayed) cannot match.
  const expected = Buffer.from(unblockMac(opts.adminKey, opts.pendingChallenge, auth.expiresAt), 'hex');
  const given = Buffer.from(auth.mac, 'hex');
  if (!timingSafeEqual(expected, given)) return 'bad_mac';
  const expiry = Date.parse(auth.expiresAt);
  if (Number.isNaN(expiry) || expiry <= opts.now.getTime()) return 'expired';
  return 'ok';
};

/**
 * Key check value of an admin key: the first 8 bytes of HMAC(K_card, "kcv"), hex. The card station
 * reports it after personalization so that the server can check the card holds the right K_card without
 * the key itself travelling back.
 */
export const adminKeyCheckValue = (adminKey: Uint8Array): string =>
  createHmac('sha256', adminKey).update('kcv', 'utf8').digest().subarray(0, 8).toString('hex');
