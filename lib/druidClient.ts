// The one Druid client: SQL (typed rows or a typed table), supervisors, compaction, retention, batch tasks and
// health, all through the router (cfg.druid.url). Every failure is a DruidError that carries Druid's own error
// text and the HTTP status (0 when Druid did not answer), and says whether trying again can help.
import type { PulsoConfig } from './config.ts';
import { PulsoError } from './errors.ts';
import { httpOk, httpRequest, serverMessage, type HttpRequest } from './http.ts';

type DruidConfig = Pick<PulsoConfig, 'druid'>;

export class DruidError extends PulsoError {
  constructor(
    message: string,
    /** The HTTP status Druid answered with; 0 when it did not answer. */
    readonly status: number,
    cause?: unknown,
    /** Druid's own words (status and error text), without what we were doing. */
    readonly detail = message,
  ) {
    // Retriable: no answer, a server-side failure, or a datasource that does not exist yet (it appears with
    // its first segment, so a wait for rows is right to keep asking).
    super(message, { retriable: status === 0 || status >= 500 || /not found/i.test(message), cause });
  }
}

/** One request to Druid; a connection failure becomes a DruidError with status 0. */
async function druidRequest<T>(cfg: DruidConfig, req: Omit<HttpRequest, 'url'> & { path: string }) {
  return httpRequest<T>({ ...req, url: `${cfg.druid.url}${req.path}` }).catch((e: unknown) => {
    throw new DruidError(`Druid at ${cfg.druid.url} did not answer: ${(e as Error).message}`, 0, e);
  });
}

/** The answer's body when Druid said 200; otherwise a DruidError naming `what` with Druid's own text. */
async function druidOk<T>(cfg: DruidConfig, what: string, req: Omit<HttpRequest, 'url'> & { path: string }) {
  const res = await druidRequest<T>(cfg, req);
  if (res.status !== 200) {
    const detail = serverMessage(res);
    throw new DruidError(`${what} failed (${detail})`, res.status, undefined, detail);
  }
  return res.data;
}

/** The body of a GET, or undefined when Druid has no such thing (404). */
async function druidFind<T>(cfg: DruidConfig, what: string, path: string, timeoutMs?: number) {
  const res = await druidRequest<T>(cfg, { method: 'GET', path, timeoutMs });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new DruidError(`${what} failed (${serverMessage(res)})`, res.status);
  return res.data;
}

const enc = encodeURIComponent;

export function druidHealthy(url: string): Promise<boolean> {
  return httpOk(`${url}/status/health`, (d) => d === true);
}

// ---- SQL ----

export async function queryDruidSql<T = Record<string, unknown>>(
  cfg: DruidConfig,
  query: string,
  context: Record<string, unknown> = {},
  timeoutMs = 60_000,
): Promise<T[]> {
  const res = await druidRequest<T[]>(cfg, {
    method: 'POST',
    path: '/druid/v2/sql',
    body: { query, resultFormat: 'object', context: { sqlTimeZone: 'UTC', ...context } },
    timeoutMs,
  });
  if (res.status !== 200) throw new DruidError(`Druid SQL failed (${serverMessage(res)})\n${query}`, res.status);
  return res.data;
}

export interface DruidTable {
  readonly columns: { readonly name: string; readonly sqlType: string }[];
  readonly rows: unknown[][];
}

/** A parameterised Druid SQL query as a table: column names with their SQL types, then the rows. */
export async function queryDruidTable(
  cfg: DruidConfig,
  query: string,
  parameters: readonly { type: string; value: unknown }[],
  context: Record<string, unknown> = {},
  timeoutMs = 30_000,
): Promise<DruidTable> {
  const body = {
    query,
    parameters,
    resultFormat: 'array',
    header: true,
    sqlTypesHeader: true,
    context: { sqlTimeZone: 'UTC', ...context },
  };
  const data = await druidOk<unknown[][]>(cfg, 'Druid SQL', { method: 'POST', path: '/druid/v2/sql', body, timeoutMs });
  const [names, sqlTypes, ...rows] = data;
  return { columns: (names ?? []).map((n, i) => ({ name: String(n), sqlType: String(sqlTypes?.[i] ?? '') })), rows };
}

// ---- Supervisors ----

export interface SupervisorStatusPayload {
  readonly state: string;
  readonly detailedState?: string;
  readonly healthy: boolean;
  readonly aggregateLag?: number;
  readonly recentErrors?: { exceptionClass?: string; message?: string }[];
  readonly [key: string]: unknown;
}

/** The spec Druid runs under this id (with its defaults filled in), or undefined when there is none. */
export function supervisorSpec(cfg: DruidConfig, id: string): Promise<Record<string, any> | undefined> {
  return druidFind(cfg, `reading supervisor ${id}`, `/druid/indexer/v1/supervisor/${enc(id)}`);
}

export async function submitSupervisorSpec(cfg: DruidConfig, spec: object, what: string): Promise<void> {
  await druidOk(cfg, `submitting ${what}`, {
    method: 'POST',
    path: '/druid/indexer/v1/supervisor',
    body: spec,
    timeoutMs: 60_000,
  });
}

/** Forgets a supervisor's stored offsets: it reads its topic again from where its spec says (the earliest, here). */
export async function resetSupervisor(cfg: DruidConfig, id: string): Promise<void> {
  await druidOk(cfg, `resetting supervisor ${id}`, {
    method: 'POST',
    path: `/druid/indexer/v1/supervisor/${enc(id)}/reset`,
  });
}

export async function listSupervisors(cfg: DruidConfig): Promise<string[]> {
  return druidOk<string[]>(cfg, 'listing supervisors', { method: 'GET', path: '/druid/indexer/v1/supervisor' });
}

export async function terminateSupervisor(cfg: DruidConfig, id: string): Promise<void> {
  await druidOk(cfg, `terminating supervisor ${id}`, {
    method: 'POST',
    path: `/druid/indexer/v1/supervisor/${enc(id)}/terminate`,
  });
}

/** The supervisor's status payload, or undefined when Druid has no supervisor of that id. */
export async function supervisorStatus(
  cfg: DruidConfig,
  id: string,
  timeoutMs = 3000,
): Promise<SupervisorStatusPayload | undefined> {
  const path = `/druid/indexer/v1/supervisor/${enc(id)}/status`;
  const body = await druidFind<{ payload: SupervisorStatusPayload }>(cfg, `supervisor ${id} status`, path, timeoutMs);
  return body?.payload;
}

// ---- Coordinator: compaction, retention, segments ----

export function compactionConfig(cfg: DruidConfig, dataSource: string): Promise<Record<string, unknown> | undefined> {
  return druidFind(
    cfg,
    `compaction config of ${dataSource}`,
    `/druid/coordinator/v1/config/compaction/${enc(dataSource)}`,
  );
}

export async function setCompactionConfig(cfg: DruidConfig, config: object, what: string): Promise<void> {
  await druidOk(cfg, `setting ${what}`, {
    method: 'POST',
    path: '/druid/coordinator/v1/config/compaction',
    body: config,
    timeoutMs: 60_000,
  });
}

/** Removes a datasource's auto-compaction config (none is fine). */
export async function deleteCompactionConfig(cfg: DruidConfig, dataSource: string): Promise<void> {
  const path = `/druid/coordinator/v1/config/compaction/${enc(dataSource)}`;
  const res = await druidRequest(cfg, { method: 'DELETE', path });
  if (res.status !== 200 && res.status !== 404)
    throw new DruidError(`removing the compaction config of ${dataSource} failed (${serverMessage(res)})`, res.status);
}

/** Asks the coordinator to run its compaction duty now instead of at its next period. */
export async function runCompactionNow(cfg: DruidConfig): Promise<void> {
  await druidOk(cfg, 'triggering compaction', { method: 'POST', path: '/druid/coordinator/v1/compaction/compact' });
}

/** The coordinator's last auto-compaction run, one entry per datasource. */
export async function compactionStatus(cfg: DruidConfig): Promise<Record<string, unknown>[]> {
  const body = await druidOk<{ latestStatus?: Record<string, unknown>[] }>(cfg, 'compaction status', {
    method: 'GET',
    path: '/druid/coordinator/v1/compaction/status',
    timeoutMs: 3000,
  });
  return body?.latestStatus ?? [];
}

export async function retentionRules(cfg: DruidConfig, dataSource: string): Promise<unknown[]> {
  const rules = await druidOk<unknown>(cfg, `retention rules of ${dataSource}`, {
    method: 'GET',
    path: `/druid/coordinator/v1/rules/${enc(dataSource)}`,
  });
  return Array.isArray(rules) ? rules : [];
}

export async function setRetentionRules(cfg: DruidConfig, dataSource: string, rules: readonly unknown[], why: string) {
  await druidOk(cfg, `setting the retention rules of ${dataSource}`, {
    method: 'POST',
    path: `/druid/coordinator/v1/rules/${enc(dataSource)}`,
    body: rules,
    timeoutMs: 60_000,
    headers: { 'X-Druid-Author': 'pulso', 'X-Druid-Comment': why },
  });
}

/** Per datasource, the percentage of its used segments the historicals have loaded. */
export async function loadStatus(cfg: DruidConfig): Promise<Record<string, number>> {
  return (
    (await druidOk<Record<string, number>>(cfg, 'segment load status', {
      method: 'GET',
      path: '/druid/coordinator/v1/loadstatus',
    })) ?? {}
  );
}

/** Marks every segment of a datasource unused (the coordinator's kill duty deletes them later). */
export async function dropDataSource(cfg: DruidConfig, dataSource: string): Promise<void> {
  const res = await druidRequest(cfg, {
    method: 'DELETE',
    path: `/druid/coordinator/v1/datasources/${enc(dataSource)}`,
  });
  if (res.status !== 200 && res.status !== 404)
    throw new DruidError(`dropping datasource ${dataSource} failed (${serverMessage(res)})`, res.status);
}

// ---- Batch tasks ----

export async function submitTask(cfg: DruidConfig, spec: object): Promise<string> {
  const body = await druidOk<{ task: string }>(cfg, 'submitting a task', {
    method: 'POST',
    path: '/druid/indexer/v1/task',
    body: spec,
    timeoutMs: 60_000,
  });
  return body.task;
}

/** A task's state (RUNNING, SUCCESS, FAILED) and, when it failed, why. */
export async function taskStatus(cfg: DruidConfig, taskId: string): Promise<{ state: string; errorMsg?: string }> {
  type Status = { statusCode?: string; status?: string; errorMsg?: string };
  const body = await druidOk<{ status?: Status }>(cfg, `task ${taskId} status`, {
    method: 'GET',
    path: `/druid/indexer/v1/task/${enc(taskId)}/status`,
  });
  return { state: body.status?.statusCode ?? body.status?.status ?? 'UNKNOWN', errorMsg: body.status?.errorMsg };
}

/** Ids of the tasks the overlord holds as running, pending or waiting (of one datasource when given). */
export async function activeTaskIds(cfg: DruidConfig, dataSource?: string): Promise<string[]> {
  const lists = await Promise.all(
    ['runningTasks', 'pendingTasks', 'waitingTasks'].map((which) =>
      druidOk<{ id: string; dataSource?: string }[]>(cfg, `listing ${which}`, {
        method: 'GET',
        path: `/druid/indexer/v1/${which}`,
      }),
    ),
  );
  const tasks = lists.flat().filter((t) => dataSource === undefined || t.dataSource === dataSource);
  return [...new Set(tasks.map((t) => t.id))];
}

/** Asks the overlord to shut a task down (it ends FAILED; a Kafka supervisor replaces it). */
export async function shutdownTask(cfg: DruidConfig, taskId: string): Promise<void> {
  await druidOk(cfg, `shutting down task ${taskId}`, {
    method: 'POST',
    path: `/druid/indexer/v1/task/${enc(taskId)}/shutdown`,
  });
}

/** Asks a Kafka supervisor to hand off (publish) its task groups' segments now instead of at the next period. */
export async function handoffTaskGroups(cfg: DruidConfig, supervisor: string, taskGroupIds: number[]): Promise<void> {
  await druidOk(cfg, `early handoff of ${supervisor}`, {
    method: 'POST',
    path: `/druid/indexer/v1/supervisor/${enc(supervisor)}/taskGroups/handoff`,
    body: { taskGroupIds },
  });
}
