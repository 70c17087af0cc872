import { randomBytes } from 'node:crypto';

/** Source of random bytes; injectable so tests can force a serial-number collision. */
export type RandomSource = (size: number) => Uint8Array;

// randomBytes is a synchronous call into OpenSSL's RAND; drawing 4 KiB at a time and slicing costs a
// fraction per serial. The bytes are the same CSPRNG output either way.
let pool = Buffer.alloc(0);
let poolAt = 0;
export const systemRandom: RandomSource = (size) => {
  if (size > 256) return randomBytes(size);
  if (poolAt + size > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + size);
  poolAt += size;
  return out;
};

/**
 * A certificate serial number: 16 random bytes with the top two bits fixed to 01, i.e. 126 random bits
 * (CA/B Forum BR §7.1 asks ≥ 64). The value is positive, its DER INTEGER needs no 0x00 sign byte and is
 * always 16 octets (≤ 20, RFC 5280 §4.1.2.2), and its lower-case hex is always 32 digits with no leading
 * zero — one canonical spelling, used as the CertificateStore key.
 */
export const newSerialNumber = (random: RandomSource = systemRandom): string => {
  const b = Uint8Array.from(random(16));
  if (b.length !== 16) throw new RangeError('random source returned the wrong size');
  b[0] = (b[0]! & 0x3f) | 0x40;
  return Buffer.from(b).toString('hex');
};
