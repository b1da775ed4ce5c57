/**
 * A BroadcastChannel backplane, for several Deno isolates (workers, or Deno
 * Deploy's isolates): every publish is posted on one channel, and each
 * isolate delivers what arrives to its local subscribers.
 *
 * @example
 * ```ts ignore
 * import { defaultPubSub } from "@edgesocket/edgesocket";
 * import { createBroadcastChannelBackplane } from "@edgesocket/edgesocket/broadcast-channel";
 * defaultPubSub.useBackplane(createBroadcastChannelBackplane());
 * ```
 *
 * @module
 */
import type { Backplane } from "../core/backplane.ts";

export type { Backplane } from "../core/backplane.ts";

interface Envelope {
  topic: string;
  data: string | Uint8Array;
}

/**
 * Creates a backplane over a `BroadcastChannel`. A channel never receives
 * its own posts, so each message reaches each subscriber once.
 *
 * @param name The channel name (default `"edgesocket"`).
 * @returns The backplane: pass it to `PubSub.useBackplane()`.
 *
 * @example
 * ```ts
 * import { createBroadcastChannelBackplane } from "@edgesocket/edgesocket/broadcast-channel";
 * const backplane = createBroadcastChannelBackplane("my-app");
 * backplane.close();
 * ```
 */
export function createBroadcastChannelBackplane(name = "edgesocket"): Backplane {
  const channel = new BroadcastChannel(name);
  const topics = new Set<string>();
  let deliver: (topic: string, data: string | Uint8Array) => void = () => {};
  channel.onmessage = (event: MessageEvent<Envelope>) => {
    const { topic, data } = event.data;
    if (topics.has(topic)) deliver(topic, data);
  };
  return {
    publish: (topic, data) => channel.postMessage({ topic, data } satisfies Envelope),
    subscribe: (topic) => void topics.add(topic),
    unsubscribe: (topic) => void topics.delete(topic),
    onMessage: (fn) => void (deliver = fn),
    close: () => channel.close(),
  };
}
