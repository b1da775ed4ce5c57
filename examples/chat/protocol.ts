/**
 * The chat's wire format: JSON text frames, one event each. The client sends
 * `message`, and `sync` to have its room's state again; the server sends
 * `welcome`, `message`, `join`, `leave` and `error`. A client of the resume
 * protocol (`edgesocket.resume.v1`) gets and sends the same JSON as the
 * payloads of that protocol's frames.
 */

/** A chat message as the server stamps and stores it. */
export interface ChatMessage {
  type: "message";
  /** Unique id (a UUID). */
  id: string;
  /** The sender's name. */
  from: string;
  /** The text, as sent: render it as text, never as HTML. */
  text: string;
  /** When the server received it, in ms since the epoch. */
  at: number;
}

/** Sent to a socket once it has joined its room. */
export interface WelcomeEvent {
  type: "welcome";
  /** The room joined. */
  room: string;
  /** The user's own name. */
  you: string;
  /** Names in the room, the user included, in order of arrival. */
  online: string[];
  /** The room's last messages, oldest first. */
  history: ChatMessage[];
}

/** Sent to the others in the room when a name arrives or leaves. */
export interface PresenceEvent {
  type: "join" | "leave";
  /** Who arrived or left. */
  name: string;
  /** Names in the room afterwards. */
  online: string[];
}

/** Sent to a sender whose message was refused. */
export interface ErrorEvent {
  type: "error";
  /** Why, in a sentence for people. */
  error: string;
}

/** Everything the server sends. */
export type ServerEvent = ChatMessage | WelcomeEvent | PresenceEvent | ErrorEvent;

/** The one thing a client sends: `{"type":"message","text":"…"}`. */
export interface ClientMessage {
  type: "message";
  /** The text, at most {@linkcode MAX_TEXT_LENGTH} characters. */
  text: string;
}

/**
 * `{"type":"sync"}`: the client missed what history could not replay; the
 * server answers with a new welcome (who is online, the last messages).
 */
export interface SyncRequest {
  type: "sync";
}

/** The longest text a message may carry, in characters (code points). */
export const MAX_TEXT_LENGTH = 2000;

const MESSAGE_SHAPE = 'Expected {"type":"message","text":"…"}';

/**
 * Parses a frame from a client: a message (a sync request is refused).
 *
 * @param data The frame's data.
 * @returns The message, or the reason to refuse it.
 *
 * @example
 * ```ts
 * import { parseClientMessage } from "./protocol.ts";
 * console.log(parseClientMessage('{"type":"message","text":"hi"}')); // { type: "message", text: "hi" }
 * ```
 */
export function parseClientMessage(data: unknown): ClientMessage | { error: string } {
  const parsed = parseClientFrame(data);
  return parsed.type === "sync" ? { error: MESSAGE_SHAPE } : parsed;
}

/**
 * Parses a frame from a client: a message or a sync request.
 *
 * @param data The frame's data.
 * @returns The message or request, or the reason to refuse it.
 *
 * @example
 * ```ts
 * import { parseClientFrame } from "./protocol.ts";
 * console.log(parseClientFrame('{"type":"sync"}')); // { type: "sync" }
 * ```
 */
export function parseClientFrame(
  data: unknown,
): ClientMessage | SyncRequest | { type?: undefined; error: string } {
  if (typeof data !== "string") return { error: "Expected a JSON text frame" };
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { error: "Expected JSON" };
  }
  const event = value as Partial<ClientMessage | SyncRequest> | null;
  if (event?.type === "sync") return { type: "sync" };
  if (event?.type !== "message" || typeof event.text !== "string") {
    return { error: MESSAGE_SHAPE };
  }
  const text = event.text;
  if (text.trim() === "") return { error: "Message is empty" };
  if (countCharacters(text) > MAX_TEXT_LENGTH) {
    return { error: `Message too long: at most ${MAX_TEXT_LENGTH} characters` };
  }
  return { type: "message", text };
}

/**
 * Counts characters as people do: code points, so an emoji is one.
 *
 * @param text Any string.
 * @returns The number of code points.
 *
 * @example
 * ```ts
 * import { countCharacters } from "./protocol.ts";
 * console.log(countCharacters("a😀")); // 2
 * ```
 */
export function countCharacters(text: string): number {
  // Fast path: no surrogate can make the count smaller than the length.
  if (!/[\uD800-\uDFFF]/.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * A new message from a user, stamped with an id and the time.
 *
 * @param from The sender's name.
 * @param text What they said, already checked.
 * @returns The message event.
 *
 * @example
 * ```ts
 * import { createChatMessage } from "./protocol.ts";
 * console.log(createChatMessage("ada", "hi").from); // "ada"
 * ```
 */
export function createChatMessage(from: string, text: string): ChatMessage {
  return { type: "message", id: crypto.randomUUID(), from, text, at: Date.now() };
}
