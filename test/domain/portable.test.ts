import fs from 'node:fs';
import path from 'node:path';

/**
 * The portal's browser bundle reuses these validators (web/src/validation.ts), so they must not import
 * Node built-ins. Subscriber codes and ids (node:crypto) stay server-side.
 */
const PORTABLE = [
  'arc.ts',
  'calendar.ts',
  'applicant.ts',
  'einvoice.ts',
  'contact.ts',
  'money.ts',
  'text.ts',
];

describe('browser-safe domain modules', () => {
  it.each(PORTABLE)('%s imports no Node built-in', (file) => {
    const source = fs.readFileSync(path.resolve('shared/domain', file), 'utf8');
    const imports = [...source.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1] as string);
    expect(imports.length).toBeGreaterThan(0);
    for (const spec of imports) expect(spec.startsWith('.')).toBe(true);
  });
});
