// The CPU profile summary used to explain throughput figures: self time per function and per module group.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/config.ts';
import { moduleGroup, summariseCpuProfile } from '../../bench/cpuProfile.ts';

const ours = `file://${resolve(PROJECT_ROOT, 'transformer/transform.ts')}`;
const kafkajs = `file://${resolve(PROJECT_ROOT, 'node_modules/kafkajs/src/producer/index.js')}`;

describe('moduleGroup', () => {
  it('tells our folders, kafkajs, other packages, Node and the VM apart', () => {
    expect(moduleGroup(ours, 'transformRecord')).toBe('transformer');
    expect(moduleGroup(kafkajs, 'send')).toBe('kafkajs');
    expect(moduleGroup(`file://${resolve(PROJECT_ROOT, 'node_modules/prom-client/lib/a.js')}`, 'f')).toBe(
      'npm: prom-client',
    );
    expect(moduleGroup('node:internal/streams', 'f')).toBe('Node internals');
    expect(moduleGroup('', '(garbage collector)')).toBe('GC');
    expect(moduleGroup('', '(idle)')).toBe('idle');
  });
});

describe('summariseCpuProfile', () => {
  it("sums each sample's time delta into its node's function and group, largest first", () => {
    const s = summariseCpuProfile({
      nodes: [
        { id: 1, callFrame: { functionName: 'transformRecord', url: ours, lineNumber: 9 } },
        { id: 2, callFrame: { functionName: 'send', url: kafkajs, lineNumber: 0 } },
        { id: 3, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [1, 2, 1, 3, 1],
      timeDeltas: [1000, 2000, 3000, 4000, 500],
      startTime: 0,
      endTime: 10_500,
    });
    expect(s.totalMs).toBe(10.5);
    expect(s.byFunction[0]).toEqual(['transformRecord transformer/transform.ts:10', 4.5]);
    expect(s.byGroup).toEqual([
      ['transformer', 4.5],
      ['idle', 4],
      ['kafkajs', 2],
    ]);
  });
});
