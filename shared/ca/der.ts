/**
 * A minimal DER writer. Certificates, CRLs and CA certificates are assembled from pre-encoded parts
 * (issuer name, constant extensions) plus the few fields that change per certificate, so the bytes that
 * are hashed, recorded, signed and published are exactly the bytes built here — never a re-encoding.
 * Parsing (requests, keys, tests) uses @peculiar/asn1-schema; only writing lives here.
 */

export type Bytes = Uint8Array;

const lengthBytes = (n: number): number[] => {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
};

export const concat = (parts: readonly Bytes[]): Bytes => {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Tag-length-value with a one-byte tag. */
export const tlv = (tag: number, ...content: Bytes[]): Bytes => {
  const body = content.length === 1 ? content[0]! : concat(content);
  const len = lengthBytes(body.length);
  const out = new Uint8Array(1 + len.length + body.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out;
};

export const seq = (...content: Bytes[]): Bytes => tlv(0x30, ...content);
export const set = (...content: Bytes[]): Bytes => tlv(0x31, ...content);
export const octetString = (b: Bytes): Bytes => tlv(0x04, b);
export const bitString = (b: Bytes, unusedBits = 0): Bytes => tlv(0x03, Uint8Array.of(unusedBits), b);
export const boolTrue: Bytes = Uint8Array.of(0x01, 0x01, 0xff);
export const derNull: Bytes = Uint8Array.of(0x05, 0x00);
/** [n] EXPLICIT, constructed context tag. */
export const explicit = (n: number, ...content: Bytes[]): Bytes => tlv(0xa0 | n, ...content);
/** [n] IMPLICIT primitive context tag (e.g. GeneralName rfc822Name [1], URI [6], keyIdentifier [0]). */
export const implicitPrimitive = (n: number, content: Bytes): Bytes => tlv(0x80 | n, content);
/** [n] IMPLICIT constructed context tag (e.g. DistributionPointName fullName [0]). */
export const implicitConstructed = (n: number, ...content: Bytes[]): Bytes => tlv(0xa0 | n, ...content);

/** A positive INTEGER from big-endian magnitude bytes (adds the 0x00 sign byte when needed). */
export const unsignedInteger = (magnitude: Bytes): Bytes => {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const m = magnitude.subarray(start);
  return m[0]! & 0x80 ? tlv(0x02, Uint8Array.of(0), m) : tlv(0x02, m);
};

export const smallInteger = (n: number): Bytes => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`not a non-negative integer: ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(Uint8Array.from(bytes.length ? bytes : [0]));
};

export const hexToBytes = (hex: string): Bytes => {
  const h = hex.length % 2 ? `0${hex}` : hex;
  if (!/^[0-9a-fA-F]*$/.test(h)) throw new RangeError('not hex');
  return Uint8Array.from(Buffer.from(h, 'hex'));
};

export const bytesToHex = (b: Bytes): string => Buffer.from(b).toString('hex');

const oidCache = new Map<string, Bytes>();

/** OBJECT IDENTIFIER (cached: the same few OIDs are encoded for every certificate). */
export const oid = (dotted: string): Bytes => {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const encoded = encodeOid(dotted);
  if (oidCache.size < 1000) oidCache.set(dotted, encoded);
  return encoded;
};

const encodeOid = (dotted: string): Bytes => {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(a);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const body: number[] = [];
  const push = (v: bigint) => {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (let x = v >> 7n; x > 0n; x >>= 7n) chunk.unshift(Number(x & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Uint8Array.from(body));
};

const textEncoder = new TextEncoder();
export const utf8String = (s: string): Bytes => tlv(0x0c, textEncoder.encode(s));
export const printableString = (s: string): Bytes => {
  if (!isPrintableString(s)) throw new RangeError('not a PrintableString');
  return tlv(0x13, textEncoder.encode(s));
};
/** The bytes of an IA5String value (ASCII), for IMPLICIT-tagged uses such as GeneralName URI / rfc822Name. */
export const ia5Bytes = (s: string): Bytes => {
  // Printable ASCII only: URIs and e-mail addresses never need IA5 control characters.
  if (!/^[ -~]*$/.test(s)) throw new RangeError('not a printable IA5String');
  return textEncoder.encode(s);
};
export const ia5String = (s: string): Bytes => tlv(0x16, ia5Bytes(s));

/** X.680 PrintableString alphabet. */
export const isPrintableString = (s: string): boolean => /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always whole seconds, Z. */
export const time = (d: Date): Bytes => {
  const y = d.getUTCFullYear();
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, textEncoder.encode(`${pad(y % 100)}${rest}`));
  return generalizedTime(d);
};

/** GeneralizedTime without fractional seconds (RFC 5280 §4.1.2.5.2, RFC 6960 responses). */
export const generalizedTime = (d: Date): Bytes =>
  tlv(
    0x18,
    textEncoder.encode(
      `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`,
    ),
  );

export const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/**
 * Reads one TLV header at `offset`: tag, where the content starts and its length. Enough to walk the
 * outer layers of structures we produced (e.g. split a certificate into TBS + rest) without a parser.
 */
export const readTlv = (
  b: Bytes,
  offset = 0,
): { tag: number; offset: number; start: number; length: number; end: number } => {
  const tag = b[offset];
  let lenByte = b[offset + 1];
  if (tag === undefined || lenByte === undefined) throw new RangeError('truncated DER');
  let start = offset + 2;
  let length = lenByte;
  if (lenByte & 0x80) {
    const n = lenByte & 0x7f;
    if (n === 0 || n > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < n; i++) {
      lenByte = b[start + i];
      if (lenByte === undefined) throw new RangeError('truncated DER');
      length = length * 256 + lenByte;
    }
    start += n;
  }
  const end = start + length;
  if (end > b.length) throw new RangeError('truncated DER');
  return { tag, offset, start, length, end };
};

/** ECDSA: IEEE P1363 r‖s (PKCS#11 CKM_ECDSA output) → DER Ecdsa-Sig-Value (X.509, CRL, OCSP). */
export const p1363ToDer = (rs: Bytes): Bytes => {
  if (rs.length === 0 || rs.length % 2) throw new RangeError('bad r||s length');
  const n = rs.length / 2;
  return seq(unsignedInteger(rs.subarray(0, n)), unsignedInteger(rs.subarray(n)));
};

/** ECDSA: DER Ecdsa-Sig-Value → r‖s, each left-padded to `n` bytes (32 for P-256, 48 for P-384). */
export const derToP1363 = (der: Bytes, n: number): Bytes => {
  const outer = readTlv(der);
  if (outer.tag !== 0x30) throw new RangeError('not an ECDSA signature');
  const r = readTlv(der, outer.start);
  const s = readTlv(der, r.end);
  if (r.tag !== 0x02 || s.tag !== 0x02 || s.end !== outer.end) throw new RangeError('not an ECDSA signature');
  const out = new Uint8Array(2 * n);
  const put = (from: number, to: number, at: number) => {
    let v = der.subarray(from, to);
    while (v.length > n && v[0] === 0) v = v.subarray(1);
    if (v.length > n) throw new RangeError('ECDSA integer too long');
    out.set(v, at + n - v.length);
  };
  put(r.start, r.end, 0);
  put(s.start, s.end, n);
  return out;
};
