#!/usr/bin/env node
/**
 * The npm registry this project is built against does not carry every platform binary of every package
 * (e.g. @biomejs/cli-darwin-arm64@2.6.8 is missing), so `npm install` leaves those optional dependencies out
 * of package-lock.json, and `npm ci` then refuses the lock as out of sync with package.json.
 *
 * This adds a lock entry for each optional dependency that no entry resolves, with the os / cpu / libc its
 * name says, so npm ci sees the lock as complete and skips the entry on this platform without fetching it.
 * Run it after every `npm install` that changes the lock:
 *
 *   node scripts/lock-platforms.mjs [package-lock.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';

const path = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

const OSES = ['android', 'darwin', 'win32', 'freebsd', 'openharmony', 'linux'];
const CPUS = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64'];

const platformOf = (name) => {
  const tokens = name.split('/').pop().split('-');
  const os = OSES.find((o) => tokens.includes(o));
  const cpu = CPUS.find((c) => tokens.includes(c));
  const libc = tokens.some((t) => t.startsWith('musl')) ? 'musl' : os === 'linux' ? 'glibc' : undefined;
  return { os, cpu, libc };
};

/** Node's resolution from a lock path: its own node_modules, then each ancestor's, then the root's. */
const resolves = (from, dep) => {
  let at = from;
  for (;;) {
    if (packages[`${at ? `${at}/` : ''}node_modules/${dep}`]) return true;
    if (!at) return false;
    const i = at.lastIndexOf('/node_modules/');
    at = i >= 0 ? at.slice(0, i) : '';
  }
};

const added = [];
for (const [key, meta] of Object.entries(packages)) {
  for (const [dep, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    if (resolves(key, dep)) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${dep} (optional dependency of ${key})`);
    packages[`node_modules/${dep}`] = {
      version: spec,
      cpu: [cpu],
      ...(meta.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      os: [os],
    };
    added.push(`${dep}@${spec}`);
  }
}

const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(path, `${JSON.stringify({ ...lock, packages: sorted }, null, 2)}\n`);
console.log(`${added.length} platform entries added${added.length ? `: ${added.join(', ')}` : ''}`);
