/**
 * The option registry: every option number of RFC 7252 §5.10 and §12.2, RFC 7641 (Observe),
 * RFC 7959 (Block1/Block2/Size2), RFC 7967 (No-Response), RFC 8613 (OSCORE),
 * RFC 8768 (Hop-Limit) and RFC 9175 (Echo, Request-Tag), with value format, length limits
 * and repeatability; critical / unsafe / no-cache-key are derived from the number's bits
 * (RFC 7252 §5.4.6). Leaves out: options registered later (Q-Block, EDHOC, ...): they are
 * "unrecognised" and treated per §5.4.1.
 */

export const OPT_IF_MATCH = 1;
export const OPT_URI_HOST = 3;
export const OPT_ETAG = 4;
export const OPT_IF_NONE_MATCH = 5;
export const OPT_OBSERVE = 6; // RFC 7641
export const OPT_URI_PORT = 7;
export const OPT_LOCATION_PATH = 8;
export const OPT_OSCORE = 9; // RFC 8613
export const OPT_URI_PATH = 11;
export const OPT_CONTENT_FORMAT = 12;
export const OPT_MAX_AGE = 14;
export const OPT_URI_QUERY = 15;
export const OPT_HOP_LIMIT = 16; // RFC 8768
export const OPT_ACCEPT = 17;
export const OPT_LOCATION_QUERY = 20;
export const OPT_BLOCK2 = 23; // RFC 7959
export const OPT_BLOCK1 = 27; // RFC 7959
export const OPT_SIZE2 = 28; // RFC 7959
export const OPT_PROXY_URI = 35;
export const OPT_PROXY_SCHEME = 39;
export const OPT_SIZE1 = 60;
export const OPT_ECHO = 252; // RFC 9175
export const OPT_NO_RESPONSE = 258; // RFC 7967
export const OPT_REQUEST_TAG = 292; // RFC 9175

// RFC 7252 §3.2: option value formats.
export const FMT_EMPTY = 0;
export const FMT_OPAQUE = 1;
export const FMT_UINT = 2;
export const FMT_STRING = 3;

// One row per known option: number, format, min length, max length, repeatable (1/0).
// RFC 7252 §5.10 table; RFC 7641 §2; RFC 7959 §2.1, §4; RFC 7967 §2; RFC 8613 §2;
// RFC 8768 §3; RFC 9175 §2.2.1, §3.2.1.
const TABLE: readonly (readonly [number, number, number, number, number, string])[] = Object.freeze([
	Object.freeze([OPT_IF_MATCH, FMT_OPAQUE, 0, 8, 1, "If-Match"] as const),
	Object.freeze([OPT_URI_HOST, FMT_STRING, 1, 255, 0, "Uri-Host"] as const),
	Object.freeze([OPT_ETAG, FMT_OPAQUE, 1, 8, 1, "ETag"] as const),
	Object.freeze([OPT_IF_NONE_MATCH, FMT_EMPTY, 0, 0, 0, "If-None-Match"] as const),
	Object.freeze([OPT_OBSERVE, FMT_UINT, 0, 3, 0, "Observe"] as const),
	Object.freeze([OPT_URI_PORT, FMT_UINT, 0, 2, 0, "Uri-Port"] as const),
	Object.freeze([OPT_LOCATION_PATH, FMT_STRING, 0, 255, 1, "Location-Path"] as const),
	Object.freeze([OPT_OSCORE, FMT_OPAQUE, 0, 255, 0, "OSCORE"] as const),
	Object.freeze([OPT_URI_PATH, FMT_STRING, 0, 255, 1, "Uri-Path"] as const),
	Object.freeze([OPT_CONTENT_FORMAT, FMT_UINT, 0, 2, 0, "Content-Format"] as const),
	Object.freeze([OPT_MAX_AGE, FMT_UINT, 0, 4, 0, "Max-Age"] as const),
	Object.freeze([OPT_URI_QUERY, FMT_STRING, 0, 255, 1, "Uri-Query"] as const),
	Object.freeze([OPT_HOP_LIMIT, FMT_UINT, 1, 1, 0, "Hop-Limit"] as const),
	Object.freeze([OPT_ACCEPT, FMT_UINT, 0, 2, 0, "Accept"] as const),
	Object.freeze([OPT_LOCATION_QUERY, FMT_STRING, 0, 255, 1, "Location-Query"] as const),
	Object.freeze([OPT_BLOCK2, FMT_UINT, 0, 3, 0, "Block2"] as const),
	Object.freeze([OPT_BLOCK1, FMT_UINT, 0, 3, 0, "Block1"] as const),
	Object.freeze([OPT_SIZE2, FMT_UINT, 0, 4, 0, "Size2"] as const),
	Object.freeze([OPT_PROXY_URI, FMT_STRING, 1, 1034, 0, "Proxy-Uri"] as const),
	Object.freeze([OPT_PROXY_SCHEME, FMT_STRING, 1, 255, 0, "Proxy-Scheme"] as const),
	Object.freeze([OPT_SIZE1, FMT_UINT, 0, 4, 0, "Size1"] as const),
	Object.freeze([OPT_ECHO, FMT_OPAQUE, 1, 40, 0, "Echo"] as const),
	Object.freeze([OPT_NO_RESPONSE, FMT_UINT, 0, 1, 0, "No-Response"] as const),
	Object.freeze([OPT_REQUEST_TAG, FMT_OPAQUE, 0, 8, 1, "Request-Tag"] as const),
]);

// Row index + 1 for option numbers below 64 (0: unknown), built once at load and frozen.
const SMALL: readonly number[] = Object.freeze(buildSmall());

function buildSmall(): number[] {
	const a: number[] = [];
	for (let n = 0; n < 64; n++) a.push(0);
	for (let i = 0; i < TABLE.length; i++) if (TABLE[i]![0] < 64) a[TABLE[i]![0]] = i + 1;
	return a;
}

/** Row index of a known option number, or -1. */
export function optionIndex(number: number): number {
	if (number < 64) return SMALL[number]! - 1;
	for (let i = 0; i < TABLE.length; i++) if (TABLE[i]![0] === number) return i;
	return -1;
}

/**
 * RFC 7252 §5.4.3 and §5.4.5 in one look-up: 0 when an occurrence of option `number` with a
 * value of `length` bytes is acceptable, 1 when it must be treated as unrecognised (illegal
 * length, or a repeat of a non-repeatable option: `repeat` is true when the previous option
 * had the same number). Unknown options: 0 (they are unrecognised anyway).
 */
export function occurrenceFlags(number: number, length: number, repeat: boolean): number {
	const i = optionIndex(number);
	if (i < 0) return 0;
	const row = TABLE[i]!;
	if (length < row[2] || length > row[3]) return 1;
	return repeat && row[4] === 0 ? 1 : 0;
}

/**
 * True when the message layer and the request/response layer process the option (RFC 7252
 * §5.4.1). The OSCORE option (RFC 8613 §2) is in the registry (names, lengths) but is not
 * processed there: a message that still carries it when it reaches them was not unprotected
 * by an OSCORE layer, and the critical option is treated as unrecognised (4.02 Bad Option for
 * a CON request, a Reset for a NON one, a rejected response) rather than ignored.
 */
export function isKnownOption(number: number): boolean {
	return number !== OPT_OSCORE && optionIndex(number) >= 0;
}

/** FMT_* of a known option, or FMT_OPAQUE for unknown ones. */
export function optionFormat(number: number): number {
	const i = optionIndex(number);
	return i < 0 ? FMT_OPAQUE : TABLE[i]![1];
}

/** RFC 7252 §5.4.1 / §5.4.3: is `length` a legal value length for this option? Unknown: any. */
export function isLegalLength(number: number, length: number): boolean {
	const i = optionIndex(number);
	if (i < 0) return true;
	const row = TABLE[i]!;
	return length >= row[2] && length <= row[3];
}

/** RFC 7252 §5.4.5: may the option occur more than once? Unknown options: no. */
export function isRepeatable(number: number): boolean {
	const i = optionIndex(number);
	return i >= 0 && TABLE[i]![4] === 1;
}

/** Registry name ("Uri-Path"), or "Option-NNN" for unknown numbers. */
export function optionName(number: number): string {
	const i = optionIndex(number);
	return i < 0 ? "Option-" + number : TABLE[i]![5];
}

/** Known option number for a registry name (case-insensitive), or -1. */
export function optionByName(name: string): number {
	const lower = name.toLowerCase();
	for (let i = 0; i < TABLE.length; i++) if (TABLE[i]![5].toLowerCase() === lower) return TABLE[i]![0];
	return -1;
}

// RFC 7252 §5.4.6: the option number's low bits encode its properties.
/** Critical options (odd numbers) must be understood (§5.4.1). */
export function isCritical(number: number): boolean {
	return (number & 1) === 1;
}
/** Unsafe-to-forward options (bit 1) (§5.4.2). */
export function isUnsafe(number: number): boolean {
	return (number & 2) === 2;
}
/** NoCacheKey options: bits 2..4 all set (§5.4.6). */
export function isNoCacheKey(number: number): boolean {
	return (number & 0x1e) === 0x1c;
}
