// The Druid services (coordinator, broker, historical, indexer, router): one JVM each, healthy when
// /status/health says true.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { activeTaskIds, druidHealthy, shutdownTask } from '../../lib/druidClient.ts';
import { retry } from '../../lib/poll.ts';
import { baseJvmFlags, DRUID_JAVA_OPENS, type ServiceContext, type ServiceDef, type ServiceName } from './types.ts';

export function druidService(
  ctx: ServiceContext,
  name: ServiceName,
  role: string,
  port: number,
  portVar: string,
  heapMb: number,
  directMb: number,
  after: ServiceName[],
): ServiceDef {
  const { conf, data, java } = ctx;
  return {
    name,
    portVar,
    port,
    url: `http://127.0.0.1:${port}`,
    after,
    stage: 'infra',
    startTimeoutS: 240,
    stopSignal: 'SIGTERM',
    spawnSpec: () => {
      if (role === 'indexer') forgetInterruptedTasks(resolve(data, 'druid/task'));
      const tmp = resolve(data, 'druid/tmp', role);
      mkdirSync(tmp, { recursive: true });
      return {
        name,
        command: java,
        args: [
          ...baseJvmFlags(heapMb, [`-XX:MaxDirectMemorySize=${directMb}m`]),
          ...DRUID_JAVA_OPENS,
          `-Djava.io.tmpdir=${tmp}`,
          '-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager',
          `-Dlog4j.configurationFile=${conf}/druid/log4j2.xml`,
          `-Dderby.stream.error.file=${data}/druid/derby.log`,
          `-Ddruid.node.type=${role}`,
          '-cp',
          `${conf}/druid/${role}:${conf}/druid/_common:${ctx.classpath.druid}`,
          'org.apache.druid.cli.Main',
          'server',
          role,
        ],
        cwd: resolve(data, 'druid'),
      };
    },
    prepare: async () => {
      mkdirSync(resolve(data, 'druid'), { recursive: true });
      return role === 'indexer' ? shutDownOrphanedTasks(ctx) : undefined;
    },
    health: () => druidHealthy(`http://127.0.0.1:${port}`),
  };
}

/**
 * Before the indexer (re)starts, it must forget the tasks it was running. Its WorkerTaskManager would run them
 * again from restore.json and assignedTasks/ — from their ORIGINAL start offsets and sequence names, whatever
 * restoreTasksOnRestart says, so the segment allocator hands the re-run the pending segment ids its first run had
 * already published, and the re-run's rows vanish: served under an id the historical already serves, then refused
 * at publish ("already exist in DB"). Seen twice after down → up: Druid stopped showing new orders until
 * `down --reset`. Forgotten, the tasks are failed by the overlord and the supervisors start new ones from the
 * offsets committed with the last published segments: exactly once (test/stack/indexerCrash.int.test.ts).
 */
export function forgetInterruptedTasks(taskDir: string): void {
  rmSync(resolve(taskDir, 'restore.json'), { force: true });
  const assigned = resolve(taskDir, 'assignedTasks');
  let entries: string[] = [];
  try {
    entries = readdirSync(assigned);
  } catch {
    return; // first start: nothing assigned yet
  }
  for (const f of entries) rmSync(resolve(assigned, f), { recursive: true, force: true });
}

/**
 * The overlord (re)starting with its metadata store re-assigns every task it last knew as running: a re-run from
 * the task's original offsets, with the problem forgetInterruptedTasks describes. Before the indexer starts, none of
 * them can be running anywhere, so each is shut down: the supervisors replace them from the committed offsets.
 */
async function shutDownOrphanedTasks(ctx: ServiceContext): Promise<string | undefined> {
  const cfg = { ...ctx.cfg, druid: { ...ctx.cfg.druid, url: ctx.cfg.druid.coordinatorUrl } };
  // The overlord answers a few seconds after the coordinator reports healthy (leader election).
  const ids = await retry(() => activeTaskIds(cfg), { attempts: 15, initialDelayMs: 500, maxDelayMs: 2000 });
  await Promise.all(ids.map((id) => shutdownTask(cfg, id)));
  return ids.length
    ? `shut down ${ids.length} task(s) of its previous run; the supervisors start new ones from the committed offsets`
    : undefined;
}

/** The five Druid processes in start order: heap and direct memory sized for a 2-core, shared machine. */
export function druidServices(ctx: ServiceContext): ServiceDef[] {
  const { druid } = ctx.cfg;
  return [
    druidService(ctx, 'druid-coordinator', 'coordinator', druid.coordinatorPort, 'DRUID_COORDINATOR_PORT', 256, 64, [
      'zookeeper',
    ]),
    druidService(ctx, 'druid-broker', 'broker', druid.brokerPort, 'DRUID_BROKER_PORT', 384, 288, ['druid-coordinator']),
    druidService(ctx, 'druid-historical', 'historical', druid.historicalPort, 'DRUID_HISTORICAL_PORT', 512, 288, [
      'druid-coordinator',
    ]),
    druidService(ctx, 'druid-indexer', 'indexer', druid.indexerPort, 'DRUID_INDEXER_PORT', 1536, 512, [
      'druid-coordinator',
    ]),
    druidService(ctx, 'druid-router', 'router', druid.routerPort, 'DRUID_ROUTER_PORT', 128, 64, ['druid-coordinator']),
  ];
}
