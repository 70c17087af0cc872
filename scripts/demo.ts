#!/usr/bin/env tsx
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { openLocalIssuer } from '../infra/local/tokens.js';
import { arcCheckDigit } from '../shared/domain/arc.js';

/**
 * `npm run demo`: the whole life of one card on a RUNNING local stack (`npm start` in another terminal),
 * through the same doors a station, a holder, the card bureau and a relying party use:
 *
 *   station application → holder login → payment at the sandbox gateway → issuance (workflow) →
 *   card station personalizes and mails → card client activates → 3 wrong PINs lock the card →
 *   unblock → self-test → subscriber code change (card signature) →
 *   suspension (OCSP: certificateHold) → resumption (OCSP: good) →
 *   public query → revocation at the station (OCSP: revoked, keyCompromise; CRL)
 *
 * Tokens come from the local issuer's key file (<STATE_DIR>/auth/issuer-key.json, as `npm run token`);
 * the card station (card-station/cli.ts) and the card client (card-client/cli.ts) run as the separate
 * programs they are. Evidence is left in <STATE_DIR>/demo/: the CA certificates, the card's
 * certificates, every OCSP request/response (DER and OpenSSL's reading of it), the final CRL, the
 * application form, the public query answer and a summary.json.
 */

const program = new Command('demo')
  .description('Drive the whole life of one card on a running local stack (npm start)')
  .addOption(
    new Option('--api <url>', 'base URL of the running stack')
      .env('ACDC_API_URL')
      .default('http://127.0.0.1:8080'),
  )
  .addOption(new Option('--state-dir <dir>', 'the stack’s state folder').env('STATE_DIR').default('.local'))
  .option('--station <id>', 'station of the officer taking the application', 'TPE01')
  .option('--timeout <seconds>', 'how long to wait for the workflow at each step', '120')
  .parse(process.argv);

const o = program.opts<{ api: string; stateDir: string; station: string; timeout: string }>();
const api = o.api.replace(/\/+$/, '');
const stateDir = resolve(o.stateDir);
const out = join(stateDir, 'demo');
const cardsDir = join(stateDir, 'cards');
const timeoutMs = Number(o.timeout) * 1000;
const tsx = resolve('node_modules/.bin/tsx');

const PIN = 'Demo1234';
const NEW_PIN = 'Demo5678';

// ---------------------------------------------------------------------------------------------------
// Plumbing

const STEPS = 20;
let stepNo = 0;
const summary: Record<string, unknown> = { api, startedAt: new Date().toISOString(), steps: [] };

const step = async <T>(title: string, fn: () => Promise<T>, show?: (r: T) => string): Promise<T> => {
  stepNo++;
  const label = `[${String(stepNo).padStart(2)}/${STEPS}] ${title}`;
  process.stdout.write(`${label} … `);
  const t0 = Date.now();
  try {
    const r = await fn();
    const detail = show ? show(r) : '';
    process.stdout.write(`ok${detail ? ` — ${detail}` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    (summary.steps as unknown[]).push({ step: stepNo, title, ok: true, detail });
    return r;
  } catch (e) {
    process.stdout.write('FAILED\n');
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(
      `\n${message}\n\nThe demo stopped at step ${stepNo}. Evidence so far is in ${out}\n`,
    );
    (summary.steps as unknown[]).push({ step: stepNo, title, ok: false, error: message });
    await writeFile(join(out, 'summary.json'), JSON.stringify(summary, null, 2)).catch(() => undefined);
    process.exit(1);
  }
};

interface Answer {
  status: number;
  body: string;
  bytes: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of the documented API, checked where used
  json: any;
}

const http = async (
  method: string,
  path: string,
  opts: { json?: unknown; form?: Record<string, string>; token?: string; raw?: Uint8Array } = {},
): Promise<Answer> => {
  const headers: Record<string, string> = {};
  let body: string | Uint8Array | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.raw) {
    headers['content-type'] = 'application/ocsp-request';
    body = opts.raw;
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const url = path.startsWith('http') ? path : `${api}${path}`;
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: text, bytes, json };
};

const expectOk = (r: Answer, what: string, status = 200): Answer => {
  if (r.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${r.status}: ${r.body.slice(0, 500)}`);
  }
  return r;
};

const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        done({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });

const mustRun = async (what: string, cmd: string, args: string[], env?: Record<string, string>) => {
  const r = await run(cmd, args, env);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr || r.stdout}`);
  return r;
};

/** The holder's card client, as a holder runs it (JSON on stdout). */
const cardClient = async (args: string[], expectFailure = false) => {
  const r = await run(tsx, ['card-client/cli.ts', '--api', api, '--cards-dir', cardsDir, '--json', ...args]);
  if (expectFailure) {
    if (r.code === 0) throw new Error(`card client ${args[0]} was expected to fail but succeeded`);
    return { error: r.stderr.trim() };
  }
  if (r.code !== 0) throw new Error(`card client ${args[0]} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
};

const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (let delay = 200; ; delay = Math.min(2000, delay * 1.5)) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
};

const pem = (der: Buffer, label = 'CERTIFICATE') =>
  `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;

const save = (name: string, content: string | Uint8Array) => writeFile(join(out, name), content);

/** OCSP for one certificate through the stack's responder, verified by OpenSSL; evidence saved. */
const ocsp = async (certFile: string, name: string) => {
  const reqFile = join(out, `ocsp-${name}.req.der`);
  const respFile = join(out, `ocsp-${name}.resp.der`);
  const r = await mustRun('openssl ocsp', '/usr/bin/openssl', [
    'ocsp',
    '-issuer',
    join(out, 'issuing-ca.pem'),
    '-cert',
    certFile,
    '-url',
    `${api}/pki/ocsp`,
    '-CAfile',
    join(out, 'root-ca.pem'),
    '-verify_other',
    join(out, 'issuing-ca.pem'),
    '-reqout',
    reqFile,
    '-respout',
    respFile,
    '-resp_text',
  ]);
  await save(`ocsp-${name}.txt`, `${r.stdout}\n${r.stderr}`);
  if (!`${r.stdout}${r.stderr}`.includes('Response verify OK'))
    throw new Error(`the OCSP response did not verify:\n${r.stderr}`);
  const status = new RegExp(`${certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\w+)`).exec(r.stdout)?.[1];
  const reason = /Reason: (\w+)/.exec(r.stdout)?.[1];
  return { status, reason };
};

// ---------------------------------------------------------------------------------------------------
// The demo holder (a fresh valid ARC number each run, so runs never collide)

const arcNumber = (() => {
  const first9 = `${'ABCDEFGHJKMNPQRSTUVXYWZ'[randomInt(23)]}${8 + randomInt(2)}${String(randomInt(10_000_000)).padStart(7, '0')}`;
  return `${first9}${arcCheckDigit(first9)}`;
})();
const today = new Date();
const holder = {
  arcNumber,
  arcExpiry: `${today.getUTCFullYear() + 2}-06-30`,
  name: 'TRAN THI DEMO',
  dateOfBirth: '1992-03-14',
  email: `demo.${arcNumber.slice(-4)}.${Date.now().toString(36)}@example.org`,
  mailingAddress: {
    postalCode: '10617',
    city: '臺北市大安區',
    line1: '羅斯福路四段1號',
    recipient: 'TRAN THI DEMO',
  },
};
const mask = (s: string) => `${s.slice(0, 2)}${'*'.repeat(Math.max(0, s.length - 4))}${s.slice(-2)}`;

// ---------------------------------------------------------------------------------------------------

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
process.stdout.write(`Demo against ${api} (state ${stateDir}); evidence in ${out}\n\n`);

await step(
  'The stack is up (GET /health)',
  async () => {
    let r: Answer;
    try {
      r = await http('GET', '/health');
    } catch (e) {
      throw new Error(
        `nothing answers at ${api} (${(e as Error).message}); start the stack first: npm start`,
      );
    }
    return expectOk(r, 'health').json;
  },
  (h) =>
    Object.entries(h.checks ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
);

const tokens = await step(
  'Tokens from the local issuer (officer, ops, card station)',
  async () => {
    const keyFile = join(stateDir, 'auth', 'issuer-key.json');
    await readFile(keyFile).catch(() => {
      throw new Error(
        `no local issuer key at ${keyFile}: is the stack running with STATE_DIR=${o.stateDir}?`,
      );
    });
    const issuer = await openLocalIssuer(keyFile);
    return {
      officer: await issuer.issue('officer', 'demo-officer', { stationId: o.station }),
      ops: await issuer.issue('ops', 'demo-ops'),
      cardStation: await issuer.issue('card-station', 'demo-bureau'),
    };
  },
  () => `officer at ${o.station}`,
);

const cardStation = (args: string[]) =>
  mustRun('card station', tsx, [
    'card-station/cli.ts',
    '--state-dir',
    stateDir,
    '--api',
    api,
    '--token',
    tokens.cardStation,
    ...args,
  ]);

await step(
  'Blank card stock at the card bureau (keys generated on each card)',
  async () => {
    const status = JSON.parse((await cardStation(['--json', 'status'])).stdout) as {
      cards: { phase: string }[];
    };
    const blank = status.cards.filter((c) => c.phase === 'issuer').length;
    // The stack enrolls stock on first start; top it up only when the reader holds no blank card.
    if (blank > 0) return { blank, enrolled: 0 };
    const r = await cardStation(['--json', 'enroll', '--count', '2', '--batch', 'demo']);
    return {
      blank,
      enrolled: (JSON.parse(r.stdout.trim().split('\n').at(-1)!).enrolled ?? []).length as number,
    };
  },
  (r) =>
    r.enrolled ? `none in stock: ${r.enrolled} card(s) enrolled` : `${r.blank} blank card(s) in the reader`,
);

const application = await step(
  `Counter application at station ${o.station}`,
  async () => {
    const r = expectOk(
      await http('POST', '/v1/station/applications', { json: holder, token: tokens.officer }),
      'application',
      201,
    );
    await save('application-form.pdf', Buffer.from(r.json.applicationForm.base64, 'base64'));
    return r.json as {
      applicationId: string;
      subscriberCode: string;
      paymentDeadline: string;
      fee: { total: number };
    };
  },
  (a) =>
    `${a.applicationId}, subscriber code ${mask(a.subscriberCode)}, NT$${a.fee.total} due by ${a.paymentDeadline}`,
);
summary.applicationId = application.applicationId;
let code = application.subscriberCode;

const login = async () =>
  expectOk(
    await http('POST', '/v1/portal/sessions', { json: { arcNumber, subscriberCode: code } }),
    'login',
    201,
  ).json.token as string;
let session = await step('Holder logs in with ARC number + subscriber code', login, () => 'session opened');

const order = async () => {
  let r = await http('GET', '/v1/portal/application', { token: session });
  if (r.status === 401) {
    session = await login();
    r = await http('GET', '/v1/portal/application', { token: session });
  }
  return expectOk(r, 'order').json as { status: string; cardNumber?: string; trackingNumber?: string };
};

await step(
  'Holder pays NT$278 at the sandbox gateway (play money)',
  async () => {
    const p = expectOk(
      await http('POST', '/v1/portal/payments', {
        token: session,
        json: { mailingAddress: holder.mailingAddress, invoice: { kind: 'donation', donationCode: '919' } },
      }),
      'payment',
      201,
    ).json as { merchantTradeNo: string; checkout: { action: string; fields: Record<string, string> } };
    expectOk(await http('POST', p.checkout.action, { form: p.checkout.fields }), 'sandbox checkout page');
    const payUrl = p.checkout.action.replace(/\/checkout$/, '/pay');
    const paid = expectOk(
      await http('POST', payUrl, { form: { ...p.checkout.fields, sandboxOutcome: 'approve' } }),
      'sandbox pay',
    );
    if (!paid.body.includes('1|OK')) throw new Error('the portal did not acknowledge the gateway callback');
    return p.merchantTradeNo;
  },
  (t) => `trade ${t}, callback acknowledged 1|OK`,
);

const issued = await step(
  'Issuance: the workflow allocates a card, signs both certificates, queues the card job',
  () =>
    waitFor('issuance', async () => {
      const s = await order();
      return ['issued', 'personalized', 'mailed'].includes(s.status) && s.cardNumber ? s : undefined;
    }),
  (s) => `card ${s.cardNumber} (${s.status})`,
);
const cardNumber = issued.cardNumber!;
summary.cardNumber = cardNumber;

await step(
  'Card station personalizes, prints and mails the card',
  async () => {
    // `npm start` supervises a card-station agent; give it a moment, and run one pass here if none is.
    const mailed = async () => {
      const s = await order();
      return s.status === 'mailed' ? s : undefined;
    };
    const quick = Date.now() + 15_000;
    while (Date.now() < quick) {
      const s = await mailed();
      if (s) return { ...s, by: 'the stack’s card-station agent' };
      await new Promise((r) => setTimeout(r, 1000));
    }
    await cardStation(['run', '--once']);
    return { ...(await waitFor('the card to be mailed', mailed)), by: 'card-station run --once' };
  },
  (s) => `registered mail ${s.trackingNumber} (by ${s.by})`,
);

await step(
  'Card client: info (before activation)',
  () => cardClient(['info', '--card', cardNumber]),
  (i) =>
    `holder ${i.holder}, issuer ${i.issuer}, valid to ${i.notAfter}, PIN ${i.pin.activated ? 'set' : 'not set'}`,
);

await step(
  'Card client: activate (subscriber code → card challenge authorized → first PIN)',
  () => cardClient(['activate', '--card', cardNumber, '--code', code, '--new-pin', PIN]),
  (r) => `activated at ${r.activatedAt}`,
);

await step(
  'Three wrong PINs lock the card',
  async () => {
    for (let i = 0; i < 3; i++)
      await cardClient(
        ['change-pin', '--card', cardNumber, '--pin', `Wrong00${i}`, '--new-pin', NEW_PIN],
        true,
      );
    const info = await cardClient(['info', '--card', cardNumber]);
    if (!info.pin.locked) throw new Error('the card is not locked after three wrong PINs');
    return info;
  },
  () => 'PIN locked',
);

await step(
  'Card client: unblock with the subscriber code, new PIN',
  () => cardClient(['unblock', '--card', cardNumber, '--code', code, '--new-pin', NEW_PIN]),
  () => 'PIN reset',
);

await step(
  'Card client: self-test (module, reader, card, sign/verify round trip, status online)',
  async () => {
    const r = await cardClient(['selftest', '--card', cardNumber, '--pin', NEW_PIN]);
    if (!r.passed) throw new Error(`self-test failed: ${JSON.stringify(r.steps)}`);
    return r;
  },
  (r) => `${r.steps.length} checks passed`,
);

const NEW_CODE = `KM${arcNumber.slice(-4)}XT`;
await step(
  'Card client: change the subscriber code, proved by a signature of the card (PIN)',
  () => cardClient(['change-code', '--card', cardNumber, '--pin', NEW_PIN, '--new-code', NEW_CODE]),
  (r) => `changed at ${r.changedAt}; the printed code no longer works`,
);
code = NEW_CODE;

const files = await step(
  'Fetch the CA certificates and the card’s certificates',
  async () => {
    const root = expectOk(await http('GET', '/pki/certs/root-ca.cer'), 'root CA certificate').bytes;
    const issuing = expectOk(await http('GET', '/pki/certs/issuing-ca.cer'), 'issuing CA certificate').bytes;
    await save('root-ca.pem', pem(root));
    await save('issuing-ca.pem', pem(issuing));
    let r = await http('GET', `/v1/portal/cards/${cardNumber}/certificates`, { token: session });
    if (r.status === 401) {
      session = await login();
      r = await http('GET', `/v1/portal/cards/${cardNumber}/certificates`, { token: session });
    }
    const certs = expectOk(r, 'card certificates').json;
    const sig = join(out, 'card-signature.pem');
    const enc = join(out, 'card-encryption.pem');
    await save('card-signature.pem', pem(Buffer.from(certs.signature.der, 'base64')));
    await save('card-encryption.pem', pem(Buffer.from(certs.encryption.der, 'base64')));
    const chain = await mustRun('openssl verify', '/usr/bin/openssl', [
      'verify',
      '-CAfile',
      join(out, 'root-ca.pem'),
      '-untrusted',
      join(out, 'issuing-ca.pem'),
      sig,
      enc,
    ]);
    summary.certificates = {
      signature: certs.signature.serialNumber,
      encryption: certs.encryption.serialNumber,
    };
    return {
      sig,
      enc,
      serial: certs.signature.serialNumber as string,
      verify: chain.stdout.trim().replace(/\n/g, '; '),
    };
  },
  (f) => `signature ${f.serial}; openssl verify: ${f.verify.replaceAll(`${out}/`, '')}`,
);

await step(
  'OCSP before anything happens',
  async () => {
    const s = await ocsp(files.sig, '1-active');
    if (s.status !== 'good') throw new Error(`OCSP says ${s.status}, expected good`);
    return s;
  },
  (s) => s.status ?? '',
);

await step(
  'Card client: suspend (lost card) → OCSP certificateHold',
  async () => {
    await cardClient(['suspend', '--card', cardNumber, '--code', code]);
    const s = await ocsp(files.sig, '2-suspended');
    if (s.status !== 'revoked' || s.reason !== 'certificateHold')
      throw new Error(`OCSP says ${s.status} ${s.reason ?? ''}`);
    return s;
  },
  (s) => `${s.status}, reason ${s.reason}`,
);

await step(
  'Card client: resume → OCSP good',
  async () => {
    await cardClient(['resume', '--card', cardNumber, '--code', code]);
    const s = await ocsp(files.sig, '3-resumed');
    if (s.status !== 'good') throw new Error(`OCSP says ${s.status}`);
    return s;
  },
  (s) => s.status ?? '',
);

await step(
  'Public status query by card number (no personal data)',
  async () => {
    const r = expectOk(await http('GET', `/v1/certificates?cardNumber=${cardNumber}`), 'query');
    await save('query.json', JSON.stringify(r.json, null, 2));
    for (const secret of [
      holder.arcNumber,
      holder.name,
      holder.email,
      holder.dateOfBirth,
      holder.mailingAddress.line1,
    ]) {
      if (r.body.includes(secret)) throw new Error('the public query answer contains personal data');
    }
    return r.json.certificates as { usage: string; status: string }[];
  },
  (c) => c.map((x) => `${x.usage} ${x.status}`).join(', '),
);

await step(
  'Station revokes the card (keyCompromise) → OCSP revoked, CRL lists it',
  async () => {
    expectOk(
      await http('POST', `/v1/station/certificates/${files.serial}/revocation`, {
        json: { reason: 'keyCompromise' },
        token: tokens.officer,
      }),
      'revocation',
    );
    const s = await ocsp(files.sig, '4-revoked');
    if (s.status !== 'revoked' || s.reason !== 'keyCompromise')
      throw new Error(`OCSP says ${s.status} ${s.reason ?? ''}`);
    const crl = expectOk(await http('GET', '/pki/crl/issuing-ca.crl'), 'CRL').bytes;
    await save('issuing-ca.crl', crl);
    await save('issuing-ca.crl.pem', pem(crl, 'X509 CRL'));
    const text = await mustRun('openssl crl', '/usr/bin/openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      join(out, 'issuing-ca.crl'),
      '-noout',
      '-text',
    ]);
    await save('issuing-ca.crl.txt', text.stdout);
    const listed = text.stdout.toUpperCase().includes(files.serial.toUpperCase());
    if (!listed) throw new Error('the CRL does not list the revoked certificate');
    const check = await run('/usr/bin/openssl', [
      'verify',
      '-crl_check',
      '-CAfile',
      join(out, 'root-ca.pem'),
      '-untrusted',
      join(out, 'issuing-ca.pem'),
      '-CRLfile',
      join(out, 'issuing-ca.crl.pem'),
      files.sig,
    ]);
    return {
      ...s,
      crlCheck: (check.stdout + check.stderr).includes('certificate revoked')
        ? 'certificate revoked'
        : 'not reported',
    };
  },
  (s) => `${s.status}, reason ${s.reason}; openssl verify -crl_check: ${s.crlCheck}`,
);

summary.finishedAt = new Date().toISOString();
await save('summary.json', JSON.stringify(summary, null, 2));
await save(
  'README.txt',
  [
    'Evidence of one demo run (npm run demo):',
    '  root-ca.pem, issuing-ca.pem           the CA certificates (GET /pki/certs/*.cer)',
    '  card-signature.pem, card-encryption.pem the card holder certificates',
    '  ocsp-<n>-<state>.{req,resp}.der, .txt  OCSP request, response and `openssl ocsp -resp_text` at each state',
    '  issuing-ca.crl(.pem, .txt)            the CRL after the revocation',
    '  query.json                            the public status query answer',
    '  application-form.pdf                  the printed application form (holds the subscriber code)',
    '  summary.json                          steps, application, card and serial numbers',
    '',
  ].join('\n'),
);
process.stdout.write(`\nDone: card ${cardNumber} went through its whole life. Evidence: ${out}\n`);
