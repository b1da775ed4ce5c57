import { isApplicationCloseCode, isValidWireCloseCode } from "../codec/mod.ts";
import type { SendData } from "./send_data.ts";
import { toBytes } from "./send_data.ts";
import { defaultPubSub } from "./pub_sub.ts";
import type { Subscriber } from "./subscriber.ts";
import type { SocketDriver } from "./socket_driver.ts";
import type { BinaryType } from "./web_socket_events.ts";

const encoder = new TextEncoder();

/** `0` connecting, `1` open, `2` closing, `3` closed: Hono's `WSReadyState`. */
export type WebSocketReadyState = 0 | 1 | 2 | 3;

/** Options of {@linkcode WebSocketContext.send}: Hono's `SendOptions`. */
export interface WebSocketSendOptions {
  /**
   * `false` sends this message uncompressed where permessage-deflate was
   * agreed (the codec's `compression`, Bun's `perMessageDeflate`); `true`
   * asks Bun to compress it. Deno's native server and Workers decide alone.
   */
  compress?: boolean;
}

/**
 * The socket handlers receive: the same on every runtime, and a Hono
 * `WSContext` (a handler typed with Hono's `WSEvents` takes it). It adds
 * topics, `ping`, `bufferedAmount`, `extensions`, `closeWith`, and `data`,
 * typed per-connection state set before the upgrade. `raw` is the runtime's
 * own socket, typed by the entry module (`R`).
 *
 * @example In a handler
 * ```ts ignore
 * app.get("/ws", upgradeWebSocket((c) => ({
 *   onMessage(event, ws) {
 *     ws.send(`${ws.data.user} said ${event.data}`);
 *   },
 * })));
 * ```
 */
export class WebSocketContext<D = unknown, R = unknown> {
  /** The agreed subprotocol, or `""`. */
  readonly protocol: string;
  /** The URL of the upgrade request. */
  #url: URL | string;
  /** Per-connection data, set before the upgrade. */
  data: D;
  /** How binary messages arrive (`"arraybuffer"` by default). */
  declare binaryType: BinaryType;
  #driver: SocketDriver | undefined;
  #subscriber: Subscriber | undefined;
  #id: string | undefined;

  /**
   * Creates the instance.
   *
   * @param init The protocol, URL and data (and an id, where it must
   * outlive the socket); the driver comes at open.
   */
  constructor(init: { protocol: string; url: URL | string; data: D; id?: string }) {
    this.protocol = init.protocol;
    this.#url = init.url;
    this.data = init.data;
    this.#id = init.id;
  }

  /**
   * The connection's id, random (made on first use). On a resumable route
   * it is the session's: the same across reconnects, and on every process
   * that shares the session store.
   */
  get id(): string {
    return this.#id ??= crypto.randomUUID();
  }

  /** @internal The adapter's socket and the session, once open. */
  attach(driver: SocketDriver, subscriber?: Subscriber): void {
    this.#driver = driver;
    this.#subscriber = subscriber;
  }

  // Its helpers are TypeScript-private, not #private: an instance's #method
  // costs every instance a brand slot (8 bytes each on Node).
  /** The session, once the socket is open: topics need it. */
  private openSubscriber(): Subscriber {
    if (!this.#subscriber) throw new DOMException("WebSocket is not open yet", "InvalidStateError");
    return this.#subscriber;
  }

  /**
   * Subscribes this socket to a topic; it leaves every topic when it closes.
   *
   * @param topic 1 to 256 characters.
   * @throws {RangeError} For an empty or too long topic name.
   */
  subscribe(topic: string): void {
    defaultPubSub.subscribe(this.openSubscriber(), topic);
  }

  /**
   * Unsubscribes this socket from a topic.
   *
   * @param topic The topic.
   */
  unsubscribe(topic: string): void {
    defaultPubSub.unsubscribe(this.openSubscriber(), topic);
  }

  /** The topics this socket is subscribed to. */
  get topics(): ReadonlySet<string> {
    return this.#subscriber?.topics ?? new Set();
  }

  /**
   * Publishes to every subscriber of a topic except this socket.
   *
   * @param topic The topic.
   * @param data Text or binary.
   * @returns How many subscribers it was sent to.
   */
  publish(topic: string, data: SendData): number {
    return defaultPubSub.publish(topic, data, this.openSubscriber());
  }

  /** The URL of the upgrade request (parsed on first use). */
  get url(): URL {
    return typeof this.#url === "string" ? (this.#url = new URL(this.#url)) : this.#url;
  }

  /** `0` connecting, `1` open, `2` closing, `3` closed. */
  get readyState(): WebSocketReadyState {
    return (this.#driver?.readyState ?? 0) as WebSocketReadyState;
  }

  /** Bytes queued and not yet sent (0 where the runtime cannot tell). */
  get bufferedAmount(): number {
    return this.#driver?.bufferedAmount ?? 0;
  }

  /** The agreed extensions, or `""`. */
  get extensions(): string {
    return this.#driver?.extensions ?? "";
  }

  /**
   * The runtime's own socket (Deno's and Workers' `WebSocket`, Bun's
   * `ServerWebSocket`, the codec's `WebSocketConnection` on Node), once open.
   */
  get raw(): R | undefined {
    return this.#driver?.raw as R | undefined;
  }

  /** Whether `ping()` does anything on this runtime (not on Workers). */
  get canPing(): boolean {
    return this.#driver?.ping !== undefined;
  }

  /**
   * Sends a message; a view is sent as exactly its bytes.
   *
   * @param data A string, `ArrayBuffer`, view or `Blob`.
   * @param options `compress`, where the runtime decides per message.
   * @throws {TypeError} For anything else (an object is never sent as an
   * empty frame).
   * @throws {DOMException} `InvalidStateError` before the socket opens.
   */
  send(data: SendData, options?: WebSocketSendOptions): void {
    const driver = this.#driver;
    if (!driver) {
      throw new DOMException("WebSocket is not open yet", "InvalidStateError");
    }
    // A string or an ArrayBuffer (what handlers echo) before any other test.
    let payload: string | ArrayBuffer | Uint8Array;
    if (typeof data === "string" || data instanceof ArrayBuffer) payload = data;
    else if (data instanceof Blob) {
      data.arrayBuffer().then((b) => {
        if (driver.readyState === 1) driver.send(new Uint8Array(b), options?.compress);
      });
      return;
    } else {
      // Before the try: a wrong type is the caller's error even on a closing socket.
      payload = toBytes(data);
    }
    // readyState is asked only when a send fails: on Workers and Deno it is
    // a call into the runtime, on every message of an echo's hot path.
    try {
      // An ArrayBuffer as it is: every runtime's send takes one, and a view
      // over it would cost an allocation per message.
      driver.send(payload, options?.compress);
    } catch (error) {
      // A socket that is closing drops what is sent, as WHATWG's does.
      if (driver.readyState === 1) throw error;
    }
  }

  /**
   * Sends a ping where the runtime can (see `canPing`).
   *
   * @param data Up to 125 bytes.
   */
  ping(data: string | ArrayBuffer | ArrayBufferView = new Uint8Array(0)): void {
    if (this.#driver?.readyState !== 1) return;
    this.#driver.ping?.(
      typeof data === "string" ? encoder.encode(data) : toBytes(data),
    );
  }

  /**
   * Closes with the WHATWG rules.
   *
   * @param code 1000 or 3000–4999.
   * @param reason At most 123 UTF-8 bytes.
   * @throws {DOMException} `InvalidAccessError` for another code, `SyntaxError`
   * for a longer reason.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !isApplicationCloseCode(code)) {
      throw new DOMException(
        `Close code must be 1000 or 3000-4999, got ${code}`,
        "InvalidAccessError",
      );
    }
    if (reason !== undefined && encoder.encode(reason).length > 123) {
      throw new DOMException(
        "Close reason must be at most 123 UTF-8 bytes",
        "SyntaxError",
      );
    }
    this.#driver?.closeWith(code ?? (reason ? 1000 : undefined), reason ?? "");
  }

  /**
   * Closes with any code a server may send (RFC 6455 §7.4.1): 1001 going
   * away, 1008 policy, 1011 internal error, 1012, 1013 … which the WHATWG
   * rules of `close()` keep from applications.
   *
   * @param code A code valid on the wire.
   * @param reason At most 123 UTF-8 bytes.
   * @throws {RangeError} For a code not valid on the wire, or a longer reason.
   */
  closeWith(code: number, reason = ""): void {
    if (!isValidWireCloseCode(code)) {
      throw new RangeError(`Close code is not valid on the wire: ${code}`);
    }
    if (encoder.encode(reason).length > 123) {
      throw new RangeError("Close reason must be at most 123 UTF-8 bytes");
    }
    this.#driver?.closeWith(code, reason);
  }
}

// The default on the prototype, not a field: a field costs every idle
// socket 8 bytes on V8, and 16 on Bun (JavaScriptCore rounds objects to
// 16 bytes: six fields fit 64, seven take 80). A handler that sets it gets
// its own property.
Object.defineProperty(WebSocketContext.prototype, "binaryType", {
  value: "arraybuffer",
  writable: true,
  configurable: true,
});
