import type {
  CertificateQueryParams,
  CertificateQueryResponse,
  PublicCertificateStatus,
} from '../contracts/query.js';
import type { CertificateRecord } from '../domain/model.js';
import { ValidationError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CertificateStore } from '../ports/repository.js';

/**
 * The public certificate status query (DESIGN: "query by any one of: holder name + issue year/month,
 * e-mail, IC card number, certificate serial number; public answers reveal status and validity, not
 * personal data").
 *
 * What an answer carries is an allow-list (`toPublic`): serial, profile and usage, status, validity,
 * issuer, issue month, hold/revocation facts and the card number masked to its last four digits. The
 * name, e-mail, subject serial, application id, ARC, address and date of birth never leave: they are
 * not copied, so a field added to the record later cannot leak by accident.
 *
 * The card number is not a secret (it is printed on the card and is the recommended query key), but it
 * ties a person to a card; an answer to a name or e-mail query would otherwise hand out card numbers
 * for any name. So it is masked, except when the caller asked by card number and already knows it.
 */

export const MAX_QUERY_RESULTS = 100;

export type CertificateQuery =
  | { kind: 'nameAndMonth'; name: string; issuedMonth: string }
  | { kind: 'email'; email: string }
  | { kind: 'cardNumber'; cardNumber: string }
  | { kind: 'serialNumber'; serialNumber: string };

export interface QueryDeps {
  certificates: Pick<CertificateStore, 'get' | 'listByCard' | 'listByEmailKey' | 'listByNameAndMonth'>;
  clock: Clock;
  /** The keyed hash under which certificates are indexed by e-mail (the same function the CA is given). */
  emailKey: (email: string) => Promise<string>;
  /** The display name (DN) of an issuing CA by id, when known. */
  issuerName?: (issuerId: string) => string | undefined;
}

const ONE_OF = 'give exactly one of: name + issuedMonth, email, cardNumber, serialNumber';

/** Holder names are compared as the CA writes them: NFC, single spaces, no surrounding blanks. */
export const normalizeQueryName = (name: string): string => name.normalize('NFC').trim().replace(/\s+/g, ' ');

/**
 * Which query the parameters ask for. Exactly one key (name and issuedMonth count as one, and go
 * together); anything else is a 400 naming the rule.
 */
export const parseCertificateQuery = (q: CertificateQueryParams): CertificateQuery => {
  const present = (Object.keys(q) as (keyof CertificateQueryParams)[]).filter(
    (k) => q[k] !== undefined && q[k] !== '',
  );
  const keys = new Set(present);
  if (keys.has('name') !== keys.has('issuedMonth')) {
    const missing = keys.has('name') ? 'issuedMonth' : 'name';
    throw new ValidationError(
      missing,
      'query.name_and_month',
      'a query by name needs both name and issuedMonth (YYYY-MM)',
    );
  }
  const groups =
    (keys.has('name') ? 1 : 0) +
    (['email', 'cardNumber', 'serialNumber'] as const).filter((k) => keys.has(k)).length;
  if (groups !== 1) throw new ValidationError('query', 'query.exactly_one', ONE_OF);

  if (keys.has('name')) {
    const name = normalizeQueryName(q.name!);
    if (name.length < 1 || name.length > 100 || /[\p{Cc}]/u.test(name)) {
      throw new ValidationError('name', 'query.name', 'must be the holder name, 1–100 characters');
    }
    const m = /^(\d{4})-(\d{2})$/.exec(q.issuedMonth!.trim());
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) {
      throw new ValidationError(
        'issuedMonth',
        'query.issued_month',
        'must be a month as YYYY-MM, e.g. 2026-11',
      );
    }
    return { kind: 'nameAndMonth', name, issuedMonth: `${m[1]}-${m[2]}` };
  }
  if (keys.has('email')) {
    const email = q.email!.trim();
    if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      throw new ValidationError('email', 'query.email', 'must be an e-mail address');
    }
    return { kind: 'email', email };
  }
  if (keys.has('cardNumber')) {
    const cardNumber = q.cardNumber!.trim().toUpperCase().replace(/[\s-]/g, '');
    if (!/^[A-Z]{2}\d{14}$/.test(cardNumber)) {
      throw new ValidationError(
        'cardNumber',
        'query.card_number',
        'must be two letters followed by 14 digits',
      );
    }
    return { kind: 'cardNumber', cardNumber };
  }
  // Serial numbers are shown in many ways (upper case, colons, leading zeros): accept them all.
  const serialNumber = q
    .serialNumber!.trim()
    .toLowerCase()
    .replace(/[\s:]/g, '')
    .replace(/^0x/, '')
    .replace(/^0+/, '');
  if (!/^[1-9a-f][0-9a-f]{0,39}$/.test(serialNumber)) {
    throw new ValidationError(
      'serialNumber',
      'query.serial_number',
      'must be a certificate serial number in hex',
    );
  }
  return { kind: 'serialNumber', serialNumber };
};

/** `AC00000000000123` → `AC**********0123`. */
export const maskCardNumber = (cardNumber: string): string =>
  cardNumber.length <= 6
    ? '*'.repeat(cardNumber.length)
    : `${cardNumber.slice(0, 2)}${'*'.repeat(cardNumber.length - 6)}${cardNumber.slice(-4)}`;

const PUBLIC_STATUSES = new Set(['good', 'hold', 'revoked']);

/** The allow-list of what the public may learn about one certificate. */
export const toPublic = (
  c: CertificateRecord,
  opts: { now: Date; revealCardNumber: boolean; issuerName?: string | undefined },
): PublicCertificateStatus => {
  const out: PublicCertificateStatus = {
    serialNumber: c.serialNumber,
    profile: c.profile,
    usage: c.profile === 'holder-signature' ? 'signature' : 'encryption',
    status: c.status as PublicCertificateStatus['status'],
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    expired: Date.parse(c.notAfter) <= opts.now.getTime(),
    issuer: opts.issuerName ? { id: c.issuer, name: opts.issuerName } : { id: c.issuer },
    cardNumber: opts.revealCardNumber ? c.cardNumber : maskCardNumber(c.cardNumber),
    issuedMonth: c.issuedMonth,
  };
  if (c.status === 'hold' && c.holdAt) out.holdSince = c.holdAt;
  if (c.status === 'revoked') {
    if (c.revokedAt) out.revokedAt = c.revokedAt;
    if (c.revocationReason) out.revocationReason = c.revocationReason;
    if (c.supersededBy) out.supersededBy = c.supersededBy;
  }
  return out;
};

export const createQueryUseCases = (deps: QueryDeps) => ({
  async queryCertificates(params: CertificateQueryParams): Promise<CertificateQueryResponse> {
    const q = parseCertificateQuery(params);
    let found: CertificateRecord[];
    switch (q.kind) {
      case 'nameAndMonth':
        found = await deps.certificates.listByNameAndMonth(q.name, q.issuedMonth);
        break;
      case 'email':
        // Lower-cased, as the CA does before it keys a certificate's e-mail.
        found = await deps.certificates.listByEmailKey(await deps.emailKey(q.email.toLowerCase()));
        break;
      case 'cardNumber':
        found = await deps.certificates.listByCard(q.cardNumber);
        break;
      case 'serialNumber': {
        const c = await deps.certificates.get(q.serialNumber);
        found = c ? [c] : [];
        break;
      }
    }
    const now = deps.clock.now();
    const visible = found.filter((c) => PUBLIC_STATUSES.has(c.status));
    return {
      query: q.kind,
      certificates: visible.slice(0, MAX_QUERY_RESULTS).map((c) =>
        toPublic(c, {
          now,
          revealCardNumber: q.kind === 'cardNumber',
          issuerName: deps.issuerName?.(c.issuer),
        }),
      ),
      truncated: visible.length > MAX_QUERY_RESULTS,
    };
  },
});

export type QueryUseCases = ReturnType<typeof createQueryUseCases>;
