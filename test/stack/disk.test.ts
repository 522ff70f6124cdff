// A full disk and logs that grow (issue "Hardening"): nothing untracked, no crash in a logger, logs rotated,
// read from their end, and `up` refusing to start below the free-space floor with what uses the space.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, PROJECT_ROOT } from '../../lib/config.ts';
import { diskReport, lowDiskMessage, rotateLog, tailFile } from '../../stack/disk.ts';
import { up } from '../../stack/manager.ts';
import { logFile, pidFile, spawnDetached, tailLog } from '../../stack/processes.ts';

const dir = mkdtempSync(resolve(tmpdir(), 'pulso-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rotateLog', () => {
  it('copies a log past its cap to .1, shifts the older ones, drops the oldest, and the writer keeps appending', () => {
    const log = resolve(dir, 'svc.log');
    const fd = openSync(log, 'a'); // as the stack opens a service's stdout
    try {
      for (let round = 1; round <= 4; round++) {
        writeSync(fd, `round ${round} `.padEnd(2000, 'x') + '\n');
        expect(rotateLog(log, 1000, 2)).toBe(true);
      }
      writeSync(fd, 'after\n');
      expect(readFileSync(log, 'utf8')).toBe('after\n'); // appended at the new end, no hole of zeros
      expect(readFileSync(`${log}.1`, 'utf8')).toMatch(/^round 4 /);
      expect(readFileSync(`${log}.2`, 'utf8')).toMatch(/^round 3 /);
      expect(existsSync(`${log}.3`)).toBe(false);
      expect(rotateLog(log, 1000, 2)).toBe(false); // under the cap: left alone
    } finally {
      closeSync(fd);
    }
  });
});

describe('reading a log from its end', () => {
  it('tails a 600 MB log without reading it whole (a whole read of it threw, and a give-up lost its log tail)', () => {
    const paths = { runDir: resolve(dir, 'run'), logDir: resolve(dir, 'logs') };
    mkdirSync(paths.logDir, { recursive: true });
    const f = logFile(paths, 'big');
    writeFileSync(f, 'first line\n');
    truncateSync(f, 600 * 1024 * 1024); // sparse: no disk used
    appendFileSync(f, '\nline a\nline b\nthe last line\n');
    expect(tailLog(paths, 'big', 3)).toBe('line a\nline b\nthe last line\n');
    expect(tailFile(f, 1)).toBe('the last line\n');
  });
});

describe('pid files', () => {
  it('a service whose pid file cannot be written is stopped again, not left running untracked', () => {
    const paths = { runDir: resolve(dir, 'run2'), logDir: resolve(dir, 'logs2') };
    mkdirSync(pidFile(paths, 'sleeper'), { recursive: true }); // a directory where the pid file goes: the write fails
    const marker = `${300 + Math.floor(Math.random() * 1000)}.25`;
    expect(() => spawnDetached(paths, { name: 'sleeper', command: 'sleep', args: [marker], cwd: dir })).toThrow(
      /could not write .*sleeper\.pid.*was stopped again/,
    );
    const left = spawnSync('pgrep', ['-f', `^sleep ${marker}$`], { encoding: 'utf8' });
    expect(left.stdout.trim()).toBe('');
  });
});

describe('logging on a full disk', () => {
  it('a log line that cannot be written (stderr on /dev/full) never kills the process, inside a .catch too', () => {
    const script = `
      import { createLogger } from ${JSON.stringify(resolve(PROJECT_ROOT, 'lib/log.ts'))};
      const log = createLogger('x', 'info');
      log.error('first', { n: 1 });
      Promise.reject(new Error('boom')).catch((e) => log.error('failed', { error: e.message }));
      setTimeout(() => { log.info('later'); process.stdout.write('alive\\n'); }, 200);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', openSync('/dev/full', 'w')],
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('alive\n');
  });
});

describe('free space', () => {
  it('`up` refuses to start below the floor, naming the folder, what uses the space and what to do', async () => {
    const home = resolve(dir, 'home');
    mkdirSync(resolve(home, 'data/kafka'), { recursive: true });
    writeFileSync(resolve(home, 'data/kafka/segment.log'), Buffer.alloc(3 * 1048576));
    const cfg = loadConfig({ PULSO_HOME: home, PULSO_MIN_FREE_MB: '10000000' });
    await expect(up(cfg)).rejects.toThrow(
      new RegExp(
        `not starting: only [\\d,]+ MiB free under ${home.replace(/[/.-]/g, '\\$&')} .*PULSO_MIN_FREE_MB[\\s\\S]*3 MiB  Kafka topics[\\s\\S]*PULSO_HOME=`,
      ),
    );
    // Nothing was written or started: no secrets, no run folder.
    expect(existsSync(resolve(home, 'secrets.json'))).toBe(false);
    expect(existsSync(resolve(home, 'run'))).toBe(false);
    expect(lowDiskMessage(diskReport(home), 0)).toBeUndefined();
  });
});
