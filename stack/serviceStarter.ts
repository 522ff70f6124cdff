// Starting services in dependency order, in parallel where the dependencies allow: each one as soon as what
// it runs after is healthy, already-running healthy ones reported and left alone, and on the first failure
// everything this run started is stopped again (with the failing service's log tail in the error).
import { rmSync } from 'node:fs';
import { pollUntil, PollTimeoutError } from '../lib/poll.ts';
import {
  isAlive,
  logFile,
  pidFile,
  portInUse,
  runningPid,
  spawnDetached,
  stopGroup,
  tailLog,
  type ProcessPaths,
} from './processes.ts';
import type { ServiceDef, ServiceName } from './services.ts';
import { StackError } from './stackError.ts';

export class ServiceStarter {
  readonly healthy = new Set<ServiceName>();
  readonly started: ServiceName[] = [];
  readonly alreadyRunning: ServiceName[] = [];
  private readonly byName: Map<ServiceName, ServiceDef>;
  private aborted = false;

  constructor(
    private readonly services: readonly ServiceDef[],
    private readonly paths: ProcessPaths,
    private readonly say: (line: string) => void,
  ) {
    this.byName = new Map(services.map((s) => [s.name, s]));
  }

  /** Running and healthy services are reported, not started twice. */
  async findRunning(): Promise<void> {
    await Promise.all(
      this.services.map(async (s) => {
        if (runningPid(this.paths, s.name) !== undefined && (await s.health())) {
          this.healthy.add(s.name);
          this.alreadyRunning.push(s.name);
        }
      }),
    );
    if (this.alreadyRunning.length > 0) this.say(`already running: ${this.alreadyRunning.join(', ')}`);
  }

  /** Starts every service of the stage as soon as the ones it depends on are healthy. */
  async startAll(stage: 'infra' | 'pipeline'): Promise<void> {
    const pending = new Set(
      this.services.filter((s) => s.stage === stage && !this.healthy.has(s.name)).map((s) => s.name),
    );
    const inFlight = new Map<ServiceName, Promise<void>>();
    let firstError: unknown;
    while (pending.size > 0 || inFlight.size > 0) {
      for (const name of [...pending]) {
        const s = this.byName.get(name)!;
        if (!s.after.every((d) => this.healthy.has(d) || !this.byName.has(d))) continue;
        pending.delete(name);
        const starting = this.startOne(s).catch((e) => void (firstError ??= e));
        inFlight.set(
          name,
          starting.finally(() => inFlight.delete(name)),
        );
      }
      if (inFlight.size === 0 && pending.size > 0)
        throw new StackError(`cannot start ${[...pending].join(', ')}: dependencies never became healthy`);
      await Promise.race(inFlight.values());
      if (firstError) await this.abort(inFlight, firstError);
    }
  }

  /** Stops what this run started (in reverse), after the other starts in flight have settled; rethrows. */
  private async abort(inFlight: Map<ServiceName, Promise<void>>, error: unknown): Promise<never> {
    this.aborted = true;
    await Promise.allSettled(inFlight.values());
    for (const name of [...this.started].reverse()) {
      const pid = runningPid(this.paths, name);
      if (pid) await stopGroup(pid, this.byName.get(name)!.stopSignal, 15_000);
      rmSync(pidFile(this.paths, name), { force: true });
    }
    if (error instanceof StackError)
      error.message += `\nStopped what this run started (${this.started.join(', ') || 'nothing'}).`;
    throw error;
  }

  private async failed(s: ServiceDef, why: string): Promise<never> {
    this.aborted = true;
    const tail = tailLog(this.paths, s.name, 40);
    throw new StackError(`${s.name} ${why}.\n--- last lines of ${logFile(this.paths, s.name)} ---\n${tail}\n---`);
  }

  private async startOne(s: ServiceDef): Promise<void> {
    let existing = runningPid(this.paths, s.name);
    if (existing !== undefined && !(await s.health())) {
      // A process that is still stopping (or hung) is not a healthy service: let it finish, then start anew.
      this.say(`${s.name}: process ${existing} exists but is not healthy; waiting for it to stop`);
      await stopGroup(existing, s.stopSignal, 20_000);
      rmSync(pidFile(this.paths, s.name), { force: true });
      existing = undefined;
    }
    if (existing === undefined && !(await this.spawn(s))) return;
    const t = Date.now();
    const outcome = await this.awaitHealthy(s);
    if (outcome === 'aborted') return;
    if (outcome === 'exited') await this.failed(s, 'exited while starting');
    if (outcome === 'timed out') await this.failed(s, `did not become healthy within ${s.startTimeoutS}s`);
    this.healthy.add(s.name);
    this.say(`${s.name}: healthy on ${s.url} (${((Date.now() - t) / 1000).toFixed(1)}s)`);
  }

  /** Prepares and spawns it; false when another service failed meanwhile. */
  private async spawn(s: ServiceDef): Promise<boolean> {
    if (await portInUse(s.port))
      await this.failed(
        s,
        `cannot start: port ${s.port} on 127.0.0.1 was taken meanwhile (move it with ${s.portVar}=<free port>)`,
      );
    const prepared = await s.prepare?.().catch((e: Error) => this.failed(s, `could not be prepared: ${e.message}`));
    if (prepared) this.say(`${s.name}: ${prepared}`);
    if (this.aborted) return false;
    spawnDetached(this.paths, s.spawnSpec());
    this.started.push(s.name);
    this.say(`${s.name}: starting`);
    return true;
  }

  private awaitHealthy(s: ServiceDef) {
    return pollUntil(
      async () => {
        if (this.aborted) return 'aborted' as const; // another service failed; everything started is stopped
        if (await s.health()) return 'healthy' as const;
        const pid = runningPid(this.paths, s.name);
        return pid === undefined || !isAlive(pid) ? ('exited' as const) : undefined;
      },
      { what: `${s.name} to become healthy`, timeoutMs: s.startTimeoutS * 1000, intervalMs: 400 },
    ).catch((e: unknown) => (e instanceof PollTimeoutError ? ('timed out' as const) : Promise.reject(e)));
  }

  /** The services now healthy and running: what the supervisor is to watch. */
  upAndRunning(): ServiceName[] {
    return this.services
      .filter((s) => this.healthy.has(s.name) && runningPid(this.paths, s.name) !== undefined)
      .map((s) => s.name);
  }
}
