import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { allRoutes } from '../functions/routes.js';
import { API_FUNCTIONS, TASK_FUNCTIONS } from '../infra/catalog.js';
import type { SecretKeys } from '../shared/ports/secrets.js';
import type { Signer } from '../shared/ports/signer.js';
import { ISSUANCE_DEFINITION_URL } from '../shared/workflow/local-engine.js';

/**
 * What one card costs in AWS, counted on the local stack, which runs the same handlers, the same ASL and
 * the same repository code as AWS: every DynamoDB request the document client sends (with dynalite's
 * consumed capacity, plus the index writes DynamoDB would add), every state the workflow enters (Step
 * Functions bills state transitions, retries included), every Lambda invocation (API routes through a
 * counting proxy, workflow tasks from the engine's event log), every would-be KMS call (CA signatures,
 * HMACs, seal/open) and every mail (SES). Prices are list prices, written next to the figure.
 */

type DynamoSender = Pick<DynamoDBClient, 'send'>;

type Attrs = Parameters<typeof unmarshall>[0];
/** A low-level request or response with its items, keys and values as plain objects (as recordDynamo reads them). */
const plain = (r: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...r };
  for (const k of ['Item', 'Key', 'ExpressionAttributeValues'] as const)
    if (r[k]) out[k] = unmarshall(r[k] as Attrs);
  if (Array.isArray(r.Items)) out.Items = (r.Items as Attrs[]).map((i) => unmarshall(i));
  return out;
};

export interface DynamoCounts {
  calls: Record<string, number>;
  /** Requests by command and what they touch (entity written, key prefix read, index queried). */
  byKind: Record<string, number>;
  /** Read request units: dynalite's ConsumedCapacity of Get/Query (strongly consistent gets: 1 per 4 KB). */
  rru: number;
  /** Write request units of the table (dynalite: the larger of the old and new item, per KB). */
  wruTable: number;
  /** Index writes DynamoDB adds (an item entering, changing key in, or leaving each GSI). */
  wruIndexes: number;
}

export interface Counts {
  dynamo: DynamoCounts;
  /** Would-be KMS requests by operation. */
  kms: Record<string, number>;
  /** Lambda invocations by function name, and their wall time (ms) here. */
  lambda: Record<string, { invocations: number; ms: number; memoryMb: number }>;
  /** Step Functions: states entered + retries (what Standard workflows bill). */
  transitions: number;
  /** API Gateway requests (every API route call). */
  apiRequests: number;
  mails: number;
}

const emptyCounts = (): Counts => ({
  dynamo: { calls: {}, byKind: {}, rru: 0, wruTable: 0, wruIndexes: 0 },
  kms: {},
  lambda: {},
  transitions: 0,
  apiRequests: 0,
  mails: 0,
});

const add = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

const GSIS = ['GSI1', 'GSI2', 'GSI3', 'GSI4', 'GSI5'] as const;

/** DynamoDB item size as DynamoDB counts it (attribute names + values), close enough for units. */
export const itemBytes = (item: Record<string, unknown>): number => {
  const size = (v: unknown): number => {
    if (v === null || v === undefined) return 1;
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (typeof v === 'number') return Math.ceil(String(v).replace(/^-/, '').replace('.', '').length / 2) + 1;
    if (typeof v === 'boolean') return 1;
    if (v instanceof Uint8Array) return v.byteLength;
    if (Array.isArray(v)) return 3 + v.reduce((n: number, x) => n + size(x) + 1, 0);
    if (typeof v === 'object')
      return 3 + Object.entries(v as object).reduce((n, [k, x]) => n + Buffer.byteLength(k) + size(x) + 1, 0);
    return 8;
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + size(v), 0);
};

const benchOwn = new AsyncLocalStorage<true>();

/** Runs the benchmark's own reads (waiting for a status) without counting them as the product's. */
export const uncounted = <T>(work: () => Promise<T>): Promise<T> => benchOwn.run(true, work);

/**
 * After the counted cards: an AsyncLocalStorage in use keeps Node's promise hooks on for every promise
 * the stack makes (a few % of its CPU), which the load tests that follow must not pay for.
 */
export const stopAttributing = (): void => benchOwn.disable();

export interface Recorder {
  readonly counts: Counts;
  enabled: boolean;
  reset(): void;
  snapshot(): Counts;
  /** Executions of the workflow still running (their transitions are still coming). */
  readonly runningExecutions: number;
  dynamoClient(client: DynamoSender): void;
  signer(s: Signer): Signer;
  secrets(s: SecretKeys): SecretKeys;
  /** An API route call seen by the counting proxy. */
  apiCall(method: string, path: string, ms: number): void;
}

/**
 * A recorder whose wrappers the local stack installs (LocalStackOptions.instrument). Also patches the
 * workflow library's StateMachine.run in this process to read each execution's event log.
 */
export const createRecorder = (): Recorder => {
  let counts = emptyCounts();
  let running = 0;
  // GSI keys last seen per item (from reads and writes), to know what an index write does.
  const seen = new Map<string, Partial<Record<(typeof GSIS)[number], string>>>();
  const rec: Recorder = {
    get counts() {
      return counts;
    },
    enabled: true,
    reset() {
      counts = emptyCounts();
    },
    snapshot: () => JSON.parse(JSON.stringify(counts)) as Counts,
    get runningExecutions() {
      return running;
    },
    dynamoClient(client) {
      const send = client.send.bind(client) as (c: unknown, ...rest: unknown[]) => Promise<unknown>;
      (client as { send: unknown }).send = async (command: unknown, ...rest: unknown[]) => {
        const c = command as { constructor: { name: string }; input: Record<string, unknown> };
        // The repository sends the low-level commands (GetItem, PutItem, DeleteItem, Query).
        const name = c.constructor.name.replace(/Command$/, '').replace(/Item$/, '');
        const counted = rec.enabled && !benchOwn.getStore();
        if (counted) c.input.ReturnConsumedCapacity = 'TOTAL';
        const out = (await send(command, ...rest)) as Record<string, unknown>;
        if (counted) recordDynamo(name, plain(c.input), plain(out));
        return out;
      };
    },
    signer(s) {
      return {
        sign: async (key, tbs) => {
          if (rec.enabled) add(counts.kms, `Sign (${key.algorithm})`);
          return s.sign(key, tbs);
        },
        publicKey: async (key) => {
          // The KMS signer caches public keys per cold start; the PKCS#11 one checks once per CA too.
          if (rec.enabled) add(counts.kms, 'GetPublicKey');
          return s.publicKey(key);
        },
      };
    },
    secrets(s) {
      return {
        mac: async (purpose, data) => {
          if (rec.enabled) add(counts.kms, 'GenerateMac');
          return s.mac(purpose, data);
        },
        keyId: (purpose) => s.keyId(purpose),
        seal: async (plaintext, context) => {
          if (rec.enabled) add(counts.kms, 'Encrypt');
          return s.seal(plaintext, context);
        },
        open: async (sealed, context) => {
          if (rec.enabled) add(counts.kms, 'Decrypt');
          return s.open(sealed, context);
        },
      };
    },
    apiCall(method, path, ms) {
      if (!rec.enabled) return;
      const route = ROUTES.find((r) => r.method === method && r.regex.test(path));
      if (!route) return; // raw routes (sandbox gateway, JWKS): not API Gateway + Lambda in AWS
      counts.apiRequests++;
      lambda(route.fn, API_FUNCTIONS[route.fn as keyof typeof API_FUNCTIONS]?.memorySize ?? 512, ms);
      // Locally the application form is rendered in process; in AWS the station invokes the documents
      // function for it (its time is inside the station's here).
      if (route.id === 'station.applyAtCounter') lambda('documents', 1024, 0);
    },
  };

  const lambda = (name: string, memoryMb: number, ms: number) => {
    counts.lambda[name] ??= { invocations: 0, ms: 0, memoryMb };
    const l = counts.lambda[name];
    l.invocations++;
    l.ms += ms;
  };

  const recordDynamo = (name: string, input: Record<string, unknown>, out: Record<string, unknown>) => {
    const d = counts.dynamo;
    add(d.calls, name);
    const prefix = (v: unknown) => String(v ?? '?').split('#')[0];
    const what =
      name === 'Put'
        ? String(
            (input.Item as Record<string, unknown>)?.entity ??
              prefix((input.Item as Record<string, unknown>)?.PK),
          )
        : name === 'Query'
          ? `${String(input.IndexName ?? 'table')} ${prefix((input.ExpressionAttributeValues as Record<string, unknown>)?.[':pk'])}`
          : prefix((input.Key as Record<string, unknown>)?.PK);
    add(d.byKind, `${name} ${what}`);
    const units = (out.ConsumedCapacity as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0;
    const keyOf = (k: Record<string, unknown>) => `${String(k.PK)}|${String(k.SK)}`;
    const gsiOf = (item: Record<string, unknown> | undefined) => {
      const g: Partial<Record<(typeof GSIS)[number], string>> = {};
      for (const i of GSIS) if (item?.[`${i}PK`] !== undefined) g[i] = `${item[`${i}PK`]}|${item[`${i}SK`]}`;
      return g;
    };
    if (name === 'Get' || name === 'Query') {
      d.rru += units;
      const items = name === 'Get' ? [out.Item] : ((out.Items as unknown[]) ?? []);
      for (const item of items as (Record<string, unknown> | undefined)[]) {
        if (item?.PK !== undefined && !input.IndexName) seen.set(keyOf(item), gsiOf(item));
      }
      return;
    }
    d.wruTable += units;
    if (name === 'Put') {
      const item = input.Item as Record<string, unknown>;
      const key = keyOf(item);
      const before = seen.get(key) ?? {};
      const after = gsiOf(item);
      const projected = Math.max(1, Math.ceil(itemBytes(item) / 1024));
      for (const i of GSIS) {
        const [b, a] = [before[i], after[i]];
        if (a !== undefined) d.wruIndexes += i === 'GSI5' ? 1 : projected; // GSI5 projects 7 small attributes
        if (b !== undefined && a !== undefined && a !== b) d.wruIndexes += 1; // key changed: old entry deleted
        if (b !== undefined && a === undefined) d.wruIndexes += 1; // left the index
      }
      seen.set(key, after);
    } else if (name === 'Delete') {
      const key = keyOf(input.Key as Record<string, unknown>);
      for (const i of GSIS) if (seen.get(key)?.[i] !== undefined) d.wruIndexes += 1;
      seen.delete(key);
    }
  };

  patchStateMachine({
    onTransition: () => {
      if (rec.enabled) counts.transitions++;
    },
    onTask: (fn, memoryMb, ms) => {
      if (rec.enabled) lambda(fn, memoryMb, ms);
    },
    running: (delta) => {
      running += delta;
    },
  });
  return rec;
};

/** The route table's path templates as regular expressions (as the local server matches them). */
const compileRoute = (path: string): RegExp =>
  new RegExp(
    `^${path
      .split('/')
      .map((seg) => {
        const m = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(seg);
        if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        return m[2] ? '(.+)' : '([^/]+)';
      })
      .join('/')}$`,
  );

const ROUTES = allRoutes.map((spec) => ({
  id: spec.id,
  method: spec.method,
  fn: spec.fn,
  regex: compileRoute(spec.path),
}));

/** State name → the task function it invokes (from the ASL's `${XFunctionArn}` placeholders). */
const taskFunctions = (): Map<string, { fn: string; memoryMb: number }> => {
  const asl = JSON.parse(readFileSync(ISSUANCE_DEFINITION_URL, 'utf8')) as {
    States: Record<string, { Type: string; Parameters?: { FunctionName?: string } }>;
  };
  const out = new Map<string, { fn: string; memoryMb: number }>();
  for (const [name, s] of Object.entries(asl.States)) {
    const m = /^\$\{(\w+)FunctionArn\}$/.exec(s.Parameters?.FunctionName ?? '');
    if (s.Type === 'Task' && m) {
      const task = m[1] as keyof typeof TASK_FUNCTIONS;
      const needs = TASK_FUNCTIONS[task] as { memorySize?: number } | undefined;
      out.set(name, { fn: `task-${task}`, memoryMb: needs?.memorySize ?? 512 });
    }
  }
  return out;
};

let patched = false;

/**
 * aws-local-stepfunctions reports every execution's events (StateEntered, StateExited, StateRetried, …)
 * as an async generator on `run()`; the local engine does not read it, so a wrapper here does.
 */
const patchStateMachine = (hooks: {
  onTransition: () => void;
  onTask: (fn: string, memoryMb: number, ms: number) => void;
  running: (delta: number) => void;
}) => {
  if (patched) throw new Error('the state machine is instrumented once per process');
  patched = true;
  const tasks = taskFunctions();
  const run = StateMachine.prototype.run;
  StateMachine.prototype.run = function (this: StateMachine, ...args: Parameters<StateMachine['run']>) {
    const execution = run.apply(this, args);
    hooks.running(1);
    const entered = new Map<string, number>();
    void (async () => {
      try {
        for await (const e of execution.eventLogs) {
          const ev = e as { type: string; state?: { name: string }; timestamp?: number };
          if (ev.type === 'StateEntered' || ev.type === 'StateRetried') {
            hooks.onTransition();
            if (ev.state && tasks.has(ev.state.name)) entered.set(ev.state.name, performance.now());
          }
          if ((ev.type === 'StateExited' || ev.type === 'StateFailed') && ev.state) {
            const t = tasks.get(ev.state.name);
            const t0 = entered.get(ev.state.name);
            // A callback task's Lambda returns once it stored the token; the wait is not Lambda time.
            if (t && t0 !== undefined) hooks.onTask(t.fn, t.memoryMb, Math.min(performance.now() - t0, 1000));
            entered.delete(ev.state.name);
          }
        }
      } catch {
        // an aborted execution ends its log with an error; nothing to count
      } finally {
        hooks.running(-1);
      }
    })();
    return execution;
  } as StateMachine['run'];
};

// --- Prices -------------------------------------------------------------------------------------------

/**
 * List prices used for the cost per card. The deployment region is ap-east-2 (Asia Pacific (Taipei),
 * infra/config.ts default); its price list was not available where this benchmark was written, so these
 * are the US East (N. Virginia) list prices, which Asia Pacific regions match or exceed by up to ~25 %.
 */
export const PRICES = {
  region: 'us-east-1 list prices (ap-east-2 not published in the sources used; assume +0–25 %)',
  retrieved: '2026-11 (AWS pricing pages as stored; see each line)',
  stepFunctionsPerTransition: {
    usd: 0.025 / 1000,
    source: 'aws.amazon.com/step-functions/pricing: $0.025 per 1,000 state transitions (Standard)',
  },
  dynamoPerWru: {
    usd: 0.625 / 1e6,
    source: 'DynamoDB on-demand: $0.625 per million write request units (price cut of Nov 2024)',
  },
  dynamoPerRru: { usd: 0.125 / 1e6, source: 'DynamoDB on-demand: $0.125 per million read request units' },
  kmsSymmetric: {
    usd: 0.03 / 10_000,
    source: 'aws.amazon.com/kms/pricing: $0.03 per 10,000 requests (symmetric, HMAC)',
  },
  kmsAsymmetric: {
    usd: 0.15 / 10_000,
    source:
      'KMS asymmetric Sign: $0.15 per 10,000 requests ASSUMED (sources disagree: $0.03–0.15); the higher used',
  },
  lambdaPerRequest: { usd: 0.2 / 1e6, source: 'aws.amazon.com/lambda/pricing: $0.20 per million requests' },
  lambdaPerGbSecond: { usd: 0.0000166667, source: 'Lambda x86: $0.0000166667 per GB-second' },
  apiGatewayPerRequest: {
    usd: 1.0 / 1e6,
    source: 'API Gateway HTTP API: $1.00 per million requests (first 300 M)',
  },
  sesPerMail: { usd: 0.1 / 1000, source: 'SES: $0.10 per 1,000 e-mails' },
} as const;

export interface CostLine {
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

/** The cost of the counted calls at list prices, line by line. */
export const costOf = (c: Counts): CostLine[] => {
  const kmsSign = Object.entries(c.kms)
    .filter(([k]) => k.startsWith('Sign'))
    .reduce((n, [, v]) => n + v, 0);
  const kmsSym = (c.kms.GenerateMac ?? 0) + (c.kms.Encrypt ?? 0) + (c.kms.Decrypt ?? 0);
  const kmsPub = c.kms.GetPublicKey ?? 0;
  const invocations = Object.values(c.lambda).reduce((n, l) => n + l.invocations, 0);
  // Lambda bills duration rounded up to 1 ms, at the configured memory.
  const gbSeconds = Object.values(c.lambda).reduce((n, l) => n + (l.ms / 1000) * (l.memoryMb / 1024), 0);
  const wru = c.dynamo.wruTable + c.dynamo.wruIndexes;
  return [
    {
      item: 'Step Functions state transitions',
      quantity: c.transitions,
      unit: 'transitions',
      usd: c.transitions * PRICES.stepFunctionsPerTransition.usd,
    },
    {
      item: 'DynamoDB writes (table + indexes)',
      quantity: wru,
      unit: 'WRU',
      usd: wru * PRICES.dynamoPerWru.usd,
    },
    {
      item: 'DynamoDB reads',
      quantity: c.dynamo.rru,
      unit: 'RRU',
      usd: c.dynamo.rru * PRICES.dynamoPerRru.usd,
    },
    {
      item: 'KMS Sign (CA key)',
      quantity: kmsSign,
      unit: 'requests',
      usd: kmsSign * PRICES.kmsAsymmetric.usd,
    },
    {
      item: 'KMS GenerateMac / Encrypt / Decrypt',
      quantity: kmsSym,
      unit: 'requests',
      usd: kmsSym * PRICES.kmsSymmetric.usd,
    },
    {
      item: 'KMS GetPublicKey (cached per cold start in AWS)',
      quantity: kmsPub,
      unit: 'requests',
      usd: kmsPub * PRICES.kmsSymmetric.usd,
    },
    {
      item: 'Lambda requests',
      quantity: invocations,
      unit: 'invocations',
      usd: invocations * PRICES.lambdaPerRequest.usd,
    },
    {
      item: 'Lambda duration (local wall time, configured memory)',
      quantity: gbSeconds,
      unit: 'GB-s',
      usd: gbSeconds * PRICES.lambdaPerGbSecond.usd,
    },
    {
      item: 'API Gateway HTTP API requests',
      quantity: c.apiRequests,
      unit: 'requests',
      usd: c.apiRequests * PRICES.apiGatewayPerRequest.usd,
    },
    { item: 'SES e-mails', quantity: c.mails, unit: 'mails', usd: c.mails * PRICES.sesPerMail.usd },
  ];
};
