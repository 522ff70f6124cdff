// A test or a benchmark under isolatedTopicEnv writes to topics of its own only: every output topic carries its
// prefix (an output left out once sent a replay test's stock deltas into the live stock_now datasource).
import { describe, expect, it } from 'vitest';
import { inheritedEnv, loadConfig } from '../../lib/config.ts';
import { isolatedTopicEnv, transformerTopics } from '../../lib/names.ts';

describe('isolated topic names', () => {
  it('give every output topic of the transformer the prefix', () => {
    const { dimensions: _d, ...topics } = transformerTopics(loadConfig(inheritedEnv(isolatedTopicEnv('iso-x'))).topics);
    for (const [name, topic] of Object.entries(topics)) expect(topic, name).toMatch(/^iso-x[.-]/);
  });
});
