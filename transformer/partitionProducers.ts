// The transactional producers of one transformer instance: one per input topic-partition it is assigned
// (lib/names.ts transformerTransactionalId). Each rebalance replaces them all: the new producers' start
// (InitProducerId) fences whoever held those partitions before and aborts what they left open, and only
// then does the loop re-read the state, so the state it works from is final for every partition it owns.
import kafkajs from 'kafkajs';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../lib/log.ts';
import { topicPartitionKey } from './dedupe.ts';
import { createTransactionalProducer } from './kafkaClient.ts';

/** A consumer group assignment as kafkajs reports it on GROUP_JOIN: topic → partitions. */
export type Assignment = Readonly<Record<string, readonly number[]>>;

/** The topic-partitions of an assignment, each with the transactional id that fences its earlier owners. */
export function assignedPartitions(
  assignment: Assignment,
  transactionalIdOf: (topic: string, partition: number) => string,
): { topic: string; partition: number; transactionalId: string }[] {
  return Object.entries(assignment)
    .flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition, transactionalId: transactionalIdOf(topic, partition) })),
    )
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * kafkajs' connect() does not register the transactional id (its InitProducerId there carries none); the
 * first transaction() does. Beginning and aborting an empty transaction forces that InitProducerId now: the
 * broker bumps the epoch (an earlier owner's producer can no longer send, commit or add offsets) and
 * finishes aborting the transaction the earlier owner left open before it answers, so the state topic's
 * last stable offset moves past it. The empty abort itself sends nothing.
 */
async function fenceEarlierOwners(producer: Producer): Promise<void> {
  const tx = await producer.transaction();
  await tx.abort();
}

/**
 * Raised for a partition this instance holds no producer for: it was revoked, or its producer was fenced.
 * A retriable kafkajs error: the consumer retries quietly and, if the group has not rebalanced meanwhile,
 * restarts and rejoins, which brings the true assignment.
 */
export class PartitionNotOwnedError extends kafkajs.KafkaJSError {
  constructor(topic: string, partition: number) {
    super(
      `no transactional producer for ${topic}[${partition}]: the partition was revoked or its producer fenced; waiting for the group to rebalance`,
      { retriable: true },
    );
    Object.defineProperty(this, 'name', { value: 'PartitionNotOwnedError' });
  }
}

export class PartitionProducers {
  private readonly producers = new Map<string, { producer: Producer; transactionalId: string }>();

  constructor(
    private readonly kafka: Kafka,
    private readonly transactionalIdOf: (topic: string, partition: number) => string,
    private readonly log: Logger,
  ) {}

  /** Disconnects every producer, then starts one per assigned partition (in parallel), fencing earlier owners. */
  async reassign(assignment: Assignment): Promise<void> {
    await this.disconnectAll();
    const wanted = assignedPartitions(assignment, this.transactionalIdOf);
    const started = await Promise.allSettled(
      wanted.map(async (w) => {
        const producer = createTransactionalProducer(this.kafka, w.transactionalId);
        await producer.connect();
        await fenceEarlierOwners(producer);
        return { ...w, producer };
      }),
    );
    for (const s of started)
      if (s.status === 'fulfilled') this.producers.set(topicPartitionKey(s.value.topic, s.value.partition), s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await this.disconnectAll();
      throw failed.reason;
    }
    this.log.info('transactional producers started for the assigned partitions', {
      transactionalIds: wanted.map((w) => w.transactionalId),
    });
  }

  /**
   * Lets go at once of the partitions a rebalance took away (GROUP_JOIN), so nothing can be written for them
   * even before the next batch; the producers of the ones kept are replaced on that batch (reassign).
   */
  async release(assignment: Assignment): Promise<void> {
    const kept = new Set(
      assignedPartitions(assignment, this.transactionalIdOf).map((p) => topicPartitionKey(p.topic, p.partition)),
    );
    const gone = [...this.producers].filter(([key]) => !kept.has(key));
    for (const [key] of gone) this.producers.delete(key);
    await Promise.allSettled(gone.map(([, e]) => e.producer.disconnect()));
  }

  /** The producer of an owned partition. */
  get(topic: string, partition: number): Producer {
    const entry = this.producers.get(topicPartitionKey(topic, partition));
    if (!entry) throw new PartitionNotOwnedError(topic, partition);
    return entry.producer;
  }

  owns(topic: string, partition: number): boolean {
    return this.producers.has(topicPartitionKey(topic, partition));
  }

  /** Forgets a partition's producer (after it was fenced): nothing is written for it until the next rebalance. */
  async drop(topic: string, partition: number): Promise<void> {
    const key = topicPartitionKey(topic, partition);
    const entry = this.producers.get(key);
    this.producers.delete(key);
    await entry?.producer.disconnect().catch(() => undefined);
  }

  transactionalIds(): string[] {
    return [...this.producers.values()].map((e) => e.transactionalId).sort();
  }

  async disconnectAll(): Promise<void> {
    const all = [...this.producers.values()];
    this.producers.clear();
    await Promise.allSettled(all.map((e) => e.producer.disconnect()));
  }
}
