/**
 * How every Lambda bundle is built, as plain data: the function construct (infra/constructs/function.ts)
 * hands these to NodejsFunction, and bench/bundles.ts hands the very same options to esbuild's API, so
 * the sizes the benchmark prints are the sizes that get deployed. No CDK import here on purpose.
 */

import { CJK_FONT_SOURCES, PDF_ASSET } from '../functions/aws/pdf.js';

/** Node major version of the Lambda runtime and of the esbuild target. */
export const NODE_MAJOR = 22;

/**
 * Some bundled dependencies are CommonJS and call `require('crypto')` and friends; inside an ESM bundle
 * esbuild turns those into a "Dynamic require is not supported" error unless a real `require` exists.
 */
export const REQUIRE_BANNER =
  "import { createRequire as __acdcCreateRequire } from 'node:module';const require = __acdcCreateRequire(import.meta.url);";

export const BUNDLE_OPTIONS = {
  platform: 'node' as const,
  target: `node${NODE_MAJOR}`,
  format: 'esm' as const,
  minify: true,
  sourcemap: true,
  /** The map is for stack traces (NODE_OPTIONS=--enable-source-maps), not for reading the sources. */
  sourcesContent: false,
  /**
   * Minifying renames classes, and the error taxonomy sets `name = new.target.name`: Step Functions
   * Retry/Catch and the HTTP edge match on those names, so they must survive.
   */
  keepNames: true,
  /** Prefer the ESM build of dual packages (smaller after tree shaking). */
  mainFields: ['module', 'main'],
  banner: REQUIRE_BANNER,
  /**
   * Bundle everything, the AWS SDK included: the runtime's SDK version drifts, ours is pinned and tested,
   * and a bundled, tree-shaken SDK client loads faster than the runtime's full copy.
   */
  external: [] as string[],
  /**
   * Packages swapped for a smaller equivalent in Lambda bundles (paths relative to the repository root):
   * fontkit's pure-JS Brotli decoder → Node's built-in zlib (functions/aws/shims/brotli).
   */
  alias: { brotli: './functions/aws/shims/brotli' } as Record<string, string>,
};

/**
 * Shell commands that put next to a bundle what a PDF-rendering function needs at run time (see
 * functions/aws/pdf.ts): pdfkit's standard fonts with a package.json `imports` map, and the CJK font.
 * Run by NodejsFunction's afterBundling hook, and by the bundle test. `cjkFont` is the source font file.
 */
export const pdfAssetCommands = (
  inputDir: string,
  outputDir: string,
  cjkFont: string | undefined,
): string[] => {
  const q = (p: string) => `'${p.replace(/'/g, "'\\''")}'`;
  const imports = JSON.stringify({
    imports: { '#standard-fonts/*': `./${PDF_ASSET.standardFontsDir}/*.cjs` },
  });
  return [
    `mkdir -p ${q(`${outputDir}/${PDF_ASSET.standardFontsDir}`)} ${q(`${outputDir}/fonts`)}`,
    `cp -R ${q(`${inputDir}/node_modules/pdfkit/js/standard-fonts`)}/. ${q(`${outputDir}/${PDF_ASSET.standardFontsDir}`)}/`,
    `printf '%s' ${q(imports)} > ${q(`${outputDir}/package.json`)}`,
    ...(cjkFont ? [`cp ${q(cjkFont)} ${q(`${outputDir}/${PDF_ASSET.cjkFont}`)}`] : []),
  ];
};

/** The first CJK font source present on this machine, if any. */
export const findCjkFontSource = (exists: (path: string) => boolean): string | undefined =>
  CJK_FONT_SOURCES.find((p) => exists(p));
