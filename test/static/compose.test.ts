// docker-compose.cdc.yml cannot run here (no Docker), so it is checked statically: versions only from
// stack/versions.env, loopback-only ports, health checks, no secrets, and the very config files the
// local stack uses mounted into the containers.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { COMPACTION_SPEC_FILES, SUPERVISOR_SPEC_FILES } from '../../druid-specs/renderSpec.ts';
import { readVersions } from '../../lib/config.ts';
import { PROJECT_ROOT as REPO_ROOT } from '../../lib/config.ts';

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}
interface Service {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  restart?: string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: Array<string | { host_ip?: string; target: number; published?: string | number }>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }> | string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const COMPOSE_TEXT = readFileSync(resolve(REPO_ROOT, 'docker-compose.cdc.yml'), 'utf8');
const compose = parseYaml(COMPOSE_TEXT, { merge: true }) as Compose;
const services = Object.entries(compose.services);
const versions = readVersions();

/** Variables whose pin is still being added to stack/versions.env; each must carry a default equal to the pin it stands for. */
const PENDING_VERSION_VARS: Record<string, () => string> = {
  // The Node image for our own code; package.json engines says ">=20".
  NODE_VERSION: () =>
    /(\d+)/.exec(
      (JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines
        .node,
    )![1]!,
};

const IMAGE_VERSION_VAR: Record<string, string> = {
  postgres: 'POSTGRES_VERSION',
  'apache/kafka': 'KAFKA_VERSION',
  'quay.io/debezium/connect': 'DEBEZIUM_VERSION',
  zookeeper: 'ZOOKEEPER_VERSION',
  'apache/druid': 'DRUID_VERSION',
  'grafana/grafana': 'GRAFANA_VERSION',
  node: 'NODE_VERSION',
  'prom/prometheus': 'PROMETHEUS_VERSION',
  'quay.io/prometheuscommunity/postgres-exporter': 'POSTGRES_EXPORTER_VERSION',
  'curlimages/curl': 'CURL_IMAGE_VERSION',
};

function bindMounts(svc: Service): Array<{ source: string; target: string; readOnly: boolean }> {
  return (svc.volumes ?? []).flatMap((v) => {
    if (typeof v !== 'string')
      return v.type === 'bind' ? [{ source: v.source, target: v.target, readOnly: false }] : [];
    const [source, target, mode] = v.split(':');
    return source!.startsWith('.') || source!.startsWith('/')
      ? [{ source: source!, target: target!, readOnly: mode === 'ro' }]
      : [];
  });
}
function namedVolumes(svc: Service): string[] {
  return (svc.volumes ?? []).flatMap((v) => {
    const source = typeof v === 'string' ? v.split(':')[0]! : v.type === 'volume' ? v.source : '';
    return source && !source.startsWith('.') && !source.startsWith('/') ? [source] : [];
  });
}
function mountOf(service: string, hostPath: string): { target: string; readOnly: boolean } | undefined {
  const m = bindMounts(compose.services[service]!).find(
    (b) => resolve(REPO_ROOT, b.source) === resolve(REPO_ROOT, hostPath),
  );
  return m && { target: m.target, readOnly: m.readOnly };
}
function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = resolve(dir, f);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

describe('docker-compose.cdc.yml', () => {
  it('has the services of the pipeline', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'bootstrap',
        'connect',
        'druid-broker',
        'druid-coordinator',
        'druid-historical',
        'druid-indexer',
        'druid-router',
        'grafana',
        'jmx-agent',
        'kafka',
        'pipeline-exporter',
        'postgres',
        'postgres-exporter',
        'prometheus',
        'transformer',
        'zookeeper',
      ].sort(),
    );
  });

  it.each(services)(
    '%s: image tag is a variable pinned in stack/versions.env, never a literal version',
    (_name, svc) => {
      const m = /^([\w./-]+):\$\{([A-Z0-9_]+)(?::-([^}]*))?\}$/.exec(svc.image ?? '');
      expect(m, `image ${svc.image}`).not.toBeNull();
      const [, repo, variable, fallback] = m!;
      expect(IMAGE_VERSION_VAR[repo!], `known image ${repo}`).toBe(variable);
      if (variable! in versions) {
        expect(fallback, `${variable} is pinned in versions.env: no inline default`).toBeUndefined();
      } else {
        const pending = PENDING_VERSION_VARS[variable!];
        expect(pending, `${variable} must be defined in stack/versions.env`).toBeDefined();
        expect(fallback).toBe(pending!());
      }
    },
  );

  it('pins the Grafana Druid plugin version from stack/versions.env', () => {
    expect(versions['GRAFANA_DRUID_PLUGIN_VERSION']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(compose.services['grafana']!.environment!['GF_PLUGINS_PREINSTALL_SYNC']).toBe(
      'grafadruid-druid-datasource@${GRAFANA_DRUID_PLUGIN_VERSION}',
    );
    expect(compose.services['grafana']!.environment!['GF_INSTALL_PLUGINS']).toBeUndefined();
  });

  it('never writes a version number outside ${...}', () => {
    const literalVersion = /image:\s*[^\s$]+:\d/;
    expect(COMPOSE_TEXT).not.toMatch(literalVersion);
    for (const v of Object.values(versions)) if (/\d+\.\d+/.test(v)) expect(COMPOSE_TEXT, v).not.toContain(v);
  });

  it.each(services)('%s: every published port is bound to 127.0.0.1', (_name, svc) => {
    for (const p of svc.ports ?? []) {
      if (typeof p === 'string')
        expect(p).toMatch(/^127\.0\.0\.1:(\d+|\$\{[A-Z_]+:-\d+\})(-(\d+|\$\{[A-Z_]+:-\d+\}))?:\d+$/);
      else expect(p.host_ip).toBe('127.0.0.1');
    }
  });

  it('publishes Connect REST off 8083 (the Druid historical) and each host port once', () => {
    const published = services.flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => {
        if (typeof p !== 'string') return { name, port: Number(p.published) };
        // A range (the scalable transformer) counts by its first port.
        const m = /^127\.0\.0\.1:(?:(\d+)|\$\{[A-Z_]+:-(\d+)\})(?:-(?:\d+|\$\{[A-Z_]+:-\d+\}))?:\d+$/.exec(p);
        expect(m, p).not.toBeNull();
        return { name, port: Number(m![1] ?? m![2]) };
      }),
    );
    expect(published.find((p) => p.name === 'connect')?.port).toBe(18083);
    expect(new Set(published.map((p) => p.port)).size).toBe(published.length);
  });

  it.each(services.filter(([, s]) => s.restart !== 'no'))(
    '%s: long-running service has a health check',
    (_name, svc) => {
      expect(svc.healthcheck?.disable).not.toBe(true);
      const test = svc.healthcheck?.test;
      expect(Array.isArray(test) ? test.length : (test ?? '').length).toBeGreaterThan(1);
    },
  );

  it('one-shot services run to completion before their dependants start', () => {
    for (const [name, s] of services) {
      for (const [dep, { condition }] of Object.entries(
        (s.depends_on ?? {}) as Record<string, { condition: string }>,
      )) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(condition).toBe(
          compose.services[dep]!.restart === 'no' ? 'service_completed_successfully' : 'service_healthy',
        );
      }
    }
  });

  it('declares every named volume it uses', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of services)
      for (const v of namedVolumes(s)) expect(declared.has(v), `${name}: ${v}`).toBe(true);
  });

  it('takes every secret from .env, and .env.example names each one with a placeholder', () => {
    const example = readFileSync(resolve(REPO_ROOT, '.env.example'), 'utf8');
    for (const [name, s] of services) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|SECRET|TOKEN/.test(k)) expect(String(v), `${name}.${k}`).toMatch(/^\$\{[A-Z_]+(:\?[^}]*)?\}$/);
        if (typeof v === 'string' && /:\/\/[^/\s]*:[^@/\s]+@/.test(v))
          expect(v, `${name}.${k} embeds a password`).toMatch(/:\/\/[^:]+:\$\{[A-Z_]+\}@/);
      }
    }
    const required = [...COMPOSE_TEXT.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    for (const v of new Set(required)) expect(example, v).toMatch(new RegExp(`^${v}=change-me`, 'm'));
    expect(readFileSync(resolve(REPO_ROOT, '.gitignore'), 'utf8')).toMatch(/^\.env$/m);
  });

  it('runs PostgreSQL with logical decoding', () => {
    const cmd = compose.services['postgres']!.command as string[];
    expect(cmd).toContain('wal_level=logical');
  });

  it('runs Kafka as a single KRaft node with an internal listener the other containers use', () => {
    const env = compose.services['kafka']!.environment!;
    expect(env['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(String(env['KAFKA_ADVERTISED_LISTENERS'])).toContain('INTERNAL://kafka:29092');
    expect(compose.services['connect']!.environment!['BOOTSTRAP_SERVERS']).toBe('kafka:29092');
    expect(compose.services['bootstrap']!.environment!['KAFKA_BROKERS']).toBe('kafka:29092');
  });
});

describe('the compose stack mounts the repo files the local stack uses', () => {
  it('Connect gets connect/ (the connector JSON) and every ${env:…} variable that JSON references', () => {
    expect(mountOf('connect', './connect')).toEqual({ target: '/opt/pulso/connect', readOnly: true });
    const env = compose.services['connect']!.environment!;
    expect(env['CONNECT_CONFIG_PROVIDERS']).toBe('env');
    expect(env['CONNECT_CONFIG_PROVIDERS_ENV_CLASS']).toBe(
      'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
    );
    const connectorText = readFileSync(resolve(REPO_ROOT, 'connect/pulso-postgres.json'), 'utf8');
    const refs = [...connectorText.matchAll(/\$\{(\w+):([^}]+)\}/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [ref, provider, variable] of refs) {
      expect(provider, ref).toBe('env');
      expect(env[variable!], `${variable} set in the connect service`).toBeDefined();
    }
    expect(env['PULSO_CDC_PASSWORD']).toMatch(/^\$\{PULSO_CDC_PASSWORD:\?/);
    const connector = JSON.parse(connectorText) as { config: Record<string, string> };
    if (connector.config['exactly.once.support'] === 'required')
      expect(env['CONNECT_EXACTLY_ONCE_SOURCE_SUPPORT']).toBe('enabled');
  });

  it('bootstrap and transformer run the repo itself (druid-specs, migrations, scripts)', () => {
    for (const name of ['bootstrap', 'transformer']) {
      expect(mountOf(name, '.')).toEqual({ target: '/app', readOnly: false });
      expect(compose.services[name]!.environment!['DRUID_URL']).toBe('http://druid-router:8888');
    }
    for (const file of [...Object.values(SUPERVISOR_SPEC_FILES), ...Object.values(COMPACTION_SPEC_FILES)])
      expect(existsSync(resolve(REPO_ROOT, file)), file).toBe(true);
    expect(String(compose.services['bootstrap']!.command)).toContain('scripts/bootstrap.mjs');
    expect(String(compose.services['transformer']!.command)).toContain('transformer');
  });

  it('Grafana gets grafana/provisioning and grafana/dashboards, where the provisioning looks for them', () => {
    expect(mountOf('grafana', './grafana/provisioning')).toEqual({
      target: '/etc/grafana/provisioning',
      readOnly: true,
    });
    expect(mountOf('grafana', './grafana/dashboards')).toEqual({
      target: '/var/lib/grafana/dashboards',
      readOnly: true,
    });
    const mounted = listFiles(resolve(REPO_ROOT, 'grafana/provisioning'))
      .map((f) => f.slice(resolve(REPO_ROOT, 'grafana/provisioning').length + 1))
      .sort();
    expect(mounted).toEqual(['dashboards/pulso.yaml', 'datasources/druid.yaml', 'datasources/prometheus.yaml']);
    const env = compose.services['grafana']!.environment!;
    expect(env['DRUID_URL']).toBe('http://druid-router:8888');
    expect(env['PROMETHEUS_URL']).toBe('http://prometheus:9090');
    expect(compose.services['druid-router']).toBeDefined();
  });

  it('Druid loads Kafka ingestion and its coordinator doubles as overlord', () => {
    for (const name of ['druid-coordinator', 'druid-broker', 'druid-historical', 'druid-indexer', 'druid-router']) {
      const env = compose.services[name]!.environment!;
      expect(String(env['druid_extensions_loadList'])).toContain('druid-kafka-indexing-service');
      expect(String(env['druid_extensions_loadList']), 'quantiles sketches of order_deliveries').toContain(
        'druid-datasketches',
      );
      expect(env['druid_zk_service_host']).toBe('zookeeper');
    }
    expect(compose.services['druid-coordinator']!.environment!['druid_coordinator_asOverlord_enabled']).toBe('true');
    expect(compose.services['druid-router']!.environment!['druid_router_managementProxy_enabled']).toBe('true');
  });

  it('neither stack restores Druid tasks after an indexer restart (a restored Kafka task re-ingests a record: exactly once breaks)', () => {
    const local = readFileSync(resolve(REPO_ROOT, 'stack/conf/druid/indexer/runtime.properties'), 'utf8');
    expect(local).toMatch(/^druid\.indexer\.task\.restoreTasksOnRestart=false$/m);
    expect(compose.services['druid-indexer']!.environment!['druid_indexer_task_restoreTasksOnRestart']).toBe('false');
  });

  it('both stacks delete unused segments (retention and compaction would otherwise only hide them), with the same settings', () => {
    const local = readFileSync(resolve(REPO_ROOT, 'stack/conf/druid/coordinator/runtime.properties'), 'utf8');
    const env = compose.services['druid-coordinator']!.environment!;
    for (const key of ['on', 'period', 'durationToRetain', 'bufferPeriod', 'maxSegments']) {
      const value = new RegExp(`^druid\\.coordinator\\.kill\\.${key}=(.+)$`, 'm').exec(local)?.[1];
      expect(value, `druid.coordinator.kill.${key} in the local coordinator`).toBeDefined();
      expect(String(env[`druid_coordinator_kill_${key}`]), `druid_coordinator_kill_${key} in compose`).toBe(value);
    }
  });

  it('every long-running service restarts by itself, and waits for what it needs to be healthy', () => {
    for (const [name, svc] of services) {
      if (svc.restart === 'no') continue; // one-shot jobs (bootstrap)
      expect(svc.restart, `${name} restart policy`).toMatch(/^(unless-stopped|always|on-failure)/);
      const deps = Array.isArray(svc.depends_on)
        ? svc.depends_on.map((d) => [d, { condition: 'service_started' }] as const)
        : Object.entries(svc.depends_on ?? {});
      for (const [dep, { condition }] of deps)
        expect(condition, `${name} → ${dep}`).toMatch(/^service_(healthy|completed_successfully)$/);
    }
  });

  it("Connect's config provider resolves only the variables the connector JSON references, in both stacks", () => {
    const referenced = [
      ...new Set(
        [
          ...readFileSync(resolve(REPO_ROOT, 'connect/pulso-postgres.json'), 'utf8').matchAll(
            /\$\{env:([A-Z0-9_]+)\}/g,
          ),
        ].map((m) => m[1]!),
      ),
    ];
    const local = /^config\.providers\.env\.param\.allowlist\.pattern=(.+)$/m.exec(
      readFileSync(resolve(REPO_ROOT, 'stack/conf/connect/connect-distributed.properties'), 'utf8'),
    )?.[1];
    // compose writes a literal $ as $$
    const composed = String(
      compose.services['connect']!.environment!['CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN'],
    ).replaceAll('$$', '$');
    expect(composed).toBe(local);
    const allow = new RegExp(local!);
    expect(referenced.length).toBeGreaterThan(0);
    for (const v of referenced) expect(v, v).toMatch(allow);
    for (const v of ['PATH', 'HOME', 'DATABASE_URL', 'POSTGRES_PASSWORD', 'PULSO_CDC_PASSWORD_OLD', 'XPULSO_PG_HOST'])
      expect(allow.test(v), v).toBe(false);
  });
});
