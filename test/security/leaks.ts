import { createHash, createPrivateKey } from 'node:crypto';

/**
 * Looking for secrets where they must never be: every log line, stored item and mail of a run is one
 * text; each secret is looked for in every form it could take there (as typed, any letter case, with
 * separators in between, base64 / base64url / hex of its bytes), and every long base64 or hex run is
 * tried as a private key (PKCS#8, PKCS#1, SEC1) so that keys we do not know (a card's) are caught too.
 */

export interface Secret {
  kind: string;
  /** A string secret (code, PIN, ARC number, token) or raw key bytes. */
  value: string | Uint8Array;
}

export interface Text {
  /** Where it comes from: `log #12`, `item applications/A…`, `mail 2026…eml`. */
  source: string;
  text: string;
}

export interface Finding {
  kind: string;
  source: string;
  form: string;
  /** Some context around the hit, with the secret itself masked. */
  around: string;
}

/** base64 of the value at each of the three alignments, minus the characters that depend on neighbours. */
const base64Forms = (bytes: Buffer): string[] => {
  const forms: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const b64 = Buffer.concat([Buffer.alloc(pad), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    // Drop the characters mixing pad bytes in, and the last (partial) one.
    const start = Math.ceil((pad * 4) / 3);
    const core = b64.slice(start, b64.length - 2);
    if (core.length >= 8) forms.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
};

const formsOf = (s: Secret): { form: string; needle: string }[] => {
  const bytes = typeof s.value === 'string' ? Buffer.from(s.value, 'utf8') : Buffer.from(s.value);
  const out: { form: string; needle: string }[] = [];
  if (typeof s.value === 'string') out.push({ form: 'as is', needle: s.value.toLowerCase() });
  if (bytes.length >= 6) {
    for (const b of base64Forms(bytes)) out.push({ form: 'base64', needle: b.toLowerCase() });
    out.push({ form: 'hex', needle: bytes.toString('hex') });
  }
  return out.filter((f) => f.needle.length >= 6);
};

const SEPARATORS = /[\s\-_.,/:|]+/g;

export const findSecrets = (texts: Text[], secrets: Secret[]): Finding[] => {
  const findings: Finding[] = [];
  const needles = secrets.flatMap((s) => formsOf(s).map((f) => ({ ...f, kind: s.kind, plain: s.value })));
  for (const t of texts) {
    const lower = t.text.toLowerCase();
    const squeezed = lower.replace(SEPARATORS, '');
    for (const n of needles) {
      for (const [hay, how] of [
        [lower, n.form],
        [squeezed, `${n.form}, separators removed`],
      ] as const) {
        const i = hay.indexOf(n.needle);
        if (i < 0) continue;
        findings.push({
          kind: n.kind,
          source: t.source,
          form: how,
          around: `${hay.slice(Math.max(0, i - 40), i)}[${n.kind}]${hay.slice(i + n.needle.length, i + n.needle.length + 40)}`,
        });
        break;
      }
    }
  }
  return findings;
};

/** Every run of base64 / hex long enough to hold a key, decoded; and PEM private key armour. */
export const findPrivateKeys = (texts: Text[]): Finding[] => {
  const findings: Finding[] = [];
  const tryKey = (der: Buffer): boolean => {
    for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
      try {
        createPrivateKey({ key: der, format: 'der', type });
        return true;
      } catch {
        // not this encoding
      }
    }
    return false;
  };
  for (const t of texts) {
    if (/PRIVATE KEY-----/.test(t.text))
      findings.push({
        kind: 'PEM private key',
        source: t.source,
        form: 'PEM',
        around: '-----BEGIN … PRIVATE KEY-----',
      });
    const unescaped = t.text.replace(/\\[rn]/g, '').replace(/\s+/g, '');
    for (const m of unescaped.matchAll(/[A-Za-z0-9+/]{100,}={0,2}|[A-Za-z0-9_-]{100,}/g)) {
      const der = Buffer.from(m[0].replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      // A key may sit anywhere in a longer run: try every DER SEQUENCE start.
      for (let i = der.indexOf(0x30); i >= 0 && i < der.length - 60; i = der.indexOf(0x30, i + 1)) {
        if (tryKey(der.subarray(i))) {
          findings.push({
            kind: 'private key (DER)',
            source: t.source,
            form: 'base64',
            around: m[0].slice(0, 40),
          });
          break;
        }
      }
    }
    for (const m of unescaped.matchAll(/[0-9a-fA-F]{200,}/g)) {
      if (tryKey(Buffer.from(m[0], 'hex')))
        findings.push({
          kind: 'private key (DER)',
          source: t.source,
          form: 'hex',
          around: m[0].slice(0, 40),
        });
    }
  }
  return findings;
};

/**
 * Live holder session tokens in the texts, found without knowing them: every token-shaped run whose
 * SHA-256 is the key of a stored session (the store keeps only that hash).
 */
export const findSessionTokens = (texts: Text[], tokenHashes: Set<string>): Finding[] => {
  const findings: Finding[] = [];
  for (const t of texts)
    for (const m of t.text.matchAll(/[A-Za-z0-9_-]{20,200}/g))
      if (tokenHashes.has(createHash('sha256').update(m[0], 'utf8').digest('hex')))
        findings.push({
          kind: 'holder session token',
          source: t.source,
          form: 'as is',
          around: `${m[0].slice(0, 6)}…`,
        });
  return findings;
};
