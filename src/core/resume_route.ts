import type { HelloFrame } from "../protocol/resume_protocol.ts";
import { MemorySessionStore } from "./memory_session_store.ts";
import { defaultPubSub, type PubSub } from "./pub_sub.ts";
import { createRandomId } from "./random_id.ts";
import { ResumableSession, type ResumeHost } from "./resumable_session.ts";
import type { ResumeOptions } from "./resume_options.ts";
import { type ResumeAcceptor, ResumeTransport } from "./resume_transport.ts";
import type { ResumeSessionRecord, SessionStore } from "./session_store.ts";
import type { BinaryType } from "./web_socket_events.ts";
import type { WebSocketEvents } from "./web_socket_session.ts";

/** What one upgrade gives its socket: the request's closures. */
export interface ResumeUpgrade {
  /** The upgrade's URL. */
  url: string;
  /** What the request was authenticated as (the route's `identify`). */
  identify: () => string | Promise<string>;
  /** The route's handlers and `ws.data`, made for a new session only. */
  open: () => Promise<
    { events: WebSocketEvents; data: unknown; binaryType?: BinaryType | "uint8array" }
  >;
}

// This process's sessions of one store: connected ones and those waiting
// for their client, by key; the waiting ones oldest first.
interface LiveSessions {
  byKey: Map<string, ResumableSession>;
  waiting: Set<ResumableSession>;
}

const registries = new WeakMap<SessionStore, LiveSessions>();

// How long a hello waits for another process's copy to let its session go
// (its last write to a shared store), and how often it looks.
const HANDOVER_WAIT = 1_500;
const HANDOVER_POLL = 10;
let defaultSessions: MemorySessionStore | undefined;

const encoder = new TextEncoder();

/**
 * The SHA-256 of a token, hex: what stores key sessions by.
 *
 * @param token The token.
 * @returns 64 hex digits.
 *
 * @example
 * ```ts ignore
 * await hashToken("abc"); // "ba7816bf…"
 * ```
 */
export async function hashToken(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`resume.${name} must be a positive number, got ${value}`);
  return value;
}

/**
 * The resume side of one route: its options, and the sessions of its store
 * in this process (shared by every route on the same store, so the direct
 * form, which prepares its route per request, resumes as well).
 *
 * A hello's token resumes a session only if it hashes to one kept in this
 * process or the store, made for the same `identify()` value on the same
 * path, and not expired; anything else (no token, a forged, stale, expired
 * or foreign one) gets a fresh session and `recovered: false`. The session
 * it names is left as it was.
 */
export class ResumeRoute implements ResumeHost, ResumeAcceptor {
  /** The topics. */
  readonly pubsub: PubSub;
  /** The session store. */
  readonly sessions: SessionStore;
  /** How long a disconnected session waits, in ms. */
  readonly retention: number;
  /** Whether a waiting session ends on a timer. */
  readonly expiryTimer: boolean;
  /** Bytes queued past which a live publication closes the socket 1013. */
  readonly highWaterMark: number;
  /** How long a socket may wait before its hello, in ms. */
  readonly helloTimeout: number;
  /**
   * Where a handler's error goes when no `onError` hears it: the log, or
   * the route's `onError` option (the route sets it).
   */
  report: (error: unknown) => void = logError;
  readonly #maxWaiting: number;
  readonly #live: LiveSessions;
  #upgrades = new WeakMap<ResumeTransport, ResumeUpgrade>();

  /**
   * Creates the instance.
   *
   * @param options The route's `resume` option.
   * @param pubsub The topics, when `options.pubsub` does not name them
   * (the process-wide ones by default).
   * @throws {RangeError} For a bound that is not a positive number.
   */
  constructor(options: ResumeOptions<never>, pubsub: PubSub = defaultPubSub) {
    this.pubsub = options.pubsub ?? pubsub;
    this.sessions = options.sessions ?? (defaultSessions ??= new MemorySessionStore());
    this.retention = positive(options.retention ?? 120_000, "retention");
    this.expiryTimer = options.expiryTimer ?? true;
    this.highWaterMark = positive(options.highWaterMark ?? 1024 * 1024, "highWaterMark");
    this.helloTimeout = positive(options.helloTimeout ?? 10_000, "helloTimeout");
    this.#maxWaiting = positive(options.maxWaitingSessions ?? 10_000, "maxWaitingSessions");
    let live = registries.get(this.sessions);
    if (!live) registries.set(this.sessions, live = { byKey: new Map(), waiting: new Set() });
    this.#live = live;
  }

  // Waits, up to HANDOVER_WAIT ms, for the record of a copy that had a
  // socket to say it has let go (its `expires` set, or another holder):
  // resumed from the write before, the session would hand the client's
  // unacknowledged messages to onMessage a second time. A process that died
  // never writes again: the wait runs out and the record is taken as it is.
  async #awaitRelease(
    key: string,
    record: ResumeSessionRecord,
    transport: ResumeTransport,
  ): Promise<ResumeSessionRecord | undefined> {
    const deadline = Date.now() + HANDOVER_WAIT;
    let latest: ResumeSessionRecord | undefined = record;
    while (
      latest && latest.expires === undefined && latest.holder === record.holder &&
      Date.now() < deadline && !transport.closed
    ) {
      await new Promise((resolve) => setTimeout(resolve, HANDOVER_POLL));
      latest = await this.sessions.get(key);
    }
    return latest;
  }

  /**
   * A socket for one upgrade: its handlers speak the protocol.
   *
   * @param upgrade The request's closures.
   * @returns The transport: run a `WebSocketSession` with its `events`, then `bind()` it.
   */
  connect(upgrade: ResumeUpgrade): ResumeTransport {
    const transport = new ResumeTransport(this);
    this.#upgrades.set(transport, upgrade);
    return transport;
  }

  /**
   * The client's hello: finds the session its token names (for the same
   * owner and path) or makes one, and starts it on the socket.
   *
   * @param transport The socket.
   * @param hello The hello.
   */
  async accept(transport: ResumeTransport, hello: HelloFrame): Promise<void> {
    this.#sweep();
    const upgrade = this.#upgrades.get(transport)!;
    const owner = await upgrade.identify();
    if (typeof owner !== "string") throw new TypeError("resume.identify() must return a string");
    const url = upgrade.url;
    const path = new URL(url).pathname;
    if (hello.s) {
      const key = await hashToken(hello.s);
      let live = this.#live.byKey.get(key);
      let record: ResumeSessionRecord | undefined;
      if (live && this.sessions.shared && !live.ended) {
        // Another process may have resumed the session since this copy had
        // a socket: the record then names that process's copy, and this
        // one (its dedupe window, ws.data, topics) is stale.
        record = await this.sessions.get(key);
        if (transport.closed) return;
        if (record?.holder !== live.holder) {
          live.abandon();
          live = undefined;
        }
      }
      if (live) {
        if (transport.closed) return;
        if (live.owner === owner && live.path === path && !live.ended) {
          transport.session = live;
          return live.resume(transport, hello.p);
        }
      } else {
        record ??= await this.sessions.get(key);
        if (this.sessions.shared && record?.holder !== undefined && record.expires === undefined) {
          // The record says another copy has a socket: that process may be
          // writing its last state (the dedupe window) as this hello comes.
          const waitedFor = record.holder;
          record = await this.#awaitRelease(key, record, transport);
          if (transport.closed) return;
          // Another copy took the session over while this hello waited (a
          // hello the client gave up on, on another process): it has a
          // socket now. Retry, rather than race it to the client.
          if (
            record?.expires === undefined && record?.holder !== undefined &&
            record.holder !== waitedFor
          ) {
            return transport.close(1013, "Retry");
          }
        }
        if (
          record && record.owner === owner && record.path === path &&
          (record.expires === undefined || record.expires > Date.now())
        ) {
          const { events, binaryType } = await upgrade.open();
          if (transport.closed || this.#live.byKey.has(key)) return transport.close(1013, "Retry");
          const session = new ResumableSession(this, {
            id: record.id,
            token: hello.s,
            key,
            owner,
            path,
            url,
            data: record.data,
            events,
            binaryType,
            record,
          });
          this.#live.byKey.set(key, session);
          transport.session = session;
          return session.restore(transport, hello.p);
        }
      }
    }
    const { events, data, binaryType } = await upgrade.open();
    if (transport.closed) return;
    const token = createRandomId(32);
    const key = await hashToken(token);
    if (transport.closed) return;
    const session = new ResumableSession(this, {
      id: crypto.randomUUID(),
      token,
      key,
      owner,
      path,
      url,
      data,
      events,
      binaryType,
    });
    this.#live.byKey.set(key, session);
    transport.session = session;
    session.start(transport, hello.p);
  }

  /**
   * A session lost its socket: past the bound, the one waiting longest ends.
   *
   * @param session The session.
   */
  parked(session: ResumableSession): void {
    this.#sweep();
    const waiting = this.#live.waiting;
    waiting.add(session);
    while (waiting.size > this.#maxWaiting) {
      const oldest = waiting.values().next().value as ResumableSession;
      waiting.delete(oldest);
      oldest.expire(1006, "Too many sessions waiting", false);
    }
  }

  // Without expiry timers, waiting sessions past their time end here.
  // Routes with other retentions may share the store: each is checked.
  #sweep(): void {
    if (this.expiryTimer) return;
    const now = Date.now();
    for (const session of [...this.#live.waiting]) session.expireIfDue(now);
  }

  /**
   * A session has a socket again (or ended while waiting).
   *
   * @param session The session.
   */
  unparked(session: ResumableSession): void {
    this.#live.waiting.delete(session);
  }

  /**
   * A session ended.
   *
   * @param session The session.
   */
  ended(session: ResumableSession): void {
    if (this.#live.byKey.get(session.key) === session) this.#live.byKey.delete(session.key);
  }

  /** How many sessions of its store this process has, connected or waiting. */
  get sessionCount(): number {
    return this.#live.byKey.size;
  }

  /** How many of them wait for their client. */
  get waitingCount(): number {
    return this.#live.waiting.size;
  }
}

function logError(error: unknown): void {
  console.error(error);
}
