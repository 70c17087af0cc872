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
 * initialization, then signs one request at a time — C_SignInit + C_Sign on the session it is given.
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
parentPort.on('message', (m) => {
  try {
    const session = Buffer.from(m.session);
    p.C_SignInit(session, { mechanism: m.mechanism }, Buffer.from(m.key));
    const sig = p.C_Sign(session, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), Buffer.alloc(m.length));
    parentPort.postMessage({ id: m.id, signature: sig });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { message: String(e && e.message), code: e && e.code } });
  }
});
`;

/** A signing thread stops after this long without work (a new one starts on the next signature). */
const THREAD_IDLE_MS = 30_000;

/** One session's signing thread: one signature at a time, as a session allows. */
class SigningThread {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private pending: { resolve: (sig: Uint8Array) => void; reject: (e: unknown) => void } | undefined;
  private nextId = 0;

  constructor(private readonly workerData: { pkcs11js: string; modulePath: string }) {}

  private start(): Worker {
    const w = new Worker(SIGNING_THREAD, { eval: true, workerData: this.workerData });
    w.on('message', (m: { signature?: Uint8Array; error?: { message: string; code?: number } }) => {
      const p = this.pending;
      this.pending = undefined;
      w.unref();
      this.idle?.refresh();
      if (!p) return;
      if (m.signature) p.resolve(m.signature);
      else
        p.reject(
          Object.assign(new Error(m.error?.message ?? 'signing thread error'), { code: m.error?.code }),
        );
    });
    const gone = (e: unknown) => {
      if (this.worker === w) this.worker = undefined;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(new DependencyError('the HSM signing thread stopped', { cause: e }));
    };
    w.on('error', gone);
    w.on('exit', gone);
    w.unref();
    this.idle = setTimeout(() => (this.pending ? this.idle?.refresh() : this.stop()), THREAD_IDLE_MS);
    this.idle.unref();
    return w;
  }

  sign(
    session: Handle,
    key: Handle,
    mechanism: number,
    data: Uint8Array,
    length: number,
  ): Promise<Uint8Array> {
    if (this.pending) return Promise.reject(new InternalError('a session signs one thing at a time'));
    const w = this.worker ?? this.start();
    this.worker = w;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      w.ref(); // a signature in progress keeps the process alive; an idle thread does not
      w.postMessage({ id: ++this.nextId, session, key, mechanism, data, length });
    });
  }

  stop(): void {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
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

class TokenPool {
  private idle: Handle[] = [];
  private all: Handle[] = [];
  private waiters: ((s: Handle) => void)[] = [];
  private readonly threads = new Map<Handle, SigningThread>();
  readonly keys = new Map<string, KeyEntry>();

  constructor(
    private readonly p: PKCS11,
    readonly label: string,
    private readonly slot: Handle,
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
    const pool = new TokenPool(p, label, slot, threadData);
    const first = openSession(p, slot, false);
    try {
      p.C_Login(first, pkcs11js.CKU_USER, pin);
    } catch (e) {
      if (!isPkcs11Error(e, 'CKR_USER_ALREADY_LOGGED_IN')) {
        p.C_CloseSession(first);
        if (isPkcs11Error(e, 'CKR_PIN_INCORRECT') || isPkcs11Error(e, 'CKR_PIN_LOCKED')) {
          throw new InternalError(
            `HSM token ${label}: login refused (${(e as Error).message.split(':')[0]})`,
          );
        }
        throw new DependencyError(`HSM token ${label}: login failed`, { cause: e });
      }
    }
    // Login state belongs to the application and token: every session opened now is logged in.
    pool.all.push(first);
    for (let i = 1; i < size; i++) pool.all.push(openSession(p, slot, false));
    pool.idle = [...pool.all];
    return pool;
  }

  acquire(): Promise<Handle> {
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.push(resolve));
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
    const w = this.waiters.shift();
    if (w) w(s);
    else this.idle.push(s);
  }

  /**
   * A session whose operation failed may still hold an active sign operation (CKR_OPERATION_ACTIVE on
   * the next C_SignInit): close it and put a fresh one in its place.
   */
  replace(s: Handle): void {
    this.threads.get(s)?.stop();
    this.threads.delete(s);
    try {
      this.p.C_CloseSession(s);
    } catch {
      // the session is already gone
    }
    this.all = this.all.filter((x) => x !== s);
    try {
      const fresh = openSession(this.p, this.slot, false);
      this.all.push(fresh);
      this.release(fresh);
    } catch {
      // the token is gone; the next call rebuilds the pool
    }
  }

  resolveKey(session: Handle, keyRef: SignerKeyRef & { provider: 'pkcs11' }): KeyEntry {
    const cached = this.keys.get(keyRef.keyId);
    if (cached) {
      if (cached.algorithm !== keyRef.algorithm) {
        throw new InternalError(
          `key ${keyRef.keyId} on ${this.label} is ${cached.algorithm}, the reference says ${keyRef.algorithm}`,
        );
      }
      return cached;
    }
    const pair = findKeyPair(this.p, session, Buffer.from(keyRef.keyId, 'hex'));
    if (!pair) throw new InternalError(`no key pair ${keyRef.keyId} on HSM token ${this.label}`);
    const spki = publicKeySpki(this.p, session, pair.publicKey);
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
    for (const t of this.threads.values()) t.stop();
    this.threads.clear();
    for (const s of this.all) {
      try {
        this.p.C_CloseSession(s);
      } catch {
        // already gone with the HSM
      }
    }
    this.all = [];
    this.idle = [];
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

  const withSession = async <T>(
    keyRef: SignerKeyRef,
    op: (pool: TokenPool, session: Handle, key: KeyEntry) => Promise<T>,
  ): Promise<T> => {
    if (keyRef.provider !== 'pkcs11')
      throw new InternalError(`PKCS#11 signer cannot use a ${keyRef.provider} key`);
    for (let attempt = 0; ; attempt++) {
      const pool = await poolFor(keyRef.token);
      const session = await pool.acquire();
      let failed = false;
      try {
        return await op(pool, session, pool.resolveKey(session, keyRef));
      } catch (e) {
        failed = true;
        if (attempt === 0 && isSessionError(e)) {
          await reset(keyRef.token);
          continue;
        }
        if (e instanceof InternalError || e instanceof DependencyError) throw e;
        throw new DependencyError(`HSM token ${keyRef.token}: ${(e as Error).message}`, { cause: e });
      } finally {
        if (failed) pool.replace(session);
        else pool.release(session);
      }
    }
  };

  return {
    sign: (keyRef, tbs) =>
      withSession(keyRef, async (pool, session, key) => {
        const thread = pool.thread(session);
        if (isRsa(keyRef.algorithm))
          return thread.sign(session, key.privateKey, pkcs11js.CKM_SHA256_RSA_PKCS, tbs, key.signatureLength);
        const digest = createHash(signatureAlgorithmOf(keyRef.algorithm).hash).update(tbs).digest();
        return p1363ToDer(
          await thread.sign(session, key.privateKey, pkcs11js.CKM_ECDSA, digest, key.signatureLength),
        );
      }),
    publicKey: (keyRef) => withSession(keyRef, async (_pool, _session, key) => key.spki),
    close: () => {
      for (const label of [...pools.keys()]) void reset(label);
    },
  };
};
