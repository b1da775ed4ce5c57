/**
 * The handlers' `ws` for a resume socket of a Durable Object
 * (`DurableObjectWebSockets` with `resume`), rebuilt from the socket's
 * attachment after hibernation, and what the attachment keeps.
 *
 * @module
 */
import {
  encodeResumeFrame,
  RESUME_PROTOCOL,
  type StreamPosition,
  type TopicResume,
} from "../protocol/resume_protocol.ts";
import type { SendData } from "../core/send_data.ts";
import type { ResumeSessionRecord } from "../core/session_store.ts";
import type { SocketDriver } from "../core/socket_driver.ts";
import { WebSocketContext } from "../core/web_socket_context.ts";
import type { BinaryType } from "../core/web_socket_events.ts";
import type { Membership } from "./durable_object_presence.ts";

/** @internal What a resume socket keeps in its attachment, beside `ws.data` and its topics. */
export interface ResumeState {
  /** What `identify()` answered at the upgrade. */
  o: string;
  /** This socket's id, as the session record's `holder` names the socket that has it. */
  h: string;
  /** The phase (`Phase`). */
  s: number;
  /** The session's key (the token's SHA-256), once the hello is answered. */
  k?: string;
  /** The session's id (`ws.id`). */
  i?: string;
  /** The highest client message id handed to `onMessage`. */
  a?: number;
  /** Each resumable topic, with the position the session follows it from. */
  f?: Record<string, [string, number]>;
  /** Topics the route gives a new session before `onOpen`. */
  n?: string[];
  /** Presence: the session's memberships, topic → [member id, metadata, joined at (ms)]. */
  y?: Record<string, Membership>;
}

/** @internal A resume socket's whole attachment. */
export interface ResumeAttachment {
  d: unknown;
  t: string[];
  u: string;
  p: string;
  m: number;
  z: ResumeState;
  /** `binaryType`, when not `"arraybuffer"`. */
  b?: BinaryType | "uint8array";
}

/** @internal What the context asks of the resume side it belongs to. */
export interface ResumeTopics<D> {
  /** Subscribes its session. */
  subscribe(ws: ResumableObjectContext<D>, topic: string): void;
  /** Unsubscribes its session. */
  unsubscribe(ws: ResumableObjectContext<D>, topic: string): void;
  /** The object's `publish()`, leaving it out. */
  publishFrom(topic: string, data: SendData, except: ResumableObjectContext<D>): number;
}

/** @internal A socket accepted for hibernation. */
export interface HibernatableSocket extends WebSocket {
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

/** @internal A socket's place in the protocol. */
export const Phase = {
  /** Waiting for the hello. */
  Hello: 0,
  /** The hello is being answered: frames are held behind the welcome. */
  Welcoming: 1,
  /** Welcomed: messages flow. */
  Live: 2,
  /** The server closes it (the app, a protocol error): the session ends with it. */
  Ending: 3,
  /** Another socket took its session over: its close changes nothing. */
  Replaced: 4,
} as const;

/**
 * @internal A session's record as the resume side keeps it: with the last
 * drop's close code and the session's presence.
 */
export type ResumeRecord = ResumeSessionRecord & { c?: number; y?: Record<string, Membership> };

/**
 * @internal The handlers' `ws` for a resume socket of a Durable Object, or
 * for a session whose wait ran out (no socket: its `onClose`). Rebuilt
 * from the attachment after hibernation.
 */
export class ResumableObjectContext<D> extends WebSocketContext<D, WebSocket> {
  /**
   * Presence: the session's memberships, saved with the attachment while
   * connected and with the session's record while it waits, so that a
   * membership lasts as long as the session (not each socket).
   */
  readonly memberships: Map<string, Membership>;
  /** Set once the socket closed. */
  closed = false;
  /** The limit on incoming messages (0: none). */
  readonly maxMessageSize: number;
  /** The socket, if it has one. */
  readonly socket: HibernatableSocket | undefined;
  /** The protocol state, as in the attachment. */
  readonly state: ResumeState;
  /**
   * The hello's positions, each used once. In memory only: a topic the
   * session subscribes to after the object hibernated starts where its
   * stream is (a fresh session subscribes in `onOpen`, before the welcome).
   */
  hello: Record<string, StreamPosition> = {};
  /** While welcoming: frames held, and where each topic resumes. */
  outbox: string[] | null = null;
  welcomeTopics: Record<string, TopicResume> = {};
  /** The hello timer. */
  timer: ReturnType<typeof setTimeout> | undefined;
  readonly #resume: ResumeTopics<D>;
  readonly #topics: Set<string>;

  constructor(
    resume: ResumeTopics<D>,
    socket: HibernatableSocket | undefined,
    attachment: ResumeAttachment,
  ) {
    super({ protocol: RESUME_PROTOCOL, url: attachment.u, data: attachment.d as D });
    this.#resume = resume;
    this.socket = socket;
    this.state = attachment.z;
    this.maxMessageSize = attachment.m;
    this.#topics = new Set(attachment.t);
    this.memberships = new Map(Object.entries(attachment.z.y ?? {}));
    if (attachment.b) this.binaryType = attachment.b as BinaryType;
    this.attach(new ResumeDriver(this));
  }

  override get id(): string {
    return this.state.i ?? super.id;
  }

  override subscribe(topic: string): void {
    this.#resume.subscribe(this, topic);
  }

  override unsubscribe(topic: string): void {
    this.#resume.unsubscribe(this, topic);
  }

  override get topics(): ReadonlySet<string> {
    return this.#topics;
  }

  override publish(topic: string, data: SendData): number {
    return this.#resume.publishFrom(topic, data, this);
  }

  /** @internal The topics, to change. */
  get topicSet(): Set<string> {
    return this.#topics;
  }

  /** @internal Whether it is subscribed to `topic`. */
  has(topic: string): boolean {
    return this.#topics.has(topic);
  }

  /** @internal The phase. */
  get phase(): number {
    return this.state.s;
  }

  /** @internal Sends a frame's text now, or behind the welcome. */
  write(text: string): void {
    if (this.outbox) this.outbox.push(text);
    else if (this.state.s === Phase.Live && this.socket?.readyState === 1) this.socket.send(text);
  }

  /** @internal What the session store keeps for it. */
  record(): ResumeRecord {
    const topics: Record<string, StreamPosition> = {};
    for (const [topic, [epoch, offset]] of Object.entries(this.state.f ?? {})) {
      topics[topic] = { epoch, offset };
    }
    const record: ResumeRecord = {
      id: this.id,
      owner: this.state.o,
      path: this.url.pathname,
      data: this.data,
      lastClientId: this.state.a ?? 0,
      topics,
      plainTopics: [...this.#topics].filter((t) => !(t in topics)),
      holder: this.state.h,
    };
    if (this.memberships.size > 0) record.y = Object.fromEntries(this.memberships);
    return record;
  }

  /** @internal Writes the attachment. */
  save(): void {
    if (!this.socket || this.socket.readyState > 1) return;
    if (this.memberships.size > 0) this.state.y = Object.fromEntries(this.memberships);
    else delete this.state.y;
    const attachment: ResumeAttachment = {
      d: this.data,
      t: [...this.#topics],
      u: this.url.href,
      p: RESUME_PROTOCOL,
      m: this.maxMessageSize,
      z: this.state,
    };
    if (this.binaryType !== "arraybuffer") attachment.b = this.binaryType;
    try {
      this.socket.serializeAttachment(attachment);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new RangeError(
        `WebSocket attachment is too large for ws.data and the topic names: ${detail}`,
        { cause: error },
      );
    }
  }
}

// The app's `ws` sends through this: wrapped in the protocol's `m` frames.
class ResumeDriver<D> implements SocketDriver {
  readonly #ws: ResumableObjectContext<D>;

  constructor(ws: ResumableObjectContext<D>) {
    this.#ws = ws;
  }
  send(data: string | Uint8Array | ArrayBuffer): void {
    const payload = typeof data === "string" || data instanceof Uint8Array
      ? data
      : new Uint8Array(data);
    this.#ws.write(encodeResumeFrame({ t: "m", data: payload }));
  }
  closeWith(code?: number, reason?: string): void {
    const ws = this.#ws;
    if (!ws.socket || ws.closed || ws.socket.readyState > 1) return;
    if (ws.state.s !== Phase.Replaced) ws.state.s = Phase.Ending;
    ws.socket.close(code ?? 1000, reason ?? "");
  }
  get readyState(): number {
    return this.#ws.closed ? 3 : this.#ws.socket?.readyState ?? 3;
  }
  get bufferedAmount(): number {
    return 0;
  }
  get extensions(): string {
    return this.#ws.socket?.extensions ?? "";
  }
  get raw(): unknown {
    return this.#ws.socket;
  }
}
