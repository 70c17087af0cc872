import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDF_ASSET } from '../../functions/aws/pdf.js';
import { findCjkFontSource } from '../../infra/bundling.js';

/**
 * `npx cdk synth` exactly as a fresh clone runs it: the pinned CLI (aws-cdk 2.1148.1), no version check,
 * no notices, no network at all (in a network namespace of its own when `unshare -n` works here), every
 * function bundled by the local esbuild. One synthesis for the whole test run; the assertions read its
 * cloud assembly: exit 0, cdk-nag (AwsSolutions) with zero open findings and a reason on every
 * acknowledgement, and bundles that load.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STACKS = ['Keys', 'Data', 'Mail', 'Waf', 'PkiRepository', 'Workflow', 'Api', 'Edge', 'Ops'].map(
  (s) => `Acdc-${s}`,
);

let outdir: string;
let run: { status: number | null; stdout: string; stderr: string; offline: boolean };

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'acdc-cdk-'));
  const offline = spawnSync('unshare', ['-n', 'true']).status === 0;
  const cdk = [
    join(ROOT, 'node_modules', '.bin', 'cdk'),
    'synth',
    '--quiet',
    '--no-notices',
    '--output',
    outdir,
  ];
  const [cmd, ...args] = offline ? ['unshare', '-n', ...cdk] : cdk;
  const r = spawnSync(cmd!, args, {
    cwd: ROOT,
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CI: 'true' },
    encoding: 'utf8',
    timeout: 280_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  run = {
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
    offline,
  };
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

interface Violation {
  ruleName: string;
  acknowledgedId?: string;
  reason?: string;
  violatingConstructs?: { constructPath?: string }[];
}
interface PluginReport {
  pluginName: string;
  conclusion: string;
  violations: Violation[];
  suppressedViolations?: Violation[];
}

const report = (): PluginReport[] =>
  (
    JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: PluginReport[];
    }
  ).pluginReports;

test('cdk synth exits 0, offline, and writes every stack', () => {
  if (run.status !== 0) console.error(`${run.stdout}\n${run.stderr}`.split('\n').slice(-60).join('\n'));
  expect(run.status).toBe(0);
  for (const stack of STACKS) expect(existsSync(join(outdir, `${stack}.template.json`))).toBe(true);
  expect(`${run.stdout}${run.stderr}`).not.toMatch(/notices\.json|cli\.cdk\.dev-tools|ENOTFOUND|EAI_AGAIN/);
});

test('cdk-nag (AwsSolutions) has no open finding, and every acknowledgement says why', () => {
  const nag = report().find((p) => p.pluginName === 'AwsSolutions');
  expect(nag).toBeDefined();
  expect(nag!.violations.map((v) => `${v.ruleName} ${v.violatingConstructs?.[0]?.constructPath}`)).toEqual(
    [],
  );
  expect(nag!.conclusion).toBe('success');
  const acknowledged = nag!.suppressedViolations ?? [];
  expect(acknowledged.length).toBeGreaterThan(0);
  for (const a of acknowledged) {
    expect([a.ruleName, a.acknowledgedId?.startsWith('AwsSolutions::')]).toEqual([a.ruleName, true]);
    expect([a.ruleName, (a.reason ?? '').trim().length >= 30]).toEqual([a.ruleName, true]);
  }
});

test("CDK's CloudFormation validation finds nothing CloudFormation or a service would reject", () => {
  const cfn = report().find((p) => p.pluginName === 'CloudFormation Validate');
  expect(cfn).toBeDefined();
  expect(cfn!.violations.map((v) => `${v.ruleName} ${v.violatingConstructs?.[0]?.constructPath}`)).toEqual(
    [],
  );
});

test('no acknowledgement is a silent no-op (an AwsSolutions id recorded as an annotation)', () => {
  const metadata = readdirSync(outdir)
    .filter((f) => f.endsWith('.metadata.json'))
    .map((f) => readFileSync(join(outdir, f), 'utf8'))
    .join('\n');
  expect(metadata).not.toMatch(/"Annotation::AwsSolutions-/);
});

test('every function bundle loads as an ES module (nothing runs at import, no missing module)', () => {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string }>;
  };
  expect(Object.keys(manifest.artifacts).length).toBeGreaterThan(STACKS.length);
  const bundles = readdirSync(outdir)
    .filter((d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.mjs')))
    .map((d) => join(outdir, d, 'index.mjs'));
  expect(bundles.length).toBeGreaterThanOrEqual(20);
  const script = `const files = ${JSON.stringify(bundles)};
    const bad = [];
    for (const f of files) { try { const m = await import(f); if (typeof m.handler !== 'function') bad.push(f + ': no handler'); } catch (e) { bad.push(f + ': ' + e.message); } }
    console.log(JSON.stringify(bad));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual([]);
});

test('the documents bundle, and no other, carries what the PDF form needs at run time', () => {
  const template = JSON.parse(readFileSync(join(outdir, 'Acdc-Api.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
  };
  const fn = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('DocumentsFunction'),
  );
  expect(fn).toBeDefined();
  const hash = /^([0-9a-f]{64})\.zip$/.exec(fn![1].Properties.Code?.S3Key ?? '')?.[1];
  expect(hash).toBeDefined();
  const documents = join(outdir, `asset.${hash}`);
  const withFonts = readdirSync(outdir)
    .map((d) => join(outdir, d))
    .filter((d) => existsSync(join(d, PDF_ASSET.standardFontsDir)));
  expect(withFonts).toEqual([documents]);
  const pkg = JSON.parse(readFileSync(join(documents, 'package.json'), 'utf8')) as {
    imports: Record<string, string>;
  };
  expect(pkg.imports['#standard-fonts/*']).toBe(`./${PDF_ASSET.standardFontsDir}/*.cjs`);
  expect(existsSync(join(documents, PDF_ASSET.standardFontsDir, 'Helvetica.cjs'))).toBe(true);
  expect(existsSync(join(documents, PDF_ASSET.cjkFont))).toBe(findCjkFontSource(existsSync) !== undefined);
});
