import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { runCardStationCommand } from '../../infra/local/card-station.js';
import { type LocalStack, startLocalStack } from '../../infra/local/stack.js';
import { openLocalIssuer } from '../../infra/local/tokens.js';
import { loadConfig } from '../../shared/config.js';
import { arcCheckDigit } from '../../shared/domain/arc.js';
import { createLogger } from '../../shared/logger.js';
import { AdjustableClock } from '../../shared/ports/clock.js';

export const run = promisify(execFile);

/** A free loopback port: the stack needs its URL before it listens (it goes into certificates). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface E2e {
  stack: LocalStack;
  url: string;
  clock: AdjustableClock;
  officerToken(stationId?: string): Promise<string>;
  cardStation(args: string[]): Promise<void>;
  stop(): Promise<void>;
}

/** The whole local stack (dynalite in memory, SoftHSM CA with RSA-2048 keys for speed) in a temp folder. */
export const startE2e = async (): Promise<E2e> => {
  const stateDir = await mkdtemp(join(tmpdir(), 'acdc-e2e-'));
  const port = await freePort();
  const config = loadConfig({ STATE_DIR: stateDir, PORT: String(port), SUBSCRIBER_CODE_SCRYPT_LOG2N: '10' });
  const clock = new AdjustableClock();
  const stack = await startLocalStack({
    config,
    clock,
    logger: createLogger('e2e'),
    ephemeralDatabase: true,
    caAlgorithms: { 'root-ca': 'RSA-2048', 'issuing-ca': 'RSA-2048', 'ocsp-responder': 'RSA-2048' },
    sweepIntervalMs: 3_600_000,
  });
  const issuer = await openLocalIssuer(stack.paths.issuerKey, () => clock.now());
  return {
    stack,
    url: stack.url,
    clock,
    officerToken: (stationId = 'TPE01') => issuer.issue('officer', 'officer-7', { stationId }),
    cardStation: (args) => runCardStationCommand({ stateDir, apiUrl: stack.url, logger: stack.logger }, args),
    stop: () => stack.stop(),
  };
};

/** A valid new-format ARC number from a 7-digit sequence. */
export const arcNumber = (n: number, gender: 8 | 9 = 8): string => {
  const first9 = `A${gender}${String(n).padStart(7, '0')}`;
  return `${first9}${arcCheckDigit(first9)}`;
};

export const api = async (
  url: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
  // biome-ignore lint/suspicious/noExplicitAny: test responses are probed field by field
): Promise<{ status: number; body: any }> => {
  const r = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body };
};

export interface ParsedMail {
  file: string;
  template: string;
  to: string;
  subject: string;
  text: string;
}

/** The .eml files of the outbox, parsed, oldest first. */
export const outbox = async (stack: LocalStack): Promise<ParsedMail[]> => {
  let files: string[] = [];
  try {
    files = (await readdir(stack.paths.outbox)).filter((f) => f.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return Promise.all(
    files.map(async (file) => {
      const m = await simpleParser(await readFile(join(stack.paths.outbox, file)));
      const to = Array.isArray(m.to) ? m.to[0]?.text : m.to?.text;
      return {
        file,
        template: String(m.headers.get('x-acdc-template') ?? ''),
        to: to ?? '',
        subject: m.subject ?? '',
        text: m.text ?? '',
      };
    }),
  );
};

/** Pays an order through the sandbox gateway, as a holder's browser does (checkout page, then "pay"). */
export const payInSandbox = async (checkout: { action: string; fields: Record<string, string> }) => {
  const page = await fetch(checkout.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(checkout.fields),
  });
  const html = await page.text();
  const unescapeHtml = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const fields = Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
      unescapeHtml(m[1]!),
      unescapeHtml(m[2]!),
    ]),
  );
  const pay = await fetch(new URL('pay', checkout.action), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, sandboxOutcome: 'approve' }),
  });
  return { status: pay.status, html: await pay.text() };
};

export const waitFor = async <T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

export const counterApplication = (arc: string, email = 'maria@example.com') => ({
  arcNumber: arc,
  arcExpiry: '2030-06-30',
  name: 'Maria Santos',
  dateOfBirth: '1990-05-01',
  email,
  mailingAddress: { postalCode: '100', city: 'Taipei', line1: 'No. 1, Zhongzheng Rd' },
});
