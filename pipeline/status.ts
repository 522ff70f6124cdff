// Where the data is at each stage: replication slot lag (PostgreSQL → Debezium), the connector's state,
// the transformer's counters and consumer lag (CDC topics → `orders`), Druid's supervisor lag
// (`orders` → Druid), dead-lettered records, and freshness of what Druid serves.
import { COMPACTION_SPEC_FILES, SUPERVISOR_SPEC_FILES } from '../druid-specs/renderSpec.ts';
import pg from 'pg';
import type { PulsoConfig } from '../lib/config.ts';
import type { Admin } from 'kafkajs';
import { CONNECTOR_NAME, REPLICATION_SLOT, transformerGroupId, transformerTopics } from '../lib/names.ts';
import { compactionStatus as druidCompactionStatus, queryDruidSql, supervisorStatus } from '../lib/druidClient.ts';
import { prometheusAlerts } from '../lib/prometheusClient.ts';
import { connectorStatus as readConnectorStatus } from '../lib/connectClient.ts';
import { transformerMetrics } from '../lib/transformerClient.ts';

export interface PipelineStatus {
  slot: { active: boolean; lagBytes: number; walStatus: string } | null;
  connector: { state: string; task: string } | null;
  transformer: {
    consumed: number;
    produced: number;
    deadLettered: number;
    deadLetteredByReason: Record<string, number>;
    consumerLag: number;
    /** Transactions the instance aborted since it started: a fence, a broker error, a stop mid-transaction. */
    abortedTransactions: number;
    latencyP50Ms: number | null;
    latencyP95Ms: number | null;
    /** Its health as /health names it (running, restoring, crash-looping…), with the state re-read's progress. */
    status: string;
    restore: { active: boolean; read: number; total: number; ms: number | null } | null;
  } | null;
  druid: Record<string, { state: string; lag: number; healthy: boolean }> | null;
  druidRows: { orders: number; latestCommitMs: number | null } | null;
  /** The coordinator's last auto-compaction run, per datasource with a compaction config. */
  compaction: Record<
    string,
    { compactedSegments: number; awaitingSegments: number; skippedSegments: number; awaitingBytes: number }
  > | null;
  /** Prometheus' alerts that are firing or pending (prometheus/alerts.yml). */
  alerts: { name: string; state: string; severity: string; summary: string; since: string }[] | null;
  errors: string[];
}

/**
 * The transformer group's position over its two CDC input topics, whichever instances hold them: input records
 * committed (offsets are committed only inside the transformer's transactions) and records still to do.
 */
export async function transformerGroupProgress(
  admin: Admin,
  cfg: Pick<PulsoConfig, 'topics'>,
): Promise<{ committed: number; lag: number }> {
  const t = transformerTopics(cfg.topics);
  const inputs = [t.cdcOrders, t.cdcOrderItems];
  const byTopic = await admin.fetchOffsets({ groupId: transformerGroupId(cfg.topics), topics: inputs });
  let committed = 0;
  let lag = 0;
  for (const topic of inputs) {
    for (const e of await admin.fetchTopicOffsets(topic)) {
      const at = Math.max(
        0,
        Number(
          byTopic.find((x) => x.topic === topic)?.partitions.find((p) => p.partition === e.partition)?.offset ?? 0,
        ),
      );
      committed += at;
      lag += Math.max(0, Number(e.high) - at);
    }
  }
  return { committed, lag };
}

export async function slotStatus(cfg: PulsoConfig): Promise<PipelineStatus['slot']> {
  const c = new pg.Client({ connectionString: cfg.pg.monitorUrl, connectionTimeoutMillis: 2000 });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT active, wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS lag
       FROM pg_replication_slots WHERE slot_name = $1`,
      [REPLICATION_SLOT],
    );
    const row = r.rows[0];
    return row ? { active: row.active, lagBytes: Number(row.lag ?? 0), walStatus: row.wal_status } : null;
  } finally {
    await c.end();
  }
}

async function connectorStatus(cfg: PulsoConfig): Promise<PipelineStatus['connector']> {
  const r = await readConnectorStatus(cfg.connect.url, CONNECTOR_NAME, 2000);
  if (!r) return null;
  return { state: r.connector?.state ?? 'UNKNOWN', task: r.tasks?.[0]?.state ?? 'NO TASK' };
}

export async function transformerStatus(cfg: PulsoConfig): Promise<PipelineStatus['transformer']> {
  const m = await transformerMetrics(cfg.transformer.metricsPort);
  return {
    consumed: m.consumed,
    produced: m.produced_total,
    deadLettered: m.dead_lettered,
    deadLetteredByReason: m.dead_lettered_by_reason ?? {},
    consumerLag: m.consumer_lag_total,
    abortedTransactions: m.transactions?.aborted ?? 0,
    latencyP50Ms: m.latency_ms?.p50 ?? null,
    latencyP95Ms: m.latency_ms?.p95 ?? null,
    status: m.status ?? 'unknown',
    restore: m.restore ?? null,
  };
}

export async function druidStatus(cfg: PulsoConfig): Promise<PipelineStatus['druid']> {
  const out: NonNullable<PipelineStatus['druid']> = {};
  // Every supervisor Pulso defines (events, rollups, counters), asked in parallel.
  await Promise.all(
    Object.keys(SUPERVISOR_SPEC_FILES).map(async (ds) => {
      const p = await supervisorStatus(cfg, ds);
      if (p) out[ds] = { state: p.state, lag: p.aggregateLag ?? 0, healthy: p.healthy };
    }),
  );
  return Object.fromEntries(
    Object.keys(SUPERVISOR_SPEC_FILES)
      .filter((ds) => out[ds])
      .map((ds) => [ds, out[ds]!]),
  );
}

async function druidRows(cfg: PulsoConfig): Promise<PipelineStatus['druidRows']> {
  const [row] = await queryDruidSql<{ n: number; latest: number | null }>(
    cfg,
    'SELECT COUNT(*) AS n, MAX(source_ts_ms) AS latest FROM orders',
    {},
    5000,
  );
  return { orders: row?.n ?? 0, latestCommitMs: row?.latest ?? null };
}

async function compactionStatus(cfg: PulsoConfig): Promise<PipelineStatus['compaction']> {
  const latest = await druidCompactionStatus(cfg);
  const out: NonNullable<PipelineStatus['compaction']> = {};
  for (const c of latest) {
    if (!(String(c['dataSource']) in COMPACTION_SPEC_FILES)) continue;
    out[String(c['dataSource'])] = {
      compactedSegments: Number(c['segmentCountCompacted'] ?? 0),
      awaitingSegments: Number(c['segmentCountAwaitingCompaction'] ?? 0),
      skippedSegments: Number(c['segmentCountSkipped'] ?? 0),
      awaitingBytes: Number(c['bytesAwaitingCompaction'] ?? 0),
    };
  }
  return out;
}

export async function pipelineStatus(cfg: PulsoConfig): Promise<PipelineStatus> {
  const errors: string[] = [];
  const safe = async <T>(what: string, f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      errors.push(`${what}: ${(e as Error).message}`);
      return null;
    }
  };
  const [slot, connector, transformer, druid, rows, compaction, alerts] = await Promise.all([
    safe('replication slot', () => slotStatus(cfg)),
    safe('connector', () => connectorStatus(cfg)),
    safe('transformer', () => transformerStatus(cfg)),
    safe('druid supervisors', () => druidStatus(cfg)),
    safe('druid rows', () => druidRows(cfg)),
    safe('druid compaction', () => compactionStatus(cfg)),
    safe('prometheus alerts', () => alertStatus(cfg)),
  ]);
  return { slot, connector, transformer, druid, druidRows: rows, compaction, alerts, errors };
}

export async function alertStatus(cfg: PulsoConfig): Promise<PipelineStatus['alerts']> {
  const alerts = await prometheusAlerts(cfg.monitoring.prometheusUrl);
  return alerts
    .filter((a) => a.state !== 'inactive')
    .map((a) => ({
      name: a.labels.alertname ?? '?',
      state: a.state,
      severity: a.labels.severity ?? '',
      summary: a.annotations.summary ?? '',
      since: a.activeAt,
    }))
    .sort((a, b) => (a.state === b.state ? a.name.localeCompare(b.name) : a.state === 'firing' ? -1 : 1));
}

const kb = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1048576).toFixed(1)} MB`);

export function formatPipelineStatus(p: PipelineStatus): string[] {
  const lines: string[] = [];
  if (p.alerts) {
    if (p.alerts.length === 0) lines.push('alerts               none firing');
    for (const a of p.alerts)
      lines.push(
        `ALERT ${a.state.toUpperCase().padEnd(14)} ${a.name} (${a.severity}): ${a.summary} — since ${a.since.slice(0, 19)}Z; runbook: docs/operations.md#${a.name.toLowerCase()}`,
      );
  }
  if (p.slot)
    lines.push(
      `postgres → debezium   slot ${REPLICATION_SLOT} ${p.slot.active ? 'active' : 'INACTIVE'}, lag ${kb(p.slot.lagBytes)}, wal ${p.slot.walStatus}`,
    );
  if (p.connector) lines.push(`debezium connector   ${p.connector.state} (task ${p.connector.task})`);
  if (p.transformer) {
    const t = p.transformer;
    lines.push(
      `transformer          consumed ${t.consumed}, produced ${t.produced}, dead-lettered ${t.deadLettered}, lag ${t.consumerLag}, aborted transactions ${t.abortedTransactions}` +
        (t.latencyP50Ms !== null ? `, commit→produced p50 ${t.latencyP50Ms} ms p95 ${t.latencyP95Ms} ms` : ''),
    );
    if (t.restore?.active)
      lines.push(
        `transformer          RESTORING its state: ${t.restore.read} of ${t.restore.total} records read (busy, not stuck, while this grows)`,
      );
    else if (t.status !== 'running') lines.push(`transformer          ${t.status.toUpperCase()}`);
    else if (t.restore?.ms != null)
      lines.push(
        `transformer          last state re-read: ${t.restore.total} records in ${(t.restore.ms / 1000).toFixed(1)} s`,
      );
  }
  if (p.druid)
    for (const [ds, s] of Object.entries(p.druid))
      lines.push(`druid supervisor     ${ds}: ${s.state}, lag ${s.lag}${s.healthy ? '' : ' (UNHEALTHY)'}`);
  if (p.druidRows)
    lines.push(
      `druid orders         ${p.druidRows.orders} event rows, latest commit ${p.druidRows.latestCommitMs ? new Date(p.druidRows.latestCommitMs).toISOString() : '-'}`,
    );
  // Skipped: inside skipOffsetFromLatest (the newest hour may still change) or already compact.
  for (const [ds, c] of Object.entries(p.compaction ?? {})) {
    lines.push(
      `druid compaction     ${ds}: ${c.compactedSegments} segments compacted, ${c.awaitingSegments} awaiting${c.awaitingBytes ? ` (${kb(c.awaitingBytes)})` : ''}, ${c.skippedSegments} skipped`,
    );
  }
  for (const e of p.errors) lines.push(`unavailable          ${e}`);
  return lines;
}
