import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../shared/logger.js';

/**
 * The card personalization bureau on the local machine: the `card-station` agent runs as its own
 * process (its own SoftHSM token folder of cards, no CA key in reach), talks to the local API over HTTP
 * with a card-station token like a real bureau, and is restarted if it dies.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = ['--import', 'tsx', 'card-station/cli.ts'];
const TOKEN_COMMAND = `"${process.execPath}" --import tsx scripts/token.ts card-station --sub bureau-1`;

export interface LocalCardStationOptions {
  stateDir: string;
  apiUrl: string;
  logger: Logger;
  /** Echo the agent's output lines, prefixed (npm start); tests keep them quiet. */
  echo?: boolean;
  pollSeconds?: number;
}

const agentEnv = (o: LocalCardStationOptions) => ({
  ...process.env,
  STATE_DIR: o.stateDir,
  CARD_STATION_API_URL: o.apiUrl,
  CARD_STATION_TOKEN_COMMAND: TOKEN_COMMAND,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  // The CA's token folder must never leak into the bureau's process.
  SOFTHSM2_CONF: '',
});

const pipe = (child: ChildProcess, o: LocalCardStationOptions) => {
  if (!o.echo) return;
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) process.stdout.write(`[card-station] ${l}\n`);
    });
  }
};

/** Runs one card-station command to the end (e.g. `enroll --count 10`). */
export const runCardStationCommand = (o: LocalCardStationOptions, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: agentEnv(o), stdio: 'pipe' });
    let output = '';
    const collect = (c: Buffer) => {
      output += c.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    pipe(child, o);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`card-station ${args[0]} exited with ${code}: ${output.slice(-2000)}`)),
    );
  });

/** Keeps `card-station run` going until stopped; restarts it (after a pause) if it exits. */
export const superviseCardStation = (o: LocalCardStationOptions): { stop(): Promise<void> } => {
  let child: ChildProcess | undefined;
  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;
  const start = () => {
    child = spawn(process.execPath, [...CLI, 'run', '--poll', String(o.pollSeconds ?? 2)], {
      cwd: ROOT,
      env: agentEnv(o),
      stdio: 'pipe',
    });
    pipe(child, o);
    child.on('exit', (code, signal) => {
      if (stopped) return;
      o.logger.warn('card station agent exited; restarting in 5 s', { code, signal });
      restartTimer = setTimeout(start, 5000);
      restartTimer.unref();
    });
  };
  start();
  return {
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
        setTimeout(() => c.kill('SIGKILL'), 5000).unref();
      });
    },
  };
};
