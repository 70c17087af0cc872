import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import type { Fee } from '../../shared/domain/model.js';

export const FEE: Fee = {
  currency: 'TWD',
  items: [
    { code: 'card', label: 'IC card', amount: 250 },
    { code: 'postage', label: 'Registered postage', amount: 28 },
  ],
  total: 278,
};

export const CTX = { portalUrl: 'http://127.0.0.1:8080/portal' };

/** Every .eml in the outbox folder, parsed, oldest first (file names sort by time). */
export const readOutbox = async (dir: string): Promise<(ParsedMail & { file: string; raw: string })[]> => {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
  } catch {
    return [];
  }
  return Promise.all(
    names.map(async (file) => {
      const raw = await readFile(join(dir, file), 'utf8');
      return Object.assign(await simpleParser(raw), { file, raw });
    }),
  );
};

export const templateOf = (m: ParsedMail): string | undefined => {
  const v = m.headers.get('x-acdc-template');
  return typeof v === 'string' ? v : undefined;
};
