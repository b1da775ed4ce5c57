/** A topic subscriber that records what it is sent, and a bounded wait. */
import type { Subscriber } from "../../mod.ts";

/** A subscriber that keeps every message it is sent, in order. */
export type RecordingSubscriber = Subscriber & { got: Array<string | Uint8Array> };

/**
 * Creates a subscriber that records its messages.
 *
 * @returns The subscriber; `got` holds the messages.
 */
export function recordingSubscriber(): RecordingSubscriber {
  const got: Array<string | Uint8Array> = [];
  return {
    got,
    topics: new Set(),
    bufferedAmount: 0,
    send: (data) => got.push(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer)),
    closeWith: () => {},
  };
}

/**
 * Waits until `check()` holds, polling every 10 ms.
 *
 * @param check The condition.
 * @param what What is awaited, for the error.
 * @param ms The longest wait.
 * @throws {Error} When `ms` pass first.
 */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Waits a little to show that nothing more arrives.
 *
 * @param ms How long.
 */
export function settle(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
