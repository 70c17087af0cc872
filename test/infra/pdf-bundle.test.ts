import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { BUNDLE_OPTIONS, findCjkFontSource, pdfAssetCommands } from '../../infra/bundling.js';
import { entryOf } from '../../infra/catalog.js';
import { SAMPLE_FORM } from '../intake/sample-form.js';

/**
 * The documents function is the one function that renders PDFs. pdfkit loads its standard fonts at run
 * time relative to its own package and fontkit carries a 480 KB Brotli decoder: its bundle needs the
 * asset files next to it (pdfAssetCommands) and the Brotli alias. This bundles the real entry
 * (functions/documents/index.ts) as the CDK construct does, invokes its handler in a separate Node process
 * with the request the station sends, and reads the PDF back with pdftotext. The station and portal
 * bundles must carry none of it.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'acdc-pdf-bundle-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  // esbuild's service process would otherwise keep jest (in band) from exiting.
  await esbuild.stop();
});

const bundle = (entry: string, outfile: string, write = true) =>
  esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    outfile,
    write,
    metafile: true,
    platform: BUNDLE_OPTIONS.platform,
    target: BUNDLE_OPTIONS.target,
    format: BUNDLE_OPTIONS.format,
    minify: BUNDLE_OPTIONS.minify,
    keepNames: BUNDLE_OPTIONS.keepNames,
    mainFields: BUNDLE_OPTIONS.mainFields,
    banner: { js: BUNDLE_OPTIONS.banner },
    external: BUNDLE_OPTIONS.external,
    alias: BUNDLE_OPTIONS.alias,
    logLevel: 'silent',
  });

const FORM = SAMPLE_FORM;

/** Runs the bundled handler on each event in a fresh Node process (outside the repository). */
const invokeBundle = (events: unknown[]): { stderr: string; status: number | null; results: unknown[] } => {
  const script = `import { handler } from ${JSON.stringify(join(dir, 'index.mjs'))};
    const results = [];
    for (const e of ${JSON.stringify(events)}) results.push(await handler(e));
    process.stdout.write(JSON.stringify(results));`;
  // Run from elsewhere, so nothing resolves from the repository's node_modules by accident.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: tmpdir(),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { stderr: r.stderr, status: r.status, results: r.status === 0 ? JSON.parse(r.stdout) : [] };
};

test('the documents function renders the application form from its Lambda bundle', async () => {
  const font = findCjkFontSource(existsSync);
  expect(font).toBeDefined();
  const result = await bundle(entryOf.internal('documents'), join(dir, 'index.mjs'));
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.some((i) => i.includes('node_modules/pdfkit/'))).toBe(true);
  expect(inputs.some((i) => i.includes('node_modules/brotli/'))).toBe(false);

  for (const command of pdfAssetCommands(ROOT, dir, font)) {
    const r = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
    expect([command, r.status, r.stderr]).toEqual([command, 0, '']);
  }

  const { stderr, status, results } = invokeBundle([
    { op: 'renderApplicationForm', form: FORM, createdAt: '2026-11-23T05:00:00.000Z' },
    { op: 'renderApplicationForm', form: { ...FORM, subscriberCode: 7 }, createdAt: '2026-11-23T05:00:00Z' },
    { op: 'shred' },
  ]);
  expect(stderr).toBe('');
  expect(status).toBe(0);
  const [ok, badField, badOp] = results as {
    ok: boolean;
    value?: { pdfBase64: string };
    error?: { name: string; message: string };
  }[];

  // A wrong request is answered with the field named and no value echoed (the form holds the code).
  expect(badField).toEqual({
    ok: false,
    error: { name: 'ValidationError', message: 'form.subscriberCode: must be a non-empty string' },
  });
  expect(badOp?.ok).toBe(false);
  expect(badOp?.error?.name).toBe('ValidationError');

  expect(ok?.ok).toBe(true);
  const pdf = Buffer.from(ok!.value!.pdfBase64, 'base64');
  expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  // A synchronous invocation answers at most 6 MB; the form with its font subset is far below.
  expect(ok!.value!.pdfBase64.length).toBeLessThan(1024 * 1024);
  writeFileSync(join(dir, 'form.pdf'), pdf);
  const text = spawnSync('pdftotext', ['-layout', '-enc', 'UTF-8', join(dir, 'form.pdf'), '-'], {
    encoding: 'utf8',
  });
  expect(text.stdout).toContain('K7m2Qx9P');
  expect(text.stdout).toContain('陳大文 CHEN, Da-Wen');
  expect(text.stdout).toContain('用戶代碼 Subscriber code');
  const info = spawnSync('pdfinfo', ['-isodates', join(dir, 'form.pdf')], { encoding: 'utf8' });
  expect(info.stdout).toMatch(/CreationDate:\s+2026-11-23T05:00:00/);
}, 60_000);

test.each(['station', 'portal'] as const)('the %s bundle carries no PDF renderer', async (fn) => {
  const result = await bundle(entryOf.api(fn), join(dir, fn, 'index.mjs'), false);
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.filter((i) => /node_modules\/(pdfkit|fontkit|brotli)\//.test(i))).toEqual([]);
  expect(inputs.filter((i) => i.includes('shared/documents/'))).toEqual([]);
});
