// Renders the configuration templates in stack/conf (plain files with ${VAR} placeholders) into
// $PULSO_HOME/conf, so every port and path can be moved by an environment variable.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { resolve, relative, dirname } from 'node:path';
import type { PulsoConfig } from '../lib/config.ts';
import { PROJECT_ROOT } from '../lib/config.ts';
import { PulsoError } from '../lib/errors.ts';

export function templateVars(cfg: PulsoConfig): Record<string, string> {
  return {
    DATA_DIR: resolve(cfg.home, 'data'),
    PG_DATABASE: cfg.pg.database,
    KAFKA_PORT: String(cfg.kafka.port),
    KAFKA_CONTROLLER_PORT: String(cfg.kafka.controllerPort),
    CONNECT_PORT: String(cfg.connect.port),
    ZK_PORT: String(cfg.zk.port),
    DERBY_PORT: String(cfg.druid.derbyPort),
    DRUID_COORDINATOR_PORT: String(cfg.druid.coordinatorPort),
    DRUID_BROKER_PORT: String(cfg.druid.brokerPort),
    DRUID_HISTORICAL_PORT: String(cfg.druid.historicalPort),
    DRUID_INDEXER_PORT: String(cfg.druid.indexerPort),
    DRUID_ROUTER_PORT: String(cfg.druid.routerPort),
  };
}

/** Replaces ${NAME}; an unknown name is an error rather than an empty string. */
export function renderTemplate(text: string, vars: Record<string, string>, source = 'template'): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new PulsoError(`${source}: unknown placeholder \${${name}}`);
    return v;
  });
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = resolve(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

export function confDir(cfg: PulsoConfig): string {
  return resolve(cfg.home, 'conf');
}

export function renderAllConfig(cfg: PulsoConfig): void {
  const src = resolve(PROJECT_ROOT, 'stack/conf');
  const vars = templateVars(cfg);
  for (const file of walk(src)) {
    const rel = relative(src, file);
    const out = resolve(confDir(cfg), rel);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, renderTemplate(readFileSync(file, 'utf8'), vars, rel));
  }
}
