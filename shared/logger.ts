import { Logger } from '@aws-lambda-powertools/logger';
import { redactValue } from './redact.js';

/**
 * The one way to get a logger. Structured JSON (Powertools), with a replacer that redacts secrets by key
 * and masks ARC numbers in every string, so a careless `logger.info('x', { body })` cannot leak.
 */
export const createLogger = (serviceName: string): Logger =>
  new Logger({
    serviceName,
    jsonReplacerFn: (key: string, value: unknown) => redactValue(key, value),
  });

export type { Logger };
