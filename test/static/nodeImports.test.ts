// Every library module loads under Node's own ESM loader, as the services run it (node --import tsx), not only
// under vitest's transform: a named import that a CommonJS package does not expose statically (kafkajs'
// error classes, say) passes the type check and the unit tests, then kills the service at start.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../../lib/config.ts';

/** Entry points run something when imported; every other module only defines. */
const ENTRY_POINTS = new Set([
  'transformer/main.ts',
  'stack/supervisorMain.ts',
  'stack/pipelineExporterMain.ts',
  'stack/initPostgres.ts',
  'dashboard-server/server.ts',
  'sql/migrate.ts',
]);

function modules(dir: string): string[] {
  return readdirSync(join(PROJECT_ROOT, dir)).flatMap((f) => {
    const p = join(PROJECT_ROOT, dir, f);
    if (statSync(p).isDirectory()) return modules(relative(PROJECT_ROOT, p));
    return f.endsWith('.ts') && !f.endsWith('.d.ts') ? [relative(PROJECT_ROOT, p)] : [];
  });
}

describe('modules under plain Node', () => {
  it('every module of lib, stack, pipeline, transformer, generator, grafana and dashboard-server loads', () => {
    const files = ['lib', 'stack', 'pipeline', 'transformer', 'generator', 'grafana', 'dashboard-server']
      .flatMap(modules)
      .filter((f) => !ENTRY_POINTS.has(f));
    expect(files.length).toBeGreaterThan(40);
    const script = `for (const f of ${JSON.stringify(files)}) await import(${JSON.stringify(PROJECT_ROOT + '/')} + f);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr.split('\n').find((l) => /Error/.test(l)) ?? '', r.stderr.slice(0, 2000)).toBe('');
    expect(r.status).toBe(0);
  }, 90_000);
});
