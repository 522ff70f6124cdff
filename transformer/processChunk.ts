// One chunk of one input partition, exactly once: transform every record against the partition's state,
// write the outputs, dead letters, counters and state records with the consumer offset in one Kafka
// transaction, then the same state records with the state-topic offset after them into the local store.
//
// Crash points (docs/contracts.md, "Transformer state"): killed before the commit, nothing of the chunk is
// visible and the store is untouched; after the commit and before the store write, the store's checkpoint is
// still before these records, so the restore reads them back from the state topic; in the middle of the store
// write, LMDB's transaction never happened, the same.
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import type { TransformerTopics } from '../lib/names.ts';
import { crashPoint } from './crashPoints.ts';
import { DedupeState } from './dedupe.ts';
import type { DimensionTables } from './dimensions.ts';
import { ProducerFencedError } from './kafkaClient.ts';
import type { TransformerMetrics } from './metrics.ts';
import type { PartitionProducers } from './partitionProducers.ts';
import { chunkMessages, commitChunk, type CommitTimings } from './produceChunk.ts';
import { RollupLedger } from './rollup/ledger.ts';
import type { StateStore } from './state/localStore.ts';
import { statePartitionOf, type StateLayout } from './state/stateLayout.ts';
import type { TopicReader } from './topicReader.ts';
import { FORWARDED_TRUNCATE_HEADER, transformRecord, type InputRecord, type Outcome } from './transform.ts';
import { PulsoError } from '../lib/errors.ts';

/** How long an order may wait for a store that its dimension topic has not delivered yet. */
const DIMENSION_WAIT_MS = 5000;

export interface ChunkContext {
  readonly dims: DimensionTables;
  readonly dimReader: () => TopicReader | undefined;
  readonly store: StateStore;
  readonly layout: StateLayout;
  readonly topics: TransformerTopics;
  readonly producers: PartitionProducers;
  readonly metrics: TransformerMetrics;
  readonly groupId: string;
  readonly instanceId: string;
  readonly log: Logger;
}

/** The chunk's records as the pure transform reads them (a forwarded TRUNCATE is told by its header). */
export function inputRecords(topic: string, partition: number, chunk: readonly KafkaMessage[]): InputRecord[] {
  return chunk.map((m) => ({
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    ...(m.headers?.[FORWARDED_TRUNCATE_HEADER] !== undefined && { forwardedTruncate: true }),
  }));
}

/** Transforms the chunk against one state partition; its changes stay in the returned batches until committed. */
export function transformChunk(
  ctx: Pick<ChunkContext, 'dims' | 'topics' | 'layout'>,
  state: { dedupe: DedupeState; ledger: RollupLedger },
  inputs: readonly InputRecord[],
  nowMs: number,
) {
  const dedupeBatch = state.dedupe.beginBatch();
  const ledgerBatch = state.ledger.beginBatch();
  const inputPartitions = (topic: string) => ctx.layout.inputs.find((i) => i.topic === topic)?.partitions ?? 1;
  // A replayed record (group reset) was fully handled by a committed transaction: it is counted, not redone.
  const outcomes = inputs.map((r): Outcome =>
    state.dedupe.isReplayed(r.topic, r.partition, r.offset)
      ? { kind: 'skip', reason: 'replayed' }
      : transformRecord(r, {
          dims: ctx.dims,
          dedupe: dedupeBatch,
          ledger: ledgerBatch,
          topics: ctx.topics,
          nowMs,
          inputPartitions,
        }),
  );
  const last = inputs[inputs.length - 1]!;
  dedupeBatch.markConsumed(last.topic, last.partition, last.offset);
  return { outcomes, stateRecords: [...dedupeBatch.stateRecords(), ...ledgerBatch.stateRecords()] };
}

/**
 * The chunk's outcomes. An order whose store is unknown, or whose date has no exchange rate: the stores or fx_rates
 * topic may simply be behind (a brand-new store, a rate published just before the day's first order). Let the
 * background reader catch up briefly and transform the chunk again; after that, emit with nulls.
 */
async function transformWithDimensions(
  ctx: ChunkContext,
  state: { dedupe: DedupeState; ledger: RollupLedger },
  inputs: readonly InputRecord[],
): Promise<ReturnType<typeof transformChunk> & { nowMs: number }> {
  let nowMs = Date.now();
  let result = transformChunk(ctx, state, inputs, nowMs);
  const dimReader = ctx.dimReader();
  const missing = (what: 'missingStore' | 'missingRate') =>
    result.outcomes.filter((o) => o.kind === 'event' && o[what]).length;
  if (!dimReader || missing('missingStore') + missing('missingRate') === 0) return { ...result, nowMs };
  if (await dimReader.waitForCurrentEnd(DIMENSION_WAIT_MS))
    result = transformChunk(ctx, state, inputs, (nowMs = Date.now()));
  const [stores, rates] = [missing('missingStore'), missing('missingRate')];
  if (stores)
    ctx.log.warn('orders with a store unknown to the dimension tables; store fields are null', { count: stores });
  if (rates)
    ctx.log.warn('orders whose currency has no exchange rate for their business date; their USD amount is null', {
      count: rates,
    });
  return { ...result, nowMs };
}

/** The chunk's transaction; a fenced producer is dropped (a newer owner has the partition) before rethrowing. */
async function commitOrLeave(
  ctx: ChunkContext,
  payload: EachBatchPayload,
  requests: Parameters<typeof commitChunk>[1]['requests'],
  nextOffset: string,
): Promise<CommitTimings> {
  const { batch } = payload;
  try {
    return await commitChunk(ctx.producers.get(batch.topic, batch.partition), {
      requests,
      groupId: ctx.groupId,
      topic: batch.topic,
      partition: batch.partition,
      nextOffset,
      isStale: payload.isStale,
      log: ctx.log,
      stateTopic: ctx.topics.state,
    });
  } catch (e) {
    ctx.metrics.recordAbort();
    if (e instanceof ProducerFencedError) {
      // A newer owner has the partition: write nothing more for it. The consumer's retries end in a rejoin,
      // which brings this instance's true assignment.
      ctx.log.warn('fenced: another instance owns this partition now; leaving it', {
        topic: e.topic,
        partition: e.partition,
      });
      await ctx.producers.drop(e.topic, e.partition);
    }
    throw e;
  }
}

export async function processChunk(ctx: ChunkContext, payload: EachBatchPayload, chunk: KafkaMessage[]): Promise<void> {
  const { batch } = payload;
  const { log, metrics } = ctx;
  const part = statePartitionOf(ctx.layout, batch.topic, batch.partition);
  const table = ctx.store.table(part);
  const state = { dedupe: new DedupeState(table), ledger: new RollupLedger(table) };
  const inputs = inputRecords(batch.topic, batch.partition, chunk);
  const started = performance.now();
  const { outcomes, stateRecords, nowMs } = await transformWithDimensions(ctx, state, inputs);
  const out = chunkMessages({
    inputs,
    messages: chunk,
    outcomes,
    topics: ctx.topics,
    instanceId: ctx.instanceId,
    nowMs,
    stateRecords,
    statePartition: part,
  });
  for (const w of out.warnings) log.warn(w.message, w.fields);
  const nextOffset = (BigInt(chunk[chunk.length - 1]!.offset) + 1n).toString();
  const transformMs = performance.now() - started; // the dimension wait included: time spent before the transaction
  const timings = await commitOrLeave(ctx, payload, out.requests, nextOffset);
  crashPoint('after-commit');
  if (stateRecords.length) {
    // (A chunk of replayed records changes no state: it writes none, and the store has nothing to learn.)
    if (timings.stateEnd === undefined)
      throw new PulsoError(
        `the broker returned no offset for the state records of ${batch.topic}[${batch.partition}]; the local store is re-read from the state topic at the restart`,
      );
    // The checkpoint is past the transaction's commit marker, which follows the last state record: only this input
    // partition's producer writes its state partition. A restart then finds nothing after it and reads nothing.
    ctx.store.write(part, stateRecords, timings.stateEnd + 1n);
  }
  const committedAt = Date.now();
  metrics.recordBatch({
    consumed: chunk.length,
    produced: out.produced,
    bytes: out.bytes,
    phasesMs: { transform: transformMs, produce: timings.produceMs, commit: timings.commitMs },
    deadLettered: out.deadLettered,
    skipped: out.skipped,
    latenciesMs: out.sourceTimes.map((t) => committedAt - t),
    ledgerMismatches: out.ledgerMismatches,
  });
  payload.resolveOffset(chunk[chunk.length - 1]!.offset);
  metrics.setLag(batch.topic, batch.partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(nextOffset))));
  await payload.heartbeat();
}
