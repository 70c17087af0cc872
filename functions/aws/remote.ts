import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  type AppError,
  ConflictError,
  DependencyError,
  InternalError,
  NotFoundError,
  ValidationError,
} from '../../shared/errors.js';
import { config } from './deps.js';
import type { RemoteResult } from './remote-result.js';

export { answer, type RemoteResult } from './remote-result.js';

/**
 * One function calling another synchronously (lambda:InvokeFunction on that function only, granted by
 * infra/constructs/function.ts bindInvoke): the CRL job, the issuance signer, the documents function.
 * The callee answers `{ ok, value | error }` so the error taxonomy crosses the call; anything it throws
 * otherwise is a dependency failure on the caller's side.
 */

let client: LambdaClient | undefined;
const lambda = (): LambdaClient => {
  client ??= new LambdaClient({ region: config().AWS_REGION });
  return client;
};

/** The error names a remote function may answer with, rebuilt on this side (anything else: dependency). */
const rebuild = (name: string, message: string): AppError => {
  switch (name) {
    case 'ConflictError':
      return new ConflictError(message);
    case 'NotFoundError':
      return new NotFoundError(message);
    case 'ValidationError':
      return new ValidationError('request', 'remote.validation', message);
    case 'ForbiddenError':
      return new InternalError(`refused by the signer: ${message}`);
    default:
      return new DependencyError(`${name}: ${message}`);
  }
};

/** Calls another function synchronously and returns its value, or throws its error (rebuilt). */
export const invoke = async <T>(functionArn: string, payload: unknown): Promise<T> => {
  let out: { Payload?: Uint8Array; FunctionError?: string };
  try {
    out = await lambda().send(
      new InvokeCommand({
        FunctionName: functionArn,
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
  } catch (e) {
    throw new DependencyError(`invoking ${functionArn} failed`, { cause: e });
  }
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  if (out.FunctionError) throw new DependencyError(`${functionArn} failed: ${text.slice(0, 500)}`);
  const result = JSON.parse(text) as RemoteResult<T>;
  if (!result.ok) throw rebuild(result.error.name, result.error.message);
  return result.value;
};
