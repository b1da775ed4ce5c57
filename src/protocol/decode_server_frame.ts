import { decodeBase64 } from "./base64.ts";
import { ResumeCloseCode, type ServerFrame, type TopicResume } from "./resume_protocol.ts";
import { ResumeProtocolError } from "./resume_protocol_error.ts";

// The client's decoder: shapes are checked (a server of another make must
// not crash the client), limits are not (the server is the one bounded).
// Kept small, for the client's size budget.
function check(ok: unknown): void {
  if (!ok) throw new ResumeProtocolError(ResumeCloseCode.ProtocolError, "Bad frame from server");
}

const isString = (v: unknown): v is string => typeof v === "string";
const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function readData(f: Record<string, unknown>): string | Uint8Array | undefined {
  if (isString(f.d)) return f.d;
  if (f.b === undefined) return undefined;
  const bytes = isString(f.b) ? decodeBase64(f.b) : undefined;
  check(bytes);
  return bytes;
}

/**
 * Decodes a frame a server sent: the client's side of the protocol.
 *
 * @param text The text frame.
 * @returns The frame (`data` in place of `d`/`b`).
 * @throws {ResumeProtocolError} 1002 for anything that is not a frame of the protocol.
 *
 * @example
 * ```ts ignore
 * decodeServerFrame('{"t":"ack","a":3}'); // { t: "ack", a: 3 }
 * ```
 */
export function decodeServerFrame(text: string): ServerFrame {
  let f: Record<string, unknown> | undefined;
  try {
    f = JSON.parse(text);
  } catch { /* checked below */ }
  check(f && typeof f === "object");
  f = f as Record<string, unknown>;
  const { t, c, e, o } = f;
  switch (t) {
    case "welcome": {
      check(isString(f.s) && typeof f.recovered === "boolean" && isOffset(f.a));
      check(f.p && typeof f.p === "object");
      const p: Record<string, TopicResume> = Object.create(null);
      for (const [topic, r] of Object.entries(f.p as Record<string, Record<string, unknown>>)) {
        check(r && isString(r.e) && isOffset(r.o));
        p[topic] = {
          epoch: r.e as string,
          offset: r.o as number,
          recovered: typeof r.recovered === "boolean" ? r.recovered : undefined,
        };
      }
      return {
        t,
        v: f.v as number,
        s: f.s as string,
        recovered: f.recovered as boolean,
        a: f.a as number,
        p,
      };
    }
    case "pub":
    case "sub":
      check(isString(c) && isString(e) && isOffset(o));
      return t === "pub"
        ? { t, c: c as string, e: e as string, o: o as number, data: readData(f) }
        : {
          t,
          c: c as string,
          e: e as string,
          o: o as number,
          recovered: typeof f.recovered === "boolean" ? f.recovered : undefined,
        };
    case "unsub":
      check(isString(c));
      return { t, c: c as string };
    case "m": {
      const data = readData(f);
      check(data !== undefined && (c === undefined || isString(c)));
      return c === undefined ? { t, data: data! } : { t, c: c as string, data: data! };
    }
    case "ack":
      check(isOffset(f.a));
      return { t, a: f.a as number };
    case "pong":
      return { t };
  }
  return check(0) as never;
}
