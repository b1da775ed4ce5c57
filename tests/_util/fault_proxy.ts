/**
 * A fault-injecting TCP proxy for tests: it sits between a client and a
 * server on 127.0.0.1 and forwards bytes both ways, split at random places
 * and delayed by random amounts (order kept per direction), and it cuts
 * each connection at a random moment: after a random number of bytes
 * (mid-frame, mid-handshake, anywhere) or a random time, whichever comes
 * first. A cut closes both sockets at once, with no close frame: what a
 * dropped network looks like to both peers. Every choice comes from a
 * seeded PRNG, so a failing seed can be run again.
 */
import { createRandom } from "./chunking.ts";

/** How a {@linkcode FaultProxy} misbehaves. */
export interface FaultProxyOptions {
  /** Where to forward to. */
  target: { hostname?: string; port: number };
  /** The PRNG's seed (default 1). */
  seed?: number;
  /** Cut a connection after a random number of bytes in this range (both ways together); `null`: never by bytes. */
  cutBytes?: [number, number] | null;
  /** Cut a connection after a random time in this range, in ms; `null`: never by time. */
  cutMs?: [number, number] | null;
  /** Delay each forwarded piece by up to this many ms (default 0). */
  maxDelay?: number;
  /** Split each chunk into pieces of at most this many bytes (default: no splitting). */
  maxPiece?: number;
}

interface Link {
  client: Deno.TcpConn;
  server: Deno.TcpConn;
  bytes: number;
  budget: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  cut: boolean;
}

/** The proxy. */
export class FaultProxy {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Connections cut on purpose so far. */
  cuts = 0;
  /** Of them, cut after a byte budget ran out: at a random byte, so mid-frame nearly always. */
  cutsMidStream = 0;
  /** Connections accepted so far. */
  connections = 0;
  /** Whether to cut at all (on by default; off to let a test finish cleanly). */
  faults = true;
  /** While `true`, bytes are read and thrown away: a network that went silent, not down. */
  blackhole = false;
  /** While `true`, nothing is read: the peers' writes back up (a reader that stopped reading). */
  stall = false;
  readonly #listener: Deno.TcpListener;
  readonly #options: FaultProxyOptions;
  readonly #random: () => number;
  readonly #links = new Set<Link>();
  #refusing = false;
  #accepting: Promise<void>;
  #pumps = new Set<Promise<void>>();

  private constructor(listener: Deno.TcpListener, options: FaultProxyOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#random = createRandom(options.seed ?? 1);
    this.port = listener.addr.port;
    this.#accepting = this.#accept();
  }

  /**
   * Starts a proxy on a free port.
   *
   * @param options The target and the faults.
   * @returns The running proxy.
   */
  static start(options: FaultProxyOptions): FaultProxy {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new FaultProxy(listener, options);
  }

  #between([min, max]: [number, number]): number {
    return min + Math.floor(this.#random() * (max - min + 1));
  }

  async #accept(): Promise<void> {
    for await (const client of this.#listener) {
      if (this.#refusing) {
        client.close();
        continue;
      }
      this.connections++;
      let server: Deno.TcpConn;
      try {
        server = await Deno.connect({
          hostname: this.#options.target.hostname ?? "127.0.0.1",
          port: this.#options.target.port,
        });
      } catch {
        client.close();
        continue;
      }
      const { cutBytes = null, cutMs = null } = this.#options;
      const link: Link = {
        client,
        server,
        bytes: 0,
        budget: cutBytes ? this.#between(cutBytes) : Infinity,
        timer: undefined,
        cut: false,
      };
      if (cutMs) link.timer = setTimeout(() => this.#cut(link, true), this.#between(cutMs));
      this.#links.add(link);
      this.#track(this.#pump(link, client, server));
      this.#track(this.#pump(link, server, client));
    }
  }

  #track(pump: Promise<void>): void {
    this.#pumps.add(pump);
    pump.finally(() => this.#pumps.delete(pump));
  }

  async #pump(link: Link, from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const { maxDelay = 0, maxPiece } = this.#options;
    try {
      for (;;) {
        while (this.stall && !link.cut) await new Promise((resolve) => setTimeout(resolve, 5));
        const n = await from.read(buffer);
        if (n === null) break;
        if (this.blackhole) continue;
        let chunk = buffer.slice(0, n);
        while (chunk.length > 0 && !link.cut) {
          const size = maxPiece
            ? Math.min(chunk.length, 1 + Math.floor(this.#random() * maxPiece))
            : chunk.length;
          let piece = chunk.subarray(0, size);
          chunk = chunk.subarray(size);
          let cutAfter = false;
          if (this.faults && link.bytes + piece.length >= link.budget) {
            // Mid-frame: only part of this piece gets through.
            piece = piece.subarray(0, Math.max(0, link.budget - link.bytes));
            cutAfter = true;
          }
          if (maxDelay > 0 && this.#random() < 0.5) {
            await new Promise((resolve) => setTimeout(resolve, this.#random() * maxDelay));
          }
          if (link.cut) break;
          link.bytes += piece.length;
          await writeAll(to, piece);
          if (cutAfter && !link.cut && this.faults) this.cutsMidStream++;
          if (cutAfter) this.#cut(link, true);
        }
        if (link.cut) break;
      }
    } catch {
      // A socket closed under us: the other direction's cut, or a peer's close.
    }
    // One side ended: end the other (a clean close passes as a close).
    this.#cut(link, false);
  }

  #cut(link: Link, onPurpose: boolean): void {
    if (link.cut) return;
    if (onPurpose && !this.faults) return;
    link.cut = true;
    clearTimeout(link.timer);
    if (onPurpose) this.cuts++;
    this.#links.delete(link);
    for (const conn of [link.client, link.server]) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  /** Cuts every open connection now. */
  cutAll(): void {
    const faults = this.faults;
    this.faults = true;
    for (const link of [...this.#links]) this.#cut(link, true);
    this.faults = faults;
  }

  /**
   * While `true`, accepted connections are closed at once (the network is
   * down); `false` lets them through again.
   *
   * @param refuse Whether to refuse.
   */
  refuse(refuse: boolean): void {
    this.#refusing = refuse;
  }

  /** Stops: cuts everything and closes the listener. */
  async close(): Promise<void> {
    this.#listener.close();
    this.cutAll();
    await this.#accepting.catch(() => {});
    await Promise.allSettled([...this.#pumps]);
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}
