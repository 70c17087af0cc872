import {
  deriveCardAdminKey,
  newUnblockChallenge,
  type UnblockAuthorization,
  verifyUnblockAuthorization,
} from '../../shared/card/unblock.js';
import {
  call,
  type Harness,
  INITIAL_CODE,
  type SeededCard,
  seedIssuedCard,
  startHarness,
} from './harness.js';

describe('activation and PIN unblock (through HTTP)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const activate = (cardNumber: string, body: unknown) =>
    call(`${h.url}/v1/portal/cards/${cardNumber}/activation`, 'POST', body);
  const unblock = (cardNumber: string, body: unknown) =>
    call(`${h.url}/v1/portal/cards/${cardNumber}/pin-unblock`, 'POST', body);

  /** What the card does with an authorization: checks it against its own admin key and pending challenge. */
  const cardAccepts = async (cardNumber: string, pending: string, auth: UnblockAuthorization) =>
    verifyUnblockAuthorization({
      adminKey: await deriveCardAdminKey(h.secrets, cardNumber),
      cardNumber,
      pendingChallenge: pending,
      auth,
      now: h.clock.now(),
    });

  const failuresOf = async (s: SeededCard) => {
    const app = await h.repo.applications.get(s.application.id);
    return app && 'credential' in app ? app.credential : undefined;
  };

  it('activates a mailed card: a 5-minute authorization the card accepts; card active, application activated, sealed code gone', async () => {
    const s = await seedIssuedCard(h);
    const challenge = newUnblockChallenge();
    const r = await activate(s.card.cardNumber, { subscriberCode: s.code, challenge });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      cardNumber: s.card.cardNumber,
      status: 'active',
      repeated: false,
      activatedAt: h.clock.now().toISOString(),
      authorization: {
        cardNumber: s.card.cardNumber,
        challenge,
        expiresAt: new Date(h.clock.now().getTime() + 5 * 60_000).toISOString(),
      },
    });
    expect(await cardAccepts(s.card.cardNumber, challenge, r.body.authorization)).toBe('ok');
    expect(await h.repo.cards.get(s.card.cardNumber)).toMatchObject({
      status: 'active',
      activatedAt: h.clock.now().toISOString(),
    });
    const app = await h.repo.applications.get(s.application.id);
    expect(app).toMatchObject({ status: 'activated', activatedAt: h.clock.now().toISOString() });
    expect(
      (app as { credential: { sealedInitialCode?: string } }).credential.sealedInitialCode,
    ).toBeUndefined();
    const head = (await h.repo.audit.head('main'))!;
    expect(head).toMatchObject({
      action: 'card.activate',
      actor: { type: 'holder', id: s.application.id },
      subject: { type: 'card', id: s.card.cardNumber },
    });
    expect(JSON.stringify(head)).not.toContain(s.code);
  });

  it('refuses the authorization on another card, after its expiry, and for another challenge', async () => {
    const s = await seedIssuedCard(h);
    const other = await seedIssuedCard(h);
    const challenge = newUnblockChallenge();
    const r = await activate(s.card.cardNumber, { subscriberCode: s.code, challenge });
    const auth = r.body.authorization as UnblockAuthorization;
    // Another card showing the same challenge: its own admin key makes another MAC.
    expect(
      await cardAccepts(other.card.cardNumber, challenge, { ...auth, cardNumber: other.card.cardNumber }),
    ).toBe('bad_mac');
    expect(await cardAccepts(s.card.cardNumber, newUnblockChallenge(), auth)).toBe('bad_mac');
    h.clock.advance(5 * 60_000 + 1);
    expect(await cardAccepts(s.card.cardNumber, challenge, auth)).toBe('expired');
  });

  it('refuses a replayed challenge server-side (409 challenge.used), whatever the card does', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const challenge = newUnblockChallenge();
    expect((await unblock(s.card.cardNumber, { subscriberCode: s.code, challenge })).status).toBe(200);
    const replay = await unblock(s.card.cardNumber, { subscriberCode: s.code, challenge });
    expect(replay.status).toBe(409);
    expect(replay.body.error).toMatchObject({ field: 'challenge', rule: 'challenge.used' });
    const viaActivation = await activate(s.card.cardNumber, { subscriberCode: s.code, challenge });
    expect(viaActivation.status).toBe(409);
  });

  it('activation again on an active card (the card did not take the PIN) gives a fresh authorization', async () => {
    const s = await seedIssuedCard(h);
    const first = await activate(s.card.cardNumber, {
      subscriberCode: s.code,
      challenge: newUnblockChallenge(),
    });
    expect(first.body.repeated).toBe(false);
    const challenge = newUnblockChallenge();
    const again = await activate(s.card.cardNumber, { subscriberCode: s.code, challenge });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ repeated: true, activatedAt: first.body.activatedAt });
    expect(await cardAccepts(s.card.cardNumber, challenge, again.body.authorization)).toBe('ok');
    expect((await h.repo.audit.head('main'))!.action).toBe('card.activate.repeat');
  });

  it('finishes an activation that stopped between the card and the application record', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' }); // card saved active, then a crash
    const r = await activate(s.card.cardNumber, { subscriberCode: s.code, challenge: newUnblockChallenge() });
    expect(r.body.repeated).toBe(true);
    const app = await h.repo.applications.get(s.application.id);
    expect(app).toMatchObject({ status: 'activated' });
    expect(
      (app as { credential: { sealedInitialCode?: string } }).credential.sealedInitialCode,
    ).toBeUndefined();
    expect((await h.repo.audit.head('main'))!.details).toMatchObject({ finishedApplication: true });
  });

  it('a wrong code is 401 naming what is left, counted; a malformed one is 400 and not counted', async () => {
    const s = await seedIssuedCard(h);
    const wrong = await activate(s.card.cardNumber, {
      subscriberCode: 'WWWWWW7',
      challenge: newUnblockChallenge(),
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ field: 'subscriberCode', rule: 'subscriber_code.wrong' });
    expect(wrong.body.error.message).toContain('3 tries left');
    expect((await failuresOf(s))?.failures).toBe(1);
    const malformed = await activate(s.card.cardNumber, {
      subscriberCode: 'abc',
      challenge: newUnblockChallenge(),
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.field).toBe('subscriberCode');
    const badChallenge = await activate(s.card.cardNumber, { subscriberCode: s.code, challenge: 'XYZ' });
    expect(badChallenge.status).toBe(400);
    expect(badChallenge.body.error.field).toBe('challenge');
    expect((await failuresOf(s))?.failures).toBe(1);
    expect((await h.repo.cards.get(s.card.cardNumber))?.status).toBe('mailed');
    // The right code (typed in lower case) forgets the failure.
    const ok = await activate(s.card.cardNumber, {
      subscriberCode: s.code.toLowerCase(),
      challenge: newUnblockChallenge(),
    });
    expect(ok.status).toBe(200);
    expect((await failuresOf(s))?.failures).toBe(0);
  });

  it('locks the code at the 4th wrong try; then even the right code is 423, and the card stays mailed', async () => {
    const s = await seedIssuedCard(h);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await activate(s.card.cardNumber, { subscriberCode: 'WWWWWW7', challenge: newUnblockChallenge() }))
          .status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 423]);
    const right = await activate(s.card.cardNumber, {
      subscriberCode: s.code,
      challenge: newUnblockChallenge(),
    });
    expect(right.status).toBe(423);
    expect(right.body.error.rule).toBe('subscriber_code.locked');
    expect((await h.repo.cards.get(s.card.cardNumber))?.status).toBe('mailed');
    expect(await failuresOf(s)).toMatchObject({ failures: 4, lockedAt: h.clock.now().toISOString() });
    const actions = (await h.repo.audit.range('main', 1, 100_000)).filter(
      (r) => r.subject.id === s.application.id,
    );
    expect(actions.map((r) => r.action)).toEqual([
      'subscriber_code.failed',
      'subscriber_code.failed',
      'subscriber_code.failed',
      'subscriber_code.locked',
    ]);
  });

  it('counts concurrent wrong codes one each: exactly 4 failures, locked', async () => {
    const s = await seedIssuedCard(h);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        activate(s.card.cardNumber, { subscriberCode: 'WWWWWW7', challenge: newUnblockChallenge() }),
      ),
    );
    expect(results.every((r) => r.status === 401 || r.status === 423)).toBe(true);
    expect(results.filter((r) => r.status === 423).length).toBeGreaterThanOrEqual(5);
    expect(await failuresOf(s)).toMatchObject({ failures: 4 });
  });

  it('a wrong card number: unknown is 404; another holder’s card counts against that card’s code', async () => {
    const s = await seedIssuedCard(h);
    const other = await seedIssuedCard(h, { code: 'XNHK4WC7' });
    const unknown = await activate('AC99999999999999', {
      subscriberCode: s.code,
      challenge: newUnblockChallenge(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.rule).toBe('card.unknown');
    const mixed = await activate(other.card.cardNumber, {
      subscriberCode: s.code,
      challenge: newUnblockChallenge(),
    });
    expect(mixed.status).toBe(401);
    expect((await failuresOf(other))?.failures).toBe(1);
    expect((await failuresOf(s))?.failures).toBe(0);
    expect(
      (await activate('not-a-card', { subscriberCode: s.code, challenge: newUnblockChallenge() })).status,
    ).toBe(400);
  });

  it('refuses to activate a suspended, a revoked and a not yet mailed card (409, rule named)', async () => {
    const suspended = await seedIssuedCard(h);
    await call(`${h.url}/v1/portal/cards/${suspended.card.cardNumber}/suspension`, 'POST', {
      subscriberCode: suspended.code,
    });
    const r1 = await activate(suspended.card.cardNumber, {
      subscriberCode: suspended.code,
      challenge: newUnblockChallenge(),
    });
    expect(r1.status).toBe(409);
    expect(r1.body.error.rule).toBe('card.suspended');

    const revoked = await seedIssuedCard(h);
    await call(
      `${h.url}/v1/station/certificates/${revoked.signature.serialNumber}/revocation`,
      'POST',
      { reason: 'keyCompromise' },
      await h.officer(),
    );
    const r2 = await activate(revoked.card.cardNumber, {
      subscriberCode: revoked.code,
      challenge: newUnblockChallenge(),
    });
    expect(r2.status).toBe(409);
    expect(r2.body.error.rule).toBe('card.revoked');

    const inBureau = await seedIssuedCard(h, { cardStatus: 'personalized', appStatus: 'personalized' });
    const r3 = await activate(inBureau.card.cardNumber, {
      subscriberCode: inBureau.code,
      challenge: newUnblockChallenge(),
    });
    expect(r3.status).toBe(409);
    expect(r3.body.error.rule).toBe('card.not_mailed');
  });

  it('PIN unblock: an authorization for exactly that card; refused for a mailed, a suspended and a revoked card', async () => {
    const a = await seedIssuedCard(h, { cardStatus: 'active' });
    const b = await seedIssuedCard(h, { cardStatus: 'active' });
    const challenge = newUnblockChallenge();
    const r = await unblock(a.card.cardNumber, { subscriberCode: a.code, challenge });
    expect(r.status).toBe(200);
    expect(await cardAccepts(a.card.cardNumber, challenge, r.body.authorization)).toBe('ok');
    expect(
      await cardAccepts(b.card.cardNumber, challenge, {
        ...r.body.authorization,
        cardNumber: b.card.cardNumber,
      }),
    ).toBe('bad_mac');
    expect((await h.repo.audit.head('main'))!).toMatchObject({
      action: 'card.pin_unblock',
      subject: { id: a.card.cardNumber },
    });

    const mailed = await seedIssuedCard(h);
    const m = await unblock(mailed.card.cardNumber, {
      subscriberCode: mailed.code,
      challenge: newUnblockChallenge(),
    });
    expect(m.status).toBe(409);
    expect(m.body.error.rule).toBe('card.not_activated');

    await call(`${h.url}/v1/portal/cards/${b.card.cardNumber}/suspension`, 'POST', {
      subscriberCode: b.code,
    });
    const sus = await unblock(b.card.cardNumber, {
      subscriberCode: b.code,
      challenge: newUnblockChallenge(),
    });
    expect(sus.status).toBe(409);
    expect(sus.body.error.rule).toBe('card.suspended');
  });

  it('never writes the subscriber code, a challenge MAC or the ARC number into the audit log', async () => {
    const all = JSON.stringify(await h.repo.audit.range('main', 1, 100_000));
    expect(all).not.toContain(INITIAL_CODE);
    expect(all).not.toContain('A800000014');
    expect(all).not.toMatch(/"mac"/);
    expect(all).toContain('card.activate');
    expect((await h.audit.verify()).ok).toBe(true);
  });
});
