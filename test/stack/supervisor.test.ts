// The supervisor loop with real processes (small shell programs standing in for services): it restarts one
// that dies, names how it died, waits for its dependencies, and gives up on one that keeps crashing,
// keeping the end of its log. No stack needed.
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectPidFile, isAlive, spawnDetached, stopGroup, runningPid } from '../../stack/processes.ts';
import { supervise } from '../../stack/supervisor.ts';
import { readSupervisorState, writeDesiredServices } from '../../stack/supervisorState.ts';
import type { ServiceDef, ServiceName } from '../../stack/services.ts';
import { pollUntil } from '../../lib/poll.ts';

const dirs: string[] = [];
const stops: AbortController[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s.abort();
  for (const d of dirs.splice(0)) {
    for (const name of ['kafka', 'transformer']) {
      const pid = runningPid({ runDir: join(d, 'run'), logDir: join(d, 'logs') }, name);
      if (pid) await stopGroup(pid, 'SIGKILL', 2000);
    }
    rmSync(d, { recursive: true, force: true });
  }
});

function fixture() {
  const d = mkdtempSync(join(tmpdir(), 'pulso-sup-'));
  dirs.push(d);
  mkdirSync(join(d, 'run'), { recursive: true });
  return { dir: d, paths: { runDir: join(d, 'run'), logDir: join(d, 'logs') } };
}

/** A stand-in service: a program (a shell script when it starts with "sh:"); healthy while its process runs. */
function service(
  name: ServiceName,
  program: string,
  paths: { runDir: string; logDir: string },
  after: ServiceName[] = [],
): ServiceDef {
  // No `exec` in a script: a process that replaces its program no longer matches the command line recorded.
  const [command, ...args] = program.startsWith('sh:') ? ['sh', '-c', program.slice(3)] : program.split(' ');
  return {
    name,
    portVar: 'X',
    port: 1,
    url: '-',
    after,
    stage: 'infra',
    startTimeoutS: 10,
    stopSignal: 'SIGTERM',
    spawnSpec: () => ({ name, command: command!, args, cwd: tmpdir() }),
    health: async () => inspectPidFile(paths, name).kind === 'running',
  };
}

const policy = { firstDelayMs: 50, maxDelayMs: 200, budget: 3, windowMs: 60_000 };

describe('the supervisor', () => {
  it('restarts a service that dies, and names how it died once it is its own child', async () => {
    const { paths } = fixture();
    const svc = service('kafka', 'sleep 300', paths);
    const first = spawnDetached(paths, svc.spawnSpec()).pid;
    writeDesiredServices(paths, ['kafka']);
    const stop = new AbortController();
    stops.push(stop);
    const running = supervise({ services: [svc], paths, signal: stop.signal, policy, checkEveryMs: 100 });

    process.kill(-first, 'SIGKILL');
    const second = await pollUntil(
      () => {
        const p = inspectPidFile(paths, 'kafka');
        return p.kind === 'running' && p.pid !== first ? p.pid : undefined;
      },
      { what: 'a restart', timeoutMs: 10_000, intervalMs: 50 },
    );
    await pollUntil(() => readSupervisorState(paths)?.services.kafka?.state === 'running', {
      what: 'recovered',
      timeoutMs: 5000,
      intervalMs: 50,
    });
    expect(readSupervisorState(paths)?.services.kafka).toMatchObject({
      restarts: 1,
      state: 'running',
      lastReason: expect.stringMatching(/process \d+ is gone/),
    });

    process.kill(-second, 'SIGKILL'); // this one the supervisor started: it sees the signal
    await pollUntil(
      () =>
        readSupervisorState(paths)?.services.kafka?.restarts === 2 &&
        readSupervisorState(paths)?.services.kafka?.state === 'running'
          ? true
          : undefined,
      { what: 'second restart', timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(readSupervisorState(paths)?.services.kafka?.lastReason).toBe('killed by SIGKILL');
    expect(readSupervisorState(paths)?.services.kafka?.lastRecoveryMs).toBeLessThan(5000);
    stop.abort();
    await running;
    // Stopping the supervisor leaves the service running.
    expect(isAlive(runningPid(paths, 'kafka')!)).toBe(true);
  });

  it('gives up on a service that keeps crashing, and keeps the end of its log', async () => {
    const { paths } = fixture();
    const svc = service('transformer', 'sh:echo "fatal: no such topic orders"; exit 3', paths);
    spawnDetached(paths, svc.spawnSpec());
    writeDesiredServices(paths, ['transformer']);
    const stop = new AbortController();
    stops.push(stop);
    const running = supervise({ services: [svc], paths, signal: stop.signal, policy, checkEveryMs: 50 });
    await pollUntil(() => readSupervisorState(paths)?.services.transformer?.state === 'gave-up', {
      what: 'give up',
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const rec = readSupervisorState(paths)!.services.transformer!;
    expect(rec.restarts).toBe(3);
    expect(rec.lastReason).toBe('exited with status 3');
    expect(rec.logTail).toContain('fatal: no such topic orders');
    stop.abort();
    await running;
  });

  it('does not restart a service before what it depends on is healthy, nor one `up` did not bring up', async () => {
    const { paths } = fixture();
    const kafka = service('kafka', 'sleep 300', paths);
    const transformer = service('transformer', 'sleep 300', paths, ['kafka']);
    const t = spawnDetached(paths, transformer.spawnSpec()).pid;
    writeDesiredServices(paths, ['transformer']);
    writeFileSync(join(paths.runDir, 'kafka.pid'), '{}'); // kafka is not desired: left alone even though "dead"
    const stop = new AbortController();
    stops.push(stop);
    const running = supervise({ services: [kafka, transformer], paths, signal: stop.signal, policy, checkEveryMs: 50 });
    process.kill(-t, 'SIGKILL');
    await pollUntil(() => readSupervisorState(paths)?.services.transformer?.state === 'waiting-for-dependencies', {
      what: 'waiting',
      timeoutMs: 5000,
      intervalMs: 20,
    });
    expect(runningPid(paths, 'transformer')).toBeUndefined();
    // Kafka comes back (started by someone else): the transformer follows.
    spawnDetached(paths, kafka.spawnSpec());
    await pollUntil(() => readSupervisorState(paths)?.services.transformer?.state === 'running', {
      what: 'transformer back',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(readSupervisorState(paths)?.services.kafka?.restarts).toBe(0);
    stop.abort();
    await running;
  });

  it('restarts a service that is alive but stuck (its `working` check fails) for long enough, and says so', async () => {
    const { paths } = fixture();
    let stuck = true;
    const svc = {
      ...service('kafka', 'sleep 300', paths),
      working: async () =>
        stuck ? { ok: false as const, why: 'connector UNASSIGNED, task RUNNING' } : { ok: true as const },
    };
    const first = spawnDetached(paths, svc.spawnSpec()).pid;
    writeDesiredServices(paths, ['kafka']);
    const stop = new AbortController();
    stops.push(stop);
    const running = supervise({
      services: [svc],
      paths,
      signal: stop.signal,
      policy,
      checkEveryMs: 50,
      stuckAfterMs: 300,
    });
    await pollUntil(
      () => {
        const p = inspectPidFile(paths, 'kafka');
        return p.kind === 'running' && p.pid !== first ? true : undefined;
      },
      { what: 'a restart of the stuck service', timeoutMs: 20_000, intervalMs: 50 },
    );
    stuck = false;
    await pollUntil(() => readSupervisorState(paths)?.services.kafka?.state === 'running', {
      what: 'running again',
      timeoutMs: 5000,
      intervalMs: 50,
    });
    expect(readSupervisorState(paths)?.services.kafka?.lastReason).toMatch(
      /^alive but stuck for \d+ s \(connector UNASSIGNED, task RUNNING\)$/,
    );
    stop.abort();
    await running;
  }, 30_000);
});
