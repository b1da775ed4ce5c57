import { decodeBase64 } from "./base64.ts";
import {
  type ClientFrame,
  ResumeCloseCode,
  ResumeLimits,
  type ResumePayload,
  type StreamPosition,
} from "./resume_protocol.ts";
import { ResumeProtocolError } from "./resume_protocol_error.ts";

function fail(message: string, code: number = ResumeCloseCode.ProtocolError): never {
  throw new ResumeProtocolError(code, message);
}

/** Whether `value` is a whole number a JSON peer can send exactly: 0 to 2^53 - 1. */
export function isOffset(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Reads an application payload: exactly one of `d` (a string) or `b`
 * (canonical base64).
 *
 * @param frame The parsed frame.
 * @param required Whether a frame without either is an error.
 * @returns The payload, or `undefined` when absent and not required.
 * @throws {ResumeProtocolError} 1002 for both, neither (when required), or a wrong type.
 *
 * @example
 * ```ts ignore
 * readPayload({ t: "m", d: "hi" }, true); // "hi"
 * ```
 */
export function readPayload(
  frame: Record<string, unknown>,
  required: boolean,
): ResumePayload | undefined {
  const { d, b } = frame;
  if (d !== undefined && b !== undefined) fail("Frame has both d and b");
  if (typeof d === "string") return d;
  if (typeof b === "string") return decodeBase64(b) ?? fail("Field b is not base64");
  if (d !== undefined || b !== undefined) fail("Field d must be a string, b base64");
  return required ? fail("Frame has no payload") : undefined;
}

/**
 * Parses one JSON text: an object with a string `t`.
 *
 * @param text The frame's text.
 * @returns The object.
 * @throws {ResumeProtocolError} 1002 when it is not JSON or not such an object.
 *
 * @example
 * ```ts ignore
 * parseFrame('{"t":"ping"}'); // { t: "ping" }
 * ```
 */
export function parseFrame(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail("Frame is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("Frame is not a JSON object");
  }
  if (typeof (value as { t?: unknown }).t !== "string") fail("Frame has no type");
  return value as Record<string, unknown>;
}

/**
 * Checks a topic name from the peer: 1 to 256 characters.
 *
 * @param topic The value.
 * @returns The topic.
 * @throws {ResumeProtocolError} 1002 for a non-string, 1008 for an empty or too long one.
 *
 * @example
 * ```ts ignore
 * readTopic("room:lobby"); // "room:lobby"
 * ```
 */
export function readTopic(topic: unknown): string {
  if (typeof topic !== "string") fail("Topic must be a string");
  if (topic.length === 0 || topic.length > ResumeLimits.maxTopicLength) {
    fail(`Topic must be 1 to ${ResumeLimits.maxTopicLength} characters`, 1008);
  }
  return topic;
}

/**
 * Checks an epoch from the peer: 1 to 64 characters.
 *
 * @param epoch The value.
 * @returns The epoch.
 * @throws {ResumeProtocolError} 1002 for a non-string, 1008 for an empty or too long one.
 *
 * @example
 * ```ts ignore
 * readEpoch("k3J9"); // "k3J9"
 * ```
 */
export function readEpoch(epoch: unknown): string {
  if (typeof epoch !== "string") fail("Epoch must be a string");
  if (epoch.length === 0 || epoch.length > ResumeLimits.maxEpochLength) {
    fail(`Epoch must be 1 to ${ResumeLimits.maxEpochLength} characters`, 1008);
  }
  return epoch;
}

function readHello(frame: Record<string, unknown>): ClientFrame {
  if (frame.v !== 1) fail("Unsupported resume protocol version");
  const { s, p } = frame;
  if (s !== null && typeof s !== "string") fail("Token must be a string or null");
  if (typeof s === "string" && s.length > ResumeLimits.maxTokenLength) {
    fail("Token too long", ResumeCloseCode.PolicyViolation);
  }
  if (typeof p !== "object" || p === null || Array.isArray(p)) fail("Positions must be an object");
  const positions: Record<string, StreamPosition> = Object.create(null);
  let count = 0;
  for (const topic in p) {
    if (++count > ResumeLimits.maxHelloTopics) {
      fail("Too many topics in hello", ResumeCloseCode.PolicyViolation);
    }
    const pair = (p as Record<string, unknown>)[readTopic(topic)];
    if (!Array.isArray(pair) || pair.length !== 2 || !isOffset(pair[1])) {
      fail("A position must be [epoch, offset]");
    }
    positions[topic] = { epoch: readEpoch(pair[0]), offset: pair[1] };
  }
  return { t: "hello", v: 1, s: s as string | null, p: positions };
}

/**
 * Decodes a frame a client sent, checking every field and its limit: the
 * server's side of the protocol. Unknown keys are ignored; an unknown type
 * is an error.
 *
 * @param text The text frame.
 * @returns The frame: `hello`, `m` (with `data`) or `ping`.
 * @throws {ResumeProtocolError} 1002 for a malformed frame, 1008 for a field over its limit.
 *
 * @example
 * ```ts ignore
 * decodeClientFrame('{"t":"m","i":1,"d":"hi"}'); // { t: "m", i: 1, data: "hi" }
 * ```
 */
export function decodeClientFrame(text: string): ClientFrame {
  const frame = parseFrame(text);
  switch (frame.t) {
    case "hello":
      return readHello(frame);
    case "m": {
      const i = frame.i;
      if (!isOffset(i) || i === 0) fail("Message id must be a whole number from 1");
      return { t: "m", i, data: readPayload(frame, true) as ResumePayload };
    }
    case "ping":
      return { t: "ping" };
    default:
      fail("Unknown frame type");
  }
}
