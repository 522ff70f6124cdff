// Which input partitions this instance owns, and whether their state is ready: a group join makes it stale
// (another instance may have advanced the partitions it now holds), and the next batch takes the partitions
// over once, however many partitions' batches arrive at the same time (partitionsConsumedConcurrently).
import type { Assignment } from './partitionProducers.ts';

/** Takes the assigned partitions over (producers fenced, state brought up to date); returns the state partitions. */
export type TakeOver = (assignment: Assignment, heartbeat: () => Promise<void>) => Promise<number[]>;

export class GroupOwnership {
  private assigned: Assignment = {};
  private stale = true;
  private takingOver: Promise<void> | undefined;
  private joinedAt: number | undefined;
  /** Counts joins: a take-over completes the join it started for, not a later one. */
  private generation = 0;
  /** The state partitions of the input partitions owned now (empty until the first take-over). */
  private owned: readonly number[] = [];

  constructor(private readonly takeOver: TakeOver) {}

  /** The group gave this instance a new assignment: its state must be taken over before the next chunk. */
  joined(assignment: Assignment, now = Date.now()): void {
    this.assigned = assignment;
    this.stale = true;
    this.joinedAt = now;
    this.generation += 1;
  }

  get assignment(): Assignment {
    return this.assigned;
  }

  get statePartitions(): readonly number[] {
    return this.owned;
  }

  /**
   * Resolves once the current assignment is taken over. Concurrent callers share one take-over: kafkajs lets
   * every handler of a fetch finish before it rejoins, so none is mid-chunk while it runs. A failed take-over
   * leaves the state stale, so the next batch tries again; a join during a take-over makes it run again.
   */
  async ready(heartbeat: () => Promise<void>): Promise<void> {
    while (this.stale) {
      const generation = this.generation;
      this.takingOver ??= this.takeOver(this.assigned, heartbeat)
        .then((parts) => {
          this.owned = parts;
          if (generation === this.generation) this.stale = false;
        })
        .finally(() => (this.takingOver = undefined));
      await this.takingOver;
    }
  }

  /** Milliseconds from the last join to the first commit after it, once per join; undefined otherwise. */
  committed(now = Date.now()): number | undefined {
    const since = this.joinedAt === undefined ? undefined : now - this.joinedAt;
    this.joinedAt = undefined;
    return since;
  }
}
