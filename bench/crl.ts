import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { runCeremony } from '../scripts/ceremony.js';
import { createDocumentClient, startDynalite } from '../shared/adapters/dynamodb/local.js';
import { createDynamoRepository } from '../shared/adapters/dynamodb/repository.js';
import { ensureTable } from '../shared/adapters/dynamodb/table.js';
import { createFileCrlBlobs } from '../shared/adapters/files/crl-blobs.js';
import { createMemoryRepository } from '../shared/adapters/memory/repository.js';
import { createLocalCaSigner } from '../shared/adapters/pkcs11/local-ca.js';
import { closeModules } from '../shared/adapters/pkcs11/module.js';
import { createAuditLog } from '../shared/audit.js';
import { createCrlPublisher, crlEntryOf, crlTbs } from '../shared/ca/crl.js';
import { createOcspResponder } from '../shared/ca/ocsp.js';
import { systemClock } from '../shared/ports/clock.js';
import type { Repository } from '../shared/ports/repository.js';
import { batchLoad, certificateItem, ocspRequestFor, serialOf, syntheticCertificate } from './fixtures.js';
import { fmt, mib, numberFlag, percentile, report, runCommand as run } from './lib.js';

/**
 * The CA at national scale, in its own process (SoftHSM, its own token folder, a key ceremony with the
 * default algorithms: RSA-4096 issuing CA, RSA-2048 OCSP responder):
 *
 * - CRL of `--revoked` (100,000) revoked or held certificates: generation time (index read, DER build,
 *   SoftHSM signature, publication to the file blob store) and memory (peak RSS sampled by a worker
 *   thread, heap growth), against `openssl ca -gencrl` over an index file with the same entries and a
 *   throwaway software RSA-4096 key. Checked with `openssl crl -verify`.
 * - OCSP: the time to answer one request with `--table` (1,000,000) certificates in the in-memory table,
 *   against the same responder over a table of one certificate.
 * - The same on dynalite with `--dynalite-certs` (100,000) certificates, loaded with BatchWriteItem
 *   (1,000,000 is possible: `--dynalite-certs 1000000`, about 5–6 minutes of loading and several GB).
 *
 *   node --expose-gc --max-old-space-size=8192 --import tsx bench/crl.ts [--revoked 100000] [--table 1000000]
 *        [--dynalite-certs 100000] [--requests 400]
 */

process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
const REVOKED = numberFlag('revoked', 100_000);
const TABLE = numberFlag('table', 1_000_000);
const DYNALITE = numberFlag('dynalite-certs', 100_000);
const REQUESTS = Math.max(20, numberFlag('requests', 400));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Peak RSS of the whole process while `work` runs, sampled every 5 ms by a worker thread. */
const peakRss = async <T>(work: () => Promise<T>): Promise<{ value: T; peak: number }> => {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     let peak = process.memoryUsage.rss();
     const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 5);
     parentPort.on('message', () => { clearInterval(t); peak = Math.max(peak, process.memoryUsage.rss()); parentPort.postMessage(peak); });
     parentPort.postMessage('ready');`,
    { eval: true },
  );
  await new Promise((r) => w.once('message', r));
  const value = await work();
  const peak = await new Promise<number>((r) => {
    w.once('message', r);
    w.postMessage('stop');
  });
  await w.terminate();
  return { value, peak };
};

const seconds = (t0: number) => (performance.now() - t0) / 1000;

const dir = await mkdtemp(join(tmpdir(), 'bench-crl-'));
try {
  const stateDir = join(dir, 'state');
  let t0 = performance.now();
  const { material, pkiDir } = await runCeremony({ stateDir, publicBaseUrl: 'http://127.0.0.1:8080' });
  const signer = await createLocalCaSigner(stateDir, { modulePath: '/usr/lib/softhsm/libsofthsm2.so' });
  await signer.sign(material.issuing.key, new Uint8Array(32)); // session pool, key lookup
  console.log(
    `key ceremony (issuing ${material.issuing.key.algorithm}, OCSP ${material.ocspResponder.key.algorithm}) in ${fmt(seconds(t0))} s`,
  );
  const now = new Date();

  /** A spread of indexes over the table (Knuth's multiplicative hash), the same for every run. */
  const pick = (k: number) => ((k * 2_654_435_761) >>> 0) % Math.max(1, TABLE);
  const responder = (r: Repository) =>
    createOcspResponder({
      certificates: r.certificates,
      signer,
      clock: systemClock,
      issuer: material.issuing,
      responder: material.ocspResponder,
    });
  const latencies = async (
    respond: (der: Uint8Array) => Promise<Uint8Array>,
    serial: (k: number) => string,
  ) => {
    const ms: number[] = [];
    for (let k = 0; k < REQUESTS; k++) {
      const der = ocspRequestFor(material.issuing, serial(k));
      const s = performance.now();
      const out = await respond(der);
      ms.push(performance.now() - s);
      // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, … }: the status follows the SEQUENCE header.
      const at = out[1]! < 0x80 ? 2 : 2 + (out[1]! & 0x7f);
      if (out[at] !== 0x0a || out[at + 2] !== 0)
        throw new Error(`the OCSP responder answered status ${out[at + 2]}, not successful`);
    }
    return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
  };
  /**
   * The in-memory phases in one function: once it returns, the 1.1 M-record table is garbage, so the
   * dynalite phase below measures its own memory and does not fight a 2 GB heap for the CPU.
   */
  const memoryPhases = async () => {
    // --- CRL of REVOKED entries, in-memory table --------------------------------------------------------
    console.log(`\n## CRL of ${REVOKED.toLocaleString('en-US')} revoked or held certificates`);
    const repo = createMemoryRepository();
    t0 = performance.now();
    for (let i = 0; i < REVOKED; i++)
      await repo.certificates.create(syntheticCertificate(i, 'revoked-or-held', now));
    console.log(`loaded the in-memory table in ${fmt(seconds(t0))} s`);
    const blobs = createFileCrlBlobs(join(dir, 'crl'));
    const publisher = createCrlPublisher({
      docs: repo.docs,
      certificates: repo.certificates,
      signer,
      clock: systemClock,
      ca: material.issuing,
      blobs,
      audit: createAuditLog(repo.audit, systemClock),
    });
    await createCrlPublisher({
      docs: createMemoryRepository().docs,
      certificates: createMemoryRepository().certificates,
      signer,
      clock: systemClock,
      ca: material.issuing,
    }).regenerate(); // JIT warm-up of the CRL code on an empty CRL
    gc();
    const before = process.memoryUsage();
    t0 = performance.now();
    const { value: crl, peak } = await peakRss(() => publisher.regenerate());
    const generation = seconds(t0);
    const after = process.memoryUsage();
    gc();
    const retained = process.memoryUsage();
    // Where the time goes (a second pass, not part of the figure).
    let t = performance.now();
    const rows = await repo.certificates.listRevokedOrHeld(material.issuing.id);
    const tList = seconds(t);
    t = performance.now();
    const entries = rows.flatMap((r) => {
      const e = crlEntryOf(r);
      return e ? [e] : [];
    });
    const tbs = crlTbs({ issuer: material.issuing, number: 2n, thisUpdate: now, nextUpdate: now, entries });
    const tBuild = seconds(t);
    t = performance.now();
    await signer.sign(material.issuing.key, tbs);
    const tSign = seconds(t);
    const crlFile = join(dir, 'crl', 'issuing-ca.crl');
    const verify = await run('openssl', [
      'crl',
      '-inform',
      'DER',
      '-in',
      crlFile,
      '-CAfile',
      join(pkiDir, 'issuing-ca.pem'),
      '-noout',
    ]);
    const verified = (verify.stdout + verify.stderr).includes('verify OK');
    console.log(
      `ours: ${fmt(generation, 2)} s for ${crl.entries.toLocaleString('en-US')} entries, ${fmt(mib(crl.size))} MiB DER; openssl crl: ${verified ? 'verify OK' : 'VERIFY FAILED'}`,
    );
    console.log(
      `  parts (second pass): index read ${fmt(tList, 2)} s, entries + DER ${fmt(tBuild, 2)} s, SoftHSM ${material.issuing.key.algorithm} signature ${fmt(tSign * 1000, 1)} ms; rest (digest, document, file, audit) ${fmt(generation - tList - tBuild - tSign, 2)} s`,
    );
    console.log(
      `  memory: peak RSS ${fmt(mib(peak))} MiB (+${fmt(mib(peak - before.rss))} MiB over the ${fmt(mib(before.rss))} MiB before), heap +${fmt(mib(after.heapUsed - before.heapUsed))} MiB during, +${fmt(mib(retained.heapUsed - before.heapUsed))} MiB retained after GC`,
    );

    // Baseline: openssl ca -gencrl over an index file with the same entries, throwaway software key.
    const ossl = join(dir, 'openssl-ca');
    await run('mkdir', ['-p', ossl]);
    const key = join(ossl, 'ca.key');
    const cert = join(ossl, 'ca.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:4096',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=bench throwaway CA',
      '-days',
      '2',
    ]);
    const yymmdd = (iso: string) => `${iso.replace(/[-:T]/g, '').slice(2, 14)}Z`;
    const reasonName: Record<string, string> = {
      keyCompromise: 'keyCompromise',
      superseded: 'superseded',
      cessationOfOperation: 'cessationOfOperation',
    };
    const lines = rows.map((r) => {
      const e = crlEntryOf(r)!;
      const reason =
        e.reason === 'certificateHold' ? 'certificateHold' : e.reason ? reasonName[e.reason] : undefined;
      const revoked = `${yymmdd(e.revocationDate.toISOString())}${reason ? `,${reason}` : ''}`;
      return `R\t${yymmdd(r.notAfter)}\t${revoked}\t${r.serialNumber.toUpperCase()}\tunknown\t/CN=x`;
    });
    await writeFile(join(ossl, 'index.txt'), `${lines.join('\n')}\n`);
    await writeFile(join(ossl, 'crlnumber'), '01\n');
    await writeFile(
      join(ossl, 'ca.cnf'),
      '[ ca ]\ndefault_ca = bench\n[ bench ]\ndatabase = ./index.txt\ncrlnumber = ./crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\ncrl_extensions = crl_ext\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n',
    );
    t0 = performance.now();
    const gencrl = await run(
      '/usr/bin/time',
      [
        '-f',
        'maxrss_kb=%M',
        'openssl',
        'ca',
        '-config',
        'ca.cnf',
        '-gencrl',
        '-keyfile',
        key,
        '-cert',
        cert,
        '-out',
        'crl.pem',
        '-batch',
      ],
      ossl,
    );
    const opensslSeconds = seconds(t0);
    const opensslRss = Number(/maxrss_kb=(\d+)/.exec(gencrl.stderr)?.[1] ?? Number.NaN) * 1024;
    console.log(
      `openssl ca -gencrl (index file, software RSA-4096 key): ${fmt(opensslSeconds, 2)} s, max RSS ${fmt(mib(opensslRss))} MiB`,
    );
    const lambdaMb = 1024; // the CRL job's memory (infra/catalog.ts)
    report({
      part: 'crl',
      figure: `CRL generation, ${REVOKED.toLocaleString('en-US')} entries (memory table)`,
      value: generation,
      unit: 's',
      baseline: { label: 'openssl ca -gencrl, index file', value: opensslSeconds, unit: 's' },
      ratio: generation / opensslSeconds,
      target: `< 60 s (CRL job), verifies`,
      pass: generation < 60 && verified,
      note: `${fmt(mib(crl.size))} MiB DER; SoftHSM ${material.issuing.key.algorithm}`,
    });
    report({
      part: 'crl',
      figure: `CRL generation peak RSS, ${REVOKED.toLocaleString('en-US')} entries`,
      value: mib(peak),
      unit: 'MiB',
      baseline: { label: 'openssl ca -gencrl max RSS', value: mib(opensslRss), unit: 'MiB' },
      ratio: peak / opensslRss,
      target: `< ${lambdaMb} MiB (CRL job memory)`,
      pass: mib(peak) < lambdaMb,
      note: `+${fmt(mib(peak - before.rss))} MiB RSS, heap +${fmt(mib(after.heapUsed - before.heapUsed))} MiB during generation (process holds the whole table in memory too)`,
    });

    // --- OCSP with TABLE certificates, in-memory table ---------------------------------------------------
    const small = createMemoryRepository();
    await small.certificates.create(syntheticCertificate(1, 'good', now));
    const smallResponder = responder(small);
    await latencies(
      (d) => smallResponder.respond(d),
      () => serialOf(1),
    ); // warm-up
    const one = await latencies(
      (d) => smallResponder.respond(d),
      () => serialOf(1),
    );
    console.log(
      `\n## OCSP: one request at a time, ${REQUESTS} requests (status read + SoftHSM RSA signature + checks)`,
    );
    console.log(`table of 1 certificate: p50 ${fmt(one.p50, 2)} ms, p99 ${fmt(one.p99, 2)} ms`);
    t0 = performance.now();
    for (let i = 0; i < TABLE; i++) await repo.certificates.create(syntheticCertificate(i, 'good', now));
    console.log(
      `loaded ${TABLE.toLocaleString('en-US')} more certificates into the in-memory table in ${fmt(seconds(t0))} s (${(TABLE + REVOKED).toLocaleString('en-US')} in all; heap ${fmt(mib(process.memoryUsage().heapUsed))} MiB)`,
    );
    const bigResponder = responder(repo);
    const big = await latencies(
      (d) => bigResponder.respond(d),
      (k) => (k % 10 === 0 ? serialOf(pick(k) % REVOKED, '5') : serialOf(pick(k))),
    );
    console.log(
      `table of ${(TABLE + REVOKED).toLocaleString('en-US')}: p50 ${fmt(big.p50, 2)} ms, p99 ${fmt(big.p99, 2)} ms`,
    );
    // The responder without HTTP, 10 requests in flight: what the SoftHSM-signing core can give.
    {
      const n = 2000;
      const ders = Array.from({ length: 64 }, (_, k) => ocspRequestFor(material.issuing, serialOf(pick(k))));
      let next = 0;
      t0 = performance.now();
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          while (next < n) await bigResponder.respond(ders[next++ % ders.length]!);
        }),
      );
      console.log(`  in process, no HTTP, 10 in flight: ${fmt(n / seconds(t0), 0)} responses/s`);
    }
    report({
      part: 'crl',
      figure: `OCSP answer, ${(TABLE + REVOKED).toLocaleString('en-US')} certs (memory)`,
      value: big.p50,
      unit: 'ms p50',
      baseline: { label: 'table of 1 certificate', value: one.p50, unit: 'ms p50' },
      ratio: big.p50 / one.p50,
      note: `p99 ${fmt(big.p99, 2)} ms (1 cert: ${fmt(one.p99, 2)} ms); in process, no HTTP`,
    });
    return { opensslSeconds, one };
  };
  const { opensslSeconds, one } = await memoryPhases();
  gc();

  // --- dynalite ---------------------------------------------------------------------------------------
  if (DYNALITE > 0) {
    console.log(`\n## dynalite (in memory): ${DYNALITE.toLocaleString('en-US')} certificates`);
    const dynamo = await startDynalite();
    const client = createDocumentClient(dynamo.endpoint);
    try {
      await ensureTable(client, 'acdc-bench');
      const revokedInDynamo = Math.min(REVOKED, DYNALITE);
      t0 = performance.now();
      await batchLoad(client, 'acdc-bench', DYNALITE, (i) =>
        certificateItem(
          i < revokedInDynamo
            ? syntheticCertificate(i, 'revoked-or-held', now)
            : syntheticCertificate(i, 'good', now),
        ),
      );
      const loadSeconds = seconds(t0);
      console.log(
        `loaded ${DYNALITE.toLocaleString('en-US')} items (${revokedInDynamo.toLocaleString('en-US')} revoked or held) with BatchWriteItem in ${fmt(loadSeconds)} s = ${fmt(DYNALITE / loadSeconds, 0)} items/s` +
          (DYNALITE < 1_000_000
            ? ` (1,000,000 would take ≈ ${fmt(1_000_000 / (DYNALITE / loadSeconds) / 60, 1)} min: --dynalite-certs 1000000)`
            : ''),
      );
      // Read units of the CRL's index pages, as dynalite computes them (DynamoDB bills the same way).
      let queryPages = 0;
      let queryUnits = 0;
      const send = client.send.bind(client) as (c: unknown) => Promise<Record<string, unknown>>;
      (client as { send: unknown }).send = async (command: { input: Record<string, unknown> }) => {
        const isQuery = command.constructor.name === 'QueryCommand';
        if (isQuery) command.input.ReturnConsumedCapacity = 'TOTAL';
        const out = await send(command);
        if (isQuery) {
          queryPages++;
          queryUnits += (out.ConsumedCapacity as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0;
        }
        return out;
      };
      const dynRepo = createDynamoRepository({ client, tableName: 'acdc-bench' });
      const dynPublisher = createCrlPublisher({
        docs: dynRepo.docs,
        certificates: dynRepo.certificates,
        signer,
        clock: systemClock,
        ca: material.issuing,
        blobs: createFileCrlBlobs(join(dir, 'crl-dynalite')),
      });
      gc();
      t0 = performance.now();
      const { value: dynCrl, peak: dynPeak } = await peakRss(() => dynPublisher.regenerate());
      const dynSeconds = seconds(t0);
      console.log(
        `CRL from the revocation index (GSI5, paged Query): ${fmt(dynSeconds, 2)} s for ${dynCrl.entries.toLocaleString('en-US')} entries, ${queryPages} pages, ${fmt(queryUnits)} read units; peak RSS ${fmt(mib(dynPeak))} MiB (dynalite runs in this process)`,
      );
      const dynResponder = responder(dynRepo);
      const dynLatency = await latencies(
        (d) => dynResponder.respond(d),
        (k) => serialOf(pick(k) % DYNALITE, pick(k) % DYNALITE < revokedInDynamo ? '5' : '6'),
      );
      console.log(`OCSP one at a time: p50 ${fmt(dynLatency.p50, 2)} ms, p99 ${fmt(dynLatency.p99, 2)} ms`);
      report({
        part: 'crl',
        figure: `CRL generation, ${dynCrl.entries.toLocaleString('en-US')} entries (dynalite)`,
        value: dynSeconds,
        unit: 's',
        baseline: { label: 'openssl ca -gencrl, index file', value: opensslSeconds, unit: 's' },
        ratio: dynSeconds / opensslSeconds,
        target: '< 60 s (CRL job)',
        pass: dynSeconds < 60,
        note: `loading ${DYNALITE.toLocaleString('en-US')} items took ${fmt(loadSeconds)} s (BatchWriteItem)`,
      });
      report({
        part: 'crl',
        figure: `OCSP answer, ${DYNALITE.toLocaleString('en-US')} certs (dynalite)`,
        value: dynLatency.p50,
        unit: 'ms p50',
        baseline: { label: 'memory table of 1 certificate', value: one.p50, unit: 'ms p50' },
        ratio: dynLatency.p50 / one.p50,
        note: `p99 ${fmt(dynLatency.p99, 2)} ms; a GetItem over HTTP to dynalite in the same process`,
      });
    } finally {
      client.destroy();
      await dynamo.close();
    }
  }
  signer.close();
  closeModules();
} finally {
  await rm(dir, { recursive: true, force: true });
}
