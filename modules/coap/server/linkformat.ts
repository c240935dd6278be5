/**
 * RFC 6690 CoRE Link Format for `/.well-known/core`: serializes the registered resources
 * (§2: `</path>;rt="...";if="...";ct=0;sz=N;obs;title="..."`, comma-separated) and applies
 * the query filtering of §4.1 (one `attr=value` query argument; a value ending in `*` is a
 * prefix match; `href` matches the path). Allocates strings: served rarely, at the edge.
 * Leaves out: anchor/rel attributes of links to other hosts (only local resources exist).
 */
import type { Resource } from "./router.js";

function quoted(s: string): string {
	return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

/** One link-value for a resource. */
export function linkOf(r: Resource): string {
	let s = "<" + r.path + ">";
	// RFC 6690 §3.1: rt and if are space-separated lists in one quoted string.
	if (r.rt.length) s += ";rt=" + quoted(r.rt.join(" "));
	if (r.if.length) s += ";if=" + quoted(r.if.join(" "));
	// RFC 7252 §7.2.1: ct is a number (several: quoted, space-separated).
	if (r.ct.length === 1) s += ";ct=" + r.ct[0];
	else if (r.ct.length > 1) s += ';ct="' + r.ct.join(" ") + '"';
	if (r.sz >= 0) s += ";sz=" + r.sz;
	if (r.obs) s += ";obs"; // RFC 7641 §6
	if (r.title !== undefined) s += ";title=" + quoted(r.title);
	return s;
}

function valueMatches(filter: string, value: string): boolean {
	if (filter.endsWith("*")) return value.startsWith(filter.slice(0, -1));
	return value === filter;
}

/** True when resource `r` passes the RFC 6690 §4.1 filter `name=value` (undefined: no filter). */
export function matchesFilter(r: Resource, name: string, value: string): boolean {
	switch (name) {
		case "href":
			return valueMatches(value, r.path);
		case "rt":
			return r.rt.some((t) => valueMatches(value, t));
		case "if":
			return r.if.some((t) => valueMatches(value, t));
		case "ct":
			return r.ct.some((c) => valueMatches(value, String(c)));
		case "sz":
			return r.sz >= 0 && valueMatches(value, String(r.sz));
		case "obs":
			return r.obs;
		case "title":
			return r.title !== undefined && valueMatches(value, r.title);
		default:
			return false; // §4.1: an unknown attribute matches nothing
	}
}

/**
 * The link-format document for `resources`, filtered by query arguments (`["rt=temp*"]`).
 * RFC 6690 §4.1 defines a single filter; with several, all must match (a common extension).
 */
export function linkFormat(resources: readonly Resource[], query: readonly string[]): string {
	const out: string[] = [];
	for (const r of resources) {
		if (r.hidden) continue;
		let ok = true;
		for (const q of query) {
			const eq = q.indexOf("=");
			const name = eq < 0 ? q : q.slice(0, eq);
			const value = eq < 0 ? "*" : q.slice(eq + 1);
			if (!matchesFilter(r, name, value)) ok = false;
		}
		if (ok) out.push(linkOf(r));
	}
	return out.join(",");
}
