import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError } from '../errors.js';
import type { SignerKeyRef } from '../ports/signer.js';
import { type CaDescriptor, describeCa } from './certificate.js';
import { bytesToHex } from './der.js';
import type { PkiUrls } from './profiles.js';

/**
 * What the key ceremony leaves behind in `<STATE_DIR>/pki/`, and how the running service reads it back.
 *
 *   root-ca.pem / .cer, issuing-ca.pem / .cer, ocsp-responder.pem / .cer   certificates (PEM and DER)
 *   chain.pem                                                             issuing CA + root
 *   root-ca.crl / root-ca.crl.pem                                         the root's CRL (signed at the ceremony)
 *   ca.json                                                               this description (no secrets)
 *   ceremony-log.jsonl                                                    one line per ceremony action
 */

export type AuthorityId = 'root-ca' | 'issuing-ca' | 'ocsp-responder';
export const AUTHORITY_IDS: readonly AuthorityId[] = ['root-ca', 'issuing-ca', 'ocsp-responder'];

export interface AuthorityRecord {
  role: 'root' | 'issuing' | 'ocsp-responder';
  subject: string;
  key: SignerKeyRef;
  /** PKCS#11 token label (local / CloudHSM); absent for KMS keys. */
  tokenLabel?: string;
  serialNumber: string;
  subjectKeyIdentifier: string;
  authorityKeyIdentifier?: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  /** File names inside the pki folder. */
  certificate: string;
  certificateDer: string;
  sha256: string;
}

export interface CaFile {
  format: 'acdc-ca/1';
  mode: 'local' | 'aws';
  createdAt: string;
  publicBaseUrl: string;
  urls: PkiUrls;
  /** Local mode: where the CA tokens live (relative to STATE_DIR). PINs are in `pins`, never here. */
  hsm?: { module: string; config: string; pins: string };
  authorities: Record<AuthorityId, AuthorityRecord>;
  rootCrl: { number: string; thisUpdate: string; nextUpdate: string; file: string };
}

/** The ca.json record of one certified authority (`issuer` absent for the self-signed root). */
export const authorityRecordOf = (
  d: CaDescriptor,
  role: AuthorityRecord['role'],
  issuer?: CaDescriptor,
  tokenLabel?: string,
): AuthorityRecord => ({
  role,
  subject: d.subjectText,
  key: d.key,
  ...(tokenLabel ? { tokenLabel } : {}),
  serialNumber: d.serialNumber,
  subjectKeyIdentifier: bytesToHex(d.keyIdentifier),
  ...(issuer ? { authorityKeyIdentifier: bytesToHex(issuer.keyIdentifier) } : {}),
  issuer: issuer?.subjectText ?? d.subjectText,
  notBefore: d.notBefore.toISOString(),
  notAfter: d.notAfter.toISOString(),
  certificate: `${d.id}.pem`,
  certificateDer: `${d.id}.cer`,
  sha256: createHash('sha256').update(d.certificate).digest('hex'),
});

export interface PkiMaterial {
  file: CaFile;
  root: CaDescriptor;
  issuing: CaDescriptor;
  ocspResponder: CaDescriptor;
  urls: PkiUrls;
  /** The root's CRL (DER), published at `/pki/crl/root-ca.crl`. */
  rootCrl: Uint8Array;
  /** [issuing CA, root] DER — the chain a card carries next to its certificates. */
  chain: Uint8Array[];
}

export const pkiDirOf = (stateDir: string): string => join(stateDir, 'pki');

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** Reads ca.json and the certificates the ceremony wrote. Throws InternalError when the ceremony never ran. */
export const loadPkiMaterial = async (stateDir: string): Promise<PkiMaterial> => {
  const dir = pkiDirOf(stateDir);
  let file: CaFile;
  try {
    file = JSON.parse(await readFile(join(dir, 'ca.json'), 'utf8')) as CaFile;
  } catch (e) {
    throw new InternalError(`no CA in ${dir}: run the key ceremony first (npm run ceremony)`, { cause: e });
  }
  if (file.format !== 'acdc-ca/1') throw new InternalError(`unknown ca.json format ${String(file.format)}`);
  const load = async (id: AuthorityId) => {
    const a = file.authorities[id];
    return describeCa(id, u8(await readFile(join(dir, a.certificateDer))), a.key);
  };
  const [root, issuing, ocspResponder] = await Promise.all(AUTHORITY_IDS.map(load));
  const rootCrl = u8(await readFile(join(dir, file.rootCrl.file)));
  return {
    file,
    root: root!,
    issuing: issuing!,
    ocspResponder: ocspResponder!,
    urls: file.urls,
    rootCrl,
    chain: [issuing!.certificate, root!.certificate],
  };
};
