import { runInThisContext } from 'node:vm';

/**
 * SoftHSM reads SOFTHSM2_CONF with getenv() at C_Initialize. Inside a jest test file `process.env` is
 * a sandbox copy that never reaches the native environment, so setting it there silently leaves SoftHSM
 * on the system-wide token folder. The real process object is the one of the main V8 context.
 */
export const setNativeEnv = (name: string, value: string): void => {
  const real = runInThisContext('process') as NodeJS.Process;
  real.env[name] = value;
  process.env[name] = value;
};
