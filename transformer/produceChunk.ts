// The produce step: one chunk's outcomes → the messages of one Kafka transaction (events, rollup deltas,
// counters, dead letters, state records) → that transaction, committed together with the consumer offset.
// `chunkMessages` is pure; `commitChunk` does the I/O.
import { createHash } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { IHeaders, KafkaMessage, Message, Producer, RecordMetadata } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import type { TransformerTopics } from '../lib/names.ts';
import type { InputRecord, Outcome } from './transform.ts';
import { isProducerFenced, ProducerFencedError } from './kafkaClient.ts';
import { statsRows } from './statsRows.ts';
import { crashPoint } from './crashPoints.ts';
import { PulsoError } from '../lib/errors.ts';

/** Bytes per produce request, below the broker's default message.max.bytes (1 MiB) with headroom. */
const MAX_REQUEST_BYTES = 768 * 1024;

/**
 * The largest dead letter written: well under the broker's 1 MiB message limit and one produce request, so a
 * huge poison record can never make its own dead letter fail (and the transaction, and the consumer, loop).
 */
export const MAX_DEAD_LETTER_BYTES = 512 * 1024;
/** Header values longer than this are cut: a reason names the problem, it does not quote the record. */
const MAX_DLQ_HEADER = 1000;

function byteLength(v: Buffer | string | null | undefined): number {
  return v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/**
 * A dead letter keeps the record as it came, with the reason and its source position in headers. A record
 * too large to be written whole keeps the head of its value that fits, with its original size and SHA-256 in
 * headers, so it can still be found at its source offset and matched.
 */
export function dlqMessage(
  m: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>,
  topic: string,
  partition: number,
  reason: string,
  error: string,
  failedAt = new Date(),
): Message {
  const dlq: IHeaders = {
    'dlq.reason': reason.slice(0, MAX_DLQ_HEADER),
    'dlq.error': error.slice(0, MAX_DLQ_HEADER),
    'dlq.source.topic': topic,
    'dlq.source.partition': String(partition),
    'dlq.source.offset': m.offset,
    'dlq.failed_at': failedAt.toISOString(),
  };
  let headers: IHeaders = { ...(m.headers ?? {}), ...dlq };
  let key = m.key;
  let value = m.value;
  const size = () => messageBytes({ key, value, headers });
  if (size() <= MAX_DEAD_LETTER_BYTES) return { key, value, headers };
  const original = value ?? Buffer.alloc(0);
  headers = {
    ...dlq,
    'dlq.truncated': 'true',
    'dlq.original.value.bytes': String(original.length),
    'dlq.original.value.sha256': createHash('sha256').update(original).digest('hex'),
  };
  if (m.headers && Object.keys(m.headers).length)
    headers['dlq.original.headers.dropped'] = String(Object.keys(m.headers).length);
  if (byteLength(key) > MAX_DLQ_HEADER) {
    headers['dlq.original.key.bytes'] = String(byteLength(key));
    key = Buffer.from(key!).subarray(0, MAX_DLQ_HEADER);
  }
  value = null;
  value = original.subarray(0, Math.max(0, MAX_DEAD_LETTER_BYTES - size()));
  return { key, value, headers };
}

/** A message's key, value and header bytes plus a record's framing (an estimate of its wire size). */
function messageBytes(m: Message): number {
  const size = (v: unknown) =>
    v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : (v as Buffer).length;
  let headerBytes = 0;
  for (const [k, v] of Object.entries(m.headers ?? {})) headerBytes += k.length + size(v);
  return size(m.key) + size(m.value) + headerBytes + 64;
}

/** One produce request's messages, by topic. */
export type ProduceRequest = { topic: string; messages: Message[] }[];

/** Splits one transaction's messages into produce requests the broker accepts (a record batch ≤ 1 MiB). */
export function requestsUnderLimit(byTopic: Map<string, Message[]>): ProduceRequest[] {
  return splitUnderLimit(byTopic).requests;
}

/** The split, and the bytes of all the messages (sized once, for the split and the metrics alike). */
function splitUnderLimit(byTopic: Map<string, Message[]>): { requests: ProduceRequest[]; bytes: number } {
  const requests: ProduceRequest[] = [];
  let current: ProduceRequest = [];
  let total = 0;
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
      total += b;
    }
  }
  if (current.length) requests.push(current);
  return { requests, bytes: total };
}

const bump = (map: Map<string, number>, key: string, by = 1): void => void map.set(key, (map.get(key) ?? 0) + by);

/** What one chunk writes, and the tallies the metrics and logs need. */
export interface ChunkMessages {
  readonly byTopic: Map<string, Message[]>;
  /** The same messages split into the produce requests of the transaction. */
  readonly requests: ProduceRequest[];
  readonly produced: Map<string, number>;
  /** Bytes of every message written (keys, values, headers, dead letters and state records included). */
  readonly bytes: number;
  readonly deadLettered: Map<string, number>;
  readonly skipped: Map<string, number>;
  /** source.ts_ms of every streaming (non-snapshot) event, for commit latency. */
  readonly sourceTimes: number[];
  /** Before images that disagreed with the rollup ledger. */
  readonly ledgerMismatches: number;
  /** Things worth a warning, each with the input offset it concerns. */
  readonly warnings: { message: string; fields: Record<string, unknown> }[];
}

/**
 * The messages of one transaction for a chunk of one partition: every outcome's outputs and deltas, a dead
 * letter per rejected record, the transformer_stats rows, and the state records of the batch.
 */
export function chunkMessages(args: {
  readonly inputs: readonly InputRecord[];
  readonly messages: readonly Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>[];
  readonly outcomes: readonly Outcome[];
  readonly topics: Pick<TransformerTopics, 'dlq' | 'stats' | 'state'>;
  readonly instanceId: string;
  readonly nowMs: number;
  readonly stateRecords: readonly { key: string; value: string | null }[];
  /** The state-topic partition of the chunk's input partition (stateLayout.ts): every state record goes there. */
  readonly statePartition?: number;
}): ChunkMessages {
  const { inputs, messages, outcomes, topics } = args;
  const byTopic = new Map<string, Message[]>();
  const produced = new Map<string, number>();
  const deadLettered = new Map<string, number>();
  const skipped = new Map<string, number>();
  const sourceTimes: number[] = [];
  const warnings: ChunkMessages['warnings'] = [];
  let ledgerMismatches = 0;
  const emit = (topic: string, message: Message) => {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
    bump(produced, topic);
  };
  outcomes.forEach((o, i) => {
    const at = { topic: inputs[i]!.topic, partition: inputs[i]!.partition, offset: inputs[i]!.offset };
    if (o.kind === 'event') {
      for (const out of o.outputs)
        emit(
          out.topic,
          out.partition === undefined
            ? { key: out.key, value: out.value }
            : { key: out.key, value: out.value, partition: out.partition, headers: { ...out.headers } },
        );
      for (const out of o.rollup) emit(out.topic, { key: out.key, value: out.value });
      if (o.ledgerMismatch) {
        ledgerMismatches++;
        warnings.push({
          message: 'before image disagrees with the rollup ledger; retracting what the ledger asserted',
          fields: at,
        });
      }
      if (!o.isSnapshot) sourceTimes.push(o.sourceTsMs);
      if (o.eventType === 'truncated')
        warnings.push({
          message: `TRUNCATE of ${o.table}: every row asserted in the rollups retracted`,
          fields: { ...at, retracted: o.outputs.length },
        });
    } else if (o.kind === 'skip') {
      bump(skipped, o.reason);
      if (o.reason === 'truncate')
        warnings.push({ message: 'TRUNCATE of a table the rollups do not read: nothing to retract', fields: at });
    } else {
      // Dead letters are not counted as produced events: they have their own counter.
      if (!byTopic.has(topics.dlq)) byTopic.set(topics.dlq, []);
      byTopic
        .get(topics.dlq)!
        .push(dlqMessage(messages[i]!, at.topic, at.partition, o.reason, o.error, new Date(args.nowMs)));
      bump(deadLettered, o.reason);
      warnings.push({ message: 'dead-lettered a record', fields: { ...at, reason: o.reason, error: o.error } });
    }
  });
  for (const row of statsRows(inputs, outcomes, args.instanceId, args.nowMs))
    emit(topics.stats, { key: args.instanceId, value: JSON.stringify(row) });
  if (args.stateRecords.length)
    byTopic.set(
      topics.state,
      args.stateRecords.map((r) => ({ key: r.key, value: r.value, partition: args.statePartition })),
    );
  const { requests, bytes } = splitUnderLimit(byTopic);
  return { byTopic, requests, produced, bytes, deadLettered, skipped, sourceTimes, ledgerMismatches, warnings };
}

/** Where one transaction's wall time went: its produce requests, then the offsets and the commit. */
export interface CommitTimings {
  readonly produceMs: number;
  readonly commitMs: number;
  /** The state-topic offset after the last state record the transaction wrote (undefined: it wrote none). */
  readonly stateEnd: bigint | undefined;
}

/** The offset after the last record written to `topic` by these produce requests, from the broker's answers. */
export function endOffsetOf(
  topic: string,
  requests: readonly ProduceRequest[],
  answers: readonly (readonly RecordMetadata[])[],
): bigint | undefined {
  let end: bigint | undefined;
  requests.forEach((request, i) => {
    const count = request.filter((t) => t.topic === topic).reduce((n, t) => n + t.messages.length, 0);
    const meta = answers[i]?.find((m) => m.topicName === topic);
    if (!count || meta?.baseOffset === undefined) return;
    const after = BigInt(meta.baseOffset) + BigInt(count);
    if (end === undefined || after > end) end = after;
  });
  return end;
}

/**
 * One Kafka transaction: the chunk's messages and the consumer offset after its last record, committed
 * together or not at all. A partition revoked meanwhile is never committed by us: its new owner's producer
 * fenced ours (one transactional id per partition), and the new owner redoes the work.
 */
export async function commitChunk(
  producer: Producer,
  args: {
    readonly requests: readonly ProduceRequest[];
    readonly groupId: string;
    readonly topic: string;
    readonly partition: number;
    readonly nextOffset: string;
    readonly isStale: () => boolean;
    readonly log: Logger;
    /** The state topic, whose end offset the local store's checkpoint needs (its records go to one partition). */
    readonly stateTopic?: string;
  },
): Promise<CommitTimings> {
  const started = performance.now();
  const tx = await producer.transaction();
  try {
    const answers: RecordMetadata[][] = [];
    for (const topicMessages of args.requests) answers.push(await tx.sendBatch({ topicMessages }));
    const produced = performance.now();
    await tx.sendOffsets({
      consumerGroupId: args.groupId,
      topics: [{ topic: args.topic, partitions: [{ partition: args.partition, offset: args.nextOffset }] }],
    });
    if (args.isStale()) throw new PulsoError('partition revoked during the batch');
    crashPoint('before-commit');
    await tx.commit();
    const stateEnd = args.stateTopic === undefined ? undefined : endOffsetOf(args.stateTopic, args.requests, answers);
    return { produceMs: produced - started, commitMs: performance.now() - produced, stateEnd };
  } catch (e) {
    // A fenced producer can neither commit nor abort; the broker already aborted (or will abort) its
    // transaction when the new owner started. Nothing of it is visible: hand the partition back.
    if (isProducerFenced(e)) throw new ProducerFencedError(args.topic, args.partition, e);
    const aborted = await tx.abort().then(
      () => true,
      (abortErr: unknown) => {
        args.log.error('abort failed', { error: String(abortErr) });
        return false;
      },
    );
    // kafkajs cannot leave a transaction whose abort failed (it stays ABORTING, and the next begin throws), so
    // limping on through a consumer restart only delays the inevitable: end the process now, non-retriably,
    // and let the supervisor start a fresh producer once Kafka is healthy (measured: ~2 minutes saved).
    if (!aborted)
      throw new kafkajs.KafkaJSNonRetriableError(
        `the transaction could not be aborted after: ${(e as Error).message}; exiting so that a fresh producer takes over`,
      );
    throw e;
  }
}
