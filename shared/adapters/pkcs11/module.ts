import { createRequire } from 'node:module';
import { runInThisContext } from 'node:vm';
import type * as Pkcs11Types from 'pkcs11js';

/**
 * The PKCS#11 library, loaded once per process. pkcs11js keeps native state per process and refuses a
 * second C_Initialize, so every user of PKCS#11 in a process goes through `openModule`.
 *
 * Which tokens a SoftHSM process sees is decided by SOFTHSM2_CONF when the module initializes: the CA
 * (signer) and the card station are separate processes with separate token folders, as they are
 * separate machines in production.
 */
const require = createRequire(import.meta.url);
export const pkcs11js: typeof Pkcs11Types = require('pkcs11js');
export type PKCS11 = Pkcs11Types.PKCS11;
export type Handle = Pkcs11Types.Handle;
export type Template = Pkcs11Types.Template;

const modules = new Map<string, PKCS11>();
/** SOFTHSM2_CONF as it was when the open module initialized. */
let initializedConf: string | undefined;

export const openModule = (libraryPath: string): PKCS11 => {
  const existing = modules.get(libraryPath);
  if (existing) return existing;
  const p = new pkcs11js.PKCS11();
  initializedConf = (runInThisContext('process') as NodeJS.Process).env.SOFTHSM2_CONF;
  p.load(libraryPath);
  try {
    // CKF_OS_LOCKING_OK: without it SoftHSM disables its mutexes and concurrent C_SignAsync calls on
    // several sessions corrupt its heap (observed: "malloc(): unaligned fastbin chunk", segfault).
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (!isPkcs11Error(e, 'CKR_CRYPTOKI_ALREADY_INITIALIZED')) throw e;
  }
  modules.set(libraryPath, p);
  return p;
};

/** Finalize every module this process opened (tests, clean shutdown). */
export const closeModules = (): void => {
  for (const [path, p] of modules) {
    try {
      p.C_Finalize();
    } catch {
      // already finalized
    }
    modules.delete(path);
  }
};

export const isPkcs11Error = (e: unknown, name: keyof typeof Pkcs11Types): boolean =>
  typeof e === 'object' &&
  e !== null &&
  'code' in e &&
  (e as { code: unknown }).code === (pkcs11js as unknown as Record<string, number>)[name];

export const tokenLabel = (p: PKCS11, slot: Handle): string => p.C_GetTokenInfo(slot).label.trim();

/** Slots holding an initialized token, with their labels. */
export const listTokens = (p: PKCS11): { slot: Handle; label: string; serial: string }[] =>
  p.C_GetSlotList(true).flatMap((slot) => {
    const info = p.C_GetTokenInfo(slot);
    if ((info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0) return [];
    return [{ slot, label: info.label.trim(), serial: info.serialNumber.trim() }];
  });

export const findSlotByLabel = (p: PKCS11, label: string): Handle | undefined =>
  listTokens(p).find((t) => t.label === label)?.slot;

/**
 * Initialize a new token in the first free slot (SoftHSM always offers one uninitialized slot) and set
 * its user PIN. Returns the slot of the new token. Labels are at most 32 characters.
 */
export const initToken = (p: PKCS11, label: string, soPin: string, userPin: string): Handle => {
  if (label.length > 32) throw new Error(`token label longer than 32 characters: ${label}`);
  const free = p.C_GetSlotList(false).find((s) => {
    const info = p.C_GetTokenInfo(s);
    return (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0;
  });
  if (free === undefined) throw new Error('no free PKCS#11 slot to initialize a token in');
  p.C_InitToken(free, soPin, label.padEnd(32, ' '));
  // SoftHSM renumbers slots after initialization: find the token again by label.
  const slot = findSlotByLabel(p, label);
  if (slot === undefined) throw new Error(`token ${label} not found after initialization`);
  const s = p.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
  try {
    p.C_Login(s, pkcs11js.CKU_SO, soPin);
    p.C_InitPIN(s, userPin);
    p.C_Logout(s);
  } finally {
    p.C_CloseSession(s);
  }
  return slot;
};

export const openSession = (p: PKCS11, slot: Handle, rw = true): Handle =>
  p.C_OpenSession(slot, (rw ? pkcs11js.CKF_RW_SESSION : 0) | pkcs11js.CKF_SERIAL_SESSION);

export const findObjects = (p: PKCS11, session: Handle, template: Template, max = 100): Handle[] => {
  p.C_FindObjectsInit(session, template);
  try {
    return p.C_FindObjects(session, max);
  } finally {
    p.C_FindObjectsFinal(session);
  }
};

/** The SubjectPublicKeyInfo (DER) of an RSA or EC public key object, built from its attributes. */
export const ecPointFromAttribute = (raw: Buffer): Buffer => {
  // CKA_EC_POINT is a DER OCTET STRING wrapping the uncompressed point 04|X|Y.
  if (raw[0] === 0x04 && (raw[1] === raw.length - 2 || raw[1] === 0x81 || raw[1] === 0x82)) {
    const headerLength = raw[1]! < 0x80 ? 2 : raw[1] === 0x81 ? 3 : 4;
    return raw.subarray(headerLength);
  }
  return raw;
};

/**
 * Points SoftHSM at a config file for this process. SoftHSM reads SOFTHSM2_CONF with getenv() once, at
 * C_Initialize, so it must be set before the first `openModule`. It is set on the process object of the
 * main V8 context: inside a jest test file `process.env` is a sandboxed copy that never reaches native
 * code (SoftHSM would silently use the system-wide token folder). Outside jest both are the same object.
 */
export const useSoftHsmConfig = (confPath: string): void => {
  const real = runInThisContext('process') as NodeJS.Process;
  // An initialized module keeps the token folder it started with: switching now would silently act on
  // the wrong tokens (e.g. CA keys created among the cards). After closeModules() a switch is fine.
  if (modules.size > 0 && initializedConf !== undefined && initializedConf !== confPath) {
    throw new Error(
      `this process uses SoftHSM tokens from ${initializedConf}, not ${confPath}: one token folder per process`,
    );
  }
  real.env.SOFTHSM2_CONF = confPath;
  process.env.SOFTHSM2_CONF = confPath;
};

/** SoftHSM-friendly PKCS#11 config file and token folder under `dir`. Returns the config path. */
export const softhsmConfig = async (dir: string): Promise<string> => {
  const { mkdir, writeFile, access } = await import('node:fs/promises');
  const { join, resolve } = await import('node:path');
  const abs = resolve(dir);
  const tokens = join(abs, 'tokens');
  await mkdir(tokens, { recursive: true });
  const conf = join(abs, 'softhsm2.conf');
  try {
    await access(conf);
  } catch {
    await writeFile(
      conf,
      `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    );
  }
  return conf;
};
