/**
 * coap:// URIs to request options and back (RFC 7252 §6.1, §6.4 "Decomposing URIs into
 * Options", §6.5 "Composing URIs from Options"). Percent-encoding is decoded into the option
 * values and re-applied when composing. This runs at the application edge (it allocates).
 * Leaves out: coaps:// (no DTLS in this stack yet), coap+tcp:// and coap+ws:// (RFC 8323),
 * IRIs (RFC 3987; non-ASCII must already be percent-encoded or is taken as UTF-8 text),
 * and the relative-reference resolution of RFC 3986 §5.
 */
import { COAP_PORT } from "../constants.js";
import { utf8Bytes, utf8Decode } from "../wire/utf8.js";
import { AddressNormalizer } from "./address.js";

export interface CoapUri {
	/** Host as written, without brackets: "192.0.2.1", "::1", "example.org". */
	host: string;
	/** True when `host` is an IPv4 or IPv6 literal (then no Uri-Host option is sent, §6.4 step 5). */
	hostIsLiteral: boolean;
	port: number;
	/** Uri-Path option values (decoded), one per segment; empty for "/" or no path. */
	path: string[];
	/** Uri-Query option values (decoded), one per "&"-separated argument. */
	query: string[];
}

/** Parses a coap:// URI; returns an error message string for anything §6.4 rejects. */
export function parseCoapUri(text: string): CoapUri | string {
	// §6.4 step 1-3: absolute URI with scheme "coap". RFC 3986 §3.3: after an authority the
	// path is empty or begins with "/" (so "coap://h:abc/" is rejected, not read as path "bc/").
	const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[^\]]*\]|[^/?#:\[]*)(?::([0-9]*))?((?:\/[^?#]*)?)(?:\?([^#]*))?(#.*)?$/.exec(text);
	if (!m) return "not an absolute coap:// URI: " + text;
	const scheme = m[1]!.toLowerCase();
	if (scheme !== "coap") return "unsupported scheme " + scheme + ":// (only coap:// is supported)";
	if (m[6] !== undefined) return "a CoAP URI cannot have a fragment (RFC 7252 §6.4 step 4)";
	let host = m[2]!;
	let literal = false;
	if (host.startsWith("[")) {
		host = host.slice(1, -1);
		// RFC 6874 §2: a zone is written "%25" + the percent-encoded zone ID.
		const zone = host.indexOf("%25");
		let zoneId = "";
		if (zone >= 0) {
			const z = percentDecode(host.slice(zone + 3));
			if (z === null || z === "") return "bad zone in IPv6 literal of " + text;
			zoneId = "%" + z;
			host = host.slice(0, zone);
		}
		// One canonical form (RFC 5952), as the socket reports sources: responses then match.
		const canonical = host.indexOf("%") < 0 ? new AddressNormalizer().ipv6(host + zoneId) : null;
		if (canonical === null) return "bad IPv6 literal in " + text;
		host = canonical;
		literal = true;
	} else {
		if (host.length === 0) return "missing host in " + text;
		// RFC 3986 §3.2.2 IPv4address: four dec-octets 0..255.
		literal = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host.split(".").every((o) => Number(o) <= 255);
		// RFC 3986 §7.4: leading zeros are read as octal by some parsers: refuse the ambiguity.
		if (literal && host.split(".").some((o) => o.length > 1 && o.charCodeAt(0) === 0x30)) return "IPv4 address with leading zeros (ambiguous, RFC 3986 §7.4) in " + text;
		if (!literal) {
			const h = percentDecode(host);
			if (h === null) return "bad percent-encoding in host of " + text;
			host = h.toLowerCase(); // §6.4 step 5: host names are case-insensitive; Uri-Host sent in lower case
		}
	}
	let port = COAP_PORT;
	if (m[3] !== undefined && m[3] !== "") {
		port = Number(m[3]);
		if (!(port >= 0 && port <= 65535)) return "bad port in " + text;
	}
	const path: string[] = [];
	const rawPath = m[4]!;
	// §6.4 step 8: the path "" or "/" gives no Uri-Path option; otherwise one option per segment.
	if (rawPath !== "" && rawPath !== "/") {
		const segs = rawPath.slice(1).split("/");
		for (const s of segs) {
			const d = percentDecode(s);
			if (d === null) return "bad percent-encoding in path of " + text;
			if (d === "." || d === "..") return "dot segments are not allowed in a CoAP path: " + text;
			path.push(d);
		}
	}
	const query: string[] = [];
	if (m[5] !== undefined && m[5] !== "") {
		for (const q of m[5].split("&")) {
			const d = percentDecode(q);
			if (d === null) return "bad percent-encoding in query of " + text;
			query.push(d);
		}
	}
	return { host, hostIsLiteral: literal, port, path, query };
}

/** RFC 3986 §2.1 percent-decoding to a UTF-8 string; null on a malformed escape. */
export function percentDecode(s: string): string | null {
	if (s.indexOf("%") < 0) return s;
	const bytes: number[] = [];
	for (let i = 0; i < s.length; ) {
		const c = s.charCodeAt(i);
		if (c === 0x25) {
			const h = s.slice(i + 1, i + 3);
			if (!/^[0-9A-Fa-f]{2}$/.test(h)) return null;
			bytes.push(parseInt(h, 16));
			i += 3;
		} else {
			// A whole code point: s[i] alone would split an astral character's surrogate pair (V8).
			const ch = String.fromCodePoint(s.codePointAt(i)!);
			const enc = utf8Bytes(ch);
			for (const b of enc) bytes.push(b);
			i += ch.length;
		}
	}
	return utf8Decode(Uint8Array.from(bytes));
}

// §6.5 steps 8-9: characters left as they are: RFC 3986 "pchar" in a path segment; in a query
// argument also "/" and "?", but not "&" (it separates arguments).
const PCHAR_EXTRA = "-._~!$&'()*+,;=:@";
const QUERY_EXTRA = "-._~!$'()*+,;=:@/?";

function isSafe(b: number, query: boolean): boolean {
	if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) return true;
	return (query ? QUERY_EXTRA : PCHAR_EXTRA).indexOf(String.fromCharCode(b)) >= 0;
}

/** Percent-encodes a path segment (or a query argument when `query` is true) per RFC 3986. */
export function percentEncode(s: string, query = false): string {
	let out = "";
	const bytes = utf8Bytes(s);
	for (let i = 0; i < bytes.length; i++) {
		const b = bytes[i]!;
		if (isSafe(b, query)) out += String.fromCharCode(b);
		else out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
	}
	return out;
}

/** §6.5: composes a coap:// URI from host, port, Uri-Path and Uri-Query values. */
export function composeCoapUri(host: string, port: number, path: readonly string[], query: readonly string[]): string {
	let uri = "coap://" + (host.indexOf(":") >= 0 ? "[" + host + "]" : host);
	if (port !== COAP_PORT) uri += ":" + port;
	uri += "/" + path.map((p) => percentEncode(p)).join("/");
	if (query.length > 0) uri += "?" + query.map((q) => percentEncode(q, true)).join("&");
	return uri;
}
