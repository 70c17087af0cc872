import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InternalError } from '../../errors.js';
import type { SecretKeyPurpose, SecretKeys } from '../../ports/secrets.js';

/**
 * SecretKeys without a cloud: one random 256-bit key per purpose, plus one for sealing. The local stack
 * keeps them in key files (mode 0600) under its state folder; tests keep them in memory. MACs are
 * HMAC-SHA256 and sealing is AES-256-GCM with the caller's context as associated data, so a value sealed
 * for one application cannot be opened as another's. The key id (`local:subscriber-pepper:1`) travels
 * with what it protects; there is no local rotation, hence always version 1.
 */

export const SECRET_KEY_PURPOSES: readonly SecretKeyPurpose[] = Object.freeze([
  'subscriber-pepper',
  'lookup',
  'card-master',
  'session',
]);

/** The key material behind one purpose (or the sealing key). */
type KeyName = SecretKeyPurpose | 'seal';

interface KeyMaterial {
  id: string;
  key: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const isPurpose = (p: unknown): p is SecretKeyPurpose => SECRET_KEY_PURPOSES.includes(p as SecretKeyPurpose);

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The SecretKeys behaviour over any source of key material (files, memory). */
class KeyMaterialSecretKeys implements SecretKeys {
  private readonly cache = new Map<KeyName, KeyMaterial>();

  constructor(private readonly source: (name: KeyName) => KeyMaterial) {}

  private material(name: KeyName): KeyMaterial {
    let m = this.cache.get(name);
    if (!m) {
      m = this.source(name);
      if (m.key.length !== KEY_BYTES) throw new InternalError(`secret key ${m.id} is not ${KEY_BYTES} bytes`);
      this.cache.set(name, m);
    }
    return m;
  }

  private purposeMaterial(purpose: SecretKeyPurpose): KeyMaterial {
    if (!isPurpose(purpose)) throw new InternalError(`unknown secret key purpose ${String(purpose)}`);
    return this.material(purpose);
  }

  async mac(purpose: SecretKeyPurpose, data: Uint8Array): Promise<Uint8Array> {
    const { key } = this.purposeMaterial(purpose);
    return new Uint8Array(createHmac('sha256', key).update(data).digest());
  }

  keyId(purpose: SecretKeyPurpose): string {
    return this.purposeMaterial(purpose).id;
  }

  /** `<key id>$<iv>$<ciphertext>$<tag>`, base64url; the key id and the context are authenticated. */
  async seal(plaintext: Uint8Array, context: string): Promise<string> {
    const { id, key } = this.material('seal');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(id, context));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return [id, b64url(iv), b64url(ct), b64url(cipher.getAuthTag())].join('$');
  }

  async open(sealed: string, context: string): Promise<Uint8Array> {
    const parts = typeof sealed === 'string' ? sealed.split('$') : [];
    const { id, key } = this.material('seal');
    if (parts.length !== 4) throw new InternalError('sealed value is malformed');
    const [sealedBy, ivText, ctText, tagText] = parts as [string, string, string, string];
    if (sealedBy !== id) throw new InternalError(`sealed value was sealed with key ${sealedBy}, not ${id}`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
      throw new InternalError('sealed value is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(id, context));
      decipher.setAuthTag(tag);
      return new Uint8Array(
        Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]),
      );
    } catch (e) {
      // Wrong context or an altered value: never retryable, never a client error.
      throw new InternalError('sealed value could not be opened (wrong context or altered)', { cause: e });
    }
  }
}

const aad = (keyId: string, context: string): Buffer => Buffer.from(`${keyId}\n${context}`, 'utf8');

interface KeyFile {
  id: string;
  key: string; // base64
  createdAt: string;
}

/**
 * Read the key file of `name`, or create it. Creation is atomic and race-free across processes: the key
 * is written to a private temporary file and hard-linked into place; if another process won the race,
 * its key is the one everybody uses.
 */
const loadOrCreateKeyFile = (dir: string, name: KeyName): KeyMaterial => {
  const file = path.join(dir, `${name}.key`);
  const read = (): KeyMaterial => {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyFile;
    if (typeof parsed.id !== 'string' || typeof parsed.key !== 'string') {
      throw new InternalError(`secret key file ${file} is malformed`);
    }
    return { id: parsed.id, key: Buffer.from(parsed.key, 'base64') };
  };
  if (fs.existsSync(file)) return read();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const content: KeyFile = {
    id: `local:${name}:1`,
    key: randomBytes(KEY_BYTES).toString('base64'),
    createdAt: new Date().toISOString(),
  };
  const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(content)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return read();
};

/**
 * SecretKeys for the local stack: key files under `dir` (e.g. `<STATE_DIR>/secrets`), one per purpose,
 * created on first use with mode 0600 in a 0700 folder.
 */
export const createLocalSecretKeys = (opts: { dir: string }): SecretKeys =>
  new KeyMaterialSecretKeys((name) => loadOrCreateKeyFile(opts.dir, name));

/**
 * SecretKeys in memory, for tests: fresh random keys, or keys derived from `seed` when a test needs the
 * same keys twice (two instances with one seed agree; different seeds do not).
 */
export const createTestSecretKeys = (opts: { seed?: string } = {}): SecretKeys =>
  new KeyMaterialSecretKeys((name) => ({
    id: `test:${name}:1`,
    key:
      opts.seed === undefined
        ? randomBytes(KEY_BYTES)
        : createHmac('sha256', `test-secret-keys:${opts.seed}`).update(name).digest(),
  }));
