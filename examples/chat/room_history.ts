/**
 * One room's last messages in its Durable Object's SQLite storage
 * (`ctx.storage.sql`, the storage of classes created with
 * `new_sqlite_classes`). A table per object, and an object per room, so the
 * rows carry no room name.
 */
import type { ChatMessage } from "./protocol.ts";

/** The part of a Durable Object's `ctx.storage.sql` (`SqlStorage`) the history uses. */
export interface SqlStorage {
  /** Runs one statement; the cursor reads the rows. */
  exec<T extends Record<string, unknown>>(
    query: string,
    ...bindings: Array<string | number | null>
  ): { toArray(): T[] };
}

interface Row extends Record<string, unknown> {
  id: string;
  sender: string;
  text: string;
  at: number;
}

/**
 * The room's history: `append()` a message, `read()` the last ones, oldest
 * first. SQL calls on a Durable Object are synchronous and its writes are
 * confirmed before anything the object sends leaves it (the output gate), so
 * a message is stored before the room sees it.
 *
 * @example
 * ```ts ignore
 * const history = new RoomHistory(ctx.storage.sql, 50);
 * history.append(createChatMessage("ada", "hi"));
 * ws.send(JSON.stringify({ type: "welcome", history: history.read(), … }));
 * ```
 */
export class RoomHistory {
  readonly #sql: SqlStorage;
  readonly #size: number;

  /**
   * Creates the table if it is not there: cheap enough for the object's
   * constructor, which runs on every wake-up.
   *
   * @param sql The object's `ctx.storage.sql`.
   * @param size Messages kept (the oldest beyond it are deleted).
   */
  constructor(sql: SqlStorage, size: number) {
    this.#sql = sql;
    this.#size = size;
    // `seq` is the rowid: it only grows, since only the oldest rows go.
    sql.exec(
      `CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        at INTEGER NOT NULL
      )`,
    );
  }

  /**
   * Stores a message and deletes what falls out of the history.
   *
   * @param message The message, as broadcast.
   */
  append(message: ChatMessage): void {
    this.#sql.exec(
      "INSERT INTO messages (id, sender, text, at) VALUES (?, ?, ?, ?)",
      message.id,
      message.from,
      message.text,
      message.at,
    );
    this.#sql.exec(
      "DELETE FROM messages WHERE seq <= (SELECT seq FROM messages ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      this.#size,
    );
  }

  /**
   * The last messages, oldest first.
   *
   * @returns At most the history's size.
   */
  read(): ChatMessage[] {
    const rows = this.#sql.exec<Row>(
      "SELECT id, sender, text, at FROM messages ORDER BY seq DESC LIMIT ?",
      this.#size,
    ).toArray();
    return rows.reverse().map((row) => ({
      type: "message",
      id: row.id,
      from: row.sender,
      text: row.text,
      at: row.at,
    }));
  }
}
