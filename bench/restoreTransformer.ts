// bench:restore's end-to-end phases: the real transformer (a child process, its own local store) on a
// pipeline whose state topic holds the benchmark's history, timed from the moment the group assigns it its
// partitions to its first committed batch (its own log lines), with its peak resident memory.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { inheritedEnv, loadConfig, PROJECT_ROOT } from '../lib/config.ts';
import { pollUntil } from '../lib/poll.ts';
import type { InputRecord } from '../transformer/transform.ts';
import { PulsoError } from '../lib/errors.ts';

export interface TransformerRun {
  /** Start → its group join (after a SIGKILL: the dead member's session). */
  readonly joinMs: number;
  /** Join → first committed batch (the state restore, then one chunk). */
  readonly firstCommitMs: number;
  readonly restoreMs: number | null;
  readonly peakRssMiB: number;
}

export async function produceInput(kafka: Kafka, records: readonly InputRecord[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (const topic of new Set(records.map((r) => r.topic))) {
    const messages = records.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value }));
    for (let i = 0; i < messages.length; i += 400) await producer.send({ topic, messages: messages.slice(i, i + 400) });
  }
  await producer.disconnect();
}

const peakRss = (pid: number) =>
  Math.round(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);

/** Runs the transformer until a crash point SIGKILLs it (after its first commit, before the local store is written): a tail is left. */
export async function runUntilCrash(env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'transformer/main.ts'], {
    cwd: PROJECT_ROOT,
    env: inheritedEnv({ ...env, LOG_LEVEL: 'warn', TRANSFORMER_CRASH_AT: 'after-commit' }),
    stdio: 'ignore',
  });
  await pollUntil(() => child.exitCode !== null || child.signalCode !== null, {
    what: 'the transformer to reach its crash point',
    timeoutMs: 600_000,
  });
  if (child.signalCode !== 'SIGKILL')
    throw new PulsoError(`the transformer ended with ${child.exitCode ?? child.signalCode} instead of its crash point`);
}

/**
 * Starts the transformer with `env`, waits for its first committed batch after joining, and stops it.
 */
export async function runTransformer(env: Record<string, string>): Promise<TransformerRun> {
  const started = Date.now();
  // Started as `npm run up` starts it: with its heap limit.
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${loadConfig().transformer.heapMb}`, '--import', 'tsx', 'transformer/main.ts'],
    { cwd: PROJECT_ROOT, env: inheritedEnv({ ...env, LOG_LEVEL: 'info' }), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let joinedAt: number | undefined;
  let first: { ms: number; restoreMs: number | null } | undefined;
  child.stderr!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (joinedAt === undefined && line.includes('"joined consumer group"'))
        joinedAt = Date.parse((JSON.parse(line) as { ts: string }).ts);
      if (!first && line.includes('"first batch committed after joining"'))
        first = JSON.parse(line) as { ms: number; restoreMs: number | null };
    }
  });
  try {
    await pollUntil(() => first !== undefined || child.exitCode !== null, {
      what: 'the transformer to commit its first batch',
      timeoutMs: 600_000,
      intervalMs: 50,
    });
    if (!first) throw new PulsoError(`the transformer exited with ${child.exitCode} before committing a batch`);
    const rss = peakRss(child.pid!);
    return {
      joinMs: (joinedAt ?? started) - started,
      firstCommitMs: first.ms,
      restoreMs: first.restoreMs,
      peakRssMiB: rss,
    };
  } finally {
    child.kill('SIGTERM');
    await pollUntil(() => child.exitCode !== null || child.signalCode !== null, {
      what: 'the transformer to stop',
      timeoutMs: 60_000,
    });
  }
}
