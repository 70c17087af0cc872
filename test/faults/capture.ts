/**
 * Captures everything the process writes while a test runs: process.stdout / process.stderr (where the
 * Powertools logger's own Console writes its JSON lines) and the global console (jest's). The lines are
 * kept and not echoed, so a test can read every log line afterwards.
 */
export interface Capture {
  lines: string[];
  restore(): void;
}

export const captureOutput = (): Capture => {
  const lines: string[] = [];
  const keep = (chunk: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    for (const l of text.split('\n')) if (l.trim()) lines.push(l);
  };
  const out = process.stdout.write;
  const err = process.stderr.write;
  const swallow = ((chunk: unknown) => {
    keep(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = swallow;
  process.stderr.write = swallow;
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods)
    console[m] = (...args: unknown[]) =>
      keep(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  return {
    lines,
    restore() {
      process.stdout.write = out;
      process.stderr.write = err;
      methods.forEach((m, i) => {
        console[m] = saved[i]!;
      });
    },
  };
};
