import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DependencyError, InternalError } from '../../errors.js';
import { CRL_CA_ID, type CrlBlobStore } from '../../ports/crl-blobs.js';

/**
 * Published CRLs as files, `<dir>/<caId>.crl` (DER) — locally `<STATE_DIR>/pki/crl/`, next to the CA
 * certificates the key ceremony writes. Each CRL is written under a temporary name and renamed, so a
 * reader (the local server, a relying party reading the folder) never sees half a CRL.
 */
export const createFileCrlBlobs = (dir: string): CrlBlobStore & { readonly dir: string } => {
  const path = (caId: string) => {
    if (!CRL_CA_ID.test(caId)) throw new InternalError(`not a CA id: ${caId}`);
    return join(dir, `${caId}.crl`);
  };
  let ready: Promise<unknown> | undefined;
  return {
    dir,
    async put(caId, der) {
      const target = path(caId);
      const tmp = join(dir, `.${caId}.crl.${randomBytes(6).toString('hex')}.tmp`);
      try {
        ready ??= mkdir(dir, { recursive: true });
        await ready;
        await writeFile(tmp, der);
        await rename(tmp, target);
      } catch (e) {
        ready = undefined;
        await rm(tmp, { force: true }).catch(() => undefined);
        throw new DependencyError(`could not write the ${caId} CRL to ${dir}`, { cause: e });
      }
    },
    async get(caId) {
      const target = path(caId);
      try {
        const b = await readFile(target);
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new DependencyError(`could not read the ${caId} CRL from ${dir}`, { cause: e });
      }
    },
  };
};
