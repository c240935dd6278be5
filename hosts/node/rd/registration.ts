/**
 * One registration of the resource directory (RFC 9176 §5) and the reading of registration
 * parameters from a request's query: `ep` (endpoint name), `d` (sector), `lt` (lifetime),
 * `base` (base URI) and extra endpoint attributes (`et`, ...). Each reading returns either
 * the values or a diagnostic for a 4.00 Bad Request (RFC 7252 §5.9.2.1, §5.5.2).
 *
 * Free of Node APIs (the portable tests run the directory on the virtual network, on Node and
 * on XS). Leaves out: authorization of who may register which name (RFC 9176 §7).
 */
import { checkName, DEFAULT_LIFETIME_S, MAX_LIFETIME_S } from "../../../modules/coap/rd/client.js";
import { isBaseUri, isParmname, resolveReference, serializeLinkFormat, type Link, type LinkParam } from "../../../modules/coap/rd/links.js";

/** An endpoint attribute of a registration (RFC 9176 §5 extra-attrs); value null for a bare `?name`. */
export interface Attribute {
	readonly name: string;
	readonly value: string | null;
}

export class Registration {
	/** Number in the registration resource's path (/reg/ID); never reused by a directory. */
	readonly id: number;
	readonly ep: string;
	/** Sector, or undefined (RFC 9176 §5 `d`). */
	readonly d: string | undefined;
	/** Lifetime in seconds. */
	lt: number;
	/** The base URI links are resolved against. */
	base: string;
	/** True when `base` came from the registrant; otherwise it follows the source address (§5, §5.3.1). */
	baseExplicit: boolean;
	attributes: Attribute[];
	links: Link[];
	/** The links as link-format text (what GET on the registration resource returns). */
	linksText: string;
	/** Expiry on the directory's clock (ms). */
	expiresAt: number;

	constructor(id: number, ep: string, d: string | undefined, lt: number, base: string, baseExplicit: boolean, attributes: Attribute[], links: Link[], expiresAt: number) {
		this.id = id;
		this.ep = ep;
		this.d = d;
		this.lt = lt;
		this.base = base;
		this.baseExplicit = baseExplicit;
		this.attributes = attributes;
		this.links = links;
		this.linksText = serializeLinkFormat(links);
		this.expiresAt = expiresAt;
	}

	/** The registration resource's path. */
	get path(): string {
		return "/reg/" + this.id;
	}

	setLinks(links: Link[]): void {
		this.links = links;
		this.linksText = serializeLinkFormat(links);
	}

	/** The value of endpoint attribute `name` ("" for a bare one), or undefined. */
	attribute(name: string): string | undefined {
		for (const a of this.attributes) if (a.name === name) return a.value ?? "";
		return undefined;
	}

	/** A link's target, resolved against the base (RFC 9176 §6, RFC 3986 §5). */
	target(link: Link): string {
		return resolveReference(this.base, link.href);
	}

	/** A link's context: its anchor resolved against the base, or the base itself. */
	anchor(link: Link): string {
		for (const p of link.params) if (p.name === "anchor" && p.value !== null) return resolveReference(this.base, p.value);
		return this.base;
	}

	/** The link's parameters without its anchor (lookups write the resolved anchor instead). */
	paramsWithoutAnchor(link: Link): LinkParam[] {
		return link.params.filter((p) => p.name !== "anchor");
	}
}

/** The registration parameters of one request (RFC 9176 §5), read from its Uri-Query arguments. */
export interface RegistrationParams {
	ep: string | undefined;
	d: string | undefined;
	/** Seconds, undefined when not given. */
	lt: number | undefined;
	base: string | undefined;
	attributes: Attribute[];
}

/** Query arguments that are lookup controls or link attributes, not endpoint attributes. */
const NOT_ATTRIBUTES: readonly string[] = Object.freeze(["page", "count", "href", "anchor", "rt", "if", "ct", "rel"]);

/**
 * Reads registration parameters from Uri-Query arguments (`name=value` or `name`). Returns a
 * diagnostic string for a 4.00 when an argument is repeated, empty, badly formed or out of
 * range. `ep` is not required here (updates have none; registration checks it).
 */
export function readParams(query: readonly string[]): RegistrationParams | string {
	const out: RegistrationParams = { ep: undefined, d: undefined, lt: undefined, base: undefined, attributes: [] };
	const seen: string[] = [];
	for (const q of query) {
		const eq = q.indexOf("=");
		const name = eq < 0 ? q : q.slice(0, eq);
		const value = eq < 0 ? null : q.slice(eq + 1);
		if (name.length === 0) return "empty query argument name in " + JSON.stringify(q);
		if (seen.indexOf(name) >= 0) return "query argument " + name + " given twice";
		seen.push(name);
		switch (name) {
			case "ep":
			case "d": {
				const what = name === "ep" ? "ep (endpoint name)" : "d (sector)";
				const problem = value === null ? what + " needs a value" : checkName(what, value);
				if (problem !== "") return problem + " (RFC 9176 §5)";
				if (name === "ep") out.ep = value!;
				else out.d = value!;
				break;
			}
			case "lt": {
				// RFC 9176 §5: lifetime in seconds, 1..2^32-1.
				const n = value !== null && /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
				if (!(n >= 1 && n <= MAX_LIFETIME_S)) return "lt must be a lifetime in seconds, 1.." + MAX_LIFETIME_S + ", got " + JSON.stringify(value) + " (RFC 9176 §5)";
				out.lt = n;
				break;
			}
			case "base":
				// RFC 9176 §5: an absolute URI without query or fragment.
				if (value === null || !isBaseUri(value)) return "base must be an absolute URI such as coap://[2001:db8::1]:5683, without query or fragment, got " + JSON.stringify(value) + " (RFC 9176 §5)";
				out.base = value;
				break;
			default:
				if (NOT_ATTRIBUTES.indexOf(name) >= 0) return name + " is not a registration parameter";
				if (!isParmname(name)) return "attribute name " + JSON.stringify(name) + " is not a link parameter name (RFC 6690 §2)";
				if (value !== null && value.length > 1024) return "attribute " + name + " longer than 1024 characters";
				out.attributes.push({ name, value });
		}
	}
	return out;
}

/** The lifetime a registration gets when it names none (RFC 9176 §5: 90000 s, 25 hours). */
export const DEFAULT_LT = DEFAULT_LIFETIME_S;

/** `coap://ADDRESS:PORT` for a request's source (IPv6 in brackets): the default base (§5). */
export function sourceBase(address: string, port: number): string {
	return "coap://" + (address.indexOf(":") >= 0 ? "[" + address + "]" : address) + ":" + port;
}

/** True when `bytes` is well-formed UTF-8 (RFC 3629). */
export function isUtf8(bytes: Uint8Array): boolean {
	for (let i = 0; i < bytes.length; ) {
		const b = bytes[i]!;
		if (b < 0x80) {
			i++;
			continue;
		}
		let need: number;
		let min: number;
		if (b >= 0xc2 && b <= 0xdf) {
			need = 1;
			min = 0x80;
		} else if (b >= 0xe0 && b <= 0xef) {
			need = 2;
			min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			need = 3;
			min = 0x10000;
		} else return false;
		let cp = b & (0x3f >> need);
		for (let k = 1; k <= need; k++) {
			const c = bytes[i + k];
			if (c === undefined || (c & 0xc0) !== 0x80) return false;
			cp = (cp << 6) | (c & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
		i += need + 1;
	}
	return true;
}
