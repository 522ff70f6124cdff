// Helpers for the transformer's integration tests against the real local Kafka. Every test works in its own
// topic prefix (its own CDC-like input topics, output topics, state topic, consumer group, transactional id),
// so it never disturbs the running pipeline, and deletes what it created.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { inheritedEnv, loadConfig, type PulsoConfig } from '../../../lib/config.ts';
import { isolatedTopicEnv, transformerGroupId, transformerTopics, type TransformerTopics } from '../../../lib/names.ts';
import { pollUntil } from '../../../lib/poll.ts';
import { transformerGroupProgress } from '../../../pipeline/status.ts';
import { readCommitted } from '../../../lib/readCommitted.ts';
import { createKafka } from '../../../lib/kafka.ts';

export interface TestPrefix {
  readonly prefix: string;
  readonly env: Record<string, string>;
  readonly cfg: PulsoConfig;
  readonly topics: TransformerTopics;
}

export function testPrefix(name: string): TestPrefix {
  const prefix = `it-${name}-${randomUUID().slice(0, 8)}`;
  // Its own local state store folder too: the instance names ('it', 'a', …) repeat across tests.
  const env = { ...isolatedTopicEnv(prefix), TRANSFORMER_STATE_DIR: join(tmpdir(), 'pulso-it-state', prefix) };
  const cfg = loadConfig(inheritedEnv(env));
  return {
    prefix,
    env,
    cfg,
    topics: transformerTopics(cfg.topics),
  };
}

export function testKafka(): Kafka {
  return createKafka(loadConfig(), 'pulso-transformer-it');
}

export async function createTopics(kafka: Kafka, topics: string[], numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions })) });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await admin.deleteTopics({ topics: mine });
  } finally {
    await admin.disconnect();
  }
}

export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

function headersToStrings(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {}))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  return out;
}

/** Everything committed in a topic right now (read_committed), in partition/offset order. */
export async function readAll(kafka: Kafka, topic: string): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  await readCommitted(
    kafka,
    topic,
    (partition, m: KafkaMessage) => {
      out.push({
        partition,
        offset: m.offset,
        key: m.key?.toString() ?? null,
        value: m.value?.toString() ?? null,
        headers: headersToStrings(m.headers),
      });
    },
    60_000,
  );
  return out.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 90_000,
): Promise<T> {
  const box = await pollUntil(
    async () => {
      const v = await probe();
      return v === undefined ? undefined : { v };
    },
    { what, timeoutMs, intervalMs: 250, isFatal: () => true },
  );
  return box.v;
}

/** Deletes what a test pipeline left: every topic of its prefix and its transformer consumer group. */
export async function deletePipelineOfPrefix(kafka: Kafka, t: TestPrefix): Promise<void> {
  await deleteTopicsWithPrefix(kafka, t.prefix);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([transformerGroupId(t.cfg.topics)]).catch(() => undefined);
  await admin.disconnect();
}

/**
 * Waits until the transformer group's committed offsets (committed only inside its transactions) reach the
 * end of both CDC input topics of the test prefix: every input record has been handled by a commit.
 */
export async function waitForGroupToCommitInput(
  kafka: Kafka,
  t: TestPrefix,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      what,
      async () => ((await transformerGroupProgress(admin, t.cfg)).lag === 0 ? true : undefined),
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}

export { freePort } from '../../../lib/freePort.ts';

export async function kafkaReachable(): Promise<boolean> {
  const admin = createKafka(loadConfig(), 'probe', { retry: { retries: 0 }, connectionTimeout: 2000 }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
