import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The reference web front end (holder portal, public status query, station console): a static build in
 * `web/dist`, served by the local stack under `/` (infra/local/web.ts) and by S3 + CloudFront in AWS.
 * Preact through Oxc's automatic JSX runtime, so no framework plugin is needed.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    host: '127.0.0.1',
    // `npm run dev:web` against a running `npm start`: the API, sandbox gateway and local sign-in.
    proxy: Object.fromEntries(
      ['/v1', '/sandbox', '/local', '/pki', '/health', '/config.json'].map((p) => [
        p,
        process.env.ACDC_API_URL ?? 'http://127.0.0.1:8080',
      ]),
    ),
  },
});
