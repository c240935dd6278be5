/**
 * The lookup interfaces of the resource directory (RFC 9176 §6): endpoint lookup (the
 * registrations, as links to their registration resources with the endpoint attributes) and
 * resource lookup (every registered link, with its target and anchor resolved against the
 * registration's base), both filtered by query arguments and paged.
 *
 *   - Filters (§6): `name=value` matches an attribute with that value, `name=prefix*` one that
 *     starts with the prefix, a bare `name` one that is present; `rt` and `if` match one item
 *     of their space-separated lists (RFC 6690 §4.1). Several filters must all match.
 *     Endpoint lookup matches a registration's own attributes (`ep`, `d`, `base`, `lt`,
 *     `href` = its registration resource, extra attributes such as `et`) or those of any of its
 *     links; resource lookup matches the link's attributes (`href` = the resolved target or
 *     the reference as registered, `anchor` = the resolved context) or its registration's.
 *   - Paging (§6): `count` limits the number of links, `page` (with `count`) skips page*count
 *     of them; links are numbered from 0 in registration order.
 *
 * Free of Node APIs. Leaves out: Observe on lookups, and the group lookups of the earlier
 * drafts (RFC 9176 dropped groups).
 */
import { isPtoken, paramMatches, quote, serializeParam, valueMatches, type Link } from "../../../modules/coap/rd/links.js";
import type { Registration } from "./registration.js";

export interface Filter {
	readonly name: string;
	/** null for a bare `name` (presence). */
	readonly value: string | null;
}

export interface LookupQuery {
	readonly filters: readonly Filter[];
	/** Page number (0 when absent). */
	readonly page: number;
	/** Links per page, -1 for all. */
	readonly count: number;
}

/** Reads the lookup query; a diagnostic string for a 4.00 when `page`/`count` are malformed. */
export function readLookupQuery(query: readonly string[]): LookupQuery | string {
	const filters: Filter[] = [];
	let page = -1;
	let count = -1;
	for (const q of query) {
		const eq = q.indexOf("=");
		const name = eq < 0 ? q : q.slice(0, eq);
		const value = eq < 0 ? null : q.slice(eq + 1);
		if (name === "page" || name === "count") {
			if (value === null || !/^[0-9]{1,9}$/.test(value)) return name + " must be a whole number, got " + JSON.stringify(value) + " (RFC 9176 §6)";
			if ((name === "page" ? page : count) >= 0) return name + " given twice";
			if (name === "page") page = Number(value);
			else count = Number(value);
			continue;
		}
		if (name.length === 0) return "empty query argument name in " + JSON.stringify(q);
		filters.push({ name, value });
	}
	// §6: page cannot be used without count.
	if (page >= 0 && count < 0) return "page needs count (RFC 9176 §6)";
	return { filters, page: page < 0 ? 0 : page, count };
}

/** A registration-level attribute of `reg` (undefined when it has none of that name). */
function registrationValue(reg: Registration, name: string): string | undefined {
	switch (name) {
		case "ep":
			return reg.ep;
		case "d":
			return reg.d;
		case "base":
			return reg.base;
		case "lt":
			return String(reg.lt);
		default:
			return reg.attribute(name);
	}
}

function matches(name: string, filter: string | null, value: string | undefined): boolean {
	if (value === undefined) return false;
	return filter === null || valueMatches(name, filter, value);
}

/** Endpoint lookup: does registration `reg` pass filter `f`? */
function endpointMatches(reg: Registration, f: Filter): boolean {
	if (f.name === "href") {
		if (matches("href", f.value, reg.path)) return true;
		for (const link of reg.links) if (matches("href", f.value, reg.target(link))) return true;
		return false;
	}
	if (f.name === "rt" && matches("rt", f.value, "core.rd-ep")) return true;
	if (matches(f.name, f.value, registrationValue(reg, f.name))) return true;
	for (const link of reg.links) if (paramMatches(link, f.name, f.value)) return true;
	return false;
}

/** Resource lookup: does link `link` of `reg` pass filter `f`? */
function resourceMatches(reg: Registration, link: Link, f: Filter): boolean {
	if (f.name === "href") return matches("href", f.value, reg.target(link)) || matches("href", f.value, link.href);
	if (f.name === "anchor") return matches("anchor", f.value, reg.anchor(link));
	if (paramMatches(link, f.name, f.value)) return true;
	return matches(f.name, f.value, registrationValue(reg, f.name));
}

/** A value as a link parameter: bare when it is a ptoken, quoted otherwise (or when `quoted`). */
function param(name: string, value: string, quoted = false): string {
	return ";" + name + "=" + (quoted || !isPtoken(value) ? quote(value) : value);
}

/** One endpoint-lookup link (§6): the registration resource with the endpoint's attributes. */
export function endpointLink(reg: Registration): string {
	let s = "<" + reg.path + ">" + param("ep", reg.ep);
	if (reg.d !== undefined) s += param("d", reg.d);
	s += param("base", reg.base, true);
	for (const a of reg.attributes) s += a.value === null ? ";" + a.name : param(a.name, a.value);
	return s + ';rt="core.rd-ep"';
}

/** One resource-lookup link (§6): the target resolved, the anchor made explicit. */
export function resourceLink(reg: Registration, link: Link): string {
	let s = "<" + reg.target(link) + ">";
	for (const p of link.params) if (p.name !== "anchor") s += serializeParam(p);
	return s + param("anchor", reg.anchor(link), true);
}

/** Endpoint lookup over `regs` (registration order). */
export function endpointLookup(regs: Iterable<Registration>, q: LookupQuery): string {
	const out: string[] = [];
	const first = q.count < 0 ? 0 : q.page * q.count;
	const last = q.count < 0 ? Infinity : first + q.count;
	let index = 0;
	for (const reg of regs) {
		let ok = true;
		for (const f of q.filters) {
			if (!endpointMatches(reg, f)) {
				ok = false;
				break;
			}
		}
		if (!ok) continue;
		if (index >= first && index < last) out.push(endpointLink(reg));
		index++;
		if (index >= last) break;
	}
	return out.join(",");
}

/** Resource lookup over `regs` (registration order, then link order). */
export function resourceLookup(regs: Iterable<Registration>, q: LookupQuery): string {
	const out: string[] = [];
	const first = q.count < 0 ? 0 : q.page * q.count;
	const last = q.count < 0 ? Infinity : first + q.count;
	let index = 0;
	for (const reg of regs) {
		for (const link of reg.links) {
			let ok = true;
			for (const f of q.filters) {
				if (!resourceMatches(reg, link, f)) {
					ok = false;
					break;
				}
			}
			if (!ok) continue;
			if (index >= first && index < last) out.push(resourceLink(reg, link));
			index++;
			if (index >= last) return out.join(",");
		}
	}
	return out.join(",");
}
