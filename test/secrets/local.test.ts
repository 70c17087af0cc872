import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import {
  createLocalSecretKeys,
  createTestSecretKeys,
  SECRET_KEY_PURPOSES,
} from '../../shared/adapters/secrets/local.js';
import { InternalError } from '../../shared/errors.js';
import type { SecretKeyPurpose } from '../../shared/ports/secrets.js';

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const keyFile = (folder: string, name: string) =>
  JSON.parse(fs.readFileSync(path.join(folder, `${name}.key`), 'utf8')) as { id: string; key: string };

describe('local SecretKeys (key files)', () => {
  it('computes HMAC-SHA256 under the key in the purpose key file', async () => {
    const keys = createLocalSecretKeys({ dir: path.join(dir, 'secrets') });
    const mac = await keys.mac('subscriber-pepper', enc('K7P3MX9ACE'));
    const file = keyFile(path.join(dir, 'secrets'), 'subscriber-pepper');
    const expected = createHmac('sha256', Buffer.from(file.key, 'base64')).update('K7P3MX9ACE').digest();
    expect(hex(mac)).toBe(expected.toString('hex'));
    expect(Buffer.from(file.key, 'base64')).toHaveLength(32);
    expect(keys.keyId('subscriber-pepper')).toBe('local:subscriber-pepper:1');
    expect(file.id).toBe('local:subscriber-pepper:1');
  });

  it('creates a key file on first use only, private to the owner', async () => {
    const folder = path.join(dir, 'state', 'secrets');
    const keys = createLocalSecretKeys({ dir: folder });
    expect(fs.existsSync(folder)).toBe(false);
    await keys.mac('lookup', enc('x'));
    expect(fs.readdirSync(folder)).toEqual(['lookup.key']);
    expect(fs.statSync(path.join(folder, 'lookup.key')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(folder).mode & 0o777).toBe(0o700);
    await keys.seal(enc('x'), 'ctx');
    expect(fs.readdirSync(folder).sort()).toEqual(['lookup.key', 'seal.key']);
  });

  it('keeps the same keys across restarts (a new instance over the same folder)', async () => {
    const first = createLocalSecretKeys({ dir });
    const mac1 = await first.mac('lookup', enc('A800000014'));
    const sealed = await first.seal(enc('K7P3MX9ACE'), 'application:A1');
    const second = createLocalSecretKeys({ dir });
    expect(hex(await second.mac('lookup', enc('A800000014')))).toBe(hex(mac1));
    expect(new TextDecoder().decode(await second.open(sealed, 'application:A1'))).toBe('K7P3MX9ACE');
  });

  it('uses a different key for each purpose', async () => {
    const keys = createLocalSecretKeys({ dir });
    const macs = await Promise.all(SECRET_KEY_PURPOSES.map((p) => keys.mac(p, enc('same input'))));
    expect(new Set(macs.map(hex)).size).toBe(SECRET_KEY_PURPOSES.length);
    expect(SECRET_KEY_PURPOSES.map((p) => keys.keyId(p))).toEqual(
      SECRET_KEY_PURPOSES.map((p) => `local:${p}:1`),
    );
  });

  it('refuses an unknown purpose', async () => {
    const keys = createLocalSecretKeys({ dir });
    await expect(keys.mac('nonsense' as SecretKeyPurpose, enc('x'))).rejects.toThrow(InternalError);
    expect(() => keys.keyId('../seal' as SecretKeyPurpose)).toThrow(InternalError);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a key file whose key is not 256 bits', async () => {
    fs.writeFileSync(
      path.join(dir, 'lookup.key'),
      JSON.stringify({ id: 'local:lookup:1', key: Buffer.alloc(16).toString('base64') }),
    );
    await expect(createLocalSecretKeys({ dir }).mac('lookup', enc('x'))).rejects.toThrow(InternalError);
  });

  it('agrees on one key when several processes create it at the same time', async () => {
    const run = promisify(execFile);
    const script = path.join(dir, 'race.mts');
    const moduleUrl = new URL('../../shared/adapters/secrets/local.ts', import.meta.url).href;
    fs.writeFileSync(
      script,
      `import { createLocalSecretKeys } from ${JSON.stringify(moduleUrl)};
       const k = createLocalSecretKeys({ dir: ${JSON.stringify(path.join(dir, 'shared'))} });
       const mac = await k.mac('subscriber-pepper', new TextEncoder().encode('race'));
       process.stdout.write(Buffer.from(mac).toString('hex'));`,
    );
    const tsx = path.resolve('node_modules/.bin/tsx');
    const outputs = await Promise.all(Array.from({ length: 6 }, () => run(tsx, [script])));
    const macs = new Set(outputs.map((o) => o.stdout));
    expect(macs.size).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'shared'))).toEqual(['subscriber-pepper.key']);
    const inProcess = await createLocalSecretKeys({ dir: path.join(dir, 'shared') }).mac(
      'subscriber-pepper',
      enc('race'),
    );
    expect(macs.has(hex(inProcess))).toBe(true);
  });
});

describe.each([
  ['local key files', () => createLocalSecretKeys({ dir })],
  ['in-memory test keys', () => createTestSecretKeys()],
])('seal / open (%s)', (_name, make) => {
  it('opens what it sealed, for any bytes and context', async () => {
    const keys = make();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.string(), async (plain, context) => {
        const sealed = await keys.seal(plain, context);
        expect(hex(await keys.open(sealed, context))).toBe(hex(plain));
      }),
      { numRuns: 50 },
    );
  });

  it('never seals the same value to the same text twice, and the text does not contain it', async () => {
    const keys = make();
    const a = await keys.seal(enc('K7P3MX9ACE'), 'application:A1');
    const b = await keys.seal(enc('K7P3MX9ACE'), 'application:A1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('K7P3MX9ACE');
    expect(a.startsWith(`${a.split('$')[0]}$`)).toBe(true);
  });

  it('refuses to open under another context', async () => {
    const keys = make();
    const sealed = await keys.seal(enc('K7P3MX9ACE'), 'application:A1');
    await expect(keys.open(sealed, 'application:A2')).rejects.toThrow(InternalError);
  });

  it('refuses any flipped bit in the IV, the ciphertext or the tag', async () => {
    const keys = make();
    const sealed = await keys.seal(enc('K7P3MX9ACE'), 'application:A1');
    const [id, ...parts] = sealed.split('$');
    const bytes = parts.map((p) => Buffer.from(p, 'base64url'));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (part, at, bit) => {
          const copy = bytes.map((b) => Buffer.from(b));
          const target = copy[part] as Buffer;
          const i = at % target.length;
          target[i] = (target[i] as number) ^ (1 << bit);
          const altered = [id, ...copy.map((b) => b.toString('base64url'))].join('$');
          await expect(keys.open(altered, 'application:A1')).rejects.toThrow(InternalError);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses malformed values and values from other keys', async () => {
    const keys = make();
    await expect(keys.open('', 'c')).rejects.toThrow(InternalError);
    await expect(keys.open('a$b$c', 'c')).rejects.toThrow(InternalError);
    const other = createTestSecretKeys();
    const foreign = await other.seal(enc('x'), 'c');
    await expect(keys.open(foreign, 'c')).rejects.toThrow(InternalError);
  });
});

describe('createTestSecretKeys', () => {
  it('gives the same keys for the same seed and different keys otherwise', async () => {
    const a = createTestSecretKeys({ seed: 'one' });
    const b = createTestSecretKeys({ seed: 'one' });
    const c = createTestSecretKeys({ seed: 'two' });
    const d = createTestSecretKeys();
    const data = enc('A800000014');
    expect(hex(await a.mac('lookup', data))).toBe(hex(await b.mac('lookup', data)));
    expect(hex(await a.mac('lookup', data))).not.toBe(hex(await c.mac('lookup', data)));
    expect(hex(await a.mac('lookup', data))).not.toBe(hex(await d.mac('lookup', data)));
    expect(new TextDecoder().decode(await b.open(await a.seal(data, 'x'), 'x'))).toBe('A800000014');
    expect(a.keyId('card-master')).toBe('test:card-master:1');
  });

  it('gives 32-byte MACs, the same for the same input and different for another', async () => {
    const k = createTestSecretKeys({ seed: 's' });
    const m1 = await k.mac('session', enc('abc'));
    expect(m1).toHaveLength(32);
    expect(hex(await k.mac('session', enc('abc')))).toBe(hex(m1));
    expect(hex(await k.mac('session', enc('abd')))).not.toBe(hex(m1));
  });
});
