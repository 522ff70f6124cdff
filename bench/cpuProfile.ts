// Summarises a V8 .cpuprofile (node --cpu-prof) into where the time went: self time per function and per
// module group (our transformer code, kafkajs, Node internals, GC, idle). Prints; asserts nothing.
//
//   npx tsx bench/cpuProfile.ts <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { PROJECT_ROOT } from '../lib/config.ts';
import { flagsOrExit, numberFlag, parseFlags } from '../lib/cliArgs.ts';
import { PulsoError } from '../lib/errors.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Which part of the program a frame belongs to. */
export function moduleGroup(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8 / native';
  if (url.includes('/node_modules/kafkajs/')) return 'kafkajs';
  if (url.includes('/node_modules/')) return `npm: ${url.split('/node_modules/').pop()!.split('/')[0]}`;
  if (url.startsWith('node:') || url === '') return 'Node internals';
  return relative(PROJECT_ROOT, url.replace(/^file:\/\//, '')).split('/')[0] ?? url;
}

/** Self time (ms) per function and per group, from the samples' time deltas. */
export function summariseCpuProfile(p: CpuProfile): {
  totalMs: number;
  byFunction: [string, number][];
  byGroup: [string, number][];
} {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const group = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const { functionName, url, lineNumber } = node.callFrame;
    const key =
      `${functionName || '(anonymous)'} ${url ? `${relative(PROJECT_ROOT, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + ms);
    const g = moduleGroup(url, functionName);
    group.set(g, (group.get(g) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: (p.endTime - p.startTime) / 1000, byFunction: sorted(fn), byGroup: sorted(group) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { file, top } = flagsOrExit(
    'cpuProfile',
    'usage: npx tsx bench/cpuProfile.ts <file.cpuprofile> [--top 25]',
    () => {
      const { values, positionals } = parseFlags(
        process.argv.slice(2),
        { top: { type: 'string', default: '25' } },
        { positionals: true },
      );
      if (positionals.length !== 1) throw new PulsoError('give one .cpuprofile file');
      return {
        file: positionals[0]!,
        top: numberFlag('--top', values.top!, { integer: true, min: 1, what: 'a positive integer' }),
      };
    },
  );
  const s = summariseCpuProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const busy = s.byGroup.filter(([g]) => g !== 'idle').reduce((a, [, ms]) => a + ms, 0);
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)} %`;
  process.stdout.write(
    `${file}: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy (${((busy / s.totalMs) * 100).toFixed(0)} % of one core)\n\nby group (share of busy time):\n`,
  );
  for (const [g, ms] of s.byGroup.filter(([g]) => g !== 'idle'))
    process.stdout.write(`  ${pct(ms).padStart(7)}  ${g}\n`);
  process.stdout.write(`\ntop ${top} functions by self time:\n`);
  for (const [f, ms] of s.byFunction.filter(([f]) => !f.startsWith('(idle)')).slice(0, top))
    process.stdout.write(`  ${pct(ms).padStart(7)}  ${f}\n`);
}
