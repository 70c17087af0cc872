/**
 * Symmetric secrets held by KMS (AWS) or a local key file / SoftHSM (local). Callers never see a key:
 * they ask for a MAC or for sealing, by the key's purpose.
 *
 * - `subscriber-pepper`: peppers subscriber-code hashes (a stolen table alone cannot be brute-forced).
 * - `lookup`: keyed hashes used as index keys (ARC number, e-mail), so no raw identifier is a key.
 * - `card-master`: diversifies each card's unblock secret (per-card key = MAC(card-master, cardNumber)).
 * - `session`: reserved for signing short-lived holder tokens if a stateless form is ever needed.
 */
export type SecretKeyPurpose = 'subscriber-pepper' | 'lookup' | 'card-master' | 'session';

export interface SecretKeys {
  /** HMAC-SHA256 under the key for `purpose`. */
  mac(purpose: SecretKeyPurpose, data: Uint8Array): Promise<Uint8Array>;
  /** Identifier of the key currently used for `purpose` (stored next to what it protects). */
  keyId(purpose: SecretKeyPurpose): string;
  /** Authenticated encryption of a small secret (the initial subscriber code until activation). */
  seal(plaintext: Uint8Array, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<Uint8Array>;
}
