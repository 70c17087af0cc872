import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { KeyAlgorithm } from '../domain/model.js';
import { type CaKeyAlgorithm, signatureAlgorithmOf } from '../ports/signer.js';
import { bitString, derNull, oid, readTlv, seq, unsignedInteger } from './der.js';

/** Public-key facts the profiles check, read from a SubjectPublicKeyInfo. */
export interface PublicKeyInfo {
  /** Our name for the key type, or undefined for anything outside the policy (e.g. RSA-1024, P-521). */
  algorithm: KeyAlgorithm | undefined;
  kind: 'rsa' | 'ec' | 'other';
  /** RSA modulus length or EC field size, in bits. */
  bits: number;
  /** RSA public exponent. */
  publicExponent?: bigint;
  namedCurve?: string;
  /** The subjectPublicKey BIT STRING contents (without the unused-bits byte): what key ids hash. */
  keyBits: Uint8Array;
  /** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
  keyIdentifier: Uint8Array;
  keyObject: KeyObject;
}

const CURVES: Record<string, { algorithm: KeyAlgorithm; bits: number }> = {
  prime256v1: { algorithm: 'EC-P256', bits: 256 },
  secp384r1: { algorithm: 'EC-P384', bits: 384 },
};

/** The subjectPublicKey BIT STRING contents of an SPKI (walks the DER; no re-encoding). */
export const spkiKeyBits = (spki: Uint8Array): Uint8Array => {
  const outer = readTlv(spki);
  if (outer.tag !== 0x30 || outer.end !== spki.length) throw new RangeError('not a SubjectPublicKeyInfo');
  const alg = readTlv(spki, outer.start);
  const bits = readTlv(spki, alg.end);
  if (alg.tag !== 0x30 || bits.tag !== 0x03 || bits.end !== outer.end || spki[bits.start] !== 0) {
    throw new RangeError('not a SubjectPublicKeyInfo');
  }
  return spki.subarray(bits.start + 1, bits.end);
};

export const sha1 = (b: Uint8Array): Uint8Array => createHash('sha1').update(b).digest();

/**
 * Parses and validates an SPKI (Node/OpenSSL does the key parsing, including the EC point-on-curve check)
 * and insists on canonical DER: the key re-exported must equal the input byte for byte.
 * Throws RangeError when the bytes are not a usable public key.
 */
export const inspectPublicKey = (spki: Uint8Array): PublicKeyInfo => {
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({
      key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength),
      format: 'der',
      type: 'spki',
    });
  } catch (e) {
    throw new RangeError(`not a public key: ${(e as Error).message}`);
  }
  const canonical = keyObject.export({ type: 'spki', format: 'der' });
  if (!canonical.equals(spki)) throw new RangeError('public key is not in canonical DER form');
  const keyBits = spkiKeyBits(spki);
  const keyIdentifier = sha1(keyBits);
  const details = keyObject.asymmetricKeyDetails ?? {};
  if (keyObject.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    const algorithm =
      bits === 2048 || bits === 3072 || bits === 4096 ? (`RSA-${bits}` as KeyAlgorithm) : undefined;
    return {
      algorithm,
      kind: 'rsa',
      bits,
      publicExponent: details.publicExponent,
      keyBits,
      keyIdentifier,
      keyObject,
    };
  }
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = CURVES[details.namedCurve ?? ''];
    return {
      algorithm: curve?.algorithm,
      kind: 'ec',
      bits: curve?.bits ?? 0,
      namedCurve: details.namedCurve,
      keyBits,
      keyIdentifier,
      keyObject,
    };
  }
  return { algorithm: undefined, kind: 'other', bits: 0, keyBits, keyIdentifier, keyObject };
};

/** SPKI for an RSA public key from its modulus and exponent (PKCS#11 CKA_MODULUS / CKA_PUBLIC_EXPONENT). */
export const rsaSpki = (modulus: Uint8Array, exponent: Uint8Array): Uint8Array =>
  seq(
    seq(oid('1.2.840.113549.1.1.1'), derNull),
    bitString(seq(unsignedInteger(modulus), unsignedInteger(exponent))),
  );

const CURVE_OIDS: Record<string, string> = {
  '06082a8648ce3d030107': '1.2.840.10045.3.1.7',
  '06052b81040022': '1.3.132.0.34',
};

/** SPKI for an EC public key from CKA_EC_PARAMS (the curve OID, DER) and the uncompressed point 04|X|Y. */
export const ecSpki = (ecParams: Uint8Array, point: Uint8Array): Uint8Array => {
  const curve = CURVE_OIDS[Buffer.from(ecParams).toString('hex')];
  if (!curve) throw new RangeError('unsupported EC curve');
  return seq(seq(oid('1.2.840.10045.2.1'), oid(curve)), bitString(point));
};

/** CKA_EC_PARAMS (DER OID) for the curves CA keys may use. */
export const EC_PARAMS: Record<'EC-P256' | 'EC-P384', Uint8Array> = {
  'EC-P256': Uint8Array.from(Buffer.from('06082a8648ce3d030107', 'hex')),
  'EC-P384': Uint8Array.from(Buffer.from('06052b81040022', 'hex')),
};

export const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const verifyKeys = new Map<string, KeyObject>();

/**
 * Checks a signature the way a relying party will (X.509 form: PKCS#1 v1.5, or DER ECDSA). Run after
 * every HSM/KMS signature: a faulty signature (e.g. an RSA-CRT fault) is never published.
 */
export const verifySignature = (
  spki: Uint8Array,
  algorithm: CaKeyAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): boolean => {
  const id = Buffer.from(spki).toString('base64');
  let key = verifyKeys.get(id);
  if (!key) {
    key = createPublicKey({ key: toBuffer(spki), format: 'der', type: 'spki' });
    if (verifyKeys.size > 64) verifyKeys.clear();
    verifyKeys.set(id, key);
  }
  const hash = signatureAlgorithmOf(algorithm).hash;
  return verify(hash, data, algorithm.startsWith('EC-') ? { key, dsaEncoding: 'der' } : key, signature);
};
