import type { ExtensionOffer } from "./extension_offers.ts";

/**
 * The extension token of RFC 7692.
 *
 * @example
 * ```ts
 * import { PER_MESSAGE_DEFLATE } from "@edgesocket/edgesocket/codec";
 * console.log(PER_MESSAGE_DEFLATE); // "permessage-deflate"
 * ```
 */
export const PER_MESSAGE_DEFLATE = "permessage-deflate";

/** What a server is willing to agree to, for {@linkcode negotiatePerMessageDeflate}. */
export interface PerMessageDeflateNegotiation {
  /** Always reset the server's compression context after each message (default `false`). */
  serverNoContextTakeover?: boolean;
  /**
   * Ask the client to reset its context after each message. `true` asks
   * even when the client did not offer it; `false` never agrees to it;
   * unset (the default) agrees when the client offers it.
   */
  clientNoContextTakeover?: boolean;
  /** Largest window the server compresses with, 9 to 15 (default 15). */
  serverMaxWindowBits?: number;
  /**
   * Largest window the client may compress with, 8 to 15 (default 15),
   * applied when the client offers `client_max_window_bits` (browsers do).
   */
  clientMaxWindowBits?: number;
}

/** A permessage-deflate agreement: what each side compresses with, and the answer to send. */
export interface PerMessageDeflateAgreement {
  /** The server resets its compression context after each message. */
  serverNoContextTakeover: boolean;
  /** The client resets its compression context after each message. */
  clientNoContextTakeover: boolean;
  /** The window the server compresses with (9 to 15). */
  serverMaxWindowBits: number;
  /** The largest window the client compresses with (8 to 15). */
  clientMaxWindowBits: number;
  /** The extension as the 101's `Sec-WebSocket-Extensions` states it. */
  response: ExtensionOffer;
}

/**
 * Picks the first acceptable permessage-deflate offer and builds the answer
 * (RFC 7692 §7.1). An offer with an unknown, duplicated or malformed
 * parameter is declined, as §5 says a server must, and the next one is
 * tried; with none left the connection runs uncompressed. An offer that
 * asks for `server_max_window_bits=8` is declined too: zlib cannot compress
 * with a 256-byte window (it silently uses 512).
 *
 * @param offers The client's offers, in its order (other extensions are skipped).
 * @param options What the server agrees to.
 * @returns The agreement, or `null` when no offer is acceptable.
 * @throws {RangeError} When an option's window bits are out of range.
 *
 * @example The RFC 7692 §7.1.3 offer with a fallback
 * ```ts
 * import { formatExtensions, negotiatePerMessageDeflate, parseExtensionOffers } from "@edgesocket/edgesocket/codec";
 * const offers = parseExtensionOffers(
 *   "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
 * );
 * const agreement = negotiatePerMessageDeflate(offers)!;
 * console.log(formatExtensions([agreement.response])); // "permessage-deflate; server_max_window_bits=10"
 * ```
 */
export function negotiatePerMessageDeflate(
  offers: readonly ExtensionOffer[],
  options: PerMessageDeflateNegotiation = {},
): PerMessageDeflateAgreement | null {
  const serverLimit = checkBits(options.serverMaxWindowBits, 9, "serverMaxWindowBits");
  const clientLimit = checkBits(options.clientMaxWindowBits, 8, "clientMaxWindowBits");
  for (const offer of offers) {
    if (offer.name.toLowerCase() !== PER_MESSAGE_DEFLATE) continue;
    const agreement = answerOffer(offer, options, serverLimit, clientLimit);
    if (agreement) return agreement;
  }
  return null;
}

function answerOffer(
  offer: ExtensionOffer,
  options: PerMessageDeflateNegotiation,
  serverLimit: number,
  clientLimit: number,
): PerMessageDeflateAgreement | null {
  let serverNoContext = false;
  let clientNoContext = false;
  let serverBits: number | undefined;
  let clientBits: number | undefined;
  let clientBitsOffered = false;
  const seen = new Set<string>();
  for (const [rawName, value] of offer.params) {
    const name = rawName.toLowerCase();
    // RFC 7692 §5: the same parameter twice declines the offer.
    if (seen.has(name)) return null;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
        if (value !== true) return null;
        serverNoContext = true;
        break;
      case "client_no_context_takeover":
        if (value !== true) return null;
        clientNoContext = true;
        break;
      case "server_max_window_bits":
        // §7.1.2.1: a value is required here.
        if (value === true) return null;
        serverBits = parseBits(value);
        if (serverBits === undefined) return null;
        break;
      case "client_max_window_bits":
        clientBitsOffered = true;
        if (value === true) break;
        clientBits = parseBits(value);
        if (clientBits === undefined) return null;
        break;
      default:
        return null;
    }
  }
  const serverWindow = Math.min(serverLimit, serverBits ?? 15);
  if (serverWindow < 9) return null;
  const params: Array<[string, string | true]> = [];
  const agreedServerNoContext = serverNoContext || options.serverNoContextTakeover === true;
  if (agreedServerNoContext) params.push(["server_no_context_takeover", true]);
  const agreedClientNoContext = options.clientNoContextTakeover === true ||
    (clientNoContext && options.clientNoContextTakeover !== false);
  if (agreedClientNoContext) params.push(["client_no_context_takeover", true]);
  // §7.1.2.1: the server may state its window even when not asked to.
  if (serverBits !== undefined || serverWindow < 15) {
    params.push(["server_max_window_bits", `${serverWindow}`]);
  }
  let clientWindow = clientBits ?? 15;
  // §7.1.2.2: without the client's consent no client_max_window_bits.
  if (clientBitsOffered && clientLimit < clientWindow) {
    clientWindow = clientLimit;
    params.push(["client_max_window_bits", `${clientWindow}`]);
  }
  return {
    serverNoContextTakeover: agreedServerNoContext,
    clientNoContextTakeover: agreedClientNoContext,
    serverMaxWindowBits: serverWindow,
    clientMaxWindowBits: clientWindow,
    response: { name: PER_MESSAGE_DEFLATE, params },
  };
}

// RFC 7692 §7.1.2: 1*DIGIT, 8 to 15, with no leading zero.
function parseBits(value: string): number | undefined {
  const bits = Number(value);
  return Number.isInteger(bits) && bits >= 8 && bits <= 15 && `${bits}` === value
    ? bits
    : undefined;
}

function checkBits(bits: number | undefined, min: number, name: string): number {
  if (bits === undefined) return 15;
  if (!Number.isInteger(bits) || bits < min || bits > 15) {
    throw new RangeError(`${name} must be a whole number from ${min} to 15, got ${bits}`);
  }
  return bits;
}
