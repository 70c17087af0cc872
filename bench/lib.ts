import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

/**
 * What every part of `npm run bench` shares: the figure a part reports (one JSON line on stdout, picked up
 * by bench/index.ts), the machine description, child processes and small statistics.
 */

/** One line of the result table: a measured figure next to its physical baseline. */
export interface BenchFigure {
  part: string;
  figure: string;
  value: number;
  unit: string;
  baseline?: { label: string; value: number; unit: string };
  /** value ÷ baseline (or as the figure says); a share of the baseline's throughput, a multiple of its latency. */
  ratio?: number;
  /** What the figure must meet, in words, e.g. `≥ 0.80 × raw` or `p99 < 50 ms`. */
  target?: string;
  /** Whether the target is met; undefined when the figure has no target (informative). */
  pass?: boolean;
  note?: string;
}

export const FIGURE_PREFIX = 'BENCH_FIGURE ';

/** Reports a figure: a JSON line the orchestrator collects; a readable line for a person. */
export const report = (f: BenchFigure): void => {
  console.log(`${FIGURE_PREFIX}${JSON.stringify(f)}`);
};

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  load: number[];
  softhsm: string;
  openssl: string;
}

const tool = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    return 'unknown';
  }
};

export const machine = (): Machine => {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown CPU',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load: loadavg().map((l) => Math.round(l * 100) / 100),
    softhsm: tool('softhsm2-util', ['--version']),
    openssl: tool('openssl', ['version']),
  };
};

export const commit = (): string => {
  const sha = tool('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = tool('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  return dirty && dirty !== 'unknown' ? `${sha} (working tree has uncommitted changes)` : sha;
};

/** Runs a TypeScript file of this repo in a child process (tsx), streaming its output; resolves the exit code. */
export const runTs = (
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; onLine?: (line: string) => void } = {},
): Promise<number> =>
  new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [...(opts.nodeArgs ?? []), '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args],
      { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        opts.onLine?.(line);
        nl = buffered.indexOf('\n');
      }
    });
    child.on('exit', (code, signal) => {
      if (buffered) opts.onLine?.(buffered);
      resolve(code ?? (signal ? 128 : 1));
    });
  });

/**
 * Runs a command with no standard input (`openssl ocsp` without -url would wait on it); resolves its
 * output, rejects on a non-zero exit with its stderr.
 */
export const runCommand = (
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('exit', (code) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });

export const median = (xs: readonly number[]): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const percentile = (xs: readonly number[], p: number): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export const fmt = (x: number, digits = 1): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    : 'n/a';

export const mib = (bytes: number): number => bytes / 2 ** 20;

/** Command-line flag value (`--name value` or `--name=value`), for the parts' small option sets. */
export const flag = (name: string, fallback?: string): string | undefined => {
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
};

export const numberFlag = (name: string, fallback: number): number => {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, not ${v}`);
  return n;
};
