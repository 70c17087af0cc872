#!/usr/bin/env node
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { openSoftHsmCardReader } from '../card-station/card/softhsm.js';
import type { CardReader } from '../card-station/card/types.js';
import { closeModules } from '../shared/adapters/pkcs11/module.js';
import { createPortalClient } from './api.js';
import { type ClientContext, commands, explain } from './commands.js';
import { createTerminalIo } from './io.js';

/**
 * acdc-card: the holder's card client (see card-client/README.md).
 *
 *   npm run card -- info
 *   npm run card -- activate --card AC00000000000123
 *   npm run card -- selftest
 *
 * The portal API comes from --api or ACDC_API_URL (default http://127.0.0.1:8080, the local stack).
 * The card reader: locally, the emulated cards of the card station (--cards-dir or ACDC_CARDS_DIR,
 * default <STATE_DIR>/cards, the card station's folder), through the PKCS#11 module (--module or PKCS11_MODULE).
 */

interface GlobalOptions {
  api: string;
  cardsDir: string;
  module: string;
  json: boolean;
}

const stateDir = process.env.STATE_DIR || '.local';

const program = new Command()
  .name('acdc-card')
  .description(
    'Alien Citizen Digital Certificate card client: card info, activation, PIN, subscriber code, suspension, self-test',
  )
  .addOption(
    new Option('--api <url>', 'portal API base URL').env('ACDC_API_URL').default('http://127.0.0.1:8080'),
  )
  .addOption(
    new Option('--cards-dir <dir>', 'folder of the emulated cards (the "reader")')
      .env('ACDC_CARDS_DIR')
      .default(join(stateDir, 'cards')),
  )
  .addOption(
    new Option('--module <path>', 'PKCS#11 module')
      .env('PKCS11_MODULE')
      .default('/usr/lib/softhsm/libsofthsm2.so'),
  )
  .option('--json', 'print the result as JSON on stdout (prompts and progress go to stderr)', false)
  .showHelpAfterError();

const cardOption = () => new Option('--card <number>', 'card number (default: the one card in the reader)');
const codeOption = () =>
  new Option('--code <code>', 'subscriber code (asked for when absent; a flag ends up in shell history)');
const pinOption = (what = 'PIN') => new Option('--pin <pin>', `${what} (asked for when absent)`);
const newPinOption = () =>
  new Option('--new-pin <pin>', 'the new PIN, 6–8 characters (asked for twice when absent)');

type Action<O> = (ctx: ClientContext, opts: O) => Promise<unknown>;

const run =
  <O>(action: Action<O>) =>
  async (opts: O) => {
    const g = program.opts<GlobalOptions>();
    const io = createTerminalIo({ json: g.json });
    let reader: Promise<CardReader> | undefined;
    const ctx: ClientContext = {
      api: createPortalClient(g.api),
      reader: () => {
        reader ??= openSoftHsmCardReader({ cardsDir: g.cardsDir, modulePath: g.module });
        return reader;
      },
      io,
      modulePath: g.module,
    };
    try {
      const result = await action(ctx, opts);
      if (g.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      const failed = (result as { passed?: boolean } | undefined)?.passed === false;
      process.exitCode = failed ? 1 : 0;
    } catch (e) {
      io.note(`error: ${explain(e)}`);
      process.exitCode = 1;
    } finally {
      io.close();
      if (reader) closeModules();
    }
  };

program
  .command('info')
  .description('show the card: number, holder, issuer, validity, PIN state, certificates')
  .addOption(cardOption())
  .action(run(commands.info));

program
  .command('activate')
  .description('activate a newly mailed card online and set its first PIN (subscriber code)')
  .addOption(cardOption())
  .addOption(codeOption())
  .addOption(newPinOption())
  .action(run(commands.activate));

program
  .command('unblock')
  .description('unblock a locked PIN (or replace a forgotten one) online with the subscriber code')
  .addOption(cardOption())
  .addOption(codeOption())
  .addOption(newPinOption())
  .action(run(commands.unblock));

program
  .command('change-pin')
  .description('change the PIN, knowing the current one (offline)')
  .addOption(cardOption())
  .addOption(pinOption('current PIN'))
  .addOption(newPinOption())
  .action(run(commands.changePin));

program
  .command('change-code')
  .description('set a new subscriber code, proved with the card (PIN); also unlocks a locked code')
  .addOption(cardOption())
  .addOption(pinOption())
  .addOption(new Option('--new-code <code>', 'the new subscriber code (asked for twice when absent)'))
  .action(run(commands.changeCode));

program
  .command('suspend')
  .description('suspend the card (lost card): its certificates go on hold')
  .addOption(cardOption())
  .addOption(codeOption())
  .action(run(commands.suspend));

program
  .command('resume')
  .description('resume a suspended card')
  .addOption(cardOption())
  .addOption(codeOption())
  .action(run(commands.resume));

program
  .command('change-email')
  .description('put a new e-mail in the certificates (re-issued online) and write them to the card')
  .addOption(cardOption())
  .requiredOption('--email <address>', 'the new e-mail address')
  .addOption(codeOption())
  .addOption(pinOption())
  .action(run(commands.changeEmail));

program
  .command('update-certificates')
  .description("write the card's current certificates from the portal to the card (after an e-mail change)")
  .addOption(cardOption())
  .addOption(new Option('--arc <number>', 'ARC number, to open a holder session'))
  .addOption(codeOption())
  .addOption(pinOption())
  .action(run(commands.updateCertificates));

program
  .command('selftest')
  .alias('self-test')
  .description('check the environment: PKCS#11 module, reader, card, a sign/verify round trip, status online')
  .addOption(cardOption())
  .addOption(pinOption())
  .action(run(commands.selftest));

await program.parseAsync(process.argv);
