/**
 * The three error channels (DESIGN.md): peer input never throws (parsers return E_* statuses),
 * local misuse throws TypeError/RangeError at the call, protocol outcomes are CoapError with
 * a string `code`.
 */

// Parse statuses (negative): what MessageView.parse found wrong with a datagram.
/** Shorter than its header, token or an option says it is (RFC 7252 §3: message format error). */
export const E_TRUNCATED = -1;
/** Reserved token length, reserved nibble 15, empty payload after the marker, bytes after an Empty message, option number overflow (RFC 7252 §3, §4.1). */
export const E_FORMAT = -2;
/** Version is not 1 (RFC 7252 §3: silently ignored). */
export const E_VERSION = -3;
/** More options than this view was sized for (a local limit, not a peer error). */
export const E_TOO_MANY_OPTIONS = -4;

export type CoapErrorCode =
	| "COAP_TIMEOUT" // no response (CON retransmissions exhausted, or the response timeout)
	| "COAP_RESET" // the peer answered with Reset
	| "COAP_CAPACITY" // no free exchange slot (a configured limit)
	| "COAP_OVERFLOW" // the message does not fit maxMessageSize
	| "COAP_CLOSED" // the endpoint was closed with the request outstanding
	| "COAP_BAD_URI" // a URI that is not coap:// or cannot be expressed as options
	| "COAP_SOCKET" // the socket refused to send
	| "COAP_UNREACHABLE" // the host reported the peer unreachable (ICMP port, host or network unreachable)
	| "COAP_BAD_RESPONSE" // a response that cannot be processed (more options than maxOptions)
	| "COAP_OSCORE"; // OSCORE (RFC 8613): a response that is not protected or fails verification, or a request that cannot be protected

/**
 * A protocol outcome. `code` is stable and meant for programs; `message` is for people;
 * `cause`, when present, is what the host reported (for COAP_UNREACHABLE its PeerUnreachable,
 * host.ts, whose `unreachable` says "port", "host" or "network"), or for COAP_OSCORE an
 * OscoreFailure: what went wrong, and the server's unprotected response if there was one.
 */
export class CoapError extends Error {
	readonly code: CoapErrorCode;
	constructor(code: CoapErrorCode, message?: string, cause?: unknown) {
		super(message ?? code, cause === undefined ? undefined : { cause });
		this.code = code;
	}
	// Never assign this.name: under Moddable preload the inherited property is read-only.
	override get name(): string {
		return "CoapError";
	}
}

/**
 * The `cause` of a COAP_OSCORE CoapError (RFC 8613 §8.4: a response that is not protected, or
 * fails verification, is an error for the application, never a payload).
 */
export interface OscoreFailure {
	/**
	 * "OSCORE_NOT_PROTECTED": the response carried no OSCORE option (e.g. the server's 4.01
	 * "Security context not found", 4.00 "Decryption failed", 4.02 from a server without
	 * OSCORE): `response` is it. "OSCORE_DECRYPT", "OSCORE_DECOMPRESS", "OSCORE_OUTER_BLOCK":
	 * the response did not verify or decode (`response` is null: nothing of it is released).
	 * "OSCORE_SEQUENCE_EXHAUSTED", "OSCORE_SEQUENCE_STORE", "OSCORE_PROXY_URI",
	 * "OSCORE_NESTED": the request could not be protected.
	 */
	readonly status: string;
	/** The unprotected response (code, options and payload as received), or null. */
	readonly response: import("./client/response.js").ClientResponse | null;
}
