import { encodeFrame, Opcode } from "../codec/mod.ts";
import { encodeResumeFrame } from "../protocol/resume_protocol.ts";

const encoder = new TextEncoder();

/**
 * One numbered publication on a resumable topic, as it fans out: its
 * `pub` frame is encoded once (as text, and as a WebSocket frame where the
 * codec writes bytes), whatever the number of resuming subscribers.
 */
export class Publication {
  /** The topic. */
  readonly topic: string;
  /** The stream's epoch. */
  readonly epoch: string;
  /** Its offset. */
  readonly offset: number;
  /** The payload. */
  readonly data: string | Uint8Array;
  /** The id of the session that published it from a socket, if one did. */
  readonly origin: string | undefined;
  #text: string | undefined;
  #frame: Uint8Array[] | undefined;

  /**
   * Creates the instance.
   *
   * @param topic The topic.
   * @param position Its position.
   * @param data The payload.
   * @param origin The publishing session's id.
   */
  constructor(
    topic: string,
    position: { epoch: string; offset: number },
    data: string | Uint8Array,
    origin?: string,
  ) {
    this.topic = topic;
    this.epoch = position.epoch;
    this.offset = position.offset;
    this.data = data;
    this.origin = origin;
  }

  /** The `pub` frame's text. */
  get text(): string {
    return this.#text ??= encodeResumeFrame({
      t: "pub",
      c: this.topic,
      e: this.epoch,
      o: this.offset,
      data: this.data,
    });
  }

  /** The `pub` frame as an unmasked WebSocket text frame, for `sendEncoded`. */
  get frame(): Uint8Array[] {
    return this.#frame ??= encodeFrame(Opcode.Text, encoder.encode(this.text));
  }

  /** The position-only `pub` frame its own publisher gets. */
  get positionText(): string {
    return encodeResumeFrame({ t: "pub", c: this.topic, e: this.epoch, o: this.offset });
  }
}
