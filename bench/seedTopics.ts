// Writes bench records to their topics with a plain kafkajs producer, in requests of ≤ 500 records.
import type { Kafka } from 'kafkajs';

export async function seedTopics(
  kafka: Kafka,
  records: readonly { topic: string; key: Buffer | null; value: Buffer | null }[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    const topics = [...new Set(records.map((r) => r.topic))];
    for (let i = 0; i < records.length; i += 500) {
      const slice = records.slice(i, i + 500);
      await producer.sendBatch({
        topicMessages: topics.map((topic) => ({
          topic,
          messages: slice.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value })),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}
