// The transformer's local, disk-backed state: per state partition, the records of the state topic as of a
// checkpoint (the state-topic offset they reflect), in LMDB (lmdb-js: synchronous reads on a memory map, so
// the pure transform path can look rows up without awaiting; prebuilt binaries from the npm registry).
//
// It is a cache of the state topic, never the truth: records and checkpoint are written in one LMDB
// transaction after the Kafka transaction that wrote them committed, so the store always reflects a
// committed prefix of each partition, and a restart reads only the partition's tail from its checkpoint.
// A store that is missing, written by another format or another pipeline, or unreadable, is wiped and rebuilt
// from the state topic, with a message.
import { mkdirSync, rmSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from '../../lib/log.ts';

/** Bumped whenever what the store holds, or how, changes: an older store is rebuilt. */
export const STORE_FORMAT = 1;

export interface StoreIdentity {
  readonly stateTopic: string;
  readonly groupId: string;
  readonly statePartitions: number;
}

export interface Checkpoint {
  /** The next state-topic offset to read: everything before it is in the store. */
  readonly offset: bigint;
  /** When it was written: a checkpoint older than the topic's delete.retention.ms may miss compacted tombstones. */
  readonly atMs: number;
  /** Records held for the partition. */
  readonly rows: number;
}

export interface PartitionWrite {
  readonly records: readonly { readonly key: string; readonly value: string | null }[];
  /** Omitted: the partition's checkpoint is left as it is (records of a transaction whose offsets are unknown). */
  readonly checkpoint?: bigint;
}

/** The state the transform path reads: one partition's value for a key, raw JSON as in the state topic. */
export interface StateReader {
  get(part: number, key: string): string | undefined;
  scan(part: number, prefix: string): Iterable<[string, string]>;
}

export interface StateStore extends StateReader {
  checkpoint(part: number): Checkpoint | undefined;
  /** Every partition's records and checkpoint in one atomic write. */
  write(writes: ReadonlyMap<number, PartitionWrite>): void;
  /** Forgets one partition (its state is re-read from offset 0 when it is needed again). */
  dropPartition(part: number): void;
  close(): Promise<void>;
}

const SEP = '\u0000';
const keyOf = (part: number, key: string) => `${part}${SEP}${key}`;

/** The store kept in memory: the tests' and benchmarks' store, and what a transformer without a folder uses. */
export class MemoryStateStore implements StateStore {
  private readonly parts = new Map<number, Map<string, string>>();
  private readonly checkpoints = new Map<number, Checkpoint>();

  get(part: number, key: string): string | undefined {
    return this.parts.get(part)?.get(key);
  }

  *scan(part: number, prefix: string): Iterable<[string, string]> {
    for (const [k, v] of this.parts.get(part) ?? []) if (k.startsWith(prefix)) yield [k, v];
  }

  checkpoint(part: number): Checkpoint | undefined {
    return this.checkpoints.get(part);
  }

  write(writes: ReadonlyMap<number, PartitionWrite>): void {
    for (const [part, w] of writes) {
      let rows = this.parts.get(part);
      if (!rows) this.parts.set(part, (rows = new Map()));
      for (const r of w.records) {
        if (r.value === null) rows.delete(r.key);
        else rows.set(r.key, r.value);
      }
      const offset = w.checkpoint ?? this.checkpoints.get(part)?.offset;
      if (offset !== undefined) this.checkpoints.set(part, { offset, atMs: Date.now(), rows: rows.size });
    }
  }

  dropPartition(part: number): void {
    this.parts.delete(part);
    this.checkpoints.delete(part);
  }

  async close(): Promise<void> {}
}

interface MetaCheckpoint {
  offset: string;
  atMs: number;
  rows: number;
}

export class LmdbStateStore implements StateStore {
  private constructor(
    private readonly root: RootDatabase<string, string>,
    private readonly meta: Database<unknown, string>,
  ) {}

  /** Opens (or rebuilds) the store in `dir` for this pipeline's state topic. */
  static open(dir: string, identity: StoreIdentity, log: Logger): LmdbStateStore {
    const attempt = () => {
      mkdirSync(dir, { recursive: true });
      // noSync: the store is a cache of the state topic, so a machine crash may cost its last transactions
      // (they are re-read from the topic) but never its consistency; a process crash costs nothing.
      const root = open<string, string>({ path: dir, encoding: 'string', noSync: true, compression: false, maxDbs: 4 });
      const meta = root.openDB<unknown, string>({ name: 'meta', encoding: 'json' });
      return new LmdbStateStore(root, meta);
    };
    let store: LmdbStateStore;
    try {
      store = attempt();
    } catch (e) {
      log.warn('the local state store cannot be opened; rebuilding it from the state topic', { dir, error: (e as Error).message });
      rmSync(dir, { recursive: true, force: true });
      store = attempt();
    }
    const found = store.meta.get('format') as ({ format: number } & StoreIdentity) | undefined;
    const same = found && found.format === STORE_FORMAT && found.stateTopic === identity.stateTopic && found.groupId === identity.groupId && found.statePartitions === identity.statePartitions;
    if (!same) {
      if (found) log.warn('the local state store was written by another version or pipeline; rebuilding it from the state topic', { dir, found, expected: { format: STORE_FORMAT, ...identity } });
      store.root.transactionSync(() => {
        store.root.clearSync();
        store.meta.clearSync();
        store.meta.putSync('format', { format: STORE_FORMAT, ...identity });
      });
    }
    return store;
  }

  get(part: number, key: string): string | undefined {
    return this.root.get(keyOf(part, key));
  }

  *scan(part: number, prefix: string): Iterable<[string, string]> {
    const start = keyOf(part, prefix);
    const from = `${part}${SEP}`.length;
    for (const { key, value } of this.root.getRange({ start, end: `${start}\uffff` })) yield [key.slice(from), value];
  }

  checkpoint(part: number): Checkpoint | undefined {
    const c = this.meta.get(`checkpoint|${part}`) as MetaCheckpoint | undefined;
    return c ? { offset: BigInt(c.offset), atMs: c.atMs, rows: c.rows } : undefined;
  }

  write(writes: ReadonlyMap<number, PartitionWrite>): void {
    this.root.transactionSync(() => {
      for (const [part, w] of writes) {
        const was = this.meta.get(`checkpoint|${part}`) as MetaCheckpoint | undefined;
        let rows = was?.rows ?? 0;
        for (const r of w.records) {
          const k = keyOf(part, r.key);
          const exists = this.root.doesExist(k);
          if (r.value === null) {
            if (exists) {
              this.root.removeSync(k);
              rows--;
            }
          } else {
            this.root.putSync(k, r.value);
            if (!exists) rows++;
          }
        }
        const offset = w.checkpoint !== undefined ? w.checkpoint.toString() : was?.offset;
        if (offset !== undefined) this.meta.putSync(`checkpoint|${part}`, { offset, atMs: Date.now(), rows } satisfies MetaCheckpoint);
      }
    });
  }

  dropPartition(part: number): void {
    this.root.transactionSync(() => {
      for (const key of this.root.getKeys({ start: `${part}${SEP}`, end: `${part}${SEP}\uffff` })) this.root.removeSync(key);
      this.meta.removeSync(`checkpoint|${part}`);
    });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
