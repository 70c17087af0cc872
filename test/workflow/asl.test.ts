import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ISSUANCE_TASKS } from '../../functions/workflow/handlers.js';
import { ISSUANCE_DEFINITION_URL, substitutePlaceholders } from '../../shared/workflow/local-engine.js';

// asl-validator 4 is CommonJS without type declarations: `validator(definition, options?)`.
type AslValidator = (
  definition: unknown,
  opts?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: { message: string }[] };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

interface State {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; Payload?: Record<string, unknown> };
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Next?: string;
  Choices?: { Next: string }[];
  Default?: string;
}

const text = readFileSync(ISSUANCE_DEFINITION_URL, 'utf8');
const load = () => JSON.parse(text) as { StartAt: string; States: Record<string, State> };
const validate = (def: unknown, opts?: Parameters<AslValidator>[1]) =>
  aslValidator(structuredClone(def), opts);

describe('statemachines/issuance.asl.json', () => {
  it('is valid ASL for asl-validator, with the CDK placeholders and once they are substituted', () => {
    const raw = validate(load());
    expect(raw.errors).toEqual([]);
    expect(raw.isValid).toBe(true);
    const substituted = JSON.parse(substitutePlaceholders(text));
    expect(validate(substituted, { checkArn: true, checkPaths: true }).isValid).toBe(true);
  });

  it('is rejected by the same validator when a transition points nowhere (the check can fail)', () => {
    const broken = load();
    broken.States.AllocateCard!.Next = 'NoSuchState';
    expect(validate(broken).isValid).toBe(false);
  });

  it('uses JSONPath only: no QueryLanguage, Assign, Output, Arguments or {% JSONata %} anywhere', () => {
    const found: string[] = [];
    const walk = (v: unknown, at: string) => {
      if (typeof v === 'string' && v.trim().startsWith('{%')) found.push(at);
      if (v && typeof v === 'object')
        for (const [k, inner] of Object.entries(v)) {
          if (['QueryLanguage', 'Assign', 'Output', 'Arguments'].includes(k)) found.push(`${at}.${k}`);
          walk(inner, `${at}.${k}`);
        }
    };
    walk(load(), '$');
    expect(found).toEqual([]);
  });

  it('invokes a function per task through FunctionArn placeholders, naming the task in the payload', () => {
    const tasks = Object.entries(load().States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(8);
    const named = new Set<unknown>();
    for (const [name, s] of tasks) {
      expect([name, s.Resource]).toEqual([
        name,
        expect.stringMatching(/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/),
      ]);
      expect([name, s.Parameters?.FunctionName]).toEqual([
        name,
        expect.stringMatching(/^\$\{[A-Za-z]+FunctionArn\}$/),
      ]);
      expect(ISSUANCE_TASKS).toContain(s.Parameters?.Payload?.task);
      expect(s.Parameters?.Payload?.['applicationId.$']).toBe('$.applicationId');
      named.add(s.Parameters?.Payload?.task);
    }
    expect([...named].sort()).toEqual([...ISSUANCE_TASKS].sort());
  });

  it('has Retry and Catch on every task, and a timeout on every task (the local engine defaults to 60 s)', () => {
    for (const [name, s] of Object.entries(load().States).filter(([, st]) => st.Type === 'Task')) {
      expect({ name, hasRetry: (s.Retry?.length ?? 0) > 0 }).toEqual({ name, hasRetry: true });
      expect({ name, catchesAll: !!s.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')) }).toEqual({
        name,
        catchesAll: true,
      });
      expect({ name, timeout: s.TimeoutSeconds ?? s.TimeoutSecondsPath }).toEqual({
        name,
        timeout: expect.anything(),
      });
    }
  });

  it('retries by the error names of shared/errors.ts and sends every other error to MarkFailed', () => {
    const states = load().States;
    for (const [name, s] of Object.entries(states).filter(
      ([n, st]) => st.Type === 'Task' && n !== 'MarkFailed',
    )) {
      const retried = s.Retry!.flatMap((r) => r.ErrorEquals);
      expect([name, retried]).toEqual([
        name,
        expect.arrayContaining(['VersionConflictError', 'DependencyError']),
      ]);
      expect([name, retried]).toEqual([
        name,
        expect.not.arrayContaining(['States.ALL', 'States.TaskFailed']),
      ]);
      const last = s.Catch![s.Catch!.length - 1]!;
      expect([name, last]).toEqual([
        name,
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MarkFailed' },
      ]);
    }
  });

  it('waits for payment until the deadline with a TimeoutSecondsPath that resolves the same in AWS and locally', () => {
    const states = load().States;
    const wait = states.AwaitPayment!;
    expect(wait.Resource).toMatch(/\.waitForTaskToken$/);
    expect(wait.TimeoutSecondsPath).toBe('$.Payload.secondsUntilDeadline');
    // The same path in the raw state input (AWS) and in the effective input after Parameters (local).
    expect(wait.Parameters?.Payload?.['secondsUntilDeadline.$']).toBe('$.Payload.secondsUntilDeadline');
    expect(wait.Parameters?.Payload?.['taskToken.$']).toBe('$$.Task.Token');
    expect(wait.Catch![0]).toMatchObject({
      ErrorEquals: ['States.Timeout', 'PaymentWindowClosed'],
      Next: 'PurgeUnpaid',
    });
    for (const name of ['QueueCardJob', 'AwaitMailing']) {
      expect(states[name]!.Resource).toMatch(/\.waitForTaskToken$/);
      expect(states[name]!.TimeoutSeconds).toBeGreaterThan(86_400);
    }
  });
});
