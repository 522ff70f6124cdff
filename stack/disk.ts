// The disk under PULSO_HOME: how much is free and what uses it, service-log rotation, and reading a log from
// its end. A full disk must end in a clear message before anything starts, never in an untracked process, a
// crash inside a logger, or a log that outgrows the disk.
import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statfsSync,
  truncateSync,
} from 'node:fs';
import { resolve } from 'node:path';

/** Bytes under a folder (files only, links not followed); 0 when it does not exist. */
export function folderBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = resolve(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) total += lstatSync(p, { throwIfNoEntry: false })?.size ?? 0;
    }
  }
  return total;
}

/** What the stack keeps under PULSO_HOME, by what it is. */
export function spaceUsers(home: string): { what: string; path: string }[] {
  const data = resolve(home, 'data');
  return [
    { what: 'Druid segments (deep storage)', path: resolve(data, 'druid/segments') },
    { what: 'Druid segment cache', path: resolve(data, 'druid/segment-cache') },
    { what: 'Druid task logs and work folders', path: resolve(data, 'druid/task') },
    { what: 'Kafka topics', path: resolve(data, 'kafka') },
    { what: 'PostgreSQL', path: resolve(data, 'postgres') },
    { what: 'ZooKeeper', path: resolve(data, 'zookeeper') },
    { what: 'service logs', path: resolve(home, 'logs') },
    { what: 'JVM jars', path: resolve(home, 'lib') },
  ];
}

export interface DiskReport {
  readonly folder: string;
  readonly freeBytes: number;
  readonly uses: { what: string; path: string; bytes: number }[];
}

/** Free space of the file system holding `home` (the nearest existing parent), and what uses it. */
export function diskReport(home: string, withUses = true): DiskReport {
  let folder = home;
  while (!existsSync(folder) && resolve(folder, '..') !== folder) folder = resolve(folder, '..');
  const fs = statfsSync(folder);
  const uses = withUses
    ? spaceUsers(home)
        .map((u) => ({ ...u, bytes: folderBytes(u.path) }))
        .filter((u) => u.bytes > 0)
        .sort((a, b) => b.bytes - a.bytes)
    : [];
  return { folder: home, freeBytes: fs.bavail * fs.bsize, uses };
}

const mib = (b: number) => `${Math.round(b / 1048576).toLocaleString('en-US')} MiB`;

/** The message for a disk below the floor, naming the folder, what uses it and what to do; undefined when fine. */
export function lowDiskMessage(report: DiskReport, minFreeBytes: number): string | undefined {
  if (report.freeBytes >= minFreeBytes) return undefined;
  const uses = report.uses.length
    ? report.uses.map((u) => `  ${mib(u.bytes).padStart(10)}  ${u.what} (${u.path})`).join('\n')
    : "  (nothing of Pulso's yet)";
  return (
    `only ${mib(report.freeBytes)} free under ${report.folder} (the floor is ${mib(minFreeBytes)}, PULSO_MIN_FREE_MB). What Pulso keeps there:\n${uses}\n` +
    "Free space on that disk, or `npm run down -- --reset` to wipe the stack's data, or move the stack with PULSO_HOME=<a folder on a bigger disk>."
  );
}

/**
 * Rotates a log that reached `maxBytes`: <log>.N-1 → .N (the oldest dropped), the log copied to .1, then
 * truncated in place. In place, because the service keeps its file open (O_APPEND: its next write lands at
 * the new end); lines written between the copy and the truncate are lost, logrotate's copytruncate trade-off.
 * Returns true when it rotated.
 */
export function rotateLog(path: string, maxBytes: number, keep: number): boolean {
  const size = lstatSync(path, { throwIfNoEntry: false })?.size ?? 0;
  if (size < maxBytes) return false;
  rmSync(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}

/** The last `lines` lines of a file, read from its end (at most `maxBytes`), whatever its size. */
export function tailFile(path: string, lines: number, maxBytes = 256 * 1024): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const text = buf.toString('utf8');
    // A read that starts mid-file drops its first, partial line.
    const whole = length < size ? text.slice(text.indexOf('\n') + 1) : text;
    return whole
      .split('\n')
      .slice(-lines - (whole.endsWith('\n') ? 1 : 0))
      .join('\n');
  } finally {
    closeSync(fd);
  }
}
