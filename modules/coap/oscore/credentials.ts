/**
 * The client's choice of security context by request URI (RFC 8613 §2: OSCORE protects a
 * request end to end; which context protects which origin is configuration). Patterns follow
 * aiocoap's credentials maps, so one credentials file serves both tools: a pattern is a URI in
 * which `*` stands for any run of characters ("coap://[2001:db8::1]/*", "coap://host:5690/s*"),
 * matched against the whole request URI; when several match, the longest pattern wins.
 *
 * Request URIs are compared in the form composeCoapUri writes (uri/uri.ts: Uri-Host or the
 * address, the port only when it is not 5683, percent-encoded path and query); a pattern that
 * names port 5683 explicitly matches too. Built at configuration time (allocates), looked up
 * once per request (no allocation beyond the URI text the caller made).
 * Leaves out: aiocoap's ":label" indirection (a credentials file loader resolves labels before
 * it fills this map, hosts/node/credentials.ts), DTLS and other credential kinds.
 */
import type { SecurityContext } from "./context.js";

export class ClientCredentials {
	readonly #patterns: string[] = [];
	readonly #contexts: SecurityContext[] = [];

	/** Number of patterns. */
	get size(): number {
		return this.#patterns.length;
	}

	/**
	 * Protects requests to URIs matching `pattern` with `context`; replaces the context of an
	 * equal pattern. @throws TypeError for a pattern that is not a non-empty string.
	 */
	set(pattern: string, context: SecurityContext): void {
		if (typeof pattern !== "string" || pattern.length === 0) throw new TypeError("an OSCORE credentials pattern must be a non-empty string (a URI, `*` for any characters)");
		const i = this.#patterns.indexOf(pattern);
		if (i >= 0) {
			this.#contexts[i] = context;
			return;
		}
		// Longest first: the most specific pattern is tried first (aiocoap's order).
		let at = 0;
		while (at < this.#patterns.length && this.#patterns[at]!.length >= pattern.length) at++;
		this.#patterns.splice(at, 0, pattern);
		this.#contexts.splice(at, 0, context);
	}

	/** Drops every pattern that names `context`; returns how many there were. */
	remove(context: SecurityContext): number {
		let n = 0;
		for (let i = this.#patterns.length - 1; i >= 0; i--) {
			if (this.#contexts[i] !== context) continue;
			this.#patterns.splice(i, 1);
			this.#contexts.splice(i, 1);
			n++;
		}
		return n;
	}

	/**
	 * The context for a request to `uri` (composeCoapUri's form), or null. `explicitPort`, when
	 * not empty, is the same URI with its default port written out (":5683"), tried as well.
	 */
	find(uri: string, explicitPort = ""): SecurityContext | null {
		for (let i = 0; i < this.#patterns.length; i++) {
			const p = this.#patterns[i]!;
			if (wildcardMatch(p, uri) || (explicitPort !== "" && wildcardMatch(p, explicitPort))) return this.#contexts[i]!;
		}
		return null;
	}
}

/** True when `text` matches `pattern` as a whole, `*` standing for any run of characters. */
export function wildcardMatch(pattern: string, text: string): boolean {
	let p = 0;
	let t = 0;
	let star = -1;
	let mark = 0;
	while (t < text.length) {
		if (p < pattern.length && pattern[p] === "*") {
			star = p++;
			mark = t;
		} else if (p < pattern.length && pattern[p] === text[t]) {
			p++;
			t++;
		} else if (star >= 0) {
			p = star + 1;
			t = ++mark;
		} else return false;
	}
	while (p < pattern.length && pattern[p] === "*") p++;
	return p === pattern.length;
}
