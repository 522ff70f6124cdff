// Our Node services (the transformer, the dashboards server): `node --import tsx <script>`, healthy when their
// /health answers. The transformer is also judged on whether it works (restartPolicy.ts).
import { resolve } from 'node:path';
import { httpOk } from '../../lib/http.ts';
import { transformerHealth, type TransformerHealthBody } from '../../lib/transformerClient.ts';
import { judgeTransformer } from '../restartPolicy.ts';
import type { ServiceContext, ServiceDef, ServiceName } from './types.ts';

interface NodeServiceSpec {
  readonly name: ServiceName;
  readonly script: string;
  readonly port: number;
  readonly portVar: string;
  readonly urlPath: string;
  readonly after: ServiceName[];
  readonly startTimeoutS: number;
  readonly nodeArgs?: string[];
}

/** A Node service of ours: `node --import tsx <script>`, healthy when its /health answers 200. */
function nodeService(ctx: ServiceContext, spec: NodeServiceSpec): ServiceDef {
  const { name, port } = spec;
  return {
    name,
    stage: 'pipeline',
    portVar: spec.portVar,
    port,
    url: `http://127.0.0.1:${port}${spec.urlPath}`,
    after: spec.after,
    startTimeoutS: spec.startTimeoutS,
    stopSignal: 'SIGTERM', // the transformer finishes the transaction in flight, then exits
    spawnSpec: () => ({
      name,
      command: process.execPath,
      args: [...(spec.nodeArgs ?? []), '--import', 'tsx', resolve(ctx.root, spec.script)],
      cwd: ctx.root,
      environment: 'pulso',
      env: { PULSO_HOME: ctx.cfg.home },
    }),
    health: () => httpOk(`http://127.0.0.1:${port}/health`),
  };
}

/**
 * The transformer re-reads its state after a group join, for as long as that takes: alive while it does (its
 * /health says "restoring", with progress), stuck when that progress stops or its consumer crash-loops.
 */
export function transformerService(ctx: ServiceContext): ServiceDef {
  const { transformer } = ctx.cfg;
  let last: TransformerHealthBody | undefined;
  return {
    ...nodeService(ctx, {
      name: 'transformer',
      script: 'transformer/main.ts',
      port: transformer.metricsPort,
      portVar: 'TRANSFORMER_METRICS_PORT',
      urlPath: '/metrics',
      after: ['kafka'],
      startTimeoutS: 90,
      nodeArgs: [`--max-old-space-size=${transformer.heapMb}`],
    }),
    health: async () =>
      ['running', 'restoring'].includes((await transformerHealth(transformer.metricsPort))?.status ?? ''),
    working: async () => {
      const now = await transformerHealth(transformer.metricsPort);
      const verdict = judgeTransformer(now, last);
      last = now;
      return verdict;
    },
  };
}

export function dashboardsService(ctx: ServiceContext): ServiceDef {
  return nodeService(ctx, {
    name: 'dashboards',
    script: 'dashboard-server/server.ts',
    port: ctx.cfg.dashboards.port,
    portVar: 'DASHBOARDS_PORT',
    urlPath: '/',
    after: ['druid-router'],
    startTimeoutS: 60,
  });
}
