import { AppError } from '../../shared/errors.js';

/**
 * The callee's side of a synchronous call between functions (./remote.ts `invoke` is the caller's): the
 * answer carries the error taxonomy across. No AWS SDK and no composition root here, so a function that
 * only answers (the documents function) bundles neither.
 */

export type RemoteResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: { name: string; message: string } };

/** Runs `work` and answers in the RemoteResult shape (the callee side of `invoke`). */
export const answer = async <T>(work: () => Promise<T>): Promise<RemoteResult<T>> => {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    if (e instanceof AppError) return { ok: false, error: { name: e.name, message: e.message } };
    throw e;
  }
};
