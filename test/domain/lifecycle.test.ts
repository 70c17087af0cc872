import {
  APPLICATION_STATUSES,
  applicationLifecycle,
  CARD_JOB_STATUSES,
  CARD_STATUSES,
  CERTIFICATE_STATUSES,
  cardJobLifecycle,
  cardLifecycle,
  certificateLifecycle,
  transition,
} from '../../shared/domain/lifecycle.js';
import { IllegalTransitionError } from '../../shared/errors.js';

describe('lifecycles', () => {
  const machines = [
    ['application', applicationLifecycle, APPLICATION_STATUSES],
    ['card', cardLifecycle, CARD_STATUSES],
    ['certificate', certificateLifecycle, CERTIFICATE_STATUSES],
    ['cardJob', cardJobLifecycle, CARD_JOB_STATUSES],
  ] as const;

  it.each(machines)(
    '%s: every state has a row and every edge ends in a known state',
    (_n, machine, states) => {
      expect(Object.keys(machine).sort()).toEqual([...states].sort());
      for (const targets of Object.values(machine) as string[][]) {
        for (const t of targets) expect(states as readonly string[]).toContain(t);
      }
    },
  );

  it('allows a paid order to be issued', () => {
    expect(transition(applicationLifecycle, 'application', 'paid', 'issued')).toBe('issued');
  });

  it('refuses to resume a revoked certificate with a typed error naming both states', () => {
    expect(() => transition(certificateLifecycle, 'certificate', 'revoked', 'good')).toThrow(
      IllegalTransitionError,
    );
    try {
      transition(certificateLifecycle, 'certificate', 'revoked', 'good');
    } catch (e) {
      expect((e as IllegalTransitionError).message).toBe('certificate cannot go from revoked to good');
      expect((e as IllegalTransitionError).rule).toBe('certificate.transition');
    }
  });

  it('never lets an unpaid order reach issuance', () => {
    expect(() => transition(applicationLifecycle, 'application', 'awaiting_payment', 'issued')).toThrow(
      'application cannot go from awaiting_payment to issued',
    );
  });
});
