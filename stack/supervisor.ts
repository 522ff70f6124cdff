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
  await new Supervisor(opts).run();
}

/** What the last check found about a service that is not running: its pid, why, whether the process is gone. */
interface Death {
  readonly pid: number;
  readonly why: string;
  readonly processGone: boolean;
}

class Supervisor {
  private readonly paths: ProcessPaths;
  private readonly signal: AbortSignal;
  private readonly policy: RestartPolicy;
  private readonly byName: Map<ServiceName, ServiceDef>;
  private readonly state: SupervisorState;
  /** Exit status of the processes this supervisor started itself (the others' parent is gone). */
  private readonly exits = new Map<ServiceName, { pid: number; how?: string }>();
  /** A death of one of its own children, or a finished restart, ends the pause between checks early. */
  private wakeUp = new AbortController();
  private readonly restarting = new Set<ServiceName>();
  /** Why a live service was stopped for being stuck: the reason its restart reports. */
  private readonly stuckReasons = new Map<ServiceName, string>();
  private readonly badSince = new Map<ServiceName, { at: number; why: string }>();
  private readonly lastSeen = new Map<ServiceName, number>();

  constructor(private readonly opts: SuperviseOptions) {
    this.paths = opts.paths;
    this.signal = opts.signal;
    this.policy = opts.policy ?? DEFAULT_RESTART_POLICY;
    this.byName = new Map(opts.services.map((s) => [s.name, s]));
    const previous = readSupervisorState(opts.paths);
    this.state = { pid: process.pid, startedAt: new Date().toISOString(), updatedAt: '', services: {} };
    for (const s of opts.services) {
      const was = previous?.services[s.name];
      // Counts and history carry over; `up` has just brought everything up, so nothing is given up on any more.
      this.state.services[s.name] = was ? { ...was, state: 'running', logTail: undefined } : newServiceRecord();
    }
    this.save();
  }

  async run(): Promise<void> {
    const watching = this.watchWork();
    log.info('supervising', { services: [...this.byName.keys()], policy: this.policy });
    let checks = 0;
    while (!this.signal.aborted) {
      this.check();
      if (this.opts.logs && checks++ % 10 === 0)
        rotateLogs(this.paths, [...this.byName.keys(), 'supervisor'], this.opts.logs);
      const pause = AbortSignal.any([this.signal, this.wakeUp.signal]);
      await sleep(this.opts.checkEveryMs ?? 1000, undefined, { signal: pause }).catch(() => undefined);
      this.wakeUp = new AbortController();
    }
    await watching;
    this.save();
    log.info('stopped; the services keep running', {});
  }

  private save(): void {
    writeSupervisorState(this.paths, this.state);
  }

  private wake(): void {
    this.wakeUp.abort();
  }

  private track(name: ServiceName, pid: number, child: ChildProcess): void {
    this.exits.set(name, { pid });
    child.once('exit', (code, sig) => {
      const e = this.exits.get(name);
      if (e?.pid === pid) e.how = describeExit(code, sig);
      this.wake();
    });
  }

  private healthy(s: ServiceDef): Promise<boolean> {
    return s.health().catch(() => false);
  }

  private async allHealthy(deps: readonly ServiceDef[]): Promise<boolean> {
    return (await Promise.all(deps.map((d) => this.healthy(d)))).every(Boolean);
  }

  /** Every desired service that is not restarting and not running is restarted (in the background). */
  private check(): void {
    const desired = new Set(readDesiredServices(this.paths));
    for (const s of this.opts.services) {
      const rec = (this.state.services[s.name] ??= newServiceRecord());
      if (!desired.has(s.name) || this.restarting.has(s.name) || rec.state === 'gave-up') continue;
      const death = this.findDeath(s.name);
      if (!death) continue;
      this.restarting.add(s.name);
      const why = `${death.why} (exit status unknown: it was started before this supervisor)`;
      void this.restart(s, rec, death.pid, why, death.processGone)
        .catch((e: unknown) => {
          if (!this.signal.aborted) log.error('restart failed', { service: s.name, error: (e as Error).message });
        })
        .finally(() => {
          this.restarting.delete(s.name);
          this.wake();
        });
    }
  }

  /** Undefined while the service runs; otherwise what its pid file (or the last pid seen) says of its death. */
  private findDeath(name: ServiceName): Death | undefined {
    const pidState = inspectPidFile(this.paths, name);
    if (pidState.kind === 'running') {
      this.lastSeen.set(name, pidState.pid);
      return undefined;
    }
    if (pidState.kind === 'stale') return { pid: pidState.pid, why: pidState.why, processGone: pidState.processGone };
    // No pid file: another command (status, say) found the process dead and removed its stale file first.
    const seen = this.lastSeen.get(name);
    if (seen === undefined) return { pid: 0, why: 'its pid file is missing', processGone: false };
    return { pid: seen, why: `process ${seen} is gone`, processGone: processIdentity(seen) === undefined };
  }

  private async restart(s: ServiceDef, rec: SupervisedService, pid: number, why: string, processGone: boolean) {
    const diedAt = Date.now();
    const reason = await this.deathReason(s.name, pid, why);
    rec.lastReason = reason;
    rec.lastDeathAt = new Date(diedAt).toISOString();
    rmSync(pidFile(this.paths, s.name), { force: true });
    const decision = decideRestart(rec.restartTimes, diedAt, this.policy);
    if (decision.action === 'give-up') {
      rec.state = 'gave-up';
      rec.logTail = tailLog(this.paths, s.name, 30);
      this.save();
      log.error(
        'giving up on a service that keeps dying; run `npm run logs -- <name>`, fix the cause, then `npm run up`',
        { service: s.name, reason, why: decision.why },
      );
      return;
    }
    rec.state = 'restarting';
    this.save();
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
    await sleep(decision.delayMs, undefined, { signal: this.signal });
    await this.readyToStart(s, rec);
    const newPid = this.respawn(s, rec, diedAt);
    await this.awaitRecovery(s, rec, newPid, diedAt);
  }

  /** Why it died: a stuck verdict, the exit status of a child of ours (which may trail the check), or `why`. */
  private async deathReason(name: ServiceName, pid: number, why: string): Promise<string> {
    const own = this.exits.get(name);
    if (own?.pid === pid && !own.how)
      await pollUntil(() => own.how, { what: 'the exit status', timeoutMs: 1000, intervalMs: 10 }).catch(
        () => undefined,
      );
    const reason = this.stuckReasons.get(name) ?? (own?.pid === pid && own.how ? own.how : why);
    this.stuckReasons.delete(name);
    return reason;
  }

  /** Waits for the service's dependencies to be healthy and its port to be free, then runs its prepare step. */
  private async readyToStart(s: ServiceDef, rec: SupervisedService): Promise<void> {
    const deps = s.after.map((d) => this.byName.get(d)).filter((d): d is ServiceDef => d !== undefined);
    if (!(await this.allHealthy(deps))) {
      rec.state = 'waiting-for-dependencies';
      this.save();
      await pollUntil(() => this.allHealthy(deps), {
        what: `${s.name}'s dependencies`,
        timeoutMs: 24 * 3600_000,
        intervalMs: 500,
        signal: this.signal,
      });
    }
    await pollUntil(async () => !(await portInUse(s.port)), {
      what: `port ${s.port} to be free`,
      timeoutMs: 30_000,
      intervalMs: 250,
      signal: this.signal,
    }).catch(() => undefined);
    const prepared = await s.prepare?.().catch((e: Error) => `prepare failed: ${e.message}`);
    if (prepared) log.info('prepared', { service: s.name, step: prepared });
    this.signal.throwIfAborted();
  }

  private respawn(s: ServiceDef, rec: SupervisedService, diedAt: number): number {
    const { pid, child } = spawnDetached(this.paths, s.spawnSpec());
    this.track(s.name, pid, child);
    rec.restarts += 1;
    rec.restartTimes = [...rec.restartTimes.filter((t) => diedAt - t < this.policy.windowMs), diedAt];
    this.save();
    return pid;
  }

  /** Healthy: recorded as recovered. Alive but never healthy: stopped, so the next check counts a death. */
  private async awaitRecovery(s: ServiceDef, rec: SupervisedService, pid: number, diedAt: number): Promise<void> {
    const outcome = await pollUntil(
      async () =>
        (await this.healthy(s))
          ? 'healthy'
          : inspectPidFile(this.paths, s.name).kind === 'running'
            ? undefined
            : 'died',
      { what: `${s.name} to become healthy`, timeoutMs: s.startTimeoutS * 1000, intervalMs: 250, signal: this.signal },
    ).catch(() => 'timed out' as const);
    if (outcome === 'healthy') {
      rec.state = 'running';
      rec.lastRecoveryMs = Date.now() - diedAt;
      this.save();
      log.info('service recovered', { service: s.name, pid, recoveryMs: rec.lastRecoveryMs, restarts: rec.restarts });
    } else if (outcome === 'timed out') {
      log.warn('restarted service never became healthy; stopping it', {
        service: s.name,
        pid,
        waitedS: s.startTimeoutS,
      });
      await stopGroup(pid, s.stopSignal, 15_000);
    }
  }

  /** Alive but stuck: judged every 5 s, restarted after a whole minute of it (a restart is not free either). */
  private async watchWork(): Promise<void> {
    while (!this.signal.aborted) {
      const desired = new Set(readDesiredServices(this.paths));
      for (const s of this.opts.services) {
        const judged = s.working && desired.has(s.name) && !this.restarting.has(s.name);
        if (judged && this.state.services[s.name]?.state === 'running') await this.judgeWork(s);
        else this.badSince.delete(s.name);
      }
      await sleep(5000, undefined, { signal: this.signal }).catch(() => undefined);
    }
  }

  private async judgeWork(s: ServiceDef): Promise<void> {
    const verdict = await s.working!().catch((e: Error) => ({ ok: false as const, why: e.message }));
    if (!verdict || verdict.ok) {
      this.badSince.delete(s.name);
      return;
    }
    const since = this.badSince.get(s.name) ?? { at: Date.now(), why: verdict.why };
    this.badSince.set(s.name, since);
    const pidState = inspectPidFile(this.paths, s.name);
    if (Date.now() - since.at < (this.opts.stuckAfterMs ?? 60_000) || pidState.kind !== 'running') return;
    const why = `alive but stuck for ${Math.round((Date.now() - since.at) / 1000)} s (${verdict.why})`;
    log.warn('service is stuck; stopping it to restart it', { service: s.name, pid: pidState.pid, why });
    this.stuckReasons.set(s.name, why);
    this.badSince.delete(s.name);
    await stopGroup(pidState.pid, s.stopSignal, 20_000);
    this.wake();
  }
}
