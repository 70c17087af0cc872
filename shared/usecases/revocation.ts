import type { CardStateResponse } from '../contracts/holder.js';
import { cardLifecycle, transition } from '../domain/lifecycle.js';
import type { Actor, Card, CertificateRecord, RevocationReason } from '../domain/model.js';
import { ConflictError, NotFoundError, ValidationError, VersionConflictError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { Clock } from '../ports/clock.js';
import type { CardStore, CertificateStore, MarkerStore } from '../ports/repository.js';

/**
 * Suspension, resumption and revocation of a card: the one place that moves a card and its
 * certificates together, for the holder (portal), customer service (ops, fax) and the station officer.
 *
 * Order of writes ("public truth first", docs/data.md): the certificates change at the CA first (the CA
 * regenerates the CRL and OCSP answers from them), the card record last. A crash in between leaves the
 * safer state (certificates on hold or revoked while the card record lags); repeating the same request
 * finishes it, because every step skips what is already done.
 *
 * Two requests on one card never interleave their certificate changes (a suspension racing a resumption
 * could otherwise leave a card `active` with its certificates on hold): each operation first claims a
 * marker keyed by the card's current version, and ends by saving the card, which bumps the version. A
 * second request that read the same version finds the marker taken and is told to retry (409
 * `card.busy`); a request that crashed holds the marker until it expires (CARD_OPERATION_SECONDS).
 */

/** The CA operations this module needs (shared/ca/issuer.ts). Each regenerates the CRL. */
export interface CardCertificateOperations {
  hold(serialNumber: string, actor: Actor): Promise<unknown>;
  release(serialNumber: string, actor: Actor): Promise<unknown>;
  revoke(serialNumber: string, reason: RevocationReason, actor: Actor): Promise<unknown>;
}

export interface CardStateDeps {
  cards: Pick<CardStore, 'get' | 'save'>;
  certificates: Pick<CertificateStore, 'get' | 'listByCard'>;
  markers: Pick<MarkerStore, 'claim'>;
  ca: CardCertificateOperations;
  audit: AuditLog;
  clock: Clock;
}

/** How long a card operation keeps other operations on the same card out if it never finishes. */
export const CARD_OPERATION_SECONDS = 60;

/** The RFC 5280 reasons a station officer may give (certificateHold is suspension; cACompromise is the CA's). */
export const STATION_REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
] as const satisfies readonly RevocationReason[];
export type StationRevocationReason = (typeof STATION_REVOCATION_REASONS)[number];

const MAX_SAVE_ATTEMPTS = 5;

export const loadCard = async (cards: Pick<CardStore, 'get'>, cardNumber: string): Promise<Card> => {
  const card = await cards.get(cardNumber);
  if (!card) throw new NotFoundError(`no card ${cardNumber}`, { field: 'cardNumber', rule: 'card.unknown' });
  return card;
};

/**
 * The card's certificates: the two the card record names (read consistently) and any other the index
 * knows for the card (an orphan of an interrupted re-issue), newest state of each.
 */
export const certificatesOfCard = async (
  deps: Pick<CardStateDeps, 'certificates'>,
  card: Card,
): Promise<CertificateRecord[]> => {
  const listed = await deps.certificates.listByCard(card.cardNumber);
  const bySerial = new Map(listed.map((c) => [c.serialNumber, c]));
  for (const serial of [card.certificateSerials?.signature, card.certificateSerials?.encryption]) {
    if (!serial) continue;
    const c = await deps.certificates.get(serial);
    if (c) bySerial.set(serial, c);
  }
  return [...bySerial.values()];
};

export const cardState = (card: Card, certs: CertificateRecord[], changed: boolean): CardStateResponse => {
  const current = new Set([card.certificateSerials?.signature, card.certificateSerials?.encryption]);
  const out: CardStateResponse = {
    cardNumber: card.cardNumber,
    status: card.status,
    changed,
    certificates: certs
      .filter((c) => current.has(c.serialNumber))
      .sort((a, b) => a.profile.localeCompare(b.profile))
      .map((c) => ({ serialNumber: c.serialNumber, profile: c.profile, status: c.status })),
  };
  if (card.status === 'suspended') {
    if (card.suspendedAt) out.suspendedAt = card.suspendedAt;
    if (card.suspendedBy) out.suspendedBy = card.suspendedBy;
  }
  if (card.revokedAt) out.revokedAt = card.revokedAt;
  return out;
};

/**
 * Claim the card for one operation (see the module comment). Throws ConflictError `card.busy` when
 * another operation holds it.
 */
export const claimCardOperation = async (
  deps: Pick<CardStateDeps, 'markers' | 'clock'>,
  card: Card,
  operation: string,
): Promise<void> => {
  const expiresAt = new Date(deps.clock.now().getTime() + CARD_OPERATION_SECONDS * 1000).toISOString();
  const ok = await deps.markers.claim(`card-op:${card.cardNumber}:v${card.version}`, expiresAt, {
    operation,
  });
  if (!ok) {
    throw new ConflictError(
      `another change to card ${card.cardNumber} is in progress; try again in a minute`,
      { rule: 'card.busy' },
    );
  }
};

/**
 * Save the card after `change` (which may throw to refuse); on a lost race re-read and re-decide, so
 * the lifecycle is checked against what is stored, not what was read first.
 */
export const saveCard = async (
  cards: Pick<CardStore, 'get' | 'save'>,
  card: Card,
  change: (current: Card) => Card,
): Promise<Card> => {
  let current = card;
  for (let attempt = 1; ; attempt++) {
    try {
      return await cards.save(change(current));
    } catch (e) {
      if (!(e instanceof VersionConflictError) || attempt >= MAX_SAVE_ATTEMPTS) throw e;
      current = await loadCard(cards, card.cardNumber);
    }
  }
};

const revokedCardError = (card: Card) =>
  new ConflictError(
    `card ${card.cardNumber} is revoked for good; a revoked card cannot be suspended or resumed — apply for a new card at a station`,
    { rule: 'card.revoked' },
  );

export const createCardStateUseCases = (deps: CardStateDeps) => {
  const nowIso = () => deps.clock.now().toISOString();

  /** Certificates on hold at the CA (and so on the CRL with certificateHold), then the card `suspended`. */
  const suspend = async (args: {
    cardNumber: string;
    by: 'holder' | 'ops';
    actor: Actor;
    details?: Record<string, unknown>;
  }): Promise<CardStateResponse> => {
    const card = await loadCard(deps.cards, args.cardNumber);
    if (card.status === 'revoked') throw revokedCardError(card);
    const already = card.status === 'suspended';
    if (!already) transition(cardLifecycle, 'card', card.status, 'suspended');
    await claimCardOperation(deps, card, 'suspend');

    const held: string[] = [];
    for (const c of await certificatesOfCard(deps, card)) {
      if (c.status !== 'good') continue;
      await deps.ca.hold(c.serialNumber, args.actor);
      held.push(c.serialNumber);
    }
    const at = nowIso();
    const saved = await saveCard(deps.cards, card, (current) => {
      if (current.status === 'revoked') throw revokedCardError(current);
      if (current.status === 'suspended') return { ...current, updatedAt: at };
      return {
        ...current,
        status: transition(cardLifecycle, 'card', current.status, 'suspended'),
        suspendedAt: at,
        suspendedBy: args.by,
        updatedAt: at,
      };
    });
    await deps.audit.append({
      actor: args.actor,
      action: already ? 'card.suspend.repeat' : 'card.suspend',
      subject: { type: 'card', id: card.cardNumber },
      details: { by: args.by, held, ...args.details },
    });
    return cardState(saved, await certificatesOfCard(deps, saved), !already);
  };

  /** Hold released at the CA (the serials leave the next CRL), then the card back to where it was. */
  const resume = async (args: {
    cardNumber: string;
    actor: Actor;
    details?: Record<string, unknown>;
  }): Promise<CardStateResponse> => {
    const card = await loadCard(deps.cards, args.cardNumber);
    if (card.status === 'revoked') throw revokedCardError(card);
    if (card.status !== 'suspended') {
      // Nothing to resume. Still report the certificates: a repeated request after a lost answer.
      const certs = await certificatesOfCard(deps, card);
      if (certs.some((c) => c.status === 'hold')) {
        // A suspension that crashed before it saved the card: finish the resumption of its certificates.
        await claimCardOperation(deps, card, 'resume');
        for (const c of certs) if (c.status === 'hold') await deps.ca.release(c.serialNumber, args.actor);
        const saved = await saveCard(deps.cards, card, (current) => ({ ...current, updatedAt: nowIso() }));
        return cardState(saved, await certificatesOfCard(deps, saved), true);
      }
      if (card.status === 'active' || card.status === 'mailed') return cardState(card, certs, false);
      throw new ConflictError(`card ${card.cardNumber} is ${card.status}, not suspended`, {
        rule: 'card.not_suspended',
      });
    }
    await claimCardOperation(deps, card, 'resume');
    const released: string[] = [];
    const certs = await certificatesOfCard(deps, card);
    if (certs.some((c) => c.status === 'revoked' && current(card).has(c.serialNumber))) {
      throw new ConflictError(
        `a certificate of card ${card.cardNumber} is revoked; a revoked certificate cannot be resumed`,
        { rule: 'certificate.revoked' },
      );
    }
    for (const c of certs) {
      if (c.status !== 'hold') continue;
      await deps.ca.release(c.serialNumber, args.actor);
      released.push(c.serialNumber);
    }
    const at = nowIso();
    const saved = await saveCard(deps.cards, card, (cur) => {
      if (cur.status === 'revoked') throw revokedCardError(cur);
      if (cur.status !== 'suspended') return { ...cur, updatedAt: at };
      // Back to active if the holder had activated it; a card suspended in the post goes back to mailed.
      const to = cur.activatedAt ? 'active' : 'mailed';
      const { suspendedAt: _a, suspendedBy: _b, ...rest } = cur;
      return { ...rest, status: transition(cardLifecycle, 'card', cur.status, to), updatedAt: at };
    });
    await deps.audit.append({
      actor: args.actor,
      action: 'card.resume',
      subject: { type: 'card', id: card.cardNumber },
      details: { released, to: saved.status, wasSuspendedBy: card.suspendedBy, ...args.details },
    });
    return cardState(saved, await certificatesOfCard(deps, saved), true);
  };

  /**
   * Revoke every live certificate of the card (reason as given), then the card `revoked` (final).
   * A card whose certificates and record are all revoked already is a 409; a revocation that stopped
   * half-way is finished.
   */
  const revokeCard = async (args: {
    cardNumber: string;
    reason: RevocationReason;
    actor: Actor;
    details?: Record<string, unknown>;
  }): Promise<CardStateResponse & { revoked: string[] }> => {
    const card = await loadCard(deps.cards, args.cardNumber);
    const certs = await certificatesOfCard(deps, card);
    const live = certs.filter((c) => c.status === 'good' || c.status === 'hold');
    if (card.status === 'revoked' && live.length === 0) {
      const first = certs.find((c) => c.status === 'revoked' && current(card).has(c.serialNumber));
      throw new ConflictError(
        `card ${card.cardNumber} and its certificates are already revoked` +
          (first?.revokedAt
            ? ` (since ${first.revokedAt}, reason ${first.revocationReason ?? 'unspecified'})`
            : ''),
        { rule: 'certificate.already_revoked' },
      );
    }
    if (card.status !== 'revoked') transition(cardLifecycle, 'card', card.status, 'revoked');
    await claimCardOperation(deps, card, 'revoke');
    const revoked: string[] = [];
    for (const c of live) {
      await deps.ca.revoke(c.serialNumber, args.reason, args.actor);
      revoked.push(c.serialNumber);
    }
    const at = nowIso();
    const saved = await saveCard(deps.cards, card, (cur) =>
      cur.status === 'revoked'
        ? { ...cur, updatedAt: at }
        : {
            ...cur,
            status: transition(cardLifecycle, 'card', cur.status, 'revoked'),
            revokedAt: at,
            updatedAt: at,
          },
    );
    await deps.audit.append({
      actor: args.actor,
      action: 'card.revoke',
      subject: { type: 'card', id: card.cardNumber },
      details: { reason: args.reason, revoked, ...args.details },
    });
    return { ...cardState(saved, await certificatesOfCard(deps, saved), true), revoked };
  };

  /** Station revocation by one certificate's serial: revokes the whole card that certificate is on. */
  const revokeBySerial = async (args: {
    serialNumber: string;
    reason: StationRevocationReason;
    actor: Actor;
  }) => {
    if (!(STATION_REVOCATION_REASONS as readonly string[]).includes(args.reason)) {
      throw new ValidationError(
        'reason',
        'revocation.reason',
        `must be one of ${STATION_REVOCATION_REASONS.join(', ')}`,
      );
    }
    const cert = await deps.certificates.get(args.serialNumber);
    if (!cert || cert.status === 'reserved' || cert.status === 'abandoned') {
      throw new NotFoundError(`no issued certificate with serial number ${args.serialNumber}`, {
        field: 'serial',
        rule: 'certificate.unknown',
      });
    }
    return revokeCard({
      cardNumber: cert.cardNumber,
      reason: args.reason,
      actor: args.actor,
      details: { requestedSerial: args.serialNumber },
    });
  };

  return { suspend, resume, revokeCard, revokeBySerial };
};

const current = (card: Card) =>
  new Set([card.certificateSerials?.signature, card.certificateSerials?.encryption]);

export type CardStateUseCases = ReturnType<typeof createCardStateUseCases>;
