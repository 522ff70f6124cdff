// The transformer's I/O loop: CDC topics → clean `orders` / `order_items`, exactly once.
//
// Exactly-once, end to end:
// - the consumer reads read_committed and never auto-commits; each chunk of a fetched batch is one Kafka
//   transaction holding the produced events, the dead letters, the dedupe state records and the consumer
//   offsets (sendOffsets). Either all of it becomes visible or none of it does.
// - the transactional id is stable per instance, so a restarted instance fences its crashed predecessor
//   and aborts whatever transaction that one left open.
// - Debezium itself is at-least-once: its repeats are dropped by the source-position dedupe (dedupe.ts),
//   whose state lives in the compacted state topic, written in the same transactions, read back at start.
//
// Usage: `npm run transformer` (or `tsx transformer/run.ts`): runs until SIGTERM/SIGINT, then finishes the
// chunk in flight, commits it and disconnects.
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type EachBatchPayload, type IHeaders, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { loadConfig, type PulsoConfig } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { decodeEnvelope } from './decode/decodeEnvelope.ts';
import { isDecodeError } from './decode/errors.ts';
import { DedupeState } from './dedupe.ts';
import { RollupLedger } from './rollup/ledger.ts';
import { statsRows } from './statsRows.ts';
import { DimensionTables, DIMENSION_TABLES, type DimensionTable } from './dimensions.ts';
import { serveMetrics, TransformerMetrics, type MetricsSnapshot } from './metrics.ts';
import { startTopicReader, type TopicReader } from './topicReader.ts';
import { transformRecord, type InputRecord, type Outcome } from './transform.ts';

/**
 * Names derive from TOPIC_PREFIX (default pulso → group `pulso-transformer`, state topic
 * `pulso.transformer.state`, transactional id `pulso-transformer-main`), so a second pipeline on the same
 * broker (a test, a benchmark) is isolated by choosing another prefix.
 */
export function transformerGroupId(prefix: string): string {
  return `${prefix}-transformer`;
}
export function transformerTransactionalId(prefix: string, instanceId: string): string {
  return `${prefix}-transformer-${instanceId}`;
}
export function stateTopicName(prefix: string): string {
  return `${prefix}.transformer.state`;
}
/** Records per Kafka transaction: bounds the work redone after a crash and the size of one commit. */
const MAX_RECORDS_PER_TRANSACTION = 5000;
/** Fast retries: measured 8 ms p50 per transaction with these, 300+ ms with kafkajs's defaults. */
export const TRANSACTION_RETRY = { initialRetryTime: 5, maxRetryTime: 2000, multiplier: 1.6, retries: 25 } as const;
/** How long an order may wait for a store that its dimension topic has not delivered yet. */
const DIMENSION_WAIT_MS = 5000;

export interface TransformerTopics {
  readonly cdcOrders: string;
  readonly cdcOrderItems: string;
  readonly dimensions: Readonly<Record<DimensionTable, string>>;
  readonly orders: string;
  readonly orderItems: string;
  readonly orderDeltas: string;
  readonly itemDeltas: string;
  readonly deliveries: string;
  readonly stats: string;
  readonly dlq: string;
  readonly state: string;
}

export interface TransformerOptions {
  /** Names this instance; the transactional id is `<prefix>-transformer-<instanceId>` (stable across restarts). */
  readonly instanceId?: string;
  readonly groupId?: string;
  readonly topics?: Partial<TransformerTopics>;
  /** Port for /metrics and /health; null to serve nothing (tests). Default cfg.transformer.metricsPort. */
  readonly metricsPort?: number | null;
  readonly log?: Logger;
  /** Called when the consumer crashed for good (kafkajs will not restart it); the CLI exits non-zero. */
  readonly onFatal?: (error: Error) => void;
}

export interface TransformerHandle {
  /** Finishes the chunk in flight, commits it, disconnects everything. Idempotent. */
  stop(): Promise<void>;
  metrics(): MetricsSnapshot;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly topics: TransformerTopics;
}

export function defaultTopics(cfg: PulsoConfig): TransformerTopics {
  const p = cfg.topics.prefix;
  return {
    cdcOrders: `${p}.public.orders`,
    cdcOrderItems: `${p}.public.order_items`,
    dimensions: { countries: `${p}.public.countries`, cities: `${p}.public.cities`, stores: `${p}.public.stores` },
    orders: cfg.topics.orders,
    orderItems: cfg.topics.orderItems,
    orderDeltas: cfg.topics.orderDeltas,
    itemDeltas: cfg.topics.itemDeltas,
    deliveries: cfg.topics.deliveries,
    stats: cfg.topics.stats,
    dlq: cfg.topics.dlq,
    state: stateTopicName(p),
  };
}

function kafkaLogCreator(log: Logger) {
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...fields } = entry;
      // CONCURRENT_TRANSACTIONS right after a commit is expected and retried within milliseconds.
      if (String(fields.error ?? message).includes('concurrent operation on the same transaction')) log.debug(`kafkajs: ${message}`, fields);
      else if (level === KafkaLogLevel.ERROR) log.error(`kafkajs: ${message}`, fields);
      else if (level === KafkaLogLevel.WARN) log.warn(`kafkajs: ${message}`, fields);
    };
}

export function createKafka(cfg: PulsoConfig, clientId: string, log: Logger): Kafka {
  return new Kafka({ clientId, brokers: cfg.kafka.brokers, logLevel: KafkaLogLevel.WARN, logCreator: kafkaLogCreator(log) });
}

function dlqMessage(m: KafkaMessage, topic: string, partition: number, reason: string, error: string): Message {
  const headers: IHeaders = { ...(m.headers ?? {}) };
  headers['dlq.reason'] = reason;
  headers['dlq.error'] = error.slice(0, 1000);
  headers['dlq.source.topic'] = topic;
  headers['dlq.source.partition'] = String(partition);
  headers['dlq.source.offset'] = m.offset;
  headers['dlq.failed_at'] = new Date().toISOString();
  return { key: m.key, value: m.value, headers };
}

/** Bytes per produce request, below the broker's default message.max.bytes (1 MiB) with headroom. */
const MAX_REQUEST_BYTES = 768 * 1024;

function messageBytes(m: Message): number {
  const size = (v: unknown) => (v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : (v as Buffer).length);
  let headerBytes = 0;
  for (const [k, v] of Object.entries(m.headers ?? {})) headerBytes += k.length + size(v);
  return size(m.key) + size(m.value) + headerBytes + 64;
}

/** Splits one transaction's messages into produce requests the broker accepts (a record batch ≤ 1 MiB). */
export function requestsUnderLimit(byTopic: Map<string, Message[]>): { topic: string; messages: Message[] }[][] {
  const requests: { topic: string; messages: Message[] }[][] = [];
  let current: { topic: string; messages: Message[] }[] = [];
  let bytes = 0;
  for (const [topic, messages] of byTopic) {
    let slot: { topic: string; messages: Message[] } | undefined;
    for (const m of messages) {
      const b = messageBytes(m);
      if (bytes + b > MAX_REQUEST_BYTES && bytes > 0) {
        requests.push(current);
        current = [];
        bytes = 0;
        slot = undefined;
      }
      if (!slot) current.push((slot = { topic, messages: [] }));
      slot.messages.push(m);
      bytes += b;
    }
  }
  if (current.length) requests.push(current);
  return requests;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export async function startTransformer(cfg: PulsoConfig, opts: TransformerOptions = {}): Promise<TransformerHandle> {
  const log = opts.log ?? createLogger('transformer', cfg.logLevel);
  const instanceId = opts.instanceId ?? 'main';
  const groupId = opts.groupId ?? transformerGroupId(cfg.topics.prefix);
  const transactionalId = transformerTransactionalId(cfg.topics.prefix, instanceId);
  const topics: TransformerTopics = { ...defaultTopics(cfg), ...opts.topics };
  const kafka = createKafka(cfg, `pulso-transformer-${instanceId}@${hostname()}`, log);

  const dims = new DimensionTables();
  const dedupe = new DedupeState();
  const ledger = new RollupLedger();
  const metrics = new TransformerMetrics({ instance: instanceId, groupId, transactionalId }, () => ({
    dimensions: dims.stats().rows,
    dedupe: dedupe.size(),
    ledgerRows: ledger.size(),
  }));
  const metricsPort = opts.metricsPort === undefined ? cfg.transformer.metricsPort : opts.metricsPort;
  const server: Server | null = metricsPort === null ? null : await serveMetrics(metrics, metricsPort);

  const admin = kafka.admin();
  let producer: Producer | undefined;
  let dimReader: TopicReader | undefined;
  // Large fetches: each fetched batch becomes one transaction (up to MAX_RECORDS_PER_TRANSACTION), and the
  // per-transaction round trips, not the transform, dominate at small batch sizes.
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
  });
  const cleanup = async () => {
    await Promise.allSettled([consumer.disconnect(), producer?.disconnect(), dimReader?.stop(), admin.disconnect()]);
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  };

  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    // The state topic is the transformer's own; compacted so it keeps one record per partition / snapshot row.
    if (!existing.has(topics.state)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: topics.state, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      });
    }
    // Bootstrap creates the output topics; create them here only if absent so a bare broker works too.
    const missing = [topics.orders, topics.orderItems, topics.orderDeltas, topics.itemDeltas, topics.deliveries, topics.stats, topics.dlq].filter((t) => !existing.has(t));
    if (missing.length) await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: 3 })) });
    for (const t of [topics.cdcOrders, topics.cdcOrderItems, ...Object.values(topics.dimensions)]) {
      if (!existing.has(t)) log.warn('CDC topic does not exist yet; waiting for the connector to create it', { topic: t });
    }

    // Connecting the transactional producer first fences a crashed predecessor with the same transactional
    // id and aborts its open transaction, so the state read below is final.
    producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner, // murmur2 like the Java clients, so keys land where Kafka tools expect
      // Right after a commit the broker is still writing the transaction markers and answers the next
      // AddPartitionsToTxn with CONCURRENT_TRANSACTIONS. kafkajs's default first retry waits ~300 ms,
      // which was most of our commit-to-output latency; the Java client retries within milliseconds.
      retry: TRANSACTION_RETRY,
    });
    await producer.connect();

    // An offset watermark at or past its partition's end means the topic was deleted and recreated (or the
    // broker reset while the state topic survived): trusting it would skip every new record as a replay.
    const dropImpossibleOffsetWatermarks = async () => {
      const stale: { key: string; value: null }[] = [];
      const byTopic = new Map<string, { partition: number; offset: bigint }[]>();
      for (const w of dedupe.offsetWatermarks()) byTopic.set(w.topic, [...(byTopic.get(w.topic) ?? []), w]);
      for (const [topic, marks] of byTopic) {
        const ends = new Map((await admin.fetchTopicOffsets(topic).catch(() => [])).map((p) => [p.partition, BigInt(p.high)]));
        for (const w of marks) {
          const end = ends.get(w.partition);
          if (end !== undefined && w.offset < end) continue;
          log.warn('offset watermark beyond the end of its partition: the topic was recreated; forgetting it (source-position dedupe still applies)', {
            topic, partition: w.partition, watermark: w.offset.toString(), partitionEnd: end?.toString() ?? 'no such partition',
          });
          stale.push(dedupe.dropOffsetWatermark(topic, w.partition));
        }
      }
      if (stale.length) {
        // The producer is transactional: the tombstones get a transaction of their own.
        const tx = await producer!.transaction();
        try {
          await tx.send({ topic: topics.state, messages: stale });
          await tx.commit();
        } catch (e) {
          await tx.abort().catch(() => undefined);
          throw e;
        }
      }
    };

    const loadState = async () => {
      dedupe.clear();
      ledger.clear();
      const reader = await startTopicReader(kafka, {
        name: 'state',
        topics: [topics.state],
        log,
        onMessage: (_t, _p, m) => {
          if (!m.key) return;
          const key = m.key.toString();
          const value = m.value ? m.value.toString() : null;
          if (!ledger.loadStateRecord(key, value)) dedupe.loadStateRecord(key, value);
        },
      });
      try {
        await reader.caughtUp;
      } finally {
        await reader.stop();
      }
      log.info('dedupe state and rollup ledger loaded', { ...dedupe.size(), ledgerRows: ledger.size() });
      await dropImpossibleOffsetWatermarks();
    };

    const dimensionTopicToTable = new Map<string, DimensionTable>(DIMENSION_TABLES.map((t) => [topics.dimensions[t], t]));
    const presentDimensionTopics = [...dimensionTopicToTable.keys()].filter((t) => existing.has(t));
    const startDims = async () => {
      if (presentDimensionTopics.length === 0) return undefined;
      const reader = await startTopicReader(kafka, {
        name: 'dimensions',
        topics: presentDimensionTopics,
        log,
        onMessage: (topic, _p, m) => {
          try {
            dims.apply(dimensionTopicToTable.get(topic)!, decodeEnvelope({ topic, key: m.key, value: m.value }));
          } catch (e) {
            // A dimension row we cannot read is logged, not fatal: orders still flow with that row missing.
            log.warn('skipping unreadable dimension record', { topic, offset: m.offset, error: isDecodeError(e) ? `${e.reason}: ${e.message}` : String(e) });
          }
        },
      });
      await reader.caughtUp;
      return reader;
    };
    const [, reader] = await Promise.all([loadState(), startDims()]);
    dimReader = reader;
    log.info('dimension tables rebuilt', dims.stats().rows);

    let joins = 0;
    let stateStale = false;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // After a rebalance another instance may have advanced partitions we now own: re-read the state.
      if (joins++ > 0) stateStale = true;
      log.info('joined consumer group', { groupId, memberAssignment: payload.memberAssignment });
    });
    // Lag from kafkajs' batch bookkeeping: it also fires for batches holding only transaction markers
    // (Connect writes exactly-once, so every partition ends with a commit marker that is never a message).
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      metrics.setLag(payload.topic, payload.partition, Math.max(0, Number(BigInt(payload.highWatermark) - BigInt(payload.lastOffset) - 1n)));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      log.error('consumer crashed', { error: payload.error.message, restart: payload.restart });
      if (!payload.restart) {
        metrics.status = 'failed';
        opts.onFatal?.(payload.error);
      }
    });

    const processChunk = async (payload: EachBatchPayload, chunk: KafkaMessage[]) => {
      const { batch } = payload;
      const inputs: InputRecord[] = chunk.map((m) => ({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value }));
      let nowMs = 0;
      const transformAll = () => {
        const dedupeBatch = dedupe.beginBatch();
        const ledgerBatch = ledger.beginBatch();
        nowMs = Date.now();
        // A replayed record (group reset) was fully handled by a committed transaction: it is counted, not redone.
        const outcomes = inputs.map((r): Outcome =>
          dedupe.isReplayed(r.topic, r.partition, r.offset)
            ? { kind: 'skip', reason: 'replayed' }
            : transformRecord(r, { dims, dedupe: dedupeBatch, ledger: ledgerBatch, topics, nowMs }),
        );
        dedupeBatch.markConsumed(batch.topic, batch.partition, inputs[inputs.length - 1]!.offset);
        return { dedupeBatch, ledgerBatch, outcomes };
      };
      let { dedupeBatch, ledgerBatch, outcomes } = transformAll();
      // An order whose store is unknown: the stores topic may simply be behind (a brand-new store). Let the
      // background reader catch up briefly and transform the chunk again; after that, emit with nulls.
      if (dimReader && outcomes.some((o) => o.kind === 'event' && o.missingStore)) {
        if (await dimReader.waitForCurrentEnd(DIMENSION_WAIT_MS)) ({ dedupeBatch, ledgerBatch, outcomes } = transformAll());
        const stillMissing = outcomes.filter((o) => o.kind === 'event' && o.missingStore).length;
        if (stillMissing) log.warn('orders with a store unknown to the dimension tables; store fields are null', { count: stillMissing });
      }
      const byTopic = new Map<string, Message[]>();
      const produced = new Map<string, number>();
      const deadLettered = new Map<string, number>();
      const skipped = new Map<string, number>();
      const sourceTimes: number[] = [];
      let ledgerMismatches = 0;
      const emit = (topic: string, message: Message) => {
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        list.push(message);
        bump(produced, topic);
      };
      outcomes.forEach((o, i) => {
        if (o.kind === 'event') {
          for (const out of o.outputs) emit(out.topic, { key: out.key, value: out.value });
          for (const out of o.rollup) emit(out.topic, { key: out.key, value: out.value });
          if (o.ledgerMismatch) {
            ledgerMismatches++;
            log.warn('before image disagrees with the rollup ledger; retracting what the ledger asserted', { topic: batch.topic, offset: chunk[i]!.offset });
          }
          if (!o.isSnapshot) sourceTimes.push(o.sourceTsMs);
        } else if (o.kind === 'skip') {
          bump(skipped, o.reason);
          if (o.reason === 'truncate') log.warn('TRUNCATE on a captured table: no order events can express it', { topic: batch.topic, offset: chunk[i]!.offset });
        } else {
          if (!byTopic.has(topics.dlq)) byTopic.set(topics.dlq, []);
          byTopic.get(topics.dlq)!.push(dlqMessage(chunk[i]!, batch.topic, batch.partition, o.reason, o.error));
          bump(deadLettered, o.reason);
          log.warn('dead-lettered a record', { topic: batch.topic, partition: batch.partition, offset: chunk[i]!.offset, reason: o.reason, error: o.error });
        }
      });
      for (const row of statsRows(inputs, outcomes, instanceId, nowMs)) emit(topics.stats, { key: instanceId, value: JSON.stringify(row) });
      const stateRecords = [...dedupeBatch.stateRecords(), ...ledgerBatch.stateRecords()];
      if (stateRecords.length) byTopic.set(topics.state, stateRecords.map((r) => ({ key: r.key, value: r.value })));
      const nextOffset = (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();

      const tx = await producer!.transaction();
      try {
        for (const topicMessages of requestsUnderLimit(byTopic)) await tx.sendBatch({ topicMessages });
        await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset }] }] });
        // A revoked partition must not be committed by us: the new owner will process it.
        if (payload.isStale()) throw new Error('partition revoked during the batch');
        await tx.commit();
      } catch (e) {
        metrics.recordAbort();
        await tx.abort().catch((abortErr: unknown) => log.error('abort failed', { error: String(abortErr) }));
        throw e;
      }
      dedupe.commit(dedupeBatch);
      ledger.commit(ledgerBatch);
      const committedAt = Date.now();
      metrics.recordBatch({ consumed: chunk.length, produced, deadLettered, skipped, latenciesMs: sourceTimes.map((t) => committedAt - t), ledgerMismatches });
      payload.resolveOffset(chunk[chunk.length - 1]!.offset);
      metrics.setLag(batch.topic, batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(nextOffset))));
      await payload.heartbeat();
    };

    await consumer.connect();
    await consumer.subscribe({ topics: [topics.cdcOrders, topics.cdcOrderItems], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1, // one producer, one open transaction at a time
      eachBatch: async (payload) => {
        if (stateStale) {
          await loadState();
          stateStale = false;
        }
        const messages = payload.batch.messages;
        for (let i = 0; i < messages.length; i += MAX_RECORDS_PER_TRANSACTION) {
          if (!payload.isRunning() || payload.isStale()) return;
          await processChunk(payload, messages.slice(i, i + MAX_RECORDS_PER_TRANSACTION));
        }
      },
    });
    metrics.status = 'running';
    log.info('transformer running', { groupId, transactionalId, topics });
  } catch (e) {
    metrics.status = 'failed';
    await cleanup();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  return {
    groupId,
    transactionalId,
    topics,
    metrics: () => metrics.snapshot(),
    stop() {
      stopping ??= (async () => {
        metrics.status = 'stopping';
        // consumer.stop() waits for the batch in flight, whose transaction commits before it returns.
        await consumer.stop();
        await cleanup();
        metrics.status = 'stopped';
        log.info('transformer stopped', { consumed: metrics.snapshot().consumed });
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  const cfg = loadConfig();
  const log = createLogger('transformer', cfg.logLevel);
  let started: TransformerHandle | undefined;
  const handle = await startTransformer(cfg, {
    log,
    // Exiting lets whatever supervises the process (npm run up, compose) restart it; the restart resumes exactly.
    onFatal: () => void (started?.stop() ?? Promise.resolve()).finally(() => process.exit(1)),
  });
  started = handle;
  let signals = 0;
  const onSignal = (signal: string) => {
    if (signals++ > 0) {
      log.warn('second signal: exiting without waiting', { signal });
      process.exit(1);
    }
    log.info('stopping on signal', { signal });
    handle.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('stop failed', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    createLogger('transformer').error('transformer failed to start', { error: e instanceof Error ? e.stack : String(e) });
    process.exit(1);
  });
}
