// The transformer's local, disk-backed state: per state partition, the records of the state topic as of a
// checkpoint (the state-topic offset they reflect), in LMDB (lmdb-js: synchronous reads on a memory map, so
// the pure transform path looks rows up without awaiting; prebuilt binaries from the npm registry; pages the
// process does not touch stay on disk, so resident memory does not grow with history).
//
// It is a cache of the state topic, never the truth: a partition's records and its checkpoint are written in
// one LMDB transaction, after the Kafka transaction that wrote them committed, so the store always reflects a
// committed prefix of each partition, and a restart reads only the partition's tail from its checkpoint.
// A store that is missing, written by another format or another pipeline, or unreadable, is wiped and rebuilt
// from the state topic, with a message.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Logger } from '../../lib/log.ts';
import { crashPoint } from '../crashPoints.ts';
import { probeInChild } from './probeStore.ts';
import type { StateTable, StateWrite } from './stateTable.ts';

/** Bumped whenever what the store holds, or how, changes: an older store is rebuilt. */
export const STORE_FORMAT = 1;

export interface StoreIdentity {
  readonly stateTopic: string;
  readonly groupId: string;
  readonly statePartitions: number;
}

export interface Checkpoint {
  /** The next state-topic offset to read: every committed record before it is in the store. */
  readonly offset: bigint;
  /** When it was written: a checkpoint older than the topic's delete.retention.ms may miss compacted tombstones. */
  readonly atMs: number;
}

export interface StateStore {
  /** The partition's records, read through to the store (writes go through `write`). */
  table(part: number): StateTable;
  checkpoint(part: number): Checkpoint | undefined;
  /** One partition's records and its new checkpoint, in one atomic write. */
  write(part: number, records: readonly StateWrite[], checkpoint: bigint): void;
  /** Forgets one partition (its state is re-read from the topic's start when it is needed again). */
  dropPartition(part: number): void;
  /** Records held for the partition. */
  rows(part: number): number;
  close(): Promise<void>;
}

const SEP = '\u0000';
const keyOf = (part: number, key: string) => `${part}${SEP}${key}`;

/** A partition of a store as the StateTable the dedupe state and the ledger read; `apply` writes no checkpoint. */
function tableOf(
  store: Pick<StateStore, 'rows'> & {
    get(part: number, key: string): string | undefined;
    scan(part: number, prefix: string): Iterable<[string, string]>;
    applyOnly(part: number, records: readonly StateWrite[]): void;
  },
  part: number,
): StateTable {
  return {
    get: (key) => store.get(part, key),
    scan: (prefix) => store.scan(part, prefix),
    apply: (records) => store.applyOnly(part, records),
    size: () => store.rows(part),
  };
}

/** The store kept in memory: tests, and a transformer started without a state folder. */
export class MemoryStateStore implements StateStore {
  private readonly parts = new Map<number, Map<string, string>>();
  private readonly checkpoints = new Map<number, Checkpoint>();

  table(part: number): StateTable {
    return tableOf(this, part);
  }

  get(part: number, key: string): string | undefined {
    return this.parts.get(part)?.get(key);
  }

  *scan(part: number, prefix: string): Iterable<[string, string]> {
    const rows = [...(this.parts.get(part) ?? [])]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    yield* rows;
  }

  applyOnly(part: number, records: readonly StateWrite[]): void {
    let rows = this.parts.get(part);
    if (!rows) this.parts.set(part, (rows = new Map()));
    for (const r of records) {
      if (r.value === null) rows.delete(r.key);
      else rows.set(r.key, r.value);
    }
  }

  checkpoint(part: number): Checkpoint | undefined {
    return this.checkpoints.get(part);
  }

  write(part: number, records: readonly StateWrite[], checkpoint: bigint): void {
    this.applyOnly(part, records);
    this.checkpoints.set(part, { offset: checkpoint, atMs: Date.now() });
  }

  dropPartition(part: number): void {
    this.parts.delete(part);
    this.checkpoints.delete(part);
  }

  rows(part: number): number {
    return this.parts.get(part)?.size ?? 0;
  }

  async close(): Promise<void> {}
}

interface MetaCheckpoint {
  offset: string;
  atMs: number;
}

export class LmdbStateStore implements StateStore {
  private readonly rowCounts = new Map<number, number>();

  private constructor(
    private readonly root: RootDatabase<string, string>,
    private readonly meta: Database<unknown, string>,
  ) {}

  /** Opens the store in `dir` for this pipeline's state topic; rebuilds it (empty) when it is not usable. */
  static open(dir: string, identity: StoreIdentity, log: Logger): LmdbStateStore {
    const probe = existsSync(dir) ? probeInChild(dir) : undefined;
    if (probe) {
      log.warn('the local state store is unreadable; deleting it and rebuilding it from the state topic', {
        dir,
        error: probe,
      });
      rmSync(dir, { recursive: true, force: true });
    }
    const attempt = () => {
      mkdirSync(dir, { recursive: true });
      // noSync: the store is a cache of the state topic, so a machine crash may cost its last transactions
      // (re-read from the topic: the checkpoint is written in the same LMDB transaction as the records, so
      // they are lost together) but never its consistency; a process crash costs nothing.
      const root = open<string, string>({ path: dir, encoding: 'string', noSync: true, compression: false, maxDbs: 4 });
      const meta = root.openDB<unknown, string>({ name: 'meta', encoding: 'json' });
      const store = new LmdbStateStore(root, meta);
      store.meta.get('format'); // a corrupt file fails here, not on the first batch
      return store;
    };
    let store: LmdbStateStore;
    try {
      store = attempt();
    } catch (e) {
      log.warn('the local state store cannot be opened; deleting it and rebuilding it from the state topic', {
        dir,
        error: (e as Error).message,
      });
      rmSync(dir, { recursive: true, force: true });
      store = attempt();
    }
    const found = store.meta.get('format') as ({ format: number } & StoreIdentity) | undefined;
    const same =
      found &&
      found.format === STORE_FORMAT &&
      found.stateTopic === identity.stateTopic &&
      found.groupId === identity.groupId &&
      found.statePartitions === identity.statePartitions;
    if (!same) {
      if (found)
        log.warn(
          'the local state store was written by another version of the transformer or another pipeline; rebuilding it from the state topic',
          { dir, found, expected: { format: STORE_FORMAT, ...identity } },
        );
      store.root.transactionSync(() => {
        store.root.clearSync();
        store.meta.clearSync();
        store.meta.putSync('format', { format: STORE_FORMAT, ...identity });
      });
    }
    return store;
  }

  table(part: number): StateTable {
    return tableOf(this, part);
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
    return c ? { offset: BigInt(c.offset), atMs: c.atMs } : undefined;
  }

  rows(part: number): number {
    let n = this.rowCounts.get(part);
    if (n === undefined) {
      n = (this.meta.get(`rows|${part}`) as number | undefined) ?? 0;
      this.rowCounts.set(part, n);
    }
    return n;
  }

  private putRecords(part: number, records: readonly StateWrite[]): void {
    let rows = this.rows(part);
    records.forEach((r, i) => {
      if (i === records.length >> 1) crashPoint('store-write'); // a SIGKILL in the middle of the LMDB transaction
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
    });
    this.meta.putSync(`rows|${part}`, rows);
    this.rowCounts.set(part, rows);
  }

  applyOnly(part: number, records: readonly StateWrite[]): void {
    this.root.transactionSync(() => this.putRecords(part, records));
  }

  write(part: number, records: readonly StateWrite[], checkpoint: bigint): void {
    try {
      this.root.transactionSync(() => {
        this.putRecords(part, records);
        this.meta.putSync(`checkpoint|${part}`, {
          offset: checkpoint.toString(),
          atMs: Date.now(),
        } satisfies MetaCheckpoint);
      });
    } catch (e) {
      this.rowCounts.delete(part); // re-read from the store: the transaction did not happen
      throw e;
    }
  }

  dropPartition(part: number): void {
    this.root.transactionSync(() => {
      for (const key of this.root.getKeys({ start: `${part}${SEP}`, end: `${part}${SEP}\uffff` }))
        this.root.removeSync(key);
      this.meta.removeSync(`checkpoint|${part}`);
      this.meta.removeSync(`rows|${part}`);
    });
    this.rowCounts.delete(part);
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
