import { createHash } from 'node:crypto';
import { createMemoryCrlBlobs } from '../adapters/memory/crl-blobs.js';
import type { Actor, CertificateRecord, RevocationReason } from '../domain/model.js';
import { DependencyError, InternalError, VersionConflictError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { CrlBlobStore } from '../ports/crl-blobs.js';
import type { CertificateStore, ConfigDocStore } from '../ports/repository.js';
import type { Signer } from '../ports/signer.js';
import {
  assembleSigned,
  type CaDescriptor,
  serialToBytes,
  signatureAlgorithmIdentifier,
} from './certificate.js';
import {
  type Bytes,
  concat,
  explicit,
  seq,
  smallInteger,
  time,
  tlv,
  unsignedInteger,
  wholeSeconds,
} from './der.js';
import { authorityKeyIdentifier, crlNumber, reasonCodeExtension } from './extensions.js';
import { verifySignature } from './keys.js';

/**
 * Full CRLs (RFC 5280 §5), one per CA: version 2, AKI, a monotonic CRL number, thisUpdate/nextUpdate,
 * one entry per revoked or held certificate (reasonCode; certificateHold for a suspension; no entry once
 * a hold is released). Entries come from the revocation index, never from a scan.
 *
 * The CRL number lives in one ConfigDocStore document per CA, written conditionally on its version: two
 * publishers racing both build a CRL, only one stores it, the other rebuilds with the next number. So
 * numbers only go up and a stored number is never reused for different content. The document keeps the
 * CRL's number, dates, entry count, size and SHA-256; the CRL itself (≈ 40 bytes an entry, megabytes for
 * a national CA, past DynamoDB's 400 KB item) is published to a CrlBlobStore (shared/ports/crl-blobs.ts)
 * by the winner of the document, after the document. A reader takes the blob only when its SHA-256 is the
 * document's: a publisher that died between the two writes, or an older CRL landing after a newer one,
 * shows as "no current CRL", and the next read regenerates.
 */

export interface CrlEntry {
  serialNumber: string;
  revocationDate: Date;
  /** Absent for `unspecified` (RFC 5280 §5.3.1: the reasonCode SHOULD then be absent). */
  reason?: RevocationReason;
}

export interface CrlFields {
  issuer: CaDescriptor;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: readonly CrlEntry[];
}

/** TBSCertList (v2) — dates truncated to whole seconds (the x509 library's millisecond times are not DER-legal). */
export const crlTbs = (f: CrlFields): Bytes => {
  const entries = [...f.entries]
    .sort((a, b) => (a.serialNumber < b.serialNumber ? -1 : a.serialNumber > b.serialNumber ? 1 : 0))
    .map((e) =>
      seq(
        unsignedInteger(serialToBytes(e.serialNumber)),
        time(wholeSeconds(e.revocationDate)),
        ...(e.reason && e.reason !== 'unspecified' ? [seq(reasonCodeExtension(e.reason))] : []),
      ),
    );
  return seq(
    smallInteger(1),
    signatureAlgorithmIdentifier(f.issuer.key.algorithm),
    f.issuer.subject,
    time(wholeSeconds(f.thisUpdate)),
    time(wholeSeconds(f.nextUpdate)),
    // concat, not seq(...entries): a spread of 100,000+ arguments overflows the call stack.
    ...(entries.length ? [tlv(0x30, concat(entries))] : []),
    explicit(0, seq(authorityKeyIdentifier(f.issuer.keyIdentifier), crlNumber(f.number))),
  );
};

/** Signs a CRL with the CA's key and checks the signature before anyone sees it. */
export const signCrl = async (signer: Signer, f: CrlFields): Promise<Bytes> => {
  const tbs = crlTbs(f);
  const signature = await signer.sign(f.issuer.key, tbs);
  if (!verifySignature(f.issuer.spki, f.issuer.key.algorithm, tbs, signature)) {
    throw new InternalError(`the signature of ${f.issuer.id} CRL ${f.number} does not verify`);
  }
  return assembleSigned(tbs, signatureAlgorithmIdentifier(f.issuer.key.algorithm), signature);
};

/** PEM for a CRL. The label must be `X509 CRL` (OpenSSL refuses `CRL`). */
export const crlPem = (der: Bytes): string => toPem(der, 'X509 CRL');

export const toPem = (der: Bytes, label: string): string => {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
};

/** A CertificateRecord on hold or revoked, as a CRL entry. */
export const crlEntryOf = (r: CertificateRecord): CrlEntry | undefined => {
  if (r.status === 'hold' && r.holdAt)
    return { serialNumber: r.serialNumber, revocationDate: new Date(r.holdAt), reason: 'certificateHold' };
  if (r.status === 'revoked' && r.revokedAt) {
    return {
      serialNumber: r.serialNumber,
      revocationDate: new Date(r.revokedAt),
      reason: r.revocationReason ?? 'unspecified',
    };
  }
  return undefined;
};

/** The table document of a CA's latest CRL (`crl/<caId>`); the DER is in the CrlBlobStore. */
export interface CrlDocument {
  caId: string;
  /** Decimal string: CRL numbers may grow beyond 2^53 in theory (RFC 5280 allows 20 octets). */
  number: string;
  thisUpdate: string;
  nextUpdate: string;
  entries: number;
  /** Bytes of the DER CRL. */
  size: number;
  /** SHA-256 of the DER CRL, hex: the published blob must have it. */
  sha256: string;
}

/** What a publisher knows about a CRL without its bytes. */
export interface CrlInfo {
  caId: string;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
  size: number;
  sha256: string;
}

export interface PublishedCrl extends CrlInfo {
  der: Bytes;
  /** PEM (`X509 CRL`), made on first use. */
  readonly pem: string;
}

export const crlDocumentName = (caId: string): string => `crl/${caId}`;

export const crlInfoOf = (doc: CrlDocument): CrlInfo => ({
  caId: doc.caId,
  number: BigInt(doc.number),
  thisUpdate: new Date(doc.thisUpdate),
  nextUpdate: new Date(doc.nextUpdate),
  entries: doc.entries,
  size: doc.size,
  sha256: doc.sha256,
});

const sha256Hex = (b: Bytes) => createHash('sha256').update(b).digest('hex');

const published = (info: CrlInfo, der: Bytes): PublishedCrl => {
  let pem: string | undefined;
  return {
    ...info,
    der,
    get pem() {
      pem ??= crlPem(der);
      return pem;
    },
  };
};

/** The last CRL bytes a reader verified, so that an unchanged CRL is not fetched and hashed again. */
export interface CrlReadCache {
  sha256?: string;
  der?: Bytes;
}

/**
 * The latest CRL of a CA as readers see it: the table document and the blob, when the blob is the one
 * the document names (same SHA-256); otherwise undefined. With a cache, the blob is fetched only when the
 * document names a CRL other than the one read last.
 */
export const readPublishedCrl = async (
  docs: ConfigDocStore,
  blobs: CrlBlobStore,
  caId: string,
  cache?: CrlReadCache,
): Promise<PublishedCrl | undefined> => {
  const doc = await docs.get<CrlDocument>(crlDocumentName(caId));
  if (!doc || typeof doc.sha256 !== 'string') return undefined;
  if (cache?.der && cache.sha256 === doc.sha256) return published(crlInfoOf(doc), cache.der);
  const der = await blobs.get(caId);
  if (!der || der.byteLength !== doc.size || sha256Hex(der) !== doc.sha256) return undefined;
  if (cache) {
    cache.sha256 = doc.sha256;
    cache.der = der;
  }
  return published(crlInfoOf(doc), der);
};

export interface CrlPublisherDeps {
  docs: ConfigDocStore;
  certificates: CertificateStore;
  signer: Signer;
  clock: Clock;
  ca: CaDescriptor;
  /**
   * Where CRLs are published (S3 in AWS, files locally). Default: this process's memory, which only a
   * test or a benchmark should rely on.
   */
  blobs?: CrlBlobStore;
  audit?: AuditLog;
  /** thisUpdate → nextUpdate (default 24 hours). */
  validityHours?: number;
  /** Regenerate on read once this little time is left before nextUpdate (default 1/4 of the validity). */
  refreshBeforeHours?: number;
}

export interface CrlPublisher {
  /**
   * Builds, signs and publishes a new CRL with the next number. Call on every status change and on a
   * schedule. Returns what was published (without the bytes: a remote publisher never fetches them).
   */
  regenerate(actor?: Actor): Promise<CrlInfo>;
  /** The latest stored CRL, if any. */
  latest(): Promise<PublishedCrl | undefined>;
  /** The latest CRL, regenerated first when there is none or it is close to (or past) nextUpdate. */
  current(): Promise<PublishedCrl>;
}

const SYSTEM: Actor = { type: 'system', id: 'crl-publisher' };

export const createCrlPublisher = (deps: CrlPublisherDeps): CrlPublisher => {
  const name = crlDocumentName(deps.ca.id);
  const blobs = deps.blobs ?? createMemoryCrlBlobs();
  const validityMs = (deps.validityHours ?? 24) * 3600_000;
  const refreshMs = (deps.refreshBeforeHours ?? (deps.validityHours ?? 24) / 4) * 3600_000;

  const regenerate = async (actor: Actor = SYSTEM): Promise<PublishedCrl> => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const previous = await deps.docs.get<CrlDocument>(name);
      const number = previous ? BigInt(previous.number) + 1n : 1n;
      const now = wholeSeconds(deps.clock.now());
      // thisUpdate never goes backwards, even if clocks of two publishers disagree.
      const thisUpdate =
        previous && new Date(previous.thisUpdate) > now ? new Date(previous.thisUpdate) : now;
      const nextUpdate = new Date(thisUpdate.getTime() + validityMs);
      const revoked = await deps.certificates.listRevokedOrHeld(deps.ca.id);
      const entries: CrlEntry[] = [];
      for (const r of revoked) {
        const e = crlEntryOf(r);
        if (e) entries.push(e);
      }
      const der = await signCrl(deps.signer, { issuer: deps.ca, number, thisUpdate, nextUpdate, entries });
      const doc: CrlDocument = {
        caId: deps.ca.id,
        number: number.toString(),
        thisUpdate: thisUpdate.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
        entries: entries.length,
        size: der.byteLength,
        sha256: sha256Hex(der),
      };
      try {
        // Claim the number first; only the winner publishes, so two CRLs never share a number.
        await deps.docs.put(name, doc, previous?.version ?? 0);
      } catch (e) {
        if (e instanceof VersionConflictError) continue; // another publisher stored this number first
        throw e;
      }
      // A failure here leaves a document without its blob: readers see no current CRL and regenerate.
      await blobs.put(deps.ca.id, der);
      await deps.audit?.append({
        actor,
        action: 'crl.sign',
        subject: { type: 'crl', id: `${deps.ca.id}#${doc.number}` },
        details: {
          ca: deps.ca.id,
          crlNumber: doc.number,
          entries: doc.entries,
          thisUpdate: doc.thisUpdate,
          nextUpdate: doc.nextUpdate,
          sha256: doc.sha256,
        },
      });
      return published(crlInfoOf(doc), der);
    }
    throw new DependencyError(`CRL of ${deps.ca.id}: too many concurrent publishers`);
  };

  const cache: CrlReadCache = {};
  const latest = () => readPublishedCrl(deps.docs, blobs, deps.ca.id, cache);

  return {
    regenerate,
    latest,
    async current() {
      const crl = await latest();
      if (crl && crl.nextUpdate.getTime() - deps.clock.now().getTime() > refreshMs) return crl;
      return regenerate();
    },
  };
};
