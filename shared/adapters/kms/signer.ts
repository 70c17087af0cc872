import { createHash } from 'node:crypto';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KeySpec,
  type KMSClient,
  SignCommand,
  type SignCommandOutput,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { inspectPublicKey } from '../../ca/keys.js';
import { DependencyError, InternalError } from '../../errors.js';
import {
  type CaKeyAlgorithm,
  type Signer,
  type SignerKeyRef,
  signatureAlgorithmOf,
} from '../../ports/signer.js';

/**
 * The AWS KMS signer: CA keys are asymmetric SIGN_VERIFY KMS keys that never leave KMS. We hash on the
 * host and call `Sign` with `MessageType: 'DIGEST'` (so a large CRL costs the same as a certificate and
 * the 4 KB message limit never applies). KMS returns PKCS#1 v1.5 signatures for RSA and DER
 * Ecdsa-Sig-Value for ECDSA — both already the form X.509 / CRL / OCSP carry, so no conversion.
 */

const KEY_SPECS: Record<CaKeyAlgorithm, KeySpec> = {
  'RSA-2048': 'RSA_2048',
  'RSA-3072': 'RSA_3072',
  'RSA-4096': 'RSA_4096',
  'EC-P256': 'ECC_NIST_P256',
  'EC-P384': 'ECC_NIST_P384',
};

const SIGNING_ALGORITHMS: Record<CaKeyAlgorithm, SigningAlgorithmSpec> = {
  'RSA-2048': 'RSASSA_PKCS1_V1_5_SHA_256',
  'RSA-3072': 'RSASSA_PKCS1_V1_5_SHA_256',
  'RSA-4096': 'RSASSA_PKCS1_V1_5_SHA_256',
  'EC-P256': 'ECDSA_SHA_256',
  'EC-P384': 'ECDSA_SHA_384',
};

export const kmsKeySpecOf = (a: CaKeyAlgorithm): KeySpec => KEY_SPECS[a];
export const kmsSigningAlgorithmOf = (a: CaKeyAlgorithm): SigningAlgorithmSpec => SIGNING_ALGORITHMS[a];

const kmsKey = (ref: SignerKeyRef): string => {
  if (ref.provider !== 'kms') throw new InternalError(`KMS signer cannot use a ${ref.provider} key`);
  return ref.keyId;
};

const dependency = (what: string, keyId: string, e: unknown): DependencyError =>
  new DependencyError(`KMS ${what} with key ${keyId} failed: ${(e as Error)?.name ?? 'error'}`, { cause: e });

export const createKmsSigner = (client: KMSClient): Signer => {
  // Public keys never change for a KMS key id: fetch once, keep the promise (concurrent callers share it).
  const publicKeys = new Map<string, Promise<Uint8Array>>();

  const publicKey = (ref: SignerKeyRef): Promise<Uint8Array> => {
    const keyId = kmsKey(ref);
    const cacheKey = `${ref.algorithm}|${keyId}`;
    let p = publicKeys.get(cacheKey);
    if (!p) {
      p = (async () => {
        let out: GetPublicKeyCommandOutput;
        try {
          out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
        } catch (e) {
          throw dependency('GetPublicKey', keyId, e);
        }
        if (!out.PublicKey) throw new DependencyError(`KMS GetPublicKey for ${keyId} returned no key`);
        if (out.KeyUsage !== 'SIGN_VERIFY')
          throw new InternalError(`KMS key ${keyId} is not a SIGN_VERIFY key`);
        if (out.KeySpec !== KEY_SPECS[ref.algorithm]) {
          throw new InternalError(`KMS key ${keyId} is ${out.KeySpec}, the reference says ${ref.algorithm}`);
        }
        const spki = Uint8Array.from(out.PublicKey);
        if (inspectPublicKey(spki).algorithm !== ref.algorithm) {
          throw new InternalError(`KMS key ${keyId} public key does not match ${ref.algorithm}`);
        }
        return spki;
      })();
      publicKeys.set(cacheKey, p);
      p.catch(() => publicKeys.delete(cacheKey));
    }
    return p;
  };

  const sign = async (ref: SignerKeyRef, tbs: Uint8Array): Promise<Uint8Array> => {
    const keyId = kmsKey(ref);
    const digest = createHash(signatureAlgorithmOf(ref.algorithm).hash).update(tbs).digest();
    let out: SignCommandOutput;
    try {
      out = await client.send(
        new SignCommand({
          KeyId: keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: SIGNING_ALGORITHMS[ref.algorithm],
        }),
      );
    } catch (e) {
      throw dependency('Sign', keyId, e);
    }
    if (!out.Signature || out.Signature.length === 0)
      throw new DependencyError(`KMS Sign with key ${keyId} returned no signature`);
    return Uint8Array.from(out.Signature);
  };

  return { sign, publicKey };
};
