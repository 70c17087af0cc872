import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { RouteSpec } from '../../functions/http/spec.js';
import { allRoutes } from '../../functions/routes.js';
import { arcNumber } from '../e2e/harness.js';
import { diffSnapshots } from '../faults/faulty.js';
import { applyAtCounter, login, type Order } from '../faults/flow.js';
import { startTestStack, type TestStack } from '../faults/stack.js';
import { type BadRequest, badRequests, type Operation } from './bad-input.js';
import { EXAMPLES, withRealCsrs } from './examples.js';

/**
 * Every route of the route table gets generated bad input, derived from openapi.json (itself generated
 * from the routes' zod schemas) next to one valid example request per route, with valid authentication
 * for the route's kind so that validation — not authentication — is what answers. For every request:
 * no 5xx; no stack trace or internal path in the body; every 4xx body is `{ error: { code, message,
 * field?, rule? } }`; a validation error names the field at fault; and nothing stored changed when the
 * request was refused (every stored item is read back by key before and after).
 *
 * Runs per route: FUZZ_RUNS (default 100). Replay a failure with FUZZ_SEED=<seed printed on failure>.
 */

const openapi = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
};
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

const ERROR_KEYS = ['code', 'message', 'field', 'rule'];
/** What must never reach a client: stack frames, source paths, module names, raw error classes. */
const LEAK =
  /\bat [\w.<>$]+ \(|\bat (file|node):|\/work\/|\/home\/|\/tmp\/|node_modules|\.ts:\d+|\.js:\d+:\d+|Error: .*\n\s+at |ECONNREFUSED|TypeError|ReferenceError|RangeError|SyntaxError|undefined is not|Cannot read propert/;

describe('fuzzing every route with bad input derived from the OpenAPI document', () => {
  let stack: TestStack;
  let tokens: Record<string, string>;
  let holder: Order;

  beforeAll(async () => {
    await withRealCsrs();
    stack = await startTestStack();
    holder = await applyAtCounter(stack, arcNumber(9_100_100), 'fuzz-holder@example.com');
    tokens = {
      officer: await stack.tokens.officer(),
      ops: await stack.tokens.ops(),
      'card-station': await stack.tokens.cardStation(),
      holder: await login(stack, holder),
    };
  }, 60_000);
  afterAll(() => stack?.stop());

  const operationOf = (r: RouteSpec): Operation => {
    const op = openapi.paths[r.path]?.[r.method.toLowerCase()];
    if (!op) throw new Error(`openapi.json has no ${r.method} ${r.path}: run npm run openapi`);
    return op;
  };

  it('has an example for every route, and every example passes the route’s own validation', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(allRoutes.map((r) => r.id).sort());
    for (const r of allRoutes) {
      const e = EXAMPLES[r.id]!;
      for (const [schema, value] of [
        [r.params, e.params ?? {}],
        [r.query, e.query ?? {}],
        [r.body, r.bodyKind === 'binary' ? undefined : e.body],
      ] as const) {
        if (!schema) continue;
        const parsed = schema.safeParse(value);
        expect({ route: r.id, ok: parsed.success, issues: parsed.error?.issues }).toEqual({
          route: r.id,
          ok: true,
          issues: undefined,
        });
      }
    }
  });

  /** encodeURIComponent, but a lone surrogate goes as U+FFFD (as a browser would send it) instead of throwing. */
  const encode = (v: string): string =>
    [...Buffer.from(v, 'utf8')]
      .map((b) =>
        /[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b))
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join('');

  const urlOf = (r: RouteSpec, c: BadRequest): string => {
    const path = r.path.replace(/\{(\w+)\+?\}/g, (_m, name: string) => {
      if (c.rawParams?.[name] !== undefined) return c.rawParams[name]!;
      const v = c.params[name] ?? '';
      // A greedy parameter keeps its slashes; any other is one encoded segment.
      return r.path.includes(`{${name}+}`) ? v.split('/').map(encode).join('/') : encode(v);
    });
    const q = c.query.length ? `?${new URLSearchParams(c.query).toString()}` : '';
    return `${stack.url}${path}${q}`;
  };

  const authorization = async (r: RouteSpec): Promise<string | undefined> => {
    if (r.auth === 'public' || r.auth === 'gateway') return undefined;
    // Logging out ends the session: a fresh one per request.
    if (r.id === 'portal.deleteSession') return login(stack, holder);
    return tokens[r.auth];
  };

  for (const route of allRoutes) {
    it(`${route.id}: ${route.method} ${route.path} (${route.auth})`, async () => {
      const op = operationOf(route);
      const property = fc.asyncProperty(badRequests(op, EXAMPLES[route.id]!), async (c) => {
        const token = await authorization(route);
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (c.contentType !== undefined) headers['content-type'] = c.contentType;
        const before = await stack.store.snapshot();
        let res: Response;
        try {
          res = await fetch(urlOf(route, c), {
            method: route.method,
            headers,
            ...(c.body !== undefined && route.method !== 'GET' ? { body: c.body } : {}),
            signal: AbortSignal.timeout(10_000),
          });
        } catch (e) {
          throw new Error(`no answer (${(e as Error).message}) for ${c.class} case "${c.what}"`);
        }
        const text = await res.text();
        const where = `${c.class} case "${c.what}" → ${res.status} ${text.slice(0, 300)}`;

        if (res.status >= 500) throw new Error(`5xx for ${where}`);
        if (LEAK.test(text)) throw new Error(`internal detail in the body for ${where}`);
        if (c.class === 'violation' && res.status < 400)
          throw new Error(`a request the OpenAPI document rules out was accepted: ${where}`);
        if (res.status < 400) return;

        let body: { error?: Record<string, unknown> };
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error(`a 4xx without a JSON error body: ${where}`);
        }
        const e = body.error;
        if (
          !e ||
          Object.keys(body).length !== 1 ||
          typeof e.code !== 'string' ||
          typeof e.message !== 'string'
        )
          throw new Error(`error body not { error: { code, message } }: ${where}`);
        const extra = Object.keys(e).filter((k) => !ERROR_KEYS.includes(k));
        if (extra.length) throw new Error(`error body has ${extra.join(', ')}: ${where}`);
        if (e.code === 'validation_failed') {
          if (typeof e.field !== 'string' || !e.field)
            throw new Error(`a validation error names no field: ${where}`);
          if (!c.fields.includes(e.field))
            throw new Error(`field "${e.field}" is not the one at fault (${c.fields.join(' | ')}): ${where}`);
          if (typeof e.rule !== 'string' || !e.rule)
            throw new Error(`a validation error names no rule: ${where}`);
        }
        const changed = diffSnapshots(before, await stack.store.snapshot());
        if (changed.length)
          throw new Error(`a refused request changed stored items (${changed.join(', ')}): ${where}`);
      });
      const seed = SEED ?? Math.floor(Math.random() * 2 ** 31);
      try {
        await fc.assert(property, { numRuns: RUNS, seed, endOnFailure: true });
      } catch (err) {
        const cause = (err as { cause?: Error }).cause?.message;
        throw new Error(
          `${route.id}: replay with FUZZ_SEED=${seed}\n${cause ? `${cause}\n` : ''}${(err as Error).message}`,
        );
      }
    }, 60_000);
  }
});
