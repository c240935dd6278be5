/**
 * CoAP registries as frozen numeric constants: message types, codes, content formats
 * (RFC 7252 §3, §5.2, §12.1, §12.3; RFC 8132; RFC 7959 §2.9 codes).
 * Option numbers live in options.ts. Leaves out: the full IANA content-format list
 * (only the common formats are named; any number can be used).
 */

// RFC 7252 §3: message types (2-bit T field).
export const TYPE_CON = 0;
export const TYPE_NON = 1;
export const TYPE_ACK = 2;
export const TYPE_RST = 3;

/** Builds a code byte from class and detail: code(2, 5) === 0x45 (RFC 7252 §3 "c.dd"). */
export function code(cls: number, detail: number): number {
	return (cls << 5) | detail;
}

export const CODE_EMPTY = 0x00;

// RFC 7252 §12.1.1 and RFC 8132 §4: methods.
export const CODE_GET = 0x01;
export const CODE_POST = 0x02;
export const CODE_PUT = 0x03;
export const CODE_DELETE = 0x04;
export const CODE_FETCH = 0x05;
export const CODE_PATCH = 0x06;
export const CODE_IPATCH = 0x07;

// RFC 7252 §12.1.2: response codes.
export const CODE_CREATED = 0x41; // 2.01
export const CODE_DELETED = 0x42; // 2.02
export const CODE_VALID = 0x43; // 2.03
export const CODE_CHANGED = 0x44; // 2.04
export const CODE_CONTENT = 0x45; // 2.05
export const CODE_CONTINUE = 0x5f; // 2.31 (RFC 7959)
export const CODE_BAD_REQUEST = 0x80; // 4.00
export const CODE_UNAUTHORIZED = 0x81; // 4.01
export const CODE_BAD_OPTION = 0x82; // 4.02
export const CODE_FORBIDDEN = 0x83; // 4.03
export const CODE_NOT_FOUND = 0x84; // 4.04
export const CODE_METHOD_NOT_ALLOWED = 0x85; // 4.05
export const CODE_NOT_ACCEPTABLE = 0x86; // 4.06
export const CODE_REQUEST_ENTITY_INCOMPLETE = 0x88; // 4.08 (RFC 7959)
export const CODE_CONFLICT = 0x89; // 4.09 (RFC 8132)
export const CODE_PRECONDITION_FAILED = 0x8c; // 4.12
export const CODE_REQUEST_ENTITY_TOO_LARGE = 0x8d; // 4.13
export const CODE_UNSUPPORTED_CONTENT_FORMAT = 0x8f; // 4.15
export const CODE_UNPROCESSABLE_ENTITY = 0x96; // 4.22 (RFC 8132)
export const CODE_TOO_MANY_REQUESTS = 0x9d; // 4.29 (RFC 8516)
export const CODE_INTERNAL_SERVER_ERROR = 0xa0; // 5.00
export const CODE_NOT_IMPLEMENTED = 0xa1; // 5.01
export const CODE_BAD_GATEWAY = 0xa2; // 5.02
export const CODE_SERVICE_UNAVAILABLE = 0xa3; // 5.03
export const CODE_GATEWAY_TIMEOUT = 0xa4; // 5.04
export const CODE_PROXYING_NOT_SUPPORTED = 0xa5; // 5.05

/** RFC 7252 §5.1: class 0 with detail != 0 is a request. */
export function isRequest(c: number): boolean {
	return c >= 1 && c <= 31;
}

/** RFC 7252 §5.1: classes 2, 4 and 5 are responses. */
export function isResponse(c: number): boolean {
	const cls = c >> 5;
	return cls === 2 || cls === 4 || cls === 5;
}

/** "c.dd" text of a code byte, e.g. codeText(0x45) === "2.05". */
export function codeText(c: number): string {
	const d = c & 0x1f;
	return (c >> 5) + "." + (d < 10 ? "0" : "") + d;
}

/** RFC 7252 §12.1.2 (and RFC 7959, 8132, 8516, 8768): names of the response codes. */
const CODE_NAMES: readonly (readonly [number, string])[] = Object.freeze([
	Object.freeze([0x41, "Created"] as const),
	Object.freeze([0x42, "Deleted"] as const),
	Object.freeze([0x43, "Valid"] as const),
	Object.freeze([0x44, "Changed"] as const),
	Object.freeze([0x45, "Content"] as const),
	Object.freeze([0x5f, "Continue"] as const),
	Object.freeze([0x80, "Bad Request"] as const),
	Object.freeze([0x81, "Unauthorized"] as const),
	Object.freeze([0x82, "Bad Option"] as const),
	Object.freeze([0x83, "Forbidden"] as const),
	Object.freeze([0x84, "Not Found"] as const),
	Object.freeze([0x85, "Method Not Allowed"] as const),
	Object.freeze([0x86, "Not Acceptable"] as const),
	Object.freeze([0x88, "Request Entity Incomplete"] as const),
	Object.freeze([0x89, "Conflict"] as const),
	Object.freeze([0x8c, "Precondition Failed"] as const),
	Object.freeze([0x8d, "Request Entity Too Large"] as const),
	Object.freeze([0x8f, "Unsupported Content-Format"] as const),
	Object.freeze([0x96, "Unprocessable Entity"] as const),
	Object.freeze([0x9d, "Too Many Requests"] as const),
	Object.freeze([0xa0, "Internal Server Error"] as const),
	Object.freeze([0xa1, "Not Implemented"] as const),
	Object.freeze([0xa2, "Bad Gateway"] as const),
	Object.freeze([0xa3, "Service Unavailable"] as const),
	Object.freeze([0xa4, "Gateway Timeout"] as const),
	Object.freeze([0xa5, "Proxying Not Supported"] as const),
	Object.freeze([0xa8, "Hop Limit Reached"] as const),
]);

/**
 * A code with its name: "2.05 Content", "4.04 Not Found", "GET"; codes without a registered
 * name as "c.dd" alone. For people (traces, the command line), never on the message path.
 */
export function codeName(c: number): string {
	if (c === CODE_EMPTY) return "Empty";
	if (isRequest(c)) return METHOD_NAMES[c] ?? codeText(c);
	for (const row of CODE_NAMES) if (row[0] === c) return codeText(c) + " " + row[1];
	return codeText(c);
}

/**
 * Parses "2.05", "GET", "post" ... into a code byte; -1 when not recognised.
 * Used at the application edge (CLI), never on the message path.
 */
export function parseCode(text: string): number {
	const m = /^([0-7])\.([0-3][0-9])$/.exec(text);
	if (m) {
		const d = Number(m[2]);
		return d > 31 ? -1 : code(Number(m[1]), d);
	}
	const i = METHOD_NAMES.indexOf(text.toUpperCase());
	return i > 0 ? i : -1;
}

/** Method names indexed by method code (index 0 is the empty message). */
export const METHOD_NAMES: readonly string[] = Object.freeze(["EMPTY", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "IPATCH"]);

/** RFC 7252 §5.1 / RFC 8132 §2: methods that may be repeated without further effect. */
export function isIdempotent(method: number): boolean {
	return method === CODE_GET || method === CODE_PUT || method === CODE_DELETE || method === CODE_FETCH || method === CODE_IPATCH;
}

// RFC 7252 §12.3 and the IANA CoAP Content-Formats registry: common formats.
export const FORMAT_TEXT = 0; // text/plain; charset=utf-8
export const FORMAT_LINK_FORMAT = 40; // application/link-format (RFC 6690)
export const FORMAT_XML = 41;
export const FORMAT_OCTET_STREAM = 42;
export const FORMAT_EXI = 47;
export const FORMAT_JSON = 50;
export const FORMAT_JSON_PATCH = 51; // RFC 8132
export const FORMAT_MERGE_PATCH = 52; // RFC 8132
export const FORMAT_CBOR = 60;
export const FORMAT_SENML_JSON = 110;
export const FORMAT_SENML_CBOR = 112;

/** Names for content formats, for the CLI and link-format printing. */
export const FORMAT_NAMES: Readonly<Record<string, number>> = Object.freeze({
	"text/plain": FORMAT_TEXT,
	"text": FORMAT_TEXT,
	"application/link-format": FORMAT_LINK_FORMAT,
	"application/xml": FORMAT_XML,
	"application/octet-stream": FORMAT_OCTET_STREAM,
	"application/exi": FORMAT_EXI,
	"application/json": FORMAT_JSON,
	"json": FORMAT_JSON,
	"application/json-patch+json": FORMAT_JSON_PATCH,
	"application/merge-patch+json": FORMAT_MERGE_PATCH,
	"application/cbor": FORMAT_CBOR,
	"cbor": FORMAT_CBOR,
	"application/senml+json": FORMAT_SENML_JSON,
	"application/senml+cbor": FORMAT_SENML_CBOR,
});

/** RFC 7252 §6.1: default ports. */
export const COAP_PORT = 5683;
export const COAPS_PORT = 5684;
