// Resolves each JVM component's classpath from Maven Central with mvn into $PULSO_HOME/lib/<component>,
// one folder per JVM so their dependency versions never mix. Versions come from stack/versions.env.
import { spawn } from 'node:child_process';
import {
  existsSync,
  readFileSync,
  writeFileSync,
  rmSync,
  renameSync,
  mkdirSync,
  readdirSync,
  openSync,
  closeSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PROJECT_ROOT, readVersions } from '../lib/config.ts';
import { PulsoError } from '../lib/errors.ts';

export type JvmComponent = 'kafka' | 'connect' | 'druid';
export const JVM_COMPONENTS: readonly JvmComponent[] = ['kafka', 'connect', 'druid'];

export function libDir(home: string, component: JvmComponent): string {
  return resolve(home, 'lib', component);
}

function mavenProperties(): Record<string, string> {
  const v = readVersions();
  const need = [
    'KAFKA_VERSION',
    'KAFKA_CONNECT_VERSION',
    'DEBEZIUM_VERSION',
    'DRUID_VERSION',
    'LOG4J_VERSION',
    'JMX_EXPORTER_VERSION',
  ];
  for (const k of need) if (!v[k]) throw new PulsoError(`stack/versions.env lacks ${k}`);
  return {
    'kafka.version': v.KAFKA_VERSION!,
    'kafka.connect.version': v.KAFKA_CONNECT_VERSION!,
    'debezium.version': v.DEBEZIUM_VERSION!,
    'druid.version': v.DRUID_VERSION!,
    'log4j.version': v.LOG4J_VERSION!,
    'jmx.exporter.version': v.JMX_EXPORTER_VERSION!,
  };
}

/** The Prometheus JMX exporter java agent, resolved into the Kafka and Connect lib folders (their poms). */
export function jmxExporterAgent(home: string, component: 'kafka' | 'connect'): string {
  return resolve(libDir(home, component), `jmx_prometheus_javaagent-${readVersions().JMX_EXPORTER_VERSION}.jar`);
}

/** What a resolved lib folder was built from; a change of pom or versions triggers a new resolution. */
export function fingerprint(component: JvmComponent): string {
  const pom = readFileSync(resolve(PROJECT_ROOT, 'stack/maven', component, 'pom.xml'), 'utf8');
  return JSON.stringify({ pom, props: mavenProperties() });
}

export function isResolved(home: string, component: JvmComponent): boolean {
  const marker = resolve(libDir(home, component), '.resolved');
  return existsSync(marker) && readFileSync(marker, 'utf8') === fingerprint(component);
}

export interface ResolveProgress {
  (component: JvmComponent, downloaded: number): void;
}

/**
 * Runs `mvn dependency:copy-dependencies` for one component into a fresh folder, then swaps it in,
 * so an interrupted download never leaves a half-filled classpath behind.
 */
export async function resolveJars(
  home: string,
  component: JvmComponent,
  logPath: string,
  onProgress?: ResolveProgress,
): Promise<void> {
  if (isResolved(home, component)) return;
  const target = libDir(home, component);
  const staging = `${target}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(resolve(home, 'lib'), { recursive: true });
  const props = Object.entries(mavenProperties()).map(([k, v]) => `-D${k}=${v}`);
  const args = [
    '-B',
    '-s',
    resolve(PROJECT_ROOT, 'stack/maven/settings.xml'),
    '-f',
    resolve(PROJECT_ROOT, 'stack/maven', component, 'pom.xml'),
    'dependency:copy-dependencies',
    `-DoutputDirectory=${staging}`,
    '-DincludeScope=runtime',
    ...props,
  ];
  mkdirSync(dirname(logPath), { recursive: true });
  const fd = openSync(logPath, 'a');
  let downloaded = 0;
  try {
    await new Promise<void>((ok, fail) => {
      const child = spawn('mvn', args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const onData = (buf: Buffer) => {
        const text = buf.toString();
        writeSync(fd, text);
        const n = text.match(/Downloaded from/g)?.length ?? 0;
        if (n > 0) {
          downloaded += n;
          onProgress?.(component, downloaded);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', (e) =>
        fail(new Error(`could not run mvn (${e.message}). Install Apache Maven 3.8+ (Debian: apt-get install maven).`)),
      );
      child.on('close', (code) => {
        if (code === 0) ok();
        else fail(new Error(`mvn failed to resolve the ${component} classpath (exit ${code}); see ${logPath}`));
      });
    });
  } finally {
    closeSync(fd);
  }
  if (readdirSync(staging).filter((f) => f.endsWith('.jar')).length === 0)
    throw new PulsoError(`mvn produced no jars for ${component}; see ${logPath}`);
  writeFileSync(resolve(staging, '.resolved'), fingerprint(component));
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
}
