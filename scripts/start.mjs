#!/usr/bin/env node
// `npm start`: make sure everything the local stack needs is installed, then run it (infra/local/main.ts).
// Plain JavaScript on purpose: it must run before `npm ci` has installed TypeScript tooling.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 20)) {
  console.error(`Node ${process.versions.node} is too old: install Node 20.20+ (or 22).`);
  process.exit(1);
}

const run = (cmd, args) => {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${cmd} failed (exit ${r.status}).`);
    process.exit(1);
  }
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// 1. System packages: SoftHSM (the CA's HSM and the cards), OpenSC (pkcs11-tool), OpenSSL, and the fonts
//    the application form (CJK) and the card face need.
const packages = [
  'softhsm2',
  'opensc',
  'openssl',
  'fonts-droid-fallback',
  'fonts-dejavu-core',
  'fonts-noto-cjk',
];
// dpkg-query's own format syntax, not a JS template.
const STATUS_FORMAT = ['-f=$', '{Status}'].join('');
const installed = (p) =>
  spawnSync('dpkg-query', ['-W', STATUS_FORMAT, p], { encoding: 'utf8' }).stdout?.includes(
    'install ok installed',
  );
const missing = has('dpkg-query')
  ? packages.filter((p) => !installed(p))
  : [
      ...(has('softhsm2-util') ? [] : ['softhsm2']),
      ...(has('pkcs11-tool') ? [] : ['opensc']),
      ...(has('openssl') ? [] : ['openssl']),
    ];
if (missing.length > 0) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  } else {
    console.error(
      `Missing system packages: ${missing.join(' ')}\nInstall them with: sudo apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
}

// 2. npm dependencies, when absent or older than the lock file.
const stamp = 'node_modules/.package-lock.json';
if (!existsSync(stamp) || statSync('package-lock.json').mtimeMs > statSync(stamp).mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 3. The web front end (web/dist), built when absent or older than any of its sources.
const newest = (dir) => {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const path = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
};
const built = 'web/dist/index.html';
if (!existsSync(built) || newest('web') > statSync(built).mtimeMs) run('npm', ['run', 'build:web']);

// 4. The stack itself. Signals are forwarded so Ctrl-C shuts it down cleanly.
const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
