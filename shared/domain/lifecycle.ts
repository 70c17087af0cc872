import { IllegalTransitionError } from '../errors.js';

/**
 * The life of an application (order), a card and a certificate, each as one table of allowed
 * transitions. Use cases call `transition` before they write; the repository then writes the new status
 * with a conditional (versioned) put, so a state can only move along these edges.
 */

export const APPLICATION_STATUSES = [
  'awaiting_payment', // counter application taken; the 15-day payment window is open
  'paid', // gateway confirmed NT$278; issuance starts
  'issued', // both certificates signed; the card job is queued for the card station
  'personalized', // the card station wrote the card and printed its face
  'mailed', // handed to the post office; tracking number known
  'activated', // the holder activated the card and set the first PIN
  'cancelled', // cancelled at the station before payment
  'purged', // unpaid when the window closed; personal data deleted
  'failed', // issuance could not complete; ops must act (the paid order is kept)
] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];

export const CARD_STATUSES = [
  'blank', // enrolled stock: keys generated on the card, public keys in the inventory
  'allocated', // reserved for one application; certificates are signed for its keys
  'personalized', // certificates written, face printed, card locked until activation
  'mailed', // in the post
  'active', // the holder activated it
  'suspended', // certificates on hold (holder or ops); can be resumed
  'revoked', // final
  'spoiled', // damaged or written wrongly at the bureau; never mailed
] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

export const CERTIFICATE_STATUSES = [
  'reserved', // serial reserved and the to-be-signed certificate recorded; not (yet) signed
  'good', // signed and valid
  'hold', // suspended: certificateHold on the CRL and in OCSP
  'revoked', // final
  'abandoned', // reserved but never signed; nothing to revoke
] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

export const CARD_JOB_STATUSES = [
  'queued', // waiting for a card station
  'leased', // a card station holds an exclusive lease until leaseExpiresAt
  'completed', // card written and verified; the workflow was resumed
  'mailed', // tracking number reported
  'failed', // the bureau gave up on this card (it is spoiled); ops re-queue with a new card
] as const;
export type CardJobStatus = (typeof CARD_JOB_STATUSES)[number];

export type Transitions<S extends string> = Readonly<Record<S, readonly S[]>>;

export const applicationLifecycle: Transitions<ApplicationStatus> = {
  awaiting_payment: ['paid', 'cancelled', 'purged'],
  paid: ['issued', 'failed'],
  issued: ['personalized', 'failed'],
  personalized: ['mailed', 'failed'],
  mailed: ['activated'],
  activated: [],
  cancelled: [],
  purged: [],
  failed: ['paid'],
};

export const cardLifecycle: Transitions<CardStatus> = {
  blank: ['allocated', 'spoiled'],
  allocated: ['personalized', 'blank', 'spoiled', 'revoked'],
  personalized: ['mailed', 'spoiled', 'revoked'],
  mailed: ['active', 'suspended', 'revoked'],
  active: ['suspended', 'revoked'],
  suspended: ['active', 'mailed', 'revoked'],
  revoked: [],
  spoiled: [],
};

export const certificateLifecycle: Transitions<CertificateStatus> = {
  reserved: ['good', 'abandoned', 'revoked'],
  good: ['hold', 'revoked'],
  hold: ['good', 'revoked'],
  revoked: [],
  abandoned: [],
};

export const cardJobLifecycle: Transitions<CardJobStatus> = {
  queued: ['leased', 'failed'],
  leased: ['leased', 'queued', 'completed', 'failed'],
  completed: ['mailed'],
  mailed: [],
  failed: ['queued'],
};

export const canTransition = <S extends string>(machine: Transitions<S>, from: S, to: S): boolean =>
  machine[from].includes(to);

/** Returns `to` when the edge exists, otherwise throws a typed IllegalTransitionError. */
export const transition = <S extends string>(machine: Transitions<S>, entity: string, from: S, to: S): S => {
  if (!canTransition(machine, from, to)) throw new IllegalTransitionError(entity, from, to);
  return to;
};
