// The one Kafka Connect REST client: plugin check, connector config, status, removal. Failures are
// ConnectErrors with Connect's own error text; a connection failure is retriable.
import { PulsoError } from './errors.ts';
import { httpOk, httpRequest, serverMessage, type HttpRequest } from './http.ts';

/** The Debezium PostgreSQL connector's class, as Connect lists it among its plugins. */
export const DEBEZIUM_POSTGRES_CONNECTOR_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';

export class ConnectError extends PulsoError {
  constructor(
    message: string,
    readonly status: number,
    cause?: unknown,
  ) {
    super(message, { retriable: status === 0 || status >= 500, cause });
  }
}

export interface ConnectorStatus {
  readonly connector: { readonly state: string; readonly trace?: string };
  readonly tasks: readonly { readonly id: number; readonly state: string; readonly trace?: string }[];
}

async function connectRequest<T>(url: string, req: Omit<HttpRequest, 'url'> & { path: string }) {
  return httpRequest<T>({ ...req, url: `${url}${req.path}` }).catch((e: unknown) => {
    throw new ConnectError(`Kafka Connect at ${url} did not answer: ${(e as Error).message}`, 0, e);
  });
}

const enc = encodeURIComponent;

/** True when the worker answers and has the Debezium PostgreSQL connector plugin loaded. */
export function debeziumPluginLoaded(url: string): Promise<boolean> {
  return httpOk(
    `${url}/connector-plugins`,
    (d) => Array.isArray(d) && d.some((p: { class?: string }) => p.class === DEBEZIUM_POSTGRES_CONNECTOR_CLASS),
  );
}

/** The connector's state and its tasks', or undefined when no connector of that name is registered. */
export async function connectorStatus(url: string, name: string, timeoutMs = 5000) {
  const res = await connectRequest<ConnectorStatus>(url, {
    method: 'GET',
    path: `/connectors/${enc(name)}/status`,
    timeoutMs,
  });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new ConnectError(`connector ${name} status: ${serverMessage(res)}`, res.status);
  return res.data;
}

/** The connector's configuration as Connect holds it, or undefined when it is not registered. */
export async function connectorConfig(url: string, name: string): Promise<Record<string, string> | undefined> {
  const res = await connectRequest<Record<string, string>>(url, {
    method: 'GET',
    path: `/connectors/${enc(name)}/config`,
  });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new ConnectError(`connector ${name} config: ${serverMessage(res)}`, res.status);
  return res.data;
}

/** Creates or replaces the connector's configuration; Connect's own error text when it refuses. */
export async function putConnectorConfig(url: string, name: string, config: Record<string, string>, what: string) {
  const res = await connectRequest(url, {
    method: 'PUT',
    path: `/connectors/${enc(name)}/config`,
    body: config,
    timeoutMs: 60_000,
  });
  if (res.status >= 300) throw new ConnectError(`Kafka Connect rejected ${what}: ${serverMessage(res)}`, res.status);
}

export async function deleteConnector(url: string, name: string): Promise<void> {
  const res = await connectRequest(url, { method: 'DELETE', path: `/connectors/${enc(name)}` });
  if (res.status >= 300 && res.status !== 404)
    throw new ConnectError(`deleting connector ${name}: ${serverMessage(res)}`, res.status);
}

/** Pauses or resumes a connector (Connect answers 202; the state follows within a second or so). */
export async function setConnectorPaused(url: string, name: string, paused: boolean): Promise<void> {
  const action = paused ? 'pause' : 'resume';
  const res = await connectRequest(url, {
    method: 'PUT',
    path: `/connectors/${enc(name)}/${action}`,
    headers: { 'content-type': 'application/json' },
    body: {},
  });
  if (res.status >= 300) throw new ConnectError(`${action} of connector ${name}: ${serverMessage(res)}`, res.status);
}
