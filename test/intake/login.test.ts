import type { Application } from '../../shared/domain/model.js';
import { AuthenticationError, LockedError, ValidationError } from '../../shared/errors.js';
import { createHarness, HOLDER, OFFICER } from './harness.js';

/** A wrong code of the right shape (the alphabet has no 0, O, 1, I…, but any letters/digits parse). */
const wrongCodeFor = (code: string) => (code.startsWith('3') ? `4${code.slice(1)}` : `3${code.slice(1)}`);

describe('holder login (ARC number + subscriber code)', () => {
  it('logs in with the right code: a 43-character bearer token, only its sha256 stored, short-lived', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const s = await h.portal.login({
      arcNumber: HOLDER.arcNumber.toLowerCase(),
      subscriberCode: r.subscriberCode.toLowerCase(),
    });
    expect(s.applicationId).toBe(r.applicationId);
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.expiresAt).toBe(new Date(h.clock.now().getTime() + 15 * 60_000).toISOString());
    expect(await h.repo.sessions.get(s.token)).toBeUndefined();
    expect(await h.portal.authenticate(s.token)).toMatchObject({ applicationId: r.applicationId });

    h.clock.advance(15 * 60_000 + 1);
    await expect(h.portal.authenticate(s.token)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('logout ends the session at once', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const s = await h.portal.login({ arcNumber: HOLDER.arcNumber, subscriberCode: r.subscriberCode });
    await h.portal.logout(s.token);
    await expect(h.portal.authenticate(s.token)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('answers an unknown ARC number exactly like a wrong code, and a malformed field with 400', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const unknown = await h.portal
      .login({ arcNumber: 'A900000016', subscriberCode: r.subscriberCode })
      .catch((e) => e);
    const wrong = await h.portal
      .login({ arcNumber: HOLDER.arcNumber, subscriberCode: wrongCodeFor(r.subscriberCode) })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(AuthenticationError);
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect(unknown.message).toBe(wrong.message);
    await expect(h.portal.login({ arcNumber: HOLDER.arcNumber, subscriberCode: 'ab' })).rejects.toMatchObject(
      {
        field: 'subscriberCode',
      },
    );
    await expect(
      h.portal.login({ arcNumber: 'A800000015', subscriberCode: r.subscriberCode }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('counts failures, resets them on success, and locks on the 4th: the right code is then 423', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const wrong = { arcNumber: HOLDER.arcNumber, subscriberCode: wrongCodeFor(r.subscriberCode) };
    const right = { arcNumber: HOLDER.arcNumber, subscriberCode: r.subscriberCode };
    const failures = async () =>
      ((await h.repo.applications.get(r.applicationId)) as Application).credential.failures;

    for (let i = 0; i < 3; i++)
      await expect(h.portal.login(wrong)).rejects.toBeInstanceOf(AuthenticationError);
    expect(await failures()).toBe(3);
    await h.portal.login(right);
    expect(await failures()).toBe(0);

    for (let i = 0; i < 3; i++)
      await expect(h.portal.login(wrong)).rejects.toBeInstanceOf(AuthenticationError);
    await expect(h.portal.login(wrong)).rejects.toBeInstanceOf(LockedError);
    await expect(h.portal.login(right)).rejects.toBeInstanceOf(LockedError);
    await expect(h.portal.login(wrong)).rejects.toBeInstanceOf(LockedError);
    expect(await failures()).toBe(4);
  });

  it('20 concurrent wrong codes lock after exactly 4 counted failures; the right code is then refused with 423', async () => {
    const h = await createHarness();
    const r = await h.station.applyAtCounter(HOLDER, OFFICER);
    const wrong = { arcNumber: HOLDER.arcNumber, subscriberCode: wrongCodeFor(r.subscriberCode) };

    const results = await Promise.allSettled(Array.from({ length: 20 }, () => h.portal.login(wrong)));
    const reasons = results.map((x) => (x.status === 'rejected' ? x.reason : x.value));
    expect(reasons.every((e) => e instanceof AuthenticationError || e instanceof LockedError)).toBe(true);
    // Each of the first three counted failures is a 401; the 4th locks (423); the others find it locked.
    expect(reasons.filter((e) => e instanceof AuthenticationError)).toHaveLength(3);
    expect(reasons.filter((e) => e instanceof LockedError)).toHaveLength(17);

    const app = (await h.repo.applications.get(r.applicationId)) as Application;
    expect(app.credential.failures).toBe(4);
    expect(app.credential.lockedAt).toBeDefined();
    const actions = (await h.auditRecords()).map((a) => a.action);
    expect(actions.filter((a) => a === 'holder.login_failed')).toHaveLength(3);
    expect(actions.filter((a) => a === 'subscriber_code.locked')).toHaveLength(1);

    await expect(
      h.portal.login({ arcNumber: HOLDER.arcNumber, subscriberCode: r.subscriberCode }),
    ).rejects.toMatchObject({ code: 'locked', rule: 'subscriber_code.locked' });
  });
});
