import { auditRecordHash } from '../../shared/audit.js';
import { parseExportTime } from '../../shared/usecases/ops.js';
import { call, type Harness, HOLDER, seedIssuedCard, startHarness } from '../holder/harness.js';

describe('ops: emergency (fax) suspension', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const suspend = async (body: unknown, token?: string) =>
    call(`${h.url}/v1/ops/suspensions`, 'POST', body, token ?? (await h.ops()));

  it('puts both certificates on hold and suspends the card by ops, audited with the ops identity and case', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const r = await suspend({
      cardNumber: s.card.cardNumber,
      caseReference: 'FAX-2026-000123',
      reason: 'card lost in a taxi',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      cardNumber: s.card.cardNumber,
      status: 'suspended',
      changed: true,
      suspendedBy: 'ops',
      suspendedAt: h.clock.now().toISOString(),
    });
    expect(r.body.certificates.map((c: { status: string }) => c.status)).toEqual(['hold', 'hold']);
    const card = await h.repo.cards.get(s.card.cardNumber);
    expect(card).toMatchObject({ status: 'suspended', suspendedBy: 'ops' });
    for (const serial of [s.signature.serialNumber, s.encryption.serialNumber]) {
      expect((await h.repo.certificates.get(serial))?.status).toBe('hold');
    }
    const head = (await h.repo.audit.head('main'))!;
    expect(head).toMatchObject({
      action: 'card.suspend',
      actor: { type: 'ops', id: 'ops-ana' },
      subject: { type: 'card', id: s.card.cardNumber },
      details: { by: 'ops', caseReference: 'FAX-2026-000123', caseReason: 'card lost in a taxi' },
    });
  });

  it('is idempotent: a second fax for the same card changes nothing', async () => {
    const s = await seedIssuedCard(h);
    const body = {
      cardNumber: s.card.cardNumber,
      caseReference: 'FAX-2026-000124',
      reason: 'lost in the post',
    };
    expect((await suspend(body)).body.changed).toBe(true);
    const again = await suspend(body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'suspended', changed: false });
  });

  it('masks an ARC number written into the case reason before it reaches the audit log', async () => {
    const s = await seedIssuedCard(h);
    await suspend({
      cardNumber: s.card.cardNumber,
      caseReference: 'FAX-2026-000125',
      reason: `holder ARC ${HOLDER.arcNumber}`,
    });
    const head = (await h.repo.audit.head('main'))!;
    expect(JSON.stringify(head)).not.toContain(HOLDER.arcNumber);
    expect(head.details.caseReason).toBe('holder ARC ******0014');
  });

  it.each([
    [{ caseReference: 'FAX-1', reason: 'lost' }, 'cardNumber'],
    [{ cardNumber: 'AC1', caseReference: 'FAX-1', reason: 'lost' }, 'cardNumber'],
    [{ cardNumber: 'AC00000000000001', reason: 'lost' }, 'caseReference'],
    [{ cardNumber: 'AC00000000000001', caseReference: 'FAX 1 ; drop', reason: 'lost' }, 'caseReference'],
    [{ cardNumber: 'AC00000000000001', caseReference: 'FAX-1', reason: '' }, 'reason'],
    [{ cardNumber: 'AC00000000000001', caseReference: 'FAX-1', reason: 'lost', extra: 1 }, 'extra'],
  ])('refuses %j with a 400 naming %s', async (body, field) => {
    const r = await suspend(body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
  });

  it('answers 404 for an unknown card and 409 for a revoked one', async () => {
    const unknown = await suspend({ cardNumber: 'ZZ99999999999999', caseReference: 'FAX-9', reason: 'lost' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.rule).toBe('card.unknown');
    const s = await seedIssuedCard(h);
    await call(
      `${h.url}/v1/station/certificates/${s.signature.serialNumber}/revocation`,
      'POST',
      { reason: 'unspecified' },
      await h.officer(),
    );
    const revoked = await suspend({ cardNumber: s.card.cardNumber, caseReference: 'FAX-10', reason: 'lost' });
    expect(revoked.status).toBe(409);
    expect(revoked.body.error.rule).toBe('card.revoked');
  });

  it('keeps station and ops apart: neither token opens the other role’s routes', async () => {
    const s = await seedIssuedCard(h);
    const asOfficer = await suspend(
      { cardNumber: s.card.cardNumber, caseReference: 'FAX-11', reason: 'lost' },
      await h.officer(),
    );
    expect(asOfficer.status).toBe(403);
    const asOps = await call(
      `${h.url}/v1/station/certificates/${s.signature.serialNumber}/revocation`,
      'POST',
      { reason: 'unspecified' },
      await h.ops(),
    );
    expect(asOps.status).toBe(403);
    const cardStation = await h.issuer.issue('card-station', 'bureau-1');
    expect(
      (await call(`${h.url}/v1/ops/audit?from=2026-01-01&to=2026-12-31`, 'GET', undefined, cardStation))
        .status,
    ).toBe(403);
    expect((await call(`${h.url}/v1/ops/audit?from=2026-01-01&to=2026-12-31`, 'GET')).status).toBe(401);
    expect((await h.repo.cards.get(s.card.cardNumber))?.status).toBe('mailed');
  });
});

describe('ops: audit export', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    // Ten records a day apart, from 2026-11-23T02:00Z.
    for (let i = 0; i < 10; i++) {
      await h.audit.append({
        actor: { type: 'system', id: 'test' },
        action: 'test.event',
        subject: { type: 'test', id: String(i) },
        details: { i },
      });
      h.clock.advance(86_400_000);
    }
  });
  afterAll(() => h.close());

  const exportAudit = async (qs: string) =>
    call(`${h.url}/v1/ops/audit?${qs}`, 'GET', undefined, await h.ops());

  it('exports the records in [from, to) with their verification and the chain head', async () => {
    // 2026-11-25 00:00 Taipei = 2026-11-24T16:00Z: records 3 (11-25T02:00Z) … ; to 2026-11-28 Taipei excl.
    const r = await exportAudit('from=2026-11-25&to=2026-11-28');
    expect(r.status).toBe(200);
    expect(r.body.from).toBe('2026-11-24T16:00:00.000Z');
    expect(r.body.to).toBe('2026-11-27T16:00:00.000Z');
    expect(r.body.records.map((x: { seq: number }) => x.seq)).toEqual([3, 4, 5]);
    expect(r.body.verification).toEqual({ ok: true, records: 3 });
    expect(r.body.head).toEqual({ seq: 10, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    for (const rec of r.body.records) expect(auditRecordHash(rec)).toBe(rec.hash);
    expect(r.body.nextAfterSeq).toBeUndefined();
  });

  it('pages with afterSeq, and audits each export with the ops identity', async () => {
    const first = await exportAudit('from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z&limit=4');
    expect(first.body.records.map((x: { seq: number }) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(first.body.nextAfterSeq).toBe(4);
    const head = (await h.repo.audit.head('main'))!;
    expect(head).toMatchObject({
      action: 'audit.export',
      actor: { type: 'ops', id: 'ops-ana' },
      details: { records: 4, firstSeq: 1, lastSeq: 4, verified: true },
    });
    const second = await exportAudit(`from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z&limit=4&afterSeq=4`);
    expect(second.body.records.map((x: { seq: number }) => x.seq)).toEqual([5, 6, 7, 8]);
  });

  it('reports a tampered record as broken at its seq', async () => {
    const [rec] = await h.repo.audit.range('main', 6, 6);
    const tampered = { ...rec!, details: { i: 999 } };
    // The port refuses to overwrite a record; simulate an insider editing the table directly, below it.
    await expect(h.repo.audit.put(tampered)).rejects.toThrow();
    const store = h.repo.audit;
    const original = store.range;
    store.range = async (c, f, t) => (await original(c, f, t)).map((x) => (x.seq === 6 ? tampered : x));
    try {
      const r = await exportAudit('from=2026-11-23&to=2026-12-31');
      expect(r.status).toBe(200);
      expect(r.body.records.find((x: { seq: number }) => x.seq === 6).details).toEqual({ i: 999 });
      expect(r.body.verification).toMatchObject({ ok: false, brokenAt: 6 });
    } finally {
      store.range = original;
    }
  });

  it('answers an empty window with no records and a good verification', async () => {
    const r = await exportAudit('from=2025-01-01&to=2025-02-01');
    expect(r.status).toBe(200);
    expect(r.body.records).toEqual([]);
    expect(r.body.verification).toEqual({ ok: true, records: 0 });
  });

  it.each([
    ['to=2026-12-01', 'from'],
    ['from=2026-12-01', 'to'],
    ['from=yesterday-ish&to=2026-12-01', 'from'],
    ['from=2026-11-01T00:00:00&to=2026-12-01', 'from'], // a date-time needs its zone
    ['from=2026-12-01&to=2026-11-01', 'to'],
    ['from=2024-01-01&to=2026-01-01', 'to'],
    ['from=2026-11-01&to=2026-12-01&limit=0', 'limit'],
  ])('refuses ?%s with a 400 naming %s', async (qs, field) => {
    const r = await exportAudit(qs);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
  });

  it('reads dates on the Taipei calendar', () => {
    expect(parseExportTime('2026-11-01', 'from').toISOString()).toBe('2026-10-31T16:00:00.000Z');
    expect(parseExportTime('2026-11-01T08:00:00+08:00', 'from').toISOString()).toBe(
      '2026-11-01T00:00:00.000Z',
    );
  });
});
