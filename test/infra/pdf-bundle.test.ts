import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { BUNDLE_OPTIONS, findCjkFontSource, pdfAssetCommands } from '../../infra/bundling.js';

/**
 * pdfkit loads its standard fonts at run time relative to its own package and fontkit carries a 480 KB
 * Brotli decoder: a bundle needs the asset files next to it (pdfAssetCommands) and the Brotli alias.
 * This renders the application form from inside such a bundle, in a separate Node process, and reads the
 * PDF back with pdftotext.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'acdc-pdf-bundle-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the application form renders from a Lambda-style bundle', async () => {
  const font = findCjkFontSource(existsSync);
  expect(font).toBeDefined();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['test/infra/fixtures/render-form.ts'],
    bundle: true,
    outfile: join(dir, 'index.mjs'),
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
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.some((i) => i.includes('node_modules/pdfkit/'))).toBe(true);
  expect(inputs.some((i) => i.includes('node_modules/brotli/'))).toBe(false);

  for (const command of pdfAssetCommands(ROOT, dir, font)) {
    const r = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
    expect([command, r.status, r.stderr]).toEqual([command, 0, '']);
  }

  const script = `import { render } from ${JSON.stringify(join(dir, 'index.mjs'))};
    import { writeFileSync } from 'node:fs';
    const pdf = await render({
      applicationId: 'app_01JD8Z4Q0000000000000000', stationId: 'TPE01', officerId: 'officer-7',
      applicationDate: '2026-11-23', name: '陳大文 CHEN, Da-Wen', arcMasked: '******5678', subscriberCode: 'K7m2Qx9P',
      fee: { currency: 'TWD', items: [{ code: 'card', label: 'IC card', amount: 250 }, { code: 'postage', label: 'Registered postage', amount: 28 }], total: 278 },
      paymentDeadline: '2026-12-08T15:59:59.000Z', portalUrl: 'https://portal.example.org',
    });
    writeFileSync(${JSON.stringify(join(dir, 'form.pdf'))}, pdf);`;
  // Run from elsewhere, so nothing resolves from the repository's node_modules by accident.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: tmpdir(),
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const text = spawnSync('pdftotext', ['-layout', '-enc', 'UTF-8', join(dir, 'form.pdf'), '-'], {
    encoding: 'utf8',
  });
  expect(text.stdout).toContain('K7m2Qx9P');
  expect(text.stdout).toContain('陳大文 CHEN, Da-Wen');
  expect(text.stdout).toContain('用戶代碼 Subscriber code');
}, 60_000);
