// For machines with Docker: PULSO_TEST_PROVIDER=compose npm test runs the integration suites against
// docker-compose.cdc.yml (the very file users run), started through testcontainers, instead of the local
// process stack. Not exercised in this repository's CI, which has no Docker engine.
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DockerComposeEnvironment, Wait } from 'testcontainers';
import { PROJECT_ROOT, readVersions } from '../../lib/config.ts';

function readDotEnv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** The client-side environment that points Pulso's config module at the compose stack's published ports. */
export function composeClientEnv(secrets: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: `postgres://postgres:${secrets.POSTGRES_PASSWORD}@127.0.0.1:${secrets.PG_PORT ?? '55432'}/pulso`,
    PULSO_CDC_PASSWORD: secrets.PULSO_CDC_PASSWORD ?? '',
    KAFKA_BROKERS: `127.0.0.1:${secrets.KAFKA_PORT ?? '9092'}`,
    CONNECT_URL: `http://127.0.0.1:${secrets.CONNECT_PORT ?? '18083'}`,
    DRUID_URL: `http://127.0.0.1:${secrets.DRUID_ROUTER_PORT ?? '8888'}`,
    DRUID_KAFKA_BOOTSTRAP: 'kafka:29092',
  };
}

export async function startComposeStack(): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const secrets = {
    ...readDotEnv(resolve(PROJECT_ROOT, '.env.example')),
    ...readDotEnv(resolve(PROJECT_ROOT, '.env')),
  };
  const started = await new DockerComposeEnvironment(PROJECT_ROOT, 'docker-compose.cdc.yml')
    .withEnvironment({ ...readVersions(), ...secrets })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withWaitStrategy('bootstrap-1', Wait.forOneShotStartup())
    .withStartupTimeout(15 * 60_000)
    .up();
  return { env: composeClientEnv(secrets), stop: async () => void (await started.down()) };
}
