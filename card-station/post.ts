import { join } from 'node:path';
import { randomRegisteredMailNumber } from '../shared/card/numbers.js';
import { readJson, writeJsonAtomic } from './files.js';

/**
 * The post office counter the bureau hands registered letters to. In production the registered-mail
 * numbers come from Chunghwa Post (pre-allocated label rolls or its business API); locally the post
 * office is SIMULATED: it hands out random but well-formed UPU S10 numbers (`RR` + 8 digits + check
 * digit + `TW`) and remembers them per job, so a restarted agent prints and reports the same number.
 */
export interface PostOffice {
  readonly simulated: boolean;
  /** The registered-mail number for this job's envelope (the same one every time for a job). */
  registeredNumber(jobId: string): Promise<string>;
  /** The envelope is handed over at the counter. */
  handOver(jobId: string): Promise<void>;
}

interface Registration {
  jobId: string;
  trackingNumber: string;
  registeredAt: string;
  handedOverAt?: string;
}

export class SimulatedPostOffice implements PostOffice {
  readonly simulated = true;
  constructor(private readonly dir: string) {}

  private path(jobId: string) {
    return join(this.dir, `${encodeURIComponent(jobId)}.json`);
  }

  async registeredNumber(jobId: string): Promise<string> {
    const existing = readJson<Registration>(this.path(jobId));
    if (existing) return existing.trackingNumber;
    const reg: Registration = {
      jobId,
      trackingNumber: randomRegisteredMailNumber(),
      registeredAt: new Date().toISOString(),
    };
    writeJsonAtomic(this.path(jobId), reg, 0o644);
    return reg.trackingNumber;
  }

  async handOver(jobId: string): Promise<void> {
    const reg = readJson<Registration>(this.path(jobId));
    if (!reg) throw new Error(`no registered-mail number was taken for job ${jobId}`);
    if (!reg.handedOverAt)
      writeJsonAtomic(this.path(jobId), { ...reg, handedOverAt: new Date().toISOString() }, 0o644);
  }
}
