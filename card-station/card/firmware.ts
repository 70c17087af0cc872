import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeyAlgorithm } from '../../shared/domain/model.js';
import type { CardPhase } from './types.js';

/**
 * The emulated card's protected memory.
 *
 * A real card keeps its PIN retry counter, lock flag, pending unblock challenge, SO PIN and admin key
 * inside its secure element, where nothing outside the chip's firmware can read or change them. SoftHSM
 * has no such thing (it enforces no PIN retry limit at all), so the emulation keeps them in one file per
 * card next to the token folder (`<cards>/firmware/<cardNumber>.json`, mode 0600) and only the
 * firmware code in softhsm.ts reads or writes it. Treat that file as the stand-in for the secure
 * element: it holds secrets in clear, like the chip does.
 *
 * Writes are atomic (temp file, fsync, rename), so a crash leaves either the old or the new state.
 * Like a card's EEPROM the counter is written before the PIN is checked (anti-tearing): pulling the
 * card (killing the process) mid-check still spends the try.
 */

export interface FirmwareState {
  format: 1;
  cardNumber: string;
  phase: CardPhase;
  /** Algorithm of the card's key pairs, once generated. */
  keyAlgorithm?: KeyAlgorithm;
  /** The card's internal SO PIN: never leaves the card. */
  soPin: string;
  /** Issuer-mode credential (the token's user PIN while the bureau personalizes); scrubbed at close. */
  transportPin?: string;
  /** K_card, base64, injected at the end of personalization. */
  adminKey?: string;
  pin: { failures: number; locked: boolean; activated: boolean };
  /** The single pending unblock challenge (hex), cleared by the first unblock attempt. */
  challenge?: string;
  /** Consecutive refused unblock authorizations; the card terminates itself at the limit. */
  adminFailures: number;
  terminated: boolean;
  createdAt: string;
  personalizedAt?: string;
  activatedAt?: string;
}

/** Refused unblock authorizations after which the card is dead for good (as real cards do). */
export const ADMIN_MAX_FAILURES = 10;

/** A random internal secret (SO PIN, transport PIN, discarded user PIN): 32 hex characters. */
export const internalSecret = (): string => randomBytes(16).toString('hex');

export class FirmwareStore {
  constructor(private readonly dir: string) {}

  path(cardNumber: string): string {
    return join(this.dir, `${cardNumber}.json`);
  }

  read(cardNumber: string): FirmwareState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(cardNumber), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const state = JSON.parse(text) as FirmwareState;
    if (state.format !== 1 || state.cardNumber !== cardNumber) {
      throw new Error(`firmware state of ${cardNumber} is not readable`);
    }
    return state;
  }

  write(state: FirmwareState): void {
    const target = this.path(state.cardNumber);
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    const tmp = `${target}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    // fsync the folder too, so the rename itself survives a power cut.
    const dirFd = openSync(dirname(target), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}
