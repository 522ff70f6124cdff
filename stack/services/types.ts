// What a local service is (ServiceDef), and what every service builder shares: the configuration, the folders,
// the Java binary and the jars' classpaths.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PulsoConfig } from '../../lib/config.ts';
import { readSecrets } from '../../lib/config.ts';
import { confDir } from '../render.ts';
import { jmxExporterAgent, libDir } from '../jars.ts';
import type { SpawnSpec } from '../processes.ts';

export type ServiceName =
  | 'postgres'
  | 'zookeeper'
  | 'kafka'
  | 'connect'
  | 'druid-coordinator'
  | 'druid-broker'
  | 'druid-historical'
  | 'druid-indexer'
  | 'druid-router'
  | 'transformer'
  | 'dashboards'
  | 'prometheus'
  | 'postgres-exporter'
  | 'pipeline-exporter';

export interface ServiceDef {
  readonly name: ServiceName;
  /** The variable that moves its port, for error messages. */
  readonly portVar: string;
  readonly port: number;
  readonly url: string;
  readonly after: readonly ServiceName[];
  /** infra services come up first; pipeline services after the bootstrap has set topics/connector up. */
  readonly stage: 'infra' | 'pipeline';
  /** Seconds to wait for health before declaring the start failed. */
  readonly startTimeoutS: number;
  /** Signal that stops it cleanly. */
  readonly stopSignal: NodeJS.Signals;
  /** Optional one-off step before the first start (formatting storage, initdb…). */
  prepare?(): Promise<string | undefined>;
  spawnSpec(): SpawnSpec;
  health(): Promise<boolean>;
  /**
   * Whether it does its job, beyond answering (optional): the supervisor restarts a service that is alive but
   * stuck this way for a minute. undefined = nothing to judge yet (not set up).
   */
  working?(): Promise<{ ok: true } | { ok: false; why: string } | undefined>;
}

export function javaBin(cfg: PulsoConfig): string {
  return cfg.javaHome ? resolve(cfg.javaHome, 'bin/java') : 'java';
}

/** Flags every JVM gets: small footprint on a 2-core machine, UTC, loopback. */
export function baseJvmFlags(heapMb: number, extra: string[] = []): string[] {
  return [
    `-Xms${heapMb}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:CICompilerCount=2',
    '-Xss512k',
    '-Duser.timezone=UTC',
    '-Dfile.encoding=UTF-8',
    '-Djava.net.preferIPv4Stack=true',
    ...extra,
  ];
}

/**
 * The Prometheus JMX exporter as a java agent on 127.0.0.1:<port>, with its rules file from prometheus/jmx/ (the
 * same file compose mounts). No flag when the agent jar is not in the component's lib folder (a lib folder resolved
 * before the agent was added is resolved again at the next `up`; until then the JVM starts without it).
 */
export function jmxExporterFlags(ctx: ServiceContext, component: 'kafka' | 'connect', port: number): string[] {
  const agent = jmxExporterAgent(ctx.cfg.home, component);
  if (!existsSync(agent)) return [];
  return [`-javaagent:${agent}=127.0.0.1:${port}:${resolve(ctx.root, 'prometheus/jmx', `${component}.yml`)}`];
}

// Druid needs these on Java 17 (docs/operations/java.md); without them: ExceptionInInitializerError.
export const DRUID_JAVA_OPENS = [
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED',
];

/** What every service builder needs, computed once per stack. */
export interface ServiceContext {
  readonly cfg: PulsoConfig;
  /** The checkout (scripts of our Node services are resolved from here). */
  readonly root: string;
  /** Rendered configuration files (stack/conf, with ports filled in). */
  readonly conf: string;
  /** Data folders of every service. */
  readonly data: string;
  readonly java: string;
  /** Classpaths (folder/*) of the Maven jars per component. */
  readonly classpath: { readonly kafka: string; readonly connect: string; readonly druid: string };
  readonly secrets: () => ReturnType<typeof readSecrets>;
}

export function serviceContext(cfg: PulsoConfig, root: string): ServiceContext {
  return {
    cfg,
    root,
    conf: confDir(cfg),
    data: resolve(cfg.home, 'data'),
    java: javaBin(cfg),
    classpath: {
      kafka: `${libDir(cfg.home, 'kafka')}/*`,
      connect: `${libDir(cfg.home, 'connect')}/*`,
      druid: `${libDir(cfg.home, 'druid')}/*`,
    },
    secrets: () => readSecrets(cfg.home),
  };
}
