import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { call, type Harness, seedIssuedCard, startHarness } from './harness.js';

describe('station revocation (POST /v1/station/certificates/{serial}/revocation)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const revoke = async (serial: string, body: unknown) =>
    call(`${h.url}/v1/station/certificates/${serial}/revocation`, 'POST', body, await h.officer());

  it('revokes both certificates of the card and the card for good, audited with the officer and station', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const r = await revoke(s.encryption.serialNumber, { reason: 'keyCompromise' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ cardNumber: s.card.cardNumber, status: 'revoked', changed: true });
    expect(r.body.revoked.sort()).toEqual([s.signature.serialNumber, s.encryption.serialNumber].sort());
    for (const serial of [s.signature.serialNumber, s.encryption.serialNumber]) {
      expect(await h.repo.certificates.get(serial)).toMatchObject({
        status: 'revoked',
        revocationReason: 'keyCompromise',
        revokedAt: h.clock.now().toISOString(),
      });
    }
    expect(await h.repo.cards.get(s.card.cardNumber)).toMatchObject({ status: 'revoked' });
    expect((await h.repo.audit.head('main'))!).toMatchObject({
      action: 'card.revoke',
      actor: { type: 'officer', id: 'officer-7', stationId: 'TPE01' },
      details: { reason: 'keyCompromise', requestedSerial: s.encryption.serialNumber },
    });
  });

  it('answers 409 for a card already revoked, saying since when and why', async () => {
    const s = await seedIssuedCard(h);
    expect((await revoke(s.signature.serialNumber, { reason: 'affiliationChanged' })).status).toBe(200);
    const again = await revoke(s.signature.serialNumber, { reason: 'unspecified' });
    expect(again.status).toBe(409);
    expect(again.body.error.rule).toBe('certificate.already_revoked');
    expect(again.body.error.message).toContain('affiliationChanged');
    // The first reason stands.
    expect((await h.repo.certificates.get(s.signature.serialNumber))?.revocationReason).toBe(
      'affiliationChanged',
    );
  });

  it('finishes a revocation that stopped half-way (one certificate revoked, card still active)', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    await h.ca.revoke(s.signature.serialNumber, 'unspecified', { type: 'officer', id: 'officer-7' });
    const r = await revoke(s.signature.serialNumber, { reason: 'unspecified' });
    expect(r.status).toBe(200);
    expect(r.body.revoked).toEqual([s.encryption.serialNumber]);
    expect((await h.repo.cards.get(s.card.cardNumber))?.status).toBe('revoked');
  });

  it('revokes a suspended card (hold → revoked)', async () => {
    const s = await seedIssuedCard(h);
    await call(
      `${h.url}/v1/ops/suspensions`,
      'POST',
      { cardNumber: s.card.cardNumber, caseReference: 'FAX-77', reason: 'lost' },
      await h.ops(),
    );
    const r = await revoke(s.signature.serialNumber, { reason: 'cessationOfOperation' });
    expect(r.status).toBe(200);
    expect(r.body.certificates.map((c: { status: string }) => c.status)).toEqual(['revoked', 'revoked']);
  });

  it.each([
    [{ reason: 'certificateHold' }, 'reason'],
    [{ reason: 'cACompromise' }, 'reason'],
    [{ reason: 'lost' }, 'reason'],
    [{}, 'reason'],
    [{ reason: 'unspecified', note: 'x' }, 'note'],
  ])('refuses body %j with a 400 naming %s', async (body, field) => {
    const s = await seedIssuedCard(h);
    const r = await revoke(s.signature.serialNumber, body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
    expect((await h.repo.cards.get(s.card.cardNumber))?.status).toBe('mailed');
  });

  it('answers 400 for a malformed serial and 404 for an unknown one', async () => {
    const bad = await revoke('XYZ', { reason: 'unspecified' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('serial');
    const unknown = await revoke('1234567890abcdef12', { reason: 'unspecified' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.rule).toBe('certificate.unknown');
  });

  it('refuses a request without a token, and a forged token', async () => {
    const s = await seedIssuedCard(h);
    const url = `${h.url}/v1/station/certificates/${s.signature.serialNumber}/revocation`;
    expect((await call(url, 'POST', { reason: 'unspecified' })).status).toBe(401);
    const forged = `${(await h.officer()).slice(0, -6)}AAAAAA`;
    expect((await call(url, 'POST', { reason: 'unspecified' }, forged)).status).toBe(401);
  });
});

describe('card state changes never interleave', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const useCases = () =>
    createCardStateUseCases({
      cards: h.repo.cards,
      certificates: h.repo.certificates,
      markers: h.repo.markers,
      ca: h.ca,
      audit: h.audit,
      clock: h.clock,
    });
  const ops = { type: 'ops' as const, id: 'ops-ana' };

  it('a second operation on the same card version is told the card is busy; it goes through after expiry', async () => {
    const s = await seedIssuedCard(h);
    // An operation that claimed the card and crashed before saving it.
    await h.repo.markers.claim(
      `card-op:${s.card.cardNumber}:v${s.card.version}`,
      new Date(h.clock.now().getTime() + 60_000).toISOString(),
    );
    await expect(
      useCases().suspend({ cardNumber: s.card.cardNumber, by: 'ops', actor: ops }),
    ).rejects.toMatchObject({
      rule: 'card.busy',
    });
    expect((await h.repo.certificates.get(s.signature.serialNumber))?.status).toBe('good');
    h.clock.advance(61_000);
    const r = await useCases().suspend({ cardNumber: s.card.cardNumber, by: 'ops', actor: ops });
    expect(r.status).toBe('suspended');
  });

  it('concurrent suspension and resumption end consistent: card status matches its certificates', async () => {
    // A CA that takes a while (as an HSM-backed CRL regeneration does), so the two requests overlap.
    const tick = (n: number) => new Promise<void>((r) => setTimeout(r, n));
    const slow = (delay: number) => ({
      hold: async (serial: string, actor: typeof ops) => {
        await tick(delay);
        return h.ca.hold(serial, actor);
      },
      release: async (serial: string, actor: typeof ops) => {
        await tick(delay);
        return h.ca.release(serial, actor);
      },
      revoke: h.ca.revoke,
    });
    for (const [delayResume, delaySuspend, startSuspendAfter] of [
      [5, 0, 2],
      [0, 5, 0],
      [3, 3, 1],
      [8, 1, 4],
      [5, 5, 7],
      [5, 1, 6],
    ] as const) {
      const s = await seedIssuedCard(h, { cardStatus: 'suspended' });
      await h.ca.hold(s.signature.serialNumber, ops);
      await h.ca.hold(s.encryption.serialNumber, ops);
      const with_ = (ca: ReturnType<typeof slow>) =>
        createCardStateUseCases({
          cards: h.repo.cards,
          certificates: h.repo.certificates,
          markers: h.repo.markers,
          ca,
          audit: h.audit,
          clock: h.clock,
        });
      const results = await Promise.allSettled([
        with_(slow(delayResume)).resume({ cardNumber: s.card.cardNumber, actor: ops }),
        tick(startSuspendAfter).then(() =>
          with_(slow(delaySuspend)).suspend({ cardNumber: s.card.cardNumber, by: 'holder', actor: ops }),
        ),
      ]);
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ rule: 'card.busy' });
      const card = (await h.repo.cards.get(s.card.cardNumber))!;
      const statuses = [
        (await h.repo.certificates.get(s.signature.serialNumber))!.status,
        (await h.repo.certificates.get(s.encryption.serialNumber))!.status,
      ];
      expect(statuses).toEqual(card.status === 'suspended' ? ['hold', 'hold'] : ['good', 'good']);
    }
  });

  it('a suspension that held the certificates but crashed before saving the card is finished by a retry', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    await h.ca.hold(s.signature.serialNumber, ops); // …crash here
    const r = await useCases().suspend({ cardNumber: s.card.cardNumber, by: 'holder', actor: ops });
    expect(r).toMatchObject({ status: 'suspended', changed: true });
    expect(r.certificates.map((c) => c.status)).toEqual(['hold', 'hold']);
  });

  it('resumption goes back to active after activation, to mailed before it; a revoked certificate is not resumed', async () => {
    const active = await seedIssuedCard(h, { cardStatus: 'active' });
    const mailed = await seedIssuedCard(h);
    for (const s of [active, mailed])
      await useCases().suspend({ cardNumber: s.card.cardNumber, by: 'holder', actor: ops });
    expect((await useCases().resume({ cardNumber: active.card.cardNumber, actor: ops })).status).toBe(
      'active',
    );
    const m = await useCases().resume({ cardNumber: mailed.card.cardNumber, actor: ops });
    expect(m.status).toBe('mailed');
    expect(m.certificates.map((c) => c.status)).toEqual(['good', 'good']);
    expect(await h.repo.cards.get(mailed.card.cardNumber)).not.toHaveProperty('suspendedBy');

    // A station revocation that revoked one certificate of a suspended card and stopped there.
    const half = await seedIssuedCard(h);
    await useCases().suspend({ cardNumber: half.card.cardNumber, by: 'holder', actor: ops });
    await h.ca.revoke(half.signature.serialNumber, 'keyCompromise', ops);
    await expect(useCases().resume({ cardNumber: half.card.cardNumber, actor: ops })).rejects.toMatchObject({
      rule: 'certificate.revoked',
    });
    expect((await h.repo.certificates.get(half.encryption.serialNumber))?.status).toBe('hold');
  });
});
