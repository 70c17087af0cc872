import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { listJson, readJson, removeFile, writeJsonAtomic } from './files.js';

/**
 * The agent's local journal under `<state>/`: who this agent is, which jobs it is in the middle of,
 * and the blank stock it has numbered but not yet seen accepted by the inventory. It is what a restart
 * reads to finish what a crash interrupted. It never holds a key, a PIN or a token: the card admin key
 * comes again with the next lease.
 */

export type JobPhase =
  /** Leased; the card may be anywhere between untouched and fully written. */
  | 'leased'
  /** The cloud confirmed completion: the card only has to be handed to the post and reported. */
  | 'completed';

export interface JournalEntry {
  jobId: string;
  cardNumber: string;
  phase: JobPhase;
  updatedAt: string;
}

export interface StockState {
  /** Next number of the bureau's stock range, per prefix (14 digits as a decimal string). */
  next: Record<string, string>;
  /** Cards numbered and initialized locally whose enrollment the inventory has not confirmed yet. */
  pending: string[];
}

export class Journal {
  readonly agentId: string;

  constructor(readonly dir: string) {
    const file = join(dir, 'agent.json');
    const existing = readJson<{ agentId: string }>(file);
    if (existing) {
      this.agentId = existing.agentId;
    } else {
      const host =
        hostname()
          .replace(/[^A-Za-z0-9.-]/g, '')
          .slice(0, 40) || 'agent';
      this.agentId = `${host}-${randomBytes(3).toString('hex')}`;
      writeJsonAtomic(file, { agentId: this.agentId });
    }
  }

  private jobPath(jobId: string): string {
    return join(this.dir, 'jobs', `${encodeURIComponent(jobId)}.json`);
  }

  put(entry: JournalEntry): void {
    writeJsonAtomic(this.jobPath(entry.jobId), entry);
  }

  get(jobId: string): JournalEntry | undefined {
    return readJson<JournalEntry>(this.jobPath(jobId));
  }

  remove(jobId: string): void {
    removeFile(this.jobPath(jobId));
  }

  entries(): JournalEntry[] {
    return listJson(join(this.dir, 'jobs'))
      .map((f) => readJson<JournalEntry>(f))
      .filter((e): e is JournalEntry => e !== undefined)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt));
  }

  stock(): StockState {
    return readJson<StockState>(join(this.dir, 'stock.json')) ?? { next: {}, pending: [] };
  }

  saveStock(state: StockState): void {
    writeJsonAtomic(join(this.dir, 'stock.json'), state);
  }
}
