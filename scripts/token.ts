import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { openLocalIssuer, type TokenRole } from '../infra/local/tokens.js';
import { loadConfig } from '../shared/config.js';

/**
 * `npm run token -- officer --station TPE01` prints a bearer token from the local issuer, for trying the
 * API by hand and for scripts. Roles: officer (needs --station), ops, card-station.
 */
const config = loadConfig();
const program = new Command('token')
  .description('Print a bearer token from the local token issuer')
  .argument('<role>', 'officer | ops | card-station', (v: string) => {
    if (!['officer', 'ops', 'card-station'].includes(v))
      throw new InvalidArgumentError('officer, ops or card-station');
    return v as TokenRole;
  })
  .option('--station <id>', 'station id claim for officers, e.g. TPE01')
  .option('--sub <subject>', 'subject (officer id, ops user, card station id)')
  .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number.parseInt(v, 10))
  .action(async (role: TokenRole, opts: { station?: string; sub?: string; ttl?: number }) => {
    const issuer = await openLocalIssuer(join(config.STATE_DIR, 'auth', 'issuer-key.json'));
    const subject = opts.sub ?? (role === 'officer' ? 'officer-1' : role === 'ops' ? 'ops-1' : 'bureau-1');
    const token = await issuer.issue(role, subject, {
      ...(opts.station ? { stationId: opts.station } : {}),
      ...(opts.ttl ? { ttlSeconds: opts.ttl } : {}),
    });
    process.stdout.write(`${token}\n`);
  });

await program.parseAsync(process.argv).catch((e: Error) => {
  console.error(`token: ${e.message}`);
  process.exit(2);
});
