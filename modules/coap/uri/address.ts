/**
 * Numeric IP addresses in one canonical text form, so that an address taken from a URI or an
 * application and one reported by the socket compare equal as strings (the client matches a
 * response to its request by source address, RFC 7252 §5.3.2; the server keys duplicate
 * detection, Observe and block-wise state by it):
 *   - IPv4 as dotted decimal without leading zeros (RFC 3986 §3.2.2 dec-octet);
 *   - IPv6 as RFC 5952 §4 recommends: lower case, no leading zeros in a group, the longest
 *     run of two or more zero groups (the first of equal runs) written "::";
 *   - an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) as its IPv4 address:
 *     that is the address its datagrams come from (a dual-stack socket reports them so);
 *   - a zone (RFC 4007 §11; "%25" in a URI, RFC 6874 §2, is decoded by the URI parser) kept
 *     after a "%" for link-local unicast (fe80::/10) and interface- and link-local multicast
 *     (ff01::/16, ff02::/16) addresses, and dropped for any other: sockets report a zone only
 *     for those (the kernel sets a scope ID only there), so "::1%lo" arrives as "::1".
 * Text that is not a numeric address (a host name) is returned unchanged. Canonical input is
 * returned as the same string: the per-datagram path allocates nothing then.
 * Leaves out: IPv4 forms other than dotted quads (inet_aton's "127.1", octal, hex).
 */

/** Addresses whose canonical form is remembered (per normalizer), so a peer's datagrams cost one comparison. */
const RECENT = 8;

export class AddressNormalizer {
	readonly #groups = new Uint16Array(8);
	/** The canonical form as ASCII codes (at most 39 characters, plus a zone copied as is). */
	readonly #out = new Uint8Array(48);
	// The last RECENT addresses seen and their canonical forms. On XS every string method
	// call (charCodeAt, indexOf) boxes its string, a few slots of garbage each: a datagram from a
	// known peer is answered by comparing strings (===, no allocation) instead.
	readonly #from: string[] = [];
	readonly #to: string[] = [];
	#next = 0;

	constructor() {
		for (let i = 0; i < RECENT; i++) {
			this.#from.push("");
			this.#to.push("");
		}
	}

	/** The canonical form of `s` (the same string when it already is), or `s` if it is not numeric. */
	normalize(s: string): string {
		const from = this.#from;
		for (let i = 0; i < RECENT; i++) if (from[i] === s) return this.#to[i]!;
		const c = s.indexOf(":") >= 0 ? (this.#ipv6(s) ?? s) : this.#ipv4(s);
		const k = this.#next;
		from[k] = s;
		this.#to[k] = c;
		this.#next = (k + 1) % RECENT;
		return c;
	}

	/** The canonical form of IPv6 text `s` (zone after "%" allowed), or null when it is not IPv6 text. */
	ipv6(s: string): string | null {
		return this.#ipv6(s);
	}

	/** IPv4 dotted quad: `s` itself unless an octet has leading zeros. */
	#ipv4(s: string): string {
		let octets = 0;
		let digits = 0;
		let value = 0;
		let leadingZero = false;
		for (let i = 0; i <= s.length; i++) {
			const c = i < s.length ? s.charCodeAt(i) : 0x2e;
			if (c === 0x2e) {
				if (digits === 0 || value > 255) return s;
				octets++;
				digits = value = 0;
				continue;
			}
			if (c < 0x30 || c > 0x39) return s; // not an IPv4 literal: a host name
			if (digits === 1 && value === 0) leadingZero = true;
			value = value * 10 + (c - 0x30);
			digits++;
		}
		if (octets !== 4 || !leadingZero) return s;
		const parts = s.split(".");
		return Number(parts[0]) + "." + Number(parts[1]) + "." + Number(parts[2]) + "." + Number(parts[3]);
	}

	#ipv6(s: string): string | null {
		const g = this.#groups;
		const zoneAt = s.indexOf("%");
		const end = zoneAt < 0 ? s.length : zoneAt;
		if (!this.#parse6(s, end) || zoneAt === s.length - 1) return null;
		// RFC 4291 §2.5.5.2: ::ffff:a.b.c.d is the IPv4 node a.b.c.d.
		if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
			return (g[6]! >> 8) + "." + (g[6]! & 0xff) + "." + (g[7]! >> 8) + "." + (g[7]! & 0xff);
		}
		// RFC 5952 §4.2: the longest run of at least two zero groups, the first when tied.
		let best = -1;
		let bestLength = 1;
		for (let i = 0; i < 8; ) {
			if (g[i] !== 0) {
				i++;
				continue;
			}
			let j = i;
			while (j < 8 && g[j] === 0) j++;
			if (j - i > bestLength) {
				best = i;
				bestLength = j - i;
			}
			i = j;
		}
		const out = this.#out;
		let n = 0;
		for (let i = 0; i < 8; i++) {
			if (i === best) {
				out[n++] = 0x3a;
				out[n++] = 0x3a;
				i += bestLength - 1;
				continue;
			}
			if (i > 0 && i !== best + bestLength) out[n++] = 0x3a;
			n = hex(out, n, g[i]!);
		}
		// A zone means something for link-local scopes only (RFC 4007 §6).
		const scoped = (g[0]! & 0xffc0) === 0xfe80 || g[0] === 0xff01 || g[0] === 0xff02;
		const keepZone = zoneAt >= 0 && scoped;
		// Same as the input (with its zone, if kept)? Then the input is canonical: no new string.
		let same = n === end && (zoneAt < 0 || keepZone);
		for (let i = 0; same && i < n; i++) if (s.charCodeAt(i) !== out[i]) same = false;
		if (same) return s;
		let t = "";
		for (let i = 0; i < n; i++) t += String.fromCharCode(out[i]!);
		return keepZone ? t + s.slice(zoneAt) : t;
	}

	/** RFC 4291 §2.2 text forms (with "::" and a trailing dotted IPv4) into the 8 groups. */
	#parse6(s: string, end: number): boolean {
		const g = this.#groups;
		let count = 0;
		let gap = -1; // group index where "::" stands
		let i = 0;
		if (end >= 2 && s.charCodeAt(0) === 0x3a && s.charCodeAt(1) === 0x3a) {
			gap = 0;
			i = 2;
			if (i === end) {
				g.fill(0);
				return true;
			}
		} else if (end > 0 && s.charCodeAt(0) === 0x3a) return false;
		while (i < end) {
			// A dotted IPv4 in the last 32 bits (§2.2 form 3)?
			let dot = false;
			for (let k = i; k < end && s.charCodeAt(k) !== 0x3a; k++) if (s.charCodeAt(k) === 0x2e) dot = true;
			if (dot) {
				if (count > 6) return false;
				const v4 = s.slice(i, end);
				const parts = v4.split(".");
				if (parts.length !== 4) return false;
				for (let k = 0; k < 4; k++) if (!/^\d{1,3}$/.test(parts[k]!) || Number(parts[k]) > 255) return false;
				g[count++] = (Number(parts[0]) << 8) | Number(parts[1]);
				g[count++] = (Number(parts[2]) << 8) | Number(parts[3]);
				i = end;
				break;
			}
			let value = 0;
			let digits = 0;
			while (i < end) {
				const c = s.charCodeAt(i);
				const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
				if (d < 0) break;
				value = (value << 4) | d;
				if (++digits > 4) return false;
				i++;
			}
			if (digits === 0 || count >= 8) return false;
			g[count++] = value;
			if (i === end) break;
			if (s.charCodeAt(i) !== 0x3a) return false;
			i++;
			if (i < end && s.charCodeAt(i) === 0x3a) {
				if (gap >= 0) return false; // "::" twice
				gap = count;
				i++;
				if (i === end) break;
			} else if (i === end) return false; // a trailing single ":"
		}
		if (gap < 0) return count === 8;
		if (count > 7) return false;
		// Move the groups after the gap to the end, zeros in between.
		const after = count - gap;
		for (let k = 0; k < after; k++) g[7 - k] = g[count - 1 - k]!;
		for (let k = gap; k < 8 - after; k++) g[k] = 0;
		return true;
	}
}

/** Lower-case hex digits of `v` without leading zeros into out[n...]; the new length. */
function hex(out: Uint8Array, n: number, v: number): number {
	let started = false;
	for (let shift = 12; shift >= 0; shift -= 4) {
		const d = (v >> shift) & 15;
		if (d === 0 && !started && shift > 0) continue;
		started = true;
		out[n++] = d < 10 ? 0x30 + d : 0x57 + d;
	}
	return n;
}

/** The canonical form of one address (allocates a normalizer: for URIs and API arguments). */
export function normalizeAddress(s: string): string {
	return new AddressNormalizer().normalize(s);
}
