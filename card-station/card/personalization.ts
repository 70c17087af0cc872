import { sha256Hex, summarizeCertificate, type WrittenCertificates } from '../../shared/card/certificates.js';
import { CARD_LAYOUT, type CardCertificateObject, type CertificateSet, type KeyRole } from './types.js';

/**
 * What a job should leave on a card, and how far a card got: the card station compares the
 * certificate objects read back from the card with the job before writing anything, so a card
 * interrupted half-way (a crash, a pulled card) is recognized and rewritten, and a finished card is
 * never written twice.
 */

export interface ExpectedObject {
  id: string;
  label: string;
  sha256: string;
}

export const expectedObjects = (set: CertificateSet): ExpectedObject[] => [
  ...(['signature', 'encryption'] as KeyRole[]).map((role) => ({
    id: CARD_LAYOUT[role].keyId,
    label: CARD_LAYOUT[role].certLabel,
    sha256: sha256Hex(set[role]),
  })),
  ...set.chain.map((der, i) => ({
    id: CARD_LAYOUT.caId(i),
    label: CARD_LAYOUT.caLabel(i),
    sha256: sha256Hex(der),
  })),
];

export type PersonalizationState =
  | { state: 'empty' }
  | { state: 'complete' }
  /** Something is on the card but not exactly the job: missing, extra or different objects. */
  | { state: 'partial'; missing: string[]; unexpected: string[] };

export const comparePersonalization = (
  onCard: CardCertificateObject[],
  set: CertificateSet,
): PersonalizationState => {
  if (onCard.length === 0) return { state: 'empty' };
  const expected = expectedObjects(set);
  const key = (o: { id: string; label: string; sha256: string }) => `${o.id}/${o.label}/${o.sha256}`;
  const present = onCard.map((o) => key({ id: o.id, label: o.label, sha256: sha256Hex(o.der) }));
  const wanted = expected.map(key);
  const missing = expected.filter((e) => !present.includes(key(e))).map((e) => e.label);
  const unexpected = onCard.filter((_, i) => !wanted.includes(present[i]!)).map((o) => o.label);
  // Duplicates (the same object written twice) also make a card partial.
  if (missing.length === 0 && unexpected.length === 0 && present.length === wanted.length)
    return { state: 'complete' };
  return { state: 'partial', missing, unexpected };
};

/** The proof of what is on a card that the station reports at completion, read back from the card. */
export const writtenCertificatesOnCard = (
  onCard: CardCertificateObject[],
): WrittenCertificates | undefined => {
  const byId = (id: string) => onCard.find((o) => o.id === id);
  const sign = byId(CARD_LAYOUT.signature.keyId);
  const enc = byId(CARD_LAYOUT.encryption.keyId);
  if (!sign || !enc) return undefined;
  const chain: string[] = [];
  for (let i = 0; ; i++) {
    const ca = byId(CARD_LAYOUT.caId(i));
    if (!ca) break;
    chain.push(sha256Hex(ca.der));
  }
  const s = summarizeCertificate(sign.der);
  const e = summarizeCertificate(enc.der);
  return {
    signature: { serialNumber: s.serialNumber, sha256: s.sha256 },
    encryption: { serialNumber: e.serialNumber, sha256: e.sha256 },
    chain,
  };
};
