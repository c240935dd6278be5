/**
 * RequestOptions: what a client request() takes, and its encoding into a message (URI →
 * options per RFC 7252 §6.4, then all options in ascending order, §3.1). Application edge:
 * it allocates a small option list per request.
 */
import { CODE_GET, parseCode } from "../constants.js";
import { CoapError } from "../errors.js";
import { OPT_ACCEPT, OPT_CONTENT_FORMAT, OPT_ECHO, OPT_NO_RESPONSE, OPT_URI_HOST, OPT_URI_PATH, OPT_URI_PORT, OPT_URI_QUERY } from "../options.js";
import { normalizeAddress } from "../uri/address.js";
import { composeCoapUri, parseCoapUri } from "../uri/uri.js";
import { utf8Decode } from "../wire/utf8.js";
import type { MessageWriter } from "../wire/writer.js";
import type { SecurityContext } from "../oscore/context.js";
import { COAP_PORT } from "../constants.js";

export type OptionValue = Uint8Array | string | number;

export interface RequestOptions {
	/** Method code or name ("GET", "post" ...); default GET. */
	method?: number | string;
	/** coap://host[:port]/path?query. A host name (not an IP literal) needs `address` too, and is sent as Uri-Host. */
	uri?: string;
	/** Destination IP address (numeric). Overrides the URI's host for addressing. */
	address?: string;
	/** Destination port (default: the URI's, or 5683). */
	port?: number;
	/** Path when no URI is given: "/a/b" or ["a", "b"]. */
	path?: string | readonly string[];
	/** Uri-Query arguments when no URI is given. */
	query?: readonly string[];
	payload?: Uint8Array | string;
	contentFormat?: number;
	accept?: number;
	/** CON (default) or NON. */
	confirmable?: boolean;
	/** Further options as [number, value] pairs (any order). */
	options?: readonly (readonly [number, OptionValue])[];
	/** Give up after this long without a response, counted from the first transmission (default: tuning.requestTimeoutMs). */
	timeoutMs?: number;
	/** Preferred block size for block-wise transfers, 16..1024 (RFC 7959); default the endpoint's. */
	blockSize?: number;
	/**
	 * RFC 7967 No-Response: the response classes not wanted (2 = 2.xx, 8 = 4.xx, 16 = 5.xx;
	 * 26 = none). With all three suppressed, request() resolves once the request is sent (NON)
	 * or acknowledged (CON), with a response whose code is 0.
	 */
	noResponse?: number;
	/** RFC 9175 Echo value to send (the client also retries automatically when a server asks). */
	echo?: Uint8Array;
	/**
	 * The token (RFC 7252 §5.3.1), 0..8 bytes; default a random 4-byte one. The request (and
	 * its block-wise follow-ups) fails with COAP_CAPACITY while another outstanding request of
	 * this endpoint uses the same token.
	 */
	token?: Uint8Array;
	/**
	 * Called after each block of a block-wise transfer (RFC 7959) with the bytes moved so far
	 * and the total when known (Size1/Size2), else -1. `sending` is true for Block1.
	 */
	onProgress?: (bytes: number, total: number, sending: boolean) => void;
	/**
	 * OSCORE (RFC 8613): the security context to protect this request with, or null to send it
	 * unprotected; absent, the endpoint's credentials pick one by the request's URI.
	 */
	oscore?: SecurityContext | null;
}

/** A request reduced to what goes on the wire. */
export interface EncodedRequest {
	method: number;
	address: string;
	port: number;
	confirmable: boolean;
	options: [number, OptionValue][];
	payload: Uint8Array | string | null;
	timeoutMs: number;
	/** Preferred block size exponent (RFC 7959 §2.2), 6 (1024 bytes) unless asked otherwise. */
	blockSzx: number;
	/** False when No-Response suppresses every response class (RFC 7967). */
	expectResponse: boolean;
	/** The token asked for, or null for a random one. */
	token: Uint8Array | null;
	/** RFC 8613: the context protecting the request, null for none (client.ts resolves it). */
	security: SecurityContext | null;
	onProgress: ((bytes: number, total: number, sending: boolean) => void) | undefined;
}

/** Resolves RequestOptions into an EncodedRequest; throws CoapError("COAP_BAD_URI") or TypeError. */
export function prepareRequest(o: RequestOptions, defaultTimeoutMs: number): EncodedRequest {
	let method = CODE_GET;
	if (typeof o.method === "number") method = o.method;
	else if (typeof o.method === "string") method = parseCode(o.method);
	if (!(method >= 1 && method <= 31)) throw new TypeError("method must be a request code 0.01..0.31 or a method name, got " + String(o.method));
	const options: [number, OptionValue][] = [];
	let address = o.address;
	let port = o.port;
	if (o.uri !== undefined) {
		const u = parseCoapUri(o.uri);
		if (typeof u === "string") throw new CoapError("COAP_BAD_URI", u);
		if (!u.hostIsLiteral) {
			options.push([OPT_URI_HOST, u.host]); // §6.4 step 5
			if (address === undefined) throw new CoapError("COAP_BAD_URI", "host name " + u.host + " needs resolving: pass `address` as well");
		}
		address ??= u.host;
		// RFC 7252 §6.4 step 6: a destination port other than the URI's port → Uri-Port.
		if (port !== undefined && port !== u.port) options.push([OPT_URI_PORT, u.port]);
		port ??= u.port;
		for (const s of u.path) options.push([OPT_URI_PATH, s]);
		for (const q of u.query) options.push([OPT_URI_QUERY, q]);
	} else {
		if (address === undefined) throw new TypeError("request needs `uri` or `address`");
		const p = o.path ?? [];
		const segs = typeof p === "string" ? p.split("/").filter((s) => s.length > 0) : p;
		for (const s of segs) options.push([OPT_URI_PATH, s]);
		for (const q of o.query ?? []) options.push([OPT_URI_QUERY, q]);
	}
	if (o.contentFormat !== undefined && o.contentFormat >= 0) options.push([OPT_CONTENT_FORMAT, o.contentFormat]);
	if (o.accept !== undefined && o.accept >= 0) options.push([OPT_ACCEPT, o.accept]);
	let expectResponse = true;
	if (o.noResponse !== undefined) {
		if (!(Number.isInteger(o.noResponse) && o.noResponse >= 0 && o.noResponse <= 255)) throw new RangeError("noResponse must be 0..255, got " + o.noResponse);
		options.push([OPT_NO_RESPONSE, o.noResponse]);
		expectResponse = (o.noResponse & 0x1a) !== 0x1a; // RFC 7967 §2.1: bits for 2.xx, 4.xx, 5.xx
	}
	if (o.echo !== undefined) {
		if (!(o.echo instanceof Uint8Array) || o.echo.length < 1 || o.echo.length > 40) throw new TypeError("echo must be a Uint8Array of 1..40 bytes");
		options.push([OPT_ECHO, o.echo]);
	}
	for (const extra of o.options ?? []) options.push([extra[0], extra[1]]);
	// The form the socket reports sources in (uri/address.ts), so the response matches (§5.3.2).
	address = normalizeAddress(address);
	// Stable sort by number keeps repeated options (Uri-Path ...) in order.
	options.sort((a, b) => a[0] - b[0]);
	const dest = port ?? COAP_PORT;
	// A UDP destination port is 1..65535 (0 cannot be sent to): refuse it here rather than
	// retransmit into a socket that fails every write.
	if (!(Number.isInteger(dest) && dest >= 1 && dest <= 65535)) {
		if (o.port === undefined) throw new CoapError("COAP_BAD_URI", "port " + dest + " of " + o.uri + " is not a destination port");
		throw new RangeError("port must be an integer 1..65535, got " + o.port);
	}
	let blockSzx = 6;
	if (o.blockSize !== undefined) {
		if (!(o.blockSize >= 16 && o.blockSize <= 1024 && (o.blockSize & (o.blockSize - 1)) === 0)) throw new RangeError("blockSize must be a power of two 16..1024, got " + o.blockSize);
		blockSzx = Math.log2(o.blockSize) - 4;
	}
	if (o.token !== undefined && !(o.token instanceof Uint8Array && o.token.length <= 8)) throw new TypeError("token must be a Uint8Array of 0..8 bytes (RFC 7252 §3)");
	const timeoutMs = o.timeoutMs ?? defaultTimeoutMs;
	if (!(timeoutMs > 0)) throw new RangeError("timeoutMs must be > 0, got " + timeoutMs);
	return {
		method,
		address,
		port: dest,
		confirmable: o.confirmable !== false,
		options,
		payload: o.payload === undefined || o.payload.length === 0 ? null : o.payload,
		timeoutMs,
		blockSzx,
		expectResponse,
		token: o.token === undefined ? null : o.token.slice(),
		security: o.oscore ?? null,
		onProgress: o.onProgress,
	};
}

/**
 * The URI a request is for, as composeCoapUri writes it (uri/uri.ts): Uri-Host or the
 * destination address, Uri-Port or the destination port, path and query. With `explicitPort`
 * the port is written even when it is 5683 (to match credentials patterns that name it).
 */
export function requestUri(r: EncodedRequest, explicitPort = false): string {
	let host = r.address;
	let port = r.port;
	const path: string[] = [];
	const query: string[] = [];
	for (const [n, v] of r.options) {
		const text = typeof v === "string" ? v : typeof v === "number" ? String(v) : utf8Decode(v);
		if (n === OPT_URI_HOST) host = text;
		else if (n === OPT_URI_PORT && typeof v === "number") port = v;
		else if (n === OPT_URI_PATH) path.push(text);
		else if (n === OPT_URI_QUERY) query.push(text);
	}
	const uri = composeCoapUri(host, port, path, query);
	if (!explicitPort || port !== COAP_PORT) return uri;
	const at = uri.indexOf("/", 7);
	return uri.slice(0, at) + ":" + COAP_PORT + uri.slice(at);
}

/** Writes options and payload of `r` after a header already written by the caller. */
export function writeRequestBody(w: MessageWriter, r: EncodedRequest): void {
	for (const [num, v] of r.options) {
		if (typeof v === "number") w.uintOption(num, v);
		else if (typeof v === "string") w.stringOption(num, v);
		else w.option(num, v, 0, v.length);
	}
	if (r.payload === null) return;
	if (typeof r.payload === "string") w.payloadText(r.payload);
	else w.payload(r.payload, 0, r.payload.length);
}
