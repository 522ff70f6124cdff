// The transformer's group ownership: a join makes the state stale, the next batches share one take-over, a
// failed take-over is tried again, a join during one makes it run again, and the first commit after a join is
// timed once.
import { describe, expect, it } from 'vitest';
import { GroupOwnership } from '../../transformer/groupOwnership.ts';
import type { Assignment } from '../../transformer/partitionProducers.ts';

const beat = async () => undefined;

describe('GroupOwnership', () => {
  it('takes a new assignment over once, however many batches wait for it at the same time', async () => {
    const calls: Assignment[] = [];
    let release!: () => void;
    const ownership = new GroupOwnership(async (assignment) => {
      calls.push(assignment);
      await new Promise<void>((r) => (release = r));
      return [0, 3];
    });
    ownership.joined({ orders: [0], items: [0] });
    const waiting = [ownership.ready(beat), ownership.ready(beat), ownership.ready(beat)];
    await Promise.resolve();
    release();
    await Promise.all(waiting);
    expect(calls).toEqual([{ orders: [0], items: [0] }]);
    expect(ownership.statePartitions).toEqual([0, 3]);
    await ownership.ready(beat); // not stale any more: no second take-over
    expect(calls).toHaveLength(1);
  });

  it('tries a failed take-over again on the next batch', async () => {
    let attempt = 0;
    const ownership = new GroupOwnership(async () => {
      attempt += 1;
      if (attempt === 1) throw new Error('broker went away');
      return [1];
    });
    ownership.joined({ orders: [1] });
    await expect(ownership.ready(beat)).rejects.toThrow('broker went away');
    expect(ownership.statePartitions).toEqual([]);
    await ownership.ready(beat);
    expect([attempt, ownership.statePartitions]).toEqual([2, [1]]);
  });

  it('runs the take-over again when the group rebalanced during one, for the newest assignment', async () => {
    const seen: Assignment[] = [];
    let ownership!: GroupOwnership;
    ownership = new GroupOwnership(async (assignment) => {
      seen.push(assignment);
      if (seen.length === 1) ownership.joined({ orders: [2] }); // a rebalance while the first one reads
      return Object.values(assignment).flat();
    });
    ownership.joined({ orders: [0, 1] });
    await ownership.ready(beat);
    expect(seen).toEqual([{ orders: [0, 1] }, { orders: [2] }]);
    expect(ownership.statePartitions).toEqual([2]);
    expect(ownership.assignment).toEqual({ orders: [2] });
  });

  it('times the first commit after a join, once', () => {
    const ownership = new GroupOwnership(async () => []);
    expect(ownership.committed(1000)).toBeUndefined();
    ownership.joined({}, 5_000);
    expect(ownership.committed(5_250)).toBe(250);
    expect(ownership.committed(6_000)).toBeUndefined();
  });
});
