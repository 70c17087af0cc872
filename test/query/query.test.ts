import { maskCardNumber, parseCertificateQuery } from '../../shared/usecases/query.js';
import {
  call,
  type Harness,
  HOLDER,
  type SeededCard,
  seedIssuedCard,
  startHarness,
} from '../holder/harness.js';

/** Every string leaf (and every key) of a JSON value, with its path. */
const leaves = (v: unknown, path = '$'): { path: string; key: string; value: string }[] => {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`));
  if (v && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => [
      { path: `${path}.${k}`, key: k, value: '' },
      ...leaves(x, `${path}.${k}`),
    ]);
  }
  return [{ path, key: '', value: String(v) }];
};

/** Fails naming the path if any field of `body` carries a piece of the holder's personal data. */
const expectNoPersonalData = (body: unknown, seeded: SeededCard) => {
  const app = seeded.application;
  const secrets = [
    HOLDER.arcNumber,
    app.arcKey,
    app.id,
    app.name,
    ...app.name.split(' ').filter((p) => p.length >= 3),
    app.email,
    app.email.split('@')[0]!,
    app.dateOfBirth,
    app.dateOfBirth.replaceAll('-', ''),
    app.mailingAddress.line1,
    'Roosevelt',
    app.mailingAddress.postalCode,
    HOLDER.subjectSerial,
  ];
  const forbiddenKeys =
    /^(arc|arcNumber|arcKey|arcLast4|name|subjectName|email|emailKey|dateOfBirth|mailingAddress|address|subjectSerial|applicationId|der)$/i;
  // The one `name` allowed is the issuing CA's (its value is still checked below like every other).
  const isIssuerName = (path: string) => /^\$\.certificates\[\d+\]\.issuer\.name$/.test(path);
  for (const leaf of leaves(body)) {
    const forbiddenKey = forbiddenKeys.test(leaf.key) && !isIssuerName(leaf.path);
    expect({ path: leaf.path, forbiddenKey }).toEqual({
      path: leaf.path,
      forbiddenKey: false,
    });
    for (const s of secrets) {
      if (leaf.value.toLowerCase().includes(s.toLowerCase())) {
        throw new Error(`${leaf.path} = ${JSON.stringify(leaf.value)} carries personal data (${s})`);
      }
    }
  }
};

describe('public certificate query', () => {
  let h: Harness;
  let a: SeededCard;
  let b: SeededCard;

  beforeAll(async () => {
    h = await startHarness();
    a = await seedIssuedCard(h);
    b = await seedIssuedCard(h, { cardStatus: 'active' });
  });
  afterAll(() => h.close());

  const q = (qs: string) => call(`${h.url}/v1/certificates?${qs}`, 'GET');

  it('finds a card by its number and echoes the full number back', async () => {
    const r = await q(`cardNumber=${a.card.cardNumber}`);
    expect(r.status).toBe(200);
    expect(r.body.query).toBe('cardNumber');
    expect(r.body.truncated).toBe(false);
    expect(r.body.certificates).toHaveLength(2);
    const sig = r.body.certificates.find((c: { profile: string }) => c.profile === 'holder-signature');
    expect(sig).toEqual({
      serialNumber: a.signature.serialNumber,
      profile: 'holder-signature',
      usage: 'signature',
      status: 'good',
      notBefore: a.signature.notBefore,
      notAfter: a.signature.notAfter,
      expired: false,
      issuer: { id: 'issuing-ca', name: h.hierarchy.issuing.subjectText },
      cardNumber: a.card.cardNumber,
      issuedMonth: a.signature.issuedMonth,
    });
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it('accepts a card number typed in lower case with spaces', async () => {
    const typed = `${a.card.cardNumber.slice(0, 2).toLowerCase()} ${a.card.cardNumber.slice(2)}`;
    const r = await q(`cardNumber=${encodeURIComponent(typed)}`);
    expect(r.status).toBe(200);
    expect(r.body.certificates).toHaveLength(2);
  });

  it('finds by serial number (upper case, colons and leading zeros accepted) and masks the card number', async () => {
    const serial = a.encryption.serialNumber;
    const typed = `00${serial.toUpperCase()}`.match(/.{1,2}/g)!.join(':');
    const r = await q(`serialNumber=${encodeURIComponent(typed)}`);
    expect(r.status).toBe(200);
    expect(r.body.query).toBe('serialNumber');
    expect(r.body.certificates).toEqual([
      expect.objectContaining({
        serialNumber: serial,
        usage: 'encryption',
        cardNumber: maskCardNumber(a.card.cardNumber),
      }),
    ]);
    expect(r.body.certificates[0].cardNumber).toMatch(/^AC\*{10}\d{4}$/);
  });

  it('finds by e-mail (case-insensitive) and by name + issue month, both holders, masked', async () => {
    const byEmail = await q(`email=${encodeURIComponent(HOLDER.email.toUpperCase())}`);
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.certificates).toHaveLength(4);
    const byName = await q(
      `name=${encodeURIComponent(`  ${HOLDER.name.replaceAll(' ', '  ')} `)}&issuedMonth=${a.signature.issuedMonth}`,
    );
    expect(byName.status).toBe(200);
    expect(byName.body.query).toBe('nameAndMonth');
    expect(byName.body.certificates.map((c: { serialNumber: string }) => c.serialNumber).sort()).toEqual(
      [a, b].flatMap((s) => [s.signature.serialNumber, s.encryption.serialNumber]).sort(),
    );
    for (const c of [...byEmail.body.certificates, ...byName.body.certificates]) {
      expect(c.cardNumber).toMatch(/^AC\*{10}\d{4}$/);
    }
  });

  it('answers an empty list for nothing found, and for another month', async () => {
    expect((await q('cardNumber=ZZ00000000000000')).body.certificates).toEqual([]);
    expect((await q('serialNumber=1234567890abcdef')).body.certificates).toEqual([]);
    const other = await q(`name=${encodeURIComponent(HOLDER.name)}&issuedMonth=2020-01`);
    expect(other.status).toBe(200);
    expect(other.body.certificates).toEqual([]);
  });

  it('never returns personal data, whatever the query and whatever the status', async () => {
    await call(
      `${h.url}/v1/ops/suspensions`,
      'POST',
      {
        cardNumber: b.card.cardNumber,
        caseReference: 'FAX-2026-0001',
        reason: `lost, reported by ${HOLDER.name} ${HOLDER.arcNumber}`,
      },
      await h.ops(),
    );
    await call(
      `${h.url}/v1/station/certificates/${a.signature.serialNumber}/revocation`,
      'POST',
      { reason: 'keyCompromise' },
      await h.officer(),
    );
    const answers = [
      await q(`cardNumber=${a.card.cardNumber}`),
      await q(`cardNumber=${b.card.cardNumber}`),
      await q(`serialNumber=${a.signature.serialNumber}`),
      await q(`serialNumber=${b.encryption.serialNumber}`),
      await q(`email=${encodeURIComponent(HOLDER.email)}`),
      await q(`name=${encodeURIComponent(HOLDER.name)}&issuedMonth=${a.signature.issuedMonth}`),
    ];
    const statuses = new Set<string>();
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(r.body.certificates.length).toBeGreaterThan(0);
      for (const c of r.body.certificates) statuses.add(c.status);
      expectNoPersonalData(r.body, a);
      expectNoPersonalData(r.body, b);
    }
    expect([...statuses].sort()).toEqual(['hold', 'revoked']);
    const revoked = answers[0]!.body.certificates[0];
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect(revoked.revokedAt).toBe(h.clock.now().toISOString());
    const held = answers[1]!.body.certificates[0];
    expect(held).toMatchObject({ status: 'hold', holdSince: h.clock.now().toISOString() });
  });

  it('the walker itself catches personal data (it can fail)', () => {
    expect(() => expectNoPersonalData({ x: [{ y: `to ${HOLDER.email}` }] }, a)).toThrow(/personal data/);
    expect(() => expectNoPersonalData({ nested: { dateOfBirth: 'x' } }, a)).toThrow();
    expect(() => expectNoPersonalData({ certificates: [{ name: 'x' }] }, a)).toThrow();
    expect(() => expectNoPersonalData({ certificates: [{ issuer: { name: HOLDER.name } }] }, a)).toThrow(
      /personal data/,
    );
  });

  it.each([
    ['', 'query', 'query.exactly_one'],
    [`email=x%40y.tw&cardNumber=AC00000000000001`, 'query', 'query.exactly_one'],
    [`serialNumber=abc123&cardNumber=AC00000000000001`, 'query', 'query.exactly_one'],
    [`name=${encodeURIComponent(HOLDER.name)}`, 'issuedMonth', 'query.name_and_month'],
    ['issuedMonth=2026-11', 'name', 'query.name_and_month'],
    [`name=A&issuedMonth=2026-11&email=a%40b.tw`, 'query', 'query.exactly_one'],
    ['name=A&issuedMonth=2026-13', 'issuedMonth', 'query.issued_month'],
    ['name=A&issuedMonth=202611', 'issuedMonth', 'query.issued_month'],
    ['email=not-an-email', 'email', 'query.email'],
    ['cardNumber=12345', 'cardNumber', 'query.card_number'],
    ['serialNumber=xyz', 'serialNumber', 'query.serial_number'],
    ['arcNumber=A800000014', 'arcNumber', 'query.unrecognized_keys'],
  ])('refuses ?%s with a 400 naming %s (%s)', async (qs, field, rule) => {
    const r = await q(qs);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'validation_failed', field, rule });
    expect(r.body.error.message.startsWith(`${field}:`)).toBe(true);
  });

  it('parses the four query kinds', () => {
    expect(parseCertificateQuery({ serialNumber: '0x00AB:CD' })).toEqual({
      kind: 'serialNumber',
      serialNumber: 'abcd',
    });
    expect(parseCertificateQuery({ name: ' 王 小明 ', issuedMonth: '2026-01' })).toEqual({
      kind: 'nameAndMonth',
      name: '王 小明',
      issuedMonth: '2026-01',
    });
  });
});

describe('public query rate limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queryBurst: 3 });
  });
  afterAll(() => h.close());

  it('answers 429 with Retry-After once a caller has used its burst, and again after the refill', async () => {
    const q = () => call(`${h.url}/v1/certificates?cardNumber=AC00000000000001`, 'GET');
    for (let i = 0; i < 3; i++) expect((await q()).status).toBe(200);
    const limited = await q();
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBe(2); // one token at 0.5 per second
    h.clock.advance(2000);
    expect((await q()).status).toBe(200);
    expect((await q()).status).toBe(429);
  });

  it('counts bad queries too (they cost the same to answer)', async () => {
    h.clock.advance(60_000);
    for (let i = 0; i < 3; i++) expect((await call(`${h.url}/v1/certificates`, 'GET')).status).toBe(400);
    expect((await call(`${h.url}/v1/certificates`, 'GET')).status).toBe(429);
  });
});
