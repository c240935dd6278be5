/**
 * RFC 6690 CoRE Link Format read and written as data: a parser for link-format documents
 * (`</a>;rt="x";ct=0,</b>`), the serializer for parsed links, the attribute filters of RFC
 * 6690 §4.1 and RFC 9176 §6 (`name=value`, `value*` prefix match, space-separated `rt`/`if`
 * lists) and RFC 3986 §5 reference resolution (how a resource directory turns a registrant's
 * relative links into absolute ones, RFC 9176 §6). Used by the resource-directory client
 * (discovery) and server (registration payloads and lookups) and by anyone reading a
 * `/.well-known/core`.
 *
 * The parser never throws on peer input: a malformed document gives an error string naming
 * the offset. It is lenient where deployed peers are (whitespace, line breaks between links
 * and around separators; RFC 6690 allows none) and strict where meaning would be lost
 * (unterminated targets or quoted strings, empty parameter names, bad characters).
 * Application edge: it allocates (strings, one object per link and parameter).
 * Leaves out: RFC 8288 `title*` ext-value decoding (kept as written) and the JSON/CBOR link
 * formats of RFC 9176 §9 (content formats 504, 64).
 */

/** One target attribute: its name, value (unquoted and unescaped; null for a bare `;obs`), and whether it was quoted. */
export interface LinkParam {
	readonly name: string;
	readonly value: string | null;
	readonly quoted: boolean;
}

/** One link-value: the target (URI-reference as written) and its parameters in order. */
export interface Link {
	readonly href: string;
	readonly params: readonly LinkParam[];
}

/** RFC 5987 attr-char (the characters of a parmname) plus "*" for `title*`-style names. */
function isParmnameChar(c: number): boolean {
	return (
		(c >= 0x30 && c <= 0x39) || // DIGIT
		(c >= 0x41 && c <= 0x5a) || // ALPHA
		(c >= 0x61 && c <= 0x7a) ||
		c === 0x21 || // !
		c === 0x23 || // #
		c === 0x24 || // $
		c === 0x26 || // &
		c === 0x2b || // +
		c === 0x2d || // -
		c === 0x2e || // .
		c === 0x5e || // ^
		c === 0x5f || // _
		c === 0x60 || // `
		c === 0x7c || // |
		c === 0x7e || // ~
		c === 0x2a // * (ext-value names such as title*)
	);
}

/** True when `name` can be a link parameter's name (RFC 6690 §2 parmname). */
export function isParmname(name: string): boolean {
	if (name.length === 0) return false;
	for (let i = 0; i < name.length; i++) if (!isParmnameChar(name.charCodeAt(i))) return false;
	return true;
}

/** RFC 6690 §2 ptokenchar. */
function isPtokenChar(c: number): boolean {
	if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
	// ! # $ % & ' ( ) * + - . / : < = > ? @ [ ] ^ _ ` { | } ~
	return "!#$%&'()*+-./:<=>?@[]^_`{|}~".indexOf(String.fromCharCode(c)) >= 0;
}

function isSpace(c: number): boolean {
	return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Parses a link-format document (RFC 6690 §2). An empty document (or one of only whitespace)
 * is an empty list. Returns the links, or a one-line error message naming the character
 * offset where parsing failed. `maxLinks` bounds the work a peer can cause (default: none).
 */
export function parseLinkFormat(text: string, maxLinks = Infinity): Link[] | string {
	const links: Link[] = [];
	const n = text.length;
	let i = 0;
	const skip = (): void => {
		while (i < n && isSpace(text.charCodeAt(i))) i++;
	};
	skip();
	if (i === n) return links;
	for (;;) {
		// link-value = "<" URI-Reference ">" *( ";" link-param )
		if (text.charCodeAt(i) !== 0x3c) return "expected '<' at offset " + i;
		const close = text.indexOf(">", i + 1);
		if (close < 0) return "unterminated '<' at offset " + i;
		const href = text.slice(i + 1, close);
		for (let k = 0; k < href.length; k++) {
			const c = href.charCodeAt(k);
			// RFC 3986: a URI-reference has no spaces, controls, '<' or '"'.
			if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x22) return "bad character in link target at offset " + (i + 1 + k);
		}
		i = close + 1;
		const params: LinkParam[] = [];
		skip();
		while (i < n && text.charCodeAt(i) === 0x3b) {
			// ";" link-param, link-param = parmname [ "=" ( ptoken / quoted-string ) ]
			i++;
			skip();
			const start = i;
			while (i < n && isParmnameChar(text.charCodeAt(i))) i++;
			if (i === start) return "expected a parameter name at offset " + start;
			const name = text.slice(start, i);
			skip();
			if (i < n && text.charCodeAt(i) === 0x3d) {
				i++;
				skip();
				if (i < n && text.charCodeAt(i) === 0x22) {
					// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 2616 §2.2)
					let value = "";
					let j = i + 1;
					let closed = false;
					while (j < n) {
						const c = text.charCodeAt(j);
						if (c === 0x22) {
							closed = true;
							break;
						}
						if (c === 0x5c) {
							if (j + 1 >= n) break;
							value += text[j + 1];
							j += 2;
							continue;
						}
						value += text[j];
						j++;
					}
					if (!closed) return "unterminated quoted string at offset " + i;
					params.push({ name, value, quoted: true });
					i = j + 1;
				} else {
					const vs = i;
					while (i < n && isPtokenChar(text.charCodeAt(i))) i++;
					if (i === vs) return "expected a value for " + name + " at offset " + vs;
					params.push({ name, value: text.slice(vs, i), quoted: false });
				}
			} else params.push({ name, value: null, quoted: false });
			skip();
		}
		links.push({ href, params });
		if (links.length > maxLinks) return "more than " + maxLinks + " links";
		if (i === n) return links;
		if (text.charCodeAt(i) !== 0x2c) return "expected ',' or ';' at offset " + i;
		i++;
		skip();
		if (i === n) return "trailing ',' at offset " + (i - 1);
	}
}

/** A value as a quoted-string (RFC 2616 §2.2): backslash-escapes '"' and '\'. */
export function quote(value: string): string {
	let out = '"';
	for (let i = 0; i < value.length; i++) {
		const c = value[i]!;
		if (c === '"' || c === "\\") out += "\\";
		out += c;
	}
	return out + '"';
}

/** True when `value` can be written as an RFC 6690 ptoken (unquoted). */
export function isPtoken(value: string): boolean {
	if (value.length === 0) return false;
	for (let i = 0; i < value.length; i++) if (!isPtokenChar(value.charCodeAt(i))) return false;
	return true;
}

/** One parameter as written in a link: `;name`, `;name=value` or `;name="value"`. */
export function serializeParam(p: LinkParam): string {
	if (p.value === null) return ";" + p.name;
	return ";" + p.name + "=" + (p.quoted || !isPtoken(p.value) ? quote(p.value) : p.value);
}

/** One link-value. */
export function serializeLink(link: Link): string {
	let s = "<" + link.href + ">";
	for (const p of link.params) s += serializeParam(p);
	return s;
}

/** A link-format document (comma-separated link-values, RFC 6690 §2). */
export function serializeLinkFormat(links: readonly Link[]): string {
	let s = "";
	for (let i = 0; i < links.length; i++) s += (i > 0 ? "," : "") + serializeLink(links[i]!);
	return s;
}

/** The first value of parameter `name` ("" for a bare parameter), or undefined when absent. */
export function linkParam(link: Link, name: string): string | undefined {
	for (const p of link.params) if (p.name === name) return p.value ?? "";
	return undefined;
}

/**
 * RFC 6690 §4.1 / RFC 9176 §6 value matching: a filter ending in "*" matches values that
 * start with the rest; otherwise the values must be equal. `rt` and `if` hold space-separated
 * lists (RFC 6690 §3.1, §3.2): a filter matches when it matches one of their items.
 */
export function valueMatches(name: string, filter: string, value: string): boolean {
	if (name === "rt" || name === "if") {
		let start = 0;
		for (let i = 0; i <= value.length; i++) {
			if (i === value.length || value.charCodeAt(i) === 0x20) {
				if (i > start && matchOne(filter, value.slice(start, i))) return true;
				start = i + 1;
			}
		}
		return false;
	}
	return matchOne(filter, value);
}

function matchOne(filter: string, value: string): boolean {
	if (filter.length > 0 && filter.charCodeAt(filter.length - 1) === 0x2a) return value.startsWith(filter.slice(0, -1));
	return value === filter;
}

/**
 * True when some parameter `name` of `link` passes the filter. A filter of null (a query
 * argument without "=") asks only that the parameter be present.
 */
export function paramMatches(link: Link, name: string, filter: string | null): boolean {
	for (const p of link.params) {
		if (p.name !== name) continue;
		if (filter === null) return true;
		if (valueMatches(name, filter, p.value ?? "")) return true;
	}
	return false;
}

// ---------------------------------------------------------------- RFC 3986 references

/** The parts of a URI (RFC 3986 §3): scheme, authority (undefined when absent), path, query (undefined when absent). */
interface UriParts {
	scheme: string | undefined;
	authority: string | undefined;
	path: string;
	query: string | undefined;
}

/** RFC 3986 Appendix B: the regular expression that splits any URI-reference. */
function splitUri(ref: string): UriParts {
	const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/.exec(ref);
	if (m === null) return { scheme: undefined, authority: undefined, path: ref, query: undefined };
	return { scheme: m[1], authority: m[2], path: m[3]!, query: m[4] };
}

/** RFC 3986 §5.2.4 remove_dot_segments. */
function removeDotSegments(path: string): string {
	const input = path.split("/");
	const out: string[] = [];
	for (let i = 0; i < input.length; i++) {
		const seg = input[i]!;
		const last = i === input.length - 1;
		if (seg === ".") {
			if (last) out.push("");
		} else if (seg === "..") {
			if (out.length > 1 || (out.length === 1 && out[0] !== "")) out.pop();
			if (last) out.push("");
		} else out.push(seg);
	}
	return out.join("/");
}

/**
 * RFC 3986 §5.2.2: the target URI of reference `ref` against base URI `base` (an absolute
 * URI). A fragment in `ref` is dropped (CoAP URIs have none, RFC 7252 §6.4).
 */
export function resolveReference(base: string, ref: string): string {
	const r = splitUri(ref);
	const b = splitUri(base);
	let scheme: string | undefined;
	let authority: string | undefined;
	let path: string;
	let query: string | undefined;
	if (r.scheme !== undefined) {
		scheme = r.scheme;
		authority = r.authority;
		path = removeDotSegments(r.path);
		query = r.query;
	} else {
		scheme = b.scheme;
		if (r.authority !== undefined) {
			authority = r.authority;
			path = removeDotSegments(r.path);
			query = r.query;
		} else {
			authority = b.authority;
			if (r.path === "") {
				path = b.path;
				query = r.query ?? b.query;
			} else {
				if (r.path.charCodeAt(0) === 0x2f) path = removeDotSegments(r.path);
				else {
					// §5.2.3 merge: the base path up to its last "/", or "/" for a base with an authority and an empty path.
					const merged = b.authority !== undefined && b.path === "" ? "/" + r.path : b.path.slice(0, b.path.lastIndexOf("/") + 1) + r.path;
					path = removeDotSegments(merged);
				}
				query = r.query;
			}
		}
	}
	let out = scheme !== undefined ? scheme + ":" : "";
	if (authority !== undefined) out += "//" + authority;
	out += path;
	if (query !== undefined) out += "?" + query;
	return out;
}

/**
 * True when `uri` is an absolute URI with an authority and without query or fragment: what
 * RFC 9176 §5 allows as a registration's `base` (e.g. "coap://[2001:db8::1]:5683").
 */
export function isBaseUri(uri: string): boolean {
	if (uri.indexOf("?") >= 0 || uri.indexOf("#") >= 0) return false;
	for (let i = 0; i < uri.length; i++) {
		const c = uri.charCodeAt(i);
		if (c <= 0x20 || c === 0x7f || c === 0x22 || c === 0x3c || c === 0x3e) return false;
	}
	const p = splitUri(uri);
	return p.scheme !== undefined && p.authority !== undefined && p.authority.length > 0;
}
