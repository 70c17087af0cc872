import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runCeremony } from '../scripts/ceremony.js';
import { createMemoryRepository } from '../shared/adapters/memory/repository.js';
import { createLocalCaSigner } from '../shared/adapters/pkcs11/local-ca.js';
import { closeModules } from '../shared/adapters/pkcs11/module.js';
import { createCrlPublisher } from '../shared/ca/crl.js';
import { createPkiService } from '../shared/ca/pki-service.js';
import { systemClock } from '../shared/ports/clock.js';
import type { CaKeyAlgorithm } from '../shared/ports/signer.js';
import { ocspRequestFor, serialOf, syntheticCertificate } from './fixtures.js';
import { flag, fmt, numberFlag } from './lib.js';

/**
 * The OCSP responder in process, without HTTP: `pki.ocsp(request)` with `--concurrency` requests in flight
 * for `--seconds`, against raw `signer.sign` of the same key with the same concurrency (SoftHSM, a fresh
 * key ceremony in a temporary folder). A tool to profile the responder, not a part of `npm run bench`:
 *
 *   npx tsx bench/ocsp-micro.ts [--ocsp-key EC-P256|RSA-2048] [--concurrency 10] [--seconds 5] [--nonce 0|1]
 *        [--rounds 1] [--no-raw]
 *   node --cpu-prof --import tsx bench/ocsp-micro.ts --no-raw     (then open the .cpuprofile in DevTools)
 */

const seconds = numberFlag('seconds', 5);
const concurrency = numberFlag('concurrency', 10);
const withNonce = numberFlag('nonce', 1) === 1;
const ocspKey = flag('ocsp-key') as CaKeyAlgorithm | undefined;

const dir = await mkdtemp(join(tmpdir(), 'bench-ocsp-'));
try {
  const stateDir = join(dir, 'state');
  const { material } = await runCeremony({
    stateDir,
    publicBaseUrl: 'http://127.0.0.1:8080',
    ...(ocspKey ? { algorithms: { 'ocsp-responder': ocspKey } } : {}),
  });
  const signer = await createLocalCaSigner(stateDir, { modulePath: '/usr/lib/softhsm/libsofthsm2.so' });
  const repo = createMemoryRepository();
  await repo.certificates.create(syntheticCertificate(1, 'good', new Date()));
  const pki = createPkiService({
    material,
    certificates: repo.certificates,
    signer,
    clock: systemClock,
    crl: createCrlPublisher({
      docs: repo.docs,
      certificates: repo.certificates,
      signer,
      clock: systemClock,
      ca: material.issuing,
    }),
  });
  // An openssl-like request: one SHA-1 CertID and a 16-byte nonce (or none).
  const request = ocspRequestFor(material.issuing, serialOf(1), withNonce ? randomBytes(16) : undefined);
  const first = await pki.ocsp(request);
  if (first.length < 100) throw new Error(`the responder answered ${Buffer.from(first).toString('hex')}`);
  const loop = async (name: string, op: () => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await op(); // warm-up
    let n = 0;
    const until = performance.now() + seconds * 1000;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          await op();
          n++;
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `${name.padEnd(40)} ${fmt(n / wall).padStart(8)} /s   main+pool CPU ${fmt((cpu.user + cpu.system) / 1000 / n, 3)} ms each`,
    );
  };
  const rounds = numberFlag('rounds', 1);
  for (let r = 0; r < rounds; r++) {
    if (!process.argv.includes('--no-raw'))
      await loop(`raw signer.sign (${material.ocspResponder.key.algorithm})`, () =>
        signer.sign(material.ocspResponder.key, request),
      );
    await loop(`pki.ocsp (${withNonce ? 'nonce' : 'no nonce'})`, () => pki.ocsp(request));
  }
} finally {
  closeModules();
  await rm(dir, { recursive: true, force: true });
}
