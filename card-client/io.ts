import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';

/**
 * How the card client talks to the holder: questions (secrets without echo) and lines of output.
 * Commands take an Io, so tests drive them with scripted answers and the CLI with the terminal.
 */
export interface Io {
  /** Ask one line. `secret`: the answer is not echoed (PIN, subscriber code). */
  ask(question: string, opts?: { secret?: boolean }): Promise<string>;
  print(line: string): void;
  /** Progress and warnings (stderr in the CLI), so `--json` output stays clean. */
  note(line: string): void;
}

/**
 * The terminal. On a TTY secrets are read with echo off; when stdin is a pipe (scripts, the demo), one
 * line is read per question, in order.
 */
export const createTerminalIo = (opts: { json?: boolean } = {}): Io & { close(): void } => {
  let muted = false;
  const output = new Writable({
    write(chunk, encoding, cb) {
      if (!muted) process.stderr.write(chunk, encoding as BufferEncoding);
      cb();
    },
  });
  let rl: Interface | undefined;
  const pending: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let ended = false;
  const lines = () => {
    if (rl) return rl;
    rl = createInterface({ input: process.stdin, output, terminal: process.stdin.isTTY === true });
    rl.on('line', (line) => {
      const w = waiting.shift();
      if (w) w(line);
      else pending.push(line);
    });
    rl.on('close', () => {
      ended = true;
      for (const w of waiting.splice(0)) w(undefined);
    });
    return rl;
  };
  return {
    ask: (question, o = {}) =>
      new Promise((resolve, reject) => {
        lines();
        process.stderr.write(question);
        muted = o.secret === true && process.stdin.isTTY === true;
        const done = (line: string | undefined) => {
          if (muted) process.stderr.write('\n');
          muted = false;
          if (line === undefined) reject(new Error(`no answer to "${question.trim()}" (stdin closed)`));
          else resolve(line.trim());
        };
        const first = pending.shift();
        if (first !== undefined) done(first);
        else if (ended) done(undefined);
        else waiting.push(done);
      }),
    print: (line) => {
      if (!opts.json) process.stdout.write(`${line}\n`);
    },
    note: (line) => process.stderr.write(`${line}\n`),
    close: () => rl?.close(),
  };
};

/** An Io for tests and scripts: answers in order, output collected. */
export const createScriptedIo = (
  answers: string[] = [],
): Io & { output: string[]; notes: string[]; asked: string[] } => {
  const queue = [...answers];
  const output: string[] = [];
  const notes: string[] = [];
  const asked: string[] = [];
  return {
    output,
    notes,
    asked,
    ask: async (question) => {
      asked.push(question.trim());
      const a = queue.shift();
      if (a === undefined) throw new Error(`no scripted answer for "${question.trim()}"`);
      return a;
    },
    print: (line) => output.push(line),
    note: (line) => notes.push(line),
  };
};
