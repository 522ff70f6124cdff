// Bad input and faults of `up`: a port already taken is named with its service and the variable that
// moves it, before anything is downloaded or started.
import { describe, it, expect, afterAll } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
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
    // A second stack on shifted ports, except ZooKeeper's, which something else holds.
    const env = {
      PULSO_HOME: home,
      PG_PORT: '45432', KAFKA_PORT: '49092', KAFKA_CONTROLLER_PORT: '49093', CONNECT_PORT: '48083',
      DERBY_PORT: '41527', DRUID_COORDINATOR_PORT: '48081', DRUID_BROKER_PORT: '48082', DRUID_HISTORICAL_PORT: '48084',
      DRUID_INDEXER_PORT: '48091', DRUID_ROUTER_PORT: '48888', TRANSFORMER_METRICS_PORT: '49464', ZK_PORT: '42181',
    };
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(42181, '127.0.0.1', () => r()));
    const cfg = loadConfig(env);
    const err = await up(cfg, () => undefined).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StackError);
    expect((err as Error).message).toMatch(/port 42181 on 127\.0\.0\.1 is already taken, so zookeeper cannot start.*ZK_PORT=<free port>/);
  });
});
