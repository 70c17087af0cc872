import { join } from 'node:path';
import { type AgentLogger, CardStationAgent } from '../../card-station/agent.js';
import { type CardStationApi, HttpCardStationApi } from '../../card-station/api.js';
import { openSoftHsmCardReader, type SoftHsmCardReader } from '../../card-station/card/softhsm.js';
import { SimulatedPostOffice } from '../../card-station/post.js';
import type { KeyAlgorithm } from '../../shared/domain/model.js';
import type { TestStack } from './stack.js';

/**
 * The card personalization bureau in process: emulated SoftHSM cards in the stack's folder and
 * card-station agents that talk to the stack over HTTP with a card-station token, as the real agent does.
 * The file that uses it sets SOFTHSM2_CONF (openSoftHsmCardReader does) and calls closeModules() after.
 */

export interface LogLine {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

export interface Bureau {
  reader: SoftHsmCardReader;
  cardsDir: string;
  lines: LogLine[];
  /** The bureau's machine-identity bearer token. */
  token: string;
  /** A new agent with its own folder (journal, post office), sharing the card folder. */
  agent(name: string, wrapApi?: (api: CardStationApi) => CardStationApi): Promise<CardStationAgent>;
  enroll(count: number, algorithm?: KeyAlgorithm): Promise<string[]>;
}

let prefixSeq = 0;

export const openBureau = async (stack: TestStack, subject = 'bureau-1'): Promise<Bureau> => {
  const cardsDir = join(stack.dir, 'cards');
  const reader = await openSoftHsmCardReader({ cardsDir, clock: stack.clock });
  const lines: LogLine[] = [];
  const logger: AgentLogger = {
    info: (message, fields) => lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message, fields) => lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message, fields) => lines.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
  };
  const token = await stack.tokens.cardStation(subject);
  const agent = async (name: string, wrapApi?: (api: CardStationApi) => CardStationApi) => {
    const http = new HttpCardStationApi({ baseUrl: stack.url, token: { token } });
    return new CardStationAgent({
      reader,
      api: wrapApi ? wrapApi(http) : http,
      post: new SimulatedPostOffice(join(stack.dir, 'agents', name, 'post')),
      clock: stack.clock,
      stateDir: join(stack.dir, 'agents', name),
      cardLockDir: join(cardsDir, 'locks'),
      logger,
    });
  };
  const enroller = await agent('enroller');
  return {
    reader,
    cardsDir,
    lines,
    token,
    agent,
    async enroll(count, algorithm = 'EC-P256') {
      const prefix = `T${'ABCDEFGHJK'[prefixSeq++ % 10]}`;
      const r = await enroller.enroll({ count, prefix, algorithm });
      if (r.rejected.length) throw new Error(`enrolment refused: ${JSON.stringify(r.rejected)}`);
      return r.enrolled;
    },
  };
};
