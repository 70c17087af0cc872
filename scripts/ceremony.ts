import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KMSClient } from '@aws-sdk/client-kms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { createKmsSigner } from '../shared/adapters/kms/signer.js';
import {
  findCertificates,
  findKeyPair,
  generateCaKeyPair,
  privateKeyProtection,
  publicKeySpki,
  storeCertificate,
} from '../shared/adapters/pkcs11/ca-keys.js';
import {
  caHsmDir,
  createLocalCaSigner,
  ensurePins,
  pinsFile,
  useCaTokenFolder,
} from '../shared/adapters/pkcs11/local-ca.js';
import {
  findSlotByLabel,
  initToken,
  isPkcs11Error,
  openModule,
  openSession,
  pkcs11js,
} from '../shared/adapters/pkcs11/module.js';
import {
  addYears,
  assembleSigned,
  authorityTbs,
  type CaDescriptor,
  certificateParts,
  describeCa,
  signatureAlgorithmIdentifier,
} from '../shared/ca/certificate.js';
import { crlPem, signCrl, toPem } from '../shared/ca/crl.js';
import { bytesToHex, wholeSeconds } from '../shared/ca/der.js';
import { inspectPublicKey, verifySignature } from '../shared/ca/keys.js';
import {
  type AuthorityId,
  type AuthorityRecord,
  authorityRecordOf,
  type CaFile,
  loadPkiMaterial,
  type PkiMaterial,
  pkiDirOf,
} from '../shared/ca/material.js';
import { encodeDistinguishedName } from '../shared/ca/names.js';
import { OID, pkiUrls } from '../shared/ca/profiles.js';
import { newSerialNumber } from '../shared/ca/serial.js';
import { loadConfig } from '../shared/config.js';
import { InternalError, ValidationError } from '../shared/errors.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import type { CaKeyAlgorithm, Signer, SignerKeyRef } from '../shared/ports/signer.js';

/**
 * The key ceremony: creates the CA hierarchy once and never again.
 *
 *   root CA (self-signed)  ──signs──▶  issuing CA (pathLen 0)  ──signs──▶  OCSP responder (delegated)
 *                                                               ──signs──▶  holder certificates, CRLs
 *
 * Local mode: each key is generated inside its own SoftHSM token under <STATE_DIR>/ca-hsm/ (sensitive,
 * never extractable); token PINs are random and kept in ca-hsm/pins.json (0600) as the local stand-in for
 * the operators' PIN entry. AWS mode: the keys are KMS SIGN_VERIFY keys created by the infrastructure;
 * their ids are passed in, the ceremony only certifies them.
 *
 * Idempotent: existing tokens, keys, certificates and ca.json are detected and kept; a key is never
 * regenerated and a certificate is never re-issued for a CA that has one. Files are rewritten only when
 * their content would change, so a second run changes nothing. Two things are renewed when a run finds
 * them within 30 days of expiry: the OCSP responder certificate (same key) and the root CRL.
 */

export interface CeremonyOptions {
  stateDir: string;
  /** Goes into AIA / CRL DP of every certificate: `${base}/pki/...`. */
  publicBaseUrl: string;
  mode?: 'local' | 'aws';
  pkcs11Module?: string;
  /** Key algorithms (defaults: RSA-4096 root and issuing CA like MOICA G3, RSA-2048 OCSP responder). */
  algorithms?: Partial<Record<AuthorityId, CaKeyAlgorithm>>;
  subjects?: Partial<Record<AuthorityId, string>>;
  validity?: { rootYears?: number; issuingYears?: number; ocspResponderDays?: number; rootCrlDays?: number };
  /** AWS mode: the KMS keys (created by the infrastructure) and a client. */
  kms?: { keyIds: Record<AuthorityId, string>; client?: KMSClient; region?: string };
  clock?: Clock;
  log?: (line: string) => void;
}

export interface CeremonyResult {
  /** What this run created or renewed; empty when everything existed. */
  actions: string[];
  pkiDir: string;
  material: PkiMaterial;
  /** Key generation time per key generated in this run, in milliseconds. */
  keygenMs: Partial<Record<AuthorityId, number>>;
}

export const DEFAULT_SUBJECTS: Record<AuthorityId, string> = {
  'root-ca': 'C=TW, O=ACDC Demo PKI, OU=Alien Citizen Certification Authority, CN=ACDC Root CA - G1',
  'issuing-ca': 'C=TW, O=ACDC Demo PKI, OU=Alien Citizen Certification Authority, CN=ACDC Issuing CA - G1',
  'ocsp-responder':
    'C=TW, O=ACDC Demo PKI, OU=Alien Citizen Certification Authority, CN=ACDC Issuing CA - G1 OCSP Responder',
};

export const DEFAULT_ALGORITHMS: Record<AuthorityId, CaKeyAlgorithm> = {
  'root-ca': 'RSA-4096',
  'issuing-ca': 'RSA-4096',
  'ocsp-responder': 'RSA-2048',
};

export const TOKEN_LABELS: Record<AuthorityId, string> = {
  'root-ca': 'acdc-root-ca',
  'issuing-ca': 'acdc-issuing-ca',
  'ocsp-responder': 'acdc-ocsp-responder',
};

const ROLES: Record<AuthorityId, AuthorityRecord['role']> = {
  'root-ca': 'root',
  'issuing-ca': 'issuing',
  'ocsp-responder': 'ocsp-responder',
};

const RENEW_BEFORE_MS = 30 * 86400_000;
const KEY_ID = (id: AuthorityId) => Buffer.from(`${id}/1`).toString('hex');

interface KeyProvider {
  ensureKey(
    id: AuthorityId,
    algorithm: CaKeyAlgorithm,
    explicit: boolean,
  ): Promise<{ ref: SignerKeyRef; tokenLabel?: string; keygenMs?: number }>;
  /** Keeps a copy of the certificate next to the key (PKCS#11 only). */
  storeCertificate(
    id: AuthorityId,
    ref: SignerKeyRef,
    subject: Uint8Array,
    der: Uint8Array,
  ): Promise<boolean>;
  signer(): Promise<Signer>;
  close(): void;
}

const localProvider = async (
  stateDir: string,
  modulePath: string,
  log: (l: string) => void,
): Promise<KeyProvider> => {
  await useCaTokenFolder(stateDir);
  const labels = Object.values(TOKEN_LABELS);
  const pins = await ensurePins(stateDir, labels);
  const p = openModule(modulePath);
  let signer: Awaited<ReturnType<typeof createLocalCaSigner>> | undefined;

  const withUserSession = <T>(label: string, fn: (s: Buffer) => T): T => {
    const slot = findSlotByLabel(p, label);
    if (slot === undefined) throw new InternalError(`token ${label} vanished`);
    const s = openSession(p, slot, true);
    try {
      try {
        p.C_Login(s, pkcs11js.CKU_USER, pins.tokens[label]!.userPin);
      } catch (e) {
        if (!isPkcs11Error(e, 'CKR_USER_ALREADY_LOGGED_IN')) throw e;
      }
      return fn(s);
    } finally {
      p.C_CloseSession(s);
    }
  };

  return {
    async ensureKey(id, algorithm, explicit) {
      const label = TOKEN_LABELS[id];
      if (findSlotByLabel(p, label) === undefined) {
        initToken(p, label, pins.tokens[label]!.soPin, pins.tokens[label]!.userPin);
        log(`initialized HSM token ${label}`);
      }
      const keyId = KEY_ID(id);
      return withUserSession(label, (s) => {
        let keygenMs: number | undefined;
        let pair = findKeyPair(p, s, Buffer.from(keyId, 'hex'));
        if (!pair) {
          const t0 = performance.now();
          pair = generateCaKeyPair(p, s, { algorithm, id: Buffer.from(keyId, 'hex'), label: `${id} key` });
          keygenMs = Math.round(performance.now() - t0);
          const prot = privateKeyProtection(p, s, pair.privateKey);
          if (!prot.sensitive || prot.extractable || !prot.neverExtractable) {
            throw new InternalError(`the ${id} private key is not protected (sensitive, never extractable)`);
          }
        }
        const actual = inspectPublicKey(publicKeySpki(p, s, pair.publicKey)).algorithm;
        if (!actual) throw new InternalError(`the ${id} key in ${label} has an unsupported type`);
        if (actual !== algorithm && explicit)
          log(
            `note: ${id} keeps its existing ${actual} key (requested ${algorithm}; keys are never regenerated)`,
          );
        return {
          ref: { provider: 'pkcs11', token: label, keyId, algorithm: actual },
          tokenLabel: label,
          keygenMs,
        };
      });
    },
    async storeCertificate(id, ref, subject, der) {
      if (ref.provider !== 'pkcs11') return false;
      return withUserSession(ref.token, (s) => {
        const idBytes = Buffer.from(ref.keyId, 'hex');
        if (findCertificates(p, s, idBytes).some((c) => c.equals(Buffer.from(der)))) return false;
        storeCertificate(p, s, { id: idBytes, label: `${id} certificate`, subject, der });
        return true;
      });
    },
    async signer() {
      signer ??= await createLocalCaSigner(stateDir, { modulePath, sessionsPerToken: 1 });
      return signer;
    },
    close() {
      signer?.close();
    },
  };
};

const kmsProvider = (kms: NonNullable<CeremonyOptions['kms']>): KeyProvider => {
  const client = kms.client ?? new KMSClient(kms.region ? { region: kms.region } : {});
  const signer = createKmsSigner(client);
  return {
    async ensureKey(id, algorithm) {
      const keyId = kms.keyIds[id];
      if (!keyId)
        throw new ValidationError(
          `kms.keyIds.${id}`,
          'ceremony.kmsKey',
          'a KMS key id is required in AWS mode',
        );
      const ref: SignerKeyRef = { provider: 'kms', keyId, algorithm };
      await signer.publicKey(ref); // checks SIGN_VERIFY and the key spec
      return { ref };
    },
    storeCertificate: async () => false,
    signer: async () => signer,
    close() {},
  };
};

/** Writes a file only if its content would change (so a re-run leaves mtimes alone). */
const writeIfChanged = async (path: string, content: Uint8Array | string): Promise<boolean> => {
  const next = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
  try {
    if ((await readFile(path)).equals(next)) return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, next);
  await rename(tmp, path);
  return true;
};

const readIfExists = async (path: string): Promise<Uint8Array | undefined> => {
  try {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

/** One ceremony at a time per state folder (e.g. two `npm start` at once). */
const lock = async (pkiDir: string): Promise<() => Promise<void>> => {
  const path = join(pkiDir, '.ceremony.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(path, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return () => unlink(path).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      let alive = false;
      try {
        if (pid > 0) {
          process.kill(pid, 0);
          alive = pid !== process.pid;
        }
      } catch {
        alive = false;
      }
      if (alive) throw new InternalError(`another key ceremony (pid ${pid}) is running on ${pkiDir}`);
      await unlink(path).catch(() => undefined); // left by a crashed run
    }
  }
  throw new InternalError(`cannot take the ceremony lock in ${pkiDir}`);
};

export const runCeremony = async (options: CeremonyOptions): Promise<CeremonyResult> => {
  const mode = options.mode ?? 'local';
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const stateDir = resolve(options.stateDir);
  const pkiDir = pkiDirOf(stateDir);
  const urls = pkiUrls(options.publicBaseUrl);
  const defined = <T>(o: Partial<Record<AuthorityId, T>> | undefined) =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<
      Record<AuthorityId, T>
    >;
  const algorithms = { ...DEFAULT_ALGORITHMS, ...defined(options.algorithms) };
  const subjectText = { ...DEFAULT_SUBJECTS, ...defined(options.subjects) };
  const subjects = Object.fromEntries(
    (Object.keys(subjectText) as AuthorityId[]).map((id) => [
      id,
      encodeDistinguishedName(subjectText[id], `subjects.${id}`),
    ]),
  ) as Record<AuthorityId, Uint8Array>;
  const validity = {
    rootYears: 25,
    issuingYears: 20,
    ocspResponderDays: 365,
    rootCrlDays: 365,
    ...options.validity,
  };
  if (mode === 'aws' && !options.kms)
    throw new ValidationError('kms', 'ceremony.kms', 'AWS mode needs the KMS key ids');

  await mkdir(pkiDir, { recursive: true });
  const unlock = await lock(pkiDir);
  const actions: string[] = [];
  const keygenMs: Partial<Record<AuthorityId, number>> = {};
  const journal = async (action: string, details: Record<string, unknown>) => {
    actions.push(action);
    log(action);
    await appendFile(
      join(pkiDir, 'ceremony-log.jsonl'),
      `${JSON.stringify({ at: clock.now().toISOString(), action, ...details })}\n`,
    );
  };

  const provider =
    mode === 'aws'
      ? kmsProvider(options.kms!)
      : await localProvider(stateDir, options.pkcs11Module ?? '/usr/lib/softhsm/libsofthsm2.so', log);
  try {
    const previous = await readIfExists(join(pkiDir, 'ca.json'));
    const previousFile = previous
      ? (JSON.parse(Buffer.from(previous).toString('utf8')) as CaFile)
      : undefined;

    const keys = {} as Record<AuthorityId, { ref: SignerKeyRef; tokenLabel?: string }>;
    for (const id of ['root-ca', 'issuing-ca', 'ocsp-responder'] as const) {
      const k = await provider.ensureKey(id, algorithms[id], options.algorithms?.[id] !== undefined);
      keys[id] = k;
      if (k.keygenMs !== undefined) {
        keygenMs[id] = k.keygenMs;
        await journal(
          `generated ${k.ref.algorithm} key for ${id}${k.tokenLabel ? ` in token ${k.tokenLabel}` : ''} (${k.keygenMs} ms; sensitive, never extractable)`,
          { key: k.ref, keygenMs: k.keygenMs },
        );
      }
    }
    const signer = await provider.signer();

    /** Loads the certificate of `id`, or issues it; a certificate for another key is a hard stop. */
    const ensureCertificate = async (
      id: AuthorityId,
      issuer: CaDescriptor | undefined,
      lifetime: (start: Date) => Date,
      renew: boolean,
    ): Promise<CaDescriptor> => {
      const ref = keys[id].ref;
      const spki = await signer.publicKey(ref);
      const derPath = join(pkiDir, `${id}.cer`);
      const existing = await readIfExists(derPath);
      if (existing) {
        const parts = certificateParts(existing);
        if (!Buffer.from(parts.spki).equals(Buffer.from(spki))) {
          throw new InternalError(
            `${derPath} does not certify the ${id} key in the HSM; refusing to continue`,
          );
        }
        const current = describeCa(id, existing, ref);
        const expiring = current.notAfter.getTime() - clock.now().getTime() < RENEW_BEFORE_MS;
        if (!(renew && expiring)) return current;
      }
      const start = wholeSeconds(clock.now());
      const signingRef = issuer ? issuer.key : ref;
      let notAfter = lifetime(start);
      if (issuer && notAfter > issuer.notAfter) notAfter = issuer.notAfter; // never outlive the issuer
      const tbs = authorityTbs({
        kind: ROLES[id],
        serialNumber: newSerialNumber(),
        subject: subjects[id],
        spki,
        notBefore: start,
        notAfter,
        issuer,
        signingAlgorithm: signingRef.algorithm,
        urls,
        policies: [OID.policyGpkiLevel3],
      });
      const signature = await signer.sign(signingRef, tbs);
      const signingSpki = issuer ? issuer.spki : spki;
      if (!verifySignature(signingSpki, signingRef.algorithm, tbs, signature)) {
        throw new InternalError(`the ${id} certificate signature does not verify`);
      }
      const der = assembleSigned(tbs, signatureAlgorithmIdentifier(signingRef.algorithm), signature);
      const desc = describeCa(id, der, ref);
      await writeIfChanged(join(pkiDir, `${id}.pem`), toPem(der, 'CERTIFICATE'));
      await writeIfChanged(derPath, der);
      await provider.storeCertificate(id, ref, subjects[id], der);
      await journal(`${existing ? 'renewed' : 'issued'} ${id} certificate`, {
        serialNumber: desc.serialNumber,
        subject: desc.subjectText,
        issuer: issuer?.subjectText ?? desc.subjectText,
        notBefore: desc.notBefore.toISOString(),
        notAfter: desc.notAfter.toISOString(),
        sha256: createHash('sha256').update(der).digest('hex'),
      });
      return desc;
    };

    const root = await ensureCertificate('root-ca', undefined, (s) => addYears(s, validity.rootYears), false);
    const issuing = await ensureCertificate(
      'issuing-ca',
      root,
      (s) => addYears(s, validity.issuingYears),
      false,
    );
    const ocsp = await ensureCertificate(
      'ocsp-responder',
      issuing,
      (s) => new Date(s.getTime() + validity.ocspResponderDays * 86400_000),
      true,
    );
    for (const desc of [root, issuing, ocsp]) {
      await provider.storeCertificate(desc.id as AuthorityId, desc.key, desc.subject, desc.certificate);
    }

    // The root's CRL: signed here because the root key is used only at ceremonies.
    const crlPath = join(pkiDir, 'root-ca.crl');
    let rootCrl = previousFile?.rootCrl;
    const crlDer = await readIfExists(crlPath);
    const crlFresh =
      crlDer && rootCrl && new Date(rootCrl.nextUpdate).getTime() - clock.now().getTime() > RENEW_BEFORE_MS;
    if (!crlFresh) {
      const number = crlDer ? BigInt(crlNumberOf(crlDer)) + 1n : 1n;
      const thisUpdate = wholeSeconds(clock.now());
      const nextUpdate = new Date(thisUpdate.getTime() + validity.rootCrlDays * 86400_000);
      const der = await signCrl(signer, { issuer: root, number, thisUpdate, nextUpdate, entries: [] });
      await writeIfChanged(crlPath, der);
      await writeIfChanged(join(pkiDir, 'root-ca.crl.pem'), crlPem(der));
      rootCrl = {
        number: number.toString(),
        thisUpdate: thisUpdate.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
        file: 'root-ca.crl',
      };
      await journal(`signed root CRL ${number}`, { ...rootCrl });
    }

    await writeIfChanged(
      join(pkiDir, 'chain.pem'),
      toPem(issuing.certificate, 'CERTIFICATE') + toPem(root.certificate, 'CERTIFICATE'),
    );

    const record = (d: CaDescriptor, issuer: CaDescriptor | undefined): AuthorityRecord =>
      authorityRecordOf(d, ROLES[d.id as AuthorityId], issuer, keys[d.id as AuthorityId].tokenLabel);
    if (previousFile && previousFile.publicBaseUrl !== urls.ocsp.replace(/\/pki\/ocsp$/, '')) {
      log(
        `note: public base URL changed from ${previousFile.publicBaseUrl}; new holder certificates use the new URLs`,
      );
    }
    const file: CaFile = {
      format: 'acdc-ca/1',
      mode,
      createdAt: previousFile?.createdAt ?? clock.now().toISOString(),
      publicBaseUrl: urls.ocsp.replace(/\/pki\/ocsp$/, ''),
      urls,
      ...(mode === 'local'
        ? {
            hsm: {
              module: options.pkcs11Module ?? '/usr/lib/softhsm/libsofthsm2.so',
              config: relative(stateDir, join(caHsmDir(stateDir), 'softhsm2.conf')),
              pins: relative(stateDir, pinsFile(stateDir)),
            },
          }
        : {}),
      authorities: {
        'root-ca': record(root, undefined),
        'issuing-ca': record(issuing, root),
        'ocsp-responder': record(ocsp, issuing),
      },
      rootCrl: rootCrl!,
    };
    if (await writeIfChanged(join(pkiDir, 'ca.json'), `${JSON.stringify(file, null, 2)}\n`)) {
      if (!previousFile) await journal('wrote ca.json', {});
      else actions.push('updated ca.json');
    }
    return { actions, pkiDir, material: await loadPkiMaterial(stateDir), keygenMs };
  } finally {
    provider.close();
    await unlock();
  }
};

const crlNumberOf = (der: Uint8Array): string => {
  const crl = AsnConvert.parse(der, CertificateList);
  const ext = crl.tbsCertList.crlExtensions?.find((e) => e.extnID === '2.5.29.20');
  if (!ext) return '0';
  const bytes = new Uint8Array(ext.extnValue.buffer);
  // INTEGER: tag, length, big-endian value
  return BigInt(`0x${bytesToHex(bytes.subarray(2)) || '0'}`).toString();
};

/** CLI: `npx tsx scripts/ceremony.ts [--state-dir .local] [--base-url http://127.0.0.1:8080] [...]`. */
const main = async () => {
  const { values } = parseArgs({
    options: {
      'state-dir': { type: 'string' },
      'base-url': { type: 'string' },
      mode: { type: 'string' },
      'root-key': { type: 'string' },
      'issuing-key': { type: 'string' },
      'ocsp-key': { type: 'string' },
      'root-kms-key-id': { type: 'string' },
      'issuing-kms-key-id': { type: 'string' },
      'ocsp-kms-key-id': { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run ceremony -- [--state-dir DIR] [--base-url URL] [--root-key RSA-4096] [--issuing-key RSA-4096] [--ocsp-key RSA-2048]\n' +
        '       npm run ceremony -- --mode aws --root-kms-key-id ID --issuing-kms-key-id ID --ocsp-kms-key-id ID [--region R] --base-url URL',
    );
    return;
  }
  const config = loadConfig();
  const algorithm = (v: string | undefined, flag: string): CaKeyAlgorithm | undefined => {
    if (v === undefined) return undefined;
    if (!['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'].includes(v)) {
      throw new ValidationError(
        flag,
        'ceremony.algorithm',
        'one of RSA-2048, RSA-3072, RSA-4096, EC-P256, EC-P384',
      );
    }
    return v as CaKeyAlgorithm;
  };
  const mode = (values.mode ?? (config.STAGE === 'aws' ? 'aws' : 'local')) as 'local' | 'aws';
  const result = await runCeremony({
    stateDir: values['state-dir'] ?? config.STATE_DIR,
    publicBaseUrl: values['base-url'] ?? config.PUBLIC_BASE_URL ?? `http://${config.HOST}:${config.PORT}`,
    mode,
    pkcs11Module: config.PKCS11_MODULE,
    algorithms: {
      'root-ca': algorithm(values['root-key'], 'root-key'),
      'issuing-ca': algorithm(values['issuing-key'], 'issuing-key'),
      'ocsp-responder': algorithm(values['ocsp-key'], 'ocsp-key'),
    },
    ...(mode === 'aws'
      ? {
          kms: {
            region: values.region ?? config.AWS_REGION,
            keyIds: {
              'root-ca': values['root-kms-key-id'] ?? '',
              'issuing-ca': values['issuing-kms-key-id'] ?? '',
              'ocsp-responder': values['ocsp-kms-key-id'] ?? '',
            },
          },
        }
      : {}),
    log: (l) => console.log(`ceremony: ${l}`),
  });
  const m = result.material;
  console.log(
    result.actions.length
      ? `ceremony: done (${result.actions.length} actions)`
      : 'ceremony: CA already in place; nothing changed',
  );
  for (const d of [m.root, m.issuing, m.ocspResponder]) {
    console.log(
      `  ${d.id.padEnd(15)} ${d.subjectText}  serial ${d.serialNumber}  until ${d.notAfter.toISOString()}`,
    );
  }
  console.log(`  files in ${result.pkiDir}`);
};

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`ceremony failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
