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
}

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

const ALG_RSA = '300d06092a864886f70d0101010500'; // rsaEncryption, NULL parameters (RFC 3279)
const EC_ALGORITHMS: Record<
  string,
  { algorithm: KeyAlgorithm; namedCurve: string; bits: number; p: bigint; b: bigint }
> = {
  // id-ecPublicKey + prime256v1 / secp384r1, named curves only (RFC 5480 §2.1.1)
  '301306072a8648ce3d020106082a8648ce3d030107': {
    algorithm: 'EC-P256',
    namedCurve: 'prime256v1',
    bits: 256,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  '301006072a8648ce3d020106052b81040022': {
    algorithm: 'EC-P384',
    namedCurve: 'secp384r1',
    bits: 384,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
};

const toBigInt = (b: Uint8Array): bigint => (b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n);

/** A DER INTEGER that is positive and minimally encoded; returns its magnitude. */
const positiveInteger = (b: Uint8Array, t: { tag: number; start: number; end: number }): Uint8Array => {
  const v = b.subarray(t.start, t.end);
  if (
    t.tag !== 0x02 ||
    v.length === 0 ||
    (v[0]! & 0x80) !== 0 ||
    (v[0] === 0 && v.length > 1 && (v[1]! & 0x80) === 0)
  ) {
    throw new RangeError('not a minimal positive INTEGER');
  }
  return v[0] === 0 ? v.subarray(1) : v;
};

const modPow = (base: bigint, exp: bigint, m: bigint): bigint => {
  let r = 1n;
  let x = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * x) % m;
    x = (x * x) % m;
  }
  return r;
};

/**
 * Reads and validates an SPKI with a strict DER walk (no general parser; this runs for every card key on
 * the issuance path): one SPKI spanning the input, an exact algorithm identifier, a BIT STRING without
 * unused bits; RSA: minimal positive modulus and exponent; EC: an uncompressed point on the named curve.
 * Keys of any other algorithm come back with `algorithm: undefined` for the profile to refuse.
 * Throws RangeError when the bytes are not a well-formed public key.
 */
export const inspectPublicKey = (spki: Uint8Array): PublicKeyInfo => {
  const outer = readTlv(spki);
  if (outer.tag !== 0x30 || outer.end !== spki.length) throw new RangeError('not a SubjectPublicKeyInfo');
  const alg = readTlv(spki, outer.start);
  const bitsTlv = readTlv(spki, alg.end);
  if (alg.tag !== 0x30 || bitsTlv.tag !== 0x03 || bitsTlv.end !== outer.end || spki[bitsTlv.start] !== 0) {
    throw new RangeError('not a SubjectPublicKeyInfo');
  }
  const keyBits = spki.subarray(bitsTlv.start + 1, bitsTlv.end);
  const keyIdentifier = sha1(keyBits);
  const algHex = Buffer.from(spki.subarray(alg.offset, alg.end)).toString('hex');
  if (algHex === ALG_RSA) {
    const seqT = readTlv(keyBits);
    if (seqT.tag !== 0x30 || seqT.end !== keyBits.length) throw new RangeError('not an RSA public key');
    const nT = readTlv(keyBits, seqT.start);
    const eT = readTlv(keyBits, nT.end);
    if (eT.end !== seqT.end) throw new RangeError('not an RSA public key');
    const n = positiveInteger(keyBits, nT);
    const e = positiveInteger(keyBits, eT);
    const bits = n.length * 8 - Math.clz32(n[0]!) + 24;
    if ((n[n.length - 1]! & 1) === 0) throw new RangeError('RSA modulus is even');
    const algorithm =
      bits === 2048 || bits === 3072 || bits === 4096 ? (`RSA-${bits}` as KeyAlgorithm) : undefined;
    return { algorithm, kind: 'rsa', bits, publicExponent: toBigInt(e), keyBits, keyIdentifier };
  }
  const curve = EC_ALGORITHMS[algHex];
  if (curve) {
    const size = curve.bits / 8;
    if (keyBits.length !== 1 + 2 * size || keyBits[0] !== 0x04)
      throw new RangeError('EC point is not uncompressed');
    const x = toBigInt(keyBits.subarray(1, 1 + size));
    const y = toBigInt(keyBits.subarray(1 + size));
    const { p, b } = curve;
    // y² = x³ − 3x + b (mod p): the point is on the curve (P-256 / P-384 have cofactor 1).
    if (x >= p || y >= p || (y * y - (modPow(x, 3n, p) - 3n * x + b)) % p !== 0n)
      throw new RangeError('EC point is not on the curve');
    return {
      algorithm: curve.algorithm,
      kind: 'ec',
      bits: curve.bits,
      namedCurve: curve.namedCurve,
      keyBits,
      keyIdentifier,
    };
  }
  return { algorithm: undefined, kind: 'other', bits: 0, keyBits, keyIdentifier };
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
