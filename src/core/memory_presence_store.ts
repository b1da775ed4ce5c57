import type { PresenceEvent, PresenceMember, PresenceStore } from "./presence_store.ts";

/**
 * Presence for one process, the default: members in a map, events at once.
 *
 * @example
 * ```ts
 * import { MemoryPresenceStore } from "@edgesocket/edgesocket";
 * const store = new MemoryPresenceStore();
 * store.join("room", { id: "a", meta: { name: "Ada" } });
 * console.log(store.list("room")); // [{ id: "a", meta: { name: "Ada" } }]
 * ```
 */
export class MemoryPresenceStore implements PresenceStore {
  #members = new Map<string, Map<string, PresenceMember>>();
  #watchers = new Map<string, Set<(event: PresenceEvent) => void>>();

  /**
   * Adds a member and tells the topic's watchers.
   *
   * @param topic The topic.
   * @param member The member.
   */
  join(topic: string, member: PresenceMember): void {
    let members = this.#members.get(topic);
    if (!members) this.#members.set(topic, members = new Map());
    if (members.has(member.id)) return;
    members.set(member.id, member);
    this.#emit({ type: "join", topic, member, local: true });
  }

  /**
   * Removes a member and tells the topic's watchers.
   *
   * @param topic The topic.
   * @param id The member's id.
   */
  leave(topic: string, id: string): void {
    const members = this.#members.get(topic);
    const member = members?.get(id);
    if (!members || !member) return;
    members.delete(id);
    if (members.size === 0) this.#members.delete(topic);
    this.#emit({ type: "leave", topic, member, local: true });
  }

  /**
   * The topic's members, in order of arrival.
   *
   * @param topic The topic.
   * @returns The members.
   */
  list(topic: string): PresenceMember[] {
    return [...this.#members.get(topic)?.values() ?? []];
  }

  /**
   * Tells `listener` of the topic's joins and leaves.
   *
   * @param topic The topic.
   * @param listener Called with each event.
   * @returns A function that stops it.
   */
  watch(topic: string, listener: (event: PresenceEvent) => void): () => void {
    let set = this.#watchers.get(topic);
    if (!set) this.#watchers.set(topic, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#watchers.delete(topic);
    };
  }

  #emit(event: PresenceEvent): void {
    for (const listener of this.#watchers.get(event.topic) ?? []) {
      try {
        listener(event);
      } catch (error) {
        // One app listener's bug must not keep the others from hearing it.
        console.error(error);
      }
    }
  }
}
