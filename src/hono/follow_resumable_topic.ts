/**
 * Where a resume socket of a Durable Object goes on from in a resumable
 * topic: the object's history replayed from the client's position, or the
 * stream's position now when there is nothing to recover.
 *
 * @module
 */
import {
  encodeResumeFrame,
  type StreamPosition,
  type TopicResume,
} from "../protocol/resume_protocol.ts";
import type { DurableObjectHistoryStore } from "./durable_object_history_store.ts";
import type { ResumableObjectContext } from "./durable_object_resume_context.ts";

// History read per step of a replay.
const PAGE = 256;

/**
 * Where a resumable topic goes on from for a socket: a replay from `from`
 * (recovered), or the stream's position now (not recovered, or nothing to
 * recover). The replay is written at once: the store answers at once, so
 * no publication can come in between. The socket's own publications are
 * replayed with their position only.
 *
 * @param ws The socket's context: the replay goes to `ws.write()`, the
 * position to its state and its `welcomeTopics`.
 * @param topic The topic.
 * @param options The object's history, and the client's position (none: the stream's now).
 *
 * @example
 * ```ts ignore
 * const history = new DurableObjectHistoryStore(ctx.storage);
 * followResumableTopic(ws, "room", { history, from: ws.hello.room });
 * ```
 */
export function followResumableTopic<D>(
  ws: ResumableObjectContext<D>,
  topic: string,
  options: { history: DurableObjectHistoryStore; from: StreamPosition | undefined },
): void {
  const { history, from } = options;
  let resume: TopicResume;
  let page = from ? history.read(topic, from, PAGE) : "gone";
  if (page === "gone") {
    const now = history.position(topic);
    resume = from ? { ...now, recovered: false } : { ...now };
  } else {
    resume = { epoch: from!.epoch, offset: from!.offset, recovered: true };
    let last = from!.offset;
    for (;;) {
      for (const entry of page.entries) {
        last = entry.offset;
        ws.write(encodeResumeFrame(
          entry.origin === ws.id
            ? { t: "pub", c: topic, e: resume.epoch, o: entry.offset }
            : { t: "pub", c: topic, e: resume.epoch, o: entry.offset, data: entry.data },
        ));
      }
      if (page.entries.length === 0 || last >= page.position.offset) break;
      const next = history.read(topic, { epoch: resume.epoch, offset: last }, PAGE);
      if (next === "gone") break; // cannot happen within one synchronous step
      page = next;
    }
  }
  ws.state.f![topic] = [resume.epoch, resume.offset];
  ws.welcomeTopics[topic] = resume;
}
