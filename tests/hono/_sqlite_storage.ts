/**
 * A Durable Object's `ctx.storage.sql` over a real SQLite (`node:sqlite`),
 * for the stores' unit tests under Deno: the same statements run on the same
 * engine, with the Workers API's value types (blobs as `ArrayBuffer`). The
 * stores run in workerd itself in tests/cloudflare/resume_durable_object_test.ts.
 */
import type {
  DurableObjectSqlCursor,
  DurableObjectSqlStorage,
  DurableObjectSqlValue,
} from "../../src/hono/durable_object_history_store.ts";

// The part of node:sqlite used here: Deno's bundled Node types lack the module.
interface Database {
  exec(sql: string): void;
  prepare(sql: string): { all(...bindings: unknown[]): unknown[] };
}
const { DatabaseSync } = await import(`node:${"sqlite"}`) as {
  DatabaseSync: new (path: string) => Database;
};

/** The storage, plus what a test does to it behind the stores' back. */
export interface SqliteStorage extends DurableObjectSqlStorage {
  /** Statements run so far. */
  statements: number;
  /** Drops every table: what `ctx.storage.deleteAll()` does. */
  deleteAll(): void;
  /** Runs a statement directly. */
  query(sql: string, ...bindings: DurableObjectSqlValue[]): Record<string, DurableObjectSqlValue>[];
}

/**
 * Opens an in-memory database with the Durable Object storage API.
 *
 * @returns The storage.
 */
export function openSqliteStorage(): SqliteStorage {
  const db = new DatabaseSync(":memory:");
  const query = (sql: string, ...bindings: DurableObjectSqlValue[]) => {
    storage.statements++;
    const rows = db.prepare(sql).all(
      ...bindings.map((b) => b instanceof ArrayBuffer ? new Uint8Array(b) : b),
    ) as Record<string, unknown>[];
    return rows.map((row) => {
      const out: Record<string, DurableObjectSqlValue> = {};
      for (const [k, v] of Object.entries(row)) {
        out[k] = v instanceof Uint8Array
          ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer
          : v as DurableObjectSqlValue;
      }
      return out;
    });
  };
  const storage: SqliteStorage = {
    statements: 0,
    sql: {
      exec(sql: string, ...bindings: DurableObjectSqlValue[]): DurableObjectSqlCursor {
        const rows = query(sql, ...bindings);
        return { toArray: () => rows, [Symbol.iterator]: () => rows[Symbol.iterator]() };
      },
    },
    transactionSync<T>(fn: () => T): T {
      db.exec("SAVEPOINT t");
      try {
        const result = fn();
        db.exec("RELEASE t");
        return result;
      } catch (error) {
        db.exec("ROLLBACK TO t");
        db.exec("RELEASE t");
        throw error;
      }
    },
    deleteAll() {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      for (const { name } of tables as { name: string }[]) db.exec(`DROP TABLE ${name}`);
    },
    query,
  };
  return storage;
}
