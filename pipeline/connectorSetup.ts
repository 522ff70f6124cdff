// The Debezium connector as connect/pulso-postgres.json declares it: registered or updated (an unchanged
// config is left alone), then waited for until it and its task run.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT, type PulsoConfig } from '../lib/config.ts';
import { connectorConfig, connectorStatus, putConnectorConfig } from '../lib/connectClient.ts';
import { BootstrapError, waitUntil } from './bootstrapError.ts';

export const CONNECTOR_FILE = 'connect/pulso-postgres.json';

export interface ConnectorDefinition {
  readonly name: string;
  readonly config: Record<string, string>;
}

export function readConnectorDefinition(root = PROJECT_ROOT): ConnectorDefinition {
  return JSON.parse(readFileSync(resolve(root, CONNECTOR_FILE), 'utf8'));
}

/** Registers or updates a connector; an unchanged config is left alone. Connect's own error on rejection. */
export async function registerConnector(
  cfg: PulsoConfig,
  def: ConnectorDefinition,
  source = CONNECTOR_FILE,
): Promise<'registered' | 'updated' | 'unchanged'> {
  const current = await connectorConfig(cfg.connect.url, def.name);
  const same =
    current !== undefined &&
    Object.entries(def.config).every(([k, v]) => current[k] === v) &&
    Object.keys(current).every((k) => k === 'name' || k in def.config);
  if (same) return 'unchanged';
  await putConnectorConfig(cfg.connect.url, def.name, def.config, source).catch((e: Error) => {
    throw new BootstrapError(e.message, { cause: e });
  });
  return current === undefined ? 'registered' : 'updated';
}

/** Waits until the connector and its task run; a FAILED one ends the wait at once with its trace. */
export async function waitForConnectorRunning(
  cfg: PulsoConfig,
  name: string,
  waitS: number,
  log: (l: string) => void,
): Promise<void> {
  let last = '';
  const probe = async () => {
    const s = await connectorStatus(cfg.connect.url, name).catch(() => undefined);
    if (!s) return false;
    const task = s.tasks?.[0];
    if (task?.state === 'FAILED')
      throw new BootstrapError(
        `connector ${name} task FAILED: ${String(task.trace).split('\n').slice(0, 6).join('\n')}`,
      );
    if (s.connector?.state === 'FAILED') throw new BootstrapError(`connector ${name} FAILED: ${s.connector.trace}`);
    last = `${s.connector?.state}/${task?.state ?? 'no task'}`;
    return s.connector?.state === 'RUNNING' && task?.state === 'RUNNING';
  };
  await waitUntil(`connector ${name}`, waitS, probe, () => {
    log(`connector ${name} state: ${last}`);
    return `connector ${name} did not reach RUNNING within ${waitS}s (state ${last}); see npm run logs -- connect`;
  });
}
