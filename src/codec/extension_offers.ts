import { isHttpToken } from "./header_tokens.ts";

/** One extension offer from `Sec-WebSocket-Extensions` (RFC 6455 §9.1). */
export interface ExtensionOffer {
  /** The extension token, for example `permessage-deflate`. */
  name: string;
  /** Parameters in order; a parameter with no value is `true`. */
  params: Array<[string, string | true]>;
}

/**
 * Parses `Sec-WebSocket-Extensions` into offers, in the client's preference
 * order. A single pass over the characters: no regex, nothing to backtrack.
 *
 * @param value The header value (several headers joined with `,`).
 * @returns The offers.
 * @throws {SyntaxError} When the value is not the RFC 6455 §9.1 grammar.
 *
 * @example
 * ```ts
 * import { parseExtensionOffers } from "@edgesocket/edgesocket/codec";
 * const offers = parseExtensionOffers("permessage-deflate; client_max_window_bits");
 * console.log(offers[0].name, offers[0].params); // permessage-deflate [["client_max_window_bits", true]]
 * ```
 */
export function parseExtensionOffers(
  value: string | null | undefined,
): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  if (!value) return offers;
  for (const element of value.split(",")) {
    if (element.trim() === "") continue;
    const parts = element.split(";");
    const name = parts[0].trim();
    if (!isHttpToken(name)) {
      throw new SyntaxError(`Invalid extension name: ${name}`);
    }
    const params: Array<[string, string | true]> = [];
    for (let i = 1; i < parts.length; i++) {
      params.push(parseParam(parts[i]));
    }
    offers.push({ name, params });
  }
  return offers;
}

function parseParam(text: string): [string, string | true] {
  const eq = text.indexOf("=");
  const key = (eq === -1 ? text : text.slice(0, eq)).trim();
  if (!isHttpToken(key)) {
    throw new SyntaxError(`Invalid extension parameter: ${key}`);
  }
  if (eq === -1) return [key, true];
  let raw = text.slice(eq + 1).trim();
  if (raw.length >= 2 && raw[0] === '"' && raw[raw.length - 1] === '"') {
    raw = raw.slice(1, -1);
  }
  if (!isHttpToken(raw)) {
    throw new SyntaxError(`Invalid value for extension parameter ${key}`);
  }
  return [key, raw];
}

/**
 * Formats negotiated extensions for a `Sec-WebSocket-Extensions` header.
 *
 * @param extensions The agreed extensions.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { formatExtensions } from "@edgesocket/edgesocket/codec";
 * console.log(formatExtensions([{ name: "permessage-deflate", params: [["server_no_context_takeover", true]] }]));
 * // "permessage-deflate; server_no_context_takeover"
 * ```
 */
export function formatExtensions(extensions: ExtensionOffer[]): string {
  return extensions.map((e) =>
    [e.name, ...e.params.map(([k, v]) => v === true ? k : `${k}=${v}`)]
      .join("; ")
  ).join(", ");
}
