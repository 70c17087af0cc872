import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { InternalError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { ApplicationStore } from '../ports/repository.js';
import type { Workflow } from '../ports/workflow.js';

/**
 * The Workflow port in process: runs statemachines/issuance.asl.json with aws-local-stepfunctions and the
 * task handlers of functions/workflow, so the embedded default runs the very same definition as AWS.
 *
 * What the library lacks and this adapter adds:
 * - `Promise.withResolvers` on Node 20 (the library calls it in every Task state);
 * - `.waitForTaskToken`: each callback task gets a fresh token through the context object
 *   (`$$.Task.Token`), its handler stores it on the record, and the task waits on a parked promise that
 *   `sendTaskSuccess` / `sendTaskFailure` settle. Unknown or finished tokens are ignored, as in AWS.
 * - restart safety: executions live in memory only, so `resumeAll()` starts one execution for every
 *   application that the repository shows as unpaid or paid-but-not-mailed. The tasks are idempotent and
 *   the first state reads the record, so a re-attached execution simply continues where the record is,
 *   storing a new token (tokens of the previous process are unknown here and ignored).
 */

// aws-local-stepfunctions 3 calls Promise.withResolvers (Node ≥ 22); without it every Task state fails
// with a TypeError that a `Catch: States.ALL` would silently route to the catcher.
type Resolvers<T> = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void };
const promiseCtor = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
promiseCtor.withResolvers ??= <T>(): Resolvers<T> => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};
const withResolvers = <T>(): Resolvers<T> => promiseCtor.withResolvers!<T>();

type JsonObject = Record<string, unknown>;
/** A task handler gets the state's `Payload` (`{ task, applicationId, taskToken?, … }`). */
export type LocalTaskHandler = (payload: unknown) => Promise<JsonObject>;
export type LocalTaskHandlers = Record<string, LocalTaskHandler>;

export const ISSUANCE_DEFINITION_URL = new URL('../../statemachines/issuance.asl.json', import.meta.url);

export interface LocalWorkflowOptions {
  /**
   * Handlers by task name (the `task` field of each state's Payload), e.g. from
   * `createIssuanceTaskHandlers`. Pass a function to receive this engine first: callback handlers need
   * the Workflow to resume an execution themselves.
   */
  handlers: LocalTaskHandlers | ((workflow: Workflow) => LocalTaskHandlers);
  /** Finds the applications to re-attach in `resumeAll` (an index query per status, never a scan). */
  applications: Pick<ApplicationStore, 'listByStatus'>;
  /** The ASL text (with `${Placeholders}`); default: statemachines/issuance.asl.json. */
  definitionText?: string;
  /** Values for `${Name}` placeholders; any placeholder not given becomes `local-<Name>`. */
  substitutions?: Record<string, string>;
  /** Milliseconds a retrier waits, per state name (tests: 0). See aws-local-stepfunctions. */
  retryIntervalOverrides?: Record<string, number | number[]>;
  /**
   * Milliseconds after which a callback state (by name) times out with States.Timeout instead of its
   * TimeoutSeconds / TimeoutSecondsPath. For tests and demos; never changes what the tasks decide.
   */
  callbackTimeoutOverridesMs?: Record<string, number>;
  /** Statuses re-attached by `resumeAll`, and how many of each (the index is read oldest first). */
  resumeStatuses?: readonly string[];
  resumeBatchSize?: number;
  logger?: Logger;
}

export interface ExecutionOutcome {
  applicationId: string;
  status: 'succeeded' | 'failed' | 'aborted';
  output?: unknown;
  /** Error name of a failed execution, e.g. `IssuanceFailed` (a Fail state) or a task error name. */
  error?: string;
  cause?: string;
}

interface Execution {
  applicationId: string;
  context: { Execution: { Name: string; Id: string }; Task: { Token: string } };
  aborted: boolean;
  abort: () => void;
  done: Promise<ExecutionOutcome>;
  parkedToken?: string;
}

interface Parked {
  execution: Execution;
  stateName: string;
  resolve: (output: unknown) => void;
  reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
}

interface ParkListener {
  applicationId: string;
  stateName?: string;
  resolve: (stateName: string) => void;
  reject: (e: Error) => void;
}

const DEFAULT_RESUME_STATUSES = ['awaiting_payment', 'paid', 'issued', 'personalized'] as const;

/** An error whose `name` is the Step Functions error name (what Retry / Catch match). */
const namedError = (name: string, message: string): Error => {
  const e = new Error(message);
  e.name = name;
  return e;
};

/** JSON round trip: what crosses a Lambda or SendTaskSuccess boundary (undefined members dropped). */
const json = <T>(v: T): T => (v === undefined ? (v as T) : (JSON.parse(JSON.stringify(v)) as T));

/** Replaces `${Name}` placeholders, as CDK's definitionSubstitutions does. */
export const substitutePlaceholders = (text: string, values: Record<string, string> = {}): string =>
  text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, name: string) =>
    JSON.stringify(values[name] ?? `local-${name}`).slice(1, -1),
  );

/**
 * The library validates a definition (asl-validator, about half a second) in every StateMachine
 * constructor. A StateMachine holds no execution state, so one per definition text serves every engine.
 */
const machines = new Map<string, StateMachine>();
const machineFor = (text: string, definition: StateMachineDefinition): StateMachine => {
  let machine = machines.get(text);
  if (!machine) {
    machine = new StateMachine(definition);
    machines.set(text, machine);
  }
  return machine;
};

export class LocalWorkflow implements Workflow {
  private readonly machine: StateMachine;
  private readonly definition: StateMachineDefinition;
  private readonly handlers: LocalTaskHandlers;
  private readonly executions = new Map<string, Execution>();
  private readonly parked = new Map<string, Parked>();
  private listeners: ParkListener[] = [];
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: LocalWorkflowOptions) {
    const text = opts.definitionText ?? readFileSync(ISSUANCE_DEFINITION_URL, 'utf8');
    const substituted = substitutePlaceholders(text, opts.substitutions);
    this.definition = JSON.parse(substituted) as StateMachineDefinition;
    this.machine = machineFor(substituted, this.definition);
    this.handlers = typeof opts.handlers === 'function' ? opts.handlers(this) : opts.handlers;
    this.log = opts.logger ?? createLogger('workflow-local');
  }

  async startIssuance(applicationId: string): Promise<void> {
    if (this.stopped) throw new InternalError('the local workflow engine is stopped');
    if (this.executions.has(applicationId)) return; // one live execution per application
    const execution: Execution = {
      applicationId,
      context: {
        Execution: { Name: applicationId, Id: `local:${applicationId}:${randomUUID()}` },
        Task: { Token: this.newToken(applicationId) },
      },
      aborted: false,
      abort: () => {},
      done: Promise.resolve({ applicationId, status: 'aborted' }),
    };
    const run = this.machine.run(
      { applicationId },
      {
        overrides: {
          taskResourceLocalHandlers: this.localHandlersFor(execution),
          ...(this.opts.retryIntervalOverrides
            ? { retryIntervalOverrides: this.opts.retryIntervalOverrides }
            : {}),
        },
        context: execution.context,
        noThrowOnAbort: true,
      },
    );
    execution.abort = run.abort;
    execution.done = run.result.then(
      (output): ExecutionOutcome =>
        execution.aborted
          ? { applicationId, status: 'aborted' }
          : { applicationId, status: 'succeeded', output },
      (e: unknown): ExecutionOutcome => {
        const cause = (e as { cause?: unknown }).cause;
        const inner = cause instanceof Error ? cause : e instanceof Error ? e : undefined;
        return {
          applicationId,
          status: execution.aborted ? 'aborted' : 'failed',
          error: inner?.name ?? 'Error',
          cause: inner?.message ?? String(e),
        };
      },
    );
    this.executions.set(applicationId, execution);
    void execution.done.then((outcome) => {
      if (this.executions.get(applicationId) === execution) this.executions.delete(applicationId);
      this.dropParked(execution);
      this.endListeners(applicationId, outcome);
      const level = outcome.status === 'failed' ? 'error' : 'info';
      this.log[level]('issuance execution ended', {
        applicationId,
        status: outcome.status,
        error: outcome.error,
        cause: outcome.cause,
      });
    });
  }

  async sendTaskSuccess(taskToken: string, output: Record<string, unknown>): Promise<void> {
    this.settle(taskToken, (p) => p.resolve(json(output ?? {})));
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    this.settle(taskToken, (p) => p.reject(namedError(error, cause)));
  }

  /**
   * Re-attaches an execution for every application the repository shows as in progress (after a restart
   * of the process). Returns the ids it started; applications with a live execution are left alone.
   */
  async resumeAll(): Promise<string[]> {
    const started: string[] = [];
    const batch = this.opts.resumeBatchSize ?? 10_000;
    for (const status of this.opts.resumeStatuses ?? DEFAULT_RESUME_STATUSES) {
      const apps = await this.opts.applications.listByStatus(status as never, batch);
      if (apps.length >= batch)
        this.log.warn('resumeAll: more applications in progress than one batch; the rest resume next start', {
          status,
          batch,
        });
      for (const app of apps) {
        if (this.executions.has(app.id)) continue;
        await this.startIssuance(app.id);
        started.push(app.id);
      }
    }
    if (started.length) this.log.info('re-attached issuance executions', { count: started.length });
    return started;
  }

  /** Aborts every execution and forgets every token (process shutdown, tests). */
  async stop(): Promise<void> {
    this.stopped = true;
    const running = [...this.executions.values()];
    for (const execution of running) {
      execution.aborted = true;
      this.dropParked(execution);
      execution.abort();
    }
    await Promise.allSettled(running.map((e) => e.done));
    for (const l of this.listeners) l.reject(new Error('the local workflow engine stopped'));
    this.listeners = [];
  }

  isRunning(applicationId: string): boolean {
    return this.executions.has(applicationId);
  }

  /** The outcome of the application's live execution (undefined when none is running). */
  settled(applicationId: string): Promise<ExecutionOutcome> | undefined {
    return this.executions.get(applicationId)?.done;
  }

  /** The callback state the application's execution is parked in, if it is waiting for a token. */
  waitingIn(applicationId: string): string | undefined {
    const token = this.executions.get(applicationId)?.parkedToken;
    return token ? this.parked.get(token)?.stateName : undefined;
  }

  /**
   * Resolves (with the state name) once the application's execution is parked waiting for a token, in
   * `stateName` if given. Resolves at once when it already is; rejects if the execution ends first.
   */
  waitForCallback(applicationId: string, stateName?: string): Promise<string> {
    const now = this.waitingIn(applicationId);
    if (now && (!stateName || now === stateName)) return Promise.resolve(now);
    if (!this.executions.has(applicationId))
      return Promise.reject(new Error(`no execution is running for application ${applicationId}`));
    return new Promise((resolve, reject) =>
      this.listeners.push({ applicationId, stateName, resolve, reject }),
    );
  }

  // -------------------------------------------------------------------------------------------------------

  private newToken(applicationId: string): string {
    return `local:${applicationId}:${randomUUID()}`;
  }

  private localHandlersFor(execution: Execution): Record<string, (input: unknown) => Promise<never>> {
    const out: Record<string, (input: unknown) => Promise<never>> = {};
    const visit = (states: StateMachineDefinition['States']) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') {
          const callback = state.Resource.endsWith('.waitForTaskToken');
          out[name] = ((input: unknown) =>
            callback ? this.runCallback(execution, name, input) : this.runTask(execution, input)) as (
            input: unknown,
          ) => Promise<never>;
        } else if (state.Type === 'Parallel') {
          for (const b of state.Branches) visit(b.States);
        } else if (state.Type === 'Map') {
          const inner = state.ItemProcessor ?? state.Iterator;
          if (inner) visit(inner.States);
        }
      }
    };
    visit(this.definition.States);
    return out;
  }

  private handlerFor(
    execution: Execution,
    input: unknown,
  ): { payload: JsonObject; handler: LocalTaskHandler } {
    // After an abort the library still re-runs a state whose retry back-off was cut short: refuse.
    if (execution.aborted || this.stopped) throw namedError('ExecutionAborted', 'the execution was stopped');
    // The previous callback task of this execution (if any) is over, whichever way it ended.
    this.dropParked(execution);
    const payload = ((input as { Payload?: unknown })?.Payload ?? input) as JsonObject;
    const task = String(payload?.task ?? '');
    const handler = this.handlers[task];
    if (!handler) throw new InternalError(`no local handler for workflow task "${task}"`);
    return { payload, handler };
  }

  /** A plain `lambda:invoke` task: the handler's result comes back as `$.Payload`, as in AWS. */
  private async runTask(execution: Execution, input: unknown): Promise<unknown> {
    const { payload, handler } = this.handlerFor(execution, input);
    return { Payload: json(await handler(json(payload))) };
  }

  /** A `.waitForTaskToken` task: park first, then let the handler store the token (or resume at once). */
  private async runCallback(execution: Execution, stateName: string, input: unknown): Promise<unknown> {
    const { payload, handler } = this.handlerFor(execution, input);
    const token = String(payload.taskToken ?? '');
    if (!token)
      throw new InternalError(`state ${stateName} passes no taskToken ($$.Task.Token) to its handler`);
    // The next callback state of this execution gets a token of its own.
    execution.context.Task.Token = this.newToken(execution.applicationId);

    const { promise, resolve, reject } = withResolvers<unknown>();
    const entry: Parked = { execution, stateName, resolve, reject };
    this.parked.set(token, entry);
    execution.parkedToken = token;
    try {
      await handler(json(payload));
    } catch (e) {
      this.forget(token);
      throw e;
    }
    if (this.parked.get(token) === entry) {
      const ms = this.opts.callbackTimeoutOverridesMs?.[stateName];
      if (ms !== undefined)
        entry.timer = setTimeout(
          () => this.settle(token, (p) => p.reject(namedError('States.Timeout', `${stateName} timed out`))),
          ms,
        );
      this.notifyParked(execution.applicationId, stateName);
    }
    return promise;
  }

  private settle(token: string, how: (p: Parked) => void): void {
    const entry = this.parked.get(token);
    if (!entry) {
      this.log.debug('task token unknown or already used; ignored');
      return;
    }
    this.forget(token);
    how(entry);
  }

  private forget(token: string): void {
    const entry = this.parked.get(token);
    if (!entry) return;
    this.parked.delete(token);
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.execution.parkedToken === token) entry.execution.parkedToken = undefined;
  }

  /**
   * Forgets the execution's parked token. If the task is still waiting on it (abort), its promise is
   * rejected so that the library's own task timer is cleared instead of keeping the process alive.
   */
  private dropParked(execution: Execution): void {
    const token = execution.parkedToken;
    if (!token) return;
    const entry = this.parked.get(token);
    this.forget(token);
    if (entry && execution.aborted) entry.reject(namedError('ExecutionAborted', 'the execution was stopped'));
    else entry?.reject(namedError('States.TaskFailed', 'the task is over'));
  }

  private endListeners(applicationId: string, outcome: ExecutionOutcome): void {
    const ended = this.listeners.filter((l) => l.applicationId === applicationId);
    if (!ended.length) return;
    this.listeners = this.listeners.filter((l) => !ended.includes(l));
    const why = outcome.error ? ` (${outcome.error}: ${outcome.cause})` : '';
    for (const l of ended) l.reject(new Error(`the execution ended ${outcome.status}${why}`));
  }

  private notifyParked(applicationId: string, stateName: string): void {
    const ready = this.listeners.filter(
      (l) => l.applicationId === applicationId && (!l.stateName || l.stateName === stateName),
    );
    if (!ready.length) return;
    this.listeners = this.listeners.filter((l) => !ready.includes(l));
    for (const l of ready) l.resolve(stateName);
  }
}

export const createLocalWorkflow = (opts: LocalWorkflowOptions): LocalWorkflow => new LocalWorkflow(opts);
