import { DecryptCommand, EncryptCommand, GenerateMacCommand, type KMSClient } from '@aws-sdk/client-kms';
import { type AppError, DependencyError, InternalError, isAppError } from '../../errors.js';
import type { SecretKeyPurpose, SecretKeys } from '../../ports/secrets.js';

/**
 * SecretKeys on AWS KMS. Each purpose has its own HMAC_256 key (KeyUsage GENERATE_VERIFY_MAC), so the
 * pepper, the lookup key and the card master key can be granted and audited separately; the key never
 * leaves KMS. Sealing uses a SYMMETRIC_DEFAULT key with the caller's context as EncryptionContext, which
 * KMS binds to the ciphertext and records in CloudTrail.
 *
 * Errors: anything KMS or the network does wrong is a DependencyError (retryable); a ciphertext that
 * does not open under its context (altered, or opened for the wrong application) is an InternalError,
 * because retrying cannot help.
 */

export interface KmsSecretKeysOptions {
  client: KMSClient;
  /** HMAC_256 KMS key (key ARN preferred; id or alias work) for each purpose in use. */
  macKeys: Partial<Record<SecretKeyPurpose, string>>;
  /** SYMMETRIC_DEFAULT KMS key for seal/open. */
  sealKey: string;
}

const SEALED_PREFIX = 'kms$';

/** Errors that mean "this ciphertext will never open here", as opposed to "KMS is not answering". */
const NOT_OPENABLE = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

const mapKmsError = (operation: string, keyId: string, e: unknown): AppError => {
  if (isAppError(e)) return e;
  const name = (e as { name?: unknown } | undefined)?.name;
  const kind = typeof name === 'string' ? name : 'error';
  if (NOT_OPENABLE.has(kind)) {
    return new InternalError(
      `KMS ${operation} with key ${keyId}: sealed value could not be opened (${kind})`,
      {
        cause: e,
      },
    );
  }
  return new DependencyError(`KMS ${operation} with key ${keyId} failed: ${kind}`, { cause: e });
};

export class KmsSecretKeys implements SecretKeys {
  constructor(private readonly opts: KmsSecretKeysOptions) {}

  private macKey(purpose: SecretKeyPurpose): string {
    const key = this.opts.macKeys[purpose];
    if (!key) throw new InternalError(`no KMS key is configured for the ${String(purpose)} purpose`);
    return key;
  }

  keyId(purpose: SecretKeyPurpose): string {
    return this.macKey(purpose);
  }

  async mac(purpose: SecretKeyPurpose, data: Uint8Array): Promise<Uint8Array> {
    const KeyId = this.macKey(purpose);
    let mac: Uint8Array | undefined;
    try {
      const out = await this.opts.client.send(
        new GenerateMacCommand({ KeyId, Message: data, MacAlgorithm: 'HMAC_SHA_256' }),
      );
      mac = out.Mac;
    } catch (e) {
      throw mapKmsError('GenerateMac', KeyId, e);
    }
    if (mac?.length !== 32) throw new DependencyError(`KMS GenerateMac with key ${KeyId} returned no MAC`);
    return new Uint8Array(mac);
  }

  /** `kms$<base64 ciphertext blob>`; the blob names its key, the context is bound by KMS. */
  async seal(plaintext: Uint8Array, context: string): Promise<string> {
    const KeyId = this.opts.sealKey;
    let blob: Uint8Array | undefined;
    try {
      const out = await this.opts.client.send(
        new EncryptCommand({ KeyId, Plaintext: plaintext, EncryptionContext: { context } }),
      );
      blob = out.CiphertextBlob;
    } catch (e) {
      throw mapKmsError('Encrypt', KeyId, e);
    }
    if (!blob || blob.length === 0)
      throw new DependencyError(`KMS Encrypt with key ${KeyId} returned nothing`);
    return `${SEALED_PREFIX}${Buffer.from(blob).toString('base64')}`;
  }

  async open(sealed: string, context: string): Promise<Uint8Array> {
    const KeyId = this.opts.sealKey;
    if (
      typeof sealed !== 'string' ||
      !sealed.startsWith(SEALED_PREFIX) ||
      sealed.length === SEALED_PREFIX.length
    ) {
      throw new InternalError('sealed value is not a KMS ciphertext');
    }
    let plaintext: Uint8Array | undefined;
    try {
      const out = await this.opts.client.send(
        new DecryptCommand({
          // Naming the key makes KMS refuse a ciphertext from any other key instead of using it.
          KeyId,
          CiphertextBlob: Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64'),
          EncryptionContext: { context },
        }),
      );
      plaintext = out.Plaintext;
    } catch (e) {
      throw mapKmsError('Decrypt', KeyId, e);
    }
    if (!plaintext) throw new DependencyError(`KMS Decrypt with key ${KeyId} returned nothing`);
    return new Uint8Array(plaintext);
  }
}

export const createKmsSecretKeys = (opts: KmsSecretKeysOptions): SecretKeys => new KmsSecretKeys(opts);
