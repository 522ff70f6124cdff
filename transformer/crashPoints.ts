// Fault injection for the crash-point tests: TRANSFORMER_CRASH_AT=<point>[:<nth>] (lib/config.ts, armed by
// main.ts) makes the process SIGKILL itself the nth time (default 1st) it passes that point. Unarmed (always,
// outside those tests) it costs one comparison. The points are the moments the local state store's exactness argument is about
// (docs/contracts.md, "Transformer state"): before the Kafka transaction commits, after it commits but before
// the local store is written, and in the middle of the local store's write.
import { writeSync } from 'node:fs';

export type CrashPoint = 'before-commit' | 'after-commit' | 'store-write';

export const CRASH_POINTS: readonly CrashPoint[] = ['before-commit', 'after-commit', 'store-write'];

let point: CrashPoint | undefined;
let remaining = 0;

/** Arms one crash point (`<point>[:<nth>]`, validated by lib/config.ts); undefined disarms. */
export function armCrashPoint(spec: { point: CrashPoint; nth: number } | undefined): void {
  point = spec?.point;
  remaining = spec?.nth ?? 0;
}

export function crashPoint(at: CrashPoint): void {
  if (point !== at) return;
  if (--remaining > 0) return;
  writeSync(2, `{"msg":"crash point reached: SIGKILL","point":"${at}"}\n`); // synchronous: a pipe write would be lost with the process

  process.kill(process.pid, 'SIGKILL');
}
