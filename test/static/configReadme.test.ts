// Every variable the config module reads is documented in the README, and the config rejects bad input
// with a message that names the variable and the fix.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CONFIG_VARS,
  ConfigError,
  PROJECT_ROOT,
  configTableMarkdown,
  loadConfig,
  redactUrl,
} from '../../lib/config.ts';

const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
const configSource = readFileSync(resolve(PROJECT_ROOT, 'lib/config.ts'), 'utf8');

describe('configuration', () => {
  it('documents every variable in the README: its table is the one generated from CONFIG_VARS (npm run config:table)', () => {
    expect(readme).toContain(configTableMarkdown());
  });

  it('declares each literal default once, in CONFIG_VARS: loadConfig passes none of its own', () => {
    const body = configSource.slice(configSource.indexOf('export function loadConfig'));
    expect(body.match(/(?:int|str)\(env, '[A-Z_]+', (?:'[^']*'|\d+)/g) ?? []).toEqual([]);
    expect(loadConfig({}).topics.orders).toBe(CONFIG_VARS.find((v) => v.name === 'ORDERS_TOPIC')!.default);
  });

  it('declares every env variable the config module reads', () => {
    const read = new Set(
      [...configSource.matchAll(/(?:int|str|url|flag|ipAddress)\(env, '([A-Z_]+)'|env\.([A-Z_]+)/g)].map(
        (m) => m[1] ?? m[2],
      ),
    );
    expect(read.size).toBeGreaterThan(30);
    const declared = new Set<string>(CONFIG_VARS.map((v) => v.name));
    expect([...read].filter((n) => !declared.has(n!))).toEqual([]);
  });

  it('rejects a bad port naming the variable', () => {
    expect(() => loadConfig({ KAFKA_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ KAFKA_PORT: 'abc' })).toThrow(/KAFKA_PORT/);
  });

  it('rejects two services on one port', () => {
    expect(() => loadConfig({ CONNECT_PORT: '8083' })).toThrow(
      /DRUID_HISTORICAL_PORT and CONNECT_PORT are both 8083|CONNECT_PORT and DRUID_HISTORICAL_PORT are both 8083/,
    );
  });

  it('rejects an unknown geocoder provider listing the valid ones', () => {
    expect(() => loadConfig({ GEOCODER_PROVIDER: 'google' })).toThrow(/offline, openstreetmap/);
  });

  it('never prints a password', () => {
    expect(redactUrl('postgres://postgres:s3cret@127.0.0.1:55432/pulso')).toBe(
      'postgres://postgres:***@127.0.0.1:55432/pulso',
    );
  });

  it('moves Connect off the Druid historical port by default', () => {
    const cfg = loadConfig({});
    expect(cfg.connect.port).not.toBe(cfg.druid.historicalPort);
    expect(cfg.pg.port).not.toBe(5432);
  });
});
