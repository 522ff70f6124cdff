// Detached service processes: spawn with a log file and a pid file, find, measure and stop them.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync, existsSync, rmSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createConnection, createServer } from 'node:net';
import { pollUntil } from '../lib/poll.ts';
import { inheritedEnv } from '../lib/config.ts';

export interface ProcessPaths {
  readonly runDir: string;
  readonly logDir: string;
}

export function pidFile(paths: ProcessPaths, name: string): string {
  return resolve(paths.runDir, `${name}.pid`);
}

export function logFile(paths: ProcessPaths, name: string): string {
  return resolve(paths.logDir, `${name}.log`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export function readPid(paths: ProcessPaths, name: string): number | undefined {
  const f = pidFile(paths, name);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid of a running service, or undefined (a stale pid file is removed). */
export function runningPid(paths: ProcessPaths, name: string): number | undefined {
  const pid = readPid(paths, name);
  if (pid === undefined) return undefined;
  if (isAlive(pid)) return pid;
  rmSync(pidFile(paths, name), { force: true });
  return undefined;
}

export interface SpawnSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: Record<string, string | undefined>;
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Starts a service in its own session (process group) so that `down` can stop it and all its
 * children, and so that it outlives the `up` command. Output is appended to its log file.
 */
export function spawnDetached(paths: ProcessPaths, spec: SpawnSpec): number {
  mkdirSync(paths.runDir, { recursive: true });
  mkdirSync(paths.logDir, { recursive: true });
  const fd = openSync(logFile(paths, spec.name), 'a');
  try {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: inheritedEnv(spec.env),
      detached: true,
      stdio: ['ignore', fd, fd],
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    writeFileSync(pidFile(paths, spec.name), String(child.pid));
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Every pid in a process group (the service and its children, e.g. PostgreSQL backends). */
export function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      /* process exited while scanning */
    }
  }
  return out;
}

/** Resident memory of a whole process group, in bytes. */
export function groupRssBytes(pgid: number): number {
  let total = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      if (m) total += Number(m[1]) * 1024;
    } catch {
      /* gone */
    }
  }
  return total;
}

/** Stops a process group: the given signal first, SIGKILL after the grace period. */
export async function stopGroup(pgid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<'stopped' | 'killed'> {
  try {
    process.kill(-pgid, signal);
  } catch {
    return 'stopped';
  }
  const gone = () => groupPids(pgid).length === 0;
  if (await pollUntil(gone, { what: `process group ${pgid} to exit`, timeoutMs: graceMs, intervalMs: 200 }).catch(() => false)) return 'stopped';
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await pollUntil(gone, { what: `process group ${pgid} to die`, timeoutMs: 5000, intervalMs: 200 }).catch(() => undefined);
  return 'killed';
}

/** True when something already listens on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(true));
    server.once('listening', () => server.close(() => resolvePromise(false)));
    server.listen(port, '127.0.0.1');
  });
}

export function tcpAnswers(port: number, send?: string, timeoutMs = 1500): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const done = (v: string | undefined) => {
      socket.destroy();
      resolvePromise(v);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => {
      if (send === undefined) done('');
      else socket.write(send);
    });
    socket.on('data', (d) => (data += d.toString()));
    socket.once('end', () => done(data));
  });
}

/** The last lines of a service's log, to explain a failure. */
export function tailLog(paths: ProcessPaths, name: string, lines = 40): string {
  const f = logFile(paths, name);
  if (!existsSync(f)) return '(no log)';
  const size = statSync(f).size;
  const text = readFileSync(f, 'utf8').slice(Math.max(0, size - 64_000));
  return text.split('\n').slice(-lines).join('\n');
}
