import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { InternalError } from '../../errors.js';
import { softhsmConfig, useSoftHsmConfig } from './module.js';
import { createPkcs11Signer, type Pkcs11Signer } from './signer.js';

/**
 * The local stand-in for the CA's HSM: SoftHSM tokens under `<STATE_DIR>/ca-hsm/`, one per CA key.
 *
 * pins.json (mode 0600) holds each token's user and SO PIN. It exists only because a local stack has no
 * HSM operator to type them: in production the PINs are entered by the key custodians at the ceremony
 * (CloudHSM crypto-user credentials come from Secrets Manager; KMS needs none). Never copy this file
 * anywhere, never log it.
 */

export interface LocalCaPins {
  note: string;
  tokens: Record<string, { userPin: string; soPin: string }>;
}

export const caHsmDir = (stateDir: string): string => join(stateDir, 'ca-hsm');
export const pinsFile = (stateDir: string): string => join(caHsmDir(stateDir), 'pins.json');

/**
 * Points this process's SoftHSM at the CA token folder. SoftHSM reads SOFTHSM2_CONF once, when the
 * module initializes, so a process already set up for another folder (e.g. card tokens) is refused
 * instead of silently creating CA keys in the wrong place.
 */
export const useCaTokenFolder = async (stateDir: string): Promise<string> => {
  const conf = resolve(await softhsmConfig(caHsmDir(stateDir)));
  // Refuses when this process already has SoftHSM open on another folder (e.g. the cards').
  useSoftHsmConfig(conf);
  return conf;
};

export const readPins = async (stateDir: string): Promise<LocalCaPins | undefined> => {
  try {
    return JSON.parse(await readFile(pinsFile(stateDir), 'utf8')) as LocalCaPins;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

/** Random PINs for tokens that have none yet; written before any token is initialized (crash-safe). */
export const ensurePins = async (stateDir: string, labels: readonly string[]): Promise<LocalCaPins> => {
  const pins = (await readPins(stateDir)) ?? {
    note: "Local stand-in for the HSM operators' PIN entry. Local stack only; never copy or log.",
    tokens: {},
  };
  const missing = labels.filter((l) => !pins.tokens[l]);
  if (missing.length === 0) return pins;
  for (const l of missing) {
    pins.tokens[l] = {
      userPin: randomBytes(12).toString('base64url'),
      soPin: randomBytes(12).toString('base64url'),
    };
  }
  const file = pinsFile(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(pins, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return pins;
};

/**
 * The PKCS#11 signer for the local CA tokens (PINs from pins.json). SoftHSM signs on this machine's CPUs,
 * so the session pool defaults to the number of CPUs: more signing threads than cores only take CPU time
 * away from the event loop that prepares the next certificates (measured in bench/issuance.ts).
 */
export const createLocalCaSigner = async (
  stateDir: string,
  opts: { modulePath: string; sessionsPerToken?: number },
): Promise<Pkcs11Signer> => {
  await useCaTokenFolder(stateDir);
  const pins = await readPins(stateDir);
  if (!pins) throw new InternalError(`no CA token PINs in ${pinsFile(stateDir)}: run the key ceremony first`);
  return createPkcs11Signer({
    modulePath: opts.modulePath,
    sessionsPerToken: opts.sessionsPerToken ?? Math.max(1, availableParallelism()),
    pin: (label) => {
      const p = pins.tokens[label];
      if (!p) throw new InternalError(`no PIN for CA token ${label}`);
      return p.userPin;
    },
  });
};
