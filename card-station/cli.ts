import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { KeyAlgorithm } from '../shared/domain/model.js';
import { isAppError } from '../shared/errors.js';
import { systemClock } from '../shared/ports/clock.js';
import { type AgentLogger, CardStationAgent } from './agent.js';
import { HttpCardStationApi, type TokenSource } from './api.js';
import { openSoftHsmCardReader } from './card/softhsm.js';
import { isCardError } from './card/types.js';
import { SimulatedPostOffice } from './post.js';

/**
 * `card-station` — the on-prem agent of the card personalization bureau.
 *
 *   card-station enroll --count 20 [--prefix TP]   blank stock: keys on the card, public keys + PoP to the inventory
 *   card-station run [--once] [--concurrency 1]    lease jobs, personalize, print, complete, post, report
 *   card-station status                            cards in the reader, jobs in progress, stock not yet enrolled
 *   card-station inspect <cardNumber>              what a card shows: number, holder, issuer, validity, PIN state
 *
 * It reaches the cloud only by outbound HTTPS with its machine identity (a bearer token, fixed or from a
 * command that prints a fresh one), and it never sees a CA key. Locally every card is a SoftHSM token in
 * `<STATE_DIR>/cards` (its own SOFTHSM2_CONF), and the post office is simulated.
 */

interface GlobalOptions {
  stateDir: string;
  cardsDir?: string;
  api: string;
  token?: string;
  tokenCommand?: string;
  module: string;
  json?: boolean;
}

const ALGORITHMS: KeyAlgorithm[] = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'EC-P256', 'EC-P384'];

const positiveInt = (name: string, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
  return n;
};

const textLogger = (json: boolean): AgentLogger => {
  const line =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      const at = new Date().toISOString();
      if (json) {
        process.stderr.write(`${JSON.stringify({ level, at, message, ...fields })}\n`);
        return;
      }
      const kv = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stderr.write(`${at} ${level.padEnd(5)} ${message}${kv ? ` ${kv}` : ''}\n`);
    };
  return { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
};

const program = new Command('card-station')
  .description('On-prem agent of the card personalization bureau')
  .addOption(new Option('--state-dir <dir>', 'local state folder').env('STATE_DIR').default('.local'))
  .addOption(
    new Option(
      '--cards-dir <dir>',
      'card folder (SoftHSM tokens + card firmware); default <state-dir>/cards',
    ),
  )
  .addOption(
    new Option('--api <url>', 'card station API base URL')
      .env('CARD_STATION_API_URL')
      .default('http://127.0.0.1:8080'),
  )
  .addOption(new Option('--token <jwt>', 'bearer token of this card station').env('CARD_STATION_TOKEN'))
  .addOption(
    new Option(
      '--token-command <cmd>',
      'command that prints a fresh bearer token (run again when it expires)',
    ).env('CARD_STATION_TOKEN_COMMAND'),
  )
  .addOption(
    new Option('--module <path>', 'PKCS#11 module of the card reader')
      .env('PKCS11_MODULE')
      .default('/usr/lib/softhsm/libsofthsm2.so'),
  )
  .option('--json', 'JSON output and JSON log lines');

const agentFrom = async (g: GlobalOptions, needsApi: boolean): Promise<CardStationAgent> => {
  const stateDir = resolve(g.stateDir);
  const cardsDir = resolve(g.cardsDir ?? join(stateDir, 'cards'));
  const token: TokenSource | undefined = g.tokenCommand
    ? { command: g.tokenCommand }
    : g.token
      ? { token: g.token }
      : undefined;
  if (needsApi && !token) {
    throw new InvalidArgumentError(
      'a bearer token is needed: --token / CARD_STATION_TOKEN or --token-command',
    );
  }
  const reader = await openSoftHsmCardReader({ cardsDir, modulePath: g.module });
  return new CardStationAgent({
    reader,
    api: new HttpCardStationApi({ baseUrl: g.api, token: token ?? { token: '' } }),
    post: new SimulatedPostOffice(join(stateDir, 'card-station', 'post')),
    clock: systemClock,
    stateDir: join(stateDir, 'card-station'),
    cardLockDir: join(cardsDir, 'locks'),
    logger: textLogger(!!g.json),
  });
};

program
  .command('enroll')
  .description(
    'Initialize blank cards, generate both key pairs on each, and enroll their public keys (with PoP)',
  )
  .requiredOption('--count <n>', 'how many blank cards', positiveInt('--count', 10_000))
  .option('--prefix <XX>', 'card number prefix of the stock range (two capital letters)', 'TP')
  .option('--first <digits>', 'first number of the stock range, 14 digits (first run only)')
  .addOption(
    new Option('--algorithm <alg>', 'key algorithm of both key pairs')
      .choices(ALGORITHMS)
      .default('RSA-2048'),
  )
  .option('--batch <label>', 'delivery / lot label for the audit trail')
  .action(
    async (o: { count: number; prefix: string; first?: string; algorithm: KeyAlgorithm; batch?: string }) => {
      const g = program.opts<GlobalOptions>();
      if (!/^[A-Z]{2}$/.test(o.prefix))
        throw new InvalidArgumentError('--prefix must be two capital letters');
      if (o.first !== undefined && !/^\d{14}$/.test(o.first))
        throw new InvalidArgumentError('--first must be 14 digits');
      const agent = await agentFrom(g, true);
      const bar = new SingleBar({
        format: 'enrolling [{bar}] {value}/{total} cards | {card}',
        hideCursor: true,
        stream: process.stderr,
      });
      let started = false;
      const result = await agent
        .enroll({
          count: o.count,
          prefix: o.prefix,
          ...(o.first ? { first: BigInt(o.first) } : {}),
          algorithm: o.algorithm,
          ...(o.batch ? { batch: o.batch } : {}),
          onProgress: (done, total, card) => {
            if (!started) {
              bar.start(total, 0, { card });
              started = true;
            }
            bar.update(done, { card });
          },
        })
        .finally(() => bar.stop());
      if (g.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        process.stdout.write(`enrolled ${result.enrolled.length} card(s)\n`);
        for (const r of result.rejected) process.stdout.write(`refused ${r.cardNumber}: ${r.reason}\n`);
      }
      if (result.rejected.length > 0) process.exitCode = 1;
    },
  );

program
  .command('run')
  .description('Lease card jobs and carry each through personalization, printing, completion and mailing')
  .option('--once', 'stop when no job is left instead of waiting for more')
  .option('--concurrency <n>', 'jobs worked at the same time', positiveInt('--concurrency', 16), 1)
  .option('--poll <seconds>', 'wait between lease attempts when idle', positiveInt('--poll', 3600), 5)
  .action(async (o: { once?: boolean; concurrency: number; poll: number }) => {
    const g = program.opts<GlobalOptions>();
    const agent = await agentFrom(g, true);
    const stop = new AbortController();
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        process.stderr.write(`${sig}: finishing the jobs in hand, leasing no more\n`);
        stop.abort();
      });
    }
    const outcomes = await agent.run({
      once: !!o.once,
      concurrency: o.concurrency,
      pollMs: o.poll * 1000,
      signal: stop.signal,
    });
    if (g.json) process.stdout.write(`${JSON.stringify(outcomes)}\n`);
    else
      for (const r of outcomes) {
        process.stdout.write(
          `${r.outcome.padEnd(7)} ${r.cardNumber} job ${r.jobId}${r.outcome === 'mailed' ? ` ${r.trackingNumber} (simulated post)` : ` ${r.reason}`}\n`,
        );
      }
  });

program
  .command('status')
  .description('Cards in the reader, jobs in progress and stock waiting for enrollment')
  .action(async () => {
    const g = program.opts<GlobalOptions>();
    const s = await (await agentFrom(g, false)).status();
    if (g.json) {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      return;
    }
    const byPhase = new Map<string, number>();
    for (const c of s.cards) {
      const key = c.phase === 'issuer' ? 'blank (issuer mode)' : c.activated ? 'activated' : c.phase;
      byPhase.set(key, (byPhase.get(key) ?? 0) + 1);
    }
    process.stdout.write(`agent ${s.agentId}\n`);
    process.stdout.write(`cards: ${s.cards.length}${[...byPhase].map(([k, v]) => `, ${k} ${v}`).join('')}\n`);
    process.stdout.write(`jobs in progress: ${s.journal.length}\n`);
    for (const j of s.journal)
      process.stdout.write(`  ${j.jobId} card ${j.cardNumber} ${j.phase} since ${j.updatedAt}\n`);
    process.stdout.write(`numbered, not yet enrolled: ${s.pendingEnrollment.length}\n`);
  });

program
  .command('inspect')
  .description('Show what a card holds: card number, holder, issuer, validity, PIN state, objects')
  .argument('<cardNumber>')
  .action(async (cardNumber: string) => {
    const g = program.opts<GlobalOptions>();
    const info = await (await agentFrom(g, false)).inspect(cardNumber);
    if (g.json) {
      process.stdout.write(`${JSON.stringify(info)}\n`);
      return;
    }
    const rows: [string, string][] = [
      ['card number', info.cardNumber],
      [
        'state',
        info.terminated ? 'terminated' : info.phase === 'issuer' ? 'blank (issuer mode)' : 'personalized',
      ],
      [
        'PIN',
        info.pin.activated
          ? info.pin.locked
            ? 'locked'
            : `set, ${info.pin.retriesLeft} tries left`
          : 'not activated',
      ],
      ['holder', info.holder ?? '-'],
      ['issuer', info.issuer ?? '-'],
      ['valid', info.notBefore ? `${info.notBefore} to ${info.notAfter}` : '-'],
      ['keys', info.keys.map((k) => `${k.role} ${k.algorithm} (id ${k.keyId})`).join(', ') || '-'],
      ['certificates', info.certificates.map((c) => `${c.label} ${c.serialNumber}`).join(', ') || '-'],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(13)} ${v}\n`);
  });

await program.parseAsync(process.argv).catch((e: unknown) => {
  const message = isAppError(e) || isCardError(e) || e instanceof Error ? e.message : String(e);
  process.stderr.write(`card-station: ${message}\n`);
  process.exit(e instanceof InvalidArgumentError ? 2 : 1);
});
