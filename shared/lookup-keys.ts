import type { SecretKeys } from './ports/secrets.js';

/**
 * Keyed hashes used as index keys, so that no raw ARC number or e-mail address is ever a database key.
 * HMAC-SHA256 under the `lookup` key (KMS in AWS), hex. Every writer and every reader of an index uses
 * these two functions: the counter (arcKey), the CA and the public query (emailKey).
 */
const hmacHex = async (secrets: SecretKeys, data: string): Promise<string> =>
  Buffer.from(await secrets.mac('lookup', new TextEncoder().encode(data))).toString('hex');

export const arcKeyOf = (secrets: SecretKeys, arcNumber: string): Promise<string> =>
  hmacHex(secrets, `arc|${arcNumber}`);

/** E-mail addresses are compared lower-cased, as the CA writes them into certificates. */
export const emailKeyOf = (secrets: SecretKeys, email: string): Promise<string> =>
  hmacHex(secrets, `email|${email.toLowerCase()}`);
