#!/usr/bin/env zx
// npx zx scripts/bootstrap.mjs — idempotent pipeline setup on a running stack (local or compose).
// Targets are taken from the environment (see README "Configuration"); for compose, e.g.:
//   DATABASE_URL=postgres://postgres:$POSTGRES_PASSWORD@127.0.0.1:5432/pulso DRUID_KAFKA_BOOTSTRAP=kafka:29092 npx zx scripts/bootstrap.mjs
// The logic lives in typed modules (pipeline/bootstrap.ts); tsx's loader lets this zx script import them.
import { register } from 'tsx/esm/api';

register();
const { loadConfig, ConfigError } = await import('../lib/config.ts');
const { bootstrapPipeline } = await import('../pipeline/bootstrap.ts');

const t0 = Date.now();
try {
  const cfg = loadConfig();
  const report = await bootstrapPipeline(cfg, { log: (line) => echo(chalk.dim(`[bootstrap] `) + line) });
  echo(chalk.green(`bootstrap done in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${report.changed.length} change(s)`));
  echo(
    `Druid SQL: ${cfg.druid.url}/druid/v2/sql   Connect: ${cfg.connect.url}/connectors   Kafka: ${cfg.kafka.brokers.join(',')}`,
  );
} catch (e) {
  echo(chalk.red(`bootstrap failed: ${e instanceof ConfigError ? e.message : (e.message ?? e)}`));
  process.exit(1);
}
