import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from '../../bench/lib.js';

/**
 * Smoke test of `npm run bench`: every part (but the bundles, which test/infra builds already) runs to
 * the end with tiny sizes and reports its figures. No figure is judged here: speed is the benchmark's
 * business, not a test's.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const bench = (args: string[]): Promise<{ code: number; output: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/index.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('exit', (code) => resolve({ code: code ?? 1, output: Buffer.concat(chunks).toString() }));
  });

describe('npm run bench --quick', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every part with tiny sizes and reports each figure with its baseline', async () => {
    const json = join(dir, 'figures.json');
    const markdown = join(dir, 'benchmarks.md');
    await writeFile(markdown, '# x\n<!-- bench:results:begin -->\nold\n<!-- bench:results:end -->\nafter\n');
    const { code, output } = await bench([
      '--quick',
      '--only',
      'issuance,aws,ocsp,routes,crl',
      '--json',
      json,
      '--markdown',
      markdown,
    ]);
    if (code !== 0) throw new Error(`bench exited with ${code}:\n${output.slice(-4000)}`);
    const result = JSON.parse(await readFile(json, 'utf8')) as { figures: BenchFigure[]; failed: string[] };
    expect(result.failed).toEqual([]);
    const byPart = (part: string) => result.figures.filter((f) => f.part === part);
    for (const part of ['issuance', 'aws', 'ocsp', 'routes', 'crl']) {
      expect([part, byPart(part).length > 0]).toEqual([part, true]);
    }
    for (const f of result.figures) {
      expect([f.figure, Number.isFinite(f.value) && f.value > 0]).toEqual([f.figure, true]);
      if (f.baseline) expect([f.figure, f.baseline.value > 0]).toEqual([f.figure, true]);
    }
    // The comparisons the issue asks for are all there.
    const names = result.figures.map((f) => f.figure).join('\n');
    expect(names).toMatch(/issuance RSA-2048, memory repo/);
    expect(names).toMatch(/issuance RSA-2048, dynalite/);
    expect(names).toMatch(/OCSP responses\/s \(/);
    expect(names).toMatch(/query p99 latency/);
    expect(names).toMatch(/portal application req\/s/);
    expect(names).toMatch(/CRL generation, 2,000 entries \(memory table\)/);
    expect(names).toMatch(/OCSP answer, 7,000 certs \(memory\)/);
    expect(names).toMatch(/AWS cost \/ card/);
    // Like for like when OpenSSL has the PKCS#11 engine (CI installs it): the same key on the same token.
    expect(byPart('ocsp').find((f) => f.figure.startsWith('OCSP responses/s ('))?.baseline?.label).toMatch(
      /^openssl ocsp, index file, (same SoftHSM key|software key)$/,
    );
    expect(names).toMatch(/OCSP responses\/s, local stack \(dynalite\)/);
    // One card through the local stack: the workflow ran its states and the CA signed two certificates.
    const aws = Object.fromEntries(byPart('aws').map((f) => [f.figure, f]));
    expect(aws['Step Functions transitions / card']!.value).toBeGreaterThanOrEqual(10);
    expect(aws['KMS requests / card']!.note).toContain('2 Sign');
    const doc = await readFile(markdown, 'utf8');
    expect(doc).toMatch(/<!-- bench:results:begin -->\nRun: `npm run bench -- --quick/);
    expect(doc).toContain('| crl | CRL generation, 2,000 entries (memory table) |');
    expect(doc).not.toContain('\nold\n');
    expect(doc.endsWith('<!-- bench:results:end -->\nafter\n')).toBe(true);
  }, 300_000);

  it('refuses an unknown part', async () => {
    const { code, output } = await bench(['--only', 'nope']);
    expect(code).not.toBe(0);
    expect(output).toContain('unknown part nope');
  }, 60_000);
});
