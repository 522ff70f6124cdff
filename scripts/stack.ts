// CLI for the local stack: npm run up | down [-- --reset] | status [-- --json] | logs -- <service> [-f]
import { MONITORING_INSTALL_HINT, monitoringInstalled } from '../stack/services/monitoring.ts';
import { spawn } from 'node:child_process';
import { loadConfig, ConfigError } from '../lib/config.ts';
import { flagsOrExit, parseFlags, UsageError } from '../lib/cliArgs.ts';
import { up, down, status, supervisorStatus, logsOf, StackError, paths } from '../stack/manager.ts';
import { diskReport, lowDiskMessage } from '../stack/disk.ts';
import { logFile } from '../stack/processes.ts';
import { pipelineStatus, formatPipelineStatus } from '../pipeline/status.ts';

const USAGE = 'usage: tsx scripts/stack.ts up [--infra-only] | down [--reset] | status [--json] | logs <service> [-f]';
const [command, ...rest] = process.argv.slice(2);
/** The flags each subcommand accepts; anything else is a usage error naming the flag. */
const SUBCOMMAND_FLAGS = {
  up: { 'infra-only': { type: 'boolean' } },
  down: { reset: { type: 'boolean' } },
  status: { json: { type: 'boolean' } },
  logs: { follow: { type: 'boolean', short: 'f' } },
} as const;
const parsed = flagsOrExit(`stack ${command}`, USAGE, () => {
  return command && command in SUBCOMMAND_FLAGS
    ? parseFlags(rest, SUBCOMMAND_FLAGS[command as keyof typeof SUBCOMMAND_FLAGS], { positionals: command === 'logs' })
    : { values: {} as Record<string, boolean | undefined>, positionals: [] as string[] };
});
const flags = parsed.values as Record<string, boolean | undefined>;
const say = (line: string) => process.stdout.write(line + '\n');

function mb(bytes: number): string {
  return `${Math.round(bytes / 1048576)} MiB`;
}

async function printStatus(json: boolean): Promise<boolean> {
  const cfg = loadConfig();
  const rows = await status(cfg);
  const total = rows.reduce((a, r) => a + r.rssBytes, 0);
  const anyUp = rows.some((r) => r.healthy);
  const pipeline = anyUp ? await pipelineStatus(cfg) : undefined;
  const supervisor = supervisorStatus(cfg);
  const disk = diskReport(cfg.home);
  const lowDisk = lowDiskMessage(disk, cfg.disk.minFreeBytes);
  if (json) {
    say(
      JSON.stringify(
        {
          services: rows,
          totalRssBytes: total,
          supervisor,
          pipeline,
          disk: { ...disk, minFreeBytes: cfg.disk.minFreeBytes, low: lowDisk ?? null },
        },
        null,
        2,
      ),
    );
  } else {
    const w = Math.max(...rows.map((r) => r.name.length));
    say(`${'SERVICE'.padEnd(w)}  HEALTH      PID      RSS        RESTARTS  URL`);
    for (const r of rows) {
      const sup = r.supervision;
      const health =
        sup?.state === 'gave-up'
          ? 'GAVE UP'
          : r.healthy
            ? 'healthy'
            : sup?.state === 'restarting' || sup?.state === 'waiting-for-dependencies'
              ? 'restarting'
              : r.running
                ? 'starting'
                : 'down';
      say(
        `${r.name.padEnd(w)}  ${health.padEnd(10)}  ${String(r.pid ?? '-').padEnd(7)}  ${mb(r.rssBytes).padStart(9)}  ${String(sup?.restarts ?? 0).padStart(8)}  ${r.url}`,
      );
    }
    say(`total resident memory: ${mb(total)}`);
    if (!monitoringInstalled())
      say(`monitoring: Prometheus and the PostgreSQL exporter are not installed (${MONITORING_INSTALL_HINT})`);
    say(
      lowDisk
        ? `DISK LOW: ${lowDisk}`
        : `disk: ${mb(disk.freeBytes)} free under ${cfg.home}; Pulso uses ${mb(disk.uses.reduce((a, u) => a + u.bytes, 0))} there`,
    );
    say(
      supervisor.running
        ? `supervisor: running (pid ${supervisor.pid}), restarts a service that dies (${supervisor.watching.length} watched)`
        : 'supervisor: NOT running — a service that dies stays down; `npm run up` starts it',
    );
    for (const r of rows) {
      const sup = r.supervision;
      if (!sup?.lastReason) continue;
      const recovered =
        sup.state === 'running' && sup.lastRecoveryMs !== null
          ? `, back in ${(sup.lastRecoveryMs / 1000).toFixed(1)} s`
          : '';
      say(
        `  ${r.name}: ${sup.restarts} restart${sup.restarts === 1 ? '' : 's'}; last death ${sup.lastDeathAt}: ${sup.lastReason}${recovered}`,
      );
      if (sup.state === 'gave-up')
        say(
          `  ${r.name}: given up on (restart budget spent). Fix the cause, then npm run up. Its log ends:\n${(sup.logTail ?? '').replace(/^/gm, '    | ')}`,
        );
    }
    if (pipeline) for (const line of formatPipelineStatus(pipeline)) say(line);
  }
  return rows.every((r) => r.healthy);
}

async function main(): Promise<number> {
  switch (command) {
    case 'up': {
      const cfg = loadConfig();
      const r = await up(cfg, say, { pipeline: !flags['infra-only'] });
      say(
        `stack up in ${(r.elapsedMs / 1000).toFixed(1)}s (started: ${r.started.join(', ') || 'none'}; already running: ${r.alreadyRunning.join(', ') || 'none'})`,
      );
      await printStatus(false);
      return 0;
    }
    case 'down': {
      const cfg = loadConfig();
      const stopped = await down(cfg, { reset: flags.reset === true }, say);
      say(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
      return 0;
    }
    case 'status':
      return (await printStatus(flags.json === true)) ? 0 : 1;
    case 'logs': {
      const name = parsed.positionals[0];
      if (!name) {
        say(
          'usage: npm run logs -- <service> [-f]   (services: postgres, zookeeper, kafka, connect, druid-coordinator, druid-broker, druid-historical, druid-indexer, druid-router, transformer)',
        );
        return 2;
      }
      const cfg = loadConfig();
      if (flags.follow) {
        const tail = spawn('tail', ['-n', '100', '-F', logFile(paths(cfg), name)], { stdio: 'inherit' });
        await new Promise((r) => tail.on('close', r));
        return 0;
      }
      process.stdout.write(logsOf(cfg, name, 200) + '\n');
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'a command is needed');
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`stack: ${e.message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (e instanceof StackError || e instanceof ConfigError) {
      process.stderr.write(`error: ${e.message}\n`);
    } else {
      process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
    }
    process.exit(1);
  },
);
