import { createHash } from 'node:crypto';
import type { Actor, CertificateRecord, RevocationReason } from '../domain/model.js';
import { DependencyError, InternalError, VersionConflictError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { CertificateStore, ConfigDocStore } from '../ports/repository.js';
import type { Signer } from '../ports/signer.js';
import {
  assembleSigned,
  type CaDescriptor,
  serialToBytes,
  signatureAlgorithmIdentifier,
} from './certificate.js';
import { type Bytes, explicit, seq, smallInteger, time, unsignedInteger, wholeSeconds } from './der.js';
import { authorityKeyIdentifier, crlNumber, reasonCodeExtension } from './extensions.js';
import { verifySignature } from './keys.js';

/**
 * Full CRLs (RFC 5280 §5), one per CA: version 2, AKI, a monotonic CRL number, thisUpdate/nextUpdate,
 * one entry per revoked or held certificate (reasonCode; certificateHold for a suspension; no entry once
 * a hold is released). Entries come from the revocation index, never from a scan.
 *
 * The CRL number and the latest CRL live in one ConfigDocStore document per CA, written conditionally on
 * its version: two publishers racing both build a CRL, only one stores it, the other rebuilds with the
 * next number. So numbers only go up and a stored number is never reused for different content.
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
    ...(entries.length ? [seq(...entries)] : []),
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

export interface CrlDocument {
  caId: string;
  /** Decimal string: CRL numbers may grow beyond 2^53 in theory (RFC 5280 allows 20 octets). */
  number: string;
  thisUpdate: string;
  nextUpdate: string;
  entries: number;
  sha256: string;
  der: string;
}

export interface PublishedCrl {
  caId: string;
  number: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
  der: Bytes;
  pem: string;
}

export const crlDocumentName = (caId: string): string => `crl/${caId}`;

const published = (doc: CrlDocument): PublishedCrl => {
  const der = Uint8Array.from(Buffer.from(doc.der, 'base64'));
  return {
    caId: doc.caId,
    number: BigInt(doc.number),
    thisUpdate: new Date(doc.thisUpdate),
    nextUpdate: new Date(doc.nextUpdate),
    entries: doc.entries,
    der,
    pem: crlPem(der),
  };
};

export interface CrlPublisherDeps {
  docs: ConfigDocStore;
  certificates: CertificateStore;
  signer: Signer;
  clock: Clock;
  ca: CaDescriptor;
  audit?: AuditLog;
  /** thisUpdate → nextUpdate (default 24 hours). */
  validityHours?: number;
  /** Regenerate on read once this little time is left before nextUpdate (default 1/4 of the validity). */
  refreshBeforeHours?: number;
}

export interface CrlPublisher {
  /** Builds, signs and stores a new CRL with the next number. Call on every status change and on a schedule. */
  regenerate(actor?: Actor): Promise<PublishedCrl>;
  /** The latest stored CRL, if any. */
  latest(): Promise<PublishedCrl | undefined>;
  /** The latest CRL, regenerated first when there is none or it is close to (or past) nextUpdate. */
  current(): Promise<PublishedCrl>;
}

const SYSTEM: Actor = { type: 'system', id: 'crl-publisher' };

export const createCrlPublisher = (deps: CrlPublisherDeps): CrlPublisher => {
  const name = crlDocumentName(deps.ca.id);
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
      const entries = revoked.flatMap((r) => {
        const e = crlEntryOf(r);
        return e ? [e] : [];
      });
      const der = await signCrl(deps.signer, { issuer: deps.ca, number, thisUpdate, nextUpdate, entries });
      const doc: CrlDocument = {
        caId: deps.ca.id,
        number: number.toString(),
        thisUpdate: thisUpdate.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
        entries: entries.length,
        sha256: createHash('sha256').update(der).digest('hex'),
        der: Buffer.from(der).toString('base64'),
      };
      try {
        await deps.docs.put(name, doc, previous?.version ?? 0);
      } catch (e) {
        if (e instanceof VersionConflictError) continue; // another publisher stored this number first
        throw e;
      }
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
      return published(doc);
    }
    throw new DependencyError(`CRL of ${deps.ca.id}: too many concurrent publishers`);
  };

  const latest = async () => {
    const doc = await deps.docs.get<CrlDocument>(name);
    return doc ? published(doc) : undefined;
  };

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
