import { decodeBase64, encodeBase64 } from "../protocol/base64.ts";
import { decodeServerFrame } from "../protocol/decode_server_frame.ts";
import {
  encodeResumeFrame,
  RESUME_PROTOCOL,
  type ResumePayload,
  type ServerFrame,
  type StreamPosition,
} from "../protocol/resume_protocol.ts";

/** The part of a WHATWG `WebSocket` the client uses: browsers', Deno's, Bun's, Node 22's, `ws`'s. */
export interface WebSocketLike {
  /** The subprotocol the server chose ("" for none). */
  readonly protocol: string;
  /** How binary messages arrive. */
  binaryType: string;
  /** Sends a text frame. */
  send(data: string): void;
  /** Closes. */
  close(code?: number, reason?: string): void;
  /** Open. */
  onopen: ((event: unknown) => void) | null;
  /** A message. */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Closed. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** An error (a close follows). */
  onerror: ((event: unknown) => void) | null;
}

/** A `WebSocket` constructor: the global one, or `ws`'s on Node 20. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

/** Where the session is kept across page reloads: `sessionStorage` fits. */
export interface ResumeStorage {
  /** Reads a value. */
  getItem(key: string): string | null;
  /** Writes a value. */
  setItem(key: string, value: string): void;
}

/** Options of {@linkcode ResumableWebSocket}. */
export interface ResumableWebSocketOptions {
  /** The `WebSocket` to use (default: the global one; on Node 20, pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay's cap, in ms (default 500); it doubles per attempt. */
  minDelay?: number;
  /** Largest reconnect delay, in ms (default 30,000). */
  maxDelay?: number;
  /** Reconnect attempts in a row before giving up (default Infinity). */
  maxRetries?: number;
  /** A connection that is not welcomed within this many ms is dropped and retried (default 10,000). */
  connectTimeout?: number;
  /** Send a heartbeat every this many ms (default 15,000). */
  pingInterval?: number;
  /** A connection that answers nothing this long after a heartbeat is dead (default 10,000). */
  pongTimeout?: number;
  /** Most messages kept until acknowledged (default 1,000). */
  maxQueue?: number;
  /** Most bytes kept until acknowledged (default 1 MiB). */
  maxQueueBytes?: number;
  /**
   * When `send()` finds the queue full: `"throw"` (default) a `RangeError`,
   * so nothing is lost without a word; `"drop-oldest"` drops the oldest
   * message and dispatches `drop` with it.
   */
  overflow?: "throw" | "drop-oldest";
  /** Keeps the session, the positions and the queue across page reloads. */
  storage?: ResumeStorage;
  /** The key in `storage` (default `"edgesocket:" + url`). */
  storageKey?: string;
}

/** What `message` events carry: `data`, and `topic` for a publication. */
export interface ResumableMessageEvent extends Event {
  /** A string, or an `ArrayBuffer` for binary. */
  readonly data: string | ArrayBuffer;
  /** The topic, for a publication; `undefined` for a message sent to this socket. */
  readonly topic?: string;
}

/** What `resumed` events carry. */
export interface ResumedEvent extends Event {
  /**
   * `true` when nothing was lost: the session was resumed and every topic
   * replayed from its position. `false`: something was not recovered (the
   * session, or a topic in `topics`): reload that state.
   */
  readonly recovered: boolean;
  /** Whether the server kept the session. */
  readonly session: boolean;
  /** For each topic the client had a position for: whether it was recovered. */
  readonly topics: Record<string, boolean>;
}

interface Queued {
  i: number;
  p: ResumePayload;
  n: number;
}

// The server's codes after which coming back cannot help: the app or the
// protocol ended the session, or another connection took it over.
const isFinal = (code: number) =>
  code === 1000 || code === 1002 || code === 1003 ||
  code === 1007 || code === 1008 || code === 1009 || code === 1010 || code >= 3000;

// Our own closes of a connection we gave up on: the server keeps the session.
const RECONNECTING = 4001;

// Offered after the resume protocol: a server that does not speak that one
// can select this one (edgesocket's plain routes take the first offer they
// may), since a browser fails a handshake that selects none of its offers.
const PLAIN = "edgesocket.plain";

const utf8 = new TextEncoder();

/**
 * A WebSocket that comes back. It speaks `edgesocket.resume.v1` to a
 * resumable route: after a dropped network, a sleeping laptop or a server
 * restart it reconnects (exponential backoff, full jitter, a cap; a
 * give-up policy after which `reconnect()` still works), resends what was
 * sent but not acknowledged (each reaches the server's `onMessage` once),
 * and gets every publication it missed on its topics once and in order —
 * or a `resumed` event with `recovered: false` when history could not cover
 * the gap. Zero dependencies: browsers, Deno, Bun, Workers, Node 22 (Node
 * 20 with `ws` passed as `WebSocket`).
 *
 * A server that does not select `edgesocket.resume.v1` (a plain route: it
 * selects `edgesocket.plain`, offered second, or nothing) gets a plain
 * reconnecting socket: data goes as it is sent, what was sent while
 * disconnected goes at the next connection (it cannot be acknowledged, so
 * at most once), there is no heartbeat, and every reconnect dispatches
 * `resumed` with `recovered: false`: reload the state. Each connection
 * offers the protocol again.
 *
 * Events: `open` (first welcome), `message` (`data`, and `topic` for a
 * publication), `reconnecting` (`attempt`, `delay`), `resumed`
 * (`recovered`, `session`, `topics`), `drop` (`data`: a message the full
 * queue dropped), `error`, `close` (`code`, `reason`: for good).
 *
 * @example
 * ```ts ignore
 * import { ResumableWebSocket } from "@edgesocket/edgesocket/client";
 *
 * const socket = new ResumableWebSocket("wss://chat.example/ws", { storage: sessionStorage });
 * socket.onmessage = (e) => render(e.topic, e.data);
 * socket.addEventListener("resumed", (e) => { if (!e.recovered) reloadRoom(); });
 * socket.send("hello"); // queued while offline, sent once
 * ```
 */
export class ResumableWebSocket extends EventTarget {
  /** The URL. */
  readonly url: string;
  /** `0` connecting or reconnecting, `1` open (welcomed), `2` closing, `3` closed for good. */
  readyState = 0;
  /** Called for `open` events. */
  onopen: ((event: Event) => void) | null = null;
  /** Called for `message` events. */
  onmessage: ((event: ResumableMessageEvent) => void) | null = null;
  /** Called for `close` events. */
  onclose: ((event: Event & { code: number; reason: string }) => void) | null = null;
  /** Called for `error` events. */
  onerror: ((event: Event) => void) | null = null;
  readonly #o: Required<Omit<ResumableWebSocketOptions, "storage">> & { storage?: ResumeStorage };
  #ws: WebSocketLike | undefined;
  #welcomed = false;
  #opened = false;
  #token: string | null = null;
  #positions: Record<string, StreamPosition> = {};
  #queue: Queued[] = [];
  #bytes = 0;
  #nextId = 1;
  #attempt = 0;
  #ending = false;
  #timers: Record<string, ReturnType<typeof setTimeout> | undefined> = {};
  #saving = false;
  // The subprotocol a server that does not speak the protocol selected.
  #plain: string | undefined;

  /**
   * Creates the socket and connects.
   *
   * @param url A `ws:` or `wss:` URL of a resumable route.
   * @param options Reconnects, heartbeat, queue, storage.
   * @throws {TypeError} Without a `WebSocket` (pass one on Node 20).
   */
  constructor(url: string | URL, options: ResumableWebSocketOptions = {}) {
    super();
    this.url = String(url);
    this.#o = {
      WebSocket: globalThis.WebSocket as unknown as WebSocketConstructor,
      minDelay: 500,
      maxDelay: 30_000,
      maxRetries: Infinity,
      connectTimeout: 10_000,
      pingInterval: 15_000,
      pongTimeout: 10_000,
      maxQueue: 1000,
      maxQueueBytes: 1 << 20,
      overflow: "throw",
      storageKey: "edgesocket:" + this.url,
      ...options,
    };
    if (!this.#o.WebSocket) throw new TypeError("No WebSocket: pass options.WebSocket");
    const saved = this.#o.storage?.getItem(this.#o.storageKey);
    if (saved) {
      try {
        const { s, p, q } = JSON.parse(saved);
        this.#token = s;
        this.#positions = p;
        for (const [i, d] of q) this.#push(i, d);
      } catch { /* a damaged entry: start afresh */ }
    }
    this.#connect();
  }

  /** Bytes of messages not acknowledged yet (sent or waiting to be). */
  get bufferedAmount(): number {
    return this.#bytes;
  }

  /** The subprotocol: `edgesocket.resume.v1`, or what a plain server selected (`edgesocket.plain`, `""`). */
  get protocol(): string {
    return this.#plain ?? RESUME_PROTOCOL;
  }

  /** The last position of each topic this socket follows. */
  get positions(): Readonly<Record<string, StreamPosition>> {
    return this.#positions;
  }

  /**
   * Sends a message: now if connected, else at the next connection; kept
   * until the server acknowledges it, and handed to its `onMessage` once.
   *
   * @param data Text, or binary (`ArrayBuffer` or a view).
   * @throws {RangeError} When the queue is full and `overflow` is `"throw"`.
   * @throws {TypeError} For a `Blob` or anything else that is not text or bytes.
   * @throws {DOMException} `InvalidStateError` once closing or closed (`close()`, the
   * server ended the session, or it gave up: `reconnect()` opens it again).
   */
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.readyState > 1) throw new DOMException("Socket is closed", "InvalidStateError");
    const payload = typeof data === "string"
      ? data
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice()
      : data instanceof ArrayBuffer
      ? new Uint8Array(data.slice(0))
      : undefined;
    if (payload === undefined) throw new TypeError("send() takes a string, ArrayBuffer or view");
    if (this.#plain !== undefined && this.#welcomed) return this.#ws!.send(payload as string);
    const entry = this.#push(this.#nextId, payload);
    if (this.#welcomed) this.#ws!.send(this.#frame(entry));
    this.#save();
  }

  #push(id: number, payload: ResumePayload | [string]): Queued {
    // A stored binary payload comes back as [base64].
    const p = Array.isArray(payload) ? decodeBase64(payload[0]) ?? "" : payload;
    const n = typeof p === "string" ? utf8.encode(p).length : p.length;
    const o = this.#o;
    while (this.#queue.length >= o.maxQueue || this.#bytes + n > o.maxQueueBytes) {
      if (o.overflow !== "drop-oldest" || !this.#queue.length) {
        throw new RangeError(`Send queue full (${o.maxQueue} messages, ${o.maxQueueBytes} bytes)`);
      }
      const dropped = this.#queue.shift()!;
      this.#bytes -= dropped.n;
      this.#emit("drop", { data: dropped.p });
    }
    const entry = { i: id, p, n };
    this.#queue.push(entry);
    this.#bytes += n;
    this.#nextId = id + 1;
    return entry;
  }

  #frame(entry: Queued): string {
    return encodeResumeFrame({ t: "m", i: entry.i, data: entry.p });
  }

  /**
   * Closes for good: the server ends the session (its `onClose` runs).
   * What is not acknowledged yet is dropped.
   *
   * @param code 1000 (default) or 3000–4999.
   * @param reason The reason.
   */
  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.#ending = true;
    this.#clear();
    this.#queue = [];
    this.#bytes = 0;
    this.#token = null;
    this.#save();
    if (this.#ws) {
      this.readyState = 2;
      this.#ws.close(code, reason);
    } else this.#end(code, reason);
  }

  /**
   * Connects again now: after giving up, or to skip a backoff delay. The
   * session, positions and queue are kept.
   */
  reconnect(): void {
    this.#ending = false;
    this.#attempt = 0;
    this.#drop();
    this.#connect();
  }

  #connect(): void {
    this.#clear();
    this.readyState = 0;
    this.#welcomed = false;
    this.#plain = undefined;
    const ws = new this.#o.WebSocket(this.url, [RESUME_PROTOCOL, PLAIN]);
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.#timers.connect = setTimeout(() => this.#retry(true), this.#o.connectTimeout);
    ws.onopen = () => {
      if (ws.protocol === RESUME_PROTOCOL) {
        return ws.send(encodeResumeFrame({ t: "hello", v: 1, s: this.#token, p: this.#positions }));
      }
      // A plain route: what was queued goes now, unnumbered; nothing replays.
      this.#plain = ws.protocol;
      for (const q of this.#queue) ws.send(q.p as string);
      this.#queue = [];
      this.#bytes = 0;
      this.#live(ws, false, {});
    };
    ws.onmessage = (e) =>
      ws === this.#ws && !this.#ending &&
      (this.#plain !== undefined ? this.#emit("message", { data: e.data }) : this.#receive(e.data));
    ws.onerror = () => {};
    ws.onclose = (e) => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      if (this.#ending || isFinal(e.code)) this.#end(e.code, e.reason);
      else this.#retry(false);
    };
  }

  #receive(text: unknown): void {
    let f: ServerFrame;
    try {
      f = decodeServerFrame(text as string);
    } catch {
      // Not the protocol: drop this connection; the next may be healthier.
      return this.#retry(true);
    }
    clearTimeout(this.#timers.pong);
    this.#timers.pong = undefined;
    const positions = this.#positions;
    if (f.t === "welcome") {
      const hadState = this.#token !== null || Object.keys(positions).length > 0;
      this.#token = f.s;
      // Acknowledged by the resumed session: gone. The rest gets ids after
      // the server's last, whatever session this is.
      const queue = f.recovered ? this.#queue.filter((q) => q.i > f.a) : this.#queue;
      this.#queue = [];
      this.#bytes = 0;
      this.#nextId = f.a + 1;
      for (const q of queue) this.#push(this.#nextId, q.p);
      const topics: Record<string, boolean> = {};
      this.#positions = {};
      for (const [topic, r] of Object.entries(f.p)) {
        this.#positions[topic] = { epoch: r.epoch, offset: r.offset };
        if (r.recovered !== undefined) topics[topic] = r.recovered;
      }
      const ws = this.#ws!;
      for (const q of this.#queue) ws.send(this.#frame(q));
      this.#timers.ping = setInterval(() => {
        ws.send('{"t":"ping"}');
        this.#timers.pong ??= setTimeout(() => this.#retry(true), this.#o.pongTimeout);
      }, this.#o.pingInterval);
      this.#live(ws, hadState, topics, f.recovered);
    } else if (f.t === "pub") {
      const known = positions[f.c];
      if (known) {
        if (known.epoch === f.e && f.o <= known.offset) return; // had it
        // A gap or another epoch: resuming fills it, or says it cannot.
        if (known.epoch !== f.e || f.o !== known.offset + 1) return this.#retry(true);
      }
      positions[f.c] = { epoch: f.e, offset: f.o };
      this.#save();
      if (f.data !== undefined) this.#message(f.data, f.c);
    } else if (f.t === "sub") {
      positions[f.c] = { epoch: f.e, offset: f.o };
      this.#save();
      if (f.recovered !== undefined) this.#resumed(f.recovered, { [f.c]: f.recovered }, true);
    } else if (f.t === "unsub") {
      delete positions[f.c];
      this.#save();
    } else if (f.t === "m") this.#message(f.data, f.c);
    else if (f.t === "ack") {
      while (this.#queue[0]?.i <= f.a) this.#bytes -= this.#queue.shift()!.n;
      this.#save();
    }
  }

  // Welcomed (or opened, on a plain server): `open` the first time, then
  // `resumed` at every connection that follows one, or a stored session.
  #live(ws: WebSocketLike, hadState: boolean, topics: Record<string, boolean>, kept = false): void {
    clearTimeout(this.#timers.connect);
    this.#attempt = 0;
    this.#welcomed = true;
    this.readyState = 1;
    this.#save();
    const again = this.#opened;
    if (!again) {
      this.#opened = true;
      this.#emit("open");
    }
    if ((again || hadState) && ws === this.#ws) this.#resumed(kept, topics);
  }

  #message(data: ResumePayload, topic: string | undefined): void {
    this.#emit("message", {
      data: typeof data === "string" ? data : data.buffer,
      topic,
    });
  }

  #resumed(session: boolean, topics: Record<string, boolean>, kept = session): void {
    this.#emit("resumed", {
      recovered: kept && !Object.values(topics).includes(false),
      session,
      topics,
    });
  }

  // Drops the connection and tries again after a backoff delay, or gives up.
  #retry(drop: boolean): void {
    if (drop) this.#drop();
    if (this.#ending) return this.#end(1000, "");
    this.#clear();
    this.#welcomed = false;
    this.readyState = 0;
    const o = this.#o;
    if (this.#attempt >= o.maxRetries) {
      return this.#end(1006, "Gave up reconnecting");
    }
    // Full jitter: uniform in [0, min(cap, base · 2^attempt)].
    const delay = Math.random() * Math.min(o.maxDelay, o.minDelay * 2 ** this.#attempt++);
    this.#emit("reconnecting", { attempt: this.#attempt, delay });
    this.#timers.retry = setTimeout(() => this.#connect(), delay);
  }

  // Lets the current connection go without waiting for its close: a dead
  // network may never deliver one.
  #drop(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    if (!ws) return;
    ws.onmessage = ws.onclose = ws.onopen = null;
    try {
      ws.close(RECONNECTING, "Reconnecting");
    } catch { /* already closed */ }
  }

  #end(code: number, reason: string): void {
    this.#clear();
    this.#welcomed = false;
    this.readyState = 3;
    this.#emit("close", { code, reason });
  }

  #clear(): void {
    for (const timer of Object.values(this.#timers)) clearTimeout(timer);
    this.#timers = {};
  }

  // Written once per turn of the event loop: a reload between turns loses nothing.
  #save(): void {
    const storage = this.#o.storage;
    if (!storage || this.#saving) return;
    this.#saving = true;
    queueMicrotask(() => {
      this.#saving = false;
      storage.setItem(
        this.#o.storageKey,
        JSON.stringify({
          s: this.#token,
          p: this.#positions,
          q: this.#queue.map((q) => [q.i, typeof q.p === "string" ? q.p : [encodeBase64(q.p)]]),
        }),
      );
    });
  }

  #emit(type: string, fields: object = {}): void {
    const event = Object.assign(new Event(type), fields);
    this.dispatchEvent(event);
    const handler = (this as unknown as Record<string, unknown>)["on" + type];
    if (typeof handler === "function") handler.call(this, event);
  }
}
