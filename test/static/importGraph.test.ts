// The import graph, read from the code itself (static and dynamic imports of every source file), keeps its
// arrows one way: each top-level folder sits on a layer and imports only from folders on lower layers (or from
// itself). So stack/ may use pipeline/ but never the reverse, and nothing outside test/ imports from test/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/config.ts';

/** Lowest first. A folder may import from its own layer's folders only when it is that folder. */
const LAYERS: readonly (readonly string[])[] = [
  ['lib'], // configuration, names, clients of the outside services, helpers: depends on nothing of ours
  ['sql', 'druid-specs', 'grafana'], // what the pipeline is made of, as data and its renderers
  ['generator', 'transformer', 'dashboard-server'], // the programs that run in the pipeline
  ['pipeline'], // setting the pipeline up and asking it how it is (bootstrap, status, reconcile)
  ['stack'], // running it all locally (processes, supervisor, fault drill)
  ['scripts', 'bench'], // entry points
  ['test'],
];
const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));

const SKIP = new Set(['node_modules', '.git', '.pulso', '.scratch', 'fixtures']);
function sourceFiles(dir = PROJECT_ROOT): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [relative(PROJECT_ROOT, p)] : [];
  });
}

/** Every relative import of a file (import … from, export … from, import()), resolved to a repository path. */
function importsOf(file: string): string[] {
  const text = readFileSync(resolve(PROJECT_ROOT, file), 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm),
  ].map((m) => m[1]!);
  return specs.map((s) => relative(PROJECT_ROOT, resolve(PROJECT_ROOT, dirname(file), s)));
}

const top = (path: string) => (path.includes('/') ? path.split('/')[0]! : '.');
const edges = sourceFiles()
  .filter((f) => f.includes('/'))
  .flatMap((from) => importsOf(from).map((to) => ({ from, to })));

describe('import graph', () => {
  it('is read from the code: static, re-exported and dynamic imports are all seen', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual({ from: 'stack/manager.ts', to: 'pipeline/bootstrap.ts' }); // import()
    expect(edges).toContainEqual({ from: 'pipeline/bootstrap.ts', to: 'pipeline/bootstrapError.ts' });
  });

  it('places every top-level folder with code on a layer', () => {
    const folders = new Set(edges.flatMap((e) => [top(e.from), top(e.to)]));
    expect([...folders].filter((f) => !layerOf.has(f))).toEqual([]);
  });

  it('has no arrow from a lower layer to a higher one, nor across folders of one layer', () => {
    const wrong = edges
      .filter((e) => top(e.from) !== top(e.to))
      .filter((e) => layerOf.get(top(e.to))! >= layerOf.get(top(e.from))!)
      .map((e) => `${e.from} → ${e.to}`);
    expect(wrong).toEqual([]);
  });

  it('lets nothing outside test/ import from test/', () => {
    const wrong = edges.filter((e) => top(e.to) === 'test' && top(e.from) !== 'test');
    expect(wrong.map((e) => `${e.from} → ${e.to}`)).toEqual([]);
  });
});
