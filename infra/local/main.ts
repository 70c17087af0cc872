import { loadConfig } from '../../shared/config.js';
import { AppError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { startLocalStack } from './stack.js';
import { localWebRoutes } from './web.js';

/**
 * `npm start` (through scripts/start.mjs): the whole product on 127.0.0.1. First run bootstraps the CA
 * (key ceremony into SoftHSM) and the card stock; later runs pick up where the last one stopped.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const config = (() => {
  try {
    return loadConfig();
  } catch (e) {
    console.error(`configuration: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
})();
const logger = createLogger('acdc-local');

const started = Date.now();
console.log(`Starting the Alien Citizen Digital Certificate service (state in ${config.STATE_DIR}) …`);
const stack = await startLocalStack({
  config,
  logger,
  rawRoutes: localWebRoutes({ stateDir: config.STATE_DIR }),
  cardStation: { minStock: 5, enrollCount: 10, echo: true },
}).catch((e: unknown) => {
  console.error(
    `start-up failed: ${e instanceof AppError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
  );
  process.exit(1);
});

const p = stack.paths;
console.log(`
Ready in ${((Date.now() - started) / 1000).toFixed(1)} s.

  API            ${stack.url}/v1/…      (OpenAPI: openapi.json; health: ${stack.url}/health)
  Web portal     ${stack.url}/          (holder portal, public query, station console)
  PKI            ${stack.url}/pki/certs/issuing-ca.cer  /pki/crl/issuing-ca.crl  /pki/ocsp
  Sandbox pay    ${stack.url}/sandbox/gateway/   (play money only)
  Tokens         npm run token -- officer --station TPE01   (or ops, card-station)

  State folder   ${p.stateDir}
    database     ${p.database}   (dynalite)
    CA keys      ${p.caHsm}      (SoftHSM tokens; PINs in pins.json, local only)
    CA certs     ${p.pki}        (root-ca.pem, issuing-ca.pem, chain.pem)
    outbox       ${p.outbox}     (every mail as an .eml file)
    cards        ${p.stateDir}/cards   (blank and personalized cards: SoftHSM tokens + emulated firmware)
    card station ${p.stateDir}/card-station/output   (card faces and mailing labels, PNG)

Stop with Ctrl-C.`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping …`);
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
