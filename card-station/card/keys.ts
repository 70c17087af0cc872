import { createPublicKey } from 'node:crypto';
import type { KeyAlgorithm } from '../../shared/domain/model.js';

/** Key material formats between PKCS#11 attributes and X.509 (SPKI, ECDSA signature encodings). */

export const RSA_BITS: Partial<Record<KeyAlgorithm, number>> = {
  'RSA-2048': 2048,
  'RSA-3072': 3072,
  'RSA-4096': 4096,
};

/** CKA_EC_PARAMS: the DER OID of the named curve. */
export const EC_PARAMS: Partial<Record<KeyAlgorithm, string>> = {
  'EC-P256': '06082a8648ce3d030107',
  'EC-P384': '06052b81040022',
};
const EC_JWK_CURVE: Partial<Record<KeyAlgorithm, { crv: string; size: number }>> = {
  'EC-P256': { crv: 'P-256', size: 32 },
  'EC-P384': { crv: 'P-384', size: 48 },
};

export const isRsaAlgorithm = (a: KeyAlgorithm): boolean => a.startsWith('RSA-');

export const rsaSpki = (modulus: Buffer, exponent: Buffer): Uint8Array =>
  new Uint8Array(
    createPublicKey({
      key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') },
      format: 'jwk',
    }).export({ type: 'spki', format: 'der' }),
  );

/** SPKI of an EC public key from its uncompressed point 04|X|Y. */
export const ecSpki = (algorithm: KeyAlgorithm, point: Buffer): Uint8Array => {
  const curve = EC_JWK_CURVE[algorithm];
  if (!curve) throw new Error(`not an EC algorithm: ${algorithm}`);
  if (point[0] !== 0x04 || point.length !== 1 + 2 * curve.size)
    throw new Error('EC point is not uncompressed');
  const x = point.subarray(1, 1 + curve.size).toString('base64url');
  const y = point.subarray(1 + curve.size).toString('base64url');
  return new Uint8Array(
    createPublicKey({ key: { kty: 'EC', crv: curve.crv, x, y }, format: 'jwk' }).export({
      type: 'spki',
      format: 'der',
    }),
  );
};

export const ecAlgorithmOfParams = (params: Buffer): KeyAlgorithm | undefined =>
  (Object.entries(EC_PARAMS) as [KeyAlgorithm, string][]).find(
    ([, hex]) => hex === params.toString('hex'),
  )?.[0];

const derInteger = (raw: Buffer): Buffer => {
  let i = 0;
  while (i < raw.length - 1 && raw[i] === 0) i++;
  let v = raw.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
};

/** Raw r‖s (what CKM_ECDSA returns) to the DER Ecdsa-Sig-Value X.509 and CMS carry. */
export const p1363ToDer = (sig: Buffer): Uint8Array => {
  const half = sig.length / 2;
  const body = Buffer.concat([derInteger(sig.subarray(0, half)), derInteger(sig.subarray(half))]);
  const header =
    body.length < 0x80 ? Buffer.from([0x30, body.length]) : Buffer.from([0x30, 0x81, body.length]);
  return new Uint8Array(Buffer.concat([header, body]));
};
