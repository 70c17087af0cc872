import { brotliDecompressSync } from 'node:zlib';

/**
 * Stands in for the `brotli` package's pure-JS decoder (`brotli/decompress.js`, ~480 KB minified) in
 * Lambda bundles: fontkit (under pdfkit) uses it only for WOFF2 fonts, and Node has Brotli built in.
 * Wired by the bundler alias in infra/bundling.ts; local runs and tests use the package itself.
 */
export default function decompress(buffer: Uint8Array, _outputSize?: number): Uint8Array {
  const out = brotliDecompressSync(buffer);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
