// Two transactions on one partition, aborted in the opposite order to the one they began in: the broker lists
// aborted transactions by where they ended (its transaction index is appended at each abort marker), and a
// read_committed reader must still drop every record of both. kafkajs 2.2.4's filter assumed the list sorted
// by first offset; the transformer's state restore and every reader here rely on that filter (patches/).
import { afterAll, describe, expect, it } from 'vitest';
import { createTransactionalProducer } from '../../transformer/kafkaClient.ts';
import { createTopics, deleteTopicsWithPrefix, readAll, testKafka, testPrefix } from './support/kafkaHarness.ts';

const t = testPrefix('aborts');
const kafka = testKafka();

afterAll(async () => deleteTopicsWithPrefix(kafka, t.prefix));

describe('read_committed with interleaved aborted transactions (real Kafka)', () => {
  it('drops the records of transactions aborted in the reverse order of their start', async () => {
    const topic = `${t.prefix}.aborts`;
    await createTopics(kafka, [topic], 1);
    const first = createTransactionalProducer(kafka, `${t.prefix}-first`);
    const second = createTransactionalProducer(kafka, `${t.prefix}-second`);
    const plain = kafka.producer();
    await Promise.all([first.connect(), second.connect(), plain.connect()]);
    try {
      await plain.send({ topic, messages: [{ key: 'k', value: 'committed-before' }] });
      const a = await first.transaction();
      await a.send({ topic, messages: [{ key: 'k', value: 'aborted-first-1' }] }); // begins first
      const b = await second.transaction();
      await b.send({ topic, messages: [{ key: 'k', value: 'aborted-second-1' }] });
      await a.send({ topic, messages: [{ key: 'k', value: 'aborted-first-2' }] });
      await b.abort(); // ends first
      await a.abort();
      await plain.send({ topic, messages: [{ key: 'k', value: 'committed-after' }] });
    } finally {
      await Promise.allSettled([first.disconnect(), second.disconnect(), plain.disconnect()]);
    }
    const values = (await readAll(kafka, topic)).map((m) => m.value);
    expect(values).toEqual(['committed-before', 'committed-after']);
  });
});
