import { spawnSync } from 'node:child_process';

/**
 * LMDB trusts its files: a corrupt data file makes the process that opens it crash (SIGSEGV/abort) instead of
 * throwing, which would be a crash loop. So an existing store is first opened, and its meta and first records
 * read, by a throwaway Node process (≈ 0.1 s); undefined if that worked, else what went wrong.
 */
export function probeInChild(dir: string): string | undefined {
  const code = `const { open } = await import(${JSON.stringify(import.meta.resolve('lmdb'))});
    const root = open({ path: process.argv[1], encoding: 'string', readOnly: true, maxDbs: 4 });
    root.openDB({ name: 'meta', encoding: 'json' }).getRange({ limit: 100 }).asArray;
    root.getRange({ limit: 1000 }).asArray;
    root.getStats();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, dir], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status === 0) return undefined;
  return r.signal
    ? `a process reading it was killed by ${r.signal}`
    : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-1)[0];
}
