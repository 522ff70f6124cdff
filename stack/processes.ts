// Detached service processes: spawn with a log file and a pid file, find, measure and stop them.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync, existsSync, rmSync, mkdirSync, readdirSync } from 'node:fs';
import { tailFile } from './disk.ts';
import { resolve } from 'node:path';
import { createConnection } from 'node:net';
import { pollUntil } from '../lib/poll.ts';
import { serviceEnv } from '../lib/config.ts';
import { PulsoError } from '../lib/errors.ts';

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
  const stat = procStat(pid);
  return stat !== undefined && stat[0] === 'Z';
}

/** The fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, ...]; undefined when gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Who a pid is: its start time (clock ticks since boot, /proc/<pid>/stat field 22), the boot it belongs to,
 * and its command line. A pid alone is not an identity: after a reboot or a wrap-around the same number can
 * belong to any other program, and the stack signals whole process groups, as root.
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTicks: string;
  readonly bootId: string;
  readonly cmdline: readonly string[];
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export function processIdentity(pid: number): ProcessIdentity | undefined {
  const stat = procStat(pid);
  if (!stat || stat[0] === 'Z') return undefined;
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
  // Field 22 (starttime) is the 20th after the command name.
  return { pid, startTicks: stat[19]!, bootId: bootId(), cmdline };
}

/** True when both records name the same process: same pid, boot, start time and command line. */
export function sameProcess(recorded: ProcessIdentity, current: ProcessIdentity | undefined): boolean {
  return (
    current !== undefined &&
    recorded.pid === current.pid &&
    recorded.bootId === current.bootId &&
    recorded.startTicks === current.startTicks &&
    recorded.cmdline.join('\0') === current.cmdline.join('\0')
  );
}

export type PidFileState =
  | { readonly kind: 'none' }
  | { readonly kind: 'running'; readonly pid: number }
  /** The file names a process that is gone, or a different process now holding that pid. */
  | { readonly kind: 'stale'; readonly pid: number; readonly why: string; readonly processGone: boolean };

/** Reads a pid file and checks the process it names is still the one that was started. */
export function inspectPidFile(paths: ProcessPaths, name: string): PidFileState {
  const f = pidFile(paths, name);
  if (!existsSync(f)) return { kind: 'none' };
  const text = readFileSync(f, 'utf8').trim();
  let recorded: ProcessIdentity | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ProcessIdentity>;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      Number.isInteger(parsed.pid) &&
      typeof parsed.startTicks === 'string' &&
      Array.isArray(parsed.cmdline)
    ) {
      recorded = parsed as ProcessIdentity;
    }
  } catch {
    /* a bare number: the format before identities were recorded */
  }
  if (!recorded) {
    const pid = Number(text);
    return {
      kind: 'stale',
      pid: Number.isInteger(pid) ? pid : 0,
      why: 'the pid file records no start time and command line (older format), so the process cannot be identified',
      processGone: false,
    };
  }
  const current = processIdentity(recorded.pid);
  if (!current) return { kind: 'stale', pid: recorded.pid, why: `process ${recorded.pid} is gone`, processGone: true };
  if (!sameProcess(recorded, current)) {
    return {
      kind: 'stale',
      pid: recorded.pid,
      why: `pid ${recorded.pid} now belongs to another process (${current.cmdline.slice(0, 3).join(' ').slice(0, 120)})`,
      processGone: false,
    };
  }
  return { kind: 'running', pid: recorded.pid };
}

/** Where stale pid files are reported; the stack CLI and the supervisor route it to their own output. */
let reportStale: (message: string) => void = (m) => process.stderr.write(`${m}\n`);
export function onStalePidFile(report: (message: string) => void): void {
  reportStale = report;
}

/**
 * The pid of a running service, or undefined. A stale pid file is removed with a message, and the pid it
 * named is never signalled: its process is gone, or the pid now belongs to something else.
 */
export function runningPid(paths: ProcessPaths, name: string): number | undefined {
  const state = inspectPidFile(paths, name);
  if (state.kind === 'running') return state.pid;
  if (state.kind === 'stale') {
    rmSync(pidFile(paths, name), { force: true });
    reportStale(`${name}: removed a stale pid file (${state.why}); that process is left alone`);
  }
  return undefined;
}

export interface SpawnSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Variables this service needs, by name (a password included where it needs one). */
  readonly env?: Record<string, string | undefined>;
  /** 'pulso': also the Pulso variables that are set (our Node services); default 'minimal': only PATH, locale and the like. */
  readonly environment?: 'pulso' | 'minimal';
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Starts a service in its own session (process group) so that `down` can stop it and all its
 * children, and so that it outlives the `up` command. Output is appended to its log file.
 */
export function spawnDetached(paths: ProcessPaths, spec: SpawnSpec): { pid: number; child: ChildProcess } {
  mkdirSync(paths.runDir, { recursive: true });
  mkdirSync(paths.logDir, { recursive: true });
  const fd = openSync(logFile(paths, spec.name), 'a');
  try {
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: serviceEnv(spec.environment ?? 'minimal', spec.env),
      detached: true,
      stdio: ['ignore', fd, fd],
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new PulsoError(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    // libuv returns once the child has exec'd, so /proc already shows the service's own command line.
    // One that died at once is recorded as such: whoever waits for its health sees it exited.
    const identity = processIdentity(child.pid) ?? {
      pid: child.pid,
      startTicks: 'exited',
      bootId: bootId(),
      cmdline: [],
    };
    try {
      writeFileSync(pidFile(paths, spec.name), JSON.stringify(identity));
    } catch (e) {
      // Untracked, it would hold its port and outlive `down`: a service we cannot record is not left running.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      throw new PulsoError(
        `could not write ${pidFile(paths, spec.name)} (${(e as Error).message}), so ${spec.name} was stopped again: a process without its pid file cannot be stopped by \`down\`. Is the disk under ${paths.runDir} full?`,
      );
    }
    return { pid: child.pid, child };
  } finally {
    closeSync(fd);
  }
}

/** Every pid in a process group (the service and its children, e.g. PostgreSQL backends). */
export function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = procStat(Number(entry)); // undefined: the process exited while scanning
    if (fields && Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry));
  }
  return out;
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK))

/**
 * CPU time a whole process group has used, in seconds: user + system of every live member, plus what its
 * reaped children used (cutime + cstime). Differences of two readings give a service's CPU share.
 */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const pid of groupPids(pgid)) {
    const f = procStat(pid);
    // After the command name: utime, stime, cutime, cstime are fields 14–17, indexes 11–14 here.
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / CLOCK_TICKS_PER_S;
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
export async function stopGroup(
  pgid: number,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 20_000,
): Promise<'stopped' | 'killed'> {
  try {
    process.kill(-pgid, signal);
  } catch {
    return 'stopped';
  }
  const gone = () => groupPids(pgid).length === 0;
  if (
    await pollUntil(gone, { what: `process group ${pgid} to exit`, timeoutMs: graceMs, intervalMs: 200 }).catch(
      () => false,
    )
  )
    return 'stopped';
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await pollUntil(gone, { what: `process group ${pgid} to die`, timeoutMs: 5000, intervalMs: 200 }).catch(
    () => undefined,
  );
  return 'killed';
}

/** True when something already listens on 127.0.0.1:port. */
/**
 * Whether something listens on 127.0.0.1:port (or on every address). Asked by connecting, not by binding: a port
 * a stopped server leaves in TIME_WAIT refuses a test bind for a minute, while the server itself (which sets
 * SO_REUSEADDR) would start on it at once — `npm run down && npm run up` used to fail on PostgreSQL's port.
 */
export function portInUse(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (inUse: boolean) => {
      socket.destroy();
      resolvePromise(inUse);
    };
    socket.setTimeout(timeoutMs, () => done(true)); // something holds it without answering: not free
    socket.once('connect', () => done(true));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code !== 'ECONNREFUSED'));
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

/** The last lines of a service's log, to explain a failure: read from its end, whatever its size. */
export function tailLog(paths: ProcessPaths, name: string, lines = 40): string {
  const f = logFile(paths, name);
  if (!existsSync(f)) return '(no log)';
  try {
    return tailFile(f, lines, 64_000);
  } catch (e) {
    return `(the log could not be read: ${(e as Error).message})`;
  }
}
