// Pure: where each input partition's state lives. The state topic has one partition per input topic-partition
// (co-partitioned with the CDC input: orders 0..n-1, then order_items 0..m-1), so an instance restores and
// keeps only the state of the partitions it is assigned, and a rebalance moves only theirs.
import kafkajs from 'kafkajs';
import { PulsoError } from '../../lib/errors.ts';

export interface InputTopic {
  readonly topic: string;
  readonly partitions: number;
}

export interface StateLayout {
  readonly inputs: readonly InputTopic[];
  /** Partitions the state topic has: one per input topic-partition. */
  readonly statePartitions: number;
}

export function stateLayout(inputs: readonly InputTopic[]): StateLayout {
  for (const i of inputs)
    if (!Number.isInteger(i.partitions) || i.partitions < 1)
      throw new PulsoError(`input topic ${i.topic} has ${i.partitions} partitions`);
  return { inputs, statePartitions: inputs.reduce((n, i) => n + i.partitions, 0) };
}

/** The state partition of an input topic-partition. */
export function statePartitionOf(layout: StateLayout, topic: string, partition: number): number {
  let base = 0;
  for (const i of layout.inputs) {
    if (i.topic === topic) {
      if (partition < 0 || partition >= i.partitions)
        throw new PulsoError(`${topic}[${partition}] is beyond the ${i.partitions} partitions the state layout knows`);
      return base + partition;
    }
    base += i.partitions;
  }
  throw new PulsoError(
    `${topic} is not an input of the state layout (${layout.inputs.map((i) => i.topic).join(', ')})`,
  );
}

/** The state partitions of every partition of one input topic (a TRUNCATE concerns all of them). */
export function statePartitionsOfTopic(layout: StateLayout, topic: string): number[] {
  const i = layout.inputs.find((x) => x.topic === topic);
  if (!i) return [];
  const base = statePartitionOf(layout, topic, 0);
  return Array.from({ length: i.partitions }, (_, p) => base + p);
}

const partitioner = kafkajs.Partitioners.DefaultPartitioner();

/**
 * The input partition Kafka Connect put a row's changes in: Debezium's key is the JSON `{"id":<pk>}`
 * (JsonConverter, schemas off) and the producer's default partitioner is murmur2 of the key bytes, which
 * kafkajs' DefaultPartitioner reproduces. Used only to move a state topic of the old single-partition layout.
 */
export function inputPartitionOfRow(pk: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, p) => ({
    partitionId: p,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: '', partitionMetadata, message: { key: Buffer.from(`{"id":${pk}}`), value: null } });
}
