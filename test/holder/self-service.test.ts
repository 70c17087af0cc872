import { X509Certificate } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newUnblockChallenge } from '../../shared/card/unblock.js';
import { codeChangeMessage } from '../../shared/contracts/holder.js';
import type { Application, Card } from '../../shared/domain/model.js';
import { DependencyError } from '../../shared/errors.js';
import type { Repository } from '../../shared/ports/repository.js';
import { createHolderUseCases } from '../../shared/usecases/holder.js';
import { createCardStateUseCases } from '../../shared/usecases/revocation.js';
import { openssl } from '../ca/helpers.js';
import {
  call,
  cardSign,
  type Harness,
  HOLDER,
  INITIAL_CODE,
  type SeededCard,
  seedIssuedCard,
  startHarness,
} from './harness.js';

const credentialOf = async (h: Harness, s: SeededCard) =>
  ((await h.repo.applications.get(s.application.id)) as Application).credential;

describe('subscriber code retrieval (before activation)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const retrieve = (body: unknown) => call(`${h.url}/v1/portal/subscriber-code/retrieval`, 'POST', body);

  it('re-sends the initial code to the registered e-mail; the same answer when nothing matches', async () => {
    const arcNumber = 'C900000107';
    const s = await seedIssuedCard(h, { arcNumber, appStatus: 'awaiting_payment', cardStatus: 'allocated' });
    const before = h.mails.length;
    const ok = await retrieve({ arcNumber: arcNumber.toLowerCase(), email: HOLDER.email.toUpperCase() });
    expect(ok.status).toBe(202);
    expect(h.mails.length).toBe(before + 1);
    const mail = h.mails.at(-1)!;
    expect(mail).toMatchObject({
      to: HOLDER.email,
      template: 'subscriber-code-retrieval',
      reference: s.application.id,
    });
    expect(mail.text).toContain(INITIAL_CODE);

    const wrongEmail = await retrieve({ arcNumber, email: 'someone.else@example.org' });
    const unknownArc = await retrieve({ arcNumber: 'B800000015', email: HOLDER.email });
    expect(wrongEmail.status).toBe(202);
    expect(unknownArc.status).toBe(202);
    expect(wrongEmail.body).toEqual(ok.body);
    expect(unknownArc.body).toEqual(ok.body);
    expect(h.mails.length).toBe(before + 1);

    const log = JSON.stringify(await h.repo.audit.range('main', 1, 100_000));
    expect(log).toContain('subscriber_code.retrieval_unmatched');
    expect(log).not.toContain(arcNumber);
    expect(log).not.toContain(INITIAL_CODE);
  });

  it('sends nothing once the card is activated (the sealed code is destroyed)', async () => {
    const arcNumber = 'D800000124';
    const s = await seedIssuedCard(h, { arcNumber });
    await call(`${h.url}/v1/portal/cards/${s.card.cardNumber}/activation`, 'POST', {
      subscriberCode: s.code,
      challenge: newUnblockChallenge(),
    });
    const before = h.mails.length;
    expect((await retrieve({ arcNumber, email: HOLDER.email })).status).toBe(202);
    expect(h.mails.length).toBe(before);
  });

  it('allows 3 requests per ARC number per hour, then 429 with Retry-After until the next hour', async () => {
    const arcNumber = 'E900000118';
    for (let i = 0; i < 3; i++)
      expect((await retrieve({ arcNumber, email: 'x@example.org' })).status).toBe(202);
    const limited = await retrieve({ arcNumber, email: HOLDER.email });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    const toNextHour = 3600 - ((h.clock.now().getTime() / 1000) % 3600);
    expect(retryAfter).toBe(Math.ceil(toNextHour));
    // Another ARC number is not affected.
    expect((await retrieve({ arcNumber: 'F800000019', email: HOLDER.email })).status).toBe(202);
    h.clock.advance(retryAfter * 1000);
    expect((await retrieve({ arcNumber, email: HOLDER.email })).status).toBe(202);
  });

  it.each([
    [{ arcNumber: 'A800000015', email: HOLDER.email }, 'arcNumber', 'arc.checksum'],
    [{ arcNumber: 'A1', email: HOLDER.email }, 'arcNumber', undefined],
    [{ arcNumber: 'A800000014', email: 'nope' }, 'email', undefined],
    [{ arcNumber: 'A800000014' }, 'email', undefined],
  ])('refuses %j with a 400 naming %s', async (body, field, rule) => {
    const r = await retrieve(body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
    if (rule) expect(r.body.error.rule).toBe(rule);
  });
});

describe('subscriber code change, proved with the card', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const challengeFor = async (cardNumber: string) =>
    call(`${h.url}/v1/portal/subscriber-code/challenge`, 'POST', { cardNumber });
  const change = (body: unknown) => call(`${h.url}/v1/portal/subscriber-code`, 'PUT', body);
  const suspend = (s: SeededCard, code = s.code) =>
    call(`${h.url}/v1/portal/cards/${s.card.cardNumber}/suspension`, 'POST', { subscriberCode: code });

  it('unlocks a code locked after 4 wrong tries: the new code works, the old one does not', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    for (let i = 0; i < 4; i++) await suspend(s, 'WWWWWW7');
    expect((await suspend(s)).status).toBe(423);

    const c = await challengeFor(s.card.cardNumber);
    expect(c.status).toBe(201);
    expect(c.body.message).toBe(codeChangeMessage({ cardNumber: s.card.cardNumber, nonce: c.body.nonce }));
    expect(c.body.message).toContain('subscriber-code-change');
    const r = await change({
      cardNumber: s.card.cardNumber,
      nonce: c.body.nonce,
      signature: cardSign(s, c.body.message),
      newSubscriberCode: 'MY9CODE4',
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ cardNumber: s.card.cardNumber, changedAt: h.clock.now().toISOString() });
    const cred = await credentialOf(h, s);
    expect(cred).toMatchObject({ failures: 0, changedAt: h.clock.now().toISOString() });
    expect(cred.lockedAt).toBeUndefined();
    expect(cred.sealedInitialCode).toBeUndefined();
    expect((await h.repo.audit.head('main'))!).toMatchObject({
      action: 'subscriber_code.change',
      details: { unlocked: true, cardNumber: s.card.cardNumber },
    });

    expect((await suspend(s)).status).toBe(401); // the old code
    expect((await suspend(s, 'my9code4')).status).toBe(200);
  });

  it('refuses a signature by another card’s key, and burns the nonce', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const other = await seedIssuedCard(h, { cardStatus: 'active' });
    const c = await challengeFor(s.card.cardNumber);
    const body = { cardNumber: s.card.cardNumber, nonce: c.body.nonce, newSubscriberCode: 'MY9CODE4' };
    const forged = await change({ ...body, signature: cardSign(other, c.body.message) });
    expect(forged.status).toBe(401);
    expect(forged.body.error).toMatchObject({ field: 'signature', rule: 'code_change.proof' });
    const retried = await change({ ...body, signature: cardSign(s, c.body.message) });
    expect(retried.status).toBe(401);
    expect(retried.body.error.rule).toBe('code_change.nonce');
    expect((await credentialOf(h, s)).changedAt).toBeUndefined();
  });

  it('refuses a signature over another message, a nonce for another card, a replayed and an expired nonce', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const other = await seedIssuedCard(h, { cardStatus: 'active' });
    const c1 = await challengeFor(s.card.cardNumber);
    const wrongMessage = await change({
      cardNumber: s.card.cardNumber,
      nonce: c1.body.nonce,
      signature: cardSign(s, `${c1.body.message}\nextra`),
      newSubscriberCode: 'MY9CODE4',
    });
    expect(wrongMessage.status).toBe(401);

    const c2 = await challengeFor(other.card.cardNumber);
    const crossed = await change({
      cardNumber: s.card.cardNumber,
      nonce: c2.body.nonce,
      signature: cardSign(s, codeChangeMessage({ cardNumber: s.card.cardNumber, nonce: c2.body.nonce })),
      newSubscriberCode: 'MY9CODE4',
    });
    expect(crossed.status).toBe(401);
    expect(crossed.body.error.rule).toBe('code_change.nonce');

    const c3 = await challengeFor(s.card.cardNumber);
    const good = {
      cardNumber: s.card.cardNumber,
      nonce: c3.body.nonce,
      signature: cardSign(s, c3.body.message),
      newSubscriberCode: 'MY9CODE4',
    };
    expect((await change(good)).status).toBe(200);
    expect((await change(good)).status).toBe(401);

    const c4 = await challengeFor(s.card.cardNumber);
    h.clock.advance(5 * 60_000 + 1);
    const late = await change({ ...good, nonce: c4.body.nonce, signature: cardSign(s, c4.body.message) });
    expect(late.status).toBe(401);
    expect(late.body.error.rule).toBe('code_change.nonce');
  });

  it('a suspended or revoked card cannot change the code (409)', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const c = await challengeFor(s.card.cardNumber);
    await suspend(s);
    const r = await change({
      cardNumber: s.card.cardNumber,
      nonce: c.body.nonce,
      signature: cardSign(s, c.body.message),
      newSubscriberCode: 'MY9CODE4',
    });
    expect(r.status).toBe(409);
    expect(r.body.error.rule).toBe('card.suspended');
    expect((await challengeFor(s.card.cardNumber)).status).toBe(409);

    const revoked = await seedIssuedCard(h, { cardStatus: 'active' });
    await call(
      `${h.url}/v1/station/certificates/${revoked.encryption.serialNumber}/revocation`,
      'POST',
      { reason: 'privilegeWithdrawn' },
      await h.officer(),
    );
    const rc = await challengeFor(revoked.card.cardNumber);
    expect(rc.status).toBe(409);
    expect(rc.body.error.rule).toBe('card.revoked');
  });

  it.each([
    [{ newSubscriberCode: '111111' }, 'newSubscriberCode', 'subscriber_code.weak'],
    [{ newSubscriberCode: 'ABC' }, 'newSubscriberCode', undefined],
    [{ signature: 'not base64!' }, 'signature', undefined],
    [{ nonce: 'short' }, 'nonce', undefined],
  ])('refuses %j with a 400 naming %s', async (over, field, rule) => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const c = await challengeFor(s.card.cardNumber);
    const r = await change({
      cardNumber: s.card.cardNumber,
      nonce: c.body.nonce,
      signature: cardSign(s, c.body.message),
      newSubscriberCode: 'MY9CODE4',
      ...over,
    });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe(field);
    if (rule) expect(r.body.error.rule).toBe(rule);
  });
});

describe('holder suspension and resumption', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const suspend = (s: SeededCard, code = s.code) =>
    call(`${h.url}/v1/portal/cards/${s.card.cardNumber}/suspension`, 'POST', { subscriberCode: code });
  const resume = (s: SeededCard, code = s.code) =>
    call(`${h.url}/v1/portal/cards/${s.card.cardNumber}/resumption`, 'POST', { subscriberCode: code });

  /** The CRL entries as OpenSSL reads the latest CRL: serial (upper-case hex) → reason. */
  const crlEntries = async (): Promise<Map<string, string>> => {
    const crl = await h.ca.crl.latest();
    const dir = await mkdtemp(join(tmpdir(), 'h7-crl-'));
    await writeFile(join(dir, 'crl.der'), crl!.der);
    const out = await openssl('crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-noout', '-text');
    expect(out.code).toBe(0);
    const entries = new Map<string, string>();
    for (const m of out.stdout.matchAll(
      /Serial Number: ([0-9A-F]+)\s+Revocation Date: [^\n]+\n\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+([^\n]+)/g,
    )) {
      entries.set(m[1]!.toLowerCase().replace(/^0+/, ''), m[2]!.trim());
    }
    return entries;
  };

  it('puts both certificates on hold (certificateHold on the CRL) and takes them off again', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const r = await suspend(s);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'suspended', suspendedBy: 'holder', changed: true });
    expect(r.body.certificates).toEqual([
      { serialNumber: s.encryption.serialNumber, profile: 'holder-encryption', status: 'hold' },
      { serialNumber: s.signature.serialNumber, profile: 'holder-signature', status: 'hold' },
    ]);
    let crl = await crlEntries();
    expect(crl.get(s.signature.serialNumber)).toBe('Certificate Hold');
    expect(crl.get(s.encryption.serialNumber)).toBe('Certificate Hold');
    expect((await h.repo.audit.head('main'))!).toMatchObject({
      action: 'card.suspend',
      actor: { type: 'holder', id: s.application.id },
    });

    const again = await suspend(s);
    expect(again.body.changed).toBe(false);

    const back = await resume(s);
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ status: 'active', changed: true });
    expect(back.body.certificates.map((c: { status: string }) => c.status)).toEqual(['good', 'good']);
    crl = await crlEntries();
    expect(crl.has(s.signature.serialNumber)).toBe(false);
    expect(crl.has(s.encryption.serialNumber)).toBe(false);
    expect((await resume(s)).body.changed).toBe(false);
  });

  it('resumes a fax (ops) suspension with the subscriber code', async () => {
    const s = await seedIssuedCard(h);
    await call(
      `${h.url}/v1/ops/suspensions`,
      'POST',
      { cardNumber: s.card.cardNumber, caseReference: 'FAX-2026-9', reason: 'lost wallet' },
      await h.ops(),
    );
    const r = await resume(s);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('mailed');
    expect((await h.repo.audit.head('main'))!.details).toMatchObject({ wasSuspendedBy: 'ops', to: 'mailed' });
  });

  it('a revoked card cannot be resumed nor suspended (409 card.revoked), and stays on the CRL as revoked', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    await suspend(s);
    await call(
      `${h.url}/v1/station/certificates/${s.signature.serialNumber}/revocation`,
      'POST',
      { reason: 'keyCompromise' },
      await h.officer(),
    );
    const r = await resume(s);
    expect(r.status).toBe(409);
    expect(r.body.error.rule).toBe('card.revoked');
    expect(r.body.error.message).toContain('cannot be suspended or resumed');
    expect((await suspend(s)).status).toBe(409);
    const crl = await crlEntries();
    expect(crl.get(s.signature.serialNumber)).toBe('Key Compromise');
  });

  it('a wrong code suspends nothing (401) and counts', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const r = await suspend(s, 'WWWWWW7');
    expect(r.status).toBe(401);
    expect((await h.repo.cards.get(s.card.cardNumber))?.status).toBe('active');
    expect((await credentialOf(h, s)).failures).toBe(1);
  });
});

describe('e-mail change: certificates re-issued on the same card', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const changeEmail = (s: SeededCard, email: string, code = s.code) =>
    call(`${h.url}/v1/portal/cards/${s.card.cardNumber}/email`, 'PUT', { subscriberCode: code, email });
  const emailIn = (derB64: string) => new X509Certificate(Buffer.from(derB64, 'base64')).subjectAltName;

  it('re-issues both certificates with the new e-mail on the same keys, supersedes the old ones', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const r = await changeEmail(s, 'Hoa.New@Example.ORG');
    expect(r.status).toBe(200);
    expect(r.body.changed).toBe(true);
    expect(r.body.superseded.sort()).toEqual([s.signature.serialNumber, s.encryption.serialNumber].sort());
    expect(r.body.chain).toEqual(
      [h.hierarchy.issuing.certificate, h.hierarchy.root.certificate].map((c) =>
        Buffer.from(c).toString('base64'),
      ),
    );
    for (const which of ['signature', 'encryption'] as const) {
      const issued = r.body[which];
      expect(issued.serialNumber).not.toBe(s[which].serialNumber);
      expect(emailIn(issued.der)).toBe('email:Hoa.New@Example.ORG');
      const cert = new X509Certificate(Buffer.from(issued.der, 'base64'));
      expect(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(
        s.card.keys[which].spki,
      );
      expect(cert.checkIssued(new X509Certificate(Buffer.from(h.hierarchy.issuing.certificate)))).toBe(true);
      expect(await h.repo.certificates.get(s[which].serialNumber)).toMatchObject({
        status: 'revoked',
        revocationReason: 'superseded',
        supersededBy: issued.serialNumber,
      });
    }
    const card = (await h.repo.cards.get(s.card.cardNumber)) as Card;
    expect(card.certificateSerials).toEqual({
      signature: r.body.signature.serialNumber,
      encryption: r.body.encryption.serialNumber,
    });
    const app = (await h.repo.applications.get(s.application.id)) as Application;
    expect(app.email).toBe('Hoa.New@Example.ORG');
    expect(app.certificateSerials).toEqual(card.certificateSerials);

    const byNew = await call(`${h.url}/v1/certificates?email=hoa.new%40example.org`, 'GET');
    expect(byNew.body.certificates.map((c: { status: string }) => c.status)).toEqual(['good', 'good']);
    const byOld = await call(`${h.url}/v1/certificates?cardNumber=${s.card.cardNumber}`, 'GET');
    expect(byOld.body.certificates.filter((c: { status: string }) => c.status === 'revoked')).toHaveLength(2);

    // The same e-mail again: nothing to do.
    const again = await changeEmail(s, 'hoa.new@example.org');
    expect(again.body).toMatchObject({ changed: false, superseded: [] });
    expect(again.body.signature.serialNumber).toBe(r.body.signature.serialNumber);
  });

  it('a retry after a crash adopts the pair the first try issued (no third pair)', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    // A repository whose first card save fails, after the new certificates were issued.
    let failed = false;
    const flaky: Repository = {
      ...h.repo,
      cards: {
        ...h.repo.cards,
        save: async (c) => {
          if (!failed) {
            failed = true;
            throw new DependencyError('database unavailable');
          }
          return h.repo.cards.save(c);
        },
      },
    };
    const holder = createHolderUseCases({
      repo: flaky,
      secrets: h.secrets,
      clock: h.clock,
      audit: h.audit,
      mailer: { send: async () => ({ messageId: 'x' }) },
      mail: { portalUrl: 'http://x' },
      ca: {
        hold: h.ca.hold,
        release: h.ca.release,
        revoke: h.ca.revoke,
        issueCardCertificates: h.ca.issueCardCertificates,
        chain: async () => [],
      },
      cardState: createCardStateUseCases({
        cards: flaky.cards,
        certificates: h.repo.certificates,
        markers: h.repo.markers,
        ca: h.ca,
        audit: h.audit,
        clock: h.clock,
      }),
      arcKey: h.arcKey,
      emailKey: h.emailKey,
      scryptLog2N: 10,
    });
    await expect(
      holder.changeEmail(s.card.cardNumber, { subscriberCode: s.code, email: 'retry@example.org' }),
    ).rejects.toBeInstanceOf(DependencyError);
    h.clock.advance(61_000); // the crashed request's hold on the card expires
    const r = await holder.changeEmail(s.card.cardNumber, {
      subscriberCode: s.code,
      email: 'retry@example.org',
    });
    expect(r.changed).toBe(true);
    const all = await h.repo.certificates.listByCard(s.card.cardNumber);
    expect(all).toHaveLength(4);
    expect(
      all
        .filter((c) => c.status === 'good')
        .map((c) => c.serialNumber)
        .sort(),
    ).toEqual([r.signature.serialNumber, r.encryption.serialNumber].sort());
  });

  it('a retry for another e-mail supersedes what the interrupted try issued', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    let failed = false;
    const realSave = h.repo.cards.save;
    h.repo.cards.save = async (c) => {
      if (!failed) {
        failed = true;
        throw new DependencyError('database unavailable');
      }
      return realSave(c);
    };
    try {
      expect((await changeEmail(s, 'first@example.org')).status).toBe(503);
    } finally {
      h.repo.cards.save = realSave;
    }
    h.clock.advance(61_000);
    const r = await changeEmail(s, 'second@example.org');
    expect(r.status).toBe(200);
    const all = await h.repo.certificates.listByCard(s.card.cardNumber);
    expect(all).toHaveLength(6);
    const good = all.filter((c) => c.status === 'good');
    expect(good.map((c) => c.serialNumber).sort()).toEqual(
      [r.body.signature.serialNumber, r.body.encryption.serialNumber].sort(),
    );
    expect(emailIn(r.body.signature.der)).toBe('email:second@example.org');
  });

  it('a crash in the CA after the new pair is stored, before the old one is revoked: the retry finishes the same re-issue', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const realSave = h.repo.certificates.save;
    let failed = false;
    h.repo.certificates.save = async (c) => {
      if (!failed && c.status === 'revoked' && c.revocationReason === 'superseded') {
        failed = true;
        throw new DependencyError('database unavailable');
      }
      return realSave(c);
    };
    try {
      expect((await changeEmail(s, 'mid@example.org')).status).toBe(503);
    } finally {
      h.repo.certificates.save = realSave;
    }
    // Never without a valid pair: the new one is stored, the old one still good, the card record unchanged.
    const torn = await h.repo.certificates.listByCard(s.card.cardNumber);
    expect(torn.filter((c) => c.status === 'good')).toHaveLength(4);
    expect((await h.repo.cards.get(s.card.cardNumber))?.certificateSerials?.signature).toBe(
      s.signature.serialNumber,
    );
    h.clock.advance(61_000); // the crashed request's hold on the card expires
    const r = await changeEmail(s, 'mid@example.org');
    expect(r.status).toBe(200);
    expect(r.body.changed).toBe(true);
    const all = await h.repo.certificates.listByCard(s.card.cardNumber);
    expect(all).toHaveLength(4); // the retry got the pair the first try issued, not a third one
    expect(
      all
        .filter((c) => c.status === 'good')
        .map((c) => c.serialNumber)
        .sort(),
    ).toEqual([r.body.signature.serialNumber, r.body.encryption.serialNumber].sort());
    for (const which of ['signature', 'encryption'] as const) {
      expect(await h.repo.certificates.get(s[which].serialNumber)).toMatchObject({
        status: 'revoked',
        revocationReason: 'superseded',
        supersededBy: r.body[which].serialNumber,
      });
    }
    // The card's first issuance is left alone: its claim still names the original pair.
    const claim = await h.repo.docs.get<{ serials: Record<string, string> }>(
      `certificate-claim/${s.application.id}/${s.card.cardNumber}`,
    );
    expect(claim?.serials).toEqual({
      'holder-signature': s.signature.serialNumber,
      'holder-encryption': s.encryption.serialNumber,
    });
  });

  it('back to the original e-mail after an interrupted change: a fresh pair, everything else superseded', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const realSave = h.repo.cards.save;
    let failed = false;
    h.repo.cards.save = async (c) => {
      if (!failed) {
        failed = true;
        throw new DependencyError('database unavailable');
      }
      return realSave(c);
    };
    try {
      expect((await changeEmail(s, 'never@example.org')).status).toBe(503);
    } finally {
      h.repo.cards.save = realSave;
    }
    h.clock.advance(61_000);
    // The card record's pair carries the original e-mail but was superseded: it is not "already done".
    const r = await changeEmail(s, HOLDER.email);
    expect(r.status).toBe(200);
    expect(r.body.changed).toBe(true);
    expect(emailIn(r.body.signature.der)).toBe(`email:${HOLDER.email}`);
    const all = await h.repo.certificates.listByCard(s.card.cardNumber);
    expect(all).toHaveLength(6);
    expect(
      all
        .filter((c) => c.status === 'good')
        .map((c) => c.serialNumber)
        .sort(),
    ).toEqual([r.body.signature.serialNumber, r.body.encryption.serialNumber].sort());
    expect(r.body.superseded).toHaveLength(4);
    for (const c of all.filter((c) => c.status !== 'good')) {
      expect(c).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    }
  });

  it('a card whose certificates were revoked (the card record lagging) is not re-issued', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    // A station revocation that stopped after the CA step: revoked (even with reason superseded), no successor.
    const officer = { type: 'officer' as const, id: 'officer-7', stationId: 'TPE01' };
    await h.ca.revoke(s.signature.serialNumber, 'superseded', officer);
    await h.ca.revoke(s.encryption.serialNumber, 'superseded', officer);
    const r = await changeEmail(s, 'revived@example.org');
    expect(r.status).toBe(409);
    expect(r.body.error.rule).toBe('certificate.not_good');
    expect(await h.repo.certificates.listByCard(s.card.cardNumber)).toHaveLength(2);
  });

  it('needs an active card (409) and the right code (401)', async () => {
    const mailed = await seedIssuedCard(h);
    const m = await changeEmail(mailed, 'x@example.org');
    expect(m.status).toBe(409);
    expect(m.body.error.rule).toBe('card.not_activated');
    const active = await seedIssuedCard(h, { cardStatus: 'active' });
    expect((await changeEmail(active, 'x@example.org', 'WWWWWW7')).status).toBe(401);
    const bad = await changeEmail(active, 'not an email');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('email');
  });

  it('GET certificates: the current pair and chain for a session of the card’s holder only', async () => {
    const s = await seedIssuedCard(h, { cardStatus: 'active' });
    const other = await seedIssuedCard(h, { cardStatus: 'active', arcNumber: 'B800000015' });
    const url = `${h.url}/v1/portal/cards/${s.card.cardNumber}/certificates`;
    const r = await call(url, 'GET', undefined, await h.session(s.application.id));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      cardNumber: s.card.cardNumber,
      signature: { serialNumber: s.signature.serialNumber, der: s.signature.der },
      encryption: { serialNumber: s.encryption.serialNumber, der: s.encryption.der },
    });
    expect(r.body.chain).toHaveLength(2);
    const foreign = await call(url, 'GET', undefined, await h.session(other.application.id));
    expect(foreign.status).toBe(404);
    // The same holder (same ARC number) applied again: a session of the newer application still reads it.
    const newer = await seedIssuedCard(h);
    expect((await call(url, 'GET', undefined, await h.session(newer.application.id))).status).toBe(200);
    expect((await call(url, 'GET')).status).toBe(401);
    expect((await call(url, 'GET', undefined, 'x'.repeat(43))).status).toBe(401);
  });
});
