// The local stack's services in start order; `after` names what must be healthy first. Each family is built in
// its own module of stack/services/.
import { connectService } from './services/connect.ts';
import { druidServices } from './services/druid.ts';
import { kafkaService, zookeeperService } from './services/kafka.ts';
import { dashboardsService, transformerService } from './services/nodeServices.ts';
import { monitoringServices } from './services/monitoring.ts';
import { postgresService } from './services/postgres.ts';
import { serviceContext, type ServiceDef } from './services/types.ts';
import type { PulsoConfig } from '../lib/config.ts';

export type { ServiceDef, ServiceName } from './services/types.ts';
export { javaBin } from './services/types.ts';

export function buildServices(cfg: PulsoConfig, root: string): ServiceDef[] {
  const ctx = serviceContext(cfg, root);
  return [
    postgresService(ctx),
    zookeeperService(ctx),
    kafkaService(ctx),
    connectService(ctx),
    ...druidServices(ctx),
    transformerService(ctx),
    dashboardsService(ctx),
    ...monitoringServices(ctx),
  ];
}
