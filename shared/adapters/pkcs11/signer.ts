import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { p1363ToDer } from '../../ca/der.js';
import { inspectPublicKey } from '../../ca/keys.js';
import { DependencyError, InternalError } from '../../errors.js';
import {
  type CaKeyAlgorithm,
  type Signer,
  type SignerKeyRef,
  signatureAlgorithmOf,
} from '../../ports/signer.js';
import { findKeyPair, isRsa, publicKeySpki } from './ca-keys.js';
import {
  findSlotByLabel,
  type Handle,
  isPkcs11Error,
  openModule,
  openSession,
  type PKCS11,
  pkcs11js,
} from './module.js';

/**
 * The PKCS#11 signer: CA keys on SoftHSM tokens locally, on CloudHSM in AWS (same code, different module
 * and PIN source). Each token gets a small pool of sessions, logged in once and reused, so a signature
 * costs C_SignInit + C_Sign and nothing else.
 *
 * Both calls run on a signing thread, one per session (a worker thread that loads the same PKCS#11 module:
 * the module's state — initialization, login, sessions — belongs to the process, so a session opened here
 * signs there). The event loop only posts the data and takes the signature back. C_SignInit is not cheap
 * enough to leave on the event loop: SoftHSM decrypts and decodes the private key object on every call and
 * takes locks its signing threads hold (measured: 0.07–0.15 ms of event-loop time per signature under
 * load, a third of an OCSP response's), and a network HSM would make it a round trip.
 *
 * Mechanisms: RSA keys use CKM_SHA256_RSA_PKCS. EC keys use raw CKM_ECDSA over a host-computed digest
 * (SoftHSM 2.6 has no CKM_ECDSA_SHA256; real HSMs all have CKM_ECDSA) and the r‖s result is converted to
 * the DER Ecdsa-Sig-Value that X.509 / CRL / OCSP carry.
 */

export interface Pkcs11SignerOptions {
  modulePath: string;
  /** The user PIN of a token, by label. Locally: pins.json; CloudHSM: the crypto user's credentials. */
  pin: (tokenLabel: string) => string | Promise<string>;
  /**
   * Logged-in sessions kept per token = signatures in progress at once (default 4, the size of Node's
   * libuv thread pool; an HSM on the network wants more, SoftHSM on this host wants one per CPU).
   */
  sessionsPerToken?: number;
}

/**
 * A signing thread's program (CommonJS, evaluated in a worker): loads the module, joins the process's
 * initialization, then signs the requests of its one session in order — C_SignInit + C_Sign each. After a
 * failed operation the session may still hold an active sign operation, so the thread touches it no more:
 * what was queued behind is answered RETRY (the caller takes another session; this one is replaced).
 */
const SIGNING_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.pkcs11js);
const p = new pkcs11js.PKCS11();
p.load(workerData.modulePath);
try {
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
} catch (e) {
  if (e.code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
}
let broken = false;
parentPort.on('message', (m) => {
  if (broken) {
    parentPort.postMessage({ id: m.id, error: { message: 'session abandoned after a failed operation', code: 'RETRY' } });
    return;
  }
  try {
    const session = Buffer.from(m.session);
    p.C_SignInit(session, { mechanism: m.mechanism }, Buffer.from(m.key));
    const sig = p.C_Sign(session, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), Buffer.alloc(m.length));
    parentPort.postMessage({ id: m.id, signature: sig });
  } catch (e) {
    broken = true;
    parentPort.postMessage({ id: m.id, error: { message: String(e && e.message), code: e && e.code } });
  }
});
`;

/** A signing thread stops after this long without work (a new one starts on the next signature). */
const THREAD_IDLE_MS = 30_000;

/**
 * Signatures queued on one session's thread at once: the one being signed and the next, so that the HSM
 * never waits for the event loop to hand it work (a busy event loop would otherwise leave it idle between
 * two signatures). The thread still signs them one after the other, as a session allows.
 */
export const SESSION_QUEUE_DEPTH = 2;

/** A request queued on a session that was abandoned after a failure: safe to retry on another session. */
const RETRY = 'RETRY';
const isRetry = (e: unknown) => (e as { code?: unknown } | undefined)?.code === RETRY;

/** One session's signing thread. */
class SigningThread {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private readonly pending = new Map<
    number,
    { resolve: (sig: Uint8Array) => void; reject: (e: unknown) => void }
  >();
  private nextId = 0;

  constructor(private readonly workerData: { pkcs11js: string; modulePath: string }) {}

  private start(): Worker {
    const w = new Worker(SIGNING_THREAD, { eval: true, workerData: this.workerData });
    w.on(
      'message',
      (m: { id: number; signature?: Uint8Array; error?: { message: string; code?: number | string } }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (this.pending.size === 0) w.unref();
        this.idle?.refresh();
        if (!p) return;
        if (m.signature) p.resolve(m.signature);
        else
          p.reject(
            Object.assign(new Error(m.error?.message ?? 'signing thread error'), { code: m.error?.code }),
          );
      },
    );
    const gone = (e: unknown) => {
      if (this.worker === w) this.worker = undefined;
      this.rejectAll(new DependencyError('the HSM signing thread stopped', { cause: e }));
    };
    w.on('error', gone);
    w.on('exit', gone);
    w.unref();
    this.idle = setTimeout(() => (this.pending.size ? this.idle?.refresh() : this.stop()), THREAD_IDLE_MS);
    this.idle.unref();
    return w;
  }

  private rejectAll(e: unknown) {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }

  sign(
    session: Handle,
    key: Handle,
    mechanism: number,
    data: Uint8Array,
    length: number,
  ): Promise<Uint8Array> {
    if (this.pending.size >= SESSION_QUEUE_DEPTH)
      return Promise.reject(new InternalError('too many signatures queued on one session'));
    const w = this.worker ?? this.start();
    this.worker = w;
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.pending.set(id, { resolve, reject });
      w.ref(); // a signature in progress keeps the process alive; an idle thread does not
      w.postMessage({ id, session, key, mechanism, data, length });
    });
  }

  stop(): void {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    // Whatever was still queued is retried on another session.
    this.rejectAll(Object.assign(new Error('session replaced'), { code: RETRY }));
    void w?.terminate();
  }
}

export interface Pkcs11Signer extends Signer {
  /** Close every session of this signer (the module stays loaded for the process). */
  close(): void;
}

interface KeyEntry {
  algorithm: CaKeyAlgorithm;
  privateKey: Handle;
  spki: Uint8Array;
  signatureLength: number;
}

/** Errors after which the pool is rebuilt (HSM restarted, sessions dropped) and the call retried once. */
const SESSION_ERRORS = [
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_OBJECT_HANDLE_INVALID',
] as const;
const isSessionError = (e: unknown) => SESSION_ERRORS.some((n) => isPkcs11Error(e, n as never));

/**
 * The sessions of one token: a control session for object lookups on the event loop, and `size` signing
 * sessions, each with its signing thread and up to SESSION_QUEUE_DEPTH signatures queued on it.
 */
class TokenPool {
  /** Signatures queued per signing session. */
  private readonly load = new Map<Handle, number>();
  private waiters: { resolve: (s: Handle) => void; reject: (e: unknown) => void }[] = [];
  private readonly threads = new Map<Handle, SigningThread>();
  readonly keys = new Map<string, KeyEntry>();

  constructor(
    private readonly p: PKCS11,
    readonly label: string,
    private readonly slot: Handle,
    private readonly control: Handle,
    private readonly threadData: { pkcs11js: string; modulePath: string },
  ) {}

  static async open(
    p: PKCS11,
    label: string,
    pin: string,
    size: number,
    threadData: { pkcs11js: string; modulePath: string },
  ): Promise<TokenPool> {
    const slot = findSlotByLabel(p, label);
    if (slot === undefined) throw new DependencyError(`HSM token ${label} is not present`);
    const control = openSession(p, slot, false);
    try {
      p.C_Login(control, pkcs11js.CKU_USER, pin);
    } catch (e) {
      if (!isPkcs11Error(e, 'CKR_USER_ALREADY_LOGGED_IN')) {
        p.C_CloseSession(control);
        if (isPkcs11Error(e, 'CKR_PIN_INCORRECT') || isPkcs11Error(e, 'CKR_PIN_LOCKED')) {
          throw new InternalError(
            `HSM token ${label}: login refused (${(e as Error).message.split(':')[0]})`,
          );
        }
        throw new DependencyError(`HSM token ${label}: login failed`, { cause: e });
      }
    }
    // Login state belongs to the application and token: every session opened now is logged in.
    const pool = new TokenPool(p, label, slot, control, threadData);
    for (let i = 0; i < size; i++) pool.load.set(openSession(p, slot, false), 0);
    return pool;
  }

  /** The least loaded signing session with room in its queue (or the next one to have room). */
  acquire(): Promise<Handle> {
    let best: Handle | undefined;
    let least = SESSION_QUEUE_DEPTH;
    for (const [s, n] of this.load) {
      if (n < least) {
        best = s;
        least = n;
      }
    }
    if (best) {
      this.load.set(best, least + 1);
      return Promise.resolve(best);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The signing thread of a session of this pool. */
  thread(s: Handle): SigningThread {
    let t = this.threads.get(s);
    if (!t) {
      t = new SigningThread(this.threadData);
      this.threads.set(s, t);
    }
    return t;
  }

  release(s: Handle): void {
    const n = this.load.get(s);
    if (n === undefined) return; // replaced meanwhile
    const w = this.waiters.shift();
    if (w) w.resolve(s);
    else this.load.set(s, n - 1);
  }

  /**
   * A session whose operation failed may still hold an active sign operation (CKR_OPERATION_ACTIVE on
   * the next C_SignInit): close it and put a fresh one in its place. What was queued behind the failure is
   * answered RETRY by the thread and taken up by another session.
   */
  replace(s: Handle): void {
    if (!this.load.has(s)) return;
    this.load.delete(s);
    this.threads.get(s)?.stop();
    this.threads.delete(s);
    try {
      this.p.C_CloseSession(s);
    } catch {
      // the session is already gone
    }
    try {
      const fresh = openSession(this.p, this.slot, false);
      this.load.set(fresh, 1);
      this.release(fresh);
    } catch {
      // the token is gone; the next call rebuilds the pool
    }
  }

  /** The key pair of a reference, looked up once on the control session. */
  resolveKey(keyRef: SignerKeyRef & { provider: 'pkcs11' }): KeyEntry {
    const cached = this.keys.get(keyRef.keyId);
    if (cached) {
      if (cached.algorithm !== keyRef.algorithm) {
        throw new InternalError(
          `key ${keyRef.keyId} on ${this.label} is ${cached.algorithm}, the reference says ${keyRef.algorithm}`,
        );
      }
      return cached;
    }
    const pair = findKeyPair(this.p, this.control, Buffer.from(keyRef.keyId, 'hex'));
    if (!pair) throw new InternalError(`no key pair ${keyRef.keyId} on HSM token ${this.label}`);
    const spki = publicKeySpki(this.p, this.control, pair.publicKey);
    const info = inspectPublicKey(spki);
    if (info.algorithm !== keyRef.algorithm) {
      throw new InternalError(
        `key ${keyRef.keyId} on ${this.label} is ${info.algorithm}, the reference says ${keyRef.algorithm}`,
      );
    }
    const entry = {
      algorithm: keyRef.algorithm,
      privateKey: pair.privateKey,
      spki,
      signatureLength: signatureLength(keyRef.algorithm),
    };
    this.keys.set(keyRef.keyId, entry);
    return entry;
  }

  close(): void {
    // Requests waiting for a session go to the next pool.
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.reject(Object.assign(new Error('pool closed'), { code: RETRY }));
    for (const t of this.threads.values()) t.stop();
    this.threads.clear();
    for (const s of [...this.load.keys(), this.control]) {
      try {
        this.p.C_CloseSession(s);
      } catch {
        // already gone with the HSM
      }
    }
    this.load.clear();
    this.keys.clear();
  }
}

const signatureLength = (a: CaKeyAlgorithm): number => {
  switch (a) {
    case 'RSA-2048':
      return 256;
    case 'RSA-3072':
      return 384;
    case 'RSA-4096':
      return 512;
    case 'EC-P256':
      return 64;
    case 'EC-P384':
      return 96;
  }
};

export const createPkcs11Signer = (options: Pkcs11SignerOptions): Pkcs11Signer => {
  const p = openModule(options.modulePath);
  const size = Math.max(1, options.sessionsPerToken ?? 4);
  const threadData = {
    pkcs11js: createRequire(import.meta.url).resolve('pkcs11js'),
    modulePath: options.modulePath,
  };
  const pools = new Map<string, Promise<TokenPool>>();

  const poolFor = (label: string): Promise<TokenPool> => {
    let pool = pools.get(label);
    if (!pool) {
      pool = (async () => TokenPool.open(p, label, await options.pin(label), size, threadData))();
      pools.set(label, pool);
      pool.catch(() => pools.delete(label));
    }
    return pool;
  };

  const reset = async (label: string) => {
    const pool = pools.get(label);
    pools.delete(label);
    if (pool) (await pool.catch(() => undefined))?.close();
  };

  const asDependencyError = (label: string, e: unknown) =>
    e instanceof InternalError || e instanceof DependencyError
      ? e
      : new DependencyError(`HSM token ${label}: ${(e as Error).message}`, { cause: e });

  /** The token's pool and the key pair of a reference (looked up once per pool). */
  const keyOf = async (keyRef: SignerKeyRef): Promise<{ pool: TokenPool; key: KeyEntry }> => {
    if (keyRef.provider !== 'pkcs11')
      throw new InternalError(`PKCS#11 signer cannot use a ${keyRef.provider} key`);
    try {
      const pool = await poolFor(keyRef.token);
      return { pool, key: pool.resolveKey(keyRef) };
    } catch (e) {
      throw asDependencyError(keyRef.token, e);
    }
  };

  /** One signature on a session of the key's token: a session error rebuilds the pool once. */
  const onSession = async (
    keyRef: SignerKeyRef,
    op: (thread: SigningThread, session: Handle, key: KeyEntry) => Promise<Uint8Array>,
  ): Promise<Uint8Array> => {
    for (let attempt = 0, retries = 0; ; ) {
      const { pool, key } = await keyOf(keyRef);
      const session = await pool.acquire().catch((e) => {
        if (isRetry(e) && ++retries <= 8) return undefined;
        throw asDependencyError(pool.label, e);
      });
      if (session === undefined) continue;
      let failed = false;
      try {
        return await op(pool.thread(session), session, key);
      } catch (e) {
        failed = true;
        // Queued behind another request's failure on the same session: never sent to the HSM.
        if (isRetry(e) && ++retries <= 8) continue;
        if (attempt++ === 0 && isSessionError(e)) {
          await reset(pool.label);
          continue;
        }
        throw asDependencyError(pool.label, e);
      } finally {
        if (failed) pool.replace(session);
        else pool.release(session);
      }
    }
  };

  return {
    sign: (keyRef, tbs) =>
      onSession(keyRef, async (thread, session, key) => {
        if (isRsa(keyRef.algorithm))
          return thread.sign(session, key.privateKey, pkcs11js.CKM_SHA256_RSA_PKCS, tbs, key.signatureLength);
        const digest = createHash(signatureAlgorithmOf(keyRef.algorithm).hash).update(tbs).digest();
        return p1363ToDer(
          await thread.sign(session, key.privateKey, pkcs11js.CKM_ECDSA, digest, key.signatureLength),
        );
      }),
    publicKey: async (keyRef) => (await keyOf(keyRef)).key.spki,
    close: () => {
      for (const label of [...pools.keys()]) void reset(label);
    },
  };
};
