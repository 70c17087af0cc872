import { readdir, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApiHandler } from '../functions/http/api.js';
import { createPkiHandlers } from '../functions/pki/handlers.js';
import { pkiRoutes } from '../functions/pki/routes.js';
import { createQueryHandlers } from '../functions/query/handlers.js';
import { queryRoutes } from '../functions/query/routes.js';
import { runCardStationCommand } from '../infra/local/card-station.js';
import { type LambdaHttpHandler, startLocalServer } from '../infra/local/server.js';
import { startLocalStack } from '../infra/local/stack.js';
import { openLocalIssuer } from '../infra/local/tokens.js';
import { createMemoryRepository } from '../shared/adapters/memory/repository.js';
import { createCrlPublisher } from '../shared/ca/crl.js';
import { loadPkiMaterial } from '../shared/ca/material.js';
import { createPkiService } from '../shared/ca/pki-service.js';
import { loadConfig } from '../shared/config.js';
import type { Application } from '../shared/domain/model.js';
import { createLogger } from '../shared/logger.js';
import type { CaKeyAlgorithm, Signer } from '../shared/ports/signer.js';
import { createQueryUseCases } from '../shared/usecases/query.js';
import { api, arcNumber, counterApplication, freePort, payInSandbox, waitFor } from '../test/e2e/harness.js';
import { type Counts, costOf, createRecorder, PRICES, stopAttributing, uncounted } from './aws-calls.js';
import { flag, fmt, numberFlag, report } from './lib.js';

/**
 * The local stack as the HTTP benchmarks' server, in its own process (bench/http.ts drives it): starts
 * `npm start`'s composition (dynalite in memory, SoftHSM CA, local workflow engine, sandbox gateway), runs
 * whole cards through it — counter, login, payment, workflow, card station, mail — counting what each
 * card would cost in AWS, then prints `READY <json>` with what the load tests need (a holder session, a
 * certificate serial, the CA files) and serves until its standard input closes.
 *
 *   npx tsx bench/stack.ts --state-dir DIR [--warmup 1] [--cards 2] [--aws-report] [--ocsp-key EC-P256]
 *
 * --ocsp-key: the OCSP responder key algorithm of the key ceremony (default: the ceremony's default).
 */

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
const stateDir = flag('state-dir');
if (!stateDir) throw new Error('--state-dir is required');
const warmup = numberFlag('warmup', 1);
const measured = Math.max(1, numberFlag('cards', 2));
const awsReport = process.argv.includes('--aws-report');
const ocspKey = flag('ocsp-key') as CaKeyAlgorithm | undefined;

const recorder = createRecorder();
recorder.enabled = false;

// The counting proxy in front of the stack: every API call a holder, the station, the gateway's callback
// and the card station make goes through it, so each is counted as one API Gateway request + one Lambda
// invocation of its function. It listens first: its URL is the stack's public URL (callbacks use it).
let target = '';
const proxy = createServer((req, res) => {
  const t0 = performance.now();
  const url = new URL(req.url ?? '/', target);
  const out = request(
    url,
    { method: req.method, headers: { ...req.headers, host: url.host } },
    (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.pipe(res);
      upstream.on('end', () =>
        recorder.apiCall((req.method ?? 'GET').toUpperCase(), url.pathname, performance.now() - t0),
      );
    },
  );
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(out);
});
await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

let caSigner: Signer | undefined;
const config = loadConfig({
  STATE_DIR: stateDir,
  PORT: String(await freePort()),
  PUBLIC_BASE_URL: proxyUrl,
  // The benchmark measures the query route, not the per-IP limiter (429s are still counted).
  QUERY_RATE_LIMIT_PER_SECOND: '1000000',
  QUERY_RATE_LIMIT_BURST: '10000000',
});
const logger = createLogger('bench-stack');
const startedAt = performance.now();
const stack = await startLocalStack({
  config,
  logger,
  ephemeralDatabase: true,
  sweepIntervalMs: 3_600_000,
  ...(ocspKey ? { caAlgorithms: { 'ocsp-responder': ocspKey } } : {}),
  rawRoutes: [
    {
      // The framework's ceiling: the same node:http server answering a constant.
      prefix: '/bench/constant',
      handle: async () => ({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"ok":true}',
      }),
    },
  ],
  instrument: {
    dynamoClient: (c) => recorder.dynamoClient(c),
    signer: (s) => {
      caSigner = s;
      return recorder.signer(s);
    },
    secrets: (s) => recorder.secrets(s),
  },
});
target = stack.url;
console.log(`local stack up in ${fmt((performance.now() - startedAt) / 1000)} s at ${stack.url}`);

const issuer = await openLocalIssuer(stack.paths.issuerKey, () => stack.clock.now());
const station = { stateDir: stack.paths.stateDir, apiUrl: proxyUrl, logger };
const mails = async () => {
  try {
    return (await readdir(stack.paths.outbox)).filter((f) => f.endsWith('.eml')).length;
  } catch {
    return 0;
  }
};
/** Waits until the workflow has no running execution (the last task after mailing is NotifyShipped). */
const settled = () =>
  waitFor('the executions to end', async () => (recorder.runningExecutions === 0 ? true : undefined), 30_000);

interface CardRun {
  applicationId: string;
  cardNumber: string;
  holderToken: string;
  serials: string[];
}

let sequence = 0;
/** One card, counter to mailbox, through HTTP as a station, a holder's browser and the bureau do. */
const oneCard = async (): Promise<CardRun> => {
  const n = ++sequence;
  const officer = await issuer.issue('officer', 'officer-bench', { stationId: 'TPE01' });
  const created = await api(proxyUrl, 'POST', '/v1/station/applications', {
    token: officer,
    body: counterApplication(arcNumber(5000 + n), `bench${n}@example.com`),
  });
  if (created.status !== 201)
    throw new Error(`counter application: ${created.status} ${JSON.stringify(created.body)}`);
  const { applicationId, subscriberCode } = created.body as { applicationId: string; subscriberCode: string };
  const session = await api(proxyUrl, 'POST', '/v1/portal/sessions', {
    body: { arcNumber: arcNumber(5000 + n), subscriberCode },
  });
  if (session.status !== 201) throw new Error(`holder session: ${session.status}`);
  const holderToken = session.body.token as string;
  await api(proxyUrl, 'GET', '/v1/portal/application', { token: holderToken });
  const payment = await api(proxyUrl, 'POST', '/v1/portal/payments', {
    token: holderToken,
    body: {
      mailingAddress: { postalCode: '10048', city: 'Taipei', line1: 'No. 2, Zhongshan S. Rd' },
      invoice: { kind: 'mobile_barcode', carrier: '/ABC+123' },
    },
  });
  if (payment.status !== 201) throw new Error(`payment: ${payment.status} ${JSON.stringify(payment.body)}`);
  const paid = await payInSandbox(payment.body.checkout);
  if (paid.status !== 200) throw new Error(`sandbox payment: ${paid.status}`);
  // The benchmark's own polling reads the table directly and is not counted as the product's.
  const status = (wanted: string) =>
    uncounted(async () => {
      const a = (await stack.repo.applications.get(applicationId)) as Application;
      return a.status === wanted ? a : undefined;
    });
  const issued = await waitFor('the certificates to be signed', () => status('issued'), 60_000);
  await runCardStationCommand(station, ['run', '--once']);
  await waitFor('the card to be mailed', () => status('mailed'), 60_000);
  await settled();
  const certs = await uncounted(() => stack.repo.certificates.listByCard(issued.cardNumber!));
  return {
    applicationId,
    cardNumber: issued.cardNumber!,
    holderToken,
    serials: certs.map((c) => c.serialNumber),
  };
};

// Blank stock for every card of this run (the bureau enrolls in batches; counted apart).
recorder.reset();
recorder.enabled = true;
const enrolled = warmup + measured;
await runCardStationCommand(station, ['enroll', '--count', String(enrolled)]);
recorder.enabled = false;
const enrolment = recorder.snapshot();

for (let i = 0; i < warmup; i++) await oneCard(); // first-use costs: key checks, caches, JIT
recorder.reset();
const mailsBefore = await mails();
recorder.enabled = true;
const t0 = performance.now();
let last: CardRun | undefined;
for (let i = 0; i < measured; i++) last = await oneCard();
const seconds = (performance.now() - t0) / 1000;
recorder.enabled = false;
const total: Counts = recorder.snapshot();
total.mails = (await mails()) - mailsBefore;

const per = (x: number) => x / measured;
const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
if (awsReport) {
  const lines = costOf(total);
  const usd = lines.reduce((a, l) => a + l.usd, 0) / measured;
  console.log(
    `\n## AWS calls per issued card (${measured} cards after ${warmup} warm-up, ${fmt(seconds)} s on the local stack)`,
  );
  console.log(
    `DynamoDB requests: ${Object.entries(total.dynamo.calls)
      .map(([k, v]) => `${k} ${fmt(per(v))}`)
      .join(', ')}`,
  );
  console.log(
    `  by what they touch: ${Object.entries(total.dynamo.byKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${fmt(per(v))}`)
      .join(', ')}`,
  );
  console.log(
    `  read units ${fmt(per(total.dynamo.rru))} RRU; write units ${fmt(per(total.dynamo.wruTable))} WRU (table) + ${fmt(per(total.dynamo.wruIndexes))} WRU (index writes, estimated from the items' GSI keys)`,
  );
  console.log(
    `KMS (would-be) requests: ${Object.entries(total.kms)
      .map(([k, v]) => `${k} ${fmt(per(v))}`)
      .join(', ')}`,
  );
  console.log(`Step Functions state transitions: ${fmt(per(total.transitions))}`);
  console.log(
    `Lambda invocations: ${Object.entries(total.lambda)
      .sort((a, b) => b[1].invocations - a[1].invocations)
      .map(([k, v]) => `${k} ${fmt(per(v.invocations))}`)
      .join(', ')}`,
  );
  console.log(`API Gateway requests ${fmt(per(total.apiRequests))}; mails ${fmt(per(total.mails))}`);
  console.log(
    `Blank stock enrolment (per enrolled card, apart): DynamoDB ${fmt(sum(enrolment.dynamo.calls) / enrolled)} requests, Lambda ${fmt(Object.values(enrolment.lambda).reduce((a, l) => a + l.invocations, 0) / enrolled)} invocations, KMS ${fmt(sum(enrolment.kms) / enrolled)}`,
  );
  console.log(`Cost per card at list prices (${PRICES.region}):`);
  for (const l of lines)
    console.log(
      `  ${l.item.padEnd(54)} ${fmt(per(l.quantity), 2).padStart(8)} ${l.unit.padEnd(12)} $${(l.usd / measured).toFixed(7)}`,
    );
  console.log(
    `  ${'total'.padEnd(54)} ${''.padStart(8)} ${''.padEnd(12)} $${usd.toFixed(6)}  (= $${fmt(usd * 1e6, 0)} per million cards)`,
  );
  console.log('  prices:');
  for (const [k, v] of Object.entries(PRICES))
    if (typeof v === 'object') console.log(`    ${k}: ${v.source}`);
  console.log(
    '  not counted: CloudFront, WAF, CloudWatch logs/metrics, S3 (CRL publication is per status change, not per card), data transfer, KMS key-months',
  );

  const lambdaCalls = Object.values(total.lambda).reduce((a, l) => a + l.invocations, 0);
  const kmsSign = Object.entries(total.kms)
    .filter(([k]) => k.startsWith('Sign'))
    .reduce((a, [, v]) => a + v, 0);
  report({
    part: 'aws',
    figure: 'Step Functions transitions / card',
    value: per(total.transitions),
    unit: 'transitions',
  });
  report({
    part: 'aws',
    figure: 'DynamoDB requests / card',
    value: per(sum(total.dynamo.calls)),
    unit: 'requests',
    note: `${fmt(per(total.dynamo.rru))} RRU, ${fmt(per(total.dynamo.wruTable + total.dynamo.wruIndexes))} WRU`,
  });
  report({
    part: 'aws',
    figure: 'KMS requests / card',
    value: per(sum(total.kms)),
    unit: 'requests',
    note: `${fmt(per(kmsSign))} Sign`,
  });
  report({ part: 'aws', figure: 'Lambda invocations / card', value: per(lambdaCalls), unit: 'invocations' });
  report({
    part: 'aws',
    figure: 'AWS cost / card (list prices)',
    value: usd,
    unit: 'USD',
    note: `us-east-1 list prices; ≈ $${fmt(usd * 1e6, 0)} per million cards`,
  });
}

// Fixtures for the load tests: the last card's holder session and certificates.
const cert = await stack.repo.certificates.get(last!.serials[0]!);
stopAttributing();
const certPem = join(stack.paths.stateDir, 'bench-cert.pem');
await writeFile(
  certPem,
  `-----BEGIN CERTIFICATE-----\n${cert!.der!.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
);
// The same handlers and the same node:http server over the in-memory repository (query and PKI routes):
// what the routes cost without the local DynamoDB emulation (an AWS SDK client talking HTTP to dynalite in
// this very process). Holds the same certificate.
const memory = createMemoryRepository({ clock: stack.clock });
await memory.certificates.create(cert!);
const material = await loadPkiMaterial(stack.paths.stateDir);
const pki = createPkiService({
  material,
  certificates: memory.certificates,
  signer: caSigner!,
  clock: stack.clock,
  crl: createCrlPublisher({
    docs: memory.docs,
    certificates: memory.certificates,
    signer: caSigner!,
    clock: stack.clock,
    ca: material.issuing,
  }),
});
const query = createQueryUseCases({
  certificates: memory.certificates,
  clock: stack.clock,
  emailKey: async (e) => e,
  issuerName: (id) => (id === material.issuing.id ? material.issuing.subjectText : undefined),
});
const memoryServer = await startLocalServer({
  host: '127.0.0.1',
  port: 0,
  specs: [...queryRoutes, ...pkiRoutes],
  functions: {
    query: createApiHandler(queryRoutes, createQueryHandlers({ query }), {
      logger,
    }) as unknown as LambdaHttpHandler,
    pki: createApiHandler(pkiRoutes, createPkiHandlers({ pki }), { logger }) as unknown as LambdaHttpHandler,
  },
  verifyJwt: async () => ({}),
  logger,
});

console.log(
  `READY ${JSON.stringify({
    memoryUrl: memoryServer.url,
    url: stack.url,
    holderToken: last!.holderToken,
    serialNumber: cert!.serialNumber,
    notAfter: cert!.notAfter,
    subject: cert!.subjectName,
    certPem,
    issuingPem: join(stack.paths.pki, 'issuing-ca.pem'),
    ocspKeyAlgorithm: material.ocspResponder.key.algorithm,
    // For openssl's baseline responder with the same key on the same token (bench/http.ts).
    ocspKey: material.ocspResponder.key,
    ocspResponderPem: join(stack.paths.pki, 'ocsp-responder.pem'),
    stateDir: stack.paths.stateDir,
    pkcs11Module: config.PKCS11_MODULE,
    pid: process.pid,
  })}`,
);

// --profile FILE: a CPU profile of the load phase only (open it in Chrome DevTools), to explain the gaps.
const profileFile = flag('profile');
const profiler = profileFile ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}

process.stdin.resume();
process.stdin.on('end', async () => {
  if (profiler && profileFile) {
    const { profile } = await profiler.post('Profiler.stop');
    await writeFile(profileFile, JSON.stringify(profile));
  }
  memoryServer.server.closeAllConnections();
  memoryServer.server.close();
  await stack.stop();
  proxy.close();
  process.exit(0);
});
