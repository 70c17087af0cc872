import { useSoftHsmConfig } from '../../shared/adapters/pkcs11/module.js';

/** Sets an environment variable where native code sees it (see `useSoftHsmConfig`). */
export const setNativeEnv = (name: string, value: string): void => {
  if (name === 'SOFTHSM2_CONF') {
    useSoftHsmConfig(value);
    return;
  }
  throw new Error(`setNativeEnv supports SOFTHSM2_CONF only, not ${name}`);
};
