/**
 * How every Lambda bundle is built, as plain data: the function construct (infra/constructs/function.ts)
 * hands these to NodejsFunction, and bench/bundles.ts hands the very same options to esbuild's API, so
 * the sizes the benchmark prints are the sizes that get deployed. No CDK import here on purpose.
 */

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
  /** Chinese card-holder texts stay readable in the bundle (and smaller than \u escapes). */
  charset: 'utf8' as const,
};
