import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { allRoutes } from '../functions/routes.js';
import { BUNDLE_OPTIONS } from '../infra/bundling.js';
import { deploymentEntries } from '../infra/catalog.js';
import { report } from './lib.js';

/**
 * Lambda bundle sizes: every function of the deployment (infra/catalog.ts deploymentEntries) bundled
 * with esbuild and the very options the CDK function construct uses (infra/bundling.ts), minified.
 * Prints one line per bundle, largest first, with what weighs most inside it; prints a FAIL line and
 * exits 1 when the largest bundle is 1 MB or more (cold starts grow with the code Lambda must load).
 *
 *   npx tsx bench/bundles.ts            (npm run bench runs it too)
 */

export const LIMIT_BYTES = 1024 * 1024;
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BundleSize {
  name: string;
  entry: string;
  bytes: number;
  gzipBytes: number;
  /** The heaviest packages (or project folders) in the bundle, bytes each. */
  heaviest: [string, number][];
}

const packageOf = (input: string): string => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m ? m[1]! : input.split('/').slice(0, 2).join('/');
};

export const bundleSize = async (name: string, entry: string): Promise<BundleSize> => {
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    outfile: `out/${name}/index.mjs`,
    platform: BUNDLE_OPTIONS.platform,
    target: BUNDLE_OPTIONS.target,
    format: BUNDLE_OPTIONS.format,
    minify: BUNDLE_OPTIONS.minify,
    sourcemap: BUNDLE_OPTIONS.sourcemap,
    sourcesContent: BUNDLE_OPTIONS.sourcesContent,
    keepNames: BUNDLE_OPTIONS.keepNames,
    mainFields: BUNDLE_OPTIONS.mainFields,
    banner: { js: BUNDLE_OPTIONS.banner },
    external: BUNDLE_OPTIONS.external,
    alias: BUNDLE_OPTIONS.alias,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'))!;
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint)!;
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const p = packageOf(input);
    byPackage.set(p, (byPackage.get(p) ?? 0) + bytesInOutput);
  }
  return {
    name,
    entry,
    bytes: js.contents.byteLength,
    gzipBytes: gzipSync(js.contents).byteLength,
    heaviest: [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 4),
  };
};

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

export const main = async (): Promise<number> => {
  const entries = deploymentEntries(allRoutes);
  const started = performance.now();
  const sizes: BundleSize[] = [];
  // Two at a time: esbuild is fast, and the machine may be busy with tests.
  for (let i = 0; i < entries.length; i += 2) {
    sizes.push(...(await Promise.all(entries.slice(i, i + 2).map((e) => bundleSize(e.name, e.entry)))));
  }
  sizes.sort((a, b) => b.bytes - a.bytes);
  console.log(
    `Lambda bundles (minified ESM, ${BUNDLE_OPTIONS.target}, AWS SDK bundled): ${sizes.length} functions`,
  );
  for (const s of sizes) {
    const heavy = s.heaviest.map(([p, b]) => `${p} ${kb(b)}`).join(', ');
    console.log(
      `  ${s.name.padEnd(26)} ${kb(s.bytes).padStart(8)}  (gzip ${kb(s.gzipBytes).padStart(6)})  ${heavy}`,
    );
  }
  const total = sizes.reduce((n, s) => n + s.bytes, 0);
  console.log(`  total ${kb(total)}, built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const largest = sizes[0];
  // For npm run bench (bench/index.ts): the largest bundle against the limit.
  report({
    part: 'bundles',
    figure: `largest Lambda bundle (${largest?.name ?? '-'}, of ${sizes.length})`,
    value: (largest?.bytes ?? 0) / 1024,
    unit: 'KB',
    baseline: { label: 'limit', value: LIMIT_BYTES / 1024, unit: 'KB' },
    ratio: (largest?.bytes ?? 0) / LIMIT_BYTES,
    target: '< 1 MB minified',
    pass: (largest?.bytes ?? 0) < LIMIT_BYTES,
    note: `gzip ${kb(largest?.gzipBytes ?? 0)}; all ${sizes.length} functions ${kb(total)}`,
  });
  if (largest && largest.bytes >= LIMIT_BYTES) {
    console.log(
      `FAIL bundles: ${largest.name} is ${kb(largest.bytes)} minified, at or above the ${kb(LIMIT_BYTES)} limit`,
    );
    return 1;
  }
  console.log(`ok bundles: largest ${largest?.name ?? '-'} ${kb(largest?.bytes ?? 0)} < ${kb(LIMIT_BYTES)}`);
  return 0;
};

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`FAIL bundles: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
