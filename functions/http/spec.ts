import type { z } from 'zod';

/**
 * A route of the public contract, as data: the CDK app (API Gateway routes, authorizers), the local
 * server, the OpenAPI document and the fuzz tests all read the same specs, so they cannot drift.
 * Specs carry no handler code (CDK must not import handlers); handlers are bound by `id` in
 * `functions/<area>/handlers.ts`.
 */

/** Who may call a route, i.e. which authorizer guards it. */
export type Auth =
  | 'public' // anyone (relying parties, the public query, health)
  | 'holder' // a card holder's short-lived session token (checked by the function)
  | 'officer' // station officer JWT with a station id claim (JWT authorizer)
  | 'ops' // customer service / operations JWT (JWT authorizer)
  | 'card-station' // card personalization bureau machine identity (JWT authorizer)
  | 'gateway'; // the payment gateway's signed callback (MAC checked by the function)

/**
 * The Lambda function that serves a route. One function per trust area, so that each gets only the
 * permissions its routes need (only `pki-signer`-side code touches a CA key; the public API never
 * reaches station routes).
 */
export type ApiFunction =
  | 'health'
  | 'station'
  | 'portal'
  | 'payments'
  | 'query'
  | 'cardstation'
  | 'ops'
  | 'pki';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** How the request body is read before validation. */
export type BodyKind = 'json' | 'form' | 'binary' | 'none';

export interface RouteSpec {
  /** Stable operation id, `<function>.<verbNoun>`, also the OpenAPI operationId. */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway style path with `{param}` segments. */
  readonly path: string;
  readonly auth: Auth;
  readonly fn: ApiFunction;
  readonly summary: string;
  readonly bodyKind?: BodyKind;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly params?: z.ZodType;
  /** Documented responses: status → description (and an optional schema of the JSON body). */
  readonly responses: Readonly<
    Record<number, { description: string; schema?: z.ZodType; contentType?: string }>
  >;
}

/** Keeps literal types of a spec while checking it against RouteSpec. */
export const route = <const S extends RouteSpec>(spec: S): S => spec;

/** `POST /v1/x/{id}` — the API Gateway route key. */
export const routeKey = (spec: Pick<RouteSpec, 'method' | 'path'>): string => `${spec.method} ${spec.path}`;
