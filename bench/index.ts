import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type BenchFigure, commit, FIGURE_PREFIX, flag, fmt, machine, runTs } from './lib.js';

/**
 * `npm run bench`: every performance figure of the product next to its physical baseline, in one run.
 * Each part runs in its own process (SoftHSM reads its token folder once per process; memory figures must
 * not see another part's heap) and reports its figures as JSON lines; this prints them as one table.
 *
 *   npm run bench                           all parts (about 5 minutes on 2 cores)
 *   npm run bench -- --only ocsp,routes     some parts: issuance, ocsp, routes, aws, crl, bundles
 *   npm run bench -- --quick                tiny sizes (a smoke run: figures are not meaningful)
 *   npm run bench -- --markdown docs/benchmarks.md   also writes the table between the result markers
 *   npm run bench -- --json results.json    also writes every figure as JSON
 *
 * The parts and what they compare: bench/issuance.ts (issuance vs raw SoftHSM signing), bench/http.ts
 * (OCSP vs `openssl ocsp`; portal and query routes vs a constant; AWS calls and cost per card),
 * bench/crl.ts (100,000-entry CRL vs `openssl ca -gencrl`; OCSP with 1,000,000 certificates),
 * bench/bundles.ts (Lambda bundle sizes vs the 1 MB limit). docs/benchmarks.md explains the gaps.
 */

const PARTS = ['issuance', 'ocsp', 'routes', 'aws', 'crl', 'bundles'] as const;
type Part = (typeof PARTS)[number];

const only = flag('only');
const quick = process.argv.includes('--quick');
const selected = new Set<Part>(
  only
    ? only.split(',').map((p) => {
        const part = p.trim() as Part;
        if (!PARTS.includes(part)) throw new Error(`unknown part ${p}; parts: ${PARTS.join(', ')}`);
        return part;
      })
    : PARTS,
);

interface Step {
  parts: Part[];
  file: string;
  args: string[];
  nodeArgs?: string[];
}

const httpParts = (['aws', 'ocsp', 'routes'] as const).filter((p) => selected.has(p));
const steps: Step[] = [
  ...(selected.has('issuance')
    ? [
        {
          parts: ['issuance'] as Part[],
          file: './issuance.ts',
          args: quick
            ? ['--keys', 'RSA-2048', '--cards', '60', '--rounds', '1', '--dynalite-cards', '10']
            : ['--keys', 'RSA-2048,RSA-4096'],
        },
      ]
    : []),
  ...(httpParts.length
    ? [
        {
          parts: [...httpParts] as Part[],
          file: './http.ts',
          args: [
            '--parts',
            httpParts.join(','),
            ...(quick ? ['--duration', '1', '--connections', '10', '--warmup', '0', '--cards', '1'] : []),
          ],
        },
      ]
    : []),
  ...(selected.has('crl')
    ? [
        {
          parts: ['crl'] as Part[],
          file: './crl.ts',
          args: quick
            ? ['--revoked', '2000', '--table', '5000', '--dynalite-certs', '500', '--requests', '20']
            : [],
          nodeArgs: ['--expose-gc', '--max-old-space-size=8192'],
        },
      ]
    : []),
  ...(selected.has('bundles') ? [{ parts: ['bundles'] as Part[], file: './bundles.ts', args: [] }] : []),
];

const m = machine();
const startedAt = new Date();
const sha = commit();
console.log('# npm run bench');
console.log(`date     ${startedAt.toISOString()}`);
console.log(`commit   ${sha}`);
console.log(`machine  ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; load ${m.load.join(' ')} (1/5/15 min)`);
console.log(
  `runtime  node ${m.node}; ${m.softhsm === 'unknown' ? 'SoftHSM ?' : `SoftHSM ${m.softhsm}`}; ${m.openssl}`,
);
console.log(
  `parts    ${steps.flatMap((s) => s.parts).join(', ')}${quick ? ' (quick: tiny sizes, figures not meaningful)' : ''}`,
);

const figures: BenchFigure[] = [];
const failed: string[] = [];
const t0 = performance.now();
for (const step of steps) {
  const s0 = performance.now();
  console.log(`\n================ ${step.parts.join(', ')} (${step.file}) ================`);
  const code = await runTs(step.file, step.args, {
    ...(step.nodeArgs ? { nodeArgs: step.nodeArgs } : {}),
    onLine: (line) => {
      if (line.startsWith(FIGURE_PREFIX))
        figures.push(JSON.parse(line.slice(FIGURE_PREFIX.length)) as BenchFigure);
      else console.log(line);
    },
  });
  console.log(`(${step.parts.join(', ')}: ${fmt((performance.now() - s0) / 1000)} s, exit ${code})`);
  if (code !== 0) failed.push(`${step.file} exited with ${code}`);
}
const elapsed = (performance.now() - t0) / 1000;
const loadAfter = loadavg().map((l) => l.toFixed(2));

const value = (v: number, unit: string) =>
  unit === 'USD' ? `$${v.toFixed(6)}` : `${fmt(v, v < 10 ? 2 : v < 100 ? 1 : 0)} ${unit}`;
const rows = figures.map((f) => ({
  part: f.part,
  figure: f.figure,
  value: value(f.value, f.unit),
  baseline: f.baseline ? `${value(f.baseline.value, f.baseline.unit)} (${f.baseline.label})` : '—',
  ratio: f.ratio === undefined ? '—' : `${fmt(f.ratio, f.ratio < 10 ? 2 : 1)}×`,
  target: f.target ?? '—',
  result: f.pass === undefined ? 'info' : f.pass ? 'PASS' : 'MISS',
  note: f.note ?? '',
}));

const header = ['part', 'figure', 'value', 'baseline', 'ratio', 'target', 'result'] as const;
const widths = header.map((h) => Math.max(h.length, ...rows.map((r) => r[h].length)));
const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(
  `\n# results (${fmt(elapsed)} s; load before ${m.load.join(' ')}, after ${loadAfter.join(' ')})\n`,
);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(header.map((h) => r[h])));
for (const r of rows) if (r.note) console.log(`  · ${r.figure}: ${r.note}`);
for (const f of failed) console.log(`FAILED: ${f}`);

// The command as run, without where its output went.
const shownArgs = process.argv.slice(2).filter((a, i, all) => {
  const previous = all[i - 1];
  return !['--markdown', '--json'].includes(a) && !['--markdown', '--json'].includes(previous ?? '');
});
const markdown = [
  `Run: \`npm run bench${shownArgs.length ? ` -- ${shownArgs.join(' ')}` : ''}\` on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${sha}, ${fmt(elapsed / 60, 1)} minutes.`,
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, SoftHSM ${m.softhsm}, ${m.openssl}; load average ${m.load.join(' / ')} before and ${loadAfter.join(' / ')} after (1/5/15 min).`,
  '',
  '| part | figure | value | baseline | ratio | target | result | note |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${[r.part, r.figure, r.value, r.baseline, r.ratio, r.target, r.result, r.note].map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`,
  ),
  ...failed.map((f) => `\nFAILED: ${f}`),
].join('\n');

const mdFile = flag('markdown');
if (mdFile) {
  const BEGIN = '<!-- bench:results:begin -->';
  const END = '<!-- bench:results:end -->';
  const doc = await readFile(mdFile, 'utf8').catch(() => `${BEGIN}\n${END}\n`);
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${mdFile} has no ${BEGIN} … ${END} markers`);
  await writeFile(mdFile, `${doc.slice(0, a + BEGIN.length)}\n${markdown}\n${doc.slice(b)}`);
  console.log(`\nwrote the table to ${mdFile}`);
}
const jsonFile = flag('json');
if (jsonFile) {
  await writeFile(
    jsonFile,
    JSON.stringify(
      { date: startedAt.toISOString(), commit: sha, machine: m, loadAfter, elapsed, quick, figures, failed },
      null,
      2,
    ),
  );
}
process.exitCode = failed.length ? 1 : 0;
