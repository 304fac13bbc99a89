/**
 * Types for the part of `rocksdb-native` (3.18.x, Holepunch; ships no types) that the state
 * machine uses. Read from its index.js and lib/*.js. Every call that touches the database runs
 * on the libuv thread pool (uv_queue_work), except snapshot creation (`snapshot()`, a cheap
 * GetSnapshot on the calling thread).
 */
declare module "rocksdb-native" {
  namespace RocksDB {
    interface OpenOptions {
      /** Default true: creates the directory (recursively) and the database. */
      readonly createIfMissing?: boolean;
      readonly readOnly?: boolean;
      /** Background flush and compaction threads; default 6. */
      readonly maxBackgroundJobs?: number;
      /** Default 64 MiB. */
      readonly writeBufferSize?: number;
      readonly maxWriteBufferNumber?: number;
    }

    interface Range {
      readonly gt?: Uint8Array;
      readonly gte?: Uint8Array;
      readonly lt?: Uint8Array;
      readonly lte?: Uint8Array;
      readonly reverse?: boolean;
      /** Default true; false reads keys only (values are null). */
      readonly values?: boolean;
      readonly limit?: number;
      /** Entries fetched per thread-pool round trip; default 8. */
      readonly capacity?: number;
    }

    interface Entry {
      readonly key: Buffer;
      readonly value: Buffer;
    }

    /** A streamx Readable of entries. */
    interface Iterator extends AsyncIterable<Entry> {
      destroy(error?: Error): void;
    }

    interface BatchOptions {
      /** Initial number of operations; grows as needed. */
      readonly capacity?: number;
      /** Frees the batch once flushed. */
      readonly autoDestroy?: boolean;
    }

    interface ReadBatch {
      /** Resolves to the value (a copy), or null when the key is absent. */
      get(key: Uint8Array): Promise<Buffer | null>;
      /** Sends the queued reads; the promises from get() resolve when they are done. */
      tryFlush(): void;
      flush(): Promise<void>;
      destroy(): void;
    }

    /** Applied atomically by flush(), never synced (rocksdb-native has no sync write option). */
    interface WriteBatch {
      tryPut(key: Uint8Array, value: Uint8Array): void;
      tryDelete(key: Uint8Array): void;
      /** Deletes [start, end). */
      tryDeleteRange(start: Uint8Array, end: Uint8Array): void;
      flush(): Promise<void>;
      destroy(): void;
    }
  }

  class RocksDB {
    constructor(path: string, options?: RocksDB.OpenOptions);
    readonly opened: boolean;
    readonly closed: boolean;
    ready(): Promise<void>;
    /** Waits for every session, iterator and batch in flight; fails while snapshots are held. */
    close(options?: { readonly force?: boolean }): Promise<void>;
    /** A session reading from a RocksDB snapshot taken now; close() it to release the snapshot. */
    snapshot(): RocksDB;
    read(options?: RocksDB.BatchOptions): RocksDB.ReadBatch;
    write(options?: RocksDB.BatchOptions): RocksDB.WriteBatch;
    get(key: Uint8Array): Promise<Buffer | null>;
    put(key: Uint8Array, value: Uint8Array): Promise<void>;
    delete(key: Uint8Array): Promise<void>;
    iterator(range: RocksDB.Range): RocksDB.Iterator;
    peek(range: RocksDB.Range): Promise<RocksDB.Entry | null>;
    /** Flushes the memtable to an SST file (synced) and waits for it: makes all writes durable. */
    flush(): Promise<void>;
  }

  export = RocksDB;
}
