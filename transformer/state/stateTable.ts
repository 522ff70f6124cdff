// The state the transform path reads and its batches write: one state partition's records, keyed as in the
// state topic (`wm|…`, `off|…`, `snap|…`, `trunc|…`, `rollup|…`), values the raw JSON the topic carries.
// Reads are synchronous, so the pure transform code can look rows up without awaiting: an in-memory map here
// (tests, benchmarks), a memory-mapped LMDB partition in the transformer (localStore.ts).

export interface StateWrite {
  readonly key: string;
  /** null = tombstone: the key is forgotten. */
  readonly value: string | null;
}

export interface StateTable {
  get(key: string): string | undefined;
  /** Every record whose key starts with `prefix` (key order). */
  scan(prefix: string): Iterable<[string, string]>;
  /** Applies records of a committed transaction (or of the state topic, read back). */
  apply(records: readonly StateWrite[]): void;
  /** Records held. */
  size(): number;
}

export class MemoryStateTable implements StateTable {
  private readonly rows = new Map<string, string>();

  get(key: string): string | undefined {
    return this.rows.get(key);
  }

  *scan(prefix: string): Iterable<[string, string]> {
    for (const [k, v] of this.rows) if (k.startsWith(prefix)) yield [k, v];
  }

  apply(records: readonly StateWrite[]): void {
    for (const r of records) {
      if (r.value === null) this.rows.delete(r.key);
      else this.rows.set(r.key, r.value);
    }
  }

  size(): number {
    return this.rows.size;
  }
}
