import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createPortalClient } from '../../card-client/api.js';
import { type ClientContext, commands } from '../../card-client/commands.js';
import { createScriptedIo } from '../../card-client/io.js';
import { isCardError } from '../../card-station/card/types.js';
import { SANDBOX_CREDENTIALS } from '../../shared/adapters/payment/sandbox.js';
import { closeModules } from '../../shared/adapters/pkcs11/module.js';
import { deriveCardAdminKey } from '../../shared/card/unblock.js';
import { arcCheckDigit } from '../../shared/domain/arc.js';
import type { Application } from '../../shared/domain/model.js';
import { createLogger } from '../../shared/logger.js';
import { api, counterApplication } from '../e2e/harness.js';
import { type Bureau, openBureau } from '../faults/bureau.js';
import { type Capture, captureOutput } from '../faults/capture.js';
import { pay, waitForStatus } from '../faults/flow.js';
import { startTestStack, type TestStack } from '../faults/stack.js';
import { findPrivateKeys, findSecrets, findSessionTokens, type Secret, type Text } from './leaks.js';

/**
 * A whole card life on the product in process — counter application, login, payment at the sandbox
 * gateway, issuance, personalization by the card station (emulated SoftHSM card), registered mail,
 * activation with the card client, three wrong PINs, unblock, a card-proved subscriber code change, a
 * wrong code, suspension, resumption, public status queries, an e-mail change (re-issue), OCSP and CRL,
 * revocation at the station — with every log line captured (the Powertools JSON on stdout, the card
 * station's and the card client's lines). Afterwards every stored item (read back by key), every log
 * line and every outbox mail (raw and decoded) is searched for every secret of the run: subscriber codes,
 * PINs, full ARC numbers in any case or format, CA private keys, the service's secret keys, card admin
 * keys, holder session tokens and staff bearer tokens; and anything shaped like a private key.
 */

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** ARC numbers whose letters are not hex digits, so that no hash or serial can look like one by chance. */
const arc = (first: string, n: number) => {
  const first9 = `${first}${String(n).padStart(7, '0')}`;
  return `${first9}${arcCheckDigit(first9)}`;
};

describe('a whole card life leaks no secret into logs, stored items or mails', () => {
  let stack: TestStack;
  let bureau: Bureau;
  let capture: Capture;
  const secrets: Secret[] = [];
  const clientLines: string[] = [];
  const keep = (kind: string, value: string | Uint8Array | undefined) => {
    if (value !== undefined && value.length > 0) secrets.push({ kind, value });
  };

  beforeAll(async () => {
    capture = captureOutput();
    const logger = createLogger('h13-security');
    logger.setLogLevel('DEBUG');
    stack = await startTestStack({ logger });
    bureau = await openBureau(stack);
  }, 60_000);
  afterAll(async () => {
    capture?.restore();
    await stack?.stop();
    closeModules();
  });

  it('runs the life of a card, then finds no secret anywhere', async () => {
    const { url } = stack;
    await bureau.enroll(2, 'RSA-2048');
    const holderArc = arc('K8', 4_200_017);
    const otherArc = arc('M9', 4_200_023);
    keep('ARC number', holderArc);
    keep('ARC number', otherArc);
    const officer = await stack.tokens.officer();
    const ops = await stack.tokens.ops();
    keep('officer bearer token', officer);
    keep('ops bearer token', ops);
    keep('card-station bearer token', bureau.token);

    // Counter application (the code is shown once, on the form) and a second holder for a wrong-code try.
    const created = await api(url, 'POST', '/v1/station/applications', {
      token: officer,
      body: counterApplication(holderArc, 'holder@example.org'),
    });
    expect(created.status).toBe(201);
    const { applicationId } = created.body;
    const code: string = created.body.subscriberCode;
    keep('subscriber code', code);
    const other = await api(url, 'POST', '/v1/station/applications', {
      token: officer,
      body: counterApplication(otherArc, 'other@example.org'),
    });
    keep('subscriber code', other.body.subscriberCode);

    // Login (a session token), payment at the sandbox gateway.
    const login = await api(url, 'POST', '/v1/portal/sessions', {
      body: { arcNumber: holderArc, subscriberCode: code },
    });
    expect(login.status).toBe(201);
    keep('holder session token', login.body.token);
    const order = { applicationId, subscriberCode: code, arcNumber: holderArc, email: 'holder@example.org' };
    expect(await pay(stack, order)).toBe(200);

    // Issuance, personalization, registered mail.
    const issued = await waitForStatus(stack, applicationId, ['issued']);
    const cardNumber = issued.cardNumber!;
    keep('card admin key', await deriveCardAdminKey(stack.secrets, cardNumber));
    const outcomes = await (await bureau.agent('personalizer')).run({ once: true });
    expect(outcomes.map((o) => o.outcome)).toEqual(['mailed']);
    await waitForStatus(stack, applicationId, ['mailed']);

    // The holder's card client, with the card in the reader.
    const PIN = 'Pa55w0rd';
    const NEW_PIN = 'N3wPin#7';
    const WRONG = ['Wr0ngPin', 'Guess123', 'Guess456'];
    const NEW_CODE = 'Q7R2W9Z4';
    for (const p of [PIN, NEW_PIN, ...WRONG]) keep('PIN', p);
    keep('subscriber code', NEW_CODE);
    const io = createScriptedIo();
    const ctx: ClientContext = {
      api: createPortalClient(url),
      reader: async () => bureau.reader,
      io,
      modulePath: MODULE,
    };
    await commands.activate(ctx, { card: cardNumber, code, newPin: PIN });
    for (const wrong of WRONG) {
      const e = await commands
        .changePin(ctx, { card: cardNumber, pin: wrong, newPin: NEW_PIN })
        .catch((x: unknown) => x);
      expect(isCardError(e)).toBe(true);
    }
    expect((await (await bureau.reader.open(cardNumber)).info()).pin.locked).toBe(true);
    await commands.unblock(ctx, { card: cardNumber, code, newPin: NEW_PIN });
    await commands.changeCode(ctx, { card: cardNumber, pin: NEW_PIN, newCode: NEW_CODE });
    const wrongCode = await api(url, 'POST', `/v1/portal/cards/${cardNumber}/suspension`, {
      body: { subscriberCode: code }, // the old code no longer works
    });
    expect(wrongCode.status).toBe(401);
    await commands.suspend(ctx, { card: cardNumber, code: NEW_CODE });
    await commands.resume(ctx, { card: cardNumber, code: NEW_CODE });
    await commands.changeEmail(ctx, {
      card: cardNumber,
      code: NEW_CODE,
      pin: NEW_PIN,
      email: 'new.holder@example.org',
    });
    const selftest = await commands.selftest(ctx, { card: cardNumber, pin: NEW_PIN });
    expect(selftest.passed).toBe(true);
    clientLines.push(...io.output, ...io.notes);

    // Public status queries, OCSP and CRL, then revocation at the station.
    const app = (await stack.repo.applications.get(applicationId)) as Application;
    const serial = app.certificateSerials!.signature;
    const month = (await stack.repo.certificates.get(serial))!.issuedMonth;
    for (const q of [
      `cardNumber=${cardNumber}`,
      `serialNumber=${serial}`,
      'email=new.holder@example.org',
      `name=${encodeURIComponent('Maria Santos')}&issuedMonth=${month}`,
    ]) {
      const r = await api(url, 'GET', `/v1/certificates?${q}`);
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.body)).not.toMatch(/Maria|holder@|K8\d/i);
    }
    expect((await fetch(`${url}/pki/crl/issuing-ca.crl`)).status).toBe(200);
    const current = (await stack.repo.cards.get(cardNumber))!.certificateSerials!.signature;
    const revoked = await api(url, 'POST', `/v1/station/certificates/${current}/revocation`, {
      token: officer,
      body: { reason: 'keyCompromise' },
    });
    expect(revoked.status).toBe(200);
    const day = 86_400_000;
    const from = new Date(stack.clock.now().getTime() - day).toISOString();
    const to = new Date(stack.clock.now().getTime() + day).toISOString();
    const audit = await api(url, 'GET', `/v1/ops/audit?from=${from}&to=${to}&limit=5000`, { token: ops });
    expect({ status: audit.status, error: audit.body.error }).toEqual({ status: 200, error: undefined });
    expect(audit.body.verification.ok).toBe(true);

    // ---- Every secret of the run, and every text it must not be in.
    for (const k of stack.signer.privateKeyObjects()) {
      keep('CA private key (PKCS#8)', k.export({ type: 'pkcs8', format: 'der' }) as Buffer);
      const jwk = k.export({ format: 'jwk' }) as Record<string, string | undefined>;
      for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'])
        if (jwk[part]) keep(`CA private key (${part})`, Buffer.from(jwk[part]!, 'base64url'));
    }
    for (const f of await readdir(stack.secretsDir)) {
      if (!f.endsWith('.key')) continue;
      const { key } = JSON.parse(await readFile(join(stack.secretsDir, f), 'utf8')) as { key: string };
      keep(`service secret key ${f}`, Buffer.from(key, 'base64'));
    }
    keep('payment gateway hash key', SANDBOX_CREDENTIALS.hashKey);
    keep('payment gateway hash IV', SANDBOX_CREDENTIALS.hashIV);
    // Every card the bureau made, not only the holder's.
    for (const c of await bureau.reader.list())
      keep('card admin key', await deriveCardAdminKey(stack.secrets, c));

    capture.restore();
    const texts: Text[] = [
      ...capture.lines.map((text, i) => ({ source: `log line ${i}`, text })),
      ...bureau.lines.map((l, i) => ({ source: `card station log ${i}`, text: JSON.stringify(l) })),
      ...clientLines.map((text, i) => ({ source: `card client line ${i}`, text })),
    ];
    for (const [key, item] of await stack.store.snapshot())
      texts.push({ source: `stored ${key}`, text: JSON.stringify(item) });
    const mails = await stack.outbox();
    for (const m of mails) {
      texts.push({ source: `mail ${m.file} (raw)`, text: m.text });
      const parsed = await simpleParser(m.text);
      texts.push({
        source: `mail ${m.file} (decoded)`,
        text: [
          parsed.subject,
          parsed.text,
          typeof parsed.html === 'string' ? parsed.html : '',
          ...parsed.attachments.map((a) => a.content.toString('utf8')),
        ].join('\n'),
      });
    }

    // The run really produced what is searched: logs of every kind of request, the items, the mails.
    expect(capture.lines.filter((l) => l.includes('"message":"request"')).length).toBeGreaterThan(20);
    expect(capture.lines.some((l) => l.includes('/v1/portal/cards/{cardNumber}/activation'))).toBe(true);
    expect([...(await stack.store.snapshot()).keys()].some((k) => k.startsWith('sessions/'))).toBe(true);
    expect(mails.map((m) => m.file).join(' ')).toMatch(
      /application-received.*payment-received.*card-shipped/s,
    );
    expect(secrets.filter((s) => s.kind === 'subscriber code')).toHaveLength(3);

    // Positive controls: what is not secret is found where it belongs, so the texts are the right ones.
    const control = new Set(
      findSecrets(texts, [
        { kind: 'application id', value: applicationId },
        { kind: 'card number', value: cardNumber },
        { kind: 'holder name', value: 'Maria Santos' },
      ]).map((f) => `${f.kind} @ ${f.source.split(' ')[0]}`),
    );
    expect([...control]).toEqual(
      expect.arrayContaining([
        'application id @ log',
        'application id @ stored',
        'application id @ mail',
        'card number @ stored',
        'card number @ card',
        'holder name @ stored',
        'holder name @ mail',
      ]),
    );

    const sessions = new Set(
      [...(await stack.store.snapshot()).entries()]
        .filter(([k]) => k.startsWith('sessions/'))
        .map(([, v]) => (v as { tokenHash: string }).tokenHash),
    );
    expect(sessions.size).toBeGreaterThan(0);
    const findings = [
      ...findSecrets(texts, secrets),
      ...findPrivateKeys(texts),
      ...findSessionTokens(texts, sessions),
    ];
    expect(findings).toEqual([]);
  }, 120_000);

  it('the search finds a secret when it is there (in each form it looks for)', async () => {
    const code = 'Q7R2W9Z4';
    const key = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    const found = findSecrets(
      [
        { source: 'upper', text: `{"x":"${code}"}` },
        { source: 'lower', text: `code=${code.toLowerCase()}` },
        { source: 'spaced', text: 'ARC K8 420 0017 4' },
        { source: 'b64', text: `blob ${Buffer.concat([Buffer.from('ab'), key]).toString('base64')}` },
        { source: 'hex', text: key.toString('hex').toUpperCase() },
      ],
      [
        { kind: 'code', value: code },
        { kind: 'arc', value: 'K842000174' },
        { kind: 'key', value: key },
      ],
    );
    expect(found.map((f) => f.source).sort()).toEqual(['b64', 'hex', 'lower', 'spaced', 'upper']);
    const pk = stack.signer.privateKeyObjects()[2]!.export({ type: 'pkcs8', format: 'der' }) as Buffer;
    expect(
      findPrivateKeys([{ source: 'key', text: JSON.stringify({ k: pk.toString('base64') }) }]),
    ).toHaveLength(1);
  });
});
