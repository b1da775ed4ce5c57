import {
  type ClientMessageFrame,
  encodeResumeFrame,
  ResumeCloseCode,
  type StreamPosition,
  type TopicResume,
} from "../protocol/resume_protocol.ts";
import { ResumeProtocolError } from "../protocol/resume_protocol_error.ts";
import type { HistoryEntry, HistoryPage } from "./history_store.ts";
import type { Publication } from "./publication.ts";
import { assertTopic, type PubSub } from "./pub_sub.ts";
import { ResumableContext } from "./resumable_context.ts";
import type { SendData } from "./send_data.ts";
import { createRandomId } from "./random_id.ts";
import type { ResumeSessionRecord, SessionStore } from "./session_store.ts";
import type { SocketDriver } from "./socket_driver.ts";
import { type SubscriptionOwner, TopicSubscription } from "./topic_subscription.ts";
import {
  type BinaryType,
  createCloseEvent,
  createErrorEvent,
  createEvent,
  createMessageEvent,
  type MessageData,
} from "./web_socket_events.ts";
import type { WebSocketEvents } from "./web_socket_session.ts";

/** What a session needs of the socket it is on (a `ResumeTransport`). */
export interface ResumeLink {
  /** Sends a frame's text. */
  send(text: string): void;
  /** Sends a publication's frame, encoded once for all its subscribers. */
  sendPublication(publication: Publication): void;
  /** Closes the socket (the server's side). */
  close(code: number, reason: string): void;
  /** Bytes queued on the socket. */
  readonly bufferedAmount: number;
  /** Sends a WebSocket ping, where the runtime can. */
  ping(data: Uint8Array): void;
  /** The runtime's socket. */
  readonly raw: unknown;
  /** The socket's agreed extensions. */
  readonly extensions: string;
  /** The welcome is out: the client's messages may come now. */
  welcomed(): void;
}

/** What a session needs of its route. */
export interface ResumeHost {
  /** The topics. */
  readonly pubsub: PubSub;
  /** Where the session's record is kept. */
  readonly sessions: SessionStore;
  /** How long a disconnected session waits, in ms. */
  readonly retention: number;
  /** Whether a waiting session ends on a timer (`false`: when `expireIfDue()` finds it due). */
  readonly expiryTimer?: boolean;
  /** Bytes queued on a socket past which a live publication closes it 1013. */
  readonly highWaterMark: number;
  /** The session lost its socket and waits. */
  parked(session: ResumableSession): void;
  /** The session has a socket again. */
  unparked(session: ResumableSession): void;
  /** The session ended. */
  ended(session: ResumableSession): void;
  /** Where a handler's error goes when no `onError` hears it (the log, or the route's option). */
  report(error: unknown): void;
}

/** What a session is made from. */
export interface ResumableSessionInit {
  /** The public id (`ws.id`). */
  id: string;
  /** The secret token. */
  token: string;
  /** The SHA-256 of the token, hex: the store's key. */
  key: string;
  /** What identified the upgrade. */
  owner: string;
  /** The upgrade's path. */
  path: string;
  /** The upgrade's URL. */
  url: string;
  /** `ws.data`. */
  data: unknown;
  /** The route's handlers. */
  events: WebSocketEvents;
  /** The route's `binaryType` option. */
  binaryType?: BinaryType | "uint8array";
  /** A record from the store, for a session resumed on this process. */
  record?: ResumeSessionRecord;
}

// Entries read from history per step of a replay, and the most frames held
// per topic while one runs, or behind a welcome (past it, the socket is
// closed 1013: the client resumes from where it got to).
const REPLAY_PAGE = 256;
const MAX_HELD = 10_000;

const State = { Starting: 0, Live: 1, Parked: 2, Ended: 3 } as const;

const PONG = encodeResumeFrame({ t: "pong" });

function storeFailed(error: unknown): void {
  console.error("Session store failed:", error);
}

// Calls `next` at once with a value, or when a promise resolves.
function when<T>(value: T | Promise<T>, next: (value: T) => void, fail: (e: unknown) => void) {
  if (value instanceof Promise) value.then(next, fail);
  else next(value);
}

/**
 * One resumable session: what outlives a socket on a resumable route. The
 * app's `ws` ({@linkcode ResumableContext}), `ws.data`, the subscriptions
 * (held in `PubSub` while no socket is connected), the dedupe window (the
 * highest client message id handed to `onMessage`), and the replay of each
 * resumable topic from the client's position on every reconnect.
 *
 * `onOpen` fires once, when the session starts, and `onClose` once, when it
 * ends: the client closes, the app closes, or `retention` passes with no
 * socket. A reconnect in between fires neither.
 */
export class ResumableSession implements SubscriptionOwner {
  /** The public id (`ws.id`). */
  readonly id: string;
  /** The token, sent in `welcome` only. */
  readonly token: string;
  /** The store's key. */
  readonly key: string;
  /** What identified the upgrade that made it. */
  readonly owner: string;
  /** The path it is bound to. */
  readonly path: string;
  /** The `ws` handlers get. */
  readonly context: ResumableContext;
  /** What the store keeps. */
  readonly record: ResumeSessionRecord;
  /** This copy of the session, as the record's `holder` names it. */
  readonly holder: string = createRandomId(9);
  // The holder the store named when this copy took the session over
  // (undefined: a new session), until this copy's first write lands.
  #takenFrom: string | undefined;
  readonly #host: ResumeHost;
  readonly #events: WebSocketEvents;
  readonly #subs = new Map<string, TopicSubscription>();
  #link: ResumeLink | undefined;
  #state: number = State.Starting;
  // Bumped at every new socket: a replay or read of an older one stops.
  #generation = 0;
  // Whether a welcome (and so the token) ever went out.
  #welcomed = false;
  #recovered = false;
  // Until the welcome is out: frames held, and each topic's resume.
  #outbox: string[] | null = null;
  #welcomeTopics: Record<string, TopicResume> = {};
  #pending = 0;
  // The client's positions from this socket's hello; each used once.
  #hello: Record<string, StreamPosition> = {};
  #closing = false;
  #acked = 0;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  // How the last socket closed: what onClose gets if the wait runs out.
  #dropped = { code: 1006, reason: "", wasClean: false };
  #drainWaiters: Array<() => void> = [];

  /**
   * Creates the instance.
   *
   * @param host The route.
   * @param init Its id, token, owner, data and handlers.
   */
  constructor(host: ResumeHost, init: ResumableSessionInit) {
    this.#host = host;
    this.id = init.id;
    this.token = init.token;
    this.key = init.key;
    this.owner = init.owner;
    this.path = init.path;
    this.#events = init.events;
    this.record = init.record ?? {
      id: init.id,
      owner: init.owner,
      path: init.path,
      data: init.data,
      lastClientId: 0,
      topics: {},
      plainTopics: [],
    };
    this.#acked = this.record.lastClientId;
    this.#takenFrom = init.record?.holder;
    // A record's token went out from the process that made it.
    this.#welcomed = init.record !== undefined;
    this.context = new ResumableContext(
      { url: init.url, data: init.data, id: init.id },
      this,
    );
    this.context.attach(new SessionDriver(this));
    if (init.binaryType && init.binaryType !== "arraybuffer") {
      this.context.binaryType = init.binaryType as BinaryType;
    }
  }

  /** The highest client message id handed to `onMessage`. */
  get lastClientId(): number {
    return this.record.lastClientId;
  }

  /** Whether it has ended. */
  get ended(): boolean {
    return this.#state === State.Ended;
  }

  /** Whether it waits for a socket. */
  get parked(): boolean {
    return this.#state === State.Parked;
  }

  /** @internal `readyState` for the app's `ws`. */
  get readyState(): number {
    if (this.#state === State.Ended) return 3;
    if (this.#closing) return 2;
    return this.#link ? 1 : 0;
  }

  /** @internal The socket of the moment, for `ws.raw`, `ping` and `extensions`. */
  get link(): ResumeLink | undefined {
    return this.#link;
  }

  /** The session's topics. */
  get topicNames(): ReadonlySet<string> {
    return new Set(this.#subs.keys());
  }

  // ---- a socket arrives -----------------------------------------------------

  /**
   * Starts the session on its first socket: `onOpen` runs (its sends and
   * subscriptions held behind the welcome), then the welcome goes out.
   *
   * @param link The socket.
   * @param hello The client's positions.
   */
  start(link: ResumeLink, hello: Record<string, StreamPosition>): void {
    this.#attach(link, hello, false);
    const onOpen = this.#events.onOpen;
    if (onOpen) this.#run(onOpen, createEvent("open"));
    this.#settle();
  }

  /**
   * Resumes on this process a session another one kept in the shared store
   * (its record): its topics are subscribed again and replay as in
   * `resume()`; `onOpen` does not run again (it ran where the session began).
   *
   * @param link The socket.
   * @param hello The client's positions.
   */
  restore(link: ResumeLink, hello: Record<string, StreamPosition>): void {
    this.#attach(link, hello, true);
    for (const topic of [...this.record.plainTopics, ...Object.keys(this.record.topics)]) {
      this.subscribe(topic);
    }
    // The welcome waits for this copy's claim on the record: were another
    // process to restore the session at the same time, only one copy
    // welcomes the client (the other's socket closes 1013, and the client
    // comes back to the winner's record).
    const generation = this.#generation;
    this.#pending++;
    this.#save(() => {
      if (generation !== this.#generation) return;
      this.#pending--;
      this.#settle();
    }, (error) => {
      storeFailed(error);
      // Unclaimed, the copy cannot welcome: the client retries soon.
      if (this.#state !== State.Ended) this.#teardown(1013, "Retry: the session store failed");
    });
  }

  /**
   * Resumes the session on a new socket: a socket it still had is closed
   * 4000 (its client came back on this one), and every resumable topic
   * replays from the client's position (or, if the client never heard of
   * the subscription, from where it began).
   *
   * @param link The socket.
   * @param hello The client's positions.
   */
  resume(link: ResumeLink, hello: Record<string, StreamPosition>): void {
    const old = this.#link;
    this.#link = undefined;
    old?.close(ResumeCloseCode.SessionReplaced, "Session resumed on another connection");
    this.#attach(link, hello, true);
    for (const sub of this.#subs.values()) {
      if (!sub.history) continue;
      const from = this.#takeHello(sub.topic) ?? sub.from ?? this.record.topics[sub.topic];
      this.#setUp(sub, from);
    }
    this.#settle();
  }

  #attach(link: ResumeLink, hello: Record<string, StreamPosition>, recovered: boolean): void {
    clearTimeout(this.#expiry);
    if (this.#state === State.Parked) this.#host.unparked(this);
    this.#state = State.Starting;
    this.#generation++;
    this.#link = link;
    this.#recovered = recovered;
    this.#hello = hello;
    this.#outbox = [];
    this.#welcomeTopics = {};
    this.#pending = 0;
    this.#drainWaiters = [];
    delete this.record.expires;
    this.record.holder = this.holder;
  }

  #takeHello(topic: string): StreamPosition | undefined {
    const position = this.#hello[topic];
    if (position) delete this.#hello[topic];
    return position;
  }

  // Sends the welcome once every topic's resume is set up.
  #settle(): void {
    if (this.#state !== State.Starting || this.#pending > 0 || !this.#link) return;
    const link = this.#link;
    link.send(encodeResumeFrame({
      t: "welcome",
      v: 1,
      s: this.token,
      recovered: this.#recovered,
      a: this.record.lastClientId,
      p: this.#welcomeTopics,
    }));
    this.#state = State.Live;
    this.#welcomed = true;
    this.#acked = this.record.lastClientId;
    const held = this.#outbox ?? [];
    this.#outbox = null;
    for (const text of held) link.send(text);
    link.welcomed();
    // The record now says where each topic began, for the next resume.
    this.#persist();
  }

  // ---- topics ----------------------------------------------------------------

  /**
   * Subscribes the session to a topic.
   *
   * @param topic The topic.
   * @throws {RangeError} For an empty or too long topic name.
   */
  subscribe(topic: string): void {
    assertTopic(topic);
    if (this.#state === State.Ended || this.#subs.has(topic)) return;
    const { pubsub } = this.#host;
    const history = pubsub.history?.isResumable(topic) ? pubsub.history : undefined;
    const sub = new TopicSubscription(this, topic, history);
    this.#subs.set(topic, sub);
    pubsub.subscribe(sub, topic);
    if (history) {
      // A client's hello position first, then (a record from another
      // process) the position the session was subscribed at.
      this.#setUp(sub, this.#takeHello(topic) ?? this.record.topics[topic]);
    } else if (!this.record.plainTopics.includes(topic)) {
      this.record.plainTopics.push(topic);
      this.#persist();
    }
  }

  /**
   * Unsubscribes the session from a topic.
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): void {
    const sub = this.#subs.get(topic);
    if (!sub) return;
    this.#subs.delete(topic);
    this.#host.pubsub.unsubscribe(sub, topic);
    if (sub.history) {
      delete this.record.topics[topic];
      delete this.#welcomeTopics[topic];
      this.#write(encodeResumeFrame({ t: "unsub", c: topic }));
    } else {
      this.record.plainTopics = this.record.plainTopics.filter((t) => t !== topic);
    }
    this.#persist();
  }

  /**
   * Publishes from the session: not back to it (on a resumable topic it gets
   * the position only, so its stream has no gap).
   *
   * @param topic The topic.
   * @param data The payload.
   * @returns How many subscribers it was sent to.
   */
  publish(topic: string, data: SendData): number {
    return this.#host.pubsub.publish(topic, data, this.#subs.get(topic));
  }

  // Sets a resumable subscription up on the current socket: a replay from
  // `from` (recovered, or not when history cannot reach back), or the
  // stream's current position. Live publications wait meanwhile.
  #setUp(sub: TopicSubscription, from: StreamPosition | undefined): void {
    const { store } = sub.history!;
    const generation = this.#generation;
    const current = () => generation === this.#generation && this.#subs.get(sub.topic) === sub;
    const fail = (error: unknown) => {
      if (!current()) return;
      console.error(`Resume of topic ${sub.topic} failed:`, error);
      this.#link?.close(1011, "History unavailable");
    };
    sub.held = [];
    this.#pending++;
    const start = (position: StreamPosition, recovered: boolean | undefined) => {
      sub.position = { ...position };
      sub.from = { ...position };
      this.record.topics[sub.topic] = sub.from;
      this.#announce(sub, recovered);
    };
    const finish = () => {
      const held = sub.held ?? [];
      sub.held = null;
      this.#pending--;
      for (const publication of held) this.publication(sub, publication);
      this.#settle();
    };
    const atEnd = (recovered: boolean | undefined) =>
      when(store.position(sub.topic), (position) => {
        if (!current()) return;
        start(position, recovered);
        finish();
      }, fail);
    if (!from) return atEnd(undefined);
    const step = (after: StreamPosition, first: boolean) =>
      when(store.read(sub.topic, after, REPLAY_PAGE), (page: HistoryPage | "gone") => {
        if (!current()) return;
        if (page === "gone") return atEnd(false);
        if (first) start(after, true);
        for (const entry of page.entries) this.#replay(sub, entry);
        if (page.entries.length === 0 || sub.position.offset >= page.position.offset) {
          return finish();
        }
        // More to come: wait while the socket's queue is over the mark.
        const next = () => current() && step({ ...sub.position }, false);
        if ((this.#link?.bufferedAmount ?? 0) > this.#host.highWaterMark) {
          this.#drainWaiters.push(next);
        } else next();
      }, fail);
    step(from, true);
  }

  // Tells the client where a topic resumes: in the welcome while it is not
  // out yet, else in a `sub` frame.
  #announce(sub: TopicSubscription, recovered: boolean | undefined): void {
    const resume: TopicResume = { ...sub.position };
    if (recovered !== undefined) resume.recovered = recovered;
    if (this.#state === State.Starting) this.#welcomeTopics[sub.topic] = resume;
    else if (this.#state === State.Live) {
      this.#write(encodeResumeFrame({ t: "sub", c: sub.topic, ...resumeFields(resume) }));
    }
    this.#persist();
  }

  #replay(sub: TopicSubscription, entry: HistoryEntry): void {
    if (entry.offset <= sub.position.offset) return;
    sub.position.offset = entry.offset;
    const { topic } = sub;
    const { epoch } = sub.position;
    this.#write(encodeResumeFrame(
      entry.origin === this.id
        ? { t: "pub", c: topic, e: epoch, o: entry.offset }
        : { t: "pub", c: topic, e: epoch, o: entry.offset, data: entry.data },
    ));
  }

  /**
   * A numbered publication on one of its topics (from `TopicSubscription`).
   *
   * @param sub The subscription.
   * @param publication The publication.
   */
  publication(sub: TopicSubscription, publication: Publication): void {
    if (sub.held) {
      if (sub.held.length < MAX_HELD) sub.held.push(publication);
      else this.#link?.close(1013, "Slow consumer: resume to catch up");
      return;
    }
    const position = sub.position;
    if (publication.epoch !== position.epoch) {
      // The stream started again: sent on, and the client, which sees
      // another epoch, resumes to be told it was not recovered.
      position.epoch = publication.epoch;
      position.offset = 0;
    }
    if (publication.offset <= position.offset) return;
    position.offset = publication.offset;
    const link = this.#link;
    if (!link || this.#state === State.Parked) return;
    if (publication.origin === this.id) return this.#write(publication.positionText);
    if (this.#outbox) return this.#hold(publication.text);
    if (link.bufferedAmount > this.#host.highWaterMark) {
      // Never a silent gap: the client resumes from what it has.
      return link.close(1013, "Slow consumer: resume to catch up");
    }
    link.sendPublication(publication);
  }

  /**
   * A message on one of its topics that has no history.
   *
   * @param topic The topic.
   * @param data The payload.
   */
  topicMessage(topic: string, data: SendData): void {
    this.#send(data, topic);
  }

  // ---- messages --------------------------------------------------------------

  /**
   * A client message: handed to `onMessage` if its id is the next one,
   * ignored (and acknowledged again) if it was handed over already.
   *
   * @param frame The `m` frame.
   * @throws {ResumeProtocolError} 1002 for an id that skips ahead.
   */
  receive(frame: ClientMessageFrame): void {
    const last = this.record.lastClientId;
    if (frame.i > last + 1) {
      throw new ResumeProtocolError(ResumeCloseCode.ProtocolError, "Message id out of order");
    }
    if (frame.i === last + 1) {
      this.record.lastClientId = frame.i;
      const onMessage = this.#events.onMessage;
      if (onMessage) this.#run(onMessage, createMessageEvent(this.#convert(frame.data)));
    }
    this.#ackTimer ??= setTimeout(() => this.#flushAcks(), 0);
  }

  // Acknowledges once per turn of the event loop, after the store has the
  // new dedupe window: an acked message is never handed over twice.
  #flushAcks(): void {
    this.#ackTimer = undefined;
    const a = this.record.lastClientId;
    if (a <= this.#acked) return;
    const link = this.#link;
    this.#save(() => {
      this.#acked = Math.max(this.#acked, a);
      if (link && link === this.#link && this.#state === State.Live) {
        link.send(encodeResumeFrame({ t: "ack", a }));
      }
    });
  }

  /**
   * A heartbeat: answered at once.
   */
  ping(): void {
    this.#link?.send(PONG);
  }

  #convert(data: string | Uint8Array): MessageData {
    if (typeof data === "string") return data;
    // Decoded from base64 into a buffer of its own: no copy needed.
    const type: string = this.context.binaryType;
    if (type === "uint8array") return data as unknown as MessageData;
    return type === "blob"
      ? new Blob([data as Uint8Array<ArrayBuffer>])
      : data.buffer as ArrayBuffer;
  }

  /** @internal `ws.send()`: best effort, to the socket of the moment. */
  sendDirect(data: string | Uint8Array | ArrayBuffer): void {
    this.#send(data, undefined);
  }

  #send(data: SendData, topic: string | undefined): void {
    if (this.#state === State.Ended || this.#state === State.Parked) return;
    if (data instanceof Blob) {
      data.arrayBuffer().then((buffer) => this.#send(buffer, topic));
      return;
    }
    const payload = typeof data === "string"
      ? data
      : data instanceof Uint8Array
      ? data
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);
    this.#write(encodeResumeFrame(
      topic === undefined ? { t: "m", data: payload } : { t: "m", c: topic, data: payload },
    ));
  }

  #write(text: string): void {
    if (this.#outbox) this.#hold(text);
    else if (this.#state === State.Live) this.#link?.send(text);
  }

  // Frames wait behind the welcome while a slow store answers; past the
  // bound the socket goes, and the client resumes from what it has.
  #hold(text: string): void {
    if (this.#outbox!.length < MAX_HELD) this.#outbox!.push(text);
    else this.#link?.close(1013, "Slow consumer: resume to catch up");
  }

  #persist(): void {
    this.#save(() => {});
  }

  // Writes the record, then `next`. A shared store with `setIfHolder`
  // writes only while it names this copy (or the one it took over from):
  // a copy another process took the session from while this one's socket
  // was half-open learns it here, and is dropped instead of writing its
  // stale dedupe window over the new holder's.
  #save(next: () => void, fail: (error: unknown) => void = storeFailed): void {
    const sessions = this.#host.sessions;
    if (!sessions.setIfHolder) {
      when(sessions.set(this.key, this.record), next, fail);
      return;
    }
    when(sessions.setIfHolder(this.key, this.record, this.#takenFrom), (written) => {
      if (!written) return this.#lost();
      // From now on only this copy's own record matches.
      this.#takenFrom = this.holder;
      next();
    }, fail);
  }

  // ---- the socket goes -------------------------------------------------------

  /** The socket's send queue emptied: a paused replay goes on; the app's `onDrain`. */
  drain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const next of waiters) next();
    const onDrain = this.#events.onDrain;
    if (onDrain && this.#state === State.Live) this.#run(onDrain, createEvent("drain"));
  }

  /**
   * The socket reported an error: the app's `onError`, while the session
   * lives. Without one it is not logged: it is the peer's or the network's
   * (a handler's own error is logged).
   *
   * @param error What went wrong.
   * @param logUnhandled Log it when there is no `onError` (a handler threw).
   */
  error(error: unknown, logUnhandled = false): void {
    const onError = this.#events.onError;
    if (!onError || this.#state === State.Ended) {
      if (logUnhandled) this.#host.report(error);
      return;
    }
    try {
      const result = onError(createErrorEvent(error), this.context);
      if (result instanceof Promise) result.catch((e) => this.#host.report(e));
    } catch (e) {
      this.#host.report(e);
    }
  }

  /**
   * The socket closed. The session ends when the client closed it with
   * 1000, the app closed it, or it failed; otherwise it waits `retention`
   * ms for the client to come back.
   *
   * @param link The socket.
   * @param event Its close code, reason and cleanliness; `end` to end the session.
   */
  detach(
    link: ResumeLink,
    event: { code: number; reason: string; wasClean: boolean; end: boolean },
  ): void {
    if (link !== this.#link) return;
    this.#link = undefined;
    this.#generation++;
    this.#outbox = null;
    this.#drainWaiters = [];
    // The dedupe window is kept even though no ack can go out now.
    if (this.#ackTimer !== undefined) {
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
      this.#persist();
    }
    // A session whose token never went out cannot be resumed: it ends now.
    if (event.end || this.#closing || !this.#welcomed) {
      return this.end(event.code, event.reason, event.wasClean);
    }
    this.#state = State.Parked;
    this.record.expires = Date.now() + this.#host.retention;
    this.#persist();
    this.#dropped = { code: event.code, reason: event.reason, wasClean: event.wasClean };
    if (this.#host.expiryTimer !== false) {
      this.#expiry = setTimeout(
        () => this.expire(event.code, event.reason, event.wasClean),
        this.#host.retention,
      );
    }
    this.#host.parked(this);
  }

  /**
   * Ends the session if it still waits for its client past its `expires`
   * (a route without expiry timers checks its waiting sessions so).
   *
   * @param now The time, in ms since 1970.
   * @returns Whether it was due.
   */
  expireIfDue(now: number): boolean {
    if (this.#state !== State.Parked || (this.record.expires ?? Infinity) > now) return false;
    const { code, reason, wasClean } = this.#dropped;
    this.expire(code, reason, wasClean);
    return true;
  }

  /**
   * The wait for the client ran out (or too many sessions wait): the
   * session ends. With a shared store, unless another process took it over
   * since (the record names another holder) or ended it (no record): then
   * this copy is dropped, and `onClose` is the other process's to run.
   *
   * @param code The close code `onClose` gets.
   * @param reason The reason.
   * @param wasClean Whether the last socket closed cleanly.
   */
  expire(code: number, reason: string, wasClean: boolean): void {
    if (!this.#host.sessions.shared) return this.end(code, reason, wasClean);
    when(this.#host.sessions.get(this.key), (record) => {
      if (this.#state !== State.Parked) return; // back on a socket meanwhile
      if (record?.holder === this.holder) this.end(code, reason, wasClean);
      else this.abandon();
    }, (error) => {
      console.error("Session store failed:", error);
      if (this.#state === State.Parked) this.end(code, reason, wasClean);
    });
  }

  /**
   * Drops this process's copy of a session another process resumed or
   * ended since (a shared store): its socket closes 4000, its topics are
   * left; the record stays as it is, and `onClose` does not run.
   */
  abandon(): void {
    if (this.#state === State.Ended) return;
    this.#teardown(ResumeCloseCode.SessionReplaced, "Session resumed on another process");
  }

  // A write was refused: another copy holds the session now, or it ended.
  // A copy whose claim never landed closes its socket 1013, which the
  // client retries (it may be the client's only connection, racing
  // another process's restore); one that held the session is abandoned.
  #lost(): void {
    if (this.#state === State.Ended) return;
    if (this.#takenFrom === this.holder) return this.abandon();
    this.#teardown(1013, "Retry: the session moved meanwhile");
  }

  // What ending and abandoning share: no timers, no socket, no topics.
  #teardown(code: number, reason: string): void {
    const wasParked = this.#state === State.Parked;
    this.#state = State.Ended;
    clearTimeout(this.#expiry);
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const link = this.#link;
    this.#link = undefined;
    link?.close(code, reason);
    for (const [topic, sub] of this.#subs) this.#host.pubsub.unsubscribe(sub, topic);
    this.#subs.clear();
    if (wasParked) this.#host.unparked(this);
    this.#host.ended(this);
  }

  /**
   * The app closes the session (`ws.close()`): the socket closes with the
   * code, and `onClose` follows.
   *
   * @param code The close code.
   * @param reason The reason.
   */
  close(code: number | undefined, reason: string): void {
    if (this.#state === State.Ended) return;
    this.#closing = true;
    if (this.#link) this.#link.close(code ?? 1000, reason);
    else this.end(code ?? 1005, reason, true);
  }

  /**
   * Ends the session: its topics are left, its record deleted, `onClose`
   * runs. Later calls do nothing.
   *
   * @param code The close code `onClose` gets.
   * @param reason The reason.
   * @param wasClean Whether the last socket closed cleanly.
   */
  end(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === State.Ended) return;
    this.#teardown(code === 1005 || code === 1006 ? 1000 : code, reason);
    const sessions = this.#host.sessions;
    when(
      sessions.deleteIfHolder
        ? sessions.deleteIfHolder(this.key, this.holder, this.#takenFrom)
        : sessions.delete(this.key),
      () => {},
      storeFailed,
    );
    const onClose = this.#events.onClose;
    if (onClose) this.#run(onClose, createCloseEvent(code, reason, wasClean));
  }

  #run<E>(handler: (event: E, ws: ResumableContext) => unknown, event: E): void {
    try {
      const result = handler(event, this.context);
      if (result instanceof Promise) result.catch((e) => this.error(e, true));
    } catch (error) {
      this.error(error, true);
    }
  }
}

function resumeFields(resume: TopicResume): { e: string; o: number; recovered?: boolean } {
  const fields: { e: string; o: number; recovered?: boolean } = {
    e: resume.epoch,
    o: resume.offset,
  };
  if (resume.recovered !== undefined) fields.recovered = resume.recovered;
  return fields;
}

// The app's `ws` drives the session through this: sends are wrapped in the
// protocol's frames, `close` ends the session, the rest is the socket's.
class SessionDriver implements SocketDriver {
  readonly #session: ResumableSession;

  constructor(session: ResumableSession) {
    this.#session = session;
  }
  send(data: string | Uint8Array | ArrayBuffer): void {
    this.#session.sendDirect(data);
  }
  closeWith(code?: number, reason?: string): void {
    this.#session.close(code, reason ?? "");
  }
  ping(data: Uint8Array): void {
    this.#session.link?.ping(data);
  }
  get readyState(): number {
    return this.#session.readyState;
  }
  get bufferedAmount(): number {
    return this.#session.link?.bufferedAmount ?? 0;
  }
  get extensions(): string {
    return this.#session.link?.extensions ?? "";
  }
  get raw(): unknown {
    return this.#session.link?.raw;
  }
}
