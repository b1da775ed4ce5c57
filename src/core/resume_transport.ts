import { decodeClientFrame } from "../protocol/decode_client_frame.ts";
import {
  encodeResumeFrame,
  type HelloFrame,
  ResumeCloseCode,
} from "../protocol/resume_protocol.ts";
import { ResumeProtocolError } from "../protocol/resume_protocol_error.ts";
import type { Publication } from "./publication.ts";
import type { ResumableSession, ResumeLink } from "./resumable_session.ts";
import type { WebSocketContext } from "./web_socket_context.ts";
import type { WebSocketEvents, WebSocketSession } from "./web_socket_session.ts";

const PONG = encodeResumeFrame({ t: "pong" });

/** What a socket hands its route when the client's hello arrives. */
export interface ResumeAcceptor {
  /** How long to wait for the hello, in ms. */
  readonly helloTimeout: number;
  /** Finds or makes the session for a hello, and starts it on the socket. */
  accept(transport: ResumeTransport, hello: HelloFrame): Promise<void>;
}

const Phase = { Hello: 0, Accepting: 1, Welcomed: 2, Closed: 3 } as const;

/**
 * One socket of a resumable route: the handlers of its `WebSocketSession`
 * speak the resume protocol (hello, heartbeats, numbered messages) and pass
 * the application's part to the {@linkcode ResumableSession} it carries.
 * Every protocol error closes it with its code (1002, 1003, 1008) and ends
 * the session; nothing the client sends can throw past it.
 */
export class ResumeTransport implements ResumeLink {
  /** The session it carries, once the hello is accepted. */
  session: ResumableSession | undefined;
  /** The handlers to run the socket with. */
  readonly events: WebSocketEvents;
  readonly #route: ResumeAcceptor;
  #socket: WebSocketSession | undefined;
  #ws: WebSocketContext | undefined;
  #phase: number = Phase.Hello;
  #byServer = false;
  #failed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates the instance.
   *
   * @param route The route, which accepts hellos.
   */
  constructor(route: ResumeAcceptor) {
    this.#route = route;
    this.events = {
      onOpen: (_event, ws) => {
        this.#ws = ws as WebSocketContext;
        this.#timer = setTimeout(
          () => this.fail(ResumeCloseCode.PolicyViolation, "No hello in time"),
          route.helloTimeout,
        );
      },
      onMessage: (event) => this.#receive(event.data),
      onClose: (event) => {
        this.#phase = Phase.Closed;
        clearTimeout(this.#timer);
        // The client ending its session closes with 1000; anything else
        // (1001 from a closing tab, a dropped network) may come back.
        const end = this.#failed || (event.code === 1000 && !this.#byServer);
        this.session?.detach(this, {
          code: event.code,
          reason: event.reason,
          wasClean: event.wasClean,
          end,
        });
      },
      onError: (event) => this.session?.error(event.error),
      onDrain: () => this.session?.drain(),
    };
  }

  /**
   * Gives it the socket's session, which sends its frames.
   *
   * @param socket The `WebSocketSession` the adapter runs.
   */
  bind(socket: WebSocketSession): void {
    this.#socket = socket;
  }

  /** Whether the socket has closed. */
  get closed(): boolean {
    return this.#phase === Phase.Closed;
  }

  #receive(data: unknown): void {
    if (this.#phase === Phase.Closed) return;
    if (typeof data !== "string") {
      return this.fail(ResumeCloseCode.UnsupportedData, "Binary frames are not resume frames");
    }
    try {
      const frame = decodeClientFrame(data);
      if (frame.t === "ping") return this.send(PONG);
      if (frame.t === "hello") {
        if (this.#phase !== Phase.Hello) return this.fail(1002, "Hello sent twice");
        clearTimeout(this.#timer);
        this.#phase = Phase.Accepting;
        this.#route.accept(this, frame).catch((error) => {
          console.error("Resume failed:", error);
          this.close(1011, "Internal error");
        });
        return;
      }
      if (this.#phase !== Phase.Welcomed || !this.session) {
        return this.fail(1002, "Message before welcome");
      }
      this.session.receive(frame);
    } catch (error) {
      if (!(error instanceof ResumeProtocolError)) throw error;
      this.fail(error.code, error.message);
    }
  }

  /**
   * Closes the socket for a protocol error: the app's `onError` hears of it
   * if a session runs, and the session ends.
   *
   * @param code The close code.
   * @param reason The reason.
   */
  fail(code: number, reason: string): void {
    if (this.#phase === Phase.Closed || this.#failed) return;
    this.#failed = true;
    this.session?.error(new ResumeProtocolError(code, reason));
    this.close(code, reason);
  }

  // ---- ResumeLink ------------------------------------------------------------

  /**
   * Sends a frame's text.
   *
   * @param text The frame.
   */
  send(text: string): void {
    if (this.#phase !== Phase.Closed) this.#socket?.send(text);
  }

  /**
   * Sends a publication, as the frame it encoded once where the codec writes bytes.
   *
   * @param publication The publication.
   */
  sendPublication(publication: Publication): void {
    const socket = this.#socket;
    if (!socket || this.#phase === Phase.Closed) return;
    if (socket.canSendEncoded) socket.sendEncoded(publication.frame);
    else socket.send(publication.text);
  }

  /**
   * Closes the socket from the server's side.
   *
   * @param code The close code.
   * @param reason The reason.
   */
  close(code: number, reason: string): void {
    if (this.#phase === Phase.Closed) return;
    this.#byServer = true;
    this.#socket?.closeWith(code, reason);
  }

  /** The welcome is out: client messages may follow. */
  welcomed(): void {
    if (this.#phase === Phase.Accepting) this.#phase = Phase.Welcomed;
  }

  /** Bytes queued on the socket. */
  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  /**
   * Sends a WebSocket ping, where the runtime can.
   *
   * @param data The payload.
   */
  ping(data: Uint8Array): void {
    this.#ws?.ping(data);
  }

  /** The runtime's socket. */
  get raw(): unknown {
    return this.#ws?.raw;
  }

  /** The agreed extensions. */
  get extensions(): string {
    return this.#ws?.extensions ?? "";
  }
}
