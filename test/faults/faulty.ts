import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { Mailer, OutgoingMail } from '../../shared/ports/mailer.js';
import type { Repository } from '../../shared/ports/repository.js';
import type { CaKeyAlgorithm, Signer, SignerKeyRef } from '../../shared/ports/signer.js';

/**
 * Fault injection at the ports, for the fault, fuzz and security suites: a repository that can reject
 * (or lose the answer of) chosen writes and that knows every key ever written (so a test can read back
 * every stored item without a table scan in product code), a signer that fails or hangs on its first
 * calls, and a mailer that can be down. The product code under test is unchanged; only what it is
 * given is wrapped.
 */

// ---------------------------------------------------------------------------------------------------------
// Repository

type StoreName = keyof Repository;
const WRITES: Record<StoreName, readonly string[]> = {
  applications: ['create', 'save', 'replaceWithTombstone'],
  cards: ['create', 'save'],
  certificates: ['create', 'save'],
  cardJobs: ['create', 'save'],
  audit: ['put'],
  sessions: ['create', 'delete'],
  markers: ['claim'],
  docs: ['put'],
};

export interface WriteFault {
  store: StoreName;
  method: string;
  /** `before`: the write is rejected (nothing stored). `after`: it is stored, but the caller gets the error. */
  when: 'before' | 'after';
  /** Which calls (the write's arguments); all by default. */
  match?: (args: unknown[]) => boolean;
  /** How many matching calls fail (default 1). */
  times?: number;
  error: () => Error;
}

export interface WriteLog {
  store: StoreName;
  method: string;
  key: string;
}

/** The key under which a write lands (what `snapshot` reads back). */
const keyOf = (store: StoreName, method: string, args: unknown[]): string => {
  const a0 = args[0] as Record<string, unknown> | string;
  switch (store) {
    case 'applications':
      return String((a0 as { id: string }).id);
    case 'cards':
      return String((a0 as { cardNumber: string }).cardNumber);
    case 'certificates':
      return String((a0 as { serialNumber: string }).serialNumber);
    case 'cardJobs':
      return String((a0 as { id: string }).id);
    case 'audit':
      return String((a0 as { chain: string }).chain);
    case 'sessions':
      return method === 'delete' ? String(a0) : String((a0 as { tokenHash: string }).tokenHash);
    case 'markers':
    case 'docs':
      return String(a0);
  }
};

export interface InstrumentedRepository {
  repo: Repository;
  /** Arms a write fault; returns how many times it fired so far. */
  inject(fault: WriteFault): { fired: () => number };
  clearFaults(): void;
  /** Every write attempted, in order (rejected ones too). */
  writes: WriteLog[];
  /** Every stored item, read back by key: `<store>/<key>` → record (audit: the whole chain). */
  snapshot(): Promise<Map<string, unknown>>;
}

/**
 * Wraps every store of `inner`. Reads pass through; writes pass through the armed faults and are logged
 * with their key, so `snapshot()` can read every item back through the store's own `get`.
 */
export const instrumentRepository = (inner: Repository): InstrumentedRepository => {
  const faults: (WriteFault & { fired: number })[] = [];
  const writes: WriteLog[] = [];
  const keys = new Map<StoreName, Set<string>>();

  const trip = (store: StoreName, method: string, when: 'before' | 'after', args: unknown[]) => {
    for (const f of faults) {
      if (f.store !== store || f.method !== method || f.when !== when) continue;
      if (f.fired >= (f.times ?? 1)) continue;
      if (f.match && !f.match(args)) continue;
      f.fired++;
      throw f.error();
    }
  };

  const wrap = <S extends StoreName>(store: S): Repository[S] => {
    const target = inner[store] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const out: Record<string, unknown> = {};
    for (const method of Object.keys(target)) {
      const fn = target[method]!;
      if (typeof fn !== 'function') continue;
      if (!WRITES[store].includes(method)) {
        out[method] = (...args: unknown[]) => fn.apply(target, args);
        continue;
      }
      out[method] = async (...args: unknown[]) => {
        const key = keyOf(store, method, args);
        writes.push({ store, method, key });
        const set = keys.get(store) ?? new Set<string>();
        keys.set(store, set);
        set.add(key);
        trip(store, method, 'before', args);
        const result = await fn.apply(target, args);
        trip(store, method, 'after', args);
        return result;
      };
    }
    return out as unknown as Repository[S];
  };

  const repo = Object.fromEntries(
    (Object.keys(WRITES) as StoreName[]).map((s) => [s, wrap(s)]),
  ) as unknown as Repository;

  const read = async (store: StoreName, key: string): Promise<unknown> => {
    switch (store) {
      case 'audit': {
        const head = await inner.audit.head(key);
        return head ? inner.audit.range(key, 0, head.seq) : undefined;
      }
      case 'docs':
        return inner.docs.get(key);
      default:
        return (inner[store] as unknown as { get(k: string): Promise<unknown> }).get(key);
    }
  };

  return {
    repo,
    writes,
    inject(fault) {
      const armed = { ...fault, fired: 0 };
      faults.push(armed);
      return { fired: () => armed.fired };
    },
    clearFaults() {
      faults.length = 0;
    },
    async snapshot() {
      const out = new Map<string, unknown>();
      for (const [store, set] of keys) {
        for (const key of set) {
          const v = await read(store, key);
          if (v !== undefined) out.set(`${store}/${key}`, v);
        }
      }
      return out;
    },
  };
};

/** What differs between two snapshots (keys added, removed or changed). */
export const diffSnapshots = (before: Map<string, unknown>, after: Map<string, unknown>): string[] => {
  const changed: string[] = [];
  for (const [k, v] of after) {
    if (!before.has(k)) changed.push(`+ ${k}`);
    else if (JSON.stringify(before.get(k)) !== JSON.stringify(v)) changed.push(`~ ${k}`);
  }
  for (const k of before.keys()) if (!after.has(k)) changed.push(`- ${k}`);
  return changed;
};

// ---------------------------------------------------------------------------------------------------------
// Signer

/**
 * A software signer (node KeyObjects) whose private keys the test can see (to look for them where they
 * must never be), with faults: the next calls throw, or hang for a while and then sign.
 */
export class FaultySigner implements Signer {
  private readonly keys = new Map<string, { privateKey: KeyObject; spki: Uint8Array }>();
  private plan: ({ kind: 'throw'; error: () => Error } | { kind: 'hang'; ms: number })[] = [];
  /** Every sign call: when it started and how it ended. */
  readonly calls: { keyId: string; outcome: 'signed' | 'failed' | 'hung-then-signed' }[] = [];
  private hanging = new Set<NodeJS.Timeout>();

  add(keyId: string, algorithm: CaKeyAlgorithm): SignerKeyRef {
    const pair = algorithm.startsWith('EC-')
      ? generateKeyPairSync('ec', { namedCurve: algorithm === 'EC-P384' ? 'secp384r1' : 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: Number(algorithm.slice(4)) });
    this.keys.set(keyId, {
      privateKey: pair.privateKey,
      spki: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
    });
    return { provider: 'kms', keyId, algorithm };
  }

  /** The next `n` sign calls throw. */
  failNext(n: number, error: () => Error): void {
    for (let i = 0; i < n; i++) this.plan.push({ kind: 'throw', error });
  }

  /** The next `n` sign calls wait `ms` (past a task timeout), then sign as if nothing happened. */
  hangNext(n: number, ms: number): void {
    for (let i = 0; i < n; i++) this.plan.push({ kind: 'hang', ms });
  }

  /** Forget the faults not used yet. */
  healed(): void {
    this.plan = [];
  }

  /** The private keys (PKCS#8 DER) — for the security suite to look for them. */
  privateKeysDer(): Buffer[] {
    return [...this.keys.values()].map(
      (k) => k.privateKey.export({ type: 'pkcs8', format: 'der' }) as Buffer,
    );
  }

  privateKeyObjects(): KeyObject[] {
    return [...this.keys.values()].map((k) => k.privateKey);
  }

  async sign(ref: SignerKeyRef, tbs: Uint8Array): Promise<Uint8Array> {
    const step = this.plan.shift();
    if (step?.kind === 'throw') {
      this.calls.push({ keyId: ref.keyId, outcome: 'failed' });
      throw step.error();
    }
    if (step?.kind === 'hang') {
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          this.hanging.delete(t);
          r();
        }, step.ms);
        this.hanging.add(t);
      });
    }
    const k = this.keys.get(ref.keyId);
    if (!k) throw new Error(`no key ${ref.keyId}`);
    this.calls.push({ keyId: ref.keyId, outcome: step ? 'hung-then-signed' : 'signed' });
    const hash = ref.algorithm === 'EC-P384' ? 'sha384' : 'sha256';
    return new Uint8Array(
      sign(
        hash,
        tbs,
        ref.algorithm.startsWith('EC-') ? { key: k.privateKey, dsaEncoding: 'der' } : k.privateKey,
      ),
    );
  }

  async publicKey(ref: SignerKeyRef): Promise<Uint8Array> {
    const k = this.keys.get(ref.keyId);
    if (!k) throw new Error(`no key ${ref.keyId}`);
    return k.spki;
  }

  stop(): void {
    for (const t of this.hanging) clearTimeout(t);
    this.hanging.clear();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mailer

/** Wraps a mailer: while `down`, every send throws (like the outbox / SES adapters: a DependencyError). */
export class FaultyMailer implements Mailer {
  down = false;
  readonly failed: OutgoingMail[] = [];
  readonly sent: OutgoingMail[] = [];

  constructor(
    private readonly inner: Mailer,
    private readonly error: () => Error,
  ) {}

  async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    if (this.down) {
      this.failed.push(mail);
      throw this.error();
    }
    const r = await this.inner.send(mail);
    this.sent.push(mail);
    return r;
  }
}
