// The local stack's supervisor: a detached process that `up` starts and `down` stops first. It watches every
// service `up` brought up and restarts one that dies, after its dependencies are healthy again, with back-off
// and a restart budget (restartPolicy.ts); one that keeps crashing is given up on and reported with the end
// of its log. What it knows is in run/supervisor.json, which `npm run status` shows.
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createLogger } from '../lib/log.ts';
import { pollUntil, sleep } from '../lib/poll.ts';
import { rotateLog } from './disk.ts';
import {
  groupPids,
  inspectPidFile,
  logFile,
  pidFile,
  processIdentity,
  portInUse,
  spawnDetached,
  stopGroup,
  tailLog,
  type ProcessPaths,
} from './processes.ts';
import type { ServiceDef, ServiceName } from './services.ts';
import { decideRestart, describeExit, DEFAULT_RESTART_POLICY, type RestartPolicy } from './restartPolicy.ts';
import {
  newServiceRecord,
  readDesiredServices,
  readSupervisorState,
  writeSupervisorState,
  type SupervisorState,
  type SupervisedService,
} from './supervisorState.ts';

export interface SuperviseOptions {
  readonly services: readonly ServiceDef[];
  readonly paths: ProcessPaths;
  readonly signal: AbortSignal;
  readonly policy?: RestartPolicy;
  /** How often the pid files are checked (deaths of the supervisor's own children wake it at once). */
  readonly checkEveryMs?: number;
  /** A service that is alive but not `working()` for this long is restarted (default 60 s). */
  readonly stuckAfterMs?: number;
  /** Service logs above maxBytes are rotated, keeping `keep` old files (checked every tenth check). */
  readonly logs?: { readonly maxBytes: number; readonly keep: number };
}

/** Rotates each log that reached its cap; a failure (a full disk) is logged and tried again later. */
function rotateLogs(paths: ProcessPaths, names: readonly string[], limits: { maxBytes: number; keep: number }): void {
  for (const name of names) {
    try {
      if (rotateLog(logFile(paths, name), limits.maxBytes, limits.keep))
        log.info('rotated a service log', { service: name, keep: limits.keep });
    } catch (e) {
      log.warn('could not rotate a service log', { service: name, error: (e as Error).message });
    }
  }
}

const log = createLogger('supervisor');

export async function supervise(opts: SuperviseOptions): Promise<void> {
  const { paths, signal } = opts;
  const policy = opts.policy ?? DEFAULT_RESTART_POLICY;
  const byName = new Map(opts.services.map((s) => [s.name, s]));
  const previous = readSupervisorState(paths);
  const state: SupervisorState = { pid: process.pid, startedAt: new Date().toISOString(), updatedAt: '', services: {} };
  for (const s of opts.services) {
    const was = previous?.services[s.name];
    // Counts and history carry over; `up` has just brought everything up, so nothing is given up on any more.
    state.services[s.name] = was ? { ...was, state: 'running', logTail: undefined } : newServiceRecord();
  }
  const save = () => writeSupervisorState(paths, state);
  save();

  /** Exit status of the processes this supervisor started itself (the others' parent is gone). */
  const exits = new Map<ServiceName, { pid: number; how?: string }>();
  // A death of one of its own children, or a finished restart, ends the pause between checks early.
  let wakeUp = new AbortController();
  const wake = () => wakeUp.abort();
  const restarting = new Set<ServiceName>();
  /** Why a live service was stopped for being stuck: the reason its restart reports. */
  const stuckReasons = new Map<ServiceName, string>();
  const badSince = new Map<ServiceName, { at: number; why: string }>();
  const lastSeen = new Map<ServiceName, number>();

  const track = (name: ServiceName, pid: number, child: ChildProcess) => {
    exits.set(name, { pid });
    child.once('exit', (code, sig) => {
      const e = exits.get(name);
      if (e?.pid === pid) e.how = describeExit(code, sig);
      wake();
    });
  };

  const healthy = async (s: ServiceDef) => s.health().catch(() => false);

  const restart = async (
    s: ServiceDef,
    rec: SupervisedService,
    pid: number,
    why: string,
    processGone: boolean,
  ): Promise<void> => {
    const diedAt = Date.now();
    const own = exits.get(s.name);
    // One of its own children: the exit event (status, signal) may trail the check that found it gone.
    if (own?.pid === pid && !own.how)
      await pollUntil(() => own.how, { what: 'the exit status', timeoutMs: 1000, intervalMs: 10 }).catch(
        () => undefined,
      );
    const reason = stuckReasons.get(s.name) ?? (own?.pid === pid && own.how ? own.how : why);
    stuckReasons.delete(s.name);
    rec.lastReason = reason;
    rec.lastDeathAt = new Date(diedAt).toISOString();
    rmSync(pidFile(paths, s.name), { force: true });
    const decision = decideRestart(rec.restartTimes, diedAt, policy);
    if (decision.action === 'give-up') {
      rec.state = 'gave-up';
      rec.logTail = tailLog(paths, s.name, 30);
      save();
      log.error(
        'giving up on a service that keeps dying; run `npm run logs -- <name>`, fix the cause, then `npm run up`',
        { service: s.name, reason, why: decision.why },
      );
      return;
    }
    rec.state = 'restarting';
    save();
    log.warn('service died; restarting', {
      service: s.name,
      pid,
      reason,
      attempt: decision.attempt,
      inMs: decision.delayMs,
    });
    // What the dead leader left in its process group (PostgreSQL backends, say) would hold its port and
    // memory. While any member lives the group id cannot be handed to a new process, so this signals only them.
    if (processGone && groupPids(pid).length > 0) await stopGroup(pid, 'SIGKILL', 10_000);
    await sleep(decision.delayMs, undefined, { signal });

    const deps = s.after.map((d) => byName.get(d)).filter((d): d is ServiceDef => d !== undefined);
    if (!(await allHealthy(deps))) {
      rec.state = 'waiting-for-dependencies';
      save();
      await pollUntil(() => allHealthy(deps), {
        what: `${s.name}'s dependencies`,
        timeoutMs: 24 * 3600_000,
        intervalMs: 500,
        signal,
      });
    }
    await pollUntil(async () => !(await portInUse(s.port)), {
      what: `port ${s.port} to be free`,
      timeoutMs: 30_000,
      intervalMs: 250,
      signal,
    }).catch(() => undefined);
    const prepared = await s.prepare?.().catch((e: Error) => `prepare failed: ${e.message}`);
    if (prepared) log.info('prepared', { service: s.name, step: prepared });
    signal.throwIfAborted();
    const { pid: newPid, child } = spawnDetached(paths, s.spawnSpec());
    track(s.name, newPid, child);
    rec.restarts += 1;
    rec.restartTimes = [...rec.restartTimes.filter((t) => diedAt - t < policy.windowMs), diedAt];
    save();
    const ok = await pollUntil(
      async () =>
        (await healthy(s)) ? 'healthy' : inspectPidFile(paths, s.name).kind === 'running' ? undefined : 'died',
      {
        what: `${s.name} to become healthy`,
        timeoutMs: s.startTimeoutS * 1000,
        intervalMs: 250,
        signal,
      },
    ).catch(() => 'timed out' as const);
    if (ok === 'healthy') {
      rec.state = 'running';
      rec.lastRecoveryMs = Date.now() - diedAt;
      save();
      log.info('service recovered', {
        service: s.name,
        pid: newPid,
        recoveryMs: rec.lastRecoveryMs,
        restarts: rec.restarts,
      });
    } else if (ok === 'timed out') {
      // Alive but never healthy: stopped, so the next check counts it as a death and the budget applies.
      log.warn('restarted service never became healthy; stopping it', {
        service: s.name,
        pid: newPid,
        waitedS: s.startTimeoutS,
      });
      await stopGroup(newPid, s.stopSignal, 15_000);
    }
  };

  const allHealthy = async (deps: readonly ServiceDef[]) => (await Promise.all(deps.map(healthy))).every(Boolean);

  const check = () => {
    const desired = new Set(readDesiredServices(paths));
    for (const s of opts.services) {
      const rec = (state.services[s.name] ??= newServiceRecord());
      if (!desired.has(s.name) || restarting.has(s.name) || rec.state === 'gave-up') continue;
      const pidState = inspectPidFile(paths, s.name);
      if (pidState.kind === 'running') {
        lastSeen.set(s.name, pidState.pid);
        continue;
      }
      // No pid file: another command (status, say) found the process dead and removed its stale file first.
      const seen = lastSeen.get(s.name);
      const pid = pidState.kind === 'stale' ? pidState.pid : (seen ?? 0);
      const gone =
        pidState.kind === 'stale' ? pidState.processGone : seen !== undefined && processIdentity(seen) === undefined;
      const why =
        pidState.kind === 'stale'
          ? pidState.why
          : seen !== undefined
            ? `process ${seen} is gone`
            : 'its pid file is missing';
      restarting.add(s.name);
      void restart(s, rec, pid, `${why} (exit status unknown: it was started before this supervisor)`, gone)
        .catch((e: unknown) => {
          if (!signal.aborted) log.error('restart failed', { service: s.name, error: (e as Error).message });
        })
        .finally(() => {
          restarting.delete(s.name);
          wake();
        });
    }
  };

  // Alive but stuck: judged every 5 s, restarted after a whole minute of it (a restart is not free either).
  const stuckAfterMs = opts.stuckAfterMs ?? 60_000;
  const watchWork = async () => {
    while (!signal.aborted) {
      const desired = new Set(readDesiredServices(paths));
      for (const s of opts.services) {
        if (
          !s.working ||
          !desired.has(s.name) ||
          restarting.has(s.name) ||
          state.services[s.name]?.state !== 'running'
        ) {
          badSince.delete(s.name);
          continue;
        }
        const verdict = await s.working().catch((e: Error) => ({ ok: false as const, why: e.message }));
        if (!verdict || verdict.ok) {
          badSince.delete(s.name);
          continue;
        }
        const since = badSince.get(s.name) ?? { at: Date.now(), why: verdict.why };
        badSince.set(s.name, since);
        const pidState = inspectPidFile(paths, s.name);
        if (Date.now() - since.at >= stuckAfterMs && pidState.kind === 'running') {
          const why = `alive but stuck for ${Math.round((Date.now() - since.at) / 1000)} s (${verdict.why})`;
          log.warn('service is stuck; stopping it to restart it', { service: s.name, pid: pidState.pid, why });
          stuckReasons.set(s.name, why);
          badSince.delete(s.name);
          await stopGroup(pidState.pid, s.stopSignal, 20_000);
          wake();
        }
      }
      await sleep(5000, undefined, { signal }).catch(() => undefined);
    }
  };
  const watching = watchWork();

  log.info('supervising', { services: [...byName.keys()], policy });
  let checks = 0;
  while (!signal.aborted) {
    check();
    if (opts.logs && checks++ % 10 === 0) rotateLogs(paths, [...byName.keys(), 'supervisor'], opts.logs);
    await sleep(opts.checkEveryMs ?? 1000, undefined, { signal: AbortSignal.any([signal, wakeUp.signal]) }).catch(
      () => undefined,
    );
    wakeUp = new AbortController();
  }
  await watching;
  save();
  log.info('stopped; the services keep running', {});
}
