import { randomBytes, randomInt, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { GoneError, InternalError, LockedError, ValidationError } from '../errors.js';
import type { SecretKeys } from '../ports/secrets.js';
import type { SubscriberCredential } from './model.js';

/**
 * The subscriber code (用戶代碼): the holder's second secret for every online operation. The station
 * generates it at random and prints it on the application form; the holder may later change it.
 *
 * It is never stored, logged or shown again by the operator. What is kept is a slow, salted, peppered
 * hash: HMAC-SHA256 under the `subscriber-pepper` key (KMS or the local key file, so a stolen table
 * alone cannot be attacked offline), then scrypt with a random salt. The initial code may additionally
 * be kept sealed until activation so that it can be re-sent to the registered e-mail.
 */

/**
 * The characters of a generated code: digits and upper-case letters without look-alikes, so a code
 * printed on a form is read back right by anyone: no 0/O/Q/D, 1/I/L/J, 2/Z, 5/S, 8/B, U/V.
 * 20 characters: a 10-character code carries 43 bits, with at most 4 online guesses before lockout.
 */
export const SUBSCRIBER_CODE_ALPHABET = '34679ACEFGHKMNPRTWXY';

export const SUBSCRIBER_CODE_MIN_LENGTH = 6;
export const SUBSCRIBER_CODE_MAX_LENGTH = 10;

/** Wrong codes allowed before the code locks (the 4th wrong try locks it). */
export const MAX_SUBSCRIBER_CODE_FAILURES = 4;

/** A fresh random code from the CSPRNG (node:crypto randomInt, no modulo bias). */
export const generateSubscriberCode = (length = SUBSCRIBER_CODE_MAX_LENGTH): string => {
  if (
    !Number.isInteger(length) ||
    length < SUBSCRIBER_CODE_MIN_LENGTH ||
    length > SUBSCRIBER_CODE_MAX_LENGTH
  ) {
    throw new RangeError(
      `a subscriber code has ${SUBSCRIBER_CODE_MIN_LENGTH} to ${SUBSCRIBER_CODE_MAX_LENGTH} characters`,
    );
  }
  let code = '';
  for (let i = 0; i < length; i++)
    code += SUBSCRIBER_CODE_ALPHABET[randomInt(SUBSCRIBER_CODE_ALPHABET.length)];
  return code;
};

/** How a typed code is compared: case-insensitive, spaces and hyphens (print grouping) ignored. */
export const normalizeSubscriberCode = (input: string): string => input.replace(/[\s-]/g, '').toUpperCase();

/**
 * A subscriber code as typed by the holder: 6–10 letters or digits (case does not matter). Rules:
 * `subscriber_code.required`, `subscriber_code.length`, `subscriber_code.characters`. Messages never
 * repeat the code.
 */
export const parseSubscriberCode = (field: string, input: unknown): string => {
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) {
    throw new ValidationError(field, 'subscriber_code.required', 'the subscriber code is required');
  }
  if (typeof input !== 'string') {
    throw new ValidationError(field, 'subscriber_code.characters', 'the subscriber code must be text');
  }
  const code = normalizeSubscriberCode(input);
  if (code.length < SUBSCRIBER_CODE_MIN_LENGTH || code.length > SUBSCRIBER_CODE_MAX_LENGTH) {
    throw new ValidationError(
      field,
      'subscriber_code.length',
      `a subscriber code has ${SUBSCRIBER_CODE_MIN_LENGTH} to ${SUBSCRIBER_CODE_MAX_LENGTH} characters`,
    );
  }
  if (!/^[A-Z0-9]+$/.test(code)) {
    throw new ValidationError(
      field,
      'subscriber_code.characters',
      'a subscriber code has only letters A–Z and digits 0–9',
    );
  }
  return code;
};

const isRun = (code: string, step: 1 | -1): boolean => {
  for (let i = 1; i < code.length; i++) {
    if (code.charCodeAt(i) - code.charCodeAt(i - 1) !== step) return false;
  }
  return true;
};

/**
 * A code the holder chooses when changing it: the rules of `parseSubscriberCode`, and not trivially
 * guessable (`subscriber_code.weak`: one repeated character, or a straight run like 123456 / FEDCBA).
 */
export const parseNewSubscriberCode = (field: string, input: unknown): string => {
  const code = parseSubscriberCode(field, input);
  if (new Set(code).size === 1 || isRun(code, 1) || isRun(code, -1)) {
    throw new ValidationError(
      field,
      'subscriber_code.weak',
      'choose a subscriber code that is not one repeated character or a straight sequence',
    );
  }
  return code;
};

// ---------------------------------------------------------------------------------------------------
// Hashing

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  log2N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ log2N: 15, r: 8, p: 1 });

/** Bounds for hashing and for reading a stored hash (a corrupted record must not stall the service). */
const LIMITS = { log2N: [10, 20], r: [1, 16], p: [1, 4] } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** What a credential keeps of a code: the encoded hash and the pepper key it was made with. */
export interface SubscriberCodeHash {
  /** `scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>` (base64 without padding). */
  hash: string;
  pepperKeyId: string;
}

const withinLimits = (p: ScryptParams): boolean =>
  (Object.keys(LIMITS) as (keyof ScryptParams)[]).every(
    (k) => Number.isInteger(p[k]) && p[k] >= LIMITS[k][0] && p[k] <= LIMITS[k][1],
  );

const scryptAsync = (password: Uint8Array, salt: Uint8Array, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );

const derive = async (
  code: string,
  salt: Uint8Array,
  keylen: number,
  params: ScryptParams,
  secrets: SecretKeys,
): Promise<Buffer> => {
  const peppered = await secrets.mac('subscriber-pepper', new TextEncoder().encode(code));
  const N = 2 ** params.log2N;
  return scryptAsync(peppered, salt, keylen, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r });
};

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/=+$/, '');

/** Hash a (valid) subscriber code for storage. Slow on purpose: about 0.1 s at the default cost. */
export const hashSubscriberCode = async (
  code: string,
  secrets: SecretKeys,
  params: Partial<ScryptParams> = {},
): Promise<SubscriberCodeHash> => {
  const normalized = parseSubscriberCode('subscriberCode', code);
  const p: ScryptParams = { ...DEFAULT_SCRYPT_PARAMS, ...params };
  if (!withinLimits(p)) throw new RangeError('scrypt parameters out of range');
  const pepperKeyId = secrets.keyId('subscriber-pepper');
  const salt = randomBytes(SALT_BYTES);
  const derived = await derive(normalized, salt, HASH_BYTES, p, secrets);
  return { hash: `scrypt$ln=${p.log2N},r=${p.r},p=${p.p}$${b64(salt)}$${b64(derived)}`, pepperKeyId };
};

const HASH_FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** The parameters, salt and hash of a stored hash; InternalError if the stored value is not one. */
export const parseSubscriberCodeHash = (
  encoded: string,
): { params: ScryptParams; salt: Buffer; hash: Buffer } => {
  const m = HASH_FORMAT.exec(encoded);
  if (!m) throw new InternalError('stored subscriber code hash is malformed');
  const params = { log2N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const salt = Buffer.from(m[4] as string, 'base64');
  const hash = Buffer.from(m[5] as string, 'base64');
  if (!withinLimits(params) || salt.length < 16 || hash.length < 16 || hash.length > 64) {
    throw new InternalError('stored subscriber code hash has parameters out of range');
  }
  return { params, salt, hash };
};

/**
 * Whether `code` is the code behind `credential`, compared in constant time. Does not look at the
 * lockout (see `attemptSubscriberCode`). A code of the wrong shape is simply wrong, after the same work.
 * Throws InternalError if the credential was peppered with a key this deployment no longer uses.
 */
export const verifySubscriberCode = async (
  code: string,
  credential: Pick<SubscriberCredential, 'hash' | 'pepperKeyId'>,
  secrets: SecretKeys,
): Promise<boolean> => {
  const stored = parseSubscriberCodeHash(credential.hash);
  const current = secrets.keyId('subscriber-pepper');
  if (credential.pepperKeyId !== current) {
    throw new InternalError(
      `subscriber code was peppered with key ${credential.pepperKeyId}, the current key is ${current}`,
    );
  }
  const candidate = typeof code === 'string' ? normalizeSubscriberCode(code) : '';
  const derived = await derive(candidate, stored.salt, stored.hash.length, stored.params, secrets);
  return timingSafeEqual(derived, stored.hash);
};

// ---------------------------------------------------------------------------------------------------
// Lockout policy (pure functions over the stored credential)

/** A fresh credential for a new application; `sealedInitialCode` until activation. */
export const newSubscriberCredential = (
  hashed: SubscriberCodeHash,
  sealedInitialCode?: string,
): SubscriberCredential => ({
  hash: hashed.hash,
  pepperKeyId: hashed.pepperKeyId,
  failures: 0,
  ...(sealedInitialCode === undefined ? {} : { sealedInitialCode }),
});

export const isLocked = (c: SubscriberCredential): boolean =>
  c.lockedAt !== undefined || c.failures >= MAX_SUBSCRIBER_CODE_FAILURES;

/** Wrong tries left before the code locks (0 once locked). */
export const remainingAttempts = (c: SubscriberCredential): number =>
  isLocked(c) ? 0 : MAX_SUBSCRIBER_CODE_FAILURES - c.failures;

/** The credential after a wrong code: one more failure; the 4th locks it (lockedAt = now). */
export const afterFailure = (c: SubscriberCredential, now: Date): SubscriberCredential => {
  const failures = c.failures + 1;
  const lockedAt = c.lockedAt ?? (failures >= MAX_SUBSCRIBER_CODE_FAILURES ? now.toISOString() : undefined);
  return { ...c, failures, ...(lockedAt === undefined ? {} : { lockedAt }) };
};

/** The credential after a right code: failures forgotten. A locked code cannot succeed. */
export const afterSuccess = (c: SubscriberCredential): SubscriberCredential => {
  if (isLocked(c)) throw lockedError();
  return { ...c, failures: 0 };
};

/**
 * The credential after the holder changed the code (proved with the card): the new hash, no failures,
 * no lock, and the sealed initial code destroyed.
 */
export const afterChange = (hashed: SubscriberCodeHash, now: Date): SubscriberCredential => ({
  hash: hashed.hash,
  pepperKeyId: hashed.pepperKeyId,
  failures: 0,
  changedAt: now.toISOString(),
});

/** The credential after the card is activated: the sealed initial code is destroyed. */
export const afterActivation = (c: SubscriberCredential): SubscriberCredential => {
  const { sealedInitialCode: _dropped, ...rest } = c;
  return rest;
};

const lockedError = () =>
  new LockedError(
    `the subscriber code is locked after ${MAX_SUBSCRIBER_CODE_FAILURES} wrong tries; change it online with your card`,
    { rule: 'subscriber_code.locked' },
  );

/**
 * One login-style attempt: refuses a locked code without checking it (LockedError), otherwise verifies
 * and returns the credential to store (conditionally) whatever the outcome. The caller answers 401 on
 * `ok: false` (423 if that failure locked the code, see `isLocked`).
 */
export const attemptSubscriberCode = async (
  code: string,
  credential: SubscriberCredential,
  secrets: SecretKeys,
  now: Date,
): Promise<{ ok: boolean; credential: SubscriberCredential }> => {
  if (isLocked(credential)) throw lockedError();
  const ok = await verifySubscriberCode(code, credential, secrets);
  return { ok, credential: ok ? afterSuccess(credential) : afterFailure(credential, now) };
};

// ---------------------------------------------------------------------------------------------------
// The sealed initial code ("retrieve my subscriber code" before activation)

const sealContext = (applicationId: string) => `subscriber-code:${applicationId}`;

/** Seal the initial code to one application (it cannot be opened as another application's). */
export const sealInitialCode = (code: string, applicationId: string, secrets: SecretKeys): Promise<string> =>
  secrets.seal(new TextEncoder().encode(code), sealContext(applicationId));

/** The initial code, for re-sending it to the registered e-mail; GoneError once it has been destroyed. */
export const openInitialCode = async (
  credential: SubscriberCredential,
  applicationId: string,
  secrets: SecretKeys,
): Promise<string> => {
  if (!credential.sealedInitialCode) {
    throw new GoneError(
      'the initial subscriber code is no longer kept (the card was activated or the code changed)',
      {
        rule: 'subscriber_code.not_retrievable',
      },
    );
  }
  const plain = await secrets.open(credential.sealedInitialCode, sealContext(applicationId));
  return new TextDecoder().decode(plain);
};
