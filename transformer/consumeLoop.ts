// The transformer's I/O loop: CDC topics → clean events, rollup deltas and counters, exactly once.
//
// Exactly-once, end to end:
// - the consumer reads read_committed and never auto-commits; each chunk of a fetched batch is one Kafka
//   transaction holding the produced messages, the dead letters, the dedupe state records and the consumer
//   offsets (sendOffsets). Either all of it becomes visible or none of it does.
// - scale-out: any number of instances share the consumer group. Each input topic-partition has its own
//   transactional id (lib/names.ts), and after every rebalance an instance starts a producer per partition
//   it was assigned (partitionProducers.ts) before it brings their state up to date: that start fences every
//   earlier owner of the partition (crashed, or paused and unaware of the rebalance) and aborts what it left
//   open, so a zombie can never commit output, offsets or state afterwards, and the state read is final.
// - Debezium itself is at-least-once: its repeats are dropped by the source-position dedupe (dedupe.ts).
// - State (dedupe and rollup ledger) is partitioned like the input: each input partition's state lives in its
//   own partition of the compacted state topic, written in the same transactions, and in a local LMDB store
//   checkpointed at the state-topic offset it reflects, so a restart or a rebalance reads only the tail of the
//   partitions it is assigned (state/*, processChunk.ts).
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { PulsoConfig } from '../lib/config.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import {
  transformerGroupId,
  transformerTopics,
  transformerTransactionalId,
  type TransformerTopics,
} from '../lib/names.ts';
import { ensureTopics } from './ensureTopics.ts';
import { DimensionTables } from './dimensions.ts';
import { CONSUMER_FETCH_SIZES, ProducerFencedError } from './kafkaClient.ts';
import { createKafka } from '../lib/kafka.ts';
import { PartitionNotOwnedError, PartitionProducers, type Assignment } from './partitionProducers.ts';
import { GroupOwnership } from './groupOwnership.ts';
import { TransformerMetrics, type MetricsSnapshot } from './metrics.ts';
import { serveMetrics } from './metricsServer.ts';
import { processChunk, type ChunkContext } from './processChunk.ts';
import { startDimensionReader, takeOverAssignment } from './restoreState.ts';
import type { StateStore } from './state/localStore.ts';
import { MAX_CHECKPOINT_AGE_MS, openState } from './state/openState.ts';
import { statePartitionOf, type StateLayout } from './state/stateLayout.ts';
import type { TopicReader } from './topicReader.ts';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';

/** Records per Kafka transaction: bounds the work redone after a crash and the size of one commit. */
export const MAX_RECORDS_PER_TRANSACTION = 5000;

export interface TransformerOptions {
  /** Names this instance in logs, metrics and transformer_stats. Default cfg.transformer.instanceId. */
  readonly instanceId?: string;
  readonly groupId?: string;
  readonly topics?: Partial<TransformerTopics>;
  /** Port for /metrics, /metrics.json and /health; null to serve nothing (tests). Default cfg.transformer.metricsPort. */
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
  readonly instanceId: string;
  /** The transactional ids of the partitions this instance owns right now. */
  transactionalIds(): string[];
  readonly topics: TransformerTopics;
}

/**
 * The consumer. Session timeout 10 s by default: after a SIGKILL the group waits that long for the dead member
 * before its partitions move, so it is the floor of the transformer's recovery. It was 30 s while every join
 * re-read the whole state (~60 s on the loaded box, which outlived a 10 s session); a join now reads only the
 * state topic's tail from the local checkpoints (~0.1 s), heartbeating throughout. Tests shorten it.
 */
function createConsumer(kafka: Kafka, groupId: string, sessionTimeout: number): Consumer {
  return kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    ...CONSUMER_FETCH_SIZES,
    sessionTimeout,
    heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
  });
}

interface LoopParts {
  readonly consumer: Consumer;
  readonly metrics: TransformerMetrics;
  readonly ownership: GroupOwnership;
  readonly producers: PartitionProducers;
  readonly log: Logger;
  readonly groupId: string;
  readonly onFatal?: (error: Error) => void;
}

/** Group joins, lag and crashes as the consumer reports them. */
function watchConsumer({ consumer, metrics, ownership, producers, log, groupId, onFatal }: LoopParts): void {
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // Another instance may have advanced the partitions we now own: take them over and re-read the state.
    ownership.joined(payload.memberAssignment);
    void producers.release(payload.memberAssignment);
    log.info('joined consumer group', { groupId, memberAssignment: payload.memberAssignment });
  });
  // Lag from kafkajs' batch bookkeeping: it also fires for batches holding only transaction markers
  // (Connect writes exactly-once, so every partition ends with a commit marker that is never a message).
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const lag = BigInt(payload.highWatermark) - BigInt(payload.lastOffset) - 1n;
    metrics.setLag(payload.topic, payload.partition, Math.max(0, Number(lag)));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    metrics.recordCrash(payload.error.message); // a crash loop turns /health to 503: the supervisor restarts the process
    log.error('consumer crashed', {
      error: payload.error.message,
      restart: payload.restart,
      health: metrics.health().status,
    });
    if (!payload.restart) {
      metrics.status = 'failed';
      onFatal?.(payload.error);
    }
  });
}

/** Takes an assignment over (producers fenced, state re-read from the local checkpoints); the state partitions. */
async function takeOver(
  d: {
    kafka: Kafka;
    admin: Admin;
    producers: PartitionProducers;
    topics: TransformerTopics;
    metrics: TransformerMetrics;
    log: Logger;
    state: { layout: StateLayout; store: StateStore };
  },
  assignment: Assignment,
  heartbeat: () => Promise<void>,
): Promise<number[]> {
  const { layout, store } = d.state;
  await takeOverAssignment({
    ...d,
    assignment,
    stateTopic: d.topics.state,
    store,
    layout,
    maxCheckpointAgeMs: MAX_CHECKPOINT_AGE_MS,
    heartbeat,
    progress: d.metrics.restore,
  });
  return Object.entries(assignment).flatMap(([topic, ps]) => ps.map((p) => statePartitionOf(layout, topic, p)));
}

/** The gauges of the metrics snapshot that the loop owns: dimension rows, owned state partitions and their rows. */
function stateMetrics(dims: DimensionTables, ownership: GroupOwnership, store: StateStore | undefined) {
  const partitions = [...ownership.statePartitions];
  return {
    dimensions: dims.stats().rows,
    state: { partitions, rows: partitions.reduce((n, p) => n + (store?.rows(p) ?? 0), 0) },
  };
}

/** One fetched batch: the assignment taken over if a join made it stale, then one transaction per chunk. */
async function handleBatch(
  chunkContext: ChunkContext,
  ownership: GroupOwnership,
  payload: EachBatchPayload,
): Promise<void> {
  await ownership.ready(payload.heartbeat);
  const messages = payload.batch.messages;
  for (let i = 0; i < messages.length; i += MAX_RECORDS_PER_TRANSACTION) {
    if (!payload.isRunning() || payload.isStale()) return;
    try {
      await processChunk(chunkContext, payload, messages.slice(i, i + MAX_RECORDS_PER_TRANSACTION));
      const sinceJoin = ownership.committed();
      if (sinceJoin !== undefined)
        chunkContext.log.info('first batch committed after joining', {
          ms: sinceJoin,
          restoreMs: chunkContext.metrics.restore.snapshot().ms,
        });
    } catch (e) {
      // Fenced, or no producer: usually the group dropped this instance while it was paused. A heartbeat
      // finds out (kafkajs then rejoins at once) sooner than the consumer's retries would.
      if (e instanceof ProducerFencedError || e instanceof PartitionNotOwnedError) await payload.heartbeat();
      throw e;
    }
  }
}

export async function startTransformer(cfg: PulsoConfig, opts: TransformerOptions = {}): Promise<TransformerHandle> {
  const log = opts.log ?? createLogger('transformer', cfg.logLevel);
  const instanceId = opts.instanceId ?? cfg.transformer.instanceId;
  const groupId = opts.groupId ?? transformerGroupId(cfg.topics);
  const topics: TransformerTopics = { ...transformerTopics(cfg.topics), ...opts.topics };
  const kafka = createKafka(cfg, `${groupId}-${instanceId}@${hostname()}`, { log });
  const transactionalId = (topic: string, partition: number) => transformerTransactionalId(groupId, topic, partition);
  const producers = new PartitionProducers(kafka, transactionalId, log);
  const dims = new DimensionTables();
  // Opened once the CDC topics' partitions are known (openState); until then no partition is owned.
  let state: { layout: StateLayout; store: StateStore } | undefined;
  const ownership: GroupOwnership = new GroupOwnership((assignment, heartbeat) =>
    takeOver({ kafka, admin, producers, topics, metrics, log, state: state! }, assignment, heartbeat),
  );
  const metrics: TransformerMetrics = new TransformerMetrics(
    { instance: instanceId, groupId, transactionalIds: () => producers.transactionalIds() },
    () => stateMetrics(dims, ownership, state?.store),
  );
  const metricsPort = opts.metricsPort === undefined ? cfg.transformer.metricsPort : opts.metricsPort;
  const server: Server | null =
    metricsPort === null ? null : await serveMetrics(metrics, metricsPort, cfg.transformer.metricsHost, cfg.home);
  const admin = kafka.admin();
  let dimReader: TopicReader | undefined;
  const consumer = createConsumer(kafka, groupId, cfg.transformer.sessionTimeoutMs);
  const cleanup = async () => {
    await Promise.allSettled([consumer.disconnect(), producers.disconnectAll(), dimReader?.stop(), admin.disconnect()]);
    await state?.store.close().catch(() => undefined);
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  };

  try {
    await admin.connect();
    const existing = await ensureTopics(cfg, admin, topics, log);
    dimReader = await startDimensionReader({ kafka, topics, existingTopics: existing, dims, log });
    log.info('dimension tables rebuilt', dims.stats().rows);
    state = await openState({ kafka, admin, topics, groupId, instanceId, stateDir: cfg.transformer.stateDir, log });
    const chunkContext: ChunkContext = {
      ...state,
      dims,
      dimReader: () => dimReader,
      topics,
      producers,
      metrics,
      groupId,
      instanceId,
      log,
    };
    watchConsumer({ consumer, metrics, ownership, producers, log, groupId, onFatal: opts.onFatal });
    await consumer.connect();
    await consumer.subscribe({
      topics: [topics.cdcOrders, topics.cdcOrderItems, topics.cdcStock],
      fromBeginning: true,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Each input partition has its own producer and transaction, and the state's keys (order or item pk,
      // topic-partition watermarks) never span two partitions, so several partitions' chunks can be in flight.
      partitionsConsumedConcurrently: cfg.transformer.concurrency,
      eachBatch: (payload) => handleBatch(chunkContext, ownership, payload),
    });
    metrics.status = 'running';
    log.info('transformer running', { groupId, instanceId, topics });
  } catch (e) {
    metrics.status = 'failed';
    await cleanup();
    throw e;
  }
  return transformerHandle({ groupId, instanceId, topics, producers, metrics, consumer, cleanup, log });
}

/** What the caller holds: stop (finishing the chunk in flight), metrics, identity. */
function transformerHandle(parts: {
  groupId: string;
  instanceId: string;
  topics: TransformerTopics;
  producers: PartitionProducers;
  metrics: TransformerMetrics;
  consumer: Consumer;
  cleanup: () => Promise<void>;
  log: Logger;
}): TransformerHandle {
  const { metrics, consumer, log } = parts;
  let stopping: Promise<void> | undefined;
  return {
    groupId: parts.groupId,
    instanceId: parts.instanceId,
    transactionalIds: () => parts.producers.transactionalIds(),
    topics: parts.topics,
    metrics: () => metrics.snapshot(),
    stop() {
      stopping ??= (async () => {
        metrics.status = 'stopping';
        // consumer.stop() waits for the batch in flight, whose transaction commits before it returns.
        await consumer.stop();
        await parts.cleanup();
        metrics.status = 'stopped';
        log.info('transformer stopped', { consumed: metrics.snapshot().consumed });
      })();
      return stopping;
    },
  };
}
