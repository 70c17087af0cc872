/**
 * Defence in depth for logs and audit details: whatever a developer passes, secrets and full ARC numbers
 * do not come out. Keys that name a secret are replaced; ARC-shaped substrings are masked to their last
 * four characters.
 */
const SECRET_KEY =
  /(subscriber.?code|^code$|newcode|currentcode|pin$|^pin|puk|password|secret|token|authorization|cookie|arc.?number|private.?key|so.?pin|checkmac|hash.?key|hash.?iv|credential|sealed|unblock.?secret|adminkey|pepper)/i;

/** New format (letter, 8/9, + 8 digits) and old format (two letters, second A–D, + 8 digits): 10 characters. */
const ARC_LIKE = /\b([A-Z])([89]\d|[A-D]\d)(\d{7})(?=\b)/g;

export const maskArcLike = (s: string): string =>
  s.replace(ARC_LIKE, (_m, _a, _b, rest: string) => `******${rest.slice(-4)}`);

export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key);

export const redactValue = (key: string, value: unknown): unknown => {
  if (key && isSecretKey(key) && value !== undefined && value !== null && typeof value !== 'object')
    return '[REDACTED]';
  if (key && isSecretKey(key) && value !== null && typeof value === 'object') return '[REDACTED]';
  if (typeof value === 'string') return maskArcLike(value);
  return value;
};

/** Deep copy of `value` with secrets removed; safe for logs and audit details. */
export const redact = <T>(value: T): T => {
  const walk = (k: string, v: unknown): unknown => {
    const r = redactValue(k, v);
    if (r !== v) return r;
    if (Array.isArray(v)) return v.map((x) => walk('', x));
    if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
    if (v && typeof v === 'object') {
      if (v instanceof Error) return { name: v.name, message: maskArcLike(v.message) };
      return Object.fromEntries(Object.entries(v).map(([kk, vv]) => [kk, walk(kk, vv)]));
    }
    return v;
  };
  return walk('', value) as T;
};
