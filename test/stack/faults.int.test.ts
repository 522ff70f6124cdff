// Bad input and faults of `up`: a port already taken is named with its service and the variable that
// moves it, before anything is downloaded or started.
import { describe, it, expect, afterAll } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config.ts';
import { up, StackError } from '../../stack/manager.ts';

const home = mkdtempSync(join(tmpdir(), 'pulso-faults-'));
let blocker: Server | undefined;

afterAll(async () => {
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  rmSync(home, { recursive: true, force: true });
});

describe('up with a port already taken', () => {
  it('names the port, the service and the variable, and starts nothing', async () => {
    // A second stack on shifted ports, except ZooKeeper's, which something else holds. Below 32768, outside Linux's
    // ephemeral range: a client socket of the running suite can hold any port up there for a moment (seen in CI).
    const env = {
      PULSO_HOME: home,
      PG_PORT: '25432',
      KAFKA_PORT: '29092',
      KAFKA_CONTROLLER_PORT: '29093',
      CONNECT_PORT: '28083',
      DERBY_PORT: '21527',
      DRUID_COORDINATOR_PORT: '28081',
      DRUID_BROKER_PORT: '28082',
      DRUID_HISTORICAL_PORT: '28084',
      DRUID_INDEXER_PORT: '28091',
      DRUID_ROUTER_PORT: '28888',
      TRANSFORMER_METRICS_PORT: '29464',
      ZK_PORT: '22181',
      DASHBOARDS_PORT: '23300',
      PROMETHEUS_PORT: '29090',
      POSTGRES_EXPORTER_PORT: '29187',
      KAFKA_JMX_EXPORTER_PORT: '29404',
      CONNECT_JMX_EXPORTER_PORT: '29405',
      PIPELINE_EXPORTER_PORT: '29466',
    };
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(22181, '127.0.0.1', () => r()));
    const cfg = loadConfig(env);
    const err = await up(cfg, () => undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StackError);
    expect((err as Error).message).toMatch(
      /port 22181 on 127\.0\.0\.1 is already taken, so zookeeper cannot start.*ZK_PORT=<free port>/,
    );
  });
});

describe('up with a service that dies while starting', () => {
  it('fails, prints the tail of that service log, and stops what it started', async () => {
    const { fingerprint, libDir, JVM_COMPONENTS } = await import('../../stack/jars.ts');
    const { mkdirSync, writeFileSync, existsSync, readdirSync } = await import('node:fs');
    const { isAlive } = await import('../../stack/processes.ts');
    const home2 = mkdtempSync(join(tmpdir(), 'pulso-dies-'));
    try {
      // "Resolved" classpaths without a single jar: every JVM exits at once with ClassNotFoundException.
      for (const c of JVM_COMPONENTS) {
        mkdirSync(libDir(home2, c), { recursive: true });
        writeFileSync(join(libDir(home2, c), '.resolved'), fingerprint(c));
      }
      // Kafka looks formatted, so it gets as far as starting its JVM.
      mkdirSync(join(home2, 'data/kafka'), { recursive: true });
      writeFileSync(join(home2, 'data/kafka/meta.properties'), 'version=1\n');
      const cfg = loadConfig({
        PULSO_HOME: home2,
        PG_PORT: '25532',
        KAFKA_PORT: '29192',
        KAFKA_CONTROLLER_PORT: '29193',
        CONNECT_PORT: '28183',
        DERBY_PORT: '21627',
        DRUID_COORDINATOR_PORT: '28181',
        DRUID_BROKER_PORT: '28182',
        DRUID_HISTORICAL_PORT: '28184',
        DRUID_INDEXER_PORT: '28191',
        DRUID_ROUTER_PORT: '28988',
        TRANSFORMER_METRICS_PORT: '29564',
        ZK_PORT: '22281',
        DASHBOARDS_PORT: '23400',
        PROMETHEUS_PORT: '29190',
        POSTGRES_EXPORTER_PORT: '29287',
        KAFKA_JMX_EXPORTER_PORT: '29504',
        CONNECT_JMX_EXPORTER_PORT: '29505',
        PIPELINE_EXPORTER_PORT: '29566',
      });
      // And stale pid files, left by a reboot, naming an unrelated process: up must never signal it.
      const { spawn } = await import('node:child_process');
      const { processIdentity, onStalePidFile } = await import('../../stack/processes.ts');
      const other = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
      const id = processIdentity(other.pid!)!;
      mkdirSync(join(home2, 'run'), { recursive: true });
      for (const name of ['postgres', 'zookeeper', 'kafka', 'druid-coordinator']) {
        writeFileSync(
          join(home2, 'run', `${name}.pid`),
          JSON.stringify({ ...id, startTicks: String(Number(id.startTicks) + 1) }),
        );
      }
      const stale: string[] = [];
      onStalePidFile((m) => stale.push(m));
      const err = await up(cfg, () => undefined, { pipeline: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAlive(other.pid!)).toBe(true);
      other.kill('SIGKILL');
      expect(stale.join('\n')).toMatch(/zookeeper: removed a stale pid file \(pid \d+ now belongs to another process/);
      expect(err).toBeInstanceOf(StackError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/^(zookeeper|kafka) exited while starting/);
      expect(msg).toMatch(/--- last lines of .*\.log ---/);
      expect(msg).toMatch(/ClassNotFoundException|Could not find or load main class/);
      expect(msg).toMatch(/Stopped what this run started/);
      // Nothing is left running: no live pid behind any pid file (PostgreSQL had started and was stopped).
      const runDir = join(home2, 'run');
      const pids = existsSync(runDir) ? readdirSync(runDir).map((f) => Number(readText(join(runDir, f)).trim())) : [];
      expect(pids.filter((p) => isAlive(p))).toEqual([]);
    } finally {
      rmSync(home2, { recursive: true, force: true });
    }
  });
});

function readText(path: string): string {
  // Small sync read kept local to the test.
  return readFileSync(path, 'utf8');
}
