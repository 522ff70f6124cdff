// Pure parts of the stack manager: Java version gate and config templating.
import { describe, it, expect } from 'vitest';
import { parseJavaMajor, StackError, stopOrder } from '../../stack/manager.ts';
import { buildServices } from '../../stack/services.ts';
import { renderTemplate, templateVars } from '../../stack/render.ts';
import { loadConfig, PROJECT_ROOT } from '../../lib/config.ts';

describe('parseJavaMajor', () => {
  it('reads modern and legacy version strings', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('openjdk version "25" 2025-09-16')).toBe(25);
  });
  it('refuses Java older than 17 and says what to install', () => {
    expect(() => parseJavaMajor('java version "1.8.0_392"')).toThrow(StackError);
    expect(() => parseJavaMajor('openjdk version "11.0.2" 2019-01-15')).toThrow(
      /Java 11 .*need Java 17 or newer.*Install a JDK 17\+/,
    );
  });
  it('explains output it cannot read', () => {
    expect(() => parseJavaMajor('command not found')).toThrow(/could not read the Java version/);
  });
});

describe('renderTemplate', () => {
  it('fills every placeholder from the config', () => {
    const vars = templateVars(loadConfig({ KAFKA_PORT: '19092', PULSO_HOME: '/tmp/pulso-x' }));
    expect(renderTemplate('listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}\nlog.dirs=${DATA_DIR}/kafka', vars)).toBe(
      'listeners=PLAINTEXT://127.0.0.1:19092\nlog.dirs=/tmp/pulso-x/data/kafka',
    );
  });
  it('fails on an unknown placeholder instead of writing an empty value', () => {
    expect(() => renderTemplate('x=${NOPE}', {}, 'kafka/server.properties')).toThrow(
      /kafka\/server.properties: unknown placeholder \$\{NOPE\}/,
    );
  });
  it('leaves Connect config-provider references alone', () => {
    expect(renderTemplate('p=${env:PULSO_CDC_PASSWORD}', {})).toBe('p=${env:PULSO_CDC_PASSWORD}');
  });
});

describe('stopOrder', () => {
  it('stops every service exactly once, pipeline services (transformer, dashboards) first, infrastructure last', () => {
    const services = buildServices(loadConfig({}), PROJECT_ROOT);
    const waves = stopOrder(services);
    expect(waves.flat().sort()).toEqual(services.map((s) => s.name).sort());
    expect(waves[0]).toEqual(expect.arrayContaining(['transformer', 'dashboards']));
    expect(waves.at(-1)).toEqual(['zookeeper', 'postgres']);
  });
});
