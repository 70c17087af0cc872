import { InternalError } from '../../errors.js';
import { CRL_CA_ID, type CrlBlobStore } from '../../ports/crl-blobs.js';

/** Published CRLs kept in this process (tests, benchmarks). Copies in and out, like a real store. */
export const createMemoryCrlBlobs = (): CrlBlobStore & { readonly size: number } => {
  const blobs = new Map<string, Uint8Array>();
  const check = (caId: string) => {
    if (!CRL_CA_ID.test(caId)) throw new InternalError(`not a CA id: ${caId}`);
  };
  return {
    get size() {
      return blobs.size;
    },
    async put(caId, der) {
      check(caId);
      blobs.set(caId, Uint8Array.from(der));
    },
    async get(caId) {
      check(caId);
      const der = blobs.get(caId);
      return der ? Uint8Array.from(der) : undefined;
    },
  };
};
