import fc from 'fast-check';

/**
 * Bad requests derived from a route's OpenAPI operation (openapi.json, generated from the route table's
 * zod schemas). Small and explicit on purpose: it walks the JSON Schema of the body, the path and the
 * query parameters next to a valid example request, and breaks ONE thing at a time, so the test knows
 * which field the 400 must name.
 *
 * Two classes of case:
 * - `violation`: breaks a constraint the OpenAPI document states (type, required, additionalProperties,
 *   maxLength/minLength, pattern, enum/const, minimum/maximum, minItems/maxItems), or the transport
 *   (malformed JSON, wrong content type, a body that is not an object, malformed percent-encoding).
 *   The API must refuse it with a 4xx, and a validation error must name one of `fields`.
 * - `junk`: a value of the documented type and length but arbitrary content (unicode, control characters,
 *   near misses of the pattern, injection strings, impossible dates). The API may accept or refuse it; it
 *   must never answer 5xx, and a validation error must name a field that exists in the request.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

export interface Operation {
  operationId: string;
  'x-auth': string;
  parameters?: { name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
}

/** A valid request of the route (checked against the zod schemas by the test). */
export interface Example {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

export interface BadRequest {
  class: 'violation' | 'junk';
  /** What was broken, for the failure message. */
  what: string;
  params: Record<string, string>;
  /** Path segments already encoded (a malformed escape is sent as it is). */
  rawParams?: Record<string, string>;
  query: [string, string][];
  contentType?: string;
  /** The body bytes as sent (undefined: no body). */
  body?: string | Uint8Array;
  /** A validation error must name one of these (violation: the broken field; junk: any field sent). */
  fields: string[];
}

type Path = (string | number)[];
const dotted = (p: Path, root: string): string => (p.length ? p.join('.') : root);

// ---------------------------------------------------------------------------------------------------------
// Values

const CONTROL_AND_TRICKY = [
  '\u0000',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u007f',
  '\u00a0',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ud800', // a lone surrogate
  '１', // full-width digit
  '٣', // Arabic-Indic digit
  'İ',
  'ß',
  '😀',
  '漢',
  ' ',
  '%',
  '/',
  '\\',
  '"',
  "'",
  '<',
  '$',
];

const INJECTIONS = [
  '',
  ' ',
  'null',
  'undefined',
  '0',
  '-1',
  'NaN',
  '1e309',
  '9'.repeat(40),
  '2030-02-30',
  '1990-13-01',
  '0000-00-00',
  '../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '<script>alert(1)</script>',
  "' OR '1'='1' --",
  `$${'{'}jndi:ldap://127.0.0.1/x}`, // a log4j lookup, spelled so that no linter takes it for a template
  '{{7*7}}',
  '__proto__',
  'constructor',
  '%00',
  'a\u0000b',
  '\r\nX-Injected: 1',
];

const trickyChar = fc.oneof(
  fc.constantFrom(...CONTROL_AND_TRICKY),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

/** A string near `base`: one character replaced, inserted or removed, or the case flipped. */
const nearMiss = (base: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .tuple(fc.nat({ max: Math.max(0, base.length - 1) }), trickyChar)
      .map(([i, c]) => base.slice(0, i) + c + base.slice(i + 1)),
    fc.tuple(fc.nat({ max: base.length }), trickyChar).map(([i, c]) => base.slice(0, i) + c + base.slice(i)),
    fc.nat({ max: Math.max(0, base.length - 1) }).map((i) => base.slice(0, i) + base.slice(i + 1)),
    fc.constant(base.toLowerCase()),
    fc.constant(base.toUpperCase()),
    fc.constant(` ${base}`),
    fc.constant(`${base}\n`),
  );

const junkString = (base: string, maxLength = 200): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.constantFrom(...INJECTIONS),
      fc.string({ unit: 'binary', maxLength: Math.min(maxLength, 64) }),
      fc.string({ unit: 'grapheme-composite', maxLength: Math.min(maxLength, 32) }),
      nearMiss(base),
    )
    .filter((s) => s.length <= maxLength);

const jsonTypeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v;

const typeAllows = (s: JsonSchema, v: unknown): boolean => {
  const t = jsonTypeOf(v);
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  if (types.length === 0) return s.oneOf || s.anyOf ? t === 'object' : true;
  return types.some((x) => x === t || (x === 'integer' && t === 'number' && Number.isInteger(v as number)));
};

const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 16 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.integer(), { maxKeys: 2 }),
);

/** A JSON value the schema's `type` does not allow. */
const wrongType = (s: JsonSchema): fc.Arbitrary<unknown> =>
  anyJson.filter(
    (v) => !typeAllows(s, v) || (s.type === 'integer' && typeof v === 'number' && !Number.isInteger(v)),
  );

/** Strings that break a string schema's stated constraints (none when it states none). */
/** A huge string: hundreds of kilobytes, yet under the 1 MB body limit once escaped in JSON. */
const hugeString = (min: number) =>
  fc.constantFrom('A', '漢', '\u0001').chain((ch) => {
    const bytes = Buffer.byteLength(JSON.stringify(ch)) - 2;
    const most = Math.floor(800_000 / bytes);
    return fc.integer({ min: Math.min(Math.max(min, 50_000), most), max: most }).map((n) => ch.repeat(n));
  });

const badStrings = (
  s: JsonSchema,
  base: string,
  opts: { emptyAllowed?: boolean; huge?: boolean } = {},
): fc.Arbitrary<string>[] => {
  const out: fc.Arbitrary<string>[] = [];
  if (s.maxLength !== undefined) {
    const max = s.maxLength;
    out.push(
      fc
        .tuple(fc.integer({ min: max + 1, max: max + 300 }), fc.constantFrom('a', '7', '漢', '\u0000', 'Z'))
        .map(([n, ch]) => ch.repeat(n)),
    );
    if (opts.huge !== false && max < 100_000) out.push(hugeString(max + 1));
  }
  // (A path parameter cannot be empty: the route would not match at all.)
  if (s.minLength !== undefined && s.minLength > (opts.emptyAllowed === false ? 1 : 0)) {
    const min = opts.emptyAllowed === false ? 1 : 0;
    out.push(
      fc.string({ minLength: min, maxLength: s.minLength - 1 }).filter((x) => [...x].length < s.minLength!),
    );
  }
  if (s.pattern !== undefined) {
    const re = new RegExp(s.pattern);
    // The API trims and upper-cases some identifiers (ARC number) before checking them: a value that only
    // differs by surrounding white space or letter case is a junk case, not a violation.
    const normalized = (x: string) => re.test(x.trim().toUpperCase()) || re.test(x.trim());
    out.push(
      fc
        .oneof(nearMiss(base), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(...INJECTIONS))
        .filter(
          (x) => !re.test(x) && !normalized(x) && (s.maxLength === undefined || x.length <= s.maxLength),
        ),
    );
  }
  const allowed = s.enum ?? (s.const !== undefined ? [s.const] : undefined);
  if (allowed) {
    out.push(
      fc
        .oneof(nearMiss(base), fc.string({ maxLength: 20 }), fc.constantFrom(...INJECTIONS))
        .filter((x) => !allowed.includes(x)),
    );
  }
  return out;
};

// ---------------------------------------------------------------------------------------------------------
// Walking a JSON body next to its schema

interface Slot {
  path: Path;
  schema: JsonSchema;
  value: unknown;
  /** Paths of the unions (oneOf) this slot sits in: a union's error may name the union instead. */
  unions: string[];
}

const variantOf = (s: JsonSchema, value: unknown): JsonSchema | undefined =>
  (s.oneOf ?? s.anyOf)?.find((v) =>
    Object.entries(v.properties ?? {}).every(
      ([k, p]) => p.const === undefined || (value as Record<string, unknown>)?.[k] === p.const,
    ),
  );

const slotsOf = (s: JsonSchema, value: unknown, path: Path = [], unions: string[] = []): Slot[] => {
  const here: Slot = { path, schema: s, value, unions };
  if (s.oneOf || s.anyOf) {
    const v = variantOf(s, value);
    return v ? [here, ...slotsOf(v, value, path, [...unions, dotted(path, 'body')]).slice(1)] : [here];
  }
  if (s.type === 'object' && s.properties && value && typeof value === 'object') {
    const children = Object.entries(s.properties)
      .filter(([k]) => k in (value as object))
      .flatMap(([k, p]) => slotsOf(p, (value as Record<string, unknown>)[k], [...path, k], unions));
    return [here, ...children];
  }
  if (s.type === 'array' && s.items && Array.isArray(value) && value.length > 0) {
    return [here, ...slotsOf(s.items, value[0], [...path, 0], unions)];
  }
  return [here];
};

const clone = <T>(v: T): T => structuredClone(v);

const setAt = (root: unknown, path: Path, v: unknown): unknown => {
  if (path.length === 0) return v;
  const copy = clone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  Object.defineProperty(cur, path.at(-1)!, {
    value: v,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
};

const deleteAt = (root: unknown, path: Path): unknown => {
  const copy = clone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  delete cur[path.at(-1)!];
  return copy;
};

const extraKey = (props: Record<string, JsonSchema>) =>
  fc
    .oneof(
      fc.constantFrom('__proto__', 'constructor', 'isAdmin', 'status', 'version', 'id', 'role', ''),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
    )
    .filter((k) => !(k in props));

/** Bad bodies for a JSON body schema, next to a valid example. */
const jsonBodyCases = (
  schema: JsonSchema,
  example: unknown,
): fc.Arbitrary<Omit<BadRequest, 'params' | 'query'>>[] => {
  const slots = slotsOf(schema, example);
  const fieldsOf = (slot: Slot, path: Path = slot.path) => [dotted(path, 'body'), ...slot.unions];
  const json = (v: unknown) => JSON.stringify(v);
  const violation = (what: string, body: unknown, fields: string[]) => ({
    class: 'violation' as const,
    what,
    contentType: 'application/json',
    body: json(body),
    fields,
  });
  const cases: fc.Arbitrary<Omit<BadRequest, 'params' | 'query'>>[] = [];
  for (const slot of slots) {
    const at = dotted(slot.path, 'body');
    cases.push(
      wrongType(slot.schema).map((v) =>
        violation(`${at}: wrong type`, setAt(example, slot.path, v), fieldsOf(slot)),
      ),
    );
    if (slot.schema.type === 'string' && typeof slot.value === 'string') {
      for (const bad of badStrings(slot.schema, slot.value))
        cases.push(
          bad.map((v) =>
            violation(`${at}: breaks its constraint`, setAt(example, slot.path, v), fieldsOf(slot)),
          ),
        );
      const junkMax = slot.schema.maxLength ?? 200;
      if (slot.schema.maxLength === undefined)
        cases.push(
          hugeString(1).map((v) => ({
            class: 'junk' as const,
            what: `${at}: a huge value`,
            contentType: 'application/json',
            body: json(setAt(example, slot.path, v)),
            fields: fieldsOf(slot),
          })),
        );
      cases.push(
        junkString(slot.value, junkMax).map((v) => ({
          class: 'junk' as const,
          what: `${at}: junk value`,
          contentType: 'application/json',
          body: json(setAt(example, slot.path, v)),
          fields: fieldsOf(slot),
        })),
      );
    }
    if (slot.schema.type === 'integer' || slot.schema.type === 'number') {
      const { minimum, maximum } = slot.schema;
      const out: fc.Arbitrary<number>[] = [];
      if (minimum !== undefined) out.push(fc.integer({ min: minimum - 1000, max: minimum - 1 }));
      if (maximum !== undefined && maximum < Number.MAX_SAFE_INTEGER)
        out.push(fc.integer({ min: maximum + 1, max: maximum + 1000 }));
      for (const o of out)
        cases.push(
          o.map((v) => violation(`${at}: out of range`, setAt(example, slot.path, v), fieldsOf(slot))),
        );
    }
    if (
      slot.schema.type === 'object' &&
      slot.schema.properties &&
      slot.value &&
      typeof slot.value === 'object'
    ) {
      const props = slot.schema.properties;
      for (const key of slot.schema.required ?? []) {
        if (!(key in (slot.value as object))) continue;
        cases.push(
          fc.constant(
            violation(
              `${dotted([...slot.path, key], 'body')}: missing`,
              deleteAt(example, [...slot.path, key]),
              fieldsOf(slot, [...slot.path, key]),
            ),
          ),
        );
      }
      if (slot.schema.additionalProperties === false) {
        cases.push(
          fc.tuple(extraKey(props), anyJson).map(([k, v]) =>
            violation(`${at}: extra field ${JSON.stringify(k)}`, setAt(example, [...slot.path, k], v), [
              // An empty key cannot be named: the object holding it is.
              k === '' ? at : dotted([...slot.path, k], 'body'),
              ...slot.unions,
            ]),
          ),
        );
      }
    }
    if (slot.schema.type === 'array' && Array.isArray(slot.value) && slot.value.length > 0) {
      const { minItems, maxItems } = slot.schema;
      if (minItems !== undefined && minItems > 0)
        cases.push(
          fc.constant(violation(`${at}: too few items`, setAt(example, slot.path, []), fieldsOf(slot))),
        );
      if (maxItems !== undefined)
        cases.push(
          fc.constant(
            violation(
              `${at}: too many items`,
              setAt(
                example,
                slot.path,
                Array.from({ length: maxItems + 1 }, () => slot.value![0 as never]),
              ),
              fieldsOf(slot),
            ),
          ),
        );
    }
  }
  // The transport: malformed JSON, a JSON value that is not an object, wrong or missing content types.
  const text = json(example);
  const malformed = fc
    .oneof(
      fc.nat({ max: text.length - 1 }).map((n) => text.slice(0, n)),
      fc
        .tuple(fc.nat({ max: text.length }), fc.constantFrom('\u0000', ',', '}', '"', "'", 'NaN', '\\'))
        .map(([i, c]) => text.slice(0, i) + c + text.slice(i)),
      fc.constantFrom(
        `\ufeff${text}`,
        `${text.slice(0, -1)},}`,
        text.replaceAll('"', "'"),
        `${text}${text}`,
        '{"a":1,"a":',
        '['.repeat(20_000),
        `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      ),
      fc.string({ unit: 'binary', maxLength: 50 }),
    )
    .filter((t) => {
      try {
        JSON.parse(t);
        return false;
      } catch {
        return true;
      }
    })
    .map((t) => ({
      class: 'violation' as const,
      what: 'malformed JSON',
      contentType: 'application/json',
      body: t,
      fields: ['body'],
    }));
  const notObject = fc.constantFrom('[]', '"x"', '0', 'null', 'true', '[{}]', `[${text}]`).map((t) => ({
    class: 'violation' as const,
    what: `body ${t.slice(0, 10)}`,
    contentType: 'application/json',
    body: t,
    fields: ['body'],
  }));
  const wrongContentType = fc
    .constantFrom(
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/jsonx',
      'application/json-patch+json',
      'json',
      '*/*',
      '',
    )
    .map((ct) => ({
      class: 'violation' as const,
      what: `content-type ${JSON.stringify(ct)}`,
      ...(ct ? { contentType: ct } : {}),
      body: ct ? text : new TextEncoder().encode(text),
      fields: ['content-type'],
    }));
  return [...cases, malformed, notObject, wrongContentType];
};

// ---------------------------------------------------------------------------------------------------------
// Path and query parameters

/** Length of the value percent-encoded in a URL (a long URL is refused by Node before any route). */
const encodedLength = (v: string): number =>
  [...Buffer.from(v, 'utf8')].reduce(
    (n, b) => n + (/[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)) ? 1 : 3),
    0,
  );

const PERCENT_MALFORMED = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', 'ok%'];

const paramCases = (
  op: Operation,
  example: Example,
): fc.Arbitrary<
  Omit<BadRequest, 'query' | 'body' | 'contentType'> & { params: Record<string, string> }
>[] => {
  const out: fc.Arbitrary<
    Omit<BadRequest, 'query' | 'body' | 'contentType'> & { params: Record<string, string> }
  >[] = [];
  for (const p of op.parameters ?? []) {
    if (p.in !== 'path') continue;
    const base = example.params?.[p.name] ?? 'x';
    const violate = badStrings(p.schema, base, { emptyAllowed: false, huge: false }).map((a) =>
      a
        .filter((v) => v.length > 0 && v !== '.' && v !== '..' && encodedLength(v) <= 12_000)
        .map((v) => ({
          class: 'violation' as const,
          what: `path ${p.name}: breaks its constraint`,
          params: { ...example.params, [p.name]: v },
          fields: [p.name],
        })),
    );
    out.push(...violate);
    out.push(
      junkString(base, p.schema.maxLength ?? 300)
        .filter((v) => v.length > 0 && v !== '.' && v !== '..')
        .map((v) => ({
          class: 'junk' as const,
          what: `path ${p.name}: junk`,
          params: { ...example.params, [p.name]: v },
          fields: [p.name],
        })),
    );
    out.push(
      fc.constantFrom(...PERCENT_MALFORMED).map((raw) => ({
        class: 'violation' as const,
        what: `path ${p.name}: malformed escape ${raw}`,
        params: { ...example.params },
        rawParams: { [p.name]: raw },
        fields: [p.name, 'path'],
      })),
    );
  }
  return out;
};

const INTEGER_NOT = ['abc', '1.5', '-1', '1e309', '0.0001', '--1', '1_000', 'Infinity', 'NaN', '[]'];

const queryCases = (
  op: Operation,
  example: Example,
): fc.Arbitrary<{
  class: 'violation' | 'junk';
  what: string;
  query: [string, string][];
  fields: string[];
}>[] => {
  const params = (op.parameters ?? []).filter((p) => p.in === 'query');
  if (params.length === 0) return [];
  const base = Object.entries(example.query ?? {});
  const names = params.map((p) => p.name);
  const out: fc.Arbitrary<{
    class: 'violation' | 'junk';
    what: string;
    query: [string, string][];
    fields: string[];
  }>[] = [];
  const withValue = (name: string, v: string) =>
    [...base.filter(([k]) => k !== name), [name, v]] as [string, string][];
  for (const p of params) {
    const exampleValue = example.query?.[p.name] ?? '';
    const bad: fc.Arbitrary<string>[] =
      p.schema.type === 'integer'
        ? [
            fc.constantFrom(...INTEGER_NOT.filter((v) => !/^\d+$/.test(v))),
            ...(p.schema.minimum !== undefined
              ? [fc.integer({ min: p.schema.minimum - 100, max: p.schema.minimum - 1 }).map(String)]
              : []),
            ...(p.schema.maximum !== undefined && p.schema.maximum < Number.MAX_SAFE_INTEGER
              ? [fc.integer({ min: p.schema.maximum + 1, max: p.schema.maximum + 10_000 }).map(String)]
              : []),
          ]
        : badStrings(p.schema, exampleValue, { huge: false });
    for (const b of bad)
      out.push(
        b.map((v) => ({
          class: 'violation' as const,
          what: `query ${p.name}: breaks its constraint`,
          query: withValue(p.name, v),
          fields: [p.name],
        })),
      );
    out.push(
      junkString(exampleValue, p.schema.maxLength ?? 200).map((v) => {
        const q = withValue(p.name, v);
        return {
          class: 'junk' as const,
          what: `query ${p.name}: junk`,
          query: q,
          fields: [...names, 'query'],
        };
      }),
    );
    if (p.required && base.some(([k]) => k === p.name))
      out.push(
        fc.constant({
          class: 'violation' as const,
          what: `query ${p.name}: missing`,
          query: base.filter(([k]) => k !== p.name),
          fields: [p.name],
        }),
      );
  }
  // An unknown parameter, and any combination of the known ones (some routes need exactly one).
  out.push(
    fc
      .string({ minLength: 1, maxLength: 10 })
      .filter((k) => !names.includes(k))
      .map((k) => ({
        class: 'violation' as const,
        what: `query: unknown ${JSON.stringify(k)}`,
        query: [...base, [k, '1']] as [string, string][],
        fields: [k],
      })),
  );
  out.push(
    fc
      .subarray(params)
      .chain((chosen) =>
        fc.tuple(
          ...chosen.map((p) =>
            junkString(example.query?.[p.name] ?? 'x', p.schema.maxLength ?? 200).map(
              (v) => [p.name, v] as [string, string],
            ),
          ),
        ),
      )
      // A parameter needed with (or instead of) another may be named although it was not sent.
      .map((q) => ({
        class: 'junk' as const,
        what: `query combination ${q.map(([k]) => k).join('+') || '(none)'}`,
        query: q,
        fields: [...names, 'query'],
      })),
  );
  // The same parameter twice.
  out.push(
    fc.constantFrom(...names).map((n) => ({
      class: 'junk' as const,
      what: `query ${n} twice`,
      query: [...base, [n, example.query?.[n] ?? 'x'], [n, example.query?.[n] ?? 'y']] as [string, string][],
      fields: [...names, 'query'],
    })),
  );
  return out;
};

// ---------------------------------------------------------------------------------------------------------

/** Every kind of bad request for one route, as one arbitrary (each kind equally likely). */
export const badRequests = (op: Operation, example: Example): fc.Arbitrary<BadRequest> => {
  const params = example.params ?? {};
  const query = Object.entries(example.query ?? {}) as [string, string][];
  const bodyContent = op.requestBody?.content ?? {};
  const [bodyType, bodySpec] = Object.entries(bodyContent)[0] ?? [];
  const exampleBody = (): Pick<BadRequest, 'body' | 'contentType'> =>
    bodyType === 'application/json' && example.body !== undefined
      ? { contentType: 'application/json', body: JSON.stringify(example.body) }
      : bodyType === 'application/x-www-form-urlencoded' && example.body !== undefined
        ? {
            contentType: bodyType,
            body: new URLSearchParams(example.body as Record<string, string>).toString(),
          }
        : {};

  const kinds: fc.Arbitrary<BadRequest>[] = [];
  if (bodyType === 'application/json' && bodySpec?.schema) {
    for (const c of jsonBodyCases(bodySpec.schema, example.body))
      kinds.push(c.map((b) => ({ ...b, params, query })));
  }
  if (bodyType === 'application/x-www-form-urlencoded' && bodySpec?.schema) {
    // A form body: names and values past their length, any bytes, and (valid shape) a forged callback.
    const s = bodySpec.schema;
    const keyMax = (s.propertyNames?.maxLength ?? 64) + 1;
    const valueMax = ((s.additionalProperties as JsonSchema | undefined)?.maxLength ?? 2000) + 1;
    const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
    kinds.push(
      fc.string({ minLength: keyMax, maxLength: keyMax + 50 }).map((k) => ({
        class: 'violation' as const,
        what: 'form: field name too long',
        params,
        query,
        contentType: bodyType,
        body: form({ ...(example.body as Record<string, string>), [k]: '1' }),
        fields: [k, 'body'],
      })),
      fc.integer({ min: valueMax, max: valueMax + 500 }).map((n) => ({
        class: 'violation' as const,
        what: 'form: value too long',
        params,
        query,
        contentType: bodyType,
        body: form({ ...(example.body as Record<string, string>), CheckMacValue: 'F'.repeat(n) }),
        fields: ['CheckMacValue', 'body'],
      })),
      fc.dictionary(fc.string({ maxLength: 20 }), junkString('1', 100), { maxKeys: 8 }).map((d) => ({
        class: 'junk' as const,
        what: 'form: forged fields',
        params,
        query,
        contentType: bodyType,
        body: form({ ...(example.body as Record<string, string>), ...d }),
        fields: ['body', ...Object.keys(d)],
      })),
      fc.uint8Array({ maxLength: 300 }).map((b) => ({
        class: 'junk' as const,
        what: 'form: any bytes',
        params,
        query,
        contentType: bodyType,
        body: b,
        fields: ['body'],
      })),
    );
  }
  if (bodyType === 'application/octet-stream') {
    kinds.push(
      fc
        .oneof(
          fc.uint8Array({ maxLength: 600 }),
          fc.constant(new Uint8Array(0)),
          fc.constant(new Uint8Array([0x30, 0x82, 0xff, 0xff])),
        )
        .map((b) => ({
          class: 'junk' as const,
          what: 'binary body: any bytes',
          params,
          query,
          contentType: 'application/ocsp-request',
          body: b,
          fields: ['body'],
        })),
    );
  }
  if (bodyType) {
    // Past the body limit (1 MB): a 400 naming the body, not a reset connection.
    kinds.push(
      fc.integer({ min: 1024 * 1024 + 2, max: 1024 * 1024 + 4096 }).map((n) => ({
        class: 'violation' as const,
        what: `a ${n}-byte body`,
        params,
        query,
        contentType: bodyType,
        body: bodyType === 'application/json' ? JSON.stringify({ pad: 'x'.repeat(n) }) : 'x'.repeat(n),
        fields: ['body'],
      })),
    );
  }
  for (const c of paramCases(op, example)) kinds.push(c.map((p) => ({ ...p, query, ...exampleBody() })));
  for (const c of queryCases(op, example)) kinds.push(c.map((q) => ({ ...q, params, ...exampleBody() })));
  // Inputs a route does not read at all (a body on a GET, an unknown query parameter where none are
  // documented) must change nothing and break nothing.
  if (!bodyType)
    kinds.push(
      fc
        .tuple(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.constantFrom('application/json', 'text/plain', 'application/xml'),
        )
        .map(([b, ct]) => ({
          class: 'junk' as const,
          what: 'a body this route does not take',
          params,
          query,
          contentType: ct,
          body: b,
          fields: ['body', 'content-type'],
        })),
    );
  if (!(op.parameters ?? []).some((p) => p.in === 'query'))
    kinds.push(
      fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), junkString('x', 50)).map(([k, v]) => ({
        class: 'junk' as const,
        what: 'a query parameter this route does not take',
        params,
        query: [...query, [k, v]] as [string, string][],
        ...exampleBody(),
        fields: [k, 'query'],
      })),
    );
  return fc.oneof(...kinds);
};
