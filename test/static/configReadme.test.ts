// Every variable the config module reads is documented in the README, and the config rejects bad input
// with a message that names the variable and the fix.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_VARS, ConfigError, PROJECT_ROOT, loadConfig, redactUrl } from '../../lib/config.ts';

const readme = readFileSync(resolve(PROJECT_ROOT, 'README.md'), 'utf8');
const configSource = readFileSync(resolve(PROJECT_ROOT, 'lib/config.ts'), 'utf8');

describe('configuration', () => {
  it('documents every variable in the README', () => {
    const missing = CONFIG_VARS.filter((v) => !readme.includes(`| \`${v.name}\` |`)).map((v) => v.name);
    expect(missing).toEqual([]);
  });

  it('declares every env variable the config module reads', () => {
    const read = new Set([...configSource.matchAll(/(?:int|str|url)\(env, '([A-Z_]+)'/g)].map((m) => m[1]));
    const declared = new Set(CONFIG_VARS.map((v) => v.name));
    expect([...read].filter((n) => !declared.has(n!))).toEqual([]);
  });

  it('rejects a bad port naming the variable', () => {
    expect(() => loadConfig({ KAFKA_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ KAFKA_PORT: 'abc' })).toThrow(/KAFKA_PORT/);
  });

  it('rejects two services on one port', () => {
    expect(() => loadConfig({ CONNECT_PORT: '8083' })).toThrow(/DRUID_HISTORICAL_PORT and CONNECT_PORT are both 8083|CONNECT_PORT and DRUID_HISTORICAL_PORT are both 8083/);
  });

  it('rejects an unknown geocoder provider listing the valid ones', () => {
    expect(() => loadConfig({ GEOCODER_PROVIDER: 'google' })).toThrow(/offline, openstreetmap/);
  });

  it('never prints a password', () => {
    expect(redactUrl('postgres://postgres:s3cret@127.0.0.1:55432/pulso')).toBe('postgres://postgres:***@127.0.0.1:55432/pulso');
  });

  it('moves Connect off the Druid historical port by default', () => {
    const cfg = loadConfig({});
    expect(cfg.connect.port).not.toBe(cfg.druid.historicalPort);
    expect(cfg.pg.port).not.toBe(5432);
  });
});
