// Topics made to match their specs (lib/topicSpecs.ts): created when missing, settings and partition counts
// brought up to the spec when they drifted. Used by the bootstrap (all topics) and by the transformer (its
// output topics on a bare broker), so both create a topic the same way.
import kafkajs, { type Admin } from 'kafkajs';
import type { TopicSpec } from './topicSpecs.ts';

// kafkajs is CommonJS; Node's named-export detection misses ConfigResourceTypes.
const { ConfigResourceTypes } = kafkajs;

const entries = (config: Readonly<Record<string, string>>) =>
  Object.entries(config).map(([name, value]) => ({ name, value }));

/** Creates the topics of `specs` that do not exist; returns the ones it created. */
export async function createMissingTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicSpec[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length)
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: 1,
        configEntries: entries(s.config),
      })),
    });
  return missing;
}

/** Sets a topic's declared settings where the broker holds other values; returns the topics it changed. */
async function alignSettings(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: specs.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.topic })),
  });
  const changed: string[] = [];
  for (const res of described.resources) {
    const spec = specs.find((s) => s.topic === res.resourceName)!;
    const differs = Object.entries(spec.config).some(
      ([k, v]) => res.configEntries.find((e) => e.configName === k)?.configValue !== v,
    );
    if (!differs) continue;
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.topic, configEntries: entries(spec.config) }],
    });
    changed.push(spec.topic);
  }
  return changed;
}

/** Adds partitions where a topic has fewer than declared (Kafka cannot remove any). */
async function growPartitions(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
  const changed: string[] = [];
  for (const t of meta.topics) {
    const spec = specs.find((s) => s.topic === t.name)!;
    if (t.partitions.length >= spec.partitions) continue;
    await admin.createPartitions({ topicPartitions: [{ topic: t.name, count: spec.partitions }] });
    changed.push(`${t.name} (partitions ${t.partitions.length}→${spec.partitions})`);
  }
  return changed;
}

export interface TopicsApplied {
  readonly created: readonly string[];
  /** Existing topics whose settings or partition counts were brought up to their spec. */
  readonly updated: readonly string[];
  /** Existing topics already as specified. */
  readonly unchanged: number;
}

/** Every topic of `specs` as declared: missing ones created, drifted ones updated. */
export async function applyTopicSpecs(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicsApplied> {
  const created = await createMissingTopics(admin, specs);
  const present = specs.filter((s) => !created.includes(s));
  if (!present.length) return { created: created.map((s) => s.topic), updated: [], unchanged: 0 };
  const updated = [...(await alignSettings(admin, present)), ...(await growPartitions(admin, present))];
  return { created: created.map((s) => s.topic), updated, unchanged: updated.length ? 0 : present.length };
}
