import { createHash } from 'node:crypto';
import { OCSPRequest } from '@peculiar/asn1-ocsp';
import { AsnConvert } from '@peculiar/asn1-schema';
import type { CertificateRecord } from '../domain/model.js';
import { DependencyError, InternalError, isAppError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CertificateStore } from '../ports/repository.js';
import type { Signer } from '../ports/signer.js';
import { type CaDescriptor, signatureAlgorithmIdentifier } from './certificate.js';
import {
  type Bytes,
  bitString,
  bytesToHex,
  explicit,
  generalizedTime,
  implicitConstructed,
  octetString,
  oid,
  seq,
  tlv,
  wholeSeconds,
} from './der.js';
import { CRL_REASON_CODES, EXT } from './extensions.js';
import { sha1, spkiKeyBits, verifySignature } from './keys.js';

/**
 * RFC 6960 OCSP responder for one issuing CA, signing with a delegated responder certificate
 * (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) that is included in every response.
 *
 * - CertID matching: issuer name hash + issuer key hash, with SHA-1, SHA-256, SHA-384 or SHA-512.
 * - Status: good; revoked with time and reason (a hold is revoked/certificateHold with the hold time);
 *   unknown for a serial that is not ours or was never signed (reserved, abandoned).
 * - A request for another issuer gets `unauthorized` (§2.3); a request that does not parse gets
 *   `malformedRequest`; a store outage `tryLater`. `respond` never throws.
 * - The nonce (RFC 8954) is echoed; responderID is byKey; thisUpdate = now, nextUpdate = now + validity.
 * OCSP responses are not written to the audit log (unauthenticated traffic must not be able to grow it);
 * the responder certificate's issuance is part of the key ceremony record.
 */

export const OCSP_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
/** At most this many CertIDs per request (a relying party asks for one, a batch for a handful). */
const MAX_REQUESTS = 10;

/** An OCSPResponse carrying only an error status (no responseBytes). */
export const ocspErrorResponse = (status: Exclude<keyof typeof OCSP_STATUS, 'successful'>): Bytes =>
  seq(tlv(0x0a, Uint8Array.of(OCSP_STATUS[status])));

export interface OcspResponderDeps {
  certificates: CertificateStore;
  signer: Signer;
  clock: Clock;
  /** The CA whose certificates this responder answers for. */
  issuer: CaDescriptor;
  /** The delegated responder: its certificate (issued by `issuer`) and key. */
  responder: CaDescriptor;
  /** nextUpdate − thisUpdate, in seconds (default 4 hours). */
  validitySeconds?: number;
  /** Called with unexpected faults (the response is then `internalError`). */
  onError?: (e: unknown) => void;
}

export interface OcspResponder {
  /** OCSPRequest DER in, OCSPResponse DER out. Never throws. */
  respond(requestDer: Uint8Array): Promise<Uint8Array>;
}

class Malformed extends Error {}
class Unauthorized extends Error {}

const certStatus = (r: CertificateRecord | undefined, issuerId: string): Bytes => {
  if (!r || r.issuer !== issuerId) return tlv(0x82); // unknown [2] IMPLICIT NULL
  const revoked = (at: string, reason: CertificateRecord['revocationReason']) =>
    implicitConstructed(
      1,
      generalizedTime(wholeSeconds(new Date(at))),
      ...(reason && reason !== 'unspecified'
        ? [explicit(0, tlv(0x0a, Uint8Array.of(CRL_REASON_CODES[reason])))]
        : []),
    );
  switch (r.status) {
    case 'good':
      return tlv(0x80); // good [0] IMPLICIT NULL
    case 'hold':
      return revoked(r.holdAt ?? r.updatedAt, 'certificateHold');
    case 'revoked':
      return revoked(r.revokedAt ?? r.updatedAt, r.revocationReason);
    default:
      return tlv(0x82); // reserved / abandoned: never (knowingly) signed
  }
};

export const createOcspResponder = (deps: OcspResponderDeps): OcspResponder => {
  const validityMs = (deps.validitySeconds ?? 4 * 3600) * 1000;
  const issuerKeyBits = spkiKeyBits(deps.issuer.spki);
  const issuerHashes = new Map<string, { name: string; key: string }>(
    Object.entries(HASHES).map(([o, h]) => [
      o,
      {
        name: createHash(h).update(deps.issuer.subject).digest('hex'),
        key: createHash(h).update(issuerKeyBits).digest('hex'),
      },
    ]),
  );
  const responderId = explicit(2, octetString(sha1(spkiKeyBits(deps.responder.spki)))); // byKey [2]
  const signatureAlgorithm = signatureAlgorithmIdentifier(deps.responder.key.algorithm);
  const certs = explicit(0, seq(deps.responder.certificate));

  let keyCheck: Promise<void> | undefined;
  const checkResponderKey = () => {
    keyCheck ??= deps.signer.publicKey(deps.responder.key).then((spki) => {
      if (!Buffer.from(spki).equals(Buffer.from(deps.responder.spki))) {
        throw new InternalError('the OCSP responder key in the signer does not match its certificate');
      }
    });
    keyCheck.catch(() => {
      keyCheck = undefined;
    });
    return keyCheck;
  };

  const parse = (der: Uint8Array) => {
    let req: OCSPRequest;
    try {
      req = AsnConvert.parse(der, OCSPRequest);
    } catch (e) {
      throw new Malformed((e as Error).message);
    }
    const list = req.tbsRequest.requestList;
    if (list.length === 0 || list.length > MAX_REQUESTS) throw new Malformed('request list size');
    const nonce = req.tbsRequest.requestExtensions?.find((e) => e.extnID === EXT.ocspNonce);
    if (nonce && (nonce.extnValue.byteLength === 0 || nonce.extnValue.byteLength > 34))
      throw new Malformed('nonce size'); // RFC 8954: 1..32 octets
    const ids = list.map((r) => {
      const id = r.reqCert;
      const mine = issuerHashes.get(id.hashAlgorithm.algorithm);
      if (!mine) throw new Unauthorized('hash algorithm');
      if (
        bytesToHex(new Uint8Array(id.issuerNameHash.buffer)) !== mine.name ||
        bytesToHex(new Uint8Array(id.issuerKeyHash.buffer)) !== mine.key
      ) {
        throw new Unauthorized('not our issuer');
      }
      const serialBytes = new Uint8Array(id.serialNumber);
      if (serialBytes.length === 0 || serialBytes.length > 21 || serialBytes[0]! & 0x80)
        return { raw: AsnConvert.serialize(id), serial: undefined };
      const serial = bytesToHex(serialBytes).replace(/^0+(?=.)/, '');
      return { raw: AsnConvert.serialize(id), serial };
    });
    return { ids, nonce: nonce ? new Uint8Array(nonce.extnValue.buffer) : undefined };
  };

  const respond = async (requestDer: Uint8Array): Promise<Uint8Array> => {
    let request: ReturnType<typeof parse>;
    try {
      request = parse(requestDer);
    } catch (e) {
      if (e instanceof Unauthorized) return ocspErrorResponse('unauthorized');
      return ocspErrorResponse('malformedRequest');
    }
    try {
      await checkResponderKey();
      const records = await Promise.all(
        request.ids.map((id) => (id.serial ? deps.certificates.get(id.serial) : undefined)),
      );
      const now = wholeSeconds(deps.clock.now());
      const thisUpdate = generalizedTime(now);
      const nextUpdate = explicit(0, generalizedTime(new Date(now.getTime() + validityMs)));
      const responses = request.ids.map((id, i) =>
        seq(new Uint8Array(id.raw), certStatus(records[i], deps.issuer.id), thisUpdate, nextUpdate),
      );
      const tbs = seq(
        responderId,
        thisUpdate, // producedAt
        seq(...responses),
        ...(request.nonce ? [explicit(1, seq(seq(oid(EXT.ocspNonce), octetString(request.nonce))))] : []),
      );
      const signature = await deps.signer.sign(deps.responder.key, tbs);
      if (!verifySignature(deps.responder.spki, deps.responder.key.algorithm, tbs, signature)) {
        throw new DependencyError('the OCSP responder signature does not verify');
      }
      const basic = seq(tbs, signatureAlgorithm, bitString(signature), certs);
      return seq(
        tlv(0x0a, Uint8Array.of(OCSP_STATUS.successful)),
        explicit(0, seq(oid(ID_PKIX_OCSP_BASIC), octetString(basic))),
      );
    } catch (e) {
      deps.onError?.(e);
      if (isAppError(e) && e.retryable) return ocspErrorResponse('tryLater');
      return ocspErrorResponse('internalError');
    }
  };

  return { respond };
};

/**
 * The GET form (RFC 6960 appendix A.1): `GET {url}/{url-encoding of base64 encoding of the DER request}`.
 * Accepts standard and URL-safe base64, with or without padding. Returns undefined when it is not base64.
 */
export const decodeOcspGetRequest = (pathSegment: string): Uint8Array | undefined => {
  let b64: string;
  try {
    b64 = decodeURIComponent(pathSegment);
  } catch {
    return undefined;
  }
  b64 = b64.replace(/-/g, '+').replace(/_/g, '/').replace(/\s/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length > 4096) return undefined;
  const bytes = Buffer.from(b64, 'base64');
  return bytes.length ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
};
