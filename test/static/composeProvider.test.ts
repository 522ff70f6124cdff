// The testcontainers compose provider points the tests at the host ports docker-compose.cdc.yml publishes.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT, loadConfig } from '../../lib/config.ts';
import { composeClientEnv } from '../support/composeProvider.ts';

const compose = parse(readFileSync(resolve(PROJECT_ROOT, 'docker-compose.cdc.yml'), 'utf8')) as {
  services: Record<string, { ports?: string[] }>;
};

function publishedDefault(service: string): string {
  const spec = compose.services[service]!.ports![0]!; // e.g. 127.0.0.1:${PG_PORT:-55432}:5432
  const m = /^127\.0\.0\.1:\$\{[A-Z_]+:-(\d+)\}:\d+$/.exec(spec);
  if (!m) throw new Error(`unexpected port mapping for ${service}: ${spec}`);
  return m[1]!;
}

describe('compose test provider', () => {
  const env = composeClientEnv({ POSTGRES_PASSWORD: 'pw', PULSO_CDC_PASSWORD: 'cdc' });
  it('targets the ports compose publishes on 127.0.0.1', () => {
    const cfg = loadConfig(env);
    expect(new URL(cfg.pg.url).port).toBe(publishedDefault('postgres'));
    expect(cfg.kafka.brokers).toEqual([`127.0.0.1:${publishedDefault('kafka')}`]);
    expect(new URL(cfg.connect.url).port).toBe(publishedDefault('connect'));
    expect(new URL(cfg.druid.url).port).toBe(publishedDefault('druid-router'));
    expect(cfg.pg.external).toBe(true);
  });
  it('has Druid read Kafka on the internal listener the compose broker advertises', () => {
    expect(env.DRUID_KAFKA_BOOTSTRAP).toBe('kafka:29092');
  });
});
