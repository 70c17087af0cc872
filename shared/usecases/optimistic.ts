import type { Versioned } from '../domain/model.js';
import { VersionConflictError } from '../errors.js';

/** How many lost races a read-decide-write absorbs before the VersionConflictError goes to the caller. */
export const SAVE_ATTEMPTS = 6;

/**
 * Read-decide-write with optimistic concurrency: `decide` gets the current record and returns the record
 * to save, or null when nothing needs to change. A lost race re-reads and decides again, so every
 * decision is taken against what is stored; after `attempts` losses the VersionConflictError goes to the
 * caller (the workflow's Retry, or a 409). Returns undefined when the record does not exist.
 */
export const updateVersioned = async <T extends Versioned>(
  load: () => Promise<T | undefined>,
  decide: (current: T) => T | null,
  save: (next: T) => Promise<T>,
  attempts = SAVE_ATTEMPTS,
): Promise<T | undefined> => {
  for (let attempt = 1; ; attempt++) {
    const current = await load();
    if (!current) return undefined;
    const next = decide(current);
    if (!next) return current;
    try {
      return await save(next);
    } catch (e) {
      if (!(e instanceof VersionConflictError) || attempt >= attempts) throw e;
    }
  }
};
