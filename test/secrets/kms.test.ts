import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  DependencyTimeoutException,
  EncryptCommand,
  GenerateMacCommand,
  InvalidCiphertextException,
  KeyUnavailableException,
  KMSClient,
  KMSInternalException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import fc from 'fast-check';
import { createKmsSecretKeys } from '../../shared/adapters/secrets/kms.js';
import { DependencyError, InternalError } from '../../shared/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const ARN = (name: string) => `arn:aws:kms:ap-east-2:111122223333:key/${name}`;
const PEPPER = ARN('pepper-0000');
const LOOKUP = ARN('lookup-0000');
const SEAL = ARN('seal-0000');

/** Key material the fake KMS holds; the adapter never sees it. */
const hmacKeys: Record<string, Buffer> = { [PEPPER]: randomBytes(32), [LOOKUP]: randomBytes(32) };
const sealKey = randomBytes(32);

const kms = mockClient(KMSClient);

/**
 * A fake KMS that behaves like the real one where it matters: GenerateMac computes a real HMAC under
 * the named key, Encrypt binds the EncryptionContext (as AES-GCM associated data) and Decrypt refuses a
 * different context or key with InvalidCiphertextException / IncorrectKeyException.
 */
const installFakeKms = () => {
  kms.reset();
  kms.on(GenerateMacCommand).callsFake((input) => {
    const key = hmacKeys[input.KeyId];
    if (!key) throw new Error(`fake KMS: no key ${input.KeyId}`);
    if (input.MacAlgorithm !== 'HMAC_SHA_256') throw new Error('fake KMS: wrong algorithm');
    return {
      KeyId: input.KeyId,
      MacAlgorithm: input.MacAlgorithm,
      Mac: new Uint8Array(createHmac('sha256', key).update(input.Message).digest()),
    };
  });
  kms.on(EncryptCommand).callsFake((input) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', sealKey, iv);
    c.setAAD(Buffer.from(`${input.KeyId}|${JSON.stringify(input.EncryptionContext ?? {})}`));
    const ct = Buffer.concat([c.update(input.Plaintext), c.final()]);
    const keyRef = Buffer.from(input.KeyId);
    return {
      KeyId: input.KeyId,
      CiphertextBlob: new Uint8Array(
        Buffer.concat([Buffer.from([keyRef.length]), keyRef, iv, c.getAuthTag(), ct]),
      ),
    };
  });
  kms.on(DecryptCommand).callsFake((input) => {
    const blob = Buffer.from(input.CiphertextBlob);
    const keyRef = blob.subarray(1, 1 + (blob[0] as number)).toString();
    if (input.KeyId && input.KeyId !== keyRef) {
      throw new InvalidCiphertextException({ message: 'IncorrectKey', $metadata: {} });
    }
    const rest = blob.subarray(1 + (blob[0] as number));
    try {
      const d = createDecipheriv('aes-256-gcm', sealKey, rest.subarray(0, 12));
      d.setAAD(Buffer.from(`${keyRef}|${JSON.stringify(input.EncryptionContext ?? {})}`));
      d.setAuthTag(rest.subarray(12, 28));
      return {
        KeyId: keyRef,
        Plaintext: new Uint8Array(Buffer.concat([d.update(rest.subarray(28)), d.final()])),
      };
    } catch {
      throw new InvalidCiphertextException({ message: 'invalid ciphertext', $metadata: {} });
    }
  });
};

const make = (sealKeyId = SEAL) =>
  createKmsSecretKeys({
    client: new KMSClient({ region: 'ap-east-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    macKeys: { 'subscriber-pepper': PEPPER, lookup: LOOKUP },
    sealKey: sealKeyId,
  });

beforeEach(installFakeKms);
afterAll(() => kms.restore());

describe('KMS SecretKeys: mac', () => {
  it('asks KMS GenerateMac (HMAC_SHA_256) with the key of the purpose and returns its MAC', async () => {
    const keys = make();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (data) => {
        const mac = await keys.mac('subscriber-pepper', data);
        expect(hex(mac)).toBe(
          createHmac('sha256', hmacKeys[PEPPER] as Buffer)
            .update(data)
            .digest('hex'),
        );
      }),
      { numRuns: 25 },
    );
    expect(kms).toHaveReceivedCommandWith(GenerateMacCommand, {
      KeyId: PEPPER,
      MacAlgorithm: 'HMAC_SHA_256',
    });
  });

  it('keeps purposes apart: each has its own KMS key', async () => {
    const keys = make();
    const data = enc('A800000014');
    const pepper = await keys.mac('subscriber-pepper', data);
    const lookup = await keys.mac('lookup', data);
    expect(hex(lookup)).toBe(
      createHmac('sha256', hmacKeys[LOOKUP] as Buffer)
        .update(data)
        .digest('hex'),
    );
    expect(hex(lookup)).not.toBe(hex(pepper));
    expect(kms).toHaveReceivedCommandTimes(GenerateMacCommand, 2);
    expect(kms).toHaveReceivedNthCommandWith(2, GenerateMacCommand, { KeyId: LOOKUP });
  });

  it('names the key of each purpose as its key id', () => {
    expect(make().keyId('subscriber-pepper')).toBe(PEPPER);
    expect(make().keyId('lookup')).toBe(LOOKUP);
  });

  it('refuses a purpose with no configured key without calling KMS', async () => {
    const keys = make();
    await expect(keys.mac('card-master', enc('x'))).rejects.toThrow(InternalError);
    expect(() => keys.keyId('session')).toThrow(InternalError);
    expect(kms).not.toHaveReceivedCommand(GenerateMacCommand);
  });

  it.each([
    ['KMSInternalException', new KMSInternalException({ message: 'internal', $metadata: {} })],
    ['DependencyTimeoutException', new DependencyTimeoutException({ message: 'timeout', $metadata: {} })],
    ['KeyUnavailableException', new KeyUnavailableException({ message: 'unavailable', $metadata: {} })],
    ['a network error', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })],
  ])('maps %s to a retryable DependencyError that does not echo the data', async (_n, error) => {
    kms.on(GenerateMacCommand).rejects(error);
    const failure = await make()
      .mac('subscriber-pepper', enc('K7P3MX9ACE'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(DependencyError);
    expect((failure as DependencyError).retryable).toBe(true);
    expect((failure as DependencyError).message).not.toContain('K7P3MX9ACE');
    expect((failure as Error).cause).toBe(error);
  });

  it('treats an answer without a 32-byte MAC as a dependency failure', async () => {
    kms.on(GenerateMacCommand).resolves({ KeyId: PEPPER });
    await expect(make().mac('subscriber-pepper', enc('x'))).rejects.toThrow(DependencyError);
    kms.on(GenerateMacCommand).resolves({ KeyId: PEPPER, Mac: new Uint8Array(16) });
    await expect(make().mac('subscriber-pepper', enc('x'))).rejects.toThrow(DependencyError);
  });
});

describe('KMS SecretKeys: seal / open', () => {
  it('encrypts with the seal key and the context as EncryptionContext, and opens it again', async () => {
    const keys = make();
    const sealed = await keys.seal(enc('K7P3MX9ACE'), 'subscriber-code:A20261123-7K3M9QXZ');
    expect(sealed.startsWith('kms$')).toBe(true);
    expect(sealed).not.toContain('K7P3MX9ACE');
    expect(kms).toHaveReceivedCommandWith(EncryptCommand, {
      KeyId: SEAL,
      EncryptionContext: { context: 'subscriber-code:A20261123-7K3M9QXZ' },
    });
    const opened = await keys.open(sealed, 'subscriber-code:A20261123-7K3M9QXZ');
    expect(new TextDecoder().decode(opened)).toBe('K7P3MX9ACE');
    expect(kms).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: SEAL,
      EncryptionContext: { context: 'subscriber-code:A20261123-7K3M9QXZ' },
    });
  });

  it('round-trips any bytes and context', async () => {
    const keys = make();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 128 }), fc.string(), async (plain, context) => {
        expect(hex(await keys.open(await keys.seal(plain, context), context))).toBe(hex(plain));
      }),
      { numRuns: 25 },
    );
  });

  it('refuses to open under another context, or with another key, as a non-retryable InternalError', async () => {
    const sealed = await make().seal(enc('K7P3MX9ACE'), 'subscriber-code:A1');
    await expect(make().open(sealed, 'subscriber-code:A2')).rejects.toThrow(InternalError);
    await expect(make(ARN('other-seal')).open(sealed, 'subscriber-code:A1')).rejects.toThrow(InternalError);
  });

  it('refuses a value that is not a KMS ciphertext without calling KMS', async () => {
    await expect(make().open('local:seal:1$a$b$c', 'x')).rejects.toThrow(InternalError);
    await expect(make().open('kms$', 'x')).rejects.toThrow(InternalError);
    expect(kms).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('maps KMS outages during Encrypt and Decrypt to DependencyError', async () => {
    const sealed = await make().seal(enc('x'), 'c');
    kms.on(EncryptCommand).rejects(new KMSInternalException({ message: 'boom', $metadata: {} }));
    kms.on(DecryptCommand).rejects(new DependencyTimeoutException({ message: 'slow', $metadata: {} }));
    await expect(make().seal(enc('x'), 'c')).rejects.toThrow(DependencyError);
    await expect(make().open(sealed, 'c')).rejects.toThrow(DependencyError);
  });
});
