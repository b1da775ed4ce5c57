/**
 * The resume protocol, `edgesocket.resume.v1`: what a reconnecting client
 * and a resumable route say to each other, as JSON text frames. Sans-I/O:
 * frames in, frames out, no sockets and no timers; the server
 * (`src/core/`) and the client (`src/client/`) both import it, and nothing
 * else is shared between them. The README's "Wire protocol" section is its
 * specification; tests/protocol/ holds its vectors.
 *
 * A later, incompatible version is a new subprotocol (`…v2`), negotiated
 * the same way; within v1, unknown object keys are ignored so that fields
 * can be added.
 *
 * @module
 */
import { encodeBase64 } from "./base64.ts";

/**
 * The subprotocol a client offers and a resumable route answers.
 *
 * @example
 * ```ts
 * import { RESUME_PROTOCOL } from "@edgesocket/edgesocket/client";
 * console.log(RESUME_PROTOCOL); // "edgesocket.resume.v1"
 * ```
 */
export const RESUME_PROTOCOL = "edgesocket.resume.v1";

/** The version number inside `hello` and `welcome`. */
export const RESUME_VERSION = 1;

/** The bounds every field is checked against, with the close code a breach gets. */
export const ResumeLimits = {
  /** Longest session token accepted in `hello` (1008 above it). */
  maxTokenLength: 128,
  /** Most topic positions in one `hello` (1008 above it). */
  maxHelloTopics: 1024,
  /** Longest topic name (1008 above it), as `MAX_TOPIC_LENGTH`. */
  maxTopicLength: 256,
  /** Longest epoch (1008 above it). */
  maxEpochLength: 64,
} as const;

/** The close codes of the protocol's errors. */
export const ResumeCloseCode = {
  /** A frame that is not the protocol: bad JSON, unknown type, out-of-order id, `hello` twice. */
  ProtocolError: 1002,
  /** A binary WebSocket frame: every frame of the protocol is text. */
  UnsupportedData: 1003,
  /** A field over its limit. */
  PolicyViolation: 1008,
  /**
   * The session was resumed by another connection (this one was stale, or
   * two clients share a token): a client that gets it does not reconnect.
   */
  SessionReplaced: 4000,
} as const;

/** A position in one topic's stream: its epoch (incarnation) and the offset of a publication in it. */
export interface StreamPosition {
  /** The stream's epoch: another epoch is another history, with no continuity. */
  epoch: string;
  /** The offset: publications are 1, 2, 3 … within an epoch; 0 is "before the first". */
  offset: number;
}

/** A topic's position as the server reports it in `welcome` and `sub`. */
export interface TopicResume extends StreamPosition {
  /**
   * Present when the client had a position for the topic (its `hello` gave
   * one, or the session was subscribed before): whether it was honoured.
   * `true`: everything after it follows, once and in order. `false`: what
   * was published since is lost for this socket (another epoch, or history
   * no longer reaches back); the stream continues after `offset`. Absent
   * for a new subscription, which has nothing to recover.
   */
  recovered?: boolean;
}

/** An application payload: text travels as `d`, binary as base64 in `b`. */
export type ResumePayload = string | Uint8Array;

/** `hello`: the client's first frame, on every connection. */
export interface HelloFrame {
  t: "hello";
  /** The protocol version: 1. */
  v: number;
  /** The session token from the last `welcome`, or `null` for a new session. */
  s: string | null;
  /** The last position the client has of each topic it follows. */
  p: Record<string, StreamPosition>;
}

/** `m` from the client: an application message, with its id in the session (1, 2, 3 …). */
export interface ClientMessageFrame {
  t: "m";
  /** The id: one more than the last the client sent in this session. */
  i: number;
  /** The payload. */
  data: ResumePayload;
}

/** `ping`: the client's heartbeat, which the server answers at once. */
export interface PingFrame {
  t: "ping";
}

/** `pong`: the server's answer to `ping`. */
export interface PongFrame {
  t: "pong";
}

/** `welcome`: the server's answer to `hello`. */
export interface WelcomeFrame {
  t: "welcome";
  /** The protocol version: 1. */
  v: number;
  /** The session token, to send in the next `hello`. */
  s: string;
  /** Whether the session of the token was resumed (`false`: a fresh session). */
  recovered: boolean;
  /** The highest client message id handed to the application in this session (0: none). */
  a: number;
  /** Each topic the session was subscribed to, and how it resumes. */
  p: Record<string, TopicResume>;
}

/**
 * `pub`: a publication on a resumable topic. Without `data` it only moves
 * the position (a publication this session sent itself, which `publish()`
 * from a socket does not send back to it).
 */
export interface PublicationFrame {
  t: "pub";
  /** The topic. */
  c: string;
  /** The epoch. */
  e: string;
  /** The offset. */
  o: number;
  /** The payload, or `undefined` for a position-only frame. */
  data?: ResumePayload;
}

/** `sub`: the server subscribed this socket to a resumable topic after `welcome`. */
export interface SubscribeFrame {
  t: "sub";
  /** The topic. */
  c: string;
  /** The epoch. */
  e: string;
  /** The offset publications continue after. */
  o: number;
  /** As in `welcome`: present when the client had a position for the topic, whether it was honoured. */
  recovered?: boolean;
}

/** `unsub`: the server unsubscribed this socket from a resumable topic. */
export interface UnsubscribeFrame {
  t: "unsub";
  /** The topic. */
  c: string;
}

/**
 * `m` from the server: a message sent to this socket directly (`ws.send()`)
 * or a publication on a topic that is not resumable (with `c`). Best
 * effort: not numbered, not resent after a reconnect.
 */
export interface ServerMessageFrame {
  t: "m";
  /** The topic, for a publication on a topic that is not resumable. */
  c?: string;
  /** The payload. */
  data: ResumePayload;
}

/** `ack`: every client message up to id `a` has been handed to the application. */
export interface AckFrame {
  t: "ack";
  /** The highest id handed over. */
  a: number;
}

/** What a client sends. */
export type ClientFrame = HelloFrame | ClientMessageFrame | PingFrame;

/** What a server sends. */
export type ServerFrame =
  | WelcomeFrame
  | PublicationFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | ServerMessageFrame
  | AckFrame
  | PongFrame;

/**
 * Encodes a frame as its JSON text: `data` becomes `d` (text) or `b`
 * (base64), and a hello's positions become `[epoch, offset]` pairs. Keys
 * come in a fixed order, so a frame always encodes to the same text.
 *
 * @param frame A client or server frame.
 * @returns The text to send.
 *
 * @example
 * ```ts ignore
 * encodeResumeFrame({ t: "m", i: 1, data: "hi" }); // '{"t":"m","i":1,"d":"hi"}'
 * ```
 */
export function encodeResumeFrame(frame: ClientFrame | ServerFrame): string {
  const { data, ...rest } = frame as { data?: ResumePayload; t: string };
  const out: Record<string, unknown> = rest;
  if (frame.t === "hello") {
    const p: Record<string, [string, number]> = Object.create(null);
    for (const [topic, position] of Object.entries(frame.p)) {
      p[topic] = [position.epoch, position.offset];
    }
    out.p = p;
  } else if (frame.t === "welcome") {
    const p: Record<string, { e: string; o: number; recovered?: boolean }> = Object.create(null);
    for (const [topic, r] of Object.entries(frame.p)) {
      p[topic] = { e: r.epoch, o: r.offset, recovered: r.recovered };
    }
    out.p = p;
  }
  if (data !== undefined) {
    if (typeof data === "string") out.d = data;
    else out.b = encodeBase64(data);
  }
  return JSON.stringify(out);
}
