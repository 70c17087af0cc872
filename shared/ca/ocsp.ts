import { createHash } from 'node:crypto';
import type { CertificateRecord } from '../domain/model.js';
import { DependencyError, InternalError, isAppError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CertificateStore } from '../ports/repository.js';
import type { Signer } from '../ports/signer.js';
import { type CaDescriptor, signatureAlgorithmIdentifier } from './certificate.js';
import {
  type Bytes,
  bitString,
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
 *   Every response is signed when it is asked for: no response is cached or pre-produced, so a status
 *   change shows in the very next answer.
 * - Requests are read by `parseOcspRequest`, a strict DER reader for the one OCSPRequest shape.
 * - Signatures are checked before they leave (see `selfCheckEvery`).
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
/** RFC 8954: the nonce is 1..32 octets; its extnValue (the DER OCTET STRING, or the raw nonce some old clients send) at most 34. */
const MAX_NONCE_EXTN_VALUE = 34;
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
  /**
   * EC responder keys: once a signature has verified, verify one response in this many (default 64).
   * RSA responder keys: every response, always. See `createOcspResponder`.
   */
  selfCheckEvery?: number;
}

export interface OcspResponder {
  /** OCSPRequest DER in, OCSPResponse DER out. Never throws. */
  respond(requestDer: Uint8Array): Promise<Uint8Array>;
}

/**
 * An OCSPRequest as the responder reads it: the CertIDs (the exact request bytes of each, which the
 * response repeats) and the nonce's extnValue. Byte ranges are views into the request.
 */
export interface ParsedOcspRequest {
  requests: {
    /** The whole CertID TLV. */
    certId: Uint8Array;
    /** The hash algorithm's OBJECT IDENTIFIER, DER (tag, length, content). */
    hashAlgorithm: Uint8Array;
    issuerNameHash: Uint8Array;
    issuerKeyHash: Uint8Array;
    /** The serialNumber INTEGER's content octets (two's complement, minimal). */
    serialNumber: Uint8Array;
  }[];
  /** The id-pkix-ocsp-nonce extension's extnValue content, when the request has one. */
  nonce?: Uint8Array;
}

/** A request that is not DER of the OCSPRequest shape. */
export class MalformedOcspRequest extends RangeError {}

const malformed = (why: string): never => {
  throw new MalformedOcspRequest(why);
};

interface Tlv {
  tag: number;
  /** Where the TLV begins (its tag). */
  at: number;
  /** Where its contents begin and end. */
  start: number;
  end: number;
}

/**
 * One DER TLV header at `pos`, inside `limit`: single-byte tags only, definite lengths in their shortest
 * form (so BER's indefinite and padded lengths are refused), contents inside the parent.
 */
const tlvAt = (b: Uint8Array, pos: number, limit: number): Tlv => {
  if (pos + 2 > limit) malformed('truncated');
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) malformed('multi-byte tag');
  let length = b[pos + 1]!;
  let start = pos + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0) malformed('indefinite length');
    if (n > 3) malformed('length too large');
    if (start + n > limit) malformed('truncated');
    if (b[start] === 0) malformed('length not minimal');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + b[start + i]!;
    if (length < 0x80) malformed('length not minimal');
    start += n;
  }
  const end = start + length;
  if (end > limit) malformed('truncated');
  return { tag, at: pos, start, end };
};

/** The TLV at `pos` with tag `tag`. */
const expect = (b: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv => {
  const t = tlvAt(b, pos, limit);
  if (t.tag !== tag) malformed(`${what}: tag ${t.tag.toString(16)}`);
  return t;
};

/** Contents we do not read (requestorName, optionalSignature) must still be well-formed DER TLVs. */
const wellFormed = (b: Uint8Array, pos: number, end: number, depth = 0): void => {
  if (depth > 16) malformed('nested too deep');
  while (pos < end) {
    const t = tlvAt(b, pos, end);
    if (t.tag & 0x20) wellFormed(b, t.start, t.end, depth + 1);
    pos = t.end;
  }
};

/** OBJECT IDENTIFIER: at least one subidentifier, each in its shortest base-128 form. */
const checkOid = (b: Uint8Array, t: Tlv): void => {
  if (t.end === t.start || b[t.end - 1]! & 0x80) malformed('OBJECT IDENTIFIER');
  for (let i = t.start; i < t.end; i++) {
    if (b[i] === 0x80 && (i === t.start || !(b[i - 1]! & 0x80))) malformed('OBJECT IDENTIFIER not minimal');
  }
};

const NONCE_OID = oid(EXT.ocspNonce);

const sameBytes = (b: Uint8Array, start: number, end: number, other: Uint8Array): boolean => {
  if (end - start !== other.length) return false;
  for (let i = 0; i < other.length; i++) if (b[start + i] !== other[i]) return false;
  return true;
};

/**
 * Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension; Extension ::= SEQUENCE { extnID, critical BOOLEAN
 * DEFAULT FALSE, extnValue OCTET STRING }. Returns the nonce's extnValue. An extension may appear once.
 */
const readExtensions = (b: Uint8Array, t: Tlv): Uint8Array | undefined => {
  if (t.start === t.end) malformed('empty Extensions');
  let nonce: Uint8Array | undefined;
  const seen: Tlv[] = [];
  for (let pos = t.start; pos < t.end; ) {
    const ext = expect(b, pos, t.end, 0x30, 'Extension');
    const id = expect(b, ext.start, ext.end, 0x06, 'extnID');
    checkOid(b, id);
    for (const s of seen)
      if (sameBytes(b, id.at, id.end, b.subarray(s.at, s.end))) malformed('repeated extension');
    seen.push(id);
    let at = id.end;
    const next = tlvAt(b, at, ext.end);
    if (next.tag === 0x01) {
      // DER BOOLEAN is 00 or ff (an explicit FALSE, though DEFAULT, is tolerated: it changes nothing).
      if (next.end - next.start !== 1 || (b[next.start] !== 0 && b[next.start] !== 0xff))
        malformed('critical');
      at = next.end;
    }
    const value = expect(b, at, ext.end, 0x04, 'extnValue');
    if (value.end !== ext.end) malformed('Extension has trailing data');
    if (sameBytes(b, id.at, id.end, NONCE_OID)) nonce = b.subarray(value.start, value.end);
    pos = ext.end;
  }
  return nonce;
};

/**
 * Reads an OCSPRequest (RFC 6960 §4.1.1) strictly as DER:
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT
 *                   GeneralName OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT
 *                   Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                   issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 *
 * Refused (MalformedOcspRequest): BER forms (indefinite or padded lengths, constructed strings), a
 * non-minimal INTEGER or OBJECT IDENTIFIER, trailing bytes anywhere, a version other than v1, hash
 * parameters other than NULL or absent, an empty request list, repeated extensions, any tag out of place.
 * Tolerated because they change nothing: an explicit v1 version and an explicit critical FALSE. The
 * requestor name and the request signature are not used (RFC 6960 §4.1.2 lets a responder ignore them)
 * but must be well-formed. Written by hand because the schema-driven parser (asn1-schema over asn1js) cost
 * more main-thread time per response than the rest of the responder; test/ca/ocsp-responder.test.ts
 * checks it against that parser on every request it accepts, and on mutated ones.
 */
export const parseOcspRequest = (b: Uint8Array): ParsedOcspRequest => {
  const outer = expect(b, 0, b.length, 0x30, 'OCSPRequest');
  if (outer.end !== b.length) malformed('trailing data');
  const tbs = expect(b, outer.start, outer.end, 0x30, 'TBSRequest');
  if (tbs.end < outer.end) {
    const sig = expect(b, tbs.end, outer.end, 0xa0, 'optionalSignature');
    const inner = expect(b, sig.start, sig.end, 0x30, 'Signature');
    if (inner.end !== sig.end || sig.end !== outer.end) malformed('trailing data');
    wellFormed(b, inner.start, inner.end);
  }
  let pos = tbs.start;
  let t = tlvAt(b, pos, tbs.end);
  if (t.tag === 0xa0) {
    const v = expect(b, t.start, t.end, 0x02, 'version');
    if (v.end !== t.end || v.end - v.start !== 1 || b[v.start] !== 0) malformed('version is not v1');
    pos = t.end;
    t = tlvAt(b, pos, tbs.end);
  }
  if (t.tag === 0xa1) {
    if (t.start === t.end) malformed('empty requestorName');
    const name = tlvAt(b, t.start, t.end);
    if (name.end !== t.end) malformed('requestorName');
    wellFormed(b, t.start, t.end);
    pos = t.end;
    t = tlvAt(b, pos, tbs.end);
  }
  if (t.tag !== 0x30) malformed('requestList');
  const requests: ParsedOcspRequest['requests'] = [];
  for (let at = t.start; at < t.end; ) {
    const r = expect(b, at, t.end, 0x30, 'Request');
    const id = expect(b, r.start, r.end, 0x30, 'CertID');
    if (id.end < r.end) {
      const ext = expect(b, id.end, r.end, 0xa0, 'singleRequestExtensions');
      if (ext.end !== r.end) malformed('Request has trailing data');
      const inner = expect(b, ext.start, ext.end, 0x30, 'Extensions');
      if (inner.end !== ext.end) malformed('singleRequestExtensions');
      readExtensions(b, inner);
    }
    const alg = expect(b, id.start, id.end, 0x30, 'hashAlgorithm');
    const algOid = expect(b, alg.start, alg.end, 0x06, 'hashAlgorithm');
    checkOid(b, algOid);
    if (algOid.end !== alg.end) {
      const params = expect(b, algOid.end, alg.end, 0x05, 'hash parameters');
      if (params.start !== params.end || params.end !== alg.end) malformed('hash parameters');
    }
    const nameHash = expect(b, alg.end, id.end, 0x04, 'issuerNameHash');
    const keyHash = expect(b, nameHash.end, id.end, 0x04, 'issuerKeyHash');
    const serial = expect(b, keyHash.end, id.end, 0x02, 'serialNumber');
    if (serial.end !== id.end) malformed('CertID has trailing data');
    const len = serial.end - serial.start;
    if (len === 0) malformed('empty INTEGER');
    if (
      len > 1 &&
      ((b[serial.start] === 0 && !(b[serial.start + 1]! & 0x80)) ||
        (b[serial.start] === 0xff && b[serial.start + 1]! & 0x80))
    )
      malformed('INTEGER not minimal');
    requests.push({
      certId: b.subarray(id.at, id.end),
      hashAlgorithm: b.subarray(algOid.at, algOid.end),
      issuerNameHash: b.subarray(nameHash.start, nameHash.end),
      issuerKeyHash: b.subarray(keyHash.start, keyHash.end),
      serialNumber: b.subarray(serial.start, serial.end),
    });
    at = r.end;
  }
  if (requests.length === 0) malformed('empty requestList');
  let nonce: Uint8Array | undefined;
  if (t.end < tbs.end) {
    const ext = expect(b, t.end, tbs.end, 0xa2, 'requestExtensions');
    if (ext.end !== tbs.end) malformed('TBSRequest has trailing data');
    const inner = expect(b, ext.start, ext.end, 0x30, 'Extensions');
    if (inner.end !== ext.end) malformed('requestExtensions');
    nonce = readExtensions(b, inner);
  }
  return nonce ? { requests, nonce } : { requests };
};

class Unauthorized extends Error {}

const GOOD: Bytes = Uint8Array.of(0x80, 0x00); // good [0] IMPLICIT NULL
const UNKNOWN: Bytes = Uint8Array.of(0x82, 0x00); // unknown [2] IMPLICIT NULL

const certStatus = (r: CertificateRecord | undefined, issuerId: string): Bytes => {
  if (!r || r.issuer !== issuerId) return UNKNOWN;
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
      return GOOD;
    case 'hold':
      return revoked(r.holdAt ?? r.updatedAt, 'certificateHold');
    case 'revoked':
      return revoked(r.revokedAt ?? r.updatedAt, r.revocationReason);
    default:
      return UNKNOWN; // reserved / abandoned: never (knowingly) signed
  }
};

/**
 * The responder. Every answer to a parsable request for our issuer is read from the certificate store and
 * signed when it is asked for, with the nonce echoed.
 *
 * Signature self-check. RSA responder keys: every response is verified before it leaves (a verification
 * costs a few percent of an RSA signature, and a single faulty RSA-CRT signature would disclose the private
 * key — it must never be published). EC responder keys: ECDSA has no such single-signature fault, a
 * P-256 verification costs several times the signature itself, and an invalid signature only makes that
 * one response fail at the relying party (which then treats the status as unavailable: it fails closed).
 * So every response is verified until one signature has verified (a wrong key, mechanism or encoding shows
 * on the first answer, however many are in flight), then one in `selfCheckEvery` (a key or HSM that goes
 * bad later is caught within that many answers); after a failed check every response is verified again
 * until one passes. A response whose check fails is never sent (`tryLater`).
 */
export const createOcspResponder = (deps: OcspResponderDeps): OcspResponder => {
  const validityMs = (deps.validitySeconds ?? 4 * 3600) * 1000;
  const issuerKeyBits = spkiKeyBits(deps.issuer.spki);
  const issuerHashes = Object.entries(HASHES).map(([o, h]) => ({
    algorithm: Buffer.from(oid(o)),
    name: createHash(h).update(deps.issuer.subject).digest(),
    key: createHash(h).update(issuerKeyBits).digest(),
  }));
  const responderId = explicit(2, octetString(sha1(spkiKeyBits(deps.responder.spki)))); // byKey [2]
  const algorithm = deps.responder.key.algorithm;
  const signatureAlgorithm = signatureAlgorithmIdentifier(algorithm);
  const certs = explicit(0, seq(deps.responder.certificate));
  const responseType = oid(ID_PKIX_OCSP_BASIC);
  const successful = tlv(0x0a, Uint8Array.of(OCSP_STATUS.successful));
  const nonceId = oid(EXT.ocspNonce);
  const checkEvery = algorithm.startsWith('RSA-') ? 1 : Math.max(1, Math.floor(deps.selfCheckEvery ?? 64));
  let verifiedOnce = false;
  let sinceCheck = 0;

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

  // thisUpdate / producedAt and nextUpdate change once a second: encoded once per second.
  let times: { second: number; thisUpdate: Bytes; nextUpdate: Bytes } | undefined;
  const timesNow = () => {
    const second = Math.floor(deps.clock.now().getTime() / 1000);
    if (times?.second !== second) {
      const now = new Date(second * 1000);
      times = {
        second,
        thisUpdate: generalizedTime(now),
        nextUpdate: explicit(0, generalizedTime(new Date(now.getTime() + validityMs))),
      };
    }
    return times;
  };

  /** The store key of each CertID (undefined: cannot be one of ours), or Unauthorized. */
  const serialsOf = (request: ParsedOcspRequest): (string | undefined)[] =>
    request.requests.map((r) => {
      const mine = issuerHashes.find((h) => h.algorithm.equals(r.hashAlgorithm));
      if (!mine) throw new Unauthorized('hash algorithm');
      if (!mine.name.equals(r.issuerNameHash) || !mine.key.equals(r.issuerKeyHash))
        throw new Unauthorized('not our issuer');
      const s = r.serialNumber;
      if (s.length > 21 || s[0]! & 0x80) return undefined; // longer than 20 octets, or negative
      return Buffer.from(s.buffer, s.byteOffset, s.byteLength)
        .toString('hex')
        .replace(/^0+(?=.)/, '');
    });

  const respond = async (requestDer: Uint8Array): Promise<Uint8Array> => {
    let request: ParsedOcspRequest;
    let serials: (string | undefined)[];
    try {
      request = parseOcspRequest(requestDer);
      if (request.requests.length > MAX_REQUESTS) return ocspErrorResponse('malformedRequest');
      if (request.nonce && (request.nonce.length === 0 || request.nonce.length > MAX_NONCE_EXTN_VALUE))
        return ocspErrorResponse('malformedRequest');
      serials = serialsOf(request);
    } catch (e) {
      if (e instanceof Unauthorized) return ocspErrorResponse('unauthorized');
      return ocspErrorResponse('malformedRequest');
    }
    try {
      await checkResponderKey();
      const records = await Promise.all(serials.map((s) => (s ? deps.certificates.get(s) : undefined)));
      const { thisUpdate, nextUpdate } = timesNow();
      const responses = request.requests.map((r, i) =>
        seq(r.certId, certStatus(records[i], deps.issuer.id), thisUpdate, nextUpdate),
      );
      const tbs = seq(
        responderId,
        thisUpdate, // producedAt
        seq(...responses),
        ...(request.nonce ? [explicit(1, seq(seq(nonceId, octetString(request.nonce))))] : []),
      );
      const signature = await deps.signer.sign(deps.responder.key, tbs);
      if (!verifiedOnce || ++sinceCheck >= checkEvery) {
        if (!verifySignature(deps.responder.spki, algorithm, tbs, signature)) {
          verifiedOnce = false;
          throw new DependencyError('the OCSP responder signature does not verify');
        }
        verifiedOnce = true;
        sinceCheck = 0;
      }
      return seq(
        successful,
        explicit(
          0,
          seq(responseType, octetString(seq(tbs, signatureAlgorithm, bitString(signature), certs))),
        ),
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
