import { readFile } from 'node:fs/promises';
import { routeKey } from '../../functions/http/spec.js';
import { allRoutes } from '../../functions/routes.js';

describe('README', () => {
  it('documents every route of the route table (keep the API section true)', async () => {
    const readme = await readFile('README.md', 'utf8');
    const missing = allRoutes.map(routeKey).filter((k) => !readme.includes(k));
    expect(missing).toEqual([]);
  });

  it('shows the two commands: start and test', async () => {
    const readme = await readFile('README.md', 'utf8');
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});
