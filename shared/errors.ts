/**
 * The one error taxonomy of the product. Domain code and adapters throw these; only the HTTP edge
 * (functions/http) maps them to status codes, and only the workflow maps them to Step Functions error
 * names (the class `name` is what a Retry/Catch matches, in AWS and in aws-local-stepfunctions alike).
 * Anything that is not an AppError is an internal fault: the edge answers 500 without details.
 */

export type ErrorCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'locked'
  | 'gone'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'dependency_unavailable'
  | 'internal';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string; rule?: string };
}

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  /** The request field at fault (dotted path in the request body, query or path). */
  readonly field: string | undefined;
  /** A stable identifier of the rule that failed, e.g. `arc.checksum`. */
  readonly rule: string | undefined;
  /** Whether a caller (the workflow) may retry the same operation unchanged. */
  readonly retryable: boolean = false;

  constructor(message: string, opts: { field?: string; rule?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.field = opts.field;
    this.rule = opts.rule;
    this.name = new.target.name;
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.rule !== undefined) error.rule = this.rule;
    return { error };
  }
}

/** Input breaks a rule. The message names the field and says what the rule is. */
export class ValidationError extends AppError {
  readonly code = 'validation_failed' as const;
  constructor(field: string, rule: string, message: string) {
    super(`${field}: ${message}`, { field, rule });
  }
}

export class AuthenticationError extends AppError {
  readonly code = 'unauthenticated' as const;
}

export class ForbiddenError extends AppError {
  readonly code = 'forbidden' as const;
}

export class NotFoundError extends AppError {
  readonly code = 'not_found' as const;
}

/** The request is well formed but the thing it acts on is not in a state that allows it. */
export class ConflictError extends AppError {
  readonly code = 'conflict' as const;
}

/** An entity moved from one state to another that its lifecycle does not allow. */
export class IllegalTransitionError extends ConflictError {
  constructor(
    readonly entity: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`${entity} cannot go from ${from} to ${to}`, { rule: `${entity}.transition` });
  }
}

/** Optimistic concurrency: somebody else wrote the record first. Safe to re-read and retry. */
export class VersionConflictError extends ConflictError {
  override readonly retryable = true;
  constructor(
    readonly entity: string,
    readonly key: string,
  ) {
    super(`${entity} ${key} was changed by someone else; reload and retry`, { rule: 'version' });
  }
}

/** A secret (subscriber code, PIN) is locked after too many failures. HTTP 423. */
export class LockedError extends AppError {
  readonly code = 'locked' as const;
}

/** The thing existed but is gone for good (purged order, revoked certificate). */
export class GoneError extends AppError {
  readonly code = 'gone' as const;
}

export class RateLimitedError extends AppError {
  readonly code = 'rate_limited' as const;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, { rule: 'rate_limit' });
  }
}

/** A dependency (HSM, KMS, database, mailer, gateway) failed or timed out. Retryable. */
export class DependencyError extends AppError {
  readonly code = 'dependency_unavailable' as const;
  override readonly retryable = true;
}

/** A broken invariant inside the product. Never shown to a caller beyond "internal error". */
export class InternalError extends AppError {
  readonly code = 'internal' as const;
}

export const httpStatusOf = (e: AppError): number => {
  switch (e.code) {
    case 'validation_failed':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'gone':
      return 410;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'locked':
      return 423;
    case 'rate_limited':
      return 429;
    case 'dependency_unavailable':
      return 503;
    case 'internal':
      return 500;
  }
};

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
