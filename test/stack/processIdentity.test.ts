// Process identity: a pid file names a process by pid, boot, start time and command line, and nothing is
// signalled unless all of them still match. Real processes, no stack needed.
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  inspectPidFile,
  isAlive,
  processIdentity,
  runningPid,
  onStalePidFile,
  pidFile,
  spawnDetached,
  stopGroup,
} from '../../stack/processes.ts';
import { loadConfig, serviceEnv } from '../../lib/config.ts';
import { down } from '../../stack/manager.ts';

const homes: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function home(): { home: string; paths: { runDir: string; logDir: string } } {
  const h = mkdtempSync(join(tmpdir(), 'pulso-pid-'));
  homes.push(h);
  return { home: h, paths: { runDir: join(h, 'run'), logDir: join(h, 'logs') } };
}

/** Some other program, unrelated to the stack, in a process group of its own (as a service would be). */
function unrelatedProcess(): ChildProcess {
  const c = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  children.push(c);
  return c;
}

describe('process identity', () => {
  it('records pid, boot, start time and command line when a service is spawned', async () => {
    const { paths } = home();
    const { pid } = spawnDetached(paths, { name: 'svc', command: 'sleep', args: ['300'], cwd: tmpdir() });
    try {
      const state = inspectPidFile(paths, 'svc');
      expect(state).toEqual({ kind: 'running', pid });
      expect(processIdentity(pid)?.cmdline).toEqual(['sleep', '300']);
    } finally {
      await stopGroup(pid, 'SIGTERM', 5000);
    }
    expect(inspectPidFile(paths, 'svc')).toMatchObject({ kind: 'stale', processGone: true });
  });

  it('a pid file whose pid now belongs to an unrelated process is stale: removed with a message, the process left alone', () => {
    const { paths } = home();
    const other = unrelatedProcess();
    const id = processIdentity(other.pid!)!;
    mkdirSync(paths.runDir, { recursive: true });
    // What a reboot or a pid wrap-around leaves: the right pid, another program's start time and command.
    writeFileSync(
      pidFile(paths, 'kafka'),
      JSON.stringify({ ...id, startTicks: '1', cmdline: ['java', '-cp', 'kafka.jar', 'kafka.Kafka'] }),
    );
    const messages: string[] = [];
    onStalePidFile((m) => messages.push(m));
    expect(runningPid(paths, 'kafka')).toBeUndefined();
    expect(messages.join('\n')).toMatch(
      /kafka: removed a stale pid file \(pid \d+ now belongs to another process \(sleep 300\)\); that process is left alone/,
    );
    expect(existsSync(pidFile(paths, 'kafka'))).toBe(false);
    expect(isAlive(other.pid!)).toBe(true);
  });

  it('a bare pid (the old format) is never trusted', () => {
    const { paths } = home();
    const other = unrelatedProcess();
    mkdirSync(paths.runDir, { recursive: true });
    writeFileSync(pidFile(paths, 'postgres'), String(other.pid));
    expect(inspectPidFile(paths, 'postgres')).toMatchObject({ kind: 'stale', pid: other.pid, processGone: false });
  });

  it('`down` with stale pid files pointing at an unrelated process leaves that process running', async () => {
    const { home: h, paths } = home();
    const other = unrelatedProcess();
    const id = processIdentity(other.pid!)!;
    mkdirSync(paths.runDir, { recursive: true });
    for (const name of ['supervisor', 'transformer', 'kafka', 'postgres']) {
      writeFileSync(pidFile(paths, name), JSON.stringify({ ...id, startTicks: String(Number(id.startTicks) + 7) }));
    }
    onStalePidFile(() => undefined);
    const stopped = await down(loadConfig({ PULSO_HOME: h }), {}, () => undefined);
    expect(stopped).toEqual([]);
    expect(isAlive(other.pid!)).toBe(true);
  });
});

describe('the environment a service gets', () => {
  const shell = {
    PATH: '/usr/bin:/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    DATABASE_URL: 'postgres://owner:s3cret@db/pulso',
    GRAFANA_PASSWORD: 'g',
    SOME_CLOUD_TOKEN: 'tok',
    KAFKA_PORT: '19092',
    LOG_LEVEL: 'warn',
    PULSO_KEEP_STACK: '1',
  };

  it('our Node services: the Pulso variables that are set, but none that carries a password, and nothing else of the shell', () => {
    expect(serviceEnv('pulso', { PULSO_HOME: '/h' }, shell)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      KAFKA_PORT: '19092',
      LOG_LEVEL: 'warn',
      PULSO_HOME: '/h',
    });
  });

  it('JVMs and PostgreSQL: paths and locale only, plus what their definition names', () => {
    expect(serviceEnv('minimal', { PULSO_CDC_PASSWORD: 'p' }, shell)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      PULSO_CDC_PASSWORD: 'p',
    });
  });

  it('is what a spawned service really runs with (/proc/<pid>/environ)', async () => {
    const { paths } = home();
    const { pid } = spawnDetached(paths, {
      name: 'env-check',
      command: 'sleep',
      args: ['30'],
      cwd: tmpdir(),
      environment: 'minimal',
      env: { ONLY_THIS: '1' },
    });
    try {
      const names = readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((kv) => kv.slice(0, kv.indexOf('=')));
      expect(names).toContain('ONLY_THIS');
      expect(
        names.filter((n) => !['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'ONLY_THIS'].includes(n)),
      ).toEqual([]);
    } finally {
      await stopGroup(pid, 'SIGTERM', 5000);
    }
  });
});
