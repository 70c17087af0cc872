import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { caHsmDir, readPins } from '../shared/adapters/pkcs11/local-ca.js';
import { freePort } from '../test/e2e/harness.js';
import { FIGURE_PREFIX, flag, fmt, numberFlag, ROOT, report, runCommand as run } from './lib.js';

/**
 * The HTTP benchmarks, on the local stack in its own process (bench/stack.ts), driven from this process
 * with autocannon 8 (the load generator; one process, so it never competes with the server for the
 * event loop):
 *
 * - aws:    what one card costs in AWS (reported by the stack process while it runs the cards).
 * - ocsp:   OCSP responses per second of `POST /pki/ocsp` (SoftHSM-held RSA-2048 responder key; status from
 *           the in-memory repository, and from dynalite on the local stack) against `openssl ocsp` serving
 *           the same status from an index file and signing with the same key on the same token (libp11
 *           engine) — and, for information, with a throwaway software key — same request, same concurrency.
 * - routes: requests per second and p50/p99 latency of GET /v1/portal/application (holder session) and
 *           GET /v1/certificates?serialNumber=… against the same node:http server answering a constant.
 *
 *   npx tsx bench/http.ts [--parts aws,ocsp,routes] [--duration 10] [--connections 50] [--ocsp-connections 10]
 *                         [--ocsp-key EC-P256|RSA-2048] [--profile FILE]
 *
 * --ocsp-key: the responder key of our key ceremony; openssl's software-key responder gets a key of the
 * same algorithm, so both sign the same kind of signature.
 * --profile: a CPU profile of the stack process during the load tests (Chrome DevTools).
 */

const parts = new Set((flag('parts') ?? 'aws,ocsp,routes').split(',').map((p) => p.trim()));
const duration = numberFlag('duration', 10);
const routeConnections = numberFlag('connections', 50);
const ocspConnections = numberFlag('ocsp-connections', 10);

interface Fixtures {
  url: string;
  /** The same handlers and server over the in-memory repository (query and PKI routes only). */
  memoryUrl: string;
  holderToken: string;
  serialNumber: string;
  notAfter: string;
  subject: string;
  certPem: string;
  issuingPem: string;
  ocspKeyAlgorithm: string;
  ocspKey: { provider: string; token?: string; keyId: string };
  ocspResponderPem: string;
  stateDir: string;
  pkcs11Module: string;
}

const startStack = (
  stateDir: string,
): Promise<{ child: ChildProcess; fixtures: Fixtures; exited: Promise<number> }> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./stack.ts', import.meta.url)),
        '--state-dir',
        stateDir,
        ...(parts.has('aws') ? ['--aws-report'] : ['--warmup', '0', '--cards', '1']),
        ...(['warmup', 'cards', 'ocsp-key', 'profile'] as const).flatMap((k) =>
          flag(k) ? [`--${k}`, flag(k)!] : [],
        ),
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: process.env },
    );
    const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? 1)));
    let rest = '';
    let ready = false;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('READY ')) {
          ready = true;
          resolve({ child, fixtures: JSON.parse(line.slice(6)) as Fixtures, exited });
        } else if (line.startsWith(FIGURE_PREFIX) || line.trim()) console.log(line);
      }
    });
    void exited.then((code) => {
      if (!ready) reject(new Error(`the stack process exited with ${code} before it was ready`));
    });
  });

const load = async (
  title: string,
  url: string,
  opts: { method?: string; body?: Buffer; headers?: Record<string, string>; connections: number },
): Promise<Result & { ok: number; okPerSecond: number; status429: number }> => {
  const r = await autocannon({
    url,
    title,
    method: opts.method ?? 'GET',
    ...(opts.body ? { body: opts.body } : {}),
    headers: opts.headers ?? {},
    connections: opts.connections,
    duration,
    timeout: 20,
  });
  const ok = r['2xx'];
  const status429 = r.statusCodeStats['429']?.count ?? 0;
  const codes = Object.entries(r.statusCodeStats)
    .map(([c, s]) => `${c}×${s.count}`)
    .join(' ');
  console.log(
    `${title.padEnd(44)} ${fmt(ok / r.duration).padStart(8)} ok/s  p50 ${fmt(r.latency.p50, 2)} ms  p99 ${fmt(r.latency.p99, 2)} ms  (${opts.connections} connections, ${fmt(r.duration)} s; ${codes}; errors ${r.errors}, timeouts ${r.timeouts})`,
  );
  return Object.assign(r, { ok, okPerSecond: ok / r.duration, status429 });
};

/** openssl's index.txt expiry: YYMMDDHHMMSSZ. */
const indexTime = (iso: string) => `${iso.replace(/[-:T]/g, '').slice(2, 14)}Z`;

/** The libp11 engine (Debian: libengine-pkcs11-openssl), for openssl ocsp to sign with a key on a PKCS#11 token. */
const pkcs11Engine = async (): Promise<string | undefined> => {
  const { stdout } = await run('openssl', ['version', '-e']);
  const dir = /ENGINESDIR: "([^"]+)"/.exec(stdout)?.[1];
  const path = dir ? join(dir, 'pkcs11.so') : undefined;
  return path && existsSync(path) ? path : undefined;
};

/** openssl ocsp serving one index file, until stop(); started when it answers a real request. */
const opensslResponder = async (
  f: Fixtures,
  opts: { index: string; rsigner: string; rkey: string; env?: NodeJS.ProcessEnv },
  check: (url: string, extra?: string[]) => Promise<void>,
) => {
  const port = await freePort();
  const child = spawn(
    'openssl',
    [
      'ocsp',
      '-index',
      opts.index,
      '-port',
      String(port),
      '-rsigner',
      opts.rsigner,
      '-rkey',
      opts.rkey,
      '-CA',
      f.issuingPem,
      '-nmin',
      '240',
      '-ignore_err',
    ],
    { stdio: 'ignore', env: { ...process.env, ...opts.env } },
  );
  const url = `http://127.0.0.1:${port}/`;
  // Wait for it with real requests: an empty probe connection makes OpenSSL 3.0's responder spin on it.
  for (let attempt = 1; ; attempt++) {
    try {
      await check(url, ['-timeout', '2']);
      break;
    } catch (e) {
      if (attempt >= 50) {
        child.kill('SIGTERM');
        throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, stop: () => child.kill('SIGTERM') };
};

const ocspBench = async (f: Fixtures, work: string) => {
  // One request, as a relying party sends it (SHA-1 CertID, a nonce); every responder gets these bytes.
  const req = join(work, 'req.der');
  await run('openssl', ['ocsp', '-issuer', f.issuingPem, '-cert', f.certPem, '-reqout', req]);
  const body = await readFile(req);
  const check = async (url: string, extra: string[] = []) => {
    const { stdout } = await run('openssl', [
      'ocsp',
      '-issuer',
      f.issuingPem,
      '-cert',
      f.certPem,
      '-url',
      url,
      '-noverify',
      ...extra,
    ]);
    if (!stdout.includes(': good')) throw new Error(`${url} did not answer good: ${stdout}`);
  };
  await check(`${f.url}/pki/ocsp`);
  const index = join(work, 'index.txt');
  await writeFile(
    index,
    `V\t${indexTime(f.notAfter)}\t\t${f.serialNumber.toUpperCase()}\tunknown\t/CN=${f.subject}\n`,
  );
  const headers = { 'content-type': 'application/ocsp-request' };
  const opts = { method: 'POST', body, headers, connections: ocspConnections };

  // Baseline 1, the like-for-like one: openssl's responder signing with OUR responder key on the same
  // SoftHSM token (libp11 engine), as the issuance figure compares with raw signatures of the same key.
  const engine = f.ocspKey.provider === 'pkcs11' ? await pkcs11Engine() : undefined;
  let sameKey: Awaited<ReturnType<typeof load>> | undefined;
  if (engine) {
    const pins = await readPins(f.stateDir);
    const pinFile = join(work, 'ocsp-pin');
    await writeFile(pinFile, pins!.tokens[f.ocspKey.token!]!.userPin, { mode: 0o600 });
    const conf = join(work, 'openssl-pkcs11.cnf');
    await writeFile(
      conf,
      [
        'openssl_conf = openssl_init',
        '[openssl_init]',
        'engines = engine_section',
        '[engine_section]',
        'pkcs11 = pkcs11_section',
        '[pkcs11_section]',
        'engine_id = pkcs11',
        `dynamic_path = ${engine}`,
        `MODULE_PATH = ${f.pkcs11Module}`,
        'init = 0',
        '',
      ].join('\n'),
    );
    const id = f.ocspKey.keyId.replace(/(..)/g, '%$1');
    const responder = await opensslResponder(
      f,
      {
        index,
        rsigner: f.ocspResponderPem,
        rkey: `org.openssl.engine:pkcs11:pkcs11:token=${f.ocspKey.token};id=${id};type=private?pin-source=file:${pinFile}`,
        env: { OPENSSL_CONF: conf, SOFTHSM2_CONF: join(caHsmDir(f.stateDir), 'softhsm2.conf') },
      },
      check,
    );
    try {
      sameKey = await load('openssl ocsp (index.txt, same SoftHSM key)', responder.url, opts);
    } finally {
      responder.stop();
    }
  } else {
    console.log(
      '  (no PKCS#11 engine for openssl — apt-get install libengine-pkcs11-openssl — so no same-key baseline)',
    );
  }

  // Baseline 2, information: openssl's responder with a throwaway software key of the same algorithm.
  const rkey = join(work, 'ocsp-baseline.key');
  const rcert = join(work, 'ocsp-baseline.pem');
  const keyArgs = f.ocspKeyAlgorithm.startsWith('EC-')
    ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:P-${f.ocspKeyAlgorithm.slice(4)}`]
    : ['-newkey', `rsa:${f.ocspKeyAlgorithm.slice(4)}`];
  await run('openssl', [
    'req',
    '-x509',
    ...keyArgs,
    '-nodes',
    '-keyout',
    rkey,
    '-out',
    rcert,
    '-subj',
    '/CN=bench throwaway OCSP responder',
    '-days',
    '1',
  ]);
  const software = await opensslResponder(f, { index, rsigner: rcert, rkey }, check);
  let theirs: Awaited<ReturnType<typeof load>>;
  try {
    theirs = await load('openssl ocsp (index.txt, software key)', software.url, opts);
  } finally {
    software.stop();
  }
  console.log(`  (responder keys: ${f.ocspKeyAlgorithm}; ours on SoftHSM)`);
  const ours = await load('ours: POST /pki/ocsp (SoftHSM key, dynalite)', `${f.url}/pki/ocsp`, opts);
  const memory = await load('same handlers, in-memory repository', `${f.memoryUrl}/pki/ocsp`, opts);
  console.log(
    '  (openssl ocsp answers one request per connection and closes it: its "errors" are those closes; ours keeps connections alive)',
  );
  const base = sameKey
    ? { label: 'openssl ocsp, index file, same SoftHSM key', run: sameKey }
    : { label: 'openssl ocsp, index file, software key', run: theirs };
  const ratio = memory.okPerSecond / base.run.okPerSecond;
  report({
    part: 'ocsp',
    figure: `OCSP responses/s (${ocspConnections} connections)`,
    value: memory.okPerSecond,
    unit: 'resp/s',
    baseline: { label: base.label, value: base.run.okPerSecond, unit: 'resp/s' },
    ratio,
    // Like for like: each responder reads the status from an in-memory table and signs with the key.
    ...(sameKey ? { target: '≥ 1 × openssl', pass: ratio >= 1 } : {}),
    note: `ours with the in-memory repository (openssl: index file in memory); p50 ${fmt(memory.latency.p50, 1)} ms, p99 ${fmt(memory.latency.p99, 1)} ms`,
  });
  report({
    part: 'ocsp',
    figure: 'OCSP responses/s, local stack (dynalite)',
    value: ours.okPerSecond,
    unit: 'resp/s',
    baseline: { label: base.label, value: base.run.okPerSecond, unit: 'resp/s' },
    ratio: ours.okPerSecond / base.run.okPerSecond,
    note: `each response reads its status from the DynamoDB emulation (AWS SDK + dynalite) first; p50 ${fmt(ours.latency.p50, 1)} ms, p99 ${fmt(ours.latency.p99, 1)} ms`,
  });
  report({
    part: 'ocsp',
    figure: 'OCSP responses/s vs a software-key responder',
    value: memory.okPerSecond,
    unit: 'resp/s',
    baseline: { label: 'openssl ocsp, index file, software key', value: theirs.okPerSecond, unit: 'resp/s' },
    ratio: memory.okPerSecond / theirs.okPerSecond,
    note: 'a key in process memory against ours in the HSM: every nonce needs a fresh signature, and SoftHSM signs slower than OpenSSL in process',
  });
};

const routesBench = async (f: Fixtures) => {
  const constant = await load('constant (same node:http server)', `${f.url}/bench/constant`, {
    connections: routeConnections,
  });
  const portal = await load('GET /v1/portal/application (session)', `${f.url}/v1/portal/application`, {
    headers: { authorization: `Bearer ${f.holderToken}` },
    connections: routeConnections,
  });
  const query = await load(
    'GET /v1/certificates?serialNumber=…',
    `${f.url}/v1/certificates?serialNumber=${f.serialNumber}`,
    { connections: routeConnections },
  );
  const memoryQuery = await load(
    'same, in-memory repository',
    `${f.memoryUrl}/v1/certificates?serialNumber=${f.serialNumber}`,
    { connections: routeConnections },
  );
  const row = (name: string, r: typeof portal, target?: { text: string; pass: boolean }) =>
    report({
      part: 'routes',
      figure: `${name} req/s (${routeConnections} conn.)`,
      value: r.okPerSecond,
      unit: 'req/s',
      baseline: { label: 'constant on the same server', value: constant.okPerSecond, unit: 'req/s' },
      ratio: r.okPerSecond / constant.okPerSecond,
      ...(target ? { target: target.text, pass: target.pass } : {}),
      note: `p50 ${fmt(r.latency.p50, 1)} ms, p99 ${fmt(r.latency.p99, 1)} ms; non-2xx ${r.non2xx} (429: ${r.status429})`,
    });
  row('portal application', portal);
  row('query by serial', query);
  row('query by serial, in-memory repository', memoryQuery);
  report({
    part: 'routes',
    figure: `query p99 latency (${routeConnections} conn.)`,
    value: query.latency.p99,
    unit: 'ms',
    baseline: { label: 'constant p99', value: constant.latency.p99, unit: 'ms' },
    ratio: query.latency.p99 / Math.max(constant.latency.p99, 0.001),
    target: 'p99 < 50 ms',
    pass: query.latency.p99 < 50 && query.non2xx === 0,
    note: `p50 ${fmt(query.latency.p50, 1)} ms; 429s ${query.status429}`,
  });
};

const work = await mkdtemp(join(tmpdir(), 'bench-http-'));
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
try {
  stack = await startStack(join(work, 'state'));
  const f = stack.fixtures;
  if (parts.has('ocsp')) {
    console.log('\n## OCSP responder vs openssl ocsp');
    await ocspBench(f, work);
  }
  if (parts.has('routes')) {
    console.log('\n## portal and query routes vs a constant on the same server');
    await routesBench(f);
  }
} finally {
  if (stack) {
    stack.child.stdin!.end();
    const code = await Promise.race([
      stack.exited,
      new Promise<number>((r) => setTimeout(() => r(-1), 15_000)),
    ]);
    if (code === -1) stack.child.kill('SIGKILL');
  }
  await rm(work, { recursive: true, force: true });
}
